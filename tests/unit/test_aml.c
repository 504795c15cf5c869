/* Unit tests for acpi/aml: byte-exact AML encodings (ACPI 6.5, chapter 20). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "acpi/aml.h"

/* Asserts that a holds exactly the n bytes `want` and no allocation failed. */
static void expect_bytes(struct aml *a, const uint8_t *want, size_t n)
{
	assert_int_equal(a->err, 0);
	assert_int_equal(a->len, n);
	assert_memory_equal(a->buf, want, n);
}

#define EXPECT(a, ...)                                                                             \
	do {                                                                                       \
		static const uint8_t want_[] = {__VA_ARGS__};                                      \
		expect_bytes((a), want_, sizeof(want_));                                           \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void check_pkglen(size_t body, unsigned int n, const uint8_t *want)
{
	uint8_t out[4] = {0};

	assert_int_equal(aml_pkglen_encode(body, out), n);
	assert_memory_equal(out, want, n);
}

static void test_pkglen_boundaries(void **state)
{
	/* Encoded value counts the PkgLength bytes themselves. */
	check_pkglen(0, 1, (const uint8_t[]){0x01});
	/* Largest one-byte length: 63 in total. */
	check_pkglen(62, 1, (const uint8_t[]){0x3F});
	/* 64 in total no longer fits 6 bits: two bytes, total 63 + 2 = 65. */
	check_pkglen(63, 2, (const uint8_t[]){0x41, 0x04});
	/* Largest two-byte length: 4095 in total. */
	check_pkglen(4093, 2, (const uint8_t[]){0x4F, 0xFF});
	/* 4096 in total needs three bytes: 4094 + 3 = 4097 = 0x1001. */
	check_pkglen(4094, 3, (const uint8_t[]){0x81, 0x00, 0x01});
	/* Largest three-byte length (2^20 - 1), then four bytes. */
	check_pkglen(0xFFFFC, 3, (const uint8_t[]){0x8F, 0xFF, 0xFF});
	check_pkglen(0xFFFFD, 4, (const uint8_t[]){0xC1, 0x00, 0x00, 0x01});
}

/* A PkgLength cannot describe 2^28 bytes or more: the encoder must refuse, not overrun out[4]. */
static void test_pkglen_too_long(void **state)
{
	uint8_t out[8];

	memset(out, 0xAA, sizeof(out));
	check_pkglen(0x0FFFFFFB, 4, (const uint8_t[]){0xCF, 0xFF, 0xFF, 0xFF});
	assert_int_equal(aml_pkglen_encode(0x0FFFFFFC, out), 0);
	assert_int_equal(aml_pkglen_encode(SIZE_MAX - 2, out), 0);
	assert_int_equal(out[4], 0xAA);
}

static void test_pkglen_through_close(void **state)
{
	static const size_t sizes[] = {62, 63, 4093, 4094};
	static const unsigned int pkgbytes[] = {1, 2, 2, 3};
	uint8_t pad[4094];
	unsigned int i;

	memset(pad, 0x5A, sizeof(pad));
	for (i = 0; i < 4; i++) {
		struct aml a;
		uint8_t pkg[4];

		aml_init(&a);
		/* Scope op + name: the body is the 4-byte name and the padding. */
		aml_open_scope(&a, "ABCD");
		aml_bytes(&a, pad, sizes[i] - 4);
		aml_close(&a);
		assert_int_equal(a.err, 0);
		assert_int_equal(a.depth, 0);
		assert_int_equal(a.len, 1 + pkgbytes[i] + sizes[i]);
		assert_int_equal(a.buf[0], 0x10);
		assert_int_equal(aml_pkglen_encode(sizes[i], pkg), pkgbytes[i]);
		assert_memory_equal(a.buf + 1, pkg, pkgbytes[i]);
		assert_memory_equal(a.buf + 1 + pkgbytes[i], "ABCD", 4);
		assert_int_equal(a.buf[a.len - 1], 0x5A);
		aml_free(&a);
	}
}

static void test_namestrings(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_namestring(&a, "_S5_");
	EXPECT(&a, '_', 'S', '5', '_');
	aml_free(&a);

	aml_init(&a);
	aml_namestring(&a, "COM");
	EXPECT(&a, 'C', 'O', 'M', '_');
	aml_free(&a);

	aml_init(&a);
	aml_namestring(&a, "\\_S5_");
	EXPECT(&a, '\\', '_', 'S', '5', '_');
	aml_free(&a);

	/* Dual: root, DualNamePrefix, two segments; the short one is padded. */
	aml_init(&a);
	aml_namestring(&a, "\\_SB.PC00");
	EXPECT(&a, '\\', 0x2E, '_', 'S', 'B', '_', 'P', 'C', '0', '0');
	aml_free(&a);

	/* Multi: MultiNamePrefix and a segment count. */
	aml_init(&a);
	aml_namestring(&a, "\\_SB_.PC00.COM1");
	EXPECT(&a, '\\', 0x2F, 3, '_', 'S', 'B', '_', 'P', 'C', '0', '0', 'C', 'O', 'M', '1');
	aml_free(&a);

	/* Relative to the parent scope. */
	aml_init(&a);
	aml_namestring(&a, "^^AB.C");
	EXPECT(&a, '^', '^', 0x2E, 'A', 'B', '_', '_', 'C', '_', '_', '_');
	aml_free(&a);
}

/* "\" alone is RootChar followed by NullName (0x00), as in Scope(\) {...}. */
static void test_namestring_root_only(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_namestring(&a, "\\");
	EXPECT(&a, '\\', 0x00);
	aml_free(&a);

	aml_init(&a);
	aml_open_scope(&a, "\\");
	aml_close(&a);
	EXPECT(&a, 0x10, 0x03, '\\', 0x00);
	aml_free(&a);
}

static void test_integers(void **state)
{
	static const struct {
		uint64_t v;
		uint8_t len;
		uint8_t bytes[9];
	} cases[] = {
	    {0, 1, {0x00}},
	    {1, 1, {0x01}},
	    {2, 2, {0x0A, 0x02}},
	    {0xFF, 2, {0x0A, 0xFF}},
	    {0x100, 3, {0x0B, 0x00, 0x01}},
	    {0xFFFF, 3, {0x0B, 0xFF, 0xFF}},
	    {0x10000, 5, {0x0C, 0x00, 0x00, 0x01, 0x00}},
	    {0xFFFFFFFF, 5, {0x0C, 0xFF, 0xFF, 0xFF, 0xFF}},
	    {0x100000000ULL, 9, {0x0E, 0, 0, 0, 0, 0x01, 0, 0, 0}},
	    {0x0123456789ABCDEFULL, 9, {0x0E, 0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01}},
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aml a;

		aml_init(&a);
		aml_integer(&a, cases[i].v);
		expect_bytes(&a, cases[i].bytes, cases[i].len);
		aml_free(&a);
	}
}

static void test_string_le_eisaid(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_string(&a, "QEMU0001");
	EXPECT(&a, 0x0D, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00);
	aml_free(&a);

	aml_init(&a);
	aml_le(&a, 0x1122334455667788ULL, 3);
	EXPECT(&a, 0x88, 0x77, 0x66);
	aml_free(&a);

	/* EISAID("PNP0A03") == 0x030AD041, a DWordConst. */
	aml_init(&a);
	aml_eisaid(&a, "PNP0A03");
	EXPECT(&a, 0x0C, 0x41, 0xD0, 0x0A, 0x03);
	aml_free(&a);

	aml_init(&a);
	aml_eisaid(&a, "PNP0501");
	EXPECT(&a, 0x0C, 0x41, 0xD0, 0x05, 0x01);
	aml_free(&a);

	aml_init(&a);
	aml_eisaid(&a, "PNP0C0C");
	EXPECT(&a, 0x0C, 0x41, 0xD0, 0x0C, 0x0C);
	aml_free(&a);
}

static void test_name_and_package(void **state)
{
	struct aml a;

	/* Name(\_S5_, Package(4) {5, 5, 0, 0}) */
	aml_init(&a);
	aml_name(&a, "\\_S5_");
	aml_open_package(&a, 4);
	aml_integer(&a, 5);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_close(&a);
	EXPECT(&a, 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00,
	       0x00);
	aml_free(&a);
}

static void test_device_method(void **state)
{
	struct aml a;

	/* Device(DEV0) { Name(_ADR, 0) Method(_STA, 0) { Return (0x0F) } } */
	aml_init(&a);
	aml_open_device(&a, "DEV0");
	aml_name(&a, "_ADR");
	aml_integer(&a, 0);
	aml_open_method(&a, "_STA", 0);
	aml_return(&a);
	aml_integer(&a, 0x0F);
	aml_close(&a);
	aml_close(&a);
	EXPECT(&a, 0x5B, 0x82, 0x15, 'D', 'E', 'V', '0', 0x08, '_', 'A', 'D', 'R', 0x00, 0x14, 0x09,
	       '_', 'S', 'T', 'A', 0x00, 0xA4, 0x0A, 0x0F);
	aml_free(&a);
}

/* An inner construct that needs a 2-byte PkgLength grows its parent's length too. */
static void test_nested_lengths(void **state)
{
	uint8_t pad[70];
	struct aml a;

	memset(pad, 0xEE, sizeof(pad));
	aml_init(&a);
	aml_open_scope(&a, "\\_SB_");
	aml_open_device(&a, "D0");
	aml_bytes(&a, pad, sizeof(pad));
	aml_close(&a);
	aml_close(&a);
	assert_int_equal(a.err, 0);
	/* Device body = 4 (name) + 70 = 74 -> total 76 = 0x4C -> 0x4C, 0x04. */
	/* Scope body = 5 (\_SB_) + 2 (DeviceOp) + 2 (pkglen) + 74 = 83 -> 85 -> 0x45, 0x05. */
	assert_int_equal(a.len, 1 + 2 + 83);
	assert_int_equal(a.buf[0], 0x10);
	assert_int_equal(a.buf[1], 0x45);
	assert_int_equal(a.buf[2], 0x05);
	assert_memory_equal(a.buf + 3, "\\_SB_", 5);
	assert_int_equal(a.buf[8], 0x5B);
	assert_int_equal(a.buf[9], 0x82);
	assert_int_equal(a.buf[10], 0x4C);
	assert_int_equal(a.buf[11], 0x04);
	assert_memory_equal(a.buf + 12, "D0__", 4);
	assert_memory_equal(a.buf + 16, pad, sizeof(pad));
	aml_free(&a);
}

static void test_buffer_size_operand(void **state)
{
	uint8_t big[300];
	struct aml a;

	aml_init(&a);
	aml_open_buffer(&a);
	aml_close_buffer(&a);
	EXPECT(&a, 0x11, 0x02, 0x00);
	aml_free(&a);

	aml_init(&a);
	aml_open_buffer(&a);
	aml_byte(&a, 0x79);
	aml_close_buffer(&a);
	EXPECT(&a, 0x11, 0x03, 0x01, 0x79);
	aml_free(&a);

	aml_init(&a);
	aml_open_buffer(&a);
	aml_bytes(&a, "xyz", 3);
	aml_close_buffer(&a);
	EXPECT(&a, 0x11, 0x06, 0x0A, 0x03, 'x', 'y', 'z');
	aml_free(&a);

	/* 300 bytes: WordConst size, body 303, PkgLength 305 = 0x131. */
	memset(big, 0x33, sizeof(big));
	aml_init(&a);
	aml_open_buffer(&a);
	aml_bytes(&a, big, sizeof(big));
	aml_close_buffer(&a);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.depth, 0);
	assert_int_equal(a.len, 1 + 2 + 3 + 300);
	assert_int_equal(a.buf[0], 0x11);
	assert_int_equal(a.buf[1], 0x41);
	assert_int_equal(a.buf[2], 0x13);
	assert_int_equal(a.buf[3], 0x0B);
	assert_int_equal(a.buf[4], 0x2C);
	assert_int_equal(a.buf[5], 0x01);
	assert_memory_equal(a.buf + 6, big, sizeof(big));
	aml_free(&a);
}

