/*
 * Unit tests for acpi/acpi checked by the reference implementation: every
 * table memvisor emits, for several memory-hotplug slot counts and NUMA
 * layouts, is disassembled by ACPICA's iasl and the disassembly compiled
 * again with no error and no warning. What the disassembly says is then
 * checked too (the DIMM slot devices, their methods, the Notify codes, the
 * hotpluggable SRAT ranges). Skipped, with the reason, when iasl is absent
 * (Debian: acpica-tools, installed by scripts/setup.sh).
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
#include <unistd.h>

#include "acpi/acpi.h"
#include "arch/x86/memmap.h"

#define GPA 0xE0000ULL
#define CAP MEMMAP_ACPI_SIZE

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void machine(struct acpi_machine *m, unsigned int ncpus, unsigned int slots)
{
	memset(m, 0, sizeof(*m));
	m->ncpus = ncpus;
	m->pci_slots = 32;
	m->pci_gsi_base = 16;
	m->pci_gsi_num = 8;
	m->pci_mmio32_base = 0xC0000000;
	m->pci_mmio32_size = 0x20000000;
	m->ged_gsi = POWER_BUTTON_GSI;
	m->memhp_slots = slots;
	m->memhp_gsi = MEMHP_GSI;
}

/* NUMA with nodes nodes: boot RAM split over them, a hotplug area on the last. */
static void numa(struct acpi_machine *m, unsigned int nodes, uint64_t hotplug_base,
		 uint64_t hotplug_size)
{
	unsigned int i;

	m->numa = true;
	m->nr_nodes = nodes;
	for (i = 0; i < nodes; i++) {
		m->node_ids[i] = i;
		for (unsigned int j = 0; j < nodes; j++)
			m->distance[i][j] = i == j ? 10 : 20;
		m->mem[m->nr_mem++] = (struct acpi_mem_range){
		    .base = (uint64_t)i << 28, .size = 1ULL << 28, .node = i};
	}
	for (i = 0; i < m->ncpus; i++)
		m->cpu_node[i] = i % nodes;
	if (hotplug_size)
		m->mem[m->nr_mem++] = (struct acpi_mem_range){
		    .base = hotplug_base, .size = hotplug_size, .node = nodes - 1, .hotplug = true};
}

struct run {
	char dir[64];
	uint8_t *buf;
	size_t used;
};

static const uint8_t *at(const struct run *r, uint64_t gpa)
{
	assert_true(gpa >= GPA && gpa - GPA + ACPI_HDR_LEN <= r->used);
	return r->buf + (gpa - GPA);
}

static void write_table(const struct run *r, const uint8_t *t)
{
	char path[128], sig[5] = {0};
	FILE *f;

	memcpy(sig, t, 4);
	snprintf(path, sizeof(path), "%s/%s.dat", r->dir, sig);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(t, 1, le(t + 4, 4), f), le(t + 4, 4));
	assert_int_equal(fclose(f), 0);
}

