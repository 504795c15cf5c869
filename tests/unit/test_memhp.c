/*
 * Unit tests for devices/memhp: the ACPI memory-hotplug registers (QEMU's
 * layout), the plug / eject-request / eject / release cycle, _OST reports,
 * and hostile guest accesses (selector out of range, odd widths and
 * offsets, eject of an empty slot, writes to read-only registers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "devices/memhp.h"
#include "lib/util.h"

struct fake_irq {
	struct irq_sink sink;
	unsigned int pulses; /* rising edges on MEMHP_GSI */
	unsigned int other;
};

static int fake_irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	struct fake_irq *f = container_of(s, struct fake_irq, sink);

	if (gsi != MEMHP_GSI)
		f->other++;
	else if (level)
		f->pulses++;
	return 0;
}

struct rig {
	struct bus pio;
	struct fake_irq irq;
	struct memhp h;
	unsigned int nr_ost, nr_eject;
	unsigned int last_slot;
	uint32_t last_ev, last_st;
};

static void hook_ost(struct memhp *h, unsigned int slot, uint32_t ev, uint32_t st)
{
	struct rig *r = h->opaque;

	r->nr_ost++;
	r->last_slot = slot;
	r->last_ev = ev;
	r->last_st = st;
}

static void hook_eject(struct memhp *h, unsigned int slot)
{
	struct rig *r = h->opaque;

	r->nr_eject++;
	r->last_slot = slot;
}

static const struct memhp_hooks hooks = {.ost = hook_ost, .eject = hook_eject};

#define SLOTS 4

static int setup(void **state)
{
	static struct rig r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(bus_init(&r.pio), 0);
	r.irq.sink.set = fake_irq_set;
	assert_int_equal(memhp_init(&r.h, SLOTS, &r.pio, &r.irq.sink, &hooks, &r), 0);
	*state = &r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;

	memhp_destroy(&r->h, &r->pio);
	assert_int_equal(r->pio.nr, 0);
	bus_destroy(&r->pio);
	return 0;
}

static uint32_t in(struct rig *r, unsigned int off, uint32_t len)
{
	uint8_t b[8] = {0};

	assert_true(bus_read(&r->pio, MEMHP_PORT + off, b, len));
	return le_get(b, 4);
}

static void out(struct rig *r, unsigned int off, uint32_t len, uint32_t v)
{
	uint8_t b[8] = {0};

	le_put(b, v, 4);
	assert_true(bus_write(&r->pio, MEMHP_PORT + off, b, len));
}

static void test_init_rejects_bad_counts(void **state)
{
	struct fake_irq irq = {.sink.set = fake_irq_set};
	struct bus pio;
	struct memhp h;

	assert_int_equal(bus_init(&pio), 0);
	assert_int_equal(memhp_init(&h, 0, &pio, &irq.sink, NULL, NULL), -EINVAL);
	assert_int_equal(memhp_init(&h, MEMHP_MAX_SLOTS + 1, &pio, &irq.sink, NULL, NULL), -EINVAL);
	assert_int_equal(pio.nr, 0);
	assert_int_equal(memhp_init(&h, MEMHP_MAX_SLOTS, &pio, &irq.sink, NULL, NULL), 0);
	memhp_destroy(&h, &pio);
	bus_destroy(&pio);
}

static void test_plug_visible_in_registers(void **state)
{
	struct rig *r = *state;

	assert_int_equal(memhp_plug(&r->h, 2, 0x1C0000000ULL, 0x38000000ULL, 1), 0);
	assert_int_equal(r->irq.pulses, 1);
	assert_int_equal(r->irq.other, 0);
	out(r, MEMHP_REG_SEL, 4, 2);
	assert_int_equal(in(r, MEMHP_REG_ADDR_LO, 4), 0xC0000000);
	assert_int_equal(in(r, MEMHP_REG_ADDR_HI, 4), 0x1);
	assert_int_equal(in(r, MEMHP_REG_SIZE_LO, 4), 0x38000000);
	assert_int_equal(in(r, MEMHP_REG_SIZE_HI, 4), 0);
	assert_int_equal(in(r, MEMHP_REG_PXM, 4), 1);
	assert_int_equal(in(r, MEMHP_REG_STATUS, 1), MEMHP_ST_ENABLED | MEMHP_ST_INSERT);
	/* The scan acknowledges the insert event; the slot stays enabled. */
	out(r, MEMHP_REG_CTRL, 1, MEMHP_ST_INSERT);
	assert_int_equal(in(r, MEMHP_REG_STATUS, 1), MEMHP_ST_ENABLED);
	/* Other slots are empty. */
	out(r, MEMHP_REG_SEL, 4, 1);
	assert_int_equal(in(r, MEMHP_REG_STATUS, 1), 0);
	assert_int_equal(in(r, MEMHP_REG_SIZE_LO, 4), 0);
	/* A taken slot is refused and stays as it was. */
	assert_int_equal(memhp_plug(&r->h, 2, 0x200000000ULL, 1ULL << 27, 0), -EBUSY);
	assert_int_equal(memhp_slot_get(&r->h, 2).addr, 0x1C0000000ULL);
	assert_int_equal(r->irq.pulses, 1);
}

