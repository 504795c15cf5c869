#include "mem/dimm_save.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"
#include "lib/util.h"

void dimm_save(const struct dimm_set *s, struct mv_state_writer *w)
{
	unsigned int i, n = 0;

	mv_sw_begin(w, DIMM_STATE_NAME, DIMM_STATE_VERSION);
	mv_sw_u64(w, s->area_gpa);
	mv_sw_u64(w, s->area_size);
	mv_sw_u32(w, s->nr_slots);
	mv_sw_u64(w, s->seq);
	for (i = 0; i < DIMM_MAX_OBJECTS; i++)
		n += s->objects[i].used;
	mv_sw_u32(w, n);
	for (i = 0; i < DIMM_MAX_OBJECTS; i++) {
		const struct dimm_object *o = &s->objects[i];

		if (!o->used)
			continue;
		mv_sw_u32(w, i);
		mv_sw_str(w, o->id);
		mv_sw_u8(w, o->kind);
		mv_sw_u64(w, o->size);
		mv_sw_u8(w, o->share | o->prealloc << 1 | o->autodel << 2);
		mv_sw_str(w, o->path);
	}
	for (i = 0, n = 0; i < s->nr_slots; i++)
		n += s->dimms[i].state != DIMM_EMPTY;
	mv_sw_u32(w, n);
	for (i = 0; i < s->nr_slots; i++) {
		const struct dimm *d = &s->dimms[i];

		if (d->state == DIMM_EMPTY)
			continue;
		mv_sw_u32(w, i);
		mv_sw_u8(w, d->state);
		mv_sw_str(w, d->id);
		mv_sw_u32(w, d->object);
		mv_sw_u64(w, d->addr);
		mv_sw_u64(w, d->size);
		mv_sw_u32(w, d->node);
		mv_sw_u64(w, d->seq);
	}
	mv_sw_end(w);
}

static int bad(const struct mv_state_section *sec, char *err, size_t errlen, const char *what)
{
	mv_errbuf(err, errlen, "%s: %s", sec->name, what);
	return -EINVAL;
}

/* The loaded set on its own: every invariant mem/dimm keeps. */
static int dimm_image_check(const struct dimm_set *n, const struct mv_state_section *sec, char *err,
			    size_t errlen)
{
	unsigned int i, j;

	for (i = 0; i < DIMM_MAX_OBJECTS; i++) {
		const struct dimm_object *o = &n->objects[i];

		if (!o->used)
			continue;
		if (!o->id[0] || o->kind > DIMM_BACKEND_FILE || !o->size ||
		    (o->kind == DIMM_BACKEND_FILE) != (o->path[0] != 0))
			return bad(sec, err, errlen, "an object is malformed");
		for (j = 0; j < i; j++)
			if (n->objects[j].used && !strcmp(n->objects[j].id, o->id))
				return bad(sec, err, errlen, "two objects share an id");
	}
	for (i = 0; i < n->nr_slots; i++) {
		const struct dimm *d = &n->dimms[i];
		const struct dimm_object *o;

		if (d->state == DIMM_EMPTY)
			continue;
		if (d->state > DIMM_EJECTED || !d->id[0] || d->object >= DIMM_MAX_OBJECTS)
			return bad(sec, err, errlen, "a DIMM is malformed");
		o = &n->objects[d->object];
		if (!o->used || o->size != d->size || o->slot != (int)i)
			return bad(sec, err, errlen,
				   "a DIMM's object is missing, of another size "
				   "or used twice");
		if (!d->size || !is_aligned(d->addr | d->size, CONFIG_DIMM_ALIGN) ||
		    d->addr < n->area_gpa || d->size > n->area_size ||
		    d->addr - n->area_gpa > n->area_size - d->size)
			return bad(sec, err, errlen, "a DIMM lies outside the DIMM area");
		if (d->node >= n->nr_nodes)
			return bad(sec, err, errlen, "a DIMM names a NUMA node this VM lacks");
		for (j = 0; j < i; j++) {
			const struct dimm *e = &n->dimms[j];

			if (e->state == DIMM_EMPTY)
				continue;
			if (!strcmp(e->id, d->id))
				return bad(sec, err, errlen, "two DIMMs share an id");
			if (e->addr < d->addr + d->size && d->addr < e->addr + e->size)
				return bad(sec, err, errlen, "two DIMMs overlap");
		}
	}
	for (i = 0; i < DIMM_MAX_OBJECTS; i++) {
		const struct dimm_object *o = &n->objects[i];

		if (o->used && o->slot >= 0 &&
		    ((unsigned int)o->slot >= n->nr_slots ||
		     n->dimms[o->slot].state == DIMM_EMPTY || n->dimms[o->slot].object != i))
			return bad(sec, err, errlen, "an object claims a DIMM that is not there");
	}
	return 0;
}

