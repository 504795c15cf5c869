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
#include "core/log.h"
#include "core/util.h"

static struct json_object *api_client_execute(struct qmp_session *s, const char *name,
					      struct json_object *args, struct qmp_error *err)
{
	struct api_client *c = container_of(s, struct api_client, qmp);

	return api_execute(c->srv->api, name, args, err);
}

/* Output appeared outside the client's own callback (an event): wait for EPOLLOUT. */
static void api_client_kick(struct qmp_session *s)
{
	struct api_client *c = container_of(s, struct api_client, qmp);

	if (c->want_out || c->w.fd < 0)
		return;
	if (loop_mod(c->srv->loop, &c->w, EPOLLIN | EPOLLOUT) == 0)
		c->want_out = true;
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
}

/* Writes what the socket takes now; -errno when the client must go. */
static int api_client_flush(struct api_client *c)
{
	struct api_buf *out = &c->qmp.out;
	ssize_t n;

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
	if (out->len > API_CLIENT_MAX_OUT)
		return -ENOBUFS;
	if (!!out->len != c->want_out) {
		if (loop_mod(c->srv->loop, &c->w, out->len ? EPOLLIN | EPOLLOUT : EPOLLIN) == 0)
			c->want_out = !!out->len;
	}
	return 0;
}

static void api_client_cb(struct loop_watch *w, uint32_t events)
{
	struct api_client *c = container_of(w, struct api_client, w);
	char buf[65536];
	int reads, ret;
	ssize_t n;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* Bounded, so one chatty client cannot starve the loop. */
		for (reads = 0; reads < 16; reads++) {
			n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0) {
				qmp_session_feed(&c->qmp, buf, (size_t)n);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			/* EOF or a hard error: the peer is gone. */
			if (n < 0)
				mv_debug("api: client dropped: %s", strerror(errno));
			api_client_free(c);
			return;
		}
	}
	ret = api_client_flush(c);
	if (ret) {
		mv_debug("api: client dropped: %s", strerror(-ret));
		api_client_free(c);
	}
}

static void api_listen_cb(struct loop_watch *w, uint32_t events)
{
	struct api_server *srv = container_of(w, struct api_server, listen);
	struct api_client *c;
	int fd;

	for (;;) {
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				mv_warn("--api-socket %s: accept: %s", srv->path, strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c || qmp_session_init(&c->qmp, &api_client_qmp_ops, API_PACKAGE)) {
			if (c)
				qmp_session_destroy(&c->qmp);
			free(c);
			close(fd);
			continue;
		}
		c->srv = srv;
		c->w.fd = fd;
		c->w.cb = api_client_cb;
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
		snprintf(err, errlen, "--api-socket %s: %s", path, strerror(errno));
		return ret;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "--api-socket %s: exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--api-socket %s: socket: %s", path, strerror(errno));
		return ret;
	}
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
	close(fd);
	if (ret == 0) {
		snprintf(err, errlen, "--api-socket %s: another process is serving this socket",
			 path);
		return -EADDRINUSE;
	}
	if (ret != -ECONNREFUSED) {
		snprintf(err, errlen,
			 "--api-socket %s: cannot tell whether the socket is stale: %s", path,
			 strerror(-ret));
		return ret;
	}
	/* Stale: its server died without unlinking it. */
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, "--api-socket %s: removing stale socket: %s", path,
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
		snprintf(err, errlen, "--api-socket %s: path empty or longer than %zu bytes",
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
		snprintf(err, errlen, "--api-socket %s: out of memory", path);
		goto err_free;
	}
	srv->api = api;
	srv->loop = loop;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--api-socket %s: socket: %s", path, strerror(errno));
		goto err_free;
	}
	/* umask closes the window between bind and chmod where others could connect. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (ret) {
		snprintf(err, errlen, "--api-socket %s: bind: %s", path, strerror(-ret));
		goto err_close;
	}
	if (chmod(path, 0600) < 0 || stat(path, &st) < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		snprintf(err, errlen, "--api-socket %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	srv->listen.fd = fd;
	srv->listen.cb = api_listen_cb;
	ret = loop_add(loop, &srv->listen, EPOLLIN);
	if (ret) {
		snprintf(err, errlen, "--api-socket %s: %s", path, strerror(-ret));
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
	while (srv->clients) {
		/* Last words (the reply to quit) go out if the socket takes them. */
		api_client_flush(srv->clients);
		api_client_free(srv->clients);
	}
	loop_del(srv->loop, &srv->listen);
	close(srv->listen.fd);
	if (stat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv->path);
	free(srv);
}
