/*
 * Unit tests for virtio/balloon and virtio/balloon_state: the pure protocol
 * functions, the device driven as Linux's virtio_balloon drives it (and as
 * a hostile guest might) through fake guest memory, and its save/load
 * section.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/state.h"
#include "virtio/balloon.h"
#include "virtio/balloon_save.h"
#include "virtio/pci.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x200000ULL
#define BUF	 (MEM_GPA + 0x40000)
/* What the fake host calls the guest's memory: the upper 1 MiB of the fake memory. */
#define RAM_GPA	 0x200000ULL
#define RAM_SIZE 0x100000ULL

/* ---- pure functions ---- */

static void test_queue_roles(void **state)
{
	uint64_t st = 1ULL << VB_F_STATS_VQ, rep = 1ULL << VB_F_REPORTING;

	assert_int_equal(vb_queue_role(0, 0), VB_Q_INFLATE);
	assert_int_equal(vb_queue_role(0, 1), VB_Q_DEFLATE);
	assert_int_equal(vb_queue_role(0, 2), VB_Q_NONE);
	assert_int_equal(vb_queue_role(st, 2), VB_Q_STATS);
	assert_int_equal(vb_queue_role(st, 3), VB_Q_NONE);
	/* Without statistics the reporting queue moves up, as Linux numbers it. */
	assert_int_equal(vb_queue_role(rep, 2), VB_Q_REPORTING);
	assert_int_equal(vb_queue_role(st | rep, 2), VB_Q_STATS);
	assert_int_equal(vb_queue_role(st | rep, 3), VB_Q_REPORTING);
	assert_int_equal(vb_queue_role(st | rep, 4), VB_Q_NONE);
	assert_int_equal(vb_queue_role(st | rep, 7), VB_Q_NONE);
}

static void put_stat(uint8_t *p, uint16_t tag, uint64_t v)
{
	tag = htole16(tag);
	v = htole64(v);
	memcpy(p, &tag, 2);
	memcpy(p + 2, &v, 8);
}

static void test_stats_parse(void **state)
{
	uint8_t buf[64];
	uint64_t vals[VB_S_NR];
	unsigned int ignored, i;

	for (i = 0; i < VB_S_NR; i++)
		vals[i] = VB_STAT_NONE;
	put_stat(buf, VB_S_MEMFREE, 123456789);
	put_stat(buf + 10, 77, 5);		 /* unknown tag: ignored */
	put_stat(buf + 20, VB_S_HTLB_PGFAIL, 9); /* the last known tag */
	put_stat(buf + 30, VB_S_MEMTOT, 1ULL << 40);
	/* 3 trailing bytes: a partial entry, ignored. */
	assert_int_equal(vb_stats_parse(buf, 43, vals, &ignored), 4);
	assert_int_equal(ignored, 2);
	assert_true(vals[VB_S_MEMFREE] == 123456789);
	assert_true(vals[VB_S_HTLB_PGFAIL] == 9);
	assert_true(vals[VB_S_MEMTOT] == 1ULL << 40);
	assert_true(vals[VB_S_SWAP_IN] == VB_STAT_NONE);
	assert_int_equal(vb_stats_parse(buf, 0, vals, &ignored), 0);
	assert_int_equal(ignored, 0);
	assert_int_equal(vb_stats_parse(buf, 9, vals, &ignored), 0);
	assert_int_equal(ignored, 1);
	assert_string_equal(vb_stat_name(0), "stat-swap-in");
	assert_string_equal(vb_stat_name(VB_S_AVAIL), "stat-available-memory");
	assert_string_equal(vb_stat_name(VB_S_HTLB_PGFAIL), "stat-htlb-pgfail");
	assert_null(vb_stat_name(VB_S_NR));
}

static void test_pfn_runs(void **state)
{
	uint32_t a[] = {5, 6, 7, 9, 10, 10};
	uint32_t wrap[] = {UINT32_MAX, 0};

	assert_int_equal(vb_pfn_run(a, 6), 3);
	assert_int_equal(vb_pfn_run(a + 3, 3), 2);
	assert_int_equal(vb_pfn_run(a + 5, 1), 1);
	/* The last PFN does not run on into PFN 0. */
	assert_int_equal(vb_pfn_run(wrap, 2), 1);
}