int dimm_load(struct dimm_set *s, const struct mv_state_section *sec, char *err, size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	struct dimm_set *n;
	uint32_t count, i;
	int ret;

	ret = mv_state_check(sec, DIMM_STATE_NAME, DIMM_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	/* The running set's shape; the saved one must match it. */
	ret = dimm_set_init(n, s->area_gpa, s->area_size, s->nr_slots, s->nr_nodes);
	if (ret)
		goto out;
	memcpy(n->boot_ids, s->boot_ids, sizeof(s->boot_ids));
	n->nr_boot = s->nr_boot;
	ret = -EINVAL;
	if (mv_sr_u64(&r) != s->area_gpa || mv_sr_u64(&r) != s->area_size ||
	    mv_sr_u32(&r) != s->nr_slots) {
		bad(sec, err, errlen,
		    "the DIMM area or slot count differs from this VM's "
		    "(--memory hotplug_size)");
		goto out;
	}
	n->seq = mv_sr_u64(&r);
	count = mv_sr_u32(&r);
	if (count > DIMM_MAX_OBJECTS) {
		bad(sec, err, errlen, "too many objects");
		goto out;
	}
	for (i = 0; i < count && !r.short_read; i++) {
		uint32_t idx = mv_sr_u32(&r);
		struct dimm_object o = {.used = true, .slot = -1};
		uint8_t flags;

		mv_sr_str(&r, o.id, sizeof(o.id));
		o.kind = mv_sr_u8(&r);
		o.size = mv_sr_u64(&r);
		flags = mv_sr_u8(&r);
		o.share = flags & 1;
		o.prealloc = flags & 2;
		o.autodel = flags & 4;
		mv_sr_str(&r, o.path, sizeof(o.path));
		if (idx >= DIMM_MAX_OBJECTS || n->objects[idx].used) {
			bad(sec, err, errlen, "an object index is out of range or repeated");
			goto out;
		}
		n->objects[idx] = o;
	}
	count = mv_sr_u32(&r);
	if (count > s->nr_slots) {
		bad(sec, err, errlen, "more DIMMs than slots");
		goto out;
	}
	for (i = 0; i < count && !r.short_read; i++) {
		uint32_t slot = mv_sr_u32(&r);
		struct dimm d = {0};

		d.state = mv_sr_u8(&r);
		mv_sr_str(&r, d.id, sizeof(d.id));
		d.object = mv_sr_u32(&r);
		d.addr = mv_sr_u64(&r);
		d.size = mv_sr_u64(&r);
		d.node = mv_sr_u32(&r);
		d.seq = mv_sr_u64(&r);
		if (slot >= s->nr_slots || n->dimms[slot].state != DIMM_EMPTY ||
		    d.state == DIMM_EMPTY) {
			bad(sec, err, errlen, "a DIMM slot is out of range, repeated or empty");
			goto out;
		}
		n->dimms[slot] = d;
		if (d.object < DIMM_MAX_OBJECTS && n->objects[d.object].used &&
		    n->objects[d.object].slot < 0)
			n->objects[d.object].slot = slot;
	}
	ret = mv_state_done(sec, &r, err, errlen);
	if (!ret)
		ret = dimm_image_check(n, sec, err, errlen);
	if (!ret)
		memcpy(s, n, sizeof(*s));
out:
	free(n);
	return ret;
}
