/*
 * Unit tests for mem/hotplug: plugged runs as extents (one slot each),
 * holds around replacing a slot the guest uses, the slot budget,
 * protection of unplugged memory, rollback. A fake KVM keeps which block
 * each slot maps and checks, on every slot change, that no block the guest
 * still holds goes missing outside a hold; after every request the checker
 * compares the fake's view with the region's.
 */
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

#define BLK	  (2 * MiB)
#define GPA	  (4 * GiB)
#define FK_SLOTS  8192
#define FK_BLOCKS (1u << 20)

/* A fake KVM: slots and the block each maps; can be told to fail. */
static struct {
	struct {
		uint64_t gpa, size;
		int live;
	} slot[FK_SLOTS];
	uint32_t *owner; /* per block: slot + 1, 0 when unmapped */
	unsigned int maps, unmaps, live, fail_map_after, unmap_calls, fail_unmap_at;
	unsigned int limit; /* slots KVM has (FK_SLOTS when 0) */
	int held, holds;
	/* The request in flight: its blocks may go missing without a hold. */
	uint64_t req_off, req_len;
	uint64_t populated, discarded;
	int fail_populate;
	int fail_map_once;  /* fail_map_after disarms after one failure */
	uint32_t slot_base; /* slot numbers reported start here */
} fk;

static uint64_t fk_blocks(const struct hp_region *r, uint64_t gpa)
{
	return (gpa - r->gpa) / r->block;
}

/* The region's bit, read directly: ops run under the region's lock. */
static bool fk_plugged(const struct hp_region *r, uint64_t b)
{
	return r->plugged[b / 64] >> (b % 64) & 1;
}

static int fk_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	unsigned int s, limit = fk.limit ? fk.limit : FK_SLOTS;
	uint64_t b;

	if (fk.fail_map_after && fk.maps >= fk.fail_map_after) {
		if (fk.fail_map_once)
			fk.fail_map_after = 0;
		return -ENOMEM;
	}
	assert_ptr_equal(hva, r->hva + (gpa - r->gpa));
	for (s = 0; s < limit && fk.slot[s].live; s++)
		;
	if (s == limit)
		return -ENOSPC;
	for (b = fk_blocks(r, gpa); b < fk_blocks(r, gpa + size); b++) {
		assert_int_equal(fk.owner[b], 0); /* slots never overlap */
		fk.owner[b] = s + 1;
	}
	fk.slot[s].gpa = gpa;
	fk.slot[s].size = size;
	fk.slot[s].live = 1;
	fk.maps++;
	fk.live++;
	*slot = s + fk.slot_base;
	return 0;
}

static int fk_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	unsigned int s = slot - fk.slot_base;
	uint64_t b;

	assert_true(s < FK_SLOTS && fk.slot[s].live);
	assert_int_equal(fk.slot[s].gpa, gpa);
	assert_int_equal(fk.slot[s].size, size);
	if (++fk.unmap_calls == fk.fail_unmap_at)
		return -ENOMEM; /* KVM_SET_USER_MEMORY_REGION can fail: the slot stays */
	for (b = fk_blocks(r, gpa); b < fk_blocks(r, gpa + size); b++) {
		uint64_t off = b * r->block;
		bool given_up = off >= fk.req_off && off < fk.req_off + fk.req_len;

		/* A block the guest holds leaves the guest only while the vCPUs are held. */
		if (!fk.held && !given_up && fk_plugged(r, b))
			fail_msg("block %llu (plugged) unmapped outside a hold",
				 (unsigned long long)b);
		fk.owner[b] = 0;
	}
	fk.slot[s].live = 0;
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
	uint64_t b;

	/* Never memory the guest reaches: it is unmapped first. */
	for (b = off / r->block; b < (off + len) / r->block; b++)
		assert_int_equal(fk.owner[b], 0);
	fk.discarded += len;
	return 0;
}

static void fk_hold(struct hp_region *r)
{
	assert_false(fk.held);
	fk.held = 1;
	fk.holds++;
}

static void fk_release(struct hp_region *r)
{
	assert_true(fk.held);
	fk.held = 0;
}

static const struct hp_ops fk_ops = {
    .map = fk_map,
    .unmap = fk_unmap,
    .populate = fk_populate,
    .discard = fk_discard,
    .hold = fk_hold,
    .release = fk_release,
};

