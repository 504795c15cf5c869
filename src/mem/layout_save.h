/*
 * layout_save: the memory description section "layout" (version 1): per
 * zone its id, boot RAM address and size, hotplug region address and size,
 * virtio-mem block size and guest NUMA node; then every guest RAM and
 * hotplug region as placed. Nothing is applied on load: the destination
 * builds its own layout from its own configuration, and loading refuses
 * any difference (naming the zone and the field), since guest memory
 * contents and the virtio-mem bitmaps only make sense at the same place.
 * Host-side choices (backing file, hugepages, sharing, host node) may
 * differ and are not compared.
 */
#ifndef MV_MEM_LAYOUT_SAVE_H
#define MV_MEM_LAYOUT_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "mem/layout.h"

#define LAYOUT_STATE_NAME    "layout"
#define LAYOUT_STATE_VERSION 1

void layout_save(const struct layout *l, const struct mv_config *cfg, struct mv_state_writer *w);
/* 0 when the saved layout is the running one; else -EINVAL naming the zone and field. */
int layout_load(const struct layout *l, const struct mv_config *cfg,
		const struct mv_state_section *sec, char *err, size_t errlen);

#endif
