/*
 * fuzz_server: the --api-socket server (api/server.c) over a real Unix socket,
 * with a real loop, the real command table and a fake VM: accept, per-client
 * sessions, flushing, EOF and half-close, events to several clients.
 *
 * Input: a 4-byte header, then the stream client A sends.
 *   h[0]: chunking: 1..2^(h[0] % 12) bytes per send, sizes from a PRNG
 *         seeded by h[1]; the loop runs once between sends.
 *   h[2]: bit0: A ends with shutdown(SHUT_WR) (half-close) rather than
 *         close(); bit1: a second client B, negotiated, that reads;
 *         bit2: the fake VM emits POWERDOWN between sends (events to
 *         every negotiated client); bit3: A stops reading (its output
 *         piles up in the server).
 *   h[3]: unused (kept for future flags).
 * Invariants: no crash or leak; every line a client receives ends in
 * "\r\n" and is one JSON value that the QMP framer accepts without error
 * (the server never sends invalid JSON); with a half-close A receives
 * everything up to EOF and the server lets A go; once the clients are
 * gone the server holds none (nr_clients back to 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "api/qmp.h"
#include "api/server.h"
#include "core/loop.h"
#include "lib/util.h"

#define FZ_MAX_SENDS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_vm {
	struct api_backend b;
};

static int fz_status(struct api_backend *b, struct api_status *out)
{
	out->status = "running";
	out->running = true;
	return 0;
}

static void fz_quit(struct api_backend *b)
{
}

static int fz_ok(struct api_backend *b)
{
	return 0;
}

static unsigned int fz_count(struct api_backend *b)
{
	return 0;
}

static int fz_summary(struct api_backend *b, struct api_memory_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->base = 512u << 20;
	return 0;
}

static const struct api_backend_ops fz_ops = {
    .query_status = fz_status,
    .quit = fz_quit,
    .powerdown = fz_ok,
    .reset = fz_ok,
    .memdev_count = fz_count,
    .memory_summary = fz_summary,
};

static struct loop fz_loop;
static struct fz_vm fz_vm = {.b.ops = &fz_ops};
static struct api fz_api;
static struct api_server *fz_srv;
static char fz_path[108];

/* What one client received: checked line by line. */
struct fz_peer {
	int fd;
	struct qmp_framer fr;
	size_t errors;
	char line_tail; /* last byte seen */
	char prev_tail;
};

static void fz_peer_msg(struct qmp_framer *f, struct json_object *o)
{
	json_object_put(o);
}

static void fz_peer_err(struct qmp_framer *f, const char *desc)
{
	container_of(f, struct fz_peer, fr)->errors++;
}

static const struct qmp_framer_ops fz_peer_ops = {.message = fz_peer_msg, .error = fz_peer_err};

static void fz_setup(void)
{
	char dir[] = "/tmp/mv-fuzz-server-XXXXXX", err[256];

	if (!mkdtemp(dir) || loop_init(&fz_loop) || api_init(&fz_api, &fz_vm.b, &fz_loop))
		abort();
	snprintf(fz_path, sizeof(fz_path), "%s/api.sock", dir);
	if (api_server_open(&fz_srv, &fz_api, &fz_loop, fz_path, err, sizeof(err)))
		abort();
}

static int fz_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		abort();
	memcpy(sa.sun_path, fz_path, strlen(fz_path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	return fd;
}

/* Reads what is there; returns false at EOF. */
static bool fz_drain(struct fz_peer *p)
{
	char buf[16384];
	ssize_t n;

	for (;;) {
		n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			ssize_t i;

			for (i = 0; i < n; i++) {
				/* "\n" only ever after "\r": every line is "\r\n"-ended. */
				if (buf[i] == '\n' && p->line_tail != '\r')
					abort();
				p->prev_tail = p->line_tail;
				p->line_tail = buf[i];
			}
			qmp_framer_feed(&p->fr, buf, (size_t)n);
			continue;
		}
		return !(n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR));
	}
}

static void fz_peer_init(struct fz_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = fz_connect();
	if (qmp_framer_init(&p->fr, &fz_peer_ops, 64u << 20))
		abort();
}

static void fz_peer_done(struct fz_peer *p)
{
	qmp_framer_feed(&p->fr, "\n", 1);
	if (p->errors)
		abort();
	/* Whatever came ends with a whole line. */
	if (p->line_tail && (p->line_tail != '\n' || p->prev_tail != '\r'))
		abort();
	qmp_framer_destroy(&p->fr);
	if (p->fd >= 0)
		close(p->fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char nego[] = "{\"execute\": \"qmp_capabilities\"}\n";
	struct fz_peer a, b;
	uint32_t seed;
	size_t off = 0;
	int sends = 0, i;
	bool eof = false, use_b, reads_a;

	if (size < 4 || size > 65536)
		return 0;
	if (!fz_srv)
		fz_setup();
	seed = data[1] * 2654435761u + 7;
	use_b = data[2] & 2;
	reads_a = !(data[2] & 8);
	fz_peer_init(&a);
	if (use_b) {
		fz_peer_init(&b);
		if (send(b.fd, nego, sizeof(nego) - 1, MSG_NOSIGNAL) < 0)
			abort();
	}
	while (off < size - 4 && sends++ < FZ_MAX_SENDS) {
		size_t n;
		ssize_t w;

		seed = seed * 1103515245u + 12345u;
		n = MV_MIN(size - 4 - off, 1 + (seed >> 8) % ((size_t)1 << (data[0] % 12)));
		w = send(a.fd, data + 4 + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno != EAGAIN)
			break; /* the server dropped A */
		if (data[2] & 4)
			api_emit_powerdown(&fz_api);
		loop_run_once(&fz_loop, 0);
		if (reads_a && !fz_drain(&a))
			eof = true;
		if (use_b)
			fz_drain(&b);
	}
	if (data[2] & 1) {
		/* Half-close: everything A asked for comes back, then EOF. */
		shutdown(a.fd, SHUT_WR);
		for (i = 0; i < 2000 && !eof; i++) {
			loop_run_once(&fz_loop, 0);
			if (!fz_drain(&a))
				eof = true;
			if (use_b)
				fz_drain(&b);
		}
		if (!eof)
			abort();
	}
	if (reads_a || (data[2] & 1))
		fz_drain(&a);
	fz_peer_done(&a);
	if (use_b) {
		fz_drain(&b);
		fz_peer_done(&b);
	}
	for (i = 0; i < 100 && fz_srv->nr_clients; i++)
		loop_run_once(&fz_loop, 0);
	if (fz_srv->nr_clients)
		abort();
	return 0;
}
