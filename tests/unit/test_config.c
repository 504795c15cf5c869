/* Unit tests for config parsing: sizes, argv forms, every key, the seed's examples. */
#include "test_config_util.h"

#include <fcntl.h>
#include <unistd.h>

#include "lib/errbuf.h"
#include "lib/size.h"

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		int r;
		uint64_t v;
	} cases[] = {
	    {"0", 0, 0},
	    {"4096", 0, 4096},
	    {"1K", 0, 1024},
	    {"1k", 0, 1024},
	    {"512M", 0, 512ULL << 20},
	    {"512m", 0, 512ULL << 20},
	    {"1G", 0, 1ULL << 30},
	    {"2T", 0, 2ULL << 40},
	    {"007", 0, 7},
	    {"18446744073709551615", 0, UINT64_MAX},
	    {"16777215T", 0, 16777215ULL << 40},
	    {"18446744073709551616", -ERANGE, 0},
	    {"99999999999999999999999", -ERANGE, 0},
	    {"16777216T", -ERANGE, 0},
	    {"17179869184G", -ERANGE, 0},
	    {"", -EINVAL, 0},
	    {"-1", -EINVAL, 0},
	    {"+1", -EINVAL, 0},
	    {" 1", -EINVAL, 0},
	    {"1 ", -EINVAL, 0},
	    {"1.5G", -EINVAL, 0},
	    {"1GB", -EINVAL, 0},
	    {"1GiB", -EINVAL, 0},
	    {"G", -EINVAL, 0},
	    {"0x10", -EINVAL, 0},
	    {"1P", -EINVAL, 0},
	    {"abc", -EINVAL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int r = mv_size_parse(cases[i].s, &v);

		if (r != cases[i].r)
			fail_msg("'%s': got %d want %d", cases[i].s, r, cases[i].r);
		if (!r && v != cases[i].v)
			fail_msg("'%s': got %llu", cases[i].s, (unsigned long long)v);
		if (r && v != 12345)
			fail_msg("'%s': output written on error", cases[i].s);
	}
}

static void test_format_size(void **state)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
	    {0, "0"},
	    {1023, "1023"},
	    {1024, "1K"},
	    {4097ULL << 10, "4097K"},
	    {512ULL << 20, "512M"},
	    {3ULL << 30, "3G"},
	    {1536ULL << 20, "1536M"},
	    {1ULL << 40, "1T"},
	    {UINT64_MAX, "18446744073709551615"},
	    {16777215ULL << 40, "16777215T"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t back;

		mv_size_format(cases[i].v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
		/* What we print, we parse back to the same value. */
		assert_int_equal(mv_size_parse(buf, &back), 0);
		assert_true(back == cases[i].v);
	}
	mv_size_format(3ULL << 30, buf, 2);
	assert_string_equal(buf, "3");
}

static void test_defaults(void **state)
{
	assert_int_equal(parse_line(""), 0);
	assert_null(cfg->kernel);
	assert_true(cfg->rng);
	assert_int_equal(cfg->serial, SERIAL_TTY);
	assert_int_equal(cfg->on_reboot, ON_REBOOT_RESET);
	assert_int_equal(cfg->cpus.boot, 1);
	assert_false(cfg->memory.given);
	assert_true(cfg->memory.size == CONFIG_DEFAULT_MEM);
	assert_int_equal(cfg->memory.hotplug_method, HOTPLUG_ACPI);
	assert_true(cfg->memory.unplugged_inaccessible);
	assert_int_equal(cfg->nr_zones, 0);
	assert_int_equal(cfg->nr_numa, 0);
}

