/* Unit tests for core/guest: the checked guest-memory map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/guest.h"

static uint8_t host[4][0x4000];

static void test_read_write_inside(void **state)
{
	struct gmem m;
	uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8}, r[8];

	assert_int_equal(gmem_init(&m), 0);
	assert_int_equal(gmem_add(&m, 0x1000, 4096, host[0]), 0);
	assert_int_equal(gmem_write(&m, 0x1ff8, b, 8), 0);
	assert_int_equal(gmem_read(&m, 0x1ff8, r, 8), 0);
	assert_memory_equal(b, r, 8);
	assert_memory_equal(&host[0][4088], b, 8);
	gmem_destroy(&m);
}

static void test_refuses_outside_and_straddling(void **state)
{
	struct gmem m;
	uint8_t r[8];

	gmem_init(&m);
	assert_int_equal(gmem_add(&m, 0x1000, 4096, host[0]), 0);
	assert_int_equal(gmem_add(&m, 0x2000, 4096, host[1]), 0);
	/* Adjacent in guest space, apart in host space: copied piece by piece. */
	host[0][0xffc] = 0x11;
	host[1][0] = 0x22;
	assert_int_equal(gmem_read(&m, 0x1ffc, r, 8), 0);
	assert_int_equal(r[0], 0x11);
	assert_int_equal(r[4], 0x22);
	/* A hole anywhere in the span refuses the whole access. */
	assert_int_equal(gmem_read(&m, 0x2ffc, r, 8), -EFAULT);
	assert_int_equal(gmem_check(&m, 0x2ffc, 8), -EFAULT);
	assert_int_equal(gmem_read(&m, 0xfff, r, 1), -EFAULT);
	assert_int_equal(gmem_read(&m, 0x3000, r, 1), -EFAULT);
	assert_int_equal(gmem_read(&m, UINT64_MAX - 2, r, 8), -EFAULT);
	assert_int_equal(gmem_check(&m, 0x1000, UINT64_MAX), -EFAULT);
	gmem_destroy(&m);
}

/* One rule: valid iff every byte is mapped, however many ranges it spans. */
static void test_check_spans_ranges(void **state)
{
	struct gmem m;
	uint8_t w[0x3000], r[0x3000];
	unsigned int i;

	gmem_init(&m);
	/* Added out of order; three in a row, then a hole, then one more. */
	assert_int_equal(gmem_add(&m, 0x3000, 0x1000, host[2]), 0);
	assert_int_equal(gmem_add(&m, 0x1000, 0x1000, host[0]), 0);
	assert_int_equal(gmem_add(&m, 0x2000, 0x1000, host[1]), 0);
	assert_int_equal(gmem_add(&m, 0x5000, 0x1000, host[3]), 0);
	assert_int_equal(gmem_check(&m, 0x1000, 0x3000), 0);
	assert_int_equal(gmem_check(&m, 0x1800, 0x2000), 0);
	assert_int_equal(gmem_check(&m, 0x3fff, 1), 0);
	assert_int_equal(gmem_check(&m, 0x1234, 0), 0);
	/* One byte beyond, before, or into the hole. */
	assert_int_equal(gmem_check(&m, 0x1000, 0x3001), -EFAULT);
	assert_int_equal(gmem_check(&m, 0xfff, 0x10), -EFAULT);
	assert_int_equal(gmem_check(&m, 0x3ff0, 0x1020), -EFAULT);
	assert_int_equal(gmem_check(&m, 0x4000, 1), -EFAULT);
	assert_int_equal(gmem_check(&m, UINT64_MAX, 2), -EFAULT);
	/* A copy across both seams lands in three host buffers, in order. */
	for (i = 0; i < sizeof(w); i++)
		w[i] = i * 13 + (i >> 8);
	assert_int_equal(gmem_write(&m, 0x1000, w, sizeof(w)), 0);
	assert_memory_equal(host[0], w, 0x1000);
	assert_memory_equal(host[1], w + 0x1000, 0x1000);
	assert_memory_equal(host[2], w + 0x2000, 0x1000);
	assert_int_equal(gmem_read(&m, 0x1000, r, sizeof(r)), 0);
	assert_memory_equal(r, w, sizeof(r));
	/* Refused as a whole: nothing is written before the hole. */
	memset(w, 0xEE, sizeof(w));
	assert_int_equal(gmem_write(&m, 0x3800, w, 0x1000), -EFAULT);
	assert_int_not_equal(host[2][0x800], 0xEE);
	/* Unplugging the middle granule splits the span. */
	assert_int_equal(gmem_remove(&m, 0x2000, 0x1000), 0);
	assert_int_equal(gmem_check(&m, 0x1800, 0x1000), -EFAULT);
	assert_int_equal(gmem_check(&m, 0x1000, 0x1000), 0);
	gmem_destroy(&m);
}

