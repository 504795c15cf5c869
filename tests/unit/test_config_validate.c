/* Unit tests for config_validate: one test per rule, and normalization. */
#include "test_config_util.h"

#include "devices/pci.h"
#include "mem/hotplug.h"

#define VM "--memory size=0,hotplug_method=virtio-mem "

static void test_kernel_required(void **state)
{
	assert_int_equal(parse_line("--memory size=1G"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--kernel is required");
}

static void test_dry_run_needs_no_kernel(void **state)
{
	assert_int_equal(parse_line("--dry-run --memory size=1G"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
}

static void test_memory_size_mandatory(void **state)
{
	expect_err("--memory mergeable=on", "--memory: size is mandatory (e.g. --memory size=1G)");
}

static void test_memory_size0_needs_zones(void **state)
{
	expect_err("--memory size=0", "--memory size=0: needs at least one --memory-zone");
}

static void test_zones_need_memory_size0(void **state)
{
	expect_err("--memory size=1G --memory-zone id=mem0,size=1G",
		   "--memory-zone needs --memory size=0 (guest RAM is then the sum of the zones; "
		   "size=1G given)");
	expect_err("--memory-zone id=mem0,size=1G", "--memory-zone needs --memory size=0");
}

static void test_zones_refuse_memory_keys(void **state)
{
	static const char *keys[] = {
	    "shared=on",     "hugepages=on",	"hugepage_size=2M",
	    "prefault=on",   "hotplug_size=1G", "hotplugged_size=1G",
	    "block_size=2M", "prealloc=on",	"unplugged_inaccessible=off"};
	char line[256], want[128];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(line, sizeof(line), "--memory size=0,%s --memory-zone id=mem0,size=1G",
			 keys[i]);
		snprintf(want, sizeof(want),
			 "--memory %.*s: not allowed with --memory-zone; set it "
			 "per zone",
			 (int)strcspn(keys[i], "="), keys[i]);
		expect_err(line, want);
	}
	expect_ok("--memory size=0,mergeable=on,hotplug_method=virtio-mem "
		  "--memory-zone id=mem0,size=1G");
}

static void test_zone_id_and_size_mandatory(void **state)
{
	expect_err("--memory size=0 --memory-zone size=1G",
		   "--memory-zone (zone 1): id is mandatory");
	expect_err("--memory size=0 --memory-zone id=a,size=1G shared=on",
		   "--memory-zone (zone 2): id is mandatory");
	expect_err("--memory size=0 --memory-zone id=mem0",
		   "--memory-zone id=mem0: size is mandatory");
}

static void test_zone_ids_unique(void **state)
{
	expect_err("--memory size=0 --memory-zone id=mem0,size=1G id=mem0,size=2G",
		   "--memory-zone id=mem0: id is used by two zones");
}

static void test_hotplug_size_zero(void **state)
{
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=0",
		   "--memory: hotplug_size=0 is invalid");
	expect_err(VM "--memory-zone id=z,size=1G,hotplug_size=0",
		   "--memory-zone id=z: hotplug_size=0 is invalid");
}

static void test_hotplugged_size_zero(void **state)
{
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=0",
		   "--memory: hotplugged_size=0 is invalid");
}

static void test_hotplugged_needs_hotplug_size(void **state)
{
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplugged_size=512M",
		   "--memory: hotplugged_size=512M needs hotplug_size");
}

static void test_hotplugged_needs_virtio_mem(void **state)
{
	expect_err("--memory size=1G,hotplug_size=1G,hotplugged_size=512M",
		   "--memory: hotplugged_size=512M is only valid with --memory "
		   "hotplug_method=virtio-mem");
	expect_err("--memory size=1G,hotplug_method=acpi,hotplug_size=1G,hotplugged_size=512M",
		   "is only valid with --memory hotplug_method=virtio-mem");
}

static void test_hotplugged_not_above_hotplug(void **state)
{
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=2G",
		   "--memory: hotplugged_size (2G) exceeds hotplug_size (1G)");
	expect_err(VM "--memory-zone id=mem0,size=1G,hotplug_size=1G,hotplugged_size=2G",
		   "--memory-zone id=mem0: hotplugged_size (2G) exceeds hotplug_size (1G)");
}

static struct mv_config *validate_ok(const char *line)
{
	expect_ok(line);
	return cfg;
}

