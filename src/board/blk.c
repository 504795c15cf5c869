#include "board/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/options.h"
#include "virtio/blk_save.h"
#include "virtio/pci_save.h"
#include "lib/errbuf.h"
#include "lib/log.h"
#include "lib/util.h"

static struct board_blk *to_bblk(struct vblk *b)
{
	return container_of(b, struct board_blk, dev);
}

/* Worker thread, as the functions below: positioned I/O, whole or an error. */
static int bblk_read(struct vblk *b, uint64_t off, void *buf, size_t len)
{
	struct board_blk *bb = to_bblk(b);
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(bb->fd, (uint8_t *)buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			/* Past the end of a file that shrank: zeros, as a hole reads. */
			memset((uint8_t *)buf + done, 0, len - done);
			break;
		}
		done += n;
	}
	return 0;
}

static int bblk_write(struct vblk *b, uint64_t off, const void *buf, size_t len)
{
	struct board_blk *bb = to_bblk(b);
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(bb->fd, (const uint8_t *)buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += n;
	}
	return 0;
}

static int bblk_flush(struct vblk *b)
{
	return fdatasync(to_bblk(b)->fd) ? -errno : 0;
}

/* Zeros written, for a host that can neither punch nor zero the range. */
static int bblk_write_zeros(struct vblk *b, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[64 << 10] __attribute__((aligned(4096)));
	int r;

	while (len) {
		size_t n = MV_MIN(len, sizeof(zeros));

		r = bblk_write(b, off, zeros, n);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int bblk_discard(struct vblk *b, uint64_t off, uint64_t len)
{
	struct board_blk *bb = to_bblk(b);
	uint64_t range[2] = {off, len};

	if (bb->blockdev)
		return ioctl(bb->fd, BLKDISCARD, range) ? -errno : 0;
	if (!fallocate(bb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
		return 0;
	/* A discard is a hint: a filesystem without holes keeps the data. */
	return errno == EOPNOTSUPP ? 0 : -errno;
}

static int bblk_write_zeroes(struct vblk *b, uint64_t off, uint64_t len, bool unmap)
{
	struct board_blk *bb = to_bblk(b);
	uint64_t range[2] = {off, len};

	if (bb->blockdev) {
		if (!ioctl(bb->fd, BLKZEROOUT, range))
			return 0;
	} else if (!fallocate(bb->fd,
			      unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
				    : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			      off, len)) {
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != ENOTTY && errno != EINVAL)
		return -errno;
	return bblk_write_zeros(b, off, len);
}

static const struct vblk_host_ops board_blk_ops = {
    .read = bblk_read,
    .write = bblk_write,
    .flush = bblk_flush,
    .discard = bblk_discard,
    .write_zeroes = bblk_write_zeroes,
};

static int blk_create_one(struct board *m, unsigned int i)
{
	const struct disk_config *c = &m->cfg->disks[i];
	struct board_blk *bb = &m->blk[i];
	struct vblk_params prm = {.size = c->size,
				  .readonly = c->readonly,
				  .num_queues = c->num_queues,
				  .queue_size = c->queue_size,
				  .serial = c->id};
	struct stat st;
	int ret;

	bb->fd = -1;
	m->nr_blk = i + 1;
	if (c->vhost_user)
		return 0; /* board/vhost_user.c's */
	bb->fd = open(c->path,
		      (c->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (c->direct ? O_DIRECT : 0));
	if (bb->fd < 0 || fstat(bb->fd, &st)) {
		ret = -errno;
		mv_err(OPT_NAME_DISK " id=%s: path=%s: %s%s", c->id, c->path, strerror(-ret),
		       c->direct && ret == -EINVAL ? " (direct=on: the file system has no O_DIRECT)"
						   : "");
		return ret;
	}
	bb->blockdev = S_ISBLK(st.st_mode);
	ret = vblk_init(&bb->dev, &prm, &board_blk_ops, &m->vm.mem, &m->loop);
	if (ret) {
		mv_err(OPT_NAME_DISK " id=%s: virtio-blk: %s", c->id, strerror(-ret));
		return ret;
	}
	bb->dev_up = true;
	ret = virtio_pci_init(&bb->pci, &bb->dev.vdev, &m->pci, &m->loop, c->id);
	if (ret) {
		mv_err(OPT_NAME_DISK " id=%s: virtio-pci: %s", c->id, strerror(-ret));
		return ret;
	}
	bb->pci_up = true;
	return 0;
}

int board_blk_create(struct board *m)
{
	for (unsigned int i = 0; i < m->cfg->nr_disks; i++) {
		int ret = blk_create_one(m, i);

		if (ret)
			return ret;
	}
	return 0;
}

void board_blk_reset(struct board *m)
{
	for (unsigned int i = 0; i < m->nr_blk; i++)
		if (m->blk[i].pci_up)
			virtio_pci_reset(&m->blk[i].pci);
}

void board_blk_pause(struct board *m, bool paused)
{
	for (unsigned int i = 0; i < m->nr_blk; i++) {
		if (!m->blk[i].pci_up)
			continue;
		virtio_pci_set_paused(&m->blk[i].pci, paused);
		vblk_set_paused(&m->blk[i].dev, paused);
	}
}

void board_blk_destroy(struct board *m)
{
	for (unsigned int i = 0; i < m->nr_blk; i++) {
		struct board_blk *bb = &m->blk[i];

		if (bb->pci_up)
			virtio_pci_destroy(&bb->pci);
		if (bb->dev_up)
			vblk_destroy(&bb->dev);
		if (bb->fd >= 0)
			close(bb->fd);
		bb->pci_up = bb->dev_up = false;
		bb->fd = -1;
	}
	m->nr_blk = 0;
}

int board_blk_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		   size_t errlen)
{
	for (unsigned int i = 0; i < m->nr_blk; i++) {
		struct board_blk *bb = &m->blk[i];
		int ret;

		if (ph == BOARD_PHASE_DEVICES && bb->dev_up) {
			char why[160];

			ret = vblk_save(&bb->dev, m->cfg->disks[i].id, w, why, sizeof(why));
			if (ret) {
				mv_errbuf(err, errlen, OPT_NAME_DISK " id=%s: %s",
					  m->cfg->disks[i].id, why);
				return ret;
			}
		} else if (ph == BOARD_PHASE_TRANSPORTS && bb->pci_up) {
			virtio_pci_save(&bb->pci, w);
		}
	}
	return 0;
}

int board_blk_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		   size_t errlen)
{
	char name[MV_STATE_NAME_MAX + 1];
	struct mv_state_section sec;
	int ret = 0;

	for (unsigned int i = 0; i < m->nr_blk && !ret; i++) {
		struct board_blk *bb = &m->blk[i];
		const char *id = m->cfg->disks[i].id;

		if (ph == BOARD_PHASE_TRANSPORTS) {
			ret = virtio_pci_find_load(&bb->pci, s->p, s->len, err, errlen);
		} else if (ph == BOARD_PHASE_DEVICES) {
			vblk_state_name(id, name, sizeof(name));
			ret = mv_state_find(s->p, s->len, name, &sec, err, errlen);
			if (!ret)
				ret = vblk_load(&bb->dev, id, &sec, err, errlen);
		}
	}
	return ret;
}
