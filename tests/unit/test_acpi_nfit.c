/*
 * Unit tests for acpi/nfit: the NFIT's structures (layout, indexes, the
 * persistent-memory GUID, handles), its checksum and XSDT link, the NVDIMM
 * root device and its children in the DSDT, refusals, and a round trip of
 * NFIT and DSDT through ACPICA's iasl (disassemble, recompile; the NFIT
 * recompiled byte for byte). The iasl test is skipped, with the reason, when
 * iasl is absent (Debian: acpica-tools, installed by scripts/setup.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/acpi.h"
#include "acpi/nfit.h"

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

/* Two NVDIMMs at 8G (node 1) and 8G+256M (node 0), 128M and 64M. */
static void machine(struct acpi_machine *m, bool numa)
{
	memset(m, 0, sizeof(*m));
	m->ncpus = 2;
	m->pci_slots = 32;
	m->pci_gsi_base = 16;
	m->pci_gsi_num = 8;
	m->pci_mmio32_base = 0xC0000000;
	m->pci_mmio32_size = 0x20000000;
	if (numa) {
		m->numa = true;
		m->nr_nodes = 2;
		m->node_ids[1] = 1;
		m->distance[0][0] = m->distance[1][1] = 10;
		m->distance[0][1] = m->distance[1][0] = 20;
	}
	m->nvdimm[0] = (struct acpi_nvdimm){.base = 8ULL << 30, .size = 128 << 20, .node = 1};
	m->nvdimm[1] = (struct acpi_nvdimm){.base = (8ULL << 30) + (256 << 20), .size = 64 << 20};
	m->nr_nvdimm = 2;
}

static struct built *build_ok(const struct acpi_machine *m)
{
	struct built *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	assert_int_equal(acpi_build(m, GPA, b->buf, CAP, &b->rsdp, &b->used), 0);
	return b;
}

static const uint8_t *table_at(const struct built *b, uint64_t gpa)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= GPA && gpa + ACPI_HDR_LEN <= GPA + b->used);
	t = b->buf + (gpa - GPA);
	len = le(t + 4, 4);
	assert_true(len >= ACPI_HDR_LEN && gpa + len <= GPA + b->used);
	assert_int_equal(acpi_sum(t, len), 0);
	return t;
}

static const uint8_t *find_table(const struct built *b, const char *sig)
{
	const uint8_t *x = table_at(b, le(b->buf + (b->rsdp - GPA) + 24, 8));
	unsigned int i, n = (le(x + 4, 4) - ACPI_HDR_LEN) / 8;

	if (!strcmp(sig, "DSDT"))
		return table_at(b, le(find_table(b, "FACP") + 140, 8));
	for (i = 0; i < n; i++) {
		const uint8_t *t = table_at(b, le(x + ACPI_HDR_LEN + 8 * i, 8));

		if (!memcmp(t, sig, 4))
			return t;
	}
	return NULL;
}

static const uint8_t *memfind(const uint8_t *h, size_t hl, const void *n, size_t nl)
{
	for (size_t i = 0; i + nl <= hl; i++)
		if (!memcmp(h + i, n, nl))
			return h + i;
	return NULL;
}

