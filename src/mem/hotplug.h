/*
 * hotplug: the host side of a virtio-mem region: which parts the guest can
 * reach, and giving unplugged memory back to the host.
 *
 * Plugged memory is mapped into the guest as extents, each one KVM memory
 * slot covering a run of plugged blocks and nothing else, so unplugged
 * memory is never reachable, whatever the region's size (block-granular
 * protection). A plug maps its range as a new extent: one slot change per
 * request, however many blocks (the Linux driver plugs a whole memory block,
 * 128 MiB, per request). An unplug removes the extents it covers and, where
 * it takes only part of one, replaces that extent by the part that stays.
 *
 * Replacing an extent whose memory stays plugged is done under a hold
 * (ops->hold: no vCPU in guest mode until ops->release), so no guest access,
 * instruction fetch or atomic included, finds plugged memory missing.
 * Removing memory the guest gave up, or adding memory, needs no hold.
 *
 * Each region may use at most max_slots slots (the board shares KVM's
 * budget out). A request that would need more first merges adjacent extents
 * (under one hold); if that is not enough it is refused with nothing
 * changed (-ENOSPC: the device answers BUSY, or NACK, and the guest retries
 * later), never by mapping unplugged memory.
 *
 * A guest access to unplugged memory exits to the VMM (hp_access): reads see
 * zeros, writes are dropped, both are counted; the guest gains no host
 * memory and sees no stale data.
 *
 * KVM may refuse to remove a slot. Then the slot stays, the blocks keep
 * their state, nothing is discarded, and the request fails (the device
 * answers BUSY; the guest retries). A request is all or nothing: slots it
 * had already changed are put back. Should putting one back fail too, the
 * blocks it covered stay plugged and are served by hp_access from their
 * memory ("lost" blocks) until a request maps them again.
 *
 * Plug/unplug run on the event-loop thread; hp_access on vCPU threads.
 */
#ifndef MV_MEM_HOTPLUG_H
#define MV_MEM_HOTPLUG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define HP_NO_SLOT UINT32_MAX

struct hp_region;

/* What the region needs from the machine (KVM slots, host memory); faked in tests. */
struct hp_ops {
	int (*map)(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
	    __attribute__((warn_unused_result));
	/* On failure the slot must still map its range. */
	int (*unmap)(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
	    __attribute__((warn_unused_result));
	/* Populate host memory for [off, off+len) of the region (prealloc=on). */
	int (*populate)(struct hp_region *r, uint64_t off, uint64_t len);
	/* Give [off, off+len) back to the host. */
	int (*discard)(struct hp_region *r, uint64_t off, uint64_t len);
	/* Keep every vCPU out of guest mode until release (optional: no vCPUs). */
	void (*hold)(struct hp_region *r);
	void (*release)(struct hp_region *r);
};

struct hp_stats {
	uint64_t plugged_bytes;
	uint64_t populated_bytes;
	uint64_t populate_failures;
	uint64_t discarded_bytes;
	uint64_t discard_failures;
	uint64_t slots;		   /* memory slots in use (extents) */
	uint64_t slot_changes;	   /* slots made or removed, over the region's life */
	uint64_t holds;		   /* times the vCPUs were held to replace a slot */
	uint64_t splits;	   /* extents cut by an unplug that took part of them */
	uint64_t merges;	   /* extents merged for want of slots */
	uint64_t slots_refused;	   /* requests refused for want of slots */
	uint64_t unplugged_reads;  /* guest reads of unplugged memory (answered with zeros) */
	uint64_t unplugged_writes; /* guest writes to unplugged memory (dropped) */
	uint64_t unmap_failures;   /* slots KVM refused to remove (the request failed) */
	uint64_t remap_failures;   /* extents that could not be mapped back after one */
	uint64_t lost_accesses;	   /* guest accesses to plugged blocks served by hp_access */
};

/* A run of plugged blocks mapped as one slot: [off, off+len) of the region. */
struct hp_extent {
	uint64_t off;
	uint64_t len;
	uint32_t slot;
};

struct hp_region {
	const struct hp_ops *ops;
	uint64_t gpa;
	uint64_t size;
	uint64_t block;
	uint8_t *hva;
	bool prealloc;
	pthread_mutex_t lock;
	uint64_t *plugged; /* one bit per block: the host-side truth */
	uint64_t nblocks;
	struct hp_extent *ext; /* sorted by off, disjoint, plugged blocks only */
	uint32_t next;	       /* extents in use */
	uint32_t max_slots;    /* extents allowed (>= 1); ext has room for as many */
	struct hp_stats stats;
};

/* Memory slots kept back from virtio-mem extents (boot RAM and the rest). */
#define HP_SLOT_RESERVE 64

/*
 * size a non-zero multiple of block, block a power of two, max_slots >= 1;
 * hva maps the region. Nothing is plugged or mapped.
 */
int hp_init(struct hp_region *r, const struct hp_ops *ops, uint64_t gpa, uint64_t size,
	    uint64_t block, uint32_t max_slots, void *hva, bool prealloc)
    __attribute__((warn_unused_result));
void hp_destroy(struct hp_region *r);

/*
 * Plug [off, off+len) (block-aligned, all unplugged): populate if prealloc,
 * then map it. On failure nothing changed and -errno is returned (the device
 * answers BUSY and the guest retries later).
 */
int hp_plug(struct hp_region *r, uint64_t off, uint64_t len) __attribute__((warn_unused_result));
/*
 * Unplug [off, off+len) (block-aligned, all plugged): unmap it, then
 * discard. On failure (KVM kept a slot, no slot for a split) nothing changed.
 */
int hp_unplug(struct hp_region *r, uint64_t off, uint64_t len) __attribute__((warn_unused_result));
/*
 * Merge extents that touch into one slot each (one hold, only if two
 * touch). Called at a quiet point, when the guest reached the size it was
 * asked for, so the slots follow the plugged runs between resizes rather
 * than the requests that made them. Returns the slots freed.
 */
uint32_t hp_settle(struct hp_region *r);
/* Unplug everything (UNPLUG_ALL, system reset); extents KVM keeps stay plugged. */
int hp_unplug_all(struct hp_region *r) __attribute__((warn_unused_result));
bool hp_is_plugged(struct hp_region *r, uint64_t off);

/* true if gpa lies in the region; the access has then been served as described above. */
bool hp_access(struct hp_region *r, uint64_t gpa, void *data, uint32_t len, bool write);
void hp_get_stats(struct hp_region *r, struct hp_stats *out);

/*
 * Slots for n regions sharing budget: each gets a share in proportion to its
 * size, at least 1. -ENOSPC when budget < n.
 */
int hp_share_slots(const uint64_t *sizes, unsigned int n, uint64_t budget, uint32_t *shares)
    __attribute__((warn_unused_result));

#endif
