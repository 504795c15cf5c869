/*
 * rng_save: virtio-rng's save/load section "virtio-rng" (version 1). The
 * device keeps nothing beyond its queue, which the transport's section
 * ("virtio-pci.virtio-rng") carries, so the payload is empty; the section
 * pins the device's presence and lets a later version add state.
 */
#ifndef MV_VIRTIO_RNG_SAVE_H
#define MV_VIRTIO_RNG_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "virtio/rng.h"

#define VRNG_STATE_NAME	   "virtio-rng"
#define VRNG_STATE_VERSION 1

void vrng_save(struct vrng *r, struct mv_state_writer *w);
/* 0, or -EINVAL naming the section (wrong name, newer version, unexpected bytes). */
int vrng_load(struct vrng *r, const struct mv_state_section *sec, char *err, size_t errlen);

#endif
