/* util: small helpers shared by every module (no state, no side effects). */
#ifndef MV_LIB_UTIL_H
#define MV_LIB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

#define MV_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MV_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Alignment helpers; `a` must be a power of two. */
static inline uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static inline bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static inline bool is_aligned(uint64_t v, uint64_t a)
{
	return (v & (a - 1)) == 0;
}

/* Little-endian fields of n bytes (1 to 8) in device registers and firmware tables. */
static inline void le_put(uint8_t *p, uint64_t v, unsigned int n)
{
	while (n--) {
		*p++ = v;
		v >>= 8;
	}
}

static inline uint64_t le_get(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* True when [base, base+len) does not wrap around 2^64. */
static inline bool range_ok(uint64_t base, uint64_t len)
{
	return base + len >= base;
}

#endif
