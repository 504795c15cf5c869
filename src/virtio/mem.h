/*
 * mem: virtio-mem (device id 24), one hotplug region of guest physical
 * memory handed to the guest block by block. The protocol decisions are
 * the pure functions of virtio/mem_state; this file parses requests from
 * the queue, runs the host side effect through the VMM's vmem_host_ops and
 * commits the bitmap only when the host succeeded (a host failure is
 * answered BUSY, and the guest retries later).
 *
 * Policy as QEMU's: usable_region_size = min(region, align_up(requested +
 * 256 MiB, block)), grown only, shrunk by UNPLUG_ALL and system reset; a
 * virtio reset keeps every block as it is; a system reset unplugs all.
 * A malformed buffer or an unknown request type is a device error
 * (DEVICE_NEEDS_RESET, the queue stops), never a crash.
 */
#ifndef MV_VIRTIO_MEM_H
#define MV_VIRTIO_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/mem_state.h"
#include "virtio/virtio.h"

#define VMEM_F_ACPI_PXM		      0
#define VMEM_F_UNPLUGGED_INACCESSIBLE 1

#define VMEM_QUEUE_SIZE	 128
#define VMEM_CONFIG_SIZE 0x38

struct vmem;

/*
 * What the VMM does to guest memory. Offsets are from the region's start;
 * both calls are all-or-nothing (0, or -errno with nothing changed) and run
 * under the device lock on the event-loop thread (requests are served
 * there; vmem_system_reset runs on its caller's thread).
 */
struct vmem_host_ops {
	/* Populate (prealloc) and map [off, off+len): memslot, gmem_add. */
	int (*plug)(struct vmem *m, uint64_t off, uint64_t len);
	/* Unmap (gmem_remove, memslot) and discard [off, off+len). */
	int (*unplug)(struct vmem *m, uint64_t off, uint64_t len);
	/*
	 * Optional: the plugged size changed and the change is committed (the
	 * block bitmap and the config the driver reads already show it); this
	 * is where the VMM reports it. Device lock held: do not call back into
	 * the device (vmem_get_info would deadlock); note it and act later.
	 */
	void (*size_changed)(struct vmem *m);
	/*
	 * Optional: a request just brought the plugged size to the requested
	 * size, a quiet point to tidy the host's mappings (merge slots).
	 * Device lock held, as for plug and unplug.
	 */
	void (*settled)(struct vmem *m);
};

struct vmem_params {
	uint64_t addr;	      /* guest physical start, multiple of block_size */
	uint64_t region_size; /* multiple of block_size, > 0 */
	uint64_t block_size;  /* power of two >= 1 MiB */
	uint64_t requested_size;
	int node_id; /* ACPI proximity domain (offers ACPI_PXM), -1: none */
	bool unplugged_inaccessible;
};

/* A consistent snapshot for the control API. */
struct vmem_info {
	uint64_t addr, region_size, block_size;
	int node_id;
	uint64_t requested_size, plugged_size, usable_region_size;
	bool driver_ready; /* DRIVER_OK is set now */
	uint64_t requests;
	uint64_t plugged_bytes;	   /* total of ACKed PLUGs */
	uint64_t discarded_bytes;  /* total unplugged (UNPLUG, UNPLUG_ALL, reset) */
	uint64_t discard_failures; /* host unplug calls that failed */
	uint64_t plug_refused;	   /* PLUGs answered NACK or BUSY */
	uint64_t device_errors;	   /* malformed buffers: the device needs a reset */
	uint64_t last_request_ms;  /* loop_now_ms() of the last request, 0: none */
};

struct vmem {
	struct virtio_dev vdev;
	const struct vmem_host_ops *hops;
	int node_id;
	struct vmem_state st;
	struct vmem_info stats; /* counters only; sizes come from st */
};

/*
 * Validate `p` (err gets one line naming the field) and create the device
 * with nothing plugged. Attach a transport afterwards (virtio_pci_init with
 * &m->vdev). The VMM reaches its own state from `m` with container_of.
 */
int vmem_init(struct vmem *m, const struct vmem_params *p, const struct vmem_host_ops *hops,
	      struct gmem *mem, char *err, size_t errlen);
void vmem_destroy(struct vmem *m);

/*
 * New requested size (control API, loop thread): block-aligned and within
 * the region, else -EINVAL with QEMU's message in err. Grows usable and
 * always sends a config-change interrupt.
 */
int vmem_set_requested(struct vmem *m, uint64_t size, char *err, size_t errlen);
/* Guest reboot: unplug every block on the host too, shrink usable. */
int vmem_system_reset(struct vmem *m);
void vmem_get_info(struct vmem *m, struct vmem_info *out);

#endif
