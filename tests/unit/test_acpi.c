/* Unit tests for acpi/acpi: table layout, links, checksums, NUMA tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/acpi.h"

#define GPA 0xE0000ULL
#define CAP 0x20000

struct built {
	uint8_t buf[CAP];
	uint64_t rsdp;
	size_t used;
};

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void machine_default(struct acpi_machine *m, unsigned int ncpus)
{
	memset(m, 0, sizeof(*m));
	m->ncpus = ncpus;
	m->pci_slots = 32;
	m->pci_gsi_base = 16;
	m->pci_gsi_num = 8;
	m->pci_mmio32_base = 0xC0000000;
	m->pci_mmio32_size = 0x20000000;
}

static struct built *build_ok(const struct acpi_machine *m)
{
	struct built *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	assert_int_equal(acpi_build(m, GPA, b->buf, CAP, &b->rsdp, &b->used), 0);
	assert_int_equal(b->rsdp, GPA);
	assert_true(b->used > 36 && b->used <= CAP);
	return b;
}

/* Pointer to the table at guest address gpa, checked to lie inside what was built. */
static const uint8_t *table_at(const struct built *b, uint64_t gpa)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= GPA && gpa + ACPI_HDR_LEN <= GPA + b->used);
	assert_int_equal(gpa % 16, 0);
	t = b->buf + (gpa - GPA);
	len = le(t + 4, 4);
	assert_true(len >= ACPI_HDR_LEN);
	assert_true(gpa + len <= GPA + b->used);
	assert_int_equal(acpi_sum(t, len), 0);
	return t;
}

static const uint8_t *xsdt_of(const struct built *b)
{
	const uint8_t *r = b->buf + (b->rsdp - GPA);

	return table_at(b, le(r + 24, 8));
}

static unsigned int xsdt_count(const uint8_t *x)
{
	return (le(x + 4, 4) - ACPI_HDR_LEN) / 8;
}

/* The table with signature sig listed in the XSDT, or NULL. */
static const uint8_t *find_table(const struct built *b, const char *sig)
{
	const uint8_t *x = xsdt_of(b);
	unsigned int i;

	for (i = 0; i < xsdt_count(x); i++) {
		const uint8_t *t = table_at(b, le(x + ACPI_HDR_LEN + 8 * i, 8));

		if (!memcmp(t, sig, 4))
			return t;
	}
	return NULL;
}

static const uint8_t *dsdt_of(const struct built *b)
{
	const uint8_t *f = find_table(b, "FACP");
	const uint8_t *d;

	assert_non_null(f);
	d = table_at(b, le(f + 140, 8));
	assert_memory_equal(d, "DSDT", 4);
	return d;
}

static const uint8_t *memfind(const uint8_t *h, size_t hl, const void *n, size_t nl)
{
	size_t i;

	for (i = 0; i + nl <= hl; i++)
		if (!memcmp(h + i, n, nl))
			return h + i;
	return NULL;
}

