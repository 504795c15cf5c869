/*
 * autoscale: the policy's timer and its hands on the virtio-mem devices
 * (see autoscale.h). The policy itself is lib/autoscale.c, pure; this file
 * only samples, plans the spread and records.
 */
#include "board/autoscale.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/ctl.h"
#include "board/board.h"
#include "config/options.h"
#include "lib/autoscale.h"
#include "lib/errbuf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/balloon_state.h"

/*
 * A resize the guest has not completed after this long (an unplug of
 * memory it cannot move) no longer holds the policy back: it decides again
 * from what is plugged.
 */
#define AS_STALL_MS 30000

static void as_fire(struct loop_timer *t);

static uint64_t stat_or_none(const struct vballoon_info *vi, int i)
{
	return vi->stats[i] == VB_STAT_NONE ? AS_NONE : vi->stats[i];
}

static void record(struct board_autoscale *a, const struct as_decision *d)
{
	a->ring[a->head] = *d;
	a->head = (a->head + 1) % AS_RING;
	if (a->count < AS_RING)
		a->count++;
}

static void emit(struct board *m, const struct as_decision *d)
{
	struct json_object *o;

	if (!m->api_up)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "decision", json_object_new_string(as_action_name(d->action)));
	json_object_object_add(o, "reason", json_object_new_string(d->reason));
	json_object_object_add(o, "total", json_object_new_uint64(d->total));
	json_object_object_add(o, "available", json_object_new_uint64(d->available));
	json_object_object_add(o, "target", json_object_new_uint64(d->target));
	json_object_object_add(o, "low", json_object_new_uint64(d->low_bytes));
	json_object_object_add(o, "high", json_object_new_uint64(d->high_bytes));
	json_object_object_add(o, "major-faults", json_object_new_uint64(d->major_delta));
	json_object_object_add(o, "swap", json_object_new_uint64(d->swap_delta));
	api_emit_event(&m->api, "X_AUTOSCALE", o);
}

/* Set the unpaused devices' requested sizes for a total of target; 0 or -errno (reason in d). */
static int apply(struct board *m, struct board_autoscale *a, struct as_decision *d)
{
	struct ctl_memdev devs[CONFIG_MAX_ZONES];
	unsigned int idx[CONFIG_MAX_ZONES];
	uint64_t req[CONFIG_MAX_ZONES], base = m->layout.boot_ram;
	char err[160];
	size_t n = 0;
	int ret;

	memset(devs, 0, sizeof(devs));
	for (unsigned int i = 0; i < m->nr_hotplug; i++) {
		struct vmem_info vi;

		vmem_get_info(&m->hotplug[i].dev, &vi);
		if (a->paused[i]) {
			base += vi.plugged_size;
			continue;
		}
		devs[n].info.max_size = vi.region_size;
		devs[n].info.block_size = vi.block_size;
		idx[n++] = i;
	}
	ret = ctl_plan_resize(devs, n, base, d->target, true, req, err, sizeof(err));
	if (ret) {
		snprintf(d->reason, sizeof(d->reason), "cannot plan: %.80s", err);
		return ret;
	}
	for (size_t k = 0; k < n; k++) {
		struct board_hotplug *h = &m->hotplug[idx[k]];

		ret = vmem_set_requested(&h->dev, req[k], err, sizeof(err));
		if (ret) {
			mv_warn("autoscale: %s: %s", m->cfg->zones[h->zone].id, err);
			snprintf(d->reason, sizeof(d->reason), "refused: %.80s", err);
			return ret;
		}
		h->requested_changed_ms = loop_now_ms();
	}
	return 0;
}

