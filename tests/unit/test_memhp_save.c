/*
 * Unit tests for devices/memhp_save: the "memhp" section round trip (what
 * the guest reads of every slot, pending events, an eject the host has not
 * released, _OST codes) and its refusals (slot count, unknown flags,
 * states memhp.c never reaches, ranges, truncation, trailing bytes, a
 * newer version), each leaving the controller as it was.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/memhp_save.h"
#include "lib/util.h"

static int fake_irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	return 0;
}

#define SLOTS 4
/* Header of a section named "memhp": name length, name, version, length. */
#define HDR	    (1 + 5 + 4 + 8)
#define SLOT_LEN    (8 + 8 + 4 + 1 + 4 + 4)
#define SLOT_OFF(i) (HDR + 8 + (i)*SLOT_LEN)

struct rig {
	struct bus pio;
	struct irq_sink irq;
	struct memhp h;
};

static struct rig *rig_new(unsigned int slots)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	assert_int_equal(bus_init(&r->pio), 0);
	r->irq.set = fake_irq_set;
	assert_int_equal(memhp_init(&r->h, slots, &r->pio, &r->irq, NULL, NULL), 0);
	return r;
}

static void rig_free(struct rig *r)
{
	memhp_destroy(&r->h, &r->pio);
	bus_destroy(&r->pio);
	free(r);
}

static void guest_write(struct rig *r, uint64_t off, uint64_t val)
{
	memhp_write(&r->h.regs, off, 4, val);
}

/* Slot 0 plugged and acknowledged, slot 1 plugged with its insert event
 * pending and an unplug asked, slot 2 ejected by the guest, slot 3 free
 * with an _OST report; the selector on slot 1. */
static void populate(struct rig *r)
{
	assert_int_equal(memhp_plug(&r->h, 0, 0x100000000ULL, 128 << 20, 0), 0);
	assert_int_equal(memhp_plug(&r->h, 1, 0x108000000ULL, 256 << 20, 1), 0);
	assert_int_equal(memhp_plug(&r->h, 2, 0x118000000ULL, 128 << 20, 0), 0);
	guest_write(r, MEMHP_REG_SEL, 0);
	guest_write(r, MEMHP_REG_CTRL, MEMHP_ST_INSERT);
	assert_int_equal(memhp_request_unplug(&r->h, 1), 0);
	guest_write(r, MEMHP_REG_SEL, 2);
	guest_write(r, MEMHP_REG_CTRL, MEMHP_CTL_EJECT);
	guest_write(r, MEMHP_REG_SEL, 3);
	guest_write(r, MEMHP_REG_OST_EV, MEMHP_OST_EV_EJECT_REQUEST);
	guest_write(r, MEMHP_REG_OST_ST, MEMHP_OST_IN_USE);
	guest_write(r, MEMHP_REG_SEL, 1);
}

static void save(struct rig *r, struct mv_state_writer *w)
{
	mv_sw_init(w);
	memhp_save(&r->h, w);
	assert_int_equal(mv_sw_error(w), 0);
	assert_int_equal(w->len, SLOT_OFF(SLOTS));
}

/* Parses buf into a copy of r's registers; commits it on success. */
static int load(struct rig *r, const void *buf, size_t len, char *err, size_t errlen)
{
	struct mv_state_reader rd;
	struct mv_state_section sec;
	struct memhp_regs *regs = calloc(1, sizeof(*regs));
	int ret;

	assert_non_null(regs);
	regs->nr_slots = r->h.regs.nr_slots;
	mv_sr_init(&rd, buf, len);
	ret = mv_state_next(&rd, &sec, err, errlen);
	if (ret == 1)
		ret = memhp_parse(&sec, regs, err, errlen);
	else if (ret == 0)
		ret = -ENOENT;
	if (!ret)
		memhp_commit(&r->h, regs);
	free(regs);
	return ret;
}

static void test_round_trip(void **state)
{
	struct rig *a = rig_new(SLOTS), *b = rig_new(SLOTS);
	struct mv_state_writer w;
	char err[256] = "";
	uint64_t va, vb;
	unsigned int sel, off;

	populate(a);
	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_memory_equal(&a->h.regs, &b->h.regs, sizeof(a->h.regs));
	/* What the guest reads is the same, slot by slot and register by register. */
	for (sel = 0; sel < SLOTS + 1; sel++) {
		guest_write(a, MEMHP_REG_SEL, sel);
		guest_write(b, MEMHP_REG_SEL, sel);
		for (off = 0; off < MEMHP_LEN; off += 4) {
			memhp_read(&a->h.regs, off, 4, &va);
			memhp_read(&b->h.regs, off, 4, &vb);
			assert_int_equal(va, vb);
		}
	}
	/* Slot 2's eject is pending in the host: release still works on the copy. */
	assert_true(b->h.regs.slots[2].ejecting);
	assert_int_equal(memhp_release(&b->h, 2), 0);
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
}

