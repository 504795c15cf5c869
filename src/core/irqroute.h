/*
 * irqroute: the VM's interrupt routing table as KVM_SET_GSI_ROUTING takes
 * it. KVM's table is replaced whole on every change, so the VMM keeps what
 * it holds: the 24 GSIs of the in-kernel PIC and IOAPIC (exactly KVM's
 * default routing, which the first KVM_SET_GSI_ROUTING would otherwise
 * drop) and one MSI route per allocated GSI above them. Pure: building and
 * changing the table does no I/O; core/vm.c hands it to KVM under its lock.
 */
#ifndef MV_CORE_IRQROUTE_H
#define MV_CORE_IRQROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#define IRQROUTE_PINS	   24 /* GSIs 0-23: IOAPIC pins (0-15 also the PICs) */
#define IRQROUTE_MSI_FIRST IRQROUTE_PINS
#define IRQROUTE_MSI_MAX   512 /* MSI routes a VM may hold (KVM allows 4096 in all) */
/* 16 PIC + 24 IOAPIC entries, plus the MSI routes. */
#define IRQROUTE_MAX_ENTRIES (16 + IRQROUTE_PINS + IRQROUTE_MSI_MAX)

struct irqroute_msi {
	bool used;
	uint64_t addr;
	uint32_t data;
};

struct irqroute {
	struct irqroute_msi msi[IRQROUTE_MSI_MAX]; /* msi[i] is GSI IRQROUTE_MSI_FIRST + i */
	unsigned int nr_msi;			   /* routes in use */
};

void irqroute_init(struct irqroute *r);
/* A free GSI for an MSI route (not yet used), or -ENOSPC. */
int irqroute_alloc(struct irqroute *r, uint64_t addr, uint32_t data);
/* Set the message of an allocated GSI; -EINVAL for one that is not. */
int irqroute_set(struct irqroute *r, unsigned int gsi, uint64_t addr, uint32_t data);
/* Release an allocated GSI (no-op for another). */
void irqroute_free(struct irqroute *r, unsigned int gsi);
/*
 * Fill out (room for IRQROUTE_MAX_ENTRIES entries after the header) with
 * the whole table: the default irqchip routes, then each MSI route.
 */
void irqroute_build(const struct irqroute *r, struct kvm_irq_routing *out);

#endif
