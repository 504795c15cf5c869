/* Unit tests for virtio/pci: the modern transport over a fake PCI host. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/loop.h"

#include "lib/log.h"
#include "virtio/pci.h"
#include "virtio/virtio.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x40000ULL

/* A test device: 2 queues of 16, 8 bytes of config, feature bit 3 offered. */
struct tdev {
	struct virtio_dev vdev;
	unsigned int notified[2];
	unsigned int resets;
	bool refuse;
};

static void tdev_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	static const uint8_t cfg[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

	memcpy(data, cfg + off, len);
}

static void tdev_queue_notify(struct virtio_dev *d, unsigned int q)
{
	container_of(d, struct tdev, vdev)->notified[q]++;
}

static void tdev_reset(struct virtio_dev *d)
{
	container_of(d, struct tdev, vdev)->resets++;
}

static int tdev_features_ok(struct virtio_dev *d, uint64_t f)
{
	return container_of(d, struct tdev, vdev)->refuse ? -EINVAL : 0;
}

static const struct virtio_dev_ops tdev_ops = {
    .device_id = 26,
    .num_queues = 2,
    .queue_max_size = 16,
    .config_size = 8,
    .features_ok = tdev_features_ok,
    .config_read = tdev_config_read,
    .queue_notify = tdev_queue_notify,
    .reset = tdev_reset,
};

struct fix {
	struct fake_gmem fm;
	struct fake_pci fp;
	struct tdev t;
	struct virtio_pci vp;
	uint64_t bar;
};

static uint64_t rd(struct fix *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	assert_true(bus_read(&f->fp.mmio, f->bar + off, &v, len));
	return v;
}

static void wr(struct fix *f, uint64_t off, uint32_t len, uint64_t v)
{
	assert_true(bus_write(&f->fp.mmio, f->bar + off, &v, len));
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	mv_log_set_quiet(true);
	fake_gmem_init(&f->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&f->fp);
	assert_int_equal(virtio_dev_init(&f->t.vdev, &tdev_ops, &f->fm.map, 1ULL << 3), 0);
	assert_int_equal(virtio_pci_init(&f->vp, &f->t.vdev, &f->fp.h, NULL, "vtest"), 0);
	f->bar = f->vp.pci.bars[0].addr;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	virtio_pci_destroy(&f->vp);
	virtio_dev_destroy(&f->t.vdev);
	fake_pci_free(&f->fp);
	fake_gmem_free(&f->fm);
	free(f);
	return 0;
}

static uint32_t cfg(struct fix *f, unsigned int off, unsigned int len)
{
	return pci_cfg_read(&f->fp.h, f->vp.pci.slot, 0, off, len);
}

static void test_header_and_caps(void **state)
{
	struct fix *f = *state;
	unsigned int p, seen = 0;

	assert_int_equal(cfg(f, 0, 2), 0x1AF4);
	assert_int_equal(cfg(f, 2, 2), 0x1040 + 26);
	assert_int_equal(cfg(f, 8, 1), 1);
	assert_true(cfg(f, 0x2E, 2) >= 0x40);
	assert_int_equal(cfg(f, 0x3D, 1), 1);
	assert_true(cfg(f, 6, 2) & 0x10);
	assert_int_equal(f->bar, PCI_MMIO32_BASE);
	for (p = cfg(f, 0x34, 1); p; p = cfg(f, p + 1, 1)) {
		unsigned int type = cfg(f, p + 3, 1);

		if (cfg(f, p, 1) == 0x11) {
			/* MSI-X: 3 vectors (2 queues + config), table and PBA in BAR1. */
			assert_int_equal(cfg(f, p + 2, 2), 2);
			assert_int_equal(cfg(f, p + 4, 4), MSIX_TABLE_OFF | 1);
			assert_int_equal(cfg(f, p + 8, 4), MSIX_PBA_OFF | 1);
			seen |= 1U << 8;
			continue;
		}
		assert_int_equal(cfg(f, p, 1), 0x09);
		assert_int_equal(cfg(f, p + 4, 1), 0); /* BAR0 */
		seen |= 1U << type;
		switch (type) {
		case 1:
			assert_int_equal(cfg(f, p + 8, 4), VIRTIO_PCI_COMMON_OFF);
			assert_true(cfg(f, p + 12, 4) >= 0x38);
			break;
		case 2:
			assert_int_equal(cfg(f, p + 2, 1), 20);
			assert_int_equal(cfg(f, p + 8, 4), VIRTIO_PCI_NOTIFY_OFF);
			assert_int_equal(cfg(f, p + 16, 4), 4);
			break;
		case 3:
			assert_int_equal(cfg(f, p + 8, 4), VIRTIO_PCI_ISR_OFF);
			break;
		case 4:
			assert_int_equal(cfg(f, p + 12, 4), 8);
			break;
		case 5:
			assert_int_equal(cfg(f, p + 2, 1), 20);
			break;
		}
	}
	assert_int_equal(seen, 0x13E);
	assert_int_equal(f->vp.pci.bars[1].size, MSIX_BAR_SIZE);
}

static void test_features(void **state)
{
	struct fix *f = *state;

	wr(f, VIRTIO_PCI_DFSELECT, 4, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_DF, 4), 1 << 3);
	wr(f, VIRTIO_PCI_DFSELECT, 4, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_DF, 4), 1); /* VERSION_1 */
	wr(f, VIRTIO_PCI_DFSELECT, 4, 7);
	assert_int_equal(rd(f, VIRTIO_PCI_DF, 4), 0);

	/* Without VERSION_1, FEATURES_OK does not stick. */
	wr(f, VIRTIO_PCI_STATUS, 1, 3);
	wr(f, VIRTIO_PCI_GFSELECT, 4, 0);
	wr(f, VIRTIO_PCI_GF, 4, 1 << 3);
	wr(f, VIRTIO_PCI_STATUS, 1, 3 | 8);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 3);

	/* A bit never offered is refused too. */
	wr(f, VIRTIO_PCI_GFSELECT, 4, 1);
	wr(f, VIRTIO_PCI_GF, 4, 1 | 2);
	wr(f, VIRTIO_PCI_STATUS, 1, 3 | 8);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 3);

	/* The device hook may refuse. */
	wr(f, VIRTIO_PCI_GF, 4, 1);
	f->t.refuse = true;
	wr(f, VIRTIO_PCI_STATUS, 1, 3 | 8);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 3);
	f->t.refuse = false;
	wr(f, VIRTIO_PCI_STATUS, 1, 3 | 8);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 3 | 8);
	assert_int_equal(f->t.vdev.driver_features, 1ULL << 32 | 1 << 3);
	assert_true(virtio_dev_has_feature(&f->t.vdev, 3));
	/* Fixed after FEATURES_OK. */
	wr(f, VIRTIO_PCI_GFSELECT, 4, 0);
	wr(f, VIRTIO_PCI_GF, 4, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_GF, 4), 1 << 3);
}