/* Saves a populated controller, lets edit() damage the bytes, expects a refusal naming want. */
static void refused(void (*edit)(uint8_t *buf, size_t *len), const char *want)
{
	struct rig *a = rig_new(SLOTS), *b = rig_new(SLOTS);
	struct memhp_regs before;
	struct mv_state_writer w;
	char err[256] = "";
	size_t len;

	populate(a);
	save(a, &w);
	len = w.len;
	edit(w.buf, &len);
	assert_int_equal(memhp_plug(&b->h, 3, 0x200000000ULL, 128 << 20, 0), 0);
	before = b->h.regs;
	assert_int_equal(load(b, w.buf, len, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_memory_equal(&before, &b->h.regs, sizeof(before));
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

#define FLAGS(i) (SLOT_OFF(i) + 20)

static void edit_slots(uint8_t *b, size_t *len)
{
	put32(b + HDR, SLOTS + 1);
}
static void edit_flag_bits(uint8_t *b, size_t *len)
{
	b[FLAGS(0)] |= 0x10;
}
static void edit_free_with_addr(uint8_t *b, size_t *len)
{
	put64(b + SLOT_OFF(3), 0x100000000ULL);
}
static void edit_free_with_event(uint8_t *b, size_t *len)
{
	b[FLAGS(3)] = 1U << 1;
}
static void edit_enabled_ejecting(uint8_t *b, size_t *len)
{
	b[FLAGS(0)] |= 1U << 3;
}
static void edit_ejecting_event(uint8_t *b, size_t *len)
{
	b[FLAGS(2)] |= 1U << 2;
}
static void edit_unaligned(uint8_t *b, size_t *len)
{
	put64(b + SLOT_OFF(0) + 8, (128 << 20) + 512);
}
static void edit_zero_size(uint8_t *b, size_t *len)
{
	put64(b + SLOT_OFF(1) + 8, 0);
}
static void edit_wraps(uint8_t *b, size_t *len)
{
	put64(b + SLOT_OFF(0), 0xFFFFFFFFFFFFF000ULL);
}
static void edit_version(uint8_t *b, size_t *len)
{
	put32(b + 1 + 5, MEMHP_STATE_VERSION + 1);
}
/* The payload's length says one byte more, and the byte is there. */
static void edit_trailing(uint8_t *b, size_t *len)
{
	put64(b + 1 + 5 + 4, SLOT_OFF(SLOTS) - HDR + 1);
	b[(*len)++] = 0;
}
/* The payload ends inside the last slot. */
static void edit_short(uint8_t *b, size_t *len)
{
	put64(b + 1 + 5 + 4, SLOT_OFF(SLOTS) - HDR - 3);
	*len -= 3;
}

static void test_refusals(void **state)
{
	refused(edit_slots, "memhp: 5 slots; this VM has 4");
	refused(edit_flag_bits, "slot 0: flags 0x11 has unknown bits");
	refused(edit_free_with_addr, "slot 3 is free but has an address");
	refused(edit_free_with_event, "slot 3 is free but has an address, size, node or event");
	refused(edit_enabled_ejecting, "slot 0 is both enabled and ejecting");
	refused(edit_ejecting_event, "slot 2 is ejecting with an event pending");
	refused(edit_unaligned, "slot 0 has a size of zero, a range not 4 KiB aligned");
	refused(edit_zero_size, "slot 1 has a size of zero");
	refused(edit_wraps, "or one that wraps");
	refused(edit_version, "memhp");
	refused(edit_trailing, "memhp");
	refused(edit_short, "memhp");
}

/* Every truncation of a saved section is refused (never a crash or a partial commit). */
static void test_every_truncation(void **state)
{
	struct rig *a = rig_new(SLOTS), *b = rig_new(SLOTS);
	struct memhp_regs before;
	struct mv_state_writer w;
	char err[256];
	size_t len;

	populate(a);
	save(a, &w);
	before = b->h.regs;
	for (len = 0; len < w.len; len++) {
		uint8_t *copy = malloc(w.len);

		assert_non_null(copy);
		memcpy(copy, w.buf, w.len);
		put64(copy + 1 + 5 + 4, len > HDR ? len - HDR : 0);
		assert_int_not_equal(load(b, copy, len, err, sizeof(err)), 0);
		assert_memory_equal(&before, &b->h.regs, sizeof(before));
		free(copy);
	}
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_every_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
