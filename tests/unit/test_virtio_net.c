/*
 * Unit tests for virtio/net over a SOCK_SEQPACKET socket standing in for
 * the tap (one read, one frame): config and features, frames both ways
 * with their headers cleaned, frames kept while the driver has no buffer
 * and delivered at its kick, a frame too large for its buffer dropped, a
 * reset dropping the kept frame, a paused device receiving nothing until
 * it resumes, and hostile chains (too short, writable, outside memory).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "virtio/net.h"
#include "virtio/net_save.h"
#include "virtio/pci.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x100000ULL
#define BUF	 (MEM_GPA + 0x40000)
#define QSIZE	 16

struct rig {
	struct fake_gmem fm;
	struct fake_pci fp;
	struct vnet n;
	struct virtio_pci vp;
	struct vqd d[2];
	int host; /* the "tap" side */
};

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

#define FEATURES (VDRV_VERSION_1 | 1ULL << VNET_F_MAC | 1ULL << VNET_F_STATUS)

static unsigned int offloads_set = ~0u, offload_calls;
static int offload_fail;

static int fake_set_offloads(struct vnet *n, unsigned int off)
{
	offload_calls++;
	offloads_set = off;
	return offload_fail;
}

/* A device (offering offloads or not) the driver brings up with these features. */
static uint8_t rig_up_with(struct rig *g, unsigned int mtu, bool offloads, uint64_t features)
{
	struct vnet_params prm = {.mtu = mtu,
				  .queue_size = QSIZE,
				  .offloads = offloads,
				  .set_offloads = offloads ? fake_set_offloads : NULL};
	struct vdrv_queue qs[2];
	int sv[2];

	mv_log_set_quiet(true);
	offloads_set = ~0u;
	offload_calls = 0;
	offload_fail = 0;
	memcpy(prm.mac, MAC, 6);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	prm.fd = sv[0];
	g->host = sv[1];
	fake_gmem_init(&g->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&g->fp);
	assert_int_equal(vnet_init(&g->n, &prm, &g->fm.map, NULL), 0);
	assert_int_equal(virtio_pci_init(&g->vp, &g->n.vdev, &g->fp.h, NULL, "net0"), 0);
	for (unsigned int i = 0; i < 2; i++) {
		vqd_init(&g->d[i], &g->fm, MEM_GPA + i * 0x8000, QSIZE);
		qs[i] = vdrv_queue_of(&g->d[i], i);
	}
	return vdrv_bring_up(&g->fp, &g->vp, features, qs, 2);
}

static void rig_up(struct rig *g, unsigned int mtu)
{
	assert_int_equal(rig_up_with(g, mtu, false, FEATURES), 0xF);
}

static void rig_down(struct rig *g)
{
	int fd = g->n.rx_w.fd;

	virtio_pci_destroy(&g->vp);
	vnet_destroy(&g->n);
	close(fd);
	close(g->host);
	fake_pci_free(&g->fp);
	fake_gmem_free(&g->fm);
}

static uint8_t *gp(struct rig *g, uint64_t gpa)
{
	return g->fm.buf + (gpa - MEM_GPA);
}

static void kick(struct rig *g, unsigned int q)
{
	vdrv_wr(&g->fp, &g->vp, VIRTIO_PCI_NOTIFY_OFF + 4 * q, 2, q);
}

static uint8_t dev_status(struct rig *g)
{
	return vdrv_rd(&g->fp, &g->vp, VIRTIO_PCI_STATUS, 1);
}

/* A frame of len bytes (header included) from the host, DATA_VALID and junk in its header. */
static void host_send(struct rig *g, size_t len, uint8_t seed)
{
	uint8_t f[2048];

	assert_true(len <= sizeof(f));
	for (size_t i = 0; i < len; i++)
		f[i] = seed + i;
	memset(f, 0xAB, VNET_HDR_SIZE);
	f[0] = VNET_HDR_F_DATA_VALID;
	f[1] = VNET_GSO_NONE;
	assert_int_equal(write(g->host, f, len), (ssize_t)len);
}

static void expect_used(struct rig *g, unsigned int q, uint16_t head, uint32_t len)
{
	uint32_t id, l;

	assert_int_equal(vqd_get_used(&g->d[q], &id, &l), 1);
	assert_int_equal(id, head);
	assert_int_equal(l, len);
}

