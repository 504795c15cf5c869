/*
 * Unit tests for virtio/blk and blk_state: requests over a memory disk on
 * the worker thread, every refusal with its status, a host failure
 * answered IOERR with the device running on, read-only disks, discard and
 * write zeroes, GET_ID, several queues, pause, and a reset while a request
 * runs (no byte of it reaches guest memory afterwards); save and load
 * (a request in the host when the VM is saved is finished first, then
 * returned by the restored device) and every refusal of a saved section.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"
#include "virtio/blk.h"
#include "virtio/blk_save.h"
#include "virtio/pci.h"
#include "virtio_test.h"

#define MEM_GPA	  0x100000ULL
#define MEM_SIZE  0x100000ULL
#define BUF	  (MEM_GPA + 0x20000)
#define DISK_SIZE (1u << 20)
#define QSIZE	  16

static uint8_t disk[DISK_SIZE];
static pthread_mutex_t hl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hc = PTHREAD_COND_INITIALIZER;
static bool hold, in_host;
static int fail, flushes;
static uint64_t last_off, last_len;
static bool last_unmap;

static void host_enter(void)
{
	pthread_mutex_lock(&hl);
	in_host = true;
	pthread_cond_broadcast(&hc);
	while (hold)
		pthread_cond_wait(&hc, &hl);
	in_host = false;
	pthread_mutex_unlock(&hl);
}

static int h_read(struct vblk *b, uint64_t off, void *buf, size_t len)
{
	host_enter();
	assert_true(off + len <= DISK_SIZE);
	memcpy(buf, disk + off, len);
	return fail;
}

static int h_write(struct vblk *b, uint64_t off, const void *buf, size_t len)
{
	host_enter();
	assert_true(off + len <= DISK_SIZE);
	if (!fail)
		memcpy(disk + off, buf, len);
	return fail;
}

static int h_flush(struct vblk *b)
{
	host_enter();
	flushes++;
	return fail;
}

static int h_discard(struct vblk *b, uint64_t off, uint64_t len)
{
	assert_true(off + len <= DISK_SIZE);
	last_off = off;
	last_len = len;
	memset(disk + off, 0, len);
	return fail;
}

static int h_zeroes(struct vblk *b, uint64_t off, uint64_t len, bool unmap)
{
	last_unmap = unmap;
	return h_discard(b, off, len);
}

static const struct vblk_host_ops hops = {h_read, h_write, h_flush, h_discard, h_zeroes};

static void set_hold(bool on)
{
	pthread_mutex_lock(&hl);
	hold = on;
	pthread_cond_broadcast(&hc);
	pthread_mutex_unlock(&hl);
}

static void wait_in_host(void)
{
	pthread_mutex_lock(&hl);
	while (!in_host)
		pthread_cond_wait(&hc, &hl);
	pthread_mutex_unlock(&hl);
}

struct rig {
	struct fake_gmem fm;
	struct fake_pci fp;
	struct vblk b;
	struct virtio_pci vp;
	struct vqd d[2];
};

#define FEATURES                                                                                   \
	(VDRV_VERSION_1 | 1ULL << VBLK_F_FLUSH | 1ULL << VBLK_F_DISCARD |                          \
	 1ULL << VBLK_F_WRITE_ZEROES | 1ULL << VBLK_F_SEG_MAX | 1ULL << VBLK_F_BLK_SIZE)

static void rig_up(struct rig *g, bool ro, unsigned int nq, uint64_t features)
{
	struct vblk_params prm = {.size = DISK_SIZE + 100, /* a partial sector is not the disk's */
				  .readonly = ro,
				  .num_queues = nq,
				  .queue_size = QSIZE,
				  .serial = "disk-serial-0123456789"};
	struct vdrv_queue qs[2];

	mv_log_set_quiet(true);
	set_hold(false);
	fail = flushes = 0;
	for (unsigned int i = 0; i < DISK_SIZE; i++)
		disk[i] = i * 7 + 3;
	fake_gmem_init(&g->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&g->fp);
	assert_int_equal(vblk_init(&g->b, &prm, &hops, &g->fm.map, NULL), 0);
	assert_int_equal(virtio_pci_init(&g->vp, &g->b.vdev, &g->fp.h, NULL, "disk0"), 0);
	for (unsigned int i = 0; i < nq; i++) {
		vqd_init(&g->d[i], &g->fm, MEM_GPA + i * 0x8000, QSIZE);
		qs[i] = vdrv_queue_of(&g->d[i], i);
	}
	assert_int_equal(vdrv_bring_up(&g->fp, &g->vp, features, qs, nq), 0xF);
}

