/*
 * pci_save: the virtio-pci transport's save/load section
 * "virtio-pci.<function name>" (version 2), which also carries the
 * transport-independent device core: device status, offered and accepted
 * features, config generation, the feature and queue selectors, the ISR,
 * and per queue its size, enabled and broken flags, the three ring
 * addresses, last_avail_idx, used idx and notify offset; then (version 2)
 * the MSI-X vector of the config change and of each queue, the vector
 * count, the vector table and the pending bits. What a device
 * keeps beyond that is in the device's own section (virtio-mem, rng).
 *
 * Loading refuses another device (id, queue count, offered features), an
 * enabled queue whose size is not a power of two <= the device's maximum
 * or whose rings are misaligned or not wholly inside guest memory (the
 * same gmem rule as every ring access, so load after the memory sections),
 * and more buffers in flight than the queue holds, a vector the table does
 * not have, another vector count, reserved bits in an entry's vector
 * control or pending bits past the table. Version 1 (before MSI-X) loads
 * with the table reset. A disabled queue's
 * registers are the driver's scratch values, checked when it enables.
 * With the ISR non-zero and MSI-X off the INTx line is raised again (irqfd
 * or set_irq); MSI-X routes are remade at each vector's next message;
 * BAR placement and ioeventfds follow from the "pci" section.
 */
#ifndef MV_VIRTIO_PCI_SAVE_H
#define MV_VIRTIO_PCI_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "virtio/pci.h"

#define VIRTIO_PCI_STATE_PREFIX	 "virtio-pci."
#define VIRTIO_PCI_STATE_VERSION 2

/* "virtio-pci.<vp->pci.name>" into buf (MV_STATE_NAME_MAX + 1 bytes). */
void virtio_pci_state_name(const struct virtio_pci *vp, char *buf, size_t len);
void virtio_pci_save(struct virtio_pci *vp, struct mv_state_writer *w);
/* 0, or -EINVAL naming the section and field with nothing changed. */
int virtio_pci_load(struct virtio_pci *vp, const struct mv_state_section *sec, char *err,
		    size_t errlen);
/* Finds the transport's section in a saved stream and loads it; 0, or -errno with err. */
int virtio_pci_find_load(struct virtio_pci *vp, const void *p, size_t len, char *err,
			 size_t errlen);

#endif