/* A received frame at gpa: header cleaned (num_buffers 1), the frame as sent. */
static void expect_frame(struct rig *g, uint64_t gpa, size_t len, uint8_t seed)
{
	uint8_t hdr[VNET_HDR_SIZE] = {0};

	hdr[10] = 1;
	assert_memory_equal(gp(g, gpa), hdr, VNET_HDR_SIZE);
	for (size_t i = VNET_HDR_SIZE; i < len; i++)
		assert_int_equal(*gp(g, gpa + i), (uint8_t)(seed + i));
}

static uint16_t rx_buffer(struct rig *g, uint64_t gpa, uint32_t len)
{
	return vqd_add(&g->d[VNET_RXQ], (struct vqd_buf[]){{gpa, len, true}}, 1);
}

static void test_config(void **state)
{
	struct rig g;
	struct vnet n;
	struct fake_gmem fm;
	struct vnet_params p = {.queue_size = 12, .fd = 0};

	rig_up(&g, 0);
	assert_int_equal(pci_cfg_read(&g.fp.h, g.vp.pci.slot, 0, 2, 2), 0x1040 + VIRTIO_ID_NET);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + i, 1), MAC[i]);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 6, 2), VNET_S_LINK_UP);
	assert_false(g.n.vdev.host_features >> VNET_F_MTU & 1);
	assert_false(g.n.vdev.host_features & 1); /* no checksum offload */
	rig_down(&g);
	rig_up(&g, 9000);
	assert_true(g.n.vdev.host_features >> VNET_F_MTU & 1);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 10, 2), 9000);
	rig_down(&g);
	/* Bad parameters. */
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	assert_int_equal(vnet_init(&n, &p, &fm.map, NULL), -EINVAL);
	p.queue_size = 16;
	p.mtu = 67;
	assert_int_equal(vnet_init(&n, &p, &fm.map, NULL), -EINVAL);
	p.mtu = 0;
	p.fd = -1;
	assert_int_equal(vnet_init(&n, &p, &fm.map, NULL), -EINVAL);
	fake_gmem_free(&fm);
}

/* flags, gso_type, then 0x11 in every other byte (hdr_len ... num_buffers). */
static void hdr_of(uint8_t h[VNET_HDR_SIZE], uint8_t flags, uint8_t gso)
{
	memset(h, 0x11, VNET_HDR_SIZE);
	h[0] = flags;
	h[1] = gso;
}

static void test_check_hdr(void **state)
{
	const uint64_t all = VNET_OFFLOAD_FEATURES;
	uint8_t h[VNET_HDR_SIZE];

	/* Nothing negotiated: no checksum request, no GSO; DATA_VALID and junk cleared. */
	hdr_of(h, VNET_HDR_F_DATA_VALID | 0xF0, VNET_GSO_NONE);
	assert_int_equal(vnet_check_hdr(h, 0, false), 0);
	for (unsigned int i = 0; i < VNET_HDR_SIZE; i++)
		assert_int_equal(h[i], 0);
	hdr_of(h, VNET_HDR_F_DATA_VALID, VNET_GSO_NONE);
	assert_int_equal(vnet_check_hdr(h, 0, true), 0);
	assert_int_equal(h[0], 0);
	assert_int_equal(le_get(h + 10, 2), 1);
	hdr_of(h, VNET_HDR_F_NEEDS_CSUM, VNET_GSO_NONE);
	assert_int_equal(vnet_check_hdr(h, 0, false), -EINVAL);
	assert_int_equal(vnet_check_hdr(h, 0, true), -EINVAL);
	hdr_of(h, VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV4);
	assert_int_equal(vnet_check_hdr(h, 1ULL << VNET_F_CSUM, false), -EINVAL); /* no TSO4 */
	/* Each direction by its own features. */
	assert_int_equal(vnet_check_hdr(h, 1ULL << VNET_F_CSUM | 1ULL << VNET_F_HOST_TSO4, true),
			 -EINVAL);
	/* A TSO frame with everything negotiated: its fields kept, num_buffers set. */
	hdr_of(h, VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV6);
	assert_int_equal(vnet_check_hdr(h, all, false), 0);
	assert_int_equal(h[0], VNET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h[1], VNET_GSO_TCPV6);
	for (unsigned int i = 2; i < 10; i++)
		assert_int_equal(h[i], 0x11);
	assert_int_equal(le_get(h + 10, 2), 0);
	hdr_of(h, VNET_HDR_F_NEEDS_CSUM | VNET_HDR_F_DATA_VALID, VNET_GSO_TCPV4);
	assert_int_equal(vnet_check_hdr(h, all, true), 0);
	assert_int_equal(h[0], VNET_HDR_F_NEEDS_CSUM | VNET_HDR_F_DATA_VALID);
	assert_int_equal(le_get(h + 10, 2), 1);
	/* UDP and ECN are never offered. */
	hdr_of(h, VNET_HDR_F_NEEDS_CSUM, 3);
	assert_int_equal(vnet_check_hdr(h, all, false), -EINVAL);
	hdr_of(h, VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV4 | 0x80);
	assert_int_equal(vnet_check_hdr(h, all, false), -EINVAL);
	/* A partial checksum without GSO keeps its offsets, loses the GSO sizes. */
	hdr_of(h, VNET_HDR_F_NEEDS_CSUM, VNET_GSO_NONE);
	assert_int_equal(vnet_check_hdr(h, all, false), 0);
	assert_int_equal(le_get(h + 2, 4), 0);
	assert_int_equal(le_get(h + 6, 4), 0x11111111);
}

