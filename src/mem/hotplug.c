#include "mem/hotplug.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "lib/trace.h"

/* Room beyond max_slots for a rollback that keeps a stuck piece (see hp_replace). */
#define HP_EXT_SPARE 2
/* The most pieces one replacement makes: an unplug inside one extent leaves two. */
#define HP_MAX_PIECES 2

static bool hp_bit(const struct hp_region *r, uint64_t b)
{
	return r->plugged[b / 64] >> (b % 64) & 1;
}

static void hp_set_bits(struct hp_region *r, uint64_t off, uint64_t len, bool on)
{
	uint64_t b;

	for (b = off / r->block; b < (off + len) / r->block; b++) {
		if (on)
			r->plugged[b / 64] |= 1ULL << (b % 64);
		else
			r->plugged[b / 64] &= ~(1ULL << (b % 64));
	}
}

/* Whether every block of [off, off+len) is plugged (want) or unplugged (!want). */
static bool hp_all(const struct hp_region *r, uint64_t off, uint64_t len, bool want)
{
	uint64_t b;

	for (b = off / r->block; b < (off + len) / r->block; b++)
		if (hp_bit(r, b) != want)
			return false;
	return true;
}

int hp_share_slots(const uint64_t *sizes, unsigned int n, uint64_t budget, uint32_t *shares)
{
	uint64_t total = 0, spare;
	unsigned int i;

	if (budget < n)
		return -ENOSPC;
	for (i = 0; i < n; i++)
		total += sizes[i];
	spare = budget - n;
	for (i = 0; i < n; i++) {
		unsigned __int128 share = total ? (unsigned __int128)spare * sizes[i] / total : 0;

		shares[i] =
		    (uint32_t)MV_MIN((uint64_t)share + 1, (uint64_t)UINT32_MAX - HP_EXT_SPARE);
	}
	return 0;
}