/* PCI command register: memory decode (bit 1), bus master (bit 2). */
static void command(struct fix *f, uint16_t v)
{
	pci_cfg_write(&f->fp.h, f->vp.pci.slot, 0, 0x04, 2, v);
}

/* As Linux's virtio_pci_probe: the shared bring-up with both queues, 8 entries each. */
static void driver_ok(struct fix *f)
{
	const struct vdrv_queue q[] = {
	    {0, 8, MEM_GPA, MEM_GPA + 0x1000, MEM_GPA + 0x2000},
	    {1, 8, MEM_GPA, MEM_GPA + 0x1000, MEM_GPA + 0x2000},
	};

	vdrv_bring_up(&f->fp, &f->vp, VDRV_VERSION_1, q, 2);
}

static void test_queue_setup(void **state)
{
	struct fix *f = *state;
	struct virtq *q = &f->t.vdev.vqs[1];

	assert_int_equal(rd(f, VIRTIO_PCI_NUM_QUEUES, 2), 2);
	assert_int_equal(rd(f, VIRTIO_PCI_MSIX_CONFIG, 2), 0xFFFF);
	wr(f, VIRTIO_PCI_Q_SELECT, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_SIZE, 2), 16);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_MSIX, 2), 0xFFFF);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_NOTIFY_OFF, 2), 1);
	wr(f, VIRTIO_PCI_Q_SIZE, 2, 4);
	wr(f, VIRTIO_PCI_Q_DESC, 4, 0x89ABC000);
	wr(f, VIRTIO_PCI_Q_DESC + 4, 4, 0x1);
	wr(f, VIRTIO_PCI_Q_DRIVER, 8, 0x200000000ULL);
	wr(f, VIRTIO_PCI_Q_DEVICE + 4, 4, 0x3);
	wr(f, VIRTIO_PCI_Q_DEVICE, 4, 0x1000);
	assert_int_equal(q->desc, 0x189ABC000ULL);
	assert_int_equal(q->avail, 0x200000000ULL);
	assert_int_equal(q->used, 0x300001000ULL);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_DESC + 4, 4), 1);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_DEVICE, 8), 0x300001000ULL);
	/* Wrong widths are dropped. */
	wr(f, VIRTIO_PCI_Q_DESC + 2, 2, 0xFFFF);
	wr(f, VIRTIO_PCI_Q_SIZE, 4, 2);
	assert_int_equal(q->desc, 0x189ABC000ULL);
	assert_int_equal(q->size, 4);
	wr(f, VIRTIO_PCI_Q_ENABLE, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_ENABLE, 2), 1);
	/* Enabled: the driver may no longer move it. */
	wr(f, VIRTIO_PCI_Q_SIZE, 2, 2);
	wr(f, VIRTIO_PCI_Q_DESC, 4, 0);
	assert_int_equal(q->size, 4);
	assert_int_equal(q->desc, 0x189ABC000ULL);
	/* A bad size is not enabled. */
	wr(f, VIRTIO_PCI_Q_SELECT, 2, 0);
	wr(f, VIRTIO_PCI_Q_SIZE, 2, 3);
	wr(f, VIRTIO_PCI_Q_ENABLE, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_ENABLE, 2), 0);
	/* No such queue: size 0, writes ignored. */
	wr(f, VIRTIO_PCI_Q_SELECT, 2, 5);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_SIZE, 2), 0);
	wr(f, VIRTIO_PCI_Q_ENABLE, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_SELECT, 2), 5);
}

static void test_reset(void **state)
{
	struct fix *f = *state;
	unsigned int gsi = f->vp.pci.gsi;

	driver_ok(f);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 0xF);
	pthread_mutex_lock(&f->t.vdev.lock);
	virtio_dev_notify_config(&f->t.vdev);
	pthread_mutex_unlock(&f->t.vdev.lock);
	assert_int_equal(f->fp.level[gsi], 1);
	wr(f, VIRTIO_PCI_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 0);
	assert_int_equal(f->t.resets, 1);
	assert_int_equal(f->fp.level[gsi], 0);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 0);
	assert_false(f->t.vdev.vqs[0].enabled);
	assert_int_equal(f->t.vdev.driver_features, 0);
	wr(f, VIRTIO_PCI_Q_SELECT, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_SIZE, 2), 16);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_DESC, 8), 0);
}

static void test_config_generation_and_isr(void **state)
{
	struct fix *f = *state;
	unsigned int gsi = f->vp.pci.gsi;
	uint64_t gen = rd(f, VIRTIO_PCI_CFG_GEN, 1);

	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF, 4), 0x44332211);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 4, 4), 0x88776655);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF, 8), 0x8877665544332211ULL);
	/* Past the config: zeros, never the device's callback. */
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 6, 4), 0);
	pthread_mutex_lock(&f->t.vdev.lock);
	virtio_dev_notify_config(&f->t.vdev);
	pthread_mutex_unlock(&f->t.vdev.lock);
	assert_int_equal(rd(f, VIRTIO_PCI_CFG_GEN, 1), (gen + 1) & 0xFF);
	assert_int_equal(f->fp.level[gsi], 1);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(f->fp.level[gsi], 0);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 0);
}

/* Config offset of the VIRTIO_PCI_CAP_PCI_CFG capability. */
static unsigned int pci_cfg_cap(struct fix *f)
{
	unsigned int p;

	for (p = cfg(f, 0x34, 1); p; p = cfg(f, p + 1, 1))
		if (cfg(f, p + 3, 1) == 5)
			return p;
	fail_msg("no PCI_CFG capability");
	return 0;
}

static void cfgw(struct fix *f, unsigned int off, unsigned int len, uint32_t v)
{
	pci_cfg_write(&f->fp.h, f->vp.pci.slot, 0, off, len, v);
}

