/*
 * Unit tests for virtio/vhost_user_proto and virtio/vhost_user: the
 * messages as bytes, the checks on replies, the connection against a fake
 * back-end that answers wrongly on purpose (a thread on a real Unix socket),
 * and against a real one: Debian's qemu-storage-daemon exporting an image
 * as vhost-user-blk, which takes the memory table, sets up a queue in a
 * memfd this test maps, and serves a read the test places on the ring as a
 * guest driver would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "virtio/vhost_user.h"
#include "virtio/vhost_user_dev.h"

static uint32_t rd32(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return v;
}

static uint64_t rd64(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, 8);
	return v;
}

/* ---- messages and replies ---- */

static void test_builders(void **state)
{
	struct vu_msg m;
	struct vu_region r[2] = {{0x100000, 0x200000, 0x7f0000000000, 0},
				 {0x100000000, 0x40000000, 0x7f1000000000, 0x200000}};
	struct vu_vring_addr a = {1, 0, 0x1000, 0x3000, 0x2000, 0};

	assert_int_equal(vu_msg_plain(&m, VU_SET_OWNER, false), VU_HDR_SIZE);
	assert_int_equal(m.request, VU_SET_OWNER);
	assert_int_equal(m.flags, VU_VERSION);
	assert_int_equal(m.size, 0);
	assert_int_equal(vu_msg_u64(&m, VU_SET_FEATURES, 1ull << 32, true), VU_HDR_SIZE + 8);
	assert_int_equal(m.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	assert_int_equal(rd64(m.payload), 1ull << 32);
	assert_int_equal(vu_msg_state(&m, VU_SET_VRING_NUM, 3, 256, false), VU_HDR_SIZE + 8);
	assert_int_equal(rd32(m.payload), 3);
	assert_int_equal(rd32(m.payload + 4), 256);
	assert_int_equal(vu_msg_vring_addr(&m, &a, false), VU_HDR_SIZE + 40);
	assert_int_equal(rd32(m.payload), 1);
	assert_int_equal(rd64(m.payload + 8), 0x1000);
	assert_int_equal(rd64(m.payload + 16), 0x3000);
	assert_int_equal(rd64(m.payload + 24), 0x2000);
	/* The table is always 8 regions long; the count says how many are used. */
	assert_int_equal(vu_msg_mem_table(&m, r, 2, false), VU_HDR_SIZE + 8 + 8 * VU_REGION_SIZE);
	assert_int_equal(rd32(m.payload), 2);
	assert_int_equal(rd64(m.payload + 8 + 32), 0x100000000);
	assert_int_equal(rd64(m.payload + 8 + 32 + 8), 0x40000000);
	assert_int_equal(rd64(m.payload + 8 + 32 + 16), 0x7f1000000000);
	assert_int_equal(rd64(m.payload + 8 + 32 + 24), 0x200000);
	assert_int_equal(rd64(m.payload + 8 + 2 * 32), 0);
	assert_int_equal(vu_msg_mem_table(&m, r, 9, false), 0);
	/* One region after 8 bytes of padding. */
	assert_int_equal(vu_msg_mem_reg(&m, VU_ADD_MEM_REG, &r[1], false), VU_HDR_SIZE + 40);
	assert_int_equal(rd64(m.payload), 0);
	assert_int_equal(rd64(m.payload + 8), 0x100000000);
	assert_int_equal(vu_msg_get_config(&m, 0, 60), VU_HDR_SIZE + 12 + 60);
	assert_int_equal(rd32(m.payload + 4), 60);
	assert_int_equal(vu_msg_get_config(&m, 0, 0), 0);
	assert_int_equal(vu_msg_get_config(&m, 0, VU_MAX_CONFIG + 1), 0);
	assert_string_equal(vu_request_name(VU_SET_MEM_TABLE), "SET_MEM_TABLE");
	assert_string_equal(vu_request_name(99), "?");
	assert_string_equal(vu_request_name(4), "?");
}

static void test_reply_checks(void **state)
{
	uint8_t h[VU_HDR_SIZE];
	struct vu_msg r;
	const uint8_t *data;
	uint32_t size, num;
	uint64_t v;

	/* GET_INFLIGHT_FD: 24 bytes, an area that holds every queue's part, page-aligned offset. */
	{
		struct vu_inflight ask = {.num_queues = 2, .queue_size = 128}, got;
		uint64_t part = 16 + 16 * 128;

		assert_int_equal(vu_msg_inflight(&r, VU_GET_INFLIGHT_FD, &ask, false),
				 VU_HDR_SIZE + VU_INFLIGHT_SIZE);
		assert_int_equal(r.size, VU_INFLIGHT_SIZE);
		assert_int_equal(le_get(r.payload + 16, 2), 2);
		assert_int_equal(le_get(r.payload + 18, 2), 128);
		r.size = VU_INFLIGHT_SIZE;
		le_put(r.payload, 2 * part, 8);
		le_put(r.payload + 8, 0, 8);
		assert_int_equal(vu_reply_inflight(&r, 2, 128, &got), 0);
		assert_int_equal(got.mmap_size, 2 * part);
		le_put(r.payload, 2 * part - 1, 8); /* one byte short */
		assert_int_equal(vu_reply_inflight(&r, 2, 128, &got), -EPROTO);
		le_put(r.payload, 0, 8);
		assert_int_equal(vu_reply_inflight(&r, 2, 128, &got), -EPROTO);
		le_put(r.payload, 2 * part, 8);
		le_put(r.payload + 8, 100, 8); /* not a page boundary */
		assert_int_equal(vu_reply_inflight(&r, 2, 128, &got), -EPROTO);
		le_put(r.payload + 8, UINT64_MAX & ~4095ULL, 8); /* wraps */
		assert_int_equal(vu_reply_inflight(&r, 2, 128, &got), -EPROTO);
		le_put(r.payload + 8, 0, 8);
		r.size = 20;
		assert_int_equal(vu_reply_inflight(&r, 2, 128, &got), -EPROTO);
	}

#define HDR(req, fl, sz)                                                                           \
	do {                                                                                       \
		uint32_t t_[3] = {(req), (fl), (sz)};                                              \
		memcpy(h, t_, sizeof(t_));                                                         \
	} while (0)
	HDR(VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 8);
	assert_int_equal(vu_reply_header(h, sizeof(h), VU_GET_FEATURES, &size), 0);
	assert_int_equal(size, 8);
	assert_int_equal(vu_reply_header(h, 11, VU_GET_FEATURES, &size), -EPROTO);
	assert_int_equal(vu_reply_header(h, sizeof(h), VU_GET_PROTOCOL_FEATURES, &size), -EPROTO);
	HDR(VU_GET_FEATURES, VU_VERSION, 8); /* no reply flag */
	assert_int_equal(vu_reply_header(h, sizeof(h), VU_GET_FEATURES, &size), -EPROTO);
	HDR(VU_GET_FEATURES, 2 | VU_FLAG_REPLY, 8); /* version 2 */
	assert_int_equal(vu_reply_header(h, sizeof(h), VU_GET_FEATURES, &size), -EPROTO);
	HDR(VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, VU_MAX_PAYLOAD + 1);
	assert_int_equal(vu_reply_header(h, sizeof(h), VU_GET_FEATURES, &size), -EPROTO);
	HDR(VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY | VU_FLAG_NEED_REPLY, VU_MAX_PAYLOAD);
	assert_int_equal(vu_reply_header(h, sizeof(h), VU_GET_FEATURES, &size), 0);
#undef HDR
	memset(&r, 0, sizeof(r));
	r.size = 8;
	memcpy(r.payload, &(uint64_t){0x140000000ull}, 8);
	assert_int_equal(vu_reply_u64(&r, &v), 0);
	assert_int_equal(v, 0x140000000ull);
	assert_int_equal(vu_reply_ack(&r), -EIO);
	memset(r.payload, 0, 8);
	assert_int_equal(vu_reply_ack(&r), 0);
	r.size = 4;
	assert_int_equal(vu_reply_u64(&r, &v), -EPROTO);
	assert_int_equal(vu_reply_ack(&r), -EPROTO);
	r.size = 8;
	memcpy(r.payload, (uint32_t[]){2, 77}, 8);
	assert_int_equal(vu_reply_state(&r, 2, &num), 0);
	assert_int_equal(num, 77);
	assert_int_equal(vu_reply_state(&r, 1, &num), -EPROTO);
	/* GET_CONFIG: the same offset and length back, or empty for a failure. */
	r.size = 12 + 8;
	memcpy(r.payload, (uint32_t[]){0, 8, 0}, 12);
	assert_int_equal(vu_reply_config(&r, 0, 8, &data), 0);
	assert_ptr_equal(data, r.payload + 12);
	assert_int_equal(vu_reply_config(&r, 0, 16, &data), -EPROTO);
	assert_int_equal(vu_reply_config(&r, 4, 8, &data), -EPROTO);
	r.size = 0;
	assert_int_equal(vu_reply_config(&r, 0, 8, &data), -EIO);
}

/* ---- a fake back-end that can misbehave ---- */

enum fake_mode {
	FK_GOOD,
	FK_SILENT_AT,	 /* never answers request `at` */
	FK_CLOSE_AT,	 /* closes the connection at request `at` */
	FK_WRONG_AT,	 /* answers request `at` as if it were another */
	FK_NACK_AT,	 /* REPLY_ACK 1 for request `at` */
	FK_SHORT_AT,	 /* a 4-byte payload for request `at` */
	FK_NO_PROTOCOL,	 /* no protocol features at all */
	FK_ZERO_QUEUES,	 /* GET_QUEUE_NUM 0 */
	FK_GARBAGE_FIRST /* 12 bytes of garbage before anything is asked */
};

struct fake {
	char dir[64], path[96];
	int lfd;
	enum fake_mode mode;
	uint32_t at;
	pthread_t thread;
	/* What it saw. */
	uint32_t seen[64], nseen, fds[64];
	uint64_t protocol_set, features_set;
	int stop;
};

static void fake_reply(int fd, uint32_t request, const void *payload, uint32_t size)
{
	uint8_t b[VU_HDR_SIZE + VU_MAX_PAYLOAD];
	uint32_t h[3] = {request, VU_VERSION | VU_FLAG_REPLY, size};

	memcpy(b, h, sizeof(h));
	memcpy(b + VU_HDR_SIZE, payload, size);
	/* No assert off the test's thread; a client that gave up shows in its own result. */
	if (send(fd, b, VU_HDR_SIZE + size, MSG_NOSIGNAL) < 0)
		return;
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (f->mode == FK_GARBAGE_FIRST)
		(void)!send(fd, "garbagegarbage", 12, MSG_NOSIGNAL);
	for (;;) {
		union {
			char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct vu_msg m;
		struct iovec iov = {&m, VU_HDR_SIZE};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		struct cmsghdr *cm;
		uint32_t nfd = 0, req;
		uint64_t v = 0;

		if (recvmsg(fd, &mh, MSG_WAITALL) != VU_HDR_SIZE)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			uint32_t k;

			nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (k = 0; k < nfd; k++)
				close(((int *)CMSG_DATA(cm))[k]);
		}
		if (m.size && recv(fd, m.payload, m.size, MSG_WAITALL) != (ssize_t)m.size)
			break;
		req = m.request;
		if (f->nseen < 64) {
			f->fds[f->nseen] = nfd;
			f->seen[f->nseen++] = req;
		}
		/* Read by the test while this thread runs: atomics (a socket is no fence to TSan).
		 */
		if (req == VU_SET_PROTOCOL_FEATURES)
			__atomic_store_n(&f->protocol_set, rd64(m.payload), __ATOMIC_RELEASE);
		if (req == VU_SET_FEATURES)
			__atomic_store_n(&f->features_set, rd64(m.payload), __ATOMIC_RELEASE);
		if (req == f->at && f->mode == FK_SILENT_AT) {
			while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
				usleep(1000);
			break;
		}
		if (req == f->at && f->mode == FK_CLOSE_AT)
			break;
		if (req == f->at && f->mode == FK_SHORT_AT) {
			fake_reply(fd, req, &v, 4);
			continue;
		}
		if (req == f->at && f->mode == FK_WRONG_AT)
			req = req == VU_GET_FEATURES ? VU_GET_QUEUE_NUM : VU_GET_FEATURES;
		switch (m.request) {
		case VU_GET_FEATURES:
			v = 1ull << 32 | 1ull << 28 | (f->mode == FK_NO_PROTOCOL ? 0 : 1ull << 30);
			fake_reply(fd, req, &v, 8);
			continue;
		case VU_GET_PROTOCOL_FEATURES:
			v = ~0ull; /* everything: memvisor must take only what it knows */
			fake_reply(fd, req, &v, 8);
			continue;
		case VU_GET_QUEUE_NUM:
			v = f->mode == FK_ZERO_QUEUES ? 0 : 2;
			fake_reply(fd, req, &v, 8);
			continue;
		case VU_GET_MAX_MEM_SLOTS:
			v = 32;
			fake_reply(fd, req, &v, 8);
			continue;
		case VU_GET_VRING_BASE:
			memcpy(m.payload + 4, &(uint32_t){42}, 4);
			fake_reply(fd, req, m.payload, 8);
			continue;
		case VU_GET_CONFIG:
			memset(m.payload + 12, 0xab, m.size - 12);
			fake_reply(fd, req, m.payload, m.size);
			continue;
		}
		if (m.flags & VU_FLAG_NEED_REPLY) {
			v = req == f->at && f->mode == FK_NACK_AT;
			fake_reply(fd, req, &v, 8);
		}
	}
	close(fd);
	return NULL;
}

static struct fake *fake_start(enum fake_mode mode, uint32_t at)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mv-vu-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	f->mode = mode;
	f->at = at;
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 1), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
	return f;
}

