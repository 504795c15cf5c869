#include "api/server.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/commands.h"
#include "lib/log.h"
#include "lib/util.h"
#include "config/options.h"

static struct json_object *api_client_execute(struct qmp_session *s, const char *name,
					      struct json_object *args, struct qmp_error *err)
{
	struct api_client *c = container_of(s, struct api_client, qmp);

	return api_execute(c->srv->api, name, args, err);
}

/* Rate-limited: an accept that keeps failing must not flood the log. */
static void api_server_warn(struct api_server *srv, const char *what)
{
	uint64_t now = loop_now_ms();

	if (srv->warned && now - srv->warn_ms < API_WARN_INTERVAL_MS) {
		srv->held_back++;
		return;
	}
	if (srv->held_back)
		mv_warn(OPT_NAME_API_SOCKET " %s: %s (%lu similar messages held back)", srv->path,
			what, srv->held_back);
	else
		mv_warn(OPT_NAME_API_SOCKET " %s: %s", srv->path, what);
	srv->warned = true;
	srv->warn_ms = now;
	srv->held_back = 0;
}

static void api_server_resume(struct api_server *srv)
{
	if (!srv->paused)
		return;
	if (loop_add(srv->loop, &srv->listen, EPOLLIN) == 0) {
		srv->paused = false;
		if (srv->retry_ok)
			loop_timer_arm(&srv->retry, 0, 0);
	} else if (srv->retry_ok) {
		loop_timer_arm(&srv->retry, API_ACCEPT_RETRY_MS, 0);
	}
}

/* No descriptor for a new client: stop watching the listening socket for now. */
static void api_server_pause(struct api_server *srv, int err)
{
	char what[160];

	snprintf(what, sizeof(what), "accept: %s; not accepting new clients for now (%u connected)",
		 strerror(err), srv->nr_clients);
	api_server_warn(srv, what);
	if (!srv->paused && loop_del(srv->loop, &srv->listen) == 0)
		srv->paused = true;
	if (srv->retry_ok)
		loop_timer_arm(&srv->retry, API_ACCEPT_RETRY_MS, 0);
}

static void api_server_retry_fire(struct loop_timer *t)
{
	api_server_resume(container_of(t, struct api_server, retry));
}

/* The events c's watch should have: input until EOF, output while some waits. */
static int api_client_arm(struct api_client *c, bool out)
{
	uint32_t want = (c->eof ? 0 : EPOLLIN) | (out ? EPOLLOUT : 0);

	if (want == c->armed)
		return 0;
	if (loop_mod(c->srv->loop, &c->w, want))
		return -EIO;
	c->armed = want;
	return 0;
}

/*
 * Over the output limit. This can happen in another client's callback (an
 * event it caused), where c must not be freed (the loop may hold a ready
 * event for it): let go of its memory now, shut the socket so that its own
 * callback runs next, and free it there.
 */
static void api_client_drop(struct api_client *c)
{
	if (c->dropped)
		return;
	c->dropped = true;
	mv_warn("api: client dropped: its output passed %u bytes (it does not read)",
		API_CLIENT_MAX_OUT);
	api_detach(c->srv->api, &c->qmp);
	api_buf_free(&c->qmp.out);
	c->qmp.out.failed = true; /* later appends are no-ops */
	shutdown(c->w.fd, SHUT_RDWR);
	c->eof = false;
	api_client_arm(c, false);
}

/* Output appeared outside the client's own callback (an event): wait for EPOLLOUT. */
static void api_client_kick(struct qmp_session *s)
{
	struct api_client *c = container_of(s, struct api_client, qmp);

	if (c->dropped || c->w.fd < 0)
		return;
	if (s->out.over) {
		api_client_drop(c);
		return;
	}
	api_client_arm(c, true);
}

static const struct qmp_session_ops api_client_qmp_ops = {
    .execute = api_client_execute,
    .kick = api_client_kick,
};

