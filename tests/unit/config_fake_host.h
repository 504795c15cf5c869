/*
 * config_fake_host: a deterministic host for config tests and fuzzing (no
 * cmocka, no real /sys, /proc or file system): 2M (default) and 1G
 * hugepages, NUMA nodes 0 and 1, paths judged by prefix.
 */
#ifndef MV_TESTS_CONFIG_FAKE_HOST_H
#define MV_TESTS_CONFIG_FAKE_HOST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/host.h"

/* The fake host: 2M (default) and 1G hugepages, NUMA nodes 0 and 1. */
static uint64_t fake_default_hp = 2ULL << 20;

static inline bool fake_hp_offered(uint64_t size)
{
	return size == (2ULL << 20) || size == (1ULL << 30);
}

static inline uint64_t fake_hp_default(void)
{
	return fake_default_hp;
}

static inline bool fake_node_present(int node)
{
	return node == 0 || node == 1;
}

/*
 * /hugetlbfs/... is on a 2M hugetlbfs mount, /hugetlbfs1g/... on a 1G one,
 * /nodir/... has no parent, /dev/... is not a file, /ro/... is read-only;
 * /foo/bar, /tmp/... and everything else is a usable regular file.
 */
static inline int fake_check_file(const char *path, struct config_file_info *info, char *why,
				  size_t len)
{
	size_t n = strlen(path);

	memset(info, 0, sizeof(*info));
	if (!strncmp(path, "/nodir/", 7)) {
		snprintf(why, len, "parent directory /nodir does not exist");
		return -ENOENT;
	}
	if (!strncmp(path, "/dev/", 5)) {
		snprintf(why, len, "not a regular file or directory");
		return -EINVAL;
	}
	if (!strncmp(path, "/ro/", 4)) {
		snprintf(why, len, "not readable and writable: Permission denied");
		return -EACCES;
	}
	info->exists = true;
	info->is_dir = n && path[n - 1] == '/';
	if (!strncmp(path, "/hugetlbfs/", 11)) {
		info->hugetlbfs = true;
		info->hugetlbfs_page = 2ULL << 20;
	} else if (!strncmp(path, "/hugetlbfs1g/", 13)) {
		info->hugetlbfs = true;
		info->hugetlbfs_page = 1ULL << 30;
	}
	return 0;
}

/*
 * --pmem files: /nodir/... is missing, /ro/... is read-only, a path ending
 * in / is a directory, /pmem3m... is a 3M file, /empty... is empty, every
 * other file is 64M.
 */
static inline int fake_check_pmem_file(const char *path, bool read_only,
				       struct config_pmem_file *info, char *why, size_t len)
{
	size_t n = strlen(path);

	memset(info, 0, sizeof(*info));
	if (!strncmp(path, "/nodir/", 7)) {
		snprintf(why, len, "No such file or directory");
		return -ENOENT;
	}
	if (!strncmp(path, "/ro/", 4) && !read_only) {
		snprintf(why, len, "not readable and writable: Permission denied");
		return -EACCES;
	}
	info->is_dir = n && path[n - 1] == '/';
	if (!info->is_dir)
		info->size = !strncmp(path, "/pmem3m", 7)  ? 3ULL << 20
			     : !strncmp(path, "/empty", 6) ? 0
							   : 64ULL << 20;
	return 0;
}

/*
 * --disk paths: /nodir/... is missing, /ro/... is read-only, /dev/tty... is
 * not a disk, /small... holds 100 bytes, every other one is 64M.
 */
static inline int fake_check_disk(const char *path, bool read_only, uint64_t *size, char *why,
				  size_t len)
{
	*size = 0;
	if (!strncmp(path, "/nodir/", 7)) {
		snprintf(why, len, "No such file or directory");
		return -ENOENT;
	}
	if (!strncmp(path, "/ro/", 4) && !read_only) {
		snprintf(why, len, "not writable: Permission denied");
		return -EACCES;
	}
	if (!strncmp(path, "/dev/tty", 8)) {
		snprintf(why, len, "not a regular file or block device");
		return -EINVAL;
	}
	*size = !strncmp(path, "/small", 6) ? 100 : 64ULL << 20;
	return 0;
}

static const struct config_host_ops fake_host = {
    .check_disk = fake_check_disk,
    .hugepage_size_offered = fake_hp_offered,
    .default_hugepage_size = fake_hp_default,
    .numa_node_present = fake_node_present,
    .check_file = fake_check_file,
    .check_pmem_file = fake_check_pmem_file,
};

#endif