/* Decodes a PkgLength at p; returns its value and sets *n to its size in bytes. */
static size_t pkglen(const uint8_t *p, unsigned int *n)
{
	unsigned int extra = p[0] >> 6, i;
	size_t v;

	*n = extra + 1;
	if (!extra)
		return p[0] & 0x3F;
	v = p[0] & 0x0F;
	for (i = 1; i <= extra; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

/* Decodes an AML integer (Zero/One/Byte/Word/DWord/QWord) and advances *p. */
static uint64_t aml_int(const uint8_t **p)
{
	const uint8_t *q = *p;

	switch (q[0]) {
	case 0x00:
	case 0x01:
		*p = q + 1;
		return q[0];
	case 0x0A:
		*p = q + 2;
		return q[1];
	case 0x0B:
		*p = q + 3;
		return le(q + 1, 2);
	case 0x0C:
		*p = q + 5;
		return le(q + 1, 4);
	case 0x0E:
		*p = q + 9;
		return le(q + 1, 8);
	}
	fail_msg("not an AML integer: %#x", q[0]);
	return 0;
}

static void test_rsdp(void **state)
{
	struct acpi_machine m;
	struct built *b;
	const uint8_t *r;

	machine_default(&m, 2);
	b = build_ok(&m);
	r = b->buf;
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(acpi_sum(r, 20), 0);
	assert_int_equal(acpi_sum(r, 36), 0);
	assert_int_equal(r[15], 2);
	assert_int_equal(le(r + 16, 4), 0); /* no RSDT */
	assert_int_equal(le(r + 20, 4), 36);
	assert_memory_equal(xsdt_of(b), "XSDT", 4);
	free(b);
}

static void test_every_table_linked_and_summed(void **state)
{
	static const char *const want[] = {"FACP", "APIC"};
	struct acpi_machine m;
	const uint8_t *x;
	struct built *b;
	unsigned int i;

	machine_default(&m, 4);
	b = build_ok(&m);
	x = xsdt_of(b);
	assert_int_equal(x[8], 1);
	assert_int_equal(xsdt_count(x), 2);
	for (i = 0; i < 2; i++) {
		const uint8_t *t = table_at(b, le(x + ACPI_HDR_LEN + 8 * i, 8));

		assert_memory_equal(t, want[i], 4);
		assert_memory_equal(t + 10, "MEMVSR", 6);
	}
	assert_null(find_table(b, "SRAT"));
	assert_null(find_table(b, "SLIT"));
	/* The DSDT is reached only through the FADT. */
	assert_null(find_table(b, "DSDT"));
	dsdt_of(b);
	free(b);
}

static void test_fadt(void **state)
{
	static const uint8_t gas600[12] = {1, 8, 0, 1, 0x00, 0x06, 0, 0, 0, 0, 0, 0};
	struct acpi_machine m;
	const uint8_t *f, *d;
	struct built *b;
	uint32_t flags;

	machine_default(&m, 1);
	b = build_ok(&m);
	f = find_table(b, "FACP");
	assert_non_null(f);
	assert_int_equal(le(f + 4, 4), 276);
	assert_int_equal(f[8], 6);
	flags = le(f + 112, 4);
	assert_true(flags & (1U << 20)); /* HW_REDUCED_ACPI */
	assert_true(flags & (1U << 10)); /* RESET_REG_SUP */
	/* MSI_NOT_SUPPORTED would make Linux call pci_no_msi(). */
	assert_false(le(f + 109, 2) & (1U << 3));
	assert_memory_equal(f + 116, gas600, 12); /* RESET_REG */
	assert_int_equal(f[128], ACPI_RESET_VAL);
	assert_memory_equal(f + 244, gas600, 12); /* SLEEP_CONTROL_REG */
	assert_memory_equal(f + 256, gas600, 12); /* SLEEP_STATUS_REG */
	/* No SCI, PM1 or GPE blocks in hardware-reduced mode. */
	assert_int_equal(le(f + 46, 2), 0);
	assert_int_equal(le(f + 56, 4), 0);
	d = dsdt_of(b);
	assert_int_equal(le(f + 40, 4), le(f + 140, 8));
	assert_int_equal(le(f + 140, 8), GPA + (d - b->buf));
	free(b);
}

static void test_madt(void **state)
{
	static const unsigned int counts[] = {1, 3, 8, ACPI_MAX_CPUS};
	unsigned int k;

	for (k = 0; k < 4; k++) {
		unsigned int n = counts[k], i;
		struct acpi_machine m;
		const uint8_t *a, *e;
		struct built *b;

		machine_default(&m, n);
		b = build_ok(&m);
		a = find_table(b, "APIC");
		assert_non_null(a);
		assert_int_equal(le(a + 4, 4), 44 + 8 * n + 12);
		assert_int_equal(le(a + 36, 4), 0xFEE00000);
		assert_int_equal(le(a + 40, 4), 0);
		e = a + 44;
		for (i = 0; i < n; i++, e += 8) {
			assert_int_equal(e[0], 0);
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], i);
			assert_int_equal(e[3], i);
			assert_int_equal(le(e + 4, 4), 1);
		}
		assert_int_equal(e[0], 1);
		assert_int_equal(e[1], 12);
		assert_int_equal(e[2], 0);
		assert_int_equal(le(e + 4, 4), 0xFEC00000);
		assert_int_equal(le(e + 8, 4), 0);
		free(b);
	}
}

