/*
 * power: how the guest powers off, reboots and reports a panic.
 *
 * - ACPI sleep control / reset register at ACPI_PM_PORT (FADT): SLP_TYP 5
 *   with SLP_EN powers off; the reset value reboots.
 * - i8042 at 0x60/0x64: enough for Linux's keyboard-controller reboot
 *   (0xFE to 0x64); the input buffer always reads empty.
 * - pvpanic at 0x505 (QEMU0001 in the DSDT): a write reports a panic.
 * - the power button: an edge on POWER_BUTTON_GSI, which the DSDT's
 *   Generic Event Device turns into a power-button notification.
 */
#ifndef MV_DEVICES_POWER_H
#define MV_DEVICES_POWER_H

#include "core/bus.h"
#include "core/events.h"
#include "core/irq.h"
#include "arch/x86/memmap.h"

struct power {
	struct bus_dev pm;
	struct bus_dev kbc;
	struct bus_dev panic;
	struct vm_events *events;
	struct irq_sink *irq;
};

int power_init(struct power *p, struct bus *pio, struct vm_events *events, struct irq_sink *irq);
/* Press the power button: the guest decides what to do (usually shut down). */
void power_button(struct power *p);
void power_destroy(struct power *p, struct bus *pio);

#endif
