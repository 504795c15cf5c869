#include "board/snapshot.h"
#include "board/net.h"
#include "board/vhost_user.h"

#include "config/options.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/vm_save.h"
#include "board/devices.h"
#include "board/dimm.h"
#include "lib/log.h"
#include "lib/snapfile.h"
#include "lib/state.h"
#include "mem/layout_save.h"

#define SNAP_URL_PREFIX "file://"

const char *board_snapshot_path(const char *url, char *err, size_t errlen)
{
	const char *p;

	if (strncmp(url, SNAP_URL_PREFIX, strlen(SNAP_URL_PREFIX))) {
		snprintf(err, errlen, "url '%s': only file:///PATH is supported", url);
		return NULL;
	}
	p = url + strlen(SNAP_URL_PREFIX);
	if (p[0] != '/' || p[1] == '\0' || p[strlen(p) - 1] == '/') {
		snprintf(err, errlen, "url '%s': want file:///PATH, an absolute path to a file",
			 url);
		return NULL;
	}
	return p;
}

/* A shared file= backend is the user's: only its identity goes in. */
static bool snap_is_users_file(const struct backend *be)
{
	return be && be->spec.kind == BACKEND_FILE && be->map_shared && !be->tmpfile;
}

static int snap_file_identity(struct mv_snap_writer *w, const struct backend *be)
{
	struct stat st;

	if (fstat(be->fd, &st) < 0)
		return -errno;
	return mv_snap_add_file(w, be->spec.zone, (uint64_t)st.st_size, st.st_dev, st.st_ino,
				(uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec);
}

static int snap_config(struct board *m, struct mv_snap_writer *w)
{
	struct mv_state_writer sw;
	int i, ret;

	mv_sw_init(&sw);
	for (i = 1; i < m->argc; i++)
		mv_sw_bytes(&sw, m->argv[i], strlen(m->argv[i]) + 1);
	ret = mv_sw_error(&sw);
	if (!ret)
		ret = mv_snap_add_data(w, MV_SNAP_CONFIG, sw.buf, sw.len);
	mv_sw_free(&sw);
	return ret;
}

static int snap_state(struct board *m, struct mv_snap_writer *w, char *err, size_t errlen)
{
	struct mv_state_writer sw;
	int ret;

	ret = vm_settle_vcpus(&m->vm);
	if (ret) {
		snprintf(err, errlen, "completing the vCPUs' last exits: %s", strerror(-ret));
		return ret;
	}
	mv_sw_init(&sw);
	layout_save(&m->layout, m->cfg, &sw);
	ret = board_save_devices(m, &sw, err, errlen);
	if (!ret) {
		ret = vm_state_save(&kvm_io_sys, &m->vm, &sw, err, errlen);
		if (!ret)
			ret = mv_sw_error(&sw);
		if (!ret) {
			ret = mv_snap_add_data(w, MV_SNAP_STATE, sw.buf, sw.len);
			if (ret)
				snprintf(err, errlen, "%s", strerror(-ret));
		} else if (!err[0]) {
			snprintf(err, errlen, "saving the VM: %s", strerror(-ret));
		}
	}
	mv_sw_free(&sw);
	return ret;
}

/* A copied memory entry: where the guest sees it, where the host keeps it, its plugged map. */
struct snap_region {
	uint64_t gpa, size;
	const uint8_t *hva;
	const struct hp_region *hp; /* NULL: boot RAM, every page counts */
	unsigned int idx;
};

struct snap_ctx {
	struct board *m;
	struct mv_snap_writer w;
	struct snap_region *r;
	unsigned int nr;
	uint64_t dirty; /* pages found dirty by the last pass */
};

static int snap_add_region(struct snap_ctx *c, uint64_t gpa, uint64_t size, const uint8_t *hva,
			   const struct hp_region *hp)
{
	struct snap_region *r = &c->r[c->nr];
	int ret = mv_snap_add_memory(&c->w, gpa, size, &r->idx);

	if (ret)
		return ret;
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	r->hp = hp;
	c->nr++;
	return 0;
}

static bool snap_block_plugged(const struct hp_region *hp, uint64_t off)
{
	uint64_t blk = off / hp->block;

	return hp->plugged[blk / 64] >> (blk % 64) & 1;
}

/* Boot RAM, then each hotplug region with its plugged blocks only, then the DIMMs. */
static int snap_memory(struct snap_ctx *c)
{
	struct board *m = c->m;
	unsigned int i;
	uint64_t blk;
	int ret;

	c->r = calloc(m->nr_ram + m->nr_hotplug + DIMM_MAX_SLOTS + 1, sizeof(*c->r));
	if (!c->r)
		return -ENOMEM;
	for (i = 0; i < m->nr_ram; i++) {
		const struct board_ram *r = &m->ram[i];
		const struct backend *be = NULL;
		unsigned int z;

		for (z = 0; z < m->nr_backends; z++)
			if (!m->backends[z].spec.hotplug && m->backends[z].hva <= r->hva &&
			    r->hva < m->backends[z].hva + m->backends[z].size)
				be = &m->backends[z];
		if (snap_is_users_file(be)) {
			ret = snap_file_identity(&c->w, be);
		} else {
			ret = snap_add_region(c, r->gpa, r->size, r->hva, NULL);
			if (!ret)
				ret = mv_snap_write_memory(&c->w, c->r[c->nr - 1].idx, 0, r->hva,
							   r->size);
		}
		if (ret)
			return ret;
	}
	for (i = 0; i < m->nr_hotplug; i++) {
		struct board_hotplug *h = &m->hotplug[i];
		struct hp_region *hp = &h->hp;
		unsigned int idx;

		if (!h->hp_up)
			continue;
		if (snap_is_users_file(h->backend)) {
			ret = snap_file_identity(&c->w, h->backend);
			if (ret)
				return ret;
			continue;
		}
		ret = snap_add_region(c, hp->gpa, hp->size, hp->hva, hp);
		idx = c->r[c->nr - 1].idx;
		for (blk = 0; !ret && blk < hp->nblocks; blk++)
			if (snap_block_plugged(hp, blk * hp->block))
				ret = mv_snap_write_memory(&c->w, idx, blk * hp->block,
							   hp->hva + blk * hp->block, hp->block);
		if (ret)
			return ret;
	}
	/* Each DIMM in guest hands, at its address (an ejected one still holds memory). */
	for (i = 0; m->dimms && i < m->dimms->set.nr_slots; i++) {
		const struct dimm *dm = &m->dimms->set.dimms[i];
		const uint8_t *hva = m->dimms->backing[i].hva;

		if (dm->state == DIMM_EMPTY || !m->dimms->mapped[i])
			continue;
		ret = snap_add_region(c, dm->addr, dm->size, hva, NULL);
		if (!ret)
			ret = mv_snap_write_memory(&c->w, c->r[c->nr - 1].idx, 0, hva, dm->size);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * vm_dirty_fn: the pages of one slot written since the last pass, copied
 * again (a slot lies inside one region; a shared file= zone has none here,
 * and pages of unplugged blocks are skipped: they are not the guest's).
 */
static int snap_dirty_slot(void *opaque, uint64_t gpa, uint64_t size, const uint64_t *bits)
{
	struct snap_ctx *c = opaque;
	const struct snap_region *r = NULL;
	uint64_t n = size / MV_SNAP_PAGE, i, run;
	unsigned int k;
	int ret;

	for (k = 0; k < c->nr; k++)
		if (c->r[k].gpa <= gpa && gpa - c->r[k].gpa < c->r[k].size)
			r = &c->r[k];
	if (!r || gpa + size > r->gpa + r->size)
		return 0;
	for (i = 0; i < n; i += run ? run : 1) {
		uint64_t off = gpa - r->gpa + i * MV_SNAP_PAGE;

		run = 0;
		if (!(bits[i / 64] >> (i % 64) & 1)) {
			/* Nothing in this word: skip to the next. */
			if (!bits[i / 64])
				run = 64 - i % 64;
			continue;
		}
		while (i + run < n && bits[(i + run) / 64] >> ((i + run) % 64) & 1 &&
		       (!r->hp || snap_block_plugged(r->hp, off + run * MV_SNAP_PAGE)))
			run++;
		if (!run)
			continue;
		c->dirty += run;
		ret = mv_snap_rewrite_memory(&c->w, r->idx, off, r->hva + off, run * MV_SNAP_PAGE);
		if (ret)
			return ret;
	}
	return 0;
}

static int snap_pass(struct snap_ctx *c)
{
	c->dirty = 0;
	return vm_dirty_collect(&c->m->vm, snap_dirty_slot, c);
}

static double snap_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/*
 * A live snapshot's memory: dirty logging on, a full pass while the guest
 * runs, then passes over what it wrote meanwhile until that is small or
 * the pass bound is reached. The virtio-mem devices are held throughout
 * (their requests wait in the queue), so the plugged maps cannot change.
 */
static int snap_live_passes(struct snap_ctx *c, struct board_snapshot_result *res)
{
	int ret;

	ret = snap_memory(c);
	res->passes = 1;
	while (!ret && res->passes < BOARD_LIVE_MAX_PASSES) {
		ret = snap_pass(c);
		res->passes++;
		if (!ret && c->dirty <= BOARD_LIVE_DIRTY_PAGES)
			break;
	}
	return ret;
}

/* Config and state: the entries a live snapshot writes while paused, after its memory. */
static int snap_config_state(struct board *m, struct mv_snap_writer *w, char *err, size_t errlen)
{
	int ret = snap_config(m, w);

	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	if (!ret)
		ret = snap_state(m, w, err, errlen);
	return ret;
}

static int snap_finish(struct snap_ctx *c, char *err, size_t errlen)
{
	int ret = mv_snap_finish(&c->w);

	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	else
		mv_info("snapshot: %llu KiB of memory written, %llu KiB again by later passes",
			(unsigned long long)(c->w.written >> 10),
			(unsigned long long)(c->w.rewritten >> 10));
	return ret;
}

static int snap_write(struct snap_ctx *c, char *err, size_t errlen)
{
	int ret = snap_config_state(c->m, &c->w, err, errlen);

	if (!ret) {
		ret = snap_memory(c);
		if (ret)
			snprintf(err, errlen, "writing guest memory: %s", strerror(-ret));
	}
	return ret ? ret : snap_finish(c, err, errlen);
}

/* Highest guest address any memory may be mapped at: gmem tracks writes below it. */
static uint64_t snap_track_limit(const struct board *m)
{
	return m->layout.end;
}

/*
 * Live: passes while the guest runs, then paused only for the last pass,
 * the state sections and the config; resumed before the table, header and
 * fsync, which leave the guest alone.
 */
static int snap_write_live(struct snap_ctx *c, struct board_snapshot_result *res, char *err,
			   size_t errlen)
{
	struct board *m = c->m;
	double t0 = 0;
	bool paused = false;
	int ret;

	ret = vm_dirty_start(&m->vm, snap_track_limit(m));
	if (ret) {
		snprintf(err, errlen, "starting dirty page logging: %s", strerror(-ret));
		return ret;
	}
	board_hold_memory_devices(m, true);
	ret = snap_live_passes(c, res);
	if (ret)
		snprintf(err, errlen, "writing guest memory: %s", strerror(-ret));
	if (!ret) {
		t0 = snap_now_ms();
		board_pause(m);
		paused = true;
		ret = snap_config_state(m, &c->w, err, errlen);
	}
	if (!ret) {
		/* After the state: finishing the vCPUs' last exits may have written memory. */
		ret = snap_pass(c);
		res->passes++;
		if (ret)
			snprintf(err, errlen, "writing guest memory: %s", strerror(-ret));
	}
	vm_dirty_stop(&m->vm);
	if (paused) {
		if (board_resume(m) < 0 && !ret) {
			snprintf(err, errlen, "the vCPUs did not start again");
			ret = -EIO;
		}
		res->pause_ms = snap_now_ms() - t0;
	} else {
		board_hold_memory_devices(m, false);
	}
	return ret ? ret : snap_finish(c, err, errlen);
}

int board_snapshot(struct board *m, const char *url, bool live, struct board_snapshot_result *res,
		   char *err, size_t errlen)
{
	char tmp[4096 + 32], dir[4096], msg[512] = "";
	const char *path = board_snapshot_path(url, err, errlen);
	bool was_paused = m->paused;
	struct snap_ctx c = {.m = m};
	double t0;
	int fd, dfd, ret;

	memset(res, 0, sizeof(*res));
	if (!path)
		return -EINVAL;
	/* The file is a pmem device's memory; a private mapping's changes are nowhere else. */
	for (unsigned int i = 0; i < m->cfg->nr_pmem; i++)
		if (m->cfg->pmem[i].discard_writes) {
			snprintf(err, errlen,
				 OPT_NAME_PMEM
				 " id=%s: discard_writes=on keeps the guest's writes in "
				 "this process only, and snapshots do not carry them "
				 "(not implemented)",
				 m->cfg->pmem[i].id);
			return -EOPNOTSUPP;
		}
	ret = board_dimms_snapshot_check(m, err, errlen);
	if (ret)
		return ret;
	ret = board_net_snapshot_check(m, err, errlen);
	if (ret)
		return ret;
	ret = board_vu_snapshot_check(m, err, errlen);
	if (ret)
		return ret;
	if (strlen(path) >= sizeof(dir)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(dir));
	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	mv_snap_writer_init(&c.w, fd);
	/* A paused VM has nothing to gain from passes: it is written as it is. */
	if (live && !was_paused) {
		ret = snap_write_live(&c, res, msg, sizeof(msg));
	} else {
		t0 = snap_now_ms();
		board_pause(m);
		res->passes = 1;
		ret = snap_write(&c, msg, sizeof(msg));
		if (!was_paused)
			res->pause_ms = snap_now_ms() - t0;
	}
	res->memory_bytes = c.w.written;
	mv_snap_writer_free(&c.w);
	free(c.r);
	if (close(fd) < 0 && !ret) {
		ret = -errno;
		snprintf(msg, sizeof(msg), "%s", strerror(errno));
	}
	if (!ret && rename(tmp, path) < 0) {
		ret = -errno;
		snprintf(msg, sizeof(msg), "%s", strerror(errno));
	}
	if (ret) {
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", path, msg);
	} else {
		/* The rename is durable once the directory is. */
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	/* A live snapshot resumed already; resuming a running VM does nothing. */
	if (!was_paused && board_resume(m) < 0 && !ret) {
		snprintf(err, errlen, "%s: written, but the vCPUs did not start again", path);
		ret = -EIO;
	}
	return ret;
}
