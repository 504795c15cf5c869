#include "board/dimm.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "board/board.h"
#include "devices/memhp_save.h"
#include "mem/dimm_save.h"
#include "config/options.h"
#include "lib/log.h"
#include "lib/util.h"

static struct board_dimms *dimms_of(struct memhp *h)
{
	return container_of(h, struct board_dimms, hp);
}

static void dimms_kick(struct board_dimms *d)
{
	uint64_t one = 1;

	if (write(d->w.fd, &one, sizeof(one)) != sizeof(one))
		mv_warn("dimm: cannot wake the event loop: %s", strerror(errno));
}

/* vCPU thread: the guest's _EJ0. */
static void dimms_hook_eject(struct memhp *h, unsigned int slot)
{
	struct board_dimms *d = dimms_of(h);

	__atomic_fetch_or(&d->eject_pending[slot / 64], 1ULL << (slot % 64), __ATOMIC_RELEASE);
	dimms_kick(d);
}

/* vCPU thread: an _OST report. */
static void dimms_hook_ost(struct memhp *h, unsigned int slot, uint32_t event, uint32_t status)
{
	struct board_dimms *d = dimms_of(h);

	pthread_mutex_lock(&d->ost_lock);
	if (d->ost_n < ARRAY_SIZE(d->ost)) {
		unsigned int i = (d->ost_head + d->ost_n++) % ARRAY_SIZE(d->ost);

		d->ost[i].slot = slot;
		d->ost[i].event = event;
		d->ost[i].status = status;
	}
	pthread_mutex_unlock(&d->ost_lock);
	dimms_kick(d);
}

static const struct memhp_hooks dimms_hooks = {.ost = dimms_hook_ost, .eject = dimms_hook_eject};

static void dimms_emit(struct board *m, const char *name, struct json_object *data)
{
	if (m->api_up)
		api_emit_event(&m->api, name, data);
	else
		json_object_put(data);
}

/* Unmap and free a slot's memory; false when KVM kept the slot (retried at the next kick). */
static bool dimms_take_away(struct board_dimms *d, unsigned int slot)
{
	struct dimm *dm = &d->set.dimms[slot];
	int ret;

	if (d->mapped[slot]) {
		ret = vm_unmap(&d->m->vm, d->kvm_slot[slot], dm->addr, dm->size);
		if (ret) {
			mv_err("dimm %s: removing its memory slot failed: %s", dm->id,
			       strerror(-ret));
			return false;
		}
		d->mapped[slot] = false;
	}
	backend_destroy(&d->backing[slot]);
	return true;
}

/* The guest's _OST reports, in order: a refused eject puts its DIMM back to PLUGGED. */
static void dimms_drain_ost(struct board_dimms *d)
{
	struct board *m = d->m;

	for (;;) {
		unsigned int slot;
		uint32_t ev, st;
		struct json_object *data;

		pthread_mutex_lock(&d->ost_lock);
		if (!d->ost_n) {
			pthread_mutex_unlock(&d->ost_lock);
			break;
		}
		slot = d->ost[d->ost_head].slot;
		ev = d->ost[d->ost_head].event;
		st = d->ost[d->ost_head].status;
		d->ost_head = (d->ost_head + 1) % ARRAY_SIZE(d->ost);
		d->ost_n--;
		pthread_mutex_unlock(&d->ost_lock);
		if (dimm_ost(&d->set, slot, ev, st))
			mv_info("dimm %s: the guest refused the eject (_OST status %#x)",
				d->set.dimms[slot].id, st);
		data = json_object_new_object();
		json_object_object_add(data, "info", api_dimm_ost_info(&d->set, slot));
		dimms_emit(m, "ACPI_DEVICE_OST", data);
	}
}