static void rig_down(struct rig *g)
{
	set_hold(false);
	virtio_pci_destroy(&g->vp);
	vblk_destroy(&g->b);
	fake_pci_free(&g->fp);
	fake_gmem_free(&g->fm);
}

static uint8_t *gp(struct rig *g, uint64_t gpa)
{
	return g->fm.buf + (gpa - MEM_GPA);
}

/* A request with header at BUF + off: type, sector; data segments; status after them. */
static uint16_t req(struct rig *g, unsigned int q, uint64_t off, uint32_t type, uint64_t sector,
		    const struct vqd_buf *data, unsigned int n, bool with_status)
{
	struct vqd_buf b[8];
	uint8_t hdr[16] = {0};

	le_put(hdr, type, 4);
	le_put(hdr + 8, sector, 8);
	memcpy(gp(g, BUF + off), hdr, 16);
	b[0] = (struct vqd_buf){BUF + off, 16, false};
	if (n)
		memcpy(b + 1, data, n * sizeof(*data));
	if (with_status) {
		*gp(g, BUF + off + 16) = 0xEE;
		b[n + 1] = (struct vqd_buf){BUF + off + 16, 1, true};
	}
	return vqd_add(&g->d[q], b, n + 1 + with_status);
}

static void kick(struct rig *g, unsigned int q)
{
	vdrv_wr(&g->fp, &g->vp, VIRTIO_PCI_NOTIFY_OFF + 4 * q, 2, q);
}

/* Waits for every request the worker has and lets "the loop" return them. */
static void complete(struct rig *g)
{
	vblk_wait_idle(&g->b);
	pthread_mutex_lock(&g->b.vdev.lock);
	vblk_done(&g->b);
	pthread_mutex_unlock(&g->b.vdev.lock);
}

static uint8_t status_at(struct rig *g, uint64_t off)
{
	return *gp(g, BUF + off + 16);
}

static void expect_used(struct rig *g, unsigned int q, uint16_t head, uint32_t len)
{
	uint32_t id, l;

	assert_int_equal(vqd_get_used(&g->d[q], &id, &l), 1);
	assert_int_equal(id, head);
	assert_int_equal(l, len);
}

static uint8_t dev_status(struct rig *g)
{
	return vdrv_rd(&g->fp, &g->vp, VIRTIO_PCI_STATUS, 1);
}

