/*
 * Unit tests for mem/dimm: object-add / device_add / device_del bookkeeping,
 * each bad request refused with QEMU's error class and nothing changed, the
 * eject life cycle, _OST refusals, and the resize plan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem/dimm.h"

#define M      (1ULL << 20)
#define G      (1ULL << 30)
#define AREA   (8 * G)
#define BASE   (4 * G)
#define NSLOTS 4

static struct dimm_set *set_new(void)
{
	struct dimm_set *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_int_equal(dimm_set_init(s, BASE, AREA, NSLOTS, 2), 0);
	assert_int_equal(dimm_set_boot_id(s, "mem0"), 0);
	return s;
}

static void obj(struct dimm_set *s, const char *id, uint64_t size)
{
	struct dimm_object_req r = {.id = id, .kind = DIMM_BACKEND_RAM, .size = size};
	struct dimm_error e = {0};

	assert_int_equal(dimm_object_add(s, &r, &e), 0);
}

static unsigned int plug(struct dimm_set *s, const char *id, const char *memdev, long node)
{
	struct dimm_plan p;
	struct dimm_error e = {0};

	if (dimm_plug_check(s, id, memdev, node, &p, &e))
		fail_msg("plug %s refused: %s", id, e.desc);
	dimm_plug_commit(s, id, &p);
	return p.slot;
}

/* The request is refused with class cls, a message containing want, and s unchanged. */
static void expect_plug_refused(struct dimm_set *s, const char *id, const char *memdev, long node,
				enum dimm_err cls, const char *want)
{
	struct dimm_set *before = malloc(sizeof(*before));
	struct dimm_error e = {0};
	struct dimm_plan p;

	assert_non_null(before);
	memcpy(before, s, sizeof(*s));
	assert_true(dimm_plug_check(s, id, memdev, node, &p, &e) < 0);
	assert_int_equal(e.cls, cls);
	if (!strstr(e.desc, want))
		fail_msg("'%s' lacks '%s'", e.desc, want);
	assert_memory_equal(before, s, sizeof(*s));
	free(before);
}

static void test_object_add_and_del(void **state)
{
	struct dimm_set *s = set_new();
	struct dimm_error e = {0};
	struct dimm_object_req r = {.id = "m1", .kind = DIMM_BACKEND_FILE, .size = G};

	assert_int_equal(dimm_object_add(s, &r, &e), -EINVAL);
	assert_string_equal(e.desc, "Parameter 'mem-path' is missing");
	r.path = "/dev/shm";
	assert_int_equal(dimm_object_add(s, &r, &e), 0);
	assert_int_equal(dimm_object_add(s, &r, &e), -EINVAL);
	assert_int_equal(e.cls, DIMM_ERR_GENERIC);
	assert_non_null(strstr(e.desc, "duplicate property 'm1'"));
	r.id = "mem0"; /* the boot RAM's id */
	assert_int_equal(dimm_object_add(s, &r, &e), -EINVAL);
	r.id = "9bad";
	assert_int_equal(dimm_object_add(s, &r, &e), -EINVAL);
	r = (struct dimm_object_req){.id = "m2", .kind = DIMM_BACKEND_RAM, .size = 0};
	assert_int_equal(dimm_object_add(s, &r, &e), -EINVAL);
	r = (struct dimm_object_req){.id = "m2", .kind = DIMM_BACKEND_MEMFD, .size = G};
	assert_int_equal(dimm_object_add(s, &r, &e), 0);
	assert_true(s->objects[dimm_object_find(s, "m2")].share);
	assert_int_equal(dimm_object_del(s, "nope", &e), -EINVAL);
	assert_string_equal(e.desc, "object 'nope' not found");
	plug(s, "d1", "m1", 0);
	assert_int_equal(dimm_object_del(s, "m1", &e), -EINVAL);
	assert_string_equal(e.desc, "object 'm1' is in use, can not be deleted");
	assert_int_equal(dimm_object_del(s, "m2", &e), 0);
	assert_int_equal(dimm_object_find(s, "m2"), -1);
	free(s);
}

