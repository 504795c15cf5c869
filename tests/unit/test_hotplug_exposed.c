/*
 * Unit tests for mem/hotplug's exposed_bytes, kept up to date per block
 * (bench/ops found the per-request recount slow): after any sequence of
 * plugs, unplugs, failed maps, refused unmaps and unplug-all it equals a
 * recount, and a failed request changes no block (issue 21 item 5).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lib/util.h"
#include "mem/hotplug.h"

#define BLK    (2 * MiB)
#define GRAN   (8 * BLK)
#define NBLK   64
#define REGION (NBLK * BLK)

static unsigned int maps, fail_every, unmaps, unmap_fail_every;
static uint32_t next_slot;

/* Slots the fake KVM holds, by slot number. */
#define MAX_FAKE_SLOTS 65536
static bool live[MAX_FAKE_SLOTS];

static int ex_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	if (fail_every && ++maps % fail_every == 0)
		return -ENOSPC;
	assert_true(next_slot < MAX_FAKE_SLOTS);
	live[next_slot] = true;
	*slot = next_slot++;
	return 0;
}

static int ex_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	if (unmap_fail_every && ++unmaps % unmap_fail_every == 0)
		return -EBUSY;
	assert_true(live[slot]);
	live[slot] = false;
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

/* What the guest was told: blocks of requests that succeeded. */
static bool model[NBLK];

static void check(struct hp_region *r)
{
	struct hp_stats st;
	uint64_t plugged = 0;

	hp_get_stats(r, &st);
	assert_int_equal(st.exposed_bytes, recount(r));
	for (unsigned int b = 0; b < NBLK; b++) {
		if (hp_is_plugged(r, (uint64_t)b * BLK) != model[b])
			fail_msg("block %u: plugged %d, the guest was told %d", b, !model[b],
				 model[b]);
		plugged += model[b] ? BLK : 0;
	}
	assert_int_equal(st.plugged_bytes, plugged);
	/* The region's slots are exactly the ones KVM holds: none leaked, none forgotten. */
	uint64_t held = 0, in_use = 0;

	for (uint32_t i = 0; i < next_slot; i++)
		held += live[i];
	for (uint64_t g = 0; g < r->ngranules; g++)
		if (r->slot[g] != HP_NO_SLOT) {
			assert_true(live[r->slot[g]]);
			in_use++;
		}
	assert_int_equal(held, in_use);
	assert_int_equal(st.slots, in_use);
}

static void model_set(unsigned int b, unsigned int n, bool on)
{
	while (n--)
		model[b++] = on;
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
		unmap_fail_every = i % 5 == 0 ? 2 : 0;
		b = (unsigned int)rand() % NBLK;
		n = 1 + (unsigned int)rand() % (NBLK - b < 20 ? NBLK - b : 20);
		off = (uint64_t)b * BLK;
		/* Plug fails unless all unplugged, unplug unless all plugged, or on a refusal. */
		if (rand() % 2) {
			if (hp_plug(&r, off, (uint64_t)n * BLK) == 0)
				model_set(b, n, true);
		} else if (hp_unplug(&r, off, (uint64_t)n * BLK) == 0) {
			model_set(b, n, false);
		}
		check(&r);
		if (i % 500 == 499) {
			unmap_fail_every = 0;
			fail_every = 0;
			assert_int_equal(hp_unplug_all(&r), 0);
			model_set(0, NBLK, false);
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
