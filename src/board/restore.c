#include "board/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "board/devices.h"
#include "board/dimm.h"
#include "board/memory.h"
#include "board/snapshot.h"
#include "config/options.h"
#include "core/vm_save.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/snapfile.h"
#include "mem/layout.h"
#include "mem/layout_save.h"
#include "mem/ondemand.h"

#define RESTORE_MAX_WORDS 4096
#define RESTORE_PAGE	  4096u

static const char *const restore_mode_names[] = {
    [RESTORE_COPY] = "copy", [RESTORE_COW] = "cow", [RESTORE_ONDEMAND] = "ondemand"};

/* How each zone's memory comes back, and whether it is populated before the guest runs. */
struct restore_plan {
	enum restore_mode mode[CONFIG_MAX_ZONES];
	bool prefault[CONFIG_MAX_ZONES];
	enum restore_mode asked; /* memory_restore_mode= */
	int prefault_asked;	 /* prefault=: -1 unset, else 0/1 */
};

/* The command line words of the snapshot, argv[0] first; the words live in buf. */
static int restore_words(char *buf, size_t len, int *argc, char ***argv)
{
	size_t i, n = 0;
	char **v;

	if (len && buf[len - 1] != '\0')
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			n++;
	if (n > RESTORE_MAX_WORDS)
		return -E2BIG;
	v = calloc(n + 2, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[0] = "memvisor";
	for (i = 0, n = 1; i < len; i += strlen(buf + i) + 1)
		v[n++] = buf + i;
	*argc = (int)n;
	*argv = v;
	return 0;
}

static int restore_check_files(const struct mv_snap_file *f, const struct mv_config *cfg)
{
	unsigned int i;

	for (i = 0; i < f->n; i++) {
		const struct mv_snap_entry *e = &f->entries[i];
		const struct zone_config *z;
		struct stat st;

		if (e->kind != MV_SNAP_FILE)
			continue;
		if (e->gpa >= cfg->nr_zones || !cfg->zones[e->gpa].file) {
			mv_err(OPT_NAME_RESTORE ": the snapshot names file zone %llu, which its "
						"configuration lacks",
			       (unsigned long long)e->gpa);
			return -1;
		}
		z = &cfg->zones[e->gpa];
		if (stat(z->file, &st) < 0) {
			mv_err(OPT_NAME_RESTORE ": zone %s: %s: %s", z->id, z->file,
			       strerror(errno));
			return -1;
		}
		if ((uint64_t)st.st_dev != e->aux[0] || (uint64_t)st.st_ino != e->aux[1] ||
		    (uint64_t)st.st_size != e->length || (uint64_t)st.st_mtim.tv_sec != e->aux[2] ||
		    (uint64_t)st.st_mtim.tv_nsec != e->aux[3]) {
			mv_err(OPT_NAME_RESTORE ": zone %s: %s is not the file the snapshot was "
						"taken with (device, inode, size or mtime changed)",
			       z->id, z->file);
			return -1;
		}
	}
	return 0;
}

/* Where a memory entry goes: a boot RAM piece, a virtio-mem region or a DIMM. */
struct restore_target {
	uint8_t *hva;
	struct backend *be;
	uint64_t be_off;      /* of hva in be */
	struct hp_region *hp; /* a virtio-mem region: its plugged blocks */
	unsigned int zone;
	bool dimm;
	bool prealloc; /* a DIMM's object has prealloc=on */
};

static bool restore_target(struct board *m, const struct mv_snap_entry *e, struct restore_target *t)
{
	unsigned int i, b;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < m->nr_ram; i++) {
		if (m->ram[i].gpa != e->gpa || m->ram[i].size != e->length)
			continue;
		for (b = 0; b < m->nr_backends; b++) {
			struct backend *be = &m->backends[b];

			if (!be->spec.hotplug && be->hva <= m->ram[i].hva &&
			    m->ram[i].hva + e->length <= be->hva + be->size) {
				*t = (struct restore_target){
				    .hva = m->ram[i].hva,
				    .be = be,
				    .be_off = (uint64_t)(m->ram[i].hva - be->hva),
				    .zone = be->spec.zone};
				return true;
			}
		}
	}
	for (i = 0; i < m->nr_hotplug; i++) {
		struct board_hotplug *h = &m->hotplug[i];

		if (h->hp_up && h->hp.gpa == e->gpa && h->hp.size == e->length) {
			*t = (struct restore_target){
			    .hva = h->hp.hva, .be = h->backend, .hp = &h->hp, .zone = h->zone};
			return true;
		}
	}
	t->be = board_dimm_backing(m, e->gpa, e->length, &t->prealloc);
	if (!t->be)
		return false;
	t->hva = t->be->hva;
	t->dimm = true;
	return true;
}

