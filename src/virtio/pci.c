#include "virtio/pci.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define VIRTIO_PCI_VENDOR    0x1AF4
#define VIRTIO_PCI_DEV_BASE  0x1040
#define VIRTIO_PCI_SUBSYS_ID 0x0040 /* >= 0x40: modern-only (OVMF checks) */

#define PCI_CAP_ID_VNDR	      0x09
#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR    3
#define VIRTIO_PCI_CAP_DEVICE 4
#define VIRTIO_PCI_CAP_PCI    5

static uint32_t virtio_pci_class(uint32_t device_id)
{
	/* As QEMU's virtio-*-pci: rng is "unclassified, other", the rest "other". */
	return device_id == 4 ? 0x00FF00 : 0xFF0000;
}

static struct virtq *virtio_pci_selected(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->vdev;

	return vp->queue_select < d->ops->num_queues ? &d->vqs[vp->queue_select] : NULL;
}

/* Interrupts ----------------------------------------------------------- */

static void virtio_pci_raise(struct virtio_pci *vp, uint8_t bit, uint16_t vector)
{
	uint64_t one = 1;

	vp->isr |= bit;
	if (msix_enabled(&vp->msix)) {
		/* NO_VECTOR: the driver asked for no interrupt. */
		if (vector != VIRTIO_PCI_NO_VECTOR)
			msix_notify(&vp->msix, vector);
		return;
	}
	if (vp->use_irqfd) {
		if (write(vp->irqfd, &one, sizeof(one)) != sizeof(one))
			mv_warn("virtio-pci: %s: irqfd write failed", vp->pci.name);
	} else {
		pci_dev_set_irq(&vp->pci, 1);
	}
}

static void virtio_pci_notify_used(struct virtio_transport *t, unsigned int q)
{
	struct virtio_pci *vp = container_of(t, struct virtio_pci, transport);

	virtio_pci_raise(vp, VIRTIO_PCI_ISR_QUEUE,
			 q < VIRTIO_MAX_QUEUES ? vp->q_vec[q] : VIRTIO_PCI_NO_VECTOR);
}

static void virtio_pci_notify_config(struct virtio_transport *t)
{
	struct virtio_pci *vp = container_of(t, struct virtio_pci, transport);

	virtio_pci_raise(vp, VIRTIO_PCI_ISR_CONFIG, vp->config_vec);
}

/* Any thread: the loop serves queue q on its next round. */
static void virtio_pci_signal(struct virtio_pci *vp, unsigned int q)
{
	uint64_t one = 1;

	if (write(vp->notify[q].w.fd, &one, sizeof(one)) != sizeof(one))
		mv_warn("virtio-pci: %s: queue %u: eventfd write failed", vp->pci.name, q);
}

static void virtio_pci_kick_later(struct virtio_transport *t, unsigned int q)
{
	struct virtio_pci *vp = container_of(t, struct virtio_pci, transport);

	if (q < VIRTIO_MAX_QUEUES && vp->notify[q].w.fd >= 0)
		virtio_pci_signal(vp, q);
}

static const struct virtio_transport_ops virtio_pci_transport_ops = {
    .notify_used = virtio_pci_notify_used,
    .notify_config = virtio_pci_notify_config,
    .kick_later = virtio_pci_kick_later,
};

