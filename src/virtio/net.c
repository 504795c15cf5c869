#include "virtio/net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define ETH_HDR 14

static struct vnet *to_vnet(struct virtio_dev *d)
{
	return container_of(d, struct vnet, vdev);
}

int vnet_check_hdr(uint8_t hdr[VNET_HDR_SIZE], uint64_t features, bool rx)
{
	bool csum = features >> (rx ? VNET_F_GUEST_CSUM : VNET_F_CSUM) & 1;
	bool tso4 = features >> (rx ? VNET_F_GUEST_TSO4 : VNET_F_HOST_TSO4) & 1;
	bool tso6 = features >> (rx ? VNET_F_GUEST_TSO6 : VNET_F_HOST_TSO6) & 1;
	uint8_t flags = hdr[0], gso = hdr[1];

	/* DATA_VALID means something toward the guest only, and only with GUEST_CSUM. */
	flags &= VNET_HDR_F_NEEDS_CSUM | (rx && csum ? VNET_HDR_F_DATA_VALID : 0);
	if ((flags & VNET_HDR_F_NEEDS_CSUM) && !csum)
		return -EINVAL;
	if (gso != VNET_GSO_NONE && !(gso == VNET_GSO_TCPV4 && tso4) &&
	    !(gso == VNET_GSO_TCPV6 && tso6))
		return -EINVAL;
	hdr[0] = flags;
	if (gso == VNET_GSO_NONE)
		memset(hdr + 2, 0, 4); /* hdr_len, gso_size */
	if (!(flags & VNET_HDR_F_NEEDS_CSUM))
		memset(hdr + 6, 0, 4);	 /* csum_start, csum_offset */
	le_put(hdr + 10, rx ? 1 : 0, 2); /* num_buffers: the frame is in one chain */
	return 0;
}

/* The offloads the host side may hand a driver with these features. */
static unsigned int vnet_offloads_of(uint64_t f)
{
	if (!(f >> VNET_F_GUEST_CSUM & 1))
		return 0;
	return VNET_OFF_CSUM | (f >> VNET_F_GUEST_TSO4 & 1 ? VNET_OFF_TSO4 : 0) |
	       (f >> VNET_F_GUEST_TSO6 & 1 ? VNET_OFF_TSO6 : 0);
}

/* The spec's dependencies: segmentation needs its side's checksum offload. */
static int vnet_features_ok(struct virtio_dev *d, uint64_t f)
{
	struct vnet *n = to_vnet(d);
	int ret;

	if (((f >> VNET_F_GUEST_TSO4 & 1) || (f >> VNET_F_GUEST_TSO6 & 1)) &&
	    !(f >> VNET_F_GUEST_CSUM & 1))
		return -EINVAL;
	if (((f >> VNET_F_HOST_TSO4 & 1) || (f >> VNET_F_HOST_TSO6 & 1)) && !(f >> VNET_F_CSUM & 1))
		return -EINVAL;
	if (n->set_offloads) {
		ret = n->set_offloads(n, vnet_offloads_of(f));
		if (ret)
			return ret;
	}
	n->features = f;
	return 0;
}

static void vnet_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct vnet *n = to_vnet(d);
	uint8_t cfg[VNET_CONFIG_SIZE] = {0};

	memcpy(cfg, n->mac, 6);
	le_put(cfg + 6, VNET_S_LINK_UP, 2);
	le_put(cfg + 8, 1, 2); /* max_virtqueue_pairs (MQ is not offered) */
	le_put(cfg + 10, n->mtu, 2);
	memcpy(data, cfg + off, len);
}

