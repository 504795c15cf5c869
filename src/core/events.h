/*
 * events: the VM's lifecycle events. A device or a vCPU posts one through
 * struct vm_events (any thread); the VM hands it to the loop thread, which
 * acts on it (board/run.c). Devices see only this header, never the VM.
 */
#ifndef MV_CORE_EVENTS_H
#define MV_CORE_EVENTS_H

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
