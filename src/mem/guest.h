/*
 * guest: checked access to guest physical memory.
 *
 * The map holds the ranges the guest may reach by DMA or CPU: boot RAM and the
 * plugged parts of hotplug regions. Every access from device code goes through
 * gmem_read()/gmem_write(), which copy (so a guest cannot change data after it
 * was checked) and refuse any range that wraps, or that is not wholly inside
 * one mapped range. Unplugged memory is absent from the map, so a descriptor
 * pointing into it is refused like one pointing outside RAM.
 */
#ifndef MV_MEM_GUEST_H
#define MV_MEM_GUEST_H

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
};

int gmem_init(struct gmem *m);
void gmem_destroy(struct gmem *m);

/* Map [gpa, gpa+size) to hva; -EEXIST if it overlaps a mapped range. */
int gmem_add(struct gmem *m, uint64_t gpa, uint64_t size, void *hva);
/* Unmap [gpa, gpa+size), splitting ranges as needed; unmapped parts are fine. */
int gmem_remove(struct gmem *m, uint64_t gpa, uint64_t size);

/* 0, or -EFAULT when any byte of the range is not mapped. */
int gmem_read(struct gmem *m, uint64_t gpa, void *dst, size_t len);
int gmem_write(struct gmem *m, uint64_t gpa, const void *src, size_t len);

/*
 * Host pointer for [gpa, gpa+len) if it lies in one mapped range, else NULL.
 * Only for memory that cannot be unmapped while the pointer is in use (boot
 * RAM at load time); device code uses gmem_read/gmem_write.
 */
void *gmem_hva(struct gmem *m, uint64_t gpa, uint64_t len);

#endif