/* Builds m, writes every table to a fresh directory, round-trips each through iasl. */
static void roundtrip(struct run *r, const struct acpi_machine *m)
{
	const uint8_t *rsdp, *x, *t;
	uint64_t rsdp_gpa;
	unsigned int i, n;
	char cmd[512];

	r->buf = calloc(1, CAP);
	assert_non_null(r->buf);
	assert_int_equal(acpi_build(m, GPA, r->buf, CAP, &rsdp_gpa, &r->used), 0);
	snprintf(r->dir, sizeof(r->dir), "/tmp/mv-iasl-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	rsdp = at(r, rsdp_gpa);
	x = at(r, le(rsdp + 24, 8));
	n = (le(x + 4, 4) - ACPI_HDR_LEN) / 8;
	for (i = 0; i < n; i++) {
		t = at(r, le(x + ACPI_HDR_LEN + 8 * i, 8));
		write_table(r, t);
		if (!memcmp(t, "FACP", 4))
			write_table(r, at(r, le(t + 140, 8)));
	}
	/*
	 * Disassemble and recompile each table: iasl's exit status is non-zero
	 * on errors; warnings fail the test too, but one: the PCI host bridge
	 * has _ADR beside its _HID (as QEMU's does), which iasl warns about.
	 */
	snprintf(
	    cmd, sizeof(cmd),
	    "cd %s && for t in *.dat; do b=${t%%.dat}; "
	    "iasl -d $t >$b.dis.log 2>&1 || { cat $b.dis.log; exit 1; }; "
	    "iasl -p $b.re $b.dsl >$b.asm.log 2>&1 || { cat $b.asm.log; exit 2; }; "
	    "grep -q 'Compilation successful. 0 Errors' $b.asm.log || { cat $b.asm.log; exit 3; }; "
	    "grep '^Warning' $b.asm.log | grep -v 'Warning  3073 .*_HID or _ADR' "
	    "&& { cat $b.asm.log; exit 4; }; "
	    "done; exit 0",
	    r->dir);
	assert_int_equal(system(cmd), 0);
}

static void run_done(struct run *r)
{
	char cmd[128];

	/* MV_IASL_KEEP=1 keeps the tables and disassemblies to look at. */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
	if (!getenv("MV_IASL_KEEP"))
		assert_int_equal(system(cmd), 0);
	free(r->buf);
}

/* How many lines of a disassembled table contain needle. */
static unsigned int dsl_count(const struct run *r, const char *sig, const char *needle)
{
	char path[128], line[512];
	unsigned int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dsl", r->dir, sig);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

#define NEED_IASL()                                                                                \
	do {                                                                                       \
		if (!have_iasl()) {                                                                \
			print_message("skipped: iasl not found (apt-get install acpica-tools)\n"); \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void test_dsdt_memhp_slot_counts(void **state)
{
	static const unsigned int counts[] = {1, 2, 8, 64, ACPI_MAX_MEMHP_SLOTS};
	struct acpi_machine *m = calloc(1, sizeof(*m));
	char name[96];

	NEED_IASL();
	assert_non_null(m);
	for (unsigned int c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		struct run r;
		unsigned int last = counts[c] - 1;

		machine(m, 2, counts[c]);
		roundtrip(&r, m);
		/* One PNP0C80 device per slot, each with its methods. */
		assert_int_equal(dsl_count(&r, "DSDT", "EisaId (\"PNP0C80\")"), counts[c]);
		assert_int_equal(dsl_count(&r, "DSDT", "Method (_EJ0, 1"), counts[c]);
		assert_int_equal(dsl_count(&r, "DSDT", "Method (_OST, 3"), counts[c]);
		assert_int_equal(dsl_count(&r, "DSDT", "Method (_CRS, 0"), counts[c]);
		assert_int_equal(dsl_count(&r, "DSDT", "Method (_PXM, 0"), counts[c]);
		assert_int_equal(dsl_count(&r, "DSDT", "Method (_STA, 0"), counts[c]);
		snprintf(name, sizeof(name), "Device (MP%02X)", last & 0xFFu);
		assert_int_equal(dsl_count(&r, "DSDT", name), 1);
		/* The scan: device check (1) on insert, eject request (3) on remove. */
		snprintf(name, sizeof(name), "Notify (MP%02X, One)", last & 0xFFu);
		assert_int_equal(dsl_count(&r, "DSDT", name), 1);
		snprintf(name, sizeof(name), "Notify (MP%02X, 0x03)", last & 0xFFu);
		assert_int_equal(dsl_count(&r, "DSDT", name), 1);
		assert_int_equal(
		    dsl_count(&r, "DSDT", "OperationRegion (MHPR, SystemIO, 0x0A00, 0x18)"), 1);
		assert_int_equal(dsl_count(&r, "DSDT", "\\_SB.MHPC.MSCN ()"), 1);
		/* No NUMA: no SRAT. */
		snprintf(name, sizeof(name), "%s/SRAT.dat", r.dir);
		assert_int_equal(access(name, F_OK), -1);
		run_done(&r);
	}
	free(m);
}

static void test_dsdt_without_memhp_recompiles(void **state)
{
	struct acpi_machine *m = calloc(1, sizeof(*m));
	struct run r;

	NEED_IASL();
	assert_non_null(m);
	machine(m, 1, 0);
	roundtrip(&r, m);
	assert_int_equal(dsl_count(&r, "DSDT", "PNP0C80"), 0);
	assert_int_equal(dsl_count(&r, "DSDT", "Notify (PWRB, 0x80)"), 1);
	run_done(&r);
	free(m);
}

static void test_numa_layouts_with_hotplug_area(void **state)
{
	static const struct {
		unsigned int nodes, ncpus, slots;
	} cases[] = {{1, 1, 64}, {2, 4, 8}, {4, 8, 128}};
	struct acpi_machine *m = calloc(1, sizeof(*m));

	NEED_IASL();
	assert_non_null(m);
	for (unsigned int c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct run r;

		machine(m, cases[c].ncpus, cases[c].slots);
		numa(m, cases[c].nodes, 0x100000000ULL, 16ULL << 30);
		roundtrip(&r, m);
		/* Every node's boot RAM plus the hotpluggable area. */
		assert_int_equal(dsl_count(&r, "SRAT", "Memory Affinity"), cases[c].nodes + 1);
		assert_int_equal(dsl_count(&r, "SRAT", "Hot Pluggable : 1"), 1);
		assert_int_equal(dsl_count(&r, "SRAT", "Base Address : 0000000100000000"), 1);
		assert_int_equal(dsl_count(&r, "SRAT", "Address Length : 0000000400000000"), 1);
		assert_int_equal(dsl_count(&r, "SRAT", "Processor Local APIC/SAPIC Affinity"),
				 cases[c].ncpus);
		assert_int_equal(dsl_count(&r, "DSDT", "EisaId (\"PNP0C80\")"), cases[c].slots);
		assert_int_equal(dsl_count(&r, "SLIT", "Locality   "), cases[c].nodes);
		run_done(&r);
	}
	free(m);
}

static void test_memhp_invalid_descriptions(void **state)
{
	struct acpi_machine *m = calloc(1, sizeof(*m));
	uint8_t *buf = calloc(1, CAP);
	uint64_t rsdp;
	size_t used;

	assert_non_null(m);
	assert_non_null(buf);
	machine(m, 1, ACPI_MAX_MEMHP_SLOTS + 1);
	assert_int_equal(acpi_build(m, GPA, buf, CAP, &rsdp, &used), -EINVAL);
	machine(m, 1, 4);
	m->ged_gsi = 0; /* the scan needs the GED */
	assert_int_equal(acpi_build(m, GPA, buf, CAP, &rsdp, &used), -EINVAL);
	machine(m, 1, 4);
	m->memhp_gsi = m->ged_gsi;
	assert_int_equal(acpi_build(m, GPA, buf, CAP, &rsdp, &used), -EINVAL);
	machine(m, 1, 4);
	m->memhp_gsi = 0;
	assert_int_equal(acpi_build(m, GPA, buf, CAP, &rsdp, &used), -EINVAL);
	free(buf);
	free(m);
}

/* The largest machine (every CPU, node and slot) still fits the guest's ACPI area. */
static void test_largest_machine_fits(void **state)
{
	struct acpi_machine *m = calloc(1, sizeof(*m));
	uint8_t *buf = calloc(1, CAP);
	uint64_t rsdp;
	size_t used;

	assert_non_null(m);
	assert_non_null(buf);
	machine(m, ACPI_MAX_CPUS, ACPI_MAX_MEMHP_SLOTS);
	numa(m, ACPI_MAX_NODES, 1ULL << 40, 1ULL << 40);
	while (m->nr_mem < ACPI_MAX_MEM)
		m->mem[m->nr_mem++] = (struct acpi_mem_range){.base = 1ULL << 44, .size = 4096};
	assert_int_equal(acpi_build(m, GPA, buf, CAP, &rsdp, &used), 0);
	assert_true(used <= CAP);
	free(buf);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dsdt_memhp_slot_counts),
	    cmocka_unit_test(test_dsdt_without_memhp_recompiles),
	    cmocka_unit_test(test_numa_layouts_with_hotplug_area),
	    cmocka_unit_test(test_memhp_invalid_descriptions),
	    cmocka_unit_test(test_largest_machine_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
