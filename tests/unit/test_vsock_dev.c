/*
 * Unit tests for the virtio-vsock device (virtio/vsock.h) with real Unix
 * sockets and the event loop, the fake driver standing in for the guest:
 * a host client's CONNECT and the guest's answer, data both ways, the
 * shutdowns and resets that end a connection, a guest connecting to a
 * host listener ("<path>_<port>") or to nothing, credit in both
 * directions (the device never sends past the guest's buffer; a guest
 * that sends past the device's is reset), hostile packets and buffers,
 * the TRANSPORT_RESET event of a restore and the saved section.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "virtio/pci.h"
#include "virtio/vsock.h"
#include "virtio/vsock_save.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x200000ULL
#define RXBASE	 (MEM_GPA + 0x40000)
#define RXBUF	 (VSOCK_HDR_SIZE + 4096) /* Linux's receive buffer */
#define TXBASE	 (MEM_GPA + 0x100000)
#define TXSLOT	 0x12000
#define CID	 42

struct rig {
	struct fake_gmem fm;
	struct fake_pci fp;
	struct loop loop;
	struct vsock v;
	struct virtio_pci vp;
	struct vqd d[3];
	int lfd;
	char dir[32], path[108];
	uint64_t rxgpa[VSOCK_QUEUE_SIZE];
	unsigned int rxn, txn;
};

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void rig_up(struct rig *g)
{
	struct vsock_params prm = {.cid = CID};
	struct vdrv_queue qs[3];

	mv_log_set_quiet(true);
	memset(g, 0, sizeof(*g));
	snprintf(g->dir, sizeof(g->dir), "/tmp/vsockXXXXXX");
	assert_non_null(mkdtemp(g->dir));
	snprintf(g->path, sizeof(g->path), "%s/v.sock", g->dir);
	g->lfd = listen_at(g->path);
	prm.listen_fd = g->lfd;
	prm.path = g->path;
	assert_int_equal(loop_init(&g->loop), 0);
	fake_gmem_init(&g->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&g->fp);
	assert_int_equal(vsock_init(&g->v, &prm, &g->fm.map, &g->loop), 0);
	assert_int_equal(virtio_pci_init(&g->vp, &g->v.vdev, &g->fp.h, NULL, "vsock0"), 0);
	for (unsigned int i = 0; i < 3; i++) {
		vqd_init(&g->d[i], &g->fm, MEM_GPA + i * 0x8000, VSOCK_QUEUE_SIZE);
		qs[i] = vdrv_queue_of(&g->d[i], i);
	}
	assert_int_equal(vdrv_bring_up(&g->fp, &g->vp, VDRV_VERSION_1, qs, 3), 0xF);
}

static void rig_down(struct rig *g)
{
	char cmd[64];

	virtio_pci_destroy(&g->vp);
	vsock_destroy(&g->v);
	close(g->lfd);
	loop_destroy(&g->loop);
	fake_pci_free(&g->fp);
	fake_gmem_free(&g->fm);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g->dir);
	assert_int_equal(system(cmd), 0);
}

/* The loop's rounds until nothing is ready for a while. */
static void pump(struct rig *g)
{
	for (int idle = 0; idle < 3;)
		idle = loop_run_once(&g->loop, 5) > 0 ? 0 : idle + 1;
}

static void kick(struct rig *g, unsigned int q)
{
	vdrv_wr(&g->fp, &g->vp, VIRTIO_PCI_NOTIFY_OFF + 4 * q, 2, q);
}

static void rx_post_len(struct rig *g, unsigned int n, uint32_t len)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = RXBASE + (g->rxn++ % 64) * 0x2000;
		uint16_t head = vqd_add(&g->d[VSOCK_RXQ], (struct vqd_buf[]){{gpa, len, true}}, 1);

		g->rxgpa[head] = gpa;
	}
	kick(g, VSOCK_RXQ);
}

static void rx_post(struct rig *g, unsigned int n)
{
	rx_post_len(g, n, RXBUF);
}

