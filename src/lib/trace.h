/*
 * trace: opt-in event lines for explaining from the host what the VMM did
 * (why a resize stalls: which requests the guest sent, what the device
 * answered, which KVM slots changed and how long each ioctl took).
 *
 * Off by default. MEMVISOR_TRACE=vmem,slot (or "all") picks the categories
 * and MEMVISOR_TRACE_FILE=path sends the lines to a file (appended, mode
 * 0600) instead of stderr; both are read once, before main. An unknown
 * category or an unopenable file is an error at start: one line on stderr
 * and exit status 2, so a typo never silently traces nothing.
 *
 * A line is "trace SECONDS.MICROS CATEGORY MESSAGE\n", the time from
 * CLOCK_MONOTONIC; control characters in the message become '?' so a line
 * stays one line. Each line is one write(2) (lines from several threads
 * never interleave), at most TRACE_LINE_MAX bytes (longer ones end in "...").
 * A failed write loses that line and nothing else.
 *
 * When off, a trace point costs one relaxed load and a predictable branch
 * (trace_on). A pure library: libc only.
 */
#ifndef MV_LIB_TRACE_H
#define MV_LIB_TRACE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_VMEM (1u << 0) /* one line per virtio-mem request and its answer */
#define TRACE_SLOT (1u << 1) /* one line per KVM slot map/unmap of a hotplug region */
#define TRACE_ALL  (TRACE_VMEM | TRACE_SLOT)

#define TRACE_LINE_MAX 512

/* The enabled categories; written by trace_setup only. */
extern unsigned int trace_mask;

static inline bool trace_on(unsigned int cat)
{
	return __builtin_expect(__atomic_load_n(&trace_mask, __ATOMIC_RELAXED) & cat, 0);
}

/*
 * Parse a category list ("vmem,slot", "all", "" or NULL for none; blanks
 * around names ignored) into *mask; -EINVAL with err naming the bad word.
 */
int trace_parse(const char *spec, unsigned int *mask, char *err, size_t errlen);

/*
 * Enable the categories of `spec` and send lines to `path` (NULL: stderr).
 * Replaces an earlier setup (the earlier file is closed). 0, or -errno with
 * err naming MEMVISOR_TRACE or MEMVISOR_TRACE_FILE and nothing changed.
 * Call before other threads trace (start-up, tests).
 */
int trace_setup(const char *spec, const char *path, char *err, size_t errlen);

/*
 * Format one line into buf (always NUL-terminated, ending in '\n' when len
 * allows); returns its length (< len). Pure: the unit tests call it.
 */
size_t trace_format(char *buf, size_t len, uint64_t mono_ns, const char *cat, const char *fmt,
		    va_list ap) __attribute__((format(printf, 5, 0)));

/* Emit one line of category `cat` (call only when trace_on(cat)). */
void trace_emit(unsigned int cat, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* CLOCK_MONOTONIC in nanoseconds (for timing what a line reports). */
uint64_t trace_now_ns(void);

#endif
