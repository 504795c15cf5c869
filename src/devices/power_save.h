/*
 * power_save: the power devices' save/load section "power" (version 1).
 * Today its payload is empty: the ACPI PM register, the i8042 and pvpanic
 * keep no state between accesses, the power button is an edge whose
 * pending state is the irqchip's, and a posted lifecycle event belongs to
 * the VM, not to the device. The section exists so a later version that
 * adds state (GED event latches, a PM1 status) is refused by older builds
 * instead of silently dropped.
 */
#ifndef MV_DEVICES_POWER_SAVE_H
#define MV_DEVICES_POWER_SAVE_H

#include <stddef.h>

#include "devices/power.h"
#include "lib/state.h"

#define POWER_STATE_NAME    "power"
#define POWER_STATE_VERSION 1

void power_save(struct power *p, struct mv_state_writer *w);
/* 0, or -EINVAL naming the section (wrong name, newer version, unexpected bytes). */
int power_load(struct power *p, const struct mv_state_section *sec, char *err, size_t errlen);

#endif
