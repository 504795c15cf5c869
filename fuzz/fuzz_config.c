/*
 * fuzz_config: the command line. The input is split at NUL and newline bytes
 * into argv words after "memvisor"; the words are parsed and validated twice,
 * against two fake hosts (a rich one: 2M and 1G hugepages, NUMA nodes 0-1,
 * hugetlbfs paths; a bare one: no hugetlb, node 0 only), so no probe ever
 * reaches the real /sys, /proc or file system and every run is deterministic.
 * Invariants: never crash or leak; a refusal is -EINVAL with one non-empty
 * line; an accepted config keeps the promises later code relies on
 * (normalized zones with unique ids, sizes aligned to their pages and blocks,
 * no overflow, vCPU counts and NUMA ids in range).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/host.h"
#include "lib/util.h"
#include "../tests/unit/config_fake_host.h"

/* What validate.c enforces; restated here so a weakened check is caught. */
#define FZ_PAGE_4K	   (4 * KiB)
#define FZ_MIN_BLOCK	   (1 * MiB)
#define FZ_LINUX_MEM_BLOCK (128 * MiB)
#define FZ_MAX_WORDS	   4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool bare_hp_offered(uint64_t size)
{
	return false;
}

static uint64_t bare_hp_default(void)
{
	return 0;
}

static bool bare_node_present(int node)
{
	return node == 0;
}

/* Every path is a new file in a writable directory, never on hugetlbfs. */
static int bare_check_file(const char *path, struct config_file_info *info, char *why, size_t len)
{
	memset(info, 0, sizeof(*info));
	return 0;
}

/* Every --pmem file exists, 64M. */
static int bare_check_pmem_file(const char *path, bool read_only, struct config_pmem_file *info,
				char *why, size_t len)
{
	memset(info, 0, sizeof(*info));
	info->size = 64ULL << 20;
	return 0;
}

static const struct config_host_ops bare_host = {
    .hugepage_size_offered = bare_hp_offered,
    .default_hugepage_size = bare_hp_default,
    .numa_node_present = bare_node_present,
    .check_file = bare_check_file,
    .check_pmem_file = bare_check_pmem_file,
};

static void check_refusal(int r, const char *err)
{
	if (r != -EINVAL || !err[0] || strchr(err, '\n') || strlen(err) >= CONFIG_ERR_LEN)
		abort();
}

static bool aligned(uint64_t v, uint64_t a)
{
	return a && v % a == 0;
}

static void check_zone(const struct zone_config *z)
{
	uint64_t page = z->hugepages ? z->hugepage_size : FZ_PAGE_4K;

	if (memchr(z->id, '\0', sizeof(z->id)) == NULL || !z->id[0])
		abort();
	if (!range_ok(z->size, z->hotplug_size) || !(z->size + z->hotplug_size))
		abort();
	if (z->hugepages && !is_pow2(z->hugepage_size))
		abort();
	if (!z->hugepages && z->hugepage_size)
		abort();
	/* A hugetlbfs file may impose a larger page than 4K: only check the minimum. */
	if (!aligned(z->size, page) || !aligned(z->hotplug_size, page))
		abort();
	if (z->hotplugged_size > z->hotplug_size)
		abort();
	if (z->hotplug_size && (!is_pow2(z->block_size) || z->block_size < FZ_MIN_BLOCK ||
				!aligned(z->hotplug_size, z->block_size) ||
				!aligned(z->hotplugged_size, z->block_size) ||
				!aligned(z->hotplug_size, FZ_LINUX_MEM_BLOCK)))
		abort();
	if (z->guest_numa_node < -1 || z->guest_numa_node >= CONFIG_MAX_NUMA)
		abort();
}

static void check_accepted(const struct mv_config *cfg)
{
	uint64_t total = 0;

	if (!cfg->nr_zones || cfg->nr_zones > CONFIG_MAX_ZONES)
		abort();
	for (unsigned int i = 0; i < cfg->nr_zones; i++) {
		const struct zone_config *z = &cfg->zones[i];

		check_zone(z);
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(cfg->zones[j].id, z->id))
				abort();
		if (!range_ok(total, z->size + z->hotplug_size))
			abort();
		total += z->size + z->hotplug_size;
	}
	if (cfg->cpus.boot < 1 || cfg->cpus.boot > CONFIG_MAX_CPUS ||
	    cfg->cpus.max != cfg->cpus.boot)
		abort();
	if (cfg->nr_numa > CONFIG_MAX_NUMA)
		abort();
	for (unsigned int i = 0; i < cfg->nr_numa; i++) {
		if (cfg->numa[i].guest_numa_id >= CONFIG_MAX_NUMA)
			abort();
		for (unsigned int j = 0; j < i; j++)
			if (cfg->numa[j].guest_numa_id == cfg->numa[i].guest_numa_id)
				abort();
	}
}

static void run_once(struct mv_config *cfg, int argc, char **argv,
		     const struct config_host_ops *host)
{
	char err[CONFIG_ERR_LEN];
	bool exit_now = false;
	int r;

	config_host_set(host);
	config_init(cfg);
	err[0] = '\0';
	r = config_parse_args(cfg, argc, argv, &exit_now, err, sizeof(err));
	if (r) {
		check_refusal(r, err);
	} else if (!exit_now) {
		r = config_validate(cfg, err, sizeof(err));
		if (r)
			check_refusal(r, err);
		else
			check_accepted(cfg);
	}
	config_free(cfg);
	config_host_set(NULL);
}

/* --help and --version print to stdout: keep libFuzzer's output readable. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* ~300K: too big for a stack frame, and reused between runs. */
	static struct mv_config cfg;
	static char *argv[FZ_MAX_WORDS + 2];
	char *buf = malloc(size + 1);
	int argc = 0;
	size_t i, start = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "memvisor";
	/* A trailing separator ends the last word; it does not add an empty one. */
	for (i = 0; i <= size && argc <= FZ_MAX_WORDS; i++) {
		if (i < size && buf[i] != '\0' && buf[i] != '\n')
			continue;
		if (i == size && start == size)
			break;
		buf[i] = '\0';
		argv[argc++] = buf + start;
		start = i + 1;
	}
	argv[argc] = NULL;
	run_once(&cfg, argc, argv, &fake_host);
	run_once(&cfg, argc, argv, &bare_host);
	free(buf);
	return 0;
}