/* The next packet the device put in a receive buffer: its payload length, -1 for none. */
static int rx_get(struct rig *g, struct vsock_hdr *h, uint8_t *data)
{
	uint32_t id, len;
	uint8_t *p;

	if (!vqd_get_used(&g->d[VSOCK_RXQ], &id, &len))
		return -1;
	assert_true(len >= VSOCK_HDR_SIZE);
	p = g->fm.buf + (g->rxgpa[id] - MEM_GPA);
	vsock_hdr_get(p, h);
	assert_int_equal(h->len, len - VSOCK_HDR_SIZE);
	assert_int_equal(h->src_cid, VSOCK_HOST_CID);
	assert_int_equal(h->dst_cid, CID);
	assert_int_equal(h->type, VSOCK_TYPE_STREAM);
	if (data)
		memcpy(data, p + VSOCK_HDR_SIZE, h->len);
	return h->len;
}

static void expect_op(struct rig *g, uint16_t op, uint32_t host_port, uint32_t guest_port)
{
	struct vsock_hdr h;

	assert_true(rx_get(g, &h, NULL) >= 0);
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_port, host_port);
	assert_int_equal(h.dst_port, guest_port);
}

/* The guest sends a packet (its header as given: a hostile one too). */
static void tx_raw(struct rig *g, const struct vsock_hdr *h, const void *data, uint32_t len)
{
	uint64_t gpa = TXBASE + (g->txn++ % 8) * TXSLOT;

	vsock_hdr_put(g->fm.buf + (gpa - MEM_GPA), h);
	if (data)
		memcpy(g->fm.buf + (gpa - MEM_GPA) + VSOCK_HDR_SIZE, data, len);
	vqd_add(&g->d[VSOCK_TXQ], (struct vqd_buf[]){{gpa, VSOCK_HDR_SIZE + len, false}}, 1);
	kick(g, VSOCK_TXQ);
}

static void tx(struct rig *g, uint16_t op, uint32_t host_port, uint32_t guest_port, uint32_t flags,
	       uint32_t buf_alloc, uint32_t fwd_cnt, const void *data, uint32_t len)
{
	struct vsock_hdr h = {.src_cid = CID,
			      .dst_cid = VSOCK_HOST_CID,
			      .src_port = guest_port,
			      .dst_port = host_port,
			      .len = len,
			      .type = VSOCK_TYPE_STREAM,
			      .op = op,
			      .flags = flags,
			      .buf_alloc = buf_alloc,
			      .fwd_cnt = fwd_cnt};

	tx_raw(g, &h, data, len);
}

static void read_exact(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);

		assert_true(r > 0);
		got += r;
	}
}

/* A host client's connection to guest port 1234, accepted: the client fd and the host port. */
static int host_connect(struct rig *g, uint32_t buf_alloc, uint32_t *port)
{
	struct vsock_hdr h;
	char ok[32], want[32];
	int fd = connect_to(g->path);

	rx_post(g, 8);
	assert_int_equal(write(fd, "CONNECT 1234\n", 13), 13);
	pump(g);
	assert_int_equal(rx_get(g, &h, NULL), 0);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 1234);
	assert_true(h.src_port >= VSOCK_LOCAL_PORT_BASE);
	assert_int_equal(h.buf_alloc, VSOCK_CONN_BUF);
	*port = h.src_port;
	tx(g, VSOCK_OP_RESPONSE, *port, 1234, 0, buf_alloc, 0, NULL, 0);
	pump(g);
	snprintf(want, sizeof(want), "OK %u\n", *port);
	read_exact(fd, ok, strlen(want));
	assert_memory_equal(ok, want, strlen(want));
	return fd;
}

