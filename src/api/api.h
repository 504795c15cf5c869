/*
 * api: memvisor's control API as the VM sees it. The board implements the
 * backend ops (board/backend.c: what the API may ask of it) and calls the
 * api_emit_*() and api_memdev_size_changed() functions (what the API tells
 * clients); the
 * command table (commands.h), HMP views (hmp.h) and socket server (server.h)
 * sit on top and never touch VM internals.
 *
 * Threading: every function here, the command table and the server run on
 * the event-loop thread only, and take no locks. A vCPU thread never calls
 * the API: its guest requests reach devices on the loop (virtio/pci.h), and
 * what it must report crosses through an eventfd the loop watches: lifecycle
 * events through vm->event_fd (board/run.c), virtio-mem size changes through
 * the board's size_w (board/backend.c) (ARCHITECTURE.md, "Threads").
 *
 * Events: MEMORY_DEVICE_SIZE_CHANGE (per device) and BALLOON_CHANGE are
 * rate-limited as QEMU does:
 * the first change is sent at once, later ones within API_EVENT_RATE_MS are
 * coalesced and the latest size is sent when the window closes.
 */
#ifndef MV_API_API_H
#define MV_API_API_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/loop.h"
#include "lib/version.h"
#include "mem/dimm.h"

#define API_PACKAGE	  "memvisor " MV_VERSION
#define API_ID_LEN	  64
#define API_MAX_MEMDEVS	  64
#define API_EVENT_RATE_MS 1000
#define API_BALLOON_STATS 10

struct json_object;
struct qmp_session;

/* query-status: QEMU's RunState name ("running", "paused", "shutdown", ...). */
struct api_status {
	const char *status;
	bool running;
};

/*
 * One virtio-mem device, as QEMU's VirtioMEMDeviceInfo plus memvisor's
 * diagnostics (sent with an "x-" prefix; QEMU clients ignore unknown keys).
 */
struct api_memdev_info {
	char id[API_ID_LEN];
	char memdev[API_ID_LEN + 16]; /* QOM path of the backend: "/objects/<zone>" */
	uint64_t memaddr;
	uint64_t size; /* plugged bytes */
	uint64_t max_size;
	uint64_t block_size;
	uint64_t requested_size;
	uint32_t node;
	/* memvisor extensions: enough for memvisor-ctl to explain a slow resize */
	bool driver_ready;	   /* the guest driver has set DRIVER_OK */
	uint64_t discarded_bytes;  /* bytes returned to the host on unplug since boot */
	uint64_t discard_failures; /* unplugs whose host-side discard failed */
	uint64_t plugs_refused;	   /* plug requests answered NACK or BUSY (prealloc failed...) */
	uint64_t unmap_failures;   /* unplugs KVM refused (slot kept, request answered BUSY) */
	uint64_t unplugged_reads;  /* guest reads of unplugged memory, answered with zeros */
	uint64_t unplugged_writes; /* guest writes to unplugged memory, dropped */
	uint64_t slot_changes;	   /* KVM memory slots made or removed for it since boot */
	uint64_t slot_holds;	   /* times the vCPUs were held to replace a slot */
	uint64_t slots_refused;	   /* requests refused for want of memory slots */
	uint64_t slots;		   /* KVM memory slots the device's plugged memory uses */
	uint64_t size_changed_ms;  /* loop_now_ms() of the last plugged-size change, 0: never */
	uint64_t
	    requested_changed_ms; /* loop_now_ms() of the last requested-size change, 0: never */
};

/*
 * The balloon, for query-balloon, qom-get and memvisor-ctl. Sizes in bytes;
 * `current` is the guest's memory the balloon works on (boot RAM and
 * plugged virtio-mem, QEMU's get_current_ram_size()), `actual` that less
 * what the balloon holds, `target` what the host asked for.
 */
struct api_balloon_info {
	char id[API_ID_LEN];
	uint64_t current, actual, target;
	bool driver_ready;
	bool stats_vq;
	uint64_t stats[API_BALLOON_STATS]; /* QEMU's order (virtio/balloon_state.h); UINT64_MAX:
					      never reported */
	int64_t stats_last_update;	   /* wall-clock seconds, 0: never */
	uint64_t stats_interval;	   /* seconds */
	/* memvisor extensions */
	uint64_t discarded_bytes; /* given back to the host (inflate and free page reporting) */
	uint64_t reported_bytes;  /* reported free by the guest */
	uint64_t refused_bytes;	  /* outside the guest's memory: ignored */
	uint64_t skipped_bytes;	  /* not whole host pages: kept */
	uint64_t failed_bytes;	  /* host discards that failed */
	uint64_t device_errors;
};

