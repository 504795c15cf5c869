/*
 * server: the --api-socket Unix stream socket, served from the event loop.
 *
 * The socket is created with mode 0600. An existing path is replaced only if
 * it is a stale socket (nothing accepts on it: connect() gives ECONNREFUSED);
 * a live socket or any other file is refused with an error naming
 * --api-socket. api_server_close() unlinks the socket if it is still ours.
 *
 * Clients. Up to API_MAX_CLIENTS are served at once, each with its own QMP
 * session and output buffer; one more is accepted, sent one GenericError line
 * ("too many clients ...") and closed. Writes never block. A client whose
 * output would pass API_CLIENT_MAX_OUT bytes (it does not read: replies,
 * events, anything appended counts, checked at the append) is dropped with
 * one warning. A vanished client (EPIPE, ECONNRESET, hangup) is dropped
 * without SIGPIPE (MSG_NOSIGNAL). A client that shuts down its write side
 * (shutdown(SHUT_WR), half-close) gets the replies to everything it sent,
 * then the server closes.
 *
 * Out of descriptors (accept: EMFILE, ENFILE, ENOBUFS, ENOMEM), the server
 * stops watching the listening socket, so the pending connection cannot
 * wake the loop again and again, and tries again after API_ACCEPT_RETRY_MS
 * or as soon as one of its clients goes, whichever is first; pending clients
 * wait in the backlog meanwhile and connected ones are served as before.
 * Accept warnings are rate-limited to one line per API_WARN_INTERVAL_MS,
 * which counts the ones it held back.
 */
#ifndef MV_API_SERVER_H
#define MV_API_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "api/api.h"
#include "api/qmp.h"
#include "core/loop.h"

#define API_CLIENT_MAX_OUT   (16u << 20)
#define API_MAX_CLIENTS	     64
#define API_ACCEPT_RETRY_MS  250
#define API_WARN_INTERVAL_MS 10000

struct api_server;

struct api_client {
	struct loop_watch w;
	struct qmp_session qmp;
	struct api_server *srv;
	struct api_client *next;
	uint32_t armed; /* events the loop watches for */
	bool eof;	/* the peer shut its write side: answer, then close */
	bool dropped;	/* output limit passed: freed in its own callback */
};

struct api_server {
	struct loop_watch listen;
	struct loop *loop;
	struct api *api;
	char *path;
	dev_t dev; /* of the socket we bound, to unlink only our own */
	ino_t ino;
	struct api_client *clients;
	unsigned int nr_clients;
	struct loop_timer retry; /* resumes accepting after a pause */
	bool retry_ok;
	bool paused; /* listen fd out of the loop (no descriptors) */
	bool warned;
	uint64_t warn_ms; /* last accept warning */
	unsigned long held_back;
};

/* Creates, binds and serves `path`; on error writes one line into err. */
int api_server_open(struct api_server **out, struct api *api, struct loop *loop, const char *path,
		    char *err, size_t errlen);
/* Flushes what can be flushed without blocking, drops clients, unlinks. */
void api_server_close(struct api_server *srv);

#endif
