/* Unit tests for --disk: parsing, defaults, and every refusal naming the option and key. */
#include "test_config_util.h"

static void test_disk_defaults(void **state)
{
	expect_ok("--disk path=/img");
	assert_int_equal(cfg->nr_disks, 1);
	assert_string_equal(cfg->disks[0].id, "disk0");
	assert_string_equal(cfg->disks[0].path, "/img");
	assert_int_equal(cfg->disks[0].size, 64ULL << 20);
	assert_int_equal(cfg->disks[0].num_queues, 1);
	assert_int_equal(cfg->disks[0].queue_size, 128);
	assert_false(cfg->disks[0].readonly);
	assert_false(cfg->disks[0].direct);
}

static void test_disk_several(void **state)
{
	expect_ok(
	    "--disk path=/a,id=root,readonly=on path=/b,num_queues=4,queue_size=1024,direct=on "
	    "--disk path=/ro/c,readonly=on");
	assert_int_equal(cfg->nr_disks, 3);
	assert_string_equal(cfg->disks[0].id, "root");
	assert_true(cfg->disks[0].readonly);
	assert_string_equal(cfg->disks[1].id, "disk1");
	assert_int_equal(cfg->disks[1].num_queues, 4);
	assert_int_equal(cfg->disks[1].queue_size, 1024);
	assert_true(cfg->disks[1].direct);
	assert_string_equal(cfg->disks[2].id, "disk2");
}

static void test_disk_refusals(void **state)
{
	expect_err("--disk readonly=on", "--disk id=disk0: path is mandatory");
	expect_err("--disk path=/nodir/x", "--disk id=disk0: path=/nodir/x: No such file");
	expect_err(
	    "--disk path=/ro/x",
	    "--disk id=disk0: path=/ro/x: not writable: Permission denied (readonly=on opens");
	expect_err("--disk path=/dev/tty0", "path=/dev/tty0: not a regular file or block device");
	expect_err("--disk path=/small", "path=/small: 100 bytes, less than one 512-byte sector");
	expect_err("--disk path=/a,num_queues=0", "--disk id=disk0: num_queues=0: must be 1 to 8");
	expect_err("--disk path=/a,num_queues=9", "num_queues=9: must be 1 to 8");
	expect_err("--disk path=/a,queue_size=3",
		   "--disk id=disk0: queue_size=3: must be a power of two from 2 to 1024");
	expect_err("--disk path=/a,queue_size=2048", "queue_size=2048: must be a power of two");
	expect_err("--disk path=/a,queue_size=1", "queue_size=1: must be a power of two");
	expect_err("--disk path=/a,id=x path=/b,id=x", "--disk id=x: used by two devices");
	expect_err("--disk path=/a,id=mem0", "--disk id=mem0: id is also the id of a memory zone");
	expect_err("--pmem file=/p --disk path=/a,id=pmem0",
		   "--disk id=pmem0: id is also the id of a --pmem device");
	expect_err("--disk path=/a,socket=/s", "--disk id=disk0: socket= is for vhost_user=on");
	expect_err("--disk path=/a,readonly=maybe", "readonly=maybe");
	expect_err("--disk path=/a,bogus=1", "--disk path=/a,bogus=1: unknown key 'bogus'");
	expect_err("--disk path=/a path=/a path=/a path=/a path=/a path=/a path=/a path=/a path=/a",
		   "--disk path=/a: more than 8 disks");
}

#define SHARED "--memory size=1G,shared=on "

static void test_disk_vhost_user(void **state)
{
	expect_ok(SHARED "--disk vhost_user=on,socket=/tmp/blk.sock");
	assert_int_equal(cfg->nr_disks, 1);
	assert_true(cfg->disks[0].vhost_user);
	assert_string_equal(cfg->disks[0].socket, "/tmp/blk.sock");
	assert_string_equal(cfg->disks[0].id, "disk0");
	assert_int_equal(cfg->disks[0].num_queues, 1);
	assert_int_equal(cfg->disks[0].queue_size, 128);
	assert_int_equal(cfg->disks[0].size, 0);
	expect_ok("--memory size=1G,hugepages=on --disk path=/img "
		  "vhost_user=on,socket=/tmp/b,num_queues=4,queue_size=1024,id=data");
	assert_int_equal(cfg->nr_disks, 2);
	assert_false(cfg->disks[0].vhost_user);
	assert_string_equal(cfg->disks[1].id, "data");
	assert_int_equal(cfg->disks[1].num_queues, 4);
	assert_int_equal(cfg->disks[1].queue_size, 1024);
}

static void test_disk_vhost_user_refusals(void **state)
{
	expect_err(SHARED "--disk vhost_user=on",
		   "--disk id=disk0: vhost_user=on needs socket= (the back-end's Unix socket)");
	expect_err(SHARED "--disk vhost_user=on,socket=/tmp/s,path=/img",
		   "--disk id=disk0: path= with vhost_user=on: the image is the back-end's");
	expect_err(SHARED "--disk vhost_user=on,socket=/tmp/s,readonly=on",
		   "--disk id=disk0: readonly= with vhost_user=on: set it on the back-end's");
	expect_err(SHARED "--disk vhost_user=on,socket=/tmp/s,direct=off",
		   "direct= with vhost_user");
	expect_err(
	    SHARED
	    "--disk vhost_user=on,socket=/tmp/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "not a Unix socket path (1 to 107 bytes)");
	expect_err(SHARED "--disk vhost_user=on,socket=/tmp/s,num_queues=9",
		   "num_queues=9: must be 1 to 8");
	expect_err(SHARED "--disk vhost_user=on,socket=/tmp/s,queue_size=100",
		   "queue_size=100: must be a power of two");
	expect_err(SHARED "--disk vhost_user=on,socket=/tmp/s,id=mem0",
		   "--disk id=mem0: id is also the id of a memory zone");
	expect_err(
	    "--memory size=1G --disk vhost_user=on,socket=/tmp/s",
	    "--disk id=disk0: the back-end must map guest memory, and --memory is private to "
	    "this process: give it shared=on");
	expect_err("--memory size=0 --memory-zone id=m0,size=1G,hugepages=on "
		   "--memory-zone id=m1,size=1G --disk vhost_user=on,socket=/tmp/s",
		   "--memory-zone id=m1 is private to this process");
	expect_err("--memory size=1G,shared=on,hotplug_size=1G --disk vhost_user=on,socket=/tmp/s",
		   "--disk id=disk0: ACPI memory hotplug");
	/* A private --memory is fine for the disks memvisor serves itself. */
	expect_ok("--memory size=1G --disk path=/img");
}

static void test_disk_not_with_restore(void **state)
{
	assert_int_equal(parse_line("--restore source_url=file:///s --disk path=/a"), -EINVAL);
	assert_non_null(strstr(err, "--disk cannot be combined with --restore"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_disk_defaults),
	    cmocka_unit_test(test_disk_several),
	    cmocka_unit_test(test_disk_refusals),
	    cmocka_unit_test(test_disk_vhost_user),
	    cmocka_unit_test(test_disk_vhost_user_refusals),
	    cmocka_unit_test(test_disk_not_with_restore),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
