/*
 * pmem_save: virtio-pmem's save/load section "virtio-pmem.<id>" (version 1).
 * The memory is the file and is not saved; the section carries the range
 * (compared with the running device's, not applied), the counters, and every
 * FLUSH popped but not answered yet (head and where its answer goes), so a
 * restored device flushes and answers them: a FLUSH running when the VM was
 * saved is never lost. The queue itself is the transport's section.
 *
 * Payload, little-endian: u64 start, u64 size, u64 flushes, u64 flush_errors,
 * u32 n, then n times: u16 head, u8 nseg (1..4), nseg times u64 gpa, u32 len;
 * the lengths of a request add up to 4.
 */
#ifndef MV_VIRTIO_PMEM_SAVE_H
#define MV_VIRTIO_PMEM_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "virtio/pmem.h"

#define VPMEM_STATE_PREFIX  "virtio-pmem."
#define VPMEM_STATE_VERSION 1

void vpmem_state_name(const char *id, char *buf, size_t len);
/* Takes the device lock. */
void vpmem_save(struct vpmem *p, const char *id, struct mv_state_writer *w);
/*
 * 0, or -EINVAL naming section and field with the device unchanged (another
 * range, a head outside the queue, an answer outside guest memory...). The
 * requests loaded are flushed at once (answered once the device runs).
 */
int vpmem_load(struct vpmem *p, const char *id, const struct mv_state_section *sec, char *err,
	       size_t errlen);

#endif
