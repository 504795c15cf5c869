#include "virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

/* Counters written by the loop and the worker alike. */
#define VBLK_COUNT(b, field, n) __atomic_fetch_add(&(b)->st.field, (n), __ATOMIC_RELAXED)

static void vblk_done_locked(struct vblk *b);

static struct vblk *to_vblk(struct virtio_dev *d)
{
	return container_of(d, struct vblk, vdev);
}

static void vblk_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct vblk *b = to_vblk(d);
	uint8_t cfg[VBLK_CONFIG_SIZE] = {0};

	le_put(cfg + 0, b->disk.sectors, 8);
	le_put(cfg + 12, VBLK_SEG_MAX, 4);
	le_put(cfg + 20, VBLK_SECTOR, 4);
	le_put(cfg + 34, b->num_queues, 2);
	le_put(cfg + 36, VBLK_MAX_DISCARD_SECTORS, 4);
	le_put(cfg + 40, VBLK_MAX_RANGES, 4);
	le_put(cfg + 44, 1, 4); /* discard_sector_alignment, in sectors */
	le_put(cfg + 48, VBLK_MAX_DISCARD_SECTORS, 4);
	le_put(cfg + 52, VBLK_MAX_RANGES, 4);
	cfg[56] = 1; /* write_zeroes_may_unmap */
	memcpy(data, cfg + off, len);
}

/* Writes the status byte (the chain's last writable byte); -EFAULT if it is gone. */
static int vblk_put_status(struct vblk *b, const struct vblk_job *j)
{
	return virtq_chain_write(&b->vdev.vqs[j->q], &j->c, j->c.in_len - 1, &j->status, 1);
}

/* Loop thread, lock held: a job slot, or -1 when all are taken. */
static int vblk_job_alloc(struct vblk *b)
{
	for (int i = 0; i < VBLK_MAX_JOBS; i++)
		if (!b->job_used[i]) {
			b->job_used[i] = true;
			b->nr_jobs++;
			return i;
		}
	return -1;
}

static void vblk_job_free(struct vblk *b, int i)
{
	b->job_used[i] = false;
	b->nr_jobs--;
}

/* Answered on the loop thread: GET_ID and every refusal. Lock held. */
static int vblk_answer_now(struct vblk *b, struct vblk_job *j)
{
	uint8_t id[VBLK_ID_BYTES] = {0};

	j->used_len = 1;
	if (j->act == VBLK_ACT_GET_ID) {
		j->status = VBLK_S_OK;
		memcpy(id, b->serial, sizeof(id));
		/* The driver's buffer may be shorter than 20 bytes: give what fits. */
		if (j->c.in_len - 1 < VBLK_ID_BYTES ||
		    virtq_chain_write(&b->vdev.vqs[j->q], &j->c, 0, id, VBLK_ID_BYTES))
			j->status = VBLK_S_IOERR;
		else
			j->used_len += VBLK_ID_BYTES;
	} else if (j->status != VBLK_S_OK) {
		VBLK_COUNT(b, refused, 1);
	}
	if (vblk_put_status(b, j))
		return -EFAULT;
	return virtq_push(&b->vdev.vqs[j->q], j->c.head, j->used_len);
}