/* Point the window: cap.bar, cap.offset, cap.length (4.1.4.9). */
static unsigned int window(struct fix *f, uint8_t bar, uint32_t off, uint32_t len)
{
	unsigned int c = pci_cfg_cap(f);

	cfgw(f, c + 4, 1, bar);
	cfgw(f, c + 8, 4, off);
	cfgw(f, c + 12, 4, len);
	return c + 16; /* pci_cfg_data */
}

/* The PCI_CFG window reaches BAR0 exactly as MMIO does, even with decode off. */
static void test_pci_cfg_window(void **state)
{
	struct fix *f = *state;
	unsigned int data, c = pci_cfg_cap(f);

	/* Only bar, offset, length and the data are the driver's to write. */
	cfgw(f, c, 4, 0xFFFFFFFF);
	cfgw(f, c + 5, 2, 0xFFFF);
	assert_int_equal(cfg(f, c + 3, 1), 5);
	assert_int_equal(cfg(f, c + 2, 1), 20);
	assert_int_equal(cfg(f, c + 5, 1), 0);
	/* A common-config field, read in 2 and in 4 bytes. */
	data = window(f, 0, VIRTIO_PCI_NUM_QUEUES, 2);
	assert_int_equal(cfg(f, data, 2), 2);
	assert_int_equal(cfg(f, c + 8, 4), VIRTIO_PCI_NUM_QUEUES);
	assert_int_equal(cfg(f, c + 12, 4), 2);
	window(f, 0, VIRTIO_PCI_DF, 4);
	assert_int_equal(cfg(f, data, 4), 1 << 3);
	/* A byte read of the data still performs the whole access and shows its first byte. */
	window(f, 0, VIRTIO_PCI_DEVICE_OFF + 4, 4);
	assert_int_equal(cfg(f, data, 1), 0x55);
	assert_int_equal(cfg(f, data + 1, 2), 0x7766);
	/* Device status written through it, read back over MMIO and through it. */
	command(f, 0x0000);
	window(f, 0, VIRTIO_PCI_STATUS, 1);
	cfgw(f, data, 1, 3);
	assert_int_equal(f->t.vdev.status, 3);
	assert_int_equal(cfg(f, data, 1), 3);
	command(f, 0x0002);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 3);
	/* ISR through the window: read-to-clear as on MMIO. */
	pthread_mutex_lock(&f->t.vdev.lock);
	virtio_dev_notify_config(&f->t.vdev);
	pthread_mutex_unlock(&f->t.vdev.lock);
	window(f, 0, VIRTIO_PCI_ISR_OFF, 1);
	assert_int_equal(cfg(f, data, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(f->fp.level[f->vp.pci.gsi], 0);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 0);
}

static void test_pci_cfg_window_notify(void **state)
{
	struct fix *f = *state;
	unsigned int data;

	driver_ok(f);
	data = window(f, 0, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT, 2);
	cfgw(f, data, 2, 1);
	assert_int_equal(f->t.notified[1], 1);
	assert_int_equal(f->t.notified[0], 0);
	/* A 4-byte write to the data with a 2-byte window: one notify. */
	window(f, 0, VIRTIO_PCI_NOTIFY_OFF, 2);
	cfgw(f, data, 4, 0);
	assert_int_equal(f->t.notified[0], 1);
}

/* Invalid windows reach nothing: the data bytes are only stored and read back. */
static void test_pci_cfg_window_invalid(void **state)
{
	static const struct {
		uint8_t bar;
		uint32_t off, len;
	} bad[] = {
	    {1, VIRTIO_PCI_STATUS, 1},	       /* no BAR1 */
	    {0xFF, VIRTIO_PCI_STATUS, 1},      /* reserved bar value */
	    {0, VIRTIO_PCI_STATUS, 0},	       /* length 0 */
	    {0, VIRTIO_PCI_STATUS, 3},	       /* not 1, 2 or 4 */
	    {0, VIRTIO_PCI_STATUS, 8},	       /* wider than the data field */
	    {0, VIRTIO_PCI_STATUS - 2, 4},     /* 4 bytes, only 2-aligned */
	    {0, VIRTIO_PCI_NUM_QUEUES + 1, 2}, /* misaligned */
	    {0, VIRTIO_PCI_BAR_SIZE, 1},       /* past the BAR */
	    {0, VIRTIO_PCI_BAR_SIZE - 2, 4},   /* straddles the end */
	    {0, 0xFFFFFFFC, 4},		       /* far past, would wrap in 32 bits */
	};
	struct fix *f = *state;
	unsigned int i, data;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pthread_mutex_lock(&f->t.vdev.lock);
		virtio_dev_notify_config(&f->t.vdev);
		pthread_mutex_unlock(&f->t.vdev.lock);
		data = window(f, bad[i].bar, bad[i].off, bad[i].len);
		cfgw(f, data, 4, 0xDEADBE0F);
		assert_int_equal(cfg(f, data, 4), 0xDEADBE0F);
		assert_int_equal(f->t.vdev.status, 0);
		/* Pointed at the ISR: an invalid window must not clear it. */
		window(f, bad[i].bar, VIRTIO_PCI_ISR_OFF + (bad[i].off - VIRTIO_PCI_STATUS),
		       bad[i].len);
		cfg(f, data, 4);
		assert_int_equal(f->vp.isr, VIRTIO_PCI_ISR_CONFIG);
		assert_int_equal(f->t.resets, 0);
	}
	/* Config space past the capability is untouched. */
	assert_int_equal(rd(f, VIRTIO_PCI_NUM_QUEUES, 2), 2);
}

static void test_notify_mmio_and_used_irq(void **state)
{
	struct fix *f = *state;
	unsigned int gsi = f->vp.pci.gsi;

	/* Before DRIVER_OK nothing reaches the device. */
	wr(f, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(f->t.notified[0], 0);
	driver_ok(f);
	wr(f, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	wr(f, VIRTIO_PCI_NOTIFY_OFF + 4, 2, 1);
	wr(f, VIRTIO_PCI_NOTIFY_OFF + 4, 4, 1);
	assert_int_equal(f->t.notified[0], 1);
	assert_int_equal(f->t.notified[1], 2);
	/* Past the last queue: ignored. */
	wr(f, VIRTIO_PCI_NOTIFY_OFF + 8, 2, 2);
	/* Used buffers: ISR bit 0 and the line, unless NO_INTERRUPT. */
	pthread_mutex_lock(&f->t.vdev.lock);
	virtio_dev_notify_used(&f->t.vdev, 0);
	pthread_mutex_unlock(&f->t.vdev.lock);
	assert_int_equal(f->fp.level[gsi], 1);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 4), VIRTIO_PCI_ISR_QUEUE);
	assert_int_equal(f->fp.level[gsi], 0);
	f->fm.buf[0x1000] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	pthread_mutex_lock(&f->t.vdev.lock);
	virtio_dev_notify_used(&f->t.vdev, 0);
	pthread_mutex_unlock(&f->t.vdev.lock);
	assert_int_equal(f->fp.level[gsi], 0);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 0);
}

