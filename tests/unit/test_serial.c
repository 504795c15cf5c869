/* Unit tests for devices/serial: the 16550A as Linux's 8250 driver drives it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "devices/serial.h"

#define RBR 0
#define IER 1
#define IIR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

/* Records edges on each GSI; the line must be low again after every pulse. */
struct fake_irq {
	struct irq_sink sink;
	int level[32];
	unsigned int edges[32];
};

static int fake_irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	struct fake_irq *f = container_of(s, struct fake_irq, sink);

	assert_true(gsi < 32);
	if (level && !f->level[gsi])
		f->edges[gsi]++;
	f->level[gsi] = level;
	return 0;
}

struct fake_events {
	struct vm_events ev;
	enum vm_event last;
	unsigned int n;
};

static void fake_post(struct vm_events *e, enum vm_event ev)
{
	struct fake_events *f = container_of(e, struct fake_events, ev);

	f->last = ev;
	f->n++;
}

struct rig {
	struct bus pio;
	struct loop loop;
	struct fake_irq irq;
	struct fake_events events;
	struct serial s;
	int out[2]; /* guest output arrives at out[0] */
	int in[2];  /* host input written to in[1] */
};

/* out_flags: the output pipe's flags (O_NONBLOCK, or 0 for a blocking pipe as stdout is). */
static struct rig *rig_new_out(bool with_input, int out_flags)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	assert_int_equal(bus_init(&r->pio), 0);
	assert_int_equal(loop_init(&r->loop), 0);
	r->irq.sink.set = fake_irq_set;
	r->events.ev.post = fake_post;
	assert_int_equal(pipe2(r->out, out_flags), 0);
	r->in[0] = r->in[1] = -1;
	if (with_input)
		assert_int_equal(pipe2(r->in, O_NONBLOCK), 0);
	assert_int_equal(
	    serial_init(&r->s, &r->pio, &r->loop, &r->irq.sink, &r->events.ev, r->in[0], r->out[1]),
	    0);
	return r;
}

static struct rig *rig_new(bool with_input)
{
	return rig_new_out(with_input, O_NONBLOCK);
}

static void rig_free(struct rig *r)
{
	serial_destroy(&r->s, &r->pio);
	assert_int_equal(r->pio.nr, 0);
	close(r->out[0]);
	close(r->out[1]);
	if (r->in[0] >= 0) {
		close(r->in[0]);
		if (r->in[1] >= 0)
			close(r->in[1]);
	}
	loop_destroy(&r->loop);
	bus_destroy(&r->pio);
	free(r);
}

static uint8_t rd(struct rig *r, unsigned int reg)
{
	uint8_t v = 0xEE;

	assert_true(bus_read(&r->pio, SERIAL_PORT + reg, &v, 1));
	return v;
}

static void wr(struct rig *r, unsigned int reg, uint8_t v)
{
	assert_true(bus_write(&r->pio, SERIAL_PORT + reg, &v, 1));
}

static unsigned int edges(struct rig *r)
{
	assert_int_equal(r->irq.level[SERIAL_IRQ], 0); /* never held high */
	return r->irq.edges[SERIAL_IRQ];
}

/* What the guest has written so far (non-blocking), once the loop has drained the UART. */
static size_t drain_out(struct rig *r, char *buf, size_t cap)
{
	ssize_t n;

	while (loop_run_once(&r->loop, 0) > 0)
		;
	n = read(r->out[0], buf, cap);

	return n < 0 ? 0 : (size_t)n;
}

static void test_power_on_registers(void **state)
{
	struct rig *r = rig_new(false);
	uint8_t wide[4];

	assert_int_equal(rd(r, LSR), 0x60); /* THRE | TEMT: idle, never 0xFF */
	assert_int_equal(rd(r, IIR), 0xC1); /* FIFOs on, no interrupt */
	assert_int_equal(rd(r, IER), 0x00);
	assert_int_equal(rd(r, LCR), 0x03);
	assert_int_equal(rd(r, MCR), 0x08);
	assert_int_equal(rd(r, MSR), 0xB0);
	assert_int_equal(rd(r, SCR), 0x00);
	assert_int_equal(rd(r, RBR), 0x00);
	assert_int_equal(edges(r), 0);
	/* Polled many times, LSR stays idle. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(rd(r, LSR), 0x60);
	/* A wider access gets the register in the low byte and zeros above. */
	memset(wide, 0xEE, sizeof(wide));
	assert_true(bus_read(&r->pio, SERIAL_PORT + LSR, wide, 2));
	assert_int_equal(wide[0], 0x60);
	assert_int_equal(wide[1], 0x00);
	assert_int_equal(wide[2], 0xEE);
	rig_free(r);
}

