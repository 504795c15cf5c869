/* Silent logging for fuzzing: a hostile guest's warnings would drown libFuzzer. */
#include "lib/log.h"

void mv_err(const char *fmt, ...)
{
}

void mv_warn(const char *fmt, ...)
{
}

void mv_info(const char *fmt, ...)
{
}

void mv_debug(const char *fmt, ...)
{
}

bool mv_debug_enabled(void)
{
	return false;
}

void mv_log_set_quiet(bool quiet)
{
}
