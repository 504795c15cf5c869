/* Unit tests for arch/x86/boot: bzImage parsing and the boot-protocol layout in guest RAM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "fakes.h"

#define MiB_ (1ULL << 20)

#define SETUP_SECTS 4
#define PM_OFFSET   ((SETUP_SECTS + 1) * 512)
#define PM_SIZE	    0x3000
#define IMG_LEN	    (PM_OFFSET + PM_SIZE)
#define HDR_END	    0x26C /* 0x202 + jump offset 0x6A */
#define PREF_ADDR   0x1000000ULL
#define INIT_SIZE   0x2000000ULL /* kernel_end = 48 MiB */
#define RAM_SIZE    (64 * MiB_)
#define RSDP	    0xE0000ULL

static void put(uint8_t *p, uint64_t v, unsigned int n)
{
	while (n--) {
		*p++ = v;
		v >>= 8;
	}
}

static uint64_t get(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* A minimal bzImage as Linux 6.1's header.S lays it out. */
static uint8_t *make_image(void)
{
	uint8_t *img = calloc(1, IMG_LEN);
	unsigned int i;

	assert_non_null(img);
	img[0x1EF] = 0xFF; /* sentinel: must not reach boot_params */
	img[0x1F1] = SETUP_SECTS;
	put(img + 0x1FE, 0xAA55, 2);
	img[0x200] = 0xEB;
	img[0x201] = HDR_END - 0x202;
	memcpy(img + 0x202, "HdrS", 4);
	put(img + 0x206, 0x020F, 2);
	img[0x211] = 0x01;		      /* LOADED_HIGH */
	put(img + 0x22C, 0x7FFFFFFF, 4);      /* initrd_addr_max */
	put(img + 0x236, 0x007F, 2);	      /* xloadflags: XLF_KERNEL_64 and more */
	put(img + 0x238, 2047, 4);	      /* cmdline_size */
	put(img + 0x258, PREF_ADDR, 8);	      /* pref_address */
	put(img + 0x260, INIT_SIZE, 4);	      /* init_size */
	for (i = HDR_END; i < PM_OFFSET; i++) /* past the header: must not be copied */
		img[i] = 0xCC;
	for (i = 0; i < PM_SIZE; i++)
		img[PM_OFFSET + i] = (uint8_t)(i * 7 + 1);
	return img;
}

static int parse(const uint8_t *img, size_t len, struct x86_bzimage *bz, char *err)
{
	return x86_bzimage_parse(img, len, bz, err, 128);
}

static void test_parse_valid(void **state)
{
	uint8_t *img = make_image();
	struct x86_bzimage bz;
	char err[128] = "";

	assert_int_equal(parse(img, IMG_LEN, &bz, err), 0);
	assert_int_equal(bz.version, 0x020F);
	assert_int_equal(bz.initrd_addr_max, 0x7FFFFFFF);
	assert_int_equal(bz.cmdline_size, 2047);
	assert_int_equal(bz.pref_address, PREF_ADDR);
	assert_int_equal(bz.init_size, INIT_SIZE);
	assert_int_equal(bz.pm_offset, PM_OFFSET);
	assert_int_equal(bz.pm_size, PM_SIZE);
	assert_int_equal(bz.hdr_end, HDR_END);

	/* setup_sects 0 means 4. */
	img[0x1F1] = 0;
	assert_int_equal(parse(img, IMG_LEN, &bz, err), 0);
	assert_int_equal(bz.pm_offset, 5 * 512);
	/* A jump past any known header falls back to the 2.15 header end. */
	img[0x201] = 0xFF;
	assert_int_equal(parse(img, IMG_LEN, &bz, err), 0);
	assert_int_equal(bz.hdr_end, 0x268);
	free(img);
}

static void test_parse_rejects(void **state)
{
	uint8_t *img = make_image();
	struct x86_bzimage bz;
	char err[128];

	img[0x202] = 'X';
	assert_int_equal(parse(img, IMG_LEN, &bz, err), -EINVAL);
	assert_non_null(strstr(err, "not a bzImage"));
	img[0x202] = 'H';

	img[0x1FE] = 0;
	assert_int_equal(parse(img, IMG_LEN, &bz, err), -EINVAL);
	assert_non_null(strstr(err, "not a bzImage"));
	img[0x1FE] = 0x55;

	put(img + 0x206, 0x020B, 2);
	assert_int_equal(parse(img, IMG_LEN, &bz, err), -EINVAL);
	assert_non_null(strstr(err, "2.11"));
	assert_non_null(strstr(err, "too old"));
	put(img + 0x206, 0x020C, 2);
	assert_int_equal(parse(img, IMG_LEN, &bz, err), 0);

	img[0x236] = 0x7E; /* no XLF_KERNEL_64 */
	assert_int_equal(parse(img, IMG_LEN, &bz, err), -EINVAL);
	assert_non_null(strstr(err, "64-bit"));
	img[0x236] = 0x7F;
	img[0x211] = 0x00; /* not LOADED_HIGH */
	assert_int_equal(parse(img, IMG_LEN, &bz, err), -EINVAL);
	assert_non_null(strstr(err, "64-bit"));
	img[0x211] = 0x01;

	/* Too short to hold the header at all. */
	assert_int_equal(parse(img, 0x26F, &bz, err), -EINVAL);
	assert_non_null(strstr(err, "not a bzImage"));
	/* Header present, protected-mode code missing. */
	assert_int_equal(parse(img, PM_OFFSET, &bz, err), -EINVAL);
	assert_non_null(strstr(err, "truncated"));
	img[0x1F1] = 200;
	assert_int_equal(parse(img, IMG_LEN, &bz, err), -EINVAL);
	assert_non_null(strstr(err, "truncated"));
	free(img);
}

struct rig {
	struct fake_gmem g;
	uint8_t *img;
	uint8_t initrd[MiB_ + 100];
	struct x86_e820 e820[4];
	struct x86_boot b;
	char err[256];
	uint64_t entry;
};

static int rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	unsigned int i;

	assert_non_null(r);
	fake_gmem_init(&r->g, 0, RAM_SIZE);
	r->img = make_image();
	for (i = 0; i < sizeof(r->initrd); i++)
		r->initrd[i] = (uint8_t)(i ^ (i >> 8));
	r->e820[0] = (struct x86_e820){0, 0x9FC00, E820_RAM};
	r->e820[1] = (struct x86_e820){0x9FC00, 0x100000 - 0x9FC00, E820_RESERVED};
	r->e820[2] = (struct x86_e820){0x100000, RAM_SIZE - 0x100000, E820_RAM};
	r->b = (struct x86_boot){
	    .kernel = r->img,
	    .kernel_len = IMG_LEN,
	    .initrd = r->initrd,
	    .initrd_len = sizeof(r->initrd),
	    .cmdline = "console=ttyS0 panic=-1",
	    .e820 = r->e820,
	    .nr_e820 = 3,
	    .rsdp = RSDP,
	    .low_ram_end = RAM_SIZE,
	};
	*state = r;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *r = *state;

	fake_gmem_free(&r->g);
	free(r->img);
	free(r);
	return 0;
}

