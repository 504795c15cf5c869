#include "api/buf.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
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
	size_t max = b->max;

	free(b->data);
	api_buf_init(b);
	b->max = max;
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
	if (b->max && need - 1 > b->max) {
		b->failed = true;
		b->over = true;
		return -ENOBUFS;
	}
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (b->max && cap > b->max + 1)
		cap = b->max + 1;
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

size_t api_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned int cp, need, i;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		cp = s[0] & 0x07;
	} else {
		return 0; /* continuation byte, overlong lead (c0, c1) or beyond U+10FFFF */
	}
	if (n <= need)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
	if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

int api_json_append_string_len(struct api_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t seq;

	api_buf_append(b, "\"", 1);
	while (p < end) {
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
			if (*p < 0x20 || *p == 0x7f) {
				api_buf_printf(b, "\\u%04X", *p);
				break;
			}
			/* UTF-8 passes through; anything else is replaced, never sent raw. */
			seq = api_utf8_seq(p, (size_t)(end - p));
			if (!seq) {
				api_buf_puts(b, "\\uFFFD");
				break;
			}
			api_buf_append(b, p, seq);
			p += seq;
			continue;
		}
		p++;
	}
	return api_buf_append(b, "\"", 1);
}

int api_json_append_string(struct api_buf *b, const char *s)
{
	return api_json_append_string_len(b, s, strlen(s));
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
		/* Not json-c's text: that would echo a client's "NaN" or "1." as is. */
		if (!isfinite(json_object_get_double(o)))
			return api_buf_puts(b, "null");
		/* "-0" would read back as the integer 0: keep it a double. */
		if (json_object_get_double(o) == 0 && signbit(json_object_get_double(o)))
			return api_buf_puts(b, "-0.0");
		return api_buf_printf(b, "%.17g", json_object_get_double(o));
	case json_type_string:
		return api_json_append_string_len(b, json_object_get_string(o),
						  (size_t)json_object_get_string_len(o));
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
