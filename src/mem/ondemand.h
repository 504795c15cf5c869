/*
 * ondemand: guest memory served lazily from a snapshot file through
 * userfaultfd (memvisor --restore ...,memory_restore_mode=ondemand).
 *
 * Ranges of private anonymous memory are registered in MISSING mode; one
 * server thread answers each fault (a vCPU's, through KVM, or any thread's)
 * with UFFDIO_COPY of the file's page, or UFFDIO_ZEROPAGE for a page that
 * is zero in the file (a hole: a zero page or an unplugged block), and
 * between faults copies the file's data extents in, 1 MiB at a time
 * (SEEK_DATA/SEEK_HOLE: holes need no filling, a missing page of anonymous
 * memory reads zero once the userfaultfd is gone). When that pass is over it
 * writes done_fd, which the owner's event loop watches, and goes on serving
 * faults until od_close: the owner (the loop thread) then joins it and
 * closes the userfaultfd, so every range becomes plain anonymous memory.
 *
 * A discard of a range (virtio-mem unplug) must first unregister it
 * (mem/backend does, with od->uffd): the pages then fault in as zeros, not
 * as the snapshot's. A page the server copies concurrently fails with ENOENT
 * and is skipped. If the file cannot be read, the server says so on stderr,
 * answers every later fault with zeros (so that no thread hangs on it) and
 * sets failed; done_fd is written and the owner stops the VM.
 */
#ifndef MV_MEM_ONDEMAND_H
#define MV_MEM_ONDEMAND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OD_MAX_RANGES 64

struct od_range {
	uint8_t *hva;
	uint64_t len;
	uint64_t file_off;
};

struct od_stats {
	uint64_t faults;       /* pages served on a fault, copied or zero */
	uint64_t fault_zero;   /* ... of which zero pages */
	uint64_t filled_bytes; /* copied in by the background pass */
	uint64_t fill_ms;      /* from od_start to the end of the background pass */
};

struct ondemand {
	int uffd;    /* -1: not open */
	int fd;	     /* the snapshot file (our own dup) */
	int stop_fd; /* eventfd: the server exits */
	int done_fd; /* eventfd: the background pass is over (the owner watches it) */
	struct od_range ranges[OD_MAX_RANGES];
	unsigned int n;
	pthread_t thread;
	bool running;
	bool failed; /* atomic: the file could not be read */
	bool filled; /* atomic: the background pass is over */
	uint64_t start_ms;
	struct od_stats stats; /* atomic */
};

/*
 * Opens a userfaultfd (the syscall, else /dev/userfaultfd) and dups fd.
 * -errno with one line in err when the host does not allow it (naming
 * vm.unprivileged_userfaultfd and /dev/userfaultfd).
 */
int od_open(struct ondemand *od, int fd, char *err, size_t errlen);
/* Registers [hva, hva+len) (4 KiB aligned) to be served from file_off. Before od_start. */
int od_add(struct ondemand *od, void *hva, uint64_t len, uint64_t file_off, char *err,
	   size_t errlen);
/* Starts the server thread; 0 or -errno. */
int od_start(struct ondemand *od);
/* Consumes done_fd's count; true when the background pass is over. */
bool od_take_done(struct ondemand *od);
void od_get_stats(struct ondemand *od, struct od_stats *out);
/* Stops and joins the server, closes the userfaultfd (every range plain memory), the fds. */
void od_close(struct ondemand *od);

#endif
