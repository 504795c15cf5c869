/*
 * pci: PCI bus 0 with a host bridge, type-1 configuration access at
 * 0xCF8/0xCFC, 32-bit memory BARs pre-assigned in the window below the
 * IOAPIC, and INTx routed to IOAPIC pins 16-23 (level, as the DSDT's _PRT
 * says). Devices embed struct pci_dev and fill a pci_dev_ops table.
 *
 * The command register means what it says. pci_host_add leaves a device as
 * firmware does after assigning its BARs: memory decode on, bus master off.
 * A BAR is decoded (registered on the MMIO bus) only while memory decode is
 * on and the address the guest programmed lies in the window without
 * overlapping another BAR. The BAR register holds what was written, masked
 * by the size, so a sizing write of 0xFFFFFFFF puts it at the size mask,
 * outside the window: undecoded until it is restored. The device hears of
 * every change of where (or whether) a BAR is decoded through bar_decode,
 * and of the bus-master bit through bus_master.
 */
#ifndef MV_DEVICES_PCI_H
#define MV_DEVICES_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "arch/x86/memmap.h"

#define PCI_MAX_SLOTS 32
/* Slots left for a machine's devices: pci_host_init puts the host bridge in slot 0. */
#define PCI_DEV_SLOTS (PCI_MAX_SLOTS - 1)
#define PCI_NUM_BARS  6
#define PCI_CFG_SIZE  256

struct pci_dev;
struct pci_host;

struct pci_dev_ops {
	/* Accesses to memory BAR `bar`; off is relative to the BAR's base. */
	void (*bar_read)(struct pci_dev *d, unsigned int bar, uint64_t off, void *data,
			 uint32_t len);
	void (*bar_write)(struct pci_dev *d, unsigned int bar, uint64_t off, const void *data,
			  uint32_t len);
	/*
	 * Optional: BAR `bar` is now decoded at addr (on), or no longer decoded
	 * at all (off: decode cleared, moved out of the window or onto another
	 * BAR). Called on each change, first when pci_host_add places it.
	 */
	void (*bar_decode)(struct pci_dev *d, unsigned int bar, bool on, uint64_t addr);
	/*
	 * Optional: the guest set or cleared bus master (command bit 2). While
	 * it is clear the device must not touch guest memory.
	 */
	void (*bus_master)(struct pci_dev *d, bool on);
	/*
	 * Optional, for config registers with side effects: cfg_read runs
	 * before the guest reads [off, off+len) (it may refresh d->cfg),
	 * cfg_write after the write masks applied the guest's write.
	 */
	void (*cfg_read)(struct pci_dev *d, unsigned int off, unsigned int len);
	void (*cfg_write)(struct pci_dev *d, unsigned int off, unsigned int len);
};

struct pci_bar {
	struct bus_dev bdev; /* registered on the MMIO bus while placed */
	struct pci_dev *dev;
	unsigned int idx;
	uint32_t size; /* 0: no BAR; else a power of two >= 4 KiB */
	uint64_t addr; /* as programmed (the BAR register, size-masked) */
	bool placed;   /* decoded: bdev is registered at decoded_at */
	uint64_t decoded_at;
};

struct pci_dev {
	const struct pci_dev_ops *ops;
	const char *name;
	struct pci_host *host;
	unsigned int slot;
	unsigned int gsi; /* INTx line, set by pci_host_add */
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* guest-writable bits outside the BARs */
	struct pci_bar bars[PCI_NUM_BARS];
	uint8_t last_cap; /* config offset of the last capability, 0: none */
	bool irq_level;
};

/* How the bus reaches the machine (KVM in the VMM, fakes in unit tests). */
struct pci_host_ops {
	int (*set_irq)(struct pci_host *h, unsigned int gsi, int level);
	int (*ioeventfd)(struct pci_host *h, uint64_t addr, uint32_t len, int fd, bool assign);
	int (*irqfd)(struct pci_host *h, unsigned int gsi, int fd, int resample_fd, bool assign);
	/*
	 * Optional, for MSI-X (devices/msix.h). msi_route: *gsi < 0 allocates a
	 * GSI routed to the message (addr, data), else changes *gsi's route;
	 * 0 or -errno with nothing changed. signal_msi injects one message.
	 */
	int (*msi_route)(struct pci_host *h, int *gsi, uint64_t addr, uint32_t data);
	void (*msi_route_free)(struct pci_host *h, int gsi);
	int (*signal_msi)(struct pci_host *h, uint64_t addr, uint32_t data);
};

struct pci_host {
	const struct pci_host_ops *ops;
	struct bus *mmio;
	struct bus *pio;
	pthread_mutex_t lock; /* config space and the 0xCF8 latch */
	uint32_t cf8;
	struct pci_dev *devs[PCI_MAX_SLOTS];
	uint64_t mmio_next;
	struct bus_dev cfg_port; /* 0xCF8-0xCFF */
	struct pci_dev bridge;
};

int pci_host_init(struct pci_host *h, const struct pci_host_ops *ops, struct bus *mmio,
		  struct bus *pio);
void pci_host_destroy(struct pci_host *h);

/* Fill the header of a type-0 function; call before pci_host_add. */
void pci_dev_init(struct pci_dev *d, const struct pci_dev_ops *ops, const char *name,
		  uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision,
		  uint16_t subsys_vendor, uint16_t subsys_id);
/* Declare 32-bit memory BAR idx of `size` bytes (a power of two). */
int pci_dev_set_bar(struct pci_dev *d, unsigned int idx, uint32_t size);
/* Append a capability (cap[0] = ID; cap[1] is filled with the next pointer).
 * Returns its config offset, or -ENOSPC. */
int pci_dev_add_cap(struct pci_dev *d, const void *cap, unsigned int len);
/* Place the device in the next free slot, assign its BARs and its INTx GSI. */
int pci_host_add(struct pci_host *h, struct pci_dev *d);
/* Drive INTx (level). */
void pci_dev_set_irq(struct pci_dev *d, int level);
/* Command register bits as the guest left them. */
bool pci_dev_bus_master(const struct pci_dev *d);

/* Config space access as the guest does it; exposed for unit tests and fuzzing. */
uint32_t pci_cfg_read(struct pci_host *h, unsigned int slot, unsigned int fn, unsigned int off,
		      unsigned int len);
void pci_cfg_write(struct pci_host *h, unsigned int slot, unsigned int fn, unsigned int off,
		   unsigned int len, uint32_t val);

#endif
