/*
 * net: virtio-net (device id 1), one receive and one transmit queue over a
 * packet fd the board opens: a tap device with IFF_VNET_HDR and a 12-byte
 * vnet header, so one read is one received frame behind its header and
 * one write sends one. Tests give it a SOCK_SEQPACKET socket instead.
 * Features: MAC, STATUS (the link is always up), MTU when one is given,
 * MRG_RXBUF (a received frame spread over as many receive chains as it
 * needs, num_buffers saying how many; none is used until all are there),
 * and, when the host side can take them (vnet_params.offloads), checksum
 * and TCP segmentation offloads both ways: CSUM and HOST_TSO4/6 (the guest
 * sends partial checksums and 64 KiB TCP segments, which the tap's kernel
 * side finishes), GUEST_CSUM and GUEST_TSO4/6 (the tap hands such frames
 * to the guest; set_offloads tells it which the driver accepted). Every
 * frame's header is checked against what was negotiated, in both
 * directions (vnet_check_hdr): a segmentation type or checksum request
 * the other side did not accept drops the frame; what a header may not
 * carry is cleared.
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
#define VNET_MAX_FRAME	    (65535 + 18) /* an IP packet at its largest, behind ethernet and VLAN */
#define VNET_BOUNCE	    (VNET_HDR_SIZE + VNET_MAX_FRAME)
#define VNET_RX_BUDGET	    256
#define VNET_RXQ	    0
#define VNET_TXQ	    1
#define VNET_F_CSUM	    0
#define VNET_F_GUEST_CSUM   1
#define VNET_F_MTU	    3
#define VNET_F_MAC	    5
#define VNET_F_GUEST_TSO4   7
#define VNET_F_GUEST_TSO6   8
#define VNET_F_HOST_TSO4    11
#define VNET_F_HOST_TSO6    12
#define VNET_F_MRG_RXBUF    15
#define VNET_F_STATUS	    16
#define VNET_OFFLOAD_FEATURES                                                                      \
	(1ULL << VNET_F_CSUM | 1ULL << VNET_F_GUEST_CSUM | 1ULL << VNET_F_GUEST_TSO4 |             \
	 1ULL << VNET_F_GUEST_TSO6 | 1ULL << VNET_F_HOST_TSO4 | 1ULL << VNET_F_HOST_TSO6)
#define VNET_S_LINK_UP 1
/* The header (virtio_net_hdr_v1). */
#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2
#define VNET_GSO_NONE	      0
#define VNET_GSO_TCPV4	      1
#define VNET_GSO_TCPV6	      4
/* What the host side may hand the guest (set_offloads). */
#define VNET_OFF_CSUM 1
#define VNET_OFF_TSO4 2
#define VNET_OFF_TSO6 4
#define VNET_MIN_MTU  68
#define VNET_MAX_MTU  65535

struct vnet;

struct vnet_params {
	uint8_t mac[6];
	unsigned int mtu; /* 0: none offered (VNET_F_MTU off) */
	uint16_t queue_size;
	int fd;	       /* nonblocking packet fd; the device does not close it */
	bool offloads; /* offer the checksum and TSO features */
	/*
	 * Optional, with offloads: what the host side may now hand the guest
	 * (VNET_OFF_* bits; 0 at a reset). 0 or -errno (the driver's FEATURES_OK
	 * is then refused). Lock held, any thread, bounded.
	 */
	int (*set_offloads)(struct vnet *n, unsigned int off);
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
	int (*set_offloads)(struct vnet *n, unsigned int off);
	uint64_t features;	  /* the driver's, once FEATURES_OK; 0 after a reset */
	uint8_t *rx_buf, *tx_buf; /* VNET_BOUNCE bytes each */
	size_t rx_len;		  /* a frame read but not delivered yet (0: none) */
	/* MRG_RXBUF: the chains one frame is being spread over, and their lengths. */
	uint16_t mrg_head[VNET_MAX_QUEUE_SIZE];
	uint32_t mrg_len[VNET_MAX_QUEUE_SIZE];
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
 * Loop thread, after the transport's section was loaded: the host side
 * takes the offloads the driver had accepted, and receiving starts (the
 * driver's buffers came back with the rings; no kick announces them).
 * 0 or set_offloads' -errno. Takes the lock.
 */
int vnet_restored(struct vnet *n);

/*
 * Pure: a frame's header checked against the negotiated features, as it
 * goes to the guest (rx: from the host side, against GUEST_*) or to the
 * host (tx: from the guest, against CSUM and HOST_*). 0 with the header
 * rewritten to what it may carry (no checksum fields without NEEDS_CSUM,
 * no sizes without a GSO type, num_buffers 1 toward the guest and 0
 * toward the host), or -EINVAL: a checksum request or segmentation type
 * that side did not accept (ECN and UDP never are); the frame is dropped.
 */
int vnet_check_hdr(uint8_t hdr[VNET_HDR_SIZE], uint64_t features, bool rx);

#endif