static uint8_t *host;

static int setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	fk.owner = calloc(FK_BLOCKS, sizeof(*fk.owner));
	host = calloc(1, 64 * BLK);
	return host && fk.owner ? 0 : -1;
}

static int teardown(void **state)
{
	free(host);
	free(fk.owner);
	return 0;
}

static int plug(struct hp_region *r, uint64_t off, uint64_t len)
{
	fk.req_off = fk.req_len = 0;
	return hp_plug(r, off, len);
}

/* UNPLUG_ALL: the guest gives everything up. */
static int unplug_all(struct hp_region *r)
{
	int ret;

	fk.req_off = 0;
	fk.req_len = r->size;
	ret = hp_unplug_all(r);
	fk.req_off = fk.req_len = 0;
	return ret;
}

static int unplug(struct hp_region *r, uint64_t off, uint64_t len)
{
	int ret;

	fk.req_off = off;
	fk.req_len = len;
	ret = hp_unplug(r, off, len);
	fk.req_off = fk.req_len = 0;
	return ret;
}

/*
 * The fake's view agrees with the region's: an unplugged block is mapped by
 * no slot; a plugged one by the slot of the extent covering it, or by none
 * when it is lost (allowed only when the test injected a double failure);
 * extents sorted, disjoint, within the budget. Returns the lost blocks.
 */
static uint64_t check(struct hp_region *r)
{
	struct hp_stats st;
	uint64_t b, lost = 0, plugged = 0;
	uint32_t k = 0;

	assert_false(fk.held);
	for (b = 0; b < r->nblocks; b++) {
		uint64_t off = b * r->block;

		while (k < r->next && r->ext[k].off + r->ext[k].len <= off)
			k++;
		if (!hp_is_plugged(r, off)) {
			assert_int_equal(fk.owner[b], 0);
			assert_false(k < r->next && r->ext[k].off <= off);
			continue;
		}
		plugged++;
		if (k < r->next && r->ext[k].off <= off)
			assert_int_equal(fk.owner[b], r->ext[k].slot - fk.slot_base + 1);
		else
			lost++;
	}
	for (k = 1; k < r->next; k++)
		assert_true(r->ext[k - 1].off + r->ext[k - 1].len <= r->ext[k].off);
	hp_get_stats(r, &st);
	assert_int_equal(st.plugged_bytes, plugged * r->block);
	assert_int_equal(st.slots, r->next);
	assert_int_equal(r->next, fk.live);
	return lost;
}

static void test_plug_maps_one_slot_per_request(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	assert_int_equal(plug(&r, 0, 8 * BLK), 0);
	assert_int_equal(fk.live, 1);
	assert_true(hp_is_plugged(&r, 7 * BLK));
	assert_false(hp_is_plugged(&r, 8 * BLK));
	/* Adjacent: a slot of its own, no merge while slots last (no hold either). */
	assert_int_equal(plug(&r, 8 * BLK, 4 * BLK), 0);
	assert_int_equal(fk.live, 2);
	assert_int_equal(fk.holds, 0);
	/* Already plugged, misaligned, out of range, zero length. */
	assert_int_equal(plug(&r, 2 * BLK, 4 * BLK), -EEXIST);
	assert_int_equal(plug(&r, 20 * BLK + 4096, BLK), -EINVAL);
	assert_int_equal(plug(&r, 63 * BLK, 2 * BLK), -EINVAL);
	assert_int_equal(plug(&r, 20 * BLK, 0), -EINVAL);
	assert_int_equal(plug(&r, UINT64_MAX - BLK + 1, BLK), -EINVAL);
	hp_get_stats(&r, &st);
	assert_int_equal(st.plugged_bytes, 12 * BLK);
	assert_int_equal(st.slots, 2);
	assert_int_equal(st.slot_changes, 2);
	assert_int_equal(check(&r), 0);
	hp_destroy(&r);
}