/*
 * A DIMM's mode: cow for private anonymous memory, as asked; copy when
 * ondemand is asked (only boot RAM and virtio-mem regions are served on
 * demand: a DIMM the guest ejects must not vanish under the server).
 */
static int restore_dimm_mode(const struct restore_plan *plan, const struct restore_target *t,
			     enum restore_mode *mode)
{
	*mode = RESTORE_COPY;
	if (plan->asked != RESTORE_COW)
		return 0;
	if (t->be->spec.kind != BACKEND_ANON || t->be->spec.shared) {
		mv_err(OPT_NAME_RESTORE " memory_restore_mode=cow: DIMM memory %s is shared or a "
					"file, and a private copy of it would not be: use "
					"memory_restore_mode=copy",
		       t->be->spec.name);
		return -1;
	}
	*mode = RESTORE_COW;
	return 0;
}

/* Whether the entry's memory is populated before the guest runs. */
static bool restore_prefaults(const struct restore_plan *plan, const struct restore_target *t)
{
	if (!t->dimm)
		return plan->prefault[t->zone];
	return plan->prefault_asked >= 0 ? plan->prefault_asked : t->prealloc;
}

/*
 * Which zones take cow or ondemand, from the configuration alone (before
 * anything is acquired). A zone whose memory is not in the file (a shared
 * file= zone without virtio-mem) takes any mode. ondemand with prefault
 * needs every page before the guest runs: that zone is copied.
 */
static int restore_plan(const struct mv_config *rcfg, struct mv_config *cfg, struct restore_plan *p)
{
	const char *mode = restore_mode_names[rcfg->restore.mode], *why;
	char opt[CONFIG_ERR_LEN];
	unsigned int i;

	p->asked = rcfg->restore.mode;
	p->prefault_asked = rcfg->restore.prefault;
	for (i = 0; i < cfg->nr_zones; i++) {
		const struct zone_config *z = &cfg->zones[i];
		bool copied = !z->shared || !z->file || z->hotplug_size;

		/* Populated after the memory is in place, never twice (see board_restore). */
		p->prefault[i] =
		    rcfg->restore.prefault >= 0 ? rcfg->restore.prefault : cfg->zones[i].prefault;
		cfg->zones[i].prefault = false;
		p->mode[i] = rcfg->restore.mode;
		if (p->mode[i] == RESTORE_ONDEMAND && p->prefault[i])
			p->mode[i] = RESTORE_COPY;
		if (p->mode[i] == RESTORE_COPY || !copied)
			continue;
		if (z->hugepages)
			why =
			    p->mode[i] == RESTORE_COW
				? "has hugepages=on, and hugetlb memory cannot map a file "
				  "privately"
				: "has hugepages=on; only private 4 KiB memory is served on demand";
		else if (z->shared)
			why =
			    p->mode[i] == RESTORE_COW
				? "is shared=on, and a private copy of it would not be shared"
				: "is shared=on; only private anonymous memory is served on demand";
		else if (z->file && p->mode[i] == RESTORE_ONDEMAND)
			why = "has file=; only anonymous memory is served on demand "
			      "(cow maps the snapshot privately instead)";
		else
			continue;
		layout_zone_opt(cfg, i, opt, sizeof(opt));
		mv_err(OPT_NAME_RESTORE
		       " memory_restore_mode=%s: %s %s: use memory_restore_mode=copy",
		       mode, opt, why);
		return -1;
	}
	return 0;
}
/* Copies the entry's data extents; holes (zero pages) are left untouched, unallocated. */
static int restore_copy(int fd, const struct mv_snap_entry *e, uint8_t *dst)
{
	off_t pos = (off_t)e->offset, end = (off_t)(e->offset + e->length), data, hole;

	while (pos < end) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			return 0;
		if (data < 0)
			return -errno;
		if (data >= end)
			return 0;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if (hole > end)
			hole = end;
		while (data < hole) {
			ssize_t n =
			    pread(fd, dst + (data - (off_t)e->offset), (size_t)(hole - data), data);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -ENODATA;
			data += n;
		}
		pos = hole;
	}
	return 0;
}

