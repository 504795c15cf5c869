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
 */
#ifndef MV_VIRTIO_VIRTIO_H
#define MV_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/guest.h"
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
	struct virtq vqs[VIRTIO_MAX_QUEUES];
};

/* Called by the device's init; host_features are the device-type bits. */
int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, struct gmem *mem,
		    uint64_t host_features);
void virtio_dev_destroy(struct virtio_dev *d);

/*
 * The status byte the driver wrote. Resets on 0, checks FEATURES_OK
 * (VERSION_1, subset of the offer, ops->features_ok). Lock held.
 */
void virtio_dev_set_status(struct virtio_dev *d, uint8_t status);
/* Virtio reset: queues, features, status; then ops->reset. Lock held. */
void virtio_dev_reset(struct virtio_dev *d);
/* Serve a notification for queue q (from any transport path). Lock held. */
void virtio_dev_queue_notify(struct virtio_dev *d, unsigned int q);

/* Device -> driver: buffers were used on q (honours NO_INTERRUPT). Lock held. */
void virtio_dev_notify_used(struct virtio_dev *d, unsigned int q);
/* Device -> driver: the config changed (bumps config_generation). Lock held. */
void virtio_dev_notify_config(struct virtio_dev *d);
/* A device error: set DEVICE_NEEDS_RESET and tell the driver. Lock held. */
void virtio_dev_set_needs_reset(struct virtio_dev *d);

static inline bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned int bit)
{
	return (d->status & VIRTIO_STATUS_FEATURES_OK) && (d->driver_features >> bit & 1);
}

#endif
