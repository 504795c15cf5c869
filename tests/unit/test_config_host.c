/* Unit tests for config/host: the real probes, against this machine and a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/host.h"

static void test_hugepages_consistent(void **state)
{
	const struct config_host_ops *h = &config_host_real;
	uint64_t def = h->default_hugepage_size();

	/* Whatever the host offers by default, it lists in /sys too. */
	if (def)
		assert_true(h->hugepage_size_offered(def));
	assert_false(h->hugepage_size_offered(3ULL << 20));
	assert_false(h->hugepage_size_offered(0));
}

static void test_numa_nodes(void **state)
{
	const struct config_host_ops *h = &config_host_real;

	assert_false(h->numa_node_present(-1));
	assert_false(h->numa_node_present(1 << 20));
	if (access("/sys/devices/system/node/node0", F_OK) == 0)
		assert_true(h->numa_node_present(0));
}

static void test_check_file(void **state)
{
	const struct config_host_ops *h = &config_host_real;
	char dir[] = "/tmp/mv-config-XXXXXX", path[128], why[256];
	struct config_file_info fi;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	/* A directory: a temporary file goes there. */
	assert_int_equal(h->check_file(dir, &fi, why, sizeof(why)), 0);
	assert_true(fi.exists && fi.is_dir);
	assert_false(fi.hugetlbfs);
	/* A new name in an existing directory: created at start-up. */
	snprintf(path, sizeof(path), "%s/new", dir);
	assert_int_equal(h->check_file(path, &fi, why, sizeof(why)), 0);
	assert_false(fi.exists);
	/* An existing regular file. */
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(h->check_file(path, &fi, why, sizeof(why)), 0);
	assert_true(fi.exists && !fi.is_dir);
	unlink(path);
	/* A missing parent directory. */
	snprintf(path, sizeof(path), "%s/none/f", dir);
	assert_int_equal(h->check_file(path, &fi, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "parent directory"));
	assert_non_null(strstr(why, "/none does not exist"));
	/* Neither a regular file nor a directory. */
	assert_int_equal(h->check_file("/dev/null", &fi, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "not a regular file or directory");
	rmdir(dir);
}

static void test_set_and_restore(void **state)
{
	static const struct config_host_ops fake = {0};

	assert_ptr_equal(config_host(), &config_host_real);
	config_host_set(&fake);
	assert_ptr_equal(config_host(), &fake);
	config_host_set(NULL);
	assert_ptr_equal(config_host(), &config_host_real);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hugepages_consistent),
	    cmocka_unit_test(test_numa_nodes),
	    cmocka_unit_test(test_check_file),
	    cmocka_unit_test(test_set_and_restore),
	};

	return cmocka_run_group_tests_name("config_host", tests, NULL, NULL);
}
