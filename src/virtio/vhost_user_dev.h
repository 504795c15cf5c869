/*
 * vhost_user_dev: a virtio device whose queues a vhost-user back-end
 * serves (virtio-fs through virtiofsd, virtio-blk through
 * qemu-storage-daemon's vhost-user-blk export).
 * memvisor keeps the virtio-pci function, the device config and the
 * feature offer; the back-end maps guest memory from the fds it is given,
 * reads its kicks from the queues' notify eventfds (which KVM signals at
 * the notify address) and signals one eventfd per queue when it used
 * buffers, which the loop turns into the queue's interrupt.
 *
 * The offer is the back-end's device features and the ring features
 * memvisor's transport carries (VERSION_1, INDIRECT_DESC, EVENT_IDX); the
 * driver's choice is handed over at DRIVER_OK, with the memory table and,
 * per enabled queue, its size, base 0, ring addresses (in the back-end's
 * view, checked to lie in one memory region), kick and call fds, and
 * SET_VRING_ENABLE where protocol features are in use. A virtio or
 * machine reset stops every started ring (GET_VRING_BASE) before the
 * guest may reuse its memory.
 *
 * Threads: start and stop run on the thread that wrote the status (a vCPU,
 * or the loop for a machine reset), under the device lock, each message
 * bounded by the connection's timeout; the call eventfds and the socket's
 * hang-up are watched by the loop. A back-end that fails a request, closes
 * its socket or sends what was not asked for breaks the device: the
 * connection is closed, the driver sees DEVICE_NEEDS_RESET, and `broken`
 * is called once on the loop thread with the reason (the VM runs on; a
 * reset of the device does not reconnect). A disk (prm.takeover) then has
 * its queues answered by the loop: every new request fails with IOERR, and
 * so do those the back-end held where it kept an inflight area.
 */
#ifndef MV_VIRTIO_VHOST_USER_DEV_H
#define MV_VIRTIO_VHOST_USER_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "virtio/vhost_user.h"
#include "virtio/vhost_user_takeover.h"
#include "virtio/virtio.h"

#define VUDEV_FS_DEVICE_ID  26
#define VUDEV_FS_TAG_LEN    36
#define VUDEV_FS_CONFIG_LEN (VUDEV_FS_TAG_LEN + 4)
#define VUDEV_MAX_CONFIG    64
#define VUDEV_BLK_DEVICE_ID 2
/* virtio-blk's config up to write_zeroes_may_unmap and its padding, as Linux and QEMU 7.2 read it
 */
#define VUDEV_BLK_CONFIG_LEN 60
#define VUDEV_BLK_F_CONFIG_WCE                                                                     \
	11 /* the driver writes the cache mode: not carried (no SET_CONFIG) */
#define VUDEV_BLK_F_MQ		 12
#define VUDEV_BLK_OFF_NUM_QUEUES 34

/* Guest memory as the back-end maps it: one region per fd. */
struct vudev_mem {
	struct vu_region r[VU_MAX_FDS];
	int fd[VU_MAX_FDS]; /* borrowed from the memory backends */
	unsigned int n;
};

struct vudev;

struct vudev_params {
	const char *name; /* "--fs id=fs0", for messages */
	uint32_t device_id;
	unsigned int num_queues; /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_size;
	const uint8_t *config; /* the device config the driver reads */
	uint32_t config_size;  /* <= VUDEV_MAX_CONFIG */
	uint64_t withhold;     /* device feature bits not offered whatever the back-end says */
	/* virtio-blk: when the back-end dies, answer its queues with IOERR (vhost_user_takeover.h)
	 */
	bool takeover;
	void (*broken)(struct vudev *d, const char *why); /* loop thread, lock not held */
	void *opaque;
};

struct vudev_call {
	struct loop_watch w; /* the eventfd the back-end signals */
	struct vudev *d;
	unsigned int q;
};

/* A queue memvisor answers after the back-end died. */
struct vudev_take {
	struct loop_watch w; /* a dup of the queue's kick eventfd, watched from the takeover on */
	struct vudev *d;
	unsigned int q;
	bool pending; /* the back-end held it when it broke: take over on the loop */
	bool on;
	struct vutake_ring r;
};

struct vudev {
	struct virtio_dev vdev;
	struct virtio_dev_ops ops; /* per device: the queue count is the user's */
	struct vudev_params prm;
	uint8_t config[VUDEV_MAX_CONFIG];
	struct loop *loop;
	struct vu_conn conn; /* connected by the caller, owned from vudev_init on */
	struct vudev_mem mem;
	int kick_fd[VIRTIO_MAX_QUEUES]; /* borrowed from the transport (virtio_pci_take_notify) */
	struct vudev_call call[VIRTIO_MAX_QUEUES];
	struct loop_watch sock_w;   /* a dup of conn.fd: its hang-up, whoever closed conn */
	struct loop_watch broken_w; /* eventfd: report a breakage from the loop */
	uint32_t started;	    /* queues handed to the back-end (bit per queue) */
	/* The back-end's inflight area (INFLIGHT_SHMFD, with prm.takeover), mapped here. */
	int infl_fd;
	uint8_t *infl;
	struct vu_inflight infl_area;
	struct vudev_take take[VIRTIO_MAX_QUEUES];
	bool broken;
	bool reported;
	char why[384];
	/* statistics */
	uint64_t starts, stops, calls;
};

/* The virtio-fs device config: the tag, NUL-padded (not terminated when 36 bytes), and the request
 * queue count. */
void vudev_fs_config(const char *tag, uint32_t request_queues, uint8_t out[VUDEV_FS_CONFIG_LEN]);
/*
 * A disk's config as the driver reads it: the back-end's (cfg, from
 * GET_CONFIG) with memvisor's queue count. 0, or -EINVAL with err one line
 * when the back-end cannot serve num_queues queues (MQ not offered while
 * num_queues > 1). Pure.
 */
int vudev_blk_config(uint8_t cfg[VUDEV_BLK_CONFIG_LEN], uint64_t backend_features,
		     unsigned int num_queues, char *err, size_t errlen);
/*
 * Where the back-end sees [gpa, gpa+len): 0 with *uaddr when the whole span
 * lies in one region of m, -EFAULT otherwise (len 0 included). Pure.
 */
int vudev_translate(const struct vudev_mem *m, uint64_t gpa, uint64_t len, uint64_t *uaddr);
/* The features offered to the driver from the back-end's. Pure. */
uint64_t vudev_offer(uint64_t backend_features);

/*
 * Take over conn (connected, handshake done) and make the device: 0 or
 * -errno with err one line. On failure conn is closed too.
 */
int vudev_init(struct vudev *d, const struct vudev_params *prm, struct vu_conn *conn,
	       struct gmem *gm, struct loop *loop, char *err, size_t errlen);
/* The memory table handed over at every start (copied; fds borrowed). Lock not held. */
void vudev_set_mem(struct vudev *d, const struct vudev_mem *m);
/* Queue q's kick eventfd (from the transport, which keeps it). Before the guest runs. */
void vudev_set_kick(struct vudev *d, unsigned int q, int fd);
/* After the VM resumes (or bus mastering returns): look again at queues memvisor answers. */
void vudev_resumed(struct vudev *d);
void vudev_destroy(struct vudev *d);

#endif
