/* Unit tests for --pmem: parsing, validation (every refusal names the option) and placement. */
#include "test_config_util.h"

#include "mem/layout.h"

static void test_pmem_defaults(void **state)
{
	expect_ok("--pmem file=/img");
	assert_int_equal(cfg->nr_pmem, 1);
	assert_string_equal(cfg->pmem[0].id, "pmem0");
	assert_int_equal(cfg->pmem[0].size, 64ULL << 20); /* the file's size */
	assert_false(cfg->pmem[0].discard_writes);
	assert_int_equal(cfg->pmem[0].model, PMEM_VIRTIO);
	assert_int_equal(cfg->pmem[0].node, -1);
}

static void test_pmem_several(void **state)
{
	expect_ok(
	    "--pmem file=/a,id=root,discard_writes=on file=/b,size=128M --pmem file=/dir/,size=2M");
	assert_int_equal(cfg->nr_pmem, 3);
	assert_string_equal(cfg->pmem[0].id, "root");
	assert_true(cfg->pmem[0].discard_writes);
	assert_string_equal(cfg->pmem[1].id, "pmem1");
	assert_int_equal(cfg->pmem[1].size, 128ULL << 20); /* a smaller file is grown */
	assert_string_equal(cfg->pmem[2].id, "pmem2");
	assert_int_equal(cfg->pmem[2].size, 2ULL << 20);
}

static void test_pmem_refusals(void **state)
{
	expect_err("--pmem size=2M", "--pmem id=pmem0: file is mandatory");
	expect_err("--pmem file=/nodir/x", "--pmem id=pmem0: file=/nodir/x: No such file");
	expect_err("--pmem file=/ro/x", "--pmem id=pmem0: file=/ro/x: not readable and writable");
	expect_err("--pmem file=/a,size=3M", "--pmem id=pmem0: size=3M is not a multiple of 2M");
	expect_err("--pmem file=/pmem3m", "size=3M is not a multiple of 2M (the file's size");
	expect_err("--pmem file=/a,size=32M",
		   "--pmem id=pmem0: file=/a (64M) is larger than size=32M");
	expect_err("--pmem file=/a,size=0", "--pmem id=pmem0: size=0 is invalid");
	expect_err("--pmem file=/empty", "--pmem id=pmem0: file=/empty is empty: give size");
	expect_err("--pmem file=/d/",
		   "--pmem id=pmem0: file=/d/ is a directory: size is mandatory");
	expect_err("--pmem file=/a,id=x file=/b,id=x", "--pmem id=x: used by two devices");
	expect_err("--pmem file=/a,id=mem0", "--pmem id=mem0: id is also the id of a memory zone");
	expect_err("--pmem file=/a,node=1", "--pmem id=pmem0: node=1: no --numa guest_numa_id=1");
	expect_err("--pmem file=/a,model=dimm",
		   "--pmem model=dimm: expected virtio-pmem or nvdimm");
	expect_err("--pmem file=/ro/x,discard_writes=on,size=128M",
		   "discard_writes=on: file=/ro/x (64M) would have to grow");
	expect_err("--pmem file=/a,bogus=1", "--pmem file=/a,bogus=1: unknown key 'bogus'");
	expect_err("--pmem file=/a file=/a file=/a file=/a file=/a file=/a file=/a file=/a file=/a",
		   "--pmem file=/a: more than 8 devices");
}

static void test_pmem_read_only_file_with_discard(void **state)
{
	expect_ok("--pmem file=/ro/x,discard_writes=on");
}

/* model=nvdimm is accepted, beside a virtio-pmem, with the same checks on its file. */
static void test_pmem_nvdimm(void **state)
{
	expect_ok("--pmem file=/a,model=nvdimm,id=nv file=/b,size=128M,model=virtio-pmem");
	assert_int_equal(cfg->nr_pmem, 2);
	assert_int_equal(cfg->pmem[0].model, PMEM_NVDIMM);
	assert_string_equal(cfg->pmem[0].id, "nv");
	assert_int_equal(cfg->pmem[0].size, 64ULL << 20);
	assert_int_equal(cfg->pmem[1].model, PMEM_VIRTIO);
	expect_err("--pmem file=/a,size=3M,model=nvdimm",
		   "--pmem id=pmem0: size=3M is not a multiple of 2M");
}

static void test_pmem_node(void **state)
{
	expect_ok("--numa guest_numa_id=0 --numa guest_numa_id=1 --pmem file=/a,node=1");
	assert_int_equal(cfg->pmem[0].node, 1);
}

static void test_failure_leaves_pmem_as_parsed(void **state)
{
	expect_err("--pmem file=/a file=/b,size=3M", "size=3M");
	assert_string_equal(cfg->pmem[0].id, "");
	assert_int_equal(cfg->pmem[0].size, 0);
}

/* Placement: above RAM and the virtio-mem areas, 128M aligned, in order, not in e820. */
static void test_pmem_layout(void **state)
{
	static struct layout l;

	expect_ok("--memory size=0,hotplug_method=virtio-mem --memory-zone "
		  "id=m,size=1G,hotplug_size=1G --pmem file=/d/,size=2M file=/b");
	assert_int_equal(layout_build(cfg, &l, err, sizeof(err)), 0);
	assert_int_equal(l.nr_pmem, 2);
	/* RAM to 1G, the virtio-mem area at 4G (1G aligned) up to 5G. */
	assert_int_equal(l.pmem[0].gpa, 5ULL << 30);
	assert_int_equal(l.pmem[0].size, 2ULL << 20);
	assert_int_equal(l.pmem[1].gpa, (5ULL << 30) + LAYOUT_PMEM_ALIGN);
	assert_int_equal(l.pmem[1].size, 64ULL << 20);
	assert_int_equal(l.end, (5ULL << 30) + LAYOUT_PMEM_ALIGN + (64ULL << 20));
	for (unsigned int i = 0; i < l.nr_e820; i++)
		assert_true(l.e820[i].addr + l.e820[i].size <= 4ULL << 30);
	for (unsigned int i = 0; i < l.nr_regions; i++)
		assert_true(l.regions[i].gpa + l.regions[i].size <= l.pmem[0].gpa);
}

static void test_pmem_layout_limit(void **state)
{
	static struct layout l;

	expect_ok("--memory size=1G --pmem file=/d/,size=64T");
	assert_int_equal(layout_build(cfg, &l, err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "--pmem id=pmem0: size=70368744177664 puts the device above the "
				 "2^46 guest physical address limit");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pmem_defaults),
	    cmocka_unit_test(test_pmem_several),
	    cmocka_unit_test(test_pmem_refusals),
	    cmocka_unit_test(test_pmem_read_only_file_with_discard),
	    cmocka_unit_test(test_pmem_nvdimm),
	    cmocka_unit_test(test_pmem_node),
	    cmocka_unit_test(test_failure_leaves_pmem_as_parsed),
	    cmocka_unit_test(test_pmem_layout),
	    cmocka_unit_test(test_pmem_layout_limit),
	};

	return cmocka_run_group_tests_name("pmem_config", tests, group_setup, group_teardown);
}