/* One PCI function on bus 0 (query-pci, QEMU's PciDeviceInfo). */
#define API_PCI_MAX 32
struct api_pci_region {
	unsigned int bar;
	uint64_t addr; /* as the guest programmed it */
	uint64_t size;
};

struct api_pci_info {
	unsigned int slot;
	uint16_t vendor, device, subsys_vendor, subsys;
	uint16_t class_code; /* base class << 8 | subclass */
	uint8_t irq_line, irq_pin;
	char qdev_id[API_ID_LEN];
	unsigned int nr_regions;
	struct api_pci_region regions[6];
};

struct api_memory_summary {
	uint64_t base;	  /* boot RAM */
	uint64_t plugged; /* sum of the devices' plugged sizes */
	bool has_plugged; /* QEMU omits plugged-memory when the VM has no device memory */
};

/* What a snapshot reports (x-snapshot's reply). */
struct api_snapshot_info {
	double pause_ms;       /* the guest stopped for it; 0 when it was paused already */
	unsigned int passes;   /* over memory: 1 unless live */
	uint64_t memory_bytes; /* the non-zero guest memory the first pass found and wrote */
};

/*
 * What the API asks of the VM. Return 0 or -errno. Embed struct api_backend
 * in the VM object and reach it with container_of.
 */
struct api_backend;
/* One virtio-pmem device, as QEMU's VirtioPMEMDeviceInfo. */
struct api_pmem_info {
	char id[API_ID_LEN];
	char memdev[API_ID_LEN + 16]; /* "/objects/<id>" */
	uint64_t memaddr;
	uint64_t size;
	uint64_t flushes;      /* x-flushes: host flushes started for the guest's FLUSHes */
	uint64_t flush_errors; /* x-flush-errors: of those, failed (answered EIO) */
	/* model=nvdimm: shown as QEMU's "nvdimm" (dimm data), without the flush counters. */
	bool nvdimm;
	unsigned int slot; /* index among the NVDIMMs (the NFIT handle less one) */
	unsigned int node; /* guest NUMA node */
};

struct api_backend_ops {
	int (*query_status)(struct api_backend *b, struct api_status *out);
	/* Stop the VM and leave the loop; the API flushes replies before exiting. */
	void (*quit)(struct api_backend *b);
	/*
	 * QMP stop and cont: vCPUs paused or resumed, device queues held or
	 * served. 1 when the state changed (the API sends STOP or RESUME), 0
	 * when it already was so, -errno (the state is unchanged).
	 */
	int (*stop)(struct api_backend *b);
	int (*cont)(struct api_backend *b);
	/*
	 * x-snapshot: the VM into the file of a "file:///PATH" url, complete
	 * and durable on 0; on refusal one line in err and nothing left behind.
	 * live: memory copied while the guest runs, paused for the last pass.
	 */
	int (*snapshot)(struct api_backend *b, const char *url, bool live,
			struct api_snapshot_info *out, char *err, size_t errlen);
	/* ACPI power button. */
	int (*powerdown)(struct api_backend *b);
	/* Host-requested system reset. */
	int (*reset)(struct api_backend *b);
	unsigned int (*memdev_count)(struct api_backend *b);
	int (*memdev_info)(struct api_backend *b, unsigned int idx, struct api_memdev_info *out);
	/*
	 * New requested size for device `id`. Alignment and the max-size bound
	 * are checked by the API first; on refusal write one line into err.
	 */
	int (*memdev_set_requested)(struct api_backend *b, const char *id, uint64_t size, char *err,
				    size_t errlen);
	int (*memory_summary)(struct api_backend *b, struct api_memory_summary *out);
	/* Optional: the PCI functions of bus 0, at most max; returns how many. */
	unsigned int (*pci_list)(struct api_backend *b, struct api_pci_info *out, unsigned int max);
	/* Optional: the virtio-pmem devices, listed after virtio-mem by query-memory-devices. */
	unsigned int (*pmem_count)(struct api_backend *b);
	int (*pmem_info)(struct api_backend *b, unsigned int idx, struct api_pmem_info *out);
	/*
	 * Optional (none: the VM has no balloon; so does -ENODEV): the
	 * balloon's state, its target as a guest size (clamped to `current`
	 * as QEMU does) and its statistics polling interval in seconds.
	 */
	int (*balloon_info)(struct api_backend *b, struct api_balloon_info *out);
	int (*balloon_set_target)(struct api_backend *b, uint64_t guest_size);
	int (*balloon_set_interval)(struct api_backend *b, uint64_t seconds);
	/*
	 * HMP views the VM renders itself: "numa", "ramblock", "mtree". Write
	 * the text (lines ending in '\n') to out; -ENOENT if not offered.
	 */
	int (*hmp_info)(struct api_backend *b, const char *what, FILE *out);
	/*
	 * ACPI DIMMs (optional: NULL when the VM has none). dimm_set gives the
	 * bookkeeping to read (NULL: no DIMM area); the requests refuse with
	 * QEMU's error class and text in e and change nothing then.
	 */
	const struct dimm_set *(*dimm_set)(struct api_backend *b);
	int (*dimm_object_add)(struct api_backend *b, const struct dimm_object_req *r,
			       struct dimm_error *e);
	int (*dimm_object_del)(struct api_backend *b, const char *id, struct dimm_error *e);
	int (*dimm_device_add)(struct api_backend *b, const char *id, const char *memdev, long node,
			       struct dimm_error *e);
	int (*dimm_device_del)(struct api_backend *b, const char *id, struct dimm_error *e);
	int (*dimm_resize)(struct api_backend *b, uint64_t total, struct dimm_error *e);
	/*
	 * --autoscale (optional; none or -ENODEV: not enabled): x-query-autoscale's
	 * return object, built by the board; x-autoscale-resume for device id
	 * (NULL: all), one line in err on refusal.
	 */
	int (*autoscale_query)(struct api_backend *b, struct json_object **out);
	int (*autoscale_resume)(struct api_backend *b, const char *id, char *err, size_t errlen);
};

