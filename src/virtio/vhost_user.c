#include "virtio/vhost_user.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

static uint64_t vu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Record why request failed, close the connection, return ret. */
__attribute__((format(printf, 4, 5))) static int vu_fail(struct vu_conn *c, uint32_t request,
							 int ret, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(c->err, sizeof(c->err), "vhost-user socket %s: %s: %s", c->path,
		 vu_request_name(request), why);
	vu_close(c);
	return ret;
}

void vu_close(struct vu_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

bool vu_has_protocol(const struct vu_conn *c, unsigned int bit)
{
	return c->protocol >> bit & 1;
}

static int vu_send(struct vu_conn *c, const struct vu_msg *m, size_t len, const int *fds,
		   unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {(void *)m, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	/* Closed by an earlier failure: keep its c->err, which says why. */
	if (c->fd < 0)
		return -ENOTCONN;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	/* Small messages on a stream socket with a send timeout: all or a failure. */
	do
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return vu_fail(c, m->request, -errno, "send: %s", strerror(errno));
	if ((size_t)n != len)
		return vu_fail(c, m->request, -EPROTO, "send: %zd of %zu bytes", n, len);
	return 0;
}

/*
 * Read exactly len bytes by the deadline. The first fd the back-end sends
 * along goes to *keep when keep is given (and *keep is -1); every other fd
 * is closed.
 */
static int vu_read(struct vu_conn *c, uint32_t request, void *buf, size_t len, uint64_t deadline,
		   int *keep)
{
	size_t got = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {(char *)buf + got, len - got};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		struct pollfd p = {c->fd, POLLIN, 0};
		uint64_t now = vu_now_ms();
		struct cmsghdr *cm;
		ssize_t n;
		int r;

		if (now >= deadline)
			return vu_fail(c, request, -ETIMEDOUT, "no reply within %d ms",
				       c->timeout_ms);
		r = poll(&p, 1, (int)MV_MIN(deadline - now, (uint64_t)INT32_MAX));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vu_fail(c, request, -errno, "poll: %s", strerror(errno));
		if (!r)
			continue;
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return vu_fail(c, request, -errno, "receive: %s", strerror(errno));
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				size_t k, nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (k = 0; k < nfd; k++) {
					int fd;

					memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(fd));
					if (keep && *keep < 0)
						*keep = fd;
					else
						close(fd);
				}
			}
		if (!n)
			return vu_fail(c, request, -ECONNRESET,
				       "the back-end closed the connection");
		got += (size_t)n;
	}
	return 0;
}

/*
 * The reply to request, header and payload, checked by vu_reply_header;
 * with keep, the fd it carries into *keep (-1: none; closed on failure).
 */
static int vu_recv_fd(struct vu_conn *c, uint32_t request, struct vu_msg *reply, int *keep)
{
	uint64_t deadline = vu_now_ms() + (uint64_t)c->timeout_ms;
	uint32_t size;
	int ret;

	ret = vu_read(c, request, reply, VU_HDR_SIZE, deadline, keep);
	if (!ret && vu_reply_header((const uint8_t *)reply, VU_HDR_SIZE, request, &size))
		ret = vu_fail(c, request, -EPROTO, "bad reply (request %u, flags 0x%x, size %u)",
			      reply->request, reply->flags, reply->size);
	if (!ret)
		ret = vu_read(c, request, reply->payload, size, deadline, keep);
	if (ret && keep && *keep >= 0) {
		close(*keep);
		*keep = -1;
	}
	return ret;
}

static int vu_recv(struct vu_conn *c, uint32_t request, struct vu_msg *reply)
{
	return vu_recv_fd(c, request, reply, NULL);
}

static bool vu_ack(const struct vu_conn *c)
{
	return vu_has_protocol(c, VU_PROTOCOL_F_REPLY_ACK);
}

/* Send m; if it asked for a REPLY_ACK, wait for it. */
static int vu_call(struct vu_conn *c, struct vu_msg *m, size_t len, const int *fds,
		   unsigned int nfds)
{
	struct vu_msg reply;
	int ret = vu_send(c, m, len, fds, nfds);

	if (ret || !(m->flags & VU_FLAG_NEED_REPLY))
		return ret;
	ret = vu_recv(c, m->request, &reply);
	if (ret)
		return ret;
	ret = vu_reply_ack(&reply);
	if (ret == -EIO)
		return vu_fail(c, m->request, ret, "the back-end refused it");
	if (ret)
		return vu_fail(c, m->request, ret, "a REPLY_ACK of %u bytes", reply.size);
	return 0;
}

static int vu_get_u64(struct vu_conn *c, uint32_t request, uint64_t *v)
{
	struct vu_msg m, reply;
	int ret = vu_send(c, &m, vu_msg_plain(&m, request, false), NULL, 0);

	if (!ret)
		ret = vu_recv(c, request, &reply);
	if (!ret && vu_reply_u64(&reply, v))
		return vu_fail(c, request, -EPROTO, "a reply of %u bytes, not 8", reply.size);
	return ret;
}

