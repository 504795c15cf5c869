/* Unit tests for core/bus: overlap-checked registration and dispatch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/bus.h"
#include "lib/util.h"

/* Reads return id in every byte; accesses are recorded. */
struct rec {
	struct bus_dev d;
	uint8_t id;
	unsigned int reads, writes;
	uint64_t off;
	uint32_t len;
	uint8_t data[8];
};

static void rec_read(struct bus_dev *d, uint64_t off, void *data, uint32_t len)
{
	struct rec *r = container_of(d, struct rec, d);

	r->reads++;
	r->off = off;
	r->len = len;
	memset(data, r->id, len);
}

static void rec_write(struct bus_dev *d, uint64_t off, const void *data, uint32_t len)
{
	struct rec *r = container_of(d, struct rec, d);

	r->writes++;
	r->off = off;
	r->len = len;
	memcpy(r->data, data, len);
}

static const struct bus_dev_ops rec_ops = {
    .read = rec_read,
    .write = rec_write,
};

static void rec_init(struct rec *r, uint8_t id)
{
	memset(r, 0, sizeof(*r));
	r->d.ops = &rec_ops;
	r->d.name = "rec";
	r->id = id;
}

static void test_overlaps_rejected(void **state)
{
	struct rec a, b, c;
	struct bus bus;

	rec_init(&a, 1);
	rec_init(&b, 2);
	rec_init(&c, 3);
	assert_int_equal(bus_init(&bus), 0);
	assert_int_equal(bus_register(&bus, &a.d, 0x100, 0x10), 0);
	assert_int_equal(a.d.base, 0x100);
	assert_int_equal(a.d.len, 0x10);
	/* Touching is fine on either side. */
	assert_int_equal(bus_register(&bus, &b.d, 0x110, 0x10), 0);
	assert_int_equal(bus_register(&bus, &c.d, 0xF0, 0x10), 0);
	assert_int_equal(bus_unregister(&bus, &c.d), 0);
	/* One shared byte is an overlap, from below, above, inside or around. */
	assert_int_equal(bus_register(&bus, &c.d, 0xF0, 0x11), -EBUSY);
	assert_int_equal(bus_register(&bus, &c.d, 0x11F, 0x10), -EBUSY);
	assert_int_equal(bus_register(&bus, &c.d, 0x10F, 2), -EBUSY);
	assert_int_equal(bus_register(&bus, &c.d, 0x104, 4), -EBUSY);
	assert_int_equal(bus_register(&bus, &c.d, 0, 0x10000), -EBUSY);
	assert_int_equal(bus.nr, 2);
	/* Degenerate ranges. */
	assert_int_equal(bus_register(&bus, &c.d, 0x200, 0), -EINVAL);
	assert_int_equal(bus_register(&bus, &c.d, UINT64_MAX - 4, 0x10), -EINVAL);
	assert_int_equal(bus.nr, 2);
	assert_int_equal(bus_register(&bus, &c.d, UINT64_MAX - 0x10, 0x10), 0);
	bus_destroy(&bus);
}

