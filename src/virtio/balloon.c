#include "virtio/balloon.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/util.h"

static struct vballoon *to_vb(struct virtio_dev *d)
{
	return container_of(d, struct vballoon, vdev);
}

static void vb_config(const struct vballoon *b, uint8_t cfg[VB_CONFIG_SIZE])
{
	uint32_t np = htole32(b->num_pages), ac = htole32(b->actual);

	memcpy(cfg, &np, 4);
	memcpy(cfg + 4, &ac, 4);
}

static void vb_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	uint8_t cfg[VB_CONFIG_SIZE];

	vb_config(to_vb(d), cfg);
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, cfg + off, len);
}

/* The driver writes `actual`; num_pages is the device's and stays. */
static void vb_config_write(struct virtio_dev *d, uint32_t off, const void *data, uint32_t len)
{
	struct vballoon *b = to_vb(d);
	uint8_t cfg[VB_CONFIG_SIZE];
	uint32_t actual;

	if (off >= sizeof(cfg) || len > sizeof(cfg) - off)
		return;
	vb_config(b, cfg);
	memcpy(cfg + off, data, len);
	memcpy(&actual, cfg + 4, 4);
	actual = le32toh(actual);
	if (actual == b->actual)
		return;
	b->actual = actual;
	if (b->hops->actual_changed)
		b->hops->actual_changed(b);
}

static void vb_account(struct vballoon *b, const struct vb_discard *r)
{
	b->c.discarded += r->discarded;
	b->c.refused += r->refused;
	b->c.skipped += r->skipped;
	b->c.failed += r->failed;
}

static void vb_discard(struct vballoon *b, uint64_t gpa, uint64_t len)
{
	struct vb_discard r = {0, 0, 0, 0};

	b->hops->discard(b, gpa, len, &r);
	vb_account(b, &r);
}

/* An inflate or deflate chain: an array of le32 PFNs. */
static int vb_serve_pfns(struct vballoon *b, struct virtq *q, const struct virtq_chain *c,
			 bool inflate)
{
	uint32_t pfns[256];
	uint64_t total = c->out_len / 4, n = MV_MIN(total, (uint64_t)VB_MAX_PFNS), off;
	unsigned int i, k, run;

	b->c.dropped_pfns += total - n;
	for (off = 0; off < n; off += k) {
		k = (unsigned int)MV_MIN(n - off, (uint64_t)ARRAY_SIZE(pfns));
		if (virtq_chain_read(q, c, off * 4, pfns, k * 4))
			return -EFAULT;
		for (i = 0; i < k; i++)
			pfns[i] = le32toh(pfns[i]);
		if (!inflate) {
			b->c.deflated_pages += k;
			continue;
		}
		b->c.inflated_pages += k;
		for (i = 0; i < k; i += run) {
			run = vb_pfn_run(pfns + i, k - i);
			vb_discard(b, (uint64_t)pfns[i] << VB_PFN_SHIFT,
				   (uint64_t)run << VB_PFN_SHIFT);
		}
	}
	return 0;
}

/* A reporting chain: each buffer is a free range of guest memory. */
static void vb_serve_report(struct vballoon *b, const struct virtq_chain *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++) {
		b->c.reported_bytes += c->seg[i].len;
		vb_discard(b, c->seg[i].gpa, c->seg[i].len);
	}
}

/* A statistics buffer: parsed, then kept until the next poll hands it back. */
static int vb_serve_stats(struct vballoon *b, struct virtq *q, const struct virtq_chain *c,
			  bool *used)
{
	uint8_t buf[VB_MAX_STATS_LEN];
	size_t len = (size_t)MV_MIN(c->out_len, (uint64_t)sizeof(buf));
	unsigned int ignored;

	if (virtq_chain_read(q, c, 0, buf, len))
		return -EFAULT;
	vb_stats_parse(buf, len, b->stats, &ignored);
	b->c.stats_updates++;
	b->stats_last_update = (int64_t)time(NULL);
	/* A driver that posts a second buffer gets the first one back. */
	if (b->stats_held) {
		if (virtq_push(q, b->stats_head, 0))
			return -EPROTO;
		*used = true;
	}
	b->stats_held = true;
	b->stats_head = c->head;
	return 0;
}

static void vb_device_error(struct vballoon *b, const char *why)
{
	mv_warn("virtio-balloon: %s; device needs reset", why);
	b->c.device_errors++;
	virtio_dev_set_needs_reset(&b->vdev);
}

static void vb_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct vballoon *b = to_vb(d);
	struct virtq *q = &d->vqs[qi];
	enum vb_queue_role role = vb_queue_role(d->driver_features, qi);
	struct virtq_chain c;
	bool used = false;
	int ret;

	if (role == VB_Q_NONE)
		return;
	while ((ret = virtq_pop(q, &c)) == 1) {
		int err = 0;

		switch (role) {
		case VB_Q_INFLATE:
		case VB_Q_DEFLATE:
			err = vb_serve_pfns(b, q, &c, role == VB_Q_INFLATE);
			break;
		case VB_Q_REPORTING:
			vb_serve_report(b, &c);
			break;
		case VB_Q_STATS:
			err = vb_serve_stats(b, q, &c, &used);
			if (!err)
				continue; /* kept, not used */
			break;
		case VB_Q_NONE:
			break;
		}
		if (err) {
			vb_device_error(b, "buffer unreadable");
			break;
		}
		if (virtq_push(q, c.head, 0))
			break;
		used = true;
	}
	if (ret < 0 || q->broken)
		vb_device_error(b, "malformed ring");
	if (used)
		virtio_dev_notify_used(d, qi);
}

