#include "board/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/options.h"
#include "lib/errbuf.h"
#include "lib/log.h"
#include "virtio/pci_save.h"
#include "virtio/vsock_save.h"

/*
 * Lock held by nobody yet (create): is a socket file at sa a live listener?
 * 1 yes, 0 stale (nothing accepts there), -errno when it cannot be told.
 */
static int socket_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 1;
	close(fd);
	if (ret == -ECONNREFUSED)
		return 0;
	return ret == -EAGAIN ? 1 : ret; /* a full backlog is someone's */
}

/* The listening socket at c->socket into bv->listen_fd; 0 or -errno after one line. */
static int vsock_listen(const struct vsock_config *c, struct board_vsock *bv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *why = NULL;
	struct stat st;
	int ret = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->socket);
	if (!lstat(c->socket, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			why = "exists and is not a socket";
			ret = -EEXIST;
		} else if ((ret = socket_live(&sa)) == 1) {
			why = "another process listens there";
			ret = -EADDRINUSE;
		} else if (!ret && unlink(c->socket)) {
			ret = -errno;
			why = "removing the stale socket";
		} else if (ret < 0) {
			why = "probing the existing socket";
		}
	}
	if (!ret) {
		bv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		why = "creating the socket";
		ret = bv->listen_fd < 0 ? -errno : 0;
	}
	if (!ret) {
		why = "binding it";
		ret = bind(bv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
		bv->bound = !ret;
	}
	if (!ret) {
		why = "listening";
		ret = listen(bv->listen_fd, VSOCK_MAX_CONNS) ? -errno : 0;
	}
	if (ret)
		mv_err(OPT_NAME_VSOCK " socket=%s: %s: %s", c->socket, why, strerror(-ret));
	return ret;
}

int board_vsock_create(struct board *m)
{
	const struct vsock_config *c = &m->cfg->vsock;
	struct vsock_params prm = {.cid = c->cid, .path = c->socket};
	struct board_vsock *bv;
	int ret;

	if (!c->given)
		return 0;
	bv = calloc(1, sizeof(*bv));
	if (!bv) {
		mv_err(OPT_NAME_VSOCK ": %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	bv->listen_fd = -1;
	m->vsock = bv;
	ret = vsock_listen(c, bv);
	if (ret)
		return ret;
	prm.listen_fd = bv->listen_fd;
	ret = vsock_init(&bv->dev, &prm, &m->vm.mem, &m->loop);
	if (ret) {
		mv_err(OPT_NAME_VSOCK " id=%s: virtio-vsock: %s", c->id, strerror(-ret));
		return ret;
	}
	bv->dev_up = true;
	ret = virtio_pci_init(&bv->pci, &bv->dev.vdev, &m->pci, &m->loop, c->id);
	if (ret) {
		mv_err(OPT_NAME_VSOCK " id=%s: virtio-pci: %s", c->id, strerror(-ret));
		return ret;
	}
	bv->pci_up = true;
	mv_info(OPT_NAME_VSOCK " id=%s: guest cid %u, host socket %s", c->id, c->cid, c->socket);
	return 0;
}

void board_vsock_reset(struct board *m)
{
	if (m->vsock && m->vsock->pci_up)
		virtio_pci_reset(&m->vsock->pci);
}

void board_vsock_pause(struct board *m, bool paused)
{
	if (!m->vsock || !m->vsock->pci_up)
		return;
	virtio_pci_set_paused(&m->vsock->pci, paused);
	vsock_set_paused(&m->vsock->dev, paused);
}

void board_vsock_destroy(struct board *m)
{
	struct board_vsock *bv = m->vsock;

	if (!bv)
		return;
	if (bv->pci_up)
		virtio_pci_destroy(&bv->pci);
	if (bv->dev_up)
		vsock_destroy(&bv->dev);
	if (bv->listen_fd >= 0)
		close(bv->listen_fd);
	if (bv->bound)
		unlink(m->cfg->vsock.socket);
	free(bv);
	m->vsock = NULL;
}

int board_vsock_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		     size_t errlen)
{
	struct board_vsock *bv = m->vsock;

	(void)err;
	(void)errlen;
	if (!bv)
		return 0;
	if (ph == BOARD_PHASE_DEVICES && bv->dev_up)
		vsock_save(&bv->dev, m->cfg->vsock.id, w);
	else if (ph == BOARD_PHASE_TRANSPORTS && bv->pci_up)
		virtio_pci_save(&bv->pci, w);
	return 0;
}

int board_vsock_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		     size_t errlen)
{
	struct board_vsock *bv = m->vsock;
	char name[MV_STATE_NAME_MAX + 1];
	struct mv_state_section sec;
	int ret = 0;

	if (!bv)
		return 0;
	if (ph == BOARD_PHASE_TRANSPORTS) {
		ret = virtio_pci_find_load(&bv->pci, s->p, s->len, err, errlen);
		if (!ret)
			vsock_restored(&bv->dev); /* the guest's connections are gone */
	} else if (ph == BOARD_PHASE_DEVICES) {
		vsock_state_name(m->cfg->vsock.id, name, sizeof(name));
		ret = mv_state_find(s->p, s->len, name, &sec, err, errlen);
		if (!ret)
			ret = vsock_load(&bv->dev, m->cfg->vsock.id, &sec, err, errlen);
	}
	return ret;
}