static void test_simple_options_both_forms(void **state)
{
	assert_int_equal(parse_line("--kernel /k --initramfs=/i --cmdline console=ttyS0 "
				    "--serial=off --api-socket /s --dry-run --on-reboot=exit "
				    "--rng off"),
			 0);
	assert_string_equal(cfg->kernel, "/k");
	assert_string_equal(cfg->initramfs, "/i");
	assert_string_equal(cfg->cmdline, "console=ttyS0");
	assert_int_equal(cfg->serial, SERIAL_OFF);
	assert_string_equal(cfg->api_socket, "/s");
	assert_true(cfg->dry_run);
	assert_int_equal(cfg->on_reboot, ON_REBOOT_EXIT);
	assert_false(cfg->rng);

	assert_int_equal(parse_line("--kernel=/k2 --serial file=/tmp/out --api-socket=path=/s2 "
				    "--rng=true --on-reboot reset"),
			 0);
	assert_string_equal(cfg->kernel, "/k2");
	assert_int_equal(cfg->serial, SERIAL_FILE);
	assert_string_equal(cfg->serial_file, "/tmp/out");
	assert_string_equal(cfg->api_socket, "/s2");
	assert_true(cfg->rng);
	assert_int_equal(parse_line("--serial tty --rng on"), 0);
	assert_int_equal(cfg->serial, SERIAL_TTY);
}

static void test_cmdline_with_blanks_and_equals(void **state)
{
	char *argv[] = {"memvisor", "--cmdline", "console=ttyS0 pci=conf1 quiet", NULL};
	char *argv2[] = {"memvisor", "--cmdline=root=/dev/vda rw", NULL};

	assert_int_equal(parse_argv(3, argv), 0);
	assert_string_equal(cfg->cmdline, "console=ttyS0 pci=conf1 quiet");
	assert_int_equal(parse_argv(2, argv2), 0);
	assert_string_equal(cfg->cmdline, "root=/dev/vda rw");
}

static void test_help_and_version(void **state)
{
	char *h[] = {"memvisor", "--help", "--bogus", NULL};
	char *v[] = {"memvisor", "-V", NULL};
	char *hs[] = {"memvisor", "-h", NULL};
	bool exit_now = false;
	int saved = dup(1), null = open("/dev/null", O_WRONLY);

	/* The help text goes to stdout; keep it out of the test log. */
	fflush(stdout);
	dup2(null, 1);
	reset();
	assert_int_equal(config_parse_args(cfg, 3, h, &exit_now, err, sizeof(err)), 0);
	assert_true(exit_now);
	reset();
	assert_int_equal(config_parse_args(cfg, 2, v, &exit_now, err, sizeof(err)), 0);
	assert_true(exit_now);
	reset();
	assert_int_equal(config_parse_args(cfg, 2, hs, &exit_now, err, sizeof(err)), 0);
	assert_true(exit_now);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(null);
	assert_int_equal(parse_line("--version=1"), -EINVAL);
	assert_string_equal(err, "--version takes no value");
}

/* --help is generated from the tables: every option and every key shows up. */
static void test_help_lists_every_name(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	config_print_help(f);
	fclose(f);
	for (int i = 0; i < OPT__COUNT; i++)
		if (!strstr(buf, config_opt_name(i)))
			fail_msg("help lacks %s", config_opt_name(i));
	for (int k = 0; k < KEY__COUNT; k++) {
		char want[64];

		snprintf(want, sizeof(want), " %s=", config_key_name(k));
		if (!strstr(buf, want))
			fail_msg("help lacks key %s", config_key_name(k));
	}
	assert_non_null(strstr(buf, "[default: size=512M]"));
	free(buf);
}

