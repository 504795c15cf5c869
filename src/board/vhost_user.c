#include "board/vhost_user.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/memory.h"
#include "config/options.h"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/blk.h"

int board_vu_memory(struct board *m, struct vudev_mem *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < m->layout.nr_regions; i++) {
		const struct layout_region *r = &m->layout.regions[i];
		bool hp = r->kind == LAYOUT_HOTPLUG;
		struct backend *b;

		if (r->kind != LAYOUT_RAM && !hp)
			continue;
		b = board_zone_backend(m, r->zone, hp);
		if (!b)
			continue;
		if (b->fd < 0 || !b->map_shared) {
			snprintf(err, errlen,
				 "%s: not shareable with a vhost-user back-end (give it "
				 "shared=on)",
				 b->spec.opt);
			return -EINVAL;
		}
		if (out->n == VU_MAX_FDS) {
			snprintf(err, errlen,
				 "guest memory is more than %u ranges, the most one "
				 "vhost-user memory table carries",
				 VU_MAX_FDS);
			return -E2BIG;
		}
		out->r[out->n] =
		    (struct vu_region){.gpa = r->gpa,
				       .size = r->size,
				       .uaddr = (uint64_t)(uintptr_t)(b->hva + r->offset),
				       .mmap_offset = r->offset};
		out->fd[out->n++] = b->fd;
	}
	return 0;
}

/* Loop thread: the back-end of a device went away; the VM runs on. */
static void vu_broken(struct vudev *d, const char *why)
{
	struct board_vu *u = d->prm.opaque;
	struct json_object *o;

	if (!u->m->api_up)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "device", json_object_new_string(u->id));
	json_object_object_add(o, "socket", json_object_new_string(u->socket));
	json_object_object_add(o, "reason", json_object_new_string(why));
	api_emit_event(&u->m->api, "X_VHOST_USER_DISCONNECTED", o);
}

/*
 * The device's params for one --fs or vhost-user --disk, with its config
 * (into config, from the back-end for a disk). 0, or -errno logged.
 */
static int vu_params(struct board_vu *u, const struct fs_config *fs, const struct disk_config *dk,
		     struct vu_conn *conn, uint8_t *config, struct vudev_params *prm)
{
	char err[512];
	int ret;

	*prm = (struct vudev_params){.name = u->name, .broken = vu_broken, .opaque = u};
	if (fs) {
		vudev_fs_config(fs->tag, fs->num_queues, config);
		prm->device_id = VUDEV_FS_DEVICE_ID;
		prm->num_queues = 1 + fs->num_queues; /* hiprio + requests */
		prm->queue_size = fs->queue_size;
		prm->config_size = VUDEV_FS_CONFIG_LEN;
		mv_info("%s: tag %s, %u request queue(s) of %u, back-end %s", u->name, fs->tag,
			fs->num_queues, fs->queue_size, fs->socket);
	} else {
		ret = vu_get_config(conn, 0, config, VUDEV_BLK_CONFIG_LEN);
		if (!ret)
			ret = vudev_blk_config(config, conn->features, dk->num_queues, err,
					       sizeof(err));
		if (ret) {
			mv_err("%s: %s", u->name, ret == -EINVAL ? err : conn->err);
			return ret;
		}
		prm->device_id = VUDEV_BLK_DEVICE_ID;
		prm->num_queues = dk->num_queues;
		prm->queue_size = dk->queue_size;
		prm->config_size = VUDEV_BLK_CONFIG_LEN;
		prm->withhold = 1ULL << VUDEV_BLK_F_CONFIG_WCE;
		prm->takeover = true;
		mv_info("%s: %llu sectors%s, %u queue(s) of %u, back-end %s", u->name,
			(unsigned long long)le_get(config, 8),
			conn->features & 1ULL << VBLK_F_RO ? " read-only" : "", dk->num_queues,
			dk->queue_size, dk->socket);
	}
	prm->config = config;
	return 0;
}

