/*
 * serial_save: the 16550A's save/load section "serial" (version 1): every
 * guest-visible register and the receive FIFO in order. The interrupt line
 * is edge-triggered and its pending state lives in the irqchip section, so
 * loading raises nothing. Host-side state (the input watch, the Ctrl-A
 * escape) is the running VMM's and is neither saved nor replaced.
 */
#ifndef MV_DEVICES_SERIAL_SAVE_H
#define MV_DEVICES_SERIAL_SAVE_H

#include <stddef.h>

#include "devices/serial.h"
#include "lib/state.h"

#define SERIAL_STATE_NAME    "serial"
#define SERIAL_STATE_VERSION 1

void serial_save(struct serial *s, struct mv_state_writer *w);
/* Validate the whole section, then apply it: 0, or -EINVAL naming the field with s unchanged. */
int serial_load(struct serial *s, const struct mv_state_section *sec, char *err, size_t errlen);

#endif
