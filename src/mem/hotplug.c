#include "mem/hotplug.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "lib/trace.h"

static bool hp_bit(const struct hp_region *r, uint64_t b)
{
	return r->plugged[b / 64] >> (b % 64) & 1;
}

static void hp_set_bit(struct hp_region *r, uint64_t b, bool on)
{
	if (on)
		r->plugged[b / 64] |= 1ULL << (b % 64);
	else
		r->plugged[b / 64] &= ~(1ULL << (b % 64));
}

uint64_t hp_granule_for(uint64_t size, uint64_t block, uint64_t max_slots)
{
	uint64_t g = block;

	if (!max_slots || !is_pow2(block) || !size || size % block)
		return 0;
	/* Doubling keeps g a divisor of size only while 2g divides it too. */
	while (size / g > max_slots && size % (g << 1) == 0)
		g <<= 1;
	return g;
}

uint64_t hp_min_slots(uint64_t size, uint64_t block)
{
	uint64_t g = hp_granule_for(size, block, 1);

	return g ? size / g : UINT64_MAX;
}

int hp_plan_granules(const uint64_t *sizes, const uint64_t *blocks, unsigned int n, uint64_t budget,
		     uint64_t *granules)
{
	uint64_t need = 0, total = 0, spare, min;
	unsigned int i;

	for (i = 0; i < n; i++) {
		min = hp_min_slots(sizes[i], blocks[i]);
		if (min == UINT64_MAX)
			return -EINVAL;
		need += min;
		total += sizes[i];
	}
	if (need > budget)
		return -ENOSPC;
	/* Each region gets its minimum, and the slots left over in proportion to its size. */
	spare = budget - need;
	for (i = 0; i < n; i++) {
		unsigned __int128 share = (unsigned __int128)spare * sizes[i] / total;

		granules[i] = hp_granule_for(sizes[i], blocks[i],
					     hp_min_slots(sizes[i], blocks[i]) + (uint64_t)share);
	}
	return 0;
}

int hp_init(struct hp_region *r, const struct hp_ops *ops, uint64_t gpa, uint64_t size,
	    uint64_t block, uint64_t granule, void *hva, bool prealloc)
{
	uint64_t i;

	memset(r, 0, sizeof(*r));
	if (!is_pow2(block) || !is_pow2(granule) || granule < block || !size || size % granule ||
	    !range_ok(gpa, size))
		return -EINVAL;
	r->ops = ops;
	r->gpa = gpa;
	r->size = size;
	r->block = block;
	r->granule = granule;
	r->hva = hva;
	r->prealloc = prealloc;
	r->nblocks = size / block;
	r->ngranules = size / granule;
	r->plugged = calloc((r->nblocks + 63) / 64, sizeof(uint64_t));
	r->slot = malloc(r->ngranules * sizeof(*r->slot));
	r->nplug = calloc(r->ngranules, sizeof(*r->nplug));
	if (!r->plugged || !r->slot || !r->nplug) {
		hp_destroy(r);
		return -ENOMEM;
	}
	for (i = 0; i < r->ngranules; i++)
		r->slot[i] = HP_NO_SLOT;
	pthread_mutex_init(&r->lock, NULL);
	return 0;
}

void hp_destroy(struct hp_region *r)
{
	bool had_lock = r->slot && r->nplug && r->plugged;

	free(r->plugged);
	free(r->slot);
	free(r->nplug);
	if (had_lock)
		pthread_mutex_destroy(&r->lock);
	memset(r, 0, sizeof(*r));
}

static bool hp_range_ok(const struct hp_region *r, uint64_t off, uint64_t len)
{
	return len && range_ok(off, len) && off + len <= r->size && is_aligned(off, r->block) &&
	       is_aligned(len, r->block);
}

/* Bytes of a mapped granule that the guest reaches but has not plugged. */
static uint64_t hp_granule_exposed(const struct hp_region *r, uint64_t g)
{
	return r->granule - (uint64_t)r->nplug[g] * r->block;
}

