/* Unit tests for --net: parsing, defaults, the parsed addresses, and refusals naming the key. */
#include "test_config_util.h"

#include <arpa/inet.h>

static void test_net_defaults(void **state)
{
	const struct net_config *n;

	expect_ok("--net tap=vmtap0");
	assert_int_equal(cfg->nr_nets, 1);
	n = &cfg->nets[0];
	assert_string_equal(n->id, "net0");
	assert_string_equal(n->tap, "vmtap0");
	assert_int_equal(n->num_queues, 2);
	assert_int_equal(n->queue_size, 256);
	assert_int_equal(n->mtu, 0);
	assert_int_equal(n->ip_addr, 0);
	/* A default MAC: unicast, locally administered. */
	assert_int_equal(n->guest_mac[0] & 3, 2);
}

/* Without mac=, the same VM gets the same MAC at every start; another VM another one. */
static void test_net_stable_mac(void **state)
{
	uint8_t a[6], b[6];

	expect_ok("--net tap=vmtap0");
	memcpy(a, cfg->nets[0].guest_mac, 6);
	expect_ok("--net tap=vmtap0");
	assert_memory_equal(cfg->nets[0].guest_mac, a, 6);
	expect_ok("--net tap=vmtap1");
	assert_memory_not_equal(cfg->nets[0].guest_mac, a, 6);
	/* No tap name: the control socket names the VM. */
	expect_ok("--api-socket /tmp/vm-a.sock --net ip=10.0.0.1");
	memcpy(b, cfg->nets[0].guest_mac, 6);
	assert_int_equal(b[0] & 3, 2);
	expect_ok("--api-socket /tmp/vm-a.sock --net ip=10.0.0.2");
	assert_memory_equal(cfg->nets[0].guest_mac, b, 6);
	expect_ok("--api-socket /tmp/vm-b.sock --net ip=10.0.0.1");
	assert_memory_not_equal(cfg->nets[0].guest_mac, b, 6);
	/* Two devices of one VM differ (their ids do). */
	expect_ok("--api-socket /tmp/vm-a.sock --net ip=10.0.0.1 --net ip=10.0.1.1");
	assert_memory_not_equal(cfg->nets[0].guest_mac, cfg->nets[1].guest_mac, 6);
	/* Nothing names the VM: random, so two such starts differ. */
	expect_ok("--net fd=7");
	memcpy(a, cfg->nets[0].guest_mac, 6);
	expect_ok("--net fd=7");
	assert_memory_not_equal(cfg->nets[0].guest_mac, a, 6);
}

static void test_net_several(void **state)
{
	const struct net_config *n;

	expect_ok("--net tap=a,ip=10.1.2.1,mac=52:54:00:AB:cd:ef,mtu=9000,queue_size=1024,id=wan "
		  "ip=192.168.249.1,mask=255.255.0.0,host_mac=52:54:00:00:00:01 --net fd=7");
	assert_int_equal(cfg->nr_nets, 3);
	n = &cfg->nets[0];
	assert_string_equal(n->id, "wan");
	assert_int_equal(n->ip_addr, inet_addr("10.1.2.1"));
	assert_int_equal(n->ip_mask, inet_addr("255.255.255.0"));
	assert_memory_equal(n->guest_mac, ((uint8_t[]){0x52, 0x54, 0, 0xAB, 0xCD, 0xEF}), 6);
	assert_int_equal(n->mtu, 9000);
	assert_int_equal(n->queue_size, 1024);
	n = &cfg->nets[1];
	assert_string_equal(n->id, "net1");
	assert_null(n->tap);
	assert_int_equal(n->ip_mask, inet_addr("255.255.0.0"));
	assert_memory_equal(n->tap_mac, ((uint8_t[]){0x52, 0x54, 0, 0, 0, 1}), 6);
	assert_int_equal(cfg->nets[2].fd, 7);
	/* Two taps' MACs differ. */
	expect_ok("--net tap=a tap=b");
	assert_memory_not_equal(cfg->nets[0].guest_mac, cfg->nets[1].guest_mac, 6);
}

static void test_net_refusals(void **state)
{
	expect_err("--net mac=52:54:00:12:34", "--net id=net0: mac=52:54:00:12:34: not a MAC");
	expect_err("--net mac=52:54:00:12:34:56:", "not a MAC");
	expect_err("--net mac=52-54-00-12-34-56", "not a MAC");
	expect_err("--net mac=52:54:00:12:34:+6", "not a MAC");
	expect_err("--net mac=03:00:00:00:00:01", "a multicast address");
	expect_err("--net mac=00:00:00:00:00:00", "the zero address");
	expect_err("--net host_mac=ff:ff:ff:ff:ff:ff", "host_mac=ff:ff:ff:ff:ff:ff: not a unicast");
	expect_err("--net ip=300.1.1.1", "--net id=net0: ip=300.1.1.1: not an IPv4 address");
	expect_err("--net ip=0.0.0.0", "ip=0.0.0.0: not an IPv4 address");
	expect_err("--net ip=1.2.3.4,mask=0.0.0.0", "mask=0.0.0.0: not a netmask");
	expect_err("--net ip=1.2.3.4,mask=255.255.255.1", "mask=255.255.255.1: not a netmask");
	expect_err("--net mask=255.0.0.0", "--net id=net0: mask= needs ip=");
	expect_err("--net mtu=65536", "mtu=65536: must be 68 to 65535");
	expect_err("--net num_queues=1", "num_queues=1: only 2");
	expect_err("--net queue_size=0", "queue_size=0: must be a power of two from 2 to 1024");
	expect_err("--net tap=", "--net tap=: empty");
	expect_err("--net tap=..", "tap=..: not an interface name");
	expect_err("--net tap=0123456789abcdef", "tap=0123456789abcdef: not an interface name");
	expect_err("--net fd=4 fd=4", "--net id=net1: fd=4: also the fd of --net net0");
	expect_err("--net fd=4,mtu=1500", "fd=4 is a tap opened by the caller");
	expect_err("--net id=x tap=y,id=x", "--net id=x: used by two devices");
	expect_err("--disk path=/a,id=x --net id=x", "--net id=x: id is also the id of another");
	expect_err("--balloon size=0 --net id=balloon0", "--net id=balloon0: id is also");
	expect_err("--net socket=/s", "--net id=net0: socket= is for vhost_user=on");
	expect_err("--net tap=a,tap=b", "key tap given twice");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_net_defaults),
	    cmocka_unit_test(test_net_several),
	    cmocka_unit_test(test_net_stable_mac),
	    cmocka_unit_test(test_net_refusals),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