static void test_plug_rejects_bad_ranges(void **state)
{
	struct rig *r = *state;

	assert_int_equal(memhp_plug(&r->h, SLOTS, 1ULL << 32, 1ULL << 27, 0), -EINVAL);
	assert_int_equal(memhp_plug(&r->h, 0, 1ULL << 32, 0, 0), -EINVAL);
	assert_int_equal(memhp_plug(&r->h, 0, (1ULL << 32) + 1, 1ULL << 27, 0), -EINVAL);
	assert_int_equal(memhp_plug(&r->h, 0, ~0xFFFULL, 1ULL << 27, 0), -EINVAL);
	assert_int_equal(r->irq.pulses, 0);
	assert_false(memhp_slot_get(&r->h, 0).enabled);
}

static void test_eject_cycle(void **state)
{
	struct rig *r = *state;
	struct memhp_slot s;

	assert_int_equal(memhp_plug(&r->h, 1, 1ULL << 32, 1ULL << 27, 0), 0);
	out(r, MEMHP_REG_SEL, 4, 1);
	out(r, MEMHP_REG_CTRL, 1, MEMHP_ST_INSERT);
	assert_int_equal(memhp_request_unplug(&r->h, 1), 0);
	assert_int_equal(r->irq.pulses, 2);
	assert_int_equal(in(r, MEMHP_REG_STATUS, 1), MEMHP_ST_ENABLED | MEMHP_ST_REMOVE);
	/* The scan notifies and acknowledges; the guest offlines, then _EJ0. */
	out(r, MEMHP_REG_CTRL, 1, MEMHP_ST_REMOVE);
	assert_int_equal(in(r, MEMHP_REG_STATUS, 1), MEMHP_ST_ENABLED);
	assert_int_equal(r->nr_eject, 0);
	out(r, MEMHP_REG_CTRL, 1, MEMHP_CTL_EJECT);
	assert_int_equal(r->nr_eject, 1);
	assert_int_equal(r->last_slot, 1);
	/* _STA reads absent at once, but the slot is reserved until released. */
	assert_int_equal(in(r, MEMHP_REG_STATUS, 1), 0);
	s = memhp_slot_get(&r->h, 1);
	assert_true(s.ejecting);
	assert_false(s.enabled);
	assert_int_equal(memhp_plug(&r->h, 1, 1ULL << 33, 1ULL << 27, 0), -EBUSY);
	assert_int_equal(memhp_request_unplug(&r->h, 1), -ENOENT);
	/* A second eject of the same slot does nothing. */
	out(r, MEMHP_REG_CTRL, 1, MEMHP_CTL_EJECT);
	assert_int_equal(r->nr_eject, 1);
	assert_int_equal(memhp_release(&r->h, 1), 0);
	assert_int_equal(memhp_release(&r->h, 1), -ENOENT);
	s = memhp_slot_get(&r->h, 1);
	assert_false(s.ejecting || s.enabled || s.size);
	assert_int_equal(memhp_plug(&r->h, 1, 1ULL << 33, 1ULL << 27, 0), 0);
}

