#include "devices/pci_save.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"
#include "lib/util.h"

#define PCI_COMMAND 0x04
#define PCI_BAR0    0x10
#define PCI_BAR_END (PCI_BAR0 + 4 * PCI_NUM_BARS)

struct pci_fn_image {
	uint8_t slot;
	uint8_t irq_level;
	uint8_t cfg[PCI_CFG_SIZE];
	uint64_t bar_addr[PCI_NUM_BARS];
};

struct pci_image {
	uint32_t cf8;
	unsigned int nr;
	struct pci_fn_image fn[PCI_MAX_SLOTS];
};

static unsigned int pci_count(const struct pci_host *h)
{
	unsigned int i, n = 0;

	for (i = 0; i < PCI_MAX_SLOTS; i++)
		n += h->devs[i] != NULL;
	return n;
}

void pci_host_save(struct pci_host *h, struct mv_state_writer *w)
{
	unsigned int i, j;

	pthread_mutex_lock(&h->lock);
	mv_sw_begin(w, PCI_STATE_NAME, PCI_STATE_VERSION);
	mv_sw_u32(w, h->cf8);
	mv_sw_u8(w, pci_count(h));
	for (i = 0; i < PCI_MAX_SLOTS; i++) {
		struct pci_dev *d = h->devs[i];

		if (!d)
			continue;
		mv_sw_u8(w, i);
		mv_sw_u8(w, d->irq_level);
		mv_sw_bytes(w, d->cfg, PCI_CFG_SIZE);
		for (j = 0; j < PCI_NUM_BARS; j++)
			mv_sw_u64(w, d->bars[j].size ? d->bars[j].addr : 0);
	}
	mv_sw_end(w);
	pthread_mutex_unlock(&h->lock);
}

static int pci_check_fn(const struct mv_state_section *sec, const struct pci_dev *d,
			const struct pci_fn_image *f, char *err, size_t errlen)
{
	unsigned int off, i;

	if (f->irq_level > 1) {
		mv_errbuf(err, errlen, "%s: slot %u (%s): irq_level %u is not 0 or 1", sec->name,
			  f->slot, d->name, f->irq_level);
		return -EINVAL;
	}
	for (off = 0; off < PCI_CFG_SIZE; off++) {
		uint8_t ro = ~d->wmask[off];

		if (off >= PCI_BAR0 && off < PCI_BAR_END)
			continue;
		if ((f->cfg[off] & ro) != (d->cfg[off] & ro)) {
			mv_errbuf(err, errlen,
				  "%s: slot %u (%s): read-only config byte %#x is %#x in the saved "
				  "state, %#x here",
				  sec->name, f->slot, d->name, off, f->cfg[off] & ro,
				  d->cfg[off] & ro);
			return -EINVAL;
		}
	}
	for (i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t reg = le_get(f->cfg + PCI_BAR0 + 4 * i, 4), size = d->bars[i].size;
		uint64_t addr = f->bar_addr[i];

		if (!size ? reg != le_get(d->cfg + PCI_BAR0 + 4 * i, 4) || addr
			  : (reg != (uint32_t) ~(size - 1) && (reg & (size - 1))) ||
				(addr & (size - 1)) || addr > UINT32_MAX) {
			mv_errbuf(err, errlen,
				  "%s: slot %u (%s): BAR%u register %#x / address %#llx do not fit "
				  "a BAR of %#x bytes",
				  sec->name, f->slot, d->name, i, reg, (unsigned long long)addr,
				  size);
			return -EINVAL;
		}
	}
	return 0;
}