static void test_unplug_whole_extent_needs_no_hold(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	assert_int_equal(plug(&r, 0, 4 * BLK), 0);
	assert_int_equal(plug(&r, 4 * BLK, 4 * BLK), 0);
	assert_int_equal(plug(&r, 8 * BLK, 4 * BLK), 0);
	/* Two whole extents in one request: both slots go, the guest gave it all up. */
	assert_int_equal(unplug(&r, 4 * BLK, 8 * BLK), 0);
	assert_int_equal(fk.holds, 0);
	assert_int_equal(fk.live, 1);
	assert_int_equal(fk.discarded, 8 * BLK);
	assert_int_equal(unplug(&r, 4 * BLK, BLK), -ENOENT);
	hp_get_stats(&r, &st);
	assert_int_equal(st.discarded_bytes, 8 * BLK);
	assert_int_equal(st.splits, 0);
	assert_int_equal(check(&r), 0);
	assert_int_equal(unplug_all(&r), 0);
	assert_int_equal(fk.live, 0);
	assert_int_equal(check(&r), 0);
	hp_destroy(&r);
}

static void test_partial_unplug_splits_under_hold(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	assert_int_equal(plug(&r, 0, 16 * BLK), 0);
	/* The end of an extent: it is replaced by what stays, under one hold. */
	assert_int_equal(unplug(&r, 12 * BLK, 4 * BLK), 0);
	assert_int_equal(fk.holds, 1);
	assert_int_equal(fk.live, 1);
	/* The middle: two pieces stay. */
	assert_int_equal(unplug(&r, 4 * BLK, 2 * BLK), 0);
	assert_int_equal(fk.holds, 2);
	assert_int_equal(fk.live, 2);
	/* Across two extents, taking part of each. */
	assert_int_equal(unplug(&r, 2 * BLK, 2 * BLK), 0);
	assert_int_equal(unplug(&r, 3 * BLK - BLK, 0), -EINVAL);
	assert_int_equal(plug(&r, 2 * BLK, 4 * BLK), 0);
	assert_int_equal(unplug(&r, BLK, 6 * BLK), 0);
	hp_get_stats(&r, &st);
	assert_int_equal(st.splits, 4);
	assert_int_equal(st.holds, fk.holds);
	assert_int_equal(check(&r), 0);
	assert_true(hp_is_plugged(&r, 0));
	assert_false(hp_is_plugged(&r, BLK));
	assert_true(hp_is_plugged(&r, 7 * BLK));
	hp_destroy(&r);
}

/* At the budget, neighbours merge (under a hold); past it, a request is refused whole. */
static void test_budget_merges_then_refuses(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 2, host, false), 0);
	assert_int_equal(plug(&r, 0, 4 * BLK), 0);
	assert_int_equal(plug(&r, 8 * BLK, 4 * BLK), 0);
	/* A third run with no neighbour and nothing to merge: refused, nothing changed. */
	assert_int_equal(plug(&r, 20 * BLK, BLK), -ENOSPC);
	assert_false(hp_is_plugged(&r, 20 * BLK));
	assert_int_equal(fk.live, 2);
	/* Next to the first: the first grows over it. */
	assert_int_equal(plug(&r, 4 * BLK, 2 * BLK), 0);
	assert_int_equal(fk.live, 2);
	assert_int_equal(fk.holds, 1);
	/* Bridging the gap: all three become one. */
	assert_int_equal(plug(&r, 6 * BLK, 2 * BLK), 0);
	assert_int_equal(fk.live, 1);
	/* A split needing a third slot: refused (BUSY) with the blocks kept. */
	assert_int_equal(plug(&r, 30 * BLK, BLK), 0);
	assert_int_equal(unplug(&r, 4 * BLK, BLK), -ENOSPC);
	assert_true(hp_is_plugged(&r, 4 * BLK));
	assert_int_equal(fk.discarded, 0);
	hp_get_stats(&r, &st);
	assert_int_equal(st.slots_refused, 2);
	assert_int_equal(st.merges, 3);
	assert_int_equal(check(&r), 0);
	hp_destroy(&r);
}

