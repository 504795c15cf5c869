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
	int (*map)(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot);
	int (*unmap)(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size);
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

/* Smallest power-of-two granule >= block that needs at most max_slots slots for size. */
uint64_t hp_granule_for(uint64_t size, uint64_t block, uint64_t max_slots);

/* size a multiple of granule, granule a power-of-two multiple of block; hva maps the region. */
int hp_init(struct hp_region *r, const struct hp_ops *ops, uint64_t gpa, uint64_t size,
	    uint64_t block, uint64_t granule, void *hva, bool prealloc);
void hp_destroy(struct hp_region *r);

/*
 * Plug [off, off+len) (block-aligned, all unplugged): populate if prealloc,
 * then map the granules it touches. On failure nothing changed and -errno is
 * returned (the device answers BUSY and the guest retries later).
 */
int hp_plug(struct hp_region *r, uint64_t off, uint64_t len);
/* Unplug [off, off+len) (block-aligned, all plugged): unmap emptied granules, then discard. */
int hp_unplug(struct hp_region *r, uint64_t off, uint64_t len);
/* Unplug everything (UNPLUG_ALL, system reset). */
int hp_unplug_all(struct hp_region *r);
bool hp_is_plugged(struct hp_region *r, uint64_t off);

/* true if gpa lies in the region; the access has then been served as described above. */
bool hp_access(struct hp_region *r, uint64_t gpa, void *data, uint32_t len, bool write);
void hp_get_stats(struct hp_region *r, struct hp_stats *out);

#endif
