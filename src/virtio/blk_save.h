/*
 * blk_save: virtio-blk's save/load section "virtio-blk.<id>" (version 1).
 * The disk's data is the image file (the user's, as a shared file= zone):
 * it is not copied. Saving waits for the worker to finish every request
 * it holds (their data is in guest memory or on the disk by then), then
 * flushes the disk, so a snapshot is complete and durable with its disk.
 * The section carries the disk's shape (compared on load, not applied),
 * the counters, and every request finished but not yet returned to its
 * queue, which a restored device returns once it runs. Requests the
 * guest queued but the device had not popped stay in the rings (the
 * transport's section) and are served after the restore.
 *
 * Payload, little-endian: u64 sectors, u8 readonly, u16 num_queues,
 * 9 x u64 counters (reads, writes, flushes, discards, write_zeroes,
 * read_bytes, write_bytes, errors, refused), u32 n, then n times: u8 queue,
 * u16 head, u32 used length, u8 failed (1: the status byte could not be
 * written; the device asks for a reset when it comes back).
 */
#ifndef MV_VIRTIO_BLK_SAVE_H
#define MV_VIRTIO_BLK_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "virtio/blk.h"

#define VBLK_STATE_PREFIX  "virtio-blk."
#define VBLK_STATE_VERSION 1

void vblk_state_name(const char *id, char *buf, size_t len);
/*
 * Loop thread, the VM paused (no request is popped meanwhile): waits for
 * the worker, has it flush a writable disk, then writes the section. Takes
 * the device lock. 0, or -errno with a message in err and nothing written:
 * the flush failed, or the worker did not finish within save_timeout_ms
 * (-ETIMEDOUT; the requests still complete, later).
 */
int vblk_save(struct vblk *b, const char *id, struct mv_state_writer *w, char *err, size_t errlen);
/*
 * 0, or -EINVAL naming section and field with the device unchanged (another
 * disk size or queue count, a queue or head out of range, more requests
 * than the device holds). Takes the device lock.
 */
int vblk_load(struct vblk *b, const char *id, const struct mv_state_section *sec, char *err,
	      size_t errlen);

#endif
