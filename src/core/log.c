#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static bool log_quiet;

static void log_line(const char *level, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
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

	if (enabled < 0)
		enabled = getenv("MEMVISOR_DEBUG") != NULL;
	return enabled;
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