static int load(struct rig *r)
{
	return x86_boot_load(&r->g.map, &r->b, &r->entry, r->err, sizeof(r->err));
}

static void test_load_boot_params(void **state)
{
	struct rig *r = *state;
	const uint8_t *bp = r->g.buf + X86_BOOT_PARAMS;
	unsigned int i;

	assert_int_equal(load(r), 0);
	assert_int_equal(r->entry, X86_KERNEL_LOAD + 0x200);
	assert_int_equal(bp[0x210], 0xFF); /* type_of_loader */
	assert_int_equal(get(bp + 0x228, 4), X86_BOOT_CMDLINE);
	assert_int_equal(get(bp + 0x0C8, 4), 0);
	assert_string_equal((const char *)r->g.buf + X86_BOOT_CMDLINE, "console=ttyS0 panic=-1");
	assert_int_equal(get(bp + 0x070, 8), RSDP); /* acpi_rsdp_addr */
	/* Header fields come from the image. */
	assert_int_equal(bp[0x1F1], SETUP_SECTS);
	assert_int_equal(get(bp + 0x1FE, 2), 0xAA55);
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(get(bp + 0x206, 2), 0x020F);
	assert_int_equal(bp[0x211], 0x01);
	assert_int_equal(get(bp + 0x258, 8), PREF_ADDR);
	assert_int_equal(get(bp + 0x260, 4), INIT_SIZE);
	/* Only up to where the jump says; the sentinel stays 0 so nothing is sanitized. */
	assert_int_equal(bp[0x1EF], 0);
	for (i = HDR_END; i < 0x300; i++)
		if (i < 0x2D0 || i >= 0x2D0 + 3 * 20)
			assert_int_equal(bp[i], 0);
	/* e820 */
	assert_int_equal(bp[0x1E8], 3);
	for (i = 0; i < 3; i++) {
		const uint8_t *e = bp + 0x2D0 + 20 * i;

		assert_int_equal(get(e, 8), r->e820[i].addr);
		assert_int_equal(get(e + 8, 8), r->e820[i].size);
		assert_int_equal(get(e + 16, 4), r->e820[i].type);
	}
	assert_int_equal(get(bp + 0x2D0 + 60, 8), 0);
	/* Protected-mode code at 1 MiB. */
	assert_memory_equal(r->g.buf + X86_KERNEL_LOAD, r->img + PM_OFFSET, PM_SIZE);
}

