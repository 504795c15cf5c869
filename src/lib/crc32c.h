/*
 * crc32c: the CRC-32C (Castagnoli) checksum of the snapshot file's
 * sections, table-driven, reflected, init and final xor 0xffffffff: the
 * check value of "123456789" is 0xe3069283. A pure library: libc only.
 */
#ifndef MV_LIB_CRC32C_H
#define MV_LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a running CRC: start with crc = 0, feed the pieces in order. */
uint32_t mv_crc32c(uint32_t crc, const void *p, size_t len);

#endif
