#include "api/qmp.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

void qmp_error_set(struct qmp_error *e, const char *cls, const char *fmt, ...)
{
	va_list ap;

	e->cls = cls;
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
}

void qmp_scan_reset(struct qmp_scan *sc)
{
	memset(sc, 0, sizeof(*sc));
}

static bool qmp_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool qmp_scan_byte(struct qmp_scan *sc, char c)
{
	if (sc->in_str) {
		if (sc->esc)
			sc->esc = false;
		else if (c == '\\')
			sc->esc = true;
		else if (c == '"') {
			sc->in_str = false;
			return sc->depth == 0;
		}
		return false;
	}
	if (!sc->started) {
		if (qmp_is_space(c))
			return false;
		sc->started = true;
		if (c != '{' && c != '[' && c != '"') {
			sc->scalar = true;
			return false;
		}
	}
	if (sc->scalar)
		return qmp_is_space(c) || c == '{' || c == '[' || c == '"';
	switch (c) {
	case '{':
	case '[':
		sc->depth++;
		break;
	case '}':
	case ']':
		if (sc->depth > 0 && --sc->depth == 0)
			return true;
		break;
	case '"':
		sc->in_str = true;
		break;
	default:
		break;
	}
	return false;
}

int qmp_framer_init(struct qmp_framer *f, const struct qmp_framer_ops *ops, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->ops = ops;
	f->max = max;
	f->tok = json_tokener_new();
	return f->tok ? 0 : -ENOMEM;
}

void qmp_framer_destroy(struct qmp_framer *f)
{
	if (f->tok)
		json_tokener_free(f->tok);
	f->tok = NULL;
}

static void qmp_framer_restart(struct qmp_framer *f)
{
	json_tokener_reset(f->tok);
	qmp_scan_reset(&f->scan);
	f->msg_bytes = 0;
}

static void qmp_framer_oversize(struct qmp_framer *f)
{
	char desc[96];

	snprintf(desc, sizeof(desc), "JSON message size limit (%zu bytes) exceeded", f->max);
	f->ops->error(f, desc);
}

void qmp_framer_feed(struct qmp_framer *f, const char *buf, size_t len)
{
	size_t off = 0, used, i;
	enum json_tokener_error err;
	struct json_object *obj;
	char desc[128];

	while (off < len) {
		if (f->skip == QMP_SKIP_LINE) {
			const char *nl = memchr(buf + off, '\n', len - off);

			f->skip = QMP_SKIP_NONE;
			off = nl ? (size_t)(nl - buf) + 1 : len;
			continue;
		}
		if (f->skip == QMP_SKIP_VALUE) {
			while (off < len) {
				if (qmp_scan_byte(&f->scan, buf[off++])) {
					f->skip = QMP_SKIP_NONE;
					qmp_framer_restart(f);
					break;
				}
			}
			continue;
		}
		obj = json_tokener_parse_ex(f->tok, buf + off,
					    (int)MV_MIN(len - off, (size_t)INT32_MAX));
		err = json_tokener_get_error(f->tok);
		used = json_tokener_get_parse_end(f->tok);
		for (i = off; i < off + used; i++) {
			qmp_scan_byte(&f->scan, buf[i]);
			if (f->scan.started)
				f->msg_bytes++;
		}
		if (err == json_tokener_continue) {
			off += used;
			if (f->msg_bytes > f->max) {
				qmp_framer_oversize(f);
				json_tokener_reset(f->tok);
				f->skip = QMP_SKIP_VALUE;
			}
			continue;
		}
		if (err != json_tokener_success) {
			/* `used` is the offending byte: discard from there. */
			off += used;
			snprintf(desc, sizeof(desc), "JSON parse error, %s",
				 json_tokener_error_desc(err));
			qmp_framer_restart(f);
			f->skip = QMP_SKIP_LINE;
			f->ops->error(f, desc);
			continue;
		}
		off += used;
		if (f->msg_bytes > f->max) {
			json_object_put(obj);
			qmp_framer_restart(f);
			qmp_framer_oversize(f);
			continue;
		}
		qmp_framer_restart(f);
		f->ops->message(f, obj);
	}
}