/* ACPI hotplug (the default method): an area for DIMMs, no virtio-mem zone. */
static void test_acpi_hotplug_dimm_area(void **state)
{
	struct mv_config *c = validate_ok("--memory size=1G,hotplug_size=4G");

	assert_int_equal(c->dimm_area, 4ULL << 30);
	assert_int_equal(c->dimm_slots, CONFIG_DIMM_MIN_SLOTS); /* 32 blocks: at least 64 slots */
	assert_int_equal(c->nr_zones, 1);
	assert_int_equal(c->zones[0].hotplug_size, 0);
	assert_int_equal(c->zones[0].size, 1ULL << 30);
	c = validate_ok("--memory size=1G,hotplug_method=acpi,hotplug_size=128M");
	assert_int_equal(c->dimm_slots, CONFIG_DIMM_MIN_SLOTS);
	c = validate_ok("--memory size=1G,hotplug_size=16G");
	assert_int_equal(c->dimm_slots, 128); /* one per 128M */
	/* The slot count stops at 256 (MP00..MPFF). */
	c = validate_ok("--memory size=1G,hotplug_size=64G");
	assert_int_equal(c->dimm_slots, CONFIG_DIMM_MAX_SLOTS);
	c = validate_ok("--memory size=1G");
	assert_int_equal(c->dimm_area, 0);
	assert_int_equal(c->dimm_slots, 0);
	c = validate_ok("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=1G");
	assert_int_equal(c->dimm_area, 0);
	assert_int_equal(c->zones[0].hotplug_size, 1ULL << 30);
}

static void test_acpi_hotplug_refusals(void **state)
{
	expect_err("--memory size=1G,hotplug_size=100M",
		   "--memory: hotplug_size=100M must be a multiple of 128M");
	expect_err("--memory size=1G,hotplug_size=0", "--memory: hotplug_size=0 is invalid");
	expect_err("--memory size=1G,hotplug_size=1G,block_size=2M",
		   "--memory: block_size is a virtio-mem device option; not valid with "
		   "hotplug_method=acpi");
	expect_err("--memory size=1G,hotplug_size=1G,prealloc=on",
		   "--memory: prealloc is a virtio-mem device option");
	expect_err("--memory size=0 --memory-zone id=z0,size=1G,hotplug_size=1G",
		   "--memory-zone id=z0: hotplug_size=1G needs --memory hotplug_method=virtio-mem "
		   "(ACPI memory hotplug (DIMMs) is for plain --memory)");
}

static void test_zone_hotplug_needs_virtio_mem(void **state)
{
	expect_err(
	    "--memory size=0 --memory-zone id=mem0,size=1G,hotplug_size=1G",
	    "--memory-zone id=mem0: hotplug_size=1G needs --memory hotplug_method=virtio-mem");
}

static void test_zone_size0_needs_hotplug(void **state)
{
	expect_err("--memory size=0 --memory-zone id=mem0,size=0",
		   "--memory-zone id=mem0: size=0 needs hotplug_size");
	expect_ok(VM "--memory-zone id=mem0,size=1G id=hp,size=0,hotplug_size=1G");
}

static void test_device_keys_need_hotplug(void **state)
{
	expect_err("--memory size=1G,block_size=2M",
		   "--memory: block_size is a virtio-mem device option; it needs hotplug_size");
	expect_err("--memory size=1G,prealloc=off", "--memory: prealloc is a virtio-mem device");
	expect_err("--memory size=0 --memory-zone id=z,size=1G,unplugged_inaccessible=on",
		   "--memory-zone id=z: unplugged_inaccessible is a virtio-mem device option");
}

static void test_size_page_multiple(void **state)
{
	expect_err("--memory size=1000",
		   "--memory: size=1000 is not a multiple of the 4K page size");
	expect_ok("--memory size=1G,hugepages=on");
	expect_ok("--memory size=4100K");
}

static void test_size_hugepage_multiple(void **state)
{
	expect_err("--memory size=3M,hugepages=on",
		   "--memory: size=3M is not a multiple of the 2M hugepage size");
	expect_err("--memory size=1G,hugepages=on,hugepage_size=1G,hotplug_method=virtio-mem,"
		   "hotplug_size=1536M",
		   "--memory: hotplug_size=1536M is not a multiple of the 1G hugepage size");
	expect_err(VM "--memory-zone id=z,size=1G,hotplug_size=1G,hotplugged_size=1025K",
		   "--memory-zone id=z: hotplugged_size=1025K is not a multiple of the 4K page");
}