static void vblk_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct vblk *b = to_vblk(d);
	struct virtq *q = &d->vqs[qi];
	struct virtq_chain c;
	bool used = false, queued = false;
	int ret = 0;

	vblk_done_locked(b); /* what completed meanwhile first: it frees job slots */
	while (b->nr_jobs < VBLK_MAX_JOBS && (ret = virtq_pop(q, &c)) == 1) {
		uint8_t hdr[VBLK_HDR_SIZE] = {0};
		struct vblk_decision dec;
		struct vblk_job *j;
		int ji;

		if (c.out_len >= VBLK_HDR_SIZE && virtq_chain_read(q, &c, 0, hdr, sizeof(hdr))) {
			virtio_dev_set_needs_reset(d);
			break;
		}
		dec = vblk_decide(&b->disk, c.out_len, c.in_len, hdr);
		if (dec.act == VBLK_ACT_BAD) {
			mv_warn("virtio-blk: a request without a status byte");
			virtio_dev_set_needs_reset(d);
			break;
		}
		ji = vblk_job_alloc(b);
		j = &b->jobs[ji];
		j->q = qi;
		j->act = dec.act;
		j->type = le_get(hdr, 4);
		j->sector = dec.sector;
		j->len = dec.len;
		j->nranges = dec.nranges;
		j->status = dec.status;
		j->c = c;
		if (dec.act == VBLK_ACT_ANSWER || dec.act == VBLK_ACT_GET_ID) {
			ret = vblk_answer_now(b, j);
			vblk_job_free(b, ji);
			if (ret) {
				virtio_dev_set_needs_reset(d);
				break;
			}
			used = true;
			continue;
		}
		pthread_mutex_lock(&b->wlock);
		j->gen = b->gen;
		b->todo[(b->todo_head + b->nr_todo) % VBLK_MAX_JOBS] = ji;
		b->nr_todo++;
		pthread_mutex_unlock(&b->wlock);
		queued = true;
	}
	if (ret < 0 || q->broken)
		virtio_dev_set_needs_reset(d);
	if (used)
		virtio_dev_notify_used(d, qi);
	if (queued) {
		pthread_mutex_lock(&b->wlock);
		pthread_cond_signal(&b->wcond);
		pthread_mutex_unlock(&b->wlock);
	}
}

/* A virtio reset: requests in flight belong to queues that are gone. Lock held. */
static void vblk_reset(struct virtio_dev *d)
{
	struct vblk *b = to_vblk(d);

	pthread_mutex_lock(&b->wlock);
	/* After this no old request writes guest memory (see vblk_guest_write). */
	b->gen++;
	/* Not started: freed now. The one running is freed when it comes back. */
	while (b->nr_todo) {
		vblk_job_free(b, b->todo[b->todo_head]);
		b->todo_head = (b->todo_head + 1) % VBLK_MAX_JOBS;
		b->nr_todo--;
	}
	pthread_mutex_unlock(&b->wlock);
}

static int vblk_features_ok(struct virtio_dev *d, uint64_t f)
{
	struct vblk *b = to_vblk(d);

	b->disk.flush = f >> VBLK_F_FLUSH & 1;
	b->disk.discard = f >> VBLK_F_DISCARD & 1;
	b->disk.write_zeroes = f >> VBLK_F_WRITE_ZEROES & 1;
	return 0;
}

/* Worker ---------------------------------------------------------------- */

/* Into guest memory, unless the request is from before a reset. 0, -EFAULT or -ECANCELED. */
static int vblk_guest_write(struct vblk *b, struct vblk_job *j, uint64_t off, const void *src,
			    size_t len)
{
	int r;

	pthread_mutex_lock(&b->wlock);
	r = j->gen != b->gen ? -ECANCELED
			     : virtq_chain_write(&b->vdev.vqs[j->q], &j->c, off, src, len);
	pthread_mutex_unlock(&b->wlock);
	return r;
}

static int vblk_do_read(struct vblk *b, struct vblk_job *j)
{
	uint64_t done = 0;
	int r;

	while (done < j->len) {
		size_t n = MV_MIN((uint64_t)VBLK_CHUNK, j->len - done);

		r = b->hops->read(b, j->sector * VBLK_SECTOR + done, b->bounce, n);
		if (!r)
			r = vblk_guest_write(b, j, done, b->bounce, n);
		if (r)
			return r;
		done += n;
	}
	j->used_len = j->len + 1;
	VBLK_COUNT(b, read_bytes, j->len);
	return 0;
}

static int vblk_do_write(struct vblk *b, struct vblk_job *j)
{
	uint64_t done = 0;
	int r;

	while (done < j->len) {
		size_t n = MV_MIN((uint64_t)VBLK_CHUNK, j->len - done);

		r = virtq_chain_read(&b->vdev.vqs[j->q], &j->c, VBLK_HDR_SIZE + done, b->bounce, n);
		if (!r)
			r = b->hops->write(b, j->sector * VBLK_SECTOR + done, b->bounce, n);
		if (r)
			return r;
		done += n;
	}
	VBLK_COUNT(b, write_bytes, j->len);
	return 0;
}

