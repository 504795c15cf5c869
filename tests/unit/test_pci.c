/* Unit tests for devices/pci: type-1 config access, BARs, capabilities, INTx. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "devices/pci.h"

struct fake_host {
	struct pci_host h;
	int level[64];
	unsigned int calls;
};

static int fake_set_irq(struct pci_host *h, unsigned int gsi, int level)
{
	struct fake_host *f = container_of(h, struct fake_host, h);

	assert_true(gsi < 64);
	f->level[gsi] = level;
	f->calls++;
	return 0;
}

static const struct pci_host_ops fake_ops = {
    .set_irq = fake_set_irq,
};

/* A device whose BAR reads return the BAR index in every byte. */
struct tdev {
	struct pci_dev pci;
	unsigned int reads, writes, moves, masters;
	unsigned int last_bar;
	uint64_t last_off, moved_new;
	bool moved_on, master;
};

static void tdev_bar_read(struct pci_dev *d, unsigned int bar, uint64_t off, void *data,
			  uint32_t len)
{
	struct tdev *t = container_of(d, struct tdev, pci);

	t->reads++;
	t->last_bar = bar;
	t->last_off = off;
	memset(data, 0xB0 | bar, len);
}

static void tdev_bar_write(struct pci_dev *d, unsigned int bar, uint64_t off, const void *data,
			   uint32_t len)
{
	struct tdev *t = container_of(d, struct tdev, pci);

	t->writes++;
	t->last_bar = bar;
	t->last_off = off;
}

static void tdev_bar_decode(struct pci_dev *d, unsigned int bar, bool on, uint64_t addr)
{
	struct tdev *t = container_of(d, struct tdev, pci);

	t->moves++;
	t->last_bar = bar;
	t->moved_on = on;
	t->moved_new = addr;
}

static void tdev_bus_master(struct pci_dev *d, bool on)
{
	struct tdev *t = container_of(d, struct tdev, pci);

	t->masters++;
	t->master = on;
}

static const struct pci_dev_ops tdev_ops = {
    .bar_read = tdev_bar_read,
    .bar_write = tdev_bar_write,
    .bar_decode = tdev_bar_decode,
    .bus_master = tdev_bus_master,
};

struct rig {
	struct bus mmio, pio;
	struct fake_host host;
	struct tdev dev;
};

static int setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	bus_init(&r->mmio);
	bus_init(&r->pio);
	assert_int_equal(pci_host_init(&r->host.h, &fake_ops, &r->mmio, &r->pio), 0);
	pci_dev_init(&r->dev.pci, &tdev_ops, "tdev", 0x1AF4, 0x1058, 0x050000, 0x01, 0x1AF4,
		     0x0040);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;

	pci_host_destroy(&r->host.h);
	assert_int_equal(r->mmio.nr, 0);
	assert_int_equal(r->pio.nr, 0);
	bus_destroy(&r->mmio);
	bus_destroy(&r->pio);
	free(r);
	return 0;
}

static void outl(struct rig *r, uint16_t port, uint32_t v)
{
	assert_true(bus_write(&r->pio, port, &v, 4));
}

static void outb(struct rig *r, uint16_t port, uint8_t v)
{
	assert_true(bus_write(&r->pio, port, &v, 1));
}

static uint32_t in(struct rig *r, uint16_t port, uint32_t len)
{
	uint32_t v = 0;

	assert_true(bus_read(&r->pio, port, &v, len));
	return v;
}

/* Config read as Linux's pci_conf1_read does it. */
static uint32_t conf1_read(struct rig *r, unsigned int bus, unsigned int slot, unsigned int reg,
			   uint32_t len)
{
	outl(r, 0xCF8, 0x80000000U | bus << 16 | slot << 11 | (reg & 0xFC));
	return in(r, 0xCFC + (reg & 3), len);
}

static void conf1_write(struct rig *r, unsigned int slot, unsigned int reg, uint32_t len,
			uint32_t v)
{
	outl(r, 0xCF8, 0x80000000U | slot << 11 | (reg & 0xFC));
	assert_true(bus_write(&r->pio, 0xCFC + (reg & 3), &v, len));
}

static uint32_t mmio_read32(struct rig *r, uint64_t addr, bool *claimed)
{
	uint32_t v;

	*claimed = bus_read(&r->mmio, addr, &v, 4);
	return v;
}

