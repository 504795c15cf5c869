#include "fakes.h"

#include <assert.h>
#include <stdlib.h>

void fake_gmem_init(struct fake_gmem *f, uint64_t gpa, uint64_t size)
{
	f->buf = calloc(1, size);
	f->gpa = gpa;
	f->size = size;
	assert(f->buf);
	assert(gmem_init(&f->map) == 0);
	assert(gmem_add(&f->map, gpa, size, f->buf) == 0);
}

void fake_gmem_free(struct fake_gmem *f)
{
	gmem_destroy(&f->map);
	free(f->buf);
}
