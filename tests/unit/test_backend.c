/* Unit tests for mem/backend, on the real host (no KVM needed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "mem/backend.h"
#include "mem/hostmem.h"
#include "mem/layout.h"

static struct mv_config cfg;
static struct layout lay;
static char err[512];

/* One zone "mem0" given by --memory-zone, with `size` boot RAM. */
static struct zone_config *cfg_zone(uint64_t size)
{
	struct zone_config *z;

	memset(&cfg, 0, sizeof(cfg));
	memset(err, 0, sizeof(err));
	cfg.nr_zones = 1;
	z = &cfg.zones[0];
	snprintf(z->id, sizeof(z->id), "mem0");
	z->size = size;
	z->host_numa_node = -1;
	z->guest_numa_node = -1;
	return z;
}

static void spec_of(bool hotplug, struct backend_spec *s)
{
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(backend_spec_from_zone(&cfg, &lay, 0, hotplug, s), 0);
}

static int create(bool hotplug, struct backend *b)
{
	struct backend_spec s;

	spec_of(hotplug, &s);
	return backend_create(&s, b, err, sizeof(err));
}

/* The smaps block of the VMA holding addr: VmFlags and a numeric field. */
static bool smaps_lookup(const void *addr, const char *field, char *out, size_t len)
{
	char line[512];
	unsigned long start, end;
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		/* Field names never parse as "hex-hex": only VMA header lines do. */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
			continue;
		}
		if (in && !strncmp(line, field, strlen(field))) {
			snprintf(out, len, "%s", line + strlen(field));
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static bool has_vmflag(const void *addr, const char *flag)
{
	char flags[256], pad[8];

	assert_true(smaps_lookup(addr, "VmFlags:", flags, sizeof(flags)));
	snprintf(pad, sizeof(pad), " %s", flag);
	flags[strcspn(flags, "\n")] = ' ';
	strcat(flags, " ");
	return strstr(flags, pad) && strstr(flags, pad)[strlen(pad)] == ' ';
}

static uint64_t resident(const void *addr, uint64_t len)
{
	size_t pages = len / 4096, i;
	unsigned char *vec = calloc(pages, 1);
	uint64_t n = 0;

	assert_int_equal(mincore((void *)addr, len, vec), 0);
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n * 4096;
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char tmpdir[64];

static int setup_tmp(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mv-backend-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

static void test_anon(void **state)
{
	struct backend b;
	struct backend_stats st;

	cfg_zone(4 * MiB);
	assert_int_equal(create(false, &b), 0);
	assert_int_equal(b.fd, -1);
	assert_true(is_aligned((uintptr_t)b.hva, 2 * MiB));
	assert_true(has_vmflag(b.hva, "hg")); /* THP advice */
	assert_false(has_vmflag(b.hva, "sh"));
	assert_false(has_vmflag(b.hva, "dd"));
	assert_true(b.discard_zeroes);
	assert_int_equal(resident(b.hva, b.size), 0);

	assert_int_equal(backend_populate(&b, 0, 2 * MiB), 0);
	assert_int_equal(resident(b.hva, 2 * MiB), 2 * MiB);
	memset(b.hva, 0xab, b.size);
	assert_int_equal(resident(b.hva, b.size), 4 * MiB);
	assert_int_equal(backend_discard(&b, MiB, 2 * MiB), 0);
	assert_true(resident(b.hva, b.size) <= 2 * MiB);
	assert_true(all_zero(b.hva + MiB, 2 * MiB));
	assert_int_equal(b.hva[MiB - 1], 0xab);
	assert_int_equal(b.hva[3 * MiB], 0xab);

	/* Bad ranges are refused and counted. */
	assert_int_equal(backend_discard(&b, 1, 4096), -EINVAL);
	assert_int_equal(backend_discard(&b, 0, 8 * MiB), -EINVAL);
	assert_int_equal(backend_discard(&b, UINT64_MAX & ~4095ULL, 8192), -EINVAL);
	assert_int_equal(backend_populate(&b, 4 * MiB, 4096), -EINVAL);
	backend_get_stats(&b, &st);
	assert_int_equal(st.populated, 2 * MiB);
	assert_int_equal(st.discarded, 2 * MiB);
	assert_int_equal(st.discard_failed, 3);
	backend_destroy(&b);
	backend_destroy(&b); /* idempotent */
}

static void test_memfd_shared(void **state)
{
	struct backend b;
	char path[64];
	uint8_t *other;
	int fd;

	cfg_zone(4 * MiB)->shared = true;
	assert_int_equal(create(false, &b), 0);
	assert_true(b.fd >= 0);
	assert_true(b.map_shared);
	assert_true(has_vmflag(b.hva, "sh"));
	assert_false(has_vmflag(b.hva, "hg"));
	assert_int_equal(fcntl(b.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	/* Another process would open /proc/PID/fd/N: do the same here. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", b.fd);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	other = mmap(NULL, b.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(other != MAP_FAILED);
	memcpy(b.hva + 8192, "guest", 6);
	assert_string_equal((char *)other + 8192, "guest");
	memcpy(other + 3 * MiB, "vhost", 6);
	assert_string_equal((char *)b.hva + 3 * MiB, "vhost");

	/* A discard frees the pages for every mapping of the memfd. */
	memset(b.hva, 0x5a, b.size);
	assert_int_equal(resident(other, b.size), 4 * MiB);
	assert_int_equal(backend_discard(&b, 0, 2 * MiB), 0);
	assert_int_equal(resident(b.hva, 2 * MiB), 0);
	assert_int_equal(resident(other, 2 * MiB), 0);
	assert_true(all_zero(other, 2 * MiB));
	assert_true(all_zero(b.hva, 2 * MiB));
	assert_int_equal(other[2 * MiB], 0x5a);
	munmap(other, b.size);
	close(fd);
	backend_destroy(&b);
}

static void write_file(const char *path, uint64_t size, int byte)
{
	uint8_t *buf = malloc(size);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	memset(buf, byte, size);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void test_file_sizing(void **state)
{
	char path[128];
	struct backend b;
	struct zone_config *z;
	uint8_t c = 0;
	int fd;

	/* An existing bigger file is used as is, never truncated. */
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	write_file(path, 8 * MiB, 0x11);
	z = cfg_zone(4 * MiB);
	z->file = path;
	z->shared = true;
	assert_int_equal(create(false, &b), 0);
	assert_int_equal(file_size(path), 8 * MiB);
	assert_int_equal(b.hva[4 * MiB - 1], 0x11);
	b.hva[0] = 0x22;
	backend_destroy(&b);
	fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, &c, 1, 0), 1);
	close(fd);
	assert_int_equal(c, 0x22); /* shared: written through */
	assert_int_equal(file_size(path), 8 * MiB);

	/* A smaller one is extended. */
	snprintf(path, sizeof(path), "%s/small", tmpdir);
	write_file(path, 1 * MiB, 0x33);
	assert_int_equal(create(false, &b), 0);
	assert_int_equal(file_size(path), 4 * MiB);
	assert_int_equal(b.hva[0], 0x33);
	assert_int_equal(b.hva[2 * MiB], 0);
	backend_destroy(&b);
	assert_int_equal(file_size(path), 4 * MiB);

	/* A missing one is created, and kept (the user named it). */
	snprintf(path, sizeof(path), "%s/new", tmpdir);
	assert_int_equal(create(false, &b), 0);
	backend_destroy(&b);
	assert_int_equal(file_size(path), 4 * MiB);
}

static void test_file_error_leaves_nothing(void **state)
{
	char path[128];
	struct backend b;
	struct zone_config *z;
	int fds = count_fds();

	/* A failure after the file was created removes it... */
	snprintf(path, sizeof(path), "%s/failnew", tmpdir);
	z = cfg_zone(4 * MiB);
	z->file = path;
	z->shared = true;
	z->host_numa_node = 7;
	assert_true(create(false, &b) < 0);
	assert_non_null(strstr(err, "--memory-zone id=mem0: host_numa_node=7"));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(b.fd, -1);
	assert_null(b.hva);
	/* ...and one after it was extended shrinks it back. */
	write_file(path, 1 * MiB, 0x44);
	assert_true(create(false, &b) < 0);
	assert_int_equal(file_size(path), 1 * MiB);
	assert_int_equal(count_fds(), fds);

	/* Neither a regular file nor a directory. */
	z->file = (char *)"/dev/null";
	z->host_numa_node = -1;
	assert_int_equal(create(false, &b), -EINVAL);
	assert_non_null(strstr(err, "file=/dev/null"));
	/* Not on hugetlbfs with hugepages=on. */
	z->file = path;
	z->hugepages = true;
	z->hugepage_size = 2 * MiB;
	assert_int_equal(create(false, &b), -EINVAL);
	assert_non_null(strstr(err, "is not on hugetlbfs"));
	assert_int_equal(file_size(path), 1 * MiB);
	assert_int_equal(count_fds(), fds);
}

static void test_dir_tmpfile(void **state)
{
	char dir[128], out[8192];
	struct backend b;
	struct zone_config *z;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/d", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	z = cfg_zone(4 * MiB);
	z->file = dir;
	z->shared = true;
	assert_int_equal(create(false, &b), 0);
	assert_true(b.tmpfile);
	assert_int_equal(count_dir(dir), 0); /* unlinked while in use */
	memset(b.hva, 1, b.size);
	assert_int_equal(backend_discard(&b, 0, b.size), 0);
	assert_true(all_zero(b.hva, b.size));
	f = fmemopen(out, sizeof(out), "w");
	backend_format_backend(f, &b);
	fclose(f);
	assert_non_null(strstr(out, "(unlinked tmpfile)"));
	backend_destroy(&b);
	assert_int_equal(count_dir(dir), 0);

	/* Private temp file: discards still read back zero (nothing was written to it). */
	z->shared = false;
	assert_int_equal(create(false, &b), 0);
	assert_false(has_vmflag(b.hva, "sh"));
	assert_true(b.discard_zeroes);
	memset(b.hva, 1, b.size);
	assert_int_equal(backend_discard(&b, 0, b.size), 0);
	assert_true(all_zero(b.hva, b.size));
	backend_destroy(&b);
	assert_int_equal(count_dir(dir), 0);
}

static void test_private_file_discard(void **state)
{
	char path[128];
	struct backend b;
	struct zone_config *z;
	uint8_t c = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/priv", tmpdir);
	write_file(path, 4 * MiB, 0x77);
	z = cfg_zone(4 * MiB);
	z->file = path;
	assert_int_equal(create(false, &b), 0);
	assert_false(b.map_shared);
	assert_false(b.discard_zeroes);
	memset(b.hva, 0x99, b.size);
	/* The file is never written through a private mapping... */
	fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, &c, 1, 4096), 1);
	assert_int_equal(c, 0x77);
	/* ...and a discard brings back its content, not zeros. */
	assert_int_equal(backend_discard(&b, 0, 2 * MiB), 0);
	assert_int_equal(b.hva[4096], 0x77);
	assert_int_equal(b.hva[2 * MiB], 0x99);
	assert_int_equal(pread(fd, &c, 1, 4096), 1);
	assert_int_equal(c, 0x77);
	close(fd);
	backend_destroy(&b);
}

/*
 * memory_restore_mode=cow: a range mapped privately from a snapshot file
 * reads the file, writes stay ours, and a discard (a virtio-mem unplug)
 * reads back ZEROS, not the file's pages: MADV_DONTNEED alone would bring
 * them back.
 */
/*
 * cow maps the file's data only: reading the holes of a tmpfs snapshot
 * through the guest's memory allocates nothing in the file (mapping the
 * whole range did: 4M of tmpfs per 4M of zero pages read).
 */
static void test_cow_maps_data_extents_only(void **state)
{
	char path[] = "/dev/shm/mv-test-cow-XXXXXX";
	struct backend b;
	struct zone_config *z;
	struct stat st;
	uint8_t *buf;
	long sum = 0;
	int fd;

	(void)state;
	fd = mkstemp(path);
	if (fd < 0) {
		skip(); /* no tmpfs at /dev/shm */
		return;
	}
	unlink(path);
	/* 8M: a 4K page of data, a 2M hole, 64K of data, the rest a hole. */
	assert_int_equal(ftruncate(fd, 8 * MiB), 0);
	buf = malloc(64 * 1024);
	memset(buf, 0xcd, 64 * 1024);
	assert_int_equal(pwrite(fd, buf, 4096, 0), 4096);
	assert_int_equal(pwrite(fd, buf, 64 * 1024, 2 * MiB + 4096), 64 * 1024);
	free(buf);
	assert_int_equal(fstat(fd, &st), 0);
	blkcnt_t before = st.st_blocks;

	z = cfg_zone(2 * MiB);
	z->hotplug_size = 8 * MiB;
	z->block_size = 2 * MiB;
	assert_int_equal(create(true, &b), 0);
	assert_int_equal(backend_map_file_data(&b, 0, 8 * MiB, fd, 0), 0);
	assert_true(b.file_private);
	for (uint64_t i = 0; i < 8 * MiB; i += 4096)
		sum += b.hva[i];
	assert_int_equal(b.hva[0], 0xcd);
	assert_int_equal(b.hva[2 * MiB + 4096], 0xcd);
	assert_int_equal(b.hva[2 * MiB + 4096 + 64 * 1024 - 1], 0xcd);
	assert_int_equal(b.hva[4096], 0);
	assert_int_equal(b.hva[7 * MiB], 0);
	assert_int_equal(sum, 0xcd * (1 + 16));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_blocks, before);
	assert_int_equal(backend_map_file_data(&b, 0, 8 * MiB, fd, 100), -EINVAL);
	backend_destroy(&b);
	close(fd);
}

static void test_cow_map_file_discard(void **state)
{
	char path[128];
	struct backend b, m;
	struct zone_config *z;
	uint8_t c = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/snap", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	/* 8M at file offset 4K: the first 4M 0xab, the rest a hole. */
	assert_int_equal(ftruncate(fd, 4096 + 8 * MiB), 0);
	{
		uint8_t *buf = malloc(4 * MiB);

		memset(buf, 0xab, 4 * MiB);
		assert_int_equal(pwrite(fd, buf, 4 * MiB, 4096), (ssize_t)(4 * MiB));
		free(buf);
	}
	z = cfg_zone(2 * MiB);
	z->hotplug_size = 8 * MiB;
	z->block_size = 2 * MiB;
	assert_int_equal(create(true, &b), 0);
	assert_false(b.file_private);
	assert_int_equal(backend_map_file(&b, 0, 8 * MiB, fd, 4096), 0);
	assert_true(b.file_private);
	assert_int_equal(b.hva[0], 0xab);
	assert_int_equal(b.hva[4 * MiB - 1], 0xab);
	assert_int_equal(b.hva[4 * MiB], 0); /* a hole: zero */
	b.hva[1] = 0x11;		     /* private: the file keeps its byte */
	assert_int_equal(pread(fd, &c, 1, 4097), 1);
	assert_int_equal(c, 0xab);

	/* Unplugged: zeros, whether the guest wrote the page or not. */
	assert_int_equal(backend_discard(&b, 0, 2 * MiB), 0);
	assert_int_equal(b.hva[1], 0);
	assert_int_equal(b.hva[4096], 0);
	assert_int_equal(b.hva[2 * MiB], 0xab); /* outside the discard: still the file's */
	/* Plugged again and written: anonymous memory, the file untouched. */
	memset(b.hva, 0x22, 2 * MiB);
	assert_int_equal(b.hva[2 * MiB - 1], 0x22);
	assert_int_equal(pread(fd, &c, 1, 4096), 1);
	assert_int_equal(c, 0xab);
	assert_int_equal(backend_discard(&b, 0, 2 * MiB), 0);
	assert_int_equal(b.hva[5], 0);
	/* Prefault of a cow range maps the file's pages without copying them. */
	assert_int_equal(backend_prefault_read(&b, 2 * MiB, 2 * MiB, err, sizeof(err)), 0);
	assert_int_equal(b.hva[2 * MiB], 0xab);

	/* Checked: offsets 4K aligned, private 4K memory only. */
	assert_int_equal(backend_map_file(&b, 0, 2 * MiB, fd, 100), -EINVAL);
	assert_int_equal(backend_map_file(&b, 1, 4096, fd, 0), -EINVAL);
	assert_int_equal(backend_map_file(&b, 0, 16 * MiB, fd, 0), -EINVAL);
	backend_destroy(&b);
	z = cfg_zone(4 * MiB);
	z->shared = true;
	assert_int_equal(create(false, &m), 0);
	assert_int_equal(backend_map_file(&m, 0, 2 * MiB, fd, 4096), -EINVAL);
	backend_destroy(&m);
	close(fd);
	unlink(path);
}

static void test_hotplug_region(void **state)
{
	struct backend b;
	struct zone_config *z;
	struct backend_spec s;

	z = cfg_zone(2 * MiB);
	z->hotplug_size = 64 * MiB;
	z->block_size = 2 * MiB;
	z->prefault = true;				 /* boot RAM only */
	z->file = (char *)"/nonexistent-dir/never-used"; /* hotplug never uses file= */
	spec_of(true, &s);
	assert_string_equal(s.name, "mem0-hotplug");
	assert_int_equal(s.gpa, 4 * GiB);
	assert_int_equal(s.kind, BACKEND_ANON);
	assert_false(s.prefault);
	assert_int_equal(backend_create(&s, &b, err, sizeof(err)), 0);
	assert_true(has_vmflag(b.hva, "dd"));
	assert_true(has_vmflag(b.hva, "nr"));
	assert_int_equal(resident(b.hva, b.size), 0);
	assert_int_equal(backend_populate(&b, 32 * MiB, 4 * MiB), 0);
	assert_int_equal(resident(b.hva, b.size), 4 * MiB);
	assert_int_equal(backend_discard(&b, 32 * MiB, 4 * MiB), 0);
	assert_int_equal(resident(b.hva, b.size), 0);
	backend_destroy(&b);

	/* Shared zone: the region is a memfd of its own. */
	z->shared = true;
	spec_of(true, &s);
	assert_int_equal(s.kind, BACKEND_MEMFD);
	assert_int_equal(backend_create(&s, &b, err, sizeof(err)), 0);
	assert_true(has_vmflag(b.hva, "dd"));
	assert_true(has_vmflag(b.hva, "sh"));
	backend_destroy(&b);
}

static void test_prefault(void **state)
{
	struct backend b;
	struct backend_stats st;

	/* More than one 64M piece, with a tail: every worker and the tail run. */
	cfg_zone(136 * MiB)->prefault = true;
	assert_int_equal(create(false, &b), 0);
	assert_int_equal(resident(b.hva, b.size), b.size);
	backend_get_stats(&b, &st);
	assert_int_equal(st.populated, b.size);
	backend_destroy(&b);
}

static void test_mergeable(void **state)
{
	struct backend b;

	cfg_zone(4 * MiB)->mergeable = true;
	assert_int_equal(create(false, &b), 0);
	assert_true(has_vmflag(b.hva, "mg"));
	backend_destroy(&b);
}

static void test_numa(void **state)
{
	struct backend b;
	struct zone_config *z;
	int fds = count_fds();

	z = cfg_zone(4 * MiB);
	z->host_numa_node = 0;
	z->prefault = true;
	assert_int_equal(create(false, &b), 0);
	assert_int_equal(resident(b.hva, b.size), b.size);
	backend_destroy(&b);

	z->host_numa_node = 7;
	z->shared = true;
	assert_int_equal(create(false, &b), -EINVAL);
	assert_non_null(strstr(err, "host_numa_node=7: mbind"));
	assert_non_null(strstr(err, "online host nodes: 0"));
	assert_int_equal(count_fds(), fds);
}

static int nr_hugepages_saved = -1;

static int read_int(const char *path)
{
	uint64_t v = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%lu", &v) != 1)
		v = 0;
	fclose(f);
	return (int)v;
}

static int write_int(const char *path, int v)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%d\n", v) > 0 ? 0 : -1;
	if (fclose(f))
		ret = -1;
	return ret;
}

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define FREE_2M	     "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

