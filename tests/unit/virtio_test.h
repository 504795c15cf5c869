/*
 * virtio_test: a fake virtio driver for unit tests. It lays out a split
 * virtqueue in fake guest memory and pokes descriptors and indices directly
 * (as a hostile guest could), plus a fake PCI host that records INTx levels
 * and the virtio-pci bring-up Linux's driver does (vdrv_bring_up), written
 * once for every test and benchmark.
 */
#ifndef MV_TESTS_VIRTIO_TEST_H
#define MV_TESTS_VIRTIO_TEST_H

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "lib/util.h"
#include "devices/pci.h"
#include "fakes.h"
#include "virtio/pci.h"

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

/*
 * Fake PCI host: records INTx levels per GSI; no ioeventfd, no irqfd. With
 * fake_pci_init_msi it also keeps MSI routes (GSI 24 + i) and records each
 * message injected directly.
 */
#define FAKE_MSI_ROUTES 8
struct fake_pci {
	struct pci_host h;
	struct bus mmio, pio;
	int level[32];
	unsigned int set_irq_calls;
	struct {
		bool used;
		uint64_t addr;
		uint32_t data;
	} route[FAKE_MSI_ROUTES];
	unsigned int route_calls;
	bool refuse_routes;
	unsigned int msis; /* messages injected by signal_msi */
	uint64_t msi_addr; /* the last one */
	uint32_t msi_data;
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

static inline int fake_pci_msi_route(struct pci_host *h, int *gsi, uint64_t addr, uint32_t data)
{
	struct fake_pci *f = container_of(h, struct fake_pci, h);
	int i = *gsi - 24;

	f->route_calls++;
	if (f->refuse_routes)
		return -ENOSPC;
	if (*gsi < 0)
		for (i = 0; i < FAKE_MSI_ROUTES && f->route[i].used; i++)
			;
	if (i < 0 || i >= FAKE_MSI_ROUTES)
		return -ENOSPC;
	f->route[i].used = true;
	f->route[i].addr = addr;
	f->route[i].data = data;
	*gsi = 24 + i;
	return 0;
}

static inline void fake_pci_msi_route_free(struct pci_host *h, int gsi)
{
	struct fake_pci *f = container_of(h, struct fake_pci, h);

	assert(gsi >= 24 && gsi < 24 + FAKE_MSI_ROUTES && f->route[gsi - 24].used);
	f->route[gsi - 24].used = false;
}

static inline int fake_pci_signal_msi(struct pci_host *h, uint64_t addr, uint32_t data)
{
	struct fake_pci *f = container_of(h, struct fake_pci, h);

	f->msis++;
	f->msi_addr = addr;
	f->msi_data = data;
	return 0;
}

static inline void fake_pci_init_msi(struct fake_pci *f)
{
	static const struct pci_host_ops ops = {
	    .set_irq = fake_pci_set_irq,
	    .msi_route = fake_pci_msi_route,
	    .msi_route_free = fake_pci_msi_route_free,
	    .signal_msi = fake_pci_signal_msi,
	};

	fake_pci_init(f);
	f->h.ops = &ops;
}

static inline void fake_pci_free(struct fake_pci *f)
{
	pci_host_destroy(&f->h);
	bus_destroy(&f->mmio);
	bus_destroy(&f->pio);
}

/*
 * A driver's bring-up straight on the device core, without a transport
 * (fuzzers): reset, the features, nq queues of qsize at base + i * 0x8000
 * (descriptor tables cleared), DRIVER_OK. The device lock is the caller's.
 */
static inline void vdev_bring_up_direct(struct virtio_dev *v, struct vqd *q, struct fake_gmem *fm,
					uint64_t base, uint64_t features, unsigned int nq,
					uint16_t qsize)
{
	virtio_dev_set_status(v, 0);
	v->driver_features = features;
	virtio_dev_set_status(v, 0xB);
	for (unsigned int i = 0; i < nq; i++) {
		vqd_init(&q[i], fm, base + i * 0x8000, qsize);
		memset(vqd_ptr(&q[i], q[i].desc), 0, 0x4000);
		v->vqs[i].desc = q[i].desc;
		v->vqs[i].avail = q[i].avail;
		v->vqs[i].used = q[i].used;
		if (virtq_enable(&v->vqs[i]))
			abort();
	}
	virtio_dev_set_status(v, 0xF);
}

/* Driver features: VIRTIO_F_VERSION_1 is bit 32, the second feature word. */
#define VDRV_VERSION_1 (1ULL << 32)

/* One queue as the driver sets it up; size 0 keeps the device's maximum. */
struct vdrv_queue {
	uint16_t index;
	uint16_t size;
	uint64_t desc, driver, device;
};

/* Queue `index` at the rings of d (d->size not written: the device's maximum). */
static inline struct vdrv_queue vdrv_queue_of(const struct vqd *d, uint16_t index)
{
	return (struct vdrv_queue){
	    .index = index, .desc = d->desc, .driver = d->avail, .device = d->used};
}

/* A write to the function's BAR 0 (wherever the guest moved it). */
static inline void vdrv_wr(struct fake_pci *fp, struct virtio_pci *vp, uint64_t off, uint32_t len,
			   uint64_t v)
{
	bool ok = bus_write(&fp->mmio, vp->pci.bars[0].addr + off, &v, len);

	assert(ok);
	(void)ok;
}

static inline uint64_t vdrv_rd(struct fake_pci *fp, struct virtio_pci *vp, uint64_t off,
			       uint32_t len)
{
	uint64_t v = 0;
	bool ok = bus_read(&fp->mmio, vp->pci.bars[0].addr + off, &v, len);

	assert(ok);
	(void)ok;
	return v;
}

/* Device reset (status 0), as Linux does before each bring-up. */
static inline void vdrv_reset(struct fake_pci *fp, struct virtio_pci *vp)
{
	vdrv_wr(fp, vp, VIRTIO_PCI_STATUS, 1, 0);
}

/*
 * Linux's bring-up of a virtio-pci function (virtio_pci_probe, then
 * virtio_dev_probe): pci_enable_device and pci_set_master (command register
 * 0x04 = memory decode | bus master), ACKNOWLEDGE|DRIVER,
 * both feature words, FEATURES_OK, each queue (select, size when given,
 * desc/driver/device as two 32-bit halves, low first, enable), DRIVER_OK.
 * Returns the device status read back: 0xF when the device took it all.
 * Linux resets first; a caller whose device may be live calls vdrv_reset
 * (not done here: tests count resets, and a fresh device needs none).
 */
static inline uint8_t vdrv_bring_up(struct fake_pci *fp, struct virtio_pci *vp, uint64_t features,
				    const struct vdrv_queue *qs, unsigned int nq)
{
	unsigned int i;

	pci_cfg_write(&fp->h, vp->pci.slot, 0, 0x04, 2, 0x0006);
	vdrv_wr(fp, vp, VIRTIO_PCI_STATUS, 1, 3);
	vdrv_wr(fp, vp, VIRTIO_PCI_GFSELECT, 4, 0);
	vdrv_wr(fp, vp, VIRTIO_PCI_GF, 4, (uint32_t)features);
	vdrv_wr(fp, vp, VIRTIO_PCI_GFSELECT, 4, 1);
	vdrv_wr(fp, vp, VIRTIO_PCI_GF, 4, features >> 32);
	vdrv_wr(fp, vp, VIRTIO_PCI_STATUS, 1, 3 | 8);
	for (i = 0; i < nq; i++) {
		const struct vdrv_queue *q = &qs[i];

		vdrv_wr(fp, vp, VIRTIO_PCI_Q_SELECT, 2, q->index);
		if (q->size)
			vdrv_wr(fp, vp, VIRTIO_PCI_Q_SIZE, 2, q->size);
		vdrv_wr(fp, vp, VIRTIO_PCI_Q_DESC, 4, (uint32_t)q->desc);
		vdrv_wr(fp, vp, VIRTIO_PCI_Q_DESC + 4, 4, q->desc >> 32);
		vdrv_wr(fp, vp, VIRTIO_PCI_Q_DRIVER, 4, (uint32_t)q->driver);
		vdrv_wr(fp, vp, VIRTIO_PCI_Q_DRIVER + 4, 4, q->driver >> 32);
		vdrv_wr(fp, vp, VIRTIO_PCI_Q_DEVICE, 4, (uint32_t)q->device);
		vdrv_wr(fp, vp, VIRTIO_PCI_Q_DEVICE + 4, 4, q->device >> 32);
		vdrv_wr(fp, vp, VIRTIO_PCI_Q_ENABLE, 2, 1);
	}
	vdrv_wr(fp, vp, VIRTIO_PCI_STATUS, 1, 3 | 8 | 4);
	return vdrv_rd(fp, vp, VIRTIO_PCI_STATUS, 1);
}

#endif