static void test_type1_probe(void **state)
{
	struct rig *r = *state;
	uint32_t saved;

	/* pci_check_type1(): outb(1, 0xCFB), save 0xCF8, write the enable bit, read it back. */
	outb(r, 0xCFB, 0x01);
	saved = in(r, 0xCF8, 4);
	outl(r, 0xCF8, 0x80000000);
	assert_int_equal(in(r, 0xCF8, 4), 0x80000000);
	outl(r, 0xCF8, saved);
	assert_int_equal(in(r, 0xCF8, 4), saved);
	/* Reserved and low bits do not stick. */
	outl(r, 0xCF8, 0xFFFFFFFF);
	assert_int_equal(in(r, 0xCF8, 4), 0x80FFFFFC);
	/* Byte access to 0xCF8 is not the address latch. */
	assert_int_equal(in(r, 0xCF8, 1), 0xFF);
}

static void test_host_bridge(void **state)
{
	struct rig *r = *state;

	assert_int_equal(conf1_read(r, 0, 0, 0x00, 4), 0x00081B36);
	assert_int_equal(conf1_read(r, 0, 0, 0x00, 2), 0x1B36);
	assert_int_equal(conf1_read(r, 0, 0, 0x02, 2), 0x0008);
	/* Class 06 (bridge), subclass 00 (host): what pci_sanity_check() looks for. */
	assert_int_equal(conf1_read(r, 0, 0, 0x0A, 2), 0x0600);
	assert_int_equal(conf1_read(r, 0, 0, 0x0B, 1), 0x06);
	assert_int_equal(conf1_read(r, 0, 0, 0x0E, 1), 0x00); /* header type 0, single function */
	assert_int_equal(conf1_read(r, 0, 0, 0x2C, 4), 0x11001AF4);
	/* Its INTx state is never touched by command writes. */
	conf1_write(r, 0, 0x04, 2, 0x0406);
	assert_int_equal(conf1_read(r, 0, 0, 0x04, 2), 0x0406);
	assert_int_equal(r->host.calls, 0);
}

static void test_absent_functions_read_ones(void **state)
{
	struct rig *r = *state;
	uint32_t v = 0x12345678;

	assert_int_equal(conf1_read(r, 0, 5, 0x00, 4), 0xFFFFFFFF);
	assert_int_equal(conf1_read(r, 0, 31, 0x00, 2), 0xFFFF);
	assert_int_equal(conf1_read(r, 0, 5, 0x0E, 1), 0xFF);
	assert_int_equal(conf1_read(r, 1, 0, 0x00, 4), 0xFFFFFFFF); /* bus 1 */
	/* Function 1 of the host bridge. */
	outl(r, 0xCF8, 0x80000100);
	assert_int_equal(in(r, 0xCFC, 4), 0xFFFFFFFF);
	/* Enable bit clear: no config cycle. */
	outl(r, 0xCF8, 0x00000000);
	assert_int_equal(in(r, 0xCFC, 4), 0xFFFFFFFF);
	assert_true(bus_write(&r->pio, 0xCFC, &v, 4));
	/* Direct accessors agree, including out-of-range offsets. */
	assert_int_equal(pci_cfg_read(&r->host.h, 7, 0, 0, 4), 0xFFFFFFFF);
	assert_int_equal(pci_cfg_read(&r->host.h, 32, 0, 0, 1), 0xFF);
	assert_int_equal(pci_cfg_read(&r->host.h, 0, 0, 0xFE, 4), 0xFFFFFFFF);
	assert_int_equal(pci_cfg_read(&r->host.h, 0, 0, 0x100, 1), 0xFF);
	pci_cfg_write(&r->host.h, 0, 0, 0xFE, 4, 0); /* ignored, no crash */
	pci_cfg_write(&r->host.h, 40, 0, 0, 4, 0);
	assert_int_equal(conf1_read(r, 0, 0, 0x00, 4), 0x00081B36);
}