/* Each range checked before any is acted on: a bad one answers the whole request. */
static int vblk_do_ranges(struct vblk *b, struct vblk_job *j)
{
	struct vblk_range rg[VBLK_MAX_RANGES];
	uint8_t raw[VBLK_RANGE_SIZE];
	unsigned int i;
	int r;

	for (i = 0; i < j->nranges; i++) {
		r = virtq_chain_read(&b->vdev.vqs[j->q], &j->c, VBLK_HDR_SIZE + i * VBLK_RANGE_SIZE,
				     raw, sizeof(raw));
		if (r)
			return r;
		j->status = vblk_check_range(&b->disk, j->type, raw, &rg[i]);
		if (j->status == VBLK_S_OK && rg[i].count > VBLK_MAX_DISCARD_SECTORS)
			j->status = VBLK_S_IOERR;
		if (j->status != VBLK_S_OK)
			return 1; /* answered with that status */
	}
	for (i = 0; i < j->nranges; i++) {
		uint64_t off = rg[i].sector * VBLK_SECTOR,
			 len = (uint64_t)rg[i].count * VBLK_SECTOR;

		r = j->act == VBLK_ACT_DISCARD
			? b->hops->discard(b, off, len)
			: b->hops->write_zeroes(b, off, len, rg[i].flags & VBLK_RANGE_UNMAP);
		if (r)
			return r;
	}
	return 0;
}

static void vblk_run(struct vblk *b, struct vblk_job *j)
{
	int r = 0;

	j->used_len = 1;
	switch (j->act) {
	case VBLK_ACT_READ:
		VBLK_COUNT(b, reads, 1);
		r = vblk_do_read(b, j);
		break;
	case VBLK_ACT_WRITE:
		VBLK_COUNT(b, writes, 1);
		r = vblk_do_write(b, j);
		break;
	case VBLK_ACT_FLUSH:
		VBLK_COUNT(b, flushes, 1);
		r = b->hops->flush(b);
		break;
	case VBLK_ACT_DISCARD:
	case VBLK_ACT_WRITE_ZEROES:
		if (j->act == VBLK_ACT_DISCARD)
			VBLK_COUNT(b, discards, 1);
		else
			VBLK_COUNT(b, write_zeroes, 1);
		r = vblk_do_ranges(b, j);
		if (r == 1) {
			VBLK_COUNT(b, refused, 1);
			r = 0;
			goto status;
		}
		break;
	default:
		r = -EINVAL;
	}
	j->status = VBLK_S_OK;
	if (r == -ECANCELED)
		return;
	if (r) {
		/* The host failed (or the guest memory went away): the guest gets IOERR. */
		VBLK_COUNT(b, errors, 1);
		j->status = VBLK_S_IOERR;
		j->used_len = 1;
	}
status:
	if (vblk_guest_write(b, j, j->c.in_len - 1, &j->status, 1) == -EFAULT)
		j->status = 0xFF; /* no status byte: a device error when returned */
}

/* The loop learns that requests finished (vblk_done_cb reads the count). */
static void vblk_signal_done(struct vblk *b)
{
	uint64_t one = 1;

	if (b->done_w.fd >= 0 && write(b->done_w.fd, &one, sizeof(one)) != sizeof(one))
		mv_warn("virtio-blk: completion not signalled: %s", strerror(errno));
}

static void *vblk_worker(void *arg)
{
	struct vblk *b = arg;
	uint64_t asked;
	uint16_t ji;
	int r;

	for (;;) {
		pthread_mutex_lock(&b->wlock);
		while (!b->nr_todo && !b->stop && b->flush_done == b->flush_asked)
			pthread_cond_wait(&b->wcond, &b->wlock);
		if (b->stop) {
			pthread_mutex_unlock(&b->wlock);
			return NULL;
		}
		if (!b->nr_todo) {
			/* A flush the VMM asked for (a snapshot), after every request before it. */
			asked = b->flush_asked;
			pthread_mutex_unlock(&b->wlock);
			r = b->hops->flush(b);
			pthread_mutex_lock(&b->wlock);
			b->flush_ret = r;
			b->flush_done = asked;
			pthread_cond_broadcast(&b->wcond);
			pthread_mutex_unlock(&b->wlock);
			continue;
		}
		ji = b->todo[b->todo_head];
		b->todo_head = (b->todo_head + 1) % VBLK_MAX_JOBS;
		b->nr_todo--;
		pthread_mutex_unlock(&b->wlock);

		vblk_run(b, &b->jobs[ji]);

		pthread_mutex_lock(&b->wlock);
		b->done[b->nr_done++] = ji;
		pthread_cond_broadcast(&b->wcond);
		pthread_mutex_unlock(&b->wlock);
		vblk_signal_done(b);
	}
}