static void test_hugepages(void **state)
{
	struct backend b, hp;
	struct zone_config *z;
	struct backend_spec s;
	char kps[64], want[128];
	uint64_t avail;

	if (hostmem_default_hugepage_size() != 2 * MiB) {
		printf("SKIP hugepages: host default hugepage size is not 2M\n");
		skip();
	}
	nr_hugepages_saved = read_int(NR_HUGEPAGES);
	if (nr_hugepages_saved < 0 || write_int(NR_HUGEPAGES, nr_hugepages_saved + 4) ||
	    read_int(FREE_2M) < 4) {
		printf("SKIP hugepages: cannot reserve 4 hugepages of 2M (not root?)\n");
		if (nr_hugepages_saved >= 0)
			write_int(NR_HUGEPAGES, nr_hugepages_saved);
		skip();
	}

	z = cfg_zone(4 * MiB);
	z->hugepages = true; /* hugepage_size 0: the host default */
	z->hotplug_size = 64 * MiB;
	z->block_size = 2 * MiB;
	assert_int_equal(create(false, &b), 0);
	assert_int_equal(b.spec.page_size, 2 * MiB);
	assert_int_equal(b.spec.kind, BACKEND_MEMFD);
	assert_true(smaps_lookup(b.hva, "KernelPageSize:", kps, sizeof(kps)));
	assert_int_equal(atoi(kps), 2048);
	memset(b.hva, 3, b.size);
	assert_int_equal(read_int(FREE_2M), 2);
	assert_int_equal(backend_discard(&b, 2 * MiB, 2 * MiB), 0);
	assert_int_equal(read_int(FREE_2M), 3);
	/* Reading a hole of shared hugetlb memory allocates a page again. */
	assert_true(all_zero(b.hva + 2 * MiB, 2 * MiB));
	assert_int_equal(read_int(FREE_2M), 2);
	assert_int_equal(backend_discard(&b, 4096, 2 * MiB), -EINVAL); /* not hugepage aligned */

	/* The pool is short: a clear error before mapping, not a SIGBUS later. */
	z->size = 16 * MiB;
	assert_int_equal(hostmem_hugepages_free(2 * MiB, -1, &avail), 0);
	assert_true(avail < 8);
	snprintf(want, sizeof(want),
		 "--memory-zone id=mem0: needs 8 hugepages of 2M, host has %lu free", avail);
	assert_int_equal(create(false, &hp), -ENOMEM);
	assert_string_equal(err, want);

	/* A hotplug region reserves nothing; a plug fails cleanly when the pool is dry. */
	spec_of(true, &s);
	assert_int_equal(s.page_size, 0);
	assert_int_equal(backend_create(&s, &hp, err, sizeof(err)), 0);
	assert_true(has_vmflag(hp.hva, "dd"));
	assert_int_equal(backend_populate(&hp, 0, 2 * MiB), 0);
	assert_int_equal(read_int(FREE_2M), 1);
	assert_true(backend_populate(&hp, 2 * MiB, 8 * MiB) < 0);
	assert_int_equal(backend_discard(&hp, 0, 64 * MiB), 0);
	backend_destroy(&hp);
	backend_destroy(&b);
	assert_int_equal(read_int(FREE_2M), 4);

	/* A size the host does not offer. */
	if (access("/sys/kernel/mm/hugepages/hugepages-1048576kB", F_OK)) {
		z->size = 1 * GiB;
		z->hugepage_size = 1 * GiB;
		assert_int_equal(create(false, &b), -EINVAL);
		assert_string_equal(err,
				    "--memory-zone id=mem0: hugepage_size=1G is not offered by "
				    "the host");
	}
	assert_int_equal(write_int(NR_HUGEPAGES, nr_hugepages_saved), 0);
	nr_hugepages_saved = -1;
}