static void test_load_initrd_placement(void **state)
{
	struct rig *r = *state;
	const uint8_t *bp = r->g.buf + X86_BOOT_PARAMS;
	uint64_t at, size;

	assert_int_equal(load(r), 0);
	at = get(bp + 0x218, 4);
	size = get(bp + 0x21C, 4);
	assert_int_equal(size, sizeof(r->initrd));
	assert_int_equal(get(bp + 0x0C0, 4), 0);
	assert_int_equal(get(bp + 0x0C4, 4), 0);
	assert_int_equal(at % 4096, 0);
	/* Above what the decompressed kernel needs, inside RAM, as high as possible. */
	assert_true(at >= PREF_ADDR + INIT_SIZE);
	assert_true(at + size <= RAM_SIZE);
	assert_true(at + size + 4096 > RAM_SIZE);
	assert_memory_equal(r->g.buf + at, r->initrd, size);
}

static void test_load_initrd_addr_max(void **state)
{
	struct rig *r = *state;
	const uint8_t *bp = r->g.buf + X86_BOOT_PARAMS;
	uint64_t at;

	put(r->img + 0x22C, 56 * MiB_ - 1, 4);
	assert_int_equal(load(r), 0);
	at = get(bp + 0x218, 4);
	assert_true(at + sizeof(r->initrd) <= 56 * MiB_);
	assert_true(at >= 48 * MiB_);
	assert_int_equal(at, (56 * MiB_ - sizeof(r->initrd)) & ~4095ULL);
	assert_memory_equal(r->g.buf + at, r->initrd, sizeof(r->initrd));
}

static void test_load_no_initrd(void **state)
{
	struct rig *r = *state;
	const uint8_t *bp = r->g.buf + X86_BOOT_PARAMS;

	r->b.initrd = NULL;
	r->b.initrd_len = 0;
	assert_int_equal(load(r), 0);
	assert_int_equal(get(bp + 0x218, 4), 0);
	assert_int_equal(get(bp + 0x21C, 4), 0);
}

static void test_load_too_little_memory(void **state)
{
	struct rig *r = *state;

	/* The kernel needs pref_address + init_size = 48 MiB. */
	r->b.low_ram_end = 40 * MiB_;
	assert_int_equal(load(r), -ENOSPC);
	assert_non_null(strstr(r->err, "too little memory for the kernel"));
	assert_non_null(strstr(r->err, "49 MiB"));
	assert_non_null(strstr(r->err, "40 MiB"));

	/* Kernel fits, the initramfs does not fit above it. */
	r->b.low_ram_end = 49 * MiB_;
	assert_int_equal(load(r), -ENOSPC);
	assert_non_null(strstr(r->err, "initramfs"));
}