static void test_dsdt_s5_and_devices(void **state)
{
	static const uint8_t s5[] = {0x08, '\\', '_',  'S',  '5',  '_',	 0x12, 0x08,
				     0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00};
	static const uint8_t com1_io[] = {0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08};
	static const uint8_t pnp0a03[] = {0x0C, 0x41, 0xD0, 0x0A, 0x03};
	static const uint8_t pnp0501[] = {0x0C, 0x41, 0xD0, 0x05, 0x01};
	struct acpi_machine m;
	const uint8_t *d, *p;
	struct built *b;
	unsigned int n;
	size_t len, body;

	machine_default(&m, 2);
	b = build_ok(&m);
	d = dsdt_of(b);
	len = le(d + 4, 4);
	assert_int_equal(d[8], 2); /* rev 2: 64-bit integers */
	/* The body is Name(\_S5_, ...) and then Scope(\_SB_) up to the very end. */
	assert_memory_equal(d + ACPI_HDR_LEN, s5, sizeof(s5));
	p = d + ACPI_HDR_LEN + sizeof(s5);
	assert_int_equal(p[0], 0x10);
	body = pkglen(p + 1, &n);
	assert_int_equal(p + 1 + body, d + len);
	assert_memory_equal(p + 1 + n, "\\_SB_", 5);
	assert_non_null(memfind(d, len, "COM1", 4));
	assert_non_null(memfind(d, len, pnp0501, sizeof(pnp0501)));
	assert_non_null(memfind(d, len, com1_io, sizeof(com1_io)));
	assert_non_null(memfind(d, len, "PEVT", 4));
	assert_non_null(memfind(d, len, "QEMU0001", 9));
	assert_non_null(memfind(d, len, "PC00", 4));
	assert_non_null(memfind(d, len, pnp0a03, sizeof(pnp0a03)));
	free(b);
}

static void test_dsdt_power_button(void **state)
{
	/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {6} */
	static const uint8_t irq[] = {0x89, 0x06, 0x00, 0x03, 0x01, 0x06, 0x00, 0x00, 0x00};
	/* Method(_EVT, 1) { Notify(PWRB, 0x80) } body */
	static const uint8_t evt[] = {'_', 'E', 'V', 'T', 0x01, 0x86,
				      'P', 'W', 'R', 'B', 0x0A, 0x80};
	static const uint8_t pnp0c0c[] = {0x0C, 0x41, 0xD0, 0x0C, 0x0C};
	struct acpi_machine m;
	const uint8_t *d;
	struct built *b;
	size_t len;

	machine_default(&m, 1);
	b = build_ok(&m);
	d = dsdt_of(b);
	assert_null(memfind(d, le(d + 4, 4), "ACPI0013", 9));
	free(b);

	m.ged_gsi = 6;
	b = build_ok(&m);
	d = dsdt_of(b);
	len = le(d + 4, 4);
	assert_non_null(memfind(d, len, "ACPI0013", 9));
	assert_non_null(memfind(d, len, pnp0c0c, sizeof(pnp0c0c)));
	assert_non_null(memfind(d, len, irq, sizeof(irq)));
	assert_non_null(memfind(d, len, evt, sizeof(evt)));
	free(b);
}