/* wlock held: waits on wcond until deadline (NULL: no limit); 0 or -ETIMEDOUT. */
static int vblk_wait_until(struct vblk *b, const struct timespec *deadline)
{
	if (!deadline) {
		pthread_cond_wait(&b->wcond, &b->wlock);
		return 0;
	}
	return pthread_cond_timedwait(&b->wcond, &b->wlock, deadline) == ETIMEDOUT ? -ETIMEDOUT : 0;
}

int vblk_drain_locked(struct vblk *b, const struct timespec *deadline)
{
	int ret = 0;

	pthread_mutex_lock(&b->wlock);
	while (!ret && (b->nr_todo || b->nr_done != b->nr_jobs))
		ret = vblk_wait_until(b, deadline);
	if (!b->nr_todo && b->nr_done == b->nr_jobs)
		ret = 0; /* finished just as the time ran out */
	pthread_mutex_unlock(&b->wlock);
	return ret;
}

int vblk_flush_locked(struct vblk *b, const struct timespec *deadline)
{
	uint64_t mine;
	int ret = 0;

	pthread_mutex_lock(&b->wlock);
	mine = ++b->flush_asked;
	pthread_cond_broadcast(&b->wcond);
	while (!ret && b->flush_done < mine)
		ret = vblk_wait_until(b, deadline);
	if (b->flush_done >= mine)
		ret = b->flush_ret;
	pthread_mutex_unlock(&b->wlock);
	return ret;
}

void vblk_wait_idle(struct vblk *b)
{
	pthread_mutex_lock(&b->vdev.lock);
	vblk_drain_locked(b, NULL);
	pthread_mutex_unlock(&b->vdev.lock);
}

int vblk_add_done_locked(struct vblk *b, uint8_t q, uint16_t head, uint32_t used_len, bool failed)
{
	struct vblk_job *j;
	int ji = vblk_job_alloc(b);

	if (ji < 0)
		return -ENOSPC;
	j = &b->jobs[ji];
	memset(j, 0, sizeof(*j));
	j->q = q;
	j->c.head = head;
	j->used_len = used_len;
	j->status = failed ? 0xFF : VBLK_S_OK;
	pthread_mutex_lock(&b->wlock);
	j->gen = b->gen;
	b->done[b->nr_done++] = ji;
	pthread_mutex_unlock(&b->wlock);
	/* The loop returns it (vblk_done_cb), or cont does if the VM is paused. */
	vblk_signal_done(b);
	return 0;
}

/* Lock held: give completed requests back; those of an old generation are only freed. */
static void vblk_done_locked(struct vblk *b)
{
	uint16_t done[VBLK_MAX_JOBS];
	uint32_t gen, used_q = 0;
	unsigned int n, i;

	if (b->vdev.paused)
		return;
	pthread_mutex_lock(&b->wlock);
	n = b->nr_done;
	memcpy(done, b->done, n * sizeof(done[0]));
	b->nr_done = 0;
	gen = b->gen;
	pthread_mutex_unlock(&b->wlock);
	for (i = 0; i < n; i++) {
		struct vblk_job *j = &b->jobs[done[i]];

		if (j->gen == gen && !(b->vdev.status & VIRTIO_STATUS_NEEDS_RESET)) {
			if (j->status == 0xFF ||
			    virtq_push(&b->vdev.vqs[j->q], j->c.head, j->used_len))
				virtio_dev_set_needs_reset(&b->vdev);
			else
				used_q |= 1U << j->q;
		}
		vblk_job_free(b, done[i]);
	}
	for (i = 0; i < b->num_queues; i++)
		if (used_q >> i & 1)
			virtio_dev_notify_used(&b->vdev, i);
}

void vblk_done(struct vblk *b)
{
	bool was_full = b->nr_jobs == VBLK_MAX_JOBS;

	vblk_done_locked(b);
	/* Room again: serve what the rings still hold. */
	if (was_full && b->nr_jobs < VBLK_MAX_JOBS && !b->vdev.paused)
		for (unsigned int i = 0; i < b->num_queues; i++)
			virtio_dev_queue_notify(&b->vdev, i);
}

