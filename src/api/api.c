#include "api/api.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "api/qmp.h"
#include "lib/util.h"

static uint64_t api_wall_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}

static const struct api_clock api_default_clock = {
    .mono_ms = loop_now_ms,
    .wall_us = api_wall_us,
};

static void api_timer_fire(struct loop_timer *t)
{
	struct api *api = container_of(t, struct api, timer);

	api_events_tick(api);
}

int api_init(struct api *api, struct api_backend *backend, struct loop *loop)
{
	int ret;

	memset(api, 0, sizeof(*api));
	api->backend = backend;
	api->clock = &api_default_clock;
	api->loop = loop;
	api->timer.w.fd = -1;
	if (loop) {
		ret = loop_timer_init(loop, &api->timer, api_timer_fire);
		if (ret)
			return ret;
		api->timer_ok = true;
	}
	return 0;
}

void api_destroy(struct api *api)
{
	if (api->timer_ok)
		loop_timer_destroy(api->loop, &api->timer);
	api->timer_ok = false;
	api->sessions = NULL;
}

void api_attach(struct api *api, struct qmp_session *s)
{
	s->next = api->sessions;
	api->sessions = s;
}

void api_detach(struct api *api, struct qmp_session *s)
{
	struct qmp_session **pp;

	for (pp = &api->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			s->next = NULL;
			return;
		}
	}
}

static void api_broadcast(struct api *api, const char *name, struct json_object *data,
			  uint64_t wall_us)
{
	struct qmp_session *s, *next;

	/* A kick may drop a session (peer gone): read `next` first. */
	for (s = api->sessions; s; s = next) {
		next = s->next;
		qmp_session_event(s, name, data, wall_us);
	}
}

void api_emit_event(struct api *api, const char *name, struct json_object *data)
{
	api_broadcast(api, name, data, api->clock->wall_us());
	json_object_put(data);
}

static struct json_object *api_shutdown_data(bool guest, const char *reason)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "guest", json_object_new_boolean(guest));
	json_object_object_add(d, "reason", json_object_new_string(reason));
	return d;
}

void api_emit_shutdown(struct api *api, bool guest, const char *reason)
{
	api_emit_event(api, "SHUTDOWN", api_shutdown_data(guest, reason));
}

void api_emit_reset(struct api *api, bool guest, const char *reason)
{
	api_emit_event(api, "RESET", api_shutdown_data(guest, reason));
}

void api_emit_powerdown(struct api *api)
{
	api_emit_event(api, "POWERDOWN", NULL);
}

static void api_send_size_change(struct api *api, const char *id, uint64_t size, uint64_t wall_us)
{
	struct json_object *d = json_object_new_object();
	char path[API_ID_LEN + 32];

	snprintf(path, sizeof(path), "/machine/peripheral/%s", id);
	json_object_object_add(d, "size", json_object_new_uint64(size));
	json_object_object_add(d, "qom-path", json_object_new_string(path));
	json_object_object_add(d, "id", json_object_new_string(id));
	api_broadcast(api, "MEMORY_DEVICE_SIZE_CHANGE", d, wall_us);
	json_object_put(d);
}

static void api_arm(struct api *api, uint64_t ms)
{
	if (api->timer_ok)
		loop_timer_arm(&api->timer, ms, 0);
}

void api_memdev_size_changed(struct api *api, const char *id, uint64_t size)
{
	uint64_t now = api->clock->mono_ms(), wall = api->clock->wall_us();
	struct api_rate *r, *free_slot = NULL;
	unsigned int i;

	for (i = 0; i < API_MAX_MEMDEVS; i++) {
		r = &api->rate[i];
		if (!r->active) {
			if (!free_slot)
				free_slot = r;
			continue;
		}
		if (!strcmp(r->id, id)) {
			/* Inside the window: keep only the latest size. */
			r->pending = true;
			r->size = size;
			r->wall_us = wall;
			return;
		}
	}
	api_send_size_change(api, id, size, wall);
	if (!free_slot)
		return; /* more devices than slots: unthrottled rather than lost */
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->id, sizeof(free_slot->id), "%s", id);
	free_slot->active = true;
	free_slot->end_ms = now + API_EVENT_RATE_MS;
	api_events_tick(api);
}

static void api_send_balloon_change(struct api *api, uint64_t actual, uint64_t wall_us)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "actual", json_object_new_uint64(actual));
	api_broadcast(api, "BALLOON_CHANGE", d, wall_us);
	json_object_put(d);
}

void api_balloon_changed(struct api *api, uint64_t actual)
{
	struct api_rate *r = &api->balloon_rate;
	uint64_t wall = api->clock->wall_us();

	if (r->active) {
		r->pending = true;
		r->size = actual;
		r->wall_us = wall;
		return;
	}
	api_send_balloon_change(api, actual, wall);
	memset(r, 0, sizeof(*r));
	r->active = true;
	r->end_ms = api->clock->mono_ms() + API_EVENT_RATE_MS;
	api_events_tick(api);
}

uint64_t api_events_tick(struct api *api)
{
	uint64_t now = api->clock->mono_ms(), next = 0;
	struct api_rate *r;
	unsigned int i;

	r = &api->balloon_rate;
	if (r->active && now >= r->end_ms) {
		if (r->pending) {
			r->pending = false;
			r->end_ms = now + API_EVENT_RATE_MS;
			api_send_balloon_change(api, r->size, r->wall_us);
		} else {
			r->active = false;
		}
	}
	if (r->active)
		next = r->end_ms - now;

	for (i = 0; i < API_MAX_MEMDEVS; i++) {
		r = &api->rate[i];
		if (!r->active)
			continue;
		if (now >= r->end_ms) {
			if (!r->pending) {
				r->active = false;
				continue;
			}
			/* Sending opens a new window, as QEMU's throttle does. */
			r->pending = false;
			r->end_ms = now + API_EVENT_RATE_MS;
			api_send_size_change(api, r->id, r->size, r->wall_us);
		}
		if (!next || r->end_ms - now < next)
			next = r->end_ms - now;
	}
	if (next)
		api_arm(api, next);
	return next;
}

struct json_object *api_dimm_ost_info(const struct dimm_set *s, unsigned int slot)
{
	const struct dimm *dm = &s->dimms[slot];
	struct json_object *o = json_object_new_object();
	char sl[16];

	snprintf(sl, sizeof(sl), "%u", slot);
	if (dm->state != DIMM_EMPTY)
		json_object_object_add(o, "device", json_object_new_string(dm->id));
	json_object_object_add(o, "slot", json_object_new_string(sl));
	json_object_object_add(o, "slot-type", json_object_new_string("DIMM"));
	json_object_object_add(o, "source", json_object_new_int64(dm->ost_event));
	json_object_object_add(o, "status", json_object_new_int64(dm->ost_status));
	return o;
}
