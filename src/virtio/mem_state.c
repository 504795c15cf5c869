#include "virtio/mem_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"
#include "lib/util.h"

int vmem_state_init(struct vmem_state *s, uint64_t addr, uint64_t region_size, uint64_t block_size)
{
	memset(s, 0, sizeof(*s));
	s->addr = addr;
	s->region_size = region_size;
	s->block_size = block_size;
	s->nr_blocks = region_size / block_size;
	s->bitmap = calloc((s->nr_blocks + 63) / 64, sizeof(uint64_t));
	return s->bitmap ? 0 : -ENOMEM;
}

void vmem_state_free(struct vmem_state *s)
{
	free(s->bitmap);
	s->bitmap = NULL;
}

uint64_t vmem_usable_for(const struct vmem_state *s, uint64_t requested, bool can_shrink)
{
	uint64_t want = 0;

	if (requested) {
		/* requested <= region_size, so neither step can overflow. */
		want = MV_MIN(s->region_size, requested + VMEM_USABLE_EXTENT);
		want = align_up(want, s->block_size);
	}
	if (want < s->usable_size && !can_shrink)
		return s->usable_size;
	return want;
}

bool vmem_state_test(const struct vmem_state *s, uint64_t block)
{
	return s->bitmap[block / 64] >> (block % 64) & 1;
}

/* Number of plugged blocks in [first, first+count). */
static uint64_t vmem_count_plugged(const struct vmem_state *s, uint64_t first, uint64_t count)
{
	uint64_t i, n = 0;

	for (i = first; i < first + count; i++)
		n += vmem_state_test(s, i);
	return n;
}

/*
 * Blocks [*first, +*count) of a guest range: false when misaligned, empty,
 * wrapping or not wholly inside [addr, addr + usable).
 */
static bool vmem_range_valid(const struct vmem_state *s, uint64_t gpa, uint16_t nb_blocks,
			     uint64_t *first, uint64_t *count)
{
	uint64_t size;

	if (!nb_blocks || !is_aligned(gpa, s->block_size))
		return false;
	if (__builtin_mul_overflow((uint64_t)nb_blocks, s->block_size, &size) ||
	    !range_ok(gpa, size))
		return false;
	if (gpa < s->addr || gpa - s->addr > s->usable_size ||
	    size > s->usable_size - (gpa - s->addr))
		return false;
	*first = (gpa - s->addr) / s->block_size;
	*count = nb_blocks;
	return true;
}

struct vmem_decision vmem_decide(const struct vmem_state *s, const struct vmem_req *r)
{
	struct vmem_decision d = {.resp = VMEM_RESP_ERROR};
	uint64_t plugged;

	switch (r->type) {
	case VMEM_REQ_UNPLUG_ALL:
		d.resp = VMEM_RESP_ACK;
		d.act = true;
		return d;
	case VMEM_REQ_STATE:
		if (!vmem_range_valid(s, r->addr, r->nb_blocks, &d.first, &d.count))
			return d;
		plugged = vmem_count_plugged(s, d.first, d.count);
		d.resp = VMEM_RESP_ACK;
		d.state = plugged == d.count ? VMEM_STATE_PLUGGED
			  : plugged == 0     ? VMEM_STATE_UNPLUGGED
					     : VMEM_STATE_MIXED;
		return d;
	case VMEM_REQ_PLUG:
	case VMEM_REQ_UNPLUG:
		if (!vmem_range_valid(s, r->addr, r->nb_blocks, &d.first, &d.count))
			return d;
		/* plugged_size <= region and count * block <= usable: no overflow. */
		if (r->type == VMEM_REQ_PLUG &&
		    s->plugged_size + d.count * s->block_size > s->requested_size) {
			d.resp = VMEM_RESP_NACK;
			return d;
		}
		plugged = vmem_count_plugged(s, d.first, d.count);
		if (plugged != (r->type == VMEM_REQ_PLUG ? 0 : d.count))
			return d; /* ERROR: some block already in the target state */
		d.resp = VMEM_RESP_ACK;
		d.act = true;
		return d;
	default:
		return d;
	}
}

void vmem_state_set(struct vmem_state *s, uint64_t first, uint64_t count, bool plugged)
{
	uint64_t i;

	for (i = first; i < first + count && i < s->nr_blocks; i++) {
		uint64_t bit = 1ULL << (i % 64);

		if (!!(s->bitmap[i / 64] & bit) == plugged)
			continue;
		s->bitmap[i / 64] ^= bit;
		if (plugged)
			s->plugged_size += s->block_size;
		else
			s->plugged_size -= s->block_size;
	}
}

int vmem_state_next_plugged(const struct vmem_state *s, uint64_t *first, uint64_t *count)
{
	uint64_t i = *first, j;

	while (i < s->nr_blocks && !vmem_state_test(s, i)) {
		/* Skip empty words whole: a 4 TiB region has 2M blocks. */
		if (!(i % 64) && !s->bitmap[i / 64])
			i += 64;
		else
			i++;
	}
	if (i >= s->nr_blocks)
		return -ENOENT;
	for (j = i; j < s->nr_blocks && vmem_state_test(s, j); j++)
		;
	*first = i;
	*count = j - i;
	return 0;
}

int vmem_check_requested(uint64_t block_size, uint64_t region_size, uint64_t size, char *err,
			 size_t errlen)
{
	if (!block_size || !is_aligned(size, block_size)) {
		mv_errbuf(err, errlen,
			  "'" VMEM_PROP_REQUESTED_SIZE
			  "' has to be multiples of '" VMEM_PROP_BLOCK_SIZE "' (0x%" PRIx64 ")",
			  block_size);
		return -EINVAL;
	}
	if (size > region_size) {
		mv_errbuf(err, errlen,
			  "'" VMEM_PROP_REQUESTED_SIZE
			  "' cannot exceed the memory backend size(0x%" PRIx64 ")",
			  region_size);
		return -EINVAL;
	}
	return 0;
}
