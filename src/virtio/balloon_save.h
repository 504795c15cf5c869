/*
 * balloon_save: virtio-balloon's save/load section "virtio-balloon"
 * (version 1): the features offered (checked against this device's), the
 * target and `actual`, the statistics buffer the device keeps (its head;
 * the queue itself is in the transport's section) with the last figures,
 * the polling interval and the counters. A load checks everything before
 * it changes anything.
 */
#ifndef MV_VIRTIO_BALLOON_SAVE_H
#define MV_VIRTIO_BALLOON_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "virtio/balloon.h"

#define VB_STATE_NAME	 "virtio-balloon"
#define VB_STATE_VERSION 1

void vballoon_save(struct vballoon *b, struct mv_state_writer *w);
/* 0, or -EINVAL naming the section and field, with the device unchanged. */
int vballoon_load(struct vballoon *b, const struct mv_state_section *sec, char *err, size_t errlen);

#endif