static int pci_parse(struct pci_host *h, const struct mv_state_section *sec, struct pci_image *im,
		     char *err, size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	unsigned int i, j, nr;
	int ret;

	ret = mv_state_check(sec, PCI_STATE_NAME, PCI_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	im->cf8 = mv_sr_u32(&r);
	nr = mv_sr_u8(&r);
	if (nr != pci_count(h)) {
		mv_errbuf(err, errlen, "%s: %u functions in the saved state, %u here", sec->name,
			  nr, pci_count(h));
		return -EINVAL;
	}
	im->nr = nr;
	for (i = 0; i < nr; i++) {
		struct pci_fn_image *f = &im->fn[i];

		f->slot = mv_sr_u8(&r);
		f->irq_level = mv_sr_u8(&r);
		mv_sr_bytes(&r, f->cfg, PCI_CFG_SIZE);
		for (j = 0; j < PCI_NUM_BARS; j++)
			f->bar_addr[j] = mv_sr_u64(&r);
	}
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	if (im->cf8 & ~0x80FFFFFCU) {
		mv_errbuf(err, errlen, "%s: cf8 %#x has reserved bits set", sec->name, im->cf8);
		return -EINVAL;
	}
	for (i = 0; i < nr; i++) {
		struct pci_fn_image *f = &im->fn[i];

		/* Ascending slots: each running function is matched exactly once. */
		if (f->slot >= PCI_MAX_SLOTS || !h->devs[f->slot] ||
		    (i && f->slot <= im->fn[i - 1].slot)) {
			mv_errbuf(err, errlen, "%s: slot %u is not occupied here (or listed twice)",
				  sec->name, f->slot);
			return -EINVAL;
		}
		ret = pci_check_fn(sec, h->devs[f->slot], f, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static bool pci_bar_in_window(uint64_t addr, uint32_t size)
{
	return addr >= PCI_MMIO32_BASE && addr + size <= PCI_MMIO32_BASE + PCI_MMIO32_SIZE;
}

/* Where BARs trade places, one pass frees the address another one needs. */
static bool pci_place_bars(struct pci_host *h, const struct pci_image *im)
{
	unsigned int pass, i, j;
	bool missing = true;

	for (pass = 0; missing && pass < PCI_MAX_SLOTS * PCI_NUM_BARS; pass++) {
		missing = false;
		for (i = 0; i < im->nr; i++) {
			const struct pci_fn_image *f = &im->fn[i];
			struct pci_dev *d = h->devs[f->slot];

			for (j = 0; j < PCI_NUM_BARS; j++) {
				struct pci_bar *b = &d->bars[j];
				uint64_t addr = f->bar_addr[j];

				if (!b->size || (b->placed && b->addr == addr))
					continue;
				if (!pass || pci_bar_in_window(addr, b->size))
					pci_cfg_write(h, f->slot, 0, PCI_BAR0 + 4 * j, 4, addr);
				if (pci_bar_in_window(addr, b->size) && !b->placed)
					missing = true;
			}
		}
	}
	return !missing;
}

int pci_host_load(struct pci_host *h, const struct mv_state_section *sec, char *err, size_t errlen)
{
	struct pci_image *im;
	unsigned int i, j;
	bool placed;
	int ret;

	im = calloc(1, sizeof(*im));
	if (!im)
		return -ENOMEM;
	pthread_mutex_lock(&h->lock);
	ret = pci_parse(h, sec, im, err, errlen);
	if (ret)
		goto out;
	h->cf8 = im->cf8;
	for (i = 0; i < im->nr; i++) {
		const struct pci_fn_image *f = &im->fn[i];
		struct pci_dev *d = h->devs[f->slot];

		memcpy(d->cfg, f->cfg, PCI_COMMAND);
		memcpy(d->cfg + PCI_COMMAND + 2, f->cfg + PCI_COMMAND + 2,
		       PCI_BAR0 - PCI_COMMAND - 2);
		memcpy(d->cfg + PCI_BAR_END, f->cfg + PCI_BAR_END, PCI_CFG_SIZE - PCI_BAR_END);
		d->irq_level = f->irq_level;
		/* The guest's own path: applies the INTx mask and drives the line. */
		pci_cfg_write(h, f->slot, 0, PCI_COMMAND, 2, le_get(f->cfg + PCI_COMMAND, 2));
	}
	placed = pci_place_bars(h, im);
	/* The registers as saved: a BAR may be mid-sizing, showing its mask. */
	for (i = 0; i < im->nr; i++) {
		const struct pci_fn_image *f = &im->fn[i];
		struct pci_dev *d = h->devs[f->slot];

		for (j = 0; j < PCI_NUM_BARS; j++)
			if (d->bars[j].size)
				memcpy(d->cfg + PCI_BAR0 + 4 * j, f->cfg + PCI_BAR0 + 4 * j, 4);
	}
	if (!placed) {
		mv_errbuf(err, errlen, "%s: a BAR could not be placed at its saved address",
			  sec->name);
		ret = -EBUSY;
	}
out:
	pthread_mutex_unlock(&h->lock);
	free(im);
	return ret;
}
