/*
 * vhost_user: memvisor's end (the front-end) of one connection to a
 * vhost-user back-end (virtiofsd, qemu-storage-daemon): connect, the
 * feature and protocol-feature handshake, and each request memvisor sends,
 * with the file descriptors it carries, waiting for the reply (or the
 * REPLY_ACK, where negotiated) within the connection's timeout. Messages
 * are built and replies checked by virtio/vhost_user_proto.h.
 *
 * Blocking, on the calling thread, bounded by timeout_ms per request: a
 * back-end that does not answer in time, answers something else or closes
 * fails the request with c->err naming the socket and the request, and
 * the connection is closed (the protocol has no way to resynchronise).
 * Not thread-safe: one thread uses a connection at a time.
 */
#ifndef MV_VIRTIO_VHOST_USER_H
#define MV_VIRTIO_VHOST_USER_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/vhost_user_proto.h"

#define VU_TIMEOUT_MS 5000 /* default wait for a reply */

struct vu_conn {
	int fd; /* -1 once closed (by vu_close or a failure) */
	int timeout_ms;
	char path[108];
	char err[320];		/* the last failure, one line */
	uint64_t features;	/* the back-end's device features (GET_FEATURES) */
	uint64_t protocol;	/* protocol features both ends use */
	uint32_t queues;	/* GET_QUEUE_NUM when MQ is offered, else 0 (unknown) */
	uint32_t max_mem_slots; /* GET_MAX_MEM_SLOTS, else VU_MAX_FDS (SET_MEM_TABLE only) */
};

/*
 * Connect to the back-end's socket and run the handshake: GET_FEATURES,
 * then (if the back-end offers protocol features) GET_PROTOCOL_FEATURES
 * and SET_PROTOCOL_FEATURES with what both support of VU_PROTOCOL_WANTED,
 * SET_OWNER, GET_QUEUE_NUM (MQ), GET_MAX_MEM_SLOTS (CONFIGURE_MEM_SLOTS).
 * 0, or -errno with err holding one line ("vhost-user socket PATH: ...").
 */
int vu_connect(struct vu_conn *c, const char *path, int timeout_ms, char *err, size_t errlen);
void vu_close(struct vu_conn *c);

/* c->protocol has bit (a VU_PROTOCOL_F_*). */
bool vu_has_protocol(const struct vu_conn *c, unsigned int bit);

/* The requests. Each returns 0 or -errno with c->err set (and c closed). */
int vu_set_features(struct vu_conn *c, uint64_t features);
int vu_set_mem_table(struct vu_conn *c, const struct vu_region *r, const int *fds, unsigned int n);
int vu_add_mem_reg(struct vu_conn *c, const struct vu_region *r, int fd);
int vu_rem_mem_reg(struct vu_conn *c, const struct vu_region *r);
int vu_set_vring_num(struct vu_conn *c, uint32_t index, uint32_t num);
int vu_set_vring_base(struct vu_conn *c, uint32_t index, uint32_t base);
int vu_get_vring_base(struct vu_conn *c, uint32_t index, uint32_t *base);
int vu_set_vring_addr(struct vu_conn *c, const struct vu_vring_addr *a);
/* KICK, CALL or ERR for queue index with an eventfd (fd < 0: none, the back-end polls). */
int vu_set_vring_fd(struct vu_conn *c, uint32_t request, uint32_t index, int fd);
int vu_set_vring_enable(struct vu_conn *c, uint32_t index, bool on);
/* GET_CONFIG of [offset, offset+len) into buf (needs the CONFIG protocol feature). */
int vu_get_config(struct vu_conn *c, uint32_t offset, void *buf, uint32_t len);
/*
 * GET_INFLIGHT_FD (needs INFLIGHT_SHMFD): the area, checked
 * (vu_reply_inflight), and its fd into *fd (the caller's to close; -1 on
 * failure).
 */
int vu_get_inflight_fd(struct vu_conn *c, uint16_t num_queues, uint16_t queue_size,
		       struct vu_inflight *inf, int *fd);
int vu_set_inflight_fd(struct vu_conn *c, const struct vu_inflight *inf, int fd);
int vu_reset_device(struct vu_conn *c);

#endif
