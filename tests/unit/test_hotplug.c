/* Unit tests for mem/hotplug: granule slots, protection of unplugged memory, rollback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "mem/hotplug.h"

#define BLK (2 * MiB)

/* A fake machine: records slots, can be told to fail. */
static struct {
	unsigned int maps, unmaps, live, fail_map_after;
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

	hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false);
	hp_plug(&r, 0, 8 * BLK);
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
	hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, 4 * BLK, host, false);
	hp_plug(&r, 0, BLK);
	assert_int_equal(fk.live, 1);
	hp_get_stats(&r, &st);
	assert_int_equal(st.exposed_bytes, 3 * BLK);
	hp_plug(&r, BLK, 3 * BLK);
	assert_int_equal(fk.live, 1);
	hp_unplug(&r, 0, 3 * BLK);
	assert_int_equal(fk.live, 1);
	hp_unplug(&r, 3 * BLK, BLK);
	assert_int_equal(fk.live, 0);
	hp_destroy(&r);
}

static void test_access_to_unplugged(void **state)
{
	struct hp_region r;
	struct hp_stats st;
	uint64_t v = 0x1122334455667788ULL;

	hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false);
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

	hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, true);
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

	hp_init(&r, &fk_ops, 4 * GiB, 64 * BLK, BLK, BLK, host, false);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_granule_choice),
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
