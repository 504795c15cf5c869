#include "mem/hotplug.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

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

	if (!max_slots)
		return 0;
	while (size / g > max_slots && g < size)
		g <<= 1;
	return g;
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

static int hp_map_granule(struct hp_region *r, uint64_t g)
{
	uint64_t off = g * r->granule;
	int ret;

	ret = r->ops->map(r, r->gpa + off, r->granule, r->hva + off, &r->slot[g]);
	if (ret) {
		r->slot[g] = HP_NO_SLOT;
	} else {
		r->stats.slots++;
		/*
		 * Kept up to date per block rather than recounted per request:
		 * a recount walks every granule, which capped a 64 GiB region
		 * at ~50k requests/s (bench/ops).
		 */
		r->stats.exposed_bytes += r->granule;
	}
	return ret;
}

static void hp_unmap_granule(struct hp_region *r, uint64_t g)
{
	r->ops->unmap(r, r->slot[g], r->gpa + g * r->granule, r->granule);
	r->slot[g] = HP_NO_SLOT;
	r->stats.slots--;
	/* Callers unmap only empty granules (hp_unplug_all zeroes the count after). */
	r->stats.exposed_bytes -= r->granule;
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
			r->ops->discard(r, off, len);
			goto out;
		}
		r->stats.populated_bytes += len;
	}
	for (g = g0; g <= g1; g++) {
		if (r->slot[g] != HP_NO_SLOT)
			continue;
		ret = hp_map_granule(r, g);
		if (ret) {
			/* Roll back the granules this call mapped: none of their blocks is plugged.
			 */
			while (g-- > g0)
				if (r->nplug[g] == 0 && r->slot[g] != HP_NO_SLOT)
					hp_unmap_granule(r, g);
			if (r->prealloc)
				r->ops->discard(r, off, len);
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
	uint64_t first, end, b, g;
	int ret = 0;

	if (!hp_range_ok(r, off, len))
		return -EINVAL;
	first = off / r->block;
	end = first + len / r->block;
	pthread_mutex_lock(&r->lock);
	for (b = first; b < end; b++) {
		if (!hp_bit(r, b)) {
			ret = -ENOENT;
			goto out;
		}
	}
	for (b = first; b < end; b++) {
		g = b * r->block / r->granule;
		hp_set_bit(r, b, false);
		r->stats.exposed_bytes += r->block;
		if (--r->nplug[g] == 0)
			hp_unmap_granule(r, g);
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

int hp_unplug_all(struct hp_region *r)
{
	uint64_t g;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	for (g = 0; g < r->ngranules; g++) {
		if (r->slot[g] != HP_NO_SLOT)
			hp_unmap_granule(r, g);
		r->nplug[g] = 0;
	}
	memset(r->plugged, 0, (r->nblocks + 63) / 64 * sizeof(uint64_t));
	r->stats.plugged_bytes = 0;
	r->stats.exposed_bytes = 0;
	if (r->ops->discard(r, 0, r->size)) {
		r->stats.discard_failures++;
		ret = -EIO;
	} else {
		r->stats.discarded_bytes += r->size;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
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
	/* Mapped granules never exit here, so this is unplugged memory. */
	pthread_mutex_lock(&r->lock);
	if (write) {
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
