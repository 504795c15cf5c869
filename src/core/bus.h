/*
 * bus: carries every guest port I/O and MMIO access to the device that owns
 * the address. Registration rejects overlaps, so no two devices ever claim
 * the same byte. Callbacks run on the vCPU thread that exited; devices lock
 * their own state.
 */
#ifndef MV_CORE_BUS_H
#define MV_CORE_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_dev;

struct bus_dev_ops {
	/* off is relative to the registered base; len is 1, 2, 4 or 8. */
	void (*read)(struct bus_dev *d, uint64_t off, void *data, uint32_t len);
	void (*write)(struct bus_dev *d, uint64_t off, const void *data, uint32_t len);
};

struct bus_dev {
	const struct bus_dev_ops *ops;
	const char *name;
	uint64_t base; /* set by bus_register */
	uint64_t len;
};

struct bus {
	pthread_rwlock_t lock;
	struct bus_dev **devs; /* sorted by base */
	unsigned int nr;
	unsigned int cap;
};

int bus_init(struct bus *b);
void bus_destroy(struct bus *b);
/* -EBUSY when [base, base+len) overlaps a registered device. */
int bus_register(struct bus *b, struct bus_dev *d, uint64_t base, uint64_t len);
int bus_unregister(struct bus *b, struct bus_dev *d);
/* false when no device claims addr (reads are then all ones by convention). */
bool bus_read(struct bus *b, uint64_t addr, void *data, uint32_t len);
bool bus_write(struct bus *b, uint64_t addr, const void *data, uint32_t len);

#endif
