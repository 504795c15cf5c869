#include "api/commands.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "api/hmp.h"
#include "virtio/balloon_state.h"
#include "virtio/mem_state.h"
#include "lib/util.h"

enum api_arg_type {
	API_ARG_STR,
	API_ARG_INT,
	API_ARG_BOOL,
	API_ARG_ANY,
};

struct api_arg {
	const char *name;
	enum api_arg_type type;
	bool optional;
};

struct api_command {
	const char *name;
	const struct api_arg *args; /* terminated by a NULL name; NULL: none */
	struct json_object *(*fn)(struct api *api, struct json_object *args, struct qmp_error *err);
};

static const char *const api_arg_type_name[] = {
    [API_ARG_STR] = "string",
    [API_ARG_INT] = "integer",
    [API_ARG_BOOL] = "boolean",
    [API_ARG_ANY] = "any",
};

static bool api_arg_type_ok(struct json_object *v, enum api_arg_type t)
{
	switch (t) {
	case API_ARG_STR:
		return json_object_is_type(v, json_type_string);
	case API_ARG_INT:
		return json_object_is_type(v, json_type_int);
	case API_ARG_BOOL:
		return json_object_is_type(v, json_type_boolean);
	case API_ARG_ANY:
		return true;
	}
	return false;
}

/* QEMU's input visitor order: declared members first, then leftovers. */
static int api_check_args(const struct api_arg *spec, struct json_object *args,
			  struct qmp_error *err)
{
	const struct api_arg *a;
	struct json_object *v;

	for (a = spec; a && a->name; a++) {
		if (!json_object_object_get_ex(args, a->name, &v)) {
			if (a->optional)
				continue;
			qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is missing", a->name);
			return -EINVAL;
		}
		if (!api_arg_type_ok(v, a->type)) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Invalid parameter type for '%s', expected: %s", a->name,
				      api_arg_type_name[a->type]);
			return -EINVAL;
		}
	}
	json_object_object_foreach(args, key, val)
	{
		bool known = false;

		(void)val;
		for (a = spec; a && a->name; a++)
			known = known || !strcmp(a->name, key);
		if (!known) {
			qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is unexpected", key);
			return -EINVAL;
		}
	}
	return 0;
}

static void api_backend_error(struct qmp_error *err, const char *what, int ret)
{
	qmp_error_set(err, QMP_ERR_GENERIC, "%s failed: %s", what, strerror(-ret));
}

static const char *api_str_arg(struct json_object *args, const char *name)
{
	return json_object_get_string(json_object_object_get(args, name));
}

static void api_dimms_json(struct api *api, struct json_object *list);

static struct json_object *api_cmd_query_version(struct api *api, struct json_object *args,
						 struct qmp_error *err)
{
	return qmp_version_info(API_PACKAGE);
}

static struct json_object *api_cmd_query_commands(struct api *api, struct json_object *args,
						  struct qmp_error *err)
{
	struct json_object *list = json_object_new_array(), *o;
	size_t i;

	/* qmp_capabilities is handled by the protocol layer but is a command too. */
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string("qmp_capabilities"));
	json_object_array_add(list, o);
	for (i = 0; i < api_command_count(); i++) {
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(api_command_name(i)));
		json_object_array_add(list, o);
	}
	return list;
}

static struct json_object *api_cmd_query_status(struct api *api, struct json_object *args,
						struct qmp_error *err)
{
	struct api_status st = {.status = "running", .running = true};
	struct json_object *o;
	int ret;

	ret = api->backend->ops->query_status(api->backend, &st);
	if (ret) {
		api_backend_error(err, "query-status", ret);
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(st.status));
	json_object_object_add(o, "singlestep", json_object_new_boolean(false));
	json_object_object_add(o, "running", json_object_new_boolean(st.running));
	return o;
}

static struct json_object *api_cmd_quit(struct api *api, struct json_object *args,
					struct qmp_error *err)
{
	/* As QEMU: the event goes out before the reply. */
	api_emit_shutdown(api, false, "host-qmp-quit");
	api->backend->ops->quit(api->backend);
	return NULL;
}

/* QEMU's: STOP or RESUME goes out (before the reply) only when the state changed. */
static struct json_object *api_cmd_stop(struct api *api, struct json_object *args,
					struct qmp_error *err)
{
	int ret = api->backend->ops->stop(api->backend);

	if (ret < 0) {
		api_backend_error(err, "stop", ret);
		return NULL;
	}
	if (ret > 0)
		api_emit_event(api, "STOP", NULL);
	return NULL;
}

static struct json_object *api_cmd_cont(struct api *api, struct json_object *args,
					struct qmp_error *err)
{
	int ret = api->backend->ops->cont(api->backend);

	if (ret < 0) {
		api_backend_error(err, "cont", ret);
		return NULL;
	}
	if (ret > 0)
		api_emit_event(api, "RESUME", NULL);
	return NULL;
}

/*
 * memvisor's x-snapshot {"url": "file:///PATH", "live": bool}: the reply
 * comes once the file is durable, with how long the guest was stopped
 * ("x-pause-ms"), the passes over memory ("x-passes") and the non-zero
 * memory the first pass wrote ("x-memory-bytes").
 */
static struct json_object *api_cmd_snapshot(struct api *api, struct json_object *args,
					    struct qmp_error *err)
{
	struct json_object *live = json_object_object_get(args, "live"), *o;
	struct api_snapshot_info info = {0};
	char msg[240];
	int ret;