static void test_hugepage_size_needs_hugepages(void **state)
{
	expect_err("--memory size=1G,hugepage_size=2M",
		   "--memory: hugepage_size=2M needs hugepages=on");
	expect_err("--memory size=0 --memory-zone id=z,size=1G,hugepage_size=2M,hugepages=off",
		   "--memory-zone id=z: hugepage_size=2M needs hugepages=on");
}

static void test_hugepage_size_pow2(void **state)
{
	expect_err("--memory size=6M,hugepages=on,hugepage_size=3M",
		   "--memory: hugepage_size=3M is not a power of two");
	expect_err("--memory size=6M,hugepages=on,hugepage_size=0",
		   "--memory: hugepage_size=0 is not a power of two");
}

static void test_hugepage_size_offered(void **state)
{
	expect_err("--memory size=1G,hugepages=on,hugepage_size=16M",
		   "--memory: hugepage_size=16M: the host does not offer this size");
}

static void test_hugepages_without_host_support(void **state)
{
	reset();
	fake_default_hp = 0;
	char *argv[] = {"memvisor", "--kernel", "/k", "--memory", "size=1G,hugepages=on", NULL};
	bool exit_now;

	assert_int_equal(config_parse_args(cfg, 5, argv, &exit_now, err, sizeof(err)), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--memory: hugepages=on: the host has no hugetlb pages"));
}

static void test_host_numa_node(void **state)
{
	expect_ok("--memory size=0 --memory-zone id=z,size=1G,host_numa_node=1");
	expect_err("--memory size=0 --memory-zone id=z,size=1G,host_numa_node=5",
		   "--memory-zone id=z: host_numa_node=5: the host has no such NUMA node");
}

static void test_file_checks(void **state)
{
	expect_err("--memory size=0 --memory-zone id=z,size=1G,file=/nodir/x",
		   "--memory-zone id=z: file=/nodir/x: parent directory /nodir does not exist");
	expect_err("--memory size=0 --memory-zone id=z,size=1G,file=/dev/null",
		   "--memory-zone id=z: file=/dev/null: not a regular file or directory");
	expect_err("--memory size=0 --memory-zone id=z,size=1G,file=/ro/f",
		   "--memory-zone id=z: file=/ro/f: not readable and writable");
	expect_ok("--memory size=0 --memory-zone id=z,size=1G,file=/tmp/dir/");
}

static void test_hugepages_file_on_hugetlbfs(void **state)
{
	expect_err(
	    "--memory size=0 --memory-zone id=z,size=1G,hugepages=on,file=/tmp/f",
	    "--memory-zone id=z: hugepages=on with file=/tmp/f: the file is not on hugetlbfs");
	expect_err("--memory size=0 --memory-zone id=z,size=1G,hugepages=on,hugepage_size=1G,"
		   "file=/hugetlbfs/f",
		   "--memory-zone id=z: hugepage_size=1G but file=/hugetlbfs/f is on a hugetlbfs "
		   "mount with 2M pages");
	/* Without hugepage_size the mount decides the page size. */
	expect_ok("--memory size=0 --memory-zone id=z,size=1G,hugepages=on,file=/hugetlbfs1g/f");
	assert_true(cfg->zones[0].hugepage_size == 1ULL << 30);
	/* A hugetlbfs file without hugepages=on still maps with the mount's pages. */
	expect_err("--memory size=0 --memory-zone id=z,size=3M,file=/hugetlbfs/f",
		   "--memory-zone id=z: size=3M is not a multiple of the 2M hugepage size");
}

static void test_block_size_rules(void **state)
{
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=1G,block_size=3M",
		   "--memory: block_size=3M is not a power of two");
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=1G,block_size=512K",
		   "--memory: block_size=512K is below the minimum 1M");
	expect_err("--memory size=1G,hugepages=on,hugepage_size=1G,hotplug_method=virtio-mem,"
		   "hotplug_size=1G,block_size=2M",
		   "--memory: block_size=2M is below the 1G hugepage size");
	expect_err(VM "--memory-zone id=z,size=1G,hotplug_size=1G,block_size=0",
		   "--memory-zone id=z: block_size=0 is not a power of two");
}

