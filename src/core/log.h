/*
 * log: one-line diagnostics on stderr, prefixed "memvisor: ".
 *
 * Errors a user must act on go through mv_err(); mv_debug() prints only when
 * MEMVISOR_DEBUG is set in the environment.
 */
#ifndef MV_CORE_LOG_H
#define MV_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

void mv_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mv_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mv_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool mv_debug_enabled(void);
/*
 * Format a one-line error into a caller's buffer (err may be NULL or len 0):
 * how modules that validate report to the caller, who decides to print it.
 */
void mv_errbuf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void mv_verrbuf(char *err, size_t len, const char *fmt, va_list ap);
/* Silence mv_info (e.g. for --dry-run or tests). */
void mv_log_set_quiet(bool quiet);

#endif
