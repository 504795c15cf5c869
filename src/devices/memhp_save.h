/*
 * memhp_save: the ACPI memory-hotplug controller's section "memhp"
 * (version 1): the slot selector and, for every slot, what the guest can
 * read of it (address, size, node, enabled) with its pending insert and
 * remove events, whether the guest ejected it (memory not yet released by
 * the host) and its last _OST codes.
 *
 * Loading checks the slot count against this controller and every slot
 * for itself: a free slot has no address, size, node or event; an enabled
 * slot is not also ejecting; an ejecting one has no pending event; a slot
 * in use has a non-zero 4 KiB-aligned size that does not wrap. Only then
 * are the registers replaced, under the controller's lock; a refusal
 * names the section and the slot, and changes nothing. Whether the slots
 * match the DIMMs is the board's check (board/dimm.c).
 */
#ifndef MV_DEVICES_MEMHP_SAVE_H
#define MV_DEVICES_MEMHP_SAVE_H

#include <stddef.h>

#include "devices/memhp.h"
#include "lib/state.h"

#define MEMHP_STATE_NAME    "memhp"
#define MEMHP_STATE_VERSION 1

void memhp_save(struct memhp *h, struct mv_state_writer *w);
/* Pure: the section into regs (nr_slots must equal the controller's, set by the caller). */
int memhp_parse(const struct mv_state_section *sec, struct memhp_regs *regs, char *err,
		size_t errlen);
/* The parsed registers in place of the controller's, under its lock. */
void memhp_commit(struct memhp *h, const struct memhp_regs *regs);

#endif