void board_autoscale_tick(struct board *m)
{
	struct board_autoscale *a = m->autoscale;
	struct vballoon_info bi;
	struct as_signals s;
	struct as_decision d;
	uint64_t block = 0;
	bool active = false;

	if (!a)
		return;
	memset(&s, 0, sizeof(s));
	s.now = (int64_t)time(NULL);
	s.total = m->layout.boot_ram;
	for (unsigned int i = 0; i < m->nr_hotplug; i++) {
		struct vmem_info vi;

		vmem_get_info(&m->hotplug[i].dev, &vi);
		s.total += vi.plugged_size;
		if (a->paused[i])
			continue;
		active = true;
		if (vi.requested_size != vi.plugged_size &&
		    loop_now_ms() - m->hotplug[i].requested_changed_ms < AS_STALL_MS)
			s.resizing = true;
		if (vi.block_size > block)
			block = vi.block_size;
	}
	memset(&bi, 0, sizeof(bi));
	if (m->balloon.dev_up)
		vballoon_get_info(&m->balloon.dev, &bi);
	s.stats_time = bi.stats_last_update;
	s.available = m->balloon.dev_up ? stat_or_none(&bi, VB_S_AVAIL) : AS_NONE;
	s.free = m->balloon.dev_up ? stat_or_none(&bi, VB_S_MEMFREE) : AS_NONE;
	s.caches = m->balloon.dev_up ? stat_or_none(&bi, VB_S_CACHES) : AS_NONE;
	s.major_faults = m->balloon.dev_up ? stat_or_none(&bi, VB_S_MAJFLT) : AS_NONE;
	s.swap_in = m->balloon.dev_up ? stat_or_none(&bi, VB_S_SWAP_IN) : AS_NONE;
	s.swap_out = m->balloon.dev_up ? stat_or_none(&bi, VB_S_SWAP_OUT) : AS_NONE;
	a->last = s;
	a->evaluations++;
	if (!active) {
		memset(&d, 0, sizeof(d));
		d.time = s.now;
		d.total = d.target = s.total;
		snprintf(d.reason, sizeof(d.reason), "paused: every device was set by hand");
		a->current = d;
		return;
	}
	a->p.block = block ? block : 2ULL << 20;
	as_decide(&a->p, &a->st, &s, &d);
	if (d.action != AS_HOLD && apply(m, a, &d)) {
		d.action = AS_HOLD;
		d.target = d.total;
	}
	if (d.action != AS_HOLD) {
		mv_info("autoscale: %s to %llu MiB (%s; available %llu of %llu MiB)",
			as_action_name(d.action), (unsigned long long)(d.target >> 20), d.reason,
			(unsigned long long)(d.available >> 20),
			(unsigned long long)(d.total >> 20));
		record(a, &d);
		emit(m, &d);
	}
	a->current = d;
}

static void as_fire(struct loop_timer *t)
{
	board_autoscale_tick(container_of(t, struct board_autoscale, timer)->m);
}

int board_autoscale_create(struct board *m)
{
	const struct autoscale_config *c = &m->cfg->autoscale;
	struct board_autoscale *a;
	unsigned int interval = m->cfg->balloon.stats_interval;
	int ret;

	if (!c->given)
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a) {
		mv_err("%s: out of memory", config_opt_name(OPT_AUTOSCALE));
		return -ENOMEM;
	}
	a->p.min = c->min;
	a->p.max = c->max;
	a->p.low = c->low;
	a->p.high = c->high;
	a->p.up_step = c->up_step;
	a->p.down_delay = c->down_delay;
	a->p.block = 2ULL << 20;
	a->p.stale_after = 3 * (interval ? interval : 1) + 2;
	as_state_init(&a->st);
	a->timer.w.fd = -1;
	a->m = m;
	m->autoscale = a;
	ret = loop_timer_init(&m->loop, &a->timer, as_fire);
	if (ret) {
		mv_err("%s: cannot create its timer: %s", config_opt_name(OPT_AUTOSCALE),
		       strerror(-ret));
		return ret;
	}
	a->timer_ok = true;
	ret = loop_timer_arm(&a->timer, (uint64_t)interval * 1000, (uint64_t)interval * 1000);
	if (ret) {
		mv_err("%s: cannot arm its timer: %s", config_opt_name(OPT_AUTOSCALE),
		       strerror(-ret));
		return ret;
	}
	return 0;
}

void board_autoscale_reset(struct board *m)
{
	/* A rebooted guest starts its counters anew and reports afresh. */
	if (m->autoscale)
		as_state_init(&m->autoscale->st);
}

void board_autoscale_destroy(struct board *m)
{
	struct board_autoscale *a = m->autoscale;

	if (!a)
		return;
	if (a->timer_ok)
		loop_timer_destroy(&m->loop, &a->timer);
	free(a);
	m->autoscale = NULL;
}

