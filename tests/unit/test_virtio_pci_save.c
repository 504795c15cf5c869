/* Unit tests for virtio/pci_save: the "virtio-pci.<name>" section round trip and its refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/log.h"
#include "virtio/pci_save.h"
#include "virtio/rng.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x80000ULL
#define BUF	 (MEM_GPA + 0x10000)
#define HDR	 (1 + 21 + 4 + 8) /* "virtio-pci.virtio-rng" */
#define Q0	 34		  /* queue 0 in the payload */
#define MX	 (Q0 + 34)	  /* the MSI-X part: vectors, count, table, PBA */
#define MX_LEN	 (2 + 2 + 1 + 2 * 16 + 8)

struct rig {
	struct fake_pci fp;
	struct vrng rng;
	struct virtio_pci vp;
	uint64_t bar;
};

/* A virtio-rng function on its own fake host; msi: the host routes MSI-X too. */
static struct rig *rig_new_on(struct fake_gmem *fm, bool msi)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	if (msi)
		fake_pci_init_msi(&r->fp);
	else
		fake_pci_init(&r->fp);
	assert_int_equal(vrng_init(&r->rng, &fm->map), 0);
	assert_int_equal(virtio_pci_init(&r->vp, &r->rng.vdev, &r->fp.h, NULL, "virtio-rng"), 0);
	r->bar = r->vp.pci.bars[0].addr;
	return r;
}

static struct rig *rig_new(struct fake_gmem *fm)
{
	return rig_new_on(fm, false);
}

static void rig_free(struct rig *r)
{
	virtio_pci_destroy(&r->vp);
	vrng_destroy(&r->rng);
	fake_pci_free(&r->fp);
	free(r);
}

static void wr(struct rig *r, uint64_t off, uint32_t len, uint64_t v)
{
	assert_true(bus_write(&r->fp.mmio, r->bar + off, &v, len));
}

static uint64_t rd(struct rig *r, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	assert_true(bus_read(&r->fp.mmio, r->bar + off, &v, len));
	return v;
}

