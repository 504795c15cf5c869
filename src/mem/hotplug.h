/*
 * hotplug: the host side of a virtio-mem region: which parts the guest can
 * reach, and giving unplugged memory back to the host.
 *
 * The region is cut into fixed granules, each its own KVM memory slot,
 * mapped while any block in it is plugged and removed when none is. The
 * granule is the device's block size when the slot budget allows (full
 * block-granular protection), else the smallest power-of-two multiple that
 * fits the budget. Slots are never split or merged, so memory the guest
 * holds is never unmapped under it (an instruction fetch from an unmapped
 * address would kill the guest).
 *
 * A guest access to an unmapped granule exits to the VMM (hp_access): reads
 * see zeros, writes are dropped, both are counted; the guest gains no host
 * memory and sees no stale data. Unplugged blocks inside a still-mapped
 * granule are discarded but stay reachable; their bytes are reported as
 * "exposed" (zero when the granule is the block size).
 *
 * KVM may refuse to remove a slot. Then the slot stays, mapping its granule,
 * the blocks keep their state, nothing is discarded, and the request fails
 * (the device answers BUSY; the guest retries). A request over several
 * granules is all or nothing: granules it had already removed are mapped
 * back. Should mapping back fail too, that granule's plugged blocks are
 * served by hp_access from their memory until a plug maps it again.
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
	/* On failure the slot must still map the granule. */
	int (*unmap)(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
	    __attribute__((warn_unused_result));
	/* Populate host memory for [off, off+len) of the region (prealloc=on). */
	int (*populate)(struct hp_region *r, uint64_t off, uint64_t len);
	/* Give [off, off+len) back to the host. */
	int (*discard)(struct hp_region *r, uint64_t off, uint64_t len);
};

struct hp_stats {
	uint64_t plugged_bytes;
	uint64_t populated_bytes;
	uint64_t populate_failures;
	uint64_t discarded_bytes;
	uint64_t discard_failures;
	uint64_t slots;		   /* memory slots in use */
	uint64_t exposed_bytes;	   /* unplugged but inside a mapped granule */
	uint64_t unplugged_reads;  /* guest reads of unplugged memory (answered with zeros) */
	uint64_t unplugged_writes; /* guest writes to unplugged memory (dropped) */
	uint64_t unmap_failures;   /* slots KVM refused to remove (the request failed) */
	uint64_t remap_failures;   /* granules that could not be mapped back after one */
	uint64_t lost_accesses;	   /* guest accesses to plugged blocks served by hp_access */
};

struct hp_region {
	const struct hp_ops *ops;
	uint64_t gpa;
	uint64_t size;
	uint64_t block;
	uint64_t granule;
	uint8_t *hva;
	bool prealloc;
	pthread_mutex_t lock;
	uint64_t *plugged; /* one bit per block: the host-side truth */
	uint64_t nblocks;
	uint32_t *slot;	 /* per granule, HP_NO_SLOT when unmapped */
	uint32_t *nplug; /* plugged blocks per granule */
	uint64_t ngranules;
	struct hp_stats stats;
};

/* Memory slots kept back from virtio-mem granules (boot RAM and the rest). */
#define HP_SLOT_RESERVE 64
/*
 * The most memory slots an x86 KVM offers (KVM_CAP_NR_MEMSLOTS: 32767 less
 * KVM's 3 private ones); validation plans against this, the machine against
 * what its KVM reports.
 */
#define HP_KVM_MAX_SLOTS 32764

/*
 * Smallest power-of-two granule >= block that divides size and needs at most
 * max_slots slots; when none needs so few, the largest power of two dividing
 * size (the fewest slots possible). 0 if block is not a power of two
 * dividing size, or max_slots is 0.
 */
uint64_t hp_granule_for(uint64_t size, uint64_t block, uint64_t max_slots);
/* Fewest slots any granule hp_init accepts needs for size (UINT64_MAX: none). */
uint64_t hp_min_slots(uint64_t size, uint64_t block);
/*
 * Granules for n regions sharing budget slots, each one hp_init accepts:
 * every region gets its hp_min_slots, the rest is shared by size. -ENOSPC
 * when the minimums exceed the budget, -EINVAL for a block that does not
 * divide its size. Validation and the machine both plan with this.
 */
int hp_plan_granules(const uint64_t *sizes, const uint64_t *blocks, unsigned int n, uint64_t budget,
		     uint64_t *granules) __attribute__((warn_unused_result));

/* size a multiple of granule, granule a power-of-two multiple of block; hva maps the region. */
int hp_init(struct hp_region *r, const struct hp_ops *ops, uint64_t gpa, uint64_t size,
	    uint64_t block, uint64_t granule, void *hva, bool prealloc)
    __attribute__((warn_unused_result));
void hp_destroy(struct hp_region *r);

/*
 * Plug [off, off+len) (block-aligned, all unplugged): populate if prealloc,
 * then map the granules it touches. On failure nothing changed and -errno is
 * returned (the device answers BUSY and the guest retries later).
 */
int hp_plug(struct hp_region *r, uint64_t off, uint64_t len) __attribute__((warn_unused_result));
/*
 * Unplug [off, off+len) (block-aligned, all plugged): unmap emptied granules,
 * then discard. On failure (KVM kept a slot) nothing changed.
 */
int hp_unplug(struct hp_region *r, uint64_t off, uint64_t len) __attribute__((warn_unused_result));
/* Unplug everything (UNPLUG_ALL, system reset); granules KVM keeps stay plugged. */
int hp_unplug_all(struct hp_region *r) __attribute__((warn_unused_result));
bool hp_is_plugged(struct hp_region *r, uint64_t off);

/* true if gpa lies in the region; the access has then been served as described above. */
bool hp_access(struct hp_region *r, uint64_t gpa, void *data, uint32_t len, bool write);
void hp_get_stats(struct hp_region *r, struct hp_stats *out);

#endif