/* --restore: Cloud Hypervisor's keys; only --api-socket and --serial beside it. */
static void test_restore_option(void **state)
{
	static const struct {
		const char *line, *want;
	} bad[] = {
	    {"--restore prefault=on", "--restore: source_url=file:///<path> is needed"},
	    {"--restore source_url=", "--restore: empty source_url"},
	    {"--restore source_url=file:///s,resume=maybe",
	     "--restore resume=maybe: expected on or off"},
	    {"--restore source_url=file:///s,memory_restore_mode=fast",
	     "--restore memory_restore_mode=fast: expected copy, cow or ondemand"},
	    {"--restore source_url=file:///s,colour=red", "--restore: unknown key 'colour'"},
	    {"--restore source_url=file:///s,prefault", "--restore prefault: expected key=value"},
	    {"--restore source_url=file:///s --kernel /k",
	     "--kernel cannot be combined with --restore (the configuration comes from the "
	     "snapshot; only --api-socket and --serial may be given)"},
	    {"--memory size=1G --restore source_url=file:///s", "--memory cannot be combined"},
	};
	unsigned int i;

	assert_int_equal(parse_line("--restore source_url=file:///s/vm.snap --api-socket /a "
				    "--serial off"),
			 0);
	assert_true(cfg->restore.given);
	assert_string_equal(cfg->restore.source_url, "file:///s/vm.snap");
	assert_int_equal(cfg->restore.prefault, -1);
	assert_int_equal(cfg->restore.mode, RESTORE_COPY);
	assert_false(cfg->restore.resume);
	assert_string_equal(cfg->api_socket, "/a");
	assert_int_equal(parse_line("--restore source_url=file:///s,prefault=on,"
				    "memory_restore_mode=copy,resume=on"),
			 0);
	assert_int_equal(cfg->restore.prefault, 1);
	assert_true(cfg->restore.resume);
	assert_int_equal(parse_line("--restore source_url=file:///s,memory_restore_mode=cow"), 0);
	assert_int_equal(cfg->restore.mode, RESTORE_COW);
	assert_int_equal(parse_line("--restore source_url=file:///s,memory_restore_mode=ondemand"),
			 0);
	assert_int_equal(cfg->restore.mode, RESTORE_ONDEMAND);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(parse_line(bad[i].line), 0);
		if (!strstr(err, bad[i].want))
			fail_msg("%s: got '%s', want '%s'", bad[i].line, err, bad[i].want);
	}
}

static void test_argv_errors(void **state)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
	    {"--bogus", "unknown option '--bogus'"},
	    {"--bogus=1", "unknown option '--bogus'"},
	    {"--sgx-epc id=epc0,size=32M", "unknown option '--sgx-epc'"},
	    {"stray", "unexpected argument 'stray'"},
	    {"-x", "unknown option '-x'"},
	    {"--kernel", "--kernel needs a value"},
	    {"--kernel --dry-run", "--kernel needs a value"},
	    {"--memory", "--memory needs a value"},
	    {"--kernel /a --kernel /b", "--kernel given twice"},
	    {"--memory size=1G --memory size=2G", "--memory given twice"},
	    {"--cpus boot=1 --cpus boot=2", "--cpus given twice"},
	    {"--dry-run=yes", "--dry-run takes no value"},
	    {"--kernel=", "--kernel: empty path"},
	    {"--serial file=", "--serial file=: file= needs a path"},
	    {"--serial pty", "--serial pty: expected tty, off or file=<path>"},
	    {"--on-reboot halt", "--on-reboot halt: expected reset or exit"},
	    {"--rng maybe", "--rng maybe: expected on or off"},
	    {"--api-socket path=", "--api-socket: empty path"},
	    {"--memory=", "--memory: empty value"},
	    {"--memory-zone=", "--memory-zone: empty value"},
	    {"--balloon deflate_on_oom=on", "--balloon deflate_on_oom=on: size= is needed"},
	    {"--balloon size=1G --balloon size=2G", "--balloon given twice"},
	    {"--balloon size=1G,colour=red", "--balloon size=1G,colour=red: unknown key 'colour'"},
	    {"--balloon size=1x", "--balloon size=1x: not a size"},
	    {"--balloon size=1G,deflate_on_oom=yes", "--balloon deflate_on_oom=yes: expected on"},
	    {"--balloon size=1G,statistics_polling_interval=-1",
	     "--balloon statistics_polling_interval=-1: not a non-negative integer"},
	    {"--balloon size=1G,id=a/b", "--balloon id=a/b: not an id"},
	    {"--balloon", "--balloon needs a value"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse_line(cases[i].line);

		if (r != -EINVAL || !strstr(err, cases[i].want))
			fail_msg("'%s': %d '%s', want '%s'", cases[i].line, r, err, cases[i].want);
	}
}