static void fake_stop(struct fake *f)
{
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
}

static void test_handshake(void **state)
{
	struct fake *f = fake_start(FK_GOOD, 0);
	struct vu_region r = {0, 2 * MiB, 0x7f0000000000, 0};
	struct vu_vring_addr a = {0, 0, 0x1000, 0x3000, 0x2000, 0};
	uint8_t cfg[16];
	uint32_t base;
	struct vu_conn c;
	char err[320];
	int efd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(vu_connect(&c, f->path, 2000, err, sizeof(err)), 0);
	/* Only the protocol features memvisor implements, however many are offered. */
	assert_int_equal(c.protocol, VU_PROTOCOL_WANTED);
	assert_int_equal(__atomic_load_n(&f->protocol_set, __ATOMIC_ACQUIRE), VU_PROTOCOL_WANTED);
	assert_int_equal(c.queues, 2);
	assert_int_equal(c.max_mem_slots, 32);
	assert_int_equal(c.features, 1ull << 32 | 1ull << 28 | 1ull << 30);
	assert_int_equal(vu_set_features(&c, 1ull << 32), 0);
	assert_int_equal(__atomic_load_n(&f->features_set, __ATOMIC_ACQUIRE),
			 1ull << 32 | 1ull << 30);
	assert_int_equal(vu_set_mem_table(&c, &r, &efd, 1), 0);
	assert_int_equal(vu_add_mem_reg(&c, &r, efd), 0);
	assert_int_equal(vu_rem_mem_reg(&c, &r), 0);
	assert_int_equal(vu_set_vring_num(&c, 0, 128), 0);
	assert_int_equal(vu_set_vring_base(&c, 0, 0), 0);
	assert_int_equal(vu_set_vring_addr(&c, &a), 0);
	assert_int_equal(vu_set_vring_fd(&c, VU_SET_VRING_KICK, 0, efd), 0);
	assert_int_equal(vu_set_vring_fd(&c, VU_SET_VRING_CALL, 0, -1), 0);
	assert_int_equal(vu_set_vring_enable(&c, 0, true), 0);
	assert_int_equal(vu_get_vring_base(&c, 0, &base), 0);
	assert_int_equal(base, 42);
	assert_int_equal(vu_get_config(&c, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(cfg[15], 0xab);
	assert_int_equal(vu_reset_device(&c), 0);
	assert_int_equal(vu_set_vring_fd(&c, VU_SET_VRING_KICK, VU_MAX_QUEUES, efd), -EINVAL);
	assert_int_equal(c.fd, -1);
	fake_stop(f);
	close(efd);
}

static void test_handshake_order_and_fds(void **state)
{
	static const uint32_t want[] = {
	    VU_GET_FEATURES,  VU_GET_PROTOCOL_FEATURES, VU_SET_PROTOCOL_FEATURES,
	    VU_SET_OWNER,     VU_GET_QUEUE_NUM,		VU_GET_MAX_MEM_SLOTS,
	    VU_SET_MEM_TABLE, VU_SET_VRING_KICK,	VU_SET_VRING_CALL};
	struct fake *f = fake_start(FK_GOOD, 0);
	struct vu_region r[2] = {{0, 2 * MiB, 0x7f0000000000, 0},
				 {4 * MiB, 2 * MiB, 0x7f0000400000, 0}};
	int fds[2] = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)};
	struct vu_conn c;
	char err[320];
	uint32_t i;

	assert_int_equal(vu_connect(&c, f->path, 2000, err, sizeof(err)), 0);
	assert_int_equal(vu_set_mem_table(&c, r, fds, 2), 0);
	assert_int_equal(vu_set_vring_fd(&c, VU_SET_VRING_KICK, 1, fds[0]), 0);
	assert_int_equal(vu_set_vring_fd(&c, VU_SET_VRING_CALL, 1, -1), 0);
	vu_close(&c); /* the fake sees the end of the stream and returns */
	pthread_join(f->thread, NULL);
	assert_int_equal(f->nseen, ARRAY_SIZE(want));
	for (i = 0; i < ARRAY_SIZE(want); i++)
		assert_int_equal(f->seen[i], want[i]);
	assert_int_equal(f->fds[6], 2); /* SET_MEM_TABLE: one fd per region */
	assert_int_equal(f->fds[7], 1); /* KICK with an eventfd */
	assert_int_equal(f->fds[8], 0); /* CALL without: the NOFD flag instead */
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	close(fds[0]);
	close(fds[1]);
}

