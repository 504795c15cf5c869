/*
 * dimm_save: the DIMM bookkeeping section "dimms" (version 1): the area and
 * slot count, every memory backend object, every DIMM in a slot (id,
 * object, address, size, node, state, plug order). The DIMMs' memory is not
 * in it (the snapshot code saves guest memory).
 *
 * Loading checks everything against the running set (same area, same slot
 * count, nodes it has) and for itself (ids well-formed and unique, DIMMs
 * inside the area, 128M aligned, not overlapping, each on an object of its
 * size that no other DIMM uses), then replaces the set in one step; on
 * refusal the set is unchanged and the message names the section and field.
 * A DIMM the guest had ejected but the host not yet released is saved as
 * ejected and loaded as such: the host releases it after load.
 */
#ifndef MV_MEM_DIMM_SAVE_H
#define MV_MEM_DIMM_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "mem/dimm.h"

#define DIMM_STATE_NAME	   "dimms"
#define DIMM_STATE_VERSION 1

void dimm_save(const struct dimm_set *s, struct mv_state_writer *w);
int dimm_load(struct dimm_set *s, const struct mv_state_section *sec, char *err, size_t errlen);

#endif