static void test_host_connect(void **state)
{
	struct rig g;
	struct vsock_hdr h;
	uint8_t data[64];
	uint32_t port;
	char buf[8];
	int fd;

	rig_up(&g);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF, 4), CID);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 4, 4), 0);
	fd = host_connect(&g, 65536, &port);
	assert_int_equal(vsock_nr_conns(&g.v), 1);
	/* Host to guest. */
	assert_int_equal(write(fd, "hello", 5), 5);
	pump(&g);
	assert_int_equal(rx_get(&g, &h, data), 5);
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_memory_equal(data, "hello", 5);
	assert_int_equal(h.fwd_cnt, 0);
	/* Guest to host. */
	tx(&g, VSOCK_OP_RW, port, 1234, 0, 65536, 5, "world", 5);
	pump(&g);
	read_exact(fd, buf, 5);
	assert_memory_equal(buf, "world", 5);
	/* The client half-closes: the guest hears SHUTDOWN(SEND) and can still send. */
	shutdown(fd, SHUT_WR);
	pump(&g);
	assert_int_equal(rx_get(&g, &h, NULL), 0);
	assert_int_equal(h.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_SEND);
	tx(&g, VSOCK_OP_RW, port, 1234, 0, 65536, 5, "bye", 3);
	pump(&g);
	read_exact(fd, buf, 3);
	assert_memory_equal(buf, "bye", 3);
	/* The guest closes: reset, and the client sees EOF. */
	tx(&g, VSOCK_OP_SHUTDOWN, port, 1234, VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV, 65536, 5,
	   NULL, 0);
	pump(&g);
	expect_op(&g, VSOCK_OP_RST, port, 1234);
	assert_int_equal(read(fd, buf, 1), 0);
	assert_int_equal(vsock_nr_conns(&g.v), 0);
	/* The guest refuses a second one. */
	close(fd);
	fd = connect_to(g.path);
	assert_int_equal(write(fd, "CONNECT 99\n", 11), 11);
	pump(&g);
	assert_int_equal(rx_get(&g, &h, NULL), 0);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	tx(&g, VSOCK_OP_RST, h.src_port, 99, 0, 0, 0, NULL, 0);
	pump(&g);
	assert_int_equal(read(fd, buf, 1), 0);
	assert_int_equal(vsock_nr_conns(&g.v), 0);
	close(fd);
	rig_down(&g);
}

