/* Unit tests for virtio/rng: random bytes into device-writable buffers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "lib/log.h"
#include "virtio/pci.h"
#include "virtio/rng.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x80000ULL
#define BUF	 (MEM_GPA + 0x10000)

static void wr(struct fake_pci *fp, uint64_t bar, uint64_t off, uint32_t len, uint64_t v)
{
	assert_true(bus_write(&fp->mmio, bar + off, &v, len));
}

static uint64_t rd(struct fake_pci *fp, uint64_t bar, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	assert_true(bus_read(&fp->mmio, bar + off, &v, len));
	return v;
}

static void test_fills_buffers(void **state)
{
	struct fake_gmem fm;
	struct fake_pci fp;
	struct vrng r;
	struct virtio_pci vp;
	struct vqd d;
	uint64_t bar;
	uint32_t id, len;
	unsigned int i, nonzero = 0;

	mv_log_set_quiet(true);
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&fp);
	assert_int_equal(vrng_init(&r, &fm.map), 0);
	assert_int_equal(virtio_pci_init(&vp, &r.vdev, &fp.h, NULL, "virtio-rng"), 0);
	bar = vp.pci.bars[0].addr;
	assert_int_equal(pci_cfg_read(&fp.h, vp.pci.slot, 0, 2, 2), 0x1044);
	assert_int_equal(pci_cfg_read(&fp.h, vp.pci.slot, 0, 8, 4) >> 8, 0x00FF00);

	vqd_init(&d, &fm, MEM_GPA, 64);
	assert_int_equal(
	    vdrv_bring_up(&fp, &vp, VDRV_VERSION_1, (struct vdrv_queue[]){vdrv_queue_of(&d, 0)}, 1),
	    0xF);

	vqd_add(&d, (struct vqd_buf[]){{BUF, 64, true}}, 1);
	/* Two writable segments in one chain; 128 KiB is capped at 64 KiB. */
	vqd_add(&d, (struct vqd_buf[]){{BUF + 64, 100, true}, {BUF + 164, 0x20000, true}}, 2);
	wr(&fp, bar, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(vqd_get_used(&d, &id, &len), 1);
	assert_int_equal(len, 64);
	assert_int_equal(vqd_get_used(&d, &id, &len), 1);
	assert_int_equal(len, 64 * 1024);
	for (i = 0; i < 64; i++)
		nonzero += fm.buf[0x10000 + i] != 0;
	assert_true(nonzero > 32);
	assert_int_equal(rd(&fp, bar, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_QUEUE);

	/* A readable-only buffer: 0 bytes written, still returned. */
	vqd_add(&d, (struct vqd_buf[]){{BUF, 16, false}}, 1);
	wr(&fp, bar, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(vqd_get_used(&d, &id, &len), 1);
	assert_int_equal(len, 0);

	/* A hostile chain stops the device. */
	vqd_put_desc(&d, 5, BUF, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	vqd_publish(&d, 5);
	wr(&fp, bar, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(vqd_get_used(&d, &id, &len), 0);
	assert_true(rd(&fp, bar, VIRTIO_PCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);

	virtio_pci_destroy(&vp);
	vrng_destroy(&r);
	fake_pci_free(&fp);
	fake_gmem_free(&fm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fills_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
