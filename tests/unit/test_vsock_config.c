/* Unit tests for --vsock: parsing, the default id, and refusals naming the key. */
#include "test_config_util.h"

static void test_vsock_ok(void **state)
{
	expect_ok("--vsock cid=3,socket=/tmp/v.sock");
	assert_true(cfg->vsock.given);
	assert_int_equal(cfg->vsock.cid, 3);
	assert_string_equal(cfg->vsock.socket, "/tmp/v.sock");
	assert_string_equal(cfg->vsock.id, "vsock0");
	expect_ok("--vsock cid=4294967294,socket=/tmp/v.sock,id=hv");
	assert_string_equal(cfg->vsock.id, "hv");
	expect_ok("--memory size=1G");
	assert_false(cfg->vsock.given);
}

static void test_vsock_refused(void **state)
{
	char line[256];

	expect_err("--vsock socket=/tmp/v.sock", "--vsock socket=/tmp/v.sock: cid= is needed");
	expect_err("--vsock cid=3", "--vsock cid=3: socket= is needed");
	expect_err("--vsock cid=2,socket=/tmp/v", "cid=2: not a guest's context id");
	expect_err("--vsock cid=4294967295,socket=/tmp/v", "cid=4294967295: not a guest's");
	expect_err("--vsock cid=4294967296,socket=/tmp/v", "cid");
	expect_err("--vsock cid=3,socket=/tmp/v,cid=4", "cid given twice");
	expect_err("--vsock cid=3,socket=/tmp/v,port=1", "port");
	expect_err("--vsock cid=3,socket=/tmp/a --vsock cid=4,socket=/tmp/b", "given twice");
	expect_err("--vsock cid=3,socket=/tmp/v,id=net0 --net tap=t0",
		   "id=net0: another device or zone has it");
	expect_err("--vsock cid=3,socket=/tmp/v,id=mem0 --memory size=0 --memory-zone "
		   "id=mem0,size=1G",
		   "another device or zone");
	snprintf(line, sizeof(line), "--vsock cid=3,socket=/tmp/%092d", 0); /* 97 bytes */
	expect_err(line, "too long for a Unix socket path");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vsock_ok),
	    cmocka_unit_test(test_vsock_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
