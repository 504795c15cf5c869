#include "virtio/vsock_proto.h"

#include <errno.h>
#include <string.h>

#include "lib/util.h"

void vsock_hdr_get(const uint8_t b[VSOCK_HDR_SIZE], struct vsock_hdr *h)
{
	h->src_cid = le_get(b, 8);
	h->dst_cid = le_get(b + 8, 8);
	h->src_port = le_get(b + 16, 4);
	h->dst_port = le_get(b + 20, 4);
	h->len = le_get(b + 24, 4);
	h->type = le_get(b + 28, 2);
	h->op = le_get(b + 30, 2);
	h->flags = le_get(b + 32, 4);
	h->buf_alloc = le_get(b + 36, 4);
	h->fwd_cnt = le_get(b + 40, 4);
}

void vsock_hdr_put(uint8_t b[VSOCK_HDR_SIZE], const struct vsock_hdr *h)
{
	le_put(b, h->src_cid, 8);
	le_put(b + 8, h->dst_cid, 8);
	le_put(b + 16, h->src_port, 4);
	le_put(b + 20, h->dst_port, 4);
	le_put(b + 24, h->len, 4);
	le_put(b + 28, h->type, 2);
	le_put(b + 30, h->op, 2);
	le_put(b + 32, h->flags, 4);
	le_put(b + 36, h->buf_alloc, 4);
	le_put(b + 40, h->fwd_cnt, 4);
}

int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, uint64_t avail)
{
	if (h->src_cid != guest_cid || h->dst_cid != VSOCK_HOST_CID || h->type != VSOCK_TYPE_STREAM)
		return -EINVAL;
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		return -EINVAL;
	if (h->len && h->op != VSOCK_OP_RW)
		return -EINVAL;
	if (h->len > VSOCK_MAX_PAYLOAD || h->len > avail)
		return -EINVAL;
	return 0;
}

uint32_t vsock_peer_credit(uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t tx_cnt)
{
	uint32_t in_flight = tx_cnt - fwd_cnt; /* sent, not yet taken by the peer */

	return in_flight > buf_alloc ? 0 : buf_alloc - in_flight;
}

int vsock_parse_connect(const char *buf, size_t len, uint32_t *port, size_t *used)
{
	static const char word[] = "CONNECT ";
	size_t n = len < VSOCK_CONNECT_MAX ? len : VSOCK_CONNECT_MAX, i;
	const char *nl = memchr(buf, '\n', n);
	uint64_t v = 0;

	if (memcmp(buf, word, n < sizeof(word) - 1 ? n : sizeof(word) - 1))
		return -EINVAL;
	if (!nl)
		return len < VSOCK_CONNECT_MAX ? 0 : -EINVAL;
	i = sizeof(word) - 1;
	if ((size_t)(nl - buf) <= i)
		return -EINVAL;
	for (; buf + i < nl; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		v = v * 10 + (buf[i] - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*port = v;
	*used = nl - buf + 1;
	return 1;
}
