#include "virtio/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define VSOCK_TIMER_MS 500

static struct vsock *to_vsock(struct virtio_dev *d)
{
	return container_of(d, struct vsock, vdev);
}

static void vsock_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	uint8_t cfg[VSOCK_CONFIG_SIZE];

	le_put(cfg, to_vsock(d)->cid, 8);
	memcpy(data, cfg + off, len);
}

/* Lock held: may a packet go into guest memory now? */
static bool vsock_dma_ok(const struct vsock *v, unsigned int qi)
{
	const struct virtio_dev *d = &v->vdev;

	return !d->paused && !d->dma_off && (d->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(d->status & VIRTIO_STATUS_NEEDS_RESET) && d->vqs[qi].enabled && !d->vqs[qi].broken;
}

/* What the guest may still be sent on c. */
static uint32_t conn_credit(const struct vsock_conn *c)
{
	return vsock_peer_credit(c->peer_buf_alloc, c->peer_fwd_cnt, c->tx_cnt);
}

static uint32_t conn_held(const struct vsock_conn *c)
{
	return c->rx_cnt - c->fwd_cnt;
}

/* Lock held: the watch's mask follows what the connection can do now. */
static void conn_arm(struct vsock_conn *c)
{
	uint32_t ev = 0;
	int ret;

	if (c->state == VSOCK_LINE)
		ev = EPOLLIN;
	else if (c->state == VSOCK_OPEN) {
		if (!c->readable && !c->host_eof && !c->guest_shut_rcv && conn_credit(c))
			ev |= EPOLLIN;
		if (c->ok_off < c->ok_len || conn_held(c))
			ev |= EPOLLOUT;
	}
	if (c->unwatched) {
		c->readable = !c->host_eof; /* hung up: read what is left, up to the EOF */
		return;
	}
	if (ev == c->events)
		return;
	c->events = ev;
	ret = loop_mod(c->v->loop, &c->w, ev);
	if (ret)
		mv_warn("virtio-vsock: watching a connection's socket: %s", strerror(-ret));
}

static void timer_need(struct vsock *v)
{
	if (v->timer_armed || !v->timer_up)
		return;
	if (!loop_timer_arm(&v->timer, VSOCK_TIMER_MS, VSOCK_TIMER_MS))
		v->timer_armed = true;
}

/* Lock held: a reset owed to the guest for (host port, guest port); dropped when too many wait. */
static void owe_rst(struct vsock *v, uint32_t local, uint32_t peer)
{
	unsigned int i;

	if (v->rst_len == VSOCK_MAX_RST)
		return; /* the guest's own timeout ends that connection */
	i = (v->rst_head + v->rst_len++) % VSOCK_MAX_RST;
	v->rst[i][0] = local;
	v->rst[i][1] = peer;
}

/* Lock held: the connection ends here; the guest is told with a reset when rst. */
static void conn_close(struct vsock_conn *c, bool rst)
{
	struct vsock *v = c->v;

	if (rst && c->state != VSOCK_LINE)
		owe_rst(v, c->local_port, c->peer_port);
	if (!c->unwatched)
		loop_del(v->loop, &c->w);
	close(c->w.fd);
	c->w.fd = -1;
	c->state = VSOCK_FREE; /* the ring stays allocated for the slot's next connection */
}

static struct vsock_conn *conn_find(struct vsock *v, uint32_t local, uint32_t peer)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];

		if (c->state != VSOCK_FREE && c->state != VSOCK_LINE && c->local_port == local &&
		    c->peer_port == peer)
			return c;
	}
	return NULL;
}

static void vsock_conn_cb(struct loop_watch *w, uint32_t events);

/* Lock held: a free slot holding fd, watched with no events yet; NULL when the table is full. */
static struct vsock_conn *conn_new(struct vsock *v, int fd, enum vsock_conn_state state)
{
	struct vsock_conn *c = NULL;
	uint8_t *ring;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS && !c; i++)
		if (v->conns[i].state == VSOCK_FREE)
			c = &v->conns[i];
	if (!c)
		return NULL;
	ring = c->buf ? c->buf : malloc(VSOCK_CONN_BUF);
	if (!ring)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->buf = ring;
	c->v = v;
	c->w.fd = fd;
	c->w.cb = vsock_conn_cb;
	if (loop_add(v->loop, &c->w, 0)) {
		c->w.fd = -1;
		return NULL;
	}
	c->state = state;
	v->st.conns++;
	return c;
}