/* Guest EOI on an irqfd line: KVM deasserted it; assert again if still pending. */
static void virtio_pci_resample(struct loop_watch *w, uint32_t events)
{
	struct virtio_pci *vp = container_of(w, struct virtio_pci, resample_w);
	uint64_t cnt, one = 1;

	if (read(w->fd, &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&vp->vdev->lock);
	if (vp->isr && !msix_enabled(&vp->msix) &&
	    write(vp->irqfd, &one, sizeof(one)) != sizeof(one))
		mv_warn("virtio-pci: %s: irqfd write failed", vp->pci.name);
	pthread_mutex_unlock(&vp->vdev->lock);
}

/* Common config ------------------------------------------------------- */

static void virtio_pci_common_image(struct virtio_pci *vp, uint8_t img[VIRTIO_PCI_COMMON_LEN])
{
	struct virtio_dev *d = vp->vdev;
	struct virtq *q = virtio_pci_selected(vp);

	memset(img, 0, VIRTIO_PCI_COMMON_LEN);
	le_put(img + VIRTIO_PCI_DFSELECT, vp->dfselect, 4);
	if (vp->dfselect < 2)
		le_put(img + VIRTIO_PCI_DF, d->host_features >> (32 * vp->dfselect), 4);
	le_put(img + VIRTIO_PCI_GFSELECT, vp->gfselect, 4);
	if (vp->gfselect < 2)
		le_put(img + VIRTIO_PCI_GF, d->driver_features >> (32 * vp->gfselect), 4);
	le_put(img + VIRTIO_PCI_MSIX_CONFIG, vp->config_vec, 2);
	le_put(img + VIRTIO_PCI_NUM_QUEUES, d->ops->num_queues, 2);
	img[VIRTIO_PCI_STATUS] = d->status;
	img[VIRTIO_PCI_CFG_GEN] = d->config_generation;
	le_put(img + VIRTIO_PCI_Q_SELECT, vp->queue_select, 2);
	le_put(img + VIRTIO_PCI_Q_MSIX, VIRTIO_PCI_NO_VECTOR, 2);
	if (!q)
		return; /* size 0: no such queue */
	le_put(img + VIRTIO_PCI_Q_MSIX, vp->q_vec[vp->queue_select], 2);
	le_put(img + VIRTIO_PCI_Q_SIZE, q->size, 2);
	le_put(img + VIRTIO_PCI_Q_ENABLE, q->enabled, 2);
	le_put(img + VIRTIO_PCI_Q_NOTIFY_OFF, vp->queue_select, 2);
	le_put(img + VIRTIO_PCI_Q_DESC, q->desc, 8);
	le_put(img + VIRTIO_PCI_Q_DRIVER, q->avail, 8);
	le_put(img + VIRTIO_PCI_Q_DEVICE, q->used, 8);
}

/* A 64-bit queue address written whole or as two 32-bit halves. */
static void virtio_pci_set_addr(uint64_t *field, uint64_t rel, uint64_t val, uint32_t len)
{
	if (rel == 0 && len == 8)
		*field = val;
	else if (rel == 0 && len == 4)
		*field = (*field & ~0xFFFFFFFFULL) | (uint32_t)val;
	else if (rel == 4 && len == 4)
		*field = (*field & 0xFFFFFFFFULL) | val << 32;
}

static void virtio_pci_reset_transport(struct virtio_pci *vp)
{
	unsigned int i;

	vp->config_vec = VIRTIO_PCI_NO_VECTOR;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vp->q_vec[i] = VIRTIO_PCI_NO_VECTOR;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	vp->isr = 0;
	if (!vp->use_irqfd)
		pci_dev_set_irq(&vp->pci, 0);
}

static void virtio_pci_common_write(struct virtio_pci *vp, uint64_t off, uint64_t val, uint32_t len)
{
	struct virtio_dev *d = vp->vdev;
	struct virtq *q = virtio_pci_selected(vp);

	/* Each field is written with its natural width (4.1.3.1); others are dropped. */
	switch (off) {
	case VIRTIO_PCI_DFSELECT:
		if (len == 4)
			vp->dfselect = val;
		return;
	case VIRTIO_PCI_GFSELECT:
		if (len == 4)
			vp->gfselect = val;
		return;
	case VIRTIO_PCI_GF:
		/* Features are fixed once FEATURES_OK was accepted. */
		if (len != 4 || vp->gfselect >= 2 || (d->status & VIRTIO_STATUS_FEATURES_OK))
			return;
		d->driver_features &= ~(0xFFFFFFFFULL << (32 * vp->gfselect));
		d->driver_features |= (val & 0xFFFFFFFFULL) << (32 * vp->gfselect);
		return;
	case VIRTIO_PCI_STATUS:
		if (len != 1)
			return;
		virtio_dev_set_status(d, val);
		if (!val)
			virtio_pci_reset_transport(vp);
		return;
	case VIRTIO_PCI_Q_SELECT:
		if (len == 2)
			vp->queue_select = val;
		return;
	case VIRTIO_PCI_MSIX_CONFIG:
		/* A vector the table does not have reads back as NO_VECTOR. */
		if (len == 2)
			vp->config_vec = val < vp->msix.nvec ? val : VIRTIO_PCI_NO_VECTOR;
		return;
	case VIRTIO_PCI_Q_MSIX:
		if (len == 2 && q)
			vp->q_vec[vp->queue_select] =
			    val < vp->msix.nvec ? val : VIRTIO_PCI_NO_VECTOR;
		return;
	case VIRTIO_PCI_Q_SIZE:
		if (len == 2 && q && !q->enabled)
			q->size = val; /* checked by virtq_enable */
		return;
	case VIRTIO_PCI_Q_ENABLE:
		/* Disabling needs VIRTIO_F_RING_RESET, which is not offered. */
		if (len != 2 || val != 1 || !q || q->enabled)
			return;
		if (virtq_enable(q))
			mv_warn("virtio-pci: %s: queue %u: size %u or ring addresses invalid",
				vp->pci.name, vp->queue_select, q->size);
		return;
	default:
		break;
	}
	if (!q || q->enabled)
		return;
	if (off >= VIRTIO_PCI_Q_DESC && off < VIRTIO_PCI_Q_DESC + 8)
		virtio_pci_set_addr(&q->desc, off - VIRTIO_PCI_Q_DESC, val, len);
	else if (off >= VIRTIO_PCI_Q_DRIVER && off < VIRTIO_PCI_Q_DRIVER + 8)
		virtio_pci_set_addr(&q->avail, off - VIRTIO_PCI_Q_DRIVER, val, len);
	else if (off >= VIRTIO_PCI_Q_DEVICE && off < VIRTIO_PCI_Q_DEVICE + 8)
		virtio_pci_set_addr(&q->used, off - VIRTIO_PCI_Q_DEVICE, val, len);
}

/* BAR0 ----------------------------------------------------------------- */

static bool virtio_pci_in(uint64_t off, uint32_t len, uint64_t base, uint64_t size)
{
	return off >= base && off - base < size && len <= size - (off - base);
}

static void virtio_pci_bar_read(struct pci_dev *pd, unsigned int bar, uint64_t off, void *data,
				uint32_t len)
{
	struct virtio_pci *vp = container_of(pd, struct virtio_pci, pci);
	struct virtio_dev *d = vp->vdev;
	uint8_t img[VIRTIO_PCI_COMMON_LEN];

	memset(data, 0, len);
	if (bar == VIRTIO_PCI_MSIX_BAR && len <= 8) {
		pthread_mutex_lock(&d->lock);
		msix_bar_read(&vp->msix, off, data, len);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (bar != 0 || len == 0 || len > 8)
		return;
	pthread_mutex_lock(&d->lock);
	if (virtio_pci_in(off, len, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN)) {
		virtio_pci_common_image(vp, img);
		memcpy(data, img + (off - VIRTIO_PCI_COMMON_OFF), len);
	} else if (off == VIRTIO_PCI_ISR_OFF) {
		/* Read-to-clear; with a level line the read is also the acknowledgement. */
		*(uint8_t *)data = vp->isr;
		vp->isr = 0;
		if (!vp->use_irqfd)
			pci_dev_set_irq(&vp->pci, 0);
	} else if (virtio_pci_in(off, len, VIRTIO_PCI_DEVICE_OFF, d->ops->config_size)) {
		d->ops->config_read(d, off - VIRTIO_PCI_DEVICE_OFF, data, len);
	}
	pthread_mutex_unlock(&d->lock);
}

static void virtio_pci_bar_write(struct pci_dev *pd, unsigned int bar, uint64_t off,
				 const void *data, uint32_t len)
{
	struct virtio_pci *vp = container_of(pd, struct virtio_pci, pci);
	struct virtio_dev *d = vp->vdev;
	uint64_t val = 0;

	if (bar == VIRTIO_PCI_MSIX_BAR && len <= 8) {
		pthread_mutex_lock(&d->lock);
		msix_bar_write(&vp->msix, off, data, len);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (bar != 0 || len == 0 || len > 8)
		return;
	if (virtio_pci_in(off, len, VIRTIO_PCI_NOTIFY_OFF,
			  VIRTIO_PCI_NOTIFY_MULT * d->ops->num_queues)) {
		/* The address names the queue; the value written is not trusted. */
		unsigned int q = (off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT;

		/* A vCPU only forwards; the loop serves. The fds are fixed after init. */
		if (vp->notify[q].w.fd >= 0) {
			virtio_pci_signal(vp, q);
			return;
		}
		pthread_mutex_lock(&d->lock);
		virtio_dev_queue_notify(d, q);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	memcpy(&val, data, len);
	val = le64toh(val);
	pthread_mutex_lock(&d->lock);
	if (virtio_pci_in(off, len, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN)) {
		virtio_pci_common_write(vp, off - VIRTIO_PCI_COMMON_OFF, val, len);
	} else if (virtio_pci_in(off, len, VIRTIO_PCI_DEVICE_OFF, d->ops->config_size)) {
		if (d->ops->config_write)
			d->ops->config_write(d, off - VIRTIO_PCI_DEVICE_OFF, data, len);
	}
	pthread_mutex_unlock(&d->lock);
}

/* Notifications -------------------------------------------------------- */

static void virtio_pci_ioeventfd(struct virtio_pci *vp, struct virtio_pci_notify *n,
				 uint64_t bar_addr, bool assign)
{
	struct pci_host *h = vp->pci.host;

	if (n->w.fd < 0 || !h->ops->ioeventfd)
		return;
	if (!assign) {
		if (n->registered)
			h->ops->ioeventfd(h, n->addr, n->len, n->w.fd, false);
		n->registered = false;
		return;
	}
	n->addr = bar_addr + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * n->q;
	/*
	 * Length 0 matches a write of any width at the address
	 * (KVM_CAP_IOEVENTFD_ANY_LENGTH); older hosts take the driver's 2 bytes
	 * only. Whatever no ioeventfd catches exits to the MMIO path, which
	 * signals the same eventfd.
	 */
	n->len = 0;
	n->registered = h->ops->ioeventfd(h, n->addr, 0, n->w.fd, true) == 0;
	if (!n->registered) {
		n->len = 2;
		n->registered = h->ops->ioeventfd(h, n->addr, 2, n->w.fd, true) == 0;
	}
}

/*
 * BAR0 decoded at addr, or not at all: the notify ioeventfds follow it, so
 * none is left catching writes at an address the device no longer answers.
 */
static void virtio_pci_bar_decode(struct pci_dev *pd, unsigned int bar, bool on, uint64_t addr)
{
	struct virtio_pci *vp = container_of(pd, struct virtio_pci, pci);
	unsigned int i;

	if (bar != 0)
		return;
	pthread_mutex_lock(&vp->vdev->lock);
	for (i = 0; i < vp->vdev->ops->num_queues; i++) {
		virtio_pci_ioeventfd(vp, &vp->notify[i], 0, false);
		if (on)
			virtio_pci_ioeventfd(vp, &vp->notify[i], addr, true);
	}
	pthread_mutex_unlock(&vp->vdev->lock);
}

/* Bus master gates the device's access to guest memory (virtio_dev_set_dma). */
static void virtio_pci_bus_master(struct pci_dev *pd, bool on)
{
	struct virtio_pci *vp = container_of(pd, struct virtio_pci, pci);

	pthread_mutex_lock(&vp->vdev->lock);
	virtio_dev_set_dma(vp->vdev, on);
	pthread_mutex_unlock(&vp->vdev->lock);
}

static void virtio_pci_kick(struct loop_watch *w, uint32_t events)
{
	struct virtio_pci_notify *n = container_of(w, struct virtio_pci_notify, w);
	uint64_t cnt;

	if (read(w->fd, &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&n->vp->vdev->lock);
	virtio_dev_queue_notify(n->vp->vdev, n->q);
	pthread_mutex_unlock(&n->vp->vdev->lock);
}

/* PCI_CFG window (4.1.4.9) ------------------------------------------- */

#define VIRTIO_PCI_CFG_BAR  4  /* cap.bar */
#define VIRTIO_PCI_CFG_OFF  8  /* cap.offset */
#define VIRTIO_PCI_CFG_LEN  12 /* cap.length */
#define VIRTIO_PCI_CFG_DATA 16 /* pci_cfg_data[4] */

/*
 * The window the driver set up, if the device can serve it: BAR0 (the only
 * BAR), 1, 2 or 4 bytes, aligned to its length (the driver MUST align) and
 * inside the BAR. Anything else reaches nothing.
 */
static bool virtio_pci_cfg_window(struct virtio_pci *vp, uint32_t *off, uint32_t *len)
{
	const uint8_t *c = vp->pci.cfg + vp->cfg_cap;

	*off = le_get(c + VIRTIO_PCI_CFG_OFF, 4);
	*len = le_get(c + VIRTIO_PCI_CFG_LEN, 4);
	return c[VIRTIO_PCI_CFG_BAR] == 0 && (*len == 1 || *len == 2 || *len == 4) &&
	       *off % *len == 0 && (uint64_t)*off + *len <= VIRTIO_PCI_BAR_SIZE;
}

/* Does the config access [off, off+len) touch pci_cfg_data? */
static bool virtio_pci_cfg_hits_data(struct virtio_pci *vp, unsigned int off, unsigned int len)
{
	unsigned int data = vp->cfg_cap + VIRTIO_PCI_CFG_DATA;

	return vp->cfg_cap && off < data + 4 && data < off + len;
}

/* A read of pci_cfg_data: perform the BAR read and present its bytes there. */
static void virtio_pci_cfg_read(struct pci_dev *pd, unsigned int off, unsigned int len)
{
	struct virtio_pci *vp = container_of(pd, struct virtio_pci, pci);
	uint32_t woff, wlen;
	uint8_t b[4];

	if (!virtio_pci_cfg_hits_data(vp, off, len) || !virtio_pci_cfg_window(vp, &woff, &wlen))
		return;
	virtio_pci_bar_read(pd, 0, woff, b, wlen);
	memcpy(pd->cfg + vp->cfg_cap + VIRTIO_PCI_CFG_DATA, b, wlen);
}

/*
 * After a config write: MSI-X enable or function mask may have changed (a
 * vector pending behind them is sent); a write of pci_cfg_data performs
 * the BAR write with its first cap.length bytes.
 */
static void virtio_pci_cfg_write(struct pci_dev *pd, unsigned int off, unsigned int len)
{
	struct virtio_pci *vp = container_of(pd, struct virtio_pci, pci);
	uint32_t woff, wlen;
	uint8_t b[4];

	if (off < vp->msix.cap + 4u && vp->msix.cap < off + len) {
		pthread_mutex_lock(&vp->vdev->lock);
		msix_cfg_written(&vp->msix);
		pthread_mutex_unlock(&vp->vdev->lock);
	}
	if (!virtio_pci_cfg_hits_data(vp, off, len) || !virtio_pci_cfg_window(vp, &woff, &wlen))
		return;
	memcpy(b, pd->cfg + vp->cfg_cap + VIRTIO_PCI_CFG_DATA, wlen);
	virtio_pci_bar_write(pd, 0, woff, b, wlen);
}

static const struct pci_dev_ops virtio_pci_ops = {
    .bar_read = virtio_pci_bar_read,
    .bar_write = virtio_pci_bar_write,
    .bar_decode = virtio_pci_bar_decode,
    .bus_master = virtio_pci_bus_master,
    .cfg_read = virtio_pci_cfg_read,
    .cfg_write = virtio_pci_cfg_write,
};

/* Setup ------------------------------------------------------------------ */

static int virtio_pci_add_cap(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len,
			      unsigned int extra)
{
	uint8_t cap[20] = {PCI_CAP_ID_VNDR, 0, 16 + extra, type, 0 /* BAR0 */};
	int at;

	le_put(cap + 8, off, 4);
	le_put(cap + 12, len, 4);
	if (type == VIRTIO_PCI_CAP_NOTIFY)
		le_put(cap + 16, VIRTIO_PCI_NOTIFY_MULT, 4);
	at = pci_dev_add_cap(&vp->pci, cap, 16 + extra);
	if (at < 0)
		return at;
	if (type == VIRTIO_PCI_CAP_PCI) {
		/* bar, offset, length and the data window are the driver's to write. */
		for (unsigned int i = 4; i < 20; i++)
			vp->pci.wmask[at + i] = i == 5 || i == 6 || i == 7 ? 0 : 0xFF;
		vp->cfg_cap = at;
	}
	return 0;
}

static int virtio_pci_setup_fds(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->vdev;
	unsigned int i;
	int ret;

	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		vp->notify[i].w.fd = -1;
		vp->notify[i].vp = vp;
		vp->notify[i].q = i;
	}
	vp->irqfd = -1;
	vp->resample_w.fd = -1;
	if (!vp->loop)
		return 0;
	/* Even without a host ioeventfd: the MMIO path forwards to these. */
	for (i = 0; i < d->ops->num_queues; i++) {
		struct virtio_pci_notify *n = &vp->notify[i];

		n->w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		n->w.cb = virtio_pci_kick;
		if (n->w.fd < 0)
			return -errno;
		ret = loop_add(vp->loop, &n->w, EPOLLIN);
		if (ret) {
			close(n->w.fd);
			n->w.fd = -1;
			return ret;
		}
	}
	return 0;
}

/* After pci_host_add, once the GSI is known. Without irqfd, set_irq serves. */
static void virtio_pci_setup_irqfd(struct virtio_pci *vp)
{
	struct pci_host *h = vp->pci.host;

	if (!vp->loop || !h->ops->irqfd)
		return;
	vp->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vp->resample_w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vp->resample_w.cb = virtio_pci_resample;
	if (vp->irqfd < 0 || vp->resample_w.fd < 0)
		goto fail;
	if (h->ops->irqfd(h, vp->pci.gsi, vp->irqfd, vp->resample_w.fd, true))
		goto fail;
	if (loop_add(vp->loop, &vp->resample_w, EPOLLIN)) {
		h->ops->irqfd(h, vp->pci.gsi, vp->irqfd, vp->resample_w.fd, false);
		goto fail;
	}
	vp->use_irqfd = true;
	return;
fail:
	if (vp->irqfd >= 0)
		close(vp->irqfd);
	if (vp->resample_w.fd >= 0)
		close(vp->resample_w.fd);
	vp->irqfd = vp->resample_w.fd = -1;
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vdev, struct pci_host *host,
		    struct loop *loop, const char *name)
{
	const struct virtio_dev_ops *ops = vdev->ops;
	int ret;

	if (ops->config_size > VIRTIO_PCI_DEVICE_MAXLEN)
		return -EINVAL;
	memset(vp, 0, sizeof(*vp));
	vp->vdev = vdev;
	vp->loop = loop;
	vp->transport.ops = &virtio_pci_transport_ops;
	pci_dev_init(&vp->pci, &virtio_pci_ops, name, VIRTIO_PCI_VENDOR,
		     VIRTIO_PCI_DEV_BASE + ops->device_id, virtio_pci_class(ops->device_id), 1,
		     VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS_ID);
	vp->pci.host = host; /* for setup_fds; pci_host_add sets it again */
	ret = pci_dev_set_bar(&vp->pci, 0, VIRTIO_PCI_BAR_SIZE);
	if (!ret)
		ret = pci_dev_set_bar(&vp->pci, VIRTIO_PCI_MSIX_BAR, MSIX_BAR_SIZE);
	if (!ret)
		ret = virtio_pci_add_cap(vp, VIRTIO_PCI_CAP_COMMON, VIRTIO_PCI_COMMON_OFF,
					 VIRTIO_PCI_COMMON_LEN, 0);
	if (!ret)
		ret = virtio_pci_add_cap(vp, VIRTIO_PCI_CAP_NOTIFY, VIRTIO_PCI_NOTIFY_OFF,
					 VIRTIO_PCI_NOTIFY_MULT * MV_MAX(ops->num_queues, 1), 4);
	if (!ret)
		ret = virtio_pci_add_cap(vp, VIRTIO_PCI_CAP_ISR, VIRTIO_PCI_ISR_OFF,
					 VIRTIO_PCI_ISR_LEN, 0);
	if (!ret && ops->config_size)
		ret = virtio_pci_add_cap(vp, VIRTIO_PCI_CAP_DEVICE, VIRTIO_PCI_DEVICE_OFF,
					 ops->config_size, 0);
	if (!ret)
		ret = virtio_pci_add_cap(vp, VIRTIO_PCI_CAP_PCI, 0, 0, 4);
	if (!ret)
		ret = msix_init(&vp->msix, &vp->pci, ops->num_queues + 1, VIRTIO_PCI_MSIX_BAR,
				loop != NULL);
	if (ret)
		return ret;
	vp->config_vec = VIRTIO_PCI_NO_VECTOR;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vp->q_vec[i] = VIRTIO_PCI_NO_VECTOR;
	ret = virtio_pci_setup_fds(vp);
	if (ret)
		goto err_fds;
	/* Bus master starts off (firmware state): no DMA until the driver sets it. */
	pthread_mutex_lock(&vdev->lock);
	virtio_dev_set_dma(vdev, false);
	pthread_mutex_unlock(&vdev->lock);
	/* Places BAR0, which registers the ioeventfds through bar_decode. */
	ret = pci_host_add(host, &vp->pci);
	if (ret)
		goto err_fds;
	virtio_pci_setup_irqfd(vp);
	pthread_mutex_lock(&vdev->lock);
	vdev->transport = &vp->transport;
	pthread_mutex_unlock(&vdev->lock);
	return 0;
err_fds:
	virtio_pci_destroy(vp);
	return ret;
}

void virtio_pci_reset(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->vdev->lock);
	virtio_dev_reset(vp->vdev);
	virtio_pci_reset_transport(vp);
	msix_reset(&vp->msix);
	pthread_mutex_unlock(&vp->vdev->lock);
}

void virtio_pci_set_paused(struct virtio_pci *vp, bool paused)
{
	pthread_mutex_lock(&vp->vdev->lock);
	virtio_dev_set_paused(vp->vdev, paused);
	pthread_mutex_unlock(&vp->vdev->lock);
}

int virtio_pci_take_notify(struct virtio_pci *vp, unsigned int q)
{
	struct virtio_pci_notify *n;

	if (q >= vp->vdev->ops->num_queues || vp->notify[q].w.fd < 0)
		return -1;
	n = &vp->notify[q];
	if (!n->taken && !loop_del(vp->loop, &n->w))
		n->taken = true;
	return n->taken ? n->w.fd : -1;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	struct pci_host *h = vp->pci.host;
	unsigned int i;

	pthread_mutex_lock(&vp->vdev->lock);
	vp->vdev->transport = NULL;
	pthread_mutex_unlock(&vp->vdev->lock);
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct virtio_pci_notify *n = &vp->notify[i];

		if (n->w.fd < 0)
			continue;
		virtio_pci_ioeventfd(vp, n, 0, false);
		if (!n->taken)
			loop_del(vp->loop, &n->w);
		close(n->w.fd);
		n->w.fd = -1;
	}
	msix_destroy(&vp->msix);
	if (vp->use_irqfd) {
		h->ops->irqfd(h, vp->pci.gsi, vp->irqfd, vp->resample_w.fd, false);
		loop_del(vp->loop, &vp->resample_w);
		close(vp->irqfd);
		close(vp->resample_w.fd);
		vp->use_irqfd = false;
	}
}