static void test_add_overlap_rejected(void **state)
{
	struct gmem m;

	gmem_init(&m);
	assert_int_equal(gmem_add(&m, 0x1000, 0x2000, host[0]), 0);
	assert_int_equal(gmem_add(&m, 0x2000, 0x1000, host[1]), -EEXIST);
	assert_int_equal(gmem_add(&m, 0x0, 0x1001, host[1]), -EEXIST);
	assert_int_equal(gmem_add(&m, 0x0, 0, host[1]), -EINVAL);
	assert_int_equal(gmem_add(&m, 0x3000, 0x1000, host[1]), 0);
	assert_int_equal(m.nr, 2);
	gmem_destroy(&m);
}

static void test_remove_splits(void **state)
{
	struct gmem m;
	uint8_t r;

	gmem_init(&m);
	assert_int_equal(gmem_add(&m, 0x10000, 0x4000, host[0]), 0);
	host[0][0x3000 + 5] = 0xab;
	assert_int_equal(gmem_remove(&m, 0x11000, 0x2000), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(gmem_read(&m, 0x11000, &r, 1), -EFAULT);
	assert_int_equal(gmem_read(&m, 0x12fff, &r, 1), -EFAULT);
	assert_int_equal(gmem_read(&m, 0x13005, &r, 1), 0);
	assert_int_equal(r, 0xab);
	/* Remove across both pieces and beyond: only unmapped space remains. */
	assert_int_equal(gmem_remove(&m, 0x0, 0x20000), 0);
	assert_int_equal(m.nr, 0);
	assert_int_equal(gmem_remove(&m, 0x1000, UINT64_MAX), -EINVAL);
	gmem_destroy(&m);
}

/*
 * A live snapshot's view of device writes (KVM's dirty log does not see
 * them): every page a gmem_write touches, a span across a page boundary
 * counting both, handed out once and cleared; reads, refused writes and
 * writes before start or after stop mark nothing.
 */
static void test_track_device_writes(void **state)
{
	struct gmem m;
	uint8_t b[16] = {1};
	uint64_t bits[2];

	assert_int_equal(gmem_init(&m), 0);
	assert_int_equal(gmem_add(&m, 0x10000, 0x4000, host[0]), 0);
	assert_int_equal(gmem_write(&m, 0x10000, b, 1), 0); /* before start: not seen */
	assert_int_equal(gmem_track_start(&m, 0x100000), 0);
	assert_int_equal(gmem_write(&m, 0x11ff8, b, 16), 0); /* pages 0x11 and 0x12 */
	assert_int_equal(gmem_write(&m, 0x13000, b, 1), 0);
	assert_int_equal(gmem_read(&m, 0x10000, b, 16), 0);
	assert_int_equal(gmem_write(&m, 0x13ff8, b, 16), -EFAULT); /* refused: not a write */

	memset(bits, 0, sizeof(bits));
	gmem_track_take(&m, 0x10000, 4, bits);
	assert_int_equal(bits[0], 0xe); /* pages 1, 2, 3 of the range */
	memset(bits, 0, sizeof(bits));
	gmem_track_take(&m, 0x10000, 4, bits);
	assert_int_equal(bits[0], 0); /* taken once */

	/* A range not at a 64-page boundary, and ORed into what is there. */
	assert_int_equal(gmem_write(&m, 0x12000, b, 1), 0);
	bits[0] = 1;
	gmem_track_take(&m, 0x11000, 3, bits);
	assert_int_equal(bits[0], 0x3);

	gmem_track_stop(&m);
	assert_null(m.track);
	assert_int_equal(gmem_write(&m, 0x12000, b, 1), 0);
	memset(bits, 0, sizeof(bits));
	gmem_track_take(&m, 0x10000, 4, bits);
	assert_int_equal(bits[0], 0);
	gmem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_write_inside),
	    cmocka_unit_test(test_refuses_outside_and_straddling),
	    cmocka_unit_test(test_check_spans_ranges),
	    cmocka_unit_test(test_add_overlap_rejected),
	    cmocka_unit_test(test_remove_splits),
	    cmocka_unit_test(test_track_device_writes),
	};

	return cmocka_run_group_tests_name("guest", tests, NULL, NULL);
}
