#include "lib/snapfile.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/crc32c.h"

static const char *kind_name(uint32_t k)
{
	switch (k) {
	case MV_SNAP_CONFIG:
		return "config";
	case MV_SNAP_STATE:
		return "state";
	case MV_SNAP_MEMORY:
		return "memory";
	case MV_SNAP_FILE:
		return "file";
	}
	return "unknown";
}

static uint64_t page_up(uint64_t v)
{
	return (v + MV_SNAP_PAGE - 1) & ~(uint64_t)(MV_SNAP_PAGE - 1);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/* Every byte or -errno (a short write is ENOSPC, which is what it means for a file). */
static int pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = pwrite(fd, b, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOSPC;
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pread_all(int fd, void *p, size_t len, uint64_t off)
{
	uint8_t *b = p;

	while (len) {
		ssize_t n = pread(fd, b, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

void mv_snap_writer_init(struct mv_snap_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->end = MV_SNAP_PAGE; /* the header page */
}

void mv_snap_writer_free(struct mv_snap_writer *w)
{
	free(w->entries);
	w->entries = NULL;
	w->n = 0;
}

static struct mv_snap_entry *snap_new_entry(struct mv_snap_writer *w, uint32_t kind)
{
	struct mv_snap_entry *e;

	if (w->n >= MV_SNAP_MAX_ENTRIES)
		return NULL;
	e = realloc(w->entries, (w->n + 1) * sizeof(*e));
	if (!e)
		return NULL;
	w->entries = e;
	e = &w->entries[w->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	return e;
}

int mv_snap_add_data(struct mv_snap_writer *w, uint32_t kind, const void *p, size_t len)
{
	struct mv_snap_entry *e;
	int ret;

	if (len > MV_SNAP_MAX_DATA_LEN)
		return -EFBIG;
	e = snap_new_entry(w, kind);
	if (!e)
		return -ENOMEM;
	e->offset = w->end;
	e->length = len;
	e->crc = mv_crc32c(0, p, len);
	ret = pwrite_all(w->fd, p, len, e->offset);
	if (ret)
		return ret;
	w->end = page_up(w->end + len);
	return 0;
}

int mv_snap_add_memory(struct mv_snap_writer *w, uint64_t gpa, uint64_t len, unsigned int *idx)
{
	struct mv_snap_entry *e;

	if (len % MV_SNAP_PAGE || gpa % MV_SNAP_PAGE)
		return -EINVAL;
	e = snap_new_entry(w, MV_SNAP_MEMORY);
	if (!e)
		return -ENOMEM;
	e->offset = w->end;
	e->length = len;
	e->gpa = gpa;
	w->end += len;
	*idx = w->n - 1;
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;
	unsigned int i;

	for (i = 0; i < MV_SNAP_PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

int mv_snap_write_memory(struct mv_snap_writer *w, unsigned int idx, uint64_t off, const void *p,
			 uint64_t len)
{
	const struct mv_snap_entry *e;
	const uint8_t *b = p;
	uint64_t i, run = 0;
	int ret;

	if (idx >= w->n || w->entries[idx].kind != MV_SNAP_MEMORY)
		return -EINVAL;
	e = &w->entries[idx];
	if (off % MV_SNAP_PAGE || len % MV_SNAP_PAGE || off > e->length || len > e->length - off)
		return -EINVAL;
	/* Runs of non-zero pages in one write each; zero pages stay holes. */
	for (i = 0; i <= len; i += MV_SNAP_PAGE) {
		if (i < len && !page_is_zero(b + i)) {
			run += MV_SNAP_PAGE;
			continue;
		}
		if (run) {
			ret = pwrite_all(w->fd, b + i - run, run, e->offset + off + i - run);
			if (ret)
				return ret;
			w->written += run;
		}
		run = 0;
	}
	return 0;
}

/* A page that turned zero since it was written: a hole again, or zeros where holes cannot be. */
static int snap_zero_page(int fd, uint64_t off)
{
	static const uint8_t zero[MV_SNAP_PAGE];

	if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, MV_SNAP_PAGE))
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	return pwrite_all(fd, zero, sizeof(zero), off);
}

int mv_snap_rewrite_memory(struct mv_snap_writer *w, unsigned int idx, uint64_t off, const void *p,
			   uint64_t len)
{
	const struct mv_snap_entry *e;
	const uint8_t *b = p;
	uint64_t i;
	int ret;

	if (idx >= w->n || w->entries[idx].kind != MV_SNAP_MEMORY)
		return -EINVAL;
	e = &w->entries[idx];
	if (off % MV_SNAP_PAGE || len % MV_SNAP_PAGE || off > e->length || len > e->length - off)
		return -EINVAL;
	for (i = 0; i < len; i += MV_SNAP_PAGE) {
		uint64_t run = 0;

		while (i + run < len && !page_is_zero(b + i + run))
			run += MV_SNAP_PAGE;
		if (run) {
			ret = pwrite_all(w->fd, b + i, run, e->offset + off + i);
			if (ret)
				return ret;
			w->rewritten += run;
			i += run;
			if (i == len)
				break;
		}
		ret = snap_zero_page(w->fd, e->offset + off + i);
		if (ret)
			return ret;
	}
	return 0;
}

int mv_snap_add_file(struct mv_snap_writer *w, uint32_t zone, uint64_t size, uint64_t dev,
		     uint64_t ino, uint64_t mtime_s, uint64_t mtime_ns)
{
	struct mv_snap_entry *e = snap_new_entry(w, MV_SNAP_FILE);

	if (!e)
		return -ENOMEM;
	e->gpa = zone;
	e->length = size;
	e->aux[0] = dev;
	e->aux[1] = ino;
	e->aux[2] = mtime_s;
	e->aux[3] = mtime_ns;
	return 0;
}

int mv_snap_finish(struct mv_snap_writer *w)
{
	uint8_t hdr[MV_SNAP_HDR_LEN] = {0}, *tab;
	size_t tlen = (size_t)w->n * MV_SNAP_ENTRY_LEN;
	uint64_t toff = w->end;
	unsigned int i, k;
	int ret;

	tab = calloc(1, tlen ? tlen : 1);
	if (!tab)
		return -ENOMEM;
	for (i = 0; i < w->n; i++) {
		const struct mv_snap_entry *e = &w->entries[i];
		uint8_t *p = tab + (size_t)i * MV_SNAP_ENTRY_LEN;

		put32(p, e->kind);
		put32(p + 4, e->crc);
		put64(p + 8, e->offset);
		put64(p + 16, e->length);
		put64(p + 24, e->gpa);
		for (k = 0; k < 4; k++)
			put64(p + 32 + 8 * k, e->aux[k]);
	}
	memcpy(hdr, MV_SNAP_MAGIC, 8);
	put32(hdr + 8, MV_SNAP_VERSION);
	put32(hdr + 12, w->n);
	put64(hdr + 16, toff);
	put32(hdr + 24, mv_crc32c(0, tab, tlen));
	put32(hdr + 28, mv_crc32c(0, hdr, 28));
	ret = pwrite_all(w->fd, tab, tlen, toff);
	free(tab);
	/* The header last: a file cut short anywhere before has none. */
	if (!ret)
		ret = pwrite_all(w->fd, hdr, sizeof(hdr), 0);
	if (!ret && ftruncate(w->fd, (off_t)(toff + tlen)) < 0)
		ret = -errno;
	if (!ret && fsync(w->fd) < 0)
		ret = -errno;
	return ret;
}

static int snap_err(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int snap_err(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

int mv_snap_open(int fd, uint64_t size, struct mv_snap_file *f, char *err, size_t errlen)
{
	uint8_t hdr[MV_SNAP_HDR_LEN], *tab;
	uint64_t toff, tlen;
	unsigned int i, k;
	uint32_t n;
	int ret;

	memset(f, 0, sizeof(*f));
	f->size = size;
	if (size < MV_SNAP_HDR_LEN || pread_all(fd, hdr, sizeof(hdr), 0))
		return snap_err(err, errlen, -EINVAL,
				"truncated: %llu bytes, shorter than a snapshot header",
				(unsigned long long)size);
	if (memcmp(hdr, MV_SNAP_MAGIC, 8))
		return snap_err(err, errlen, -EINVAL, "not a memvisor snapshot (bad magic)");
	if (get32(hdr + 28) != mv_crc32c(0, hdr, 28))
		return snap_err(err, errlen, -EINVAL, "corrupted: header checksum mismatch");
	f->version = get32(hdr + 8);
	if (f->version != MV_SNAP_VERSION)
		return snap_err(err, errlen, -EINVAL,
				"snapshot format version %u; this memvisor reads version %u",
				f->version, MV_SNAP_VERSION);
	n = get32(hdr + 12);
	toff = get64(hdr + 16);
	if (n > MV_SNAP_MAX_ENTRIES)
		return snap_err(err, errlen, -EINVAL, "corrupted: %u entries (at most %u)", n,
				MV_SNAP_MAX_ENTRIES);
	tlen = (uint64_t)n * MV_SNAP_ENTRY_LEN;
	if (toff < MV_SNAP_PAGE || toff > size || tlen > size - toff)
		return snap_err(err, errlen, -EINVAL,
				"truncated: the entry table ends at %llu, the file at %llu",
				(unsigned long long)(toff + tlen), (unsigned long long)size);
	tab = malloc(tlen ? tlen : 1);
	f->entries = calloc(n ? n : 1, sizeof(*f->entries));
	if (!tab || !f->entries) {
		free(tab);
		mv_snap_close(f);
		return snap_err(err, errlen, -ENOMEM, "out of memory reading the entry table");
	}
	ret = pread_all(fd, tab, tlen, toff);
	if (ret) {
		free(tab);
		mv_snap_close(f);
		return snap_err(err, errlen, ret, "reading the entry table: %s", strerror(-ret));
	}
	if (get32(hdr + 24) != mv_crc32c(0, tab, tlen)) {
		free(tab);
		mv_snap_close(f);
		return snap_err(err, errlen, -EINVAL, "corrupted: entry table checksum mismatch");
	}
	for (i = 0; i < n; i++) {
		struct mv_snap_entry *e = &f->entries[i];
		const uint8_t *p = tab + (size_t)i * MV_SNAP_ENTRY_LEN;

		e->kind = get32(p);
		e->crc = get32(p + 4);
		e->offset = get64(p + 8);
		e->length = get64(p + 16);
		e->gpa = get64(p + 24);
		for (k = 0; k < 4; k++)
			e->aux[k] = get64(p + 32 + 8 * k);
		if (e->kind < MV_SNAP_CONFIG || e->kind > MV_SNAP_FILE) {
			ret = snap_err(err, errlen, -EINVAL, "corrupted: entry %u has kind %u", i,
				       e->kind);
			break;
		}
		if (e->kind == MV_SNAP_FILE)
			continue;
		if (e->offset < MV_SNAP_PAGE || e->offset > toff || e->length > toff - e->offset) {
			ret = snap_err(err, errlen, -EINVAL,
				       "corrupted: %s entry %u lies outside the data area",
				       kind_name(e->kind), i);
			break;
		}
		if (e->kind == MV_SNAP_MEMORY &&
		    (e->offset % MV_SNAP_PAGE || e->length % MV_SNAP_PAGE ||
		     e->gpa % MV_SNAP_PAGE)) {
			ret = snap_err(err, errlen, -EINVAL,
				       "corrupted: memory entry %u is not page aligned", i);
			break;
		}
		if (e->kind != MV_SNAP_MEMORY && e->length > MV_SNAP_MAX_DATA_LEN) {
			ret = snap_err(err, errlen, -EINVAL, "corrupted: %s entry %u too long",
				       kind_name(e->kind), i);
			break;
		}
	}
	free(tab);
	if (ret) {
		mv_snap_close(f);
		return ret;
	}
	f->n = n;
	return 0;
}

void mv_snap_close(struct mv_snap_file *f)
{
	free(f->entries);
	f->entries = NULL;
	f->n = 0;
}

const struct mv_snap_entry *mv_snap_find(const struct mv_snap_file *f, uint32_t kind)
{
	unsigned int i;

	for (i = 0; i < f->n; i++)
		if (f->entries[i].kind == kind)
			return &f->entries[i];
	return NULL;
}

int mv_snap_read_data(int fd, const struct mv_snap_entry *e, void **out, char *err, size_t errlen)
{
	void *p = malloc(e->length ? e->length : 1);
	int ret;

	*out = NULL;
	if (!p)
		return snap_err(err, errlen, -ENOMEM, "out of memory reading the %s entry",
				kind_name(e->kind));
	ret = pread_all(fd, p, e->length, e->offset);
	if (ret) {
		free(p);
		return snap_err(err, errlen, ret, "reading the %s entry: %s", kind_name(e->kind),
				strerror(-ret));
	}
	if (mv_crc32c(0, p, e->length) != e->crc) {
		free(p);
		return snap_err(err, errlen, -EINVAL, "corrupted: %s entry checksum mismatch",
				kind_name(e->kind));
	}
	*out = p;
	return 0;
}
