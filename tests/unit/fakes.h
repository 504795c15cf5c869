/* fakes: shared helpers for unit tests (fake guest memory, ...). */
#ifndef MV_TESTS_FAKES_H
#define MV_TESTS_FAKES_H

#include <stddef.h>
#include <stdint.h>

#include "mem/guest.h"

/* A guest memory of `size` bytes at `gpa`, backed by calloc'd host memory. */
struct fake_gmem {
	struct gmem map;
	uint8_t *buf;
	uint64_t gpa;
	uint64_t size;
};

void fake_gmem_init(struct fake_gmem *f, uint64_t gpa, uint64_t size);
void fake_gmem_free(struct fake_gmem *f);

#endif
