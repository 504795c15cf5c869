#include "virtio/vhost_user_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX	    29
#define VUDEV_DEVICE_BITS	    0xFFFFFFULL /* 0-23: the device type's own */

void vudev_fs_config(const char *tag, uint32_t request_queues, uint8_t out[VUDEV_FS_CONFIG_LEN])
{
	size_t n = strnlen(tag, VUDEV_FS_TAG_LEN);

	memset(out, 0, VUDEV_FS_CONFIG_LEN);
	memcpy(out, tag, n);
	le_put(out + VUDEV_FS_TAG_LEN, request_queues, 4);
}

int vudev_blk_config(uint8_t cfg[VUDEV_BLK_CONFIG_LEN], uint64_t backend_features,
		     unsigned int num_queues, char *err, size_t errlen)
{
	if (num_queues > 1 && !(backend_features & 1ULL << VUDEV_BLK_F_MQ)) {
		snprintf(err, errlen,
			 "num_queues=%u: the back-end offers one queue only (no VIRTIO_BLK_F_MQ)",
			 num_queues);
		return -EINVAL;
	}
	le_put(cfg + VUDEV_BLK_OFF_NUM_QUEUES, num_queues, 2);
	return 0;
}

int vudev_translate(const struct vudev_mem *m, uint64_t gpa, uint64_t len, uint64_t *uaddr)
{
	for (unsigned int i = 0; i < m->n; i++) {
		const struct vu_region *r = &m->r[i];

		if (len && gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa)) {
			*uaddr = r->uaddr + (gpa - r->gpa);
			return 0;
		}
	}
	return -EFAULT;
}

uint64_t vudev_offer(uint64_t backend_features)
{
	uint64_t ours = VUDEV_DEVICE_BITS | 1ULL << VIRTIO_RING_F_INDIRECT_DESC |
			1ULL << VIRTIO_RING_F_EVENT_IDX | 1ULL << VIRTIO_F_VERSION_1;

	return backend_features & ours;
}

static struct vudev *to_vudev(struct virtio_dev *v)
{
	return container_of(v, struct vudev, vdev);
}

static int vudev_watch(struct vudev *d, struct loop_watch *w, int fd, loop_cb cb)
{
	w->fd = fd;
	w->cb = cb;
	if (fd < 0)
		return -errno;
	if (loop_add(d->loop, w, EPOLLIN)) {
		close(fd);
		w->fd = -1;
		return -EIO;
	}
	return 0;
}

/* Breakage ------------------------------------------------------------- */

/*
 * Lock held: with prm.takeover and the driver running, every queue it
 * enabled is to be answered by the loop (started on the back-end or not:
 * one never handed over had nothing taken from it).
 */
static void vudev_take_mark(struct vudev *d)
{
	for (unsigned int q = 0; q < d->ops.num_queues; q++)
		d->take[q].pending = d->prm.takeover && d->vdev.vqs[q].enabled &&
				     (d->vdev.status & VIRTIO_STATUS_DRIVER_OK);
}

/*
 * Lock held, any thread: the back-end is gone for this VM. The connection
 * is closed, the driver told, and the report handed to the loop.
 */
static void vudev_break(struct vudev *d, const char *why)
{
	uint64_t one = 1;

	if (d->broken)
		return;
	d->broken = true;
	snprintf(d->why, sizeof(d->why), "%s", why);
	vu_close(&d->conn);
	vudev_take_mark(d);
	d->started = 0;
	/* Not during a reset: the driver waits for the status to read 0. */
	if (d->vdev.status)
		virtio_dev_set_needs_reset(&d->vdev);
	mv_warn("%s: %s; the device needs a reset and gets no back-end", d->prm.name, d->why);
	if (d->broken_w.fd >= 0 && write(d->broken_w.fd, &one, sizeof(one)) != sizeof(one))
		mv_warn("%s: eventfd write failed", d->prm.name);
}