/* Virtio reset: the queues are gone, and so is the buffer we kept and the driver's balloon. */
static void vb_reset(struct virtio_dev *d)
{
	struct vballoon *b = to_vb(d);

	b->stats_held = false;
	if (b->actual) {
		b->actual = 0;
		if (b->hops->actual_changed)
			b->hops->actual_changed(b);
	}
}

static const struct virtio_dev_ops vb_ops = {
    .device_id = 5,
    .num_queues = VB_NUM_QUEUES,
    .queue_max_size = VB_QUEUE_SIZE,
    .config_size = VB_CONFIG_SIZE,
    .config_read = vb_config_read,
    .config_write = vb_config_write,
    .queue_notify = vb_queue_notify,
    .reset = vb_reset,
};

void vballoon_stats_poll(struct vballoon *b)
{
	struct virtio_dev *d = &b->vdev;
	unsigned int qi;

	pthread_mutex_lock(&d->lock);
	qi = virtio_dev_has_feature(d, VB_F_STATS_VQ) ? 2 : 0;
	/* A paused VM or a device without bus mastering serves no queue: try next time. */
	if (qi && b->stats_held && (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->paused &&
	    !d->dma_off && !d->vqs[qi].broken) {
		if (virtq_push(&d->vqs[qi], b->stats_head, 0) == 0) {
			b->stats_held = false;
			virtio_dev_notify_used(d, qi);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static void vb_timer_fire(struct loop_timer *t)
{
	vballoon_stats_poll(container_of(t, struct vballoon, timer));
}

/* Lock held. */
static void vb_arm(struct vballoon *b)
{
	uint64_t ms = (uint64_t)b->stats_interval * 1000;

	if (b->timer_ok && loop_timer_arm(&b->timer, ms, ms))
		mv_warn("virtio-balloon: statistics timer: cannot arm");
}

int vballoon_init(struct vballoon *b, const struct vballoon_params *p,
		  const struct vballoon_host_ops *hops, struct gmem *mem, struct loop *loop)
{
	uint64_t features = 1ULL << VB_F_STATS_VQ;
	int ret;

	memset(b, 0, sizeof(*b));
	b->hops = hops;
	b->loop = loop;
	b->num_pages = p->num_pages;
	b->stats_interval = p->stats_interval;
	b->timer.w.fd = -1;
	for (unsigned int i = 0; i < VB_S_NR; i++)
		b->stats[i] = VB_STAT_NONE;
	if (p->deflate_on_oom)
		features |= 1ULL << VB_F_DEFLATE_ON_OOM;
	if (p->free_page_reporting)
		features |= 1ULL << VB_F_REPORTING;
	ret = virtio_dev_init(&b->vdev, &vb_ops, mem, features);
	if (ret)
		return ret;
	if (loop) {
		ret = loop_timer_init(loop, &b->timer, vb_timer_fire);
		if (ret) {
			virtio_dev_destroy(&b->vdev);
			return ret;
		}
		b->timer_ok = true;
		vb_arm(b);
	}
	return 0;
}

void vballoon_destroy(struct vballoon *b)
{
	if (b->timer_ok)
		loop_timer_destroy(b->loop, &b->timer);
	b->timer_ok = false;
	virtio_dev_destroy(&b->vdev);
}

void vballoon_set_target(struct vballoon *b, uint32_t num_pages)
{
	pthread_mutex_lock(&b->vdev.lock);
	if (b->num_pages != num_pages) {
		b->num_pages = num_pages;
		virtio_dev_notify_config(&b->vdev);
	}
	pthread_mutex_unlock(&b->vdev.lock);
}

int vballoon_set_stats_interval(struct vballoon *b, uint64_t seconds)
{
	if (seconds > UINT32_MAX)
		return -EINVAL;
	pthread_mutex_lock(&b->vdev.lock);
	if (b->stats_interval != seconds) {
		b->stats_interval = (unsigned int)seconds;
		vb_arm(b);
	}
	pthread_mutex_unlock(&b->vdev.lock);
	return 0;
}

void vballoon_restart_timer(struct vballoon *b)
{
	pthread_mutex_lock(&b->vdev.lock);
	vb_arm(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

void vballoon_get_info(struct vballoon *b, struct vballoon_info *out)
{
	struct virtio_dev *d = &b->vdev;

	pthread_mutex_lock(&d->lock);
	memset(out, 0, sizeof(*out));
	out->num_pages = b->num_pages;
	out->actual = b->actual;
	out->driver_ready = d->status & VIRTIO_STATUS_DRIVER_OK;
	out->stats_vq = virtio_dev_has_feature(d, VB_F_STATS_VQ);
	out->reporting = virtio_dev_has_feature(d, VB_F_REPORTING);
	out->deflate_on_oom = virtio_dev_has_feature(d, VB_F_DEFLATE_ON_OOM);
	memcpy(out->stats, b->stats, sizeof(out->stats));
	out->stats_last_update = b->stats_last_update;
	out->stats_interval = b->stats_interval;
	out->c = b->c;
	pthread_mutex_unlock(&d->lock);
}
