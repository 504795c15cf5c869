/*
 * memhp: the ACPI memory-hotplug controller, the register block behind the
 * DSDT's PNP0C80 slot devices (acpi/acpi.c emits the AML that drives it).
 *
 * The layout is QEMU's (docs/specs/acpi_mem_hotplug.rst), so guests and
 * tools that know QEMU's DIMMs know these: MEMHP_LEN ports at MEMHP_PORT,
 * 1-, 2- or 4-byte accesses.
 *
 *   read  0x00 address low    write 0x00 slot selector
 *         0x04 address high         0x04 _OST event code
 *         0x08 size low             0x08 _OST status code (reports the pair)
 *         0x0C size high            0x0C..0x13 ignored
 *         0x10 proximity domain
 *         0x14 status: bit 0 enabled, 1 insert event, 2 remove event
 *   write 0x14 control: bit 1 clears the insert event, bit 2 clears the
 *         remove event, bit 3 ejects the selected DIMM.
 *
 * Promises: the guest cannot make this device misbehave. A selector beyond
 * the slots reads zeros and ignores writes; reads at any offset and width
 * return the bytes of the register image, writes act only at a register's
 * first byte, widths other than 1, 2 and 4 read zeros and do nothing.
 * An eject acts only on an enabled slot: the slot reads as absent at once
 * (Linux checks _STA right after _EJ0) but stays reserved until the host
 * has removed the memory and calls memhp_release(), so nothing can be
 * plugged into memory that is still mapped.
 *
 * The register logic (memhp_read, memhp_write) is pure and tested alone;
 * the bus device wraps it with the lock (vCPU threads and the event loop
 * both touch the slots) and raises MEMHP_GSI when the host plugs or asks
 * for an unplug. Hooks run on the vCPU thread after the lock is dropped:
 * the board posts the work to its event loop.
 */
#ifndef MV_DEVICES_MEMHP_H
#define MV_DEVICES_MEMHP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/irq.h"
#include "arch/x86/memmap.h"

/* Upper bound of the slot count (the DSDT names slots MP00..MPFF). */
#define MEMHP_MAX_SLOTS 256

#define MEMHP_REG_ADDR_LO 0x00
#define MEMHP_REG_ADDR_HI 0x04
#define MEMHP_REG_SIZE_LO 0x08
#define MEMHP_REG_SIZE_HI 0x0C
#define MEMHP_REG_PXM	  0x10
#define MEMHP_REG_STATUS  0x14
#define MEMHP_REG_SEL	  0x00 /* write side */
#define MEMHP_REG_OST_EV  0x04
#define MEMHP_REG_OST_ST  0x08
#define MEMHP_REG_CTRL	  0x14

#define MEMHP_ST_ENABLED (1U << 0)
#define MEMHP_ST_INSERT	 (1U << 1)
#define MEMHP_ST_REMOVE	 (1U << 2)
#define MEMHP_CTL_EJECT	 (1U << 3)

/* ACPI _OST source events and status codes (ACPI 6.x, 6.3.5) that matter here. */
#define MEMHP_OST_EV_EJECT_REQUEST 0x003 /* the Notify(3) we sent */
#define MEMHP_OST_EV_OSPM_EJECT	   0x103 /* an eject the guest started itself */
#define MEMHP_OST_SUCCESS	   0x00
#define MEMHP_OST_FAILURE	   0x01
#define MEMHP_OST_EJECT_UNSUPP	   0x80
#define MEMHP_OST_IN_USE	   0x81
#define MEMHP_OST_BUSY		   0x82
#define MEMHP_OST_DEP_BUSY	   0x83
#define MEMHP_OST_IN_PROGRESS	   0x84

struct memhp_slot {
	uint64_t addr;
	uint64_t size;
	uint32_t node;
	bool enabled;	/* plugged and visible to the guest */
	bool inserting; /* insert event not yet acknowledged by the guest's scan */
	bool removing;	/* remove event not yet acknowledged */
	bool ejecting;	/* ejected by the guest, memory not yet released by the host */
	uint32_t ost_event;
	uint32_t ost_status;
};

/* What a register write asks of the host (memhp_write's result). */
enum memhp_action {
	MEMHP_NONE,
	MEMHP_OST,   /* the guest reported (ost_event, ost_status) for slot */
	MEMHP_EJECT, /* the guest ejected slot: remove its memory, then memhp_release */
};

struct memhp_result {
	enum memhp_action action;
	unsigned int slot;
	uint32_t ost_event;
	uint32_t ost_status;
};

struct memhp;

struct memhp_hooks {
	void (*ost)(struct memhp *h, unsigned int slot, uint32_t event, uint32_t status);
	void (*eject)(struct memhp *h, unsigned int slot);
};

/* The register state; what the pure functions work on. */
struct memhp_regs {
	unsigned int nr_slots;
	uint32_t selector;
	struct memhp_slot slots[MEMHP_MAX_SLOTS];
};

struct memhp {
	struct bus_dev dev;
	pthread_mutex_t lock;
	struct irq_sink *irq;
	const struct memhp_hooks *hooks;
	void *opaque; /* for the hooks */
	struct memhp_regs regs;
};

/* Pure register logic: off < MEMHP_LEN is not assumed; *val gets len bytes, little-endian. */
void memhp_read(const struct memhp_regs *r, uint64_t off, uint32_t len, uint64_t *val);
struct memhp_result memhp_write(struct memhp_regs *r, uint64_t off, uint32_t len, uint64_t val);

/* Whether an _OST pair reports that the guest refused or failed an eject. */
bool memhp_ost_eject_failed(uint32_t event, uint32_t status);

/* -EINVAL for 0 or more than MEMHP_MAX_SLOTS slots, -EBUSY when the ports are taken. */
int memhp_init(struct memhp *h, unsigned int nr_slots, struct bus *pio, struct irq_sink *irq,
	       const struct memhp_hooks *hooks, void *opaque);
void memhp_destroy(struct memhp *h, struct bus *pio);

/*
 * Host side (event loop). plug: -EINVAL (slot out of range, size 0 or not
 * 4 KiB aligned, range wrapping), -EBUSY (slot taken or still ejecting);
 * then the guest is told. request_unplug: -EINVAL (slot out of range),
 * -ENOENT (slot not enabled); then the guest is asked to eject (asking
 * again repeats the request, as after a refusal). release: ends an eject or takes
 * a DIMM away without the guest (VM teardown); -ENOENT when the slot is free.
 */
int memhp_plug(struct memhp *h, unsigned int slot, uint64_t addr, uint64_t size, uint32_t node);
int memhp_request_unplug(struct memhp *h, unsigned int slot);
int memhp_release(struct memhp *h, unsigned int slot);
/* A copy of a slot under the lock. */
struct memhp_slot memhp_slot_get(struct memhp *h, unsigned int slot);
/* Guest reset: DIMMs stay plugged; pending events, the selector and _OST codes are dropped. */
void memhp_reset(struct memhp *h);

#endif