static void test_plug_addresses_first_fit(void **state)
{
	struct dimm_set *s = set_new();
	unsigned int a, b;

	obj(s, "m1", G);
	obj(s, "m2", 512 * M);
	a = plug(s, "d1", "m1", -1);
	b = plug(s, "d2", "m2", 1);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(s->dimms[0].addr, BASE);
	assert_int_equal(s->dimms[1].addr, BASE + G);
	assert_int_equal(s->dimms[1].node, 1);
	assert_int_equal(s->dimms[0].node, 0);
	assert_int_equal(dimm_plugged_bytes(s), G + 512 * M);
	free(s);
}

static void test_bad_plugs_change_nothing(void **state)
{
	struct dimm_set *s = set_new();

	obj(s, "m1", G);
	obj(s, "odd", 100 * M);
	obj(s, "huge", AREA + G);
	expect_plug_refused(s, "d1", "nope", 0, DIMM_ERR_GENERIC,
			    "Property 'pc-dimm.memdev' can't find value 'nope'");
	expect_plug_refused(s, "d1", "odd", 0, DIMM_ERR_GENERIC, "is not a multiple of 128M");
	expect_plug_refused(s, "d1", "huge", 0, DIMM_ERR_GENERIC, "not enough space");
	expect_plug_refused(s, "d1", "m1", 2, DIMM_ERR_GENERIC, "exceeds the number of numa nodes");
	expect_plug_refused(s, "d1", NULL, 0, DIMM_ERR_GENERIC, "'memdev' property is not set");
	expect_plug_refused(s, "mem0", "m1", 0, DIMM_ERR_GENERIC, "Duplicate device ID 'mem0'");
	plug(s, "d1", "m1", 0);
	expect_plug_refused(s, "d2", "m1", 0, DIMM_ERR_GENERIC,
			    "can't use already busy memdev: m1");
	expect_plug_refused(s, "d1", "odd", 0, DIMM_ERR_GENERIC, "Duplicate device ID 'd1'");
	free(s);
}

static void test_no_free_slot(void **state)
{
	struct dimm_set *s = set_new();
	char id[8], mid[8];

	for (unsigned int i = 0; i < NSLOTS; i++) {
		snprintf(mid, sizeof(mid), "m%u", i);
		snprintf(id, sizeof(id), "d%u", i);
		obj(s, mid, 128 * M);
		plug(s, id, mid, 0);
	}
	obj(s, "more", 128 * M);
	expect_plug_refused(s, "dx", "more", 0, DIMM_ERR_GENERIC, "no free slots left");
	free(s);
}

static void test_unplug_cycle_and_refusals(void **state)
{
	struct dimm_set *s = set_new();
	struct dimm_error e = {0};
	unsigned int slot;

	assert_int_equal(dimm_unplug_request(s, "mem0", &slot, &e), -EINVAL);
	assert_int_equal(e.cls, DIMM_ERR_GENERIC);
	assert_non_null(strstr(e.desc, "boot RAM"));
	assert_int_equal(dimm_unplug_request(s, "ghost", &slot, &e), -ENOENT);
	assert_int_equal(e.cls, DIMM_ERR_NOT_FOUND);
	assert_string_equal(e.desc, "Device 'ghost' not found");
	obj(s, "m1", G);
	plug(s, "d1", "m1", 0);
	assert_int_equal(dimm_unplug_request(s, "d1", &slot, &e), 0);
	assert_int_equal(s->dimms[slot].state, DIMM_UNPLUGGING);
	/* The guest refuses (device busy): the DIMM stays, plugged. */
	assert_true(dimm_ost(s, slot, 0x003, 0x82));
	assert_int_equal(s->dimms[slot].state, DIMM_PLUGGED);
	assert_false(dimm_ost(s, slot, 0x001, 0x00)); /* a device-check report is no refusal */
	assert_int_equal(dimm_unplug_request(s, "d1", &slot, &e), 0);
	assert_int_equal(dimm_ejected(s, slot), 0);
	assert_int_equal(dimm_unplug_request(s, "d1", &slot, &e), -EINVAL);
	assert_non_null(strstr(e.desc, "being removed"));
	/* Its range and memdev stay taken until the host released the memory. */
	obj(s, "m2", G);
	{
		struct dimm_plan p;

		assert_int_equal(dimm_plug_check(s, "d2", "m2", 0, &p, &e), 0);
		assert_int_equal(p.addr, BASE + G);
		assert_int_not_equal(p.slot, slot);
	}
	assert_int_equal(dimm_released(s, slot), 0);
	assert_int_equal(dimm_released(s, slot), -ENOENT);
	assert_int_equal(dimm_ejected(s, slot), -ENOENT);
	assert_int_equal(dimm_find(s, "d1"), -1);
	assert_int_equal(s->objects[dimm_object_find(s, "m1")].slot, -1);
	plug(s, "d1", "m1", 0); /* the memdev can be used again */
	/* An object resize made for its DIMM goes with it. */
	obj(s, "auto", G);
	s->objects[dimm_object_find(s, "auto")].autodel = true;
	slot = plug(s, "da", "auto", 0);
	assert_int_equal(dimm_ejected(s, slot), 0);
	assert_int_equal(dimm_released(s, slot), 0);
	assert_int_equal(dimm_object_find(s, "auto"), -1);
	assert_true(dimm_object_find(s, "m1") >= 0);
	free(s);
}