static int restore_state(struct board *m, const void *p, size_t len)
{
	struct mv_state_section sec;
	char err[512] = "";
	int ret;

	ret = mv_state_find(p, len, LAYOUT_STATE_NAME, &sec, err, sizeof(err));
	if (!ret)
		ret = layout_load(&m->layout, m->cfg, &sec, err, sizeof(err));
	if (!ret)
		ret = board_load_devices(m, p, len, err, sizeof(err));
	if (!ret)
		ret = vm_state_load(&kvm_io_sys, &m->vm, p, len, err, sizeof(err));
	if (ret)
		mv_err(OPT_NAME_RESTORE ": %s", err[0] ? err : strerror(-ret));
	return ret;
}

/* The loop thread, when the background pass is over: the server goes, memory is plain. */
static void restore_on_filled(struct loop_watch *w, uint32_t events)
{
	struct board *m = container_of(w, struct board, od_w);

	if (!m->od || !od_take_done(m->od))
		return;
	loop_del(&m->loop, &m->od_w);
	if (__atomic_load_n(&m->od->failed, __ATOMIC_ACQUIRE)) {
		/* Said on stderr by the server; it answers zeros until teardown stops it. */
		m->exit_code = 1;
		loop_stop(&m->loop);
		return;
	}
	board_ondemand_close(m, true);
}

static bool restore_aligned(const struct mv_snap_entry *e, const struct restore_target *t)
{
	return !(e->offset % RESTORE_PAGE) && !(e->length % RESTORE_PAGE) &&
	       !((uintptr_t)t->hva % RESTORE_PAGE) && !(t->be_off % RESTORE_PAGE);
}

/*
 * Every memory entry into its place, by its zone's mode: copy reads the
 * data extents in; cow maps the entry MAP_PRIVATE from the file; ondemand
 * registers it with the userfaultfd server, started here so that the
 * virtio-mem state that follows (plugs that prealloc) is served already.
 */
