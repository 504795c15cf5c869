/* Unit tests for config_validate: one test per rule, and normalization. */
#include "test_config_util.h"

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

static void test_acpi_hotplug_refused(void **state)
{
	expect_err("--memory size=1G,hotplug_method=acpi,hotplug_size=1G",
		   "--memory: hotplug_size=1G: ACPI memory hotplug is not supported yet; use "
		   "hotplug_method=virtio-mem");
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
	    cmocka_unit_test(test_acpi_hotplug_refused),
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
	};

	return cmocka_run_group_tests_name("config_validate", tests, group_setup, group_teardown);
}
