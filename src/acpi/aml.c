#include "acpi/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static int aml_grow(struct aml *a, size_t n)
{
	size_t cap;
	uint8_t *b;

	if (a->err)
		return a->err;
	if (a->len + n <= a->cap)
		return 0;
	cap = a->cap ? a->cap : 256;
	while (cap < a->len + n)
		cap *= 2;
	b = realloc(a->buf, cap);
	if (!b)
		return a->err = -ENOMEM;
	a->buf = b;
	a->cap = cap;
	return 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (aml_grow(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];
	unsigned int i;

	for (i = 0; i < n; i++)
		b[i] = v >> (8 * i);
	aml_bytes(a, b, n);
}

static void aml_nameseg(struct aml *a, const char *s, size_t n)
{
	char seg[4] = {'_', '_', '_', '_'};

	memcpy(seg, s, n > 4 ? 4 : n);
	aml_bytes(a, seg, 4);
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *p = path, *dot;
	unsigned int nseg = 1;

	if (*p == '\\') {
		aml_byte(a, '\\');
		p++;
	}
	while (*p == '^') {
		aml_byte(a, '^');
		p++;
	}
	if (!*p) {
		aml_byte(a, 0x00); /* NullName: "\\" alone still needs a NamePath */
		return;
	}
	for (dot = p; *dot; dot++)
		nseg += *dot == '.';
	if (nseg == 2) {
		aml_byte(a, 0x2E); /* DualNamePrefix */
	} else if (nseg > 2) {
		aml_byte(a, 0x2F); /* MultiNamePrefix */
		aml_byte(a, nseg);
	}
	while (*p) {
		dot = strchr(p, '.');
		aml_nameseg(a, p, dot ? (size_t)(dot - p) : strlen(p));
		if (!dot)
			break;
		p = dot + 1;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, 0x00);
	} else if (v == 1) {
		aml_byte(a, 0x01);
	} else if (v <= 0xFF) {
		aml_byte(a, 0x0A);
		aml_le(a, v, 1);
	} else if (v <= 0xFFFF) {
		aml_byte(a, 0x0B);
		aml_le(a, v, 2);
	} else if (v <= 0xFFFFFFFF) {
		aml_byte(a, 0x0C);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, 0x0E);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, 0x0D);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;

	/* Three letters of 5 bits each, then four hex digits; stored big-endian. */
	v = (uint32_t)((id[0] - '@') & 0x1F) << 26 | (uint32_t)((id[1] - '@') & 0x1F) << 21 |
	    (uint32_t)((id[2] - '@') & 0x1F) << 16 | (uint32_t)strtoul(id + 3, NULL, 16);
	aml_byte(a, 0x0C);
	aml_le(a, __builtin_bswap32(v), 4);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, 0x08);
	aml_namestring(a, name);
}

static void aml_open(struct aml *a)
{
	if (a->depth >= sizeof(a->open) / sizeof(a->open[0])) {
		a->err = -E2BIG;
		return;
	}
	a->open[a->depth++] = a->len;
}

unsigned int aml_pkglen_encode(size_t body, uint8_t out[4])
{
	size_t total;
	unsigned int extra;

	/* 28 bits at most, the 4 PkgLength bytes included. */
	if (body > 0x0FFFFFFF - 4)
		return 0;
	if (body + 1 <= 0x3F) {
		out[0] = body + 1;
		return 1;
	}
	for (extra = 1; extra <= 3; extra++) {
		total = body + 1 + extra;
		if (total < (1UL << (4 + 8 * extra)))
			break;
	}
	out[0] = extra << 6 | (total & 0xF);
	for (unsigned int i = 1; i <= extra; i++)
		out[i] = total >> (4 + 8 * (i - 1));
	return extra + 1;
}

void aml_close(struct aml *a)
{
	uint8_t pkg[4];
	unsigned int n;
	size_t start, body;

	if (a->err)
		return;
	if (!a->depth) {
		a->err = -EINVAL;
		return;
	}
	start = a->open[--a->depth];
	body = a->len - start;
	n = aml_pkglen_encode(body, pkg);
	if (!n) {
		a->err = -E2BIG;
		return;
	}
	if (aml_grow(a, n))
		return;
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, pkg, n);
	a->len += n;
}

void aml_open_scope(struct aml *a, const char *name)
{
	aml_byte(a, 0x10);
	aml_open(a);
	aml_namestring(a, name);
}

void aml_open_device(struct aml *a, const char *name)
{
	aml_byte(a, 0x5B);
	aml_byte(a, 0x82);
	aml_open(a);
	aml_namestring(a, name);
}

void aml_open_method(struct aml *a, const char *name, uint8_t flags)
{
	aml_byte(a, 0x14);
	aml_open(a);
	aml_namestring(a, name);
	aml_byte(a, flags);
}

void aml_open_package(struct aml *a, uint8_t nelems)
{
	aml_byte(a, 0x12);
	aml_open(a);
	aml_byte(a, nelems);
}

/*
 * A Buffer's size operand sits inside its PkgLength, before the bytes, so the
 * body is collected first and the size inserted when the buffer is closed.
 */
void aml_open_buffer(struct aml *a)
{
	aml_byte(a, 0x11);
	aml_open(a);
	aml_open(a);
}