static void test_ost_reports(void **state)
{
	struct rig *r = *state;

	assert_int_equal(memhp_plug(&r->h, 3, 1ULL << 32, 1ULL << 27, 0), 0);
	assert_int_equal(memhp_request_unplug(&r->h, 3), 0);
	out(r, MEMHP_REG_SEL, 4, 3);
	out(r, MEMHP_REG_OST_EV, 4, MEMHP_OST_EV_EJECT_REQUEST);
	assert_int_equal(r->nr_ost, 0); /* the status write completes the report */
	out(r, MEMHP_REG_OST_ST, 4, MEMHP_OST_BUSY);
	assert_int_equal(r->nr_ost, 1);
	assert_int_equal(r->last_slot, 3);
	assert_int_equal(r->last_ev, MEMHP_OST_EV_EJECT_REQUEST);
	assert_int_equal(r->last_st, MEMHP_OST_BUSY);
	assert_true(memhp_ost_eject_failed(r->last_ev, r->last_st));
	/* The refusal leaves the DIMM in place; asking again is allowed. */
	assert_true(memhp_slot_get(&r->h, 3).enabled);
	assert_int_equal(memhp_request_unplug(&r->h, 3), 0);
	assert_int_equal(memhp_request_unplug(&r->h, 0), -ENOENT);
	assert_int_equal(memhp_request_unplug(&r->h, SLOTS), -EINVAL);
}

static void test_ost_classification(void **state)
{
	assert_false(memhp_ost_eject_failed(MEMHP_OST_EV_EJECT_REQUEST, MEMHP_OST_SUCCESS));
	assert_false(memhp_ost_eject_failed(MEMHP_OST_EV_EJECT_REQUEST, MEMHP_OST_IN_PROGRESS));
	assert_true(memhp_ost_eject_failed(MEMHP_OST_EV_EJECT_REQUEST, MEMHP_OST_FAILURE));
	assert_true(memhp_ost_eject_failed(MEMHP_OST_EV_OSPM_EJECT, MEMHP_OST_IN_USE));
	assert_true(memhp_ost_eject_failed(MEMHP_OST_EV_EJECT_REQUEST, MEMHP_OST_EJECT_UNSUPP));
	/* Insertion reports (device check, 1) are not eject failures. */
	assert_false(memhp_ost_eject_failed(0x001, MEMHP_OST_FAILURE));
}

static void test_selector_out_of_range(void **state)
{
	struct rig *r = *state;

	assert_int_equal(memhp_plug(&r->h, 0, 1ULL << 32, 1ULL << 27, 0), 0);
	out(r, MEMHP_REG_SEL, 4, SLOTS);
	for (unsigned int off = 0; off < MEMHP_LEN; off += 4)
		assert_int_equal(in(r, off, 4), 0);
	out(r, MEMHP_REG_SEL, 4, 0xFFFFFFFF);
	out(r, MEMHP_REG_CTRL, 1, 0xFF);
	out(r, MEMHP_REG_OST_EV, 4, 3);
	out(r, MEMHP_REG_OST_ST, 4, 1);
	assert_int_equal(r->nr_eject + r->nr_ost, 0);
	assert_true(memhp_slot_get(&r->h, 0).enabled);
	assert_true(memhp_slot_get(&r->h, 0).inserting);
}

