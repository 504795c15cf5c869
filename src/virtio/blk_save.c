#include "virtio/blk_save.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/errbuf.h"

#define VBLK_NR_COUNTERS 9

struct vblk_saved_req {
	uint8_t q;
	uint16_t head;
	uint32_t used_len;
	uint8_t failed;
};

struct vblk_image {
	uint64_t sectors;
	uint8_t readonly;
	uint16_t num_queues;
	uint64_t counters[VBLK_NR_COUNTERS];
	uint32_t n;
	struct vblk_saved_req reqs[VBLK_MAX_JOBS];
};

void vblk_state_name(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", VBLK_STATE_PREFIX, id);
}

static uint64_t *vblk_counter(struct vblk_stats *st, unsigned int i)
{
	uint64_t *c[VBLK_NR_COUNTERS] = {&st->reads,	   &st->writes,	      &st->flushes,
					 &st->discards,	   &st->write_zeroes, &st->read_bytes,
					 &st->write_bytes, &st->errors,	      &st->refused};

	return c[i];
}

int vblk_save(struct vblk *b, const char *id, struct mv_state_writer *w, char *err, size_t errlen)
{
	char name[MV_STATE_NAME_MAX + 1];
	struct timespec deadline;
	uint32_t gen, n = 0;
	unsigned int i;
	int ret;

	vblk_state_name(id, name, sizeof(name));
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += b->save_timeout_ms / 1000;
	deadline.tv_nsec += (long)(b->save_timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&b->vdev.lock);
	ret = vblk_drain_locked(b, &deadline);
	if (ret) {
		mv_errbuf(err, errlen,
			  "the disk did not finish the guest's requests within %u ms (the host "
			  "disk stuck?)",
			  b->save_timeout_ms);
		goto out;
	}
	/* The worker is idle and nothing is popped while the VM is paused. */
	ret = b->disk.readonly ? 0 : vblk_flush_locked(b, &deadline);
	if (ret == -ETIMEDOUT) {
		mv_errbuf(err, errlen,
			  "the disk's flush did not end within %u ms (the host disk stuck?)",
			  b->save_timeout_ms);
		goto out;
	}
	if (ret) {
		mv_errbuf(err, errlen, "flushing the disk: %s", strerror(-ret));
		goto out;
	}
	gen = b->gen;
	for (i = 0; i < b->nr_done; i++)
		n += b->jobs[b->done[i]].gen == gen;
	mv_sw_begin(w, name, VBLK_STATE_VERSION);
	mv_sw_u64(w, b->disk.sectors);
	mv_sw_u8(w, b->disk.readonly);
	mv_sw_u16(w, b->num_queues);
	for (i = 0; i < VBLK_NR_COUNTERS; i++)
		mv_sw_u64(w, __atomic_load_n(vblk_counter(&b->st, i), __ATOMIC_RELAXED));
	/* After a reset the old generation's requests answer nobody: left out. */
	if (b->vdev.status & VIRTIO_STATUS_NEEDS_RESET)
		n = 0;
	mv_sw_u32(w, n);
	for (i = 0; n && i < b->nr_done; i++) {
		const struct vblk_job *j = &b->jobs[b->done[i]];

		if (j->gen != gen)
			continue;
		mv_sw_u8(w, j->q);
		mv_sw_u16(w, j->c.head);
		mv_sw_u32(w, j->used_len);
		mv_sw_u8(w, j->status == 0xFF);
	}
	mv_sw_end(w);
out:
	pthread_mutex_unlock(&b->vdev.lock);
	return ret;
}

static int vblk_parse(const struct vblk *b, const char *name, const struct mv_state_section *sec,
		      struct vblk_image *im, char *err, size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	uint32_t i;
	int ret;

	ret = mv_state_check(sec, name, VBLK_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	im->sectors = mv_sr_u64(&r);
	im->readonly = mv_sr_u8(&r);
	im->num_queues = mv_sr_u16(&r);
	for (i = 0; i < VBLK_NR_COUNTERS; i++)
		im->counters[i] = mv_sr_u64(&r);
	im->n = mv_sr_u32(&r);
	if (r.short_read)
		return mv_state_done(sec, &r, err, errlen);
	if (im->sectors != b->disk.sectors) {
		mv_errbuf(err, errlen,
			  "%s: sectors: %" PRIu64 " in the saved state, %" PRIu64
			  " here (the disk image changed size)",
			  name, im->sectors, b->disk.sectors);
		return -EINVAL;
	}
	if (im->readonly > 1 || im->readonly != b->disk.readonly ||
	    im->num_queues != b->num_queues) {
		mv_errbuf(err, errlen,
			  "%s: readonly/num_queues %u/%u in the saved state, %u/%u here", name,
			  im->readonly, im->num_queues, b->disk.readonly, b->num_queues);
		return -EINVAL;
	}
	if (im->n > VBLK_MAX_JOBS - b->nr_jobs) {
		mv_errbuf(err, errlen, "%s: %" PRIu32 " finished requests, more than the %u held",
			  name, im->n, VBLK_MAX_JOBS - b->nr_jobs);
		return -EINVAL;
	}
	for (i = 0; i < im->n; i++) {
		struct vblk_saved_req *q = &im->reqs[i];

		q->q = mv_sr_u8(&r);
		q->head = mv_sr_u16(&r);
		q->used_len = mv_sr_u32(&r);
		q->failed = mv_sr_u8(&r);
		if (r.short_read)
			break;
		if (q->q >= b->num_queues || q->head >= b->ops.queue_max_size || q->failed > 1 ||
		    !q->used_len) {
			mv_errbuf(err, errlen,
				  "%s: request %" PRIu32 ": queue %u, head %u, used length %" PRIu32
				  " or failed %u is out of range",
				  name, i, q->q, q->head, q->used_len, q->failed);
			return -EINVAL;
		}
	}
	return mv_state_done(sec, &r, err, errlen);
}

int vblk_load(struct vblk *b, const char *id, const struct mv_state_section *sec, char *err,
	      size_t errlen)
{
	struct vblk_image im;
	char name[MV_STATE_NAME_MAX + 1];
	uint32_t i;
	int ret;

	vblk_state_name(id, name, sizeof(name));
	memset(&im, 0, sizeof(im));
	pthread_mutex_lock(&b->vdev.lock);
	ret = vblk_parse(b, name, sec, &im, err, errlen);
	if (!ret) {
		for (i = 0; i < VBLK_NR_COUNTERS; i++)
			__atomic_store_n(vblk_counter(&b->st, i), im.counters[i], __ATOMIC_RELAXED);
		for (i = 0; i < im.n && !ret; i++)
			ret = vblk_add_done_locked(b, im.reqs[i].q, im.reqs[i].head,
						   im.reqs[i].used_len, im.reqs[i].failed);
	}
	pthread_mutex_unlock(&b->vdev.lock);
	return ret;
}
