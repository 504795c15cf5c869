#include "mem/guest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdbool.h>

#include "core/util.h"

int gmem_init(struct gmem *m)
{
	memset(m, 0, sizeof(*m));
	return -pthread_rwlock_init(&m->lock, NULL);
}

void gmem_destroy(struct gmem *m)
{
	free(m->ranges);
	pthread_rwlock_destroy(&m->lock);
	memset(m, 0, sizeof(*m));
}

static int gmem_reserve(struct gmem *m, unsigned int n)
{
	struct gmem_range *r;
	unsigned int cap;

	if (n <= m->cap)
		return 0;
	cap = m->cap ? m->cap * 2 : 16;
	while (cap < n)
		cap *= 2;
	r = realloc(m->ranges, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	m->ranges = r;
	m->cap = cap;
	return 0;
}

static void gmem_insert_at(struct gmem *m, unsigned int i, struct gmem_range r)
{
	memmove(&m->ranges[i + 1], &m->ranges[i], (m->nr - i) * sizeof(r));
	m->ranges[i] = r;
	m->nr++;
}

int gmem_add(struct gmem *m, uint64_t gpa, uint64_t size, void *hva)
{
	unsigned int i;
	int ret;

	if (!size || !range_ok(gpa, size))
		return -EINVAL;
	pthread_rwlock_wrlock(&m->lock);
	for (i = 0; i < m->nr; i++) {
		const struct gmem_range *r = &m->ranges[i];

		if (gpa < r->gpa + r->size && r->gpa < gpa + size) {
			ret = -EEXIST;
			goto out;
		}
		if (r->gpa > gpa)
			break;
	}
	ret = gmem_reserve(m, m->nr + 1);
	if (!ret)
		gmem_insert_at(m, i, (struct gmem_range){gpa, size, hva});
out:
	pthread_rwlock_unlock(&m->lock);
	return ret;
}

int gmem_remove(struct gmem *m, uint64_t gpa, uint64_t size)
{
	uint64_t end = gpa + size;
	unsigned int i;
	int ret = 0;

	if (!range_ok(gpa, size))
		return -EINVAL;
	pthread_rwlock_wrlock(&m->lock);
	/* Splitting adds at most one range; reserve first so nothing fails midway. */
	ret = gmem_reserve(m, m->nr + 1);
	if (ret)
		goto out;
	for (i = 0; i < m->nr;) {
		struct gmem_range *r = &m->ranges[i];
		uint64_t rend = r->gpa + r->size;

		if (rend <= gpa || r->gpa >= end) {
			i++;
			continue;
		}
		if (r->gpa < gpa && rend > end) {
			struct gmem_range tail = {end, rend - end, r->hva + (end - r->gpa)};

			r->size = gpa - r->gpa;
			gmem_insert_at(m, i + 1, tail);
			break;
		}
		if (r->gpa < gpa) {
			r->size = gpa - r->gpa;
			i++;
		} else if (rend > end) {
			r->hva += end - r->gpa;
			r->size = rend - end;
			r->gpa = end;
			i++;
		} else {
			memmove(r, r + 1, (m->nr - i - 1) * sizeof(*r));
			m->nr--;
		}
	}
out:
	pthread_rwlock_unlock(&m->lock);
	return ret;
}

/* Caller holds the lock. */
static uint8_t *gmem_find(struct gmem *m, uint64_t gpa, uint64_t len)
{
	unsigned int lo = 0, hi = m->nr;

	if (!range_ok(gpa, len))
		return NULL;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct gmem_range *r = &m->ranges[mid];

		if (gpa < r->gpa) {
			hi = mid;
		} else if (gpa - r->gpa >= r->size) {
			lo = mid + 1;
		} else {
			if (len > r->size - (gpa - r->gpa))
				return NULL;
			return r->hva + (gpa - r->gpa);
		}
	}
	return NULL;
}

/* Bytes from gpa (mapped) to the end of its range, at most len. Caller holds the lock. */
static uint64_t gmem_span(struct gmem *m, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++) {
		const struct gmem_range *r = &m->ranges[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return MV_MIN(len, r->size - (gpa - r->gpa));
	}
	return 0;
}

/*
 * Copies between host memory and [gpa, gpa+len), which may span several
 * ranges as long as they are adjacent in guest physical space (a plugged
 * virtio-mem area is several ranges). Caller holds the lock.
 */
static int gmem_copy(struct gmem *m, uint64_t gpa, void *buf, size_t len, bool to_guest)
{
	uint8_t *b = buf;

	if (!range_ok(gpa, len))
		return -EFAULT;
	/* Check the whole span first so a failed copy changes nothing. */
	for (uint64_t a = gpa, left = len; left;) {
		uint8_t *p = gmem_find(m, a, 1);
		uint64_t n;

		if (!p)
			return -EFAULT;
		n = gmem_span(m, a, left);
		a += n;
		left -= n;
	}
	while (len) {
		uint8_t *p = gmem_find(m, gpa, 1);
		uint64_t n = gmem_span(m, gpa, len);

		if (to_guest)
			memcpy(p, b, n);
		else
			memcpy(b, p, n);
		gpa += n;
		b += n;
		len -= n;
	}
	return 0;
}

int gmem_read(struct gmem *m, uint64_t gpa, void *dst, size_t len)
{
	int ret;

	pthread_rwlock_rdlock(&m->lock);
	ret = gmem_copy(m, gpa, dst, len, false);
	pthread_rwlock_unlock(&m->lock);
	return ret;
}

int gmem_write(struct gmem *m, uint64_t gpa, const void *src, size_t len)
{
	int ret;

	pthread_rwlock_rdlock(&m->lock);
	ret = gmem_copy(m, gpa, (void *)src, len, true);
	pthread_rwlock_unlock(&m->lock);
	return ret;
}

void *gmem_hva(struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint8_t *p;

	pthread_rwlock_rdlock(&m->lock);
	p = gmem_find(m, gpa, len);
	pthread_rwlock_unlock(&m->lock);
	return p;
}
