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

/* What devices report to the VM's lifecycle (handled on the main thread). */
enum vm_event {
	VM_EV_NONE = 0,
	VM_EV_POWEROFF, /* guest ACPI S5 */
	VM_EV_RESET,	/* guest reboot (ACPI reset register, 8042) */
	VM_EV_PANIC,	/* guest kernel panic (pvpanic) */
	VM_EV_SHUTDOWN, /* triple fault */
	VM_EV_QUIT,	/* host: signal, console escape, QMP quit */
	VM_EV_ERROR,	/* VMM-side failure, already reported */
};

struct vm_events {
	void (*post)(struct vm_events *e, enum vm_event ev);
};

#endif
