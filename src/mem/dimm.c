#include "mem/dimm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/size.h"
#include "lib/util.h"

static int dimm_fail(struct dimm_error *e, enum dimm_err cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int dimm_fail(struct dimm_error *e, enum dimm_err cls, const char *fmt, ...)
{
	va_list ap;

	e->cls = cls;
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
	return cls == DIMM_ERR_NOT_FOUND ? -ENOENT : -EINVAL;
}

int dimm_set_init(struct dimm_set *s, uint64_t area_gpa, uint64_t area_size, unsigned int slots,
		  unsigned int nr_nodes)
{
	memset(s, 0, sizeof(*s));
	if (slots > DIMM_MAX_SLOTS || !is_aligned(area_gpa | area_size, CONFIG_DIMM_ALIGN) ||
	    !range_ok(area_gpa, area_size))
		return -EINVAL;
	s->area_gpa = area_gpa;
	s->area_size = area_size;
	s->nr_slots = slots;
	s->nr_nodes = nr_nodes ? nr_nodes : 1;
	for (unsigned int i = 0; i < DIMM_MAX_OBJECTS; i++)
		s->objects[i].slot = -1;
	return 0;
}

int dimm_set_boot_id(struct dimm_set *s, const char *id)
{
	if (s->nr_boot >= DIMM_MAX_BOOT || strlen(id) >= DIMM_ID_LEN)
		return -EINVAL;
	snprintf(s->boot_ids[s->nr_boot++], DIMM_ID_LEN, "%s", id);
	return 0;
}

static bool dimm_is_boot(const struct dimm_set *s, const char *id)
{
	for (unsigned int i = 0; i < s->nr_boot; i++)
		if (!strcmp(s->boot_ids[i], id))
			return true;
	return false;
}

int dimm_object_find(const struct dimm_set *s, const char *id)
{
	for (unsigned int i = 0; i < DIMM_MAX_OBJECTS; i++)
		if (s->objects[i].used && !strcmp(s->objects[i].id, id))
			return i;
	return -1;
}

int dimm_find(const struct dimm_set *s, const char *id)
{
	for (unsigned int i = 0; i < s->nr_slots; i++)
		if (s->dimms[i].state != DIMM_EMPTY && !strcmp(s->dimms[i].id, id))
			return i;
	return -1;
}

/* QOM ids: a letter first, then letters, digits, '-', '.', '_' (QEMU's id_wellformed). */
static bool dimm_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (!n || n >= DIMM_ID_LEN || !((*id | 0x20) >= 'a' && (*id | 0x20) <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = id[i];

		if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '.' && c != '_')
			return false;
	}
	return true;
}

int dimm_object_add(struct dimm_set *s, const struct dimm_object_req *r, struct dimm_error *e)
{
	struct dimm_object *o = NULL;

	if (!r->id || !dimm_id_ok(r->id))
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "Parameter 'id' expects an identifier (a letter, then letters, "
				 "digits, '-', '.', '_'; at most %d characters)",
				 DIMM_ID_LEN - 1);
	if (dimm_object_find(s, r->id) >= 0 || dimm_is_boot(s, r->id))
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "attempt to add duplicate property '%s' to object (type "
				 "'container')",
				 r->id);
	if (!r->size)
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "property 'size' of memory backend '%s' must be greater than 0",
				 r->id);
	if (r->kind == DIMM_BACKEND_FILE && (!r->path || !*r->path))
		return dimm_fail(e, DIMM_ERR_GENERIC, "Parameter 'mem-path' is missing");
	if (r->kind != DIMM_BACKEND_FILE && r->path)
		return dimm_fail(e, DIMM_ERR_GENERIC, "Parameter 'mem-path' is unexpected");
	if (r->path && strlen(r->path) >= DIMM_PATH_LEN)
		return dimm_fail(e, DIMM_ERR_GENERIC, "property 'mem-path' is longer than %d bytes",
				 DIMM_PATH_LEN - 1);
	for (unsigned int i = 0; i < DIMM_MAX_OBJECTS && !o; i++)
		if (!s->objects[i].used)
			o = &s->objects[i];
	if (!o)
		return dimm_fail(e, DIMM_ERR_GENERIC, "too many memory backends (at most %d)",
				 DIMM_MAX_OBJECTS);
	*o = (struct dimm_object){.used = true,
				  .kind = r->kind,
				  .size = r->size,
				  .share = r->share || r->kind == DIMM_BACKEND_MEMFD,
				  .prealloc = r->prealloc,
				  .slot = -1};
	snprintf(o->id, sizeof(o->id), "%s", r->id);
	if (r->path)
		snprintf(o->path, sizeof(o->path), "%s", r->path);
	return 0;
}

