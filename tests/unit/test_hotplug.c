/* Unit tests for mem/hotplug: granule slots, protection of unplugged memory, rollback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "lib/trace.h"
#include "mem/hotplug.h"

#define BLK (2 * MiB)

/* A fake machine: records slots, can be told to fail. */
static struct {
	unsigned int maps, unmaps, live, fail_map_after;
	unsigned int unmap_calls,
	    fail_unmap_at; /* fail the fail_unmap_at'th unmap call (1-based) */
	uint32_t next_slot;
	uint64_t populated, discarded;
	int fail_populate;
} fk;

static int fk_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	if (fk.fail_map_after && fk.maps >= fk.fail_map_after)
		return -ENOSPC;
	assert_ptr_equal(hva, r->hva + (gpa - r->gpa));
	fk.maps++;
	fk.live++;
	*slot = fk.next_slot++;
	return 0;
}

static int fk_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	if (++fk.unmap_calls == fk.fail_unmap_at)
		return -ENOMEM; /* KVM_SET_USER_MEMORY_REGION can fail: the slot stays */
	fk.unmaps++;
	fk.live--;
	return 0;
}

static int fk_populate(struct hp_region *r, uint64_t off, uint64_t len)
{
	if (fk.fail_populate)
		return -ENOMEM;
	fk.populated += len;
	return 0;
}

static int fk_discard(struct hp_region *r, uint64_t off, uint64_t len)
{
	fk.discarded += len;
	return 0;
}

static const struct hp_ops fk_ops = {
    .map = fk_map,
    .unmap = fk_unmap,
    .populate = fk_populate,
    .discard = fk_discard,
};

static uint8_t *host;

static int setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	host = calloc(1, 64 * BLK);
	return host ? 0 : -1;
}

static int teardown(void **state)
{
	free(host);
	return 0;
}

static void test_granule_choice(void **state)
{
	assert_int_equal(hp_granule_for(32 * GiB, BLK, 32000), BLK);
	assert_int_equal(hp_granule_for(256 * GiB, BLK, 32000), 16 * MiB);
	assert_int_equal(hp_granule_for(1 * GiB, BLK, 1), 1 * GiB);
	/*
	 * Issue 21 item 13: the granule always divides the region, even when
	 * the slots are too few (384M on 1 or 2 slots got 256M, which hp_init
	 * refuses): then the fewest slots possible.
	 */
	for (uint64_t slots = 1; slots <= 4; slots++) {
		struct hp_region r;
		uint64_t g = hp_granule_for(384 * MiB, BLK, slots);

		if (!g || 384 * MiB % g)
			fail_msg("384M on %llu slots: granule %llu does not divide it",
				 (unsigned long long)slots, (unsigned long long)g);
		assert_int_equal(g, 128 * MiB);
		assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 384 * MiB, BLK, g, NULL, false), 0);
		hp_destroy(&r);
	}
	assert_int_equal(hp_granule_for(384 * MiB, BLK, 6), 64 * MiB);
	assert_int_equal(hp_granule_for(384 * MiB, BLK, 1000), BLK);
	assert_int_equal(hp_min_slots(384 * MiB, BLK), 3);
	assert_int_equal(hp_min_slots(2 * GiB, BLK), 1);
	assert_int_equal(hp_min_slots(3 * MiB, BLK), UINT64_MAX);
	assert_int_equal(hp_granule_for(3 * MiB, BLK, 8), 0);
}

static void test_plug_maps_block_slots(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false), 0);
	assert_int_equal(hp_plug(&r, 0, 4 * BLK), 0);
	assert_int_equal(fk.live, 4);
	assert_true(hp_is_plugged(&r, 3 * BLK));
	assert_false(hp_is_plugged(&r, 4 * BLK));
	/* Already plugged, misaligned, out of range, zero length. */
	assert_int_equal(hp_plug(&r, 2 * BLK, 4 * BLK), -EEXIST);
	assert_int_equal(hp_plug(&r, 4 * BLK + 4096, BLK), -EINVAL);
	assert_int_equal(hp_plug(&r, 63 * BLK, 2 * BLK), -EINVAL);
	assert_int_equal(hp_plug(&r, 8 * BLK, 0), -EINVAL);
	assert_int_equal(hp_plug(&r, UINT64_MAX - BLK + 1, BLK), -EINVAL);
	hp_get_stats(&r, &st);
	assert_int_equal(st.plugged_bytes, 4 * BLK);
	assert_int_equal(st.slots, 4);
	assert_int_equal(st.exposed_bytes, 0);
	hp_destroy(&r);
}