/* Out of slots, adjacent extents elsewhere merge to make room. */
static void test_compaction_frees_slots(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 3, host, false), 0);
	assert_int_equal(plug(&r, 0, 2 * BLK), 0);
	assert_int_equal(plug(&r, 2 * BLK, 2 * BLK), 0);
	assert_int_equal(plug(&r, 4 * BLK, 2 * BLK), 0);
	assert_int_equal(plug(&r, 20 * BLK, 2 * BLK), 0);
	assert_int_equal(fk.live, 2);
	hp_get_stats(&r, &st);
	assert_int_equal(st.merges, 2);
	assert_int_equal(check(&r), 0);
	/* KVM itself out of slots (other devices took them): the same way out. */
	hp_destroy(&r);
	memset(fk.owner, 0, FK_BLOCKS * sizeof(*fk.owner));
	memset(fk.slot, 0, sizeof(fk.slot));
	fk.live = 0;
	fk.limit = 2;
	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	assert_int_equal(plug(&r, 0, 2 * BLK), 0);
	assert_int_equal(plug(&r, 2 * BLK, 2 * BLK), 0);
	assert_int_equal(plug(&r, 10 * BLK, 2 * BLK), 0);
	assert_int_equal(fk.live, 2);
	assert_int_equal(plug(&r, 20 * BLK, 2 * BLK), -ENOSPC);
	assert_int_equal(check(&r), 0);
	hp_destroy(&r);
}

/* At a quiet point, touching extents become one slot; apart ones stay apart. */
static void test_settle_merges_runs(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	assert_int_equal(hp_settle(&r), 0);
	assert_int_equal(plug(&r, 0, 4 * BLK), 0);
	assert_int_equal(plug(&r, 4 * BLK, 4 * BLK), 0);
	assert_int_equal(plug(&r, 8 * BLK, 4 * BLK), 0);
	assert_int_equal(plug(&r, 20 * BLK, 2 * BLK), 0);
	assert_int_equal(plug(&r, 22 * BLK, 2 * BLK), 0);
	assert_int_equal(plug(&r, 40 * BLK, BLK), 0);
	assert_int_equal(fk.live, 6);
	assert_int_equal(fk.holds, 0);
	assert_int_equal(hp_settle(&r), 3);
	assert_int_equal(fk.live, 3);
	assert_int_equal(fk.holds, 1);
	assert_int_equal(check(&r), 0);
	/* Nothing touches any more: no hold, nothing freed. */
	assert_int_equal(hp_settle(&r), 0);
	assert_int_equal(fk.holds, 1);
	hp_get_stats(&r, &st);
	assert_int_equal(st.merges, 3);
	assert_int_equal(st.slots, 3);
	assert_true(hp_is_plugged(&r, 11 * BLK));
	assert_false(hp_is_plugged(&r, 12 * BLK));
	hp_destroy(&r);
}

static void test_access_to_unplugged(void **state)
{
	struct hp_region r;
	struct hp_stats st;
	uint64_t v = 0x1122334455667788ULL;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	host[5 * BLK] = 0xAB; /* stale data the guest must not see */
	assert_true(hp_access(&r, GPA + 5 * BLK, &v, 8, false));
	assert_int_equal(v, 0);
	v = 0xFFFF;
	assert_true(hp_access(&r, GPA + 5 * BLK, &v, 8, true));
	assert_int_equal(host[5 * BLK], 0xAB); /* the write was dropped */
	assert_false(hp_access(&r, GPA - 8, &v, 8, false));
	assert_false(hp_access(&r, GPA + 64 * BLK, &v, 8, false));
	hp_get_stats(&r, &st);
	assert_int_equal(st.unplugged_reads, 1);
	assert_int_equal(st.unplugged_writes, 1);
	hp_destroy(&r);
}

static void test_prealloc_failure_rolls_back(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, true), 0);
	fk.fail_populate = 1;
	assert_int_equal(plug(&r, 0, 4 * BLK), -ENOMEM);
	assert_int_equal(fk.live, 0);
	assert_false(hp_is_plugged(&r, 0));
	fk.fail_populate = 0;
	assert_int_equal(plug(&r, 0, 4 * BLK), 0);
	assert_int_equal(fk.populated, 4 * BLK);
	hp_get_stats(&r, &st);
	assert_int_equal(st.populate_failures, 1);
	hp_destroy(&r);
}

static void test_map_failure_rolls_back(void **state)
{
	struct hp_region r;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, true), 0);
	fk.fail_map_after = 1;
	assert_int_equal(plug(&r, 0, 4 * BLK), 0);
	assert_int_equal(plug(&r, 8 * BLK, 4 * BLK), -ENOMEM);
	assert_false(hp_is_plugged(&r, 8 * BLK));
	assert_int_equal(fk.discarded, 4 * BLK); /* the populated memory went back */
	/* A split whose second piece cannot be mapped: the extent comes back whole. */
	fk.fail_map_after = fk.maps + 1;
	fk.fail_map_once = 1;
	assert_int_equal(unplug(&r, 2 * BLK, BLK), -ENOMEM);
	assert_int_equal(fk.live, 1);
	for (int b = 0; b < 4; b++)
		assert_true(hp_is_plugged(&r, b * BLK));
	fk.fail_map_after = 0;
	assert_int_equal(check(&r), 0);
	hp_destroy(&r);
}