	msg[0] = '\0';
	ret = api->backend->ops->snapshot(api->backend, api_str_arg(args, "url"),
					  live && json_object_get_boolean(live), &info, msg,
					  sizeof(msg));
	if (ret) {
		qmp_error_set(err, QMP_ERR_GENERIC, "x-snapshot: %s",
			      msg[0] ? msg : strerror(-ret));
		return NULL;
	}
	o = json_object_new_object();
	/* Microseconds are as fine as a pause is worth reporting. */
	json_object_object_add(
	    o, "x-pause-ms", json_object_new_double((double)(int64_t)(info.pause_ms * 1e3) / 1e3));
	json_object_object_add(o, "x-passes", json_object_new_int((int32_t)info.passes));
	json_object_object_add(o, "x-memory-bytes",
			       json_object_new_int64((int64_t)info.memory_bytes));
	return o;
}

static struct json_object *api_cmd_powerdown(struct api *api, struct json_object *args,
					     struct qmp_error *err)
{
	int ret = api->backend->ops->powerdown(api->backend);

	if (ret) {
		api_backend_error(err, "system_powerdown", ret);
		return NULL;
	}
	api_emit_powerdown(api);
	return NULL;
}

static struct json_object *api_cmd_reset(struct api *api, struct json_object *args,
					 struct qmp_error *err)
{
	int ret = api->backend->ops->reset(api->backend);

	if (ret) {
		api_backend_error(err, "system_reset", ret);
		return NULL;
	}
	api_emit_reset(api, false, "host-qmp-system-reset");
	return NULL;
}

static struct json_object *api_cmd_memory_summary(struct api *api, struct json_object *args,
						  struct qmp_error *err)
{
	struct api_memory_summary sum = {0};
	struct json_object *o;
	int ret;

	ret = api->backend->ops->memory_summary(api->backend, &sum);
	if (ret) {
		api_backend_error(err, "query-memory-size-summary", ret);
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "base-memory", json_object_new_uint64(sum.base));
	if (sum.has_plugged)
		json_object_object_add(o, "plugged-memory", json_object_new_uint64(sum.plugged));
	return o;
}

/* QEMU's class descriptions, for the classes memvisor's functions have. */
static const char *api_pci_class_desc(uint16_t class_code)
{
	switch (class_code) {
	case 0x0600:
		return "Host bridge";
	case 0x0580:
		return "Memory controller";
	default:
		return NULL;
	}
}

static struct json_object *api_pci_device(const struct api_pci_info *p)
{
	struct json_object *d = json_object_new_object(), *ci = json_object_new_object(),
			   *id = json_object_new_object(), *regs = json_object_new_array();
	const char *desc = api_pci_class_desc(p->class_code);
	unsigned int i;

	json_object_object_add(d, "bus", json_object_new_int(0));
	json_object_object_add(d, "slot", json_object_new_int(p->slot));
	json_object_object_add(d, "function", json_object_new_int(0));
	if (desc)
		json_object_object_add(ci, "desc", json_object_new_string(desc));
	json_object_object_add(ci, "class", json_object_new_int(p->class_code));
	json_object_object_add(d, "class_info", ci);
	json_object_object_add(id, "device", json_object_new_int(p->device));
	json_object_object_add(id, "vendor", json_object_new_int(p->vendor));
	json_object_object_add(id, "subsystem", json_object_new_int(p->subsys));
	json_object_object_add(id, "subsystem-vendor", json_object_new_int(p->subsys_vendor));
	json_object_object_add(d, "id", id);
	/* As QEMU: "irq" only for a function with an interrupt pin. */
	if (p->irq_pin)
		json_object_object_add(d, "irq", json_object_new_int(p->irq_line));
	json_object_object_add(d, "irq_pin", json_object_new_int(p->irq_pin));
	json_object_object_add(d, "qdev_id", json_object_new_string(p->qdev_id));
	for (i = 0; i < p->nr_regions && i < 6; i++) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "bar", json_object_new_int(p->regions[i].bar));
		json_object_object_add(r, "type", json_object_new_string("memory"));
		json_object_object_add(r, "address", json_object_new_uint64(p->regions[i].addr));
		json_object_object_add(r, "size", json_object_new_uint64(p->regions[i].size));
		json_object_object_add(r, "prefetch", json_object_new_boolean(false));
		json_object_object_add(r, "mem_type_64", json_object_new_boolean(false));
		json_object_array_add(regs, r);
	}
	json_object_object_add(d, "regions", regs);
	return d;
}

/* QEMU's query-pci: one bus (0) and its functions. */
static struct json_object *api_cmd_query_pci(struct api *api, struct json_object *args,
					     struct qmp_error *err)
{
	struct api_pci_info *p = calloc(API_PCI_MAX, sizeof(*p));
	struct json_object *bus, *devs, *ret;
	unsigned int n = 0, i;

	if (!p) {
		api_backend_error(err, "query-pci", -ENOMEM);
		return NULL;
	}
	if (api->backend->ops->pci_list)
		n = api->backend->ops->pci_list(api->backend, p, API_PCI_MAX);
	devs = json_object_new_array();
	for (i = 0; i < n && i < API_PCI_MAX; i++)
		json_object_array_add(devs, api_pci_device(&p[i]));
	free(p);
	bus = json_object_new_object();
	json_object_object_add(bus, "bus", json_object_new_int(0));
	json_object_object_add(bus, "devices", devs);
	ret = json_object_new_array();
	json_object_array_add(ret, bus);
	return ret;
}