static void test_load_cmdline_limits(void **state)
{
	struct rig *r = *state;
	char exact[11] = "0123456789";

	put(r->img + 0x238, 10, 4);
	r->b.cmdline = exact;
	assert_int_equal(load(r), 0);
	assert_string_equal((const char *)r->g.buf + X86_BOOT_CMDLINE, exact);
	r->b.cmdline = "0123456789a";
	assert_int_equal(load(r), -EINVAL);
	assert_non_null(strstr(r->err, "--cmdline"));
}

static void test_load_e820_limit(void **state)
{
	struct rig *r = *state;
	struct x86_e820 many[X86_E820_MAX + 1];

	memset(many, 0, sizeof(many));
	r->b.e820 = many;
	r->b.nr_e820 = X86_E820_MAX + 1;
	assert_int_equal(load(r), -EINVAL);
	assert_non_null(strstr(r->err, "e820"));
	r->b.nr_e820 = X86_E820_MAX;
	assert_int_equal(load(r), 0);
	assert_int_equal(r->g.buf[X86_BOOT_PARAMS + 0x1E8], X86_E820_MAX);
}

/* Walks the 4-level tables the loader built; returns the physical address or ~0. */
static uint64_t walk(const uint8_t *ram, uint64_t va)
{
	uint64_t e;

	e = get(ram + X86_BOOT_PML4 + 8 * ((va >> 39) & 511), 8);
	if (!(e & 1))
		return ~0ULL;
	e = get(ram + (e & ~0xFFFULL) + 8 * ((va >> 30) & 511), 8);
	if (!(e & 1))
		return ~0ULL;
	assert_false(e & 0x80); /* no 1 GiB pages: PDPT entries point at PDs */
	e = get(ram + (e & ~0xFFFULL) + 8 * ((va >> 21) & 511), 8);
	if (!(e & 1))
		return ~0ULL;
	assert_true(e & 0x80); /* 2 MiB page */
	assert_true(e & 0x02); /* writable */
	return (e & ~0x1FFFFFULL & 0x000FFFFFFFFFF000ULL) | (va & 0x1FFFFF);
}

static void test_page_tables(void **state)
{
	static const uint64_t probes[] = {0,	      0x1FFFFF,	  0x200000,   0x7000,
					  0x1000000,  0x3FFFFFFF, 0x40000000, 0xC0001234,
					  0xFEE00000, 0xFFFFFFFF};
	struct rig *r = *state;
	unsigned int i;

	assert_int_equal(load(r), 0);
	assert_int_equal(get(r->g.buf + X86_BOOT_PML4, 8), 0xA003);
	assert_int_equal(get(r->g.buf + 0xA000, 8), 0xB003);
	assert_int_equal(get(r->g.buf + 0xA000 + 24, 8), 0xE003);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		assert_int_equal(walk(r->g.buf, probes[i]), probes[i]);
	/* Nothing above 4 GiB is mapped. */
	assert_int_equal(walk(r->g.buf, 0x100000000ULL), ~0ULL);
	assert_int_equal(walk(r->g.buf, 0x8000000000ULL), ~0ULL);
}

static void test_gdt_idt_reset_stub(void **state)
{
	static const uint8_t stub[] = {0xB0, 0x01, 0xBA, 0x00, 0x06, 0xEE, 0xF4, 0xEB, 0xFD};
	struct rig *r = *state;
	const uint8_t *gdt = r->g.buf + X86_BOOT_GDT;

	memset(r->g.buf + X86_BOOT_IDT, 0x77, 8);
	assert_int_equal(load(r), 0);
	assert_int_equal(get(gdt, 8), 0);
	assert_int_equal(get(gdt + 8, 8), 0x00AF9B000000FFFFULL);
	assert_int_equal(get(gdt + 16, 8), 0x00CF93000000FFFFULL);
	assert_int_equal(get(gdt + 24, 8), 0x008F8B000000FFFFULL);
	assert_int_equal(get(r->g.buf + X86_BOOT_IDT, 8), 0);
	/* mov al, 1; mov dx, 0x600; out dx, al; hlt; jmp $-1 (back to hlt) */
	assert_memory_equal(r->g.buf + X86_RESET_VECTOR, stub, sizeof(stub));
	assert_true(X86_RESET_VECTOR + sizeof(stub) <= 0x100000);
}

