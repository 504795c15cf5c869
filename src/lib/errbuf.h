/*
 * errbuf: format a one-line error into a caller's buffer (err may be NULL or
 * len 0). Modules that validate report this way; their caller decides
 * whether and where to print it.
 *
 * Every message is one line whatever the values in it: control characters
 * (a newline or an escape sequence in an option's value, a path, a name)
 * come out escaped as \n, \t, \r or \xNN. mv_err() and friends format
 * through the same function.
 */
#ifndef MV_LIB_ERRBUF_H
#define MV_LIB_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

void mv_errbuf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void mv_verrbuf(char *err, size_t len, const char *fmt, va_list ap);
/*
 * Copy src into dst (len bytes, always terminated when len > 0) with its
 * control characters escaped; an escape that does not fit is left out whole.
 */
void mv_escape_ctl(char *dst, size_t len, const char *src);

#endif
