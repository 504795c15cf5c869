/*
 * state: the save/load section format every stateful module speaks, so a
 * snapshot file or a migration stream is just a sequence of sections.
 *
 * A section is, all integers little-endian:
 *   u8  name length (1..MV_STATE_NAME_MAX), the name (printable ASCII, no NUL)
 *   u32 version of the payload layout
 *   u64 payload length
 *   the payload: fixed-width fields written with the put helpers below
 *
 * The writer appends to a growable buffer; an allocation failure is sticky
 * and reported once by mv_sw_error(). The reader works over (ptr, len) and
 * never reads outside it: a short read sets a sticky error and yields zeros.
 * Loading a section checks its name and version (mv_state_check), reads the
 * payload into the module's own copy, then requires every byte consumed and
 * no short read (mv_state_done) before the module applies anything.
 *
 * A pure library: libc only. Errors are one line in (err, errlen), which may
 * be NULL/0, naming the section.
 */
#ifndef MV_LIB_STATE_H
#define MV_LIB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MV_STATE_NAME_MAX 127

struct mv_state_writer {
	uint8_t *buf;
	size_t len, cap;
	size_t len_at; /* offset of the open section's length field; 0: none open */
	bool open;
	bool oom;
};

void mv_sw_init(struct mv_state_writer *w);
void mv_sw_free(struct mv_state_writer *w);
/* Open a section; the payload is whatever is put until mv_sw_end. */
void mv_sw_begin(struct mv_state_writer *w, const char *name, uint32_t version);
void mv_sw_end(struct mv_state_writer *w);
void mv_sw_u8(struct mv_state_writer *w, uint8_t v);
void mv_sw_u16(struct mv_state_writer *w, uint16_t v);
void mv_sw_u32(struct mv_state_writer *w, uint32_t v);
void mv_sw_u64(struct mv_state_writer *w, uint64_t v);
void mv_sw_bytes(struct mv_state_writer *w, const void *p, size_t n);
/* A string as u8 length + bytes (at most 255 bytes are kept). */
void mv_sw_str(struct mv_state_writer *w, const char *s);
/* 0, -ENOMEM after a failed allocation, -EINVAL on a bad name or unbalanced begin/end. */
int mv_sw_error(const struct mv_state_writer *w);

struct mv_state_reader {
	const uint8_t *p;
	size_t len, pos;
	bool short_read;
};

void mv_sr_init(struct mv_state_reader *r, const void *p, size_t len);
uint8_t mv_sr_u8(struct mv_state_reader *r);
uint16_t mv_sr_u16(struct mv_state_reader *r);
uint32_t mv_sr_u32(struct mv_state_reader *r);
uint64_t mv_sr_u64(struct mv_state_reader *r);
/* Copies n bytes, or zero-fills dst and sets the error when fewer are left. */
void mv_sr_bytes(struct mv_state_reader *r, void *dst, size_t n);
/* A string written by mv_sw_str into buf (NUL-terminated); too long for buf is an error. */
void mv_sr_str(struct mv_state_reader *r, char *buf, size_t len);
static inline size_t mv_sr_left(const struct mv_state_reader *r)
{
	return r->len - r->pos;
}

struct mv_state_section {
	char name[MV_STATE_NAME_MAX + 1];
	uint32_t version;
	struct mv_state_reader payload; /* over exactly the payload bytes */
};

/*
 * The next section of a stream: 1 and *s filled, 0 at the end of the input,
 * -EINVAL with a message for a malformed or truncated header or payload.
 */
int mv_state_next(struct mv_state_reader *r, struct mv_state_section *s, char *err, size_t errlen);
/* Find the section called `name` in a stream: 0, -ENOENT or -EINVAL (with a message). */
int mv_state_find(const void *p, size_t len, const char *name, struct mv_state_section *s,
		  char *err, size_t errlen);
/*
 * The section is `name` with a version this build reads (1..max_version):
 * 0, or -EINVAL naming the section and both versions.
 */
int mv_state_check(const struct mv_state_section *s, const char *name, uint32_t max_version,
		   char *err, size_t errlen);
/*
 * After reading the payload through r: -EINVAL when it was short or bytes
 * are left over, with a message naming the section.
 */
int mv_state_done(const struct mv_state_section *s, const struct mv_state_reader *r, char *err,
		  size_t errlen);
#endif