void aml_close_buffer(struct aml *a)
{
	struct aml size;
	size_t start, body;

	if (a->err || !a->depth)
		return;
	start = a->open[--a->depth];
	body = a->len - start;
	aml_init(&size);
	aml_integer(&size, body);
	if (!size.err && !aml_grow(a, size.len)) {
		memmove(a->buf + start + size.len, a->buf + start, body);
		memcpy(a->buf + start, size.buf, size.len);
		a->len += size.len;
	}
	aml_free(&size);
	aml_close(a);
}

void aml_return(struct aml *a)
{
	aml_byte(a, 0xA4);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	aml_byte(a, 0x47);
	aml_byte(a, 0x01); /* 16-bit decode */
	aml_le(a, base, 2);
	aml_le(a, base, 2);
	aml_byte(a, 0x01);
	aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, unsigned int irq)
{
	aml_byte(a, 0x22);
	aml_le(a, 1U << irq, 2);
}

/* Address space descriptor: producer, positive decode, fixed min and max. */
static void aml_res_addr(struct aml *a, uint8_t tag, uint8_t type, uint8_t tflags, unsigned int w,
			 uint64_t min, uint64_t max)
{
	aml_byte(a, tag);
	aml_le(a, 3 + 5 * w, 2);
	aml_byte(a, type);
	aml_byte(a, 0x0C);
	aml_byte(a, tflags);
	aml_le(a, 0, w);
	aml_le(a, min, w);
	aml_le(a, max, w);
	aml_le(a, 0, w);
	aml_le(a, max - min + 1, w);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_addr(a, 0x88, 2, 0, 2, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_addr(a, 0x88, 1, 0x03, 2, min, max);
}

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	aml_res_addr(a, 0x87, 0, 0x01, 4, min, max);
}

void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max)
{
	aml_res_addr(a, 0x8A, 0, 0x01, 8, min, max);
}

void aml_res_interrupt_edge(struct aml *a, uint32_t gsi)
{
	aml_byte(a, 0x89);
	aml_le(a, 6, 2);
	aml_byte(a, 0x03); /* consumer, edge-triggered, active high, exclusive */
	aml_byte(a, 1);
	aml_le(a, gsi, 4);
}

void aml_notify(struct aml *a, const char *object, uint64_t value)
{
	aml_byte(a, 0x86);
	aml_namestring(a, object);
	aml_integer(a, value);
}

void aml_res_end(struct aml *a)
{
	aml_byte(a, 0x79);
	aml_byte(a, 0x00);
}

void aml_op(struct aml *a, uint8_t op)
{
	aml_byte(a, op);
}

void aml_local(struct aml *a, unsigned int n)
{
	if (n > 7)
		a->err = a->err ? a->err : -EINVAL;
	aml_byte(a, 0x60 + (n & 7));
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > 6)
		a->err = a->err ? a->err : -EINVAL;
	aml_byte(a, 0x68 + (n > 6 ? 6 : n));
}

void aml_target_none(struct aml *a)
{
	aml_byte(a, 0x00); /* NullName */
}

void aml_open_if(struct aml *a)
{
	aml_byte(a, 0xA0);
	aml_open(a);
}

void aml_open_else(struct aml *a)
{
	aml_byte(a, 0xA1);
	aml_open(a);
}

void aml_region_io(struct aml *a, const char *name, uint16_t port, uint16_t len)
{
	aml_byte(a, 0x5B);
	aml_byte(a, 0x80);
	aml_namestring(a, name);
	aml_byte(a, 0x01); /* SystemIO */
	aml_integer(a, port);
	aml_integer(a, len);
}

void aml_open_field(struct aml *a, const char *region, uint8_t flags)
{
	aml_byte(a, 0x5B);
	aml_byte(a, 0x81);
	aml_open(a);
	aml_namestring(a, region);
	aml_byte(a, flags);
}

/* A field element's bit count: PkgLength encoding of the count itself (no body follows). */
static void aml_field_bits(struct aml *a, uint32_t bits)
{
	unsigned int extra;

	if (!bits || bits >= 1U << 28) {
		a->err = a->err ? a->err : -EINVAL;
		return;
	}
	if (bits <= 0x3F) {
		aml_byte(a, bits);
		return;
	}
	extra = bits < 1U << 12 ? 1 : bits < 1U << 20 ? 2 : 3;
	aml_byte(a, extra << 6 | (bits & 0xF));
	aml_le(a, bits >> 4, extra);
}

void aml_field_unit(struct aml *a, const char *name, uint32_t bits)
{
	aml_nameseg(a, name, strlen(name));
	aml_field_bits(a, bits);
}

void aml_field_skip(struct aml *a, uint32_t bits)
{
	aml_byte(a, 0x00); /* ReservedField */
	aml_field_bits(a, bits);
}

void aml_mutex(struct aml *a, const char *name)
{
	aml_byte(a, 0x5B);
	aml_byte(a, 0x01);
	aml_namestring(a, name);
	aml_byte(a, 0x00); /* sync level 0 */
}

void aml_acquire(struct aml *a, const char *mutex)
{
	aml_byte(a, 0x5B);
	aml_byte(a, 0x23);
	aml_namestring(a, mutex);
	aml_le(a, 0xFFFF, 2); /* wait forever */
}

void aml_release(struct aml *a, const char *mutex)
{
	aml_byte(a, 0x5B);
	aml_byte(a, 0x27);
	aml_namestring(a, mutex);
}

void aml_op_create_qword_field(struct aml *a)
{
	aml_byte(a, 0x8F);
}