static int vu_create_one(struct board *m, struct board_vu *u, const struct fs_config *fs,
			 const struct disk_config *dk, const struct vudev_mem *mem)
{
	uint8_t config[VUDEV_MAX_CONFIG] = {0};
	struct vudev_params prm;
	struct vu_conn conn;
	char err[512];
	int ret;

	u->m = m;
	u->id = fs ? fs->id : dk->id;
	u->socket = fs ? fs->socket : dk->socket;
	snprintf(u->name, sizeof(u->name), "%s id=%s", fs ? OPT_NAME_FS : OPT_NAME_DISK, u->id);
	ret = vu_connect(&conn, u->socket, VU_TIMEOUT_MS, err, sizeof(err));
	if (ret) {
		mv_err("%s: %s", u->name, err);
		return ret;
	}
	ret = vu_params(u, fs, dk, &conn, config, &prm);
	if (ret) {
		vu_close(&conn);
		return ret;
	}
	ret = vudev_init(&u->dev, &prm, &conn, &m->vm.mem, &m->loop, err, sizeof(err));
	if (ret) {
		mv_err("%s", err);
		return ret;
	}
	u->dev_up = true;
	vudev_set_mem(&u->dev, mem);
	ret = virtio_pci_init(&u->pci, &u->dev.vdev, &m->pci, &m->loop, u->id);
	if (ret) {
		mv_err("%s: virtio-pci: %s", u->name, strerror(-ret));
		return ret;
	}
	u->pci_up = true;
	for (unsigned int q = 0; q < prm.num_queues; q++)
		vudev_set_kick(&u->dev, q, virtio_pci_take_notify(&u->pci, q));
	mv_info("%s: %u guest memory ranges given to the back-end, virtio-mem regions whole",
		u->name, mem->n);
	return 0;
}

int board_vu_create(struct board *m)
{
	const struct mv_config *cfg = m->cfg;
	unsigned int n = cfg->nr_fs;
	struct vudev_mem mem;
	char err[512];
	int ret;

	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		n += cfg->disks[i].vhost_user;
	if (!n)
		return 0;
	ret = board_vu_memory(m, &mem, err, sizeof(err));
	if (ret) {
		mv_err("vhost-user: %s", err);
		return ret;
	}
	m->vu = calloc(n, sizeof(*m->vu));
	if (!m->vu) {
		mv_err("vhost-user: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < cfg->nr_disks + cfg->nr_fs; i++) {
		const struct disk_config *dk = i < cfg->nr_disks ? &cfg->disks[i] : NULL;
		const struct fs_config *fs = dk ? NULL : &cfg->fs[i - cfg->nr_disks];

		if (dk && !dk->vhost_user)
			continue;
		ret = vu_create_one(m, &m->vu[m->nr_vu++], fs, dk, &mem);
		if (ret)
			return ret;
	}
	return 0;
}

void board_vu_reset(struct board *m)
{
	for (unsigned int i = 0; i < m->nr_vu; i++)
		if (m->vu[i].pci_up)
			virtio_pci_reset(&m->vu[i].pci);
}

void board_vu_pause(struct board *m, bool paused)
{
	for (unsigned int i = 0; i < m->nr_vu; i++) {
		if (!m->vu[i].pci_up)
			continue;
		virtio_pci_set_paused(&m->vu[i].pci, paused);
		if (!paused)
			vudev_resumed(&m->vu[i].dev);
	}
}

void board_vu_destroy(struct board *m)
{
	for (unsigned int i = 0; i < m->nr_vu; i++) {
		struct board_vu *u = &m->vu[i];

		if (u->pci_up)
			virtio_pci_destroy(&u->pci);
		if (u->dev_up)
			vudev_destroy(&u->dev);
	}
	free(m->vu);
	m->vu = NULL;
	m->nr_vu = 0;
}

int board_vu_snapshot_check(struct board *m, char *err, size_t errlen)
{
	if (!m->nr_vu)
		return 0;
	snprintf(err, errlen,
		 "%s: a vhost-user device's state is in its back-end, which snapshots and "
		 "migration do not carry (not supported)",
		 m->vu[0].name);
	return -EOPNOTSUPP;
}

int board_vu_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		  size_t errlen)
{
	(void)ph;
	(void)w;
	return board_vu_snapshot_check(m, err, errlen);
}

int board_vu_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		  size_t errlen)
{
	(void)ph;
	(void)s;
	if (!m->nr_vu)
		return 0;
	snprintf(err, errlen, "%s: a snapshot cannot hold a vhost-user device", m->vu[0].name);
	return -EOPNOTSUPP;
}
