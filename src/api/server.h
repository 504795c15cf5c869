/*
 * server: the --api-socket Unix stream socket, served from the event loop.
 *
 * The socket is created with mode 0600. An existing path is replaced only if
 * it is a stale socket (nothing accepts on it: connect() gives ECONNREFUSED);
 * a live socket or any other file is refused with an error naming
 * --api-socket. Any number of clients may be connected at once; each has its
 * own QMP session and output buffer. Writes never block: a client that does
 * not read is buffered up to API_CLIENT_MAX_OUT bytes and then dropped, and a
 * vanished client (EPIPE, ECONNRESET, hangup) is dropped without SIGPIPE
 * (MSG_NOSIGNAL). api_server_close() unlinks the socket if it is still ours.
 */
#ifndef MV_API_SERVER_H
#define MV_API_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "api/api.h"
#include "api/qmp.h"
#include "core/loop.h"

#define API_CLIENT_MAX_OUT (16u << 20)

struct api_server;

struct api_client {
	struct loop_watch w;
	struct qmp_session qmp;
	struct api_server *srv;
	struct api_client *next;
	bool want_out; /* EPOLLOUT armed */
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
};

/* Creates, binds and serves `path`; on error writes one line into err. */
int api_server_open(struct api_server **out, struct api *api, struct loop *loop, const char *path,
		    char *err, size_t errlen);
/* Flushes what can be flushed without blocking, drops clients, unlinks. */
void api_server_close(struct api_server *srv);

#endif