static int vu_set_u64(struct vu_conn *c, uint32_t request, uint64_t v, const int *fd)
{
	struct vu_msg m;

	return vu_call(c, &m, vu_msg_u64(&m, request, v, vu_ack(c)), fd, fd ? 1 : 0);
}

int vu_connect(struct vu_conn *c, const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vu_msg m;
	uint64_t offered;
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : VU_TIMEOUT_MS;
	c->max_mem_slots = VU_MAX_FDS;
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "vhost-user socket %s: path longer than %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "vhost-user socket %s: %s", path, strerror(errno));
		return ret;
	}
	{
		struct timeval tv = {c->timeout_ms / 1000, c->timeout_ms % 1000 * 1000};

		/* A back-end that stops reading must not stall a send forever. */
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		snprintf(err, errlen, "vhost-user socket %s: %s%s", path, strerror(errno),
			 errno == ECONNREFUSED ? " (no back-end listens there)" : "");
		vu_close(c);
		return ret;
	}
	ret = vu_get_u64(c, VU_GET_FEATURES, &c->features);
	if (!ret && c->features >> VU_F_PROTOCOL_FEATURES & 1) {
		ret = vu_get_u64(c, VU_GET_PROTOCOL_FEATURES, &offered);
		/* SET_PROTOCOL_FEATURES itself is sent before REPLY_ACK is in force. */
		if (!ret)
			ret = vu_send(c, &m,
				      vu_msg_u64(&m, VU_SET_PROTOCOL_FEATURES,
						 offered & VU_PROTOCOL_WANTED, false),
				      NULL, 0);
		if (!ret)
			c->protocol = offered & VU_PROTOCOL_WANTED;
	}
	if (!ret)
		ret = vu_call(c, &m, vu_msg_plain(&m, VU_SET_OWNER, vu_ack(c)), NULL, 0);
	if (!ret && vu_has_protocol(c, VU_PROTOCOL_F_MQ)) {
		uint64_t q;

		ret = vu_get_u64(c, VU_GET_QUEUE_NUM, &q);
		if (!ret && (!q || q > VU_MAX_QUEUES))
			ret = vu_fail(c, VU_GET_QUEUE_NUM, -EPROTO,
				      "%" PRIu64 " queues (1 to %u expected)", q, VU_MAX_QUEUES);
		c->queues = ret ? 0 : (uint32_t)q;
	}
	if (!ret && vu_has_protocol(c, VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		uint64_t s;

		ret = vu_get_u64(c, VU_GET_MAX_MEM_SLOTS, &s);
		if (!ret && !s)
			ret = vu_fail(c, VU_GET_MAX_MEM_SLOTS, -EPROTO, "0 memory slots");
		c->max_mem_slots = ret ? 0 : (uint32_t)MV_MIN(s, (uint64_t)UINT32_MAX);
	}
	if (ret)
		snprintf(err, errlen, "%s", c->err);
	return ret;
}

int vu_set_features(struct vu_conn *c, uint64_t features)
{
	/* A back-end with protocol features expects the bit back. */
	if (c->features >> VU_F_PROTOCOL_FEATURES & 1)
		features |= 1ull << VU_F_PROTOCOL_FEATURES;
	return vu_set_u64(c, VU_SET_FEATURES, features, NULL);
}

int vu_set_mem_table(struct vu_conn *c, const struct vu_region *r, const int *fds, unsigned int n)
{
	struct vu_msg m;
	size_t len = vu_msg_mem_table(&m, r, n, vu_ack(c));

	if (!len)
		return vu_fail(c, VU_SET_MEM_TABLE, -E2BIG, "%u regions (at most %u)", n,
			       VU_MAX_FDS);
	return vu_call(c, &m, len, fds, n);
}

int vu_add_mem_reg(struct vu_conn *c, const struct vu_region *r, int fd)
{
	struct vu_msg m;

	return vu_call(c, &m, vu_msg_mem_reg(&m, VU_ADD_MEM_REG, r, vu_ack(c)), &fd, 1);
}

int vu_rem_mem_reg(struct vu_conn *c, const struct vu_region *r)
{
	struct vu_msg m;

	return vu_call(c, &m, vu_msg_mem_reg(&m, VU_REM_MEM_REG, r, vu_ack(c)), NULL, 0);
}

static int vu_set_state(struct vu_conn *c, uint32_t request, uint32_t index, uint32_t num)
{
	struct vu_msg m;

	return vu_call(c, &m, vu_msg_state(&m, request, index, num, vu_ack(c)), NULL, 0);
}

int vu_set_vring_num(struct vu_conn *c, uint32_t index, uint32_t num)
{
	return vu_set_state(c, VU_SET_VRING_NUM, index, num);
}

