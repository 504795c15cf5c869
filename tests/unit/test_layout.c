/* Unit tests for mem/layout: guest physical layout and e820. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "mem/layout.h"

static struct mv_config cfg;
static struct layout lay;
static char err[256];

/* A normalized config by hand: zones only, as config_validate leaves it. */
static void cfg_reset(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(err, 0, sizeof(err));
}

static struct zone_config *zone(const char *id, uint64_t size)
{
	struct zone_config *z = &cfg.zones[cfg.nr_zones++];

	snprintf(z->id, sizeof(z->id), "%s", id);
	z->size = size;
	z->host_numa_node = -1;
	z->guest_numa_node = -1;
	return z;
}

static void check_sorted_disjoint(const struct layout *l)
{
	unsigned int i;

	for (i = 0; i < l->nr_regions; i++) {
		const struct layout_region *r = &l->regions[i];

		assert_true(r->size > 0);
		/* Nothing in the 32-bit hole. */
		assert_true(r->gpa + r->size <= LAYOUT_HOLE_BASE || r->gpa >= LAYOUT_HOLE_END);
		assert_true(r->gpa + r->size <= LAYOUT_MAX_GPA);
		if (i)
			assert_true(l->regions[i - 1].gpa + l->regions[i - 1].size <= r->gpa);
	}
}

static void test_single_zone_low(void **state)
{
	cfg_reset();
	cfg.memory.size = 512 * MiB;
	zone("mem0", 512 * MiB);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.nr_regions, 1);
	assert_int_equal(lay.regions[0].gpa, 0);
	assert_int_equal(lay.regions[0].size, 512 * MiB);
	assert_int_equal(lay.low_ram_end, 512 * MiB);
	assert_int_equal(lay.ram_end, 512 * MiB);
	assert_int_equal(lay.boot_ram, 512 * MiB);

	/* e820: low RAM, low reserved, RAM from 1M, ECAM. */
	assert_int_equal(lay.nr_e820, 4);
	assert_int_equal(lay.e820[0].addr, 0);
	assert_int_equal(lay.e820[0].size, 0x9FC00);
	assert_int_equal(lay.e820[0].type, E820_RAM);
	assert_int_equal(lay.e820[1].addr, 0x9FC00);
	assert_int_equal(lay.e820[1].addr + lay.e820[1].size, 0x100000);
	assert_int_equal(lay.e820[1].type, E820_RESERVED);
	assert_int_equal(lay.e820[2].addr, 0x100000);
	assert_int_equal(lay.e820[2].addr + lay.e820[2].size, 512 * MiB);
	assert_int_equal(lay.e820[2].type, E820_RAM);
	assert_int_equal(lay.e820[3].addr, PCI_ECAM_BASE);
	assert_int_equal(lay.e820[3].size, PCI_ECAM_SIZE);
	assert_int_equal(lay.e820[3].type, E820_RESERVED);
	/* The RSDP and the ACPI tables sit in the reserved low area. */
	assert_true(LAYOUT_RSDP_ADDR >= LAYOUT_LOW_RAM_END && LAYOUT_RSDP_ADDR < 0x100000);
	assert_true(LAYOUT_ACPI_BASE >= LAYOUT_LOW_RAM_END && LAYOUT_ACPI_END <= 0x100000);
}

