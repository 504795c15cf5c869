/*
 * guest: checked access to guest physical memory.
 *
 * The map holds the ranges the guest may reach by DMA or CPU: boot RAM and the
 * plugged parts of hotplug regions. One rule decides every checked access: a
 * (gpa, len) is valid iff every byte of it lies in a mapped range. A span may
 * cross from one range into the next (two boot zones, two plugged runs:
 * adjacent in guest space, apart in host space); it is refused if it wraps
 * or if any byte falls outside RAM, in a hole or in an unplugged block
 * (unplugged memory is absent from the map).
 *
 * There is deliberately no host pointer into the map: a span need not be one
 * host mapping, and a pointer kept past the lock could outlive an unplug.
 * Everything, from the boot loader to device queues, goes through
 * gmem_read()/gmem_write(), which copy (so a guest cannot change data after
 * it was checked), or checks first with gmem_check(). Every fallible call
 * is warn_unused_result: an ignored -EFAULT would act on bytes never copied.
 *
 * Write tracking (a live snapshot): KVM's dirty log sees only the guest's
 * CPUs, so while tracking is on every gmem_write() also marks its 4 KiB
 * pages in a bitmap over [0, limit), which gmem_track_take() hands out and
 * clears. Marking is atomic and happens under the read lock, so device
 * threads never wait on one another for it.
 */
#ifndef MV_CORE_GUEST_H
#define MV_CORE_GUEST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct gmem_range {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct gmem {
	pthread_rwlock_t lock;
	struct gmem_range *ranges; /* sorted by gpa, never overlapping */
	unsigned int nr;
	unsigned int cap;
	uint64_t *track; /* NULL, or one bit per 4 KiB page below track_pages */
	uint64_t track_pages;
};

int gmem_init(struct gmem *m);
void gmem_destroy(struct gmem *m);

/* Map [gpa, gpa+size) to hva; -EEXIST if it overlaps a mapped range. */
int gmem_add(struct gmem *m, uint64_t gpa, uint64_t size, void *hva)
    __attribute__((warn_unused_result));
/* Unmap [gpa, gpa+size), splitting ranges as needed; unmapped parts are fine. */
int gmem_remove(struct gmem *m, uint64_t gpa, uint64_t size) __attribute__((warn_unused_result));

/* 0 when [gpa, gpa+len) is valid by the rule above (len 0 always is), else -EFAULT. */
int gmem_check(struct gmem *m, uint64_t gpa, uint64_t len) __attribute__((warn_unused_result));
/* Copy to or from a valid span: 0, or -EFAULT with nothing copied. */
int gmem_read(struct gmem *m, uint64_t gpa, void *dst, size_t len)
    __attribute__((warn_unused_result));
int gmem_write(struct gmem *m, uint64_t gpa, const void *src, size_t len)
    __attribute__((warn_unused_result));

/* Tracks writes below limit from now on (the bitmap starts clear): 0 or -ENOMEM. */
int gmem_track_start(struct gmem *m, uint64_t limit) __attribute__((warn_unused_result));
void gmem_track_stop(struct gmem *m);
/*
 * ORs into bits (one per 4 KiB page from gpa, npages of them) the pages
 * written since the last take, and clears them; gpa page aligned.
 */
void gmem_track_take(struct gmem *m, uint64_t gpa, uint64_t npages, uint64_t *bits);

#endif