static void test_unplug_unmaps_and_discards(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false), 0);
	assert_int_equal(hp_plug(&r, 0, 8 * BLK), 0);
	assert_int_equal(hp_unplug(&r, 2 * BLK, 2 * BLK), 0);
	assert_int_equal(fk.live, 6);
	assert_int_equal(fk.discarded, 2 * BLK);
	assert_int_equal(hp_unplug(&r, 2 * BLK, BLK), -ENOENT);
	hp_get_stats(&r, &st);
	assert_int_equal(st.plugged_bytes, 6 * BLK);
	assert_int_equal(st.discarded_bytes, 2 * BLK);
	assert_int_equal(hp_unplug_all(&r), 0);
	assert_int_equal(fk.live, 0);
	hp_get_stats(&r, &st);
	assert_int_equal(st.plugged_bytes, 0);
	hp_destroy(&r);
}

static void test_large_granule_exposes_partial(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	/* 4 blocks per granule: a granule stays mapped while any block in it is plugged. */
	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, 4 * BLK, host, false), 0);
	assert_int_equal(hp_plug(&r, 0, BLK), 0);
	assert_int_equal(fk.live, 1);
	hp_get_stats(&r, &st);
	assert_int_equal(st.exposed_bytes, 3 * BLK);
	assert_int_equal(hp_plug(&r, BLK, 3 * BLK), 0);
	assert_int_equal(fk.live, 1);
	assert_int_equal(hp_unplug(&r, 0, 3 * BLK), 0);
	assert_int_equal(fk.live, 1);
	assert_int_equal(hp_unplug(&r, 3 * BLK, BLK), 0);
	assert_int_equal(fk.live, 0);
	hp_destroy(&r);
}

static void test_access_to_unplugged(void **state)
{
	struct hp_region r;
	struct hp_stats st;
	uint64_t v = 0x1122334455667788ULL;

	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false), 0);
	host[5 * BLK] = 0xAB; /* stale data the guest must not see */
	assert_true(hp_access(&r, 4 * GiB + 5 * BLK, &v, 8, false));
	assert_int_equal(v, 0);
	v = 0xFFFF;
	assert_true(hp_access(&r, 4 * GiB + 5 * BLK, &v, 8, true));
	assert_int_equal(host[5 * BLK], 0xAB); /* the write was dropped */
	assert_false(hp_access(&r, 4 * GiB - 8, &v, 8, false));
	assert_false(hp_access(&r, 4 * GiB + 64 * BLK, &v, 8, false));
	hp_get_stats(&r, &st);
	assert_int_equal(st.unplugged_reads, 1);
	assert_int_equal(st.unplugged_writes, 1);
	hp_destroy(&r);
}

static void test_prealloc_failure_rolls_back(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, true), 0);
	fk.fail_populate = 1;
	assert_int_equal(hp_plug(&r, 0, 4 * BLK), -ENOMEM);
	assert_int_equal(fk.live, 0);
	assert_false(hp_is_plugged(&r, 0));
	fk.fail_populate = 0;
	assert_int_equal(hp_plug(&r, 0, 4 * BLK), 0);
	assert_int_equal(fk.populated, 4 * BLK);
	hp_get_stats(&r, &st);
	assert_int_equal(st.populate_failures, 1);
	hp_destroy(&r);
}

static void test_slot_exhaustion_rolls_back(void **state)
{
	struct hp_region r;

	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false), 0);
	fk.fail_map_after = 3;
	assert_int_equal(hp_plug(&r, 0, 4 * BLK), -ENOSPC);
	assert_int_equal(fk.live, 0);
	assert_false(hp_is_plugged(&r, 0));
	hp_destroy(&r);
}

static void test_init_rejects_bad_geometry(void **state)
{
	struct hp_region r;

	assert_int_equal(hp_init(&r, &fk_ops, 0, 64 * BLK, 3 * MiB, 3 * MiB, host, false), -EINVAL);
	assert_int_equal(hp_init(&r, &fk_ops, 0, 64 * BLK, BLK, MiB, host, false), -EINVAL);
	assert_int_equal(hp_init(&r, &fk_ops, 0, 3 * BLK, BLK, 2 * BLK, host, false), -EINVAL);
	assert_int_equal(hp_init(&r, &fk_ops, UINT64_MAX - BLK, 2 * BLK, BLK, BLK, host, false),
			 -EINVAL);
}

