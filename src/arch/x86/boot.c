#include "arch/x86/boot.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* Offsets in the setup header / zero page (boot.rst, zero-page.rst). */
#define BP_ACPI_RSDP	     0x070
#define BP_E820_ENTRIES	     0x1E8
#define HDR_SETUP_SECTS	     0x1F1
#define HDR_BOOT_FLAG	     0x1FE
#define HDR_JUMP	     0x200
#define HDR_MAGIC	     0x202
#define HDR_VERSION	     0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS	     0x211
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21C
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_MAX	     0x22C
#define HDR_XLOADFLAGS	     0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE	     0x260
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE  0x0C4
#define BP_EXT_CMD_LINE_PTR  0x0C8
#define BP_E820_TABLE	     0x2D0
#define BP_SIZE		     4096

#define LOADED_HIGH   0x01
#define XLF_KERNEL_64 0x01

int x86_bzimage_parse(const uint8_t *img, size_t len, struct x86_bzimage *bz, char *err,
		      size_t errlen)
{
	unsigned int sects;

	memset(bz, 0, sizeof(*bz));
	if (len < 0x270 || le_get(img + HDR_BOOT_FLAG, 2) != 0xAA55 ||
	    le_get(img + HDR_MAGIC, 4) != 0x53726448) {
		snprintf(err, errlen, "not a bzImage (no Linux boot header)");
		return -EINVAL;
	}
	bz->version = le_get(img + HDR_VERSION, 2);
	if (bz->version < 0x020C) {
		snprintf(err, errlen, "boot protocol %u.%02u is too old (need 2.12)",
			 bz->version >> 8, bz->version & 0xFF);
		return -EINVAL;
	}
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH) ||
	    !(le_get(img + HDR_XLOADFLAGS, 2) & XLF_KERNEL_64)) {
		snprintf(err, errlen, "kernel has no 64-bit entry point");
		return -EINVAL;
	}
	sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	bz->pm_offset = (size_t)(sects + 1) * 512;
	if (bz->pm_offset >= len) {
		snprintf(err, errlen, "bzImage is truncated");
		return -EINVAL;
	}
	bz->pm_size = len - bz->pm_offset;
	bz->initrd_addr_max = le_get(img + HDR_INITRD_MAX, 4);
	bz->cmdline_size = le_get(img + HDR_CMDLINE_SIZE, 4);
	bz->pref_address = le_get(img + HDR_PREF_ADDRESS, 8);
	bz->init_size = le_get(img + HDR_INIT_SIZE, 4);
	/* The header ends where the jump at 0x200 says; copying more wipes the sentinel. */
	bz->hdr_end = HDR_JUMP + 2 + img[HDR_JUMP + 1];
	if (bz->hdr_end > len || bz->hdr_end > 0x290)
		bz->hdr_end = 0x268;
	return 0;
}

uint64_t x86_boot_min_low_ram(const struct x86_bzimage *bz, size_t initrd_len)
{
	uint64_t kernel_end =
	    MV_MAX(X86_KERNEL_LOAD + bz->pm_size, bz->pref_address + bz->init_size);

	return align_up(kernel_end, 4096) + align_up(initrd_len, 4096);
}

/* GDT: null, code64 (0x08), data (0x10), TSS (0x18) as Firecracker lays it out. */
static void x86_fill_gdt(uint8_t gdt[32])
{
	static const uint64_t entries[4] = {
	    0, 0x00AF9B000000FFFFULL, /* code: G, L, P, S, exec/read, accessed */
	    0x00CF93000000FFFFULL,    /* data: G, D/B, P, S, read/write, accessed */
	    0x008F8B000000FFFFULL,    /* busy 64-bit TSS */
	};

	memcpy(gdt, entries, sizeof(entries));
}

/* Identity map of the first 4 GiB with 2 MiB pages: PML4 -> PDPT -> 4 PDs, 6 pages in a row. */
static int x86_write_page_tables(struct gmem *m)
{
	uint64_t *pt = calloc(6 * 512, sizeof(*pt)), *pml4 = pt, *pdpt = pt + 512, *pd = pt + 1024;
	unsigned int i;
	int ret;

	if (!pt)
		return -ENOMEM;
	pml4[0] = htole64((X86_BOOT_PML4 + 0x1000) | 0x03);
	for (i = 0; i < 4; i++)
		pdpt[i] = htole64((X86_BOOT_PML4 + 0x2000 + i * 0x1000) | 0x03);
	for (i = 0; i < 4 * 512; i++)
		pd[i] = htole64(((uint64_t)i << 21) | 0x83);
	ret = gmem_write(m, X86_BOOT_PML4, pt, 6 * 512 * sizeof(*pt));
	free(pt);
	return ret;
}

/*
 * With hardware-reduced ACPI, Linux reboots through EFI first; with no EFI it
 * falls back to a real-mode jump to the reset vector (F000:FFF0). There is no
 * BIOS there, so put the smallest one that reboots: write the ACPI reset
 * value to the reset register, then halt.
 */