struct json_object *qmp_version_info(const char *package)
{
	struct json_object *v = json_object_new_object(), *q = json_object_new_object();

	json_object_object_add(q, "micro", json_object_new_int(QMP_QEMU_MICRO));
	json_object_object_add(q, "minor", json_object_new_int(QMP_QEMU_MINOR));
	json_object_object_add(q, "major", json_object_new_int(QMP_QEMU_MAJOR));
	json_object_object_add(v, "qemu", q);
	json_object_object_add(v, "package", json_object_new_string(package));
	return v;
}

static void qmp_session_kick(struct qmp_session *s)
{
	if (s->ops->kick && s->out.len)
		s->ops->kick(s);
}

static void qmp_put_error(struct api_buf *out, const struct qmp_error *err)
{
	api_buf_puts(out, "{\"error\": {\"class\": ");
	api_json_append_string(out, err->cls);
	api_buf_puts(out, ", \"desc\": ");
	api_json_append_string(out, err->desc);
	api_buf_puts(out, "}");
}

static void qmp_session_framing_error(struct qmp_framer *f, const char *desc)
{
	struct qmp_session *s = container_of(f, struct qmp_session, framer);

	api_buf_puts(&s->out, "{\"error\": {\"class\": \"" QMP_ERR_GENERIC "\", \"desc\": ");
	api_json_append_string(&s->out, desc);
	api_buf_puts(&s->out, "}}\r\n");
}

/* QEMU's qmp_capabilities: optional "enable", a list of capabilities to turn on. */
static void qmp_capabilities(struct qmp_session *s, struct json_object *args, struct qmp_error *err)
{
	struct json_object *en = NULL;
	size_t i, n;

	if (s->negotiated) {
		qmp_error_set(err, QMP_ERR_CMD_NOT_FOUND,
			      "Capabilities negotiation is already complete, command ignored");
		return;
	}
	if (args) {
		json_object_object_foreach(args, key, val)
		{
			if (strcmp(key, "enable")) {
				qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is unexpected",
					      key);
				return;
			}
			en = val;
		}
	}
	if (en) {
		if (!json_object_is_type(en, json_type_array)) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Invalid parameter type for 'enable', expected: array");
			return;
		}
		n = json_object_array_length(en);
		for (i = 0; i < n; i++) {
			struct json_object *c = json_object_array_get_idx(en, i);

			if (!json_object_is_type(c, json_type_string)) {
				qmp_error_set(
				    err, QMP_ERR_GENERIC,
				    "Invalid parameter type for 'enable[%zu]', expected: string",
				    i);
				return;
			}
			/* memvisor offers no capability (QEMU's only one is oob). */
			if (!strcmp(json_object_get_string(c), "oob"))
				qmp_error_set(err, QMP_ERR_GENERIC, "Capability oob not available");
			else
				qmp_error_set(err, QMP_ERR_GENERIC,
					      "Parameter 'enable[%zu]' does not accept value '%s'",
					      i, json_object_get_string(c));
			return;
		}
	}
	s->negotiated = true;
}

/* Checks the request envelope the way QEMU's qmp_dispatch_check_obj does. */
static const char *qmp_check_request(struct json_object *req, struct json_object **args,
				     struct qmp_error *err)
{
	const char *name = NULL;

	json_object_object_foreach(req, key, val)
	{
		if (!strcmp(key, "execute")) {
			if (!json_object_is_type(val, json_type_string)) {
				qmp_error_set(err, QMP_ERR_GENERIC,
					      "QMP input member 'execute' must be a string");
				return NULL;
			}
			name = json_object_get_string(val);
		} else if (!strcmp(key, "arguments")) {
			if (!json_object_is_type(val, json_type_object)) {
				qmp_error_set(err, QMP_ERR_GENERIC,
					      "QMP input member 'arguments' must be an object");
				return NULL;
			}
			*args = val;
		} else if (strcmp(key, "id")) {
			qmp_error_set(err, QMP_ERR_GENERIC, "QMP input member '%s' is unexpected",
				      key);
			return NULL;
		}
	}
	if (!name)
		qmp_error_set(err, QMP_ERR_GENERIC, "QMP input lacks member 'execute'");
	return name;
}