/* A driver that set up the queue, had three buffers used and left the ISR pending. */
static void drive(struct rig *r, struct vqd *d, struct fake_gmem *fm)
{
	struct vdrv_queue q;
	unsigned int i;
	uint32_t id, len;

	vqd_init(d, fm, MEM_GPA, 32);
	q = vdrv_queue_of(d, 0);
	q.size = 32;
	assert_int_equal(vdrv_bring_up(&r->fp, &r->vp, VDRV_VERSION_1, &q, 1), 0xF);
	for (i = 0; i < 3; i++) {
		vqd_add(d, (struct vqd_buf[]){{BUF + 64 * i, 64, true}}, 1);
		wr(r, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
		assert_int_equal(vqd_get_used(d, &id, &len), 1);
	}
	wr(r, VIRTIO_PCI_DFSELECT, 4, 1);
	wr(r, VIRTIO_PCI_Q_SELECT, 2, 5); /* no such queue: a driver may still select it */
}

static void save(struct rig *r, struct mv_state_writer *w)
{
	mv_sw_init(w);
	virtio_pci_save(&r->vp, w);
	assert_int_equal(mv_sw_error(w), 0);
}

static int load(struct rig *r, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct mv_state_section sec;
	char name[MV_STATE_NAME_MAX + 1];
	int ret;

	virtio_pci_state_name(&r->vp, name, sizeof(name));
	ret = mv_state_find(buf, len, name, &sec, err, errlen);
	return ret ? ret : virtio_pci_load(&r->vp, &sec, err, errlen);
}

static void assert_same(struct rig *a, struct rig *b)
{
	struct virtio_dev *x = &a->rng.vdev, *y = &b->rng.vdev;
	const struct virtq *p = &x->vqs[0], *q = &y->vqs[0];

	assert_int_equal(x->driver_features, y->driver_features);
	assert_int_equal(x->status, y->status);
	assert_int_equal(x->config_generation, y->config_generation);
	assert_int_equal(a->vp.dfselect, b->vp.dfselect);
	assert_int_equal(a->vp.gfselect, b->vp.gfselect);
	assert_int_equal(a->vp.queue_select, b->vp.queue_select);
	assert_int_equal(a->vp.isr, b->vp.isr);
	assert_int_equal(p->size, q->size);
	assert_int_equal(p->enabled, q->enabled);
	assert_int_equal(p->broken, q->broken);
	assert_int_equal(p->desc, q->desc);
	assert_int_equal(p->avail, q->avail);
	assert_int_equal(p->used, q->used);
	assert_int_equal(p->last_avail_idx, q->last_avail_idx);
	assert_int_equal(p->used_idx, q->used_idx);
}

static void test_round_trip(void **st)
{
	struct fake_gmem fm;
	struct rig *a, *b;
	struct mv_state_writer w;
	struct vqd d;
	char err[200] = "";
	uint32_t id, len;

	mv_log_set_quiet(true);
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	a = rig_new(&fm);
	b = rig_new(&fm);
	drive(a, &d, &fm);
	save(a, &w);
	assert_int_equal(w.len, HDR + MX + MX_LEN);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_same(a, b);
	assert_int_equal(b->vp.isr, VIRTIO_PCI_ISR_QUEUE);
	/* The pending interrupt is asserted on b's line too. */
	assert_int_equal(b->fp.level[b->vp.pci.gsi], 1);
	/* The "pci" section carries the command register (bus master) in a whole stream. */
	pci_cfg_write(&b->fp.h, b->vp.pci.slot, 0, 0x04, 2, 0x0006);
	/* The driver carries on with b where it left a: the fourth buffer is used as the fourth. */
	vqd_add(&d, (struct vqd_buf[]){{BUF + 256, 32, true}}, 1);
	wr(b, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(vqd_get_used(&d, &id, &len), 1);
	assert_int_equal(vqd_used_idx(&d), 4);
	assert_int_equal(len, 32);
	assert_int_equal(rd(b, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_QUEUE);
	assert_int_equal(b->fp.level[b->vp.pci.gsi], 0);
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
	fake_gmem_free(&fm);
}

/*
 * A driver notified while the device was held (paused, or a live
 * snapshot's virtio-mem): the notify was deferred, the snapshot taken, and
 * the driver waits for an answer it will never ask for again. The restored
 * device serves each enabled queue once when nothing holds it. (Before: the
 * restored virtio-mem never answered a plug request sent during a live
 * snapshot, and the guest never converged.)
 */
static void test_notify_deferred_at_snapshot_is_served(void **st)
{
	struct fake_gmem fm;
	struct rig *a, *b;
	struct mv_state_writer w;
	struct vqd d;
	char err[200] = "";

	mv_log_set_quiet(true);
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	a = rig_new(&fm);
	b = rig_new(&fm);
	drive(a, &d, &fm);
	virtio_pci_set_paused(&a->vp, true);
	vqd_add(&d, (struct vqd_buf[]){{BUF + 256, 32, true}}, 1);
	wr(a, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(a->rng.vdev.deferred, 1); /* held: not served */
	save(a, &w);
	virtio_pci_set_paused(&b->vp, true);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_int_equal(b->rng.vdev.deferred, 1);
	pci_cfg_write(&b->fp.h, b->vp.pci.slot, 0, 0x04, 2,
		      0x0006); /* the "pci" section's bus master */
	assert_int_equal(b->rng.vdev.deferred, 1);
	virtio_pci_set_paused(&b->vp, false);
	assert_int_equal(b->rng.vdev.deferred, 0); /* handed to the loop (kick_later) */
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
	fake_gmem_free(&fm);
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	while (n--) {
		*p++ = v;
		v >>= 8;
	}
}

static void expect_refused(struct rig *a, struct fake_gmem *fm, size_t at, uint64_t val,
			   unsigned int n, const char *msg)
{
	struct rig *b = rig_new(fm), *ref = rig_new(fm);
	struct mv_state_writer w;
	char err[200] = "";

	save(a, &w);
	put_le(w.buf + HDR + at, val, n);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	assert_same(ref, b);
	assert_int_equal(b->fp.set_irq_calls, ref->fp.set_irq_calls);
	mv_sw_free(&w);
	rig_free(b);
	rig_free(ref);
}

static void test_refused(void **st)
{
	struct fake_gmem fm;
	struct rig *a;
	struct vqd d;

	mv_log_set_quiet(true);
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	a = rig_new(&fm);
	drive(a, &d, &fm);
	expect_refused(a, &fm, 0, 24, 4,
		       "virtio-pci.virtio-rng: device id 24 with 1 queues in the saved state, 4 "
		       "with 1 here");
	expect_refused(a, &fm, 5, 1ULL << 32 | 1, 8,
		       "virtio-pci.virtio-rng: host_features 0x100000001 in the saved state, "
		       "0x100000000 here (device options differ)");
	expect_refused(a, &fm, 21, 0x1F, 1,
		       "virtio-pci.virtio-rng: status 0x1f has reserved bits set");
	expect_refused(a, &fm, 13, 1ULL << 32 | 4, 8,
		       "virtio-pci.virtio-rng: driver_features 0x100000004 accepted (FEATURES_OK) "
		       "but not offered");
	expect_refused(a, &fm, 33, 4, 1, "virtio-pci.virtio-rng: isr 0x4 has reserved bits set");
	expect_refused(a, &fm, Q0, 48, 2,
		       "virtio-pci.virtio-rng: queue 0: size 48 is not a power of two <= 64");
	expect_refused(a, &fm, Q0, 128, 2,
		       "virtio-pci.virtio-rng: queue 0: size 128 is not a power of two <= 64");
	/* Broken but disabled: a reset clears both, so this cannot be. */
	expect_refused(a, &fm, Q0 + 2, 0x0100, 2,
		       "virtio-pci.virtio-rng: queue 0: enabled 0 / broken 1 are inconsistent");
	expect_refused(a, &fm, Q0 + 4, MEM_GPA + MEM_SIZE - 16, 8,
		       "virtio-pci.virtio-rng: queue 0: desc 0x17fff0 not inside guest memory");
	expect_refused(a, &fm, Q0 + 12, MEM_GPA - 2, 8,
		       "virtio-pci.virtio-rng: queue 0: driver area 0xffffe not inside guest "
		       "memory");
	expect_refused(a, &fm, Q0 + 20, 0xFFFFFFFFFFFFFFF0ULL, 8,
		       "virtio-pci.virtio-rng: queue 0: device area 0xfffffffffffffff0 not inside "
		       "guest memory");
	expect_refused(a, &fm, Q0 + 20, MEM_GPA + 2, 8,
		       "virtio-pci.virtio-rng: queue 0: ring addresses misaligned");
	expect_refused(a, &fm, Q0 + 28, 40, 2,
		       "virtio-pci.virtio-rng: queue 0: last_avail_idx 40 and used_idx 3: more in "
		       "flight than the queue holds");
	expect_refused(a, &fm, Q0 + 32, 1, 2,
		       "virtio-pci.virtio-rng: queue 0: notify_off 1, this device uses 0");
	expect_refused(a, &fm, MX, 2, 2,
		       "virtio-pci.virtio-rng: msix_config 2 is not one of the 2 vectors");
	expect_refused(a, &fm, MX + 2, 5, 2,
		       "virtio-pci.virtio-rng: queue 0: queue_msix_vector 5 is not one of the 2 "
		       "vectors");
	expect_refused(a, &fm, MX + 4, 3, 1,
		       "virtio-pci.virtio-rng: 3 MSI-X vectors in the saved state, 2 here");
	expect_refused(
	    a, &fm, MX + 5 + 12, 3, 4,
	    "virtio-pci.virtio-rng: MSI-X vector 0: vector control 0x3 has reserved bits "
	    "set");
	expect_refused(a, &fm, MX + 5 + 32, 4, 8,
		       "virtio-pci.virtio-rng: MSI-X pending bits 0x4 beyond the 2 vectors");
	rig_free(a);
	fake_gmem_free(&fm);
}

static unsigned int msix_cap(struct rig *r)
{
	return r->vp.msix.cap;
}

static void msix_enable(struct rig *r)
{
	/* What the "pci" section carries in a whole stream. */
	pci_cfg_write(&r->fp.h, r->vp.pci.slot, 0, msix_cap(r) + 2, 2, MSIX_CTRL_ENABLE);
}

static void tbl_wr(struct rig *r, uint64_t off, uint32_t len, uint64_t v)
{
	assert_true(bus_write(&r->fp.mmio, r->vp.pci.bars[1].addr + off, &v, len));
}

/*
 * MSI-X state travels: the vectors mapped, the table and a vector pending
 * behind its mask, sent on the restored side at unmask with the saved
 * message, through a route made there.
 */
static void test_msix_round_trip(void **st)
{
	struct fake_gmem fm;
	struct rig *a, *b;
	struct mv_state_writer w;
	struct vqd d;
	char err[200] = "";

	mv_log_set_quiet(true);
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	a = rig_new_on(&fm, true);
	b = rig_new_on(&fm, true);
	msix_enable(a);
	tbl_wr(a, 0, 8, 0xFEE00000ULL);
	tbl_wr(a, 8, 4, 0x60);
	tbl_wr(a, 12, 4, 0);
	tbl_wr(a, 16, 8, 0xFEE01000ULL);
	tbl_wr(a, 16 + 8, 4, 0x61);
	drive(a, &d, &fm);
	wr(a, VIRTIO_PCI_MSIX_CONFIG, 2, 0);
	wr(a, VIRTIO_PCI_Q_SELECT, 2, 0);
	wr(a, VIRTIO_PCI_Q_MSIX, 2, 1);
	/* Queue 0's vector is masked (as reset): its message waits in the PBA. */
	vqd_add(&d, (struct vqd_buf[]){{BUF + 256, 32, true}}, 1);
	wr(a, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(a->vp.msix.pba, 2);
	assert_int_equal(a->fp.msis, 0);
	save(a, &w);
	msix_enable(b);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_int_equal(b->vp.config_vec, 0);
	assert_int_equal(b->vp.q_vec[0], 1);
	assert_memory_equal(b->vp.msix.table, a->vp.msix.table, 2 * 16);
	assert_int_equal(b->vp.msix.pba, 2);
	/* Nothing sent at load, no INTx either. */
	assert_int_equal(b->fp.msis, 0);
	assert_int_equal(b->fp.level[b->vp.pci.gsi], 0);
	tbl_wr(b, 16 + 12, 4, 0);
	assert_int_equal(b->fp.msis, 1);
	assert_int_equal(b->fp.msi_data, 0x61);
	assert_true(b->fp.route[0].used);
	assert_int_equal(b->vp.msix.pba, 0);
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
	fake_gmem_free(&fm);
}

/* A disabled queue's registers are the driver's scratch: any value round-trips. */
static void test_disabled_queue_scratch(void **st)
{
	struct fake_gmem fm;
	struct rig *a, *b;
	struct mv_state_writer w;
	char err[200] = "";

	mv_log_set_quiet(true);
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	a = rig_new(&fm);
	b = rig_new(&fm);
	wr(a, VIRTIO_PCI_STATUS, 1, 3);
	wr(a, VIRTIO_PCI_Q_SIZE, 2, 1000);
	wr(a, VIRTIO_PCI_Q_DESC, 8, 0xDEAD0000);
	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_same(a, b);
	assert_int_equal(b->fp.level[b->vp.pci.gsi], 0);
	/* Enabling it is refused later as it would have been on a. */
	wr(b, VIRTIO_PCI_Q_ENABLE, 2, 1);
	assert_false(b->rng.vdev.vqs[0].enabled);
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
	fake_gmem_free(&fm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_notify_deferred_at_snapshot_is_served),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_disabled_queue_scratch),
	    cmocka_unit_test(test_msix_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
