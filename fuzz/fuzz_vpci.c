/*
 * fuzz_vpci: the virtio-pci registers of a virtio-mem device, any offset,
 * width and order. Each 12-byte record is one access: kind, 16-bit offset,
 * width, 64-bit value. Queue addresses are steered into guest memory half
 * of the time so that notifications reach the device too.
 * Some records write the PCI command register (decode, bus master) or
 * reach config space past the header, the PCI_CFG window among it.
 * Some reach the MSI-X table and PBA (BAR1), and config writes reach its
 * Message Control, so interrupts go by MSI-X or INTx as the records say.
 * Invariants: never crash; FEATURES_OK only with VERSION_1; an enabled queue
 * has a valid size; the INTx line is up only while the ISR is non-zero; no
 * pending bit past the table; every vector control holds only its mask bit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "fakes.h"
#include "virtio/mem.h"
#include "virtio/pci.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x10000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int nop_host(struct vmem *m, uint64_t off, uint64_t len)
{
	return 0;
}

static const struct vmem_host_ops host_ops = {.plug = nop_host, .unplug = nop_host};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t widths[] = {1, 2, 4, 8};
	static struct fake_pci fp;
	static struct vmem m;
	static struct virtio_pci vp;
	struct vmem_params p = {4 * GiB, 1 * GiB, 2 * MiB, 64 * MiB, 0, true};
	struct fake_gmem fm;
	char err[128];
	uint64_t bar;
	size_t at;

	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	fake_pci_init_msi(&fp);
	if (vmem_init(&m, &p, &host_ops, &fm.map, err, sizeof(err)) ||
	    virtio_pci_init(&vp, &m.vdev, &fp.h, NULL, "virtio-mem"))
		abort();
	bar = vp.pci.bars[0].addr;
	/* Decode and bus master on, as the driver leaves them; records may toggle them. */
	pci_cfg_write(&fp.h, vp.pci.slot, 0, 0x04, 2, 0x0006);
	for (at = 0; at + 12 <= size; at += 12) {
		const uint8_t *r = data + at;
		uint8_t kind = r[0];
		uint64_t off = r[1] | r[2] << 8, val;
		uint32_t len = widths[r[3] % 4];

		memcpy(&val, r + 4, 8);
		switch (kind % 8) {
		case 0: /* anywhere in the BAR, even straddling its end */
			off %= VIRTIO_PCI_BAR_SIZE + 8;
			break;
		case 1:
		case 2:
		case 3: /* the common config */
			off %= 0x40;
			if (off >= 0x20 && off < 0x38 && (kind & 0x10))
				val = MEM_GPA + (val % MEM_SIZE);
			break;
		case 4:
			if (kind & 0x08) {
				/* MSI-X table and PBA, through the device (any width, even past the
				 * BAR). */
				uint64_t o = off % (MSIX_BAR_SIZE + 8);

				if (kind & 0x20)
					vp.pci.ops->bar_read(&vp.pci, VIRTIO_PCI_MSIX_BAR, o, &val,
							     len);
				else
					vp.pci.ops->bar_write(&vp.pci, VIRTIO_PCI_MSIX_BAR, o, &val,
							      len);
				goto check;
			}
			off = VIRTIO_PCI_DEVICE_OFF + off % 0x40;
			break;
		case 5:
			off = VIRTIO_PCI_NOTIFY_OFF + off % 8;
			break;
		case 6:
			off = VIRTIO_PCI_ISR_OFF + off % 4;
			break;
		default:
			if (kind & 0x80) {
				/* Config space from the capabilities on: the PCI_CFG window. */
				unsigned int co = 0x40 + off % 0xC0, cl = MV_MIN(len, 4);

				if (co + cl > PCI_CFG_SIZE)
					continue;
				if (kind & 0x20)
					pci_cfg_read(&fp.h, vp.pci.slot, 0, co, cl);
				else
					pci_cfg_write(&fp.h, vp.pci.slot, 0, co, cl, val);
			} else if (kind & 0x40)
				pci_cfg_write(&fp.h, vp.pci.slot, 0, 0x04, 2, val);
			else
				vmem_set_requested(&m, val % (2 * GiB), err, sizeof(err));
			continue;
		}
		if (off + len > VIRTIO_PCI_BAR_SIZE) {
			/* Outside the BAR the bus refuses; go through the device directly. */
			uint8_t b[8] = {0};

			if (kind & 0x20)
				vp.pci.ops->bar_read(&vp.pci, 0, off, b, len);
			else
				vp.pci.ops->bar_write(&vp.pci, 0, off, &val, len);
		} else if (kind & 0x20) {
			bus_read(&fp.mmio, bar + off, &val, len);
		} else {
			bus_write(&fp.mmio, bar + off, &val, len);
		}
	check:
		if (vp.msix.pba >> vp.msix.nvec)
			abort();
		for (unsigned int v = 0; v < vp.msix.nvec; v++)
			if (le_get(vp.msix.table + 16 * v + 12, 4) & ~1U)
				abort();
		if ((m.vdev.status & VIRTIO_STATUS_FEATURES_OK) &&
		    !(m.vdev.driver_features >> VIRTIO_F_VERSION_1 & 1))
			abort();
		if (m.vdev.vqs[0].enabled &&
		    (!is_pow2(m.vdev.vqs[0].size) || m.vdev.vqs[0].size > VMEM_QUEUE_SIZE))
			abort();
		if (fp.level[vp.pci.gsi] && !vp.isr)
			abort();
	}
	virtio_pci_destroy(&vp);
	vmem_destroy(&m);
	fake_pci_free(&fp);
	fake_gmem_free(&fm);
	return 0;
}
