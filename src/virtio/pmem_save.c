#include "virtio/pmem_save.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/errbuf.h"

void vpmem_state_name(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", VPMEM_STATE_PREFIX, id);
}

void vpmem_save(struct vpmem *p, const char *id, struct mv_state_writer *w)
{
	char name[MV_STATE_NAME_MAX + 1];
	unsigned int i, j;

	vpmem_state_name(id, name, sizeof(name));
	pthread_mutex_lock(&p->vdev.lock);
	mv_sw_begin(w, name, VPMEM_STATE_VERSION);
	mv_sw_u64(w, p->start);
	mv_sw_u64(w, p->size);
	mv_sw_u64(w, p->flushes);
	mv_sw_u64(w, p->flush_errors);
	mv_sw_u32(w, p->nr_reqs);
	for (i = 0; i < p->nr_reqs; i++) {
		const struct vpmem_req *r = &p->reqs[i];

		mv_sw_u16(w, r->head);
		mv_sw_u8(w, r->nseg);
		for (j = 0; j < r->nseg; j++) {
			mv_sw_u64(w, r->seg[j].gpa);
			mv_sw_u32(w, r->seg[j].len);
		}
	}
	mv_sw_end(w);
	pthread_mutex_unlock(&p->vdev.lock);
}

struct vpmem_image {
	uint64_t start, size, flushes, flush_errors;
	uint32_t n;
	struct vpmem_req reqs[VPMEM_QUEUE_SIZE];
};

static int vpmem_parse(struct vpmem *p, const char *name, const struct mv_state_section *sec,
		       struct vpmem_image *im, char *err, size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	uint32_t i, j, total;
	int ret;

	ret = mv_state_check(sec, name, VPMEM_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	im->start = mv_sr_u64(&r);
	im->size = mv_sr_u64(&r);
	im->flushes = mv_sr_u64(&r);
	im->flush_errors = mv_sr_u64(&r);
	im->n = mv_sr_u32(&r);
	if (r.short_read)
		return mv_state_done(sec, &r, err, errlen);
	if (im->start != p->start || im->size != p->size) {
		mv_errbuf(err, errlen,
			  "%s: start/size %#" PRIx64 "/%#" PRIx64 " in the saved state, %#" PRIx64
			  "/%#" PRIx64 " here",
			  name, im->start, im->size, p->start, p->size);
		return -EINVAL;
	}
	if (im->n > VPMEM_QUEUE_SIZE) {
		mv_errbuf(err, errlen, "%s: %" PRIu32 " pending requests, more than the queue's %u",
			  name, im->n, VPMEM_QUEUE_SIZE);
		return -EINVAL;
	}
	for (i = 0; i < im->n; i++) {
		struct vpmem_req *q = &im->reqs[i];

		q->head = mv_sr_u16(&r);
		q->nseg = mv_sr_u8(&r);
		if (r.short_read)
			break;
		if (q->head >= VPMEM_QUEUE_SIZE || !q->nseg || q->nseg > VPMEM_RESP_SEGS) {
			mv_errbuf(err, errlen,
				  "%s: request %" PRIu32 ": head %u or nseg %u is out "
				  "of range",
				  name, i, q->head, q->nseg);
			return -EINVAL;
		}
		for (j = 0, total = 0; j < q->nseg; j++) {
			q->seg[j].gpa = mv_sr_u64(&r);
			q->seg[j].len = mv_sr_u32(&r);
			total += q->seg[j].len <= 4 ? q->seg[j].len : 5;
			if (!r.short_read &&
			    (!q->seg[j].len ||
			     gmem_check(p->vdev.mem, q->seg[j].gpa, q->seg[j].len))) {
				mv_errbuf(err, errlen,
					  "%s: request %" PRIu32 ": answer segment %u is not in "
					  "guest memory",
					  name, i, j);
				return -EINVAL;
			}
		}
		if (!r.short_read && total != 4) {
			mv_errbuf(err, errlen, "%s: request %" PRIu32 ": answer is not 4 bytes",
				  name, i);
			return -EINVAL;
		}
	}
	return mv_state_done(sec, &r, err, errlen);
}

int vpmem_load(struct vpmem *p, const char *id, const struct mv_state_section *sec, char *err,
	       size_t errlen)
{
	struct vpmem_image im;
	char name[MV_STATE_NAME_MAX + 1];
	int ret;

	vpmem_state_name(id, name, sizeof(name));
	memset(&im, 0, sizeof(im));
	ret = vpmem_parse(p, name, sec, &im, err, errlen);
	if (ret)
		return ret;
	pthread_mutex_lock(&p->vdev.lock);
	p->flushes = im.flushes;
	p->flush_errors = im.flush_errors;
	/* A flush still running for the old requests answers nobody (busy stays). */
	memcpy(p->reqs, im.reqs, sizeof(p->reqs[0]) * im.n);
	p->nr_reqs = im.n;
	p->nr_inflight = 0;
	pthread_mutex_unlock(&p->vdev.lock);
	vpmem_set_paused(p, false);
	return 0;
}