static void test_memory_every_key(void **state)
{
	assert_int_equal(parse_line("--memory size=2G,mergeable=on,shared=true,hugepages=on,"
				    "hugepage_size=1G,hotplug_method=virtio-mem,hotplug_size=4G,"
				    "hotplugged_size=1G,prefault=on,block_size=1G,prealloc=on,"
				    "unplugged_inaccessible=off"),
			 0);
	struct memory_config *m = &cfg->memory;

	assert_true(m->given);
	assert_true(m->size == 2ULL << 30);
	assert_true(m->mergeable && m->shared && m->hugepages && m->prefault && m->prealloc);
	assert_true(m->hugepage_size == 1ULL << 30);
	assert_int_equal(m->hotplug_method, HOTPLUG_VIRTIO_MEM);
	assert_true(m->hotplug_method_given);
	assert_true(m->hotplug_size == 4ULL << 30);
	assert_true(m->hotplugged_size == 1ULL << 30);
	assert_true(m->block_size == 1ULL << 30);
	assert_false(m->unplugged_inaccessible);
	assert_true(m->unplugged_inaccessible_given);
	for (int k = KEY_MEM_SIZE; k <= KEY_MEM_UNPLUGGED_INACCESSIBLE; k++)
		assert_true(m->keys & CONFIG_KEY_BIT(k));
}

static void test_zone_every_key(void **state)
{
	assert_int_equal(parse_line("--memory-zone id=z.1_a-b,size=1G,file=/tmp/f,shared=on,"
				    "hugepages=on,hugepage_size=2M,host_numa_node=1,"
				    "hotplug_size=2G,hotplugged_size=256M,prefault=on,mergeable=on,"
				    "block_size=4M,prealloc=on,unplugged_inaccessible=false"),
			 0);
	struct zone_config *z = &cfg->zones[0];

	assert_int_equal(cfg->nr_zones, 1);
	assert_string_equal(z->id, "z.1_a-b");
	assert_true(z->size == 1ULL << 30);
	assert_string_equal(z->file, "/tmp/f");
	assert_true(z->shared && z->hugepages && z->prefault && z->mergeable && z->prealloc);
	assert_true(z->hugepage_size == 2ULL << 20);
	assert_int_equal(z->host_numa_node, 1);
	assert_true(z->hotplug_size == 2ULL << 30);
	assert_true(z->hotplugged_size == 256ULL << 20);
	assert_true(z->block_size == 4ULL << 20);
	assert_false(z->unplugged_inaccessible);
	assert_int_equal(z->guest_numa_node, -1);
	for (int k = KEY_ZONE_ID; k <= KEY_ZONE_UNPLUGGED_INACCESSIBLE; k++)
		assert_true(z->keys & CONFIG_KEY_BIT(k));

	/* Defaults of a zone that names only id and size. */
	assert_int_equal(parse_line("--memory-zone id=a,size=1G"), 0);
	z = &cfg->zones[0];
	assert_null(z->file);
	assert_int_equal(z->host_numa_node, -1);
	assert_true(z->unplugged_inaccessible);
	assert_false(z->prealloc || z->hugepages || z->shared);
}

static bool cpu_in(const struct numa_config *n, unsigned int c)
{
	return n->cpus[c / 8] & (1u << (c % 8));
}

static unsigned int cpu_count(const struct numa_config *n)
{
	unsigned int c = 0;

	for (unsigned int i = 0; i <= CONFIG_MAX_CPUS; i++)
		c += cpu_in(n, i);
	return c;
}