static void api_add_age(struct json_object *o, const char *key, uint64_t now, uint64_t then)
{
	if (then)
		json_object_object_add(o, key,
				       json_object_new_uint64(now >= then ? now - then : 0));
}

struct json_object *api_memdev_json(struct api *api, const struct api_memdev_info *m)
{
	struct json_object *d = json_object_new_object();
	uint64_t now = api->clock->mono_ms();

	/* QEMU's member order, as its transcript shows it. */
	json_object_object_add(d, "memdev", json_object_new_string(m->memdev));
	json_object_object_add(d, "memaddr", json_object_new_uint64(m->memaddr));
	json_object_object_add(d, "block-size", json_object_new_uint64(m->block_size));
	json_object_object_add(d, "size", json_object_new_uint64(m->size));
	json_object_object_add(d, "node", json_object_new_int64(m->node));
	json_object_object_add(d, "max-size", json_object_new_uint64(m->max_size));
	json_object_object_add(d, "requested-size", json_object_new_uint64(m->requested_size));
	json_object_object_add(d, "id", json_object_new_string(m->id));
	json_object_object_add(d, "x-driver-ready", json_object_new_boolean(m->driver_ready));
	json_object_object_add(d, "x-discarded-bytes", json_object_new_uint64(m->discarded_bytes));
	json_object_object_add(d, "x-discard-failures",
			       json_object_new_uint64(m->discard_failures));
	json_object_object_add(d, "x-plugs-refused", json_object_new_uint64(m->plugs_refused));
	json_object_object_add(d, "x-unplugged-reads", json_object_new_uint64(m->unplugged_reads));
	json_object_object_add(d, "x-unplugged-writes",
			       json_object_new_uint64(m->unplugged_writes));
	json_object_object_add(d, "x-slot-changes", json_object_new_uint64(m->slot_changes));
	json_object_object_add(d, "x-slot-holds", json_object_new_uint64(m->slot_holds));
	json_object_object_add(d, "x-slots-refused", json_object_new_uint64(m->slots_refused));
	json_object_object_add(d, "x-unmap-failures", json_object_new_uint64(m->unmap_failures));
	json_object_object_add(d, "x-slots", json_object_new_uint64(m->slots));
	api_add_age(d, "x-size-age-ms", now, m->size_changed_ms);
	api_add_age(d, "x-request-age-ms", now, m->requested_changed_ms);
	return d;
}

/* An NVDIMM as QEMU shows one: type "nvdimm" with its pc-dimm data. */
static struct json_object *api_nvdimm_json(const struct api_pmem_info *p)
{
	struct json_object *o = json_object_new_object(), *d = json_object_new_object();

	json_object_object_add(d, "id", json_object_new_string(p->id));
	json_object_object_add(d, "addr", json_object_new_uint64(p->memaddr));
	json_object_object_add(d, "size", json_object_new_uint64(p->size));
	json_object_object_add(d, "slot", json_object_new_int64(p->slot));
	json_object_object_add(d, "node", json_object_new_int64(p->node));
	json_object_object_add(d, "memdev", json_object_new_string(p->memdev));
	json_object_object_add(d, "hotplugged", json_object_new_boolean(0));
	json_object_object_add(d, "hotpluggable", json_object_new_boolean(0));
	json_object_object_add(o, "type", json_object_new_string("nvdimm"));
	json_object_object_add(o, "data", d);
	return o;
}

/* The virtio-pmem and NVDIMM devices appended to list, in QEMU's shapes; NULL after an error. */
static struct json_object *api_pmem_list(struct api_backend *b, struct json_object *list,
					 struct qmp_error *err)
{
	struct api_pmem_info p;
	struct json_object *o, *d;
	unsigned int i, n = b->ops->pmem_count ? b->ops->pmem_count(b) : 0;
	int ret;

	for (i = 0; i < n; i++) {
		memset(&p, 0, sizeof(p));
		ret = b->ops->pmem_info(b, i, &p);
		if (ret) {
			json_object_put(list);
			api_backend_error(err, "query-memory-devices", ret);
			return NULL;
		}
		if (p.nvdimm) {
			json_object_array_add(list, api_nvdimm_json(&p));
			continue;
		}
		d = json_object_new_object();
		json_object_object_add(d, "id", json_object_new_string(p.id));
		json_object_object_add(d, "memaddr", json_object_new_uint64(p.memaddr));
		json_object_object_add(d, "size", json_object_new_uint64(p.size));
		json_object_object_add(d, "memdev", json_object_new_string(p.memdev));
		json_object_object_add(d, "x-flushes", json_object_new_uint64(p.flushes));
		json_object_object_add(d, "x-flush-errors", json_object_new_uint64(p.flush_errors));
		o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string("virtio-pmem"));
		json_object_object_add(o, "data", d);
		json_object_array_add(list, o);
	}
	return list;
}

static struct json_object *api_cmd_memory_devices(struct api *api, struct json_object *args,
						  struct qmp_error *err)
{
	struct api_backend *b = api->backend;
	struct json_object *list = json_object_new_array(), *o;
	struct api_memdev_info m;
	unsigned int i, n = b->ops->memdev_count(b);
	int ret;

	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		ret = b->ops->memdev_info(b, i, &m);
		if (ret) {
			json_object_put(list);
			api_backend_error(err, "query-memory-devices", ret);
			return NULL;
		}
		o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string("virtio-mem"));
		json_object_object_add(o, "data", api_memdev_json(api, &m));
		json_object_array_add(list, o);
	}
	api_dimms_json(api, list);
	return api_pmem_list(b, list, err);
}