static void test_config(void **state)
{
	struct rig g;
	uint64_t f;

	rig_up(&g, false, 1, FEATURES);
	assert_int_equal(pci_cfg_read(&g.fp.h, g.vp.pci.slot, 0, 2, 2), 0x1040 + VIRTIO_ID_BLOCK);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF, 8), DISK_SIZE / 512);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 12, 4), VBLK_SEG_MAX);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 20, 4), 512);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 34, 2), 1);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 40, 4), VBLK_MAX_RANGES);
	f = g.b.vdev.host_features;
	assert_true(f >> VBLK_F_DISCARD & 1 && f >> VBLK_F_WRITE_ZEROES & 1 &&
		    f >> VBLK_F_FLUSH & 1);
	assert_false(f >> VBLK_F_RO & 1 || f >> VBLK_F_MQ & 1);
	rig_down(&g);
	rig_up(&g, true, 2, VDRV_VERSION_1 | 1ULL << VBLK_F_FLUSH | 1ULL << VBLK_F_MQ);
	f = g.b.vdev.host_features;
	assert_true(f >> VBLK_F_RO & 1 && f >> VBLK_F_MQ & 1);
	assert_false(f >> VBLK_F_DISCARD & 1 || f >> VBLK_F_WRITE_ZEROES & 1);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 34, 2), 2);
	rig_down(&g);
	/* Bad parameters. */
	struct vblk b;
	struct fake_gmem fm;
	struct vblk_params p = {.size = 4096, .num_queues = 0, .queue_size = 16};

	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	assert_int_equal(vblk_init(&b, &p, &hops, &fm.map, NULL), -EINVAL);
	p.num_queues = VIRTIO_MAX_QUEUES + 1;
	assert_int_equal(vblk_init(&b, &p, &hops, &fm.map, NULL), -EINVAL);
	p.num_queues = 1;
	p.queue_size = 24;
	assert_int_equal(vblk_init(&b, &p, &hops, &fm.map, NULL), -EINVAL);
	fake_gmem_free(&fm);
}

static void test_write_then_read_across_segments(void **state)
{
	struct rig g;
	uint16_t h;
	uint8_t pat[0x1400];

	rig_up(&g, false, 1, FEATURES);
	for (unsigned int i = 0; i < sizeof(pat); i++)
		pat[i] = i ^ 0x5A;
	/* 5 KiB in two readable segments of 0x1000 and 0x400, at sector 8. */
	memcpy(gp(&g, BUF + 0x1000), pat, 0x1000);
	memcpy(gp(&g, BUF + 0x3000), pat + 0x1000, 0x400);
	h = req(&g, 0, 0, VBLK_T_OUT, 8,
		(struct vqd_buf[]){{BUF + 0x1000, 0x1000, false}, {BUF + 0x3000, 0x400, false}}, 2,
		true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0), VBLK_S_OK);
	assert_memory_equal(disk + 8 * 512, pat, sizeof(pat));
	/* Read it back into three writable segments. */
	memset(gp(&g, BUF + 0x8000), 0, 0x2000);
	h = req(&g, 0, 0x100, VBLK_T_IN, 8,
		(struct vqd_buf[]){{BUF + 0x8000, 0x200, true},
				   {BUF + 0x9000, 0x1000, true},
				   {BUF + 0xB000, 0x200, true}},
		3, true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 0x1400 + 1);
	assert_int_equal(status_at(&g, 0x100), VBLK_S_OK);
	assert_memory_equal(gp(&g, BUF + 0x8000), pat, 0x200);
	assert_memory_equal(gp(&g, BUF + 0x9000), pat + 0x200, 0x1000);
	assert_memory_equal(gp(&g, BUF + 0xB000), pat + 0x1200, 0x200);
	/* A read larger than the bounce buffer: 600 KiB from sector 0. */
	h = req(&g, 0, 0x200, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x10000, 600 << 10, true}}, 1,
		true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, (600 << 10) + 1);
	assert_memory_equal(gp(&g, BUF + 0x10000), disk, 600 << 10);
	assert_int_equal(g.b.st.reads, 2);
	assert_int_equal(g.b.st.write_bytes, 0x1400);
	rig_down(&g);
}

