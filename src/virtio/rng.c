#include "virtio/rng.h"

#include <errno.h>
#include <sys/random.h>

#include "lib/util.h"

#define VRNG_QUEUE_SIZE 64
/* Bytes served per buffer: bounds the time one kick keeps the device lock. */
#define VRNG_MAX_FILL (64 * KiB)

static void vrng_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	/* config_size is 0, so the transport never calls this. */
}

static int vrng_fill(struct virtio_dev *d, struct virtq *q, const struct virtq_chain *c,
		     uint32_t *written)
{
	uint8_t buf[4096];
	uint64_t want = MV_MIN(c->in_len, VRNG_MAX_FILL), off;

	for (off = 0; off < want;) {
		size_t n = MV_MIN(sizeof(buf), want - off);
		ssize_t got = getrandom(buf, n, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (virtq_chain_write(q, c, off, buf, got))
			return -EFAULT;
		off += got;
	}
	*written = off;
	return 0;
}

static void vrng_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	/* virtq_pop stops at the notification's budget; the core continues later. */
	virtio_dev_serve_queue(d, qi, vrng_fill);
}

static const struct virtio_dev_ops vrng_ops = {
    .device_id = 4,
    .num_queues = 1,
    .queue_max_size = VRNG_QUEUE_SIZE,
    .config_size = 0,
    .config_read = vrng_config_read,
    .queue_notify = vrng_queue_notify,
};

int vrng_init(struct vrng *r, struct gmem *mem)
{
	return virtio_dev_init(&r->vdev, &vrng_ops, mem, 0);
}

void vrng_destroy(struct vrng *r)
{
	virtio_dev_destroy(&r->vdev);
}