#define OFFLOADS_ALL (FEATURES | VNET_OFFLOAD_FEATURES)

/*
 * Offloads: the tap is told what the driver accepted, and a reset takes
 * it back; a TSO frame crosses both ways with its header; a driver that
 * asks segmentation without its checksum offload, or a tap that refuses,
 * gets no FEATURES_OK.
 */
static void test_offloads(void **state)
{
	struct rig g;
	uint8_t f[300], got[400];
	uint16_t h;

	assert_int_equal(rig_up_with(&g, 0, true, OFFLOADS_ALL), 0xF);
	assert_int_equal(offloads_set, VNET_OFF_CSUM | VNET_OFF_TSO4 | VNET_OFF_TSO6);
	assert_true((g.n.vdev.host_features & VNET_OFFLOAD_FEATURES) == VNET_OFFLOAD_FEATURES);
	/* Guest to host: a TCP segment with a partial checksum. */
	hdr_of(gp(&g, BUF), VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV4);
	memset(gp(&g, BUF + VNET_HDR_SIZE), 0x5A, 200);
	h = vqd_add(&g.d[VNET_TXQ], (struct vqd_buf[]){{BUF, VNET_HDR_SIZE + 200, false}}, 1);
	kick(&g, VNET_TXQ);
	expect_used(&g, VNET_TXQ, h, 0);
	assert_int_equal(read(g.host, got, sizeof(got)), VNET_HDR_SIZE + 200);
	assert_int_equal(got[1], VNET_GSO_TCPV4);
	assert_int_equal(le_get(got + 4, 2), 0x1111); /* gso_size kept */
	/* Host to guest. */
	memset(f, 0x33, sizeof(f));
	hdr_of(f, VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV6);
	assert_int_equal(write(g.host, f, sizeof(f)), sizeof(f));
	h = rx_buffer(&g, BUF + 0x1000, 1526);
	kick(&g, VNET_RXQ);
	expect_used(&g, VNET_RXQ, h, sizeof(f));
	assert_int_equal(*gp(&g, BUF + 0x1000 + 1), VNET_GSO_TCPV6);
	assert_int_equal(le_get(gp(&g, BUF + 0x1000 + 10), 2), 1);
	vdrv_reset(&g.fp, &g.vp);
	assert_int_equal(offloads_set, 0);
	rig_down(&g);

	/* Checksum only: the tap may send partial checksums, no segments. */
	assert_int_equal(rig_up_with(&g, 0, true, FEATURES | 1ULL << VNET_F_GUEST_CSUM), 0xF);
	assert_int_equal(offloads_set, VNET_OFF_CSUM);
	rig_down(&g);
	/* HOST_TSO4 without CSUM, GUEST_TSO6 without GUEST_CSUM: refused, the tap untouched. */
	assert_false(rig_up_with(&g, 0, true, FEATURES | 1ULL << VNET_F_HOST_TSO4) & 8);
	assert_int_equal(offload_calls, 0);
	rig_down(&g);
	assert_false(rig_up_with(&g, 0, true, FEATURES | 1ULL << VNET_F_GUEST_TSO6) & 8);
	assert_int_equal(offload_calls, 0);
	rig_down(&g);
	/* A tap that refuses them. */
	{
		struct vdrv_queue qs[2];

		assert_int_equal(rig_up_with(&g, 0, true, FEATURES), 0xF);
		offload_fail = -EINVAL;
		vdrv_reset(&g.fp, &g.vp);
		for (unsigned int i = 0; i < 2; i++)
			qs[i] = vdrv_queue_of(&g.d[i], i);
		assert_false(vdrv_bring_up(&g.fp, &g.vp, OFFLOADS_ALL, qs, 2) & 8);
	}
	rig_down(&g);
}