static void test_refusals(void **state)
{
	struct rig g;
	uint16_t h;

	rig_up(&g, false, 1, FEATURES);
	/* Past the end, partial sectors, data on the wrong side, unknown type. */
	h = req(&g, 0, 0, VBLK_T_IN, DISK_SIZE / 512 - 1,
		(struct vqd_buf[]){{BUF + 0x1000, 1024, true}}, 1, true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0), VBLK_S_IOERR);
	h = req(&g, 0, 0x40, VBLK_T_IN, UINT64_MAX, (struct vqd_buf[]){{BUF + 0x1000, 512, true}},
		1, true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x40), VBLK_S_IOERR);
	h = req(&g, 0, 0x80, VBLK_T_OUT, 0, (struct vqd_buf[]){{BUF + 0x1000, 100, false}}, 1,
		true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x80), VBLK_S_IOERR);
	h = req(&g, 0, 0xC0, VBLK_T_OUT, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0xC0), VBLK_S_IOERR);
	h = req(&g, 0, 0x100, 77, 0, NULL, 0, true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x100), VBLK_S_UNSUPP);
	assert_int_equal(g.b.st.refused, 5);
	assert_int_equal(disk[0], 3); /* nothing written */
	assert_int_equal(dev_status(&g) & VIRTIO_STATUS_NEEDS_RESET, 0);
	/* No status byte at all: nothing can be answered, a device error. */
	req(&g, 0, 0x140, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, false}}, 1, false);
	kick(&g, 0);
	assert_true(dev_status(&g) & VIRTIO_STATUS_NEEDS_RESET);
	rig_down(&g);
}

static void test_host_failure_and_flush(void **state)
{
	struct rig g;
	uint16_t h;

	rig_up(&g, false, 1, FEATURES);
	h = req(&g, 0, 0, VBLK_T_FLUSH, 0, NULL, 0, true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0), VBLK_S_OK);
	assert_int_equal(flushes, 1);
	/* The host fails: IOERR, and the device runs on. */
	fail = -EIO;
	h = req(&g, 0, 0x40, VBLK_T_OUT, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, false}}, 1,
		true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x40), VBLK_S_IOERR);
	h = req(&g, 0, 0x80, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x80), VBLK_S_IOERR);
	assert_int_equal(g.b.st.errors, 2);
	fail = 0;
	h = req(&g, 0, 0xC0, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 513);
	assert_int_equal(status_at(&g, 0xC0), VBLK_S_OK);
	assert_int_equal(dev_status(&g) & VIRTIO_STATUS_NEEDS_RESET, 0);
	rig_down(&g);
	/* FLUSH not negotiated: UNSUPP. */
	rig_up(&g, false, 1, VDRV_VERSION_1);
	h = req(&g, 0, 0, VBLK_T_FLUSH, 0, NULL, 0, true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0), VBLK_S_UNSUPP);
	assert_int_equal(flushes, 0);
	rig_down(&g);
}

static void range(struct rig *g, uint64_t gpa, uint64_t sector, uint32_t count, uint32_t flags)
{
	le_put(gp(g, gpa), sector, 8);
	le_put(gp(g, gpa + 8), count, 4);
	le_put(gp(g, gpa + 12), flags, 4);
}

static void test_discard_and_write_zeroes(void **state)
{
	struct rig g;
	uint16_t h;

	rig_up(&g, false, 1, FEATURES);
	range(&g, BUF + 0x1000, 4, 2, 0);
	range(&g, BUF + 0x1010, 100, 1, 0);
	h = req(&g, 0, 0, VBLK_T_DISCARD, 0, (struct vqd_buf[]){{BUF + 0x1000, 32, false}}, 1,
		true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0), VBLK_S_OK);
	assert_int_equal(last_off, 100 * 512);
	assert_int_equal(disk[4 * 512], 0);
	assert_int_equal(disk[6 * 512], (uint8_t)(6 * 512 * 7 + 3));
	/* Write zeroes may unmap; discard takes no flags; a range past the end fails whole. */
	range(&g, BUF + 0x1000, 10, 1, VBLK_RANGE_UNMAP);
	h = req(&g, 0, 0x40, VBLK_T_WRITE_ZEROES, 0, (struct vqd_buf[]){{BUF + 0x1000, 16, false}},
		1, true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x40), VBLK_S_OK);
	assert_true(last_unmap);
	h = req(&g, 0, 0x80, VBLK_T_DISCARD, 0, (struct vqd_buf[]){{BUF + 0x1000, 16, false}}, 1,
		true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x80), VBLK_S_UNSUPP);
	range(&g, BUF + 0x1000, 20, 1, 0);
	range(&g, BUF + 0x1010, DISK_SIZE / 512, 1, 0);
	last_off = 0;
	h = req(&g, 0, 0xC0, VBLK_T_DISCARD, 0, (struct vqd_buf[]){{BUF + 0x1000, 32, false}}, 1,
		true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0xC0), VBLK_S_IOERR);
	assert_int_equal(last_off, 0); /* the good first range was not acted on either */
	/* Not a whole number of ranges, or none. */
	h = req(&g, 0, 0x100, VBLK_T_DISCARD, 0, (struct vqd_buf[]){{BUF + 0x1000, 20, false}}, 1,
		true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x100), VBLK_S_IOERR);
	rig_down(&g);
}