/*
 * Lock held: the guest's bytes (after the OK line) into the socket, as much
 * as it takes now. A credit update is owed once half the buffer drained
 * since the guest last heard. The guest's SHUTDOWN(SEND) is passed on once
 * everything before it is written. -errno: the socket is broken.
 */
static int conn_flush(struct vsock_conn *c)
{
	ssize_t w;

	while (c->ok_off < c->ok_len) {
		w = send(c->w.fd, c->ok + c->ok_off, c->ok_len - c->ok_off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->ok_off += w;
	}
	while (conn_held(c)) {
		uint32_t at = c->fwd_cnt % VSOCK_CONN_BUF;
		uint32_t n = MV_MIN(conn_held(c), VSOCK_CONN_BUF - at);

		w = send(c->w.fd, c->buf + at, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->fwd_cnt += w;
		c->v->st.tx_bytes += w;
	}
	if (c->fwd_cnt - c->fwd_told >= VSOCK_CONN_BUF / 2)
		c->owed |= VSOCK_OWE_CREDIT;
	if (c->guest_shut_send && !c->shut_wr) {
		c->shut_wr = true;
		shutdown(c->w.fd, SHUT_WR);
	}
	return 0;
}

/*
 * Lock held: both directions are done (or the guest closed and what it sent
 * is written), or the socket broke: the connection ends.
 */
static void conn_settle(struct vsock_conn *c, int err)
{
	if (err || (c->shut_wr && (c->host_eof || c->guest_shut_rcv)))
		conn_close(c, true);
	else
		conn_arm(c);
}

/* Lock held: a host connection's "CONNECT <port>\n", left in the socket until complete. */
static void conn_read_line(struct vsock_conn *c)
{
	struct vsock *v = c->v;
	char line[VSOCK_CONNECT_MAX];
	size_t used;
	uint32_t port;
	ssize_t r;
	int ret;

	r = recv(c->w.fd, line, sizeof(line), MSG_PEEK);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ret = r <= 0 ? -EPIPE : vsock_parse_connect(line, r, &port, &used);
	if (ret == 0)
		return; /* more to come (the timer ends a client that never finishes) */
	if (ret < 0 || recv(c->w.fd, line, used, 0) != (ssize_t)used) {
		v->st.refused++;
		conn_close(c, false);
		return;
	}
	/* A host port no other connection to that guest port uses (at most VSOCK_MAX_CONNS do). */
	do {
		c->local_port = v->next_port++;
		if (v->next_port < VSOCK_LOCAL_PORT_BASE)
			v->next_port = VSOCK_LOCAL_PORT_BASE;
	} while (conn_find(v, c->local_port, port));
	c->peer_port = port;
	c->state = VSOCK_REQUESTED;
	c->owed = VSOCK_OWE_REQUEST;
	/* The guest has this long to take the request, and again to answer it once taken. */
	c->deadline = loop_now_ms() + VSOCK_TIMEOUT_MS;
	timer_need(v);
	c->peer_buf_alloc = c->peer_fwd_cnt = c->tx_cnt = 0;
	snprintf(c->ok, sizeof(c->ok), "OK %u\n", c->local_port);
	conn_arm(c);
}

/* Lock held: the next connection (round robin) with a packet for the guest, or NULL. */
static struct vsock_conn *conn_next_ready(struct vsock *v)
{
	for (unsigned int k = 0; k < VSOCK_MAX_CONNS; k++) {
		struct vsock_conn *c = &v->conns[(v->rr + k) % VSOCK_MAX_CONNS];

		if (c->state == VSOCK_FREE || c->state == VSOCK_LINE)
			continue;
		if (c->owed || (c->state == VSOCK_OPEN && c->readable && !c->guest_shut_rcv &&
				conn_credit(c))) {
			v->rr = (v->rr + k + 1) % VSOCK_MAX_CONNS;
			return c;
		}
	}
	return NULL;
}

static void hdr_for(const struct vsock *v, struct vsock_hdr *h, uint32_t local, uint32_t peer,
		    uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = v->cid;
	h->src_port = local;
	h->dst_port = peer;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = VSOCK_CONN_BUF;
}

/*
 * Lock held: c's next packet into h (and its payload into v->bounce): a
 * control packet it owes, else data from its socket within the guest's
 * credit and max bytes. 1: a packet, 0: nothing after all (the socket had
 * nothing), -1: c was closed (a reset went to the owed list).
 */
static int conn_packet(struct vsock *v, struct vsock_conn *c, struct vsock_hdr *h, uint32_t max)
{
	static const unsigned int order[] = {VSOCK_OWE_REQUEST, VSOCK_OWE_RESPONSE,
					     VSOCK_OWE_SHUTDOWN, VSOCK_OWE_CREDIT};
	static const uint16_t ops[] = {VSOCK_OP_REQUEST, VSOCK_OP_RESPONSE, VSOCK_OP_SHUTDOWN,
				       VSOCK_OP_CREDIT_UPDATE};
	ssize_t r;

	for (unsigned int i = 0; i < ARRAY_SIZE(order); i++) {
		if (!(c->owed & order[i]))
			continue;
		c->owed &= ~order[i];
		hdr_for(v, h, c->local_port, c->peer_port, ops[i]);
		if (order[i] == VSOCK_OWE_SHUTDOWN)
			h->flags = VSOCK_SHUTDOWN_SEND;
		if (order[i] == VSOCK_OWE_REQUEST) {
			c->deadline = loop_now_ms() + VSOCK_TIMEOUT_MS;
			timer_need(v);
		}
		return 1;
	}
	max = MV_MIN(max, conn_credit(c));
	do
		r = recv(c->w.fd, v->bounce, max, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN && c->unwatched) {
		conn_close(c, true); /* hung up yet nothing to read: nothing will come */
		return -1;
	}
	if (r < 0 && errno == EAGAIN) {
		c->readable = false;
		conn_arm(c);
		return 0;
	}
	if (r <= 0) {
		/* The host side sends no more (or broke): the guest hears SHUTDOWN(SEND). */
		c->readable = false;
		c->host_eof = true;
		if (r < 0 || c->shut_wr) {
			conn_close(c, true);
			return -1;
		}
		hdr_for(v, h, c->local_port, c->peer_port, VSOCK_OP_SHUTDOWN);
		h->flags = VSOCK_SHUTDOWN_SEND;
		conn_arm(c);
		return 1;
	}
	hdr_for(v, h, c->local_port, c->peer_port, VSOCK_OP_RW);
	h->len = r;
	c->tx_cnt += r;
	v->st.rx_bytes += r;
	if ((size_t)r < max)
		c->readable = false; /* drained for now: watch it again */
	conn_arm(c);
	return 1;
}

/*
 * Lock held: packets for the guest, within the receive queue's budget:
 * the resets owed first, then each connection in turn (its control packets,
 * then its data). 0, or -EPROTO when the queue is broken.
 */
static int vsock_rx_locked(struct vsock *v)
{
	struct virtq *q = &v->vdev.vqs[VSOCK_RXQ];
	uint8_t raw[VSOCK_HDR_SIZE];
	struct virtq_chain ch;
	struct vsock_hdr h;
	bool used = false;
	int ret = 0;

	while (vsock_dma_ok(v, VSOCK_RXQ)) {
		struct vsock_conn *c = NULL;
		int got = 1;

		if (!v->rst_len && !(c = conn_next_ready(v)))
			break;
		ret = virtq_pop(q, &ch);
		if (ret <= 0 || q->broken) {
			ret = ret < 0 || q->broken ? -EPROTO : 0;
			break;
		}
		if (ch.in_len < VSOCK_HDR_SIZE) {
			/* No room for a header: only a hostile driver posts it. */
			v->st.tx_errors++;
			if (virtq_push(q, ch.head, 0)) {
				ret = -EPROTO;
				break;
			}
			used = true;
			continue;
		}
		if (c && !c->owed && ch.in_len == VSOCK_HDR_SIZE) {
			/* Room for a control packet only: the data waits for larger buffers. */
			virtq_unpop(q, 1);
			break;
		}
		if (!c) {
			hdr_for(v, &h, v->rst[v->rst_head][0], v->rst[v->rst_head][1],
				VSOCK_OP_RST);
			v->rst_head = (v->rst_head + 1) % VSOCK_MAX_RST;
			v->rst_len--;
			v->st.resets++;
		} else {
			got = conn_packet(v, c, &h,
					  MV_MIN(ch.in_len - VSOCK_HDR_SIZE, VSOCK_MAX_PAYLOAD));
			if (got > 0) {
				h.fwd_cnt = c->fwd_cnt;
				c->fwd_told = c->fwd_cnt;
			}
		}
		if (got <= 0) {
			virtq_unpop(q, 1);
			continue;
		}
		vsock_hdr_put(raw, &h);
		if (virtq_chain_write(q, &ch, 0, raw, VSOCK_HDR_SIZE) ||
		    (h.len && virtq_chain_write(q, &ch, VSOCK_HDR_SIZE, v->bounce, h.len)) ||
		    virtq_push(q, ch.head, VSOCK_HDR_SIZE + h.len)) {
			ret = -EPROTO;
			break;
		}
		v->st.rx_packets++;
		used = true;
	}
	if (used)
		virtio_dev_notify_used(&v->vdev, VSOCK_RXQ);
	if (ret < 0)
		virtio_dev_set_needs_reset(&v->vdev);
	else if (q->more && v->vdev.transport && v->vdev.transport->ops->kick_later)
		v->vdev.transport->ops->kick_later(v->vdev.transport, VSOCK_RXQ);
	return ret;
}

/* Lock held: the event queue's TRANSPORT_RESET, once a buffer is there. */
static void vsock_event_locked(struct vsock *v)
{
	struct virtq *q = &v->vdev.vqs[VSOCK_EVQ];
	uint8_t ev[4] = {0};
	struct virtq_chain ch;
	int ret;

	if (!v->event_owed || !vsock_dma_ok(v, VSOCK_EVQ))
		return;
	ret = virtq_pop(q, &ch);
	if (ret == 0 && !q->broken)
		return;
	le_put(ev, VSOCK_EVENT_TRANSPORT_RESET, 4);
	if (ret < 0 || q->broken || (ch.in_len >= 4 && virtq_chain_write(q, &ch, 0, ev, 4)) ||
	    virtq_push(q, ch.head, ch.in_len >= 4 ? 4 : 0)) {
		virtio_dev_set_needs_reset(&v->vdev);
		return;
	}
	v->event_owed = ch.in_len < 4;
	virtio_dev_notify_used(&v->vdev, VSOCK_EVQ);
}

/* Lock held: the guest asks for a connection to host port h->dst_port. */
static void guest_connect(struct vsock *v, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_conn *c;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->path, h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || n >= (int)sizeof(sa.sun_path) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || !(c = conn_new(v, fd, VSOCK_OPEN))) {
		if (fd >= 0)
			close(fd);
		owe_rst(v, h->dst_port, h->src_port); /* nothing listens there */
		return;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->owed = VSOCK_OWE_RESPONSE;
	conn_arm(c);
}

/* Lock held: payload bytes [off, off+len) of the chain into c's ring. */
static int conn_take(struct virtq *q, const struct virtq_chain *ch, struct vsock_conn *c,
		     uint32_t len)
{
	uint32_t at = c->rx_cnt % VSOCK_CONN_BUF, first = MV_MIN(len, VSOCK_CONN_BUF - at);

	if (virtq_chain_read(q, ch, VSOCK_HDR_SIZE, c->buf + at, first) ||
	    virtq_chain_read(q, ch, VSOCK_HDR_SIZE + first, c->buf, len - first))
		return -EFAULT;
	c->rx_cnt += len;
	return 0;
}

/* Lock held: one packet the guest sent on the transmit queue. */
static int vsock_tx_one(struct virtio_dev *d, struct virtq *q, const struct virtq_chain *ch,
			uint32_t *written)
{
	struct vsock *v = to_vsock(d);
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_conn *c;
	struct vsock_hdr h;

	(void)written;
	if (ch->out_len < VSOCK_HDR_SIZE) {
		v->st.tx_errors++;
		return 0;
	}
	if (virtq_chain_read(q, ch, 0, raw, VSOCK_HDR_SIZE))
		return -EFAULT;
	vsock_hdr_get(raw, &h);
	c = conn_find(v, h.dst_port, h.src_port);
	if (vsock_hdr_check(&h, v->cid, ch->out_len - VSOCK_HDR_SIZE)) {
		v->st.tx_errors++;
		if (c)
			conn_close(c, true);
		else if (h.op != VSOCK_OP_RST && h.src_cid == v->cid)
			owe_rst(v, h.dst_port, h.src_port);
		return 0;
	}
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			guest_connect(v, &h);
		else if (h.op != VSOCK_OP_RST)
			owe_rst(v, h.dst_port, h.src_port);
		return 0;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	switch (h.op) {
	case VSOCK_OP_RST:
		conn_close(c, false);
		return 0;
	case VSOCK_OP_RESPONSE:
		if (c->state != VSOCK_REQUESTED || (c->owed & VSOCK_OWE_REQUEST))
			break;
		c->state = VSOCK_OPEN;
		c->deadline = 0;
		c->ok_len = strlen(c->ok);
		conn_settle(c, conn_flush(c));
		return 0;
	case VSOCK_OP_RW:
		if (c->state != VSOCK_OPEN || c->guest_shut_send ||
		    h.len > VSOCK_CONN_BUF - conn_held(c))
			break; /* data outside a connection, after its shutdown, or past its credit
				*/
		if (conn_take(q, ch, c, h.len))
			return -EFAULT;
		conn_settle(c, conn_flush(c));
		return 0;
	case VSOCK_OP_SHUTDOWN:
		if (c->state != VSOCK_OPEN)
			break;
		if ((h.flags & VSOCK_SHUTDOWN_SEND) && (h.flags & VSOCK_SHUTDOWN_RCV) &&
		    conn_held(c)) {
			/*
			 * The guest closed with bytes still held: they are written
			 * first (the reset follows), within VSOCK_DRAIN_MS.
			 */
			c->deadline = loop_now_ms() + VSOCK_DRAIN_MS;
			timer_need(v);
		}
		if (h.flags & VSOCK_SHUTDOWN_SEND)
			c->guest_shut_send = true;
		if (h.flags & VSOCK_SHUTDOWN_RCV)
			c->guest_shut_rcv = true; /* the host side's input stays in its socket */
		conn_settle(c, conn_flush(c));
		return 0;
	case VSOCK_OP_CREDIT_REQUEST:
		c->owed |= VSOCK_OWE_CREDIT;
		/* fall through */
	case VSOCK_OP_CREDIT_UPDATE:
		if (c->state == VSOCK_OPEN)
			conn_arm(c); /* the guest may have room again */
		return 0;
	default:
		break;
	}
	v->st.tx_errors++; /* a packet the connection's state does not allow */
	conn_close(c, true);
	return 0;
}

static void vsock_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct vsock *v = to_vsock(d);

	if (qi == VSOCK_EVQ) {
		vsock_event_locked(v);
		return;
	}
	if (qi == VSOCK_TXQ)
		virtio_dev_serve_queue(d, qi, vsock_tx_one);
	vsock_rx_locked(v); /* receive buffers added, or answers owed */
}

/* Lock held: every connection ends; the guest's driver is gone, so no reset is owed. */
static void vsock_drop_all(struct vsock *v)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state != VSOCK_FREE)
			conn_close(&v->conns[i], false);
	v->rst_head = v->rst_len = 0;
}

