/*
 * virtio: the transport-independent core of a virtio device. A device
 * embeds struct virtio_dev, fills a static const virtio_dev_ops table and
 * reaches its own type with container_of. A transport (virtio/pci) owns the
 * register layout and the interrupts; it installs virtio_transport_ops.
 *
 * Locking: one mutex per device (dev->lock). The transport holds it around
 * every guest register access and every queue notification, so all
 * virtio_dev_ops callbacks run with it held. Device functions called from
 * elsewhere (the control API, a reset) take it themselves. The
 * virtio_dev_notify_* and virtio_dev_set_needs_reset calls require it held.
 *
 * Threads (ARCHITECTURE.md): queue_notify runs on the event-loop thread
 * only; the transport forwards a notification that arrives on a vCPU
 * thread. The other callbacks (config_read/write, features_ok, reset) may
 * run on a vCPU thread: they touch only the device's own state, under the
 * lock, in bounded time, and never call the control API.
 *
 * Work per notification is bounded (virtq.h): a device serves what
 * virtq_pop hands out; when the budget ran out with chains still
 * available, the core asks the transport to notify again later from the
 * loop, so other watches, timers and signals are served in between.
 */
#ifndef MV_VIRTIO_VIRTIO_H
#define MV_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/guest.h"
#include "virtio/virtq.h"

#define VIRTIO_MAX_QUEUES 8

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER	  0x02
#define VIRTIO_STATUS_DRIVER_OK	  0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80

#define VIRTIO_F_VERSION_1 32

struct virtio_dev;

struct virtio_dev_ops {
	uint32_t device_id;
	unsigned int num_queues; /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max_size; /* power of two <= VIRTQ_MAX_SIZE */
	uint32_t config_size;	 /* bytes of device-specific config */
	/*
	 * Optional: 0 to accept the features the driver wrote (a subset of
	 * dev->host_features with VERSION_1), -errno to refuse FEATURES_OK.
	 */
	int (*features_ok)(struct virtio_dev *d, uint64_t features);
	/* Read [off, off+len) of the device config; the core checked the bounds. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *data, uint32_t len);
	/* Optional: the driver wrote the device config; bounds checked. */
	void (*config_write)(struct virtio_dev *d, uint32_t off, const void *data, uint32_t len);
	/* The driver made buffers available on queue q (DRIVER_OK, q enabled). */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* Optional: virtio (not system) reset; the queues are already reset. */
	void (*reset)(struct virtio_dev *d);
	/*
	 * Optional: the driver set DRIVER_OK (the queues it enabled are set
	 * up). A device served elsewhere (vhost-user) starts its back-end here.
	 */
	void (*driver_ok)(struct virtio_dev *d);
};

/*
 * How the core reaches its transport: the transport embeds struct
 * virtio_transport, points dev->transport at it and reaches its own type
 * with container_of. Both hooks raise an interrupt; called with the lock held.
 */
struct virtio_transport;

struct virtio_transport_ops {
	void (*notify_used)(struct virtio_transport *t, unsigned int q);
	void (*notify_config)(struct virtio_transport *t);
	/*
	 * Optional: serve queue q again from the event loop soon (its budget
	 * was spent with buffers still available). Without it, the rest waits
	 * for the driver's next notification.
	 */
	void (*kick_later)(struct virtio_transport *t, unsigned int q);
};

struct virtio_transport {
	const struct virtio_transport_ops *ops;
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	struct virtio_transport *transport; /* NULL until a transport attaches */
	struct gmem *mem;
	pthread_mutex_t lock;
	uint64_t host_features;	  /* VERSION_1 is always added */
	uint64_t driver_features; /* what the driver wrote; valid once FEATURES_OK */
	uint8_t status;
	uint8_t config_generation;
	/*
	 * The transport forbids guest-memory access (PCI: bus master clear).
	 * Notifications meanwhile are kept in `deferred` (one bit a queue) and
	 * served when it is allowed again; a virtio reset drops them.
	 */
	bool dma_off;
	/*
	 * The VM is paused (QMP stop): the device serves no queue either; what
	 * is notified meanwhile waits in `deferred` for cont.
	 */
	bool paused;
	uint32_t deferred;
	struct virtq vqs[VIRTIO_MAX_QUEUES];
};

/* Called by the device's init; host_features are the device-type bits. */
int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, struct gmem *mem,
		    uint64_t host_features);
void virtio_dev_destroy(struct virtio_dev *d);

/*
 * The status byte the driver wrote. Resets on 0, checks FEATURES_OK
 * (VERSION_1, subset of the offer, ops->features_ok); DRIVER_OK releases
 * notifications that came before it. Lock held.
 */
void virtio_dev_set_status(struct virtio_dev *d, uint8_t status);
/* Virtio reset: queues, features, status; then ops->reset. Lock held. */
void virtio_dev_reset(struct virtio_dev *d);
/*
 * Serve a notification for queue q: at most one budget of chains, then a
 * kick_later if more are available; deferred while DMA (bus master) is off,
 * the VM is paused or the driver has not set DRIVER_OK yet (setting it hands
 * the deferred queues to the loop; a driver may fill a queue before, as
 * Linux's virtio_balloon does).
 * Every path into ops->queue_notify goes through here. Loop thread (or a
 * single-threaded test). Lock held.
 */
void virtio_dev_queue_notify(struct virtio_dev *d, unsigned int q);
/* May the device touch guest memory? Turning it on hands deferred notifications to the loop. Lock
 * held. */
void virtio_dev_set_dma(struct virtio_dev *d, bool on);
/*
 * The VM paused or resumed: while paused no queue is served (notifications
 * are deferred as with DMA off); resuming hands them to the loop. Loop
 * thread, lock held.
 */
void virtio_dev_set_paused(struct virtio_dev *d, bool paused);

/* Device -> driver: buffers were used on q (honours NO_INTERRUPT). Lock held. */
void virtio_dev_notify_used(struct virtio_dev *d, unsigned int q);
/* Device -> driver: the config changed (bumps config_generation). Lock held. */
void virtio_dev_notify_config(struct virtio_dev *d);
/* A device error: set DEVICE_NEEDS_RESET and tell the driver. Lock held. */
void virtio_dev_set_needs_reset(struct virtio_dev *d);

/*
 * Answers one chain of queue q: the bytes it wrote into the chain's
 * device-writable part in *written (0 before the call), 0 to hand the chain
 * back, or a negative errno when the device can no longer serve the queue.
 */
typedef int (*virtio_serve_fn)(struct virtio_dev *d, struct virtq *q, const struct virtq_chain *c,
			       uint32_t *written);
/*
 * The queue_notify of a device that answers each chain at once: pops
 * chains within the notification's budget, serves each with `serve`, hands
 * it back with what was written, and interrupts the driver once at the end
 * if anything was used. A failed serve or a malformed ring sets
 * DEVICE_NEEDS_RESET and stops. Lock held. Returns the chains used.
 */
unsigned int virtio_dev_serve_queue(struct virtio_dev *d, unsigned int q, virtio_serve_fn serve);

static inline bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned int bit)
{
	return (d->status & VIRTIO_STATUS_FEATURES_OK) && (d->driver_features >> bit & 1);
}

#endif
