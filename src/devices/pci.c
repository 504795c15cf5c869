#include "devices/pci.h"

#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

#define PCI_COMMAND	   0x04
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_STATUS	   0x06
#define PCI_STATUS_CAPLIST 0x10
#define PCI_BAR0	   0x10
#define PCI_CAP_PTR	   0x34
#define PCI_INT_LINE	   0x3C
#define PCI_INT_PIN	   0x3D

void pci_dev_init(struct pci_dev *d, const struct pci_dev_ops *ops, const char *name,
		  uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision,
		  uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->name = name;
	le_put(d->cfg + 0x00, vendor, 2);
	le_put(d->cfg + 0x02, device, 2);
	d->cfg[0x08] = revision;
	d->cfg[0x09] = class_code;
	d->cfg[0x0A] = class_code >> 8;
	d->cfg[0x0B] = class_code >> 16;
	le_put(d->cfg + 0x2C, subsys_vendor, 2);
	le_put(d->cfg + 0x2E, subsys_id, 2);
	/* Command: I/O, memory, bus master, INTx disable are the guest's to set. */
	le_put(d->wmask + PCI_COMMAND, 0x0407, 2);
	d->wmask[PCI_INT_LINE] = 0xFF;
}

int pci_dev_set_bar(struct pci_dev *d, unsigned int idx, uint32_t size)
{
	if (idx >= PCI_NUM_BARS || !is_pow2(size) || size < 4096)
		return -EINVAL;
	d->bars[idx].size = size;
	d->bars[idx].idx = idx;
	d->bars[idx].dev = d;
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, const void *cap, unsigned int len)
{
	unsigned int off;

	if (len < 2)
		return -EINVAL;
	/* Capabilities are laid out one after another from 0x40. */
	off = align_up(d->last_cap ? d->cfg[0xFF] : 0x40, 4);
	if (off + len > 0xFF)
		return -ENOSPC;
	memcpy(d->cfg + off, cap, len);
	d->cfg[off + 1] = 0;
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = off;
	else
		d->cfg[PCI_CAP_PTR] = off;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAPLIST;
	d->last_cap = off;
	/* Byte 0xFF is unused by the header: it keeps the next free offset. */
	d->cfg[0xFF] = off + len;
	return off;
}

static void pci_bar_read(struct bus_dev *bd, uint64_t off, void *data, uint32_t len)
{
	struct pci_bar *b = container_of(bd, struct pci_bar, bdev);

	b->dev->ops->bar_read(b->dev, b->idx, off, data, len);
}

static void pci_bar_write(struct bus_dev *bd, uint64_t off, const void *data, uint32_t len)
{
	struct pci_bar *b = container_of(bd, struct pci_bar, bdev);

	b->dev->ops->bar_write(b->dev, b->idx, off, data, len);
}

static const struct bus_dev_ops pci_bar_ops = {
    .read = pci_bar_read,
    .write = pci_bar_write,
};

static uint16_t pci_command(const struct pci_dev *d)
{
	return le_get(d->cfg + PCI_COMMAND, 2);
}

bool pci_dev_bus_master(const struct pci_dev *d)
{
	return pci_command(d) & PCI_COMMAND_MASTER;
}

/*
 * Bring the MMIO bus in line with the BAR register and the command
 * register: decoded at b->addr iff memory decode is on and the address is
 * inside the window and free. Tells the device of every change.
 */
static void pci_bar_update(struct pci_host *h, struct pci_bar *b)
{
	struct pci_dev *d = b->dev;
	bool was = b->placed, want = pci_command(d) & PCI_COMMAND_MEMORY;
	uint64_t was_at = b->decoded_at, addr = b->addr;

	if (addr < PCI_MMIO32_BASE || addr + b->size > PCI_MMIO32_BASE + PCI_MMIO32_SIZE) {
		if (want)
			mv_debug("pci: %s BAR%u at %#llx outside the window, not decoded", d->name,
				 b->idx, (unsigned long long)addr);
		want = false;
	}
	if (was && (!want || was_at != addr)) {
		bus_unregister(h->mmio, &b->bdev);
		b->placed = false;
	}
	if (want && !b->placed) {
		if (bus_register(h->mmio, &b->bdev, addr, b->size)) {
			mv_debug("pci: %s BAR%u at %#llx overlaps, not decoded", d->name, b->idx,
				 (unsigned long long)addr);
		} else {
			b->placed = true;
			b->decoded_at = addr;
		}
	}
	if (was == b->placed && (!was || was_at == b->decoded_at))
		return;
	if (d->ops && d->ops->bar_decode)
		d->ops->bar_decode(d, b->idx, b->placed, b->decoded_at);
}

