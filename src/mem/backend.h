/*
 * backend: the host memory behind one guest mapping (a zone's boot RAM, or a
 * zone's virtio-mem region), done for real on the host.
 *
 * A backend_spec is computed from the config alone (pure, printable for
 * --dry-run); backend_create() performs it: picks anon / memfd / file /
 * hugetlb, checks the hugetlb pool before mapping, binds to a host NUMA node
 * before any page is allocated, prefaults in parallel. On error nothing is
 * left behind: fds closed, mappings gone, files we created removed, files we
 * extended shrunk back.
 *
 * Virtio-mem regions never use file=: they take a fresh memfd (shared or
 * hugepages) or anonymous memory, so unplugging never punches holes in a
 * user's file and two mappings never share one file range.
 *
 * Discard semantics, by backing:
 *   private anon            MADV_DONTNEED: reads back zero, memory freed.
 *   memfd/shared file/hugetlb fallocate(PUNCH_HOLE) (+ MADV_DONTNEED unless
 *                           hugetlb): zero, freed, for every process mapping it.
 *   private file (file=PATH,shared=off) MADV_DONTNEED only: our private copies
 *                           are freed but reads return the FILE's content, not
 *                           zero; the file itself is never modified (that is
 *                           what MAP_PRIVATE promised). discard_zeroes is false.
 *   restored from a snapshot (board/restore.c, memory_restore_mode):
 *     cow: data ranges mapped MAP_PRIVATE from the snapshot file (backend_map_file_data);
 *       a discard maps fresh anonymous memory over the range (MAP_FIXED),
 *       since MADV_DONTNEED would bring the snapshot's pages back. Zero.
 *     ondemand: ranges registered with a userfaultfd (mem/ondemand); a
 *       discard unregisters the range first, then as above: a later fault
 *       is plain zeros, never the snapshot's contents.
 */
#ifndef MV_MEM_BACKEND_H
#define MV_MEM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "mem/layout.h"

#define BACKEND_MAX	 (2 * CONFIG_MAX_ZONES)
#define BACKEND_NAME_LEN (CONFIG_ID_LEN + 8)
#define BACKEND_OPT_LEN	 (CONFIG_ID_LEN + 24)

enum backend_kind {
	BACKEND_ANON,  /* private anonymous */
	BACKEND_MEMFD, /* memfd (shared=on, or hugepages without file=) */
	BACKEND_FILE,  /* file= given: a file, or a directory for an unlinked temp file */
};

/* What to build, from the config alone. */
struct backend_spec {
	char name[BACKEND_NAME_LEN]; /* zone id, or "<id>-hotplug" */
	char opt[BACKEND_OPT_LEN];   /* "--memory" or "--memory-zone id=<id>" for messages */
	unsigned int zone;
	bool hotplug;
	enum backend_kind kind;
	const char *path; /* BACKEND_FILE: borrowed from the config, which outlives us */
	bool shared;	  /* MAP_SHARED asked for (shared=on) */
	bool hugetlb;
	uint64_t page_size; /* 4096, or the hugepage size; 0: the host default hugepage size */
	uint64_t size;
	uint64_t gpa; /* first guest address (a straddling zone has a second one) */
	bool prefault;
	bool mergeable;
	bool thp;	    /* MADV_HUGEPAGE: private anonymous only */
	bool noreserve;	    /* hotplug regions */
	bool dontdump;	    /* hotplug regions */
	int host_numa_node; /* -1: none */
};

struct backend_stats {
	uint64_t populated;	 /* bytes, by backend_populate and prefault */
	uint64_t discarded;	 /* bytes */
	uint64_t discard_failed; /* failed backend_discard calls */
};

struct backend {
	struct backend_spec spec; /* page_size resolved; hugetlb set for hugetlbfs files */
	uint8_t *hva;
	uint64_t size;
	int fd;		     /* -1 for anonymous memory */
	bool map_shared;     /* the mapping is MAP_SHARED (hugetlb memfds always are) */
	bool tmpfile;	     /* file= named a directory: an unlinked file in it */
	bool discard_zeroes; /* false only for private file mappings, see above */
	bool file_private;   /* cow: ranges map a snapshot file privately, see above */
	bool uffd_on;	     /* ondemand: uffd serves ranges of it (loop thread only) */
	int uffd;	     /* ... that userfaultfd, borrowed from mem/ondemand */
	/* What creation did to a file= file, so a VM that never started can undo it. */
	bool created;
	bool extended;
	uint64_t orig_size;
	struct backend_stats stats; /* updated atomically; read with backend_get_stats */
};

