/*
 * vsock: virtio-vsock (device id 19), stream sockets between the guest
 * and host processes, with the hybrid host side of Cloud Hypervisor and
 * Firecracker: the device listens on a Unix socket (the board binds it);
 *
 * - a host process connects there and writes "CONNECT <port>\n": the
 *   device asks the guest for a connection to <port> (OP_REQUEST from a
 *   host port of its choosing, from VSOCK_LOCAL_PORT_BASE up), and when
 *   the guest accepts writes "OK <host port>\n" back; from then on the
 *   Unix stream is the connection;
 * - a guest that connects to CID 2 (the host), port P, gets a connection
 *   to the Unix socket "<socket>_P", or a reset when nothing listens there.
 *
 * Flow control is the spec's credit (vsock_proto.h): every packet to the
 * guest tells it how much the device can still hold for the connection
 * (VSOCK_CONN_BUF bytes, drained into the Unix socket as it takes them),
 * and the device sends the guest no more than the guest advertised. A guest
 * that sends past its credit, or anything malformed, gets its connection
 * reset; the device stays sound. At most VSOCK_MAX_CONNS connections.
 *
 * Connections do not survive a snapshot: the restored device tells the
 * guest so with a TRANSPORT_RESET event, and the guest drops them.
 *
 * Threads (ARCHITECTURE.md, "Threads"): everything runs on the loop thread
 * under the device lock: the listener, each connection's socket, the
 * queue notifications and the timer that closes connections the other side
 * did not answer. Every socket is nonblocking, and a wakeup sends at most
 * one queue budget of packets, so no peer can stall the loop.
 */
#ifndef MV_VIRTIO_VSOCK_H
#define MV_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "virtio/virtio.h"
#include "virtio/vsock_proto.h"

#define VSOCK_RXQ		    0
#define VSOCK_TXQ		    1
#define VSOCK_EVQ		    2
#define VSOCK_CONFIG_SIZE	    8 /* guest_cid, le64 */
#define VSOCK_QUEUE_SIZE	    256
#define VSOCK_MAX_CONNS		    64
#define VSOCK_CONN_BUF		    (256 * 1024) /* guest-to-host bytes held per connection */
#define VSOCK_LOCAL_PORT_BASE	    (1U << 30)
#define VSOCK_TIMEOUT_MS	    2000  /* for a CONNECT line, and for the guest's answer */
#define VSOCK_DRAIN_MS		    10000 /* for the host side to take a closed connection's bytes */
#define VSOCK_MAX_RST		    128	  /* resets owed to the guest for no connection */
#define VSOCK_EVENT_TRANSPORT_RESET 0

struct vsock;

enum vsock_conn_state {
	VSOCK_FREE,
	VSOCK_LINE,	 /* host side accepted, its CONNECT line not read yet */
	VSOCK_REQUESTED, /* OP_REQUEST owed or sent to the guest, no answer yet */
	VSOCK_OPEN,
};

/* What a connection owes the guest (vsock_conn.owed bits). */
#define VSOCK_OWE_REQUEST  1
#define VSOCK_OWE_RESPONSE 2
#define VSOCK_OWE_SHUTDOWN 4 /* SEND: the host side sends no more */
#define VSOCK_OWE_CREDIT   8

struct vsock_conn {
	struct loop_watch w; /* its Unix socket; fd -1 when free */
	struct vsock *v;
	enum vsock_conn_state state;
	uint32_t local_port, peer_port; /* host's and guest's */
	uint32_t events;		/* the watch's mask now */
	bool unwatched;			/* hung up: no longer in the loop's epoll set */
	unsigned int owed;
	/* Host to guest: the guest's advertised buffer and what it was sent. */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	bool readable; /* input seen on the socket, not read yet */
	bool host_eof; /* the host side sends no more */
	/* Guest to host: received (rx_cnt), written to the socket (fwd_cnt), told (fwd_told). */
	uint32_t rx_cnt, fwd_cnt, fwd_told;
	uint8_t *buf; /* VSOCK_CONN_BUF ring, data at fwd_cnt % VSOCK_CONN_BUF */
	bool guest_shut_send, guest_shut_rcv, shut_wr;
	char ok[24]; /* "OK <port>\n" still to write, before any data */
	uint8_t ok_len, ok_off;
	uint64_t deadline; /* loop_now_ms; 0: none */
};

struct vsock_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t conns, resets; /* connections opened; resets sent to the guest */
	uint64_t tx_errors;	/* packets from the guest that broke the protocol */
	uint64_t refused;	/* host connections refused (table full, bad line, timeout) */
};

struct vsock_params {
	uint64_t cid;
	int listen_fd;	  /* bound, listening, nonblocking; the device does not close it */
	const char *path; /* the socket's path, for "<path>_<port>" */
};

struct vsock {
	struct virtio_dev vdev;
	struct loop *loop;
	struct loop_watch listen_w;
	struct loop_timer timer;
	bool watched, timer_up, timer_armed;
	uint64_t cid;
	char path[108];
	uint32_t next_port;
	unsigned int rr; /* the connection served first at the next receive */
	struct vsock_conn conns[VSOCK_MAX_CONNS];
	/* Resets owed to the guest for packets with no connection: (host port, guest port). */
	uint32_t rst[VSOCK_MAX_RST][2];
	unsigned int rst_head, rst_len;
	bool event_owed; /* TRANSPORT_RESET, after a restore */
	uint8_t bounce[VSOCK_MAX_PAYLOAD];
	struct vsock_stats st;
};

/* 0 or -errno; loop NULL is refused (the sockets need it). */
int vsock_init(struct vsock *v, const struct vsock_params *prm, struct gmem *mem,
	       struct loop *loop);
void vsock_destroy(struct vsock *v);
/* Loop thread: QMP stop/cont; cont delivers what waited. Takes the lock. */
void vsock_set_paused(struct vsock *v, bool paused);
/*
 * Loop thread, after a restore's sections were loaded: the guest's
 * connections are gone; a TRANSPORT_RESET event tells it. Takes the lock.
 */
void vsock_restored(struct vsock *v);
/* Connections open now (QMP, tests). Takes the lock. */
unsigned int vsock_nr_conns(struct vsock *v);

#endif
