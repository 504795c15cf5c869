/*
 * pmem: virtio-pmem (device id 27). The guest sees a range of guest
 * physical memory (config `start`, `size`, le64) that the board backs with
 * a file, and one request queue on which it asks for FLUSH: "make what I
 * wrote so far durable". The device answers a FLUSH only after the host's
 * flush (host ops, run on the device's worker thread) returned, with ret 0,
 * or 1 (VIRTIO_PMEM_RESP_TYPE_EIO) when it failed; the VMM runs on.
 *
 * Threads (ARCHITECTURE.md, "Threads"): requests are popped on the loop
 * thread; a batch of FLUSHes goes to the worker, which calls hops->flush
 * (fsync, possibly long) holding no device lock, then writes done_fd; the
 * loop answers the batch (vpmem_done) under the device lock. FLUSHes that
 * arrive while one is running wait for the next one: a flush answers only
 * requests that were popped before it started. At most a queue's worth of
 * requests is held; the rest stays in the ring until a batch completes.
 *
 * A hostile driver: a chain with no 4 writable bytes for the answer cannot
 * be answered, so it is a device error (DEVICE_NEEDS_RESET); a request
 * shorter than its 4-byte type, or of an unknown type, is answered EIO.
 * A virtio reset forgets every held request; a flush still running is
 * answered to nobody. A paused device (QMP stop) answers nothing: a
 * completion meanwhile waits for vpmem_set_paused(false).
 */
#ifndef MV_VIRTIO_PMEM_H
#define MV_VIRTIO_PMEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "virtio/virtio.h"

#define VIRTIO_ID_PMEM	     27
#define VPMEM_REQ_TYPE_FLUSH 0
#define VPMEM_RESP_OK	     0
#define VPMEM_RESP_EIO	     1
#define VPMEM_QUEUE_SIZE     64
#define VPMEM_CONFIG_SIZE    16
#define VPMEM_RESP_SEGS	     4 /* 4 response bytes: at most 4 segments of >= 1 byte */

struct vpmem;

/* What the device asks of the host. */
struct vpmem_host_ops {
	/* Worker thread, no device lock: make the guest's writes durable; 0 or -errno. */
	int (*flush)(struct vpmem *p);
};

/* A FLUSH popped and not answered yet: where its 4-byte answer goes. */
struct vpmem_req {
	uint16_t head;
	uint8_t nseg;
	struct {
		uint64_t gpa;
		uint32_t len;
	} seg[VPMEM_RESP_SEGS];
};

/* What one request asks, decided from its sizes and type alone. */
enum vpmem_action {
	VPMEM_ACT_FLUSH, /* a FLUSH: answered after the host's flush */
	VPMEM_ACT_EIO,	 /* unreadable or unknown: answered EIO at once */
	VPMEM_ACT_BAD,	 /* no room for the answer: a device error */
};

/* Pure: out_len/in_len are the chain's readable/writable bytes; type valid if out_len >= 4. */
enum vpmem_action vpmem_decide(uint64_t out_len, uint64_t in_len, uint32_t type);

struct vpmem {
	struct virtio_dev vdev;
	const struct vpmem_host_ops *hops;
	struct loop *loop;
	uint64_t start, size;
	bool discard; /* discard_writes=on: nothing to make durable, FLUSH answered at once */

	/* Device lock: reqs[0, nr_inflight) are covered by the running flush. */
	struct vpmem_req reqs[VPMEM_QUEUE_SIZE];
	unsigned int nr_reqs, nr_inflight;
	bool busy; /* the worker has a flush (reset does not clear it) */
	uint64_t flushes, flush_errors;

	/* Worker: wlock protects job, stop and result. */
	pthread_t thread;
	bool thread_up;
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	bool job, stop, result_ready;
	int result;
	struct loop_watch done_w; /* eventfd the worker writes, the loop reads */
	bool watched;
};

struct vpmem_params {
	uint64_t start, size;
	bool discard;
};

/*
 * Init the device, start its worker and watch its completions on loop
 * (NULL: the test calls vpmem_done itself). 0 or -errno.
 */
int vpmem_init(struct vpmem *p, const struct vpmem_params *prm, const struct vpmem_host_ops *hops,
	       struct gmem *mem, struct loop *loop);
/* Stops the worker (waits for a running flush), then frees the device. */
void vpmem_destroy(struct vpmem *p);
/* Loop thread: a flush completed (done_fd readable); answers its batch. Takes the lock. */
void vpmem_done(struct vpmem *p);
/* Loop thread: QMP stop/cont; resuming answers a completion held meanwhile. Takes the lock. */
void vpmem_set_paused(struct vpmem *p, bool paused);

#endif