/* MSI-X ---------------------------------------------------------------- */

static int setup_msi(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	mv_log_set_quiet(true);
	fake_gmem_init(&f->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init_msi(&f->fp);
	assert_int_equal(virtio_dev_init(&f->t.vdev, &tdev_ops, &f->fm.map, 1ULL << 3), 0);
	assert_int_equal(virtio_pci_init(&f->vp, &f->t.vdev, &f->fp.h, NULL, "vtest"), 0);
	f->bar = f->vp.pci.bars[0].addr;
	*state = f;
	return 0;
}

static unsigned int msix_cap(struct fix *f)
{
	unsigned int p;

	for (p = cfg(f, 0x34, 1); p && cfg(f, p, 1) != 0x11; p = cfg(f, p + 1, 1))
		;
	assert_true(p);
	return p;
}

static void msix_ctl(struct fix *f, uint16_t v)
{
	pci_cfg_write(&f->fp.h, f->vp.pci.slot, 0, msix_cap(f) + 2, 2, v);
}

static uint64_t tbl_rd(struct fix *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	assert_true(bus_read(&f->fp.mmio, f->vp.pci.bars[1].addr + off, &v, len));
	return v;
}

static void tbl_wr(struct fix *f, uint64_t off, uint32_t len, uint64_t v)
{
	assert_true(bus_write(&f->fp.mmio, f->vp.pci.bars[1].addr + off, &v, len));
}

/* Entry v: message (0xFEE00000 | v << 12, 0x40 + v), mask as given. */
static void tbl_entry(struct fix *f, unsigned int v, bool masked)
{
	tbl_wr(f, 16 * v, 8, 0xFEE00000ULL | v << 12);
	tbl_wr(f, 16 * v + 8, 4, 0x40 + v);
	tbl_wr(f, 16 * v + 12, 4, masked);
}

static void used(struct fix *f, unsigned int q)
{
	pthread_mutex_lock(&f->t.vdev.lock);
	virtio_dev_notify_used(&f->t.vdev, q);
	pthread_mutex_unlock(&f->t.vdev.lock);
}

static void config_changed(struct fix *f)
{
	pthread_mutex_lock(&f->t.vdev.lock);
	virtio_dev_notify_config(&f->t.vdev);
	pthread_mutex_unlock(&f->t.vdev.lock);
}

static void test_msix_vectors_and_delivery(void **state)
{
	struct fix *f = *state;
	unsigned int gsi = f->vp.pci.gsi, irq_calls;

	/* Power-on: every entry masked, nothing pending, no vector mapped. */
	assert_int_equal(tbl_rd(f, 12, 4), 1);
	assert_int_equal(tbl_rd(f, 16 * 2 + 12, 4), 1);
	assert_int_equal(tbl_rd(f, MSIX_PBA_OFF, 8), 0);
	assert_int_equal(rd(f, VIRTIO_PCI_MSIX_CONFIG, 2), VIRTIO_PCI_NO_VECTOR);
	driver_ok(f);
	/* Linux's order: enable with the function masked, program, unmask. */
	msix_ctl(f, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	tbl_entry(f, 0, false);
	tbl_entry(f, 1, false);
	tbl_entry(f, 2, false);
	assert_int_equal(tbl_rd(f, 16, 8), 0xFEE01000ULL);
	assert_int_equal(tbl_rd(f, 16 + 8, 4), 0x41);
	msix_ctl(f, MSIX_CTRL_ENABLE);
	assert_int_equal(cfg(f, msix_cap(f) + 2, 2), MSIX_CTRL_ENABLE | 2);
	wr(f, VIRTIO_PCI_MSIX_CONFIG, 2, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_MSIX_CONFIG, 2), 0);
	wr(f, VIRTIO_PCI_Q_SELECT, 2, 0);
	wr(f, VIRTIO_PCI_Q_MSIX, 2, 1);
	wr(f, VIRTIO_PCI_Q_SELECT, 2, 1);
	wr(f, VIRTIO_PCI_Q_MSIX, 2, 2);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_MSIX, 2), 2);
	/* A vector the table lacks: the mapping failed. */
	wr(f, VIRTIO_PCI_Q_MSIX, 2, 3);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
	wr(f, VIRTIO_PCI_Q_MSIX, 2, 2);
	irq_calls = f->fp.set_irq_calls;

	/* Each source its own message, through a route made at the first send; no INTx. */
	used(f, 1);
	assert_int_equal(f->fp.msis, 1);
	assert_int_equal(f->fp.msi_addr, 0xFEE02000ULL);
	assert_int_equal(f->fp.msi_data, 0x42);
	assert_true(f->fp.route[0].used);
	assert_int_equal(f->fp.route[0].data, 0x42);
	used(f, 0);
	assert_int_equal(f->fp.msi_data, 0x41);
	config_changed(f);
	assert_int_equal(f->fp.msi_data, 0x40);
	assert_int_equal(f->fp.msis, 3);
	assert_int_equal(f->fp.level[gsi], 0);
	assert_int_equal(f->fp.set_irq_calls, irq_calls);
	/* A route is remade once per change of its entry, not per message. */
	used(f, 1);
	assert_int_equal(f->fp.route_calls, 3);
	tbl_wr(f, 16 * 2 + 8, 4, 0x52);
	used(f, 1);
	assert_int_equal(f->fp.route_calls, 4);
	assert_int_equal(f->fp.route[0].data, 0x52);
	assert_int_equal(f->fp.msi_data, 0x52);

	/* Masked: pending in the PBA, sent at unmask. */
	tbl_wr(f, 16 * 2 + 12, 4, 1);
	used(f, 1);
	assert_int_equal(f->fp.msis, 5);
	assert_int_equal(tbl_rd(f, MSIX_PBA_OFF, 8), 1U << 2);
	/* The PBA is read-only; reserved control bits do not stick. */
	tbl_wr(f, MSIX_PBA_OFF, 8, 0);
	assert_int_equal(tbl_rd(f, MSIX_PBA_OFF, 4), 1U << 2);
	tbl_wr(f, 16 * 2 + 12, 4, 0xFFFFFFFE);
	assert_int_equal(tbl_rd(f, MSIX_PBA_OFF, 4), 0);
	assert_int_equal(f->fp.msis, 6);
	assert_int_equal(tbl_rd(f, 16 * 2 + 12, 4), 0);
	/* The function mask holds every vector; clearing it sends what waited. */
	msix_ctl(f, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	used(f, 0);
	config_changed(f);
	assert_int_equal(f->fp.msis, 6);
	assert_int_equal(tbl_rd(f, MSIX_PBA_OFF, 4), 3);
	msix_ctl(f, MSIX_CTRL_ENABLE);
	assert_int_equal(f->fp.msis, 8);
	assert_int_equal(tbl_rd(f, MSIX_PBA_OFF, 4), 0);
	/* NO_VECTOR: no interrupt at all. */
	wr(f, VIRTIO_PCI_MSIX_CONFIG, 2, VIRTIO_PCI_NO_VECTOR);
	config_changed(f);
	assert_int_equal(f->fp.msis, 8);
	assert_int_equal(f->fp.level[gsi], 0);

	/* Virtio reset unmaps the vectors; the table is the function's and stays. */
	wr(f, VIRTIO_PCI_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_MSIX_CONFIG, 2), VIRTIO_PCI_NO_VECTOR);
	wr(f, VIRTIO_PCI_Q_SELECT, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_Q_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
	assert_int_equal(tbl_rd(f, 16 * 2 + 8, 4), 0x52);
	/* MSI-X disabled again: INTx as before. */
	msix_ctl(f, 0);
	driver_ok(f);
	used(f, 0);
	assert_int_equal(f->fp.level[gsi], 1);
	assert_int_equal(f->fp.msis, 8);
	/* Machine reset: the table masked and cleared. */
	virtio_pci_reset(&f->vp);
	assert_int_equal(tbl_rd(f, 16 * 2 + 8, 4), 0);
	assert_int_equal(tbl_rd(f, 16 * 2 + 12, 4), 1);
	assert_false(cfg(f, msix_cap(f) + 2, 2) & MSIX_CTRL_ENABLE);
}