static void test_dsdt_prt(void **state)
{
	static const uint8_t prt[] = {0x08, '_', 'P', 'R', 'T', 0x12};
	struct acpi_machine m;
	const uint8_t *d, *p, *end;
	struct built *b;
	unsigned int n, slot;
	size_t len;

	machine_default(&m, 1);
	b = build_ok(&m);
	d = dsdt_of(b);
	p = memfind(d, le(d + 4, 4), prt, sizeof(prt));
	assert_non_null(p);
	p += sizeof(prt);
	len = pkglen(p, &n);
	end = p + len;
	assert_true(end <= d + le(d + 4, 4));
	p += n;
	assert_int_equal(*p++, 31);
	for (slot = 1; slot < 32; slot++) {
		const uint8_t *sub;

		assert_int_equal(*p++, 0x12);
		len = pkglen(p, &n);
		sub = p + len;
		p += n;
		assert_int_equal(*p++, 4);
		assert_int_equal(aml_int(&p), (uint64_t)slot << 16 | 0xFFFF);
		assert_int_equal(aml_int(&p), 0); /* INTA */
		assert_int_equal(aml_int(&p), 0); /* source: global GSI */
		assert_int_equal(aml_int(&p), 16 + slot % 8);
		assert_ptr_equal(p, sub);
	}
	assert_ptr_equal(p, end);
	free(b);
}

static void test_dsdt_without_pci(void **state)
{
	struct acpi_machine m;
	const uint8_t *d;
	struct built *b;

	machine_default(&m, 1);
	m.pci_slots = 0;
	m.pci_gsi_num = 0;
	b = build_ok(&m);
	d = dsdt_of(b);
	assert_null(memfind(d, le(d + 4, 4), "PC00", 4));
	assert_null(memfind(d, le(d + 4, 4), "_PRT", 4));
	assert_non_null(memfind(d, le(d + 4, 4), "COM1", 4));
	free(b);
}

static void test_numa_two_nodes(void **state)
{
	/* Hand-assembled SRAT body (after the 36-byte header). */
	static const uint8_t srat_body[] = {
	    1,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0, /* reserved */
	    /* LAPIC affinity: cpu 0 -> pxm 0, cpu 1 -> pxm 1 */
	    0,
	    16,
	    0,
	    0,
	    1,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0, /**/
	    0,
	    16,
	    1,
	    1,
	    1,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* memory [0, 2 GiB) pxm 0, enabled */
	    1,
	    40,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0, /**/
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0, /* base */
	    0,
	    0,
	    0,
	    0x80,
	    0,
	    0,
	    0,
	    0, /* length */
	    0,
	    0,
	    0,
	    0,
	    1,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* memory [4 GiB, +1 GiB) pxm 1, enabled, hot-pluggable */
	    1,
	    40,
	    1,
	    0,
	    0,
	    0,
	    0,
	    0, /**/
	    0,
	    0,
	    0,
	    0,
	    1,
	    0,
	    0,
	    0, /* base */
	    0,
	    0,
	    0,
	    0x40,
	    0,
	    0,
	    0,
	    0, /* length */
	    0,
	    0,
	    0,
	    0,
	    3,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	};
	static const uint8_t slit_body[] = {2, 0, 0, 0, 0, 0, 0, 0, 10, 20, 20, 10};
	static const char *const order[] = {"FACP", "APIC", "SRAT", "SLIT"};
	struct acpi_machine m;
	const uint8_t *s, *x;
	struct built *b;
	unsigned int i;

	machine_default(&m, 2);
	m.numa = true;
	m.nr_nodes = 2;
	m.node_ids[0] = 0;
	m.node_ids[1] = 1;
	m.cpu_node[0] = 0;
	m.cpu_node[1] = 1;
	m.distance[0][0] = 10;
	m.distance[0][1] = 20;
	m.distance[1][0] = 20;
	m.distance[1][1] = 10;
	m.nr_mem = 2;
	m.mem[0] = (struct acpi_mem_range){.base = 0, .size = 0x80000000, .node = 0};
	m.mem[1] = (struct acpi_mem_range){
	    .base = 0x100000000ULL, .size = 0x40000000, .node = 1, .hotplug = true};
	b = build_ok(&m);

	x = xsdt_of(b);
	assert_int_equal(xsdt_count(x), 4);
	for (i = 0; i < 4; i++)
		assert_memory_equal(table_at(b, le(x + ACPI_HDR_LEN + 8 * i, 8)), order[i], 4);

	s = find_table(b, "SRAT");
	assert_non_null(s);
	assert_int_equal(s[8], 3);
	assert_int_equal(le(s + 4, 4), ACPI_HDR_LEN + sizeof(srat_body));
	assert_memory_equal(s + ACPI_HDR_LEN, srat_body, sizeof(srat_body));

	s = find_table(b, "SLIT");
	assert_non_null(s);
	assert_int_equal(s[8], 1);
	assert_int_equal(le(s + 4, 4), ACPI_HDR_LEN + sizeof(slit_body));
	assert_memory_equal(s + ACPI_HDR_LEN, slit_body, sizeof(slit_body));
	free(b);
}