/* Lock held, loop thread: answer what queue q's driver made available since the last time. */
static void vudev_take_serve(struct vudev *d, unsigned int q)
{
	struct vudev_take *t = &d->take[q];
	uint64_t one = 1;
	int n;

	if (!t->on || d->vdev.dma_off || d->vdev.paused)
		return;
	n = vutake_serve(d->vdev.mem, &t->r);
	if (n < 0) {
		t->on = false;
		mv_warn("%s: queue %u: a malformed ring (%s): no more answers on it", d->prm.name,
			q, strerror(-n));
		return;
	}
	if (n && d->vdev.transport)
		d->vdev.transport->ops->notify_used(d->vdev.transport, q);
	/* A full round: come back for the rest after the loop's other work. */
	if (n == t->r.size && write(t->w.fd, &one, sizeof(one)) != sizeof(one))
		mv_warn("%s: queue %u: eventfd write failed", d->prm.name, q);
}

/* Loop thread: a kick on a queue memvisor answers. */
static void vudev_on_take_kick(struct loop_watch *w, uint32_t events)
{
	struct vudev_take *t = container_of(w, struct vudev_take, w);
	uint64_t cnt;

	(void)events;
	if (read(w->fd, &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&t->d->vdev.lock);
	vudev_take_serve(t->d, t->q);
	pthread_mutex_unlock(&t->d->vdev.lock);
}

/*
 * Lock held, loop thread: the back-end held queue q when it broke: answer
 * what it held, then watch the kick for the rest.
 */
static void vudev_take_start(struct vudev *d, unsigned int q)
{
	struct vudev_take *t = &d->take[q];
	const struct virtq *vq = &d->vdev.vqs[q];
	size_t part = d->infl ? d->infl_area.mmap_size / d->infl_area.num_queues : 0;
	int n;

	t->pending = false;
	if (!(d->vdev.status & VIRTIO_STATUS_DRIVER_OK) || !vq->enabled || d->vdev.dma_off)
		return;
	t->r = (struct vutake_ring){
	    .desc = vq->desc, .avail = vq->avail, .used = vq->used, .size = vq->size};
	n = vutake_start(d->vdev.mem, &t->r, d->infl ? d->infl + q * part : NULL, part);
	if (n < 0) {
		mv_warn("%s: queue %u: cannot take it over (%s)", d->prm.name, q, strerror(-n));
		return;
	}
	if (t->w.fd < 0 &&
	    vudev_watch(d, &t->w, fcntl(d->kick_fd[q], F_DUPFD_CLOEXEC, 0), vudev_on_take_kick)) {
		mv_warn("%s: queue %u: cannot watch its kicks", d->prm.name, q);
		return;
	}
	t->on = true;
	if (d->infl)
		mv_warn("%s: queue %u: the back-end held %d request(s): answered IOERR, as every "
			"new one will be",
			d->prm.name, q, n);
	else
		mv_warn("%s: queue %u: every new request is answered IOERR (the back-end kept no "
			"inflight area: what it held stays unanswered)",
			d->prm.name, q);
	if (n && d->vdev.transport)
		d->vdev.transport->ops->notify_used(d->vdev.transport, q);
	vudev_take_serve(d, q);
}

/* Loop thread: the report, once; the socket watch goes with the connection. */
static void vudev_on_broken(struct loop_watch *w, uint32_t events)
{
	struct vudev *d = container_of(w, struct vudev, broken_w);
	char why[sizeof(d->why)];
	uint64_t cnt;
	bool report;

	(void)events;
	if (read(w->fd, &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&d->vdev.lock);
	report = d->broken && !d->reported;
	d->reported |= report;
	snprintf(why, sizeof(why), "%s", d->why);
	for (unsigned int q = 0; q < d->ops.num_queues; q++)
		if (d->take[q].pending)
			vudev_take_start(d, q);
	pthread_mutex_unlock(&d->vdev.lock);
	if (d->sock_w.fd >= 0) {
		loop_del(d->loop, &d->sock_w);
		close(d->sock_w.fd);
		d->sock_w.fd = -1;
	}
	if (report && d->prm.broken)
		d->prm.broken(d, why);
}

/*
 * Loop thread: the socket is readable or hung up while no request is in
 * flight (requests run whole under the lock). Nothing may arrive unasked.
 */
static void vudev_on_socket(struct loop_watch *w, uint32_t events)
{
	struct vudev *d = container_of(w, struct vudev, sock_w);
	char b;
	ssize_t n;

	(void)events;
	pthread_mutex_lock(&d->vdev.lock);
	if (d->conn.fd < 0) {
		vudev_break(d, d->conn.err[0] ? d->conn.err : "the connection was closed");
	} else {
		n = recv(d->conn.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0)
			vudev_break(d, "the back-end closed its socket");
		else if (n > 0)
			vudev_break(d, "the back-end sent a message memvisor did not ask for");
		else if (errno != EAGAIN && errno != EINTR)
			vudev_break(d, strerror(errno));
	}
	pthread_mutex_unlock(&d->vdev.lock);
}

/* Loop thread: the back-end used buffers on a queue: its interrupt. */
static void vudev_on_call(struct loop_watch *w, uint32_t events)
{
	struct vudev_call *c = container_of(w, struct vudev_call, w);
	struct vudev *d = c->d;
	uint64_t cnt;

	(void)events;
	if (read(w->fd, &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&d->vdev.lock);
	d->calls++;
	if (d->vdev.transport && (d->vdev.status & VIRTIO_STATUS_DRIVER_OK))
		d->vdev.transport->ops->notify_used(d->vdev.transport, c->q);
	pthread_mutex_unlock(&d->vdev.lock);
}

/* Start and stop (lock held) ------------------------------------------ */

static int vudev_start_queue(struct vudev *d, unsigned int q)
{
	const struct virtq *vq = &d->vdev.vqs[q];
	struct vu_vring_addr a = {.index = q};
	char msg[160];
	int ret;

	if (vudev_translate(&d->mem, vq->desc, 16ULL * vq->size, &a.desc) ||
	    vudev_translate(&d->mem, vq->avail, 6 + 2ULL * vq->size, &a.avail) ||
	    vudev_translate(&d->mem, vq->used, 6 + 8ULL * vq->size, &a.used)) {
		snprintf(msg, sizeof(msg),
			 "queue %u: the driver put its rings outside the memory the back-end maps",
			 q);
		vudev_break(d, msg);
		return -EFAULT;
	}
	ret = vu_set_vring_num(&d->conn, q, vq->size);
	if (!ret)
		ret = vu_set_vring_base(&d->conn, q, 0);
	if (!ret)
		ret = vu_set_vring_addr(&d->conn, &a);
	if (!ret)
		ret = vu_set_vring_fd(&d->conn, VU_SET_VRING_KICK, q, d->kick_fd[q]);
	if (!ret)
		ret = vu_set_vring_fd(&d->conn, VU_SET_VRING_CALL, q, d->call[q].w.fd);
	if (!ret && (d->conn.features & 1ULL << VU_F_PROTOCOL_FEATURES))
		ret = vu_set_vring_enable(&d->conn, q, true);
	if (!ret)
		d->started |= 1U << q;
	return ret;
}

/*
 * Lock held: the inflight area, asked for once and cleared at every start
 * (the rings are stopped then), handed to the back-end. An area memvisor
 * cannot safely map (not sealed against shrinking: a back-end could make
 * reading it fault) is not used, and the disk then has no takeover.
 */
static int vudev_inflight(struct vudev *d)
{
	struct vu_inflight a;
	struct stat st;
	void *p;
	int fd, ret, seals;

	if (!d->infl) {
		ret =
		    vu_get_inflight_fd(&d->conn, d->ops.num_queues, d->ops.queue_max_size, &a, &fd);
		if (ret)
			return ret;
		seals = fcntl(fd, F_GET_SEALS);
		if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) ||
		    (uint64_t)st.st_size < a.mmap_offset + a.mmap_size ||
		    (p = mmap(NULL, a.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			      (off_t)a.mmap_offset)) == MAP_FAILED) {
			mv_warn("%s: the back-end's inflight area is not a sealed memfd of its "
				"size: not used (no IOERR answers if the back-end dies)",
				d->prm.name);
			close(fd);
			return 0;
		}
		d->infl = p;
		d->infl_fd = fd;
		d->infl_area = a;
	}
	memset(d->infl, 0, d->infl_area.mmap_size);
	return vu_set_inflight_fd(&d->conn, &d->infl_area, d->infl_fd);
}

static void vudev_driver_ok(struct virtio_dev *v)
{
	struct vudev *d = to_vudev(v);
	int ret;

	if (d->broken) {
		uint64_t one = 1;

		/* Gone before the driver started (or restarted): a disk answers it from the loop.
		 */
		virtio_dev_set_needs_reset(v);
		vudev_take_mark(d);
		if (write(d->broken_w.fd, &one, sizeof(one)) != sizeof(one))
			mv_warn("%s: eventfd write failed", d->prm.name);
		return;
	}
	d->starts++;
	ret = vu_set_features(&d->conn, v->driver_features);
	if (!ret)
		ret = vu_set_mem_table(&d->conn, d->mem.r, d->mem.fd, d->mem.n);
	if (!ret && d->prm.takeover && vu_has_protocol(&d->conn, VU_PROTOCOL_F_INFLIGHT_SHMFD))
		ret = vudev_inflight(d);
	for (unsigned int q = 0; !ret && q < d->ops.num_queues; q++)
		if (v->vqs[q].enabled)
			ret = vudev_start_queue(d, q);
	if (ret)
		vudev_break(d, d->conn.err[0] ? d->conn.err : strerror(-ret));
}

static void vudev_drop_inflight(struct vudev *d)
{
	if (d->infl)
		munmap(d->infl, d->infl_area.mmap_size);
	if (d->infl_fd >= 0)
		close(d->infl_fd);
	d->infl = NULL;
	d->infl_fd = -1;
}

/* Virtio reset: the back-end lets go of every ring before the guest reuses them. */
static void vudev_reset(struct virtio_dev *v)
{
	struct vudev *d = to_vudev(v);
	uint32_t base;

	/* The driver takes its rings back from memvisor too. */
	for (unsigned int q = 0; q < d->ops.num_queues; q++)
		d->take[q].on = d->take[q].pending = false;
	/* A dead back-end's area says nothing of the rings the driver makes next. */
	if (d->broken)
		vudev_drop_inflight(d);
	if (!d->started || d->broken)
		return;
	d->stops++;
	for (unsigned int q = 0; q < d->ops.num_queues; q++) {
		if (!(d->started & 1U << q))
			continue;
		if (vu_get_vring_base(&d->conn, q, &base)) {
			vudev_break(d, d->conn.err);
			return;
		}
	}
	d->started = 0;
}

static void vudev_config_read(struct virtio_dev *v, uint32_t off, void *data, uint32_t len)
{
	memcpy(data, to_vudev(v)->config + off, len);
}

/* A notification that reached memvisor (no ioeventfd): the back-end's kick. */
static void vudev_queue_notify(struct virtio_dev *v, unsigned int q)
{
	struct vudev *d = to_vudev(v);
	uint64_t one = 1;

	if (d->kick_fd[q] >= 0 && write(d->kick_fd[q], &one, sizeof(one)) != sizeof(one))
		mv_warn("%s: queue %u: kick write failed", d->prm.name, q);
}

/* Setup ------------------------------------------------------------------ */

int vudev_init(struct vudev *d, const struct vudev_params *prm, struct vu_conn *conn,
	       struct gmem *gm, struct loop *loop, char *err, size_t errlen)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->conn = *conn;
	conn->fd = -1;
	d->prm = *prm;
	d->loop = loop;
	d->sock_w.fd = d->broken_w.fd = d->infl_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		d->kick_fd[q] = d->call[q].w.fd = d->take[q].w.fd = -1;
		d->call[q].d = d->take[q].d = d;
		d->call[q].q = d->take[q].q = q;
	}
	if (prm->num_queues < 1 || prm->num_queues > VIRTIO_MAX_QUEUES ||
	    prm->config_size > VUDEV_MAX_CONFIG) {
		snprintf(err, errlen, "%s: %u queues, %u config bytes: unsupported", prm->name,
			 prm->num_queues, prm->config_size);
		vu_close(&d->conn);
		return -EINVAL;
	}
	if (d->conn.queues && d->conn.queues < prm->num_queues) {
		snprintf(err, errlen, "%s: the back-end at %s serves %u queues, the device has %u",
			 prm->name, d->conn.path, d->conn.queues, prm->num_queues);
		vu_close(&d->conn);
		return -EINVAL;
	}
	if (!(d->conn.features & 1ULL << VIRTIO_F_VERSION_1)) {
		snprintf(err, errlen, "%s: the back-end at %s does not offer VIRTIO_F_VERSION_1",
			 prm->name, d->conn.path);
		vu_close(&d->conn);
		return -EPROTO;
	}
	if (prm->config_size)
		memcpy(d->config, prm->config, prm->config_size);
	d->ops = (struct virtio_dev_ops){
	    .device_id = prm->device_id,
	    .num_queues = prm->num_queues,
	    .queue_max_size = prm->queue_size,
	    .config_size = prm->config_size,
	    .config_read = vudev_config_read,
	    .queue_notify = vudev_queue_notify,
	    .reset = vudev_reset,
	    .driver_ok = vudev_driver_ok,
	};
	ret =
	    virtio_dev_init(&d->vdev, &d->ops, gm, vudev_offer(d->conn.features) & ~prm->withhold);
	if (ret) {
		snprintf(err, errlen, "%s: %s", prm->name, strerror(-ret));
		vu_close(&d->conn);
		return ret;
	}
	ret = vudev_watch(d, &d->broken_w, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), vudev_on_broken);
	if (!ret)
		ret = vudev_watch(d, &d->sock_w, fcntl(d->conn.fd, F_DUPFD_CLOEXEC, 0),
				  vudev_on_socket);
	for (unsigned int q = 0; !ret && q < prm->num_queues; q++)
		ret = vudev_watch(d, &d->call[q].w, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
				  vudev_on_call);
	if (ret) {
		snprintf(err, errlen, "%s: event fds: %s", prm->name, strerror(-ret));
		vudev_destroy(d);
		return ret;
	}
	return 0;
}