static void test_span_clip(void **state)
{
	const struct vb_span s[] = {{0x1000, 0x3000}, {0x10000, 0x1000}, {~0ULL - 0xfff, 0x1000}};
	uint64_t piece;

	assert_int_equal(vb_span_clip(s, 3, 0x1000, 0x1000, &piece), 0);
	assert_true(piece == 0x1000);
	/* Runs past the span: the piece stops at its end. */
	assert_int_equal(vb_span_clip(s, 3, 0x3000, 0x5000, &piece), 0);
	assert_true(piece == 0x1000);
	/* In a hole: up to the next span. */
	assert_int_equal(vb_span_clip(s, 3, 0x4000, 0x100000, &piece), -1);
	assert_true(piece == 0xc000);
	assert_int_equal(vb_span_clip(s, 3, 0, 0x800, &piece), -1);
	assert_true(piece == 0x800);
	/* Past everything, and the span that ends at 2^64. */
	assert_int_equal(vb_span_clip(s, 3, 0x20000, ~0ULL - 0x20000 - 0x2000, &piece), -1);
	assert_true(piece == ~0ULL - 0x20000 - 0x2000);
	assert_int_equal(vb_span_clip(s, 3, ~0ULL - 0x7ff, 0x800, &piece), 2);
	assert_true(piece == 0x800);
	assert_int_equal(vb_span_clip(NULL, 0, 0x1000, 0x1000, &piece), -1);
	assert_true(piece == 0x1000);
}

static void test_align_and_arithmetic(void **state)
{
	uint64_t a, l;

	assert_true(vb_align_in(0x1000, 0x2000, 0x1000, &a, &l));
	assert_true(a == 0x1000 && l == 0x2000);
	assert_true(vb_align_in(0x1800, 0x2000, 0x1000, &a, &l));
	assert_true(a == 0x2000 && l == 0x1000);
	assert_false(vb_align_in(0x1000, 0x1000, 0x200000, &a, &l));
	assert_true(vb_align_in(0x1ff000, 0x402000, 0x200000, &a, &l));
	assert_true(a == 0x200000 && l == 0x400000);
	assert_false(vb_align_in(~0ULL - 0xfff, 0xfff, 0x1000, &a, &l));

	/* QEMU: a target above the guest's memory is all of it; pages saturate at 32 bits. */
	assert_int_equal(vb_target_pages(1ULL << 30, 1ULL << 29), 1 << 17);
	assert_int_equal(vb_target_pages(1ULL << 30, 1ULL << 31), 0);
	assert_int_equal(vb_target_pages(1ULL << 50, 1), UINT32_MAX);
	assert_true(vb_actual_bytes(1ULL << 30, 1 << 17) == 1ULL << 29);
	assert_true(vb_actual_bytes(1ULL << 20, UINT32_MAX) == 0);
}

/* ---- the device through fake guest memory ---- */

struct rec {
	uint64_t gpa, len;
};

struct fixture {
	struct fake_gmem fm;
	struct fake_pci fp;
	struct vballoon b;
	struct virtio_pci vp;
	struct vqd q[4];
	struct rec discards[64];
	unsigned int nr_discards;
	unsigned int changes;
};

static struct fixture *the;

/* The fake host refuses what is not its "RAM", as the board does. */
static void f_discard(struct vballoon *b, uint64_t gpa, uint64_t len, struct vb_discard *out)
{
	static const struct vb_span ram = {RAM_GPA, RAM_SIZE};

	while (len) {
		uint64_t piece;

		if (vb_span_clip(&ram, 1, gpa, len, &piece) < 0) {
			out->refused += piece;
		} else {
			assert_true(the->nr_discards < 64);
			the->discards[the->nr_discards++] = (struct rec){gpa, piece};
			out->discarded += piece;
		}
		gpa += piece;
		len -= piece;
	}
}

static void f_changed(struct vballoon *b)
{
	the->changes++;
}

