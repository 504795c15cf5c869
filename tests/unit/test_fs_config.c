/* Unit tests for --fs: parsing, defaults, and refusals naming the option and key. */
#include "test_config_util.h"

#define SHARED "--memory size=1G,shared=on "

static void test_fs_ok(void **state)
{
	expect_ok(SHARED "--fs tag=share,socket=/tmp/fs.sock");
	assert_int_equal(cfg->nr_fs, 1);
	assert_string_equal(cfg->fs[0].tag, "share");
	assert_string_equal(cfg->fs[0].socket, "/tmp/fs.sock");
	assert_string_equal(cfg->fs[0].id, "fs0");
	assert_int_equal(cfg->fs[0].num_queues, 1);
	assert_int_equal(cfg->fs[0].queue_size, 1024);
	expect_ok("--memory size=1G,hugepages=on --fs tag=a,socket=/tmp/a,num_queues=7,"
		  "queue_size=2,id=home tag=b,socket=/tmp/b");
	assert_int_equal(cfg->nr_fs, 2);
	assert_string_equal(cfg->fs[0].id, "home");
	assert_int_equal(cfg->fs[0].num_queues, 7);
	assert_int_equal(cfg->fs[0].queue_size, 2);
	assert_string_equal(cfg->fs[1].id, "fs1");
	/* 36 bytes is the field's whole size. */
	expect_ok(SHARED "--fs tag=abcdefghijklmnopqrstuvwxyz0123456789,socket=/tmp/s");
	expect_ok("--memory size=0 --memory-zone id=m0,size=1G,shared=on "
		  "--memory-zone id=m1,size=1G,hugepages=on --fs tag=a,socket=/tmp/s");
}

static void test_fs_refused(void **state)
{
	expect_err(SHARED "--fs socket=/tmp/s", "--fs socket=/tmp/s: tag= is needed");
	expect_err(SHARED "--fs tag=a", "--fs tag=a: socket= is needed");
	expect_err(SHARED "--fs tag=abcdefghijklmnopqrstuvwxyz0123456789X,socket=/tmp/s",
		   "--fs id=fs0: tag=abcdefghijklmnopqrstuvwxyz0123456789X: 1 to 36 bytes");
	expect_err(SHARED "--fs tag=,socket=/tmp/s", "--fs tag=: empty");
	expect_err(SHARED "--fs tag=a,socket=/tmp/s,num_queues=0", "num_queues=0: must be 1 to 7");
	expect_err(SHARED "--fs tag=a,socket=/tmp/s,num_queues=8", "num_queues=8: must be 1 to 7");
	expect_err(SHARED "--fs tag=a,socket=/tmp/s,queue_size=1000", "queue_size=1000: must be");
	expect_err(SHARED "--fs tag=a,socket=/tmp/s,queue_size=2048", "queue_size=2048: must be");
	expect_err(SHARED "--fs tag=a,socket=/tmp/s tag=a,socket=/tmp/t",
		   "--fs id=fs1: tag=a: also the tag of --fs id=fs0");
	expect_err(SHARED "--fs tag=a,socket=/tmp/s,id=x tag=b,socket=/tmp/t,id=x",
		   "--fs id=x: another device or zone has this id");
	expect_err(SHARED "--net tap=t0 --fs tag=a,socket=/tmp/s,id=net0", "another device");
	expect_err("--memory size=1G --fs tag=a,socket=/tmp/s",
		   "--fs id=fs0: the back-end must map guest memory, and --memory is private");
	expect_err("--memory size=0 --memory-zone id=m0,size=1G,shared=on "
		   "--memory-zone id=m1,size=1G --fs tag=a,socket=/tmp/s",
		   "--memory-zone id=m1 is private to this process: give it shared=on");
	expect_err(SHARED "--fs tag=a,socket=/tmp/s,foo=1", "unknown key 'foo'");
	expect_err("--memory size=1G,shared=on,hotplug_size=1G --fs tag=a,socket=/tmp/s",
		   "ACPI memory hotplug");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fs_ok),
	    cmocka_unit_test(test_fs_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
