/*
 * dimm: the bookkeeping of ACPI-hotplugged DIMMs, pure: which memory
 * backend objects exist (QMP object-add), which DIMM sits in which ACPI
 * slot at which guest address (device_add), and what an unplug is waiting
 * for. No host memory and no KVM slot is touched here: board/dimm.c does
 * that, after this module said yes, and commits here only once it worked.
 *
 * Promises: every request is checked completely before anything changes;
 * a refusal names the problem with QEMU's error class (DIMM_ERR_GENERIC is
 * QMP's GenericError, DIMM_ERR_NOT_FOUND its DeviceNotFound) and leaves the
 * set as it was. DIMM sizes and addresses are multiples of
 * CONFIG_DIMM_ALIGN (whole Linux memory blocks); addresses are given first
 * fit in the area.
 *
 * Life of a DIMM: EMPTY -> PLUGGED (device_add) -> UNPLUGGING (device_del:
 * eject request sent) -> EJECTED (the guest's _EJ0; memory still mapped)
 * -> EMPTY (the host removed it: DEVICE_DELETED). A failure reported
 * through _OST while UNPLUGGING puts it back to PLUGGED.
 *
 * Resize (memvisor-ctl resize): growing adds one DIMM of the difference;
 * shrinking removes hot-added DIMMs, newest first, and only when whole
 * DIMMs add up to the difference exactly (else refused, naming the sizes
 * that can be reached).
 */
#ifndef MV_MEM_DIMM_H
#define MV_MEM_DIMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define DIMM_ID_LEN	 64
#define DIMM_PATH_LEN	 256
#define DIMM_MAX_OBJECTS 256
#define DIMM_MAX_SLOTS	 CONFIG_DIMM_MAX_SLOTS
#define DIMM_MAX_BOOT	 CONFIG_MAX_ZONES

enum dimm_err {
	DIMM_ERR_GENERIC = 1,
	DIMM_ERR_NOT_FOUND,
};

struct dimm_error {
	enum dimm_err cls; /* 0: none */
	char desc[256];
};

/* QOM types of memory backends (QMP object-add qom-type). */
enum dimm_backend {
	DIMM_BACKEND_RAM,   /* memory-backend-ram: private anonymous (share=on: shared) */
	DIMM_BACKEND_MEMFD, /* memory-backend-memfd */
	DIMM_BACKEND_FILE,  /* memory-backend-file: mem-path */
};

struct dimm_object {
	bool used;
	char id[DIMM_ID_LEN];
	enum dimm_backend kind;
	uint64_t size;
	bool share;
	bool prealloc;
	char path[DIMM_PATH_LEN];
	int slot;     /* the DIMM using it, -1: none */
	bool autodel; /* made by resize for its DIMM: deleted with it */
};

enum dimm_state {
	DIMM_EMPTY,
	DIMM_PLUGGED,
	DIMM_UNPLUGGING,
	DIMM_EJECTED,
};

struct dimm {
	enum dimm_state state;
	char id[DIMM_ID_LEN];
	unsigned int object;
	uint64_t addr;
	uint64_t size;
	uint32_t node;
	uint64_t seq; /* plug order, for resize's newest-first */
	/* last _OST report of the slot (query-acpi-ospm-status) */
	bool ost_valid;
	uint32_t ost_event;
	uint32_t ost_status;
};

struct dimm_set {
	uint64_t area_gpa;
	uint64_t area_size;
	unsigned int nr_slots;
	unsigned int nr_nodes; /* guest NUMA nodes a DIMM may name: 0..nr_nodes-1 */
	char boot_ids[DIMM_MAX_BOOT][DIMM_ID_LEN]; /* boot RAM zones: never a DIMM */
	unsigned int nr_boot;
	uint64_t seq;
	struct dimm_object objects[DIMM_MAX_OBJECTS];
	struct dimm dimms[DIMM_MAX_SLOTS]; /* indexed by ACPI slot */
};

struct dimm_object_req {
	const char *id;
	enum dimm_backend kind;
	uint64_t size;
	bool share;
	bool prealloc;
	const char *path; /* memory-backend-file only */
};

/* -EINVAL when slots exceed DIMM_MAX_SLOTS or the area is not CONFIG_DIMM_ALIGN aligned. */
int dimm_set_init(struct dimm_set *s, uint64_t area_gpa, uint64_t area_size, unsigned int slots,
		  unsigned int nr_nodes);
int dimm_set_boot_id(struct dimm_set *s, const char *id);

int dimm_object_add(struct dimm_set *s, const struct dimm_object_req *req, struct dimm_error *e);
int dimm_object_del(struct dimm_set *s, const char *id, struct dimm_error *e);
/* Index of object id, or -1. */
int dimm_object_find(const struct dimm_set *s, const char *id);

/*
 * device_add pc-dimm: checks everything and picks slot and address, changing
 * nothing (node < 0: node 0). dimm_plug_commit records it once the host
 * side is done.
 */
struct dimm_plan {
	unsigned int slot;
	unsigned int object;
	uint64_t addr;
	uint64_t size;
	uint32_t node;
};
int dimm_plug_check(const struct dimm_set *s, const char *id, const char *memdev, long node,
		    struct dimm_plan *out, struct dimm_error *e);
void dimm_plug_commit(struct dimm_set *s, const char *id, const struct dimm_plan *p);

/* device_del: the slot whose eject to request (state becomes UNPLUGGING). */
int dimm_unplug_request(struct dimm_set *s, const char *id, unsigned int *slot,
			struct dimm_error *e);
/* The guest ejected slot: -ENOENT unless PLUGGED or UNPLUGGING. */
int dimm_ejected(struct dimm_set *s, unsigned int slot);
/* The host removed the memory: the slot is empty, its object free again (or gone, if autodel). */
int dimm_released(struct dimm_set *s, unsigned int slot);
/* An _OST report; true when it refused an eject (the DIMM is PLUGGED again). */
bool dimm_ost(struct dimm_set *s, unsigned int slot, uint32_t event, uint32_t status);

/* Sum of the sizes of DIMMs in guest hands (PLUGGED or UNPLUGGING). */
uint64_t dimm_plugged_bytes(const struct dimm_set *s);
/* Slot of DIMM id, or -1. */
int dimm_find(const struct dimm_set *s, const char *id);

/*
 * Resize to `target` bytes of guest memory in all (boot RAM included).
 * grow > 0: add one DIMM of that size. Otherwise the slots to unplug are in
 * remove[] (*nr_remove of them, newest first); both zero: nothing to do.
 */
int dimm_resize_plan(const struct dimm_set *s, uint64_t boot_ram, uint64_t target, uint64_t *grow,
		     unsigned int *remove, unsigned int *nr_remove, struct dimm_error *e);

#endif