/* The slots the guest ejected: memory away, slot released, DEVICE_DELETED. */
static void dimms_drain_ejects(struct board_dimms *d)
{
	struct board *m = d->m;

	for (unsigned int slot = 0; slot < d->set.nr_slots; slot++) {
		uint64_t bit = 1ULL << (slot % 64);
		struct json_object *data;
		char path[DIMM_ID_LEN + 32];

		if (!(__atomic_load_n(&d->eject_pending[slot / 64], __ATOMIC_ACQUIRE) & bit))
			continue;
		/* A state check: a guest can only eject what it holds. */
		if (d->set.dimms[slot].state != DIMM_EJECTED && dimm_ejected(&d->set, slot)) {
			__atomic_fetch_and(&d->eject_pending[slot / 64], ~bit, __ATOMIC_ACQ_REL);
			continue;
		}
		if (!dimms_take_away(d, slot))
			continue;
		__atomic_fetch_and(&d->eject_pending[slot / 64], ~bit, __ATOMIC_ACQ_REL);
		data = json_object_new_object();
		snprintf(path, sizeof(path), "/machine/peripheral/%s", d->set.dimms[slot].id);
		json_object_object_add(data, "device",
				       json_object_new_string(d->set.dimms[slot].id));
		json_object_object_add(data, "path", json_object_new_string(path));
		mv_info("dimm %s: ejected by the guest, %llu MiB back to the host",
			d->set.dimms[slot].id, (unsigned long long)(d->set.dimms[slot].size >> 20));
		memhp_release(&d->hp, slot);
		dimm_released(&d->set, slot);
		dimms_emit(m, "DEVICE_DELETED", data);
	}
}

/*
 * A DIMM's host side: its object's backing (prefault: populated now) and a
 * KVM memory slot at addr. On failure nothing is left and err says why.
 */
static int dimms_back(struct board_dimms *d, unsigned int slot, const struct dimm_object *o,
		      uint64_t addr, const char *id, bool prefault, char *err, size_t errlen)
{
	struct backend_spec spec;
	int ret;

	memset(&spec, 0, sizeof(spec));
	snprintf(spec.name, sizeof(spec.name), "%s", o->id);
	snprintf(spec.opt, sizeof(spec.opt), "object-add id=%s", o->id);
	spec.kind = o->kind == DIMM_BACKEND_FILE ? BACKEND_FILE
		    : o->share			 ? BACKEND_MEMFD
						 : BACKEND_ANON;
	spec.path = o->kind == DIMM_BACKEND_FILE ? o->path : NULL;
	spec.shared = o->share;
	spec.page_size = 4096;
	spec.size = o->size;
	spec.gpa = addr;
	spec.prefault = prefault;
	spec.thp = spec.kind == BACKEND_ANON;
	spec.host_numa_node = -1;
	ret = backend_create(&spec, &d->backing[slot], err, errlen);
	if (ret)
		return ret;
	ret = vm_map(&d->m->vm, addr, o->size, d->backing[slot].hva, &d->kvm_slot[slot]);
	if (ret) {
		backend_destroy(&d->backing[slot]);
		snprintf(err, errlen, "mapping DIMM '%s' failed: %s", id, strerror(-ret));
		return ret;
	}
	d->mapped[slot] = true;
	return 0;
}

static void dimms_on_event(struct loop_watch *w, uint32_t events)
{
	struct board_dimms *d = container_of(w, struct board_dimms, w);
	uint64_t n;

	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	dimms_drain_ost(d);
	dimms_drain_ejects(d);
}

