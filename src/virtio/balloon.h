/*
 * balloon: virtio-balloon (device id 5) as Linux's virtio_balloon driver
 * uses it. The protocol decisions are the pure functions of
 * virtio/balloon_state; this file serves the queues and the config.
 *
 * - inflateq: every page the guest puts in the balloon is given back to
 *   the host at once (vballoon_host_ops.discard); deflateq: pages taken
 *   back need nothing (they fault in again on first touch), so
 *   MUST_TELL_HOST is not offered.
 * - statsq (STATS_VQ, always offered, as QEMU): the driver's buffer is
 *   parsed and kept; every statistics_polling_interval seconds a loop
 *   timer hands it back, which asks the driver for fresh figures.
 * - reporting_vq (REPORTING, with free_page_reporting=on): every range the
 *   guest reports free is discarded as soon as it is reported.
 * - DEFLATE_ON_OOM (deflate_on_oom=on) is the driver's own business: it
 *   deflates under memory pressure and says so in `actual`.
 *
 * The guest is untrusted: the host side (the board) discards only memory
 * the guest was given and counts the rest; PFNs per chain are capped
 * (VB_MAX_PFNS), chains per notification are the queue's budget, and a
 * malformed ring is a device error (DEVICE_NEEDS_RESET), never a crash.
 * Queues are served on the event-loop thread, as every device's.
 */
#ifndef MV_VIRTIO_BALLOON_H
#define MV_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "virtio/balloon_state.h"
#include "virtio/virtio.h"

#define VB_QUEUE_SIZE  128
#define VB_NUM_QUEUES  4
#define VB_CONFIG_SIZE 8 /* le32 num_pages, le32 actual */
/* PFNs read from one inflate/deflate chain (Linux sends at most 256); the rest are dropped. */
#define VB_MAX_PFNS 1024
/* Bytes of one statistics buffer looked at (Linux sends 100). */
#define VB_MAX_STATS_LEN 1024

struct vballoon;

/* What one discard call did, in bytes. */
struct vb_discard {
	uint64_t discarded; /* given back to the host */
	uint64_t refused;   /* not memory the guest was given: left alone */
	uint64_t skipped;   /* guest memory, but not whole host pages (hugetlb): left alone */
	uint64_t failed;    /* the host call failed */
};

struct vballoon_host_ops {
	/*
	 * Give back what of [gpa, gpa+len) is memory the guest was given (boot
	 * RAM, plugged virtio-mem blocks) and account every byte in *out.
	 * Loop thread, device lock held.
	 */
	void (*discard)(struct vballoon *b, uint64_t gpa, uint64_t len, struct vb_discard *out);
	/*
	 * Optional: the driver changed `actual`. Device lock held (may be a
	 * vCPU thread): note it and report later; do not call back into the device.
	 */
	void (*actual_changed)(struct vballoon *b);
};

struct vballoon_params {
	uint32_t num_pages; /* the balloon's target at boot */
	bool deflate_on_oom;
	bool free_page_reporting;
	unsigned int stats_interval; /* seconds, 0: no polling */
};

/* Counters for the control API and the tests (bytes unless said otherwise). */
struct vb_counters {
	uint64_t inflated_pages; /* PFNs received on the inflate queue */
	uint64_t deflated_pages; /* PFNs received on the deflate queue */
	uint64_t reported_bytes; /* ranges received on the reporting queue */
	uint64_t discarded;	 /* given back to the host (inflate and reporting) */
	uint64_t refused;	 /* outside the guest's memory: ignored */
	uint64_t skipped;	 /* not whole host pages: ignored */
	uint64_t failed;	 /* host discards that failed */
	uint64_t dropped_pfns;	 /* PFNs past VB_MAX_PFNS in one chain: ignored */
	uint64_t stats_updates;	 /* statistics buffers received */
	uint64_t device_errors;	 /* malformed rings: the device needs a reset */
};

/* A consistent copy for the control API. */
struct vballoon_info {
	uint32_t num_pages, actual;
	bool driver_ready;
	bool stats_vq; /* the driver accepted STATS_VQ */
	bool reporting;
	bool deflate_on_oom;
	uint64_t stats[VB_S_NR];   /* VB_STAT_NONE: never reported */
	int64_t stats_last_update; /* wall-clock seconds, 0: never */
	unsigned int stats_interval;
	struct vb_counters c;
};

struct vballoon {
	struct virtio_dev vdev;
	const struct vballoon_host_ops *hops;
	struct loop *loop; /* NULL: no timer (tests call vballoon_stats_poll) */
	struct loop_timer timer;
	bool timer_ok;
	uint32_t num_pages; /* target, set by the host */
	uint32_t actual;    /* written by the driver */
	/* The statistics buffer the driver gave us, kept until the next poll. */
	bool stats_held;
	uint16_t stats_head;
	uint64_t stats[VB_S_NR];
	int64_t stats_last_update;
	unsigned int stats_interval;
	struct vb_counters c;
};

/* loop may be NULL (no polling timer). */
int vballoon_init(struct vballoon *b, const struct vballoon_params *p,
		  const struct vballoon_host_ops *hops, struct gmem *mem, struct loop *loop);
void vballoon_destroy(struct vballoon *b);

/* Host side, any thread but the device's callbacks (takes the lock). */
void vballoon_set_target(struct vballoon *b, uint32_t num_pages);
/* 0, or -EINVAL for more than UINT32_MAX seconds; 0 stops polling. */
int vballoon_set_stats_interval(struct vballoon *b, uint64_t seconds);
void vballoon_get_info(struct vballoon *b, struct vballoon_info *out);
/* Hand the statistics buffer back (asks the driver for new figures); the timer calls it. */
void vballoon_stats_poll(struct vballoon *b);
/* Re-arm the polling timer after a load (stats_interval set by vballoon_load). */
void vballoon_restart_timer(struct vballoon *b);

#endif
