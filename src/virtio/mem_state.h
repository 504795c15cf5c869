/*
 * mem_state: the virtio-mem protocol as pure functions. The block bitmap
 * and sizes live here; vmem_decide() maps (state, request) to the answer
 * the device gives, in QEMU's order (range => ERROR, plug beyond requested
 * => NACK, blocks not all in the opposite state => ERROR, otherwise act),
 * without side effects. The device (virtio/mem) performs the host side
 * effect and only then commits with vmem_state_set(); a host failure is
 * answered BUSY with the state untouched.
 */
#ifndef MV_VIRTIO_MEM_STATE_H
#define MV_VIRTIO_MEM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Request and response encoding (VIRTIO 1.2 5.15.6). */
#define VMEM_REQ_PLUG	    0
#define VMEM_REQ_UNPLUG	    1
#define VMEM_REQ_UNPLUG_ALL 2
#define VMEM_REQ_STATE	    3

#define VMEM_RESP_ACK	0
#define VMEM_RESP_NACK	1
#define VMEM_RESP_BUSY	2
#define VMEM_RESP_ERROR 3

#define VMEM_STATE_PLUGGED   0
#define VMEM_STATE_UNPLUGGED 1
#define VMEM_STATE_MIXED     2

/* The smallest block_size the device takes (and --memory-zone's limit). */
#define VMEM_MIN_BLOCK (1ULL << 20)

/* QEMU's property names, shared by the API, the device and their messages. */
#define VMEM_PROP_REQUESTED_SIZE "requested-size"
#define VMEM_PROP_BLOCK_SIZE	 "block-size"
#define VMEM_PROP_SIZE		 "size"
#define VMEM_PROP_MAX_SIZE	 "max-size"
#define VMEM_PROP_NODE		 "node"
#define VMEM_PROP_MEMADDR	 "memaddr"
#define VMEM_PROP_MEMDEV	 "memdev"

/* QEMU's x86 policy: usable = requested + this, so the guest can pick blocks. */
#define VMEM_USABLE_EXTENT (256ULL << 20)

struct vmem_state {
	/* Fixed until destroyed: */
	uint64_t addr;
	uint64_t region_size;
	uint64_t block_size; /* power of two; addr and region_size are multiples */
	uint64_t nr_blocks;
	/* Changed by the host (requested) and by requests: */
	uint64_t requested_size;
	uint64_t usable_size;
	uint64_t plugged_size; /* always popcount(bitmap) * block_size */
	uint64_t *bitmap;      /* bit i set: block i is plugged */
};

struct vmem_req {
	uint16_t type;
	uint64_t addr;
	uint16_t nb_blocks; /* u16 on the wire: at most 65535 blocks per request */
};

struct vmem_decision {
	uint16_t resp;	/* ACK, NACK or ERROR */
	uint16_t state; /* STATE requests, when ACK */
	bool act;	/* PLUG/UNPLUG/UNPLUG_ALL: do the side effect, then commit */
	uint64_t first; /* PLUG/UNPLUG: first block */
	uint64_t count; /* PLUG/UNPLUG: number of blocks */
};

/* Caller validated the geometry (vmem_init); allocates the bitmap. */
int vmem_state_init(struct vmem_state *s, uint64_t addr, uint64_t region_size, uint64_t block_size);
void vmem_state_free(struct vmem_state *s);

/*
 * usable_region_size for `requested`: min(region, align_up(requested +
 * EXTENT, block)), 0 when requested is 0; never below the current value
 * unless can_shrink.
 */
uint64_t vmem_usable_for(const struct vmem_state *s, uint64_t requested, bool can_shrink);

/* The protocol answer to `r` (a known type) in state `s`. Pure. */
struct vmem_decision vmem_decide(const struct vmem_state *s, const struct vmem_req *r);

/* Commit: mark blocks [first, first+count) plugged or not, keeping plugged_size. */
void vmem_state_set(struct vmem_state *s, uint64_t first, uint64_t count, bool plugged);
bool vmem_state_test(const struct vmem_state *s, uint64_t block);
/*
 * The next run of plugged blocks at or after *first: 0 and [*first,
 * *first+*count), or -ENOENT when none is left.
 */
int vmem_state_next_plugged(const struct vmem_state *s, uint64_t *first, uint64_t *count);

/*
 * The one check of a requested size, with QEMU's texts (so scripts written
 * against QEMU's errors keep working): a multiple of block_size, at most
 * region_size. 0, or -EINVAL with the message in err. Pure; the device and
 * the API (before it asks the device) both call it.
 */
int vmem_check_requested(uint64_t block_size, uint64_t region_size, uint64_t size, char *err,
			 size_t errlen);

#endif