/* Each misbehaviour: a failure naming the socket and the request, the connection closed. */
static void test_bad_backends(void **state)
{
	static const struct {
		enum fake_mode mode;
		uint32_t at;
		int ret;
		const char *words;
	} cases[] = {
	    {FK_SILENT_AT, VU_GET_FEATURES, -ETIMEDOUT, "GET_FEATURES: no reply within"},
	    {FK_SILENT_AT, VU_SET_OWNER, -ETIMEDOUT, "SET_OWNER: no reply"},
	    {FK_CLOSE_AT, VU_GET_PROTOCOL_FEATURES, -ECONNRESET, "closed the connection"},
	    {FK_WRONG_AT, VU_GET_FEATURES, -EPROTO, "GET_FEATURES: bad reply"},
	    {FK_WRONG_AT, VU_GET_MAX_MEM_SLOTS, -EPROTO, "GET_MAX_MEM_SLOTS: bad reply"},
	    {FK_SHORT_AT, VU_GET_QUEUE_NUM, -EPROTO, "GET_QUEUE_NUM: a reply of 4 bytes"},
	    {FK_NACK_AT, VU_SET_OWNER, -EIO, "SET_OWNER: the back-end refused it"},
	    {FK_ZERO_QUEUES, 0, -EPROTO, "GET_QUEUE_NUM: 0 queues"},
	    {FK_GARBAGE_FIRST, 0, -EPROTO, "GET_FEATURES: bad reply"},
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fake *f = fake_start(cases[i].mode, cases[i].at);
		struct vu_conn c;
		char err[320] = "";

		/* Long enough for a loaded sanitizer run; the silent cases wait it out. */
		assert_int_equal(vu_connect(&c, f->path, 1000, err, sizeof(err)), cases[i].ret);
		if (!strstr(err, cases[i].words) || !strstr(err, f->path))
			fail_msg("case %u: \"%s\"", i, err);
		assert_int_equal(c.fd, -1);
		fake_stop(f);
	}
}