static void test_straddling_zone(void **state)
{
	unsigned int i;
	uint64_t ram = 0;

	cfg_reset();
	cfg.memory.size = 4 * GiB;
	zone("mem0", 4 * GiB);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.nr_regions, 2);
	assert_int_equal(lay.regions[0].gpa, 0);
	assert_int_equal(lay.regions[0].size, 3 * GiB);
	assert_int_equal(lay.regions[0].offset, 0);
	assert_int_equal(lay.regions[1].gpa, 4 * GiB);
	assert_int_equal(lay.regions[1].size, 1 * GiB);
	assert_int_equal(lay.regions[1].offset, 3 * GiB);
	assert_int_equal(lay.regions[1].zone, 0);
	assert_int_equal(lay.low_ram_end, 3 * GiB);
	assert_int_equal(lay.ram_end, 5 * GiB);

	/* e820 covers exactly the boot RAM, ECAM between low and high RAM. */
	assert_int_equal(lay.nr_e820, 5);
	assert_int_equal(lay.e820[3].addr, PCI_ECAM_BASE);
	assert_int_equal(lay.e820[4].addr, 4 * GiB);
	assert_int_equal(lay.e820[4].size, 1 * GiB);
	for (i = 0; i < lay.nr_e820; i++)
		if (lay.e820[i].type == E820_RAM)
			ram += lay.e820[i].size;
	assert_int_equal(ram, 4 * GiB - (0x100000 - 0x9FC00));
}

static void test_second_zone_straddles(void **state)
{
	cfg_reset();
	zone("a", 2 * GiB);
	zone("b", 2 * GiB);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.nr_regions, 3);
	assert_int_equal(lay.regions[1].zone, 1);
	assert_int_equal(lay.regions[1].gpa, 2 * GiB);
	assert_int_equal(lay.regions[1].size, 1 * GiB);
	assert_int_equal(lay.regions[2].zone, 1);
	assert_int_equal(lay.regions[2].gpa, 4 * GiB);
	assert_int_equal(lay.regions[2].offset, 1 * GiB);
	assert_int_equal(lay.zones[1].ram_gpa, 2 * GiB);
	/* A zone ending exactly at the hole: the next one starts at 4G. */
	cfg_reset();
	zone("a", 3 * GiB);
	zone("b", 1 * GiB);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.nr_regions, 2);
	assert_int_equal(lay.regions[1].gpa, 4 * GiB);
	assert_int_equal(lay.regions[1].offset, 0);
	assert_int_equal(lay.low_ram_end, 3 * GiB);
}

static void test_hotplug_alignment(void **state)
{
	struct zone_config *z;

	cfg_reset();
	cfg.memory.size = 1 * GiB + 2 * MiB;
	z = zone("mem0", 1 * GiB + 2 * MiB);
	z->hotplug_size = 3 * GiB;
	z->block_size = 2 * MiB;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.nr_regions, 2);
	assert_int_equal(lay.regions[1].kind, LAYOUT_HOTPLUG);
	/* Above the hole even though RAM ends low. */
	assert_int_equal(lay.regions[1].gpa, 4 * GiB);
	assert_int_equal(lay.zones[0].hotplug_gpa, 4 * GiB);
	/* Not in e820. */
	assert_int_equal(lay.nr_e820, 4);
	assert_int_equal(lay.end, 7 * GiB);

	/* RAM above 4G ending unaligned: areas go to the next 1G, one after another. */
	cfg_reset();
	z = zone("a", 4 * GiB + 6 * MiB);
	z->hotplug_size = 128 * MiB;
	z->block_size = 2 * MiB;
	z = zone("b", 0);
	z->hotplug_size = 256 * MiB;
	z->block_size = 128 * MiB;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	check_sorted_disjoint(&lay);
	assert_int_equal(lay.zones[0].hotplug_gpa, 6 * GiB);
	assert_int_equal(lay.zones[1].hotplug_gpa, 7 * GiB);
	assert_true(is_aligned(lay.zones[1].hotplug_gpa, GiB));
	/* A block size above 1G aligns the area to it. */
	cfg_reset();
	z = zone("a", 1 * GiB);
	z->hotplug_size = 4 * GiB;
	z->block_size = 2 * GiB;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.zones[0].hotplug_gpa, 4 * GiB);
	cfg.zones[0].size = 4 * GiB;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.zones[0].hotplug_gpa, 6 * GiB);
}