static void vblk_done_cb(struct loop_watch *w, uint32_t events)
{
	struct vblk *b = container_of(w, struct vblk, done_w);
	uint64_t v;

	if (read(w->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		mv_warn("virtio-blk: reading completions: %s", strerror(errno));
	pthread_mutex_lock(&b->vdev.lock);
	vblk_done(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

void vblk_set_paused(struct vblk *b, bool paused)
{
	if (paused)
		return;
	pthread_mutex_lock(&b->vdev.lock);
	vblk_done(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

int vblk_init(struct vblk *b, const struct vblk_params *prm, const struct vblk_host_ops *hops,
	      struct gmem *mem, struct loop *loop)
{
	uint64_t f = 1ULL << VBLK_F_SEG_MAX | 1ULL << VBLK_F_BLK_SIZE | 1ULL << VBLK_F_FLUSH;
	pthread_condattr_t ca;
	int ret;

	if (!prm->num_queues || prm->num_queues > VIRTIO_MAX_QUEUES || !is_pow2(prm->queue_size) ||
	    prm->queue_size > VBLK_MAX_QUEUE_SIZE)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->hops = hops;
	b->loop = loop;
	b->num_queues = prm->num_queues;
	b->save_timeout_ms = VBLK_SAVE_TIMEOUT_MS;
	b->disk.sectors = prm->size / VBLK_SECTOR;
	b->disk.readonly = prm->readonly;
	strncpy(b->serial, prm->serial ? prm->serial : "", sizeof(b->serial));
	if (prm->readonly)
		f |= 1ULL << VBLK_F_RO;
	else
		f |= 1ULL << VBLK_F_DISCARD | 1ULL << VBLK_F_WRITE_ZEROES;
	if (prm->num_queues > 1)
		f |= 1ULL << VBLK_F_MQ;
	b->ops = (struct virtio_dev_ops){
	    .device_id = VIRTIO_ID_BLOCK,
	    .num_queues = prm->num_queues,
	    .queue_max_size = prm->queue_size,
	    .config_size = VBLK_CONFIG_SIZE,
	    .features_ok = vblk_features_ok,
	    .config_read = vblk_config_read,
	    .queue_notify = vblk_queue_notify,
	    .reset = vblk_reset,
	};
	/* Page-aligned: the board may open the disk with O_DIRECT. */
	if (posix_memalign((void **)&b->bounce, 4096, VBLK_CHUNK))
		b->bounce = NULL;
	b->done_w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b->done_w.cb = vblk_done_cb;
	pthread_mutex_init(&b->wlock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the save's deadline */
	pthread_cond_init(&b->wcond, &ca);
	pthread_condattr_destroy(&ca);
	if (!b->bounce || b->done_w.fd < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = virtio_dev_init(&b->vdev, &b->ops, mem, f);
	if (ret)
		goto fail;
	ret = -pthread_create(&b->thread, NULL, vblk_worker, b);
	if (ret) {
		virtio_dev_destroy(&b->vdev);
		goto fail;
	}
	b->thread_up = true;
	if (loop) {
		ret = loop_add(loop, &b->done_w, EPOLLIN);
		if (ret) {
			vblk_destroy(b);
			return ret;
		}
		b->watched = true;
	}
	return 0;
fail:
	if (b->done_w.fd >= 0)
		close(b->done_w.fd);
	free(b->bounce);
	pthread_cond_destroy(&b->wcond);
	pthread_mutex_destroy(&b->wlock);
	return ret;
}

void vblk_destroy(struct vblk *b)
{
	if (b->thread_up) {
		pthread_mutex_lock(&b->wlock);
		b->stop = true;
		pthread_cond_broadcast(&b->wcond);
		pthread_mutex_unlock(&b->wlock);
		pthread_join(b->thread, NULL);
		b->thread_up = false;
	}
	if (b->watched)
		loop_del(b->loop, &b->done_w);
	b->watched = false;
	if (b->done_w.fd >= 0)
		close(b->done_w.fd);
	b->done_w.fd = -1;
	virtio_dev_destroy(&b->vdev);
	free(b->bounce);
	b->bounce = NULL;
	pthread_cond_destroy(&b->wcond);
	pthread_mutex_destroy(&b->wlock);
}