static void test_readonly_and_get_id(void **state)
{
	struct rig g;
	uint16_t h;

	rig_up(&g, true, 1, VDRV_VERSION_1 | 1ULL << VBLK_F_FLUSH);
	h = req(&g, 0, 0, VBLK_T_OUT, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, false}}, 1, true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0), VBLK_S_IOERR);
	assert_int_equal(disk[0], 3);
	h = req(&g, 0, 0x40, VBLK_T_DISCARD, 0, (struct vqd_buf[]){{BUF + 0x1000, 16, false}}, 1,
		true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x40), VBLK_S_UNSUPP);
	/* Reads still work. */
	h = req(&g, 0, 0x80, VBLK_T_IN, 1, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	kick(&g, 0);
	complete(&g);
	expect_used(&g, 0, h, 513);
	assert_memory_equal(gp(&g, BUF + 0x1000), disk + 512, 512);
	/* GET_ID: the serial, cut to 20 bytes; a shorter buffer is refused. */
	h = req(&g, 0, 0xC0, VBLK_T_GET_ID, 0, (struct vqd_buf[]){{BUF + 0x2000, 20, true}}, 1,
		true);
	kick(&g, 0);
	expect_used(&g, 0, h, 21);
	assert_int_equal(status_at(&g, 0xC0), VBLK_S_OK);
	assert_memory_equal(gp(&g, BUF + 0x2000), "disk-serial-01234567", 20);
	h = req(&g, 0, 0x100, VBLK_T_GET_ID, 0, (struct vqd_buf[]){{BUF + 0x2000, 8, true}}, 1,
		true);
	kick(&g, 0);
	expect_used(&g, 0, h, 1);
	assert_int_equal(status_at(&g, 0x100), VBLK_S_IOERR);
	rig_down(&g);
}