static int restore_memory(struct board *m, const struct mv_snap_file *f, int fd, const char *path,
			  const struct restore_plan *plan, struct ondemand *od)
{
	char err[CONFIG_ERR_LEN];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < f->n && !ret; i++) {
		const struct mv_snap_entry *e = &f->entries[i];
		struct restore_target t;
		enum restore_mode mode;

		if (e->kind != MV_SNAP_MEMORY)
			continue;
		if (!restore_target(m, e, &t)) {
			mv_err(OPT_NAME_RESTORE ": %s: memory at %#llx (%llu bytes) is no RAM of "
						"this machine",
			       path, (unsigned long long)e->gpa, (unsigned long long)e->length);
			ret = -1;
			break;
		}
		mode = plan->mode[t.zone];
		if (t.dimm && restore_dimm_mode(plan, &t, &mode)) {
			ret = -1;
			break;
		}
		if (mode != RESTORE_COPY && !restore_aligned(e, &t)) {
			mv_err(OPT_NAME_RESTORE
			       " memory_restore_mode=%s: %s: memory at %#llx is not "
			       "page-aligned in the file or in memory",
			       restore_mode_names[mode], path, (unsigned long long)e->gpa);
			ret = -1;
			break;
		}
		switch (mode) {
		case RESTORE_COPY:
			ret = restore_copy(fd, e, t.hva);
			if (ret)
				mv_err(OPT_NAME_RESTORE ": %s: reading guest memory: %s", path,
				       strerror(-ret));
			break;
		case RESTORE_COW:
			ret = backend_map_file_data(t.be, t.be_off, e->length, fd, e->offset);
			if (ret)
				mv_err(OPT_NAME_RESTORE " memory_restore_mode=cow: %s: mapping "
							"guest memory at %#llx: %s",
				       path, (unsigned long long)e->gpa, strerror(-ret));
			break;
		case RESTORE_ONDEMAND:
			ret = od_add(od, t.hva, e->length, e->offset, err, sizeof(err));
			if (ret) {
				mv_err(OPT_NAME_RESTORE " memory_restore_mode=ondemand: %s", err);
				break;
			}
			t.be->uffd = od->uffd;
			t.be->uffd_on = true;
			break;
		}
	}
	if (od) {
		m->od = od;
		if (!ret && od->n) {
			ret = od_start(od);
			if (ret)
				mv_err(OPT_NAME_RESTORE " memory_restore_mode=ondemand: starting "
							"the server thread: %s",
				       strerror(-ret));
		}
		if (!ret && od->n) {
			m->od_w.fd = od->done_fd;
			m->od_w.cb = restore_on_filled;
			ret = loop_add(&m->loop, &m->od_w, EPOLLIN);
			if (ret)
				mv_err(OPT_NAME_RESTORE " memory_restore_mode=ondemand: %s",
				       strerror(-ret));
		}
		if (!ret && !od->n)
			board_ondemand_close(m, false); /* nothing of it is served */
	}
	return ret ? -1 : 0;
}

/* prefault=on: every restored page of the zone, boot RAM and plugged blocks alike. */
static int restore_prefault(struct board *m, const struct mv_snap_file *f,
			    const struct restore_plan *plan)
{
	char err[CONFIG_ERR_LEN];
	unsigned int i;
	uint64_t b, run;
	int ret = 0;

	for (i = 0; i < f->n && !ret; i++) {
		const struct mv_snap_entry *e = &f->entries[i];
		struct restore_target t;
		int (*pf)(struct backend *, uint64_t, uint64_t, char *, size_t);

		if (e->kind != MV_SNAP_MEMORY || !restore_target(m, e, &t) ||
		    !restore_prefaults(plan, &t))
			continue;
		/* cow: the file's pages mapped, not copied; written ones are copied then. */
		pf = (t.dimm ? plan->asked : plan->mode[t.zone]) == RESTORE_COW
			 ? backend_prefault_read
			 : backend_prefault;
		if (!t.hp) {
			ret = pf(t.be, t.be_off, e->length, err, sizeof(err));
			continue;
		}
		for (b = 0; b < t.hp->nblocks && !ret; b = run) {
			for (run = b; run < t.hp->nblocks && hp_is_plugged(t.hp, run * t.hp->block);
			     run++)
				;
			if (run > b)
				ret = pf(t.be, b * t.hp->block, (run - b) * t.hp->block, err,
					 sizeof(err));
			else
				run = b + 1;
		}
	}
	if (ret)
		mv_err(OPT_NAME_RESTORE " prefault=on: %s", err);
	return ret ? -1 : 0;
}

