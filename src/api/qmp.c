#include "api/qmp.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

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

/* The number token ended: is it an integer json-c would clamp? */
static void qmp_scan_end_number(struct qmp_scan *sc)
{
	static const char max_pos[] = "18446744073709551615", max_neg[] = "9223372036854775808";
	const char *max = sc->num_neg ? max_neg : max_pos;
	size_t maxlen = strlen(max);

	sc->in_num = false;
	if (sc->num_float)
		return;
	if (sc->ndig > maxlen || (sc->ndig == maxlen && memcmp(sc->dig, max, maxlen) > 0))
		sc->bad_int = true;
}

static void qmp_scan_number_byte(struct qmp_scan *sc, char c)
{
	if (!sc->in_num) {
		if (c != '-' && !(c >= '0' && c <= '9'))
			return;
		sc->in_num = true;
		sc->num_neg = c == '-';
		sc->num_float = false;
		sc->ndig = 0;
	}
	if (c >= '0' && c <= '9') {
		if (sc->num_float || (c == '0' && !sc->ndig))
			return;
		if (sc->ndig < sizeof(sc->dig))
			sc->dig[sc->ndig++] = c;
		return;
	}
	if (c == '.' || c == 'e' || c == 'E') {
		sc->num_float = true;
		return;
	}
	if ((c == '-' || c == '+') && (sc->num_float || !sc->ndig))
		return; /* an exponent's sign, or the leading '-' */
	qmp_scan_end_number(sc);
}

/* Inside a string: \u0000 escapes and raw control bytes. */
static void qmp_scan_string_byte(struct qmp_scan *sc, char c)
{
	if (sc->hex_left) {
		sc->hex_val = sc->hex_val << 4 | (unsigned int)(c >= '0' && c <= '9' ? c - '0' : 1);
		if (--sc->hex_left == 0 && sc->hex_val == 0)
			sc->bad_nul = true;
		return;
	}
	if (sc->esc && c == 'u') {
		sc->hex_left = 4;
		sc->hex_val = 0;
		return;
	}
	if ((unsigned char)c < 0x20)
		sc->bad_ctrl = true;
}

bool qmp_scan_byte(struct qmp_scan *sc, char c)
{
	if (sc->in_str) {
		qmp_scan_string_byte(sc, c);
		if (sc->hex_left)
			return false;
		if (sc->esc)
			sc->esc = false;
		else if (c == '\\')
			sc->esc = true;
		else if (c == sc->quote) {
			sc->in_str = false;
			return sc->depth == 0;
		}
		return false;
	}
	if (sc->in_num || c == '-' || (c >= '0' && c <= '9'))
		qmp_scan_number_byte(sc, c);
	if (!sc->started) {
		if (qmp_is_space(c))
			return false;
		sc->started = true;
		if (c != '{' && c != '[' && c != '"' && c != '\'') {
			sc->scalar = true;
			return false;
		}
	}
	if (sc->scalar)
		return qmp_is_space(c) || c == '{' || c == '[' || c == '"' || c == '\'';
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
	case '\'':
		sc->in_str = true;
		sc->quote = c;
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
	if (!f->tok)
		return -ENOMEM;
	/* Rejects invalid UTF-8 as it comes; qmp_check_value catches what this lets by. */
	json_tokener_set_flags(f->tok, JSON_TOKENER_VALIDATE_UTF8);
	return 0;
}

void qmp_framer_destroy(struct qmp_framer *f)
{
	if (f->tok)
		json_tokener_free(f->tok);
	f->tok = NULL;
}

static int qmp_check_utf8(const char *s, size_t n, char *desc, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t seq;

	for (; p < end; p += seq) {
		seq = api_utf8_seq(p, (size_t)(end - p));
		if (!seq) {
			snprintf(desc, len, "JSON parse error, invalid UTF-8 sequence in string");
			return -EINVAL;
		}
	}
	return 0;
}

/* Strings (keys included) must be UTF-8 and doubles finite, as QEMU's parser wants. */
static int qmp_check_tree(struct json_object *o, char *desc, size_t len)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_double:
		if (isfinite(json_object_get_double(o)))
			return 0;
		snprintf(desc, len,
			 "JSON parse error, NaN, Infinity and numbers beyond the range of a "
			 "double are not JSON");
		return -EINVAL;
	case json_type_string:
		/* The scan catches \u0000 in keys too; this is the backstop for values. */
		if (memchr(json_object_get_string(o), 0, (size_t)json_object_get_string_len(o))) {
			snprintf(desc, len, "JSON parse error, \\u0000 is not supported");
			return -EINVAL;
		}
		return qmp_check_utf8(json_object_get_string(o),
				      (size_t)json_object_get_string_len(o), desc, len);
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (qmp_check_tree(json_object_array_get_idx(o, i), desc, len))
				return -EINVAL;
		return 0;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			if (qmp_check_utf8(key, strlen(key), desc, len) ||
			    qmp_check_tree(val, desc, len))
				return -EINVAL;
		}
		return 0;
	}
	default:
		return 0;
	}
}

int qmp_check_value(struct qmp_scan *sc, struct json_object *obj, char *desc, size_t len)
{
	if (sc->in_num)
		qmp_scan_end_number(sc);
	if (sc->bad_nul) {
		snprintf(desc, len, "JSON parse error, \\u0000 is not supported");
		return -EINVAL;
	}
	if (sc->bad_ctrl) {
		snprintf(desc, len, "JSON parse error, control character in string");
		return -EINVAL;
	}
	if (sc->bad_int) {
		snprintf(desc, len,
			 "JSON parse error, integer out of range (from -2^63 to 2^64-1; write "
			 "a fraction or an exponent for a double)");
		return -EINVAL;
	}
	return qmp_check_tree(obj, desc, len);
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
			/* QEMU's words where json-c has its own. */
			snprintf(desc, sizeof(desc), "JSON parse error, %s",
				 err == json_tokener_error_parse_utf8_string
				     ? "invalid UTF-8 sequence in string"
				     : json_tokener_error_desc(err));
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
		if (qmp_check_value(&f->scan, obj, desc, sizeof(desc))) {
			json_object_put(obj);
			qmp_framer_restart(f);
			f->ops->error(f, desc);
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
	/* A failed buffer too: the owner must learn that this session is done for. */
	if (s->ops->kick && (s->out.len || s->out.failed))
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
