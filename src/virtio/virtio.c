#include "virtio/virtio.h"

#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, struct gmem *mem,
		    uint64_t host_features)
{
	unsigned int i;

	if (ops->num_queues > VIRTIO_MAX_QUEUES || !is_pow2(ops->queue_max_size) ||
	    ops->queue_max_size > VIRTQ_MAX_SIZE || !ops->config_read || !ops->queue_notify)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->mem = mem;
	d->host_features = host_features | 1ULL << VIRTIO_F_VERSION_1;
	for (i = 0; i < ops->num_queues; i++)
		virtq_init(&d->vqs[i], mem, ops->queue_max_size);
	return -pthread_mutex_init(&d->lock, NULL);
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	pthread_mutex_destroy(&d->lock);
}

void virtio_dev_reset(struct virtio_dev *d)
{
	unsigned int i;

	for (i = 0; i < d->ops->num_queues; i++)
		virtq_reset(&d->vqs[i]);
	d->driver_features = 0;
	d->status = 0;
	d->deferred = 0;
	if (d->ops->reset)
		d->ops->reset(d);
}

static bool virtio_dev_features_acceptable(struct virtio_dev *d)
{
	uint64_t f = d->driver_features;

	if (f & ~d->host_features) {
		mv_debug("virtio: driver accepted features %#llx never offered",
			 (unsigned long long)(f & ~d->host_features));
		return false;
	}
	/* Only the modern interface exists here; a legacy driver cannot work. */
	if (!(f >> VIRTIO_F_VERSION_1 & 1))
		return false;
	return !d->ops->features_ok || d->ops->features_ok(d, f) == 0;
}

static void virtio_dev_release(struct virtio_dev *d);

void virtio_dev_set_status(struct virtio_dev *d, uint8_t status)
{
	uint8_t old = d->status;

	if (!status) {
		virtio_dev_reset(d);
		return;
	}
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !virtio_dev_features_acceptable(d))
		status &= ~VIRTIO_STATUS_FEATURES_OK; /* the driver re-reads it and gives up */
	/* NEEDS_RESET is the device's bit; only a reset clears it. */
	d->status = (status & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	/* Now live: what was notified before is served (from the loop, see below). */
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (d->ops->driver_ok)
			d->ops->driver_ok(d);
		virtio_dev_release(d);
	}
}

void virtio_dev_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtq *vq;

	/* No buffer is consumed before DRIVER_OK, nor after a device error. */
	if (q >= d->ops->num_queues || !d->vqs[q].enabled ||
	    (d->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	/*
	 * Before DRIVER_OK the notification waits: Linux's virtio_balloon adds
	 * and kicks its statistics buffer before it sets DRIVER_OK.
	 */
	if (d->dma_off || d->paused || !(d->status & VIRTIO_STATUS_DRIVER_OK)) {
		d->deferred |= 1U << q;
		return;
	}
	vq = &d->vqs[q];
	virtq_budget_reset(vq);
	d->ops->queue_notify(d, q);
	/* A guest that keeps adding buffers gets the rest served later, not now. */
	if (vq->more && !vq->broken && d->transport && d->transport->ops->kick_later)
		d->transport->ops->kick_later(d->transport, q);
}

/* Hands what was notified while the device was held to the loop, once nothing holds it. */
static void virtio_dev_release(struct virtio_dev *d)
{
	uint32_t pending;
	unsigned int q;

	if (d->dma_off || d->paused || !(d->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	pending = d->deferred;
	d->deferred = 0;
	/*
	 * The command register is written on a vCPU thread: hand the deferred
	 * queues to the loop (kick_later) rather than serve them here.
	 */
	for (q = 0; q < d->ops->num_queues; q++) {
		if (!(pending >> q & 1))
			continue;
		if (d->transport && d->transport->ops->kick_later)
			d->transport->ops->kick_later(d->transport, q);
		else
			virtio_dev_queue_notify(d, q);
	}
}

void virtio_dev_set_dma(struct virtio_dev *d, bool on)
{
	d->dma_off = !on;
	virtio_dev_release(d);
}

void virtio_dev_set_paused(struct virtio_dev *d, bool paused)
{
	d->paused = paused;
	virtio_dev_release(d);
}

void virtio_dev_notify_used(struct virtio_dev *d, unsigned int q)
{
	if (q < d->ops->num_queues && virtq_should_notify(&d->vqs[q]) && d->transport)
		d->transport->ops->notify_used(d->transport, q);
}

void virtio_dev_notify_config(struct virtio_dev *d)
{
	d->config_generation++;
	if (d->transport)
		d->transport->ops->notify_config(d->transport);
}

void virtio_dev_set_needs_reset(struct virtio_dev *d)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_dev_notify_config(d);
}

unsigned int virtio_dev_serve_queue(struct virtio_dev *d, unsigned int qi, virtio_serve_fn serve)
{
	struct virtq *q = &d->vqs[qi];
	struct virtq_chain c;
	unsigned int used = 0;
	int ret;

	while ((ret = virtq_pop(q, &c)) == 1) {
		uint32_t written = 0;

		if (serve(d, q, &c, &written) < 0) {
			virtio_dev_set_needs_reset(d);
			break;
		}
		if (virtq_push(q, c.head, written))
			break;
		used++;
	}
	if (ret < 0 || q->broken)
		virtio_dev_set_needs_reset(d);
	if (used)
		virtio_dev_notify_used(d, qi);
	return used;
}
