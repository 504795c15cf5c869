#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static bool log_quiet;

static void log_line(const char *level, const char *fmt, va_list ap)
{
	char raw[1024], buf[1024];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* Values in a message (a path, a name, a guest's string) cannot split the line. */
	mv_escape_ctl(buf, sizeof(buf), raw);
	/* One fprintf so lines from several threads do not interleave. */
	fprintf(stderr, "memvisor: %s%s\n", level, buf);
}

void mv_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("error: ", fmt, ap);
	va_end(ap);
}

void mv_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning: ", fmt, ap);
	va_end(ap);
}

void mv_info(const char *fmt, ...)
{
	va_list ap;

	if (log_quiet)
		return;
	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

bool mv_debug_enabled(void)
{
	static int enabled = -1;
	int e = __atomic_load_n(&enabled, __ATOMIC_RELAXED);

	/* vCPU threads ask too: every thread computes the same answer, atomically stored. */
	if (e < 0) {
		e = getenv("MEMVISOR_DEBUG") != NULL;
		__atomic_store_n(&enabled, e, __ATOMIC_RELAXED);
	}
	return e;
}

void mv_debug(const char *fmt, ...)
{
	va_list ap;

	if (!mv_debug_enabled())
		return;
	va_start(ap, fmt);
	log_line("debug: ", fmt, ap);
	va_end(ap);
}

void mv_log_set_quiet(bool quiet)
{
	log_quiet = quiet;
}