static void test_msix_bad_accesses_and_refused_routes(void **state)
{
	struct fix *f = *state;
	unsigned int len, off;

	/* Only aligned 4- and 8-byte accesses inside the table reach it. */
	for (len = 1; len <= 8; len *= 2)
		for (off = 0; off < 16 * 3 + 8; off++) {
			if ((len == 4 || len == 8) && off % len == 0)
				continue;
			tbl_wr(f, off, len, ~0ULL);
		}
	assert_int_equal(tbl_rd(f, 0, 8), 0);
	assert_int_equal(tbl_rd(f, 12, 4), 1);
	assert_int_equal(tbl_rd(f, 2, 2), 0);
	/* Past the 3 entries and around the PBA: nothing. */
	tbl_wr(f, 16 * 3, 8, ~0ULL);
	assert_int_equal(tbl_rd(f, 16 * 3, 8), 0);
	assert_int_equal(tbl_rd(f, MSIX_PBA_OFF + 8, 8), 0);
	assert_int_equal(tbl_rd(f, MSIX_BAR_SIZE - 8, 8), 0);
	/* The table size is read-only. */
	msix_ctl(f, 0x07FF);
	assert_int_equal(cfg(f, msix_cap(f) + 2, 2), 2);

	/* KVM refuses the route: the message is injected directly instead. */
	f->fp.refuse_routes = true;
	driver_ok(f);
	msix_ctl(f, MSIX_CTRL_ENABLE);
	tbl_entry(f, 0, false);
	wr(f, VIRTIO_PCI_MSIX_CONFIG, 2, 0);
	config_changed(f);
	assert_int_equal(f->fp.msis, 1);
	assert_int_equal(f->fp.msi_data, 0x40);
	assert_int_equal(f->vp.msix.route_failures, 1);
	/* Not retried per message; a new write of the entry tries again. */
	config_changed(f);
	assert_int_equal(f->fp.route_calls, 1);
	f->fp.refuse_routes = false;
	tbl_wr(f, 8, 4, 0x77);
	config_changed(f);
	assert_int_equal(f->fp.route_calls, 2);
	assert_true(f->fp.route[0].used);
	assert_int_equal(f->fp.msi_data, 0x77);
}

static void test_needs_reset(void **state)
{
	struct fix *f = *state;

	driver_ok(f);
	pthread_mutex_lock(&f->t.vdev.lock);
	virtio_dev_set_needs_reset(&f->t.vdev);
	pthread_mutex_unlock(&f->t.vdev.lock);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 0x4F);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	/* The driver cannot clear it, and no notification gets through. */
	wr(f, VIRTIO_PCI_STATUS, 1, 0xF);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 0x4F);
	wr(f, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(f->t.notified[0], 0);
	wr(f, VIRTIO_PCI_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 0);
}

static void test_any_offset_any_width(void **state)
{
	struct fix *f = *state;
	static const uint32_t widths[] = {1, 2, 4, 8};
	unsigned int i;

	srand(1);
	driver_ok(f);
	for (i = 0; i < 200000; i++) {
		uint64_t off = rand() % VIRTIO_PCI_BAR_SIZE, v = (uint64_t)rand() << 32 | rand();
		uint32_t len = widths[rand() % 4];

		if (off + len > VIRTIO_PCI_BAR_SIZE)
			continue;
		if (rand() % 2)
			rd(f, off, len);
		else
			wr(f, off % 0x40, len, v); /* mostly the common config */
		if (rand() % 8 == 0)
			wr(f, off, len, v);
	}
	/* Still answers sanely afterwards. */
	wr(f, VIRTIO_PCI_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 0);
	assert_int_equal(rd(f, VIRTIO_PCI_NUM_QUEUES, 2), 2);
}

/* A host with ioeventfd and irqfd: records the registrations as KVM would hold them. */
struct kvm_like {
	struct fake_pci fp;
	uint64_t ioev_addr[4];
	uint32_t ioev_len[4];
	int ioev_fd[4];
	unsigned int nioev;
	bool no_any_length; /* an old KVM: length 0 refused */
	int irqfd, resample;
};

