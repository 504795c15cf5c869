#include "lib/state.h"

#include "lib/errbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool state_name_ok(const char *name, size_t n)
{
	size_t i;

	if (n < 1 || n > MV_STATE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7F)
			return false;
	return true;
}

/* Writer ----------------------------------------------------------------- */

void mv_sw_init(struct mv_state_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void mv_sw_free(struct mv_state_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static uint8_t *sw_room(struct mv_state_writer *w, size_t n)
{
	if (w->oom)
		return NULL;
	if (n > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *b;

		while (cap - w->len < n) {
			if (cap > SIZE_MAX / 2) {
				w->oom = true;
				return NULL;
			}
			cap *= 2;
		}
		b = realloc(w->buf, cap);
		if (!b) {
			w->oom = true;
			return NULL;
		}
		w->buf = b;
		w->cap = cap;
	}
	w->len += n;
	return w->buf + w->len - n;
}

static void le_store(uint8_t *p, uint64_t v, unsigned int n)
{
	while (n--) {
		*p++ = v;
		v >>= 8;
	}
}

static void sw_le(struct mv_state_writer *w, uint64_t v, unsigned int n)
{
	uint8_t *p = sw_room(w, n);

	if (p)
		le_store(p, v, n);
}

void mv_sw_u8(struct mv_state_writer *w, uint8_t v)
{
	sw_le(w, v, 1);
}

void mv_sw_u16(struct mv_state_writer *w, uint16_t v)
{
	sw_le(w, v, 2);
}

void mv_sw_u32(struct mv_state_writer *w, uint32_t v)
{
	sw_le(w, v, 4);
}

void mv_sw_u64(struct mv_state_writer *w, uint64_t v)
{
	sw_le(w, v, 8);
}

void mv_sw_bytes(struct mv_state_writer *w, const void *p, size_t n)
{
	uint8_t *d = n ? sw_room(w, n) : NULL;

	if (d)
		memcpy(d, p, n);
}

void mv_sw_str(struct mv_state_writer *w, const char *s)
{
	size_t n = strlen(s);

	if (n > 255)
		n = 255;
	mv_sw_u8(w, n);
	mv_sw_bytes(w, s, n);
}

void mv_sw_begin(struct mv_state_writer *w, const char *name, uint32_t version)
{
	size_t n = strlen(name);

	/* A programming error, reported by mv_sw_error rather than written. */
	if (w->open || !state_name_ok(name, n) || !version) {
		w->open = true;
		w->len_at = SIZE_MAX;
		return;
	}
	mv_sw_u8(w, n);
	mv_sw_bytes(w, name, n);
	mv_sw_u32(w, version);
	w->open = true;
	w->len_at = w->len;
	mv_sw_u64(w, 0);
}

void mv_sw_end(struct mv_state_writer *w)
{
	if (!w->open) {
		w->len_at = SIZE_MAX;
		w->open = true; /* stays an error */
		return;
	}
	if (w->len_at == SIZE_MAX || w->oom)
		return;
	le_store(w->buf + w->len_at, w->len - w->len_at - 8, 8);
	w->open = false;
	w->len_at = 0;
}

int mv_sw_error(const struct mv_state_writer *w)
{
	if (w->oom)
		return -ENOMEM;
	return w->open ? -EINVAL : 0;
}

/* Reader ----------------------------------------------------------------- */

void mv_sr_init(struct mv_state_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->pos = 0;
	r->short_read = false;
}

static const uint8_t *sr_take(struct mv_state_reader *r, size_t n)
{
	if (r->short_read || n > r->len - r->pos) {
		r->short_read = true;
		return NULL;
	}
	r->pos += n;
	return r->p + r->pos - n;
}

static uint64_t sr_le(struct mv_state_reader *r, unsigned int n)
{
	const uint8_t *p = sr_take(r, n);
	uint64_t v = 0;

	if (!p)
		return 0;
	while (n--)
		v = v << 8 | p[n];
	return v;
}

uint8_t mv_sr_u8(struct mv_state_reader *r)
{
	return sr_le(r, 1);
}

uint16_t mv_sr_u16(struct mv_state_reader *r)
{
	return sr_le(r, 2);
}

uint32_t mv_sr_u32(struct mv_state_reader *r)
{
	return sr_le(r, 4);
}

uint64_t mv_sr_u64(struct mv_state_reader *r)
{
	return sr_le(r, 8);
}

void mv_sr_bytes(struct mv_state_reader *r, void *dst, size_t n)
{
	const uint8_t *p = sr_take(r, n);

	if (p)
		memcpy(dst, p, n);
	else if (n)
		memset(dst, 0, n);
}

void mv_sr_str(struct mv_state_reader *r, char *buf, size_t len)
{
	size_t n = mv_sr_u8(r);

	if (!len)
		return;
	buf[0] = '\0';
	if (n >= len) {
		r->short_read = true; /* cannot hold it: the same as malformed */
		return;
	}
	mv_sr_bytes(r, buf, n);
	buf[r->short_read ? 0 : n] = '\0';
	/* An embedded NUL would make the string differ from its bytes. */
	if (strlen(buf) != n && !r->short_read)
		r->short_read = true;
}

/* Sections --------------------------------------------------------------- */

int mv_state_next(struct mv_state_reader *r, struct mv_state_section *s, char *err, size_t errlen)
{
	size_t at = r->pos, n;
	uint64_t plen;
	const uint8_t *payload;

	memset(s, 0, sizeof(*s));
	if (r->short_read) {
		mv_errbuf(err, errlen, "state: stream truncated before offset %zu", at);
		return -EINVAL;
	}
	if (!mv_sr_left(r))
		return 0;
	n = mv_sr_u8(r);
	mv_sr_bytes(r, s->name, n <= MV_STATE_NAME_MAX ? n : 0);
	if (r->short_read || !state_name_ok(s->name, n) || strlen(s->name) != n) {
		mv_errbuf(err, errlen, "state: malformed section name at offset %zu", at);
		return -EINVAL;
	}
	s->version = mv_sr_u32(r);
	plen = mv_sr_u64(r);
	if (r->short_read) {
		mv_errbuf(err, errlen, "%s: section header truncated (offset %zu)", s->name, at);
		return -EINVAL;
	}
	if (plen > mv_sr_left(r)) {
		mv_errbuf(err, errlen,
			  "%s: payload of %llu bytes but only %zu left in the input (offset %zu)",
			  s->name, (unsigned long long)plen, mv_sr_left(r), at);
		return -EINVAL;
	}
	payload = sr_take(r, plen);
	mv_sr_init(&s->payload, payload, plen);
	return 1;
}

int mv_state_find(const void *p, size_t len, const char *name, struct mv_state_section *s,
		  char *err, size_t errlen)
{
	struct mv_state_reader r;
	int ret;

	mv_sr_init(&r, p, len);
	while ((ret = mv_state_next(&r, s, err, errlen)) == 1)
		if (!strcmp(s->name, name))
			return 0;
	if (ret == 0) {
		mv_errbuf(err, errlen, "%s: section missing from the saved state", name);
		return -ENOENT;
	}
	return ret;
}

int mv_state_check(const struct mv_state_section *s, const char *name, uint32_t max_version,
		   char *err, size_t errlen)
{
	if (strcmp(s->name, name)) {
		mv_errbuf(err, errlen, "%s: got section \"%s\" instead", name, s->name);
		return -EINVAL;
	}
	if (s->version < 1 || s->version > max_version) {
		mv_errbuf(err, errlen,
			  "%s: section version %u is not supported (this build reads 1 to %u)",
			  name, s->version, max_version);
		return -EINVAL;
	}
	return 0;
}

int mv_state_done(const struct mv_state_section *s, const struct mv_state_reader *r, char *err,
		  size_t errlen)
{
	if (r->short_read) {
		mv_errbuf(err, errlen, "%s: payload truncated (%zu bytes)", s->name, r->len);
		return -EINVAL;
	}
	if (mv_sr_left(r)) {
		mv_errbuf(err, errlen, "%s: %zu unexpected bytes after the payload", s->name,
			  mv_sr_left(r));
		return -EINVAL;
	}
	return 0;
}
