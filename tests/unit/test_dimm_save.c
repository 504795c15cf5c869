/*
 * Unit tests for mem/dimm_save: the "dimms" section round-trips, and a
 * section that does not fit this VM or breaks an invariant (area, slots,
 * overlap, object sizes, truncation at every length, trailing bytes) is
 * refused with the set unchanged.
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

#include "mem/dimm_save.h"

#define M (1ULL << 20)
#define G (1ULL << 30)

static struct dimm_set *set_new(uint64_t area, unsigned int slots)
{
	struct dimm_set *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_int_equal(dimm_set_init(s, 4 * G, area, slots, 2), 0);
	assert_int_equal(dimm_set_boot_id(s, "mem0"), 0);
	return s;
}

static void plug(struct dimm_set *s, const char *id, const char *obj, uint64_t size,
		 enum dimm_backend kind, long node)
{
	struct dimm_object_req r = {.id = obj,
				    .kind = kind,
				    .size = size,
				    .path = kind == DIMM_BACKEND_FILE ? "/tmp" : NULL};
	struct dimm_error e = {0};
	struct dimm_plan p;

	assert_int_equal(dimm_object_add(s, &r, &e), 0);
	if (!id)
		return;
	assert_int_equal(dimm_plug_check(s, id, obj, node, &p, &e), 0);
	dimm_plug_commit(s, id, &p);
}

static struct dimm_set *populated(void)
{
	struct dimm_set *s = set_new(8 * G, 8);
	unsigned int slot;
	struct dimm_error e = {0};

	plug(s, "d1", "m1", G, DIMM_BACKEND_RAM, 0);
	plug(s, "d2", "m2", 512 * M, DIMM_BACKEND_FILE, 1);
	plug(s, "d3", "m3", 256 * M, DIMM_BACKEND_MEMFD, -1);
	plug(s, NULL, "spare", 128 * M, DIMM_BACKEND_RAM, 0);
	assert_int_equal(dimm_unplug_request(s, "d2", &slot, &e), 0);
	assert_int_equal(dimm_ejected(s, 2), 0);
	return s;
}

static void save(const struct dimm_set *s, struct mv_state_writer *w)
{
	mv_sw_init(w);
	dimm_save(s, w);
	assert_int_equal(mv_sw_error(w), 0);
}

static int load(struct dimm_set *s, const void *p, size_t len, char *err, size_t errlen)
{
	struct mv_state_section sec;
	int ret = mv_state_find(p, len, DIMM_STATE_NAME, &sec, err, errlen);

	return ret ? ret : dimm_load(s, &sec, err, errlen);
}

static void test_round_trip(void **state)
{
	struct dimm_set *a = populated(), *b = set_new(8 * G, 8);
	struct mv_state_writer w;
	char err[256];

	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_memory_equal(a, b, sizeof(*a));
	/* And the loaded set works on: a new DIMM goes where the old ones leave room. */
	plug(b, "d4", "m4", 128 * M, DIMM_BACKEND_RAM, 0);
	assert_int_equal(b->dimms[3].addr, 4 * G + G + 512 * M + 256 * M);
	mv_sw_free(&w);
	free(a);
	free(b);
}

static void test_other_vm_refused(void **state)
{
	struct dimm_set *a = populated(), *b = set_new(4 * G, 8), *c = set_new(8 * G, 4);
	struct dimm_set *copy = malloc(sizeof(*copy));
	struct mv_state_writer w;
	char err[256];

	assert_non_null(copy);
	save(a, &w);
	memcpy(copy, b, sizeof(*b));
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "dimms: the DIMM area or slot count differs"));
	assert_memory_equal(copy, b, sizeof(*b));
	assert_int_equal(load(c, w.buf, w.len, err, sizeof(err)), -EINVAL);
	/* Fewer nodes: d2 is on node 1. */
	{
		struct dimm_set *d = calloc(1, sizeof(*d));

		assert_non_null(d);
		assert_int_equal(dimm_set_init(d, 4 * G, 8 * G, 8, 1), 0);
		assert_int_equal(load(d, w.buf, w.len, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "NUMA node"));
		free(d);
	}
	mv_sw_free(&w);
	free(a);
	free(b);
	free(c);
	free(copy);
}

static void test_truncated_and_trailing(void **state)
{
	struct dimm_set *a = populated(), *b = set_new(8 * G, 8);
	struct dimm_set *empty = set_new(8 * G, 8);
	struct mv_state_writer w, w2;
	char err[256];

	save(a, &w);
	/* Rewrite the section with its payload cut at every length. */
	for (size_t cut = 0; cut < w.len; cut++) {
		struct mv_state_section sec;
		struct mv_state_reader r;

		assert_int_equal(
		    mv_state_find(w.buf, w.len, DIMM_STATE_NAME, &sec, err, sizeof(err)), 0);
		if (cut >= sec.payload.len)
			break;
		mv_sw_init(&w2);
		mv_sw_begin(&w2, DIMM_STATE_NAME, DIMM_STATE_VERSION);
		r = sec.payload;
		mv_sw_bytes(&w2, r.p, cut);
		mv_sw_end(&w2);
		assert_int_equal(load(b, w2.buf, w2.len, err, sizeof(err)), -EINVAL);
		assert_memory_equal(b, empty, sizeof(*b));
		mv_sw_free(&w2);
	}
	/* One byte too many. */
	{
		struct mv_state_section sec;

		assert_int_equal(
		    mv_state_find(w.buf, w.len, DIMM_STATE_NAME, &sec, err, sizeof(err)), 0);
		mv_sw_init(&w2);
		mv_sw_begin(&w2, DIMM_STATE_NAME, DIMM_STATE_VERSION);
		mv_sw_bytes(&w2, sec.payload.p, sec.payload.len);
		mv_sw_u8(&w2, 0);
		mv_sw_end(&w2);
		assert_int_equal(load(b, w2.buf, w2.len, err, sizeof(err)), -EINVAL);
		assert_memory_equal(b, empty, sizeof(*b));
		mv_sw_free(&w2);
	}
	mv_sw_free(&w);
	free(a);
	free(b);
	free(empty);
}

/* Tampered images: each breaks one invariant and is refused. */
static void test_invariants(void **state)
{
	struct dimm_set *a, *b = set_new(8 * G, 8);
	struct mv_state_writer w;
	char err[256];

	a = populated();
	a->dimms[1].addr = a->dimms[0].addr; /* overlap */
	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "overlap"));
	mv_sw_free(&w);
	free(a);

	a = populated();
	a->dimms[0].size = 2 * G; /* object is 1G */
	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	mv_sw_free(&w);
	free(a);

	a = populated();
	a->dimms[0].addr = 4 * G + 8 * G; /* outside the area */
	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "outside"));
	mv_sw_free(&w);
	free(a);

	a = populated();
	a->dimms[1].object = a->dimms[0].object; /* one object, two DIMMs */
	a->dimms[1].size = a->dimms[0].size;
	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	mv_sw_free(&w);
	free(a);

	a = populated();
	snprintf(a->dimms[1].id, sizeof(a->dimms[1].id), "d1"); /* duplicate id */
	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	mv_sw_free(&w);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_other_vm_refused),
	    cmocka_unit_test(test_truncated_and_trailing),
	    cmocka_unit_test(test_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