static void test_resource_template(void **state)
{
	struct aml a;

	/* ResourceTemplate() { IO(Decode16, 0x3F8, 0x3F8, 1, 8) IRQNoFlags() {4} } */
	aml_init(&a);
	aml_name(&a, "_CRS");
	aml_open_buffer(&a);
	aml_res_io(&a, 0x3F8, 8);
	aml_res_irq_noflags(&a, 4);
	aml_res_end(&a);
	aml_close_buffer(&a);
	EXPECT(&a, 0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0A, 0x0D, 0x47, 0x01, 0xF8, 0x03, 0xF8,
	       0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00);
	aml_free(&a);
}

static void test_address_descriptors(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_res_word_bus(&a, 0, 0);
	EXPECT(&a, 0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	       0x00, 0x01, 0x00);
	aml_free(&a);

	aml_init(&a);
	aml_res_word_io(&a, 0x0D00, 0xFFFF);
	EXPECT(&a, 0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0x00, 0x00, 0x00, 0x0D, 0xFF, 0xFF, 0x00,
	       0x00, 0x00, 0xF3);
	aml_free(&a);

	aml_init(&a);
	aml_res_dword_mem(&a, 0xC0000000, 0xDFFFFFFF);
	EXPECT(&a, 0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xC0, 0xFF,
	       0xFF, 0xFF, 0xDF, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20);
	aml_free(&a);

	aml_init(&a);
	aml_res_qword_mem(&a, 0x8000000000ULL, 0xFFFFFFFFFFULL);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, 46);
	assert_int_equal(a.buf[0], 0x8A);
	assert_int_equal(a.buf[1], 0x2B);
	assert_int_equal(a.buf[2], 0x00);
	assert_int_equal(a.buf[3], 0x00);
	/* min at 14, max at 22, length at 38 */
	assert_int_equal(le64(a.buf + 14), 0x8000000000ULL);
	assert_int_equal(le64(a.buf + 22), 0xFFFFFFFFFFULL);
	assert_int_equal(le64(a.buf + 30), 0);
	assert_int_equal(le64(a.buf + 38), 0x8000000000ULL);
	aml_free(&a);
}

