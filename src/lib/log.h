/*
 * log: one-line diagnostics on stderr, prefixed "memvisor: ".
 *
 * Errors a user must act on go through mv_err(); mv_debug() prints only when
 * MEMVISOR_DEBUG is set in the environment.
 */
#ifndef MV_LIB_LOG_H
#define MV_LIB_LOG_H

#include <stdbool.h>

#include "lib/errbuf.h"

void mv_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mv_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mv_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool mv_debug_enabled(void);
/* Silence mv_info (e.g. for --dry-run or tests). */
void mv_log_set_quiet(bool quiet);

#endif