static void test_add_device_and_bars(void **state)
{
	struct rig *r = *state;
	struct tdev *t = &r->dev;
	bool claimed;

	assert_int_equal(pci_dev_set_bar(&t->pci, 0, 0x1000), 0);
	assert_int_equal(pci_dev_set_bar(&t->pci, 2, 0x4000), 0);
	assert_int_equal(pci_host_add(&r->host.h, &t->pci), 0);
	assert_int_equal(t->pci.slot, 1);
	assert_int_equal(t->pci.gsi, PCI_INTX_GSI_BASE + 1);
	assert_int_equal(conf1_read(r, 0, 1, 0x00, 4), 0x10581AF4);
	assert_int_equal(conf1_read(r, 0, 1, 0x08, 4), 0x05000001);
	assert_int_equal(conf1_read(r, 0, 1, 0x3C, 1), PCI_INTX_GSI_BASE + 1);
	assert_int_equal(conf1_read(r, 0, 1, 0x3D, 1), 1); /* INTA */
	/* BARs pre-assigned in the window, each naturally aligned. */
	assert_int_equal(conf1_read(r, 0, 1, 0x10, 4), 0xC0000000);
	assert_int_equal(conf1_read(r, 0, 1, 0x14, 4), 0);
	assert_int_equal(conf1_read(r, 0, 1, 0x18, 4), 0xC0004000);
	assert_int_equal(t->moves, 2);
	assert_true(t->moved_on);
	assert_int_equal(t->moved_new, 0xC0004000);
	/* Firmware state: memory decode on, bus master off. */
	assert_int_equal(conf1_read(r, 0, 1, 0x04, 2), 0x0002);
	/* MMIO reaches the device with BAR-relative offsets. */
	assert_int_equal(mmio_read32(r, 0xC0000010, &claimed), 0xB0B0B0B0);
	assert_true(claimed);
	assert_int_equal(t->last_bar, 0);
	assert_int_equal(t->last_off, 0x10);
	assert_int_equal(mmio_read32(r, 0xC0007FFC, &claimed), 0xB2B2B2B2);
	assert_true(claimed);
	assert_int_equal(t->last_off, 0x3FFC);
	mmio_read32(r, 0xC0001000, &claimed);
	assert_false(claimed);
	assert_true(bus_write(&r->mmio, 0xC0004008, "\1\2\3\4", 4));
	assert_int_equal(t->writes, 1);
	assert_int_equal(t->last_bar, 2);
	assert_int_equal(t->last_off, 8);
}

static void test_bar_sizing(void **state)
{
	struct rig *r = *state;
	struct tdev *t = &r->dev;
	bool claimed;

	pci_dev_set_bar(&t->pci, 0, 0x4000);
	pci_host_add(&r->host.h, &t->pci);
	/* __pci_read_base(): decode off, save, write ~0, read the size mask, restore, decode on. */
	conf1_write(r, 1, 0x04, 2, 0x0000);
	assert_int_equal(t->moves, 2);
	assert_false(t->moved_on);
	conf1_write(r, 1, 0x10, 4, 0xFFFFFFFF);
	assert_int_equal(conf1_read(r, 0, 1, 0x10, 4), 0xFFFFC000); /* 32-bit memory, 16 KiB */
	conf1_write(r, 1, 0x10, 4, 0xC0000000);
	assert_int_equal(conf1_read(r, 0, 1, 0x10, 4), 0xC0000000);
	mmio_read32(r, 0xC0000000, &claimed);
	assert_false(claimed);
	assert_int_equal(t->moves, 2); /* nothing decoded meanwhile: nothing to tell */
	conf1_write(r, 1, 0x04, 2, 0x0002);
	mmio_read32(r, 0xC0000000, &claimed);
	assert_true(claimed);
	assert_int_equal(t->moves, 3);
	assert_true(t->moved_on);
	assert_int_equal(t->moved_new, 0xC0000000);
	/* Sized with decode left on: the BAR is at the mask, outside the window, until restored. */
	conf1_write(r, 1, 0x10, 4, 0xFFFFFFFF);
	mmio_read32(r, 0xC0000000, &claimed);
	assert_false(claimed);
	assert_false(t->moved_on);
	conf1_write(r, 1, 0x10, 4, 0xC0000000);
	mmio_read32(r, 0xC0000000, &claimed);
	assert_true(claimed);
	assert_true(t->moved_on);
	assert_int_equal(t->moves, 5);
	/* An unimplemented BAR sizes to 0. */
	conf1_write(r, 1, 0x14, 4, 0xFFFFFFFF);
	assert_int_equal(conf1_read(r, 0, 1, 0x14, 4), 0);
}

