#include "board/fs.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/memory.h"
#include "config/options.h"
#include "lib/log.h"
#include "lib/util.h"

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

/* Loop thread: the back-end of a share went away; the VM runs on. */
static void fs_broken(struct vudev *d, const char *why)
{
	struct board_fs *f = d->prm.opaque;
	const struct fs_config *c = &f->m->cfg->fs[f->idx];
	struct json_object *o;

	if (!f->m->api_up)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "device", json_object_new_string(c->id));
	json_object_object_add(o, "socket", json_object_new_string(c->socket));
	json_object_object_add(o, "reason", json_object_new_string(why));
	api_emit_event(&f->m->api, "X_VHOST_USER_DISCONNECTED", o);
}

static int fs_create_one(struct board *m, struct board_fs *f, const struct vudev_mem *mem)
{
	const struct fs_config *c = &m->cfg->fs[f->idx];
	uint8_t config[VUDEV_FS_CONFIG_LEN];
	struct vudev_params prm = {
	    .name = f->name,
	    .device_id = VUDEV_FS_DEVICE_ID,
	    .num_queues = 1 + c->num_queues,
	    .queue_size = c->queue_size,
	    .config = config,
	    .config_size = sizeof(config),
	    .broken = fs_broken,
	    .opaque = f,
	};
	struct vu_conn conn;
	char err[512];
	int ret;

	vudev_fs_config(c->tag, c->num_queues, config);
	ret = vu_connect(&conn, c->socket, VU_TIMEOUT_MS, err, sizeof(err));
	if (ret) {
		mv_err("%s: %s", f->name, err);
		return ret;
	}
	ret = vudev_init(&f->dev, &prm, &conn, &m->vm.mem, &m->loop, err, sizeof(err));
	if (ret) {
		mv_err("%s", err);
		return ret;
	}
	f->dev_up = true;
	vudev_set_mem(&f->dev, mem);
	ret = virtio_pci_init(&f->pci, &f->dev.vdev, &m->pci, &m->loop, c->id);
	if (ret) {
		mv_err("%s: virtio-pci: %s", f->name, strerror(-ret));
		return ret;
	}
	f->pci_up = true;
	for (unsigned int q = 0; q < prm.num_queues; q++)
		vudev_set_kick(&f->dev, q, virtio_pci_take_notify(&f->pci, q));
	mv_info("%s: tag %s, %u request queue(s) of %u, back-end %s (%u memory ranges, virtio-mem "
		"regions whole)",
		f->name, c->tag, c->num_queues, c->queue_size, c->socket, mem->n);
	return 0;
}

int board_fs_create(struct board *m)
{
	struct vudev_mem mem;
	char err[512];
	int ret;

	if (!m->cfg->nr_fs)
		return 0;
	ret = board_vu_memory(m, &mem, err, sizeof(err));
	if (ret) {
		mv_err(OPT_NAME_FS ": %s", err);
		return ret;
	}
	m->fs = calloc(m->cfg->nr_fs, sizeof(*m->fs));
	if (!m->fs) {
		mv_err(OPT_NAME_FS ": %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < m->cfg->nr_fs; i++) {
		struct board_fs *f = &m->fs[i];

		f->m = m;
		f->idx = i;
		snprintf(f->name, sizeof(f->name), OPT_NAME_FS " id=%s", m->cfg->fs[i].id);
		m->nr_fs = i + 1;
		ret = fs_create_one(m, f, &mem);
		if (ret)
			return ret;
	}
	return 0;
}

void board_fs_reset(struct board *m)
{
	for (unsigned int i = 0; i < m->nr_fs; i++)
		if (m->fs[i].pci_up)
			virtio_pci_reset(&m->fs[i].pci);
}

void board_fs_pause(struct board *m, bool paused)
{
	for (unsigned int i = 0; i < m->nr_fs; i++)
		if (m->fs[i].pci_up)
			virtio_pci_set_paused(&m->fs[i].pci, paused);
}

void board_fs_destroy(struct board *m)
{
	for (unsigned int i = 0; i < m->nr_fs; i++) {
		struct board_fs *f = &m->fs[i];

		if (f->pci_up)
			virtio_pci_destroy(&f->pci);
		if (f->dev_up)
			vudev_destroy(&f->dev);
	}
	free(m->fs);
	m->fs = NULL;
	m->nr_fs = 0;
}

int board_fs_snapshot_check(struct board *m, char *err, size_t errlen)
{
	if (!m->nr_fs)
		return 0;
	snprintf(err, errlen,
		 OPT_NAME_FS " id=%s: a vhost-user device's state is in its back-end, which "
			     "snapshots and migration do not carry (not supported)",
		 m->cfg->fs[0].id);
	return -EOPNOTSUPP;
}

int board_fs_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		  size_t errlen)
{
	(void)ph;
	(void)w;
	return board_fs_snapshot_check(m, err, errlen);
}

int board_fs_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		  size_t errlen)
{
	(void)ph;
	(void)s;
	if (!m->nr_fs)
		return 0;
	snprintf(err, errlen, OPT_NAME_FS ": a snapshot cannot hold a vhost-user device");
	return -EOPNOTSUPP;
}