int board_dimms_create(struct board *m)
{
	const struct mv_config *cfg = m->cfg;
	struct board_dimms *d;
	unsigned int nodes = 1;
	int ret;

	if (!cfg->dimm_slots)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->m = m;
	d->w.fd = -1;
	for (unsigned int i = 0; i < cfg->nr_numa; i++)
		nodes = MV_MAX(nodes, (unsigned int)cfg->numa[i].guest_numa_id + 1);
	ret =
	    dimm_set_init(&d->set, m->layout.dimm_gpa, m->layout.dimm_size, cfg->dimm_slots, nodes);
	for (unsigned int i = 0; !ret && i < cfg->nr_zones; i++)
		ret = dimm_set_boot_id(&d->set, cfg->zones[i].id);
	if (!ret)
		ret = -pthread_mutex_init(&d->ost_lock, NULL);
	if (ret) {
		free(d);
		mv_err(OPT_NAME_MEMORY ": hotplug_size: the DIMM area cannot be set up: %s",
		       strerror(-ret));
		return ret;
	}
	m->dimms = d;
	/* Every DIMM takes a memory slot: refuse a KVM that cannot give them all. */
	if (vm_slots_free(&m->vm) < cfg->dimm_slots + HP_SLOT_RESERVE) {
		mv_err(OPT_NAME_MEMORY ": hotplug_size: %u DIMM slots need as many KVM memory "
				       "slots; this KVM leaves %u: use a smaller hotplug_size",
		       cfg->dimm_slots, vm_slots_free(&m->vm));
		return -ENOSPC;
	}
	d->w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->w.fd < 0)
		return -errno;
	d->w.cb = dimms_on_event;
	ret = loop_add(&m->loop, &d->w, EPOLLIN);
	if (!ret)
		ret = memhp_init(&d->hp, cfg->dimm_slots, &m->vm.pio, &m->vm.irq, &dimms_hooks, d);
	if (ret) {
		mv_err("ACPI memory hotplug controller: %s", strerror(-ret));
		return ret;
	}
	d->hp_up = true;
	return 0;
}

void board_dimms_reset(struct board *m)
{
	if (m->dimms && m->dimms->hp_up)
		memhp_reset(&m->dimms->hp);
}

void board_dimms_destroy(struct board *m)
{
	struct board_dimms *d = m->dimms;

	if (!d)
		return;
	for (unsigned int i = 0; i < d->set.nr_slots; i++)
		if (d->set.dimms[i].state != DIMM_EMPTY)
			dimms_take_away(d, i);
	if (d->hp_up)
		memhp_destroy(&d->hp, &m->vm.pio);
	if (d->w.fd >= 0) {
		loop_del(&m->loop, &d->w);
		close(d->w.fd);
	}
	pthread_mutex_destroy(&d->ost_lock);
	free(d);
	m->dimms = NULL;
}

