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
 * the DIMM. DIMMs survive guest reboots. A snapshot with DIMMs plugged is
 * refused (their memory is not saved yet).
 *
 * Everything here runs on the loop thread, except the memhp hooks.
 */
#ifndef MV_BOARD_DIMM_H
#define MV_BOARD_DIMM_H

#include <stdint.h>

#include "core/loop.h"
#include "devices/memhp.h"
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
/* -EOPNOTSUPP (after one line) when a DIMM is plugged: snapshots do not carry DIMMs yet. */
int board_dimms_check_save(struct board *m);

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
