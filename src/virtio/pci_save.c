#include "virtio/pci_save.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/errbuf.h"
#include "lib/log.h"
#include "lib/util.h"

#define VIRTIO_STATUS_KNOWN                                                                        \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |              \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

struct vq_image {
	uint16_t size;
	uint8_t enabled, broken;
	uint64_t desc, avail, used;
	uint16_t last_avail_idx, used_idx, notify_off;
};

struct vp_image {
	uint32_t device_id;
	uint8_t num_queues;
	uint64_t host_features, driver_features;
	uint8_t status, config_generation;
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint8_t isr;
	struct vq_image q[VIRTIO_MAX_QUEUES];
	/* version 2: MSI-X */
	uint16_t config_vec, q_vec[VIRTIO_MAX_QUEUES];
	uint8_t nvec;
	uint8_t table[MSIX_MAX_VECTORS * MSIX_ENTRY_SIZE];
	uint64_t pba;
};

void virtio_pci_state_name(const struct virtio_pci *vp, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", VIRTIO_PCI_STATE_PREFIX, vp->pci.name);
}

void virtio_pci_save(struct virtio_pci *vp, struct mv_state_writer *w)
{
	struct virtio_dev *d = vp->vdev;
	char name[MV_STATE_NAME_MAX + 1];
	unsigned int i;

	virtio_pci_state_name(vp, name, sizeof(name));
	pthread_mutex_lock(&d->lock);
	mv_sw_begin(w, name, VIRTIO_PCI_STATE_VERSION);
	mv_sw_u32(w, d->ops->device_id);
	mv_sw_u8(w, d->ops->num_queues);
	mv_sw_u64(w, d->host_features);
	mv_sw_u64(w, d->driver_features);
	mv_sw_u8(w, d->status);
	mv_sw_u8(w, d->config_generation);
	mv_sw_u32(w, vp->dfselect);
	mv_sw_u32(w, vp->gfselect);
	mv_sw_u16(w, vp->queue_select);
	mv_sw_u8(w, vp->isr);
	for (i = 0; i < d->ops->num_queues; i++) {
		const struct virtq *q = &d->vqs[i];

		mv_sw_u16(w, q->size);
		mv_sw_u8(w, q->enabled);
		mv_sw_u8(w, q->broken);
		mv_sw_u64(w, q->desc);
		mv_sw_u64(w, q->avail);
		mv_sw_u64(w, q->used);
		mv_sw_u16(w, q->last_avail_idx);
		mv_sw_u16(w, q->used_idx);
		mv_sw_u16(w, i); /* notify offset: the queue's index, in NOTIFY_MULT units */
	}
	mv_sw_u16(w, vp->config_vec);
	for (i = 0; i < d->ops->num_queues; i++)
		mv_sw_u16(w, vp->q_vec[i]);
	mv_sw_u8(w, vp->msix.nvec);
	mv_sw_bytes(w, vp->msix.table, vp->msix.nvec * MSIX_ENTRY_SIZE);
	mv_sw_u64(w, vp->msix.pba);
	mv_sw_end(w);
	pthread_mutex_unlock(&d->lock);
}

/* The ring [gpa, gpa+len) is in guest memory as virtq reaches it. */
static bool vp_ring_ok(struct virtio_dev *d, uint64_t gpa, uint64_t len)
{
	return range_ok(gpa, len) && gmem_check(d->mem, gpa, len) == 0;
}

static int vp_check_queue(struct virtio_dev *d, const char *sec, unsigned int i,
			  const struct vq_image *q, char *err, size_t errlen)
{
	uint16_t max = d->ops->queue_max_size;

	if (q->enabled > 1 || q->broken > 1 || (q->broken && !q->enabled)) {
		mv_errbuf(err, errlen, "%s: queue %u: enabled %u / broken %u are inconsistent", sec,
			  i, q->enabled, q->broken);
		return -EINVAL;
	}
	if (q->notify_off != i) {
		mv_errbuf(err, errlen, "%s: queue %u: notify_off %u, this device uses %u", sec, i,
			  q->notify_off, i);
		return -EINVAL;
	}
	if (!q->enabled)
		return 0;
	if (!is_pow2(q->size) || q->size > max) {
		mv_errbuf(err, errlen, "%s: queue %u: size %u is not a power of two <= %u", sec, i,
			  q->size, max);
		return -EINVAL;
	}
	if (!is_aligned(q->desc, 16) || !is_aligned(q->avail, 2) || !is_aligned(q->used, 4)) {
		mv_errbuf(err, errlen, "%s: queue %u: ring addresses misaligned", sec, i);
		return -EINVAL;
	}
	if (!vp_ring_ok(d, q->desc, 16ULL * q->size)) {
		mv_errbuf(err, errlen, "%s: queue %u: desc %#llx not inside guest memory", sec, i,
			  (unsigned long long)q->desc);
		return -EINVAL;
	}
	if (!vp_ring_ok(d, q->avail, 6 + 2ULL * q->size)) {
		mv_errbuf(err, errlen, "%s: queue %u: driver area %#llx not inside guest memory",
			  sec, i, (unsigned long long)q->avail);
		return -EINVAL;
	}
	if (!vp_ring_ok(d, q->used, 6 + 8ULL * q->size)) {
		mv_errbuf(err, errlen, "%s: queue %u: device area %#llx not inside guest memory",
			  sec, i, (unsigned long long)q->used);
		return -EINVAL;
	}
	if ((uint16_t)(q->last_avail_idx - q->used_idx) > q->size) {
		mv_errbuf(err, errlen,
			  "%s: queue %u: last_avail_idx %u and used_idx %u: more in flight than "
			  "the queue holds",
			  sec, i, q->last_avail_idx, q->used_idx);
		return -EINVAL;
	}
	return 0;
}