static void test_init_rejects_bad_geometry(void **state)
{
	struct hp_region r;

	assert_int_equal(hp_init(&r, &fk_ops, 0, 64 * BLK, 3 * MiB, 1, host, false), -EINVAL);
	assert_int_equal(hp_init(&r, &fk_ops, 0, 3 * MiB, BLK, 1, host, false), -EINVAL);
	assert_int_equal(hp_init(&r, &fk_ops, 0, 64 * BLK, BLK, 0, host, false), -EINVAL);
	assert_int_equal(hp_init(&r, &fk_ops, UINT64_MAX - BLK, 2 * BLK, BLK, 1, host, false),
			 -EINVAL);
	/* More slots than runs can exist is trimmed, not refused. */
	assert_int_equal(hp_init(&r, &fk_ops, 0, 4 * BLK, BLK, 1000, host, false), 0);
	assert_int_equal(r.max_slots, 2);
	hp_destroy(&r);
}

/* KVM refuses to remove a slot. */
static void test_unmap_failure_keeps_state(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	assert_int_equal(plug(&r, 0, 4 * BLK), 0);
	fk.fail_unmap_at = 1;
	assert_int_equal(unplug(&r, BLK, BLK), -ENOMEM);
	/* The slot, the block and its memory stay: nothing was discarded. */
	assert_true(hp_is_plugged(&r, BLK));
	assert_int_equal(fk.live, 1);
	assert_int_equal(fk.discarded, 0);
	hp_get_stats(&r, &st);
	assert_int_equal(st.unmap_failures, 1);
	assert_int_equal(st.discarded_bytes, 0);
	assert_int_equal(check(&r), 0);
	/* The guest retries (BUSY): now it works, and re-plugging works too. */
	assert_int_equal(unplug(&r, BLK, BLK), 0);
	assert_false(hp_is_plugged(&r, BLK));
	assert_int_equal(fk.live, 2);
	assert_int_equal(fk.discarded, BLK);
	assert_int_equal(plug(&r, BLK, BLK), 0);
	assert_int_equal(check(&r), 0);
	hp_destroy(&r);
}

static void test_unmap_failure_rolls_back_request(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(plug(&r, i * BLK, BLK), 0);
	/* Four slots to remove; the third refuses: the first two are mapped back. */
	fk.fail_unmap_at = fk.unmap_calls + 3;
	assert_int_equal(unplug(&r, 0, 4 * BLK), -ENOMEM);
	for (int b = 0; b < 4; b++)
		assert_true(hp_is_plugged(&r, b * BLK));
	assert_int_equal(fk.live, 4);
	assert_int_equal(fk.maps, 6);
	assert_int_equal(fk.discarded, 0);
	hp_get_stats(&r, &st);
	assert_int_equal(st.remap_failures, 0);
	assert_int_equal(check(&r), 0);
	assert_int_equal(unplug(&r, 0, 4 * BLK), 0);
	assert_int_equal(fk.live, 0);
	assert_int_equal(fk.discarded, 4 * BLK);
	hp_destroy(&r);
}