static void test_ier_readback(void **state)
{
	struct rig *r = rig_new(false);

	wr(r, IER, 0x00);
	assert_int_equal(rd(r, IER), 0x00);
	wr(r, IER, 0x0F);
	assert_int_equal(rd(r, IER), 0x0F);
	wr(r, IER, 0xFF); /* upper nibble reserved */
	assert_int_equal(rd(r, IER), 0x0F);
	wr(r, IER, 0x00);
	assert_int_equal(rd(r, IER), 0x00);
	rig_free(r);
}

/* serial8250_do_startup's UART_BUG_THRE probe must find THRE re-asserted. */
static void test_linux_thre_startup_test(void **state)
{
	struct rig *r = rig_new(false);

	wr(r, IER, 0x02); /* UART_IER_THRI */
	assert_int_equal(edges(r), 1);
	assert_int_equal(rd(r, IIR), 0xC2);
	/* Reading IIR acknowledged it. */
	assert_int_equal(rd(r, IIR), 0xC1);
	wr(r, IER, 0x00);
	assert_int_equal(edges(r), 1);
	assert_int_equal(rd(r, IIR), 0xC1);
	wr(r, IER, 0x02);
	assert_int_equal(edges(r), 2);
	assert_int_equal(rd(r, IIR), 0xC2);
	assert_int_equal(rd(r, IIR), 0xC1);
	rig_free(r);
}