/* The seed's example: --numa guest_numa_id=0,distances=[1@15,2@25] ... */
static void test_numa_seed_distances(void **state)
{
	static const uint8_t d[3][3] = {{10, 15, 25}, {15, 10, 20}, {25, 20, 10}};
	static const uint8_t slit_body[] = {3,	0,  0,	0,  0,	0,  0,	0, 10,
					    15, 25, 15, 10, 20, 25, 20, 10};
	struct acpi_machine m;
	const uint8_t *s;
	struct built *b;
	unsigned int i, j;

	machine_default(&m, 3);
	m.numa = true;
	m.nr_nodes = 3;
	for (i = 0; i < 3; i++) {
		m.node_ids[i] = i;
		m.cpu_node[i] = i;
		m.mem[i] = (struct acpi_mem_range){
		    .base = i * 0x40000000ULL, .size = 0x40000000, .node = i};
		for (j = 0; j < 3; j++)
			m.distance[i][j] = d[i][j];
	}
	m.nr_mem = 3;
	b = build_ok(&m);
	s = find_table(b, "SLIT");
	assert_non_null(s);
	assert_int_equal(le(s + 4, 4), 53);
	assert_memory_equal(s + ACPI_HDR_LEN, slit_body, sizeof(slit_body));
	s = find_table(b, "SRAT");
	assert_non_null(s);
	assert_int_equal(le(s + 4, 4), ACPI_HDR_LEN + 12 + 3 * 16 + 3 * 40);
	/* Third memory range: pxm 2 at 2 GiB. */
	s += ACPI_HDR_LEN + 12 + 3 * 16 + 2 * 40;
	assert_int_equal(s[0], 1);
	assert_int_equal(le(s + 2, 4), 2);
	assert_int_equal(le(s + 8, 8), 0x80000000ULL);
	assert_int_equal(le(s + 16, 8), 0x40000000ULL);
	assert_int_equal(le(s + 28, 4), 1);
	free(b);
}

/* A proximity domain above 255 is split: low byte at +2, the upper 24 bits at +9. */
static void test_srat_wide_pxm(void **state)
{
	struct acpi_machine m;
	const uint8_t *s;
	struct built *b;

	machine_default(&m, 1);
	m.numa = true;
	m.nr_nodes = 1;
	m.node_ids[0] = 0x123456;
	m.cpu_node[0] = 0x123456;
	m.distance[0][0] = 10;
	b = build_ok(&m);
	s = find_table(b, "SRAT");
	assert_non_null(s);
	s += ACPI_HDR_LEN + 12;
	assert_int_equal(s[2], 0x56);
	assert_int_equal(s[9], 0x34);
	assert_int_equal(s[10], 0x12);
	assert_int_equal(s[11], 0x00);
	free(b);
}

static void test_enospc_leaves_buffer_alone(void **state)
{
	struct acpi_machine m;
	uint8_t small[256];
	uint64_t rsdp = 0x1234;
	size_t used = 77;

	machine_default(&m, 2);
	memset(small, 0xA5, sizeof(small));
	assert_int_equal(acpi_build(&m, GPA, small, sizeof(small), &rsdp, &used), -ENOSPC);
	assert_int_equal(small[0], 0xA5);
	assert_int_equal(small[255], 0xA5);
	assert_int_equal(rsdp, 0x1234);
	assert_int_equal(used, 77);
	assert_int_equal(acpi_build(&m, GPA, small, 0, &rsdp, &used), -ENOSPC);
}