static void test_unmap_failure_with_failed_remap(void **state)
{
	struct hp_region r;
	struct hp_stats st;
	uint64_t v = 0;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	assert_int_equal(plug(&r, 0, BLK), 0);
	assert_int_equal(plug(&r, BLK, BLK), 0);
	memset(host, 0x5A, 8);
	fk.fail_unmap_at = 2;
	fk.fail_map_after = 2; /* mapping block 0 back fails too */
	assert_int_equal(unplug(&r, 0, 2 * BLK), -ENOMEM);
	assert_true(hp_is_plugged(&r, 0));
	assert_true(hp_is_plugged(&r, BLK));
	assert_int_equal(check(&r), 1); /* block 0 is lost */
	hp_get_stats(&r, &st);
	assert_int_equal(st.remap_failures, 1);
	assert_int_equal(fk.discarded, 0);
	/* The guest's plugged memory there is still its memory, served by hp_access. */
	assert_true(hp_access(&r, GPA, &v, 8, false));
	assert_int_equal(v, 0x5A5A5A5A5A5A5A5AULL);
	v = 0x1234;
	assert_true(hp_access(&r, GPA, &v, 8, true));
	assert_int_equal(host[0], 0x34);
	hp_get_stats(&r, &st);
	assert_int_equal(st.lost_accesses, 2);
	assert_int_equal(st.unplugged_reads + st.unplugged_writes, 0);
	/* The retry succeeds: block 0 needs no unmapping. */
	fk.fail_map_after = 0;
	assert_int_equal(unplug(&r, 0, 2 * BLK), 0);
	assert_int_equal(fk.live, 0);
	assert_int_equal(fk.discarded, 2 * BLK);
	assert_int_equal(check(&r), 0);
	hp_destroy(&r);
}

static void test_unplug_all_keeps_refused_extent(void **state)
{
	struct hp_region r;
	struct hp_stats st;

	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, 100, host, false), 0);
	assert_int_equal(plug(&r, 0, 4 * BLK), 0);
	assert_int_equal(plug(&r, 4 * BLK, 4 * BLK), 0);
	assert_int_equal(plug(&r, 8 * BLK, 4 * BLK), 0);
	fk.fail_unmap_at = 2;
	assert_int_equal(unplug_all(&r), -ENOMEM);
	assert_false(hp_is_plugged(&r, 0));
	for (int b = 4; b < 8; b++)
		assert_true(hp_is_plugged(&r, b * BLK));
	assert_false(hp_is_plugged(&r, 8 * BLK));
	assert_int_equal(fk.live, 1);
	/* Everything but the kept extent went back to the host. */
	assert_int_equal(fk.discarded, 60 * BLK);
	hp_get_stats(&r, &st);
	assert_int_equal(st.plugged_bytes, 4 * BLK);
	assert_int_equal(check(&r), 0);
	assert_int_equal(unplug_all(&r), 0);
	assert_int_equal(fk.live, 0);
	assert_int_equal(check(&r), 0);
	hp_destroy(&r);
}

static void test_share_slots(void **state)
{
	uint64_t sizes[3] = {4 * 1024 * GiB, 384 * MiB, 384 * MiB};
	uint32_t shares[3];

	assert_int_equal(hp_share_slots(sizes, 3, 32000, shares), 0);
	assert_true(shares[0] > 31000);
	assert_true(shares[1] >= 1 && shares[2] >= 1);
	assert_true((uint64_t)shares[0] + shares[1] + shares[2] <= 32000);
	assert_int_equal(hp_share_slots(sizes, 3, 3, shares), 0);
	assert_int_equal(shares[0] + shares[1] + shares[2], 3);
	assert_int_equal(hp_share_slots(sizes, 3, 2, shares), -ENOSPC);
}

/* Random requests, with a tight budget and injected KVM failures: the checker never objects. */
static void run_model(unsigned int seed, uint32_t max_slots, bool failures)
{
	struct hp_region r;
	unsigned int i, lost_ok = 0;

	srand(seed);
	assert_int_equal(hp_init(&r, &fk_ops, GPA, 64 * BLK, BLK, max_slots, host, false), 0);
	for (i = 0; i < 3000; i++) {
		uint64_t a = (uint64_t)(rand() % 64), n = (uint64_t)(rand() % 8) + 1, b;
		bool want = rand() % 2, before[64];
		int ret;

		if (a + n > 64)
			n = 64 - a;
		/* Shrink the range to blocks all in one state, as a driver asks. */
		want = hp_is_plugged(&r, a * BLK);
		for (b = a; b < a + n && hp_is_plugged(&r, b * BLK) == want; b++)
			;
		n = b - a;
		for (b = 0; b < 64; b++)
			before[b] = hp_is_plugged(&r, b * BLK);
		if (failures && rand() % 10 == 0)
			fk.fail_unmap_at = fk.unmap_calls + 1 + (unsigned int)(rand() % 3);
		if (failures && rand() % 10 == 0)
			fk.fail_map_after = fk.maps + (unsigned int)(rand() % 3);
		ret = want ? unplug(&r, a * BLK, n * BLK) : plug(&r, a * BLK, n * BLK);
		fk.fail_unmap_at = 0;
		fk.fail_map_after = 0;
		for (b = 0; b < 64; b++) {
			bool in = b >= a && b < a + n;
			bool expect = ret || !in ? before[b] : !want;

			assert_int_equal(hp_is_plugged(&r, b * BLK), expect);
		}
		if (check(&r))
			lost_ok = 1;
		if (!failures)
			assert_int_equal(lost_ok, 0);
		assert_true(r.next <= r.max_slots + (failures ? 2 : 0));
	}
	assert_int_equal(unplug_all(&r), 0);
	assert_int_equal(check(&r), 0);
	assert_int_equal(fk.live, 0);
	hp_destroy(&r);
}