static void vsock_reset(struct virtio_dev *d)
{
	struct vsock *v = to_vsock(d);

	vsock_drop_all(v);
	v->event_owed = false;
}

/* A connection's socket is ready. */
static void vsock_conn_cb(struct loop_watch *w, uint32_t events)
{
	struct vsock_conn *c = container_of(w, struct vsock_conn, w);
	struct vsock *v = c->v;

	pthread_mutex_lock(&v->vdev.lock);
	if (c->state == VSOCK_LINE) {
		conn_read_line(c);
	} else if (c->state == VSOCK_REQUESTED && (events & (EPOLLHUP | EPOLLERR))) {
		conn_close(c, !(c->owed & VSOCK_OWE_REQUEST)); /* the client gave up */
	} else if (c->state == VSOCK_OPEN) {
		if (events & EPOLLOUT)
			conn_settle(c, conn_flush(c));
		if (c->state == VSOCK_OPEN && (events & (EPOLLHUP | EPOLLERR))) {
			/*
			 * Reported whatever the mask: stop watching, or it fires
			 * again at once. What the socket still holds goes to the guest
			 * as its credit allows, then the EOF ends the connection.
			 */
			loop_del(v->loop, &c->w);
			c->unwatched = true;
		}
		if (c->state == VSOCK_OPEN && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
			c->readable = true;
			conn_arm(c);
		}
	}
	virtq_budget_reset(&v->vdev.vqs[VSOCK_RXQ]);
	vsock_rx_locked(v);
	pthread_mutex_unlock(&v->vdev.lock);
}

