/* The pure parts of virtio-vsock: header, credit, the hybrid CONNECT line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "virtio/vsock_proto.h"

static struct vsock_hdr rw(uint32_t len)
{
	return (struct vsock_hdr){.src_cid = 3,
				  .dst_cid = VSOCK_HOST_CID,
				  .src_port = 1000,
				  .dst_port = 5678,
				  .len = len,
				  .type = VSOCK_TYPE_STREAM,
				  .op = VSOCK_OP_RW,
				  .buf_alloc = 65536,
				  .fwd_cnt = 7};
}

static void test_hdr_round_trip(void **state)
{
	struct vsock_hdr h = rw(100), g;
	uint8_t b[VSOCK_HDR_SIZE];

	(void)state;
	h.src_cid = 0x1122334455667788ULL;
	h.flags = 3;
	vsock_hdr_put(b, &h);
	assert_int_equal(b[0], 0x88); /* little endian */
	assert_int_equal(b[24], 100);
	assert_int_equal(b[30], VSOCK_OP_RW);
	vsock_hdr_get(b, &g);
	assert_true(g.src_cid == h.src_cid && g.dst_cid == h.dst_cid);
	assert_true(g.src_port == h.src_port && g.dst_port == h.dst_port && g.len == h.len);
	assert_true(g.type == h.type && g.op == h.op && g.flags == h.flags);
	assert_true(g.buf_alloc == h.buf_alloc && g.fwd_cnt == h.fwd_cnt);
}

static void test_hdr_check(void **state)
{
	struct vsock_hdr h = rw(100);

	(void)state;
	assert_int_equal(vsock_hdr_check(&h, 3, 100), 0);
	assert_int_equal(vsock_hdr_check(&h, 3, 99), -EINVAL);	/* longer than the chain */
	assert_int_equal(vsock_hdr_check(&h, 4, 100), -EINVAL); /* not the guest's cid */
	h.dst_cid = 7;
	assert_int_equal(vsock_hdr_check(&h, 3, 100), -EINVAL);
	h = rw(100);
	h.type = 2; /* SEQPACKET: not offered */
	assert_int_equal(vsock_hdr_check(&h, 3, 100), -EINVAL);
	h = rw(0);
	h.op = 0;
	assert_int_equal(vsock_hdr_check(&h, 3, 0), -EINVAL);
	h.op = 8;
	assert_int_equal(vsock_hdr_check(&h, 3, 0), -EINVAL);
	h = rw(10);
	h.op = VSOCK_OP_REQUEST; /* payload on a control packet */
	assert_int_equal(vsock_hdr_check(&h, 3, 10), -EINVAL);
	h = rw(VSOCK_MAX_PAYLOAD + 1);
	assert_int_equal(vsock_hdr_check(&h, 3, UINT32_MAX), -EINVAL);
	h = rw(0);
	h.op = VSOCK_OP_CREDIT_REQUEST;
	assert_int_equal(vsock_hdr_check(&h, 3, 0), 0);
}

static void test_credit(void **state)
{
	(void)state;
	assert_int_equal(vsock_peer_credit(1000, 0, 0), 1000);
	assert_int_equal(vsock_peer_credit(1000, 0, 400), 600);
	assert_int_equal(vsock_peer_credit(1000, 400, 1400), 0);
	assert_int_equal(vsock_peer_credit(1000, 0, 2000), 0); /* never negative */
	/* Counters wrap. */
	assert_int_equal(vsock_peer_credit(1000, UINT32_MAX - 99, 100), 800);
	/* A peer's fwd_cnt ahead of what we sent: no credit, not 4 GiB. */
	assert_int_equal(vsock_peer_credit(1000, 50, 10), 0);
}

static void test_connect(void **state)
{
	uint32_t port = 0;
	size_t used = 0;
	const char *s = "CONNECT 1234\nhello";

	(void)state;
	assert_int_equal(vsock_parse_connect(s, strlen(s), &port, &used), 1);
	assert_int_equal(port, 1234);
	assert_int_equal(used, 13);
	assert_int_equal(vsock_parse_connect("CONN", 4, &port, &used), 0);
	assert_int_equal(vsock_parse_connect("CONNECT 12", 10, &port, &used), 0);
	assert_int_equal(vsock_parse_connect("CONNEX", 6, &port, &used), -EINVAL);
	assert_int_equal(vsock_parse_connect("CONNECT \n", 9, &port, &used), -EINVAL);
	assert_int_equal(vsock_parse_connect("CONNECT 1a\n", 11, &port, &used), -EINVAL);
	assert_int_equal(vsock_parse_connect("CONNECT 4294967296\n", 19, &port, &used), -EINVAL);
	assert_int_equal(vsock_parse_connect("CONNECT 4294967295\n", 19, &port, &used), 1);
	assert_int_equal(port, UINT32_MAX);
	/* No newline within the bound: refused, not waited for forever. */
	char longl[64];
	memset(longl, '1', sizeof(longl));
	memcpy(longl, "CONNECT ", 8);
	assert_int_equal(vsock_parse_connect(longl, sizeof(longl), &port, &used), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hdr_round_trip),
	    cmocka_unit_test(test_hdr_check),
	    cmocka_unit_test(test_credit),
	    cmocka_unit_test(test_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