static void test_dispatch_and_boundaries(void **state)
{
	struct rec a, b;
	struct bus bus;
	uint8_t v[8];

	rec_init(&a, 0xA1);
	rec_init(&b, 0xB2);
	bus_init(&bus);
	bus_register(&bus, &b.d, 0x2000, 0x100);
	bus_register(&bus, &a.d, 0x1000, 0x8);

	assert_true(bus_read(&bus, 0x1000, v, 1));
	assert_int_equal(v[0], 0xA1);
	assert_int_equal(a.off, 0);
	assert_true(bus_read(&bus, 0x1004, v, 4));
	assert_int_equal(a.off, 4);
	assert_int_equal(a.len, 4);
	assert_true(bus_read(&bus, 0x1000, v, 8)); /* exactly the whole device */
	assert_true(bus_read(&bus, 0x1007, v, 1)); /* last byte */
	assert_int_equal(a.off, 7);
	assert_int_equal(a.reads, 4);
	assert_true(bus_read(&bus, 0x20FC, v, 4));
	assert_int_equal(v[3], 0xB2);
	assert_int_equal(b.off, 0xFC);

	/* Unclaimed: all ones, nobody called. */
	memset(v, 0, sizeof(v));
	assert_false(bus_read(&bus, 0x1008, v, 4));
	assert_memory_equal(v, "\xFF\xFF\xFF\xFF\0\0\0\0", 8);
	assert_false(bus_read(&bus, 0xFFF, v, 1));
	assert_false(bus_read(&bus, 0x2100, v, 1));
	assert_false(bus_read(&bus, 0, v, 8));
	assert_memory_equal(v, "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8);
	assert_false(bus_read(&bus, UINT64_MAX, v, 1));
	assert_int_equal(a.reads, 4);
	assert_int_equal(b.reads, 1);

	/* Writes carry the data and the offset. */
	assert_true(bus_write(&bus, 0x1002, "\x11\x22", 2));
	assert_int_equal(a.writes, 1);
	assert_int_equal(a.off, 2);
	assert_int_equal(a.len, 2);
	assert_memory_equal(a.data, "\x11\x22", 2);
	assert_false(bus_write(&bus, 0x3000, "\x11", 1));
	bus_destroy(&bus);
}

static void test_straddling_refused(void **state)
{
	struct rec a, b;
	struct bus bus;
	uint8_t v[8];

	rec_init(&a, 1);
	rec_init(&b, 2);
	bus_init(&bus);
	bus_register(&bus, &a.d, 0x100, 0x10);
	bus_register(&bus, &b.d, 0x110, 0x10);
	/* Across the end of a device (into its neighbour, or into nothing). */
	memset(v, 0, sizeof(v));
	assert_false(bus_read(&bus, 0x10E, v, 4));
	assert_memory_equal(v, "\xFF\xFF\xFF\xFF", 4);
	assert_false(bus_write(&bus, 0x10C, "12345678", 8));
	assert_false(bus_read(&bus, 0x11F, v, 2));
	assert_false(bus_write(&bus, 0x11D, "1234", 4));
	assert_int_equal(a.reads + a.writes + b.reads + b.writes, 0);
	/* A device at the top of the address space: no wrap-around. */
	bus_unregister(&bus, &b.d);
	assert_int_equal(bus_register(&bus, &b.d, UINT64_MAX - 7, 7), 0);
	assert_true(bus_read(&bus, UINT64_MAX - 7, v, 4));
	assert_false(bus_read(&bus, UINT64_MAX - 3, v, 8));
	assert_int_equal(b.reads, 1);
	bus_destroy(&bus);
}

static void test_unregister(void **state)
{
	struct rec a, b;
	struct bus bus;
	uint8_t v;

	rec_init(&a, 1);
	rec_init(&b, 2);
	bus_init(&bus);
	bus_register(&bus, &a.d, 0x60, 5);
	assert_int_equal(bus_unregister(&bus, &b.d), -ENOENT);
	assert_int_equal(bus_unregister(&bus, &a.d), 0);
	assert_int_equal(bus.nr, 0);
	assert_false(bus_read(&bus, 0x60, &v, 1));
	assert_int_equal(bus_unregister(&bus, &a.d), -ENOENT);
	/* The range is free again. */
	assert_int_equal(bus_register(&bus, &b.d, 0x62, 1), 0);
	assert_true(bus_read(&bus, 0x62, &v, 1));
	assert_int_equal(v, 2);
	bus_destroy(&bus);
}

/* Many devices registered out of order: sorted insertion, growth, binary search. */
static void test_many_devices(void **state)
{
	static struct rec r[100];
	struct bus bus;
	unsigned int i;
	uint8_t v;

	bus_init(&bus);
	for (i = 0; i < 100; i++) {
		unsigned int k = (i * 37) % 100; /* a permutation of 0..99 */

		rec_init(&r[k], k);
		assert_int_equal(bus_register(&bus, &r[k].d, 0x1000 * (uint64_t)k, 0x10), 0);
	}
	assert_int_equal(bus.nr, 100);
	for (i = 1; i < bus.nr; i++)
		assert_true(bus.devs[i - 1]->base < bus.devs[i]->base);
	for (i = 0; i < 100; i++) {
		assert_true(bus_read(&bus, 0x1000 * (uint64_t)i + 0xF, &v, 1));
		assert_int_equal(v, i);
		assert_false(bus_read(&bus, 0x1000 * (uint64_t)i + 0x10, &v, 1));
		assert_int_equal(bus_register(&bus, &r[0].d, 0x1000 * (uint64_t)i + 8, 0x100),
				 -EBUSY);
	}
	/* Remove every other one; the rest still dispatch. */
	for (i = 0; i < 100; i += 2)
		assert_int_equal(bus_unregister(&bus, &r[i].d), 0);
	for (i = 0; i < 100; i++) {
		assert_int_equal(bus_read(&bus, 0x1000 * (uint64_t)i, &v, 1), i & 1);
		assert_int_equal(v, i & 1 ? i : 0xFF);
	}
	bus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overlaps_rejected),
	    cmocka_unit_test(test_dispatch_and_boundaries),
	    cmocka_unit_test(test_straddling_refused),
	    cmocka_unit_test(test_unregister),
	    cmocka_unit_test(test_many_devices),
	};

	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
