#include "config/host.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static bool host_hugepage_size_offered(uint64_t size)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB",
		 size >> 10);
	return size >= 1024 && access(path, F_OK) == 0;
}

static uint64_t host_default_hugepage_size(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

static bool host_numa_node_present(int node)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
	return node >= 0 && access(path, F_OK) == 0;
}

static void host_statfs(const char *path, struct config_file_info *info)
{
	struct statfs fs;

	if (statfs(path, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC) {
		info->hugetlbfs = true;
		info->hugetlbfs_page = fs.f_bsize;
	}
}

static int host_check_file(const char *path, struct config_file_info *info, char *why,
			   size_t whylen)
{
	char dir[PATH_MAX];
	struct stat st;

	memset(info, 0, sizeof(*info));
	if (stat(path, &st) == 0) {
		info->exists = true;
		info->is_dir = S_ISDIR(st.st_mode);
		if (!info->is_dir && !S_ISREG(st.st_mode)) {
			snprintf(why, whylen, "not a regular file or directory");
			return -EINVAL;
		}
		if (access(path, info->is_dir ? R_OK | W_OK | X_OK : R_OK | W_OK)) {
			int e = errno;

			snprintf(why, whylen, "not readable and writable: %s", strerror(e));
			return -e;
		}
		host_statfs(path, info);
		return 0;
	}
	if (errno != ENOENT) {
		int e = errno;

		snprintf(why, whylen, "%s", strerror(e));
		return -e;
	}
	/* "dir/" names a directory, which must exist: it would not be created. */
	if (path[0] && path[strlen(path) - 1] == '/') {
		snprintf(why, whylen, "directory does not exist");
		return -ENOENT;
	}
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		snprintf(why, whylen, "path too long");
		return -ENAMETOOLONG;
	}
	/* A missing file is created at start-up; its directory must allow that. */
	dirname(dir);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "parent directory %s does not exist", dir);
		return -ENOENT;
	}
	if (access(dir, W_OK | X_OK)) {
		snprintf(why, whylen, "cannot create it: directory %s is not writable", dir);
		return -EACCES;
	}
	host_statfs(dir, info);
	return 0;
}

static int host_check_pmem_file(const char *path, bool read_only, struct config_pmem_file *info,
				char *why, size_t whylen)
{
	struct stat st;
	int e;

	memset(info, 0, sizeof(*info));
	if (stat(path, &st)) {
		e = errno;
		snprintf(why, whylen, "%s", strerror(e));
		return -e;
	}
	info->is_dir = S_ISDIR(st.st_mode);
	if (!info->is_dir && !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file or directory");
		return -EINVAL;
	}
	/* A directory gets a new file, so it must be writable even for discard_writes. */
	if (access(path, info->is_dir ? R_OK | W_OK | X_OK : read_only ? R_OK : R_OK | W_OK)) {
		e = errno;
		snprintf(why, whylen, "not %s: %s",
			 read_only && !info->is_dir ? "readable" : "readable and writable",
			 strerror(e));
		return -e;
	}
	info->size = info->is_dir ? 0 : (uint64_t)st.st_size;
	return 0;
}

static int host_check_disk(const char *path, bool read_only, uint64_t *size, char *why,
			   size_t whylen)
{
	struct stat st;
	int fd, e = 0;

	*size = 0;
	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		snprintf(why, whylen, "%s%s",
			 !read_only && (e == EACCES || e == EROFS || e == EPERM) ? "not writable: "
										 : "",
			 strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		e = errno;
		snprintf(why, whylen, "%s", strerror(e));
	} else if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
	} else if (!S_ISBLK(st.st_mode)) {
		e = EINVAL;
		snprintf(why, whylen, "not a regular file or block device");
	} else if (ioctl(fd, BLKGETSIZE64, size)) {
		e = errno;
		snprintf(why, whylen, "size of the block device: %s", strerror(e));
	}
	close(fd);
	return -e;
}

const struct config_host_ops config_host_real = {
    .check_disk = host_check_disk,
    .hugepage_size_offered = host_hugepage_size_offered,
    .default_hugepage_size = host_default_hugepage_size,
    .numa_node_present = host_numa_node_present,
    .check_file = host_check_file,
    .check_pmem_file = host_check_pmem_file,
};

static const struct config_host_ops *host_ops = &config_host_real;

const struct config_host_ops *config_host(void)
{
	return host_ops;
}

void config_host_set(const struct config_host_ops *ops)
{
	host_ops = ops ? ops : &config_host_real;
}