/* Issue 21 item 5: KVM refuses to remove a slot. */
static void test_unmap_failure_keeps_state(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false), 0);
	assert_int_equal(hp_plug(&r, 0, 4 * BLK), 0);
	fk.fail_unmap_at = 1;
	assert_int_equal(hp_unplug(&r, BLK, BLK), -ENOMEM);
	/* The slot, the block and its memory stay: nothing was discarded. */
	assert_true(hp_is_plugged(&r, BLK));
	assert_int_equal(fk.live, 4);
	assert_int_equal(fk.discarded, 0);
	hp_get_stats(&r, &st);
	assert_int_equal(st.plugged_bytes, 4 * BLK);
	assert_int_equal(st.slots, 4);
	assert_int_equal(st.exposed_bytes, 0);
	assert_int_equal(st.unmap_failures, 1);
	assert_int_equal(st.discarded_bytes, 0);
	/* The guest retries (BUSY): now it works, and re-plugging works too. */
	assert_int_equal(hp_unplug(&r, BLK, BLK), 0);
	assert_false(hp_is_plugged(&r, BLK));
	assert_int_equal(fk.live, 3);
	assert_int_equal(fk.discarded, BLK);
	assert_int_equal(hp_plug(&r, BLK, BLK), 0);
	assert_int_equal(fk.live, 4);
	hp_get_stats(&r, &st);
	assert_int_equal(st.slots, 4);
	assert_int_equal(st.plugged_bytes, 4 * BLK);
	hp_destroy(&r);
}

static void test_unmap_failure_rolls_back_request(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false), 0);
	assert_int_equal(hp_plug(&r, 0, 4 * BLK), 0);
	/* Four granules to remove; the third refuses: the first two are mapped back. */
	fk.fail_unmap_at = 3;
	assert_int_equal(hp_unplug(&r, 0, 4 * BLK), -ENOMEM);
	for (int b = 0; b < 4; b++)
		assert_true(hp_is_plugged(&r, b * BLK));
	assert_int_equal(fk.live, 4);
	assert_int_equal(fk.maps, 6);
	assert_int_equal(fk.discarded, 0);
	hp_get_stats(&r, &st);
	assert_int_equal(st.plugged_bytes, 4 * BLK);
	assert_int_equal(st.slots, 4);
	assert_int_equal(st.exposed_bytes, 0);
	assert_int_equal(st.remap_failures, 0);
	assert_int_equal(hp_unplug(&r, 0, 4 * BLK), 0);
	assert_int_equal(fk.live, 0);
	assert_int_equal(fk.discarded, 4 * BLK);
	hp_destroy(&r);
}

static void test_unmap_failure_with_failed_remap(void **state)
{
	struct hp_region r;
	struct hp_stats st;
	uint64_t v = 0;

	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false), 0);
	assert_int_equal(hp_plug(&r, 0, 2 * BLK), 0);
	memset(host, 0x5A, 8);
	fk.fail_unmap_at = 2;
	fk.fail_map_after = 2; /* mapping granule 0 back fails too */
	assert_int_equal(hp_unplug(&r, 0, 2 * BLK), -ENOMEM);
	assert_true(hp_is_plugged(&r, 0));
	assert_true(hp_is_plugged(&r, BLK));
	hp_get_stats(&r, &st);
	assert_int_equal(st.remap_failures, 1);
	assert_int_equal(st.plugged_bytes, 2 * BLK);
	assert_int_equal(fk.discarded, 0);
	/* The guest's plugged memory there is still its memory, served by hp_access. */
	assert_true(hp_access(&r, 4 * GiB, &v, 8, false));
	assert_int_equal(v, 0x5A5A5A5A5A5A5A5AULL);
	v = 0x1234;
	assert_true(hp_access(&r, 4 * GiB, &v, 8, true));
	assert_int_equal(host[0], 0x34);
	hp_get_stats(&r, &st);
	assert_int_equal(st.lost_accesses, 2);
	assert_int_equal(st.unplugged_reads + st.unplugged_writes, 0);
	/* The retry succeeds: granule 0 needs no unmapping. */
	fk.fail_map_after = 0;
	assert_int_equal(hp_unplug(&r, 0, 2 * BLK), 0);
	assert_int_equal(fk.live, 0);
	assert_int_equal(fk.discarded, 2 * BLK);
	hp_get_stats(&r, &st);
	assert_int_equal(st.slots, 0);
	assert_int_equal(st.exposed_bytes, 0);
	assert_int_equal(st.plugged_bytes, 0);
	hp_destroy(&r);
}

static void test_unplug_all_keeps_refused_granule(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, 4 * BLK, host, false), 0);
	assert_int_equal(hp_plug(&r, 0, 12 * BLK), 0);
	fk.fail_unmap_at = 2;
	assert_int_equal(hp_unplug_all(&r), -ENOMEM);
	assert_false(hp_is_plugged(&r, 0));
	for (int b = 4; b < 8; b++)
		assert_true(hp_is_plugged(&r, b * BLK));
	assert_false(hp_is_plugged(&r, 8 * BLK));
	assert_int_equal(fk.live, 1);
	/* Everything but the kept granule went back to the host. */
	assert_int_equal(fk.discarded, 60 * BLK);
	hp_get_stats(&r, &st);
	assert_int_equal(st.plugged_bytes, 4 * BLK);
	assert_int_equal(st.slots, 1);
	assert_int_equal(st.exposed_bytes, 0);
	assert_int_equal(hp_unplug_all(&r), 0);
	assert_int_equal(fk.live, 0);
	hp_get_stats(&r, &st);
	assert_int_equal(st.plugged_bytes, 0);
	hp_destroy(&r);
}