static void test_numa_every_key_and_list_form(void **state)
{
	assert_int_equal(parse_line("--numa guest_numa_id=3,cpus=[0-99,255],distances=[1@15,2@25],"
				    "memory_zones=[mem0,mem2],sgx_epc_sections=[epc0,epc2]"),
			 0);
	struct numa_config *n = &cfg->numa[0];

	assert_int_equal(cfg->nr_numa, 1);
	assert_int_equal(n->guest_numa_id, 3);
	assert_int_equal(cpu_count(n), 101);
	assert_true(cpu_in(n, 0) && cpu_in(n, 99) && cpu_in(n, 255) && !cpu_in(n, 100));
	assert_int_equal(n->nr_distances, 2);
	assert_int_equal(n->distances[0].dest, 1);
	assert_int_equal(n->distances[0].distance, 15);
	assert_int_equal(n->distances[1].dest, 2);
	assert_int_equal(n->distances[1].distance, 25);
	assert_int_equal(n->nr_zones, 2);
	assert_string_equal(n->zones[0], "mem0");
	assert_string_equal(n->zones[1], "mem2");
	assert_int_equal(n->nr_sgx_epc_sections, 2);

	/* The other list forms: a range, a list, a single value. */
	assert_int_equal(parse_line("--numa guest_numa_id=0,cpus=0-4,distances=1@15,"
				    "memory_zones=mem0,sgx_epc_sections=epc1"),
			 0);
	n = &cfg->numa[0];
	assert_int_equal(cpu_count(n), 5);
	assert_true(cpu_in(n, 4) && !cpu_in(n, 5));
	assert_int_equal(n->nr_distances, 1);
	assert_int_equal(n->nr_zones, 1);
	assert_int_equal(n->nr_sgx_epc_sections, 1);
	assert_int_equal(parse_line("--numa guest_numa_id=0,cpus=[0,1,2]"), 0);
	assert_int_equal(cpu_count(&cfg->numa[0]), 3);
	assert_int_equal(parse_line("--numa guest_numa_id=0,cpus=3"), 0);
	assert_int_equal(cpu_count(&cfg->numa[0]), 1);
	assert_true(cpu_in(&cfg->numa[0], 3));
}

static void test_cpus_keys(void **state)
{
	assert_int_equal(parse_line("--cpus boot=2,max=8"), 0);
	assert_int_equal(cfg->cpus.boot, 2);
	assert_int_equal(cfg->cpus.max, 8);
	assert_int_equal(parse_line("--cpus=boot=4"), 0);
	assert_int_equal(cfg->cpus.boot, 4);
}

static void test_key_errors(void **state)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
	    {"--memory size=1G,foo=1", "--memory size=1G,foo=1: unknown key 'foo' (keys: size, "},
	    {"--memory-zone id=a,bogus=2", "--memory-zone id=a,bogus=2: unknown key 'bogus'"},
	    {"--numa guest_numa_id=0,id=3", "unknown key 'id'"},
	    {"--cpus boot=1,min=1", "--cpus boot=1,min=1: unknown key 'min' (keys: boot, max)"},
	    {"--memory size=1G,size=2G", "--memory size=1G,size=2G: key size given twice"},
	    {"--memory-zone id=a,id=b", "key id given twice"},
	    {"--memory size=1G,,shared=on", "empty item (stray comma?)"},
	    {"--memory size=1G,", "empty item"},
	    {"--memory size", "'size' is not key=value"},
	    {"--numa guest_numa_id=0,cpus=1,2", "'2' is not key=value (lists need brackets"},
	    {"--memory size=12Q", "--memory size=12Q: not a size"},
	    {"--memory size=", "--memory size=: not a size"},
	    {"--memory size=-1G", "--memory size=-1G: not a size"},
	    {"--memory size=99999999999T", "--memory size=99999999999T: size too large"},
	    {"--memory size=1G,shared=yes", "--memory shared=yes: expected on or off"},
	    {"--memory size=1G,hotplug_method=dimm",
	     "--memory hotplug_method=dimm: expected acpi or virtio-mem"},
	    {"--memory-zone id=,size=1G", "--memory-zone id=: not an id"},
	    {"--memory-zone id=a/b,size=1G", "--memory-zone id=a/b: not an id"},
	    {"--memory-zone id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	     "not an id"},
	    {"--memory-zone id=a,file=", "--memory-zone file=: empty path"},
	    {"--memory-zone id=a,host_numa_node=-1", "host_numa_node=-1: not a non-negative"},
	    {"--memory-zone id=a,host_numa_node=99999999999", "(too large)"},
	    {"--numa guest_numa_id=x", "--numa guest_numa_id=x: not a non-negative integer"},
	    {"--numa guest_numa_id=0,cpus=[1-3", "unbalanced [ ]"},
	    {"--numa guest_numa_id=0,cpus=1-3]", "unbalanced [ ]"},
	    {"--numa guest_numa_id=0,cpus=[1,[2]]", "unbalanced [ ]"},
	    {"--numa guest_numa_id=0,cpus=[]", "--numa cpus=[]: not a CPU list"},
	    {"--numa guest_numa_id=0,cpus=256", "--numa cpus=256: '256' is not a CPU number"},
	    {"--numa guest_numa_id=0,cpus=[1,x]", "'x' is not a CPU number"},
	    {"--numa guest_numa_id=0,cpus=[1,]", "'' is not a CPU number"},
	    {"--numa guest_numa_id=0,cpus=5-3", "--numa cpus=5-3: range '5-3' is backwards"},
	    {"--numa guest_numa_id=0,distances=[1@]", "'1@' is not <node>@<distance>"},
	    {"--numa guest_numa_id=0,distances=1", "'1' is not <node>@<distance>"},
	    {"--numa guest_numa_id=0,distances=1@256", "'1@256' is not <node>@<distance>"},
	    {"--numa guest_numa_id=0,memory_zones=[mem0,a/b]", "'a/b' is not an id"},
	    {"--cpus boot=two", "--cpus boot=two: not a non-negative integer"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse_line(cases[i].line);

		if (r != -EINVAL || !strstr(err, cases[i].want))
			fail_msg("'%s': %d '%s', want '%s'", cases[i].line, r, err, cases[i].want);
	}
}