/* A frame over two descriptors reaches the host whole, its header cleaned. */
static void test_tx(void **state)
{
	struct rig g;
	uint8_t got[256];
	uint16_t h;

	rig_up(&g, 0);
	memset(gp(&g, BUF), 0x77, VNET_HDR_SIZE); /* junk where no offload is negotiated */
	*gp(&g, BUF) = VNET_HDR_F_DATA_VALID;
	*gp(&g, BUF + 1) = VNET_GSO_NONE;
	for (unsigned int i = 0; i < 60; i++)
		*gp(&g, BUF + 0x100 + i) = i;
	h = vqd_add(&g.d[VNET_TXQ],
		    (struct vqd_buf[]){{BUF, VNET_HDR_SIZE, false}, {BUF + 0x100, 60, false}}, 2);
	kick(&g, VNET_TXQ);
	expect_used(&g, VNET_TXQ, h, 0);
	assert_int_equal(read(g.host, got, sizeof(got)), VNET_HDR_SIZE + 60);
	for (unsigned int i = 0; i < VNET_HDR_SIZE; i++)
		assert_int_equal(got[i], 0);
	for (unsigned int i = 0; i < 60; i++)
		assert_int_equal(got[VNET_HDR_SIZE + i], i);
	assert_int_equal(g.n.st.tx_packets, 1);
	assert_int_equal(g.n.st.tx_bytes, 60);
	rig_down(&g);
}

/* Chains that are no frame are returned and counted; the device goes on. */
static void test_tx_malformed(void **state)
{
	struct rig g;
	uint8_t got[256];
	uint16_t h1, h2, h3;

	rig_up(&g, 0);
	h1 = vqd_add(&g.d[VNET_TXQ], (struct vqd_buf[]){{BUF, 20, false}}, 1);
	h2 = vqd_add(&g.d[VNET_TXQ], (struct vqd_buf[]){{BUF, 100, false}, {BUF + 0x100, 10, true}},
		     2);
	h3 = vqd_add(&g.d[VNET_TXQ], (struct vqd_buf[]){{BUF, 100, false}}, 1);
	kick(&g, VNET_TXQ);
	expect_used(&g, VNET_TXQ, h1, 0);
	expect_used(&g, VNET_TXQ, h2, 0);
	expect_used(&g, VNET_TXQ, h3, 0);
	assert_int_equal(g.n.st.tx_errors, 2);
	assert_int_equal(g.n.st.tx_packets, 1);
	assert_int_equal(read(g.host, got, sizeof(got)), 100);
	assert_int_equal(read(g.host, got, sizeof(got)), -1);
	/* A segment and a partial checksum it never negotiated: dropped. */
	*gp(&g, BUF) = VNET_HDR_F_NEEDS_CSUM;
	*gp(&g, BUF + 1) = VNET_GSO_TCPV4;
	vqd_add(&g.d[VNET_TXQ], (struct vqd_buf[]){{BUF, 100, false}}, 1);
	kick(&g, VNET_TXQ);
	assert_int_equal(g.n.st.tx_errors, 3);
	assert_int_equal(read(g.host, got, sizeof(got)), -1);
	assert_false(dev_status(&g) & VIRTIO_STATUS_NEEDS_RESET);
	rig_down(&g);
}

static void test_rx(void **state)
{
	struct rig g;
	uint16_t h;

	rig_up(&g, 0);
	h = rx_buffer(&g, BUF, 1526);
	kick(&g, VNET_RXQ); /* nothing there yet: the device starts watching */
	assert_true(g.n.rx_armed);
	assert_int_equal(vqd_used_idx(&g.d[VNET_RXQ]), 0);
	host_send(&g, 100, 3);
	vnet_rx(&g.n);
	expect_used(&g, VNET_RXQ, h, 100);
	expect_frame(&g, BUF, 100, 3);
	assert_int_equal(g.n.st.rx_packets, 1);
	assert_int_equal(g.n.st.rx_bytes, 100 - VNET_HDR_SIZE);
	rig_down(&g);
}