static int kl_ioeventfd(struct pci_host *h, uint64_t addr, uint32_t len, int fd, bool assign)
{
	struct kvm_like *k = container_of(h, struct kvm_like, fp.h);
	unsigned int i;

	assert_true(len == 0 || len == 2);
	if (assign) {
		if (len == 0 && k->no_any_length)
			return -EINVAL;
		assert_true(k->nioev < 4);
		k->ioev_addr[k->nioev] = addr;
		k->ioev_len[k->nioev] = len;
		k->ioev_fd[k->nioev++] = fd;
		return 0;
	}
	/* KVM deassigns only an exact match, length included. */
	for (i = 0; i < k->nioev; i++)
		if (k->ioev_addr[i] == addr && k->ioev_fd[i] == fd && k->ioev_len[i] == len) {
			k->ioev_addr[i] = k->ioev_addr[--k->nioev];
			k->ioev_len[i] = k->ioev_len[k->nioev];
			k->ioev_fd[i] = k->ioev_fd[k->nioev];
			return 0;
		}
	fail_msg("deassign of an unknown ioeventfd");
	return -ENOENT;
}

static int kl_irqfd(struct pci_host *h, unsigned int gsi, int fd, int resample_fd, bool assign)
{
	struct kvm_like *k = container_of(h, struct kvm_like, fp.h);

	k->irqfd = assign ? fd : -1;
	k->resample = assign ? resample_fd : -1;
	return 0;
}

static uint64_t drain(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void test_ioeventfd_irqfd(void **state)
{
	static const struct pci_host_ops ops = {
	    .set_irq = fake_pci_set_irq,
	    .ioeventfd = kl_ioeventfd,
	    .irqfd = kl_irqfd,
	};
	struct kvm_like k;
	struct fake_gmem fm;
	struct tdev t = {0};
	struct virtio_pci vp;
	struct loop l;
	uint64_t one = 1, bar;
	unsigned int i;

	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&k.fp);
	k.fp.h.ops = &ops;
	k.nioev = 0;
	k.no_any_length = false;
	assert_int_equal(loop_init(&l), 0);
	assert_int_equal(virtio_dev_init(&t.vdev, &tdev_ops, &fm.map, 0), 0);
	assert_int_equal(virtio_pci_init(&vp, &t.vdev, &k.fp.h, &l, "vtest"), 0);
	bar = vp.pci.bars[0].addr;
	assert_true(vp.use_irqfd);
	assert_int_equal(k.nioev, 2);
	assert_int_equal(k.ioev_addr[0], bar + VIRTIO_PCI_NOTIFY_OFF);
	assert_int_equal(k.ioev_addr[1], bar + VIRTIO_PCI_NOTIFY_OFF + 4);
	/* Any width: a 1- or 4-byte notify must not exit to the vCPU's MMIO path. */
	assert_int_equal(k.ioev_len[0], 0);
	assert_int_equal(k.ioev_len[1], 0);

	/* "KVM" signals queue 1's eventfd: the loop serves it after DRIVER_OK and bus master. */
	pci_cfg_write(&k.fp.h, vp.pci.slot, 0, 0x04, 1, 0x06);
	pthread_mutex_lock(&t.vdev.lock);
	t.vdev.status = 0xF;
	t.vdev.vqs[1].enabled = true;
	pthread_mutex_unlock(&t.vdev.lock);
	assert_int_equal(write(k.ioev_fd[1], &one, 8), 8);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(t.notified[1], 1);

	/* Config change: the irqfd is written, not set_irq. */
	pthread_mutex_lock(&t.vdev.lock);
	virtio_dev_notify_config(&t.vdev);
	pthread_mutex_unlock(&t.vdev.lock);
	assert_int_equal(drain(k.irqfd), 1);
	assert_int_equal(k.fp.set_irq_calls, 0);
	/* EOI with the ISR still set: asserted again; after the ISR read: not. */
	assert_int_equal(write(k.resample, &one, 8), 8);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(drain(k.irqfd), 1);
	assert_true(bus_read(&k.fp.mmio, bar + VIRTIO_PCI_ISR_OFF, &i, 1));
	assert_int_equal(write(k.resample, &one, 8), 8);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(drain(k.irqfd), 0);

	/* The guest moves BAR0: the ioeventfds follow it. */
	pci_cfg_write(&k.fp.h, vp.pci.slot, 0, 0x10, 4, (uint32_t)(bar + 0x100000));
	assert_int_equal(k.nioev, 2);
	assert_true(k.ioev_addr[0] == bar + 0x100000 + VIRTIO_PCI_NOTIFY_OFF ||
		    k.ioev_addr[1] == bar + 0x100000 + VIRTIO_PCI_NOTIFY_OFF);

	virtio_pci_destroy(&vp);
	assert_int_equal(k.nioev, 0);
	assert_int_equal(k.irqfd, -1);
	virtio_dev_destroy(&t.vdev);
	loop_destroy(&l);
	fake_pci_free(&k.fp);
	fake_gmem_free(&fm);
}

/* A kvm_like host with one test device on it, for the BAR and command tests. */
struct kfix {
	struct kvm_like k;
	struct fake_gmem fm;
	struct tdev t;
	struct virtio_pci vp;
	struct loop l;
	uint64_t bar;
};

static void kfix_init(struct kfix *x)
{
	static const struct pci_host_ops ops = {
	    .set_irq = fake_pci_set_irq,
	    .ioeventfd = kl_ioeventfd,
	    .irqfd = kl_irqfd,
	};

	memset(x, 0, sizeof(*x));
	mv_log_set_quiet(true);
	fake_gmem_init(&x->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&x->k.fp);
	x->k.fp.h.ops = &ops;
	assert_int_equal(loop_init(&x->l), 0);
	assert_int_equal(virtio_dev_init(&x->t.vdev, &tdev_ops, &x->fm.map, 0), 0);
	assert_int_equal(virtio_pci_init(&x->vp, &x->t.vdev, &x->k.fp.h, &x->l, "vtest"), 0);
	x->bar = x->vp.pci.bars[0].addr;
}

static void kfix_free(struct kfix *x)
{
	virtio_pci_destroy(&x->vp);
	assert_int_equal(x->k.nioev, 0);
	virtio_dev_destroy(&x->t.vdev);
	loop_destroy(&x->l);
	fake_pci_free(&x->k.fp);
	fake_gmem_free(&x->fm);
}

