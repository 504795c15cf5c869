/*
 * Unit tests for mem/hotplug's exposed_bytes, kept up to date per block
 * (bench/ops found the per-request recount slow): after any sequence of
 * plugs, unplugs, failed maps and unplug-all it equals a recount.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "core/util.h"
#include "mem/hotplug.h"

#define BLK    (2 * MiB)
#define GRAN   (8 * BLK)
#define NBLK   64
#define REGION (NBLK * BLK)

static unsigned int maps, fail_every;
static uint32_t next_slot;

static int ex_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	if (fail_every && ++maps % fail_every == 0)
		return -ENOSPC;
	*slot = next_slot++;
	return 0;
}

static int ex_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	return 0;
}

static int ex_discard(struct hp_region *r, uint64_t off, uint64_t len)
{
	return 0;
}

static const struct hp_ops ex_ops = {.map = ex_map, .unmap = ex_unmap, .discard = ex_discard};

/* What hp_exposed used to compute: unplugged blocks in mapped granules. */
static uint64_t recount(struct hp_region *r)
{
	uint64_t g, b, n = 0;

	for (g = 0; g < r->ngranules; g++) {
		if (r->slot[g] == HP_NO_SLOT)
			continue;
		for (b = g * GRAN; b < (g + 1) * GRAN; b += BLK)
			n += !hp_is_plugged(r, b);
	}
	return n * BLK;
}

static void check(struct hp_region *r)
{
	struct hp_stats st;

	hp_get_stats(r, &st);
	assert_int_equal(st.exposed_bytes, recount(r));
}

static void test_exposed_matches_recount(void **state)
{
	struct hp_region r;
	unsigned int i, b, n;
	uint64_t off;

	srand(7);
	assert_int_equal(hp_init(&r, &ex_ops, 4 * GiB, REGION, BLK, GRAN, (void *)0x1000, false),
			 0);
	check(&r);
	for (i = 0; i < 4000; i++) {
		fail_every = i % 3 == 0 ? 3 : 0;
		b = (unsigned int)rand() % NBLK;
		n = 1 + (unsigned int)rand() % (NBLK - b < 20 ? NBLK - b : 20);
		off = (uint64_t)b * BLK;
		if (rand() % 2)
			hp_plug(&r, off, (uint64_t)n * BLK); /* fails unless all unplugged */
		else
			hp_unplug(&r, off, (uint64_t)n * BLK); /* fails unless all plugged */
		check(&r);
		if (i % 500 == 499) {
			assert_int_equal(hp_unplug_all(&r), 0);
			check(&r);
		}
	}
	hp_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exposed_matches_recount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