void board_autoscale_hand_set(struct board *m, unsigned int idx)
{
	if (m->autoscale && idx < CONFIG_MAX_ZONES && !m->autoscale->paused[idx]) {
		m->autoscale->paused[idx] = true;
		mv_info("autoscale: paused for %s (requested-size set by hand)",
			m->cfg->zones[m->hotplug[idx].zone].id);
	}
}

int board_autoscale_resume(struct board *m, const char *id, char *err, size_t errlen)
{
	struct board_autoscale *a = m->autoscale;
	bool found = false;

	if (!a) {
		snprintf(err, errlen, "autoscale is not enabled (no --autoscale)");
		return -ENODEV;
	}
	for (unsigned int i = 0; i < m->nr_hotplug; i++)
		if (!id || !strcmp(m->cfg->zones[m->hotplug[i].zone].id, id)) {
			a->paused[i] = false;
			found = true;
		}
	if (id && !found) {
		snprintf(err, errlen, "Device '%s' not found", id);
		return -ENOENT;
	}
	as_state_init(&a->st);
	return 0;
}

static struct json_object *decision_json(const struct as_decision *d)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "time", json_object_new_int64(d->time));
	json_object_object_add(o, "decision", json_object_new_string(as_action_name(d->action)));
	json_object_object_add(o, "reason", json_object_new_string(d->reason));
	json_object_object_add(o, "total", json_object_new_uint64(d->total));
	json_object_object_add(o, "available", json_object_new_uint64(d->available));
	json_object_object_add(o, "target", json_object_new_uint64(d->target));
	json_object_object_add(o, "low", json_object_new_uint64(d->low_bytes));
	json_object_object_add(o, "high", json_object_new_uint64(d->high_bytes));
	json_object_object_add(o, "major-faults", json_object_new_uint64(d->major_delta));
	json_object_object_add(o, "swap", json_object_new_uint64(d->swap_delta));
	return o;
}

static void add_stat(struct json_object *o, const char *k, uint64_t v)
{
	if (v != AS_NONE)
		json_object_object_add(o, k, json_object_new_uint64(v));
}

int board_autoscale_query(struct board *m, struct json_object **out)
{
	struct board_autoscale *a = m->autoscale;
	struct json_object *o, *p, *s, *list, *paused;

	if (!a)
		return -ENODEV;
	o = json_object_new_object();
	p = json_object_new_object();
	json_object_object_add(p, "min", json_object_new_uint64(a->p.min));
	json_object_object_add(p, "max", json_object_new_uint64(a->p.max));
	json_object_object_add(p, "low", json_object_new_int((int32_t)a->p.low));
	json_object_object_add(p, "high", json_object_new_int((int32_t)a->p.high));
	json_object_object_add(p, "up-step", json_object_new_uint64(a->p.up_step));
	json_object_object_add(p, "down-delay", json_object_new_int((int32_t)a->p.down_delay));
	json_object_object_add(o, "policy", p);
	paused = json_object_new_array();
	for (unsigned int i = 0; i < m->nr_hotplug; i++)
		if (a->paused[i])
			json_object_array_add(
			    paused, json_object_new_string(m->cfg->zones[m->hotplug[i].zone].id));
	json_object_object_add(o, "paused", paused);
	s = json_object_new_object();
	json_object_object_add(s, "time", json_object_new_int64(a->last.now));
	json_object_object_add(s, "total", json_object_new_uint64(a->last.total));
	json_object_object_add(s, "resizing", json_object_new_boolean(a->last.resizing));
	json_object_object_add(s, "stats-time", json_object_new_int64(a->last.stats_time));
	add_stat(s, "available", a->last.available);
	add_stat(s, "free", a->last.free);
	add_stat(s, "caches", a->last.caches);
	add_stat(s, "major-faults", a->last.major_faults);
	add_stat(s, "swap-in", a->last.swap_in);
	add_stat(s, "swap-out", a->last.swap_out);
	json_object_object_add(s, "surplus-since", json_object_new_int64(a->st.surplus_since));
	json_object_object_add(o, "signals", s);
	json_object_object_add(o, "evaluations", json_object_new_uint64(a->evaluations));
	json_object_object_add(o, "current", decision_json(&a->current));
	list = json_object_new_array();
	for (unsigned int k = 0; k < a->count; k++)
		json_object_array_add(
		    list, decision_json(&a->ring[(a->head + AS_RING - a->count + k) % AS_RING]));
	json_object_object_add(o, "decisions", list);
	*out = o;
	return 0;
}

