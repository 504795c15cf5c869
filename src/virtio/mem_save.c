#include "virtio/mem_save.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"
#include "lib/util.h"

struct vmem_image {
	uint64_t addr, region_size, block_size;
	int32_t node_id;
	uint64_t requested_size, usable_size, plugged_size;
	uint64_t nr_blocks;
	uint64_t *bitmap; /* nr_blocks bits */
	uint64_t requests, plugged_bytes, discarded_bytes, discard_failures, plug_refused,
	    device_errors;
};

static uint64_t vmem_words(uint64_t nr_blocks)
{
	return (nr_blocks + 63) / 64;
}

void vmem_state_name(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", VMEM_STATE_PREFIX, id);
}

void vmem_save(struct vmem *m, const char *id, struct mv_state_writer *w)
{
	char name[MV_STATE_NAME_MAX + 1];
	uint64_t i;

	vmem_state_name(id, name, sizeof(name));
	pthread_mutex_lock(&m->vdev.lock);
	mv_sw_begin(w, name, VMEM_STATE_VERSION);
	mv_sw_u64(w, m->st.addr);
	mv_sw_u64(w, m->st.region_size);
	mv_sw_u64(w, m->st.block_size);
	mv_sw_u32(w, (uint32_t)m->node_id);
	mv_sw_u64(w, m->st.requested_size);
	mv_sw_u64(w, m->st.usable_size);
	mv_sw_u64(w, m->st.plugged_size);
	mv_sw_u64(w, m->st.nr_blocks);
	for (i = 0; i < vmem_words(m->st.nr_blocks); i++)
		mv_sw_u64(w, m->st.bitmap[i]);
	mv_sw_u64(w, m->stats.requests);
	mv_sw_u64(w, m->stats.plugged_bytes);
	mv_sw_u64(w, m->stats.discarded_bytes);
	mv_sw_u64(w, m->stats.discard_failures);
	mv_sw_u64(w, m->stats.plug_refused);
	mv_sw_u64(w, m->stats.device_errors);
	mv_sw_end(w);
	pthread_mutex_unlock(&m->vdev.lock);
}

/* One geometry field that must equal the running device's. */
static int vmem_same(const char *sec, const char *field, uint64_t saved, uint64_t here, char *err,
		     size_t errlen)
{
	if (saved == here)
		return 0;
	mv_errbuf(err, errlen, "%s: %s %#" PRIx64 " in the saved state, %#" PRIx64 " here", sec,
		  field, saved, here);
	return -EINVAL;
}

static int vmem_parse(struct vmem *m, const char *name, const struct mv_state_section *sec,
		      struct vmem_image *im, char *err, size_t errlen)
{
	const struct vmem_state *s = &m->st;
	struct mv_state_reader r = sec->payload;
	uint64_t i, words, pop = 0, bs = s->block_size;
	int ret;