/* Frames wait (in the socket, one in the device) until the driver gives buffers. */
static void test_rx_waits_for_buffers(void **state)
{
	struct rig g;
	uint16_t h1, h2, h3;

	rig_up(&g, 0);
	host_send(&g, 80, 1);
	host_send(&g, 90, 2);
	host_send(&g, 70, 3);
	h1 = rx_buffer(&g, BUF, 1526);
	kick(&g, VNET_RXQ);
	expect_used(&g, VNET_RXQ, h1, 80);
	/* The second frame is kept; the fd is no longer watched. */
	assert_int_equal(g.n.rx_len, 90);
	assert_false(g.n.rx_armed);
	vnet_rx(&g.n);
	assert_int_equal(vqd_used_idx(&g.d[VNET_RXQ]), 1);
	h2 = rx_buffer(&g, BUF + 0x1000, 1526);
	h3 = rx_buffer(&g, BUF + 0x2000, 1526);
	kick(&g, VNET_RXQ);
	expect_used(&g, VNET_RXQ, h2, 90);
	expect_used(&g, VNET_RXQ, h3, 70);
	expect_frame(&g, BUF, 80, 1);
	expect_frame(&g, BUF + 0x1000, 90, 2);
	expect_frame(&g, BUF + 0x2000, 70, 3);
	assert_int_equal(g.n.st.rx_packets, 3);
	assert_true(g.n.rx_armed);
	rig_down(&g);
}

/* A frame larger than its buffer is dropped, the buffer returned empty. */
static void test_rx_too_large(void **state)
{
	struct rig g;
	uint16_t h1, h2;

	rig_up(&g, 0);
	host_send(&g, 200, 1);
	host_send(&g, 60, 2);
	h1 = rx_buffer(&g, BUF, 100);
	h2 = rx_buffer(&g, BUF + 0x1000, 100);
	kick(&g, VNET_RXQ);
	expect_used(&g, VNET_RXQ, h1, 0);
	expect_used(&g, VNET_RXQ, h2, 60);
	expect_frame(&g, BUF + 0x1000, 60, 2);
	assert_int_equal(g.n.st.rx_dropped, 1);
	rig_down(&g);
}

