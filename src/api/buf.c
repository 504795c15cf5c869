#include "api/buf.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_buf_init(struct api_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void api_buf_free(struct api_buf *b)
{
	free(b->data);
	api_buf_init(b);
}

static int api_buf_reserve(struct api_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return -ENOMEM;
	need = b->len + extra + 1;
	if (need < b->len) {
		b->failed = true;
		return -ENOMEM;
	}
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int api_buf_append(struct api_buf *b, const void *p, size_t n)
{
	int ret = api_buf_reserve(b, n);

	if (ret)
		return ret;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int api_buf_puts(struct api_buf *b, const char *s)
{
	return api_buf_append(b, s, strlen(s));
}

int api_buf_printf(struct api_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	ret = api_buf_reserve(b, (size_t)n);
	if (ret)
		return ret;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void api_buf_consume(struct api_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = '\0';
}

const char *api_buf_str(struct api_buf *b)
{
	return b->data ? b->data : "";
}

int api_json_append_string(struct api_buf *b, const char *s)
{
	const unsigned char *p;

	api_buf_append(b, "\"", 1);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			api_buf_puts(b, "\\\"");
			break;
		case '\\':
			api_buf_puts(b, "\\\\");
			break;
		case '\b':
			api_buf_puts(b, "\\b");
			break;
		case '\f':
			api_buf_puts(b, "\\f");
			break;
		case '\n':
			api_buf_puts(b, "\\n");
			break;
		case '\r':
			api_buf_puts(b, "\\r");
			break;
		case '\t':
			api_buf_puts(b, "\\t");
			break;
		default:
			/* UTF-8 passes through: JSON allows it and json-c produced it. */
			if (*p < 0x20 || *p == 0x7f)
				api_buf_printf(b, "\\u%04X", *p);
			else
				api_buf_append(b, p, 1);
		}
	}
	return api_buf_append(b, "\"", 1);
}

int api_json_append(struct api_buf *b, struct json_object *o)
{
	bool first = true;
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_null:
		return api_buf_puts(b, "null");
	case json_type_boolean:
		return api_buf_puts(b, json_object_get_boolean(o) ? "true" : "false");
	case json_type_int:
		/* json-c keeps values above INT64_MAX as unsigned; print them so. */
		if (json_object_get_int64(o) == INT64_MAX)
			return api_buf_printf(b, "%" PRIu64, json_object_get_uint64(o));
		return api_buf_printf(b, "%" PRId64, json_object_get_int64(o));
	case json_type_double:
		return api_buf_puts(b, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	case json_type_string:
		return api_json_append_string(b, json_object_get_string(o));
	case json_type_array:
		api_buf_append(b, "[", 1);
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			if (i)
				api_buf_puts(b, ", ");
			api_json_append(b, json_object_array_get_idx(o, i));
		}
		return api_buf_append(b, "]", 1);
	case json_type_object:
		api_buf_append(b, "{", 1);
		json_object_object_foreach(o, key, val)
		{
			if (!first)
				api_buf_puts(b, ", ");
			first = false;
			api_json_append_string(b, key);
			api_buf_puts(b, ": ");
			api_json_append(b, val);
		}
		return api_buf_append(b, "}", 1);
	}
	return -EINVAL;
}
