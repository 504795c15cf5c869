#include "lib/size.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

static const char units[] = "KMGT";

int mv_size_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int shift = 0;
	const char *p = s;
	int u;

	if (!p || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		for (u = 0; units[u] && units[u] != (*p & ~0x20); u++)
			;
		if (!units[u] || p[1])
			return -EINVAL;
		shift = 10 * (unsigned int)(u + 1);
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void mv_size_format(uint64_t v, char *buf, size_t len)
{
	int u = -1;

	while (v && (v & 1023) == 0 && u < 3) {
		v >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%" PRIu64 "%c", v, units[u]);
}