/* Runts are dropped, at most a wakeup's budget of them; the frame behind them comes at the next. */
static void test_rx_runts(void **state)
{
	uint8_t runt[VNET_HDR_SIZE + 4] = {0};
	int sndbuf = 1 << 20;
	struct rig g;
	uint16_t h;

	rig_up(&g, 0);
	assert_int_equal(setsockopt(g.host, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	for (unsigned int i = 0; i < VNET_RX_BUDGET + 5; i++)
		assert_int_equal(write(g.host, runt, sizeof(runt)), (ssize_t)sizeof(runt));
	host_send(&g, 100, 7);
	h = rx_buffer(&g, BUF, 1526);
	kick(&g, VNET_RXQ);
	assert_int_equal(vqd_used_idx(&g.d[VNET_RXQ]), 0);
	assert_int_equal(g.n.st.rx_dropped, VNET_RX_BUDGET);
	assert_true(g.n.rx_armed); /* the rest is for the tap's next wakeup */
	vnet_rx(&g.n);
	expect_used(&g, VNET_RXQ, h, 100);
	expect_frame(&g, BUF, 100, 7);
	assert_int_equal(g.n.st.rx_dropped, VNET_RX_BUDGET + 5);
	rig_down(&g);
}

#define MRG_FEATURES (FEATURES | 1ULL << VNET_F_MRG_RXBUF)

/* The bytes of a frame host_send(len, seed) sent, from offset off of it, at gpa. */
static void expect_piece(struct rig *g, uint64_t gpa, size_t off, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (off + i >= VNET_HDR_SIZE)
			assert_int_equal(*gp(g, gpa + i), (uint8_t)(seed + off + i));
}

/* MRG_RXBUF: a frame spread over three buffers, num_buffers 3; it waits until all are there. */
static void test_rx_mergeable(void **state)
{
	struct rig g;
	uint16_t h1, h2, h3;

	assert_int_equal(rig_up_with(&g, 0, false, MRG_FEATURES), 0xF);
	h1 = rx_buffer(&g, BUF, 600);
	h2 = rx_buffer(&g, BUF + 0x1000, 600);
	host_send(&g, 1400, 5);
	kick(&g, VNET_RXQ);
	/* Two buffers are not enough: nothing used, the frame kept, the chains given back. */
	assert_int_equal(vqd_used_idx(&g.d[VNET_RXQ]), 0);
	assert_int_equal(g.n.rx_len, 1400);
	h3 = rx_buffer(&g, BUF + 0x2000, 600);
	kick(&g, VNET_RXQ);
	expect_used(&g, VNET_RXQ, h1, 600);
	expect_used(&g, VNET_RXQ, h2, 600);
	expect_used(&g, VNET_RXQ, h3, 200);
	assert_int_equal(gp(&g, BUF)[10], 3); /* num_buffers */
	assert_int_equal(gp(&g, BUF)[11], 0);
	assert_int_equal(gp(&g, BUF)[0], 0); /* DATA_VALID cleared: no GUEST_CSUM */
	expect_piece(&g, BUF, 0, 600, 5);
	expect_piece(&g, BUF + 0x1000, 600, 600, 5);
	expect_piece(&g, BUF + 0x2000, 1200, 200, 5);
	assert_int_equal(g.n.st.rx_packets, 1);
	assert_int_equal(g.n.st.rx_bytes, 1400 - VNET_HDR_SIZE);
	/* A frame that fits its first buffer takes one, num_buffers 1. */
	h1 = rx_buffer(&g, BUF + 0x3000, 1526);
	host_send(&g, 100, 9);
	vnet_rx(&g.n);
	expect_used(&g, VNET_RXQ, h1, 100);
	expect_frame(&g, BUF + 0x3000, 100, 9);
	rig_down(&g);
}

/* MRG_RXBUF, hostile buffers: a first buffer shorter than the header, a queue of tiny ones. */
static void test_rx_mergeable_hostile(void **state)
{
	struct rig g;
	uint16_t h;

	assert_int_equal(rig_up_with(&g, 0, false, MRG_FEATURES), 0xF);
	h = rx_buffer(&g, BUF, 8);
	host_send(&g, 100, 1);
	kick(&g, VNET_RXQ);
	expect_used(&g, VNET_RXQ, h, 0);
	assert_int_equal(g.n.st.rx_dropped, 1);
	/* A whole queue of 20-byte buffers cannot hold 1400 bytes: dropped, each returned empty. */
	for (unsigned int i = 0; i < QSIZE; i++)
		rx_buffer(&g, BUF + 0x100 * i, 20);
	host_send(&g, 1400, 2);
	kick(&g, VNET_RXQ);
	for (unsigned int i = 0; i < QSIZE; i++) {
		uint32_t id, l;

		assert_int_equal(vqd_get_used(&g.d[VNET_RXQ], &id, &l), 1);
		assert_int_equal(l, 0);
	}
	assert_int_equal(g.n.st.rx_dropped, 2);
	assert_int_equal(g.n.st.rx_packets, 0);
	assert_int_equal(dev_status(&g) & VIRTIO_STATUS_NEEDS_RESET, 0);
	rig_down(&g);
}

/* A reset drops the kept frame; a paused device receives nothing until cont. */
static void test_rx_reset_and_pause(void **state)
{
	struct rig g;
	struct vdrv_queue qs[2];
	uint16_t h;

	rig_up(&g, 0);
	host_send(&g, 80, 1);
	vnet_rx(&g.n); /* no buffer: kept */
	assert_int_equal(g.n.rx_len, 80);
	vdrv_reset(&g.fp, &g.vp);
	assert_int_equal(g.n.rx_len, 0);
	assert_int_equal(g.n.st.rx_dropped, 1);
	for (unsigned int i = 0; i < 2; i++) {
		vqd_init(&g.d[i], &g.fm, MEM_GPA + i * 0x8000, QSIZE);
		qs[i] = vdrv_queue_of(&g.d[i], i);
	}
	assert_int_equal(vdrv_bring_up(&g.fp, &g.vp, FEATURES, qs, 2), 0xF);

	virtio_pci_set_paused(&g.vp, true);
	vnet_set_paused(&g.n, true);
	h = rx_buffer(&g, BUF, 1526);
	kick(&g, VNET_RXQ);
	host_send(&g, 64, 9);
	vnet_rx(&g.n);
	assert_int_equal(vqd_used_idx(&g.d[VNET_RXQ]), 0);
	assert_false(g.n.rx_armed);
	virtio_pci_set_paused(&g.vp, false);
	vnet_set_paused(&g.n, false);
	expect_used(&g, VNET_RXQ, h, 64);
	expect_frame(&g, BUF, 64, 9);
	rig_down(&g);
}

/* A receive buffer outside guest memory breaks the queue, not the VMM. */
static void test_rx_hostile_buffer(void **state)
{
	struct rig g;
	uint8_t got[64];

	rig_up(&g, 0);
	rx_buffer(&g, MEM_GPA + MEM_SIZE - 16, 4096);
	host_send(&g, 100, 1);
	kick(&g, VNET_RXQ);
	assert_true(dev_status(&g) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(vqd_used_idx(&g.d[VNET_RXQ]), 0);
	vnet_rx(&g.n); /* nothing more happens, nothing is read */
	assert_false(g.n.rx_armed);
	/* Transmit too: a chain past the end of memory. */
	vqd_add(&g.d[VNET_TXQ], (struct vqd_buf[]){{MEM_GPA + MEM_SIZE - 8, 100, false}}, 1);
	kick(&g, VNET_TXQ);
	assert_int_equal(read(g.host, got, sizeof(got)), -1);
	rig_down(&g);
}

static void expect_refused(struct rig *h, struct mv_state_section *sec, const char *what)
{
	char err[256] = "";

	assert_int_equal(vnet_load(&h->n, "net0", sec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "virtio-net.net0"));
	if (what)
		assert_non_null(strstr(err, what));
	assert_memory_equal(h->n.mac, MAC, 6);
	assert_int_equal(h->n.st.tx_packets, 0);
}

/*
 * The MAC address and counters travel; the restored device gives the
 * guest the saved MAC whatever its own was. Another MTU, a multicast
 * address and every truncation are refused with the device unchanged.
 */
static void test_save_load(void **state)
{
	static const uint8_t other[6] = {0x52, 0x54, 0x00, 0xAA, 0xBB, 0xCC};
	struct rig g, h;
	struct mv_state_writer w;
	struct mv_state_section sec;
	char err[256];
	uint8_t *pl;
	size_t len;

	rig_up(&g, 0);
	memcpy(g.n.mac, other, 6);
	vqd_add(&g.d[VNET_TXQ], (struct vqd_buf[]){{BUF, 100, false}}, 1);
	kick(&g, VNET_TXQ);
	mv_sw_init(&w);
	vnet_save(&g.n, "net0", &w);
	assert_int_equal(mv_sw_error(&w), 0);
	assert_int_equal(mv_state_find(w.buf, w.len, "virtio-net.net0", &sec, err, sizeof(err)), 0);
	rig_down(&g);
	pl = (uint8_t *)sec.payload.p;
	len = sec.payload.len;
	assert_int_equal(len, 6 + 2 + 7 * 8);

	rig_up(&h, 0);
	for (size_t i = 0; i < len; i++) {
		sec.payload.len = i;
		expect_refused(&h, &sec, NULL);
	}
	sec.payload.len = len;
	le_put(pl + 6, 1500, 2);
	expect_refused(&h, &sec, "mtu");
	le_put(pl + 6, 0, 2);
	pl[0] |= 1;
	expect_refused(&h, &sec, "multicast");
	pl[0] &= ~1;
	assert_int_equal(vnet_load(&h.n, "net0", &sec, err, sizeof(err)), 0);
	assert_memory_equal(h.n.mac, other, 6);
	assert_int_equal(h.n.st.tx_packets, 1);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(vdrv_rd(&h.fp, &h.vp, VIRTIO_PCI_DEVICE_OFF + i, 1), other[i]);
	mv_sw_free(&w);
	rig_down(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_check_hdr),
	    cmocka_unit_test(test_offloads),
	    cmocka_unit_test(test_tx),
	    cmocka_unit_test(test_tx_malformed),
	    cmocka_unit_test(test_rx),
	    cmocka_unit_test(test_rx_waits_for_buffers),
	    cmocka_unit_test(test_rx_too_large),
	    cmocka_unit_test(test_rx_runts),
	    cmocka_unit_test(test_rx_mergeable),
	    cmocka_unit_test(test_rx_mergeable_hostile),
	    cmocka_unit_test(test_rx_reset_and_pause),
	    cmocka_unit_test(test_rx_hostile_buffer),
	    cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
