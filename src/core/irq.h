/*
 * irq: how devices drive interrupt lines without knowing KVM. The VM
 * implements it with KVM_IRQ_LINE; unit tests record calls.
 */
#ifndef MV_CORE_IRQ_H
#define MV_CORE_IRQ_H

struct irq_sink {
	int (*set)(struct irq_sink *s, unsigned int gsi, int level);
};

/* An edge on an edge-triggered line: raise then lower. */
static inline void irq_pulse(struct irq_sink *s, unsigned int gsi)
{
	s->set(s, gsi, 1);
	s->set(s, gsi, 0);
}

#endif