/* The vectors name table entries; entries and PBA hold only defined bits. */
static int vp_check_msix(const char *sec, unsigned int nq, const struct vp_image *im, char *err,
			 size_t errlen)
{
	unsigned int i;

	if (im->config_vec != VIRTIO_PCI_NO_VECTOR && im->config_vec >= im->nvec) {
		mv_errbuf(err, errlen, "%s: msix_config %u is not one of the %u vectors", sec,
			  im->config_vec, im->nvec);
		return -EINVAL;
	}
	for (i = 0; i < nq; i++) {
		if (im->q_vec[i] != VIRTIO_PCI_NO_VECTOR && im->q_vec[i] >= im->nvec) {
			mv_errbuf(err, errlen,
				  "%s: queue %u: queue_msix_vector %u is not one of the %u vectors",
				  sec, i, im->q_vec[i], im->nvec);
			return -EINVAL;
		}
	}
	for (i = 0; i < im->nvec; i++) {
		uint32_t ctl = le_get(im->table + i * MSIX_ENTRY_SIZE + 12, 4);

		if (ctl & ~1U) {
			mv_errbuf(err, errlen,
				  "%s: MSI-X vector %u: vector control %#x has reserved bits set",
				  sec, i, ctl);
			return -EINVAL;
		}
	}
	if (im->nvec < 64 && (im->pba >> im->nvec)) {
		mv_errbuf(err, errlen, "%s: MSI-X pending bits %#llx beyond the %u vectors", sec,
			  (unsigned long long)im->pba, im->nvec);
		return -EINVAL;
	}
	return 0;
}