static void test_zero_size_zone_hotplug_only(void **state)
{
	struct zone_config *z;

	cfg_reset();
	zone("mem0", 256 * MiB);
	z = zone("mem1", 0);
	z->hotplug_size = 1 * GiB;
	z->block_size = 2 * MiB;
	zone("mem2", 256 * MiB);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.nr_regions, 3);
	assert_int_equal(lay.regions[0].zone, 0);
	assert_int_equal(lay.regions[1].zone, 2);
	assert_int_equal(lay.regions[1].gpa, 256 * MiB);
	assert_int_equal(lay.regions[2].zone, 1);
	assert_int_equal(lay.regions[2].kind, LAYOUT_HOTPLUG);
	assert_int_equal(lay.zones[1].ram_size, 0);
	assert_int_equal(lay.boot_ram, 512 * MiB);
}

static void test_many_zones(void **state)
{
	unsigned int i, nram = 0, nhot = 0;
	char id[16];
	struct zone_config *z;

	cfg_reset();
	for (i = 0; i < CONFIG_MAX_ZONES; i++) {
		snprintf(id, sizeof(id), "z%u", i);
		/* 130M does not divide 3G: one zone straddles; odd sizes leave gaps. */
		z = zone(id, i % 3 == 2 ? 129 * MiB : 130 * MiB);
		if (i % 2) {
			z->hotplug_size = 128 * MiB;
			z->block_size = 2 * MiB;
		}
	}
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	check_sorted_disjoint(&lay);
	for (i = 0; i < lay.nr_regions; i++) {
		if (lay.regions[i].kind == LAYOUT_RAM) {
			nram++;
			assert_true(
			    is_aligned(lay.zones[lay.regions[i].zone].ram_gpa, LAYOUT_ZONE_ALIGN));
		} else {
			nhot++;
			assert_true(is_aligned(lay.regions[i].gpa, GiB));
			assert_true(lay.regions[i].gpa >= lay.ram_end);
		}
	}
	assert_int_equal(nram, CONFIG_MAX_ZONES + 1);
	assert_int_equal(nhot, CONFIG_MAX_ZONES / 2);
	assert_true(lay.nr_e820 <= LAYOUT_MAX_E820);
	assert_true(lay.nr_e820 > 5); /* gaps after the 129M zones */
	for (i = 1; i < lay.nr_e820; i++)
		assert_true(lay.e820[i - 1].addr + lay.e820[i - 1].size <= lay.e820[i].addr);
}

static void test_hugepage_zone_alignment(void **state)
{
	struct zone_config *z;

	cfg_reset();
	zone("a", 1 * GiB + 4 * MiB);
	z = zone("b", 2 * GiB);
	z->hugepages = true;
	z->hugepage_size = 1 * GiB;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.zones[1].ram_gpa, 2 * GiB);
	assert_int_equal(lay.regions[2].gpa, 4 * GiB);
	assert_int_equal(lay.regions[2].offset, 1 * GiB);
	/* The alignment gap is not RAM in e820. */
	assert_int_equal(lay.e820[2].addr + lay.e820[2].size, 1 * GiB + 4 * MiB);
	assert_int_equal(lay.e820[3].addr, 2 * GiB);
}

static void test_overflow_above_2_46(void **state)
{
	struct zone_config *z;

	cfg_reset();
	cfg.memory.size = 1 * GiB;
	z = zone("mem0", 1 * GiB);
	z->hotplug_size = 64 * TiB;
	z->block_size = 2 * MiB;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "--memory: hotplug_size="));
	assert_non_null(strstr(err, "2^46"));
	/* Exactly up to the limit is fine. */
	z->hotplug_size = 64 * TiB - 4 * GiB;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.end, LAYOUT_MAX_GPA);

	cfg_reset();
	zone("mem0", 1 * GiB);
	zone("big", 64 * TiB);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "--memory-zone id=big: size="));
	/* Sizes that would wrap 64 bits. */
	cfg.zones[1].size = UINT64_MAX & ~4095ULL;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), -ERANGE);
}