/* Lock held: may a frame go into guest memory now? */
static bool vnet_rx_ok(const struct vnet *n)
{
	const struct virtio_dev *d = &n->vdev;

	return !d->paused && !d->dma_off && (d->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(d->status & VIRTIO_STATUS_NEEDS_RESET) && d->vqs[VNET_RXQ].enabled &&
	       !d->vqs[VNET_RXQ].broken;
}

/* Lock held: watch the fd for input, or stop watching it. */
static void vnet_arm(struct vnet *n, bool on)
{
	int ret;

	if (n->rx_armed == on)
		return;
	n->rx_armed = on;
	ret = n->watched ? loop_mod(n->loop, &n->rx_w, on ? EPOLLIN : 0) : 0;
	if (ret)
		mv_warn("virtio-net: %s the tap's watch: %s", on ? "starting" : "stopping",
			strerror(-ret));
}

/* Lock held: one frame from the fd into rx_buf; 1 read, 0 nothing there (or only runts), -errno. */
static int vnet_read_frame(struct vnet *n)
{
	/* Runts count against the wakeup's budget: the tap's watch brings the loop back for more.
	 */
	for (unsigned int runts = 0; runts < VNET_RX_BUDGET;) {
		ssize_t r = read(n->rx_w.fd, n->rx_buf, VNET_BOUNCE);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (r < VNET_HDR_SIZE + ETH_HDR) {
			n->st.rx_dropped++; /* a runt: no frame behind its header */
			runts++;
			continue;
		}
		n->rx_len = r;
		return 1;
	}
	return 0;
}

/*
 * Lock held, MRG_RXBUF: the kept frame spread over as many receive chains as
 * it needs, in order, num_buffers in the first one's header. Until the last
 * chain is there nothing is used: the chains are given back (virtq_unpop)
 * and the frame waits. A frame that a whole queue of chains cannot hold
 * (only a hostile driver posts such buffers) is dropped, the chains
 * returned empty. 1: done (delivered or dropped), 0: wait, -errno: broken.
 */
static int vnet_rx_merge(struct vnet *n, struct virtq *q, const struct virtq_chain *c0)
{
	struct virtq_chain c;
	uint64_t off = MV_MIN(c0->in_len, n->rx_len);
	unsigned int k = 1;
	bool drop = false;
	int ret;

	n->mrg_head[0] = c0->head;
	n->mrg_len[0] = off;
	while (off < n->rx_len) {
		if (k == q->size) {
			drop = true;
			break;
		}
		ret = virtq_pop(q, &c);
		if (ret < 0 || q->broken)
			return -EPROTO;
		if (ret == 0) {
			virtq_unpop(q, k);
			return 0;
		}
		n->mrg_head[k] = c.head;
		n->mrg_len[k] = MV_MIN(c.in_len, n->rx_len - off);
		if (virtq_chain_write(q, &c, 0, n->rx_buf + off, n->mrg_len[k]))
			return -EFAULT;
		off += n->mrg_len[k++];
	}
	le_put(n->rx_buf + 10, k, 2); /* num_buffers */
	if (drop)
		n->st.rx_dropped++;
	else if (virtq_chain_write(q, c0, 0, n->rx_buf, n->mrg_len[0]))
		return -EFAULT;
	for (unsigned int i = 0; i < k; i++)
		if (virtq_push(q, n->mrg_head[i], drop ? 0 : n->mrg_len[i]))
			return -EPROTO;
	if (!drop) {
		n->st.rx_packets++;
		n->st.rx_bytes += n->rx_len - VNET_HDR_SIZE;
	}
	return 1;
}

/*
 * Lock held: the kept frame into the receive queue (one chain, or several
 * with MRG_RXBUF); a frame no buffer can take is dropped and its chain
 * returned empty. 1: done, 0: no chain (or not all it needs) yet, -errno: broken.
 */
static int vnet_rx_one(struct vnet *n, struct virtq *q)
{
	bool merge = n->features >> VNET_F_MRG_RXBUF & 1;
	struct virtq_chain c;
	uint32_t len = 0;
	int ret;

	ret = virtq_pop(q, &c);
	if (ret < 0 || q->broken)
		return -EPROTO;
	if (ret == 0)
		return 0;
	if (vnet_check_hdr(n->rx_buf, n->features, true) || c.in_len < VNET_HDR_SIZE ||
	    (!merge && c.in_len < n->rx_len)) {
		/*
		 * An offload the driver did not accept (the tap should not send it),
		 * a first buffer without room for the header, or a frame larger than
		 * the buffer: dropped, the buffer returned.
		 */
		n->st.rx_dropped++;
	} else if (merge) {
		return vnet_rx_merge(n, q, &c);
	} else {
		if (virtq_chain_write(q, &c, 0, n->rx_buf, n->rx_len))
			return -EFAULT;
		n->st.rx_packets++;
		n->st.rx_bytes += n->rx_len - VNET_HDR_SIZE;
		len = n->rx_len;
	}
	return virtq_push(q, c.head, len) ? -EPROTO : 1;
}

/* Lock held: up to VNET_RX_BUDGET frames into the receive queue. */
static void vnet_rx_locked(struct vnet *n)
{
	struct virtq *q = &n->vdev.vqs[VNET_RXQ];
	bool used = false;
	unsigned int i;
	int ret;

	for (i = 0; i < VNET_RX_BUDGET; i++) {
		if (!vnet_rx_ok(n)) {
			vnet_arm(n, false);
			break;
		}
		if (!n->rx_len) {
			ret = vnet_read_frame(n);
			if (ret <= 0) {
				if (ret < 0)
					mv_warn("virtio-net: reading the tap: %s", strerror(-ret));
				/* Nothing there: wait for the next frame (an error: for a kick). */
				vnet_arm(n, ret == 0);
				break;
			}
		}
		ret = vnet_rx_one(n, q);
		if (ret < 0) {
			virtio_dev_set_needs_reset(&n->vdev);
			vnet_arm(n, false);
			break;
		}
		if (ret == 0) {
			/* The budget of this wakeup spent: on at the next; no buffer: at a kick. */
			vnet_arm(n, q->more);
			break;
		}
		n->rx_len = 0;
		used = true;
	}
	if (used)
		virtio_dev_notify_used(&n->vdev, VNET_RXQ);
}

/* Lock held: one transmit chain's frame to the fd; -EFAULT when the guest memory is gone. */
static int vnet_tx_one(struct virtio_dev *d, struct virtq *q, const struct virtq_chain *c,
		       uint32_t *written)
{
	struct vnet *n = to_vnet(d);
	ssize_t w;

	if (c->out_len < VNET_HDR_SIZE + ETH_HDR || c->out_len > VNET_BOUNCE || c->in_len) {
		n->st.tx_errors++;
		return 0;
	}
	if (virtq_chain_read(q, c, 0, n->tx_buf, c->out_len))
		return -EFAULT;
	if (vnet_check_hdr(n->tx_buf, n->features, false)) {
		n->st.tx_errors++; /* an offload it did not negotiate */
		return 0;
	}
	do
		w = write(n->rx_w.fd, n->tx_buf, c->out_len);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)c->out_len) {
		n->st.tx_packets++;
		n->st.tx_bytes += c->out_len - VNET_HDR_SIZE;
	} else {
		n->st.tx_dropped++; /* the host's queue is full, or the tap is down */
	}
	return 0;
}