static void test_thr_output_and_reassert(void **state)
{
	struct rig *r = rig_new(false);
	char buf[16];

	/* Polled output (IER 0): bytes go out, no interrupts, LSR stays idle. */
	wr(r, RBR, 'o');
	wr(r, RBR, 'k');
	assert_int_equal(edges(r), 0);
	assert_int_equal(rd(r, LSR), 0x60);
	assert_int_equal(drain_out(r, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);

	/* Interrupt-driven: one new THRE edge per byte written. */
	wr(r, IER, 0x02);
	assert_int_equal(edges(r), 1);
	assert_int_equal(rd(r, IIR), 0xC2);
	wr(r, RBR, 'x');
	assert_int_equal(edges(r), 2);
	wr(r, RBR, 'y');
	assert_int_equal(edges(r), 3);
	assert_int_equal(rd(r, IIR), 0xC2);
	assert_int_equal(rd(r, IIR), 0xC1);
	assert_int_equal(drain_out(r, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "xy", 2);
	/* printk masks IER per message and relies on re-assertion when it unmasks. */
	wr(r, IER, 0x00);
	wr(r, RBR, 'z');
	assert_int_equal(edges(r), 3);
	wr(r, IER, 0x02);
	assert_int_equal(edges(r), 4);
	assert_int_equal(rd(r, IIR), 0xC2);
	rig_free(r);
}

static void test_output_discarded_without_fd(void **state)
{
	struct rig *r = rig_new(false);

	serial_destroy(&r->s, &r->pio);
	assert_int_equal(serial_init(&r->s, &r->pio, &r->loop, &r->irq.sink, &r->events.ev, -1, -1),
			 0);
	wr(r, IER, 0x02);
	wr(r, RBR, 'q');
	assert_int_equal(edges(r), 2);
	assert_int_equal(rd(r, LSR), 0x60);
	rig_free(r);
}

static void test_rx_path(void **state)
{
	struct rig *r = rig_new(false);

	/* Interrupts off: data is visible through LSR.DR only. */
	assert_int_equal(serial_push_input(&r->s, (const uint8_t *)"hi", 2), 2);
	assert_int_equal(edges(r), 0);
	assert_int_equal(rd(r, LSR), 0x61);
	assert_int_equal(rd(r, IIR), 0xC1);
	/* Enabling RDI with data queued interrupts at once. */
	wr(r, IER, 0x01);
	assert_int_equal(edges(r), 1);
	assert_int_equal(rd(r, IIR), 0xC4);
	assert_int_equal(rd(r, IIR), 0xC4); /* stays until drained */
	assert_int_equal(rd(r, RBR), 'h');
	assert_int_equal(rd(r, LSR), 0x61);
	assert_int_equal(rd(r, RBR), 'i');
	assert_int_equal(rd(r, LSR), 0x60);
	assert_int_equal(rd(r, IIR), 0xC1);
	assert_int_equal(rd(r, RBR), 0x00); /* empty FIFO */
	/* Each new arrival is a new edge. */
	serial_push_input(&r->s, (const uint8_t *)"a", 1);
	assert_int_equal(edges(r), 2);
	serial_push_input(&r->s, (const uint8_t *)"b", 1);
	assert_int_equal(edges(r), 3);
	assert_int_equal(serial_push_input(&r->s, NULL, 0), 0);
	assert_int_equal(edges(r), 3);
	rig_free(r);
}

static void test_rx_has_priority_over_thre(void **state)
{
	struct rig *r = rig_new(false);

	wr(r, IER, 0x03);
	serial_push_input(&r->s, (const uint8_t *)"k", 1);
	assert_int_equal(rd(r, IIR), 0xC4);
	/* THRE is still pending behind the data. */
	assert_int_equal(rd(r, RBR), 'k');
	assert_int_equal(rd(r, IIR), 0xC2);
	assert_int_equal(rd(r, IIR), 0xC1);
	rig_free(r);
}

static void test_rx_fifo_full_and_fcr(void **state)
{
	struct rig *r = rig_new(false);
	uint8_t in[100];
	unsigned int i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = i;
	assert_int_equal(serial_push_input(&r->s, in, sizeof(in)), SERIAL_FIFO_LEN);
	assert_int_equal(serial_push_input(&r->s, in, 1), 0);
	for (i = 0; i < SERIAL_FIFO_LEN; i++) {
		assert_int_equal(rd(r, LSR) & 0x01, 1);
		assert_int_equal(rd(r, RBR), i);
	}
	assert_int_equal(rd(r, LSR), 0x60);
	/* Wrap-around of the ring keeps the order. */
	assert_int_equal(serial_push_input(&r->s, in + 10, 50), 50);
	assert_int_equal(rd(r, RBR), 10);
	assert_int_equal(serial_push_input(&r->s, in + 60, 15), 15);
	for (i = 11; i < 75; i++)
		assert_int_equal(rd(r, RBR), i);
	assert_int_equal(rd(r, LSR), 0x60);
	/* FCR "clear receive FIFO". */
	serial_push_input(&r->s, in, 5);
	wr(r, IIR, 0x07);
	assert_int_equal(rd(r, LSR), 0x60);
	assert_int_equal(rd(r, RBR), 0);
	/* FCR without the clear bit leaves data alone. */
	serial_push_input(&r->s, in + 3, 1);
	wr(r, IIR, 0x01);
	assert_int_equal(rd(r, RBR), 3);
	rig_free(r);
}

static void test_dlab(void **state)
{
	struct rig *r = rig_new(false);
	char buf[4];

	wr(r, IER, 0x05);
	wr(r, LCR, 0x83);
	assert_int_equal(rd(r, LCR), 0x83);
	assert_int_equal(rd(r, RBR), 0x0C); /* 9600 baud at power on */
	assert_int_equal(rd(r, IER), 0x00);
	wr(r, RBR, 0x01); /* DLL: 115200 */
	wr(r, IER, 0x02); /* DLM */
	assert_int_equal(rd(r, RBR), 0x01);
	assert_int_equal(rd(r, IER), 0x02);
	assert_int_equal(edges(r), 0);
	assert_int_equal(drain_out(r, buf, sizeof(buf)), 0);
	wr(r, LCR, 0x03);
	assert_int_equal(rd(r, IER), 0x05); /* real IER untouched */
	serial_push_input(&r->s, (const uint8_t *)"d", 1);
	assert_int_equal(rd(r, RBR), 'd');
	wr(r, LCR, 0x80);
	assert_int_equal(rd(r, RBR), 0x01);
	assert_int_equal(rd(r, IER), 0x02);
	rig_free(r);
}

static void test_loopback_and_misc(void **state)
{
	struct rig *r = rig_new(false);
	char buf[4];

	wr(r, MCR, 0xFF);
	assert_int_equal(rd(r, MCR), 0x1F);
	wr(r, MCR, 0x18); /* LOOP | OUT2 */
	wr(r, RBR, 'Z');
	assert_int_equal(drain_out(r, buf, sizeof(buf)), 0);
	assert_int_equal(rd(r, LSR), 0x61);
	assert_int_equal(rd(r, RBR), 'Z');
	assert_int_equal(rd(r, LSR), 0x60);
	wr(r, IER, 0x01);
	wr(r, RBR, 'L');
	assert_true(edges(r) >= 1);
	assert_int_equal(rd(r, IIR), 0xC4);
	assert_int_equal(rd(r, RBR), 'L');
	wr(r, MCR, 0x08);
	wr(r, RBR, '!');
	assert_int_equal(drain_out(r, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], '!');

	wr(r, SCR, 0x5A);
	assert_int_equal(rd(r, SCR), 0x5A);
	/* LSR and MSR writes are ignored. */
	wr(r, LSR, 0x00);
	wr(r, MSR, 0x00);
	assert_int_equal(rd(r, LSR), 0x60);
	assert_int_equal(rd(r, MSR), 0xB0);
	rig_free(r);
}

static void test_reset_keeps_input(void **state)
{
	struct rig *r = rig_new(false);

	wr(r, IER, 0x03);
	wr(r, LCR, 0x9B);
	wr(r, MCR, 0x1F);
	wr(r, SCR, 0x11);
	serial_push_input(&r->s, (const uint8_t *)"r", 1);
	serial_reset(&r->s);
	assert_int_equal(rd(r, LCR), 0x03);
	assert_int_equal(rd(r, IER), 0x00);
	assert_int_equal(rd(r, MCR), 0x08);
	assert_int_equal(rd(r, SCR), 0x00);
	assert_int_equal(rd(r, IIR), 0xC1);
	assert_int_equal(rd(r, LSR), 0x61);
	assert_int_equal(rd(r, RBR), 'r');
	rig_free(r);
}

static void test_register_conflict(void **state)
{
	struct rig *r = rig_new(false);
	struct serial other;

	assert_int_equal(
	    serial_init(&other, &r->pio, &r->loop, &r->irq.sink, &r->events.ev, -1, -1), -EBUSY);
	pthread_mutex_destroy(&other.lock);
	rig_free(r);
}

static void test_unpollable_input_is_ignored(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	int fd = open("/dev/null", O_RDONLY);

	assert_non_null(r);
	assert_true(fd >= 0);
	bus_init(&r->pio);
	loop_init(&r->loop);
	r->irq.sink.set = fake_irq_set;
	assert_int_equal(serial_init(&r->s, &r->pio, &r->loop, &r->irq.sink, &r->events.ev, fd, -1),
			 0);
	assert_int_equal(r->s.in.fd, -1);
	serial_destroy(&r->s, &r->pio);
	close(fd);
	loop_destroy(&r->loop);
	bus_destroy(&r->pio);
	free(r);
}

static void feed(struct rig *r, const void *p, size_t n)
{
	assert_int_equal(write(r->in[1], p, n), (ssize_t)n);
	assert_int_equal(loop_run_once(&r->loop, 1000), 1);
}

static void test_input_from_fd(void **state)
{
	struct rig *r = rig_new(true);

	wr(r, IER, 0x01);
	feed(r, "\x01x", 2); /* not a terminal: Ctrl-A is just a byte */
	assert_int_equal(r->events.n, 0);
	assert_int_equal(edges(r), 1);
	assert_int_equal(rd(r, RBR), 0x01);
	assert_int_equal(rd(r, RBR), 'x');
	rig_free(r);
}

static void test_ctrl_a_escape(void **state)
{
	struct rig *r = rig_new(true);

	r->s.in_tty = true;
	/* Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A + another key is swallowed. */
	feed(r,
	     "a\x01\x01"
	     "b\x01zc",
	     7);
	assert_int_equal(r->events.n, 0);
	assert_int_equal(rd(r, RBR), 'a');
	assert_int_equal(rd(r, RBR), 0x01);
	assert_int_equal(rd(r, RBR), 'b');
	assert_int_equal(rd(r, RBR), 'c');
	assert_int_equal(rd(r, LSR), 0x60);
	/* The escape may span two reads. */
	feed(r, "\x01", 1);
	assert_int_equal(rd(r, LSR), 0x60);
	feed(r, "x", 1);
	assert_int_equal(r->events.n, 1);
	assert_int_equal(r->events.last, VM_EV_QUIT);
	assert_int_equal(rd(r, LSR), 0x60);
	rig_free(r);
}

/* With the FIFO full the VMM stops reading; it resumes once the guest drained half. */
static void test_input_flow_control(void **state)
{
	struct rig *r = rig_new(true);
	uint8_t in[100];
	unsigned int i, next = 0;

	for (i = 0; i < sizeof(in); i++)
		in[i] = i;
	assert_int_equal(write(r->in[1], in, sizeof(in)), (ssize_t)sizeof(in));
	assert_int_equal(loop_run_once(&r->loop, 1000), 1);
	assert_int_equal(r->s.rx_len, SERIAL_FIFO_LEN);
	/* Still readable, FIFO full: the watch is paused, nothing is lost. */
	assert_int_equal(loop_run_once(&r->loop, 1000), 1);
	assert_true(r->s.in_paused);
	assert_int_equal(loop_run_once(&r->loop, 50), 0);
	/* Draining to just above half does not resume; below half does. */
	for (i = 0; i < SERIAL_FIFO_LEN / 2; i++)
		assert_int_equal(rd(r, RBR), next++);
	assert_true(r->s.in_paused);
	assert_int_equal(rd(r, RBR), next++);
	assert_false(r->s.in_paused);
	assert_int_equal(loop_run_once(&r->loop, 1000), 1);
	while (rd(r, LSR) & 0x01)
		assert_int_equal(rd(r, RBR), next++);
	assert_int_equal(next, SERIAL_FIFO_LEN + SERIAL_FIFO_LEN / 2 + 1);
	assert_int_equal(loop_run_once(&r->loop, 1000), 1);
	while (rd(r, LSR) & 0x01)
		assert_int_equal(rd(r, RBR), next++);
	assert_int_equal(next, sizeof(in));
	rig_free(r);
}

/* EOF on the input: the watch goes away, the loop does not spin on it. */
static void test_input_eof(void **state)
{
	struct rig *r = rig_new(true);

	close(r->in[1]);
	r->in[1] = -1;
	assert_int_equal(loop_run_once(&r->loop, 1000), 1);
	assert_int_equal(loop_run_once(&r->loop, 50), 0);
	assert_int_equal(r->events.n, 0);
	rig_free(r);
}

/* A guest writing the UART from a vCPU thread while nobody reads the output. */
struct writer {
	struct rig *r;
	size_t n;
};

static void *writer_main(void *p)
{
	struct writer *w = p;

	for (size_t i = 0; i < w->n; i++) {
		uint8_t c = 'a' + i % 26;

		bus_write(&w->r->pio, SERIAL_PORT + RBR, &c, 1);
	}
	return NULL;
}

/*
 * Issue 21 item 3: with stdout a blocking pipe that nobody drains, the
 * vCPU's THR writes return at once (the ring takes what it can, the rest is
 * dropped and counted), and output resumes once the reader catches up.
 */
static void test_stalled_output_never_blocks_the_vcpu(void **state)
{
	struct rig *r = rig_new_out(false, 0);
	struct writer w = {.r = r, .n = 3 * 1024 * 1024};
	size_t got = 0, pipe_cap;
	struct timespec deadline;
	pthread_t t;
	uint64_t dropped;
	char *buf = malloc(SERIAL_TX_RING + 1);
	int ret;

	assert_non_null(buf);
	/* The shared descriptor (a shell's terminal, stdout's pipe) stays blocking. */
	assert_int_equal(fcntl(r->out[1], F_GETFL) & O_NONBLOCK, 0);
	signal(SIGPIPE, SIG_IGN); /* as memvisor: a closed reader is EPIPE */
	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	ret = pthread_timedjoin_np(t, NULL, &deadline);
	if (ret) {
		close(r->out[0]); /* the blocked write() ends with EPIPE */
		pthread_join(t, NULL);
		r->out[0] = open("/dev/null", O_RDONLY);
		fail_msg("a THR write blocked the vCPU on a stalled output (%d)", ret);
	}
	/* The loop drains into the pipe until it is full; the rest waits in the ring. */
	pipe_cap = (size_t)fcntl(r->out[0], F_GETPIPE_SZ);
	while (loop_run_once(&r->loop, 0) > 0)
		;
	dropped = serial_tx_dropped(&r->s);
	assert_true(dropped >= w.n - SERIAL_TX_RING - pipe_cap);
	assert_true(dropped <= w.n - SERIAL_TX_RING);
	/* The reader comes back: every byte kept arrives, in order, then output resumes. */
	assert_int_equal(fcntl(r->out[0], F_SETFL, O_NONBLOCK), 0);
	for (int spins = 0; spins < 10000 && got < w.n - dropped; spins++) {
		ssize_t n = read(r->out[0], buf, SERIAL_TX_RING);

		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (char)('a' + (got + (size_t)i) % 26))
				fail_msg("byte %zu is '%c'", got + (size_t)i, buf[i]);
		if (n > 0)
			got += (size_t)n;
		loop_run_once(&r->loop, 0);
	}
	assert_int_equal(got, w.n - dropped);
	wr(r, RBR, '!');
	assert_int_equal(drain_out(r, buf, 16), 1);
	assert_int_equal(buf[0], '!');
	assert_int_equal(serial_tx_dropped(&r->s), dropped);
	free(buf);
	rig_free(r);
}

/* A reader that goes away: output is dropped and counted, the loop does not spin. */
static void test_output_reader_gone(void **state)
{
	struct rig *r = rig_new_out(false, 0);
	int n = 0;

	signal(SIGPIPE, SIG_IGN);
	close(r->out[0]);
	r->out[0] = open("/dev/null", O_RDONLY);
	wr(r, RBR, 'a');
	wr(r, RBR, 'b');
	while (loop_run_once(&r->loop, 0) > 0 && n < 100)
		n++;
	assert_true(n < 100);
	assert_int_equal(serial_tx_dropped(&r->s), 2);
	rig_free(r);
}

/* The loop drains while a vCPU writes (run under ThreadSanitizer too): nothing lost uncounted. */
static void test_output_drained_while_written(void **state)
{
	struct rig *r = rig_new(false);
	struct writer w = {.r = r, .n = 1024 * 1024};
	size_t got = 0;
	char buf[65536];
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	for (int spins = 0; spins < 2000000 && got + serial_tx_dropped(&r->s) < w.n; spins++) {
		ssize_t n;

		loop_run_once(&r->loop, 1);
		n = read(r->out[0], buf, sizeof(buf));
		if (n > 0)
			got += (size_t)n;
	}
	pthread_join(t, NULL);
	assert_int_equal(got + serial_tx_dropped(&r->s), w.n);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_power_on_registers),
	    cmocka_unit_test(test_ier_readback),
	    cmocka_unit_test(test_linux_thre_startup_test),
	    cmocka_unit_test(test_thr_output_and_reassert),
	    cmocka_unit_test(test_output_discarded_without_fd),
	    cmocka_unit_test(test_rx_path),
	    cmocka_unit_test(test_rx_has_priority_over_thre),
	    cmocka_unit_test(test_rx_fifo_full_and_fcr),
	    cmocka_unit_test(test_dlab),
	    cmocka_unit_test(test_loopback_and_misc),
	    cmocka_unit_test(test_reset_keeps_input),
	    cmocka_unit_test(test_register_conflict),
	    cmocka_unit_test(test_unpollable_input_is_ignored),
	    cmocka_unit_test(test_input_from_fd),
	    cmocka_unit_test(test_ctrl_a_escape),
	    cmocka_unit_test(test_input_flow_control),
	    cmocka_unit_test(test_input_eof),
	    cmocka_unit_test(test_stalled_output_never_blocks_the_vcpu),
	    cmocka_unit_test(test_output_reader_gone),
	    cmocka_unit_test(test_output_drained_while_written),
	};

	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
