/* Unit tests for devices/serial_save: the "serial" section round trip and its refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "devices/serial_save.h"

/* Header of a section named "serial": name length, name, version, length. */
#define HDR (1 + 6 + 4 + 8)

struct fake_irq {
	struct irq_sink sink;
	unsigned int edges;
};

static int fake_irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	struct fake_irq *f = container_of(s, struct fake_irq, sink);

	f->edges += level != 0;
	return 0;
}

static void fake_post(struct vm_events *e, enum vm_event ev)
{
}

struct rig {
	struct bus pio;
	struct loop loop;
	struct fake_irq irq;
	struct vm_events events;
	struct serial s;
};

static struct rig *rig_new(void)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	assert_int_equal(bus_init(&r->pio), 0);
	assert_int_equal(loop_init(&r->loop), 0);
	r->irq.sink.set = fake_irq_set;
	r->events.post = fake_post;
	assert_int_equal(serial_init(&r->s, &r->pio, &r->loop, &r->irq.sink, &r->events, -1, -1),
			 0);
	return r;
}

static void rig_free(struct rig *r)
{
	serial_destroy(&r->s, &r->pio);
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

/* A device in a state far from power-on, with the FIFO's ring wrapped. */
static void make_busy(struct rig *r)
{
	uint8_t in[64];
	unsigned int i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = i + 1;
	wr(r, 3, 0x83); /* DLAB */
	wr(r, 0, 0x01); /* dll: 115200 */
	wr(r, 1, 0x02); /* dlm */
	wr(r, 3, 0x1B); /* 8E1 */
	wr(r, 1, 0x03); /* RDI | THRI: THRE pending */
	wr(r, 4, 0x0B);
	wr(r, 7, 0x5A);
	assert_int_equal(serial_push_input(&r->s, in, 60), 60);
	for (i = 0; i < 50; i++)
		assert_int_equal(rd(r, 0), i + 1);
	assert_int_equal(serial_push_input(&r->s, in, 30), 30); /* wraps the ring */
}

static void assert_same_regs(const struct serial *a, const struct serial *b)
{
	unsigned int i;

	assert_int_equal(a->ier, b->ier);
	assert_int_equal(a->lcr, b->lcr);
	assert_int_equal(a->mcr, b->mcr);
	assert_int_equal(a->lsr, b->lsr);
	assert_int_equal(a->msr, b->msr);
	assert_int_equal(a->scr, b->scr);
	assert_int_equal(a->dll, b->dll);
	assert_int_equal(a->dlm, b->dlm);
	assert_int_equal(a->thri_pending, b->thri_pending);
	assert_int_equal(a->rx_len, b->rx_len);
	for (i = 0; i < a->rx_len; i++)
		assert_int_equal(a->rx[(a->rx_head + i) % SERIAL_FIFO_LEN],
				 b->rx[(b->rx_head + i) % SERIAL_FIFO_LEN]);
}

static void save(struct rig *r, struct mv_state_writer *w)
{
	mv_sw_init(w);
	serial_save(&r->s, w);
	assert_int_equal(mv_sw_error(w), 0);
}

static int load(struct rig *r, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct mv_state_section sec;
	struct mv_state_reader rd_;
	int ret;

	mv_sr_init(&rd_, buf, len);
	ret = mv_state_next(&rd_, &sec, err, errlen);
	if (ret != 1)
		return ret ? ret : -ENOENT;
	return serial_load(&r->s, &sec, err, errlen);
}

static void test_round_trip(void **st)
{
	struct rig *a = rig_new(), *b = rig_new();
	struct mv_state_writer w;
	char err[160] = "";
	unsigned int i;

	make_busy(a);
	save(a, &w);
	assert_int_equal(w.len, HDR + 10 + 40);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_same_regs(&a->s, &b->s);
	/* What the guest sees next is the same on both. */
	for (i = 0; i < 41; i++)
		assert_int_equal(rd(b, 0), rd(a, 0));
	assert_int_equal(rd(b, 5), rd(a, 5));
	assert_int_equal(rd(b, 2), rd(a, 2)); /* THRE acknowledged on both */
	assert_int_equal(rd(b, 2), rd(a, 2));
	/* Loading raised no interrupt: the edge belongs to the irqchip's state. */
	assert_int_equal(b->irq.edges, 0);
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
}

/* Refused with a message naming the field, and the fresh device is untouched. */
static void expect_refused(struct rig *a, int at, uint8_t val, const char *msg)
{
	struct rig *b = rig_new();
	struct serial before;
	struct mv_state_writer w;
	char err[160] = "";

	save(a, &w);
	w.buf[HDR + at] = val;
	before = b->s;
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	assert_same_regs(&before, &b->s);
	assert_int_equal(b->s.rx_head, before.rx_head);
	mv_sw_free(&w);
	rig_free(b);
}

static void test_refused(void **st)
{
	struct rig *a = rig_new(), *b = rig_new();
	struct mv_state_writer w;
	struct serial before;
	char err[160] = "";
	size_t len;

	make_busy(a);
	expect_refused(a, 9, 65, "serial: rx_len 65 exceeds the FIFO (64)");
	expect_refused(a, 0, 0x10, "serial: ier 0x10 has reserved bits set");
	expect_refused(a, 2, 0x20, "serial: mcr 0x20 has reserved bits set");
	expect_refused(a, 8, 2, "serial: thri_pending 2 is not 0 or 1");
	/* rx_len 39 of 40 bytes: one byte left over. */
	expect_refused(a, 9, 39, "serial: 1 unexpected bytes after the payload");
	/* A newer version. */
	expect_refused(a, -8 - 4, 2, /* the version field */
		       "serial: section version 2 is not supported (this build reads 1 to 1)");

	/* Every truncation of the payload (the header's length shortened to match). */
	save(a, &w);
	before = b->s;
	for (len = 0; len < w.len - HDR; len++) {
		uint8_t *copy = malloc(HDR + len);

		memcpy(copy, w.buf, HDR + len);
		copy[HDR - 8] = len;
		assert_int_equal(load(b, copy, HDR + len, err, sizeof(err)), -EINVAL);
		if (len == 0)
			assert_string_equal(err, "serial: payload truncated (0 bytes)");
		free(copy);
	}
	assert_same_regs(&before, &b->s);
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