void vudev_set_mem(struct vudev *d, const struct vudev_mem *m)
{
	pthread_mutex_lock(&d->vdev.lock);
	d->mem = *m;
	pthread_mutex_unlock(&d->vdev.lock);
}

void vudev_resumed(struct vudev *d)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->vdev.lock);
	for (unsigned int q = 0; q < d->ops.num_queues; q++)
		if (d->take[q].on && write(d->take[q].w.fd, &one, sizeof(one)) != sizeof(one))
			mv_warn("%s: queue %u: eventfd write failed", d->prm.name, q);
	pthread_mutex_unlock(&d->vdev.lock);
}

void vudev_set_kick(struct vudev *d, unsigned int q, int fd)
{
	if (q < VIRTIO_MAX_QUEUES)
		d->kick_fd[q] = fd;
}

void vudev_destroy(struct vudev *d)
{
	struct loop_watch *ws[2 + 2 * VIRTIO_MAX_QUEUES] = {&d->sock_w, &d->broken_w};

	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		ws[2 + q] = &d->call[q].w;
		ws[2 + VIRTIO_MAX_QUEUES + q] = &d->take[q].w;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(ws); i++) {
		if (ws[i]->fd < 0)
			continue;
		loop_del(d->loop, ws[i]);
		close(ws[i]->fd);
		ws[i]->fd = -1;
	}
	vu_close(&d->conn);
	vudev_drop_inflight(d);
	virtio_dev_destroy(&d->vdev);
}
