/* Unit tests for devices/pci_save: the "pci" section round trip and its refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci_save.h"
#include "virtio_test.h"

#define HDR    (1 + 3 + 4 + 8)
#define FN_LEN (2 + PCI_CFG_SIZE + 8 * PCI_NUM_BARS)
/* Offset in the payload of function i's config byte `off`. */
#define CFG_AT(i, off) (4 + 1 + (i)*FN_LEN + 2 + (off))
#define BAR_AT(i, j)   (4 + 1 + (i)*FN_LEN + 2 + PCI_CFG_SIZE + 8 * (j))

struct tdev {
	struct pci_dev pci;
	unsigned int moved;
	uint64_t last_read_off;
};

static void tdev_read(struct pci_dev *d, unsigned int bar, uint64_t off, void *data, uint32_t len)
{
	container_of(d, struct tdev, pci)->last_read_off = off | (uint64_t)bar << 32;
	memset(data, 0, len);
}

static void tdev_write(struct pci_dev *d, unsigned int bar, uint64_t off, const void *data,
		       uint32_t len)
{
}

static void tdev_moved(struct pci_dev *d, unsigned int bar, bool on, uint64_t addr)
{
	container_of(d, struct tdev, pci)->moved++;
}

static const struct pci_dev_ops tdev_ops = {
    .bar_read = tdev_read,
    .bar_write = tdev_write,
    .bar_decode = tdev_moved,
};

struct rig {
	struct fake_pci host;
	struct tdev dev[2];
};

static struct rig *rig_new(unsigned int ndev)
{
	static const uint8_t cap[8] = {0x09, 0, 8, 1, 2, 3, 4, 5};
	struct rig *r = calloc(1, sizeof(*r));
	unsigned int i;

	assert_non_null(r);
	fake_pci_init(&r->host);
	for (i = 0; i < ndev; i++) {
		struct pci_dev *d = &r->dev[i].pci;

		pci_dev_init(d, &tdev_ops, i ? "dev1" : "dev0", 0x1AF4, 0x1040 + i, 0xFF0000, 1,
			     0x1AF4, 0x40);
		assert_int_equal(pci_dev_set_bar(d, 0, 0x4000), 0);
		if (!i)
			assert_int_equal(pci_dev_set_bar(d, 2, 0x1000), 0);
		assert_int_equal(pci_dev_add_cap(d, cap, sizeof(cap)), 0x40);
		d->wmask[0x44] = 0xFF; /* a writable capability byte */
		assert_int_equal(pci_host_add(&r->host.h, d), 0);
	}
	return r;
}

static void rig_free(struct rig *r)
{
	fake_pci_free(&r->host);
	free(r);
}

/* A guest's doing: command, interrupt line, a moved BAR, a BAR mid-sizing, a raised INTx. */
static void make_busy(struct rig *r)
{
	struct pci_host *h = &r->host.h;

	pci_cfg_write(h, 1, 0, 0x04, 2, 0x0006);
	pci_cfg_write(h, 1, 0, 0x3C, 1, 0x0B);
	pci_cfg_write(h, 1, 0, 0x44, 1, 0x77);
	pci_cfg_write(h, 1, 0, 0x10, 4, 0xC0100000); /* dev0 BAR0 moves */
	pci_cfg_write(h, 2, 0, 0x10, 4, 0xFFFFFFFF); /* dev1 BAR0 being sized */
	pci_cfg_write(h, 2, 0, 0x04, 2, 0x0002);
	pci_dev_set_irq(&r->dev[1].pci, 1);
	h->cf8 = 0x80001004;
}

static void save(struct rig *r, struct mv_state_writer *w)
{
	mv_sw_init(w);
	pci_host_save(&r->host.h, w);
	assert_int_equal(mv_sw_error(w), 0);
}

static int load(struct rig *r, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct mv_state_section sec;
	int ret = mv_state_find(buf, len, PCI_STATE_NAME, &sec, err, errlen);

	return ret ? ret : pci_host_load(&r->host.h, &sec, err, errlen);
}

static void assert_same(struct rig *a, struct rig *b, unsigned int ndev)
{
	unsigned int i, j;

	assert_int_equal(a->host.h.cf8, b->host.h.cf8);
	assert_memory_equal(a->host.h.bridge.cfg, b->host.h.bridge.cfg, PCI_CFG_SIZE);
	for (i = 0; i < ndev; i++) {
		struct pci_dev *x = &a->dev[i].pci, *y = &b->dev[i].pci;

		assert_memory_equal(x->cfg, y->cfg, PCI_CFG_SIZE);
		assert_int_equal(x->irq_level, y->irq_level);
		for (j = 0; j < PCI_NUM_BARS; j++) {
			assert_int_equal(x->bars[j].addr, y->bars[j].addr);
			assert_int_equal(x->bars[j].placed, y->bars[j].placed);
		}
	}
}