static void vnet_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	if (qi == VNET_RXQ)
		vnet_rx_locked(to_vnet(d)); /* buffers added: a kept frame, then the fd */
	else
		virtio_dev_serve_queue(d, qi, vnet_tx_one);
}

static void vnet_reset(struct virtio_dev *d)
{
	struct vnet *n = to_vnet(d);

	if (n->rx_len)
		n->st.rx_dropped++;
	n->rx_len = 0;
	vnet_arm(n, false); /* until the driver's first receive notification */
	n->features = 0;
	if (n->set_offloads && n->set_offloads(n, 0))
		mv_warn("virtio-net: the tap's offloads not turned off at the reset");
}

static void vnet_rx_cb(struct loop_watch *w, uint32_t events)
{
	struct vnet *n = container_of(w, struct vnet, rx_w);

	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		/* The fd is gone for good (reported whatever the mask): stop watching it. */
		mv_warn("virtio-net: the tap hung up; the guest receives nothing more");
		loop_del(n->loop, &n->rx_w);
		n->watched = false;
		return;
	}
	vnet_rx(n);
}

void vnet_rx(struct vnet *n)
{
	struct virtio_dev *d = &n->vdev;
	struct virtq *q = &d->vqs[VNET_RXQ];

	pthread_mutex_lock(&d->lock);
	virtq_budget_reset(q);
	vnet_rx_locked(n);
	/*
	 * The queue's budget ran out with a frame kept (MRG_RXBUF frames take
	 * several chains): go on from the loop, not only at the tap's next frame.
	 */
	if (q->more && n->rx_len && d->transport && d->transport->ops->kick_later)
		d->transport->ops->kick_later(d->transport, VNET_RXQ);
	pthread_mutex_unlock(&d->lock);
}

