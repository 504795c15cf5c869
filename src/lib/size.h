/*
 * size: the one syntax for a size in bytes, shared by memvisor's options,
 * memvisor-ctl's arguments and every message that prints a size (README.md,
 * "Options"): decimal digits, optionally followed by one binary unit K, M, G
 * or T (either case; 1K = 1024). Nothing else: no sign, no blanks, no
 * fraction, no "B" or "iB".
 */
#ifndef MV_LIB_SIZE_H
#define MV_LIB_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* 0, -EINVAL when s is not a size, -ERANGE when it does not fit 64 bits. */
int mv_size_parse(const char *s, uint64_t *out);
/* The size in the same syntax, with the largest exact unit: "1G", "384M", "4097K", "1000", "0". */
void mv_size_format(uint64_t v, char *buf, size_t len);
/* What a message says of a word that is not a size (both programs use it). */
#define MV_SIZE_SYNTAX "not a size (bytes, or a number with K, M, G or T)"
/* Room for any formatted size, terminator included. */
#define MV_SIZE_STR 24

#endif
