#include "virtio/pmem.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

enum vpmem_action vpmem_decide(uint64_t out_len, uint64_t in_len, uint32_t type)
{
	if (in_len < 4)
		return VPMEM_ACT_BAD;
	if (out_len < 4 || type != VPMEM_REQ_TYPE_FLUSH)
		return VPMEM_ACT_EIO;
	return VPMEM_ACT_FLUSH;
}

static struct vpmem *to_vpmem(struct virtio_dev *d)
{
	return container_of(d, struct vpmem, vdev);
}

static void vpmem_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct vpmem *p = to_vpmem(d);
	uint64_t cfg[2] = {htole64(p->start), htole64(p->size)};

	memcpy(data, (uint8_t *)cfg + off, len);
}

/* The first 4 writable bytes of c, as guest ranges (each segment is >= 1 byte). */
static void vpmem_req_of(const struct virtq_chain *c, struct vpmem_req *r)
{
	uint32_t need = 4;
	unsigned int i;

	memset(r, 0, sizeof(*r));
	r->head = c->head;
	for (i = c->nr_out; i < c->nr && need && r->nseg < VPMEM_RESP_SEGS; i++) {
		uint32_t n = MV_MIN(c->seg[i].len, need);

		r->seg[r->nseg].gpa = c->seg[i].gpa;
		r->seg[r->nseg++].len = n;
		need -= n;
	}
}

/* Writes ret into r's answer and returns the chain; lock held. */
static int vpmem_answer(struct vpmem *p, const struct vpmem_req *r, uint32_t ret)
{
	uint32_t v = htole32(ret);
	uint32_t off = 0;
	unsigned int i;

	for (i = 0; i < r->nseg; i++) {
		if (gmem_write(p->vdev.mem, r->seg[i].gpa, (uint8_t *)&v + off, r->seg[i].len))
			return -EFAULT;
		off += r->seg[i].len;
	}
	return virtq_push(&p->vdev.vqs[0], r->head, 4);
}

/* Hand the held requests to the worker if it is idle; lock held. */
static void vpmem_start_flush(struct vpmem *p)
{
	if (p->busy || !p->nr_reqs || p->vdev.paused)
		return;
	p->busy = true;
	p->nr_inflight = p->nr_reqs;
	p->flushes++;
	pthread_mutex_lock(&p->wlock);
	p->job = true;
	pthread_cond_signal(&p->wcond);
	pthread_mutex_unlock(&p->wlock);
}

static void vpmem_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct vpmem *p = to_vpmem(d);
	struct virtq *q = &d->vqs[qi];
	struct virtq_chain c;
	bool used = false;
	int ret = 0;

	/* A queue's worth held at most: the rest waits in the ring for vpmem_done. */
	while (p->nr_reqs < VPMEM_QUEUE_SIZE && (ret = virtq_pop(q, &c)) == 1) {
		uint32_t type = UINT32_MAX;
		struct vpmem_req r;
		enum vpmem_action a;

		if (c.out_len >= 4 && virtq_chain_read(q, &c, 0, &type, 4)) {
			virtio_dev_set_needs_reset(d);
			break;
		}
		a = vpmem_decide(c.out_len, c.in_len, le32toh(type));
		if (a == VPMEM_ACT_BAD) {
			mv_warn("virtio-pmem: a request without room for its answer (%llu writable "
				"bytes)",
				(unsigned long long)c.in_len);
			virtio_dev_set_needs_reset(d);
			break;
		}
		vpmem_req_of(&c, &r);
		if (a == VPMEM_ACT_FLUSH && !p->discard) {
			p->reqs[p->nr_reqs++] = r;
			continue;
		}
		if (vpmem_answer(p, &r, a == VPMEM_ACT_EIO ? VPMEM_RESP_EIO : VPMEM_RESP_OK)) {
			virtio_dev_set_needs_reset(d);
			break;
		}
		used = true;
	}
	if (ret < 0 || q->broken)
		virtio_dev_set_needs_reset(d);
	if (used)
		virtio_dev_notify_used(d, qi);
	vpmem_start_flush(p);
}

/* A virtio reset: held requests belong to a queue that is gone. */
static void vpmem_reset(struct virtio_dev *d)
{
	struct vpmem *p = to_vpmem(d);

	p->nr_reqs = p->nr_inflight = 0;
}

static const struct virtio_dev_ops vpmem_ops = {
    .device_id = VIRTIO_ID_PMEM,
    .num_queues = 1,
    .queue_max_size = VPMEM_QUEUE_SIZE,
    .config_size = VPMEM_CONFIG_SIZE,
    .config_read = vpmem_config_read,
    .queue_notify = vpmem_queue_notify,
    .reset = vpmem_reset,
};