static void test_hotplug_multiple_of_block(void **state)
{
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=1G,block_size=256M,"
		   "hotplugged_size=128M",
		   "--memory: hotplugged_size=128M is not a multiple of block_size (256M)");
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=1152M,block_size=256M",
		   "--memory: hotplug_size=1152M is not a multiple of block_size (256M)");
}

static void test_hotplug_multiple_of_128m(void **state)
{
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=64M",
		   "--memory: hotplug_size=64M is not a multiple of 128M: Linux adds memory in "
		   "128M blocks, the guest could not use the rest");
	expect_ok("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=384M,"
		  "hotplugged_size=2M");
}

static void test_total_overflow(void **state)
{
	expect_err(VM "--memory-zone id=a,size=16000000T id=b,size=16000000T",
		   "--memory-zone: total guest memory overflows");
	expect_err(VM "--memory-zone id=a,size=16777215T,hotplug_size=16777215T",
		   "--memory-zone id=a: size plus hotplug_size overflows");
}

/* Issue 21 item 14: no more virtio-mem zones than PCI bus 0 has device slots for. */
static void zones_line(char *buf, size_t len, unsigned int n, const char *extra)
{
	size_t o = (size_t)snprintf(buf, len, "%s%s--memory-zone", VM, extra);

	for (unsigned int i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, len - o, " id=z%u,size=0,hotplug_size=128M", i);
}

static void test_vmem_zones_fit_the_pci_bus(void **state)
{
	char line[4096], want[128];

	zones_line(line, sizeof(line), PCI_DEV_SLOTS - 1, "");
	expect_ok(line);
	zones_line(line, sizeof(line), PCI_DEV_SLOTS, "");
	snprintf(want, sizeof(want), "--memory-zone: %u zones with hotplug_size", PCI_DEV_SLOTS);
	expect_err(line, want);
	snprintf(want, sizeof(want), "room for %u (%u device slots, one taken by virtio-rng)",
		 PCI_DEV_SLOTS - 1, PCI_DEV_SLOTS);
	expect_err(line, want);
	/* Without virtio-rng the last slot is free. */
	zones_line(line, sizeof(line), PCI_DEV_SLOTS, "--rng off ");
	expect_ok(line);
	zones_line(line, sizeof(line), PCI_DEV_SLOTS + 1, "--rng off ");
	expect_err(line, "room for 31 (31 device slots)");
	/* Zones without hotplug_size need no device. */
	snprintf(line, sizeof(line), "%s--memory-zone", VM);
	for (unsigned int i = 0; i < 40; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " id=z%u,size=2M", i);
	expect_ok(line);
}

/*
 * What validation accepts, hp_init accepts, with the fewest slots the
 * machine could share out (one per region): any size in any block size.
 */
static void expect_regions_ok(const char *line)
{
	unsigned int n = 0;

	expect_ok(line);
	for (unsigned int i = 0; i < cfg->nr_zones; i++) {
		struct hp_region r;

		if (!cfg->zones[i].hotplug_size)
			continue;
		n++;
		if (hp_init(&r, NULL, 4ULL << 30, cfg->zones[i].hotplug_size,
			    cfg->zones[i].block_size, 1, NULL, false))
			fail_msg("'%s': region %u (%llu bytes) refused", line, i,
				 (unsigned long long)cfg->zones[i].hotplug_size);
		hp_destroy(&r);
	}
	assert_true(n > 0);
}

static void test_hotplug_any_size(void **state)
{
	char line[4096];

	expect_regions_ok("--memory size=512M,hotplug_method=virtio-mem,hotplug_size=384M");
	expect_regions_ok("--memory size=512M,hotplug_method=virtio-mem,hotplug_size=384M,"
			  "block_size=128M");
	expect_regions_ok(VM "--memory-zone id=big,size=0,hotplug_size=4T id=small,size=512M,"
			     "hotplug_size=384M");
	/* Many zones: 29 of 384M beside a 4T one (30 devices and virtio-rng fill the bus). */
	snprintf(line, sizeof(line), "%s--memory-zone id=big,size=1G,hotplug_size=4T", VM);
	for (unsigned int i = 0; i < 29; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 " id=z%u,size=0,hotplug_size=%uM", i, 384 * (i % 3 + 1));
	expect_regions_ok(line);
	/* Sizes that once needed more slots than KVM has (odd multiples of 128M). */
	expect_regions_ok("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=4194176M");
	expect_regions_ok(VM "--memory-zone id=a,size=0,hotplug_size=2097024M "
			     "id=b,size=1G,hotplug_size=2097024M id=c,size=0,hotplug_size=1G");
}