/* A time of the policy's (time(NULL) seconds, 0: none) as its age now, and back. */
#define AS_NO_AGE UINT64_MAX

static uint64_t as_age(int64_t t, int64_t now)
{
	return t ? (uint64_t)(now > t ? now - t : 0) : AS_NO_AGE;
}

static int64_t as_unage(uint64_t age, int64_t now)
{
	if (age == AS_NO_AGE)
		return 0;
	/* 0 means none: an age that reaches back before the epoch is the epoch's next second. */
	return age < (uint64_t)now ? now - (int64_t)age : 1;
}

void board_autoscale_save(struct board *m, struct mv_state_writer *w)
{
	struct board_autoscale *a = m->autoscale;
	int64_t now = (int64_t)time(NULL);

	if (!a)
		return;
	mv_sw_begin(w, AUTOSCALE_STATE_NAME, AUTOSCALE_STATE_VERSION);
	mv_sw_u8(w, a->st.primed);
	mv_sw_u64(w, a->st.last_major);
	mv_sw_u64(w, a->st.last_swap_in);
	mv_sw_u64(w, a->st.last_swap_out);
	mv_sw_u64(w, as_age(a->st.surplus_since, now));
	mv_sw_u64(w, as_age(a->st.last_resize, now));
	mv_sw_u64(w, a->evaluations);
	mv_sw_u32(w, m->nr_hotplug);
	for (unsigned int i = 0; i < m->nr_hotplug; i++) {
		mv_sw_str(w, m->cfg->zones[m->hotplug[i].zone].id);
		mv_sw_u8(w, a->paused[i]);
	}
	mv_sw_end(w);
}

int board_autoscale_load(struct board *m, const struct mv_state_section *sec, char *err,
			 size_t errlen)
{
	struct board_autoscale *a = m->autoscale;
	struct mv_state_reader r = sec->payload;
	int64_t now = (int64_t)time(NULL);
	bool paused[CONFIG_MAX_ZONES] = {false};
	uint64_t surplus_age, resize_age, evaluations;
	struct as_state st;
	uint32_t n;
	uint8_t primed;
	int ret;

	ret = mv_state_check(sec, AUTOSCALE_STATE_NAME, AUTOSCALE_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	if (!a) {
		mv_errbuf(err, errlen, "%s: this VM has no --autoscale", sec->name);
		return -EINVAL;
	}
	as_state_init(&st);
	primed = mv_sr_u8(&r);
	st.last_major = mv_sr_u64(&r);
	st.last_swap_in = mv_sr_u64(&r);
	st.last_swap_out = mv_sr_u64(&r);
	surplus_age = mv_sr_u64(&r);
	resize_age = mv_sr_u64(&r);
	evaluations = mv_sr_u64(&r);
	n = mv_sr_u32(&r);
	if (!r.short_read && n != m->nr_hotplug) {
		mv_errbuf(err, errlen, "%s: %u virtio-mem devices; this VM has %u", sec->name, n,
			  m->nr_hotplug);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < n && !r.short_read; i++) {
		char id[CONFIG_ID_LEN];
		uint8_t p;

		mv_sr_str(&r, id, sizeof(id));
		p = mv_sr_u8(&r);
		if (r.short_read)
			break;
		if (strcmp(id, m->cfg->zones[m->hotplug[i].zone].id) || p > 1) {
			mv_errbuf(err, errlen,
				  "%s: device %u is not %s, or its paused flag is not 0 or 1",
				  sec->name, i, m->cfg->zones[m->hotplug[i].zone].id);
			return -EINVAL;
		}
		paused[i] = p;
	}
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	if (primed > 1) {
		mv_errbuf(err, errlen, "%s: primed %u is not 0 or 1", sec->name, primed);
		return -EINVAL;
	}
	st.primed = primed;
	st.surplus_since = as_unage(surplus_age, now);
	st.last_resize = as_unage(resize_age, now);
	a->st = st;
	a->evaluations = evaluations;
	memcpy(a->paused, paused, sizeof(a->paused));
	return 0;
}
