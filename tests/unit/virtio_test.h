/*
 * virtio_test: a fake virtio driver for unit tests. It lays out a split
 * virtqueue in fake guest memory and pokes descriptors and indices directly
 * (as a hostile guest could), plus a fake PCI host that records INTx levels.
 */
#ifndef MV_TESTS_VIRTIO_TEST_H
#define MV_TESTS_VIRTIO_TEST_H

#include <assert.h>
#include <endian.h>
#include <string.h>

#include "core/bus.h"
#include "core/util.h"
#include "devices/pci.h"
#include "fakes.h"

struct vqd {
	struct fake_gmem *fm;
	uint64_t desc, avail, used;
	uint16_t size;
	uint16_t avail_idx; /* next avail idx the driver publishes */
	uint16_t last_used;
	uint16_t next_desc;
};

static inline uint8_t *vqd_ptr(struct vqd *d, uint64_t gpa)
{
	assert(gpa >= d->fm->gpa && gpa - d->fm->gpa < d->fm->size);
	return d->fm->buf + (gpa - d->fm->gpa);
}

/* Rings at base: desc, avail right after, used at the next 4 KiB. */
static inline void vqd_init(struct vqd *d, struct fake_gmem *fm, uint64_t base, uint16_t size)
{
	memset(d, 0, sizeof(*d));
	d->fm = fm;
	d->size = size;
	d->desc = base;
	d->avail = base + 16ULL * size;
	d->used = align_up(d->avail + 6 + 2ULL * size, 4096);
}

static inline void vqd_put_desc(struct vqd *d, uint16_t i, uint64_t addr, uint32_t len,
				uint16_t flags, uint16_t next)
{
	uint8_t *p = vqd_ptr(d, d->desc + 16ULL * i);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &f, 2);
	memcpy(p + 14, &n, 2);
}

static inline void vqd_set_avail_idx(struct vqd *d, uint16_t idx)
{
	uint16_t v = htole16(idx);

	memcpy(vqd_ptr(d, d->avail + 2), &v, 2);
}

static inline void vqd_set_avail_flags(struct vqd *d, uint16_t flags)
{
	uint16_t v = htole16(flags);

	memcpy(vqd_ptr(d, d->avail), &v, 2);
}

/* Put head in the next avail slot and publish it. */
static inline void vqd_publish(struct vqd *d, uint16_t head)
{
	uint16_t v = htole16(head);

	memcpy(vqd_ptr(d, d->avail + 4 + 2ULL * (d->avail_idx % d->size)), &v, 2);
	vqd_set_avail_idx(d, ++d->avail_idx);
}

struct vqd_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* A well-formed chain of n buffers from the next free descriptors; returns its head. */
static inline uint16_t vqd_add(struct vqd *d, const struct vqd_buf *b, unsigned int n)
{
	uint16_t head = d->next_desc % d->size;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint16_t cur = (d->next_desc + i) % d->size, nxt = (cur + 1) % d->size;

		vqd_put_desc(d, cur, b[i].gpa, b[i].len,
			     (b[i].writable ? 2 : 0) | (i + 1 < n ? 1 : 0), nxt);
	}
	d->next_desc += n;
	vqd_publish(d, head);
	return head;
}

static inline uint16_t vqd_used_idx(struct vqd *d)
{
	uint16_t v;

	memcpy(&v, vqd_ptr(d, d->used + 2), 2);
	return le16toh(v);
}

/* 1 and the element when the device used one more buffer, else 0. */
static inline int vqd_get_used(struct vqd *d, uint32_t *id, uint32_t *len)
{
	uint8_t *e;

	if (vqd_used_idx(d) == d->last_used)
		return 0;
	e = vqd_ptr(d, d->used + 4 + 8ULL * (d->last_used % d->size));
	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
	*id = le32toh(*id);
	*len = le32toh(*len);
	d->last_used++;
	return 1;
}

/* Fake PCI host: records INTx levels per GSI; no ioeventfd, no irqfd. */
struct fake_pci {
	struct pci_host h;
	struct bus mmio, pio;
	int level[32];
	unsigned int set_irq_calls;
};

static inline int fake_pci_set_irq(struct pci_host *h, unsigned int gsi, int level)
{
	struct fake_pci *f = container_of(h, struct fake_pci, h);

	assert(gsi < 32);
	f->level[gsi] = level;
	f->set_irq_calls++;
	return 0;
}

static inline void fake_pci_init(struct fake_pci *f)
{
	static const struct pci_host_ops ops = {.set_irq = fake_pci_set_irq};

	memset(f, 0, sizeof(*f));
	assert(bus_init(&f->mmio) == 0);
	assert(bus_init(&f->pio) == 0);
	assert(pci_host_init(&f->h, &ops, &f->mmio, &f->pio) == 0);
}

static inline void fake_pci_free(struct fake_pci *f)
{
	pci_host_destroy(&f->h);
	bus_destroy(&f->mmio);
	bus_destroy(&f->pio);
}

#endif
