/*
 * virtio/pci: the virtio-pci modern transport (VIRTIO 1.x 4.1) for one
 * struct virtio_dev. Vendor 0x1AF4, device 0x1040 + id, revision 1; BAR0 is
 * a 16 KiB 32-bit MMIO BAR holding the common config, ISR, device config and
 * notify structures, each described by a vendor capability, plus the
 * PCI_CFG capability the spec requires (4.1.4.9): an access to its
 * pci_cfg_data is forwarded to the BAR handler, exactly as an MMIO access
 * of cap.length bytes at cap.offset would be (notify included, and whether
 * memory decode is on or not), once cap.bar is 0, cap.length is 1, 2 or 4,
 * cap.offset is a multiple of it and the access lies inside BAR0; otherwise
 * the data bytes are only stored.
 *
 * MSI-X (devices/msix.h) in BAR1: one vector per queue plus the config
 * vector. The driver maps each queue and the config change to a vector
 * (or to none) through msix_config and queue_msix_vector; a vector number
 * beyond the table reads back as NO_VECTOR, the spec's "mapping failed".
 * While MSI-X is enabled the INTx line is never raised (the ISR still
 * records the cause); otherwise interrupts are INTx, level-triggered, ISR
 * read-to-clear.
 *
 * Notifications are served on the event-loop thread only. Each queue has an
 * eventfd watched by the loop. It is registered with the host's ioeventfd
 * at the queue's notify address for writes of any width (length 0), or of
 * 2 bytes (the driver's width) where the host refuses that. A notify write
 * that reaches the MMIO path anyway (no ioeventfd, another width, another
 * offset) runs on a vCPU thread and only signals that eventfd; the vCPU
 * never runs queue work, so vm_stop can always join it. A queue whose budget
 * ran out is signalled the same way (kick_later) and continued by the loop.
 * Without a loop (single-threaded tests) a notification is served inline.
 *
 * INTx: irqfd with a resample eventfd when the host offers it
 * (re-asserted on EOI while the ISR is non-zero), otherwise pci_dev_set_irq
 * (deasserted when the ISR read clears it).
 *
 * Every other register access, at any offset and width, takes vdev->lock
 * on the vCPU thread that made it (see virtio.h for why that is safe).
 */
#ifndef MV_VIRTIO_PCI_H
#define MV_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "virtio/virtio.h"

/* BAR0 layout. */
#define VIRTIO_PCI_BAR_SIZE	 0x4000
#define VIRTIO_PCI_COMMON_OFF	 0x0000
#define VIRTIO_PCI_COMMON_LEN	 0x0038
#define VIRTIO_PCI_ISR_OFF	 0x1000
#define VIRTIO_PCI_ISR_LEN	 0x0001
#define VIRTIO_PCI_DEVICE_OFF	 0x2000
#define VIRTIO_PCI_DEVICE_MAXLEN 0x1000
#define VIRTIO_PCI_NOTIFY_OFF	 0x3000
#define VIRTIO_PCI_NOTIFY_MULT	 4

/* Common config registers (4.1.4.3). */
#define VIRTIO_PCI_DFSELECT	0x00
#define VIRTIO_PCI_DF		0x04
#define VIRTIO_PCI_GFSELECT	0x08
#define VIRTIO_PCI_GF		0x0C
#define VIRTIO_PCI_MSIX_CONFIG	0x10
#define VIRTIO_PCI_NUM_QUEUES	0x12
#define VIRTIO_PCI_STATUS	0x14
#define VIRTIO_PCI_CFG_GEN	0x15
#define VIRTIO_PCI_Q_SELECT	0x16
#define VIRTIO_PCI_Q_SIZE	0x18
#define VIRTIO_PCI_Q_MSIX	0x1A
#define VIRTIO_PCI_Q_ENABLE	0x1C
#define VIRTIO_PCI_Q_NOTIFY_OFF 0x1E
#define VIRTIO_PCI_Q_DESC	0x20
#define VIRTIO_PCI_Q_DRIVER	0x28
#define VIRTIO_PCI_Q_DEVICE	0x30

#define VIRTIO_PCI_MSIX_BAR  1
#define VIRTIO_PCI_NO_VECTOR 0xFFFF

#define VIRTIO_PCI_ISR_QUEUE  0x1
#define VIRTIO_PCI_ISR_CONFIG 0x2

struct virtio_pci;

struct virtio_pci_notify {
	struct loop_watch w; /* w.fd is the eventfd, -1 when absent */
	struct virtio_pci *vp;
	unsigned int q;
	bool registered; /* with host->ops->ioeventfd at `addr` for `len` bytes */
	bool taken;	 /* served by another process (virtio_pci_take_notify), not the loop */
	uint64_t addr;
	uint32_t len; /* 0: any width */
};

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_transport transport;
	struct virtio_dev *vdev;
	struct loop *loop;
	struct virtio_pci_notify notify[VIRTIO_MAX_QUEUES];
	/* INTx through irqfd: irqfd asserts, resample_w.fd reports the EOI. */
	bool use_irqfd;
	int irqfd;
	struct loop_watch resample_w;
	/* Common config state the driver writes. */
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint8_t isr;
	uint8_t cfg_cap; /* config offset of the PCI_CFG capability */
	/* MSI-X: the table, and the vector of the config change and of each queue */
	struct msix msix;
	uint16_t config_vec;
	uint16_t q_vec[VIRTIO_MAX_QUEUES];
};

/*
 * Create the PCI function for vdev (already initialised by its device) and
 * place it on `host`. `loop` may be NULL in single-threaded tests: no
 * eventfds, notifications are served inline on the writer's thread and
 * interrupts go through set_irq.
 */
int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vdev, struct pci_host *host,
		    struct loop *loop, const char *name);
/* Machine reset: virtio reset of the device and the transport (ISR, line, selectors). */
void virtio_pci_reset(struct virtio_pci *vp);
/* The VM paused or resumed (virtio_dev_set_paused under the device lock). Loop thread. */
void virtio_pci_set_paused(struct virtio_pci *vp, bool paused);
/*
 * Queue q's notifications are served by someone else (a vhost-user
 * back-end): the loop stops watching its eventfd, which stays registered
 * at the notify address (and signalled by the MMIO path), and is returned
 * for the caller to hand over; vp keeps owning it. -1 without a loop.
 */
int virtio_pci_take_notify(struct virtio_pci *vp, unsigned int q);
/* Release eventfds and watches; the PCI function stays on the host's bus. */
void virtio_pci_destroy(struct virtio_pci *vp);

#endif
