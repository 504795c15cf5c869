/*
 * buf: a growable byte buffer and a JSON writer that prints the way QEMU's
 * QMP server does ({"a": 1, "b": [1, 2]}: a space after ':' and ',', object
 * members in insertion order), so replies read like QEMU's transcripts.
 *
 * Allocation failure is sticky: the buffer sets `failed`, later appends are
 * no-ops returning -ENOMEM, and the owner drops the connection. So is going
 * over `max` (0: no limit): an append that would take len past max fails the
 * buffer (-ENOBUFS) instead of growing it, whoever appends (a reply, an event,
 * the greeting), so a peer that never reads cannot grow it without bound.
 *
 * The writer never emits invalid JSON: strings are written from their full
 * length (an embedded NUL becomes \u0000), bytes that are not valid UTF-8
 * become \uFFFD, and a double that is not finite (NaN, Infinity: not JSON)
 * becomes null. Finite doubles print as QEMU prints them ("%.17g").
 */
#ifndef MV_API_BUF_H
#define MV_API_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

struct api_buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
	bool over; /* failed because of max */
	size_t max;
};

void api_buf_init(struct api_buf *b);
void api_buf_free(struct api_buf *b);
int api_buf_append(struct api_buf *b, const void *p, size_t n);
int api_buf_puts(struct api_buf *b, const char *s);
int api_buf_printf(struct api_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (written to the peer). */
void api_buf_consume(struct api_buf *b, size_t n);
/* NUL-terminated view of the contents (the NUL is not counted in len). */
const char *api_buf_str(struct api_buf *b);

/* Appends o (NULL prints null) as compact one-line JSON. */
int api_json_append(struct api_buf *b, struct json_object *o);
/* Appends s as a JSON string literal, quotes included. */
int api_json_append_string(struct api_buf *b, const char *s);
/* The same for n bytes that may hold NULs. */
int api_json_append_string_len(struct api_buf *b, const char *s, size_t n);
/* Length of the valid UTF-8 sequence (RFC 3629) at s[0..n), 0 if none. */
size_t api_utf8_seq(const unsigned char *s, size_t n);

#endif