/* A host process connects to the socket. */
static void vsock_listen_cb(struct loop_watch *w, uint32_t events)
{
	struct vsock *v = container_of(w, struct vsock, listen_w);

	(void)events;
	pthread_mutex_lock(&v->vdev.lock);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (fd < 0)
			break;
		c = conn_new(v, fd, VSOCK_LINE);
		if (!c) {
			v->st.refused++; /* no room: the client sees its connection closed */
			close(fd);
			continue;
		}
		c->deadline = loop_now_ms() + VSOCK_TIMEOUT_MS;
		timer_need(v);
		conn_arm(c);
	}
	pthread_mutex_unlock(&v->vdev.lock);
}

/* Connections the other side did not answer in time end. */
static void vsock_timer_fire(struct loop_timer *t)
{
	struct vsock *v = container_of(t, struct vsock, timer);
	uint64_t now = loop_now_ms();
	bool waiting = false;

	pthread_mutex_lock(&v->vdev.lock);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];

		if (c->state == VSOCK_FREE || !c->deadline)
			continue;
		if (now >= c->deadline) {
			if (c->state == VSOCK_LINE)
				v->st.refused++;
			/* A request the guest never took is just dropped; the rest are reset. */
			conn_close(c, c->state == VSOCK_OPEN || (c->state == VSOCK_REQUESTED &&
								 !(c->owed & VSOCK_OWE_REQUEST)));
		} else {
			waiting = true;
		}
	}
	if (!waiting && !loop_timer_arm(&v->timer, 0, 0))
		v->timer_armed = false;
	virtq_budget_reset(&v->vdev.vqs[VSOCK_RXQ]);
	vsock_rx_locked(v);
	pthread_mutex_unlock(&v->vdev.lock);
}