static void test_bar_move(void **state)
{
	struct rig *r = *state;
	struct tdev *t = &r->dev;
	bool claimed;

	pci_dev_set_bar(&t->pci, 0, 0x1000);
	pci_dev_set_bar(&t->pci, 1, 0x1000);
	pci_host_add(&r->host.h, &t->pci);
	/* Move BAR0 (low bits of the written value are ignored). */
	conf1_write(r, 1, 0x10, 4, 0xC0100123);
	assert_int_equal(conf1_read(r, 0, 1, 0x10, 4), 0xC0100000);
	assert_true(t->moved_on);
	assert_int_equal(t->moved_new, 0xC0100000);
	mmio_read32(r, 0xC0000000, &claimed);
	assert_false(claimed);
	assert_int_equal(mmio_read32(r, 0xC0100004, &claimed), 0xB0B0B0B0);
	assert_true(claimed);
	assert_int_equal(t->last_off, 4);
	/* Onto BAR1: refused by the bus, BAR0 is then not decoded anywhere. */
	conf1_write(r, 1, 0x10, 4, 0xC0001000);
	assert_int_equal(conf1_read(r, 0, 1, 0x10, 4), 0xC0001000);
	assert_int_equal(mmio_read32(r, 0xC0001000, &claimed), 0xB1B1B1B1);
	mmio_read32(r, 0xC0100000, &claimed);
	assert_false(claimed);
	assert_false(t->moved_on);
	/* Outside the window: recorded, not decoded. */
	conf1_write(r, 1, 0x10, 4, 0x10000000);
	assert_int_equal(conf1_read(r, 0, 1, 0x10, 4), 0x10000000);
	mmio_read32(r, 0x10000000, &claimed);
	assert_false(claimed);
	conf1_write(r, 1, 0x10, 4, 0xDFFFF000); /* last page of the window */
	mmio_read32(r, 0xDFFFF000, &claimed);
	assert_true(claimed);
	assert_int_equal(r->mmio.nr, 2);
	/* Partial BAR writes are ignored. */
	conf1_write(r, 1, 0x10, 2, 0x0000);
	assert_int_equal(conf1_read(r, 0, 1, 0x10, 4), 0xDFFFF000);
}

/* Command bits 1 and 2: decode follows bit 1 for every BAR; bit 2 is told to the device. */
static void test_command_decode_and_bus_master(void **state)
{
	struct rig *r = *state;
	struct tdev *t = &r->dev;
	bool claimed;

	pci_dev_set_bar(&t->pci, 0, 0x1000);
	pci_dev_set_bar(&t->pci, 3, 0x2000);
	pci_host_add(&r->host.h, &t->pci);
	assert_int_equal(t->moves, 2);
	assert_int_equal(t->masters, 0);
	conf1_write(r, 1, 0x04, 2, 0x0000);
	assert_int_equal(t->moves, 4);
	assert_false(t->moved_on);
	mmio_read32(r, 0xC0000000, &claimed);
	assert_false(claimed);
	mmio_read32(r, 0xC0002000, &claimed);
	assert_false(claimed);
	assert_false(bus_write(&r->mmio, 0xC0002000, "\1\2\3\4", 4));
	assert_int_equal(t->writes, 0);
	assert_int_equal(r->mmio.nr, 0);
	/* BARs still read back as programmed. */
	assert_int_equal(conf1_read(r, 0, 1, 0x1C, 4), 0xC0002000);
	/* Bus master alone: decode stays off, the device hears of bit 2 only. */
	conf1_write(r, 1, 0x04, 2, 0x0004);
	assert_int_equal(t->moves, 4);
	assert_int_equal(t->masters, 1);
	assert_true(t->master);
	assert_true(pci_dev_bus_master(&t->pci));
	conf1_write(r, 1, 0x04, 2, 0x0006);
	assert_int_equal(t->moves, 6);
	assert_int_equal(t->masters, 1); /* unchanged bit: not told again */
	assert_int_equal(mmio_read32(r, 0xC0002004, &claimed), 0xB3B3B3B3);
	assert_true(claimed);
	conf1_write(r, 1, 0x04, 1, 0x02);
	assert_int_equal(t->masters, 2);
	assert_false(t->master);
	assert_false(pci_dev_bus_master(&t->pci));
	assert_int_equal(r->mmio.nr, 2);
}

