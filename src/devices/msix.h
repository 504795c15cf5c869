/*
 * msix: the MSI-X capability of a PCI function (PCI Local Bus 3.0, 6.8.2):
 * the capability in config space, the vector table and the pending-bit
 * array in one 4 KiB memory BAR of the function (table at 0, PBA at 0x800),
 * and delivery of a vector.
 *
 * Delivery: a vector that is masked (its own mask bit, the function mask,
 * or MSI-X disabled) sets its pending bit; unmasking a pending vector sends
 * it and clears the bit. A vector is sent through an irqfd bound to a GSI
 * that KVM routes to the vector's message: the route is made, or changed,
 * at the first delivery after the guest wrote the entry's address or data
 * (so rewriting a masked entry costs no routing update), and its eventfd is
 * made with it. Without routes or eventfds (no host support, no loop, KVM
 * refused) the message is injected directly by signal_msi; the guest sees
 * no difference. Table accesses are 4 or 8 bytes, aligned; others read as
 * 0 and write nothing. The PBA is read-only.
 *
 * The owner serialises every call on the function (virtio-pci: the device
 * lock); deliveries may run on any thread.
 */
#ifndef MV_DEVICES_MSIX_H
#define MV_DEVICES_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"

#define MSIX_MAX_VECTORS 64
#define MSIX_BAR_SIZE	 0x1000
#define MSIX_TABLE_OFF	 0x000
#define MSIX_PBA_OFF	 0x800
#define MSIX_ENTRY_SIZE	 16
#define MSIX_NO_VECTOR	 0xFFFF

/* Message Control (cap + 2) */
#define MSIX_CTRL_ENABLE  0x8000
#define MSIX_CTRL_MASKALL 0x4000

struct msix_vector {
	int gsi;    /* KVM route, -1: none yet */
	int fd;	    /* irqfd bound to gsi, -1: none */
	bool dirty; /* address or data written since the route was made */
};

struct msix {
	struct pci_dev *pci;
	uint8_t cap; /* config offset of the capability */
	unsigned int bar;
	unsigned int nvec;
	bool use_fds; /* eventfds may be made (the owner has a loop) */
	uint8_t table[MSIX_MAX_VECTORS * MSIX_ENTRY_SIZE];
	uint64_t pba;
	struct msix_vector v[MSIX_MAX_VECTORS];
	/* statistics */
	uint64_t sent, pended, direct, route_failures;
};

/*
 * Add the capability to pd (before pci_host_add) for nvec vectors
 * (1..MSIX_MAX_VECTORS) in BAR `bar`, which the caller declares with
 * MSIX_BAR_SIZE bytes. 0 or -errno.
 */
int msix_init(struct msix *x, struct pci_dev *pd, unsigned int nvec, unsigned int bar,
	      bool use_fds);
/* Release the routes and eventfds. */
void msix_destroy(struct msix *x);
/* Function reset: MSI-X disabled, every entry zero and masked, nothing pending. */
void msix_reset(struct msix *x);

/* MSI-X enabled by the guest (whatever the function mask). */
bool msix_enabled(const struct msix *x);
/* Access to the BAR (off relative to it). */
void msix_bar_read(struct msix *x, uint64_t off, void *data, uint32_t len);
void msix_bar_write(struct msix *x, uint64_t off, const void *data, uint32_t len);
/* After a config write: enable or function mask may have changed. */
void msix_cfg_written(struct msix *x);
/* Send vector v (or pend it while masked); v >= nvec is ignored. */
void msix_notify(struct msix *x, unsigned int v);
/*
 * The saved table and PBA were put back (x->table, x->pba written by the
 * loader): every route is remade at its next delivery. Pending bits stay
 * (a saved vector is pending only while masked) and are sent at unmask;
 * nothing is sent here, before the vCPUs' interrupt state is back.
 */
void msix_loaded(struct msix *x);

#endif