static void test_load_fault_without_low_ram(void **state)
{
	struct rig *r = *state;
	struct fake_gmem high;
	char err[256];
	uint64_t entry;

	/* RAM only from 1 MiB: no room for boot_params, GDT or page tables. */
	fake_gmem_init(&high, X86_KERNEL_LOAD, RAM_SIZE - X86_KERNEL_LOAD);
	assert_int_equal(x86_boot_load(&high.map, &r->b, &entry, err, sizeof(err)), -EFAULT);
	assert_non_null(strstr(err, "guest RAM"));
	fake_gmem_free(&high);
}

/*
 * Boot RAM made of adjacent ranges with separate host backing (two boot
 * zones): a seam through the page tables and one through the initramfs
 * load exactly as one flat range does.
 */
static void test_load_across_zone_seams(void **state)
{
	struct rig *r = *state;
	const uint64_t seam[2] = {X86_BOOT_PML4 + 0x3800, RAM_SIZE - MiB_ / 2};
	uint8_t *lo = calloc(1, seam[0]), *mid = calloc(1, seam[1] - seam[0]);
	uint8_t *hi = calloc(1, RAM_SIZE - seam[1]), *flat = malloc(RAM_SIZE);
	struct gmem m;
	char err[256];
	uint64_t entry;

	assert_non_null(lo);
	assert_non_null(mid);
	assert_non_null(hi);
	assert_non_null(flat);
	assert_int_equal(gmem_init(&m), 0);
	assert_int_equal(gmem_add(&m, 0, seam[0], lo), 0);
	assert_int_equal(gmem_add(&m, seam[0], seam[1] - seam[0], mid), 0);
	assert_int_equal(gmem_add(&m, seam[1], RAM_SIZE - seam[1], hi), 0);
	assert_int_equal(x86_boot_load(&m, &r->b, &entry, err, sizeof(err)), 0);
	assert_int_equal(load(r), 0);
	assert_int_equal(entry, r->entry);
	/* The initramfs really straddles the second seam. */
	assert_true(get(r->g.buf + X86_BOOT_PARAMS + 0x218, 4) < seam[1]);
	assert_int_equal(gmem_read(&m, 0, flat, RAM_SIZE), 0);
	assert_memory_equal(flat, r->g.buf, RAM_SIZE);
	gmem_destroy(&m);
	free(lo);
	free(mid);
	free(hi);
	free(flat);
}

static void test_load_bad_image(void **state)
{
	struct rig *r = *state;

	r->img[0x203] = 0;
	assert_int_equal(load(r), -EINVAL);
	assert_non_null(strstr(r->err, "bzImage"));
}

#define RIG_TEST(f) cmocka_unit_test_setup_teardown(f, rig_setup, rig_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),	   cmocka_unit_test(test_parse_rejects),
	    RIG_TEST(test_load_boot_params),	   RIG_TEST(test_load_initrd_placement),
	    RIG_TEST(test_load_initrd_addr_max),   RIG_TEST(test_load_no_initrd),
	    RIG_TEST(test_load_too_little_memory), RIG_TEST(test_load_cmdline_limits),
	    RIG_TEST(test_load_e820_limit),	   RIG_TEST(test_page_tables),
	    RIG_TEST(test_gdt_idt_reset_stub),	   RIG_TEST(test_load_fault_without_low_ram),
	    RIG_TEST(test_load_bad_image),	   RIG_TEST(test_load_across_zone_seams),
	};

	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
