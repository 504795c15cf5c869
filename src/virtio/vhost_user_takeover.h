/*
 * vhost_user_takeover: memvisor answers a virtio-blk queue itself after
 * its vhost-user back-end died, so that the guest's requests fail with
 * VIRTIO_BLK_S_IOERR instead of waiting forever.
 *
 * Which requests the dead back-end held comes from its inflight area, where
 * it keeps one (GET_INFLIGHT_FD, the protocol's INFLIGHT_SHMFD feature;
 * qemu-storage-daemon 7.2 does not offer it): one part per
 * queue, a 16-byte header (features u64, version u16, desc_num u16,
 * last_batch_head u16, used_idx u16) and a 16-byte state per descriptor
 * (inflight u8, padding, next u16, counter u64). A back-end sets a head's
 * state when it pops the chain and clears it after the chain is in the
 * used ring; the header's used_idx follows the used index, so when the
 * guest's used index is ahead of it the last batch was used but not yet
 * cleared. The back-end pops in ring order, so it had taken
 * used index + the number held off the avail ring; the rest is untouched.
 *
 * Everything the guest or the back-end wrote is read once and checked:
 * heads and next indices within the ring, chains no longer than the ring
 * (an indirect table: one level, whole descriptors, at most 1024), the
 * status byte in the last descriptor and device-writable, guest memory only
 * through gmem_read/gmem_write. A malformed ring stops the takeover of that
 * queue (-EPROTO); the guest then gets no more answers on it, as before.
 *
 * Not thread-safe: the caller (vhost_user_dev, on the loop thread) holds
 * the device lock.
 */
#ifndef MV_VIRTIO_VHOST_USER_TAKEOVER_H
#define MV_VIRTIO_VHOST_USER_TAKEOVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/guest.h"

#define VUTAKE_HDR_SIZE	  16
#define VUTAKE_STATE_SIZE 16
#define VUTAKE_BLK_IOERR  1 /* VIRTIO_BLK_S_IOERR */

/* A split ring memvisor answers from the takeover on. */
struct vutake_ring {
	uint64_t desc, avail, used; /* guest addresses, as the driver set them */
	uint16_t size;		    /* a power of two, <= 1024 */
	uint16_t last_avail;	    /* the next avail entry to answer */
	uint16_t used_idx;	    /* memvisor's used index */
	uint64_t failed;	    /* chains answered with IOERR */
};

/*
 * Answer chain head: IOERR in its status byte (the last byte of its last
 * descriptor), then the head in the used ring with 1 byte written. 0, or
 * -EPROTO / -EFAULT for a malformed chain or ring (nothing is used then).
 */
int vutake_fail_chain(struct gmem *m, struct vutake_ring *r, uint16_t head);

/*
 * Take over r from a dead back-end: r->used_idx from the guest's used
 * ring; with its inflight part (len bytes), every chain it held answered
 * and r->last_avail set after what it had taken; without one (part NULL),
 * r->last_avail at the guest's avail index: what was made available before
 * the takeover is left unanswered (it cannot be told from what the
 * back-end already used), what comes after is answered. The count
 * answered, or -EPROTO / -EFAULT.
 */
int vutake_start(struct gmem *m, struct vutake_ring *r, const uint8_t *part, size_t len);

/*
 * Answer every chain the driver made available since r->last_avail (at
 * most r->size per call), publishing r->last_avail as the avail event so a
 * driver using EVENT_IDX notifies again. The count answered (more may be
 * waiting when it equals r->size), or -EPROTO / -EFAULT.
 */
int vutake_serve(struct gmem *m, struct vutake_ring *r);

#endif
