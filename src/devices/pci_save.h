/*
 * pci_save: the PCI host's save/load section "pci" (version 1): the 0xCF8
 * latch, then for each function on bus 0 its slot, INTx level, the whole
 * 256-byte config space (command register, BARs, capabilities) and where
 * each BAR decodes.
 *
 * Loading refuses a machine whose functions differ: the same slots must be
 * occupied, and every config bit the guest cannot write (IDs, class,
 * capability layout, BAR sizes) must match the running one. It then
 * restores the writable bytes, the command register (through the guest's
 * write path, so the INTx mask applies), moves each BAR to its saved
 * address (devices see bar_moved, re-registering ioeventfds) and drives
 * each INTx line to its saved level.
 */
#ifndef MV_DEVICES_PCI_SAVE_H
#define MV_DEVICES_PCI_SAVE_H

#include <stddef.h>

#include "devices/pci.h"
#include "lib/state.h"

#define PCI_STATE_NAME	  "pci"
#define PCI_STATE_VERSION 1

void pci_host_save(struct pci_host *h, struct mv_state_writer *w);
/*
 * 0, or -EINVAL naming the slot and field with nothing changed. -EBUSY when
 * a BAR could not be placed at its saved address (the rest is applied).
 */
int pci_host_load(struct pci_host *h, const struct mv_state_section *sec, char *err, size_t errlen);

#endif
