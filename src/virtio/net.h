/*
 * net: virtio-net (device id 1), one receive and one transmit queue over a
 * packet fd the board opens: a tap device with IFF_VNET_HDR and a 12-byte
 * vnet header, so one read is one received frame behind its header and
 * one write sends one. Tests give it a SOCK_SEQPACKET socket instead.
 * Features: MAC, STATUS (the link is always up) and MTU when one is
 * given. No offloads are offered: the header of every frame is rewritten
 * to "no checksum, no segmentation" in both directions, so neither the
 * guest nor the host can hand the other a GSO or checksum request that
 * was not negotiated.
 *
 * Threads (ARCHITECTURE.md, "Threads"): everything runs on the loop thread
 * under the device lock. Transmit: the driver's notification pops each
 * chain, copies its readable bytes (checked guest access) into a bounce
 * buffer and writes them to the fd; a frame the fd refuses (EAGAIN, or a
 * malformed chain) is dropped and counted, and its chain returned. Receive:
 * the fd is watched for input only while a frame can be delivered; a
 * frame read when no receive buffer is available is kept (one) and the
 * watch stops until the driver adds buffers (its receive notification),
 * the VM resumes, or the driver is reset (the kept frame is then dropped).
 * At most VNET_RX_BUDGET frames per wakeup, so a flood from the host cannot
 * keep the loop from its other work.
 */
#ifndef MV_VIRTIO_NET_H
#define MV_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "virtio/virtio.h"

#define VIRTIO_ID_NET	    1
#define VNET_CONFIG_SIZE    12 /* mac[6], status, max_virtqueue_pairs, mtu */
#define VNET_MAX_QUEUE_SIZE 1024
#define VNET_HDR_SIZE	    12		 /* virtio_net_hdr_v1 (VERSION_1: num_buffers too) */
#define VNET_MAX_FRAME	    (65535 + 14) /* what an IPv4/IPv6 packet can fill, with ethernet */
#define VNET_BOUNCE	    (VNET_HDR_SIZE + VNET_MAX_FRAME)
#define VNET_RX_BUDGET	    256
#define VNET_RXQ	    0
#define VNET_TXQ	    1
#define VNET_F_MTU	    3
#define VNET_F_MAC	    5
#define VNET_F_STATUS	    16
#define VNET_S_LINK_UP	    1
#define VNET_MIN_MTU	    68
#define VNET_MAX_MTU	    65535

struct vnet_params {
	uint8_t mac[6];
	unsigned int mtu; /* 0: none offered (VNET_F_MTU off) */
	uint16_t queue_size;
	int fd; /* nonblocking packet fd; the device does not close it */
};

struct vnet_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_dropped; /* frames read with nowhere to go (too large, reset) */
	uint64_t tx_dropped; /* frames the fd refused */
	uint64_t tx_errors;  /* chains that are no frame (too short, too long, unreadable) */
};

struct vnet {
	struct virtio_dev vdev;
	struct virtio_dev_ops ops; /* per device: the queue size varies */
	struct loop *loop;
	struct loop_watch rx_w; /* the fd, EPOLLIN while receiving */
	bool watched, rx_armed;
	uint8_t mac[6];
	unsigned int mtu;
	uint8_t *rx_buf, *tx_buf; /* VNET_BOUNCE bytes each */
	size_t rx_len;		  /* a frame read but not delivered yet (0: none) */
	struct vnet_stats st;
};

/* 0 or -errno; loop NULL: the test calls vnet_rx itself. */
int vnet_init(struct vnet *n, const struct vnet_params *prm, struct gmem *mem, struct loop *loop);
void vnet_destroy(struct vnet *n);
/* Loop thread: frames waiting on the fd go to the guest. Takes the lock. */
void vnet_rx(struct vnet *n);
/* Loop thread: QMP stop/cont; cont receives again. Takes the lock. */
void vnet_set_paused(struct vnet *n, bool paused);

/*
 * Pure: the header a frame carries to the other side, whatever it had:
 * flags, GSO type and sizes cleared (nothing is offloaded), num_buffers 1
 * toward the guest (rx), 0 toward the host.
 */
void vnet_clean_hdr(uint8_t hdr[VNET_HDR_SIZE], bool rx);

#endif