static void *vpmem_worker(void *arg)
{
	struct vpmem *p = arg;
	uint64_t one = 1;
	int r;

	for (;;) {
		pthread_mutex_lock(&p->wlock);
		while (!p->job && !p->stop)
			pthread_cond_wait(&p->wcond, &p->wlock);
		if (p->stop) {
			pthread_mutex_unlock(&p->wlock);
			return NULL;
		}
		p->job = false;
		pthread_mutex_unlock(&p->wlock);

		r = p->hops->flush(p);

		pthread_mutex_lock(&p->wlock);
		p->result = r;
		p->result_ready = true;
		pthread_mutex_unlock(&p->wlock);
		if (p->done_w.fd >= 0 && write(p->done_w.fd, &one, sizeof(one)) != sizeof(one))
			mv_warn("virtio-pmem: completion not signalled: %s", strerror(errno));
	}
}

void vpmem_done(struct vpmem *p)
{
	unsigned int i, n;
	bool ready, used = false;
	int r;

	pthread_mutex_lock(&p->vdev.lock);
	/* Paused: the answer waits for cont (vpmem_set_paused). */
	if (p->vdev.paused) {
		pthread_mutex_unlock(&p->vdev.lock);
		return;
	}
	pthread_mutex_lock(&p->wlock);
	ready = p->result_ready;
	r = p->result;
	p->result_ready = false;
	pthread_mutex_unlock(&p->wlock);
	if (!ready || !p->busy) {
		pthread_mutex_unlock(&p->vdev.lock);
		return;
	}
	p->busy = false;
	if (r) {
		p->flush_errors++;
		mv_warn("virtio-pmem: flush failed: %s (the guest gets EIO)", strerror(-r));
	}
	n = p->nr_inflight;
	for (i = 0; i < n; i++)
		if (!vpmem_answer(p, &p->reqs[i], r ? VPMEM_RESP_EIO : VPMEM_RESP_OK))
			used = true;
	memmove(p->reqs, p->reqs + n, (p->nr_reqs - n) * sizeof(p->reqs[0]));
	p->nr_reqs -= n;
	p->nr_inflight = 0;
	if (used)
		virtio_dev_notify_used(&p->vdev, 0);
	vpmem_start_flush(p);
	/* Room again: serve what the ring still holds. */
	if (n)
		virtio_dev_queue_notify(&p->vdev, 0);
	pthread_mutex_unlock(&p->vdev.lock);
}

void vpmem_set_paused(struct vpmem *p, bool paused)
{
	if (paused)
		return;
	vpmem_done(p);
	pthread_mutex_lock(&p->vdev.lock);
	vpmem_start_flush(p);
	pthread_mutex_unlock(&p->vdev.lock);
}

static void vpmem_done_cb(struct loop_watch *w, uint32_t events)
{
	struct vpmem *p = container_of(w, struct vpmem, done_w);
	uint64_t v;

	if (read(w->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		mv_warn("virtio-pmem: reading completions: %s", strerror(errno));
	vpmem_done(p);
}

int vpmem_init(struct vpmem *p, const struct vpmem_params *prm, const struct vpmem_host_ops *hops,
	       struct gmem *mem, struct loop *loop)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->hops = hops;
	p->loop = loop;
	p->start = prm->start;
	p->size = prm->size;
	p->discard = prm->discard;
	p->done_w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->done_w.cb = vpmem_done_cb;
	if (p->done_w.fd < 0)
		return -errno;
	pthread_mutex_init(&p->wlock, NULL);
	pthread_cond_init(&p->wcond, NULL);
	ret = virtio_dev_init(&p->vdev, &vpmem_ops, mem, 0);
	if (ret)
		goto fail_fd;
	ret = -pthread_create(&p->thread, NULL, vpmem_worker, p);
	if (ret)
		goto fail_dev;
	p->thread_up = true;
	if (loop) {
		ret = loop_add(loop, &p->done_w, EPOLLIN);
		if (ret)
			goto fail_dev;
		p->watched = true;
	}
	return 0;
fail_dev:
	vpmem_destroy(p);
	return ret;
fail_fd:
	close(p->done_w.fd);
	p->done_w.fd = -1;
	pthread_cond_destroy(&p->wcond);
	pthread_mutex_destroy(&p->wlock);
	return ret;
}

void vpmem_destroy(struct vpmem *p)
{
	if (p->thread_up) {
		pthread_mutex_lock(&p->wlock);
		p->stop = true;
		pthread_cond_signal(&p->wcond);
		pthread_mutex_unlock(&p->wlock);
		pthread_join(p->thread, NULL);
		p->thread_up = false;
	}
	if (p->watched)
		loop_del(p->loop, &p->done_w);
	p->watched = false;
	if (p->done_w.fd >= 0)
		close(p->done_w.fd);
	p->done_w.fd = -1;
	virtio_dev_destroy(&p->vdev);
	pthread_cond_destroy(&p->wcond);
	pthread_mutex_destroy(&p->wlock);
}