/* The device id of a QOM path: "/machine/peripheral/ID", "peripheral/ID" or "ID". */
static const char *api_path_id(const char *path)
{
	static const char *const prefixes[] = {"/machine/peripheral/", "peripheral/", ""};
	size_t p;

	for (p = 0; p < ARRAY_SIZE(prefixes); p++)
		if (!strncmp(path, prefixes[p], strlen(prefixes[p])))
			return path + strlen(prefixes[p]);
	return path;
}

int api_find_memdev(struct api *api, const char *path, struct api_memdev_info *out)
{
	struct api_backend *b = api->backend;
	unsigned int i, n = b->ops->memdev_count(b);
	const char *id = api_path_id(path);
	int ret;

	if (!*id)
		return -ENODEV;
	for (i = 0; i < n; i++) {
		memset(out, 0, sizeof(*out));
		ret = b->ops->memdev_info(b, i, out);
		if (ret)
			return ret;
		if (!strcmp(out->id, id))
			return 0;
	}
	return -ENODEV;
}

/* The balloon's state, or QEMU's DeviceNotActive when the VM has none. */
static bool api_balloon(struct api *api, struct api_balloon_info *out, struct qmp_error *err)
{
	struct api_backend *b = api->backend;
	int ret = b->ops->balloon_info ? b->ops->balloon_info(b, out) : -ENODEV;

	if (ret == -ENODEV)
		qmp_error_set(err, QMP_ERR_DEV_NOT_ACTIVE, "No balloon device has been activated");
	else if (ret)
		api_backend_error(err, "balloon", ret);
	return ret == 0;
}

/* Is `path` the balloon's QOM path? (*out filled when it is.) */
static bool api_is_balloon_path(struct api *api, const char *path, struct api_balloon_info *out)
{
	struct api_backend *b = api->backend;

	memset(out, 0, sizeof(*out));
	return b->ops->balloon_info && b->ops->balloon_info(b, out) == 0 &&
	       !strcmp(api_path_id(path), out->id);
}

static struct json_object *api_cmd_balloon(struct api *api, struct json_object *args,
					   struct qmp_error *err)
{
	struct api_balloon_info bi;
	int64_t value = json_object_get_int64(json_object_object_get(args, "value"));
	int ret;

	if (!api_balloon(api, &bi, err))
		return NULL;
	/* QEMU's check and words: the argument is called target inside. */
	if (value <= 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'target' expects a size");
		return NULL;
	}
	ret = api->backend->ops->balloon_set_target(api->backend, (uint64_t)value);
	if (ret)
		api_backend_error(err, "balloon", ret);
	return NULL;
}

static struct json_object *api_cmd_query_balloon(struct api *api, struct json_object *args,
						 struct qmp_error *err)
{
	struct api_balloon_info bi;
	struct json_object *o;

	if (!api_balloon(api, &bi, err))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "actual", json_object_new_uint64(bi.actual));
	/* memvisor's extensions (QEMU clients ignore unknown keys) */
	json_object_object_add(o, "x-target", json_object_new_uint64(bi.target));
	json_object_object_add(o, "x-driver-ready", json_object_new_boolean(bi.driver_ready));
	json_object_object_add(o, "x-discarded-bytes", json_object_new_uint64(bi.discarded_bytes));
	json_object_object_add(o, "x-reported-bytes", json_object_new_uint64(bi.reported_bytes));
	json_object_object_add(o, "x-refused-bytes", json_object_new_uint64(bi.refused_bytes));
	json_object_object_add(o, "x-skipped-bytes", json_object_new_uint64(bi.skipped_bytes));
	json_object_object_add(o, "x-failed-bytes", json_object_new_uint64(bi.failed_bytes));
	json_object_object_add(o, "x-device-errors", json_object_new_uint64(bi.device_errors));
	return o;
}

#define VB_PROP_STATS	 "guest-stats"
#define VB_PROP_INTERVAL "guest-stats-polling-interval"

static bool api_balloon_prop(const char *name, struct qmp_error *err)
{
	if (!strcmp(name, VB_PROP_STATS) || !strcmp(name, VB_PROP_INTERVAL))
		return true;
	qmp_error_set(err, QMP_ERR_GENERIC, "Property 'virtio-balloon-pci.%s' not found", name);
	return false;
}

/* qom-get on the balloon: QEMU's guest-stats object, or the polling interval. */
static struct json_object *api_balloon_get(const struct api_balloon_info *bi, const char *name,
					   struct qmp_error *err)
{
	struct json_object *o, *st;
	unsigned int i;

	if (!api_balloon_prop(name, err))
		return NULL;
	if (!strcmp(name, VB_PROP_INTERVAL))
		return json_object_new_int64((int64_t)bi->stats_interval);
	if (!bi->stats_last_update) {
		qmp_error_set(err, QMP_ERR_GENERIC, "guest hasn't updated any stats yet");
		return NULL;
	}
	st = json_object_new_object();
	for (i = 0; i < API_BALLOON_STATS; i++)
		json_object_object_add(st, vb_stat_name(i), json_object_new_uint64(bi->stats[i]));
	o = json_object_new_object();
	json_object_object_add(o, "stats", st);
	json_object_object_add(o, "last-update", json_object_new_int64(bi->stats_last_update));
	return o;
}