static void test_model_random(void **state)
{
	for (unsigned int seed = 1; seed <= 4; seed++) {
		run_model(seed, 100, false);
		run_model(seed, 3, false);
		run_model(seed, 1, false);
		run_model(seed, 5, true);
	}
}

/*
 * Half plugged by 128 MiB requests, as the Linux driver makes them: 1 TiB in
 * 2 MiB blocks takes one slot per request within the budget (4096); with a
 * budget of 8 (16 GiB here, to keep the fake quick), the last extent grows
 * over each new request and the count stays at 8. Every unplugged block
 * stays unmapped either way.
 */
static void test_half_plugged_slot_counts(void **state)
{
	const uint64_t req = 128 * MiB;
	uint8_t *fake_hva = (uint8_t *)(uintptr_t)(1ULL << 46); /* never dereferenced */
	uint64_t sizes[2] = {1024 * GiB, 16 * GiB};
	uint32_t budgets[2] = {32000, 8}, expect[2] = {4096, 8};
	struct hp_region r;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    hp_init(&r, &fk_ops, GPA, sizes[i], BLK, budgets[i], fake_hva, false), 0);
		for (uint64_t off = 0; off < sizes[i] / 2; off += req)
			assert_int_equal(plug(&r, off, req), 0);
		assert_int_equal(r.next, expect[i]);
		assert_int_equal(check(&r), 0);
		assert_int_equal(unplug_all(&r), 0);
		assert_int_equal(fk.live, 0);
		hp_destroy(&r);
	}
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
	assert_int_equal(hp_init(&r, &fk_ops, GPA, 4 * BLK, BLK, 2, host, false), 0);
	assert_int_equal(trace_setup("slot", path, NULL, 0), 0);
	fk.slot_base = 7;
	assert_int_equal(plug(&r, BLK, BLK), 0);
	fk.fail_unmap_at = 1;
	assert_int_equal(unplug(&r, BLK, BLK), -ENOMEM);
	assert_int_equal(unplug(&r, BLK, BLK), 0);
	assert_int_equal(trace_setup(NULL, NULL, NULL, 0), 0);
	assert_int_equal(plug(&r, 0, BLK), 0); /* off: not traced */
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
	assert_non_null(strstr(text, " slot discard off=0x200000 size=0x200000 us="));
	/* Exactly four lines: map, refused unmap, unmap, discard. */
	assert_int_equal(
	    strchr(strchr(strchr(strchr(text, '\n') + 1, '\n') + 1, '\n') + 1, '\n')[1], '\0');
	assert_null(strstr(text, "gpa=0x100000000"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_plug_maps_one_slot_per_request),
	    T(test_unplug_whole_extent_needs_no_hold),
	    T(test_partial_unplug_splits_under_hold),
	    T(test_budget_merges_then_refuses),
	    T(test_compaction_frees_slots),
	    T(test_settle_merges_runs),
	    T(test_access_to_unplugged),
	    T(test_prealloc_failure_rolls_back),
	    T(test_map_failure_rolls_back),
	    T(test_init_rejects_bad_geometry),
	    T(test_unmap_failure_keeps_state),
	    T(test_unmap_failure_rolls_back_request),
	    T(test_unmap_failure_with_failed_remap),
	    T(test_unplug_all_keeps_refused_extent),
	    cmocka_unit_test(test_share_slots),
	    T(test_model_random),
	    T(test_half_plugged_slot_counts),
	    T(test_trace_slots),
	};
#undef T

	return cmocka_run_group_tests_name("hotplug", tests, NULL, NULL);
}