static void test_nfit_layout(void **state)
{
	struct acpi_machine m;
	struct built *b;
	const uint8_t *t, *s;
	unsigned int i;

	(void)state;
	machine(&m, true);
	b = build_ok(&m);
	t = find_table(b, "NFIT");
	assert_non_null(t);
	assert_int_equal(t[8], 1); /* revision */
	assert_int_equal(le(t + 4, 4), NFIT_HDR_LEN + 2 * NFIT_PER_DIMM);
	assert_int_equal(le(t + 36, 4), 0);
	s = t + NFIT_HDR_LEN;
	for (i = 0; i < 2; i++) {
		const struct acpi_nvdimm *n = &m.nvdimm[i];
		const uint8_t *map = s + NFIT_SPA_LEN, *dcr = map + NFIT_MAP_LEN;

		/* SPA range: index i+1, proximity valid, persistent memory, WB|NV. */
		assert_int_equal(le(s, 2), NFIT_TYPE_SPA);
		assert_int_equal(le(s + 2, 2), NFIT_SPA_LEN);
		assert_int_equal(le(s + 4, 2), i + 1);
		assert_int_equal(le(s + 6, 2), NFIT_SPA_F_PXM_VALID);
		assert_int_equal(le(s + 12, 4), n->node);
		assert_memory_equal(s + 16, nfit_pm_guid, 16);
		assert_int_equal(le(s + 32, 8), n->base);
		assert_int_equal(le(s + 40, 8), n->size);
		assert_int_equal(le(s + 48, 8), 0x8008);
		/* Region map: handle, SPA and control region indexes, one way, whole range. */
		assert_int_equal(le(map, 2), NFIT_TYPE_MAP);
		assert_int_equal(le(map + 2, 2), NFIT_MAP_LEN);
		assert_int_equal(le(map + 4, 4), nfit_handle(i));
		assert_int_equal(le(map + 12, 2), i + 1);
		assert_int_equal(le(map + 14, 2), i + 1);
		assert_int_equal(le(map + 16, 8), n->size);
		assert_int_equal(le(map + 24, 8), 0);
		assert_int_equal(le(map + 42, 2), 1);
		assert_int_equal(le(map + 44, 2), 0);
		/* Control region: its index, byte-addressable, no windows, a serial of its own. */
		assert_int_equal(le(dcr, 2), NFIT_TYPE_DCR);
		assert_int_equal(le(dcr + 2, 2), NFIT_DCR_LEN);
		assert_int_equal(le(dcr + 4, 2), i + 1);
		assert_int_equal(le(dcr + 28, 2), NFIT_FIC_BYTEN);
		assert_int_equal(le(dcr + 30, 2), 0);
		assert_int_equal(le(dcr + 24, 4), 0x4d560000U + i);
		s = dcr + NFIT_DCR_LEN;
	}
	assert_int_not_equal(nfit_handle(0), 0);
	assert_int_not_equal(nfit_handle(0), nfit_handle(1));
	free(b);
}

/* Without SRAT the proximity domain is not claimed valid. */
static void test_nfit_without_numa(void **state)
{
	struct acpi_machine m;
	struct built *b;
	const uint8_t *t;

	(void)state;
	machine(&m, false);
	b = build_ok(&m);
	assert_null(find_table(b, "SRAT"));
	t = find_table(b, "NFIT");
	assert_non_null(t);
	assert_int_equal(le(t + NFIT_HDR_LEN + 6, 2), 0);
	assert_int_equal(le(t + NFIT_HDR_LEN + 12, 4), 0);
	free(b);
}

static void test_no_nvdimm_no_nfit(void **state)
{
	struct acpi_machine m;
	struct built *b;
	const uint8_t *d;

	(void)state;
	machine(&m, true);
	m.nr_nvdimm = 0;
	b = build_ok(&m);
	assert_null(find_table(b, "NFIT"));
	d = find_table(b, "DSDT");
	assert_null(memfind(d, le(d + 4, 4), "ACPI0012", 8));
	assert_null(memfind(d, le(d + 4, 4), "NVDR", 4));
	free(b);
}

/* NVDR has _HID "ACPI0012"; NV00 and NV01 each a _ADR equal to their NFIT handle. */
static void test_dsdt_root_and_children(void **state)
{
	static const uint8_t adr1[] = {0x08, '_', 'A', 'D', 'R', 0x01};	      /* OneOp */
	static const uint8_t adr2[] = {0x08, '_', 'A', 'D', 'R', 0x0A, 0x02}; /* BytePrefix 2 */
	struct acpi_machine m;
	struct built *b;
	const uint8_t *d, *root, *c0, *c1;
	size_t len;

	(void)state;
	machine(&m, false);
	b = build_ok(&m);
	d = find_table(b, "DSDT");
	len = le(d + 4, 4);
	root = memfind(d, len, "NVDR", 4);
	assert_non_null(root);
	assert_non_null(memfind(root, len - (root - d),
				"\x0D"
				"ACPI0012",
				10));
	c0 = memfind(root, len - (root - d), "NV00", 4);
	c1 = memfind(root, len - (root - d), "NV01", 4);
	assert_non_null(c0);
	assert_non_null(c1);
	assert_true(c0 < c1);
	assert_non_null(memfind(c0, c1 - c0, adr1, sizeof(adr1)));
	assert_non_null(memfind(c1, len - (c1 - d), adr2, sizeof(adr2)));
	assert_null(memfind(d, len, "NV02", 4));
	assert_int_equal(nfit_handle(0), 1);
	assert_int_equal(nfit_handle(1), 2);
	free(b);
}

