/* Unit tests for mem/guest: the checked guest-memory map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "mem/guest.h"

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
	gmem_add(&m, 0x1000, 4096, host[0]);
	gmem_add(&m, 0x2000, 4096, host[1]);
	/* Adjacent in guest space but not in host space: must not be crossed. */
	assert_int_equal(gmem_read(&m, 0x1ffc, r, 8), -EFAULT);
	assert_int_equal(gmem_read(&m, 0xfff, r, 1), -EFAULT);
	assert_int_equal(gmem_read(&m, 0x3000, r, 1), -EFAULT);
	assert_int_equal(gmem_read(&m, UINT64_MAX - 2, r, 8), -EFAULT);
	assert_null(gmem_hva(&m, 0x1000, UINT64_MAX));
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
	gmem_add(&m, 0x10000, 0x4000, host[0]);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write_inside),
		cmocka_unit_test(test_refuses_outside_and_straddling),
		cmocka_unit_test(test_add_overlap_rejected),
		cmocka_unit_test(test_remove_splits),
	};

	return cmocka_run_group_tests_name("guest", tests, NULL, NULL);
}
