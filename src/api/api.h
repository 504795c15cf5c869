/*
 * api: memvisor's control API as the VM sees it. The VM implements the
 * backend ops (what the API may ask of it) and calls the api_emit_*() and
 * api_memdev_size_changed() functions (what the API tells clients); the
 * command table (commands.h), HMP views (hmp.h) and socket server (server.h)
 * sit on top and never touch VM internals.
 *
 * Threading: everything here runs on the main (event loop) thread. A vCPU or
 * device thread that wants to report a size change must hand it to the main
 * thread first (the virtio-mem device runs there already).
 *
 * Events: MEMORY_DEVICE_SIZE_CHANGE is rate-limited per device as QEMU does:
 * the first change is sent at once, later ones within API_EVENT_RATE_MS are
 * coalesced and the latest size is sent when the window closes.
 */
#ifndef MV_API_API_H
#define MV_API_API_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/loop.h"

#ifndef MEMVISOR_VERSION
#define MEMVISOR_VERSION "0.1"
#endif
#define API_PACKAGE	  "memvisor " MEMVISOR_VERSION
#define API_ID_LEN	  64
#define API_MAX_MEMDEVS	  64
#define API_EVENT_RATE_MS 1000

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
	uint64_t plugs_refused;	   /* plug requests answered NACK/ERROR (prealloc failed...) */
	uint64_t unplugged_reads;  /* guest reads of unplugged memory, answered with zeros */
	uint64_t unplugged_writes; /* guest writes to unplugged memory, dropped */
	uint64_t exposed_bytes;	   /* unplugged but still mapped (granule larger than a block) */
	uint64_t slots;		   /* KVM memory slots the device's plugged memory uses */
	uint64_t size_changed_ms;  /* loop_now_ms() of the last plugged-size change, 0: never */
	uint64_t
	    requested_changed_ms; /* loop_now_ms() of the last requested-size change, 0: never */
};

struct api_memory_summary {
	uint64_t base;	  /* boot RAM */
	uint64_t plugged; /* sum of the devices' plugged sizes */
	bool has_plugged; /* QEMU omits plugged-memory when the VM has no device memory */
};

/*
 * What the API asks of the VM. Return 0 or -errno. Embed struct api_backend
 * in the VM object and reach it with container_of.
 */
struct api_backend;
struct api_backend_ops {
	int (*query_status)(struct api_backend *b, struct api_status *out);
	/* Stop the VM and leave the loop; the API flushes replies before exiting. */
	void (*quit)(struct api_backend *b);
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
	/*
	 * HMP views the VM renders itself: "numa", "ramblock", "mtree". Write
	 * the text (lines ending in '\n') to out; -ENOENT if not offered.
	 */
	int (*hmp_info)(struct api_backend *b, const char *what, FILE *out);
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
/* Sends `name` with data (reference taken over, may be NULL) to every negotiated session. */
void api_emit_event(struct api *api, const char *name, struct json_object *data);

/*
 * Closes rate-limit windows that are due and sends their pending events;
 * returns the ms until the next window closes (0: none open). The loop timer
 * calls it; tests call it after moving their clock.
 */
uint64_t api_events_tick(struct api *api);

#endif