	ret = mv_state_check(sec, name, VMEM_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	im->addr = mv_sr_u64(&r);
	im->region_size = mv_sr_u64(&r);
	im->block_size = mv_sr_u64(&r);
	im->node_id = (int32_t)mv_sr_u32(&r);
	im->requested_size = mv_sr_u64(&r);
	im->usable_size = mv_sr_u64(&r);
	im->plugged_size = mv_sr_u64(&r);
	im->nr_blocks = mv_sr_u64(&r);
	if (r.short_read)
		return mv_state_done(sec, &r, err, errlen);
	/* The geometry before the bitmap: its length is then the running one. */
	ret = vmem_same(name, "addr", im->addr, s->addr, err, errlen);
	if (!ret)
		ret = vmem_same(name, "region_size", im->region_size, s->region_size, err, errlen);
	if (!ret)
		ret = vmem_same(name, "block_size", im->block_size, bs, err, errlen);
	if (!ret && im->node_id != m->node_id) {
		mv_errbuf(err, errlen, "%s: node_id %" PRId32 " in the saved state, %d here", name,
			  im->node_id, m->node_id);
		ret = -EINVAL;
	}
	if (!ret)
		ret = vmem_same(name, "bitmap length (blocks)", im->nr_blocks, s->nr_blocks, err,
				errlen);
	if (ret)
		return ret;
	words = vmem_words(im->nr_blocks);
	im->bitmap = calloc(words ? words : 1, sizeof(uint64_t));
	if (!im->bitmap)
		return -ENOMEM;
	for (i = 0; i < words; i++)
		im->bitmap[i] = mv_sr_u64(&r);
	im->requests = mv_sr_u64(&r);
	im->plugged_bytes = mv_sr_u64(&r);
	im->discarded_bytes = mv_sr_u64(&r);
	im->discard_failures = mv_sr_u64(&r);
	im->plug_refused = mv_sr_u64(&r);
	im->device_errors = mv_sr_u64(&r);
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	if (im->nr_blocks % 64 && im->bitmap[words - 1] >> (im->nr_blocks % 64)) {
		mv_errbuf(err, errlen, "%s: bitmap has blocks set past the region's %" PRIu64, name,
			  im->nr_blocks);
		return -EINVAL;
	}
	for (i = 0; i < words; i++)
		pop += __builtin_popcountll(im->bitmap[i]);
	if (im->plugged_size != pop * bs) {
		mv_errbuf(err, errlen,
			  "%s: plugged_size %#" PRIx64 " but the bitmap has %" PRIu64
			  " blocks of %#" PRIx64,
			  name, im->plugged_size, pop, bs);
		return -EINVAL;
	}
	if (im->requested_size > s->region_size || !is_aligned(im->requested_size, bs)) {
		mv_errbuf(err, errlen,
			  "%s: requested_size %#" PRIx64
			  " is not a multiple of the block size within the region",
			  name, im->requested_size);
		return -EINVAL;
	}
	if (im->usable_size > s->region_size || !is_aligned(im->usable_size, bs)) {
		mv_errbuf(err, errlen,
			  "%s: usable_size %#" PRIx64
			  " is not a multiple of the block size within the region",
			  name, im->usable_size);
		return -EINVAL;
	}
	return 0;
}

/* Plug every saved run on the host; on failure unplug what was done. */
static int vmem_replay(struct vmem *m, const char *name, const struct vmem_image *im, char *err,
		       size_t errlen)
{
	struct vmem_state saved = m->st;
	uint64_t first = 0, count, bs = m->st.block_size, done;
	int ret;

	saved.bitmap = im->bitmap;
	while (vmem_state_next_plugged(&saved, &first, &count) == 0) {
		ret = m->hops->plug(m, first * bs, count * bs);
		if (ret) {
			mv_errbuf(err, errlen,
				  "%s: plugging blocks %" PRIu64 "-%" PRIu64 " on the host: %s",
				  name, first, first + count - 1, strerror(-ret));
			done = first;
			first = 0;
			while (vmem_state_next_plugged(&saved, &first, &count) == 0 &&
			       first < done) {
				m->hops->unplug(m, first * bs, count * bs);
				first += count;
			}
			return ret;
		}
		first += count;
	}
	return 0;
}

int vmem_load(struct vmem *m, const char *id, const struct mv_state_section *sec, char *err,
	      size_t errlen)
{
	char name[MV_STATE_NAME_MAX + 1];
	struct vmem_image im;
	int ret;

	memset(&im, 0, sizeof(im));
	vmem_state_name(id, name, sizeof(name));
	pthread_mutex_lock(&m->vdev.lock);
	if (m->st.plugged_size) {
		mv_errbuf(err, errlen, "%s: the device here has blocks plugged already", name);
		ret = -EBUSY;
		goto out;
	}
	ret = vmem_parse(m, name, sec, &im, err, errlen);
	if (!ret)
		ret = vmem_replay(m, name, &im, err, errlen);
	if (ret)
		goto out;
	if (im.nr_blocks)
		memcpy(m->st.bitmap, im.bitmap, vmem_words(im.nr_blocks) * sizeof(uint64_t));
	m->st.requested_size = im.requested_size;
	m->st.usable_size = im.usable_size;
	m->st.plugged_size = im.plugged_size;
	m->stats.requests = im.requests;
	m->stats.plugged_bytes = im.plugged_bytes;
	m->stats.discarded_bytes = im.discarded_bytes;
	m->stats.discard_failures = im.discard_failures;
	m->stats.plug_refused = im.plug_refused;
	m->stats.device_errors = im.device_errors;
out:
	pthread_mutex_unlock(&m->vdev.lock);
	free(im.bitmap);
	return ret;
}
