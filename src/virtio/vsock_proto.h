/*
 * vsock_proto: the pure parts of virtio-vsock (virtio device id 19, the
 * spec's "Socket Device") and of the hybrid host protocol (Cloud
 * Hypervisor's and Firecracker's): the packet header's parse and checks,
 * the credit arithmetic of its flow control, and the "CONNECT <port>\n"
 * line a host client writes. No I/O, no allocation: unit-tested in
 * tests/unit/test_virtio_vsock.c; the device is virtio/vsock.h.
 */
#ifndef MV_VIRTIO_VSOCK_PROTO_H
#define MV_VIRTIO_VSOCK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_ID_VSOCK		19
#define VSOCK_HDR_SIZE		44 /* struct virtio_vsock_hdr, packed */
#define VSOCK_HOST_CID		2
#define VSOCK_MIN_CID		3	    /* a guest's: 0 to 2 are reserved */
#define VSOCK_MAX_CID		0xfffffffeU /* U32_MAX is VMADDR_CID_ANY */
#define VSOCK_TYPE_STREAM	1
#define VSOCK_OP_REQUEST	1
#define VSOCK_OP_RESPONSE	2
#define VSOCK_OP_RST		3
#define VSOCK_OP_SHUTDOWN	4
#define VSOCK_OP_RW		5
#define VSOCK_OP_CREDIT_UPDATE	6
#define VSOCK_OP_CREDIT_REQUEST 7
#define VSOCK_SHUTDOWN_RCV	1
#define VSOCK_SHUTDOWN_SEND	2
#define VSOCK_MAX_PAYLOAD	(64 * 1024) /* a larger len is a protocol error */
#define VSOCK_CONNECT_MAX	32	    /* longest CONNECT line taken, '\n' included */

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

void vsock_hdr_get(const uint8_t b[VSOCK_HDR_SIZE], struct vsock_hdr *h);
void vsock_hdr_put(uint8_t b[VSOCK_HDR_SIZE], const struct vsock_hdr *h);

/*
 * A header the guest (guest_cid) sent, checked: 0, or -EINVAL when it is
 * not from guest_cid to the host, not a stream, an unknown op, a payload
 * on anything but RW, or a payload longer than VSOCK_MAX_PAYLOAD or than
 * the chain carries (avail: its readable bytes after the header). The
 * caller answers -EINVAL with RST (unless the packet was an RST).
 */
int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, uint64_t avail);

/*
 * Credit: bytes the peer can still take, from what it advertised (its
 * buf_alloc and fwd_cnt) and what we sent it (tx_cnt). Wrapping counters;
 * a peer whose fwd_cnt runs ahead of what we sent gets 0.
 */
uint32_t vsock_peer_credit(uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t tx_cnt);

/*
 * "CONNECT <port>\n" at the start of buf (len bytes read so far): 1 with
 * *port and *used (the line's bytes; what follows is payload), 0 when the
 * line is not complete yet and may still be, -EINVAL when it is not that
 * line (a bad word or port, or no '\n' within VSOCK_CONNECT_MAX bytes).
 */
int vsock_parse_connect(const char *buf, size_t len, uint32_t *port, size_t *used);

#endif