/* The guest wrote BAR idx (also a sizing write: the BAR then sits at the size mask). */
static void pci_bar_program(struct pci_dev *d, unsigned int idx, uint32_t val)
{
	struct pci_bar *b = &d->bars[idx];

	if (!b->size)
		return;
	b->addr = val & ~(uint32_t)(b->size - 1);
	/* 32-bit, non-prefetchable memory BAR: the type bits read as 0. */
	le_put(d->cfg + PCI_BAR0 + 4 * idx, (uint32_t)b->addr, 4);
	pci_bar_update(d->host, b);
}

/* After a command write: decode and bus master as the new value says. */
static void pci_command_changed(struct pci_dev *d, uint16_t old)
{
	uint16_t now = pci_command(d);
	unsigned int i;

	if ((old ^ now) & PCI_COMMAND_MEMORY)
		for (i = 0; i < PCI_NUM_BARS; i++)
			if (d->bars[i].size)
				pci_bar_update(d->host, &d->bars[i]);
	if (((old ^ now) & PCI_COMMAND_MASTER) && d->ops && d->ops->bus_master)
		d->ops->bus_master(d, now & PCI_COMMAND_MASTER);
}

/* Undo what pci_host_add did to the bus for a device it then refused. */
static void pci_host_unplace(struct pci_host *h, struct pci_dev *d)
{
	unsigned int i;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		if (d->bars[i].placed)
			bus_unregister(h->mmio, &d->bars[i].bdev);
		d->bars[i].placed = false;
	}
}

int pci_host_add(struct pci_host *h, struct pci_dev *d)
{
	unsigned int slot, i;

	for (slot = 0; slot < PCI_MAX_SLOTS && h->devs[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS)
		return -ENOSPC;
	d->host = h;
	d->slot = slot;
	d->gsi = PCI_INTX_GSI_BASE + slot % PCI_INTX_GSI_NUM;
	d->cfg[PCI_INT_LINE] = d->gsi;
	if (slot)
		d->cfg[PCI_INT_PIN] = 1; /* INTA */
	for (i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];

		if (!b->size)
			continue;
		h->mmio_next = align_up(h->mmio_next, b->size);
		if (h->mmio_next + b->size > PCI_MMIO32_BASE + PCI_MMIO32_SIZE)
			goto nospc;
		b->bdev.ops = &pci_bar_ops;
		b->bdev.name = d->name;
		b->addr = h->mmio_next;
		le_put(d->cfg + PCI_BAR0 + 4 * i, (uint32_t)b->addr, 4);
		h->mmio_next += b->size;
	}
	/* As firmware leaves it after assigning the BARs: decode on, bus master off. */
	le_put(d->cfg + PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	for (i = 0; i < PCI_NUM_BARS; i++) {
		if (!d->bars[i].size)
			continue;
		pci_bar_update(h, &d->bars[i]);
		if (!d->bars[i].placed) {
			pci_host_unplace(h, d);
			return -EBUSY;
		}
	}
	h->devs[slot] = d;
	return 0;
nospc:
	pci_host_unplace(h, d);
	return -ENOSPC;
}

void pci_dev_set_irq(struct pci_dev *d, int level)
{
	d->irq_level = level;
	/* Command bit 10 (INTx disable) masks the line. */
	if (d->cfg[PCI_COMMAND + 1] & 0x04)
		level = 0;
	d->host->ops->set_irq(d->host, d->gsi, level);
}

static struct pci_dev *pci_find(struct pci_host *h, unsigned int slot, unsigned int fn)
{
	if (slot >= PCI_MAX_SLOTS || fn)
		return NULL;
	return h->devs[slot];
}

uint32_t pci_cfg_read(struct pci_host *h, unsigned int slot, unsigned int fn, unsigned int off,
		      unsigned int len)
{
	struct pci_dev *d = pci_find(h, slot, fn);
	uint32_t v = 0;
	unsigned int i;

	if (!d || off >= PCI_CFG_SIZE || off + len > PCI_CFG_SIZE)
		return len == 4 ? 0xFFFFFFFF : (1U << (8 * len)) - 1;
	if (d->ops && d->ops->cfg_read)
		d->ops->cfg_read(d, off, len);
	for (i = 0; i < len; i++)
		v |= (uint32_t)(off + i == 0xFF ? 0 : d->cfg[off + i]) << (8 * i);
	return v;
}

void pci_cfg_write(struct pci_host *h, unsigned int slot, unsigned int fn, unsigned int off,
		   unsigned int len, uint32_t val)
{
	struct pci_dev *d = pci_find(h, slot, fn);
	uint16_t old_cmd;
	unsigned int i;

	if (!d || off >= PCI_CFG_SIZE || off + len > PCI_CFG_SIZE)
		return;
	if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_NUM_BARS) {
		/* BARs are written as whole dwords by every driver we serve. */
		if (len == 4 && !(off & 3))
			pci_bar_program(d, (off - PCI_BAR0) / 4, val);
		return;
	}
	old_cmd = pci_command(d);
	for (i = 0; i < len; i++) {
		uint8_t m = d->wmask[off + i];

		d->cfg[off + i] = (d->cfg[off + i] & ~m) | ((val >> (8 * i)) & m);
	}
	if (d->ops && d->ops->cfg_write)
		d->ops->cfg_write(d, off, len);
	if (d == &h->bridge || off > PCI_COMMAND + 1 || off + len <= PCI_COMMAND)
		return;
	pci_command_changed(d, old_cmd);
	if (off + len > PCI_COMMAND + 1)
		pci_dev_set_irq(d, d->irq_level);
}

