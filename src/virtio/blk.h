/*
 * blk: virtio-blk (device id 2) over a disk the board opens (a raw image
 * file or a block device), reached through host ops so that tests can
 * give it memory instead. Features: SEG_MAX, BLK_SIZE (512), FLUSH,
 * DISCARD and WRITE_ZEROES (unless read-only), RO, MQ (num_queues > 1).
 * Requests as blk_state.h decides them: read, write, flush, get ID,
 * discard and write zeroes.
 *
 * Threads (ARCHITECTURE.md, "Threads"): requests are popped on the loop
 * thread (at most VBLK_MAX_JOBS held over all queues; the rest waits in
 * the rings); GET_ID and every refusal are answered there. Disk work goes
 * to the device's worker thread, which calls the host ops holding no
 * device lock, copies data between the disk and guest memory in chunks of
 * VBLK_CHUNK through a bounce buffer (checked guest access only), writes
 * the status byte, then signals done_fd; the loop returns the chains to
 * their queues (vblk_done) under the device lock.
 *
 * A virtio reset (or a machine reset) forgets every request: the worker
 * checks the device generation, under wlock, before each write into guest
 * memory, and the reset bumps it under wlock, so no byte of an old
 * request lands in guest memory after the reset returns. A paused device
 * (QMP stop) pops nothing and returns nothing; what completed meanwhile
 * goes back at cont.
 */
#ifndef MV_VIRTIO_BLK_H
#define MV_VIRTIO_BLK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/loop.h"
#include "virtio/blk_state.h"
#include "virtio/virtio.h"
#include "virtio/virtq.h"

#define VIRTIO_ID_BLOCK	    2
#define VBLK_CONFIG_SIZE    60
#define VBLK_MAX_QUEUE_SIZE 1024
#define VBLK_MAX_JOBS	    128
#define VBLK_CHUNK	    (256u << 10)
#define VBLK_SEG_MAX	    (VIRTQ_MAX_SEGS - 2) /* beside the header and the status */
/* A snapshot waits at most this long for the disk's requests, then its flush. */
#define VBLK_SAVE_TIMEOUT_MS 30000
/* A discard or write-zeroes request covers at most this many sectors per range. */
#define VBLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB */

#define VBLK_F_SEG_MAX	    2
#define VBLK_F_RO	    5
#define VBLK_F_BLK_SIZE	    6
#define VBLK_F_FLUSH	    9
#define VBLK_F_MQ	    12
#define VBLK_F_DISCARD	    13
#define VBLK_F_WRITE_ZEROES 14

struct vblk;

/* The disk, as the board opens it. Worker thread, no device lock; 0 or -errno. */
struct vblk_host_ops {
	int (*read)(struct vblk *b, uint64_t off, void *buf, size_t len);
	int (*write)(struct vblk *b, uint64_t off, const void *buf, size_t len);
	int (*flush)(struct vblk *b);
	int (*discard)(struct vblk *b, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct vblk *b, uint64_t off, uint64_t len, bool unmap);
};

struct vblk_params {
	uint64_t size; /* bytes; the capacity is whole sectors of it */
	bool readonly;
	unsigned int num_queues; /* 1..VIRTIO_MAX_QUEUES */
	uint16_t queue_size;	 /* power of two <= VBLK_MAX_QUEUE_SIZE */
	const char *serial;	 /* GET_ID: at most 20 bytes of it */
};

struct vblk_job {
	uint8_t q;
	enum vblk_action act;
	uint32_t gen;	      /* the device generation it was popped in */
	uint64_t sector, len; /* data */
	unsigned int nranges; /* discard / write zeroes */
	uint32_t type;
	uint8_t status;	   /* the answer */
	uint32_t used_len; /* bytes written to the guest, status included */
	struct virtq_chain c;
};

struct vblk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes;
	uint64_t read_bytes, write_bytes;
	uint64_t errors;  /* requests answered IOERR by the host's failure */
	uint64_t refused; /* requests answered IOERR or UNSUPP for their shape */
};

struct vblk {
	struct virtio_dev vdev;
	struct virtio_dev_ops ops; /* per device: the queue count varies */
	const struct vblk_host_ops *hops;
	struct loop *loop;
	struct vblk_disk disk;
	char serial[VBLK_ID_BYTES];
	uint16_t num_queues;

	/* Device lock: popped jobs not yet returned. */
	struct vblk_job jobs[VBLK_MAX_JOBS];
	bool job_used[VBLK_MAX_JOBS];
	unsigned int nr_jobs;
	struct vblk_stats st;

	/* Worker: wlock protects the queues below, gen, stop and the flush counts. */
	pthread_t thread;
	bool thread_up;
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	uint32_t gen;
	bool stop;
	uint16_t todo[VBLK_MAX_JOBS], done[VBLK_MAX_JOBS]; /* job indices, FIFO */
	unsigned int nr_todo, todo_head, nr_done;
	uint64_t flush_asked, flush_done; /* flushes the VMM asked for / the worker did */
	int flush_ret;			  /* the last one's result */
	unsigned int save_timeout_ms;	  /* VBLK_SAVE_TIMEOUT_MS (tests shorten it) */
	uint8_t *bounce;		  /* worker's VBLK_CHUNK bytes */
	struct loop_watch done_w;
	bool watched;
};

/* 0 or -errno; loop NULL: the test calls vblk_done itself. */
int vblk_init(struct vblk *b, const struct vblk_params *prm, const struct vblk_host_ops *hops,
	      struct gmem *mem, struct loop *loop);
/* Stops the worker (after the request it runs), then frees the device. */
void vblk_destroy(struct vblk *b);
/* Loop thread: return completed requests to their queues. Takes the lock. */
void vblk_done(struct vblk *b);
/* Loop thread: QMP stop/cont; cont returns what completed meanwhile. Takes the lock. */
void vblk_set_paused(struct vblk *b, bool paused);
/* Test helper: wait until the worker has nothing to do. */
void vblk_wait_idle(struct vblk *b);

/*
 * For blk_save, the device lock held. The waits end at deadline
 * (CLOCK_MONOTONIC; NULL: no limit) with -ETIMEDOUT, and the loop thread
 * never does disk I/O itself: a stuck host disk fails the snapshot instead
 * of stalling the VMM, and the late request or flush still completes.
 */
/* Waits until every popped request is finished (in done[], not yet returned). */
int vblk_drain_locked(struct vblk *b, const struct timespec *deadline);
/* The worker flushes the disk after what it holds; 0, the flush's -errno, or -ETIMEDOUT. */
int vblk_flush_locked(struct vblk *b, const struct timespec *deadline);
int vblk_add_done_locked(struct vblk *b, uint8_t q, uint16_t head, uint32_t used_len, bool failed);

#endif