static void test_guest_connect(void **state)
{
	struct rig g;
	struct vsock_hdr h;
	char lpath[128], buf[8];
	uint8_t data[8];
	int lfd, fd;

	rig_up(&g);
	snprintf(lpath, sizeof(lpath), "%s_5000", g.path);
	lfd = listen_at(lpath);
	rx_post(&g, 8);
	tx(&g, VSOCK_OP_REQUEST, 5000, 777, 0, 65536, 0, NULL, 0);
	pump(&g);
	expect_op(&g, VSOCK_OP_RESPONSE, 5000, 777);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	tx(&g, VSOCK_OP_RW, 5000, 777, 0, 65536, 0, "ping", 4);
	pump(&g);
	read_exact(fd, buf, 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(write(fd, "pong", 4), 4);
	pump(&g);
	assert_int_equal(rx_get(&g, &h, data), 4);
	assert_memory_equal(data, "pong", 4);
	assert_int_equal(h.fwd_cnt, 4);
	/* The host closes entirely: SHUTDOWN(SEND), then the guest's full shutdown, a reset. */
	close(fd);
	pump(&g);
	expect_op(&g, VSOCK_OP_SHUTDOWN, 5000, 777);
	tx(&g, VSOCK_OP_SHUTDOWN, 5000, 777, VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV, 65536, 4,
	   NULL, 0);
	pump(&g);
	expect_op(&g, VSOCK_OP_RST, 5000, 777);
	/* Nothing listens on 5001: reset. */
	tx(&g, VSOCK_OP_REQUEST, 5001, 778, 0, 65536, 0, NULL, 0);
	pump(&g);
	expect_op(&g, VSOCK_OP_RST, 5001, 778);
	assert_int_equal(vsock_nr_conns(&g.v), 0);
	close(lfd);
	unlink(lpath);
	rig_down(&g);
}

/* The device sends the guest no more than it advertised, and resumes at its credit update. */
static void test_credit_to_guest(void **state)
{
	static uint8_t big[5000], got[5000];
	struct rig g;
	struct vsock_hdr h;
	uint32_t port, total = 0;
	int fd, n;

	rig_up(&g);
	for (unsigned int i = 0; i < sizeof(big); i++)
		big[i] = i * 7;
	fd = host_connect(&g, 1000, &port);
	assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	rx_post(&g, 8);
	pump(&g);
	while ((n = rx_get(&g, &h, got + total)) > 0)
		total += n;
	assert_int_equal(total, 1000);
	/* Credit requested: the device answers with its own. */
	tx(&g, VSOCK_OP_CREDIT_REQUEST, port, 1234, 0, 1000, 0, NULL, 0);
	pump(&g);
	assert_int_equal(rx_get(&g, &h, NULL), 0);
	assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
	/* The guest consumed it all and has room for the rest. */
	tx(&g, VSOCK_OP_CREDIT_UPDATE, port, 1234, 0, 8192, 1000, NULL, 0);
	pump(&g);
	while ((n = rx_get(&g, &h, got + total)) > 0)
		total += n;
	assert_int_equal(total, sizeof(big));
	assert_memory_equal(got, big, sizeof(big));
	close(fd);
	rig_down(&g);
}

/* A guest that sends past the device's buffer while the host does not read is reset. */
static void test_credit_from_guest(void **state)
{
	static uint8_t chunk[VSOCK_MAX_PAYLOAD];
	struct rig g;
	struct vsock_hdr h;
	uint32_t port;
	bool rst = false;
	int fd;

	rig_up(&g);
	fd = host_connect(&g, 65536, &port);
	rx_post(&g, 32);
	for (unsigned int i = 0; i < 64 && !rst; i++) {
		tx(&g, VSOCK_OP_RW, port, 1234, 0, 65536, 0, chunk, sizeof(chunk));
		pump(&g);
		while (rx_get(&g, &h, NULL) >= 0)
			rst |= h.op == VSOCK_OP_RST;
	}
	assert_true(rst);
	assert_int_equal(vsock_nr_conns(&g.v), 0);
	assert_true(g.v.st.tx_errors > 0);
	assert_int_equal(g.v.vdev.status & VIRTIO_STATUS_NEEDS_RESET, 0);
	close(fd);
	rig_down(&g);
}

/* The guest closes with bytes the host has not taken yet: they are written first, then the reset.
 */
static void test_close_drains(void **state)
{
	static uint8_t chunk[VSOCK_MAX_PAYLOAD], got[4 * VSOCK_MAX_PAYLOAD];
	struct rig g;
	struct vsock_hdr h;
	uint32_t port;
	size_t total = 0;
	ssize_t r;
	bool rst = false;
	int fd;

	rig_up(&g);
	fd = host_connect(&g, 65536, &port);
	rx_post(&g, 16);
	for (unsigned int i = 0; i < 4; i++) {
		memset(chunk, i + 1, sizeof(chunk));
		tx(&g, VSOCK_OP_RW, port, 1234, 0, 65536, 0, chunk, sizeof(chunk));
	}
	tx(&g, VSOCK_OP_SHUTDOWN, port, 1234, VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV, 65536, 0,
	   NULL, 0);
	pump(&g);
	while (rx_get(&g, &h, NULL) >= 0)
		rst |= h.op == VSOCK_OP_RST;
	/* The socket's buffer is smaller than what the guest sent: the device still holds some. */
	assert_false(rst);
	assert_int_equal(vsock_nr_conns(&g.v), 1);
	while ((r = read(fd, got + total, sizeof(got) - total)) > 0) {
		total += r;
		pump(&g);
	}
	assert_int_equal(r, 0);
	assert_int_equal(total, sizeof(got));
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(got[i * VSOCK_MAX_PAYLOAD + 7], i + 1);
	while (rx_get(&g, &h, NULL) >= 0)
		rst |= h.op == VSOCK_OP_RST;
	assert_true(rst);
	assert_int_equal(vsock_nr_conns(&g.v), 0);
	close(fd);
	rig_down(&g);
}

static void test_hostile(void **state)
{
	struct rig g;
	struct vsock_hdr h = {.src_cid = 7, .dst_cid = VSOCK_HOST_CID, .type = 1, .op = 5};
	char buf[64];
	int fd;

	rig_up(&g);
	rx_post(&g, 8);
	/* Another guest's CID: no answer at all. */
	tx_raw(&g, &h, NULL, 0);
	/* A header shorter than its size. */
	vqd_add(&g.d[VSOCK_TXQ], (struct vqd_buf[]){{TXBASE, 10, false}}, 1);
	kick(&g, VSOCK_TXQ);
	/* A length past the chain, a payload on a control op, an unknown op: reset. */
	h.src_cid = CID;
	h.src_port = 1;
	h.dst_port = 2;
	h.len = 100;
	tx_raw(&g, &h, NULL, 10);
	h.op = VSOCK_OP_RESPONSE;
	h.len = 4;
	tx_raw(&g, &h, "abcd", 4);
	h.op = 99;
	h.len = 0;
	tx_raw(&g, &h, NULL, 0);
	/* Data for no connection: reset. */
	tx(&g, VSOCK_OP_RW, 3000, 9, 0, 0, 0, "x", 1);
	/* A reset for no connection: nothing. */
	tx(&g, VSOCK_OP_RST, 3000, 9, 0, 0, 0, NULL, 0);
	pump(&g);
	for (int i = 0; i < 3; i++)
		expect_op(&g, VSOCK_OP_RST, 2, 1);
	expect_op(&g, VSOCK_OP_RST, 3000, 9);
	assert_int_equal(rx_get(&g, &h, NULL), -1);
	/* Receive buffers too small for a header are handed back empty. */
	rx_post_len(&g, 2, 8);
	fd = connect_to(g.path);
	/* A bad CONNECT line, and one too long: the client is hung up on. */
	assert_int_equal(write(fd, "CONNECT x\n", 10), 10);
	pump(&g);
	assert_true(read(fd, buf, sizeof(buf)) <= 0); /* EOF, or ECONNRESET for the unread line */
	close(fd);
	fd = connect_to(g.path);
	memset(buf, '1', sizeof(buf));
	memcpy(buf, "CONNECT ", 8);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	pump(&g);
	assert_true(read(fd, buf, sizeof(buf)) <= 0); /* EOF, or ECONNRESET for the unread line */
	close(fd);
	assert_int_equal(g.v.st.refused, 2);
	assert_int_equal(g.v.vdev.status & VIRTIO_STATUS_NEEDS_RESET, 0);
	assert_int_equal(vsock_nr_conns(&g.v), 0);
	rig_down(&g);
}

/* A virtio reset ends every connection; the host client sees EOF. */
static void test_reset(void **state)
{
	struct rig g;
	uint32_t port;
	char c;
	int fd;

	rig_up(&g);
	fd = host_connect(&g, 65536, &port);
	vdrv_reset(&g.fp, &g.vp);
	assert_int_equal(vsock_nr_conns(&g.v), 0);
	assert_int_equal(read(fd, &c, 1), 0);
	close(fd);
	rig_down(&g);
}

/* A restore: the event queue carries TRANSPORT_RESET; the section checks the CID. */
static void test_restore(void **state)
{
	struct mv_state_writer w;
	struct mv_state_section sec;
	struct rig g;
	uint32_t id, len, port;
	char err[256];
	int fd;

	rig_up(&g);
	fd = host_connect(&g, 65536, &port);
	mv_sw_init(&w);
	vsock_save(&g.v, "vsock0", &w);
	assert_int_equal(mv_state_find(w.buf, w.len, "virtio-vsock.vsock0", &sec, err, sizeof(err)),
			 0);
	assert_int_equal(vsock_load(&g.v, "vsock0", &sec, err, sizeof(err)), 0);
	vqd_add(&g.d[VSOCK_EVQ], (struct vqd_buf[]){{RXBASE - 0x1000, 8, true}}, 1);
	vsock_restored(&g.v);
	assert_int_equal(vsock_nr_conns(&g.v), 0);
	assert_int_equal(vqd_get_used(&g.d[VSOCK_EVQ], &id, &len), 1);
	assert_int_equal(len, 4);
	assert_int_equal(le_get(g.fm.buf + (RXBASE - 0x1000 - MEM_GPA), 4),
			 VSOCK_EVENT_TRANSPORT_RESET);
	g.v.cid = CID + 1;
	assert_int_equal(vsock_load(&g.v, "vsock0", &sec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "guest_cid"));
	g.v.cid = CID;
	mv_sw_free(&w);
	close(fd);
	rig_down(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_connect),    cmocka_unit_test(test_guest_connect),
	    cmocka_unit_test(test_credit_to_guest), cmocka_unit_test(test_credit_from_guest),
	    cmocka_unit_test(test_close_drains),    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_reset),	    cmocka_unit_test(test_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
