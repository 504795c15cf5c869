/*
 * snapfile: the snapshot file's container (ARCHITECTURE.md, "Snapshot
 * file"): a header page, a table of entries, checksummed data entries (the
 * configuration, the saved state sections) and guest memory at page-aligned
 * offsets, all-zero pages left as holes. Integers little-endian.
 *
 *   offset 0, 32 bytes: magic "MVSNAP\r\n", u32 format version, u32 entry
 *     count, u64 table offset, u32 table crc32c, u32 header crc32c (of the
 *     28 bytes before it); the rest of the first page is zero.
 *   the table: per entry 64 bytes: u32 kind, u32 crc32c of the data
 *     (0 for memory and file entries), u64 offset, u64 length, u64 gpa
 *     (file entries: the zone), u64 aux[4] (file entries: st_dev, st_ino,
 *     mtime seconds, mtime nanoseconds).
 *
 * Memory entries are not checksummed: memory_restore_mode=cow maps them
 * without reading them. The writer works on an fd it does not own; the
 * reader checks everything it returns (bounds against the file size, magic,
 * version, both checksums) and names the problem in one line.
 * A pure library: libc only.
 */
#ifndef MV_LIB_SNAPFILE_H
#define MV_LIB_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MV_SNAP_MAGIC	     "MVSNAP\r\n"
#define MV_SNAP_VERSION	     1
#define MV_SNAP_PAGE	     4096u
#define MV_SNAP_HDR_LEN	     32u
#define MV_SNAP_ENTRY_LEN    64u
#define MV_SNAP_MAX_ENTRIES  1024u
#define MV_SNAP_MAX_DATA_LEN (1u << 30) /* a config or state entry */

enum mv_snap_kind {
	MV_SNAP_CONFIG = 1, /* the command line words, each ending in NUL */
	MV_SNAP_STATE = 2,  /* the lib/state sections, in load order */
	MV_SNAP_MEMORY = 3, /* guest memory at gpa, length bytes, page aligned */
	MV_SNAP_FILE = 4,   /* a shared file= zone, not copied: its identity */
};

struct mv_snap_entry {
	uint32_t kind;
	uint32_t crc;
	uint64_t offset;
	uint64_t length;
	uint64_t gpa;
	uint64_t aux[4];
};

struct mv_snap_writer {
	int fd;
	uint64_t end; /* next free, page-aligned offset */
	struct mv_snap_entry *entries;
	unsigned int n;
	uint64_t written;   /* bytes of memory actually written (non-zero pages) */
	uint64_t rewritten; /* of those, bytes written again by later passes (live) */
};

/* Starts a snapshot on an empty fd. */
void mv_snap_writer_init(struct mv_snap_writer *w, int fd);
void mv_snap_writer_free(struct mv_snap_writer *w);
/* A checksummed data entry; 0 or -errno. */
int mv_snap_add_data(struct mv_snap_writer *w, uint32_t kind, const void *p, size_t len);
/* A memory entry of len bytes (page multiple) at gpa; its index in *idx. Nothing written yet. */
int mv_snap_add_memory(struct mv_snap_writer *w, uint64_t gpa, uint64_t len, unsigned int *idx);
/* Writes len bytes at offset off (both page multiples) of memory entry idx, skipping zero pages. */
int mv_snap_write_memory(struct mv_snap_writer *w, unsigned int idx, uint64_t off, const void *p,
			 uint64_t len);
/*
 * The same range written again (a live snapshot's later pass): non-zero
 * pages overwrite what is there, zero pages become holes again (zeros
 * where the filesystem cannot punch), so the file ends as memory is.
 */
int mv_snap_rewrite_memory(struct mv_snap_writer *w, unsigned int idx, uint64_t off, const void *p,
			   uint64_t len);
int mv_snap_add_file(struct mv_snap_writer *w, uint32_t zone, uint64_t size, uint64_t dev,
		     uint64_t ino, uint64_t mtime_s, uint64_t mtime_ns);
/* The table and the header, the file's full length, then fsync: 0 or -errno. */
int mv_snap_finish(struct mv_snap_writer *w);

/* What the reader found; entries malloc'd (free them). */
struct mv_snap_file {
	uint32_t version;
	unsigned int n;
	struct mv_snap_entry *entries;
	uint64_t size;
};

/*
 * Reads and checks the header and table of the snapshot in fd (size: its
 * length): 0, or -EINVAL / -errno with one line in err naming the problem
 * (truncated, not a memvisor snapshot, format version, checksum, entry).
 */
int mv_snap_open(int fd, uint64_t size, struct mv_snap_file *f, char *err, size_t errlen);
void mv_snap_close(struct mv_snap_file *f);
/* The first entry of kind (NULL: none). */
const struct mv_snap_entry *mv_snap_find(const struct mv_snap_file *f, uint32_t kind);
/* Reads a data entry and checks its checksum; *out malloc'd. 0 or -errno with err. */
int mv_snap_read_data(int fd, const struct mv_snap_entry *e, void **out, char *err, size_t errlen);

#endif