static void qmp_session_message(struct qmp_framer *f, struct json_object *req)
{
	struct qmp_session *s = container_of(f, struct qmp_session, framer);
	struct json_object *id = NULL, *args = NULL, *ret = NULL, *empty;
	struct qmp_error err = {0};
	bool has_id = false;
	const char *name;

	if (!json_object_is_type(req, json_type_object)) {
		qmp_error_set(&err, QMP_ERR_GENERIC, "QMP input must be a JSON object");
		goto reply;
	}
	/* "id": null is an id too. */
	has_id = json_object_object_get_ex(req, "id", &id);
	name = qmp_check_request(req, &args, &err);
	if (!name)
		goto reply;
	if (!strcmp(name, "qmp_capabilities")) {
		qmp_capabilities(s, args, &err);
	} else if (!s->negotiated) {
		qmp_error_set(&err, QMP_ERR_CMD_NOT_FOUND,
			      "Expecting capabilities negotiation with 'qmp_capabilities'");
	} else {
		empty = args ? NULL : json_object_new_object();
		ret = s->ops->execute(s, name, args ? args : empty, &err);
		json_object_put(empty);
	}
reply:
	if (err.cls) {
		json_object_put(ret);
		qmp_put_error(&s->out, &err);
	} else {
		api_buf_puts(&s->out, "{\"return\": ");
		if (ret)
			api_json_append(&s->out, ret);
		else
			api_buf_puts(&s->out, "{}");
		json_object_put(ret);
	}
	if (has_id) {
		api_buf_puts(&s->out, ", \"id\": ");
		api_json_append(&s->out, id);
	}
	api_buf_puts(&s->out, "}\r\n");
	json_object_put(req);
}

static const struct qmp_framer_ops qmp_session_framer_ops = {
    .message = qmp_session_message,
    .error = qmp_session_framing_error,
};

int qmp_session_init(struct qmp_session *s, const struct qmp_session_ops *ops, const char *package)
{
	struct json_object *v;
	int ret;

	memset(s, 0, sizeof(*s));
	s->ops = ops;
	api_buf_init(&s->out);
	ret = qmp_framer_init(&s->framer, &qmp_session_framer_ops, QMP_MAX_MESSAGE);
	if (ret)
		return ret;
	v = qmp_version_info(package);
	api_buf_puts(&s->out, "{\"QMP\": {\"version\": ");
	api_json_append(&s->out, v);
	api_buf_puts(&s->out, ", \"capabilities\": []}}\r\n");
	json_object_put(v);
	return s->out.failed ? -ENOMEM : 0;
}

void qmp_session_destroy(struct qmp_session *s)
{
	qmp_framer_destroy(&s->framer);
	api_buf_free(&s->out);
}

void qmp_session_feed(struct qmp_session *s, const char *buf, size_t len)
{
	qmp_framer_feed(&s->framer, buf, len);
	qmp_session_kick(s);
}

void qmp_session_event(struct qmp_session *s, const char *name, struct json_object *data,
		       uint64_t wall_us)
{
	if (!s->negotiated)
		return;
	api_buf_printf(
	    &s->out, "{\"timestamp\": {\"seconds\": %llu, \"microseconds\": %llu}, \"event\": ",
	    (unsigned long long)(wall_us / 1000000), (unsigned long long)(wall_us % 1000000));
	api_json_append_string(&s->out, name);
	if (data) {
		api_buf_puts(&s->out, ", \"data\": ");
		api_json_append(&s->out, data);
	}
	api_buf_puts(&s->out, "}\r\n");
	qmp_session_kick(s);
}
