#include "virtio/balloon_state.h"

#include <endian.h>
#include <string.h>

enum vb_queue_role vb_queue_role(uint64_t features, unsigned int q)
{
	unsigned int next = 2;

	if (q == 0)
		return VB_Q_INFLATE;
	if (q == 1)
		return VB_Q_DEFLATE;
	if (features >> VB_F_STATS_VQ & 1) {
		if (q == next)
			return VB_Q_STATS;
		next++;
	}
	if ((features >> VB_F_REPORTING & 1) && q == next)
		return VB_Q_REPORTING;
	return VB_Q_NONE;
}

const char *vb_stat_name(unsigned int i)
{
	static const char *const names[VB_S_NR] = {
	    "stat-swap-in",	 "stat-swap-out",     "stat-major-faults",     "stat-minor-faults",
	    "stat-free-memory",	 "stat-total-memory", "stat-available-memory", "stat-disk-caches",
	    "stat-htlb-pgalloc", "stat-htlb-pgfail",
	};

	return i < VB_S_NR ? names[i] : NULL;
}

unsigned int vb_stats_parse(const uint8_t *buf, size_t len, uint64_t *vals, unsigned int *ignored)
{
	unsigned int n = 0;
	size_t off;

	*ignored = 0;
	for (off = 0; len - off >= VB_STAT_ENTRY && off < len; off += VB_STAT_ENTRY) {
		uint16_t tag;
		uint64_t v;

		memcpy(&tag, buf + off, 2);
		memcpy(&v, buf + off + 2, 8);
		tag = le16toh(tag);
		n++;
		if (tag >= VB_S_NR) {
			(*ignored)++;
			continue;
		}
		vals[tag] = le64toh(v);
	}
	if (off < len)
		(*ignored)++;
	return n;
}

unsigned int vb_pfn_run(const uint32_t *pfn, unsigned int n)
{
	unsigned int i = 1;

	while (i < n && pfn[i - 1] != UINT32_MAX && pfn[i] == pfn[i - 1] + 1)
		i++;
	return i;
}

int vb_span_clip(const struct vb_span *s, unsigned int n, uint64_t gpa, uint64_t len,
		 uint64_t *piece)
{
	unsigned int i;

	*piece = len;
	for (i = 0; i < n; i++) {
		/* gpa - s.gpa < size: no overflow even for a span that ends at 2^64. */
		if (gpa >= s[i].gpa && gpa - s[i].gpa < s[i].size) {
			uint64_t left = s[i].size - (gpa - s[i].gpa);

			*piece = left < len ? left : len;
			return (int)i;
		}
		if (s[i].gpa > gpa && s[i].gpa - gpa < *piece)
			*piece = s[i].gpa - gpa;
	}
	return -1;
}

bool vb_align_in(uint64_t gpa, uint64_t len, uint64_t page, uint64_t *agpa, uint64_t *alen)
{
	uint64_t head = (page - (gpa & (page - 1))) & (page - 1);
	uint64_t rest;

	if (head >= len)
		return false;
	rest = (len - head) & ~(page - 1);
	if (!rest)
		return false;
	*agpa = gpa + head;
	*alen = rest;
	return true;
}

uint32_t vb_target_pages(uint64_t current, uint64_t target)
{
	uint64_t pages;

	if (target > current)
		target = current;
	pages = (current - target) >> VB_PFN_SHIFT;
	return pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
}

uint64_t vb_actual_bytes(uint64_t current, uint32_t actual)
{
	uint64_t held = (uint64_t)actual << VB_PFN_SHIFT;

	return held > current ? 0 : current - held;
}