static void test_refusals_after_handshake(void **state)
{
	struct fake *f = fake_start(FK_NACK_AT, VU_SET_MEM_TABLE);
	struct vu_region r = {0, 2 * MiB, 0x7f0000000000, 0};
	struct vu_conn c;
	char err[320];
	int efd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(vu_connect(&c, f->path, 2000, err, sizeof(err)), 0);
	assert_int_equal(vu_set_mem_table(&c, &r, &efd, 1), -EIO);
	assert_non_null(strstr(c.err, "SET_MEM_TABLE: the back-end refused it"));
	/* Closed: what follows fails at once, never on a stale stream. */
	assert_int_equal(vu_set_vring_num(&c, 0, 128), -ENOTCONN);
	fake_stop(f);
	/* Without protocol features: no REPLY_ACK, no CONFIG, no MQ. */
	f = fake_start(FK_NO_PROTOCOL, 0);
	assert_int_equal(vu_connect(&c, f->path, 2000, err, sizeof(err)), 0);
	assert_int_equal(c.protocol, 0);
	assert_int_equal(c.queues, 0);
	assert_int_equal(c.max_mem_slots, VU_MAX_FDS);
	assert_int_equal(vu_set_vring_num(&c, 0, 128), 0);
	assert_int_equal(vu_get_config(&c, 0, err, 8), -EOPNOTSUPP);
	assert_non_null(strstr(c.err, "CONFIG protocol feature"));
	fake_stop(f);
	/* No such socket; a socket nobody listens on; a path too long. */
	assert_int_equal(vu_connect(&c, "/nonexistent/vu.sock", 100, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/vu.sock"));
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = 0;
		assert_int_equal(vu_connect(&c, longp, 100, err, sizeof(err)), -ENAMETOOLONG);
	}
	{
		char dir[] = "/tmp/mv-vu-XXXXXX", path[64];
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		assert_non_null(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/s", dir);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(s); /* bound, never listening: a stale socket */
		assert_int_equal(vu_connect(&c, path, 100, err, sizeof(err)), -ECONNREFUSED);
		assert_non_null(strstr(err, "no back-end listens there"));
		unlink(path);
		rmdir(dir);
	}
	close(efd);
}

/* ---- a real back-end: qemu-storage-daemon's vhost-user-blk export ---- */

#define QSD	      "/usr/bin/qemu-storage-daemon"
#define RING_SIZE     8
#define MEM_SIZE      (2 * MiB)
#define OFF_DESC      0x0
#define OFF_AVAIL     0x1000
#define OFF_USED      0x2000
#define OFF_HDR	      0x3000
#define OFF_DATA      0x4000
#define OFF_STATUS    0x5000
#define VRING_F_WRITE 2
#define VRING_F_NEXT  1

static void put_desc(uint8_t *mem, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = mem + OFF_DESC + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static pid_t qsd_pid;

static int qsd_teardown(void **state)
{
	if (qsd_pid > 0) {
		kill(qsd_pid, SIGKILL);
		waitpid(qsd_pid, NULL, 0);
	}
	qsd_pid = 0;
	return 0;
}

static void test_qemu_storage_daemon(void **state)
{
	char dir[] = "/tmp/mv-vu-XXXXXX", img[64], sock[64], blockdev[160], exp[200];
	uint8_t sector[512], *mem;
	uint64_t capacity = 0, one = 1;
	struct vu_inflight inf;
	int infl_fd;
	struct vu_conn c;
	struct vu_region r;
	struct vu_vring_addr a;
	char err[320];
	int fd, memfd, kick, call, i, ret;
	uint16_t idx;
	pid_t pid;

	if (access(QSD, X_OK)) {
		print_message("skipped: " QSD " not found (apt-get install qemu-system-common)\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(sock, sizeof(sock), "%s/blk.sock", dir);
	fd = open(img, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	for (i = 0; i < (int)sizeof(sector); i++)
		sector[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(pwrite(fd, sector, sizeof(sector), 512), (ssize_t)sizeof(sector));
	assert_int_equal(ftruncate(fd, 8 * MiB), 0);
	close(fd);
	snprintf(blockdev, sizeof(blockdev), "driver=file,node-name=f,filename=%s", img);
	snprintf(exp, sizeof(exp),
		 "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=%s,writable=on",
		 sock);
	pid = fork();
	assert_true(pid >= 0);
	qsd_pid = pid;
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(QSD, QSD, "--blockdev", blockdev, "--export", exp, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && access(sock, F_OK); i++)
		usleep(50 * 1000);
	assert_int_equal(access(sock, F_OK), 0);

	ret = vu_connect(&c, sock, 5000, err, sizeof(err));
	if (ret)
		fail_msg("%s", err);
	/* What a vhost-user-blk back-end offers: VERSION_1, config, REPLY_ACK, slots. */
	assert_true(c.features >> 32 & 1);
	assert_true(vu_has_protocol(&c, VU_PROTOCOL_F_CONFIG));
	assert_true(vu_has_protocol(&c, VU_PROTOCOL_F_REPLY_ACK));
	assert_true(c.queues >= 1);
	assert_int_equal(vu_get_config(&c, 0, &capacity, sizeof(capacity)), 0);
	assert_int_equal(capacity, 8 * MiB / 512);
	{
		/* The whole config a vhost-user --disk reads, with memvisor's queue count. */
		uint8_t blk[VUDEV_BLK_CONFIG_LEN];

		assert_int_equal(vu_get_config(&c, 0, blk, sizeof(blk)), 0);
		assert_int_equal(le_get(blk, 8), 8 * MiB / 512);
		assert_int_equal(vudev_blk_config(blk, c.features, 1, err, sizeof(err)), 0);
		assert_int_equal(le_get(blk + VUDEV_BLK_OFF_NUM_QUEUES, 2), 1);
	}

	/* Guest memory: a memfd both processes map; the test is the driver. */
	memfd = memfd_create("mv-vu-test", MFD_CLOEXEC);
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, MEM_SIZE), 0);
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(mem != MAP_FAILED);
	r = (struct vu_region){0x100000, MEM_SIZE, (uint64_t)(uintptr_t)mem, 0};
	assert_int_equal(vu_set_features(&c, 1ull << 32), 0);
	assert_int_equal(vu_set_mem_table(&c, &r, &memfd, 1), 0);
	kick = eventfd(0, EFD_CLOEXEC);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a = (struct vu_vring_addr){
	    0, 0, r.uaddr + OFF_DESC, r.uaddr + OFF_USED, r.uaddr + OFF_AVAIL, 0};
	/* Debian 12's daemon keeps no inflight area: a disk's takeover knows nothing it held. */
	assert_false(vu_has_protocol(&c, VU_PROTOCOL_F_INFLIGHT_SHMFD));
	assert_int_equal(vu_get_inflight_fd(&c, 1, RING_SIZE, &inf, &infl_fd), -EOPNOTSUPP);
	assert_int_equal(infl_fd, -1);
	assert_int_equal(c.fd, -1); /* refused as any request is: the connection is gone */
	ret = vu_connect(&c, sock, 5000, err, sizeof(err));
	if (ret)
		fail_msg("%s", err);
	assert_int_equal(vu_set_features(&c, 1ull << 32), 0);
	assert_int_equal(vu_set_mem_table(&c, &r, &memfd, 1), 0);
	assert_int_equal(vu_set_vring_num(&c, 0, RING_SIZE), 0);
	assert_int_equal(vu_set_vring_base(&c, 0, 0), 0);
	assert_int_equal(vu_set_vring_addr(&c, &a), 0);
	assert_int_equal(vu_set_vring_fd(&c, VU_SET_VRING_KICK, 0, kick), 0);
	assert_int_equal(vu_set_vring_fd(&c, VU_SET_VRING_CALL, 0, call), 0);
	assert_int_equal(vu_set_vring_enable(&c, 0, true), 0);

	/* A read of sector 1: header (type IN, sector 1), 512 bytes, status. */
	memcpy(mem + OFF_HDR, (uint32_t[]){0, 0}, 8);
	memcpy(mem + OFF_HDR + 8, &(uint64_t){1}, 8);
	mem[OFF_STATUS] = 0xff;
	put_desc(mem, 0, 0x100000 + OFF_HDR, 16, VRING_F_NEXT, 1);
	put_desc(mem, 1, 0x100000 + OFF_DATA, 512, VRING_F_NEXT | VRING_F_WRITE, 2);
	put_desc(mem, 2, 0x100000 + OFF_STATUS, 1, VRING_F_WRITE, 0);
	memcpy(mem + OFF_AVAIL + 4, &(uint16_t){0}, 2); /* ring[0] = head 0 */
	__atomic_store_n((uint16_t *)(mem + OFF_AVAIL + 2), 1, __ATOMIC_RELEASE);
	assert_int_equal(write(kick, &one, 8), 8);
	/* Wait for the used ring (a call may also come early, at ring start). */
	for (i = 0; i < 100; i++) {
		struct pollfd p = {call, POLLIN, 0};
		uint64_t n;

		idx = __atomic_load_n((uint16_t *)(mem + OFF_USED + 2), __ATOMIC_ACQUIRE);
		if (idx)
			break;
		if (poll(&p, 1, 100) == 1)
			assert_int_equal(read(call, &n, 8), 8);
	}
	assert_int_equal(idx, 1);
	assert_int_equal(mem[OFF_STATUS], 0); /* VIRTIO_BLK_S_OK */
	assert_memory_equal(mem + OFF_DATA, sector, sizeof(sector));
	{
		uint32_t base;

		/* Stopping the ring tells where the back-end got to. */
		assert_int_equal(vu_get_vring_base(&c, 0, &base), 0);
		assert_int_equal(base, 1);
	}
	vu_close(&c);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	qsd_pid = 0;
	munmap(mem, MEM_SIZE);
	close(memfd);
	close(kick);
	close(call);
	unlink(img);
	unlink(sock);
	rmdir(dir);
}

/* The device's pure parts: the virtio-fs and disk configs, ring translation, the feature offer. */
static void test_device_pure(void **state)
{
	struct vudev_mem m = {.n = 2};
	uint8_t cfg[VUDEV_FS_CONFIG_LEN];
	uint64_t ua = 0;

	(void)state;
	vudev_fs_config("share", 3, cfg);
	assert_memory_equal(cfg, "share\0\0\0", 8);
	for (unsigned int i = 5; i < VUDEV_FS_TAG_LEN; i++)
		assert_int_equal(cfg[i], 0);
	assert_int_equal(le_get(cfg + VUDEV_FS_TAG_LEN, 4), 3);
	/* 36 bytes: no terminator, nothing past the field. */
	vudev_fs_config("abcdefghijklmnopqrstuvwxyz0123456789XYZ", 1, cfg);
	assert_memory_equal(cfg, "abcdefghijklmnopqrstuvwxyz0123456789", 36);
	assert_int_equal(le_get(cfg + VUDEV_FS_TAG_LEN, 4), 1);

	m.r[0] = (struct vu_region){.gpa = 0, .size = 0x1000, .uaddr = 0x7000000};
	m.r[1] = (struct vu_region){.gpa = 0x100000000ULL, .size = 0x2000, .uaddr = 0x9000000};
	assert_int_equal(vudev_translate(&m, 0x10, 0x20, &ua), 0);
	assert_int_equal(ua, 0x7000010);
	assert_int_equal(vudev_translate(&m, 0x100001000ULL, 0x1000, &ua), 0);
	assert_int_equal(ua, 0x9001000);
	/* Past a region's end, across two, in a hole, zero length, wrapping: refused. */
	assert_int_equal(vudev_translate(&m, 0xFF0, 0x20, &ua), -EFAULT);
	assert_int_equal(vudev_translate(&m, 0x100001000ULL, 0x1001, &ua), -EFAULT);
	assert_int_equal(vudev_translate(&m, 0x2000, 1, &ua), -EFAULT);
	assert_int_equal(vudev_translate(&m, 0x10, 0, &ua), -EFAULT);
	assert_int_equal(vudev_translate(&m, 0x100000001ULL, UINT64_MAX, &ua), -EFAULT);

	/* A disk's queue count replaces the back-end's; more than one needs its MQ. */
	{
		uint8_t blk[VUDEV_BLK_CONFIG_LEN];
		char err[160];

		memset(blk, 0xAA, sizeof(blk));
		assert_int_equal(vudev_blk_config(blk, 1ULL << VUDEV_BLK_F_MQ, 4, err, sizeof(err)),
				 0);
		assert_int_equal(le_get(blk + VUDEV_BLK_OFF_NUM_QUEUES, 2), 4);
		assert_int_equal(blk[0], 0xAA); /* the rest is the back-end's */
		assert_int_equal(vudev_blk_config(blk, 0, 1, err, sizeof(err)), 0);
		assert_int_equal(vudev_blk_config(blk, 0, 2, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "num_queues=2: the back-end offers one queue only"));
	}

	/* Device bits, VERSION_1 and the ring bits pass; PROTOCOL_FEATURES, packed, legacy do not.
	 */
	assert_int_equal(vudev_offer(1ULL << 32 | 1ULL << 30 | 1ULL << 34 | 1ULL << 27 |
				     1ULL << 28 | 1ULL << 29 | 0x3),
			 1ULL << 32 | 1ULL << 28 | 1ULL << 29 | 0x3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builders),
	    cmocka_unit_test(test_device_pure),
	    cmocka_unit_test(test_reply_checks),
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_handshake_order_and_fds),
	    cmocka_unit_test(test_bad_backends),
	    cmocka_unit_test(test_refusals_after_handshake),
	    cmocka_unit_test_teardown(test_qemu_storage_daemon, qsd_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