int vu_set_vring_base(struct vu_conn *c, uint32_t index, uint32_t base)
{
	return vu_set_state(c, VU_SET_VRING_BASE, index, base);
}

int vu_set_vring_enable(struct vu_conn *c, uint32_t index, bool on)
{
	return vu_set_state(c, VU_SET_VRING_ENABLE, index, on);
}

int vu_get_vring_base(struct vu_conn *c, uint32_t index, uint32_t *base)
{
	struct vu_msg m, reply;
	int ret = vu_send(c, &m, vu_msg_state(&m, VU_GET_VRING_BASE, index, 0, false), NULL, 0);

	if (!ret)
		ret = vu_recv(c, VU_GET_VRING_BASE, &reply);
	if (!ret && vu_reply_state(&reply, index, base))
		return vu_fail(c, VU_GET_VRING_BASE, -EPROTO, "a reply for another queue");
	return ret;
}

int vu_set_vring_addr(struct vu_conn *c, const struct vu_vring_addr *a)
{
	struct vu_msg m;

	return vu_call(c, &m, vu_msg_vring_addr(&m, a, vu_ack(c)), NULL, 0);
}

int vu_set_vring_fd(struct vu_conn *c, uint32_t request, uint32_t index, int fd)
{
	if (index >= VU_MAX_QUEUES)
		return vu_fail(c, request, -EINVAL, "queue %u (at most %u)", index,
			       VU_MAX_QUEUES - 1);
	return vu_set_u64(c, request, index | (fd < 0 ? VU_VRING_NOFD : 0), fd < 0 ? NULL : &fd);
}

int vu_get_config(struct vu_conn *c, uint32_t offset, void *buf, uint32_t len)
{
	struct vu_msg m, reply;
	const uint8_t *data;
	size_t n = vu_msg_get_config(&m, offset, len);
	int ret;

	if (!vu_has_protocol(c, VU_PROTOCOL_F_CONFIG))
		return vu_fail(c, VU_GET_CONFIG, -EOPNOTSUPP,
			       "the back-end does not offer the CONFIG protocol feature");
	if (!n)
		return vu_fail(c, VU_GET_CONFIG, -EINVAL, "%u bytes (1 to %u)", len, VU_MAX_CONFIG);
	ret = vu_send(c, &m, n, NULL, 0);
	if (!ret)
		ret = vu_recv(c, VU_GET_CONFIG, &reply);
	if (ret)
		return ret;
	ret = vu_reply_config(&reply, offset, len, &data);
	if (ret == -EIO)
		return vu_fail(c, VU_GET_CONFIG, ret, "the back-end reported a failure");
	if (ret)
		return vu_fail(c, VU_GET_CONFIG, ret, "a reply of %u bytes for %u asked",
			       reply.size, len);
	memcpy(buf, data, len);
	return 0;
}

int vu_get_inflight_fd(struct vu_conn *c, uint16_t num_queues, uint16_t queue_size,
		       struct vu_inflight *inf, int *fd)
{
	struct vu_inflight ask = {.num_queues = num_queues, .queue_size = queue_size};
	struct vu_msg m, reply;
	int ret;

	*fd = -1;
	if (!vu_has_protocol(c, VU_PROTOCOL_F_INFLIGHT_SHMFD))
		return vu_fail(c, VU_GET_INFLIGHT_FD, -EOPNOTSUPP,
			       "the back-end does not offer INFLIGHT_SHMFD");
	ret = vu_send(c, &m, vu_msg_inflight(&m, VU_GET_INFLIGHT_FD, &ask, false), NULL, 0);
	if (!ret)
		ret = vu_recv_fd(c, VU_GET_INFLIGHT_FD, &reply, fd);
	if (ret)
		return ret;
	if (vu_reply_inflight(&reply, num_queues, queue_size, inf) || *fd < 0) {
		bool had_fd = *fd >= 0;

		if (had_fd)
			close(*fd);
		*fd = -1;
		return vu_fail(c, VU_GET_INFLIGHT_FD, -EPROTO,
			       "a reply of %u bytes%s, not an area for %u queues of %u", reply.size,
			       had_fd ? "" : " without an fd", num_queues, queue_size);
	}
	return 0;
}

int vu_set_inflight_fd(struct vu_conn *c, const struct vu_inflight *inf, int fd)
{
	struct vu_msg m;

	return vu_call(c, &m, vu_msg_inflight(&m, VU_SET_INFLIGHT_FD, inf, vu_ack(c)), &fd, 1);
}

int vu_reset_device(struct vu_conn *c)
{
	struct vu_msg m;

	if (!vu_has_protocol(c, VU_PROTOCOL_F_RESET_DEVICE))
		return vu_fail(c, VU_RESET_DEVICE, -EOPNOTSUPP,
			       "the back-end does not offer RESET_DEVICE");
	return vu_call(c, &m, vu_msg_plain(&m, VU_RESET_DEVICE, vu_ack(c)), NULL, 0);
}
