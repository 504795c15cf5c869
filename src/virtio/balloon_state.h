/*
 * balloon_state: the pure protocol logic of virtio-balloon (VIRTIO 1.2
 * 5.5), no I/O: which queue is which for the negotiated features, page
 * frame numbers turned into runs, a guest range clipped to the memory the
 * guest was given, the statistics buffer parsed, and QEMU's arithmetic
 * between a target guest size and the balloon's page count. Every function
 * takes guest-controlled numbers as they come (any PFN, any range, any
 * buffer length) and never overflows or reads past what it was given.
 */
#ifndef MV_VIRTIO_BALLOON_STATE_H
#define MV_VIRTIO_BALLOON_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Feature bits (5.5.3). */
#define VB_F_MUST_TELL_HOST 0
#define VB_F_STATS_VQ	    1
#define VB_F_DEFLATE_ON_OOM 2
#define VB_F_FREE_PAGE_HINT 3
#define VB_F_PAGE_POISON    4
#define VB_F_REPORTING	    5

/* The protocol's page: PFNs and num_pages/actual count 4 KiB pages whatever the guest's. */
#define VB_PFN_SHIFT 12
#define VB_PAGE_SIZE (1ULL << VB_PFN_SHIFT)

/* Statistic tags (5.5.6.3), in QEMU's order; later tags are ignored. */
enum vb_stat {
	VB_S_SWAP_IN,
	VB_S_SWAP_OUT,
	VB_S_MAJFLT,
	VB_S_MINFLT,
	VB_S_MEMFREE,
	VB_S_MEMTOT,
	VB_S_AVAIL,
	VB_S_CACHES,
	VB_S_HTLB_PGALLOC,
	VB_S_HTLB_PGFAIL,
	VB_S_NR
};
#define VB_STAT_ENTRY 10 /* le16 tag + le64 value, packed */
/* A statistic the guest never reported reads as this (QEMU's -1 as uint64). */
#define VB_STAT_NONE UINT64_MAX

/* What a queue index is for, given the features the driver accepted. */
enum vb_queue_role {
	VB_Q_NONE = -1,
	VB_Q_INFLATE,
	VB_Q_DEFLATE,
	VB_Q_STATS,
	VB_Q_REPORTING,
};

/*
 * Queues that do not exist for the negotiated features take no index: the
 * statistics queue is 2 with STATS_VQ, the reporting queue comes right
 * after the last one that exists (as Linux's driver numbers them; no free
 * page hinting is offered).
 */
enum vb_queue_role vb_queue_role(uint64_t features, unsigned int q);

/* QEMU's name of statistic i ("stat-swap-in", ...); NULL past VB_S_NR. */
const char *vb_stat_name(unsigned int i);

/*
 * Parse a statistics buffer of len bytes into vals (VB_S_NR entries; tags
 * not in it keep their value). Returns the entries read; *ignored counts
 * entries with an unknown tag plus a trailing partial entry.
 */
unsigned int vb_stats_parse(const uint8_t *buf, size_t len, uint64_t *vals, unsigned int *ignored);

/* Length of the run of consecutive ascending PFNs that starts at pfn[0] (n >= 1). */
unsigned int vb_pfn_run(const uint32_t *pfn, unsigned int n);

/* A range of guest physical memory the guest was given. Sorted, not overlapping. */
struct vb_span {
	uint64_t gpa;
	uint64_t size;
};

/*
 * The first piece of [gpa, gpa+len) (len > 0, may run to 2^64): the index
 * of the span that holds gpa, with *piece the bytes of the range inside it;
 * or -1 when gpa lies in no span, with *piece the bytes up to the next span
 * (or the whole range). *piece is never 0, so a caller always progresses.
 */
int vb_span_clip(const struct vb_span *s, unsigned int n, uint64_t gpa, uint64_t len,
		 uint64_t *piece);

/*
 * The whole pages of size `page` (a power of two) inside [gpa, gpa+len):
 * false when there is none.
 */
bool vb_align_in(uint64_t gpa, uint64_t len, uint64_t page, uint64_t *agpa, uint64_t *alen);

/*
 * QEMU's balloon arithmetic. `current` is the guest's memory (boot RAM and
 * plugged virtio-mem); a target above it is the whole of it. The page count
 * saturates at the protocol's 32 bits.
 */
uint32_t vb_target_pages(uint64_t current, uint64_t target);
/* The guest's memory less the balloon's `actual` pages (0 if the balloon holds more). */
uint64_t vb_actual_bytes(uint64_t current, uint32_t actual);

#endif