/* After the flag, every following word not starting with -- is another zone. */
static void test_multi_value_words(void **state)
{
	assert_int_equal(parse_line("--memory size=0 --memory-zone id=mem0,size=1G id=mem1,size=2G "
				    "--numa guest_numa_id=0,memory_zones=mem0 "
				    "guest_numa_id=1,memory_zones=mem1 --dry-run"),
			 0);
	assert_int_equal(cfg->nr_zones, 2);
	assert_string_equal(cfg->zones[1].id, "mem1");
	assert_int_equal(cfg->nr_numa, 2);
	assert_true(cfg->dry_run);

	/* The option may repeat, and --opt=value takes following words too. */
	assert_int_equal(parse_line("--memory-zone=id=a,size=1G id=b,size=1G --kernel /k "
				    "--memory-zone id=c,size=1G"),
			 0);
	assert_int_equal(cfg->nr_zones, 3);
	assert_string_equal(cfg->zones[2].id, "c");
}

static void test_multi_value_one_word_with_blanks(void **state)
{
	char *argv[] = {"memvisor",
			"--memory-zone",
			"id=mem0,size=1G  id=mem1,size=1G\tid=mem2,size=1G",
			"--numa",
			" guest_numa_id=0,cpus=[0, 1] guest_numa_id=1 ",
			NULL};

	assert_int_equal(parse_argv(5, argv), -EINVAL);
	/* A blank inside brackets does not split, but the list item " 1" is no CPU. */
	assert_non_null(strstr(err, "' 1' is not a CPU number"));
	argv[4] = " guest_numa_id=0,cpus=[0,1] guest_numa_id=1 ";
	assert_int_equal(parse_argv(5, argv), 0);
	assert_int_equal(cfg->nr_zones, 3);
	assert_string_equal(cfg->zones[2].id, "mem2");
	assert_int_equal(cfg->nr_numa, 2);
	assert_int_equal(cfg->numa[1].guest_numa_id, 1);
	/* The parser entry points take the same forms. */
	reset();
	assert_int_equal(
	    config_parse_memory_zone(cfg, "id=x,size=1G id=y,size=1G", err, sizeof(err)), 0);
	assert_int_equal(cfg->nr_zones, 2);
	assert_int_equal(config_parse_memory_zone(cfg, "   ", err, sizeof(err)), -EINVAL);
}