static void test_invalid(void **state)
{
	struct acpi_machine m;
	uint8_t *buf = calloc(1, CAP);
	uint64_t rsdp;
	size_t used;

	(void)state;
	assert_non_null(buf);
	machine(&m, false);
	m.nr_nvdimm = ACPI_MAX_NVDIMM + 1;
	assert_int_equal(acpi_build(&m, GPA, buf, CAP, &rsdp, &used), -EINVAL);
	machine(&m, false);
	m.nvdimm[1].size = 0;
	assert_int_equal(acpi_build(&m, GPA, buf, CAP, &rsdp, &used), -EINVAL);
	machine(&m, false);
	m.nvdimm[0].base = UINT64_MAX - (1 << 20);
	assert_int_equal(acpi_build(&m, GPA, buf, CAP, &rsdp, &used), -EINVAL);
	free(buf);
}

/* ----- iasl round trip ----- */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static uint8_t *read_file(const char *path, size_t *n)
{
	static uint8_t buf[CAP];
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	*n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

static bool file_has(const char *path, const char *needle)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static void test_iasl_roundtrip(void **state)
{
	struct acpi_machine m;
	struct built *b;
	const uint8_t *nfit, *dsdt, *re;
	char dir[64], path[128], cmd[768];
	size_t n;

	(void)state;
	if (!have_iasl()) {
		print_message("skipped: iasl not found (apt-get install acpica-tools)\n");
		skip();
	}
	machine(&m, true);
	b = build_ok(&m);
	nfit = find_table(b, "NFIT");
	dsdt = find_table(b, "DSDT");
	snprintf(dir, sizeof(dir), "/tmp/mv-nfit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nfit.dat", dir);
	write_file(path, nfit, le(nfit + 4, 4));
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	write_file(path, dsdt, le(dsdt + 4, 4));
	/*
	 * Disassemble, recompile: errors and warnings fail, but one: the PCI
	 * host bridge's _ADR beside its _HID (not this module's).
	 */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && for b in nfit dsdt; do "
		 "iasl -d $b.dat >$b.dis.log 2>&1 || { cat $b.dis.log; exit 1; }; "
		 "iasl $b.dsl >$b.asm.log 2>&1 || { cat $b.asm.log; exit 2; }; "
		 "grep -q 'Compilation successful. 0 Errors' $b.asm.log || { cat $b.asm.log; exit "
		 "3; }; "
		 "grep '^Warning' $b.asm.log | grep -v 'Warning  3073 .*_HID or _ADR' "
		 "&& { cat $b.asm.log; exit 4; }; "
		 "done; exit 0",
		 dir);
	assert_int_equal(system(cmd), 0);
	/* iasl read what was meant: the GUID as persistent memory, the devices, the handles. */
	snprintf(path, sizeof(path), "%s/nfit.dsl", dir);
	assert_true(file_has(path, "Region Type GUID : 66F0D379-B4F3-4074-AC43-0D3318B78CDB"));
	assert_true(file_has(path, "Proximity Domain Valid : 1"));
	assert_true(file_has(path, "Device Handle : 00000002"));
	assert_true(file_has(path, "Address Range Base : 0000000210000000"));
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	assert_true(file_has(path, "\"ACPI0012\" /* NVDIMM Root Device */"));
	assert_true(file_has(path, "Device (NV01)"));
	/* The recompiled NFIT is the same bytes, but for the compiler's id, revision and sum. */
	snprintf(path, sizeof(path), "%s/nfit.aml", dir);
	re = read_file(path, &n);
	assert_int_equal(n, le(nfit + 4, 4));
	assert_memory_equal(re, nfit, 9);
	assert_memory_equal(re + 10, nfit + 10, 28 - 10);
	assert_memory_equal(re + 36, nfit + 36, n - 36);
	if (!getenv("MV_IASL_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nfit_layout),	      cmocka_unit_test(test_nfit_without_numa),
	    cmocka_unit_test(test_no_nvdimm_no_nfit), cmocka_unit_test(test_dsdt_root_and_children),
	    cmocka_unit_test(test_invalid),	      cmocka_unit_test(test_iasl_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