/* Every region's share of the slots is at least what a dividing granule needs. */
static void test_plan_granules(void **state)
{
	uint64_t sizes[31], blocks[31], gran[31], used = 0;
	struct hp_region r;
	unsigned int i;

	/* A huge zone next to a 384M one: by size alone the small one got 2 slots. */
	sizes[0] = 4 * 1024 * GiB;
	sizes[1] = 384 * MiB;
	blocks[0] = blocks[1] = BLK;
	assert_int_equal(hp_plan_granules(sizes, blocks, 2, 32700 - 64, gran), 0);
	assert_int_equal(gran[1], 128 * MiB);
	for (i = 0; i < 30; i++) {
		sizes[i] =
		    (i % 3 + 1) * 384 * MiB; /* 384M, 768M, 1152M: 3, 3 and 9 slots at least */
		blocks[i] = i % 2 ? BLK : 4 * MiB;
	}
	sizes[30] = 4 * 1024 * GiB;
	blocks[30] = BLK;
	assert_int_equal(hp_plan_granules(sizes, blocks, 31, 200, gran), 0);
	for (i = 0; i < 31; i++) {
		assert_int_equal(
		    hp_init(&r, &fk_ops, 4 * GiB, sizes[i], blocks[i], gran[i], NULL, false), 0);
		hp_destroy(&r);
		used += sizes[i] / gran[i];
	}
	assert_true(used <= 200);
	/* 10 x (3 + 3 + 9) + 1 = 151 slots at least. */
	assert_int_equal(hp_plan_granules(sizes, blocks, 31, 151, gran), 0);
	assert_int_equal(hp_plan_granules(sizes, blocks, 31, 150, gran), -ENOSPC);
	blocks[3] = 3 * MiB;
	assert_int_equal(hp_plan_granules(sizes, blocks, 31, 1000, gran), -EINVAL);
}

/* MEMVISOR_TRACE=slot: one line per slot change, with the slot, gpa, size, time and result. */
static void test_trace_slots(void **state)
{
	char path[] = "/tmp/mv-slot-trace-XXXXXX", text[4096];
	struct hp_region r;
	int fd = mkstemp(path);
	ssize_t n;
	unsigned int us;

	assert_true(fd >= 0);
	assert_int_equal(hp_init(&r, &fk_ops, 4 * GiB, 4 * BLK, BLK, BLK, host, false), 0);
	assert_int_equal(trace_setup("slot", path, NULL, 0), 0);
	fk.next_slot = 7;
	assert_int_equal(hp_plug(&r, BLK, BLK), 0);
	fk.fail_unmap_at = 1;
	assert_int_equal(hp_unplug(&r, BLK, BLK), -ENOMEM);
	assert_int_equal(hp_unplug(&r, BLK, BLK), 0);
	assert_int_equal(trace_setup(NULL, NULL, NULL, 0), 0);
	assert_int_equal(hp_plug(&r, 0, BLK), 0); /* off: not traced */
	hp_destroy(&r);

	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	text[n] = '\0';
	assert_non_null(strstr(text, " slot map slot=7 gpa=0x100200000 size=0x200000 us="));
	assert_non_null(strstr(text, " slot unmap slot=7 gpa=0x100200000 size=0x200000 us=") &&
			strstr(strstr(text, " slot unmap slot=7"), "ret=-12\n"));
	assert_int_equal(
	    sscanf(strstr(text, " map slot=7"), " map slot=7 gpa=%*x size=%*x us=%u", &us), 1);
	assert_true(us < 1000000);
	/* Exactly three lines: map, refused unmap, unmap. */
	assert_int_equal(strchr(strchr(strchr(text, '\n') + 1, '\n') + 1, '\n')[1], '\0');
	assert_null(strstr(text, "gpa=0x100000000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unmap_failure_keeps_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unmap_failure_rolls_back_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unmap_failure_with_failed_remap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unplug_all_keeps_refused_granule, setup, teardown),
	    cmocka_unit_test(test_granule_choice),
	    cmocka_unit_test_setup_teardown(test_trace_slots, setup, teardown),
	    cmocka_unit_test(test_plan_granules),
	    cmocka_unit_test_setup_teardown(test_plug_maps_block_slots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unplug_unmaps_and_discards, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_granule_exposes_partial, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access_to_unplugged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prealloc_failure_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slot_exhaustion_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_init_rejects_bad_geometry, setup, teardown),
	};

	return cmocka_run_group_tests_name("hotplug", tests, NULL, NULL);
}