static void test_exact_cap_fits(void **state)
{
	struct acpi_machine m;
	struct built *b;
	uint8_t *exact;
	uint64_t rsdp;
	size_t used;

	machine_default(&m, 2);
	b = build_ok(&m);
	exact = malloc(b->used);
	assert_non_null(exact);
	assert_int_equal(acpi_build(&m, GPA, exact, b->used, &rsdp, &used), 0);
	assert_int_equal(used, b->used);
	assert_memory_equal(exact, b->buf, used);
	assert_int_equal(acpi_build(&m, GPA, exact, b->used - 1, &rsdp, &used), -ENOSPC);
	free(exact);
	free(b);
}

static void test_invalid_descriptions(void **state)
{
	struct acpi_machine m;
	uint8_t buf[64];
	uint64_t rsdp;
	size_t used;

	machine_default(&m, 0);
	assert_int_equal(acpi_build(&m, GPA, buf, sizeof(buf), &rsdp, &used), -EINVAL);
	machine_default(&m, ACPI_MAX_CPUS + 1);
	assert_int_equal(acpi_build(&m, GPA, buf, sizeof(buf), &rsdp, &used), -EINVAL);
	machine_default(&m, 1);
	m.pci_slots = 33;
	assert_int_equal(acpi_build(&m, GPA, buf, sizeof(buf), &rsdp, &used), -EINVAL);
	machine_default(&m, 1);
	m.pci_gsi_num = 0;
	assert_int_equal(acpi_build(&m, GPA, buf, sizeof(buf), &rsdp, &used), -EINVAL);
	machine_default(&m, 1);
	m.numa = true;
	assert_int_equal(acpi_build(&m, GPA, buf, sizeof(buf), &rsdp, &used), -EINVAL);
	m.nr_nodes = ACPI_MAX_NODES + 1;
	assert_int_equal(acpi_build(&m, GPA, buf, sizeof(buf), &rsdp, &used), -EINVAL);
	machine_default(&m, 1);
	m.nr_mem = 1;
	m.mem[0] = (struct acpi_mem_range){.base = UINT64_MAX - 10, .size = 4096};
	assert_int_equal(acpi_build(&m, GPA, buf, sizeof(buf), &rsdp, &used), -EINVAL);
	machine_default(&m, 1);
	m.nr_mem = ACPI_MAX_MEM + 1;
	assert_int_equal(acpi_build(&m, GPA, buf, sizeof(buf), &rsdp, &used), -EINVAL);
}

static void test_sum(void **state)
{
	static const uint8_t z[3] = {0x80, 0x7F, 0x01};

	assert_int_equal(acpi_sum(z, 0), 0);
	assert_int_equal(acpi_sum(z, 2), 0xFF);
	assert_int_equal(acpi_sum(z, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sum),
	    cmocka_unit_test(test_rsdp),
	    cmocka_unit_test(test_every_table_linked_and_summed),
	    cmocka_unit_test(test_fadt),
	    cmocka_unit_test(test_madt),
	    cmocka_unit_test(test_dsdt_s5_and_devices),
	    cmocka_unit_test(test_dsdt_power_button),
	    cmocka_unit_test(test_dsdt_prt),
	    cmocka_unit_test(test_dsdt_without_pci),
	    cmocka_unit_test(test_numa_two_nodes),
	    cmocka_unit_test(test_numa_seed_distances),
	    cmocka_unit_test(test_srat_wide_pxm),
	    cmocka_unit_test(test_enospc_leaves_buffer_alone),
	    cmocka_unit_test(test_exact_cap_fits),
	    cmocka_unit_test(test_invalid_descriptions),
	};

	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