static void kcfg_write(struct kfix *x, unsigned int off, unsigned int len, uint32_t v)
{
	pci_cfg_write(&x->k.fp.h, x->vp.pci.slot, 0, off, len, v);
}

/* Both notify ioeventfds registered, at this BAR base. */
static void assert_ioev_at(struct kfix *x, uint64_t bar)
{
	assert_int_equal(x->k.nioev, 2);
	assert_true(x->k.ioev_addr[0] == bar + VIRTIO_PCI_NOTIFY_OFF ||
		    x->k.ioev_addr[1] == bar + VIRTIO_PCI_NOTIFY_OFF);
	assert_true(x->k.ioev_addr[0] == bar + VIRTIO_PCI_NOTIFY_OFF + 4 ||
		    x->k.ioev_addr[1] == bar + VIRTIO_PCI_NOTIFY_OFF + 4);
}

static bool bar_claimed(struct kfix *x, uint64_t addr)
{
	uint32_t v;

	return bus_read(&x->k.fp.mmio, addr + VIRTIO_PCI_NUM_QUEUES, &v, 2);
}

/* Command bit 1 off: the BAR answers nothing and no ioeventfd is left behind. */
static void test_memory_decode_gates_bar_and_ioeventfds(void **state)
{
	struct kfix x;

	kfix_init(&x);
	/* memvisor assigned BAR0 as firmware does, with decode on. */
	assert_int_equal(pci_cfg_read(&x.k.fp.h, x.vp.pci.slot, 0, 0x04, 2) & 2, 2);
	assert_ioev_at(&x, x.bar);
	assert_true(bar_claimed(&x, x.bar));
	kcfg_write(&x, 0x04, 2, 0x0000);
	assert_int_equal(x.k.nioev, 0);
	assert_false(bar_claimed(&x, x.bar));
	/* A byte write to the command register counts as much. */
	kcfg_write(&x, 0x04, 1, 0x02);
	assert_ioev_at(&x, x.bar);
	assert_true(bar_claimed(&x, x.bar));
	kcfg_write(&x, 0x04, 1, 0x00);
	assert_int_equal(x.k.nioev, 0);
	/* Moved while decode is off: nothing registers until it is on again, then at the new place.
	 */
	kcfg_write(&x, 0x10, 4, (uint32_t)(x.bar + 0x40000));
	assert_int_equal(x.k.nioev, 0);
	assert_false(bar_claimed(&x, x.bar + 0x40000));
	kcfg_write(&x, 0x04, 2, 0x0006);
	assert_ioev_at(&x, x.bar + 0x40000);
	assert_true(bar_claimed(&x, x.bar + 0x40000));
	assert_false(bar_claimed(&x, x.bar));
	kfix_free(&x);
}

/* Sizing and moves out of the window take the ioeventfds along. */
static void test_bar_sizing_and_moves_move_ioeventfds(void **state)
{
	struct kfix x;

	kfix_init(&x);
	/* Sizing with decode left on: the BAR sits at the size mask, outside the window. */
	kcfg_write(&x, 0x10, 4, 0xFFFFFFFF);
	assert_int_equal(pci_cfg_read(&x.k.fp.h, x.vp.pci.slot, 0, 0x10, 4),
			 (uint32_t) ~(VIRTIO_PCI_BAR_SIZE - 1));
	assert_int_equal(x.k.nioev, 0);
	assert_false(bar_claimed(&x, x.bar));
	kcfg_write(&x, 0x10, 4, (uint32_t)x.bar);
	assert_ioev_at(&x, x.bar);
	/* Linux's __pci_read_base order: decode off, size, restore, decode on. */
	kcfg_write(&x, 0x04, 2, 0x0000);
	kcfg_write(&x, 0x10, 4, 0xFFFFFFFF);
	kcfg_write(&x, 0x10, 4, (uint32_t)x.bar);
	assert_int_equal(x.k.nioev, 0);
	kcfg_write(&x, 0x04, 2, 0x0002);
	assert_ioev_at(&x, x.bar);
	/* Out of the window: not decoded, nothing left at the old address. */
	kcfg_write(&x, 0x10, 4, 0x10000000);
	assert_int_equal(x.k.nioev, 0);
	assert_false(bar_claimed(&x, x.bar));
	kcfg_write(&x, 0x10, 4, (uint32_t)(x.bar + 0x8000));
	assert_ioev_at(&x, x.bar + 0x8000);
	kfix_free(&x);
}

/* Serve whatever the loop has ready, without waiting for more. */
static void kfix_drain(struct kfix *x)
{
	while (loop_run_once(&x->l, 0) > 0)
		;
}

/*
 * Bus master off: no queue is touched; what was notified meanwhile is handed
 * to the loop when it is back on (the command register is written on a vCPU
 * thread, which serves no queue itself).
 */
static void test_bus_master_defers_queue_work(void **state)
{
	struct kfix x;
	uint64_t one = 1;
	uint64_t v;

	kfix_init(&x);
	pthread_mutex_lock(&x.t.vdev.lock);
	x.t.vdev.status = 0xF;
	x.t.vdev.vqs[0].enabled = x.t.vdev.vqs[1].enabled = true;
	pthread_mutex_unlock(&x.t.vdev.lock);
	/* Firmware state: bus master off. An MMIO notify and an ioeventfd kick wait. */
	assert_int_equal(pci_cfg_read(&x.k.fp.h, x.vp.pci.slot, 0, 0x04, 2) & 4, 0);
	v = 0;
	assert_true(bus_write(&x.k.fp.mmio, x.bar + VIRTIO_PCI_NOTIFY_OFF, &v, 2));
	assert_int_equal(write(x.k.ioev_fd[1], &one, 8), 8);
	kfix_drain(&x);
	assert_int_equal(x.t.notified[0], 0);
	assert_int_equal(x.t.notified[1], 0);
	kcfg_write(&x, 0x04, 2, 0x0006);
	assert_int_equal(x.t.notified[0], 0); /* not on the writer's thread */
	kfix_drain(&x);
	assert_int_equal(x.t.notified[0], 1);
	assert_int_equal(x.t.notified[1], 1);
	/* On: served by the loop; setting it again replays nothing. */
	assert_true(bus_write(&x.k.fp.mmio, x.bar + VIRTIO_PCI_NOTIFY_OFF, &v, 2));
	kfix_drain(&x);
	assert_int_equal(x.t.notified[0], 2);
	kcfg_write(&x, 0x04, 2, 0x0006);
	kfix_drain(&x);
	assert_int_equal(x.t.notified[0], 2);
	/* Off again, then a virtio reset: what was pending is dropped with the queues. */
	kcfg_write(&x, 0x04, 2, 0x0002);
	assert_true(bus_write(&x.k.fp.mmio, x.bar + VIRTIO_PCI_NOTIFY_OFF, &v, 2));
	kfix_drain(&x);
	v = 0;
	assert_true(bus_write(&x.k.fp.mmio, x.bar + VIRTIO_PCI_STATUS, &v, 1));
	kcfg_write(&x, 0x04, 2, 0x0006);
	kfix_drain(&x);
	assert_int_equal(x.t.notified[0], 2);
	kfix_free(&x);
}