/* qom-set on the balloon: only the polling interval has a setter (QEMU's checks and words). */
static void api_balloon_set(struct api *api, const char *name, struct json_object *v,
			    struct qmp_error *err)
{
	int64_t value;
	int ret;

	if (!api_balloon_prop(name, err))
		return;
	if (strcmp(name, VB_PROP_INTERVAL)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Insufficient permission to perform this operation");
		return;
	}
	if (!json_object_is_type(v, json_type_int)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for '%s', expected: integer", name);
		return;
	}
	value = json_object_get_int64(v);
	if (value < 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "timer value must be greater than zero");
		return;
	}
	if ((uint64_t)value > UINT32_MAX) {
		qmp_error_set(err, QMP_ERR_GENERIC, "timer value is too big");
		return;
	}
	ret = api->backend->ops->balloon_set_interval(api->backend, (uint64_t)value);
	if (ret)
		api_backend_error(err, "qom-set", ret);
}

static bool api_lookup(struct api *api, struct json_object *args, struct api_memdev_info *m,
		       struct qmp_error *err)
{
	const char *path = api_str_arg(args, "path");
	int ret = api_find_memdev(api, path, m);

	if (ret == -ENODEV)
		qmp_error_set(err, QMP_ERR_DEV_NOT_FOUND, "Device '%s' not found", path);
	else if (ret)
		api_backend_error(err, "qom", ret);
	return ret == 0;
}

enum api_prop_access {
	API_PROP_RW,
	API_PROP_NO_SETTER, /* QOM property without a setter */
	API_PROP_STATIC,    /* qdev property, frozen at realize */
};

struct api_prop {
	const char *name;
	enum api_prop_access access;
};

static const struct api_prop api_props[] = {
    {VMEM_PROP_REQUESTED_SIZE, API_PROP_RW},
    {VMEM_PROP_SIZE, API_PROP_NO_SETTER},
    {VMEM_PROP_BLOCK_SIZE, API_PROP_STATIC},
    {VMEM_PROP_NODE, API_PROP_STATIC},
    {VMEM_PROP_MEMADDR, API_PROP_STATIC},
    {VMEM_PROP_MEMDEV, API_PROP_STATIC},
    {"type", API_PROP_NO_SETTER},
    {VMEM_PROP_MAX_SIZE, API_PROP_NO_SETTER},
};

static const struct api_prop *api_find_prop(const char *name, struct qmp_error *err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(api_props); i++)
		if (!strcmp(api_props[i].name, name))
			return &api_props[i];
	qmp_error_set(err, QMP_ERR_GENERIC, "Property 'virtio-mem-pci.%s' not found", name);
	return NULL;
}

static struct json_object *api_prop_value(const struct api_memdev_info *m, const char *name)
{
	if (!strcmp(name, VMEM_PROP_REQUESTED_SIZE))
		return json_object_new_uint64(m->requested_size);
	if (!strcmp(name, VMEM_PROP_SIZE))
		return json_object_new_uint64(m->size);
	if (!strcmp(name, VMEM_PROP_BLOCK_SIZE))
		return json_object_new_uint64(m->block_size);
	if (!strcmp(name, VMEM_PROP_NODE))
		return json_object_new_uint64(m->node);
	if (!strcmp(name, VMEM_PROP_MEMADDR))
		return json_object_new_uint64(m->memaddr);
	if (!strcmp(name, VMEM_PROP_MEMDEV))
		return json_object_new_string(m->memdev);
	if (!strcmp(name, "type"))
		return json_object_new_string("virtio-mem-pci");
	return json_object_new_uint64(m->max_size);
}

static struct json_object *api_cmd_qom_get(struct api *api, struct json_object *args,
					   struct qmp_error *err)
{
	const char *prop = api_str_arg(args, "property");
	struct api_balloon_info bi;
	struct api_memdev_info m;

	if (api_is_balloon_path(api, api_str_arg(args, "path"), &bi))
		return api_balloon_get(&bi, prop, err);
	if (!api_lookup(api, args, &m, err) || !api_find_prop(prop, err))
		return NULL;
	return api_prop_value(&m, prop);
}

/* The value check of QEMU's virtio_mem_set_requested_size(), in its words. */
static int api_check_requested(const struct api_memdev_info *m, struct json_object *v,
			       uint64_t *size, struct qmp_error *err)
{
	char msg[200];

	if (!json_object_is_type(v, json_type_int)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Parameter '" VMEM_PROP_REQUESTED_SIZE "' expects uint64");
		return -EINVAL;
	}
	/* QEMU's uint64 visitor accepts negative numbers as their 2's complement. */
	if (json_object_get_int64(v) < 0)
		*size = (uint64_t)json_object_get_int64(v);
	else
		*size = json_object_get_uint64(v);
	if (vmem_check_requested(m->block_size, m->max_size, *size, msg, sizeof(msg))) {
		qmp_error_set(err, QMP_ERR_GENERIC, "%s", msg);
		return -EINVAL;
	}
	return 0;
}

static struct json_object *api_cmd_qom_set(struct api *api, struct json_object *args,
					   struct qmp_error *err)
{
	const char *name = api_str_arg(args, "property");
	struct api_backend *b = api->backend;
	const struct api_prop *prop;
	struct api_balloon_info bi;
	struct api_memdev_info m;
	char msg[200] = "";
	uint64_t size;
	int ret;