int hp_init(struct hp_region *r, const struct hp_ops *ops, uint64_t gpa, uint64_t size,
	    uint64_t block, uint32_t max_slots, void *hva, bool prealloc)
{
	memset(r, 0, sizeof(*r));
	if (!is_pow2(block) || !size || size % block || !range_ok(gpa, size) || !max_slots ||
	    max_slots > UINT32_MAX - HP_EXT_SPARE)
		return -EINVAL;
	r->ops = ops;
	r->gpa = gpa;
	r->size = size;
	r->block = block;
	r->hva = hva;
	r->prealloc = prealloc;
	r->nblocks = size / block;
	/* No more extents than runs of plugged blocks: at most every other block. */
	r->max_slots = (uint32_t)MV_MIN((uint64_t)max_slots, (r->nblocks + 1) / 2);
	r->plugged = calloc((r->nblocks + 63) / 64, sizeof(uint64_t));
	r->ext = calloc((size_t)r->max_slots + HP_EXT_SPARE, sizeof(*r->ext));
	if (!r->plugged || !r->ext) {
		free(r->plugged);
		free(r->ext);
		memset(r, 0, sizeof(*r));
		return -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	return 0;
}

void hp_destroy(struct hp_region *r)
{
	bool had_lock = r->plugged && r->ext;

	free(r->plugged);
	free(r->ext);
	if (had_lock)
		pthread_mutex_destroy(&r->lock);
	memset(r, 0, sizeof(*r));
}

static bool hp_range_ok(const struct hp_region *r, uint64_t off, uint64_t len)
{
	return len && range_ok(off, len) && off + len <= r->size && is_aligned(off, r->block) &&
	       is_aligned(len, r->block);
}

static uint64_t hp_end(const struct hp_extent *e)
{
	return e->off + e->len;
}

/* Index of the first extent that ends after off (r->next if none). */
static uint32_t hp_find(const struct hp_region *r, uint64_t off)
{
	uint32_t lo = 0, hi = r->next;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (hp_end(&r->ext[mid]) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Replace ext[a, b) by the n extents of with (sorted, disjoint from the rest). */
static void hp_splice(struct hp_region *r, uint32_t a, uint32_t b, const struct hp_extent *with,
		      uint32_t n)
{
	memmove(&r->ext[a + n], &r->ext[b], (r->next - b) * sizeof(*r->ext));
	memcpy(&r->ext[a], with, n * sizeof(*r->ext));
	r->next = r->next - (b - a) + n;
	r->stats.slots = r->next;
}

__attribute__((warn_unused_result)) static int hp_map(struct hp_region *r, struct hp_extent *e)
{
	uint64_t t0 = trace_on(TRACE_SLOT) ? trace_now_ns() : 0;
	int ret = r->ops->map(r, r->gpa + e->off, e->len, r->hva + e->off, &e->slot);

	if (t0)
		trace_emit(TRACE_SLOT,
			   "map slot=%d gpa=0x%" PRIx64 " size=0x%" PRIx64 " us=%" PRIu64 " ret=%d",
			   ret ? -1 : (int)e->slot, r->gpa + e->off, e->len,
			   (trace_now_ns() - t0) / 1000, ret);
	if (ret)
		e->slot = HP_NO_SLOT;
	else
		r->stats.slot_changes++;
	return ret;
}

/* On failure the slot is kept, still mapping the extent. */
__attribute__((warn_unused_result)) static int hp_unmap(struct hp_region *r,
							const struct hp_extent *e)
{
	uint64_t t0 = trace_on(TRACE_SLOT) ? trace_now_ns() : 0;
	int ret = r->ops->unmap(r, e->slot, r->gpa + e->off, e->len);

	if (t0)
		trace_emit(TRACE_SLOT,
			   "unmap slot=%u gpa=0x%" PRIx64 " size=0x%" PRIx64 " us=%" PRIu64
			   " ret=%d",
			   e->slot, r->gpa + e->off, e->len, (trace_now_ns() - t0) / 1000, ret);
	if (ret)
		r->stats.unmap_failures++;
	else
		r->stats.slot_changes++;
	return ret;
}

static void hp_hold(struct hp_region *r)
{
	uint64_t t0 = trace_on(TRACE_SLOT) ? trace_now_ns() : 0;

	if (r->ops->hold)
		r->ops->hold(r);
	r->stats.holds++;
	if (t0)
		trace_emit(TRACE_SLOT, "hold us=%" PRIu64, (trace_now_ns() - t0) / 1000);
}

static void hp_release(struct hp_region *r)
{
	if (r->ops->release)
		r->ops->release(r);
}

static int hp_cmp_ext(const void *a, const void *b)
{
	const struct hp_extent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static bool hp_overlaps(const struct hp_extent *a, const struct hp_extent *b)
{
	return a->off < hp_end(b) && b->off < hp_end(a);
}

/*
 * Replace the slots of ext[a, b) by new slots for the n pieces (each inside
 * what ext[a, b) covers, or memory being plugged), all or nothing. The
 * caller holds the vCPUs when a piece keeps memory the guest is using. On
 * failure the old extents are mapped back; a new piece KVM will not remove
 * stays as an extent, and an old one that cannot come back (or overlaps such
 * a piece) is dropped: its blocks are served by hp_access.
 */
__attribute__((warn_unused_result)) static int
hp_replace(struct hp_region *r, uint32_t a, uint32_t b, struct hp_extent *pieces, uint32_t n)
{
	struct hp_extent keep[HP_MAX_PIECES + 1];
	uint32_t k, done = 0, mapped = 0, nkeep = 0, out;
	int ret = 0;

	for (k = a; k < b; k++, done++) {
		ret = hp_unmap(r, &r->ext[k]);
		if (ret)
			break;
	}
	for (k = 0; !ret && k < n; k++) {
		ret = hp_map(r, &pieces[k]);
		mapped += !ret;
	}
	if (!ret) {
		hp_splice(r, a, b, pieces, n);
		return 0;
	}
	for (k = 0; k < mapped; k++)
		if (hp_unmap(r, &pieces[k]))
			keep[nkeep++] = pieces[k];
	/* Put the old extents back in place, compacting out those that cannot come back. */
	for (k = a, out = a; k < b; k++) {
		struct hp_extent e = r->ext[k];
		bool back = k >= a + done;
		uint32_t j;

		for (j = 0; !back && j < nkeep; j++)
			if (hp_overlaps(&e, &keep[j]))
				break;
		if (!back && (j < nkeep || hp_map(r, &e))) {
			r->stats.remap_failures++;
			continue;
		}
		r->ext[out++] = e;
	}
	if (out < b || nkeep) {
		memmove(&r->ext[out + nkeep], &r->ext[b], (r->next - b) * sizeof(*r->ext));
		memcpy(&r->ext[out], keep, nkeep * sizeof(*r->ext));
		r->next = r->next - (b - out) + nkeep;
		r->stats.slots = r->next;
		qsort(&r->ext[a], out + nkeep - a, sizeof(*r->ext), hp_cmp_ext);
	}
	return ret;
}

/*
 * Merge every run of adjacent extents into one, under one hold. Returns the
 * slots it freed (0 when no two extents touch).
 */
static uint32_t hp_compact(struct hp_region *r)
{
	uint32_t i = 0, before = r->next;
	bool held = false;

	while (i + 1 < r->next) {
		struct hp_extent u;
		uint32_t j = i + 1;

		while (j < r->next && r->ext[j].off == hp_end(&r->ext[j - 1]))
			j++;
		if (j == i + 1) {
			i++;
			continue;
		}
		if (!held) {
			hp_hold(r);
			held = true;
		}
		u = (struct hp_extent){r->ext[i].off, hp_end(&r->ext[j - 1]) - r->ext[i].off, 0};
		if (!hp_replace(r, i, j, &u, 1))
			r->stats.merges += j - i - 1;
		/* Whatever happened, ext[i] is settled; go on after it. */
		i++;
	}
	if (held)
		hp_release(r);
	return before - MV_MIN(before, r->next);
}

/* Map [off, off+len) (being plugged; i = hp_find(r, off)) in a new slot, or merged. */
static int hp_plug_map(struct hp_region *r, uint64_t off, uint64_t len, uint32_t i)
{
	struct hp_extent e = {off, len, 0};
	bool left, right;
	uint32_t a, b;
	int ret;

	if (r->next < r->max_slots) {
		ret = hp_map(r, &e);
		if (!ret) {
			hp_splice(r, i, i, &e, 1);
			return 0;
		}
		if (ret != -ENOSPC)
			return ret;
	}
	/* No slot: grow a neighbour over the new range, else merge elsewhere first. */
	left = i > 0 && hp_end(&r->ext[i - 1]) == off;
	right = i < r->next && r->ext[i].off == off + len;
	if (left || right) {
		a = left ? i - 1 : i;
		b = right ? i + 1 : i;
		e.off = left ? r->ext[a].off : off;
		e.len = (right ? hp_end(&r->ext[b - 1]) : off + len) - e.off;
		hp_hold(r);
		ret = hp_replace(r, a, b, &e, 1);
		hp_release(r);
		if (!ret)
			r->stats.merges += b - a;
	} else if (hp_compact(r)) {
		ret = hp_map(r, &e);
		if (!ret)
			hp_splice(r, hp_find(r, off), hp_find(r, off), &e, 1);
	} else {
		ret = -ENOSPC;
	}
	if (ret == -ENOSPC)
		r->stats.slots_refused++;
	return ret;
}

int hp_plug(struct hp_region *r, uint64_t off, uint64_t len)
{
	int ret = 0;

	if (!hp_range_ok(r, off, len))
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (!hp_all(r, off, len, false)) {
		ret = -EEXIST;
		goto out;
	}
	if (r->prealloc && r->ops->populate) {
		ret = r->ops->populate(r, off, len);
		if (ret) {
			r->stats.populate_failures++;
			/* Give back whatever was populated before the failure. */
			if (r->ops->discard(r, off, len))
				r->stats.discard_failures++;
			goto out;
		}
		r->stats.populated_bytes += len;
	}
	ret = hp_plug_map(r, off, len, hp_find(r, off));
	if (ret) {
		if (r->prealloc && r->ops->discard(r, off, len))
			r->stats.discard_failures++;
		goto out;
	}
	hp_set_bits(r, off, len, true);
	r->stats.plugged_bytes += len;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/*
 * Remove the slots over [off, end): ext[a, b) overlap it; the parts of
 * ext[a] before off and of ext[b-1] after end stay mapped, as new slots,
 * under a hold.
 */
static int hp_unplug_map(struct hp_region *r, uint64_t off, uint64_t end)
{
	struct hp_extent pieces[HP_MAX_PIECES];
	uint32_t a = hp_find(r, off), b = a, n = 0;
	int ret;

	while (b < r->next && r->ext[b].off < end)
		b++;
	if (a == b)
		return 0; /* lost blocks only */
	if (r->ext[a].off < off)
		pieces[n++] = (struct hp_extent){r->ext[a].off, off - r->ext[a].off, 0};
	if (hp_end(&r->ext[b - 1]) > end)
		pieces[n++] = (struct hp_extent){end, hp_end(&r->ext[b - 1]) - end, 0};
	if (r->next - (b - a) + n > r->max_slots) {
		if (hp_compact(r))
			return hp_unplug_map(r, off, end); /* the extents moved: look again */
		r->stats.slots_refused++;
		return -ENOSPC;
	}
	if (n)
		hp_hold(r);
	ret = hp_replace(r, a, b, pieces, n);
	if (n)
		hp_release(r);
	if (!ret)
		r->stats.splits += n ? 1 : 0;
	if (ret == -ENOSPC)
		r->stats.slots_refused++;
	return ret;
}

int hp_unplug(struct hp_region *r, uint64_t off, uint64_t len)
{
	uint64_t t0;
	int ret = 0;

	if (!hp_range_ok(r, off, len))
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (!hp_all(r, off, len, true)) {
		ret = -ENOENT;
		goto out;
	}
	ret = hp_unplug_map(r, off, off + len);
	if (ret)
		goto out;
	hp_set_bits(r, off, len, false);
	r->stats.plugged_bytes -= len;
	/* Unmapped first, then discarded: the guest cannot fault the pages back in. */
	t0 = trace_on(TRACE_SLOT) ? trace_now_ns() : 0;
	if (r->ops->discard(r, off, len))
		r->stats.discard_failures++;
	else
		r->stats.discarded_bytes += len;
	if (t0)
		trace_emit(TRACE_SLOT, "discard off=0x%" PRIx64 " size=0x%" PRIx64 " us=%" PRIu64,
			   off, len, (trace_now_ns() - t0) / 1000);
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static void hp_discard_gap(struct hp_region *r, uint64_t from, uint64_t to, int *ret)
{
	if (from >= to)
		return;
	if (r->ops->discard(r, from, to - from)) {
		r->stats.discard_failures++;
		*ret = *ret ? *ret : -EIO;
	} else {
		r->stats.discarded_bytes += to - from;
	}
}

uint32_t hp_settle(struct hp_region *r)
{
	uint32_t freed;

	pthread_mutex_lock(&r->lock);
	freed = hp_compact(r);
	pthread_mutex_unlock(&r->lock);
	return freed;
}

/*
 * Every extent KVM lets go is emptied and discarded; one it refuses keeps
 * its slot, its blocks and its memory, and the call fails (-errno of the
 * first refusal).
 */
int hp_unplug_all(struct hp_region *r)
{
	uint64_t from = 0;
	uint32_t k, kept = 0;
	int ret = 0, uret = 0;

	pthread_mutex_lock(&r->lock);
	for (k = 0; k < r->next; k++) {
		int e = hp_unmap(r, &r->ext[k]);

		if (e) {
			uret = uret ? uret : e;
			r->ext[kept++] = r->ext[k];
		}
	}
	r->next = kept;
	r->stats.slots = kept;
	memset(r->plugged, 0, (r->nblocks + 63) / 64 * sizeof(uint64_t));
	r->stats.plugged_bytes = 0;
	for (k = 0; k < kept; k++) {
		hp_set_bits(r, r->ext[k].off, r->ext[k].len, true);
		r->stats.plugged_bytes += r->ext[k].len;
		hp_discard_gap(r, from, r->ext[k].off, &ret);
		from = hp_end(&r->ext[k]);
	}
	hp_discard_gap(r, from, r->size, &ret);
	pthread_mutex_unlock(&r->lock);
	return uret ? uret : ret;
}

bool hp_is_plugged(struct hp_region *r, uint64_t off)
{
	bool p;

	if (off >= r->size)
		return false;
	pthread_mutex_lock(&r->lock);
	p = hp_bit(r, off / r->block);
	pthread_mutex_unlock(&r->lock);
	return p;
}

bool hp_access(struct hp_region *r, uint64_t gpa, void *data, uint32_t len, bool write)
{
	if (gpa < r->gpa || gpa - r->gpa >= r->size)
		return false;
	pthread_mutex_lock(&r->lock);
	/*
	 * Extents never exit here, so this is unplugged memory, or a plugged
	 * block whose slot could not be put back (see hp_replace), served from
	 * its memory so the guest loses nothing.
	 */
	if (hp_bit(r, (gpa - r->gpa) / r->block) && len <= r->size - (gpa - r->gpa)) {
		if (write)
			memcpy(r->hva + (gpa - r->gpa), data, len);
		else
			memcpy(data, r->hva + (gpa - r->gpa), len);
		r->stats.lost_accesses++;
	} else if (write) {
		r->stats.unplugged_writes++;
	} else {
		memset(data, 0, len);
		r->stats.unplugged_reads++;
	}
	pthread_mutex_unlock(&r->lock);
	return true;
}

void hp_get_stats(struct hp_region *r, struct hp_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}