void vsock_set_paused(struct vsock *v, bool paused)
{
	pthread_mutex_lock(&v->vdev.lock);
	if (!paused) {
		vsock_rx_locked(v);
		vsock_event_locked(v);
	}
	pthread_mutex_unlock(&v->vdev.lock);
}

void vsock_restored(struct vsock *v)
{
	pthread_mutex_lock(&v->vdev.lock);
	vsock_drop_all(v);
	v->event_owed = (v->vdev.status & VIRTIO_STATUS_DRIVER_OK) != 0;
	vsock_event_locked(v);
	pthread_mutex_unlock(&v->vdev.lock);
}

unsigned int vsock_nr_conns(struct vsock *v)
{
	unsigned int n = 0;

	pthread_mutex_lock(&v->vdev.lock);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		n += v->conns[i].state != VSOCK_FREE;
	pthread_mutex_unlock(&v->vdev.lock);
	return n;
}

static const struct virtio_dev_ops vsock_ops = {
    .device_id = VIRTIO_ID_VSOCK,
    .num_queues = 3,
    .queue_max_size = VSOCK_QUEUE_SIZE,
    .config_size = VSOCK_CONFIG_SIZE,
    .config_read = vsock_config_read,
    .queue_notify = vsock_queue_notify,
    .reset = vsock_reset,
};

