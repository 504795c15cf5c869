/*
 * board/dimm: ACPI-hotplugged DIMMs on the board. mem/dimm decides, this
 * file does: a DIMM is its own host backing (backend_create) and one KVM
 * memory slot, announced to the guest through devices/memhp.
 *
 * device_add: checked by mem/dimm, then backing, slot and the memhp plug;
 * any failure undoes the steps before it and changes nothing.
 * device_del: an eject request to the guest. The guest's _EJ0 (vCPU
 * thread) and _OST reports cross to the loop through an eventfd; there the
 * slot is removed, the backing freed, memhp released, and only then
 * DEVICE_DELETED sent. An _OST refusal sends ACPI_DEVICE_OST and keeps
 * the DIMM. DIMMs survive guest reboots.
 *
 * Snapshots: the sections "dimms" (mem/dimm_save) and "memhp"
 * (devices/memhp_save) carry the bookkeeping and the controller; the
 * snapshot code saves each DIMM's memory as a memory entry at its address.
 * On restore, board_dimms_restore reads both sections before any memory
 * is read (the memory entries need somewhere to go), checks them against
 * each other, and gives each DIMM its host memory and KVM slot again; an
 * eject the guest made before the snapshot is finished once the loop runs.
 *
 * Everything here runs on the loop thread, except the memhp hooks.
 */
#ifndef MV_BOARD_DIMM_H
#define MV_BOARD_DIMM_H

#include <stdint.h>

#include "core/loop.h"
#include "devices/memhp.h"
#include "lib/state.h"
#include "mem/backend.h"
#include "mem/dimm.h"

struct board;

struct board_dimms {
	struct board *m;
	struct dimm_set set;
	struct memhp hp;
	bool hp_up;
	struct backend backing[DIMM_MAX_SLOTS];
	uint32_t kvm_slot[DIMM_MAX_SLOTS];
	bool mapped[DIMM_MAX_SLOTS];
	/* from the vCPU threads: slots the guest ejected (atomic bit per slot) */
	uint64_t eject_pending[DIMM_MAX_SLOTS / 64];
	/* ... and _OST reports, in a small ring under ost_lock */
	pthread_mutex_t ost_lock;
	struct {
		unsigned int slot;
		uint32_t event, status;
	} ost[64];
	unsigned int ost_head, ost_n;
	struct loop_watch w;
};

/* Device table hooks (board/devices.c). */
int board_dimms_create(struct board *m);
void board_dimms_reset(struct board *m);
void board_dimms_destroy(struct board *m);
/* -EOPNOTSUPP with err when a DIMM cannot be snapshotted (a share=on memory-backend-file). */
int board_dimms_snapshot_check(struct board *m, char *err, size_t errlen);
/* The "dimms" and "memhp" sections (drains the _OST reports first). */
int board_dimms_save(struct board *m, struct mv_state_writer *w);
/*
 * Restore, after board_build and before the memory: both sections from the
 * saved state (p, len), checked, applied, and every DIMM backed and mapped
 * again. A VM without DIMM area and without the sections: 0. -errno with err.
 */
int board_dimms_restore(struct board *m, const void *p, size_t len, char *err, size_t errlen);
/*
 * Pure: whether the DIMMs and the controller's slots tell the same story
 * (a DIMM in a slot exactly where the slot is in use, with its address,
 * size and node; an ejected DIMM's slot ejecting). 0, or -EINVAL naming the slot.
 */
int board_dimms_match(const struct dimm_set *set, const struct memhp_regs *regs, char *err,
		      size_t errlen);
/* The host memory of the DIMM at exactly [gpa, gpa + len), or NULL; *prealloc its object's. */
struct backend *board_dimm_backing(struct board *m, uint64_t gpa, uint64_t len, bool *prealloc);

/* The QMP requests; e gets QEMU's class and text on refusal. */
int board_dimm_object_add(struct board *m, const struct dimm_object_req *r, struct dimm_error *e);
int board_dimm_object_del(struct board *m, const char *id, struct dimm_error *e);
int board_dimm_device_add(struct board *m, const char *id, const char *memdev, long node,
			  struct dimm_error *e);
int board_dimm_device_del(struct board *m, const char *id, struct dimm_error *e);
/* Resize the VM to total bytes of guest memory by adding or removing DIMMs. */
int board_dimm_resize(struct board *m, uint64_t total, struct dimm_error *e);
/* The set, read-only, for the API's queries (NULL without DIMM support). */
const struct dimm_set *board_dimm_set(struct board *m);

#endif