int dimm_object_del(struct dimm_set *s, const char *id, struct dimm_error *e)
{
	int i = dimm_object_find(s, id);

	if (i < 0)
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 dimm_is_boot(s, id) ? "object '%s' is in use, can not be deleted"
						     : "object '%s' not found",
				 id);
	if (s->objects[i].slot >= 0)
		return dimm_fail(e, DIMM_ERR_GENERIC, "object '%s' is in use, can not be deleted",
				 id);
	memset(&s->objects[i], 0, sizeof(s->objects[i]));
	s->objects[i].slot = -1;
	return 0;
}

/* Lowest aligned address where size fits between the DIMMs there (ejecting ones included). */
static bool dimm_fit(const struct dimm_set *s, uint64_t size, uint64_t *addr)
{
	uint64_t a = s->area_gpa, end = s->area_gpa + s->area_size;
	bool moved = true;

	while (moved) {
		moved = false;
		if (size > end - a)
			return false;
		for (unsigned int i = 0; i < s->nr_slots; i++) {
			const struct dimm *d = &s->dimms[i];

			if (d->state == DIMM_EMPTY)
				continue;
			if (a < d->addr + d->size && d->addr < a + size) {
				a = d->addr + d->size;
				moved = true;
			}
		}
	}
	*addr = a;
	return true;
}

int dimm_plug_check(const struct dimm_set *s, const char *id, const char *memdev, long node,
		    struct dimm_plan *out, struct dimm_error *e)
{
	const struct dimm_object *o;
	char sz[24], al[24];
	int oi, slot = -1;

	if (!s->nr_slots)
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "memory hotplug is not enabled: start with --memory "
				 "hotplug_size=<size> (hotplug_method=acpi)");
	if (!id || !dimm_id_ok(id))
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "Parameter 'id' expects an identifier (a letter, then letters, "
				 "digits, '-', '.', '_')");
	if (dimm_find(s, id) >= 0 || dimm_is_boot(s, id))
		return dimm_fail(e, DIMM_ERR_GENERIC, "Duplicate device ID '%s'", id);
	if (!memdev)
		return dimm_fail(e, DIMM_ERR_GENERIC, "'memdev' property is not set");
	oi = dimm_object_find(s, memdev);
	if (oi < 0)
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "Property 'pc-dimm.memdev' can't find value '%s'", memdev);
	o = &s->objects[oi];
	if (o->slot >= 0)
		return dimm_fail(e, DIMM_ERR_GENERIC, "can't use already busy memdev: %s", memdev);
	if (node < 0)
		node = 0;
	if ((unsigned long)node >= s->nr_nodes)
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "'DIMM property node has value %ld' which exceeds the number of "
				 "numa nodes: %u",
				 node, s->nr_nodes);
	mv_size_format(o->size, sz, sizeof(sz));
	mv_size_format(CONFIG_DIMM_ALIGN, al, sizeof(al));
	if (!is_aligned(o->size, CONFIG_DIMM_ALIGN))
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "memdev '%s' size %s is not a multiple of %s (a DIMM is whole "
				 "Linux memory blocks)",
				 memdev, sz, al);
	for (unsigned int i = 0; i < s->nr_slots && slot < 0; i++)
		if (s->dimms[i].state == DIMM_EMPTY)
			slot = i;
	if (slot < 0)
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "no free slots left (all %u DIMM slots are used)", s->nr_slots);
	if (!dimm_fit(s, o->size, &out->addr))
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "not enough space for a DIMM of %s in the hotplug area (--memory "
				 "hotplug_size)",
				 sz);
	out->slot = slot;
	out->object = oi;
	out->size = o->size;
	out->node = node;
	return 0;
}

void dimm_plug_commit(struct dimm_set *s, const char *id, const struct dimm_plan *p)
{
	struct dimm *d = &s->dimms[p->slot];

	*d = (struct dimm){.state = DIMM_PLUGGED,
			   .object = p->object,
			   .addr = p->addr,
			   .size = p->size,
			   .node = p->node,
			   .seq = ++s->seq};
	snprintf(d->id, sizeof(d->id), "%s", id);
	s->objects[p->object].slot = p->slot;
}

int dimm_unplug_request(struct dimm_set *s, const char *id, unsigned int *slot,
			struct dimm_error *e)
{
	int i = dimm_find(s, id);

	if (i < 0 && dimm_is_boot(s, id))
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "'%s' is boot RAM: only hotplugged DIMMs can be unplugged", id);
	if (i < 0)
		return dimm_fail(e, DIMM_ERR_NOT_FOUND, "Device '%s' not found", id);
	if (s->dimms[i].state == DIMM_EJECTED)
		return dimm_fail(e, DIMM_ERR_GENERIC, "Device '%s' is being removed", id);
	/* Asking again repeats the eject request (after a refusal, or a lost one). */
	s->dimms[i].state = DIMM_UNPLUGGING;
	*slot = i;
	return 0;
}