static void test_cpus_rules(void **state)
{
	expect_err("--cpus boot=0", "--cpus boot=0: must be 1 to 255");
	expect_err("--cpus boot=256", "--cpus boot=256: must be 1 to 255");
	expect_err("--cpus boot=4,max=2", "--cpus max=2: must be boot (4) to 255");
	expect_err("--cpus boot=4,max=0", "--cpus max=0: must be boot (4) to 255");
	expect_err("--cpus boot=4,max=300", "--cpus max=300: must be boot (4) to 255");
	expect_err("--cpus boot=2,max=4",
		   "--cpus max=4: CPU hotplug is not supported yet (max must equal boot)");
	expect_ok("--cpus boot=4");
	assert_int_equal(cfg->cpus.max, 4);
	expect_ok("--cpus boot=255,max=255");
}

static void test_numa_id_rules(void **state)
{
	expect_err("--numa cpus=0", "--numa (node 1): guest_numa_id is mandatory");
	expect_err("--numa guest_numa_id=0 guest_numa_id=0",
		   "--numa guest_numa_id=0: guest_numa_id given twice");
	expect_err("--numa guest_numa_id=64", "--numa guest_numa_id=64: must be below 64");
}

static void test_numa_zone_rules(void **state)
{
	expect_err("--memory size=0 --memory-zone id=mem0,size=1G "
		   "--numa guest_numa_id=0,memory_zones=[mem0,memX]",
		   "--numa guest_numa_id=0: memory zone 'memX' does not exist");
	expect_err("--memory size=0 --memory-zone id=mem0,size=1G "
		   "--numa guest_numa_id=0,memory_zones=[mem0,mem0]",
		   "memory zone 'mem0' is also in guest NUMA node 0");
	expect_err("--memory size=0 --memory-zone id=mem0,size=1G id=mem1,size=1G "
		   "--numa guest_numa_id=0,memory_zones=mem0",
		   "--numa: memory zone 'mem1' is in no guest NUMA node");
	/* Plain --memory is zone mem0, which --numa may name. */
	expect_ok("--memory size=1G --numa guest_numa_id=0,memory_zones=mem0");
	assert_int_equal(cfg->zones[0].guest_numa_node, 0);
}

static void test_numa_cpu_rules(void **state)
{
	expect_err("--cpus boot=4 --numa guest_numa_id=0,cpus=[0-4]",
		   "--numa guest_numa_id=0: cpu 4 does not exist (--cpus has 4 vCPUs at most)");
	expect_err("--cpus boot=4 --numa guest_numa_id=0,cpus=0-2 guest_numa_id=1,cpus=[2,3]",
		   "--numa guest_numa_id=1: cpu 2 is also in guest NUMA node 0");
	expect_ok("--cpus boot=4 --numa guest_numa_id=0,cpus=[0-1] guest_numa_id=1,cpus=2-3");
}

static void test_numa_distance_rules(void **state)
{
	expect_err("--numa guest_numa_id=0,distances=1@20",
		   "--numa guest_numa_id=0: distance to node 1: no --numa defines that node");
	expect_err("--numa guest_numa_id=0,distances=1@5 guest_numa_id=1",
		   "--numa guest_numa_id=0: distance 5 to node 1 is below 10");
	expect_err("--numa guest_numa_id=0,distances=0@20",
		   "--numa guest_numa_id=0: distance to itself must be 10, not 20");
	expect_err("--numa guest_numa_id=0,distances=[1@20,1@30] guest_numa_id=1",
		   "--numa guest_numa_id=0: distance to node 1 given twice");
	expect_ok("--numa guest_numa_id=0,distances=[0@10,1@255] guest_numa_id=1");
}

static void test_numa_sgx_refused(void **state)
{
	expect_err("--numa guest_numa_id=0,sgx_epc_sections=epc0", "SGX is not supported");
}