	if (api_is_balloon_path(api, api_str_arg(args, "path"), &bi)) {
		api_balloon_set(api, name, json_object_object_get(args, "value"), err);
		return NULL;
	}
	if (!api_lookup(api, args, &m, err))
		return NULL;
	prop = api_find_prop(name, err);
	if (!prop)
		return NULL;
	switch (prop->access) {
	case API_PROP_NO_SETTER:
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Insufficient permission to perform this operation");
		return NULL;
	case API_PROP_STATIC:
		/* The property lives on the inner, anonymous virtio-mem device. */
		qmp_error_set(
		    err, QMP_ERR_GENERIC,
		    "Attempt to set property '%s' on anonymous device (type 'virtio-mem') "
		    "after it was realized",
		    name);
		return NULL;
	case API_PROP_RW:
		break;
	}
	if (api_check_requested(&m, json_object_object_get(args, "value"), &size, err))
		return NULL;
	ret = b->ops->memdev_set_requested(b, m.id, size, msg, sizeof(msg));
	if (ret) {
		if (msg[0])
			qmp_error_set(err, QMP_ERR_GENERIC, "%s", msg);
		else
			api_backend_error(err, "qom-set", ret);
	}
	return NULL;
}

static struct json_object *api_cmd_hmp(struct api *api, struct json_object *args,
				       struct qmp_error *err)
{
	struct api_buf text, crlf;
	struct json_object *ret;
	size_t i;

	api_buf_init(&text);
	api_buf_init(&crlf);
	hmp_run(api, api_str_arg(args, "command-line"), &text);
	/* QEMU's monitor turns every "\n" into "\r\n". */
	for (i = 0; i < text.len; i++) {
		if (text.data[i] == '\n')
			api_buf_append(&crlf, "\r", 1);
		api_buf_append(&crlf, &text.data[i], 1);
	}
	ret = json_object_new_string(api_buf_str(&crlf));
	api_buf_free(&text);
	api_buf_free(&crlf);
	return ret;
}

/* --- ACPI DIMMs: QEMU's object-add / device_add / device_del / object-del ----------------- */

static bool api_dimm_error(struct qmp_error *err, const struct dimm_error *e)
{
	qmp_error_set(err, e->cls == DIMM_ERR_NOT_FOUND ? QMP_ERR_DEV_NOT_FOUND : QMP_ERR_GENERIC,
		      "%s", e->desc);
	return false;
}

/* Without the ops the VM has no DIMM support; QEMU words it as a missing feature. */
static bool api_dimm_ops(struct api *api, struct qmp_error *err)
{
	const struct api_backend_ops *o = api->backend->ops;

	if (o->dimm_set && o->dimm_object_add && o->dimm_object_del && o->dimm_device_add &&
	    o->dimm_device_del && o->dimm_resize)
		return true;
	qmp_error_set(err, QMP_ERR_GENERIC, "memory hotplug is not supported by this VM");
	return false;
}

/* Memory-backend properties of QEMU memvisor does not offer: refused by name. */
static const char *const api_backend_unsupported[] = {
    "host-nodes",
    "policy",
    "merge",
    "dump",
    "reserve",
    "prealloc-threads",
    "discard-data",
    "align",
    "pmem",
    "readonly",
    "hugetlb",
    "hugetlbsize",
    "seal",
    "offset",
    "rom",
    "prealloc-context",
    "x-use-canonical-path-for-ramblock-id",
};

static struct json_object *api_cmd_object_add(struct api *api, struct json_object *args,
					      struct qmp_error *err)
{
	const char *type = api_str_arg(args, "qom-type");
	struct dimm_object_req r = {.id = api_str_arg(args, "id")};
	struct dimm_error e = {0};
	struct json_object *v;

	if (!api_dimm_ops(api, err))
		return NULL;
	if (!strcmp(type, "memory-backend-ram")) {
		r.kind = DIMM_BACKEND_RAM;
	} else if (!strcmp(type, "memory-backend-memfd")) {
		r.kind = DIMM_BACKEND_MEMFD;
	} else if (!strcmp(type, "memory-backend-file")) {
		r.kind = DIMM_BACKEND_FILE;
	} else {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "invalid object type: %s (memvisor offers memory-backend-ram, "
			      "memory-backend-memfd and memory-backend-file)",
			      type);
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(api_backend_unsupported); i++)
		if (json_object_object_get_ex(args, api_backend_unsupported[i], NULL)) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Property '%s.%s' is not supported by memvisor", type,
				      api_backend_unsupported[i]);
			return NULL;
		}
	if (!json_object_object_get_ex(args, "size", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'size' is missing");
		return NULL;
	}
	r.size = json_object_get_uint64(v);
	if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'size' expects uint64");
		return NULL;
	}
	if (json_object_object_get_ex(args, "share", &v))
		r.share = json_object_get_boolean(v);
	if (json_object_object_get_ex(args, "prealloc", &v))
		r.prealloc = json_object_get_boolean(v);
	r.path = api_str_arg(args, "mem-path");
	if (api->backend->ops->dimm_object_add(api->backend, &r, &e))
		api_dimm_error(err, &e);
	return NULL;
}

static struct json_object *api_cmd_object_del(struct api *api, struct json_object *args,
					      struct qmp_error *err)
{
	struct dimm_error e = {0};

	if (api_dimm_ops(api, err) &&
	    api->backend->ops->dimm_object_del(api->backend, api_str_arg(args, "id"), &e))
		api_dimm_error(err, &e);
	return NULL;
}

static struct json_object *api_cmd_device_add(struct api *api, struct json_object *args,
					      struct qmp_error *err)
{
	const char *driver = api_str_arg(args, "driver");
	struct dimm_error e = {0};
	struct json_object *v;
	long node = -1;

