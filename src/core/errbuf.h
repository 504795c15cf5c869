/*
 * errbuf: format a one-line error into a caller's buffer (err may be NULL or
 * len 0). Modules that validate report this way; their caller decides
 * whether and where to print it.
 */
#ifndef MV_CORE_ERRBUF_H
#define MV_CORE_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

void mv_errbuf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void mv_verrbuf(char *err, size_t len, const char *fmt, va_list ap);

#endif