/* The ACPI DIMM area: above RAM, above 4 GiB, 1 GiB aligned, never in e820. */
static void test_dimm_area(void **state)
{
	cfg_reset();
	zone("mem0", 1ULL << 30);
	cfg.dimm_area = 4ULL << 30;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.dimm_gpa, 4ULL << 30);
	assert_int_equal(lay.dimm_size, 4ULL << 30);
	assert_int_equal(lay.end, 8ULL << 30);
	for (unsigned int i = 0; i < lay.nr_e820; i++)
		assert_true(lay.e820[i].addr + lay.e820[i].size <= lay.dimm_gpa);
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		assert_non_null(f);
		layout_format_mtree(&lay, &cfg, f);
		fclose(f);
		assert_non_null(strstr(text,
				       "0000000100000000-00000001ffffffff (prio 0, container): "
				       "dimm-area\n"));
		free(text);
	}
	/* 3.5G of RAM ends at 4.5G (above the hole): the area starts at 5G. */
	cfg_reset();
	zone("mem0", 3584ULL << 20);
	cfg.dimm_area = 128ULL << 20;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_true(lay.dimm_gpa >= lay.ram_end);
	assert_int_equal(lay.dimm_gpa % (1ULL << 30), 0);
	/* No area, no DIMM range. */
	cfg_reset();
	zone("mem0", 1ULL << 30);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(lay.dimm_gpa | lay.dimm_size, 0);
	/* Beyond 2^46: refused, naming the option. */
	cfg_reset();
	zone("mem0", 1ULL << 30);
	cfg.dimm_area = 1ULL << 46;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "hotplug_size"));
}

static void test_tiny_and_bad_configs(void **state)
{
	struct zone_config *z;

	cfg_reset();
	cfg.memory.size = 512 * KiB;
	zone("mem0", 512 * KiB);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--memory: size="));
	cfg_reset();
	z = zone("mem0", 0);
	z->hotplug_size = 1 * GiB;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--memory-zone id=mem0"));
	cfg_reset();
	zone("mem0", 1 * MiB);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	zone("odd", 1 * MiB + 1);
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "id=odd"));
	cfg_reset();
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), -EINVAL);
}

static void test_mtree(void **state)
{
	struct zone_config *z;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cfg_reset();
	cfg.memory.size = 4 * GiB;
	z = zone("mem0", 4 * GiB);
	z->hotplug_size = 1 * GiB;
	z->block_size = 2 * MiB;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	f = open_memstream(&buf, &len);
	layout_format_mtree(&lay, &cfg, f);
	layout_format_e820(&lay, f);
	fclose(f);
	assert_non_null(strstr(buf, "0000000000000000-00000000bfffffff (prio 0, ram): mem0 "
				    "@0000000000000000\n"));
	assert_non_null(strstr(buf, "00000000c0000000-00000000dfffffff (prio 0, i/o): pci-mmio32"));
	assert_non_null(strstr(buf, "00000000e0000000-00000000e00fffff (prio 0, i/o): pci-ecam"));
	assert_non_null(strstr(buf, "00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic"));
	assert_non_null(strstr(buf, "(prio 0, i/o): lapic-msi"));
	assert_non_null(strstr(buf, "0000000100000000-000000013fffffff (prio 0, ram): mem0 "
				    "@00000000c0000000\n"));
	assert_non_null(strstr(buf, "0000000140000000-000000017fffffff (prio 0, virtio-mem): "
				    "mem0-hotplug"));
	assert_non_null(strstr(buf, "e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved"));
	/* Lines come in address order: ECAM before the high RAM. */
	assert_true(strstr(buf, "pci-ecam") < strstr(buf, "@00000000c0000000"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_zone_low),
	    cmocka_unit_test(test_straddling_zone),
	    cmocka_unit_test(test_second_zone_straddles),
	    cmocka_unit_test(test_hotplug_alignment),
	    cmocka_unit_test(test_zero_size_zone_hotplug_only),
	    cmocka_unit_test(test_many_zones),
	    cmocka_unit_test(test_hugepage_zone_alignment),
	    cmocka_unit_test(test_overflow_above_2_46),
	    cmocka_unit_test(test_dimm_area),
	    cmocka_unit_test(test_tiny_and_bad_configs),
	    cmocka_unit_test(test_mtree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