/* 0xCF8: address latch; 0xCFC-0xCFF: data window. */
static void pci_port_read(struct bus_dev *bd, uint64_t off, void *data, uint32_t len)
{
	struct pci_host *h = container_of(bd, struct pci_host, cfg_port);
	uint32_t v = 0xFFFFFFFF;

	pthread_mutex_lock(&h->lock);
	if (off == 0 && len == 4) {
		v = h->cf8;
	} else if (off >= 4 && (h->cf8 & 0x80000000U)) {
		unsigned int reg = (h->cf8 & 0xFC) + (off - 4);

		if (((h->cf8 >> 16) & 0xFF) == 0 && reg + len <= PCI_CFG_SIZE)
			v = pci_cfg_read(h, (h->cf8 >> 11) & 0x1F, (h->cf8 >> 8) & 7, reg, len);
	}
	pthread_mutex_unlock(&h->lock);
	memcpy(data, &v, len);
}

static void pci_port_write(struct bus_dev *bd, uint64_t off, const void *data, uint32_t len)
{
	struct pci_host *h = container_of(bd, struct pci_host, cfg_port);
	uint32_t v = 0;

	memcpy(&v, data, len);
	pthread_mutex_lock(&h->lock);
	if (off == 0 && len == 4) {
		h->cf8 = v & 0x80FFFFFCU;
	} else if (off >= 4 && (h->cf8 & 0x80000000U)) {
		unsigned int reg = (h->cf8 & 0xFC) + (off - 4);

		if (((h->cf8 >> 16) & 0xFF) == 0 && reg + len <= PCI_CFG_SIZE)
			pci_cfg_write(h, (h->cf8 >> 11) & 0x1F, (h->cf8 >> 8) & 7, reg, len, v);
	}
	pthread_mutex_unlock(&h->lock);
}

static const struct bus_dev_ops pci_port_ops = {
    .read = pci_port_read,
    .write = pci_port_write,
};

int pci_host_init(struct pci_host *h, const struct pci_host_ops *ops, struct bus *mmio,
		  struct bus *pio)
{
	int ret;

	memset(h, 0, sizeof(*h));
	h->ops = ops;
	h->mmio = mmio;
	h->pio = pio;
	h->mmio_next = PCI_MMIO32_BASE;
	pthread_mutex_init(&h->lock, NULL);
	h->cfg_port.ops = &pci_port_ops;
	h->cfg_port.name = "pci-cfg";
	ret = bus_register(pio, &h->cfg_port, PCI_CONFIG_PORT, 8);
	if (ret)
		return ret;
	/* Host bridge at 00:00.0 (class 0600) so Linux's type-1 sanity check passes. */
	pci_dev_init(&h->bridge, NULL, "host-bridge", 0x1B36, 0x0008, 0x060000, 0, 0x1AF4, 0x1100);
	h->bridge.host = h;
	h->devs[0] = &h->bridge;
	return 0;
}

void pci_host_destroy(struct pci_host *h)
{
	unsigned int i, j;

	for (i = 0; i < PCI_MAX_SLOTS; i++) {
		struct pci_dev *d = h->devs[i];

		for (j = 0; d && j < PCI_NUM_BARS; j++)
			if (d->bars[j].placed)
				bus_unregister(h->mmio, &d->bars[j].bdev);
	}
	bus_unregister(h->pio, &h->cfg_port);
	pthread_mutex_destroy(&h->lock);
}