__attribute__((warn_unused_result)) static int hp_map_granule(struct hp_region *r, uint64_t g)
{
	uint64_t off = g * r->granule;
	int ret;

	if (trace_on(TRACE_SLOT)) {
		uint64_t t0 = trace_now_ns();

		ret = r->ops->map(r, r->gpa + off, r->granule, r->hva + off, &r->slot[g]);
		trace_emit(TRACE_SLOT,
			   "map slot=%d gpa=0x%" PRIx64 " size=0x%" PRIx64 " us=%" PRIu64 " ret=%d",
			   ret ? -1 : (int)r->slot[g], r->gpa + off, r->granule,
			   (trace_now_ns() - t0) / 1000, ret);
	} else {
		ret = r->ops->map(r, r->gpa + off, r->granule, r->hva + off, &r->slot[g]);
	}
	if (ret) {
		r->slot[g] = HP_NO_SLOT;
	} else {
		r->stats.slots++;
		/*
		 * Kept up to date per block rather than recounted per request:
		 * a recount walks every granule, which capped a 64 GiB region
		 * at ~50k requests/s (bench/ops).
		 */
		r->stats.exposed_bytes += hp_granule_exposed(r, g);
	}
	return ret;
}

/* On failure the slot is kept, still mapping the granule, and nothing changed. */
__attribute__((warn_unused_result)) static int hp_unmap_granule(struct hp_region *r, uint64_t g)
{
	uint64_t gpa = r->gpa + g * r->granule;
	int ret;

	if (trace_on(TRACE_SLOT)) {
		uint64_t t0 = trace_now_ns();

		ret = r->ops->unmap(r, r->slot[g], gpa, r->granule);
		trace_emit(TRACE_SLOT,
			   "unmap slot=%u gpa=0x%" PRIx64 " size=0x%" PRIx64 " us=%" PRIu64
			   " ret=%d",
			   r->slot[g], gpa, r->granule, (trace_now_ns() - t0) / 1000, ret);
	} else {
		ret = r->ops->unmap(r, r->slot[g], gpa, r->granule);
	}
	if (ret) {
		r->stats.unmap_failures++;
		return ret;
	}
	r->slot[g] = HP_NO_SLOT;
	r->stats.slots--;
	r->stats.exposed_bytes -= hp_granule_exposed(r, g);
	return 0;
}

/* Blocks of [off, off+len) that lie in granule g. */
static uint32_t hp_blocks_in(const struct hp_region *r, uint64_t g, uint64_t off, uint64_t len)
{
	uint64_t lo = MV_MAX(off, g * r->granule), hi = MV_MIN(off + len, (g + 1) * r->granule);

	return (uint32_t)((hi - lo) / r->block);
}

