/* Unit tests for mem/hostmem: host probes and the parallel populate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/util.h"
#include "mem/hostmem.h"

static void test_probes(void **state)
{
	uint64_t n = 0;
	char nodes[64];

	/* 3M pages exist nowhere. */
	assert_int_equal(hostmem_hugepages_free(3 * MiB, -1, &n), -ENOENT);
	assert_int_equal(hostmem_hugepages_free(3 * MiB, 0, &n), -ENOENT);
	if (hostmem_default_hugepage_size())
		assert_int_equal(hostmem_hugepages_free(hostmem_default_hugepage_size(), -1, &n),
				 0);
	hostmem_online_nodes(nodes, sizeof(nodes));
	assert_true(strlen(nodes) > 0);
	assert_null(strchr(nodes, '\n'));
}

static void test_populate_parallel(void **state)
{
	const uint64_t len = 130 * MiB;
	uint64_t done = 0, off = 1;
	uint8_t *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(hostmem_populate_parallel(p, len, 4096, true, "t", &done, &off), 0);
	assert_int_equal(done, len);
	assert_int_equal(off, 0);

	/* A hole in the second 64M piece: that piece fails, the others are done. */
	assert_int_equal(munmap(p + 100 * MiB, 4096), 0);
	done = 0;
	assert_int_equal(hostmem_populate_parallel(p, len, 4096, true, "t", &done, &off), -ENOMEM);
	assert_int_equal(off, 64 * MiB);
	assert_true(done <= len - 64 * MiB);
	munmap(p, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probes),
	    cmocka_unit_test(test_populate_parallel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