static void test_odd_widths_and_offsets(void **state)
{
	struct rig *r = *state;
	uint8_t b[8];

	assert_int_equal(memhp_plug(&r->h, 0, 0x123456789000ULL, 0x8000000ULL, 7), 0);
	out(r, MEMHP_REG_SEL, 4, 0);
	/* Reads at any offset and width 1, 2 or 4 return the image's bytes. */
	assert_int_equal(in(r, 1, 1), 0x90);
	assert_int_equal(in(r, 1, 2), 0x7890);
	assert_int_equal(in(r, 2, 4), 0x12345678);
	assert_int_equal(in(r, MEMHP_REG_SIZE_LO + 3, 1), 0x08);
	assert_int_equal(in(r, MEMHP_REG_PXM, 2), 7);
	/* Past the end of the block, or width 8: zeros, nothing read outside. */
	{
		uint64_t v = 1;

		memhp_read(&r->h.regs, MEMHP_LEN - 2, 4, &v);
		assert_int_equal(v, 0);
	}
	memset(b, 0xAA, sizeof(b));
	assert_true(bus_read(&r->pio, MEMHP_PORT, b, 8));
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(b[i], 0);
	/* A write in the middle of a register, or 8 wide, changes nothing. */
	out(r, MEMHP_REG_SEL + 1, 1, 3);
	assert_int_equal(in(r, MEMHP_REG_PXM, 4), 7);
	memset(b, 0xFF, sizeof(b));
	assert_true(bus_write(&r->pio, MEMHP_PORT + MEMHP_REG_CTRL - 4, b, 8));
	assert_int_equal(r->nr_eject, 0);
	/* Writes to the read-side registers are ignored. */
	out(r, MEMHP_REG_PXM, 4, 0);
	out(r, MEMHP_REG_SIZE_HI, 4, 0xFFFFFFFF);
	assert_int_equal(in(r, MEMHP_REG_PXM, 4), 7);
	assert_int_equal(in(r, MEMHP_REG_SIZE_LO, 4), 0x8000000);
	/* A 1-byte selector write selects (zero-extended), as a 4-byte one does. */
	out(r, MEMHP_REG_SEL, 1, 0);
	assert_int_equal(in(r, MEMHP_REG_STATUS, 1), MEMHP_ST_ENABLED | MEMHP_ST_INSERT);
	/* Reserved control bits (0, 4-7) do nothing; an eject of an empty slot neither. */
	out(r, MEMHP_REG_CTRL, 1, 0xF1);
	assert_int_equal(in(r, MEMHP_REG_STATUS, 1), MEMHP_ST_ENABLED | MEMHP_ST_INSERT);
	out(r, MEMHP_REG_SEL, 4, 2);
	out(r, MEMHP_REG_CTRL, 1, MEMHP_CTL_EJECT);
	assert_int_equal(r->nr_eject, 0);
}

static void test_pure_read_write(void **state)
{
	struct memhp_regs regs = {.nr_slots = 2};
	struct memhp_result res;
	uint64_t v = 0xDEAD;

	regs.slots[1] =
	    (struct memhp_slot){.addr = 1ULL << 32, .size = 1ULL << 27, .enabled = true};
	memhp_read(&regs, MEMHP_REG_STATUS, 1, &v);
	assert_int_equal(v, 0); /* selector 0: empty */
	res = memhp_write(&regs, MEMHP_REG_SEL, 4, 1);
	assert_int_equal(res.action, MEMHP_NONE);
	memhp_read(&regs, MEMHP_REG_ADDR_HI, 4, &v);
	assert_int_equal(v, 1);
	memhp_read(&regs, 0xFFFFFFFFFFFFFFF0ULL, 4, &v); /* off + len wraps */
	assert_int_equal(v, 0);
	memhp_read(&regs, MEMHP_REG_STATUS, 3, &v);
	assert_int_equal(v, 0);
	res = memhp_write(&regs, 0xFFFFFFFFFFFFFFFFULL, 2, MEMHP_CTL_EJECT);
	assert_int_equal(res.action, MEMHP_NONE);
	res = memhp_write(&regs, MEMHP_REG_CTRL, 1, MEMHP_CTL_EJECT);
	assert_int_equal(res.action, MEMHP_EJECT);
	assert_int_equal(res.slot, 1);
}

static void test_reset_keeps_dimms(void **state)
{
	struct rig *r = *state;

	assert_int_equal(memhp_plug(&r->h, 0, 1ULL << 32, 1ULL << 27, 0), 0);
	assert_int_equal(memhp_request_unplug(&r->h, 0), 0);
	out(r, MEMHP_REG_SEL, 4, 0);
	out(r, MEMHP_REG_OST_EV, 4, 3);
	memhp_reset(&r->h);
	assert_int_equal(r->h.regs.selector, 0);
	assert_int_equal(in(r, MEMHP_REG_STATUS, 1), MEMHP_ST_ENABLED);
	assert_int_equal(in(r, MEMHP_REG_SIZE_LO, 4), 1U << 27);
	assert_int_equal(memhp_slot_get(&r->h, 0).ost_event, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_rejects_bad_counts),
	    cmocka_unit_test_setup_teardown(test_plug_visible_in_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plug_rejects_bad_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eject_cycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ost_reports, setup, teardown),
	    cmocka_unit_test(test_ost_classification),
	    cmocka_unit_test_setup_teardown(test_selector_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_odd_widths_and_offsets, setup, teardown),
	    cmocka_unit_test(test_pure_read_write),
	    cmocka_unit_test_setup_teardown(test_reset_keeps_dimms, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
