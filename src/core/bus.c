#include "core/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

int bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
	return -pthread_rwlock_init(&b->lock, NULL);
}

void bus_destroy(struct bus *b)
{
	free(b->devs);
	pthread_rwlock_destroy(&b->lock);
}

int bus_register(struct bus *b, struct bus_dev *d, uint64_t base, uint64_t len)
{
	unsigned int i;
	int ret = 0;

	if (!len || !range_ok(base, len))
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	for (i = 0; i < b->nr; i++) {
		struct bus_dev *o = b->devs[i];

		if (base < o->base + o->len && o->base < base + len) {
			ret = -EBUSY;
			goto out;
		}
		if (o->base > base)
			break;
	}
	if (b->nr == b->cap) {
		unsigned int cap = b->cap ? b->cap * 2 : 16;
		struct bus_dev **n = realloc(b->devs, cap * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		b->devs = n;
		b->cap = cap;
	}
	memmove(&b->devs[i + 1], &b->devs[i], (b->nr - i) * sizeof(*b->devs));
	d->base = base;
	d->len = len;
	b->devs[i] = d;
	b->nr++;
out:
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

int bus_unregister(struct bus *b, struct bus_dev *d)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&b->lock);
	for (i = 0; i < b->nr; i++) {
		if (b->devs[i] == d) {
			memmove(&b->devs[i], &b->devs[i + 1], (b->nr - i - 1) * sizeof(*b->devs));
			b->nr--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

/* Caller holds the lock. An access must lie wholly inside one device. */
static struct bus_dev *bus_find(struct bus *b, uint64_t addr, uint32_t len)
{
	unsigned int lo = 0, hi = b->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		struct bus_dev *d = b->devs[mid];

		if (addr < d->base)
			hi = mid;
		else if (addr - d->base >= d->len)
			lo = mid + 1;
		else
			return len <= d->len - (addr - d->base) ? d : NULL;
	}
	return NULL;
}

bool bus_read(struct bus *b, uint64_t addr, void *data, uint32_t len)
{
	struct bus_dev *d;

	pthread_rwlock_rdlock(&b->lock);
	d = bus_find(b, addr, len);
	if (d)
		d->ops->read(d, addr - d->base, data, len);
	pthread_rwlock_unlock(&b->lock);
	if (!d)
		memset(data, 0xff, len);
	return d != NULL;
}

bool bus_write(struct bus *b, uint64_t addr, const void *data, uint32_t len)
{
	struct bus_dev *d;

	pthread_rwlock_rdlock(&b->lock);
	d = bus_find(b, addr, len);
	if (d)
		d->ops->write(d, addr - d->base, data, len);
	pthread_rwlock_unlock(&b->lock);
	return d != NULL;
}