int board_restore(struct board *m, const struct mv_config *rcfg, struct mv_config *cfg)
{
	char err[CONFIG_ERR_LEN], *words = NULL, **argv = NULL;
	const struct mv_snap_entry *ce, *se;
	struct mv_snap_file f = {0};
	struct restore_plan plan;
	struct ondemand *od = NULL;
	const char *path;
	void *state = NULL;
	bool exit_now;
	struct stat st;
	unsigned int i;
	int fd, argc, ret = -1;

	board_init(m, cfg);
	path = board_snapshot_path(rcfg->restore.source_url, err, sizeof(err));
	if (!path) {
		mv_err(OPT_NAME_RESTORE " source_url: %s", err);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		mv_err(OPT_NAME_RESTORE ": %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (mv_snap_open(fd, (uint64_t)st.st_size, &f, err, sizeof(err))) {
		mv_err(OPT_NAME_RESTORE ": %s: %s", path, err);
		goto out;
	}
	ce = mv_snap_find(&f, MV_SNAP_CONFIG);
	se = mv_snap_find(&f, MV_SNAP_STATE);
	if (!ce || !se) {
		mv_err(OPT_NAME_RESTORE ": %s: corrupted: no %s entry", path,
		       ce ? "state" : "config");
		goto out;
	}
	if (mv_snap_read_data(fd, ce, (void **)&words, err, sizeof(err)) ||
	    mv_snap_read_data(fd, se, &state, err, sizeof(err))) {
		mv_err(OPT_NAME_RESTORE ": %s: %s", path, err);
		goto out;
	}
	if (restore_words(words, ce->length, &argc, &argv)) {
		mv_err(OPT_NAME_RESTORE ": %s: corrupted: the configuration is not a list of words",
		       path);
		goto out;
	}
	/* As if typed: the same parser and validation as any command line. */
	config_init(cfg);
	if (config_parse_args(cfg, argc, argv, &exit_now, err, sizeof(err)) || exit_now ||
	    cfg->restore.given) {
		mv_err(OPT_NAME_RESTORE ": %s: its configuration is refused: %s", path,
		       exit_now || cfg->restore.given ? "not a VM's" : err);
		goto out;
	}
	free(cfg->api_socket);
	cfg->api_socket = rcfg->api_socket ? strdup(rcfg->api_socket) : NULL;
	free(cfg->serial_file);
	cfg->serial = rcfg->serial;
	cfg->serial_file = rcfg->serial_file ? strdup(rcfg->serial_file) : NULL;
	if (config_validate(cfg, err, sizeof(err))) {
		mv_err(OPT_NAME_RESTORE ": %s: its configuration is refused here: %s", path, err);
		goto out;
	}
	if (restore_plan(rcfg, cfg, &plan) || restore_check_files(&f, cfg))
		goto out;
	for (i = 0; i < cfg->nr_zones; i++)
		if (plan.mode[i] == RESTORE_ONDEMAND && !od) {
			od = malloc(sizeof(*od));
			if (!od || od_open(od, fd, err, sizeof(err))) {
				mv_err(OPT_NAME_RESTORE " memory_restore_mode=ondemand: %s",
				       od ? err : strerror(ENOMEM));
				free(od);
				od = NULL;
				goto out;
			}
		}
	if (board_build(m, cfg))
		goto out;
	m->argc = argc;
	m->argv = argv;
	/* The DIMMs first: their memory entries need somewhere to go. */
	if (board_dimms_restore(m, state, se->length, err, sizeof(err))) {
		mv_err(OPT_NAME_RESTORE ": %s: %s", path, err);
		goto out;
	}
	ret = restore_memory(m, &f, fd, path, &plan, od);
	od = NULL; /* the board's now (m->od), or closed */
	if (ret)
		goto out;
	ret = restore_state(m, state, se->length) ? -1 : 0;
	if (!ret)
		ret = restore_prefault(m, &f, &plan);
	if (!ret) {
		m->restored = true;
		if (!rcfg->restore.resume) {
			m->paused = true;
			board_pause_devices(m, true);
		}
		argv = NULL; /* the board's now (m->argv), as are the words */
		words = NULL;
	}
out:
	if (od) {
		od_close(od);
		free(od);
	}
	ret = ret ? -1 : 0;
	if (ret && m->argv == argv) {
		m->argc = 0;
		m->argv = NULL;
	}
	free(argv);
	free(words);
	free(state);
	mv_snap_close(&f);
	close(fd);
	return ret;
}
