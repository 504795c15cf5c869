/*
 * vhost_user_proto: the pure parts of the vhost-user protocol, front-end
 * side (QEMU's docs/interop/vhost-user.rst): message layout, the requests
 * memvisor sends, the payloads it builds, and the checks every reply from a
 * back-end passes before a field of it is used. No I/O, no allocation:
 * unit-tested in tests/unit/test_vhost_user.c; the connection is
 * virtio/vhost_user.h.
 *
 * Numbers are in the host's byte order (the protocol's rule: both ends run
 * on one machine).
 */
#ifndef MV_VIRTIO_VHOST_USER_PROTO_H
#define MV_VIRTIO_VHOST_USER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VU_HDR_SIZE	   12 /* request, flags, size: three u32 */
#define VU_VERSION	   1u
#define VU_VERSION_MASK	   3u
#define VU_FLAG_REPLY	   (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_MAX_FDS	   8   /* SCM_RIGHTS per message, and SET_MEM_TABLE regions */
#define VU_MAX_CONFIG	   256 /* largest GET_CONFIG payload */
#define VU_MAX_PAYLOAD	   (12 + VU_MAX_CONFIG)
#define VU_REGION_SIZE	   32	       /* guest address, size, user address, mmap offset */
#define VU_VRING_NOFD	   (1ull << 8) /* SET_VRING_KICK/CALL: no fd, poll */
#define VU_MAX_QUEUES	   256	       /* a vring index is 8 bits in SET_VRING_KICK/CALL */

/* The feature bit (in GET_FEATURES) that says protocol features exist. */
#define VU_F_PROTOCOL_FEATURES 30

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
	VU_RESET_DEVICE = 34,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
	VU_REQUEST_MAX = 41,
};

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
enum {
	VU_PROTOCOL_F_MQ = 0,
	VU_PROTOCOL_F_LOG_SHMFD = 1,
	VU_PROTOCOL_F_REPLY_ACK = 3,
	VU_PROTOCOL_F_CONFIG = 9,
	VU_PROTOCOL_F_INFLIGHT_SHMFD = 12,
	VU_PROTOCOL_F_RESET_DEVICE = 13,
	VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
};

/* What memvisor asks for: nothing it does not implement. */
#define VU_PROTOCOL_WANTED                                                                         \
	(1ull << VU_PROTOCOL_F_MQ | 1ull << VU_PROTOCOL_F_REPLY_ACK |                              \
	 1ull << VU_PROTOCOL_F_CONFIG | 1ull << VU_PROTOCOL_F_RESET_DEVICE |                       \
	 1ull << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS | 1ull << VU_PROTOCOL_F_INFLIGHT_SHMFD)

struct vu_msg {
	uint32_t request, flags, size;
	uint8_t payload[VU_MAX_PAYLOAD];
};

/* One region of guest memory as the back-end maps it (mmap of its fd at mmap_offset). */
struct vu_region {
	uint64_t gpa, size, uaddr, mmap_offset;
};

/*
 * The shared area where a back-end records which descriptors it holds
 * (GET/SET_INFLIGHT_FD): mmap_size bytes at mmap_offset of the fd, one
 * equal part per queue.
 */
struct vu_inflight {
	uint64_t mmap_size, mmap_offset;
	uint16_t num_queues, queue_size;
};
#define VU_INFLIGHT_SIZE 24 /* the payload, padded as the back-ends read it */

struct vu_vring_addr {
	uint32_t index, flags;
	uint64_t desc, used, avail, log;
};

/* The request's name ("SET_MEM_TABLE"), "?" for one this file does not know. */
const char *vu_request_name(uint32_t request);

/*
 * Builders: fill m (header and payload) for a request; need_reply sets
 * NEED_REPLY (ask only when REPLY_ACK was negotiated). Each returns the
 * bytes to send (header included).
 */
size_t vu_msg_plain(struct vu_msg *m, uint32_t request, bool need_reply);
size_t vu_msg_u64(struct vu_msg *m, uint32_t request, uint64_t v, bool need_reply);
size_t vu_msg_state(struct vu_msg *m, uint32_t request, uint32_t index, uint32_t num,
		    bool need_reply);
size_t vu_msg_vring_addr(struct vu_msg *m, const struct vu_vring_addr *a, bool need_reply);
/* ADD_MEM_REG or REM_MEM_REG. */
size_t vu_msg_mem_reg(struct vu_msg *m, uint32_t request, const struct vu_region *r,
		      bool need_reply);
/* SET_MEM_TABLE with n regions: 0 (nothing built) when n > VU_MAX_FDS. */
size_t vu_msg_mem_table(struct vu_msg *m, const struct vu_region *r, unsigned int n,
			bool need_reply);
/* GET_INFLIGHT_FD (the sizes asked) or SET_INFLIGHT_FD (the area given back). */
size_t vu_msg_inflight(struct vu_msg *m, uint32_t request, const struct vu_inflight *inf,
		       bool need_reply);
/* GET_CONFIG of [offset, offset+len): 0 when len is 0 or past VU_MAX_CONFIG. */
size_t vu_msg_get_config(struct vu_msg *m, uint32_t offset, uint32_t len);

/*
 * A reply's header (the first VU_HDR_SIZE bytes, got bytes read), checked
 * against the request it answers: 0 with *size (its payload's length), or
 * -EPROTO when it is short, of another version, lacks the reply flag,
 * answers another request, or announces more than VU_MAX_PAYLOAD.
 */
int vu_reply_header(const uint8_t *b, size_t got, uint32_t request, uint32_t *size);

/*
 * A reply's payload for request, checked: a u64 reply (the GET_*s, and a
 * REPLY_ACK) must be 8 bytes, GET_VRING_BASE 8 (index matching), GET_CONFIG
 * 12 + the length asked with the same offset and length. 0 or -EPROTO;
 * -EIO for a REPLY_ACK that reports failure (non-zero) and for an empty
 * GET_CONFIG reply (how a back-end says it failed).
 */
int vu_reply_u64(const struct vu_msg *reply, uint64_t *v);
int vu_reply_ack(const struct vu_msg *reply);
int vu_reply_state(const struct vu_msg *reply, uint32_t index, uint32_t *num);
/*
 * GET_INFLIGHT_FD's reply: 24 bytes, a non-empty area that holds at least
 * num_queues parts of 16 + 16 * queue_size bytes (a header and one state
 * per descriptor, as asked). 0 or -EPROTO.
 */
int vu_reply_inflight(const struct vu_msg *reply, uint16_t num_queues, uint16_t queue_size,
		      struct vu_inflight *inf);
int vu_reply_config(const struct vu_msg *reply, uint32_t offset, uint32_t len,
		    const uint8_t **data);

#endif