static const struct vballoon_host_ops f_ops = {.discard = f_discard, .actual_changed = f_changed};

#define ALL_FEATURES                                                                               \
	(VDRV_VERSION_1 | 1ULL << VB_F_STATS_VQ | 1ULL << VB_F_DEFLATE_ON_OOM |                    \
	 1ULL << VB_F_REPORTING)

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const struct vballoon_params p = {
	    .num_pages = 256, .deflate_on_oom = true, .free_page_reporting = true};
	struct vdrv_queue qs[4];
	unsigned int i;

	the = f;
	mv_log_set_quiet(true);
	fake_gmem_init(&f->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&f->fp);
	assert_int_equal(vballoon_init(&f->b, &p, &f_ops, &f->fm.map, NULL), 0);
	assert_int_equal(virtio_pci_init(&f->vp, &f->b.vdev, &f->fp.h, NULL, "virtio-balloon"), 0);
	for (i = 0; i < 4; i++) {
		vqd_init(&f->q[i], &f->fm, MEM_GPA + i * 0x8000, VB_QUEUE_SIZE);
		qs[i] = vdrv_queue_of(&f->q[i], i);
	}
	assert_int_equal(vdrv_bring_up(&f->fp, &f->vp, ALL_FEATURES, qs, 4), 0xF);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_pci_destroy(&f->vp);
	vballoon_destroy(&f->b);
	fake_pci_free(&f->fp);
	fake_gmem_free(&f->fm);
	free(f);
	return 0;
}

static void kick(struct fixture *f, unsigned int q)
{
	vdrv_wr(&f->fp, &f->vp, VIRTIO_PCI_NOTIFY_OFF + q * VIRTIO_PCI_NOTIFY_MULT, 2, q);
}

static void put_pfns(struct fixture *f, uint64_t gpa, const uint32_t *pfn, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint32_t v = htole32(pfn[i]);

		memcpy(f->fm.buf + (gpa - MEM_GPA) + 4 * i, &v, 4);
	}
}

static void test_config_and_features(void **state)
{
	struct fixture *f = *state;
	uint32_t feats;

	/* The offer: statistics, deflate-on-OOM and reporting as configured; no MUST_TELL_HOST. */
	vdrv_wr(&f->fp, &f->vp, VIRTIO_PCI_DFSELECT, 4, 0);
	feats = (uint32_t)vdrv_rd(&f->fp, &f->vp, VIRTIO_PCI_DF, 4);
	assert_int_equal(feats,
			 1u << VB_F_STATS_VQ | 1u << VB_F_DEFLATE_ON_OOM | 1u << VB_F_REPORTING);
	assert_int_equal(vdrv_rd(&f->fp, &f->vp, VIRTIO_PCI_DEVICE_OFF, 4), 256);
	/* The host moves the target: the driver reads it, after a config interrupt. */
	vballoon_set_target(&f->b, 1000);
	assert_int_equal(vdrv_rd(&f->fp, &f->vp, VIRTIO_PCI_DEVICE_OFF, 4), 1000);
	assert_true(vdrv_rd(&f->fp, &f->vp, VIRTIO_PCI_ISR_OFF, 1) & VIRTIO_PCI_ISR_CONFIG);
	/* A guest write of num_pages changes nothing; actual is the driver's. */
	vdrv_wr(&f->fp, &f->vp, VIRTIO_PCI_DEVICE_OFF, 4, 7);
	assert_int_equal(vdrv_rd(&f->fp, &f->vp, VIRTIO_PCI_DEVICE_OFF, 4), 1000);
	assert_int_equal(f->changes, 0);
	vdrv_wr(&f->fp, &f->vp, VIRTIO_PCI_DEVICE_OFF + 4, 4, 300);
	assert_int_equal(f->changes, 1);
	vdrv_wr(&f->fp, &f->vp, VIRTIO_PCI_DEVICE_OFF + 4, 4, 300);
	assert_int_equal(f->changes, 1);
	/* A byte-wide write of actual's high byte. */
	vdrv_wr(&f->fp, &f->vp, VIRTIO_PCI_DEVICE_OFF + 7, 1, 1);
	assert_int_equal(f->b.actual, 300 + (1u << 24));
	assert_int_equal(f->changes, 2);
	/* A virtio reset: the driver's balloon is gone. */
	vdrv_reset(&f->fp, &f->vp);
	assert_int_equal(f->b.actual, 0);
	assert_int_equal(f->changes, 3);
	assert_int_equal(vdrv_rd(&f->fp, &f->vp, VIRTIO_PCI_DEVICE_OFF, 4), 1000);
}

