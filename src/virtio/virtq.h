/*
 * virtq: the device side of a split virtqueue (VIRTIO 1.x, 2.6), knowing
 * nothing of the transport. Guest memory is reached only through
 * gmem_read()/gmem_write(); every index and length the guest can change is
 * copied once and checked against host-side state before use.
 *
 * A queue that sees a malformed ring (a chain that loops or is longer than
 * the queue, an index out of range, a buffer outside guest memory, the avail
 * index running more than a queue ahead, an indirect descriptor) is marked
 * broken and is not touched again until virtq_reset(): the caller reports
 * this to the driver as DEVICE_NEEDS_RESET.
 *
 * Work per notification is bounded: virtq_pop hands out at most `size`
 * chains between two virtq_budget_reset() calls (the device core resets it
 * before each notification), so a guest that keeps the avail index one
 * ahead of the device cannot keep it busy forever; `more` tells the core
 * to continue later (virtio.h).
 *
 * Not offered, hence refused: VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX.
 * Not thread-safe: the device core serialises every call under its lock.
 */
#ifndef MV_VIRTIO_VIRTQ_H
#define MV_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guest.h"

#define VIRTQ_MAX_SIZE 1024 /* largest queue any device offers */
#define VIRTQ_MAX_SEGS 64   /* longest chain a device accepts */

#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_seg {
	uint64_t gpa;
	uint32_t len; /* never 0; [gpa, gpa+len) passed gmem_check() when popped */
	bool writable;
};

/* One popped descriptor chain: readable segments first, then writable. */
struct virtq_chain {
	uint16_t head;
	unsigned int nr;     /* segments in seg[] */
	unsigned int nr_out; /* the first nr_out are device-readable */
	uint64_t out_len;    /* bytes readable by the device */
	uint64_t in_len;     /* bytes writable by the device */
	struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

struct virtq {
	struct gmem *mem;
	uint16_t max_size;
	/* Written by the driver through the transport while disabled. */
	uint16_t size;
	uint64_t desc, avail, used;
	bool enabled;
	/* A malformed ring was seen; nothing is processed until reset. */
	bool broken;
	/*
	 * Host-side copies: the guest's idx fields are only ever compared
	 * against these, never used as the state itself.
	 */
	uint16_t last_avail_idx;
	uint16_t used_idx;
	/* Chains virtq_pop may still hand out for this notification. */
	uint16_t budget;
	/* A pop was refused for the budget while chains were available. */
	bool more;
};

void virtq_init(struct virtq *q, struct gmem *mem, uint16_t max_size);
/* Back to the state after init: disabled, size = max_size, addresses 0. */
void virtq_reset(struct virtq *q);
/*
 * Enable the queue with its current size and addresses; -EINVAL when the
 * size is not a power of two <= max_size or a ring is misaligned.
 */
int virtq_enable(struct virtq *q);
/* A new notification: `size` chains may be popped again; clears `more`. */
void virtq_budget_reset(struct virtq *q);
/*
 * Pop the next available chain. 1: *c filled; 0: nothing available, the
 * queue is disabled or broken, or the budget is spent (then `more` is set
 * if a chain was available); -EPROTO: the ring is malformed and the queue
 * is now broken.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c) __attribute__((warn_unused_result));
/*
 * Give back the last n chains popped and not pushed: they are available
 * again, to this notification's budget as well.
 */
void virtq_unpop(struct virtq *q, uint16_t n);
/* Return a chain to the driver with `len` bytes written. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t len) __attribute__((warn_unused_result));
/* After pushes: does the driver want an interrupt? */
bool virtq_should_notify(struct virtq *q);

/*
 * Copy `len` bytes at offset `off` of the chain's readable (out) or
 * writable (in) bytes. 0, or -EFAULT when the chain is too short or the
 * memory went away.
 */
int virtq_chain_read(struct virtq *q, const struct virtq_chain *c, uint64_t off, void *dst,
		     size_t len) __attribute__((warn_unused_result));
int virtq_chain_write(struct virtq *q, const struct virtq_chain *c, uint64_t off, const void *src,
		      size_t len) __attribute__((warn_unused_result));

#endif