static void test_capabilities(void **state)
{
	struct rig *r = *state;
	struct tdev *t = &r->dev;
	uint8_t msix[12] = {0x11, 0xEE, 0x03, 0x00}, vendor[5] = {0x09, 0xEE, 5, 0xAA, 0xBB};
	uint8_t big[0xBF] = {0x09};
	unsigned int off, n = 0;
	const uint8_t ids[] = {0x09, 0x11, 0x09};

	assert_int_equal(pci_dev_add_cap(&t->pci, vendor, 1), -EINVAL);
	assert_int_equal(pci_dev_add_cap(&t->pci, vendor, sizeof(vendor)), 0x40);
	assert_int_equal(pci_dev_add_cap(&t->pci, msix, sizeof(msix)), 0x48); /* dword aligned */
	assert_int_equal(pci_dev_add_cap(&t->pci, vendor, sizeof(vendor)), 0x54);
	assert_int_equal(pci_dev_add_cap(&t->pci, big, 0xB0), -ENOSPC);
	pci_host_add(&r->host.h, &t->pci);

	assert_true(conf1_read(r, 0, 1, 0x06, 2) & 0x10); /* status: capability list */
	/* Walk the list as the guest does. */
	for (off = conf1_read(r, 0, 1, 0x34, 1); off; off = conf1_read(r, 0, 1, off + 1, 1)) {
		assert_true(n < 3);
		assert_int_equal(off & 3, 0);
		assert_int_equal(conf1_read(r, 0, 1, off, 1), ids[n]);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(conf1_read(r, 0, 1, 0x48, 4), 0x00035411); /* next pointer filled in */
	assert_int_equal(conf1_read(r, 0, 1, 0x57, 1), 0xAA);
	/* Capabilities are read-only unless the device says otherwise. */
	conf1_write(r, 1, 0x4A, 2, 0xFFFF);
	assert_int_equal(conf1_read(r, 0, 1, 0x4A, 2), 0x0003);
}

static void test_capability_fills_config_space(void **state)
{
	struct rig *r = *state;
	struct tdev *t = &r->dev;
	uint8_t big[0xBF];

	memset(big, 0x5C, sizeof(big));
	big[0] = 0x09;
	assert_int_equal(pci_dev_add_cap(&t->pci, big, sizeof(big)), 0x40);
	assert_int_equal(pci_dev_add_cap(&t->pci, big, 2), -ENOSPC);
	pci_host_add(&r->host.h, &t->pci);
	assert_int_equal(conf1_read(r, 0, 1, 0xFE, 1), 0x5C);
	/* The builder's bookkeeping byte is not visible to the guest. */
	assert_int_equal(conf1_read(r, 0, 1, 0xFF, 1), 0x00);
	assert_int_equal(conf1_read(r, 0, 1, 0x41, 1), 0x00); /* end of list */
}

static void test_header_write_masks(void **state)
{
	struct rig *r = *state;

	pci_host_add(&r->host.h, &r->dev.pci);
	conf1_write(r, 1, 0x00, 4, 0xFFFFFFFF);
	assert_int_equal(conf1_read(r, 0, 1, 0x00, 4), 0x10581AF4);
	conf1_write(r, 1, 0x04, 2, 0xFFFF);
	assert_int_equal(conf1_read(r, 0, 1, 0x04, 2), 0x0407);
	conf1_write(r, 1, 0x04, 2, 0x0000);
	/* Interrupt line is the guest's scratch byte; the pin is fixed. */
	conf1_write(r, 1, 0x3C, 2, 0x050B);
	assert_int_equal(conf1_read(r, 0, 1, 0x3C, 1), 0x0B);
	assert_int_equal(conf1_read(r, 0, 1, 0x3D, 1), 0x01);
	conf1_write(r, 1, 0x08, 4, 0);
	assert_int_equal(conf1_read(r, 0, 1, 0x08, 4), 0x05000001);
}

static void test_intx_and_disable(void **state)
{
	struct rig *r = *state;
	struct pci_dev *d = &r->dev.pci;
	unsigned int gsi;

	pci_host_add(&r->host.h, d);
	gsi = d->gsi;
	pci_dev_set_irq(d, 1);
	assert_int_equal(r->host.level[gsi], 1);
	/* Command bit 10 masks a held line at once and unmasks it again. */
	conf1_write(r, 1, 0x04, 2, 0x0406);
	assert_int_equal(r->host.level[gsi], 0);
	pci_dev_set_irq(d, 1);
	assert_int_equal(r->host.level[gsi], 0);
	conf1_write(r, 1, 0x04, 2, 0x0006);
	assert_int_equal(r->host.level[gsi], 1);
	/* A byte write to the command's high half counts too. */
	conf1_write(r, 1, 0x05, 1, 0x04);
	assert_int_equal(r->host.level[gsi], 0);
	conf1_write(r, 1, 0x05, 1, 0x00);
	assert_int_equal(r->host.level[gsi], 1);
	pci_dev_set_irq(d, 0);
	assert_int_equal(r->host.level[gsi], 0);
	conf1_write(r, 1, 0x04, 2, 0x0006);
	assert_int_equal(r->host.level[gsi], 0);
}

static void test_slots_and_gsis(void **state)
{
	struct rig *r = *state;
	struct pci_dev *devs = calloc(PCI_MAX_SLOTS, sizeof(*devs));
	unsigned int i;

	assert_non_null(devs);
	/* PCI_DEV_SLOTS is what validation counts devices against: exactly that many fit. */
	for (i = 1; i <= PCI_DEV_SLOTS; i++) {
		pci_dev_init(&devs[i], &tdev_ops, "n", 0x1AF4, 0x1000 + i, 0xFF0000, 0, 0, 0);
		assert_int_equal(pci_host_add(&r->host.h, &devs[i]), 0);
		assert_int_equal(devs[i].slot, i);
		/* Round-robin over 8 pins, as the DSDT's _PRT says. */
		assert_int_equal(devs[i].gsi, PCI_INTX_GSI_BASE + i % PCI_INTX_GSI_NUM);
		assert_int_equal(conf1_read(r, 0, i, 0x02, 2), 0x1000 + i);
	}
	assert_int_equal(pci_host_add(&r->host.h, &r->dev.pci), -ENOSPC);
	pci_host_destroy(&r->host.h);
	free(devs);
	/* Re-create the host so teardown has something to destroy. */
	pci_host_init(&r->host.h, &fake_ops, &r->mmio, &r->pio);
}

static void test_bar_arguments_and_window(void **state)
{
	struct rig *r = *state;
	struct tdev *a = &r->dev, *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	assert_int_equal(pci_dev_set_bar(&a->pci, 6, 0x1000), -EINVAL);
	assert_int_equal(pci_dev_set_bar(&a->pci, 0, 0x800), -EINVAL);
	assert_int_equal(pci_dev_set_bar(&a->pci, 0, 0x3000), -EINVAL);
	assert_int_equal(pci_dev_set_bar(&a->pci, 0, 0), -EINVAL);
	/* Two 256 MiB BARs fill the 512 MiB window; a third does not fit. */
	assert_int_equal(pci_dev_set_bar(&a->pci, 0, 0x10000000), 0);
	assert_int_equal(pci_dev_set_bar(&a->pci, 1, 0x10000000), 0);
	assert_int_equal(pci_host_add(&r->host.h, &a->pci), 0);
	assert_int_equal(conf1_read(r, 0, 1, 0x14, 4), 0xD0000000);
	pci_dev_init(&b->pci, &tdev_ops, "b", 0x1AF4, 0x1041, 0, 0, 0, 0);
	pci_dev_set_bar(&b->pci, 0, 0x1000);
	assert_int_equal(pci_host_add(&r->host.h, &b->pci), -ENOSPC);
	assert_int_equal(r->mmio.nr, 2);
	free(b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_type1_probe),
	    T(test_host_bridge),
	    T(test_absent_functions_read_ones),
	    T(test_add_device_and_bars),
	    T(test_bar_sizing),
	    T(test_bar_move),
	    T(test_command_decode_and_bus_master),
	    T(test_capabilities),
	    T(test_capability_fills_config_space),
	    T(test_header_write_masks),
	    T(test_intx_and_disable),
	    T(test_slots_and_gsis),
	    T(test_bar_arguments_and_window),
	};

	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