static void test_round_trip(void **st)
{
	struct rig *a = rig_new(2), *b = rig_new(2);
	struct mv_state_writer w;
	char err[200] = "";
	uint8_t v[4];

	make_busy(a);
	save(a, &w);
	assert_int_equal(w.len, HDR + 5 + 3 * FN_LEN);
	b->dev[0].moved = 0;
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_same(a, b, 2);
	/* The moved BAR decodes at its new address on b and told its device. */
	assert_int_equal(b->dev[0].moved, 1);
	assert_true(bus_read(&b->host.mmio, 0xC0100000 + 0x10, v, 4));
	assert_int_equal(b->dev[0].last_read_off, 0x10);
	/* Mid-sizing: the mask reads back, the BAR still decodes where it was. */
	assert_int_equal(pci_cfg_read(&b->host.h, 2, 0, 0x10, 4), 0xFFFFC000);
	/* INTx: dev1's line is high on b's host too; dev0's INTx-disable masks nothing raised. */
	assert_int_equal(b->host.level[b->dev[1].pci.gsi], 1);
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
}

static void expect_refused(struct rig *a, unsigned int ndev, size_t at, uint8_t val,
			   const char *msg)
{
	struct rig *b = rig_new(ndev), *ref = rig_new(ndev);
	struct mv_state_writer w;
	char err[200] = "";

	save(a, &w);
	if (at != SIZE_MAX)
		w.buf[HDR + at] = val;
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	assert_same(ref, b, ndev); /* untouched */
	assert_int_equal(b->host.set_irq_calls, ref->host.set_irq_calls);
	mv_sw_free(&w);
	rig_free(b);
	rig_free(ref);
}

static void test_refused(void **st)
{
	struct rig *a = rig_new(2);

	make_busy(a);
	expect_refused(a, 1, SIZE_MAX, 0, "pci: 3 functions in the saved state, 2 here");
	expect_refused(a, 2, CFG_AT(1, 0x02), 0x41,
		       "pci: slot 1 (dev0): read-only config byte 0x2 is 0x41 in the saved "
		       "state, 0x40 here");
	/* A capability that differs (its length byte). */
	expect_refused(a, 2, CFG_AT(2, 0x42), 9,
		       "pci: slot 2 (dev1): read-only config byte 0x42 is 0x9 in the saved "
		       "state, 0x8 here");
	/* The writable bits of the command register are the guest's: not compared. */
	expect_refused(a, 2, CFG_AT(1, 0x05), 0x08,
		       "pci: slot 1 (dev0): read-only config byte 0x5 is 0x8 in the saved "
		       "state, 0 here");
	expect_refused(a, 2, BAR_AT(1, 0), 0x10,
		       "pci: slot 1 (dev0): BAR0 register 0xc0100000 / address 0xc0100010 do "
		       "not fit a BAR of 0x4000 bytes");
	expect_refused(a, 2, BAR_AT(1, 1), 0x10,
		       "pci: slot 1 (dev0): BAR1 register 0 / address 0x10 do not fit a BAR of "
		       "0 bytes");
	expect_refused(a, 2, CFG_AT(2, 0) - 1, 2, "pci: slot 2 (dev1): irq_level 2 is not 0 or 1");
	expect_refused(a, 2, CFG_AT(2, 0) - 2, 5,
		       "pci: slot 5 is not occupied here (or listed twice)");
	expect_refused(a, 2, 3, 0x81, "pci: cf8 0x81001004 has reserved bits set");
	expect_refused(a, 2, -8 - 4, 2,
		       "pci: section version 2 is not supported (this build reads 1 to 1)");
	rig_free(a);
}

static void test_bars_trade_places(void **st)
{
	struct rig *a = rig_new(2), *b = rig_new(2);
	struct mv_state_writer w;
	char err[200] = "";
	uint64_t a0 = a->dev[0].pci.bars[0].addr, a1 = a->dev[1].pci.bars[0].addr;

	/* Swap dev0's and dev1's BAR0 (same size) through a free address. */
	pci_cfg_write(&a->host.h, 1, 0, 0x10, 4, 0xC0200000);
	pci_cfg_write(&a->host.h, 2, 0, 0x10, 4, a0);
	pci_cfg_write(&a->host.h, 1, 0, 0x10, 4, a1);
	assert_true(a->dev[0].pci.bars[0].placed && a->dev[1].pci.bars[0].placed);
	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_same(a, b, 2);
	mv_sw_free(&w);
	rig_free(a);
	rig_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_bars_trade_places),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