static void test_normalize_plain_memory(void **state)
{
	expect_ok("--memory size=2G,mergeable=on,shared=on,prefault=on,hotplug_method=virtio-mem,"
		  "hotplug_size=4G,hotplugged_size=1G,prealloc=on,unplugged_inaccessible=off");
	assert_int_equal(cfg->nr_zones, 1);
	struct zone_config *z = &cfg->zones[0];

	assert_string_equal(z->id, "mem0");
	assert_true(z->size == 2ULL << 30);
	assert_true(z->mergeable && z->shared && z->prefault && z->prealloc);
	assert_false(z->unplugged_inaccessible);
	assert_false(z->hugepages);
	assert_true(z->hugepage_size == 0);
	assert_true(z->hotplug_size == 4ULL << 30);
	assert_true(z->hotplugged_size == 1ULL << 30);
	assert_true(z->block_size == 2ULL << 20);
	assert_int_equal(z->host_numa_node, -1);
	assert_int_equal(z->guest_numa_node, -1);
	assert_null(z->file);

	/* No --memory at all: the seed's default, 512M. */
	expect_ok("");
	assert_int_equal(cfg->nr_zones, 1);
	assert_true(cfg->zones[0].size == 512ULL << 20);
	assert_true(cfg->zones[0].unplugged_inaccessible);
	assert_int_equal(cfg->cpus.max, 1);
}

static void test_normalize_hugepages_and_block_size(void **state)
{
	expect_ok("--memory size=1G,hugepages=on");
	assert_true(cfg->zones[0].hugepage_size == 2ULL << 20);
	assert_true(cfg->zones[0].block_size == 2ULL << 20);
	expect_ok("--memory size=1G,hugepages=on,hugepage_size=1G,hotplug_method=virtio-mem,"
		  "hotplug_size=2G");
	assert_true(cfg->zones[0].hugepage_size == 1ULL << 30);
	assert_true(cfg->zones[0].block_size == 1ULL << 30);
	expect_ok(VM "--memory-zone id=a,size=1G,hotplug_size=1G,block_size=4M");
	assert_true(cfg->zones[0].block_size == 4ULL << 20);
}

static void test_normalize_zones_mergeable(void **state)
{
	expect_ok(
	    "--memory size=0,mergeable=on --memory-zone id=a,size=1G id=b,size=1G,mergeable=off");
	assert_int_equal(cfg->nr_zones, 2);
	assert_true(cfg->zones[0].mergeable);
	assert_false(cfg->zones[1].mergeable);
	expect_ok("--memory size=0 --memory-zone id=a,size=1G,mergeable=on id=b,size=1G");
	assert_true(cfg->zones[0].mergeable);
	assert_false(cfg->zones[1].mergeable);
}

/* A refused config is left as parsed: no mem0, no effective sizes. */
static void test_failure_leaves_config_as_parsed(void **state)
{
	expect_err("--memory size=1G,hotplug_method=virtio-mem,hotplug_size=1G "
		   "--numa guest_numa_id=0,cpus=5",
		   "cpu 5 does not exist");
	assert_int_equal(cfg->nr_zones, 0);
	expect_err("--memory size=0 --memory-zone id=a,size=1G id=b,size=1G "
		   "--numa guest_numa_id=0,memory_zones=[a] guest_numa_id=1,memory_zones=[a]",
		   "also in guest NUMA node 0");
	assert_int_equal(cfg->zones[0].guest_numa_node, -1);
	assert_true(cfg->zones[0].block_size == 0);
}

/*
 * Every refused command line, parsed and validated, then freed: run under
 * `make unit-asan`, LeakSanitizer fails the binary if any path leaks.
 */
static void test_no_leak_on_failure(void **state)
{
	static const char *lines[] = {
	    "--memory size=0 --memory-zone id=a,size=1G,file=/nodir/x",
	    "--memory size=0 --memory-zone id=a,size=1G,file=/tmp/a id=b,file=/tmp/b,bogus=1",
	    "--memory size=0 --memory-zone id=a,file=/tmp/a,file=/tmp/b",
	    "--memory size=0 --memory-zone id=a,size=1G,file=/tmp/a id=a,size=1G,file=/tmp/b",
	    "--serial file=/tmp/s --api-socket /s --initramfs /i --cmdline x --memory size=1",
	    "--serial file=/tmp/s --serial file=/tmp/t",
	    "--memory-zone id=a,size=1G,file=/tmp/a --numa guest_numa_id=0,cpus=[",
	    "--memory size=0 --memory-zone id=a,size=1G,file=/tmp/a,hugepages=on",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (run(lines[i]) != -EINVAL)
			fail_msg("'%s' was accepted", lines[i]);
		config_free(cfg);
		config_init(cfg);
	}
	/* config_free twice is harmless. */
	config_free(cfg);
}