static void test_two_queues(void **state)
{
	struct rig g;
	uint16_t h;

	rig_up(&g, false, 2, FEATURES | 1ULL << VBLK_F_MQ);
	h = req(&g, 1, 0, VBLK_T_IN, 2, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	kick(&g, 1);
	complete(&g);
	expect_used(&g, 1, h, 513);
	assert_memory_equal(gp(&g, BUF + 0x1000), disk + 1024, 512);
	assert_int_equal(vqd_used_idx(&g.d[0]), 0);
	rig_down(&g);
}

static void test_reset_while_running(void **state)
{
	struct rig g;

	rig_up(&g, false, 1, FEATURES);
	memset(gp(&g, BUF + 0x1000), 0xCC, 512);
	set_hold(true);
	req(&g, 0, 0, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	req(&g, 0, 0x40, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	kick(&g, 0);
	wait_in_host();
	/* The driver resets the device while the first read is in the host. */
	vdrv_reset(&g.fp, &g.vp);
	set_hold(false);
	vblk_wait_idle(&g.b);
	complete(&g);
	/* Nothing of either read reached guest memory, nothing came back, no slot lost. */
	assert_int_equal(*gp(&g, BUF + 0x1000), 0xCC);
	assert_int_equal(status_at(&g, 0), 0xEE);
	assert_int_equal(vqd_used_idx(&g.d[0]), 0);
	assert_int_equal(g.b.nr_jobs, 0);
	rig_down(&g);
}

static void test_pause_holds_completions(void **state)
{
	struct rig g;
	uint16_t h;

	rig_up(&g, false, 1, FEATURES);
	h = req(&g, 0, 0, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	kick(&g, 0);
	vblk_wait_idle(&g.b);
	virtio_pci_set_paused(&g.vp, true);
	vblk_set_paused(&g.b, true);
	complete(&g);
	assert_int_equal(vqd_used_idx(&g.d[0]), 0);
	virtio_pci_set_paused(&g.vp, false);
	vblk_set_paused(&g.b, false);
	expect_used(&g, 0, h, 513);
	rig_down(&g);
}

static void *release_later(void *arg)
{
	usleep(50 * 1000);
	set_hold(false);
	return NULL;
}

static void save_one(struct rig *g, struct mv_state_writer *w, struct mv_state_section *sec)
{
	char err[256];

	mv_sw_init(w);
	assert_int_equal(vblk_save(&g->b, "disk0", w, err, sizeof(err)), 0);
	assert_int_equal(mv_sw_error(w), 0);
	assert_int_equal(mv_state_find(w->buf, w->len, "virtio-blk.disk0", sec, err, sizeof(err)),
			 0);
}

/*
 * Two reads, the first held in the host when the VM pauses: saving waits
 * for both, their data is in guest memory before the section is written,
 * the disk is flushed, and the device the section is loaded into returns
 * both (at cont) with the lengths they had.
 */
static void test_save_waits_then_load_returns(void **state)
{
	struct rig g, h;
	struct mv_state_writer w;
	struct mv_state_section sec;
	char err[256];
	pthread_t t;
	uint16_t h1, h2;

	rig_up(&g, false, 1, FEATURES);
	set_hold(true);
	h1 = req(&g, 0, 0, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	h2 =
	    req(&g, 0, 0x40, VBLK_T_IN, 1, (struct vqd_buf[]){{BUF + 0x2000, 1024, true}}, 1, true);
	kick(&g, 0);
	wait_in_host();
	virtio_pci_set_paused(&g.vp, true);
	vblk_set_paused(&g.b, true);
	assert_int_equal(pthread_create(&t, NULL, release_later, NULL), 0);
	save_one(&g, &w, &sec);
	pthread_join(t, NULL);
	assert_int_equal(flushes, 1);
	assert_memory_equal(gp(&g, BUF + 0x1000), disk, 512);
	assert_memory_equal(gp(&g, BUF + 0x2000), disk + 512, 1024);
	assert_int_equal(status_at(&g, 0), VBLK_S_OK);
	assert_int_equal(vqd_used_idx(&g.d[0]), 0); /* paused: nothing returned */
	rig_down(&g);

	/* The "restored" VM: a fresh device whose rings are at the same place. */
	rig_up(&h, false, 1, FEATURES);
	virtio_pci_set_paused(&h.vp, true);
	vblk_set_paused(&h.b, true);
	assert_int_equal(vblk_load(&h.b, "disk0", &sec, err, sizeof(err)), 0);
	assert_int_equal(h.b.nr_jobs, 2);
	assert_int_equal(h.b.st.reads, 2);
	assert_int_equal(h.b.st.read_bytes, 1536);
	complete(&h);
	assert_int_equal(vqd_used_idx(&h.d[0]), 0);
	virtio_pci_set_paused(&h.vp, false);
	vblk_set_paused(&h.b, false);
	expect_used(&h, 0, h1, 513);
	expect_used(&h, 0, h2, 1025);
	assert_int_equal(h.b.nr_jobs, 0);
	mv_sw_free(&w);
	rig_down(&h);
}

/* A read-only disk is not flushed; a failed flush fails the save and writes nothing. */
static void test_save_flush(void **state)
{
	struct rig g;
	struct mv_state_writer w;
	char err[256];

	rig_up(&g, true, 1, VDRV_VERSION_1 | 1ULL << VBLK_F_FLUSH);
	mv_sw_init(&w);
	assert_int_equal(vblk_save(&g.b, "disk0", &w, err, sizeof(err)), 0);
	assert_int_equal(flushes, 0);
	mv_sw_free(&w);
	rig_down(&g);

	rig_up(&g, false, 1, FEATURES);
	fail = -EIO;
	mv_sw_init(&w);
	assert_int_equal(vblk_save(&g.b, "disk0", &w, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "flushing the disk: Input/output error"));
	assert_int_equal(w.len, 0);
	mv_sw_free(&w);
	rig_down(&g);
}

/*
 * A host disk that does not answer: the save gives up after its timeout
 * (shortened here) with nothing written, first while a guest's read is
 * stuck, then while the snapshot's own flush is; once the disk answers,
 * the read completes and the next save succeeds.
 */
static void test_save_times_out(void **state)
{
	struct rig g;
	struct mv_state_writer w;
	struct mv_state_section sec;
	char err[256];
	uint16_t h;

	rig_up(&g, false, 1, FEATURES);
	g.b.save_timeout_ms = 100;
	set_hold(true);
	h = req(&g, 0, 0, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	kick(&g, 0);
	wait_in_host();
	mv_sw_init(&w);
	assert_int_equal(vblk_save(&g.b, "disk0", &w, err, sizeof(err)), -ETIMEDOUT);
	assert_non_null(strstr(err, "did not finish the guest's requests within 100 ms"));
	assert_int_equal(w.len, 0);
	set_hold(false);
	complete(&g);
	expect_used(&g, 0, h, 513);

	/* Now the flush is what hangs. */
	set_hold(true);
	assert_int_equal(vblk_save(&g.b, "disk0", &w, err, sizeof(err)), -ETIMEDOUT);
	assert_non_null(strstr(err, "flush did not end within 100 ms"));
	assert_int_equal(w.len, 0);
	wait_in_host();
	set_hold(false);
	g.b.save_timeout_ms = 5000;
	save_one(&g, &w, &sec);
	assert_int_equal(flushes, 2); /* the late one, then the save's own */
	mv_sw_free(&w);
	rig_down(&g);
}

/* Payload offsets: sectors 0, readonly 8, num_queues 9, counters 11, n 83, requests 87. */
#define PL_N	83
#define PL_REQ0 87

static void expect_refused(struct rig *h, struct mv_state_section *sec, const char *what)
{
	char err[256] = "";

	assert_int_equal(vblk_load(&h->b, "disk0", sec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "virtio-blk.disk0"));
	if (what)
		assert_non_null(strstr(err, what));
	assert_int_equal(h->b.nr_jobs, 0);
	assert_int_equal(h->b.st.reads, 0);
}

static void test_load_refusals(void **state)
{
	struct rig g, h;
	struct mv_state_writer w;
	struct mv_state_section sec;
	uint8_t *pl, keep[8];
	size_t len, i;

	rig_up(&g, false, 1, FEATURES);
	req(&g, 0, 0, VBLK_T_IN, 0, (struct vqd_buf[]){{BUF + 0x1000, 512, true}}, 1, true);
	kick(&g, 0);
	vblk_wait_idle(&g.b);
	virtio_pci_set_paused(&g.vp, true);
	vblk_set_paused(&g.b, true);
	save_one(&g, &w, &sec);
	rig_down(&g);
	pl = (uint8_t *)sec.payload.p;
	len = sec.payload.len;
	assert_int_equal(len, PL_REQ0 + 8);
	assert_int_equal(le_get(pl + PL_N, 4), 1);

	/* Another disk size, and two queues where the saved device had one. */
	rig_up(&h, false, 2, FEATURES | 1ULL << VBLK_F_MQ);
	expect_refused(&h, &sec, "readonly/num_queues");
	rig_down(&h);
	rig_up(&h, false, 1, FEATURES);
	memcpy(keep, pl, 8);
	le_put(pl, 7, 8);
	expect_refused(&h, &sec, "changed size");
	memcpy(pl, keep, 8);
	/* Each field of the request out of range: queue, head, used length, failed. */
	pl[PL_REQ0] = 1;
	expect_refused(&h, &sec, "out of range");
	pl[PL_REQ0] = 0;
	le_put(pl + PL_REQ0 + 1, QSIZE, 2);
	expect_refused(&h, &sec, "out of range");
	le_put(pl + PL_REQ0 + 1, 0, 2);
	memcpy(keep, pl + PL_REQ0 + 3, 4);
	le_put(pl + PL_REQ0 + 3, 0, 4);
	expect_refused(&h, &sec, "out of range");
	memcpy(pl + PL_REQ0 + 3, keep, 4);
	pl[PL_REQ0 + 7] = 2;
	expect_refused(&h, &sec, "out of range");
	pl[PL_REQ0 + 7] = 0;
	/* More requests than the device holds. */
	le_put(pl + PL_N, VBLK_MAX_JOBS + 1, 4);
	expect_refused(&h, &sec, "finished requests");
	le_put(pl + PL_N, 1, 4);
	/* Every truncation. */
	for (i = 0; i < len; i++) {
		sec.payload.len = i;
		expect_refused(&h, &sec, NULL);
	}
	sec.payload.len = len;
	/* Intact, it loads. */
	{
		char err[256];

		assert_int_equal(vblk_load(&h.b, "disk0", &sec, err, sizeof(err)), 0);
		assert_int_equal(h.b.nr_jobs, 1);
	}
	complete(&h);
	mv_sw_free(&w);
	rig_down(&h);
}

/* blk_state alone: the decisions of the table in its header. */
static void test_decide(void **state)
{
	struct vblk_disk d = {.sectors = 100, .flush = true, .discard = true};
	uint8_t hdr[16] = {0};
	struct vblk_decision r;

	assert_int_equal(vblk_decide(&d, 16, 0, hdr).act, VBLK_ACT_BAD);
	r = vblk_decide(&d, 8, 1, hdr);
	assert_true(r.act == VBLK_ACT_ANSWER && r.status == VBLK_S_IOERR);
	le_put(hdr + 8, 99, 8);
	r = vblk_decide(&d, 16, 513, hdr);
	assert_true(r.act == VBLK_ACT_READ && r.len == 512 && r.sector == 99);
	r = vblk_decide(&d, 16, 1025, hdr);
	assert_int_equal(r.act, VBLK_ACT_ANSWER);
	r = vblk_decide(&d, 32, 513, hdr); /* IN with readable data */
	assert_int_equal(r.act, VBLK_ACT_ANSWER);
	le_put(hdr, VBLK_T_WRITE_ZEROES, 4);
	r = vblk_decide(&d, 32, 1, hdr);
	assert_true(r.act == VBLK_ACT_ANSWER && r.status == VBLK_S_UNSUPP);
	le_put(hdr, VBLK_T_DISCARD, 4);
	r = vblk_decide(&d, 16 + 16 * (VBLK_MAX_RANGES + 1), 1, hdr);
	assert_true(r.act == VBLK_ACT_ANSWER && r.status == VBLK_S_IOERR);
	r = vblk_decide(&d, 16 + 16 * VBLK_MAX_RANGES, 1, hdr);
	assert_true(r.act == VBLK_ACT_DISCARD && r.nranges == VBLK_MAX_RANGES);
	d.readonly = true;
	r = vblk_decide(&d, 32, 1, hdr);
	assert_true(r.act == VBLK_ACT_ANSWER && r.status == VBLK_S_IOERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decide),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_write_then_read_across_segments),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_host_failure_and_flush),
	    cmocka_unit_test(test_discard_and_write_zeroes),
	    cmocka_unit_test(test_readonly_and_get_id),
	    cmocka_unit_test(test_two_queues),
	    cmocka_unit_test(test_reset_while_running),
	    cmocka_unit_test(test_pause_holds_completions),
	    cmocka_unit_test(test_save_waits_then_load_returns),
	    cmocka_unit_test(test_save_flush),
	    cmocka_unit_test(test_save_times_out),
	    cmocka_unit_test(test_load_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