static void test_inflate_deflate(void **state)
{
	struct fixture *f = *state;
	/* Three in a row, one alone, one outside guest memory, one in the refused lower half. */
	const uint32_t pfns[] = {0x200, 0x201, 0x202, 0x210, 0xFFFFFFFF, 0x150};
	struct vballoon_info vi;
	uint32_t id, len;

	put_pfns(f, BUF, pfns, 6);
	vqd_add(&f->q[0], (struct vqd_buf[]){{BUF, 24, false}}, 1);
	kick(f, 0);
	assert_int_equal(vqd_get_used(&f->q[0], &id, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(f->nr_discards, 2);
	assert_true(f->discards[0].gpa == 0x200000 && f->discards[0].len == 0x3000);
	assert_true(f->discards[1].gpa == 0x210000 && f->discards[1].len == 0x1000);
	vballoon_get_info(&f->b, &vi);
	assert_int_equal(vi.c.inflated_pages, 6);
	assert_int_equal(vi.c.discarded, 0x4000);
	assert_int_equal(vi.c.refused, 0x2000);

	/* Deflate: counted, nothing discarded. */
	vqd_add(&f->q[1], (struct vqd_buf[]){{BUF, 8, false}}, 1);
	kick(f, 1);
	assert_int_equal(vqd_get_used(&f->q[1], &id, &len), 1);
	vballoon_get_info(&f->b, &vi);
	assert_int_equal(vi.c.deflated_pages, 2);
	assert_int_equal(f->nr_discards, 2);

	/* A flood of PFNs in one chain: the first VB_MAX_PFNS are served, the rest dropped. */
	memset(f->fm.buf + (BUF - MEM_GPA), 0, 4 * 2048);
	vqd_add(&f->q[0], (struct vqd_buf[]){{BUF, 4 * 2048, false}}, 1);
	kick(f, 0);
	assert_int_equal(vqd_get_used(&f->q[0], &id, &len), 1);
	vballoon_get_info(&f->b, &vi);
	assert_int_equal(vi.c.dropped_pfns, 2048 - VB_MAX_PFNS);
	assert_int_equal(vi.c.inflated_pages, 6 + VB_MAX_PFNS);
	/* PFN 0 is outside the host's guest memory: all refused, nothing discarded. */
	assert_int_equal(f->nr_discards, 2);
	assert_int_equal(vi.c.refused, 0x2000 + VB_MAX_PFNS * 4096ULL);
}

static void test_reporting(void **state)
{
	struct fixture *f = *state;
	struct vballoon_info vi;
	uint32_t id, len;

	/* Linux hands free ranges as device-writable buffers. */
	vqd_add(&f->q[3],
		(struct vqd_buf[]){{RAM_GPA, 0x20000, true}, {RAM_GPA + 0x80000, 0x1000, true}}, 2);
	kick(f, 3);
	assert_int_equal(vqd_get_used(&f->q[3], &id, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(f->nr_discards, 2);
	assert_true(f->discards[0].gpa == RAM_GPA && f->discards[0].len == 0x20000);
	assert_true(f->discards[1].gpa == RAM_GPA + 0x80000 && f->discards[1].len == 0x1000);
	/* A range half inside the host's guest memory: only that half goes. */
	vqd_add(&f->q[3], (struct vqd_buf[]){{RAM_GPA - 0x2000, 0x4000, true}}, 1);
	kick(f, 3);
	assert_int_equal(vqd_get_used(&f->q[3], &id, &len), 1);
	assert_true(f->discards[2].gpa == RAM_GPA && f->discards[2].len == 0x2000);
	vballoon_get_info(&f->b, &vi);
	assert_int_equal(vi.c.reported_bytes, 0x25000);
	assert_int_equal(vi.c.discarded, 0x23000);
	assert_int_equal(vi.c.refused, 0x2000);
	assert_true(vi.reporting && vi.deflate_on_oom && vi.stats_vq);
}

static void test_stats_queue(void **state)
{
	struct fixture *f = *state;
	struct vballoon_info vi;
	uint8_t *p = f->fm.buf + (BUF - MEM_GPA);
	uint32_t id, len;
	uint16_t head;

	vballoon_get_info(&f->b, &vi);
	assert_true(vi.stats[VB_S_MEMFREE] == VB_STAT_NONE && vi.stats_last_update == 0);
	/* Nothing held yet: a poll does nothing. */
	vballoon_stats_poll(&f->b);
	assert_int_equal(vqd_get_used(&f->q[2], &id, &len), 0);

	put_stat(p, VB_S_MEMFREE, 100 << 20);
	put_stat(p + 10, VB_S_AVAIL, 200 << 20);
	put_stat(p + 20, 99, 1);
	head = vqd_add(&f->q[2], (struct vqd_buf[]){{BUF, 30, false}}, 1);
	kick(f, 2);
	/* Kept: the device answers only when it wants new figures. */
	assert_int_equal(vqd_get_used(&f->q[2], &id, &len), 0);
	vballoon_get_info(&f->b, &vi);
	assert_true(vi.stats[VB_S_MEMFREE] == 100 << 20 && vi.stats[VB_S_AVAIL] == 200 << 20);
	assert_true(vi.stats[VB_S_SWAP_IN] == VB_STAT_NONE);
	assert_true(vi.stats_last_update > 0);
	assert_int_equal(vi.c.stats_updates, 1);

	vballoon_stats_poll(&f->b);
	assert_int_equal(vqd_get_used(&f->q[2], &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	vballoon_stats_poll(&f->b);
	assert_int_equal(vqd_get_used(&f->q[2], &id, &len), 0);

	/* A driver that posts two buffers gets the first back at once. */
	head = vqd_add(&f->q[2], (struct vqd_buf[]){{BUF, 30, false}}, 1);
	vqd_add(&f->q[2], (struct vqd_buf[]){{BUF, 30, false}}, 1);
	kick(f, 2);
	assert_int_equal(vqd_get_used(&f->q[2], &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(vqd_get_used(&f->q[2], &id, &len), 0);

	/* A paused device hands nothing back; resumed, the next poll does. */
	pthread_mutex_lock(&f->b.vdev.lock);
	virtio_dev_set_paused(&f->b.vdev, true);
	pthread_mutex_unlock(&f->b.vdev.lock);
	vballoon_stats_poll(&f->b);
	assert_int_equal(vqd_get_used(&f->q[2], &id, &len), 0);
	pthread_mutex_lock(&f->b.vdev.lock);
	virtio_dev_set_paused(&f->b.vdev, false);
	pthread_mutex_unlock(&f->b.vdev.lock);
	vballoon_stats_poll(&f->b);
	assert_int_equal(vqd_get_used(&f->q[2], &id, &len), 1);

	assert_int_equal(vballoon_set_stats_interval(&f->b, 1ULL << 32), -EINVAL);
	assert_int_equal(vballoon_set_stats_interval(&f->b, 10), 0);
	vballoon_get_info(&f->b, &vi);
	assert_int_equal(vi.stats_interval, 10);
}

static void test_hostile_ring(void **state)
{
	struct fixture *f = *state;
	struct vballoon_info vi;
	uint32_t id, len;

	/* A buffer outside guest memory on the reporting queue: the ring is malformed. */
	vqd_add(&f->q[3], (struct vqd_buf[]){{MEM_GPA + MEM_SIZE, 0x1000, true}}, 1);
	kick(f, 3);
	assert_int_equal(vqd_get_used(&f->q[3], &id, &len), 0);
	assert_true(vdrv_rd(&f->fp, &f->vp, VIRTIO_PCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	vballoon_get_info(&f->b, &vi);
	assert_int_equal(vi.c.device_errors, 1);
	assert_int_equal(f->nr_discards, 0);

	/* A looping chain on the inflate queue after a reset and a new bring-up. */
	vdrv_reset(&f->fp, &f->vp);
	for (unsigned int i = 0; i < 4; i++)
		vqd_init(&f->q[i], &f->fm, MEM_GPA + i * 0x8000, VB_QUEUE_SIZE);
	struct vdrv_queue qs[4];
	for (unsigned int i = 0; i < 4; i++)
		qs[i] = vdrv_queue_of(&f->q[i], i);
	assert_int_equal(vdrv_bring_up(&f->fp, &f->vp, ALL_FEATURES, qs, 4), 0xF);
	vqd_put_desc(&f->q[0], 5, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	vqd_publish(&f->q[0], 5);
	kick(f, 0);
	assert_int_equal(vqd_get_used(&f->q[0], &id, &len), 0);
	assert_true(vdrv_rd(&f->fp, &f->vp, VIRTIO_PCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(f->nr_discards, 0);
	/* A kick on a queue no negotiated feature gives a role: nothing at all. */
	kick(f, 3);
}

static void test_no_reporting_without_feature(void **state)
{
	struct fake_gmem fm;
	struct fake_pci fp;
	struct vballoon b;
	struct virtio_pci vp;
	struct vqd q[3];
	struct vdrv_queue qs[3];
	const struct vballoon_params p = {.num_pages = 0};
	uint32_t feats, id, len;
	unsigned int i;

	the = calloc(1, sizeof(*the));
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&fp);
	assert_int_equal(vballoon_init(&b, &p, &f_ops, &fm.map, NULL), 0);
	assert_int_equal(virtio_pci_init(&vp, &b.vdev, &fp.h, NULL, "virtio-balloon"), 0);
	vdrv_wr(&fp, &vp, VIRTIO_PCI_DFSELECT, 4, 0);
	feats = (uint32_t)vdrv_rd(&fp, &vp, VIRTIO_PCI_DF, 4);
	assert_int_equal(feats, 1u << VB_F_STATS_VQ);
	for (i = 0; i < 3; i++) {
		vqd_init(&q[i], &fm, MEM_GPA + i * 0x8000, VB_QUEUE_SIZE);
		qs[i] = vdrv_queue_of(&q[i], i);
	}
	/* A driver that asks for REPORTING anyway is refused FEATURES_OK. */
	assert_int_not_equal(
	    vdrv_bring_up(&fp, &vp, VDRV_VERSION_1 | 1ULL << VB_F_REPORTING, qs, 3) & 0x8, 0x8);
	vdrv_reset(&fp, &vp);
	assert_int_equal(vdrv_bring_up(&fp, &vp, VDRV_VERSION_1 | 1ULL << VB_F_STATS_VQ, qs, 3),
			 0xF);
	/* Queue 2 is statistics: a buffer there is kept, not discarded as a report. */
	vqd_add(&q[2], (struct vqd_buf[]){{RAM_GPA, 0x1000, true}}, 1);
	vdrv_wr(&fp, &vp, VIRTIO_PCI_NOTIFY_OFF + 2 * VIRTIO_PCI_NOTIFY_MULT, 2, 2);
	assert_int_equal(vqd_get_used(&q[2], &id, &len), 0);
	assert_int_equal(the->nr_discards, 0);
	virtio_pci_destroy(&vp);
	vballoon_destroy(&b);
	fake_pci_free(&fp);
	fake_gmem_free(&fm);
	free(the);
}

/*
 * Linux's driver primes the statistics queue and kicks it before it sets
 * DRIVER_OK (init_vqs runs before virtio_device_ready). The device may not
 * consume it then; it must once DRIVER_OK is set, or the statistics never
 * start (seen in the e2e test: guest-stats stayed empty).
 */
static void test_stats_primed_before_driver_ok(void **state)
{
	struct fake_gmem fm;
	struct vballoon b;
	struct vqd q;
	struct virtio_dev *v = &b.vdev;
	const struct vballoon_params p = {.num_pages = 0};
	uint8_t *buf;

	the = calloc(1, sizeof(*the));
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	assert_int_equal(vballoon_init(&b, &p, &f_ops, &fm.map, NULL), 0);
	vqd_init(&q, &fm, MEM_GPA, VB_QUEUE_SIZE);
	pthread_mutex_lock(&v->lock);
	virtio_dev_set_status(v, 3);
	v->driver_features = VDRV_VERSION_1 | 1ULL << VB_F_STATS_VQ;
	virtio_dev_set_status(v, 0xB);
	v->vqs[2].desc = q.desc;
	v->vqs[2].avail = q.avail;
	v->vqs[2].used = q.used;
	assert_int_equal(virtq_enable(&v->vqs[2]), 0);
	buf = fm.buf + (BUF - MEM_GPA);
	put_stat(buf, VB_S_MEMTOT, 1 << 30);
	vqd_add(&q, (struct vqd_buf[]){{BUF, 10, false}}, 1);
	virtio_dev_queue_notify(v, 2);
	assert_false(b.stats_held);
	virtio_dev_set_status(v, 0xF);
	pthread_mutex_unlock(&v->lock);
	assert_true(b.stats_held);
	assert_true(b.stats[VB_S_MEMTOT] == 1 << 30);
	/* A reset forgets a notification that came before DRIVER_OK. */
	pthread_mutex_lock(&v->lock);
	virtio_dev_set_status(v, 0);
	vqd_add(&q, (struct vqd_buf[]){{BUF, 10, false}}, 1);
	virtio_dev_queue_notify(v, 2);
	virtio_dev_set_status(v, 0);
	assert_int_equal(v->deferred, 0);
	pthread_mutex_unlock(&v->lock);
	vballoon_destroy(&b);
	fake_gmem_free(&fm);
	free(the);
}

/* The polling timer runs on the event loop and hands the statistics buffer back. */
static void test_polling_timer_on_the_loop(void **state)
{
	struct fake_gmem fm;
	struct vballoon b;
	struct loop l;
	struct vqd q;
	struct virtio_dev *v = &b.vdev;
	const struct vballoon_params p = {.stats_interval = 1};
	uint64_t t0;
	uint32_t id, len;

	the = calloc(1, sizeof(*the));
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	assert_int_equal(loop_init(&l), 0);
	assert_int_equal(vballoon_init(&b, &p, &f_ops, &fm.map, &l), 0);
	vqd_init(&q, &fm, MEM_GPA, VB_QUEUE_SIZE);
	pthread_mutex_lock(&v->lock);
	virtio_dev_set_status(v, 3);
	v->driver_features = VDRV_VERSION_1 | 1ULL << VB_F_STATS_VQ;
	virtio_dev_set_status(v, 0xB);
	v->vqs[2].desc = q.desc;
	v->vqs[2].avail = q.avail;
	v->vqs[2].used = q.used;
	assert_int_equal(virtq_enable(&v->vqs[2]), 0);
	virtio_dev_set_status(v, 0xF);
	vqd_add(&q, (struct vqd_buf[]){{BUF, 10, false}}, 1);
	virtio_dev_queue_notify(v, 2);
	pthread_mutex_unlock(&v->lock);
	assert_true(b.stats_held);
	t0 = loop_now_ms();
	while (b.stats_held && loop_now_ms() - t0 < 3000)
		loop_run_once(&l, 100);
	assert_false(b.stats_held);
	assert_true(loop_now_ms() - t0 >= 500);
	assert_int_equal(vqd_get_used(&q, &id, &len), 1);
	/* 0 stops it: a new buffer stays held. */
	assert_int_equal(vballoon_set_stats_interval(&b, 0), 0);
	pthread_mutex_lock(&v->lock);
	vqd_add(&q, (struct vqd_buf[]){{BUF, 10, false}}, 1);
	virtio_dev_queue_notify(v, 2);
	pthread_mutex_unlock(&v->lock);
	t0 = loop_now_ms();
	while (loop_now_ms() - t0 < 1300)
		loop_run_once(&l, 100);
	assert_true(b.stats_held);
	vballoon_destroy(&b);
	loop_destroy(&l);
	fake_gmem_free(&fm);
	free(the);
}

/* ---- save and load ---- */

static void test_save_load_round_trip(void **state)
{
	struct fixture *f = *state;
	const struct vballoon_params same = {.deflate_on_oom = true, .free_page_reporting = true};
	const struct vballoon_params other = {.deflate_on_oom = true};
	struct mv_state_writer w;
	struct mv_state_section sec;
	struct vballoon b2, b3;
	struct vballoon_info a, c;
	char err[256];
	uint8_t *p = f->fm.buf + (BUF - MEM_GPA);

	vballoon_set_target(&f->b, 4242);
	vdrv_wr(&f->fp, &f->vp, VIRTIO_PCI_DEVICE_OFF + 4, 4, 17);
	put_stat(p, VB_S_MINFLT, 31337);
	vqd_add(&f->q[2], (struct vqd_buf[]){{BUF, 10, false}}, 1);
	kick(f, 2);
	assert_int_equal(vballoon_set_stats_interval(&f->b, 5), 0);
	vballoon_get_info(&f->b, &a);
	assert_true(f->b.stats_held);

	mv_sw_init(&w);
	vballoon_save(&f->b, &w);
	assert_int_equal(mv_sw_error(&w), 0);
	assert_int_equal(mv_state_find(w.buf, w.len, VB_STATE_NAME, &sec, err, sizeof(err)), 0);

	assert_int_equal(vballoon_init(&b2, &same, &f_ops, &f->fm.map, NULL), 0);
	assert_int_equal(vballoon_load(&b2, &sec, err, sizeof(err)), 0);
	vballoon_get_info(&b2, &c);
	assert_int_equal(c.num_pages, 4242);
	assert_int_equal(c.actual, 17);
	assert_true(c.stats[VB_S_MINFLT] == 31337 && c.stats[VB_S_MEMFREE] == VB_STAT_NONE);
	assert_true(c.stats_last_update == a.stats_last_update);
	assert_int_equal(c.stats_interval, 5);
	assert_memory_equal(&c.c, &a.c, sizeof(a.c));
	assert_true(b2.stats_held && b2.stats_head == f->b.stats_head);
	vballoon_destroy(&b2);

	/* Another feature set: refused, named, nothing changed. */
	assert_int_equal(vballoon_init(&b3, &other, &f_ops, &f->fm.map, NULL), 0);
	assert_int_equal(vballoon_load(&b3, &sec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "virtio-balloon: features"));
	assert_int_equal(b3.num_pages, 0);
	/* Truncated: refused. */
	sec.payload.len -= 1;
	assert_int_equal(vballoon_load(&b3, &sec, err, sizeof(err)), -EINVAL);
	assert_int_equal(b3.num_pages, 0);
	vballoon_destroy(&b3);
	mv_sw_free(&w);

	/* A held buffer whose head is past any queue: refused. */
	mv_sw_init(&w);
	f->b.stats_head = VB_QUEUE_SIZE;
	vballoon_save(&f->b, &w);
	assert_int_equal(mv_state_find(w.buf, w.len, VB_STATE_NAME, &sec, err, sizeof(err)), 0);
	assert_int_equal(vballoon_init(&b2, &same, &f_ops, &f->fm.map, NULL), 0);
	assert_int_equal(vballoon_load(&b2, &sec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "statistics buffer"));
	vballoon_destroy(&b2);
	mv_sw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queue_roles),
	    cmocka_unit_test(test_stats_parse),
	    cmocka_unit_test(test_pfn_runs),
	    cmocka_unit_test(test_span_clip),
	    cmocka_unit_test(test_align_and_arithmetic),
	    cmocka_unit_test_setup_teardown(test_config_and_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inflate_deflate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reporting, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stats_queue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_ring, setup, teardown),
	    cmocka_unit_test(test_no_reporting_without_feature),
	    cmocka_unit_test(test_stats_primed_before_driver_ok),
	    cmocka_unit_test(test_polling_timer_on_the_loop),
	    cmocka_unit_test_setup_teardown(test_save_load_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