static void test_errors_are_sticky(void **state)
{
	struct aml a;
	unsigned int i;

	/* Closing with nothing open. */
	aml_init(&a);
	aml_close(&a);
	assert_int_equal(a.err, -EINVAL);
	aml_byte(&a, 1);
	assert_int_equal(a.len, 0);
	aml_free(&a);

	/* Nesting deeper than the open stack. */
	aml_init(&a);
	for (i = 0; i < 17; i++)
		aml_open_package(&a, 1);
	assert_int_equal(a.err, -E2BIG);
	aml_free(&a);
}

static void test_grows_past_first_allocation(void **state)
{
	struct aml a;
	unsigned int i;

	aml_init(&a);
	for (i = 0; i < 10000; i++)
		aml_byte(&a, (uint8_t)i);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, 10000);
	assert_true(a.cap >= 10000);
	for (i = 0; i < 10000; i++)
		assert_int_equal(a.buf[i], (uint8_t)i);
	aml_free(&a);
	assert_null(a.buf);
	assert_int_equal(a.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pkglen_boundaries),
	    cmocka_unit_test(test_pkglen_too_long),
	    cmocka_unit_test(test_pkglen_through_close),
	    cmocka_unit_test(test_namestrings),
	    cmocka_unit_test(test_namestring_root_only),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_string_le_eisaid),
	    cmocka_unit_test(test_name_and_package),
	    cmocka_unit_test(test_device_method),
	    cmocka_unit_test(test_nested_lengths),
	    cmocka_unit_test(test_buffer_size_operand),
	    cmocka_unit_test(test_resource_template),
	    cmocka_unit_test(test_address_descriptors),
	    cmocka_unit_test(test_errors_are_sticky),
	    cmocka_unit_test(test_grows_past_first_allocation),
	};

	return cmocka_run_group_tests_name("aml", tests, NULL, NULL);
}