/*
 * A paused VM's device serves no queue: a kick (ioeventfd or the loop's own
 * kick_later) is consumed and deferred; resuming hands it to the loop once.
 * Bus master off and pause are independent: both must allow it.
 */
static void test_pause_defers_queue_work(void **state)
{
	struct kfix x;
	uint64_t one = 1, v = 0;

	kfix_init(&x);
	kcfg_write(&x, 0x04, 2, 0x0006);
	pthread_mutex_lock(&x.t.vdev.lock);
	x.t.vdev.status = 0xF;
	x.t.vdev.vqs[0].enabled = x.t.vdev.vqs[1].enabled = true;
	pthread_mutex_unlock(&x.t.vdev.lock);
	virtio_pci_set_paused(&x.vp, true);
	assert_int_equal(write(x.k.ioev_fd[1], &one, 8), 8);
	assert_true(bus_write(&x.k.fp.mmio, x.bar + VIRTIO_PCI_NOTIFY_OFF, &v, 2));
	kfix_drain(&x);
	assert_int_equal(x.t.notified[0], 0);
	assert_int_equal(x.t.notified[1], 0);
	/* Resumed: served by the loop, not by the caller, and once. */
	virtio_pci_set_paused(&x.vp, false);
	assert_int_equal(x.t.notified[1], 0);
	kfix_drain(&x);
	assert_int_equal(x.t.notified[0], 1);
	assert_int_equal(x.t.notified[1], 1);
	kfix_drain(&x);
	assert_int_equal(x.t.notified[1], 1);
	/* Paused with bus master off: resuming alone serves nothing; bus master on does. */
	virtio_pci_set_paused(&x.vp, true);
	assert_int_equal(write(x.k.ioev_fd[1], &one, 8), 8);
	kfix_drain(&x);
	kcfg_write(&x, 0x04, 2, 0x0002);
	virtio_pci_set_paused(&x.vp, false);
	kfix_drain(&x);
	assert_int_equal(x.t.notified[1], 1);
	kcfg_write(&x, 0x04, 2, 0x0006);
	kfix_drain(&x);
	assert_int_equal(x.t.notified[1], 2);
	kfix_free(&x);
}

/*
 * With a loop, a notify write on the MMIO path (any width, any offset in
 * the queue's slot) only signals the queue's eventfd: nothing is served on
 * the writing (vCPU) thread, the loop serves it. A host that refuses
 * length-0 ioeventfds gets the driver's 2-byte width registered instead.
 */
static void test_mmio_notify_forwarded(void **state)
{
	static const struct pci_host_ops ops = {
	    .set_irq = fake_pci_set_irq,
	    .ioeventfd = kl_ioeventfd,
	};
	static const uint32_t widths[] = {1, 2, 4};
	struct kvm_like k;
	struct fake_gmem fm;
	struct tdev t = {0};
	struct virtio_pci vp;
	struct loop l;
	uint64_t bar, v = 0;
	unsigned int i;

	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&k.fp);
	k.fp.h.ops = &ops;
	k.nioev = 0;
	k.no_any_length = true;
	assert_int_equal(loop_init(&l), 0);
	assert_int_equal(virtio_dev_init(&t.vdev, &tdev_ops, &fm.map, 0), 0);
	assert_int_equal(virtio_pci_init(&vp, &t.vdev, &k.fp.h, &l, "vtest"), 0);
	bar = vp.pci.bars[0].addr;
	assert_int_equal(k.nioev, 2);
	assert_int_equal(k.ioev_len[0], 2);
	pci_cfg_write(&k.fp.h, vp.pci.slot, 0, 0x04, 2, 0x0006); /* pci_set_master() */
	pthread_mutex_lock(&t.vdev.lock);
	t.vdev.status = 0xF;
	t.vdev.vqs[0].enabled = t.vdev.vqs[1].enabled = true;
	pthread_mutex_unlock(&t.vdev.lock);
	for (i = 0; i < 3; i++) {
		assert_true(bus_write(&k.fp.mmio, bar + VIRTIO_PCI_NOTIFY_OFF + 4, &v, widths[i]));
		assert_int_equal(t.notified[1], i);
		assert_int_equal(loop_run_once(&l, 1000), 1);
		assert_int_equal(t.notified[1], i + 1);
	}
	/* Inside queue 0's slot, not at its start: still queue 0, still forwarded. */
	assert_true(bus_write(&k.fp.mmio, bar + VIRTIO_PCI_NOTIFY_OFF + 1, &v, 1));
	assert_int_equal(t.notified[0], 0);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(t.notified[0], 1);
	virtio_pci_destroy(&vp);
	assert_int_equal(k.nioev, 0);
	virtio_dev_destroy(&t.vdev);
	loop_destroy(&l);
	fake_pci_free(&k.fp);
	fake_gmem_free(&fm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_header_and_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_setup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_generation_and_isr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_mmio_and_used_irq, setup, teardown),
	    cmocka_unit_test(test_pause_defers_queue_work),
	    cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_cfg_window_notify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_cfg_window_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_needs_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_any_offset_any_width, setup, teardown),
	    cmocka_unit_test(test_ioeventfd_irqfd),
	    cmocka_unit_test(test_mmio_notify_forwarded),
	    cmocka_unit_test(test_memory_decode_gates_bar_and_ioeventfds),
	    cmocka_unit_test(test_bar_sizing_and_moves_move_ioeventfds),
	    cmocka_unit_test(test_bus_master_defers_queue_work),
	    cmocka_unit_test_setup_teardown(test_msix_vectors_and_delivery, setup_msi, teardown),
	    cmocka_unit_test_setup_teardown(test_msix_bad_accesses_and_refused_routes, setup_msi,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