int vsock_init(struct vsock *v, const struct vsock_params *prm, struct gmem *mem, struct loop *loop)
{
	int ret;

	if (!loop || prm->listen_fd < 0 || prm->cid < VSOCK_MIN_CID || prm->cid > VSOCK_MAX_CID ||
	    !prm->path || strlen(prm->path) + 12 > sizeof(v->path))
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	v->loop = loop;
	v->cid = prm->cid;
	snprintf(v->path, sizeof(v->path), "%s", prm->path);
	v->next_port = VSOCK_LOCAL_PORT_BASE;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conns[i].w.fd = -1;
	ret = virtio_dev_init(&v->vdev, &vsock_ops, mem, 0);
	if (ret)
		return ret;
	ret = loop_timer_init(loop, &v->timer, vsock_timer_fire);
	if (ret)
		goto fail;
	v->timer_up = true;
	v->listen_w.fd = prm->listen_fd;
	v->listen_w.cb = vsock_listen_cb;
	ret = loop_add(loop, &v->listen_w, EPOLLIN);
	if (ret)
		goto fail;
	v->watched = true;
	return 0;
fail:
	if (v->timer_up)
		loop_timer_destroy(loop, &v->timer);
	v->timer_up = false;
	virtio_dev_destroy(&v->vdev);
	return ret;
}

void vsock_destroy(struct vsock *v)
{
	vsock_drop_all(v);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		free(v->conns[i].buf);
		v->conns[i].buf = NULL;
	}
	if (v->watched)
		loop_del(v->loop, &v->listen_w);
	if (v->timer_up)
		loop_timer_destroy(v->loop, &v->timer);
	v->watched = v->timer_up = false;
	virtio_dev_destroy(&v->vdev);
}