static int x86_write_reset_vector(struct gmem *m)
{
	static const uint8_t stub[] = {
	    0xB0,
	    ACPI_RESET_VAL, /* mov al, value */
	    0xBA,
	    ACPI_PM_PORT & 0xFF,
	    ACPI_PM_PORT >> 8, /* mov dx, port */
	    0xEE,	       /* out dx, al */
	    0xF4,	       /* hlt */
	    0xEB,
	    0xFD, /* jmp hlt */
	};

	return gmem_write(m, X86_RESET_VECTOR, stub, sizeof(stub));
}

/*
 * Everything reaches guest RAM through gmem_write(), so boot RAM made of
 * several adjacent ranges (boot zones) loads like one: any structure may
 * straddle a seam.
 */
int x86_boot_load(struct gmem *m, const struct x86_boot *b, uint64_t *entry, char *err,
		  size_t errlen)
{
	static const uint8_t idt[8];
	struct x86_bzimage bz;
	uint64_t kernel_end, initrd_gpa = 0, top;
	size_t cmdlen = strlen(b->cmdline) + 1;
	uint8_t *bp, gdt[32];
	unsigned int i;
	int ret;

	ret = x86_bzimage_parse(b->kernel, b->kernel_len, &bz, err, errlen);
	if (ret)
		return ret;
	if (b->nr_e820 > X86_E820_MAX) {
		snprintf(err, errlen, "too many e820 entries (%u)", b->nr_e820);
		return -EINVAL;
	}
	if (bz.cmdline_size && cmdlen > (size_t)bz.cmdline_size + 1) {
		snprintf(err, errlen, "--cmdline is %zu bytes, the kernel accepts %u", cmdlen - 1,
			 bz.cmdline_size);
		return -EINVAL;
	}
	/* The decompressor moves the kernel to pref_address and needs init_size there. */
	kernel_end = MV_MAX(X86_KERNEL_LOAD + bz.pm_size, bz.pref_address + bz.init_size);
	if (kernel_end > b->low_ram_end) {
		snprintf(
		    err, errlen,
		    "too little memory for the kernel: it needs %llu MiB below 4 GiB, the guest "
		    "has %llu MiB",
		    (unsigned long long)(kernel_end >> 20) + 1,
		    (unsigned long long)(b->low_ram_end >> 20));
		return -ENOSPC;
	}
	if (b->initrd_len) {
		top = MV_MIN(b->low_ram_end, (uint64_t)bz.initrd_addr_max + 1);
		initrd_gpa = top > b->initrd_len ? align_down(top - b->initrd_len, 4096) : 0;
		if (initrd_gpa < align_up(kernel_end, 4096)) {
			snprintf(err, errlen,
				 "too little memory for kernel and initramfs (%zu MiB) below 4 GiB",
				 b->initrd_len >> 20);
			return -ENOSPC;
		}
		if (gmem_write(m, initrd_gpa, b->initrd, b->initrd_len))
			goto fault;
	}
	if (gmem_write(m, X86_KERNEL_LOAD, b->kernel + bz.pm_offset, bz.pm_size) ||
	    gmem_write(m, X86_BOOT_CMDLINE, b->cmdline, cmdlen))
		goto fault;

	bp = calloc(1, BP_SIZE);
	if (!bp) {
		snprintf(err, errlen, "out of memory for boot_params");
		return -ENOMEM;
	}
	memcpy(bp + HDR_SETUP_SECTS, b->kernel + HDR_SETUP_SECTS, bz.hdr_end - HDR_SETUP_SECTS);
	bp[HDR_TYPE_OF_LOADER] = 0xFF;
	le_put(bp + HDR_CMD_LINE_PTR, X86_BOOT_CMDLINE, 4);
	le_put(bp + BP_EXT_CMD_LINE_PTR, 0, 4);
	le_put(bp + HDR_RAMDISK_IMAGE, initrd_gpa, 4);
	le_put(bp + HDR_RAMDISK_SIZE, b->initrd_len, 4);
	le_put(bp + BP_EXT_RAMDISK_IMAGE, initrd_gpa >> 32, 4);
	le_put(bp + BP_EXT_RAMDISK_SIZE, (uint64_t)b->initrd_len >> 32, 4);
	le_put(bp + BP_ACPI_RSDP, b->rsdp, 8);
	bp[BP_E820_ENTRIES] = b->nr_e820;
	for (i = 0; i < b->nr_e820; i++) {
		uint8_t *e = bp + BP_E820_TABLE + 20 * i;

		le_put(e, b->e820[i].addr, 8);
		le_put(e + 8, b->e820[i].size, 8);
		le_put(e + 16, b->e820[i].type, 4);
	}
	ret = gmem_write(m, X86_BOOT_PARAMS, bp, BP_SIZE);
	free(bp);
	if (ret)
		goto fault;

	x86_fill_gdt(gdt);
	if (gmem_write(m, X86_BOOT_GDT, gdt, sizeof(gdt)) ||
	    gmem_write(m, X86_BOOT_IDT, idt, sizeof(idt)) || x86_write_page_tables(m) ||
	    x86_write_reset_vector(m))
		goto fault;
	/* startup_64 sits 0x200 bytes into the protected-mode code. */
	*entry = X86_KERNEL_LOAD + 0x200;
	return 0;
fault:
	snprintf(err, errlen, "guest RAM does not cover the boot structures");
	return -EFAULT;
}