void vnet_set_paused(struct vnet *n, bool paused)
{
	pthread_mutex_lock(&n->vdev.lock);
	if (paused)
		vnet_arm(n, false);
	else
		vnet_rx_locked(n);
	pthread_mutex_unlock(&n->vdev.lock);
}

int vnet_restored(struct vnet *n)
{
	int ret = 0;

	pthread_mutex_lock(&n->vdev.lock);
	if (n->vdev.status & VIRTIO_STATUS_FEATURES_OK) {
		n->features = n->vdev.driver_features;
		if (n->set_offloads)
			ret = n->set_offloads(n, vnet_offloads_of(n->features));
	}
	if (!ret)
		vnet_rx_locked(n);
	pthread_mutex_unlock(&n->vdev.lock);
	return ret;
}

int vnet_init(struct vnet *n, const struct vnet_params *prm, struct gmem *mem, struct loop *loop)
{
	uint64_t f = 1ULL << VNET_F_MAC | 1ULL << VNET_F_STATUS | 1ULL << VNET_F_MRG_RXBUF;
	int ret;

	if (!is_pow2(prm->queue_size) || prm->queue_size > VNET_MAX_QUEUE_SIZE || prm->fd < 0 ||
	    (prm->mtu && (prm->mtu < VNET_MIN_MTU || prm->mtu > VNET_MAX_MTU)))
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->ops = (struct virtio_dev_ops){
	    .device_id = VIRTIO_ID_NET,
	    .num_queues = 2,
	    .queue_max_size = prm->queue_size,
	    .config_size = VNET_CONFIG_SIZE,
	    .features_ok = vnet_features_ok,
	    .config_read = vnet_config_read,
	    .queue_notify = vnet_queue_notify,
	    .reset = vnet_reset,
	};
	n->loop = loop;
	memcpy(n->mac, prm->mac, 6);
	n->mtu = prm->mtu;
	if (prm->mtu)
		f |= 1ULL << VNET_F_MTU;
	if (prm->offloads)
		f |= VNET_OFFLOAD_FEATURES;
	n->set_offloads = prm->set_offloads;
	n->rx_w.fd = prm->fd;
	n->rx_w.cb = vnet_rx_cb;
	n->rx_buf = malloc(VNET_BOUNCE);
	n->tx_buf = malloc(VNET_BOUNCE);
	if (!n->rx_buf || !n->tx_buf) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = virtio_dev_init(&n->vdev, &n->ops, mem, f);
	if (ret)
		goto fail;
	if (loop) {
		ret = loop_add(loop, &n->rx_w, 0);
		if (ret) {
			virtio_dev_destroy(&n->vdev);
			goto fail;
		}
		n->watched = true;
	}
	return 0;
fail:
	free(n->rx_buf);
	free(n->tx_buf);
	n->rx_buf = n->tx_buf = NULL;
	return ret;
}

void vnet_destroy(struct vnet *n)
{
	if (n->watched)
		loop_del(n->loop, &n->rx_w);
	n->watched = false;
	virtio_dev_destroy(&n->vdev);
	free(n->rx_buf);
	free(n->tx_buf);
	n->rx_buf = n->tx_buf = NULL;
}
