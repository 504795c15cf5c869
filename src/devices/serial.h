/*
 * serial: a 16550A UART at 0x3F8 (COM1, IRQ 4, edge) as the guest's ttyS0.
 *
 * Output goes to a file descriptor (stdout or a file); input comes from a
 * file descriptor watched by the event loop, with flow control: when the
 * receive FIFO is full the VMM stops reading until the guest drains it.
 * On a terminal, Ctrl-A x quits memvisor (as QEMU's -nographic).
 */
#ifndef MV_DEVICES_SERIAL_H
#define MV_DEVICES_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/irq.h"
#include "core/loop.h"

#define SERIAL_PORT	0x3F8
#define SERIAL_IRQ	4
#define SERIAL_FIFO_LEN 64

struct serial {
	struct bus_dev bdev;
	struct loop_watch in;
	struct loop *loop;
	struct irq_sink *irq;
	struct vm_events *events;
	pthread_mutex_t lock;
	int out_fd; /* -1: output discarded */
	bool in_paused;
	bool escape; /* Ctrl-A seen on a terminal */
	bool in_tty;
	/* registers */
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thri_pending;
	uint8_t rx[SERIAL_FIFO_LEN];
	unsigned int rx_head, rx_len;
};

/* in_fd < 0: no input. Registers on the PIO bus. */
int serial_init(struct serial *s, struct bus *pio, struct loop *loop, struct irq_sink *irq,
		struct vm_events *events, int in_fd, int out_fd);
void serial_destroy(struct serial *s, struct bus *pio);
/* Back to power-on register state (guest reboot); queued input is kept. */
void serial_reset(struct serial *s);
/* Queue guest input (also used by tests); returns bytes accepted. */
unsigned int serial_push_input(struct serial *s, const uint8_t *buf, unsigned int len);

#endif
