/*
 * serial: a 16550A UART at 0x3F8 (COM1, IRQ 4, edge) as the guest's ttyS0.
 *
 * Output goes to a file descriptor (stdout or a file); input comes from a
 * file descriptor watched by the event loop, with flow control: when the
 * receive FIFO is full the VMM stops reading until the guest drains it.
 * On a terminal, Ctrl-A x quits memvisor (as QEMU's -nographic).
 *
 * Output never blocks a vCPU: bytes the guest writes to THR go into a ring
 * (SERIAL_TX_RING bytes) under the UART lock, and the event loop drains it
 * to the output through a non-blocking descriptor of its own, watching for
 * EPOLLOUT while the reader is slow. When the reader stalls and the ring is
 * full, output is dropped and counted (serial_tx_dropped); stderr says so
 * once when it starts and once, with the count, when the device goes.
 * serial_destroy flushes what the output takes without waiting.
 */
#ifndef MV_DEVICES_SERIAL_H
#define MV_DEVICES_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/events.h"
#include "core/irq.h"
#include "core/loop.h"
#include "arch/x86/memmap.h"

#define SERIAL_FIFO_LEN 64
/* Console output held while the reader is slow (a boot log is ~50 KiB). */
#define SERIAL_TX_RING (256 * 1024)

struct serial {
	struct bus_dev bdev;
	struct loop_watch in;
	struct loop *loop;
	struct irq_sink *irq;
	struct vm_events *events;
	pthread_mutex_t lock;
	int out_fd; /* -1: output discarded */
	/* Output ring: filled by vCPUs (lock held), drained by the loop. */
	struct loop_watch out;	/* tx_fd, EPOLLOUT while the reader is behind */
	struct loop_watch kick; /* eventfd: the ring went non-empty */
	int tx_fd;		/* non-blocking descriptor for out_fd (-1: none) */
	bool tx_own_fd;		/* tx_fd was opened here (else out_fd itself) */
	int tx_restore_fl;	/* out_fd's flags to put back at destroy, or -1 */
	bool out_watched;	/* out is in the loop (out_fd can be polled) */
	bool out_waiting;	/* EPOLLOUT armed */
	bool tx_stall_said;	/* the "stalled" line was printed */
	uint8_t *tx;
	size_t tx_head, tx_len;
	uint64_t tx_dropped;
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
/* Bytes of guest output dropped because the reader stalled. */
uint64_t serial_tx_dropped(struct serial *s);
/* Write what the ring holds to the output without blocking (the loop does this). */
void serial_flush(struct serial *s);
/* Queue guest input (also used by tests); returns bytes accepted. */
unsigned int serial_push_input(struct serial *s, const uint8_t *buf, unsigned int len);

#endif
