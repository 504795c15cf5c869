#include "api/commands.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <string.h>

#include "api/hmp.h"
#include "core/util.h"

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
	json_object_object_add(d, "x-exposed-bytes", json_object_new_uint64(m->exposed_bytes));
	json_object_object_add(d, "x-slots", json_object_new_uint64(m->slots));
	api_add_age(d, "x-size-age-ms", now, m->size_changed_ms);
	api_add_age(d, "x-request-age-ms", now, m->requested_changed_ms);
	return d;
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
	return list;
}

int api_find_memdev(struct api *api, const char *path, struct api_memdev_info *out)
{
	static const char *const prefixes[] = {"/machine/peripheral/", "peripheral/", ""};
	struct api_backend *b = api->backend;
	unsigned int i, n = b->ops->memdev_count(b);
	const char *id = path;
	size_t p;
	int ret;

	for (p = 0; p < ARRAY_SIZE(prefixes); p++) {
		if (!strncmp(path, prefixes[p], strlen(prefixes[p]))) {
			id = path + strlen(prefixes[p]);
			break;
		}
	}
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
    {"requested-size", API_PROP_RW}, {"size", API_PROP_NO_SETTER},
    {"block-size", API_PROP_STATIC}, {"node", API_PROP_STATIC},
    {"memaddr", API_PROP_STATIC},    {"memdev", API_PROP_STATIC},
    {"type", API_PROP_NO_SETTER},    {"max-size", API_PROP_NO_SETTER},
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
	if (!strcmp(name, "requested-size"))
		return json_object_new_uint64(m->requested_size);
	if (!strcmp(name, "size"))
		return json_object_new_uint64(m->size);
	if (!strcmp(name, "block-size"))
		return json_object_new_uint64(m->block_size);
	if (!strcmp(name, "node"))
		return json_object_new_uint64(m->node);
	if (!strcmp(name, "memaddr"))
		return json_object_new_uint64(m->memaddr);
	if (!strcmp(name, "memdev"))
		return json_object_new_string(m->memdev);
	if (!strcmp(name, "type"))
		return json_object_new_string("virtio-mem-pci");
	return json_object_new_uint64(m->max_size);
}

static struct json_object *api_cmd_qom_get(struct api *api, struct json_object *args,
					   struct qmp_error *err)
{
	const char *prop = api_str_arg(args, "property");
	struct api_memdev_info m;

	if (!api_lookup(api, args, &m, err) || !api_find_prop(prop, err))
		return NULL;
	return api_prop_value(&m, prop);
}

/* The value check of QEMU's virtio_mem_set_requested_size(), in its words. */
static int api_check_requested(const struct api_memdev_info *m, struct json_object *v,
			       uint64_t *size, struct qmp_error *err)
{
	if (!json_object_is_type(v, json_type_int)) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'requested-size' expects uint64");
		return -EINVAL;
	}
	/* QEMU's uint64 visitor accepts negative numbers as their 2's complement. */
	if (json_object_get_int64(v) < 0)
		*size = (uint64_t)json_object_get_int64(v);
	else
		*size = json_object_get_uint64(v);
	if (!m->block_size || *size % m->block_size) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "'requested-size' has to be multiples of 'block-size' (0x%" PRIx64
			      ")",
			      m->block_size);
		return -EINVAL;
	}
	if (*size > m->max_size) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "'requested-size' cannot exceed the memory backend size(0x%" PRIx64
			      ")",
			      m->max_size);
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
	struct api_memdev_info m;
	char msg[200] = "";
	uint64_t size;
	int ret;

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

static const struct api_command api_commands[] = {
    {"query-version", NULL, api_cmd_query_version},
    {"query-commands", NULL, api_cmd_query_commands},
    {"query-status", NULL, api_cmd_query_status},
    {"quit", NULL, api_cmd_quit},
    {"system_powerdown", NULL, api_cmd_powerdown},
    {"system_reset", NULL, api_cmd_reset},
    {"query-memory-size-summary", NULL, api_cmd_memory_summary},
    {"query-memory-devices", NULL, api_cmd_memory_devices},
    {"qom-get", api_qom_get_args, api_cmd_qom_get},
    {"qom-set", api_qom_set_args, api_cmd_qom_set},
    {"human-monitor-command", api_hmp_args, api_cmd_hmp},
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
