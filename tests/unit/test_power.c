/* Unit tests for devices/power: ACPI sleep/reset register, i8042 reset, pvpanic. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "acpi/acpi.h"
#include "lib/util.h"
#include "devices/power.h"

struct fake_events {
	struct vm_events ev;
	enum vm_event log[16];
	unsigned int n;
};

static void fake_post(struct vm_events *e, enum vm_event ev)
{
	struct fake_events *f = container_of(e, struct fake_events, ev);

	assert_true(f->n < 16);
	f->log[f->n++] = ev;
}

/* Records interrupt line levels. */
struct fake_irq {
	struct irq_sink sink;
	unsigned int gsi[8];
	int level[8];
	unsigned int n;
};

static int fake_irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	struct fake_irq *f = container_of(s, struct fake_irq, sink);

	assert_true(f->n < 8);
	f->gsi[f->n] = gsi;
	f->level[f->n++] = level;
	return 0;
}

struct rig {
	struct bus pio;
	struct fake_events events;
	struct fake_irq irq;
	struct power p;
};

static int setup(void **state)
{
	static struct rig r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(bus_init(&r.pio), 0);
	r.events.ev.post = fake_post;
	r.irq.sink.set = fake_irq_set;
	assert_int_equal(power_init(&r.p, &r.pio, &r.events.ev, &r.irq.sink), 0);
	*state = &r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;

	power_destroy(&r->p, &r->pio);
	assert_int_equal(r->pio.nr, 0);
	bus_destroy(&r->pio);
	return 0;
}

static void out8(struct rig *r, uint16_t port, uint8_t v)
{
	assert_true(bus_write(&r->pio, port, &v, 1));
}

static uint8_t in8(struct rig *r, uint16_t port)
{
	uint8_t v = 0xEE;

	assert_true(bus_read(&r->pio, port, &v, 1));
	return v;
}

static void test_acpi_poweroff(void **state)
{
	struct rig *r = *state;

	/* Linux first writes WAK_STS to the sleep status register (same port). */
	out8(r, ACPI_PM_PORT, 0x80);
	assert_int_equal(r->events.n, 0);
	/* ((SLP_TYP 5 << 2) & 0x1C) | SLP_EN */
	out8(r, ACPI_PM_PORT, 0x34);
	assert_int_equal(r->events.n, 1);
	assert_int_equal(r->events.log[0], VM_EV_POWEROFF);
	assert_int_equal(in8(r, ACPI_PM_PORT), 0);
}

static void test_acpi_not_poweroff(void **state)
{
	static const uint8_t values[] = {0x14, 0x20, 0x24, 0x3C, 0x00, 0x02, 0xFF & ~0x20};
	struct rig *r = *state;
	unsigned int i;

	/* S5 without SLP_EN, SLP_EN with another sleep type: nothing happens. */
	for (i = 0; i < sizeof(values); i++)
		out8(r, ACPI_PM_PORT, values[i]);
	assert_int_equal(r->events.n, 0);
}

static void test_acpi_reset(void **state)
{
	struct rig *r = *state;

	out8(r, ACPI_PM_PORT, ACPI_RESET_VAL);
	assert_int_equal(r->events.n, 1);
	assert_int_equal(r->events.log[0], VM_EV_RESET);
}

static void test_i8042(void **state)
{
	struct rig *r = *state;

	/* kb_wait() polls for bit 1 (input buffer full) clear. */
	assert_int_equal(in8(r, 0x64) & 0x02, 0);
	assert_int_equal(in8(r, 0x60), 0);
	out8(r, 0x60, 0xFE); /* data port: not a command */
	out8(r, 0x64, 0xAD); /* another command */
	assert_int_equal(r->events.n, 0);
	out8(r, 0x64, 0xFE); /* pulse reset line */
	assert_int_equal(r->events.n, 1);
	assert_int_equal(r->events.log[0], VM_EV_RESET);
}

static void test_pvpanic(void **state)
{
	struct rig *r = *state;

	/* The driver ANDs its read with PANICKED|CRASH_LOADED and sends what is left. */
	assert_int_equal(in8(r, PVPANIC_PORT) & 0x01, 0x01);
	out8(r, PVPANIC_PORT, 0x00);
	assert_int_equal(r->events.n, 0);
	out8(r, PVPANIC_PORT, 0x01);
	assert_int_equal(r->events.n, 1);
	assert_int_equal(r->events.log[0], VM_EV_PANIC);
}

static void test_ports_claimed(void **state)
{
	struct rig *r = *state;
	struct power other;
	uint8_t v;

	/* Neighbours stay unclaimed. */
	assert_false(bus_read(&r->pio, ACPI_PM_PORT + 1, &v, 1));
	assert_int_equal(v, 0xFF);
	assert_false(bus_read(&r->pio, 0x65, &v, 1));
	assert_false(bus_read(&r->pio, PVPANIC_PORT + 1, &v, 1));
	assert_false(bus_read(&r->pio, 0x5F, &v, 1));
	/* A second set of power devices cannot claim the same ports... */
	assert_int_equal(power_init(&other, &r->pio, &r->events.ev, &r->irq.sink), -EBUSY);
	/* ...and its failure leaves the first one working. */
	assert_int_equal(r->pio.nr, 3);
	out8(r, ACPI_PM_PORT, 0x34);
	assert_int_equal(r->events.log[0], VM_EV_POWEROFF);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static void test_power_button_pulses_ged_line(void **state)
{
	struct rig *r = *state;

	power_button(&r->p);
	/* One edge on the GED's line; no lifecycle event: the guest decides. */
	assert_int_equal(r->irq.n, 2);
	assert_int_equal(r->irq.gsi[0], POWER_BUTTON_GSI);
	assert_int_equal(r->irq.level[0], 1);
	assert_int_equal(r->irq.level[1], 0);
	assert_int_equal(r->events.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_power_button_pulses_ged_line, setup, teardown),
	    T(test_acpi_poweroff),
	    T(test_acpi_not_poweroff),
	    T(test_acpi_reset),
	    T(test_i8042),
	    T(test_pvpanic),
	    T(test_ports_claimed),
	};

	return cmocka_run_group_tests_name("power", tests, NULL, NULL);
}