static void test_too_many(void **state)
{
	char line[4096];
	size_t used = snprintf(line, sizeof(line), "--memory-zone");

	for (int i = 0; i <= CONFIG_MAX_ZONES; i++)
		used += snprintf(line + used, sizeof(line) - used, " id=z%d,size=1G", i);
	assert_int_equal(parse_line(line), -EINVAL);
	assert_non_null(strstr(err, "more than 64 zones"));
	used = snprintf(line, sizeof(line), "--numa");
	for (int i = 0; i <= CONFIG_MAX_NUMA; i++)
		used += snprintf(line + used, sizeof(line) - used, " guest_numa_id=%d", i);
	assert_int_equal(parse_line(line), -EINVAL);
	assert_non_null(strstr(err, "more than 64 nodes"));
}

/* Every example command line of the seed, as written there. */
static void test_seed_examples(void **state)
{
	expect_ok("--memory size=1G");
	expect_ok("--memory size=1G,mergeable=on");
	expect_ok("--memory size=1G,hotplug_method=acpi");
	/* ACPI hotplug, the default: DIMMs. */
	expect_ok("--memory size=1G,hotplug_size=1G");
	expect_ok(
	    "--memory size=1G,hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=512M");
	expect_ok("--memory size=1G,shared=on");
	expect_ok("--memory size=1G,hugepages=on,hugepage_size=2M");
	expect_ok("--memory size=1G,prefault=on");
	expect_ok("--memory size=0 --memory-zone id=mem0,size=1G");
	expect_ok("--memory size=0 --memory-zone id=mem0,size=1G,file=/foo/bar");
	expect_ok("--memory size=0 --memory-zone id=mem0,size=1G,shared=on");
	expect_ok("--memory size=0 --memory-zone id=mem0,size=1G,hugepages=on,hugepage_size=2M");
	expect_ok("--memory size=0 --memory-zone id=mem0,size=1G,host_numa_node=0");
	expect_ok("--memory size=0,hotplug_method=virtio-mem "
		  "--memory-zone id=mem0,size=1G,hotplug_size=1G");
	expect_ok("--memory size=0,hotplug_method=virtio-mem "
		  "--memory-zone id=mem0,size=1G,hotplug_size=1G,hotplugged_size=512M");
	expect_ok("--memory size=0 --memory-zone id=mem0,size=1G,prefault=on");
	expect_ok("--numa guest_numa_id=0");
	expect_ok("--cpus boot=8 --numa guest_numa_id=0,cpus=[1-3,7] guest_numa_id=1,cpus=[0,4-6]");
	expect_ok(
	    "--numa guest_numa_id=0,distances=[1@15,2@25] guest_numa_id=1,distances=[0@15,2@20] "
	    "guest_numa_id=2,distances=[0@25,1@20]");
	expect_ok(
	    "--memory size=0 --memory-zone id=mem0,size=1G id=mem1,size=1G id=mem2,size=1G "
	    "--numa guest_numa_id=0,memory_zones=[mem0,mem2] guest_numa_id=1,memory_zones=mem1");
	assert_int_equal(cfg->zones[0].guest_numa_node, 0);
	assert_int_equal(cfg->zones[1].guest_numa_node, 1);
	assert_int_equal(cfg->zones[2].guest_numa_node, 0);
	/* The seed's "incorrect, therefore not allowed" example. */
	expect_err("--memory size=0 --memory-zone id=mem0,size=1G "
		   "--numa guest_numa_id=0,memory_zones=mem0 guest_numa_id=1,memory_zones=mem0",
		   "--numa guest_numa_id=1: memory zone 'mem0' is also in guest NUMA node 0");
	/* SGX: --sgx-epc is no option of ours, and sgx_epc_sections is refused. */
	expect_err("--sgx-epc id=epc0,size=32M id=epc1,size=64M id=epc2,size=32M "
		   "--numa guest_numa_id=0,sgx_epc_sections=epc1 "
		   "guest_numa_id=1,sgx_epc_sections=[epc0,epc2]",
		   "unknown option '--sgx-epc'");
	expect_err("--numa guest_numa_id=0,sgx_epc_sections=epc1 "
		   "guest_numa_id=1,sgx_epc_sections=[epc0,epc2]",
		   "--numa guest_numa_id=0: sgx_epc_sections: SGX is not supported");
}

