#include "core/errbuf.h"

#include <stdio.h>

void mv_verrbuf(char *err, size_t len, const char *fmt, va_list ap)
{
	if (err && len)
		vsnprintf(err, len, fmt, ap);
}

void mv_errbuf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mv_verrbuf(err, len, fmt, ap);
	va_end(ap);
}