int board_dimms_snapshot_check(struct board *m, char *err, size_t errlen)
{
	struct board_dimms *d = m->dimms;

	for (unsigned int i = 0; d && i < d->set.nr_slots; i++) {
		const struct dimm *dm = &d->set.dimms[i];
		const struct dimm_object *o = &d->set.objects[dm->object];

		if (dm->state != DIMM_EMPTY && o->kind == DIMM_BACKEND_FILE && o->share) {
			snprintf(err, errlen,
				 "DIMM %s: its memory-backend-file %s is share=on, the user's "
				 "file: snapshots do not carry such DIMMs (not implemented)",
				 dm->id, o->id);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int board_dimms_save(struct board *m, struct mv_state_writer *w)
{
	struct board_dimms *d = m->dimms;

	if (!d)
		return 0;
	/* Reports still in the ring become DIMM state; ejects stay pending in memhp's. */
	dimms_drain_ost(d);
	dimm_save(&d->set, w);
	memhp_save(&d->hp, w);
	return 0;
}

int board_dimms_match(const struct dimm_set *set, const struct memhp_regs *regs, char *err,
		      size_t errlen)
{
	for (unsigned int i = 0; i < set->nr_slots; i++) {
		const struct dimm *dm = &set->dimms[i];
		const struct memhp_slot *s = &regs->slots[i];
		bool used = s->enabled || s->ejecting;

		if ((dm->state != DIMM_EMPTY) != used ||
		    (used && (dm->addr != s->addr || dm->size != s->size || dm->node != s->node)) ||
		    (dm->state == DIMM_EJECTED && !s->ejecting)) {
			snprintf(err, errlen,
				 DIMM_STATE_NAME ": slot %u: the DIMM and the " MEMHP_STATE_NAME
						 " slot disagree",
				 i);
			return -EINVAL;
		}
	}
	return 0;
}

int board_dimms_restore(struct board *m, const void *p, size_t len, char *err, size_t errlen)
{
	struct board_dimms *d = m->dimms;
	struct mv_state_section ds, hs;
	struct dimm_set *set = NULL;
	struct memhp_regs *regs = NULL;
	unsigned int i;
	int ret, hret;

	ret = mv_state_find(p, len, DIMM_STATE_NAME, &ds, err, errlen);
	if (ret && ret != -ENOENT)
		return ret;
	hret = mv_state_find(p, len, MEMHP_STATE_NAME, &hs, err, errlen);
	if (hret && hret != -ENOENT)
		return hret;
	if (ret == -ENOENT && hret == -ENOENT)
		return 0; /* no DIMM area, or one that was empty when saved */
	if (ret || hret || !d) {
		snprintf(err, errlen,
			 "the snapshot's " DIMM_STATE_NAME " and " MEMHP_STATE_NAME
			 " sections do not match its configuration (--memory hotplug_size)");
		return -EINVAL;
	}
	set = malloc(sizeof(*set));
	regs = calloc(1, sizeof(*regs));
	ret = -ENOMEM;
	if (!set || !regs)
		goto out;
	*set = d->set;
	regs->nr_slots = d->hp.regs.nr_slots;
	ret = dimm_load(set, &ds, err, errlen);
	if (!ret)
		ret = memhp_parse(&hs, regs, err, errlen);
	if (!ret)
		ret = board_dimms_match(set, regs, err, errlen);
	if (ret)
		goto out;
	d->set = *set;
	memhp_commit(&d->hp, regs);
	/* Host memory and a KVM slot for each, populated later (restore's prefault). */
	for (i = 0; i < d->set.nr_slots; i++) {
		struct dimm *dm = &d->set.dimms[i];
		char why[CONFIG_ERR_LEN];

		if (dm->state == DIMM_EMPTY)
			continue;
		ret = dimms_back(d, i, &d->set.objects[dm->object], dm->addr, dm->id, false, why,
				 sizeof(why));
		if (ret) {
			snprintf(err, errlen, "DIMM %s: %s", dm->id, why);
			/* Teardown takes away only what has host memory. */
			for (; i < d->set.nr_slots; i++)
				d->set.dimms[i].state = DIMM_EMPTY;
			goto out;
		}
		/* Ejected by the guest before the snapshot: finished once the loop runs. */
		if (regs->slots[i].ejecting)
			__atomic_fetch_or(&d->eject_pending[i / 64], 1ULL << (i % 64),
					  __ATOMIC_ACQ_REL);
	}
	dimms_kick(d);
out:
	free(set);
	free(regs);
	return ret;
}

struct backend *board_dimm_backing(struct board *m, uint64_t gpa, uint64_t len, bool *prealloc)
{
	struct board_dimms *d = m->dimms;

	for (unsigned int i = 0; d && i < d->set.nr_slots; i++) {
		const struct dimm *dm = &d->set.dimms[i];

		if (dm->state != DIMM_EMPTY && d->mapped[i] && dm->addr == gpa && dm->size == len) {
			*prealloc = d->set.objects[dm->object].prealloc;
			return &d->backing[i];
		}
	}
	return NULL;
}

const struct dimm_set *board_dimm_set(struct board *m)
{
	return m->dimms ? &m->dimms->set : NULL;
}

static int dimms_none(struct dimm_error *e)
{
	e->cls = DIMM_ERR_GENERIC;
	snprintf(e->desc, sizeof(e->desc),
		 "memory hotplug is not enabled: start with --memory hotplug_size=<size> "
		 "(hotplug_method=acpi)");
	return -EINVAL;
}

int board_dimm_object_add(struct board *m, const struct dimm_object_req *r, struct dimm_error *e)
{
	return m->dimms ? dimm_object_add(&m->dimms->set, r, e) : dimms_none(e);
}

int board_dimm_object_del(struct board *m, const char *id, struct dimm_error *e)
{
	return m->dimms ? dimm_object_del(&m->dimms->set, id, e) : dimms_none(e);
}

int board_dimm_device_add(struct board *m, const char *id, const char *memdev, long node,
			  struct dimm_error *e)
{
	struct board_dimms *d = m->dimms;
	struct dimm_plan p;
	char err[CONFIG_ERR_LEN];
	int ret;

	if (!d)
		return dimms_none(e);
	ret = dimm_plug_check(&d->set, id, memdev, node, &p, e);
	if (ret)
		return ret;
	ret = dimms_back(d, p.slot, &d->set.objects[p.object], p.addr, id,
			 d->set.objects[p.object].prealloc, err, sizeof(err));
	if (ret) {
		e->cls = DIMM_ERR_GENERIC;
		snprintf(e->desc, sizeof(e->desc), "%.*s", (int)sizeof(e->desc) - 1, err);
		return ret;
	}
	dimm_plug_commit(&d->set, id, &p);
	ret = memhp_plug(&d->hp, p.slot, p.addr, p.size, p.node);
	if (ret) {
		dimms_take_away(d, p.slot);
		dimm_released(&d->set, p.slot);
		e->cls = DIMM_ERR_GENERIC;
		snprintf(e->desc, sizeof(e->desc), "plugging DIMM '%s' failed: %s", id,
			 strerror(-ret));
		return ret;
	}
	mv_info("dimm %s: %llu MiB at %#llx in slot %u (node %u)", id,
		(unsigned long long)(p.size >> 20), (unsigned long long)p.addr, p.slot, p.node);
	return 0;
}

int board_dimm_device_del(struct board *m, const char *id, struct dimm_error *e)
{
	struct board_dimms *d = m->dimms;
	unsigned int slot;
	int ret;

	if (!d) {
		/* Without DIMMs, boot RAM ids are still not unpluggable devices. */
		for (unsigned int i = 0; i < m->cfg->nr_zones; i++)
			if (!strcmp(m->cfg->zones[i].id, id)) {
				e->cls = DIMM_ERR_GENERIC;
				snprintf(e->desc, sizeof(e->desc),
					 "'%s' is boot RAM: only hotplugged DIMMs can be unplugged",
					 id);
				return -EINVAL;
			}
		e->cls = DIMM_ERR_NOT_FOUND;
		snprintf(e->desc, sizeof(e->desc), "Device '%s' not found", id);
		return -ENOENT;
	}
	ret = dimm_unplug_request(&d->set, id, &slot, e);
	if (ret)
		return ret;
	ret = memhp_request_unplug(&d->hp, slot);
	if (ret) {
		d->set.dimms[slot].state = DIMM_PLUGGED;
		e->cls = DIMM_ERR_GENERIC;
		snprintf(e->desc, sizeof(e->desc), "unplug request for '%s' failed: %s", id,
			 strerror(-ret));
	}
	return ret;
}

int board_dimm_resize(struct board *m, uint64_t total, struct dimm_error *e)
{
	struct board_dimms *d = m->dimms;
	unsigned int rm[DIMM_MAX_SLOTS], n;
	struct dimm_object_req r = {.kind = DIMM_BACKEND_RAM};
	char id[DIMM_ID_LEN], obj[DIMM_ID_LEN];
	uint64_t grow;
	int ret;

	if (!d)
		return dimms_none(e);
	ret = dimm_resize_plan(&d->set, m->layout.boot_ram, total, &grow, rm, &n, e);
	if (ret)
		return ret;
	if (grow) {
		/* Ids resize made itself: "dimm<seq>" and its backend "dimm<seq>-mem". */
		unsigned long long seq = d->set.seq + 1;

		do {
			snprintf(id, sizeof(id), "dimm%llu", seq);
			snprintf(obj, sizeof(obj), "dimm%llu-mem", seq++);
		} while (dimm_find(&d->set, id) >= 0 || dimm_object_find(&d->set, obj) >= 0);
		r.id = obj;
		r.size = grow;
		ret = dimm_object_add(&d->set, &r, e);
		if (ret)
			return ret;
		d->set.objects[dimm_object_find(&d->set, obj)].autodel = true;
		ret = board_dimm_device_add(m, id, obj, 0, e);
		if (ret) {
			struct dimm_error ignore;

			dimm_object_del(&d->set, obj, &ignore);
		}
		return ret;
	}
	for (unsigned int i = 0; i < n; i++) {
		ret = board_dimm_device_del(m, d->set.dimms[rm[i]].id, e);
		if (ret)
			return ret;
	}
	return 0;
}