static void test_balloon_rules(void **state)
{
	char line[4096];

	expect_ok("--memory size=1G --balloon size=512M,deflate_on_oom=on,free_page_reporting=on,"
		  "statistics_polling_interval=5,id=b1");
	assert_true(cfg->balloon.given && cfg->balloon.size == 512ULL << 20);
	assert_true(cfg->balloon.deflate_on_oom && cfg->balloon.free_page_reporting);
	assert_int_equal(cfg->balloon.stats_interval, 5);
	assert_string_equal(cfg->balloon.id, "b1");
	expect_ok("--memory size=1G --balloon size=0");
	assert_string_equal(cfg->balloon.id, "balloon0");
	assert_false(cfg->balloon.deflate_on_oom || cfg->balloon.free_page_reporting);
	expect_err("--memory size=1G --balloon size=1G",
		   "--balloon: size=1G must be smaller than the boot RAM (1G)");
	/* Boot RAM of every zone counts; virtio-mem memory does not. */
	expect_ok(VM "--memory-zone id=a,size=512M id=b,size=512M,hotplug_size=1G "
		     "--balloon size=768M");
	expect_err(VM "--memory-zone id=a,size=256M,hotplug_size=1G --balloon size=512M",
		   "smaller than the boot RAM (256M)");
	expect_err("--memory size=1G --balloon size=1000",
		   "--balloon: size=1000 is not a multiple of 4K");
	expect_err("--memory size=1G --balloon size=0,id=mem0",
		   "--balloon: id=mem0 is already the name of a memory zone");
	/* The balloon takes a PCI slot beside virtio-rng. */
	zones_line(line, sizeof(line), PCI_DEV_SLOTS - 2, "--balloon size=0 ");
	expect_ok(line);
	zones_line(line, sizeof(line), PCI_DEV_SLOTS - 1, "--balloon size=0 ");
	expect_err(line, "two taken by virtio-rng and virtio-balloon");
	zones_line(line, sizeof(line), PCI_DEV_SLOTS - 1, "--rng off --balloon size=0 ");
	expect_ok(line);
	zones_line(line, sizeof(line), PCI_DEV_SLOTS, "--rng off --balloon size=0 ");
	expect_err(line, "one taken by virtio-balloon");
}

#define AS_VM                                                                                      \
	"--memory size=512M,hotplug_method=virtio-mem,hotplug_size=4G,hotplugged_size=512M "       \
	"--balloon size=0,statistics_polling_interval=1 "

