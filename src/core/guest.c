#include "core/guest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdbool.h>

#include "lib/util.h"

int gmem_init(struct gmem *m)
{
	memset(m, 0, sizeof(*m));
	return -pthread_rwlock_init(&m->lock, NULL);
}

void gmem_destroy(struct gmem *m)
{
	free(m->track);
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

/* Index of the range holding gpa, or m->nr when none does. Caller holds the lock. */
static unsigned int gmem_index(const struct gmem *m, uint64_t gpa)
{
	unsigned int lo = 0, hi = m->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct gmem_range *r = &m->ranges[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return mid;
	}
	return m->nr;
}

/*
 * The one rule for checked access: [gpa, gpa+len) is valid iff every byte
 * is mapped, in one range or several. Ranges are sorted and disjoint, so a
 * span is valid iff it starts in some range i and runs on through ranges
 * i+1, i+2... each starting exactly where the one before ends. On success
 * *first is i. An empty span is valid (nothing is touched). Caller holds the lock.
 */
static bool gmem_span(const struct gmem *m, uint64_t gpa, uint64_t len, unsigned int *first)
{
	uint64_t end = gpa + len;
	unsigned int i;

	*first = 0;
	if (!range_ok(gpa, len))
		return false;
	if (!len)
		return true;
	*first = i = gmem_index(m, gpa);
	for (; i < m->nr; i++) {
		const struct gmem_range *r = &m->ranges[i];

		/* end > r->gpa here: gpa is in range *first, later ranges start below end. */
		if (end - r->gpa <= r->size)
			return true;
		if (i + 1 < m->nr && m->ranges[i + 1].gpa != r->gpa + r->size)
			return false;
	}
	return false;
}

/*
 * Copies between host memory and [gpa, gpa+len), piece by piece across the
 * ranges the span covers. The whole span is checked before the first byte
 * moves, so a refused access changes nothing. Caller holds the lock.
 */
/* Read lock held; the span was valid. */
static void gmem_track_mark(struct gmem *m, uint64_t gpa, size_t len)
{
	uint64_t p, last = (gpa + len - 1) / 4096u;

	for (p = gpa / 4096u; p <= last && p < m->track_pages; p++)
		__atomic_fetch_or(&m->track[p / 64], 1ULL << (p % 64), __ATOMIC_RELAXED);
}

static int gmem_copy(struct gmem *m, uint64_t gpa, void *buf, size_t len, bool to_guest)
{
	uint8_t *b = buf;
	unsigned int i;

	if (!gmem_span(m, gpa, len, &i))
		return -EFAULT;
	for (; len; i++) {
		const struct gmem_range *r = &m->ranges[i];
		uint8_t *p = r->hva + (gpa - r->gpa);
		uint64_t n = MV_MIN(len, r->size - (gpa - r->gpa));

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

int gmem_check(struct gmem *m, uint64_t gpa, uint64_t len)
{
	unsigned int i;
	bool ok;

	pthread_rwlock_rdlock(&m->lock);
	ok = gmem_span(m, gpa, len, &i);
	pthread_rwlock_unlock(&m->lock);
	return ok ? 0 : -EFAULT;
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
	if (!ret && m->track && len)
		gmem_track_mark(m, gpa, len);
	pthread_rwlock_unlock(&m->lock);
	return ret;
}

#define GMEM_PAGE 4096u

int gmem_track_start(struct gmem *m, uint64_t limit)
{
	uint64_t pages = align_up(limit, GMEM_PAGE) / GMEM_PAGE;
	uint64_t *bits = calloc(align_up(pages, 64) / 64 ? align_up(pages, 64) / 64 : 1, 8);

	if (!bits)
		return -ENOMEM;
	pthread_rwlock_wrlock(&m->lock);
	free(m->track);
	m->track = bits;
	m->track_pages = pages;
	pthread_rwlock_unlock(&m->lock);
	return 0;
}

void gmem_track_stop(struct gmem *m)
{
	pthread_rwlock_wrlock(&m->lock);
	free(m->track);
	m->track = NULL;
	m->track_pages = 0;
	pthread_rwlock_unlock(&m->lock);
}

void gmem_track_take(struct gmem *m, uint64_t gpa, uint64_t npages, uint64_t *bits)
{
	uint64_t first = gpa / GMEM_PAGE, i;

	pthread_rwlock_rdlock(&m->lock);
	for (i = 0; m->track && i < npages && first + i < m->track_pages; i++) {
		uint64_t p = first + i, bit = 1ULL << (p % 64);

		/* A whole clear word is skipped at once: most of memory is not written by devices.
		 */
		if (p % 64 == 0 && !__atomic_load_n(&m->track[p / 64], __ATOMIC_RELAXED)) {
			i += 63;
			continue;
		}
		if (__atomic_fetch_and(&m->track[p / 64], ~bit, __ATOMIC_RELAXED) & bit)
			bits[i / 64] |= 1ULL << (i % 64);
	}
	pthread_rwlock_unlock(&m->lock);
}