/* Option names and keys come from one table, with no name twice. */
static void test_tables_consistent(void **state)
{
	char list[512];

	for (int i = 0; i < OPT__COUNT; i++) {
		assert_int_equal(config_opt_find(config_opt_name(i), strlen(config_opt_name(i))),
				 i);
		assert_non_null(config_options[i].help);
	}
	for (int k = 0; k < KEY__COUNT; k++) {
		const struct config_key_desc *d = &config_keys[k];

		assert_int_equal(config_key_find(d->opt, d->name, strlen(d->name)), k);
		assert_true(config_options[d->opt].has_keys);
		assert_non_null(d->help);
		assert_non_null(d->arg);
	}
	config_key_list(OPT_CPUS, list, sizeof(list));
	assert_string_equal(list, "boot, max");
	assert_int_equal(config_opt_find("--mem", 5), -1);
	assert_int_equal(config_key_find(OPT_MEMORY, "id", 2), -1);
}

/* Issue 21 item 15: control characters in a value never split the error line. */
static void test_error_escapes_control_chars(void **state)
{
	char *argv[] = {"memvisor", "--memory", "size=1\nG", NULL};
	char *argv2[] = {"memvisor", "--memory", "size=1G,shared=\x1b[31mon\t\r\x7f", NULL};
	char small[8];

	assert_int_equal(parse_argv(3, argv), -EINVAL);
	assert_null(strchr(err, '\n'));
	assert_non_null(strstr(err, "--memory size=1\\nG"));
	assert_int_equal(parse_argv(3, argv2), -EINVAL);
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("raw control character %#x in '%s'", *p, err);
	assert_non_null(strstr(err, "shared=\\x1b[31mon\\t\\r\\x7f"));
	/* An escape that does not fit is left out whole, never cut. */
	mv_escape_ctl(small, sizeof(small), "abcdef\n");
	assert_string_equal(small, "abcdef");
	mv_escape_ctl(small, sizeof(small), "abcde\n");
	assert_string_equal(small, "abcde\\n");
}

/* Each option's keys are contiguous and fewer than 64: one bit each in its mask. */
static void test_key_masks(void **state)
{
	for (unsigned int o = 0; o < OPT__COUNT; o++) {
		int first = -1, last = -1;

		for (int k = 0; k < KEY__COUNT; k++) {
			if (config_keys[k].opt != (enum config_opt)o)
				continue;
			if (first < 0)
				first = k;
			assert_true(last < 0 || last == k - 1);
			last = k;
		}
		if (first >= 0)
			assert_true(last - first < 64);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_key_masks),
	    cmocka_unit_test(test_format_size),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_simple_options_both_forms),
	    cmocka_unit_test(test_cmdline_with_blanks_and_equals),
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_help_lists_every_name),
	    cmocka_unit_test(test_argv_errors),
	    cmocka_unit_test(test_restore_option),
	    cmocka_unit_test(test_memory_every_key),
	    cmocka_unit_test(test_zone_every_key),
	    cmocka_unit_test(test_numa_every_key_and_list_form),
	    cmocka_unit_test(test_cpus_keys),
	    cmocka_unit_test(test_key_errors),
	    cmocka_unit_test(test_multi_value_words),
	    cmocka_unit_test(test_multi_value_one_word_with_blanks),
	    cmocka_unit_test(test_too_many),
	    cmocka_unit_test(test_seed_examples),
	    cmocka_unit_test(test_tables_consistent),
	    cmocka_unit_test(test_error_escapes_control_chars),
	};

	return cmocka_run_group_tests_name("config", tests, group_setup, group_teardown);
}
