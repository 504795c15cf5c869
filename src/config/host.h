/*
 * host: the few facts about the host that validation needs, behind a table of
 * probes so unit tests can install fakes. The real probes only read /sys,
 * /proc and file metadata: they create, open or change nothing.
 */
#ifndef MV_CONFIG_HOST_H
#define MV_CONFIG_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What validation needs to know about a zone's file= path. */
struct config_file_info {
	bool exists;		 /* false: it will be created in an existing directory */
	bool is_dir;		 /* a directory: an unlinked temporary file goes there */
	bool hugetlbfs;		 /* the path (or its directory) is on hugetlbfs */
	uint64_t hugetlbfs_page; /* that mount's page size, when hugetlbfs */
};

/* What validation needs to know about a --pmem file= path. */
struct config_pmem_file {
	bool is_dir;   /* a directory: an unlinked temporary file goes there */
	uint64_t size; /* a regular file's size */
};

struct config_host_ops {
	/* /sys/kernel/mm/hugepages/hugepages-<size/1024>kB exists. */
	bool (*hugepage_size_offered)(uint64_t size);
	/* Hugepagesize in /proc/meminfo, 0 when the host has no hugetlb. */
	uint64_t (*default_hugepage_size)(void);
	/* /sys/devices/system/node/node<node> exists. */
	bool (*numa_node_present)(int node);
	/*
	 * 0 and *info when path can back guest RAM (a readable and writable
	 * regular file or directory, or a new name in a writable directory);
	 * otherwise -errno and the reason in why ("parent directory /x does
	 * not exist").
	 */
	int (*check_file)(const char *path, struct config_file_info *info, char *why,
			  size_t whylen);
	/*
	 * 0 and *info when path is an existing regular file readable (and,
	 * unless read_only, writable) or a writable directory; otherwise
	 * -errno and the reason in why ("No such file or directory").
	 */
	int (*check_pmem_file)(const char *path, bool read_only, struct config_pmem_file *info,
			       char *why, size_t whylen);
	/*
	 * 0 and *size (bytes) when path is a regular file or a block device
	 * that opens for reading (and, unless read_only, writing); otherwise
	 * -errno and the reason in why.
	 */
	int (*check_disk)(const char *path, bool read_only, uint64_t *size, char *why,
			  size_t whylen);
};

extern const struct config_host_ops config_host_real;

/* The probes in use: config_host_real unless a test installed others. */
const struct config_host_ops *config_host(void);
/* Install probes (a test's fakes); NULL restores the real ones. */
void config_host_set(const struct config_host_ops *ops);

#endif
