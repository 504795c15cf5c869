/*
 * rng: virtio-rng (device id 4). Fills every device-writable buffer the
 * driver offers with bytes from getrandom(); no features, no config.
 */
#ifndef MV_VIRTIO_RNG_H
#define MV_VIRTIO_RNG_H

#include "virtio/virtio.h"

struct vrng {
	struct virtio_dev vdev;
};

int vrng_init(struct vrng *r, struct gmem *mem);
void vrng_destroy(struct vrng *r);

#endif