static void test_autoscale_rules(void **state)
{
	expect_ok(AS_VM "--autoscale min=512M,max=4G");
	assert_true(cfg->autoscale.given);
	assert_true(cfg->autoscale.min == 512ULL << 20 && cfg->autoscale.max == 4ULL << 30);
	assert_int_equal(cfg->autoscale.low, 20);
	assert_int_equal(cfg->autoscale.high, 50);
	assert_int_equal(cfg->autoscale.down_delay, 30);
	assert_true(cfg->autoscale.up_step == 128ULL << 20);
	expect_ok(AS_VM "--autoscale min=1G,max=4608M,low=10,high=90,up_step=256M,down_delay=0");
	assert_int_equal(cfg->autoscale.low, 10);
	assert_int_equal(cfg->autoscale.high, 90);
	assert_int_equal(cfg->autoscale.down_delay, 0);
	/* boot (512M) + hotplugged (512M) = 1G must lie in [min, max]. */
	expect_err(AS_VM "--autoscale min=1025M,max=4G",
		   "--autoscale: min=1025M is more than the memory the guest boots with (1G)");
	expect_err(AS_VM "--autoscale min=512M,max=1023M",
		   "--autoscale: max=1023M is less than the memory the guest boots with (1G)");
	expect_err(AS_VM "--autoscale min=512M,max=5G",
		   "--autoscale: max=5G is more than boot RAM "
		   "plus the virtio-mem devices' size (4608M)");
	expect_err(AS_VM "--autoscale min=512M,max=4G,low=50,high=50",
		   "--autoscale: low=50 must be smaller than high=50");
	expect_err(AS_VM "--autoscale min=512M,max=4G,low=0", "--autoscale: low=0 must be between");
	expect_err(AS_VM "--autoscale min=512M,max=4G,high=100", "--autoscale: high=100 must be");
	expect_err(AS_VM "--autoscale min=512M,max=4G,up_step=0", "--autoscale: up_step=0");
	expect_err(AS_VM "--autoscale max=4G", "--autoscale max=4G: min= is needed");
	expect_err(AS_VM "--autoscale min=512M,max=4G,grow=fast", "grow");
	expect_err("--memory size=1G --balloon size=0,statistics_polling_interval=1 "
		   "--autoscale min=512M,max=1G",
		   "--autoscale needs a virtio-mem device");
	expect_err("--memory size=512M,hotplug_method=virtio-mem,hotplug_size=1G "
		   "--balloon size=0 --autoscale min=512M,max=1G",
		   "--autoscale needs --balloon with statistics_polling_interval=");
	expect_err("--memory size=512M,hotplug_method=virtio-mem,hotplug_size=1G "
		   "--autoscale min=512M,max=1G",
		   "--autoscale needs --balloon");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kernel_required),
	    cmocka_unit_test(test_dry_run_needs_no_kernel),
	    cmocka_unit_test(test_memory_size_mandatory),
	    cmocka_unit_test(test_memory_size0_needs_zones),
	    cmocka_unit_test(test_zones_need_memory_size0),
	    cmocka_unit_test(test_zones_refuse_memory_keys),
	    cmocka_unit_test(test_zone_id_and_size_mandatory),
	    cmocka_unit_test(test_zone_ids_unique),
	    cmocka_unit_test(test_hotplug_size_zero),
	    cmocka_unit_test(test_hotplugged_size_zero),
	    cmocka_unit_test(test_hotplugged_needs_hotplug_size),
	    cmocka_unit_test(test_hotplugged_needs_virtio_mem),
	    cmocka_unit_test(test_hotplugged_not_above_hotplug),
	    cmocka_unit_test(test_acpi_hotplug_dimm_area),
	    cmocka_unit_test(test_acpi_hotplug_refusals),
	    cmocka_unit_test(test_zone_hotplug_needs_virtio_mem),
	    cmocka_unit_test(test_zone_size0_needs_hotplug),
	    cmocka_unit_test(test_device_keys_need_hotplug),
	    cmocka_unit_test(test_size_page_multiple),
	    cmocka_unit_test(test_size_hugepage_multiple),
	    cmocka_unit_test(test_hugepage_size_needs_hugepages),
	    cmocka_unit_test(test_hugepage_size_pow2),
	    cmocka_unit_test(test_hugepage_size_offered),
	    cmocka_unit_test(test_hugepages_without_host_support),
	    cmocka_unit_test(test_host_numa_node),
	    cmocka_unit_test(test_file_checks),
	    cmocka_unit_test(test_hugepages_file_on_hugetlbfs),
	    cmocka_unit_test(test_block_size_rules),
	    cmocka_unit_test(test_hotplug_multiple_of_block),
	    cmocka_unit_test(test_hotplug_multiple_of_128m),
	    cmocka_unit_test(test_total_overflow),
	    cmocka_unit_test(test_vmem_zones_fit_the_pci_bus),
	    cmocka_unit_test(test_hotplug_any_size),
	    cmocka_unit_test(test_cpus_rules),
	    cmocka_unit_test(test_numa_id_rules),
	    cmocka_unit_test(test_numa_zone_rules),
	    cmocka_unit_test(test_numa_cpu_rules),
	    cmocka_unit_test(test_numa_distance_rules),
	    cmocka_unit_test(test_numa_sgx_refused),
	    cmocka_unit_test(test_normalize_plain_memory),
	    cmocka_unit_test(test_normalize_hugepages_and_block_size),
	    cmocka_unit_test(test_normalize_zones_mergeable),
	    cmocka_unit_test(test_failure_leaves_config_as_parsed),
	    cmocka_unit_test(test_no_leak_on_failure),
	    cmocka_unit_test(test_balloon_rules),
	    cmocka_unit_test(test_autoscale_rules),
	};

	return cmocka_run_group_tests_name("config_validate", tests, group_setup, group_teardown);
}