static int vp_parse(struct virtio_pci *vp, const struct mv_state_section *sec, struct vp_image *im,
		    char *err, size_t errlen)
{
	struct virtio_dev *d = vp->vdev;
	struct mv_state_reader r = sec->payload;
	char name[MV_STATE_NAME_MAX + 1];
	unsigned int i;
	int ret;

	virtio_pci_state_name(vp, name, sizeof(name));
	ret = mv_state_check(sec, name, VIRTIO_PCI_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	im->device_id = mv_sr_u32(&r);
	im->num_queues = mv_sr_u8(&r);
	im->host_features = mv_sr_u64(&r);
	im->driver_features = mv_sr_u64(&r);
	im->status = mv_sr_u8(&r);
	im->config_generation = mv_sr_u8(&r);
	im->dfselect = mv_sr_u32(&r);
	im->gfselect = mv_sr_u32(&r);
	im->queue_select = mv_sr_u16(&r);
	im->isr = mv_sr_u8(&r);
	if (!r.short_read &&
	    (im->device_id != d->ops->device_id || im->num_queues != d->ops->num_queues)) {
		mv_errbuf(err, errlen,
			  "%s: device id %u with %u queues in the saved state, %u with %u here",
			  name, im->device_id, im->num_queues, d->ops->device_id,
			  d->ops->num_queues);
		return -EINVAL;
	}
	for (i = 0; i < d->ops->num_queues; i++) {
		struct vq_image *q = &im->q[i];

		q->size = mv_sr_u16(&r);
		q->enabled = mv_sr_u8(&r);
		q->broken = mv_sr_u8(&r);
		q->desc = mv_sr_u64(&r);
		q->avail = mv_sr_u64(&r);
		q->used = mv_sr_u64(&r);
		q->last_avail_idx = mv_sr_u16(&r);
		q->used_idx = mv_sr_u16(&r);
		q->notify_off = mv_sr_u16(&r);
	}
	im->config_vec = VIRTIO_PCI_NO_VECTOR;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		im->q_vec[i] = VIRTIO_PCI_NO_VECTOR;
	im->nvec = vp->msix.nvec;
	if (sec->version >= 2) {
		/* Version 1 (no MSI-X) leaves the table as reset: masked, nothing pending. */
		im->config_vec = mv_sr_u16(&r);
		for (i = 0; i < d->ops->num_queues; i++)
			im->q_vec[i] = mv_sr_u16(&r);
		im->nvec = mv_sr_u8(&r);
		if (!r.short_read && im->nvec != vp->msix.nvec) {
			mv_errbuf(err, errlen, "%s: %u MSI-X vectors in the saved state, %u here",
				  name, im->nvec, vp->msix.nvec);
			return -EINVAL;
		}
		mv_sr_bytes(&r, im->table, im->nvec * MSIX_ENTRY_SIZE);
		im->pba = mv_sr_u64(&r);
	}
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	ret = vp_check_msix(name, d->ops->num_queues, im, err, errlen);
	if (ret)
		return ret;
	if (im->host_features != d->host_features) {
		mv_errbuf(err, errlen,
			  "%s: host_features %#llx in the saved state, %#llx here (device options "
			  "differ)",
			  name, (unsigned long long)im->host_features,
			  (unsigned long long)d->host_features);
		return -EINVAL;
	}
	if (im->status & ~VIRTIO_STATUS_KNOWN) {
		mv_errbuf(err, errlen, "%s: status %#x has reserved bits set", name, im->status);
		return -EINVAL;
	}
	if ((im->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((im->driver_features & ~im->host_features) ||
	     !(im->driver_features >> VIRTIO_F_VERSION_1 & 1))) {
		mv_errbuf(err, errlen,
			  "%s: driver_features %#llx accepted (FEATURES_OK) but not offered", name,
			  (unsigned long long)im->driver_features);
		return -EINVAL;
	}
	if (im->isr & ~(VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG)) {
		mv_errbuf(err, errlen, "%s: isr %#x has reserved bits set", name, im->isr);
		return -EINVAL;
	}
	for (i = 0; i < d->ops->num_queues; i++) {
		ret = vp_check_queue(d, name, i, &im->q[i], err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int virtio_pci_load(struct virtio_pci *vp, const struct mv_state_section *sec, char *err,
		    size_t errlen)
{
	struct virtio_dev *d = vp->vdev;
	struct vp_image im;
	unsigned int i;
	int ret;

	memset(&im, 0, sizeof(im));
	pthread_mutex_lock(&d->lock);
	ret = vp_parse(vp, sec, &im, err, errlen);
	if (ret)
		goto out;
	d->driver_features = im.driver_features;
	d->status = im.status;
	d->config_generation = im.config_generation;
	vp->dfselect = im.dfselect;
	vp->gfselect = im.gfselect;
	vp->queue_select = im.queue_select;
	vp->isr = im.isr;
	vp->config_vec = im.config_vec;
	memcpy(vp->q_vec, im.q_vec, sizeof(vp->q_vec));
	if (sec->version >= 2) {
		memcpy(vp->msix.table, im.table, sizeof(vp->msix.table));
		vp->msix.pba = im.pba;
	} else {
		msix_reset(&vp->msix);
	}
	msix_loaded(&vp->msix);
	for (i = 0; i < d->ops->num_queues; i++) {
		struct virtq *q = &d->vqs[i];

		q->size = im.q[i].size;
		q->enabled = im.q[i].enabled;
		q->broken = im.q[i].broken;
		q->desc = im.q[i].desc;
		q->avail = im.q[i].avail;
		q->used = im.q[i].used;
		q->last_avail_idx = im.q[i].last_avail_idx;
		q->used_idx = im.q[i].used_idx;
		/*
		 * The saved device may have been held (paused, or a live
		 * snapshot's virtio-mem) with a notify deferred, which the
		 * driver will not send again: each enabled queue is served once
		 * when nothing holds the device (a spurious notify finds nothing).
		 */
		if (q->enabled)
			d->deferred |= 1U << i;
	}
	/* A pending interrupt stays pending: the line as the ISR says (INTx only). */
	if (msix_enabled(&vp->msix)) {
		/* Sent by MSI-X already, or pending in the PBA. */
	} else if (vp->use_irqfd) {
		uint64_t one = 1;

		if (vp->isr && write(vp->irqfd, &one, sizeof(one)) != sizeof(one))
			mv_warn("virtio-pci: %s: irqfd write failed", vp->pci.name);
	} else {
		pci_dev_set_irq(&vp->pci, vp->isr != 0);
	}
	virtio_dev_set_paused(d, d->paused); /* hands the queues over unless held */
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int virtio_pci_find_load(struct virtio_pci *vp, const void *p, size_t len, char *err, size_t errlen)
{
	char name[MV_STATE_NAME_MAX + 1];
	struct mv_state_section sec;
	int ret;

	virtio_pci_state_name(vp, name, sizeof(name));
	ret = mv_state_find(p, len, name, &sec, err, errlen);
	return ret ? ret : virtio_pci_load(vp, &sec, err, errlen);
}