/*
 * Spec of zone `zone`'s boot RAM (hotplug=false) or virtio-mem region
 * (hotplug=true), placed by `l`. -EINVAL if that part of the zone is empty.
 */
int backend_spec_from_zone(const struct mv_config *cfg, const struct layout *l, unsigned int zone,
			   bool hotplug, struct backend_spec *out);
/* Every backend the config needs, in zone order (boot RAM, then hotplug). */
int backend_specs_from_config(const struct mv_config *cfg, const struct layout *l,
			      struct backend_spec *out, unsigned int max, unsigned int *nr);

/*
 * Acquire the memory. On error returns -errno with one line in err naming the
 * option ("--memory-zone id=mem0: needs 512 hugepages of 2M, host has 3 free")
 * and leaves nothing behind; out->fd is -1 and out->hva NULL then.
 */
int backend_create(const struct backend_spec *spec, struct backend *out, char *err, size_t errlen);
/* Unmap and close; safe on a zeroed or failed backend. */
void backend_destroy(struct backend *b);
/*
 * For a VM that failed before it ran: destroy, and undo what creation did to
 * a file= file (remove a file it created, shrink one it grew).
 */
void backend_abandon(struct backend *b);

/*
 * Give [offset, offset+len) back to the host (page_size aligned). After it
 * the range reads as zero (except private file mappings, see above).
 * 0 or -errno (counted in stats.discard_failed).
 */
int backend_discard(struct backend *b, uint64_t offset, uint64_t len);
/*
 * Allocate [offset, offset+len) now (MADV_POPULATE_WRITE). -ENOMEM/-EFAULT
 * when the host cannot (e.g. hugetlb pool dry): the caller refuses the plug.
 */
int backend_populate(struct backend *b, uint64_t offset, uint64_t len);
/*
 * memory_restore_mode=cow: maps [offset, offset+len) of the backend
 * MAP_PRIVATE|MAP_FIXED from fd at file_off (both 4 KiB aligned): the pages
 * stay the file's page cache, shared with every other mapping of it, until
 * written. Private 4 KiB memory only (not shared, not hugetlb): -EINVAL.
 * On failure the range may be unmapped; the caller destroys the backend.
 */
int backend_map_file(struct backend *b, uint64_t offset, uint64_t len, int fd, uint64_t file_off);
/*
 * The same over the file's data extents only (SEEK_DATA/SEEK_HOLE; extents
 * less than 256 KiB apart share one mapping): the holes (zero pages and
 * unplugged blocks a snapshot skipped) stay the backend's anonymous zero
 * memory. Mapping a hole would put a page-cache page behind every zero page
 * read (on tmpfs one counted against its size: reads of a full one fault).
 */
int backend_map_file_data(struct backend *b, uint64_t offset, uint64_t len, int fd,
			  uint64_t file_off);
/*
 * Populate in parallel over min(nproc, 8) threads, with a progress line on
 * stderr after about 1 s. Used for prefault=on at creation; exposed for
 * virtio-mem prealloc of hotplugged_size at boot.
 */
int backend_prefault(struct backend *b, uint64_t offset, uint64_t len, char *err, size_t errlen);
/* The same with MADV_POPULATE_READ: maps a cow range's pages without copying them. */
int backend_prefault_read(struct backend *b, uint64_t offset, uint64_t len, char *err,
			  size_t errlen);

void backend_get_stats(const struct backend *b, struct backend_stats *out);

/* QEMU `info ramblock`-like table; dry-run prints specs, a live VM its backends. */
void backend_format_header(FILE *out);
void backend_format_spec(FILE *out, const struct backend_spec *s);
void backend_format_backend(FILE *out, const struct backend *b);
void backend_format_specs(FILE *out, const struct backend_spec *s, unsigned int n);
void backend_format_backends(FILE *out, const struct backend *b, unsigned int n);

#endif
