#include "core/irqroute.h"

#include <errno.h>
#include <string.h>

void irqroute_init(struct irqroute *r)
{
	memset(r, 0, sizeof(*r));
}

int irqroute_alloc(struct irqroute *r, uint64_t addr, uint32_t data)
{
	unsigned int i;

	for (i = 0; i < IRQROUTE_MSI_MAX; i++) {
		if (r->msi[i].used)
			continue;
		r->msi[i] = (struct irqroute_msi){.used = true, .addr = addr, .data = data};
		r->nr_msi++;
		return IRQROUTE_MSI_FIRST + i;
	}
	return -ENOSPC;
}

static struct irqroute_msi *irqroute_find(struct irqroute *r, unsigned int gsi)
{
	if (gsi < IRQROUTE_MSI_FIRST || gsi - IRQROUTE_MSI_FIRST >= IRQROUTE_MSI_MAX)
		return NULL;
	return r->msi[gsi - IRQROUTE_MSI_FIRST].used ? &r->msi[gsi - IRQROUTE_MSI_FIRST] : NULL;
}

int irqroute_set(struct irqroute *r, unsigned int gsi, uint64_t addr, uint32_t data)
{
	struct irqroute_msi *m = irqroute_find(r, gsi);

	if (!m)
		return -EINVAL;
	m->addr = addr;
	m->data = data;
	return 0;
}

void irqroute_free(struct irqroute *r, unsigned int gsi)
{
	struct irqroute_msi *m = irqroute_find(r, gsi);

	if (!m)
		return;
	m->used = false;
	r->nr_msi--;
}

static void irqroute_chip(struct kvm_irq_routing_entry *e, unsigned int gsi, unsigned int chip,
			  unsigned int pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

void irqroute_build(const struct irqroute *r, struct kvm_irq_routing *out)
{
	struct kvm_irq_routing_entry *e = out->entries;
	unsigned int gsi, i, n = 0;

	/* KVM's default: GSI n is IOAPIC pin n; 0-15 are also the PICs' pins. */
	for (gsi = 0; gsi < IRQROUTE_PINS; gsi++) {
		irqroute_chip(&e[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < 16)
			irqroute_chip(&e[n++], gsi,
				      gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				      gsi % 8);
	}
	for (i = 0; i < IRQROUTE_MSI_MAX; i++) {
		if (!r->msi[i].used)
			continue;
		memset(&e[n], 0, sizeof(e[n]));
		e[n].gsi = IRQROUTE_MSI_FIRST + i;
		e[n].type = KVM_IRQ_ROUTING_MSI;
		e[n].u.msi.address_lo = (uint32_t)r->msi[i].addr;
		e[n].u.msi.address_hi = (uint32_t)(r->msi[i].addr >> 32);
		e[n].u.msi.data = r->msi[i].data;
		n++;
	}
	out->nr = n;
	out->flags = 0;
}