static void api_client_free(struct api_client *c)
{
	struct api_server *srv = c->srv;
	struct api_client **pp;

	for (pp = &srv->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->nr_clients--;
	api_detach(srv->api, &c->qmp);
	if (c->w.fd >= 0) {
		loop_del(srv->loop, &c->w);
		close(c->w.fd);
	}
	qmp_session_destroy(&c->qmp);
	free(c);
	/* A descriptor is free again. */
	api_server_resume(srv);
}

/* Writes what the socket takes now; -errno when the client must go. */
static int api_client_flush(struct api_client *c)
{
	struct api_buf *out = &c->qmp.out;
	ssize_t n;

	if (out->over && !c->dropped)
		api_client_drop(c);
	if (c->dropped)
		return -ENOBUFS;
	if (out->failed)
		return -ENOMEM;
	while (out->len) {
		n = send(c->w.fd, out->data, out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		api_buf_consume(out, (size_t)n);
	}
	return api_client_arm(c, out->len != 0);
}

static void api_client_cb(struct loop_watch *w, uint32_t events)
{
	struct api_client *c = container_of(w, struct api_client, w);
	char buf[65536];
	int reads, ret;
	ssize_t n;

	if (c->dropped) {
		api_client_free(c);
		return;
	}
	if (!c->eof && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		/* Bounded, so one chatty client cannot starve the loop. */
		for (reads = 0; reads < 16; reads++) {
			n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0) {
				qmp_session_feed(&c->qmp, buf, (size_t)n);
				if (c->dropped) {
					api_client_free(c);
					return;
				}
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n == 0) {
				/* EOF: the peer may still read; answer what it sent first. */
				c->eof = true;
				break;
			}
			mv_debug("api: client dropped: %s", strerror(errno));
			api_client_free(c);
			return;
		}
	}
	ret = api_client_flush(c);
	if (ret) {
		mv_debug("api: client dropped: %s", strerror(-ret));
		api_client_free(c);
	} else if (c->eof && !c->qmp.out.len) {
		api_client_free(c);
	}
}

/* Over API_MAX_CLIENTS: say so in QMP's error shape and close. */
static void api_server_refuse(struct api_server *srv, int fd)
{
	char line[192], what[96];
	int n;

	n = snprintf(line, sizeof(line),
		     "{\"error\": {\"class\": \"" QMP_ERR_GENERIC
		     "\", \"desc\": \"too many clients (%u connected); try again later\"}}\r\n",
		     srv->nr_clients);
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		mv_debug("api: refusing a client: %s", strerror(errno));
	close(fd);
	snprintf(what, sizeof(what), "a client refused: %u clients connected, the most served",
		 srv->nr_clients);
	api_server_warn(srv, what);
}

static void api_listen_cb(struct loop_watch *w, uint32_t events)
{
	struct api_server *srv = container_of(w, struct api_server, listen);
	struct api_client *c;
	int fd;

	for (;;) {
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				api_server_pause(srv, errno);
				return;
			}
			/* Anything else could repeat as fast: pause on it too. */
			api_server_pause(srv, errno);
			return;
		}
		if (srv->nr_clients >= API_MAX_CLIENTS) {
			api_server_refuse(srv, fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || qmp_session_init(&c->qmp, &api_client_qmp_ops, API_PACKAGE)) {
			if (c)
				qmp_session_destroy(&c->qmp);
			free(c);
			close(fd);
			continue;
		}
		c->qmp.out.max = API_CLIENT_MAX_OUT;
		c->srv = srv;
		c->w.fd = fd;
		c->w.cb = api_client_cb;
		c->armed = EPOLLIN;
		if (loop_add(srv->loop, &c->w, EPOLLIN)) {
			qmp_session_destroy(&c->qmp);
			free(c);
			close(fd);
			continue;
		}
		c->next = srv->clients;
		srv->clients = c;
		srv->nr_clients++;
		api_attach(srv->api, &c->qmp);
		if (api_client_flush(c))
			api_client_free(c);
	}
}

/* Refuses to replace anything but a stale socket; 0 when path is free now. */
static int api_server_clear_path(const char *path, const struct sockaddr_un *sa, char *err,
				 size_t errlen)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		snprintf(err, errlen, OPT_NAME_API_SOCKET " %s: %s", path, strerror(errno));
		return ret;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 OPT_NAME_API_SOCKET " %s: exists and is not a socket; not replacing it",
			 path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, OPT_NAME_API_SOCKET " %s: socket: %s", path, strerror(errno));
		return ret;
	}
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
	close(fd);
	if (ret == 0) {
		snprintf(err, errlen,
			 OPT_NAME_API_SOCKET " %s: another process is serving this socket", path);
		return -EADDRINUSE;
	}
	if (ret != -ECONNREFUSED) {
		snprintf(err, errlen,
			 OPT_NAME_API_SOCKET " %s: cannot tell whether the socket is stale: %s",
			 path, strerror(-ret));
		return ret;
	}
	/* Stale: its server died without unlinking it. */
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, OPT_NAME_API_SOCKET " %s: removing stale socket: %s", path,
			 strerror(errno));
		return ret;
	}
	return 0;
}

int api_server_open(struct api_server **out, struct api *api, struct loop *loop, const char *path,
		    char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct api_server *srv;
	struct stat st;
	mode_t old;
	int fd, ret;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
			 OPT_NAME_API_SOCKET " %s: path empty or longer than %zu bytes",
			 path ? path : "", sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ret = api_server_clear_path(path, &sa, err, errlen);
	if (ret)
		return ret;
	srv = calloc(1, sizeof(*srv));
	if (!srv || !(srv->path = strdup(path))) {
		ret = -ENOMEM;
		snprintf(err, errlen, OPT_NAME_API_SOCKET " %s: out of memory", path);
		goto err_free;
	}
	srv->api = api;
	srv->loop = loop;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, OPT_NAME_API_SOCKET " %s: socket: %s", path, strerror(errno));
		goto err_free;
	}
	/* umask closes the window between bind and chmod where others could connect. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (ret) {
		snprintf(err, errlen, OPT_NAME_API_SOCKET " %s: bind: %s", path, strerror(-ret));
		goto err_close;
	}
	if (chmod(path, 0600) < 0 || stat(path, &st) < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		snprintf(err, errlen, OPT_NAME_API_SOCKET " %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	srv->listen.fd = fd;
	srv->listen.cb = api_listen_cb;
	ret = loop_timer_init(loop, &srv->retry, api_server_retry_fire);
	if (ret) {
		snprintf(err, errlen, OPT_NAME_API_SOCKET " %s: timer: %s", path, strerror(-ret));
		goto err_unlink;
	}
	srv->retry_ok = true;
	ret = loop_add(loop, &srv->listen, EPOLLIN);
	if (ret) {
		loop_timer_destroy(loop, &srv->retry);
		snprintf(err, errlen, OPT_NAME_API_SOCKET " %s: %s", path, strerror(-ret));
		goto err_unlink;
	}
	*out = srv;
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(fd);
err_free:
	if (srv)
		free(srv->path);
	free(srv);
	return ret;
}

void api_server_close(struct api_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	/* Freeing a client would watch the listening socket again. */
	srv->paused = false;
	loop_del(srv->loop, &srv->listen);
	if (srv->retry_ok)
		loop_timer_destroy(srv->loop, &srv->retry);
	srv->retry_ok = false;
	while (srv->clients) {
		/* Last words (the reply to quit) go out if the socket takes them. */
		api_client_flush(srv->clients);
		api_client_free(srv->clients);
	}
	close(srv->listen.fd);
	if (stat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv->path);
	free(srv);
}