static void test_resize_plan(void **state)
{
	struct dimm_set *s = set_new();
	struct dimm_error e = {0};
	unsigned int rm[NSLOTS], n;
	uint64_t grow;

	assert_int_equal(dimm_resize_plan(s, G, 3 * G, &grow, rm, &n, &e), 0);
	assert_int_equal(grow, 2 * G);
	assert_int_equal(n, 0);
	assert_int_equal(dimm_resize_plan(s, G, G + 100 * M, &grow, rm, &n, &e), -EINVAL);
	assert_non_null(strstr(e.desc, "multiple of 128M"));
	assert_int_equal(dimm_resize_plan(s, G, 512 * M, &grow, rm, &n, &e), -EINVAL);
	assert_int_equal(dimm_resize_plan(s, G, 10 * G, &grow, rm, &n, &e), -EINVAL);
	assert_non_null(strstr(e.desc, "no room"));
	obj(s, "a", G);
	obj(s, "b", 512 * M);
	obj(s, "c", 512 * M);
	plug(s, "da", "a", 0);
	plug(s, "db", "b", 0);
	plug(s, "dc", "c", 0);
	/* 3G in all: down to 2G removes the two newest (512M each). */
	assert_int_equal(dimm_resize_plan(s, G, 2 * G, &grow, rm, &n, &e), 0);
	assert_int_equal(grow, 0);
	assert_int_equal(n, 2);
	assert_int_equal(rm[0], 2);
	assert_int_equal(rm[1], 1);
	/* 2.5G: the newest is 512M, fine; down to 1.5G: 512+512 then 1G > 512M left. */
	assert_int_equal(dimm_resize_plan(s, G, 1536 * M, &grow, rm, &n, &e), -EINVAL);
	assert_non_null(strstr(e.desc, "do not add up"));
	assert_int_equal(dimm_resize_plan(s, G, G, &grow, rm, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(dimm_resize_plan(s, G, 3 * G, &grow, rm, &n, &e), 0);
	assert_int_equal(grow + n, 0);
	free(s);
}

static void test_init_checks(void **state)
{
	struct dimm_set *s = calloc(1, sizeof(*s));
	struct dimm_error e = {0};
	struct dimm_plan p;

	assert_non_null(s);
	assert_int_equal(dimm_set_init(s, BASE, AREA, DIMM_MAX_SLOTS + 1, 1), -EINVAL);
	assert_int_equal(dimm_set_init(s, BASE + 1, AREA, 4, 1), -EINVAL);
	assert_int_equal(dimm_set_init(s, 0, 0, 0, 1), 0);
	obj(s, "m1", G);
	assert_int_equal(dimm_plug_check(s, "d1", "m1", 0, &p, &e), -EINVAL);
	assert_non_null(strstr(e.desc, "hotplug_size"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_object_add_and_del),
	    cmocka_unit_test(test_plug_addresses_first_fit),
	    cmocka_unit_test(test_bad_plugs_change_nothing),
	    cmocka_unit_test(test_no_free_slot),
	    cmocka_unit_test(test_unplug_cycle_and_refusals),
	    cmocka_unit_test(test_resize_plan),
	    cmocka_unit_test(test_init_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