struct api_backend {
	const struct api_backend_ops *ops;
};

/* Clocks, replaceable by tests. */
struct api_clock {
	uint64_t (*mono_ms)(void); /* rate limiting, ages */
	uint64_t (*wall_us)(void); /* event timestamps */
};

/* Rate-limit state of one device's MEMORY_DEVICE_SIZE_CHANGE. */
struct api_rate {
	char id[API_ID_LEN];
	bool active;	 /* a window is open */
	uint64_t end_ms; /* when it closes */
	bool pending;	 /* a coalesced change waits for the window to close */
	uint64_t size;
	uint64_t wall_us; /* when the pending change happened */
};

struct api {
	struct api_backend *backend;
	const struct api_clock *clock;
	struct qmp_session *sessions; /* negotiated or not; events skip the latter */
	struct loop *loop;	      /* NULL: no timer, the owner calls api_events_tick() */
	struct loop_timer timer;
	bool timer_ok;
	struct api_rate rate[API_MAX_MEMDEVS];
	struct api_rate balloon_rate; /* BALLOON_CHANGE, rate-limited as QEMU does */
};

/* loop may be NULL (tests). */
int api_init(struct api *api, struct api_backend *backend, struct loop *loop);
void api_destroy(struct api *api);

/* Sessions receive events while attached. */
void api_attach(struct api *api, struct qmp_session *s);
void api_detach(struct api *api, struct qmp_session *s);

/*
 * Events the VM reports. Host-requested quit/reset/powerdown are emitted by
 * the commands themselves ("host-qmp-quit", "host-qmp-system-reset"); the VM
 * emits the guest-initiated ones, e.g. api_emit_shutdown(api, true,
 * "guest-shutdown"), api_emit_reset(api, true, "guest-reset").
 */
void api_emit_shutdown(struct api *api, bool guest, const char *reason);
void api_emit_reset(struct api *api, bool guest, const char *reason);
void api_emit_powerdown(struct api *api);
/* Call whenever a device's plugged size changes (rate-limited here). */
void api_memdev_size_changed(struct api *api, const char *id, uint64_t size);
/* QEMU's ACPIOSTInfo of one DIMM slot (ACPI_DEVICE_OST, query-acpi-ospm-status). */
struct json_object *api_dimm_ost_info(const struct dimm_set *s, unsigned int slot);
/* Call whenever the balloon's `actual` guest size changes (rate-limited here). */
void api_balloon_changed(struct api *api, uint64_t actual);
/* Sends `name` with data (reference taken over, may be NULL) to every negotiated session. */
void api_emit_event(struct api *api, const char *name, struct json_object *data);

/*
 * Closes rate-limit windows that are due and sends their pending events;
 * returns the ms until the next window closes (0: none open). The loop timer
 * calls it; tests call it after moving their clock.
 */
uint64_t api_events_tick(struct api *api);

#endif