	if (strcmp(driver, "pc-dimm")) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "'%s' is not a valid device model name (memvisor hotplugs pc-dimm)",
			      driver);
		return NULL;
	}
	if (!api_dimm_ops(api, err))
		return NULL;
	if (!json_object_object_get_ex(args, "id", NULL)) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'id' is missing");
		return NULL;
	}
	if (json_object_object_get_ex(args, "node", &v)) {
		int64_t n = json_object_get_int64(v);

		if (n < 0 || n > UINT32_MAX) {
			qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'node' expects uint32");
			return NULL;
		}
		node = n;
	}
	if (api->backend->ops->dimm_device_add(api->backend, api_str_arg(args, "id"),
					       api_str_arg(args, "memdev"), node, &e))
		api_dimm_error(err, &e);
	return NULL;
}

static struct json_object *api_cmd_device_del(struct api *api, struct json_object *args,
					      struct qmp_error *err)
{
	struct dimm_error e = {0};
	const char *id = api_str_arg(args, "id");

	if (!api_dimm_ops(api, err))
		return NULL;
	/* A QOM path names the same device. */
	if (!strncmp(id, "/machine/peripheral/", 20))
		id += 20;
	if (api->backend->ops->dimm_device_del(api->backend, id, &e))
		api_dimm_error(err, &e);
	return NULL;
}

/* memvisor's x-resize {"size": N}: guest memory in all, by whole DIMMs (memvisor-ctl resize). */
static struct json_object *api_cmd_resize(struct api *api, struct json_object *args,
					  struct qmp_error *err)
{
	struct json_object *v = json_object_object_get(args, "size");
	struct dimm_error e = {0};

	if (json_object_get_int64(v) <= 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'size' expects a positive size");
		return NULL;
	}
	if (api_dimm_ops(api, err) &&
	    api->backend->ops->dimm_resize(api->backend, json_object_get_uint64(v), &e))
		api_dimm_error(err, &e);
	return NULL;
}

static struct json_object *api_cmd_ospm_status(struct api *api, struct json_object *args,
					       struct qmp_error *err)
{
	const struct api_backend_ops *o = api->backend->ops;
	const struct dimm_set *s = o->dimm_set ? o->dimm_set(api->backend) : NULL;
	struct json_object *list = json_object_new_array();

	for (unsigned int i = 0; s && i < s->nr_slots; i++)
		json_object_array_add(list, api_dimm_ost_info(s, i));
	return list;
}

/* QEMU's PCDIMMDeviceInfo, one per plugged DIMM (query-memory-devices). */
static void api_dimms_json(struct api *api, struct json_object *list)
{
	const struct api_backend_ops *o = api->backend->ops;
	const struct dimm_set *s = o->dimm_set ? o->dimm_set(api->backend) : NULL;

	for (unsigned int i = 0; s && i < s->nr_slots; i++) {
		const struct dimm *dm = &s->dimms[i];
		struct json_object *e, *d;
		char path[DIMM_ID_LEN + 16];

		if (dm->state == DIMM_EMPTY)
			continue;
		d = json_object_new_object();
		snprintf(path, sizeof(path), "/objects/%s", s->objects[dm->object].id);
		json_object_object_add(d, "id", json_object_new_string(dm->id));
		json_object_object_add(d, "addr", json_object_new_uint64(dm->addr));
		json_object_object_add(d, "size", json_object_new_uint64(dm->size));
		json_object_object_add(d, "slot", json_object_new_int64(i));
		json_object_object_add(d, "node", json_object_new_int64(dm->node));
		json_object_object_add(d, "memdev", json_object_new_string(path));
		json_object_object_add(d, "hotplugged", json_object_new_boolean(true));
		json_object_object_add(d, "hotpluggable", json_object_new_boolean(true));
		e = json_object_new_object();
		json_object_object_add(e, "type", json_object_new_string("dimm"));
		json_object_object_add(e, "data", d);
		json_object_array_add(list, e);
	}
}

static const struct api_arg api_object_add_args[] = {
    {"qom-type", API_ARG_STR, false},
    {"id", API_ARG_STR, false},
    {"size", API_ARG_INT, false},
    {"share", API_ARG_BOOL, true},
    {"prealloc", API_ARG_BOOL, true},
    {"mem-path", API_ARG_STR, true},
    /* QEMU's other backend properties: accepted here, refused by name in the command */
    {"host-nodes", API_ARG_ANY, true},
    {"policy", API_ARG_ANY, true},
    {"merge", API_ARG_ANY, true},
    {"dump", API_ARG_ANY, true},
    {"reserve", API_ARG_ANY, true},
    {"prealloc-threads", API_ARG_ANY, true},
    {"discard-data", API_ARG_ANY, true},
    {"align", API_ARG_ANY, true},
    {"pmem", API_ARG_ANY, true},
    {"readonly", API_ARG_ANY, true},
    {"hugetlb", API_ARG_ANY, true},
    {"hugetlbsize", API_ARG_ANY, true},
    {"seal", API_ARG_ANY, true},
    {"offset", API_ARG_ANY, true},
    {"rom", API_ARG_ANY, true},
    {"prealloc-context", API_ARG_ANY, true},
    {"x-use-canonical-path-for-ramblock-id", API_ARG_ANY, true},
    {NULL, 0, false},
};

