/*
 * boot: the x86_64 Linux boot protocol (Documentation/x86/boot.rst).
 *
 * x86_bzimage_parse() checks a bzImage and extracts what the loader needs
 * (pure, unit-tested). x86_boot_load() places kernel, initramfs, command
 * line, boot_params (zero page with the e820 map and the RSDP address), GDT
 * and identity page tables into guest memory; the vCPU then enters the
 * 64-bit entry point with RSI = boot_params.
 */
#ifndef MV_ARCH_X86_BOOT_H
#define MV_ARCH_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/guest.h"
#include "arch/x86/memmap.h"

#define X86_E820_MAX 128

#define E820_RAM      1
#define E820_RESERVED 2

struct x86_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct x86_bzimage {
	uint16_t version;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint32_t init_size;
	size_t pm_offset; /* protected-mode code: file offset and length */
	size_t pm_size;
	size_t hdr_end; /* header bytes to copy: [0x1F1, hdr_end) */
};

struct x86_boot {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd;
	size_t initrd_len;
	const char *cmdline;
	const struct x86_e820 *e820;
	unsigned int nr_e820;
	uint64_t rsdp;
	uint64_t low_ram_end; /* end of RAM below 4 GiB */
};

/* -EINVAL with a one-line reason in err when the image is not a usable bzImage. */
int x86_bzimage_parse(const uint8_t *img, size_t len, struct x86_bzimage *bz, char *err,
		      size_t errlen);

/* Guest RAM below the PCI hole that kernel (decompressed) and initramfs need. */
uint64_t x86_boot_min_low_ram(const struct x86_bzimage *bz, size_t initrd_len);

/* Writes everything into guest memory; -ENOSPC etc. with a reason in err. */
int x86_boot_load(struct gmem *m, const struct x86_boot *b, uint64_t *entry, char *err,
		  size_t errlen);

#endif