static int teardown_hugepages(void **state)
{
	if (nr_hugepages_saved >= 0)
		write_int(NR_HUGEPAGES, nr_hugepages_saved);
	nr_hugepages_saved = -1;
	return 0;
}

static void test_specs_and_format(void **state)
{
	struct backend_spec specs[BACKEND_MAX];
	unsigned int n = 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	struct zone_config *z;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_zones = 3;
	z = &cfg.zones[0];
	snprintf(z->id, sizeof(z->id), "mem0");
	z->size = 1 * GiB;
	z->host_numa_node = 0;
	z->prefault = true;
	z->mergeable = true;
	z = &cfg.zones[1];
	snprintf(z->id, sizeof(z->id), "big");
	z->size = 4 * GiB;
	z->file = (char *)"/dev/hugepages";
	z->hugepages = true;
	z->hugepage_size = 2 * MiB;
	z->shared = true;
	z->host_numa_node = -1;
	z = &cfg.zones[2];
	snprintf(z->id, sizeof(z->id), "hot");
	z->hotplug_size = 8 * GiB;
	z->block_size = 2 * MiB;
	z->shared = true;
	z->host_numa_node = -1;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(backend_specs_from_config(&cfg, &lay, specs, BACKEND_MAX, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(backend_specs_from_config(&cfg, &lay, specs, 2, &n), -ENOSPC);
	assert_int_equal(backend_specs_from_config(&cfg, &lay, specs, BACKEND_MAX, &n), 0);
	assert_string_equal(specs[1].opt, "--memory-zone id=big");
	assert_int_equal(specs[1].gpa, 1 * GiB);
	assert_int_equal(specs[2].gpa, 6 * GiB);

	f = open_memstream(&buf, &len);
	backend_format_specs(f, specs, n);
	fclose(f);
	assert_non_null(strstr(buf, "Block Name"));
	assert_non_null(strstr(buf, "mem0                 4 KiB    0x0000000000000000 "
				    "0x0000000040000000 anon                     "
				    "prefault,mergeable,thp,node 0\n"));
	assert_non_null(strstr(buf, "big                  2 MiB    0x0000000040000000 "
				    "0x0000000100000000 hugetlbfs /dev/hugepages shared\n"));
	assert_non_null(strstr(buf, "hot-hotplug          4 KiB    0x0000000180000000 "
				    "0x0000000200000000 memfd                    "
				    "shared,noreserve,dontdump\n"));
	free(buf);

	/* Plain --memory names the option so. */
	cfg.memory.size = 1 * GiB;
	cfg.nr_zones = 1;
	assert_int_equal(backend_spec_from_zone(&cfg, &lay, 0, false, &specs[0]), 0);
	assert_string_equal(specs[0].opt, "--memory");
	assert_int_equal(backend_spec_from_zone(&cfg, &lay, 0, true, &specs[0]), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_anon),
	    cmocka_unit_test(test_memfd_shared),
	    cmocka_unit_test(test_file_sizing),
	    cmocka_unit_test(test_file_error_leaves_nothing),
	    cmocka_unit_test(test_dir_tmpfile),
	    cmocka_unit_test(test_private_file_discard),
	    cmocka_unit_test(test_cow_map_file_discard),
	    cmocka_unit_test(test_cow_maps_data_extents_only),
	    cmocka_unit_test(test_hotplug_region),
	    cmocka_unit_test(test_prefault),
	    cmocka_unit_test(test_mergeable),
	    cmocka_unit_test(test_numa),
	    cmocka_unit_test_teardown(test_hugepages, teardown_hugepages),
	    cmocka_unit_test(test_specs_and_format),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
