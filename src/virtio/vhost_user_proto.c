#include "virtio/vhost_user_proto.h"

#include <errno.h>
#include <string.h>

static void put32(uint8_t *b, uint32_t v)
{
	memcpy(b, &v, sizeof(v));
}

static void put64(uint8_t *b, uint64_t v)
{
	memcpy(b, &v, sizeof(v));
}

static uint32_t get32(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

const char *vu_request_name(uint32_t request)
{
	static const char *const names[VU_REQUEST_MAX] = {
	    [VU_GET_FEATURES] = "GET_FEATURES",
	    [VU_SET_FEATURES] = "SET_FEATURES",
	    [VU_SET_OWNER] = "SET_OWNER",
	    [VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	    [VU_SET_VRING_NUM] = "SET_VRING_NUM",
	    [VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	    [VU_SET_VRING_BASE] = "SET_VRING_BASE",
	    [VU_GET_VRING_BASE] = "GET_VRING_BASE",
	    [VU_SET_VRING_KICK] = "SET_VRING_KICK",
	    [VU_SET_VRING_CALL] = "SET_VRING_CALL",
	    [VU_SET_VRING_ERR] = "SET_VRING_ERR",
	    [VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	    [VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	    [VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	    [VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	    [VU_GET_CONFIG] = "GET_CONFIG",
	    [VU_SET_CONFIG] = "SET_CONFIG",
	    [VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	    [VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	    [VU_RESET_DEVICE] = "RESET_DEVICE",
	    [VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	    [VU_ADD_MEM_REG] = "ADD_MEM_REG",
	    [VU_REM_MEM_REG] = "REM_MEM_REG",
	};

	return request < VU_REQUEST_MAX && names[request] ? names[request] : "?";
}

static size_t vu_msg_start(struct vu_msg *m, uint32_t request, uint32_t size, bool need_reply)
{
	m->request = request;
	m->flags = VU_VERSION | (need_reply ? VU_FLAG_NEED_REPLY : 0);
	m->size = size;
	memset(m->payload, 0, size);
	return VU_HDR_SIZE + size;
}

size_t vu_msg_plain(struct vu_msg *m, uint32_t request, bool need_reply)
{
	return vu_msg_start(m, request, 0, need_reply);
}

size_t vu_msg_u64(struct vu_msg *m, uint32_t request, uint64_t v, bool need_reply)
{
	size_t n = vu_msg_start(m, request, 8, need_reply);

	put64(m->payload, v);
	return n;
}

size_t vu_msg_state(struct vu_msg *m, uint32_t request, uint32_t index, uint32_t num,
		    bool need_reply)
{
	size_t n = vu_msg_start(m, request, 8, need_reply);

	put32(m->payload, index);
	put32(m->payload + 4, num);
	return n;
}

size_t vu_msg_vring_addr(struct vu_msg *m, const struct vu_vring_addr *a, bool need_reply)
{
	size_t n = vu_msg_start(m, VU_SET_VRING_ADDR, 40, need_reply);

	put32(m->payload, a->index);
	put32(m->payload + 4, a->flags);
	put64(m->payload + 8, a->desc);
	put64(m->payload + 16, a->used);
	put64(m->payload + 24, a->avail);
	put64(m->payload + 32, a->log);
	return n;
}

static void vu_put_region(uint8_t *b, const struct vu_region *r)
{
	put64(b, r->gpa);
	put64(b + 8, r->size);
	put64(b + 16, r->uaddr);
	put64(b + 24, r->mmap_offset);
}

size_t vu_msg_mem_reg(struct vu_msg *m, uint32_t request, const struct vu_region *r,
		      bool need_reply)
{
	/* 8 bytes of padding, then the region. */
	size_t n = vu_msg_start(m, request, 8 + VU_REGION_SIZE, need_reply);

	vu_put_region(m->payload + 8, r);
	return n;
}

size_t vu_msg_mem_table(struct vu_msg *m, const struct vu_region *r, unsigned int n,
			bool need_reply)
{
	size_t len;
	unsigned int i;

	if (n > VU_MAX_FDS)
		return 0;
	/* Always the whole table (8 regions), as back-ends expect a fixed size. */
	len = vu_msg_start(m, VU_SET_MEM_TABLE, 8 + VU_MAX_FDS * VU_REGION_SIZE, need_reply);
	put32(m->payload, n);
	for (i = 0; i < n; i++)
		vu_put_region(m->payload + 8 + i * VU_REGION_SIZE, &r[i]);
	return len;
}

size_t vu_msg_inflight(struct vu_msg *m, uint32_t request, const struct vu_inflight *inf,
		       bool need_reply)
{
	size_t n = vu_msg_start(m, request, VU_INFLIGHT_SIZE, need_reply);

	memset(m->payload, 0, VU_INFLIGHT_SIZE);
	put64(m->payload, inf->mmap_size);
	put64(m->payload + 8, inf->mmap_offset);
	memcpy(m->payload + 16, &inf->num_queues, 2);
	memcpy(m->payload + 18, &inf->queue_size, 2);
	return n;
}

size_t vu_msg_get_config(struct vu_msg *m, uint32_t offset, uint32_t len)
{
	size_t n;

	if (!len || len > VU_MAX_CONFIG)
		return 0;
	n = vu_msg_start(m, VU_GET_CONFIG, 12 + len, false);
	put32(m->payload, offset);
	put32(m->payload + 4, len);
	return n;
}

int vu_reply_header(const uint8_t *b, size_t got, uint32_t request, uint32_t *size)
{
	uint32_t flags;

	if (got < VU_HDR_SIZE)
		return -EPROTO;
	flags = get32(b + 4);
	if (get32(b) != request || (flags & VU_VERSION_MASK) != VU_VERSION ||
	    !(flags & VU_FLAG_REPLY))
		return -EPROTO;
	*size = get32(b + 8);
	return *size > VU_MAX_PAYLOAD ? -EPROTO : 0;
}

int vu_reply_u64(const struct vu_msg *reply, uint64_t *v)
{
	if (reply->size != 8)
		return -EPROTO;
	*v = get64(reply->payload);
	return 0;
}

int vu_reply_ack(const struct vu_msg *reply)
{
	uint64_t v;
	int ret = vu_reply_u64(reply, &v);

	return ret ? ret : v ? -EIO : 0;
}

int vu_reply_state(const struct vu_msg *reply, uint32_t index, uint32_t *num)
{
	if (reply->size != 8 || get32(reply->payload) != index)
		return -EPROTO;
	*num = get32(reply->payload + 4);
	return 0;
}

int vu_reply_config(const struct vu_msg *reply, uint32_t offset, uint32_t len, const uint8_t **data)
{
	if (!reply->size)
		return -EIO;
	if (reply->size != 12 + len || get32(reply->payload) != offset ||
	    get32(reply->payload + 4) != len)
		return -EPROTO;
	*data = reply->payload + 12;
	return 0;
}

int vu_reply_inflight(const struct vu_msg *reply, uint16_t num_queues, uint16_t queue_size,
		      struct vu_inflight *inf)
{
	uint64_t part = 16 + 16ULL * queue_size;

	if (reply->size != VU_INFLIGHT_SIZE || !num_queues)
		return -EPROTO;
	inf->mmap_size = get64(reply->payload);
	inf->mmap_offset = get64(reply->payload + 8);
	inf->num_queues = num_queues;
	inf->queue_size = queue_size;
	if (!inf->mmap_size || inf->mmap_size / num_queues < part ||
	    inf->mmap_offset > UINT64_MAX - inf->mmap_size || inf->mmap_offset % 4096)
		return -EPROTO;
	return 0;
}
