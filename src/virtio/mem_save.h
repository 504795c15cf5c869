/*
 * mem_save: virtio-mem's save/load section "virtio-mem.<id>" (version 1):
 * the region (address, size, block size, proximity domain), the requested,
 * usable and plugged sizes, the plugged-block bitmap and the counters the
 * control API reports. The virtqueue is in the transport's section.
 *
 * Loading refuses a region other than the running device's (address, size,
 * block size or node), a bitmap whose length does not match the region or
 * with bits past its end, sizes out of range or not block-aligned, and a
 * plugged size that disagrees with the bitmap. It loads only into a device
 * with nothing plugged (a fresh one): after validating everything it plugs
 * each saved run on the host through vmem_host_ops (so the memory slots
 * exist before guest RAM contents arrive) and commits; if the host fails,
 * the runs already plugged are unplugged again and nothing changes.
 */
#ifndef MV_VIRTIO_MEM_SAVE_H
#define MV_VIRTIO_MEM_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "virtio/mem.h"

#define VMEM_STATE_PREFIX  "virtio-mem."
#define VMEM_STATE_VERSION 1

/* "virtio-mem.<id>" into buf (MV_STATE_NAME_MAX + 1 bytes); id is the zone's. */
void vmem_state_name(const char *id, char *buf, size_t len);
void vmem_save(struct vmem *m, const char *id, struct mv_state_writer *w);
/*
 * 0; -EINVAL naming the section and field, or the host's -errno, with
 * nothing changed; -EBUSY when blocks are plugged already.
 */
int vmem_load(struct vmem *m, const char *id, const struct mv_state_section *sec, char *err,
	      size_t errlen);

#endif