int dimm_ejected(struct dimm_set *s, unsigned int slot)
{
	if (slot >= s->nr_slots ||
	    (s->dimms[slot].state != DIMM_PLUGGED && s->dimms[slot].state != DIMM_UNPLUGGING))
		return -ENOENT;
	s->dimms[slot].state = DIMM_EJECTED;
	return 0;
}

int dimm_released(struct dimm_set *s, unsigned int slot)
{
	struct dimm *d;

	if (slot >= s->nr_slots || s->dimms[slot].state == DIMM_EMPTY)
		return -ENOENT;
	d = &s->dimms[slot];
	s->objects[d->object].slot = -1;
	if (s->objects[d->object].autodel) {
		memset(&s->objects[d->object], 0, sizeof(s->objects[d->object]));
		s->objects[d->object].slot = -1;
	}
	memset(d, 0, sizeof(*d));
	return 0;
}

bool dimm_ost(struct dimm_set *s, unsigned int slot, uint32_t event, uint32_t status)
{
	struct dimm *d;
	bool refused;

	if (slot >= s->nr_slots)
		return false;
	d = &s->dimms[slot];
	d->ost_valid = true;
	d->ost_event = event;
	d->ost_status = status;
	/* Eject request (3) or OSPM eject (0x103) with anything but success / in progress. */
	refused = (event == 0x003 || event == 0x103) && status != 0x00 && status != 0x84;
	if (refused && d->state == DIMM_UNPLUGGING)
		d->state = DIMM_PLUGGED;
	return refused;
}

uint64_t dimm_plugged_bytes(const struct dimm_set *s)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < s->nr_slots; i++)
		if (s->dimms[i].state == DIMM_PLUGGED || s->dimms[i].state == DIMM_UNPLUGGING)
			n += s->dimms[i].size;
	return n;
}

int dimm_resize_plan(const struct dimm_set *s, uint64_t boot_ram, uint64_t target, uint64_t *grow,
		     unsigned int *remove, unsigned int *nr_remove, struct dimm_error *e)
{
	uint64_t now = boot_ram + dimm_plugged_bytes(s), left, addr;
	char t[24], n[24], al[24];
	bool taken[DIMM_MAX_SLOTS] = {false};
	unsigned int i;

	*grow = 0;
	*nr_remove = 0;
	mv_size_format(target, t, sizeof(t));
	mv_size_format(now, n, sizeof(n));
	mv_size_format(CONFIG_DIMM_ALIGN, al, sizeof(al));
	if (!s->nr_slots)
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "memory hotplug is not enabled: start with --memory "
				 "hotplug_size=<size>");
	if (target < boot_ram)
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "cannot resize to %s: boot RAM alone is more (only hot-added "
				 "DIMMs can be removed)",
				 t);
	if (!is_aligned(target - boot_ram, CONFIG_DIMM_ALIGN))
		return dimm_fail(e, DIMM_ERR_GENERIC,
				 "cannot resize to %s: the DIMMs above boot RAM must add up to a "
				 "multiple of %s",
				 t, al);
	if (target > now) {
		bool free_slot = false;
		struct dimm_set probe;

		for (i = 0; i < s->nr_slots; i++)
			free_slot = free_slot || s->dimms[i].state == DIMM_EMPTY;
		if (!free_slot)
			return dimm_fail(e, DIMM_ERR_GENERIC,
					 "cannot resize to %s: no free slots left", t);
		memcpy(&probe, s, sizeof(probe));
		if (!dimm_fit(&probe, target - now, &addr))
			return dimm_fail(e, DIMM_ERR_GENERIC,
					 "cannot resize to %s: no room for a DIMM of the "
					 "difference in the hotplug area (--memory hotplug_size)",
					 t);
		*grow = target - now;
		return 0;
	}
	/* Newest first, only DIMMs the guest holds that are not already leaving. */
	left = now - target;
	while (left) {
		int best = -1;

		for (i = 0; i < s->nr_slots; i++)
			if (s->dimms[i].state == DIMM_PLUGGED && !taken[i] &&
			    (best < 0 || s->dimms[i].seq > s->dimms[best].seq))
				best = i;
		if (best < 0 || s->dimms[best].size > left)
			return dimm_fail(e, DIMM_ERR_GENERIC,
					 "cannot resize to %s from %s: the newest DIMMs do not add "
					 "up to the difference",
					 t, n);
		taken[best] = true;
		remove[(*nr_remove)++] = best;
		left -= s->dimms[best].size;
	}
	return 0;
}