int hp_plug(struct hp_region *r, uint64_t off, uint64_t len)
{
	uint64_t first, end, b, g, g0, g1;
	int ret = 0;

	if (!hp_range_ok(r, off, len))
		return -EINVAL;
	first = off / r->block;
	end = first + len / r->block;
	g0 = off / r->granule;
	g1 = (off + len - 1) / r->granule;
	pthread_mutex_lock(&r->lock);
	for (b = first; b < end; b++) {
		if (hp_bit(r, b)) {
			ret = -EEXIST;
			goto out;
		}
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
	for (g = g0; g <= g1; g++) {
		if (r->slot[g] != HP_NO_SLOT)
			continue;
		ret = hp_map_granule(r, g);
		if (ret) {
			/*
			 * Roll back the granules this call mapped: none of their blocks is
			 * plugged. One KVM refuses to remove stays mapped and exposed, as
			 * a granule with unplugged blocks does.
			 */
			while (g-- > g0) {
				if (r->nplug[g] == 0 && r->slot[g] != HP_NO_SLOT &&
				    hp_unmap_granule(r, g)) {
					/* Stays mapped and exposed; counted in unmap_failures. */
				}
			}
			if (r->prealloc && r->ops->discard(r, off, len))
				r->stats.discard_failures++;
			goto out;
		}
	}
	for (b = first; b < end; b++) {
		hp_set_bit(r, b, true);
		r->nplug[b * r->block / r->granule]++;
	}
	r->stats.plugged_bytes += len;
	r->stats.exposed_bytes -= len;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int hp_unplug(struct hp_region *r, uint64_t off, uint64_t len)
{
	uint64_t first, end, b, g, g0, g1;
	int ret = 0;

	if (!hp_range_ok(r, off, len))
		return -EINVAL;
	first = off / r->block;
	end = first + len / r->block;
	g0 = off / r->granule;
	g1 = (off + len - 1) / r->granule;
	pthread_mutex_lock(&r->lock);
	for (b = first; b < end; b++) {
		if (!hp_bit(r, b)) {
			ret = -ENOENT;
			goto out;
		}
	}
	/*
	 * First remove every granule this request empties, while the blocks
	 * still count as plugged. If KVM refuses one, the ones removed before it
	 * are mapped back and the request fails with nothing changed: no block
	 * state, no discard (the guest may still reach that memory), BUSY for
	 * the driver, which retries.
	 */
	for (g = g0; g <= g1; g++) {
		if (r->nplug[g] != hp_blocks_in(r, g, off, len) || r->slot[g] == HP_NO_SLOT)
			continue;
		ret = hp_unmap_granule(r, g);
		if (!ret)
			continue;
		while (g-- > g0) {
			if (r->nplug[g] != hp_blocks_in(r, g, off, len) || r->slot[g] != HP_NO_SLOT)
				continue;
			/*
			 * Mapping back into the slot just freed fails only if the
			 * kernel is out of memory: the granule is then "lost" (its
			 * plugged blocks are served through hp_access) until the
			 * next plug that touches it maps it again.
			 */
			if (hp_map_granule(r, g))
				r->stats.remap_failures++;
		}
		goto out;
	}
	for (b = first; b < end; b++) {
		g = b * r->block / r->granule;
		hp_set_bit(r, b, false);
		r->nplug[g]--;
		if (r->slot[g] != HP_NO_SLOT)
			r->stats.exposed_bytes += r->block;
	}
	r->stats.plugged_bytes -= len;
	/* Unmapped first, then discarded: the guest cannot fault the pages back in. */
	if (r->ops->discard(r, off, len))
		r->stats.discard_failures++;
	else
		r->stats.discarded_bytes += len;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* Forget granule g's plugged blocks (it is unmapped). */
static void hp_clear_granule(struct hp_region *r, uint64_t g)
{
	uint64_t per = r->granule / r->block, b;

	for (b = g * per; b < (g + 1) * per; b++)
		hp_set_bit(r, b, false);
	r->stats.plugged_bytes -= (uint64_t)r->nplug[g] * r->block;
	r->nplug[g] = 0;
}

static void hp_discard_run(struct hp_region *r, uint64_t g_from, uint64_t g_to, int *ret)
{
	uint64_t off = g_from * r->granule, len = (g_to - g_from) * r->granule;

	if (!len)
		return;
	if (r->ops->discard(r, off, len)) {
		r->stats.discard_failures++;
		*ret = *ret ? *ret : -EIO;
	} else {
		r->stats.discarded_bytes += len;
	}
}

/*
 * Every granule KVM lets go is emptied and discarded; one it refuses keeps
 * its slot, its blocks and its memory, and the call fails (-errno of the
 * first refusal).
 */
int hp_unplug_all(struct hp_region *r)
{
	uint64_t g, run = 0;
	int ret = 0, uret = 0;

	pthread_mutex_lock(&r->lock);
	for (g = 0; g < r->ngranules; g++) {
		if (r->slot[g] != HP_NO_SLOT) {
			int e = hp_unmap_granule(r, g);

			if (e) {
				uret = uret ? uret : e;
				hp_discard_run(r, run, g, &ret);
				run = g + 1;
				continue;
			}
		}
		hp_clear_granule(r, g);
	}
	hp_discard_run(r, run, r->ngranules, &ret);
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
	 * Mapped granules never exit here, so this is unplugged memory, or a
	 * plugged block of a lost granule (see hp_unplug), served from its
	 * memory so the guest loses nothing.
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