/* memvisor's extensions for --autoscale: the policy, its signals and last decisions. */
static struct json_object *api_cmd_query_autoscale(struct api *api, struct json_object *args,
						   struct qmp_error *err)
{
	struct api_backend *b = api->backend;
	struct json_object *o = NULL;
	int ret = b->ops->autoscale_query ? b->ops->autoscale_query(b, &o) : -ENODEV;

	if (ret == -ENODEV)
		qmp_error_set(err, QMP_ERR_DEV_NOT_ACTIVE,
			      "autoscale is not enabled (no --autoscale)");
	else if (ret)
		api_backend_error(err, "x-query-autoscale", ret);
	return ret ? NULL : o;
}

static const struct api_arg api_autoscale_resume_args[] = {
    {"id", API_ARG_STR, true},
    {NULL, 0, false},
};

static struct json_object *api_cmd_autoscale_resume(struct api *api, struct json_object *args,
						    struct qmp_error *err)
{
	struct api_backend *b = api->backend;
	struct json_object *v;
	const char *id = NULL;
	char msg[160] = "";
	int ret;

	if (args && json_object_object_get_ex(args, "id", &v))
		id = json_object_get_string(v);
	ret =
	    b->ops->autoscale_resume ? b->ops->autoscale_resume(b, id, msg, sizeof(msg)) : -ENODEV;
	if (ret == -ENODEV)
		qmp_error_set(err, QMP_ERR_DEV_NOT_ACTIVE,
			      "autoscale is not enabled (no --autoscale)");
	else if (ret == -ENOENT)
		qmp_error_set(err, QMP_ERR_DEV_NOT_FOUND, "%s", msg);
	else if (ret)
		qmp_error_set(err, QMP_ERR_GENERIC, "x-autoscale-resume: %s", msg);
	return NULL;
}

static const struct api_arg api_id_args[] = {
    {"id", API_ARG_STR, false},
    {NULL, 0, false},
};

static const struct api_arg api_device_add_args[] = {
    {"driver", API_ARG_STR, false}, {"id", API_ARG_STR, true}, {"memdev", API_ARG_STR, true},
    {"node", API_ARG_INT, true},    {NULL, 0, false},
};

static const struct api_arg api_resize_args[] = {
    {"size", API_ARG_INT, false},
    {NULL, 0, false},
};

static const struct api_arg api_qom_get_args[] = {
    {"path", API_ARG_STR, false},
    {"property", API_ARG_STR, false},
    {NULL, 0, false},
};

static const struct api_arg api_qom_set_args[] = {
    {"path", API_ARG_STR, false},
    {"property", API_ARG_STR, false},
    {"value", API_ARG_ANY, false},
    {NULL, 0, false},
};

static const struct api_arg api_hmp_args[] = {
    {"command-line", API_ARG_STR, false},
    {"cpu-index", API_ARG_INT, true},
    {NULL, 0, false},
};

static const struct api_arg api_balloon_args[] = {
    {"value", API_ARG_INT, false},
    {NULL, 0, false},
};

static const struct api_arg api_snapshot_args[] = {
    {"url", API_ARG_STR, false},
    {"live", API_ARG_BOOL, true},
    {NULL, 0, false},
};

static const struct api_command api_commands[] = {
    {"query-version", NULL, api_cmd_query_version},
    {"query-commands", NULL, api_cmd_query_commands},
    {"query-status", NULL, api_cmd_query_status},
    {"quit", NULL, api_cmd_quit},
    {"stop", NULL, api_cmd_stop},
    {"cont", NULL, api_cmd_cont},
    {"x-snapshot", api_snapshot_args, api_cmd_snapshot},
    {"system_powerdown", NULL, api_cmd_powerdown},
    {"system_reset", NULL, api_cmd_reset},
    {"query-memory-size-summary", NULL, api_cmd_memory_summary},
    {"query-memory-devices", NULL, api_cmd_memory_devices},
    {"query-pci", NULL, api_cmd_query_pci},
    {"balloon", api_balloon_args, api_cmd_balloon},
    {"query-balloon", NULL, api_cmd_query_balloon},
    {"qom-get", api_qom_get_args, api_cmd_qom_get},
    {"qom-set", api_qom_set_args, api_cmd_qom_set},
    {"human-monitor-command", api_hmp_args, api_cmd_hmp},
    {"object-add", api_object_add_args, api_cmd_object_add},
    {"object-del", api_id_args, api_cmd_object_del},
    {"device_add", api_device_add_args, api_cmd_device_add},
    {"device_del", api_id_args, api_cmd_device_del},
    {"query-acpi-ospm-status", NULL, api_cmd_ospm_status},
    {"x-resize", api_resize_args, api_cmd_resize},
    {"x-query-autoscale", NULL, api_cmd_query_autoscale},
    {"x-autoscale-resume", api_autoscale_resume_args, api_cmd_autoscale_resume},
};

size_t api_command_count(void)
{
	return ARRAY_SIZE(api_commands);
}

const char *api_command_name(size_t i)
{
	return i < ARRAY_SIZE(api_commands) ? api_commands[i].name : NULL;
}

struct json_object *api_execute(struct api *api, const char *name, struct json_object *args,
				struct qmp_error *err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(api_commands); i++) {
		if (strcmp(api_commands[i].name, name))
			continue;
		if (api_check_args(api_commands[i].args, args, err))
			return NULL;
		return api_commands[i].fn(api, args, err);
	}
	qmp_error_set(err, QMP_ERR_CMD_NOT_FOUND, "The command %s has not been found", name);
	return NULL;
}
