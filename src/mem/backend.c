#include "mem/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mem/hostmem.h"
#include "lib/size.h"

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

#define PAGE_4K	      4096ULL
#define MAP_ALIGN     (2ULL << 20) /* so THP can back guest pages from the first byte */
#define NODEMASK_BITS 1024

int backend_spec_from_zone(const struct mv_config *cfg, const struct layout *l, unsigned int zone,
			   bool hotplug, struct backend_spec *out)
{
	const struct zone_config *z;

	if (zone >= cfg->nr_zones)
		return -EINVAL;
	z = &cfg->zones[zone];
	memset(out, 0, sizeof(*out));
	out->size = hotplug ? z->hotplug_size : z->size;
	if (!out->size)
		return -EINVAL;
	layout_zone_opt(cfg, zone, out->opt, sizeof(out->opt));
	snprintf(out->name, sizeof(out->name), hotplug ? "%s-hotplug" : "%s", z->id);
	out->zone = zone;
	out->hotplug = hotplug;
	out->gpa = hotplug ? l->zones[zone].hotplug_gpa : l->zones[zone].ram_gpa;
	out->shared = z->shared;
	out->hugetlb = z->hugepages;
	out->page_size = z->hugepages ? z->hugepage_size : PAGE_4K;
	/* A virtio-mem region never uses file=: see the header. */
	if (z->file && !hotplug) {
		out->kind = BACKEND_FILE;
		out->path = z->file;
	} else if (z->shared || z->hugepages) {
		out->kind = BACKEND_MEMFD;
	} else {
		out->kind = BACKEND_ANON;
	}
	out->prefault = z->prefault && !hotplug;
	out->mergeable = z->mergeable;
	out->thp = out->kind == BACKEND_ANON;
	out->noreserve = hotplug;
	out->dontdump = hotplug;
	out->host_numa_node = z->host_numa_node;
	return 0;
}

int backend_specs_from_config(const struct mv_config *cfg, const struct layout *l,
			      struct backend_spec *out, unsigned int max, unsigned int *nr)
{
	unsigned int i, n = 0;
	int h;

	for (i = 0; i < cfg->nr_zones; i++) {
		for (h = 0; h < 2; h++) {
			if (!(h ? cfg->zones[i].hotplug_size : cfg->zones[i].size))
				continue;
			if (n >= max)
				return -ENOSPC;
			backend_spec_from_zone(cfg, l, i, h, &out[n++]);
		}
	}
	*nr = n;
	return 0;
}

/* What backend_create acquired, so any failure can undo exactly that. */
struct acquired {
	bool created;  /* we created the file at spec->path: unlink on failure */
	bool extended; /* we grew the file: shrink back on failure */
	uint64_t orig_size;
};

static int open_memfd(struct backend *b, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;
	unsigned int flags = MFD_CLOEXEC;
	char name[BACKEND_NAME_LEN + 16];
	char ps[24];

	/* The name shows in /proc/PID/fd, which is how another process finds it. */
	snprintf(name, sizeof(name), "memvisor-%s", s->name);
	if (s->hugetlb)
		flags |=
		    MFD_HUGETLB | ((unsigned int)__builtin_ctzll(s->page_size) << MFD_HUGE_SHIFT);
	b->fd = memfd_create(name, flags);
	if (b->fd < 0) {
		int e = errno;

		mv_size_format(s->page_size, ps, sizeof(ps));
		mv_errbuf(err, errlen, "%s: memfd_create%s%s failed: %s", s->opt,
			  s->hugetlb ? " with hugepages of " : "", s->hugetlb ? ps : "",
			  strerror(e));
		return -e;
	}
	if (ftruncate(b->fd, (off_t)s->size)) {
		int e = errno;

		mv_errbuf(err, errlen, "%s: sizing the memfd to %" PRIu64 " bytes: %s", s->opt,
			  s->size, strerror(e));
		return -e;
	}
	return 0;
}

static int open_tmpfile(struct backend *b, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;
	char tmpl[4096];

	b->fd = open(s->path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (b->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* Filesystems without O_TMPFILE (hugetlbfs before 6.x, some FUSE). */
		if (snprintf(tmpl, sizeof(tmpl), "%s/memvisor-%s-XXXXXX", s->path, s->name) >=
		    (int)sizeof(tmpl)) {
			mv_errbuf(err, errlen, "%s: file=%s: path too long", s->opt, s->path);
			return -ENAMETOOLONG;
		}
		b->fd = mkostemp(tmpl, O_CLOEXEC);
		if (b->fd >= 0)
			unlink(tmpl);
	}
	if (b->fd < 0) {
		int e = errno;

		mv_errbuf(err, errlen, "%s: file=%s: cannot create a temporary file in it: %s",
			  s->opt, s->path, strerror(e));
		return -e;
	}
	b->tmpfile = true;
	return 0;
}

static int open_file(struct backend *b, struct acquired *acq, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;
	struct stat st;
	int ret;

	if (stat(s->path, &st) == 0 && S_ISDIR(st.st_mode)) {
		ret = open_tmpfile(b, err, errlen);
		if (ret)
			return ret;
	} else {
		b->fd = open(s->path, O_RDWR | O_CLOEXEC);
		if (b->fd < 0 && errno == ENOENT) {
			b->fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			acq->created = b->fd >= 0;
		}
		if (b->fd < 0) {
			int e = errno;

			mv_errbuf(err, errlen, "%s: file=%s: %s", s->opt, s->path, strerror(e));
			return -e;
		}
	}
	if (fstat(b->fd, &st)) {
		ret = -errno;
		mv_errbuf(err, errlen, "%s: file=%s: %s", s->opt, s->path, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		mv_errbuf(err, errlen, "%s: file=%s is neither a regular file nor a directory",
			  s->opt, s->path);
		return -EINVAL;
	}
	acq->orig_size = (uint64_t)st.st_size;
	return 0;
}

/*
 * Guest writes to a shared file mapping land in the file: a filesystem
 * without room for what is not yet allocated would make the host fault
 * (SIGBUS) the first time the guest touches that memory. Refuse now, with
 * the figures, rather than then. (A private mapping copies on write and
 * needs no room in the file.)
 */
static int check_room(struct backend *b, const struct statfs *fs, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;
	uint64_t allocated, need, have;
	char needs[24], haves[24];
	struct stat st;

	if (!s->shared || fstat(b->fd, &st))
		return 0;
	allocated = (uint64_t)st.st_blocks * 512;
	need = s->size > allocated ? s->size - allocated : 0;
	have = (uint64_t)fs->f_bavail * (uint64_t)fs->f_bsize;
	if (need <= have)
		return 0;
	mv_size_format(need, needs, sizeof(needs));
	mv_size_format(have, haves, sizeof(haves));
	mv_errbuf(err, errlen, "%s: file=%s: the filesystem has %s free, the zone needs %s more",
		  s->opt, s->path, haves, needs);
	return -ENOSPC;
}

/* A file on hugetlbfs is hugetlb whatever the options say; its mount gives the page size. */
static int check_fs(struct backend *b, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;
	struct statfs fs;
	char want[24], have[24];

	if (fstatfs(b->fd, &fs)) {
		int e = errno;

		mv_errbuf(err, errlen, "%s: file=%s: statfs: %s", s->opt, s->path, strerror(e));
		return -e;
	}
	if (fs.f_type != HUGETLBFS_MAGIC) {
		if (s->hugetlb) {
			mv_errbuf(err, errlen, "%s: hugepages=on but file=%s is not on hugetlbfs",
				  s->opt, s->path);
			return -EINVAL;
		}
		return check_room(b, &fs, err, errlen);
	}
	if (s->hugetlb && s->page_size != (uint64_t)fs.f_bsize) {
		mv_size_format(s->page_size, want, sizeof(want));
		mv_size_format((uint64_t)fs.f_bsize, have, sizeof(have));
		mv_errbuf(err, errlen,
			  "%s: hugepage_size=%s but file=%s is on hugetlbfs with %s pages", s->opt,
			  want, s->path, have);
		return -EINVAL;
	}
	s->hugetlb = true;
	s->page_size = (uint64_t)fs.f_bsize;
	return 0;
}

static int extend_file(struct backend *b, struct acquired *acq, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;

	/* Never shrink a user's file: a bigger one is used as is. */
	if (acq->orig_size >= s->size)
		return 0;
	if (ftruncate(b->fd, (off_t)s->size)) {
		int e = errno;

		mv_errbuf(err, errlen, "%s: file=%s: extending to %" PRIu64 " bytes: %s", s->opt,
			  s->path, s->size, strerror(e));
		return -e;
	}
	acq->extended = !b->tmpfile;
	return 0;
}

static int check_pool(struct backend *b, const struct acquired *acq, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;
	uint64_t need = s->size / s->page_size, have = 0, held;
	char ps[24], where[32] = "";
	int ret;

	ret = hostmem_hugepages_free(s->page_size, s->host_numa_node, &have);
	mv_size_format(s->page_size, ps, sizeof(ps));
	if (ret == -ENOENT) {
		mv_errbuf(err, errlen, "%s: hugepage_size=%s is not offered by the host%s", s->opt,
			  ps, s->host_numa_node >= 0 ? " on that host_numa_node" : "");
		return -EINVAL;
	}
	if (ret) {
		mv_errbuf(err, errlen, "%s: reading the host's %s hugepage pool: %s", s->opt, ps,
			  strerror(-ret));
		return ret;
	}
	if (s->hotplug)
		return 0; /* plugged block by block; backend_populate reports a dry pool */
	/*
	 * An existing hugetlbfs file may already hold or reserve its pages (its
	 * st_blocks says nothing): count only the extension, and leave the rest
	 * to the reservation mmap makes for a shared mapping.
	 */
	held = b->map_shared ? MV_MIN(acq->orig_size, s->size) / s->page_size : 0;
	need = need > held ? need - held : 0;
	if (need > have) {
		if (s->host_numa_node >= 0)
			snprintf(where, sizeof(where), " on node %d", s->host_numa_node);
		mv_errbuf(err, errlen,
			  "%s: needs %" PRIu64 " hugepages of %s, host has %" PRIu64 " free%s",
			  s->opt, need, ps, have, where);
		return -ENOMEM;
	}
	return 0;
}

/* Map at an address aligned to `align` (the kernel only guarantees 4 KiB). */
static void *map_aligned(uint64_t size, uint64_t align, int flags, int fd)
{
	uint8_t *area, *p;
	uint64_t head;

	area =
	    mmap(NULL, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return MAP_FAILED;
	p = (uint8_t *)align_up((uintptr_t)area, align);
	if (mmap(p, size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
		int e = errno;

		munmap(area, size + align);
		errno = e;
		return MAP_FAILED;
	}
	head = (uint64_t)(p - area);
	if (head)
		munmap(area, head);
	if (align - head)
		munmap(p + size, align - head);
	/*
	 * A child memvisor forks (the KVM probe) must not share guest memory:
	 * private pages would turn copy-on-write under the running VM's slots.
	 * Best effort: without it, correctness holds, only the pages are shared.
	 */
	(void)madvise(p, size, MADV_DONTFORK);
	return p;
}

static int map_backend(struct backend *b, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;
	int flags = b->map_shared ? MAP_SHARED : MAP_PRIVATE;
	void *p;

	if (b->fd < 0)
		flags |= MAP_ANONYMOUS;
	if (s->noreserve)
		flags |= MAP_NORESERVE;
	p = map_aligned(s->size, MV_MAX(MAP_ALIGN, s->page_size), flags, b->fd);
	if (p == MAP_FAILED) {
		int e = errno;
		char sz[24];

		mv_size_format(s->size, sz, sizeof(sz));
		mv_errbuf(err, errlen, "%s: mapping %s%s: %s", s->opt, sz,
			  s->hugetlb && e == ENOMEM ? " of hugepages (host pool too small)" : "",
			  strerror(e));
		return -e;
	}
	b->hva = p;
	b->size = s->size;
	return 0;
}

/* Binds [hva, hva+len) to the zone's host node; 0 without host_numa_node. */
static int bind_range(struct backend *b, uint8_t *hva, uint64_t len)
{
	unsigned long mask[NODEMASK_BITS / (8 * sizeof(unsigned long))] = {0};
	const unsigned int bits = 8 * sizeof(unsigned long);
	int node = b->spec.host_numa_node;

	if (node < 0)
		return 0;
	if (node >= NODEMASK_BITS)
		return -EINVAL;
	mask[node / bits] |= 1UL << (node % bits);
	/* maxnode counts one past the last bit the kernel reads. */
	if (mbind(hva, len, MPOL_BIND, mask, NODEMASK_BITS + 1, MPOL_MF_STRICT | MPOL_MF_MOVE))
		return -errno;
	return 0;
}

/* Before any page is touched, so prefault and populate allocate on that node. */
static int bind_node(struct backend *b, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;
	char nodes[64];
	int ret;

	if (s->host_numa_node >= NODEMASK_BITS) {
		mv_errbuf(err, errlen, "%s: host_numa_node=%d is out of range", s->opt,
			  s->host_numa_node);
		return -EINVAL;
	}
	ret = bind_range(b, b->hva, b->size);
	if (ret) {
		hostmem_online_nodes(nodes, sizeof(nodes));
		mv_errbuf(err, errlen, "%s: host_numa_node=%d: mbind: %s (online host nodes: %s)",
			  s->opt, s->host_numa_node, strerror(-ret), nodes);
	}
	return ret;
}

static int advise(struct backend *b, char *err, size_t errlen)
{
	struct backend_spec *s = &b->spec;
	static bool ksm_warned;

	/* THP is best effort: the kernel may be built without it. */
	if (s->thp && madvise(b->hva, b->size, MADV_HUGEPAGE))
		mv_debug("%s: MADV_HUGEPAGE: %s", s->name, strerror(errno));
	if (s->mergeable) {
		if (b->map_shared || s->hugetlb) {
			mv_warn("%s: mergeable=on has no effect on shared or hugepage memory "
				"(KSM merges private anonymous pages only)",
				s->opt);
		} else if (madvise(b->hva, b->size, MADV_MERGEABLE)) {
			int e = errno;

			mv_errbuf(err, errlen, "%s: mergeable=on: %s", s->opt,
				  e == EINVAL ? "KSM is not available in the host kernel"
					      : strerror(e));
			return -e;
		} else if (!ksm_warned && !hostmem_ksm_running()) {
			ksm_warned = true;
			mv_warn("%s: mergeable=on but KSM is not running on the host "
				"(/sys/kernel/mm/ksm/run is 0)",
				s->opt);
		}
	}
	if (s->dontdump && madvise(b->hva, b->size, MADV_DONTDUMP)) {
		int e = errno;

		mv_errbuf(err, errlen, "%s: MADV_DONTDUMP: %s", s->opt, strerror(e));
		return -e;
	}
	return 0;
}

/*
 * A fresh mapping placed over [off, off+len) by backend_map_file or a
 * discard carries again what creation gave the whole backend: the node
 * binding, no inheritance by a child, THP (anonymous only), KSM, no dump.
 * Only the binding is a promise the user made, so only it can fail.
 */
static int readvise_range(struct backend *b, uint64_t off, uint64_t len, bool anon)
{
	const struct backend_spec *s = &b->spec;
	uint8_t *p = b->hva + off;

	(void)madvise(p, len, MADV_DONTFORK);
	if (anon && s->thp)
		(void)madvise(p, len, MADV_HUGEPAGE);
	if (s->mergeable && !b->map_shared && !s->hugetlb)
		(void)madvise(p, len, MADV_MERGEABLE);
	if (s->dontdump)
		(void)madvise(p, len, MADV_DONTDUMP);
	return bind_range(b, p, len);
}

static int discard_range(struct backend *b, uint64_t offset, uint64_t len)
{
	if (b->uffd_on) {
		/*
		 * memory_restore_mode=ondemand: the range leaves the userfaultfd
		 * first, so a later access faults in plain zeros, never the
		 * snapshot's contents (a fault the server is answering meanwhile
		 * fails with ENOENT; the unregister woke its waiter).
		 */
		struct uffdio_range r = {.start = (uintptr_t)(b->hva + offset), .len = len};

		if (ioctl(b->uffd, UFFDIO_UNREGISTER, &r))
			return -errno;
	}
	if (b->file_private) {
		/*
		 * memory_restore_mode=cow: MADV_DONTNEED on a private file mapping
		 * would bring back the snapshot's pages; fresh anonymous memory
		 * in its place reads zero.
		 */
		int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

		if (b->spec.noreserve)
			flags |= MAP_NORESERVE;
		if (mmap(b->hva + offset, len, PROT_READ | PROT_WRITE, flags, -1, 0) == MAP_FAILED)
			return -errno;
		return readvise_range(b, offset, len, true);
	}
	if (b->fd >= 0 && b->map_shared) {
		/* Frees the pages for every process mapping the fd, and zaps our PTEs. */
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
			      (off_t)len))
			return -errno;
		if (b->spec.hugetlb)
			return 0;
	}
	/* Private: drops our copies; anon reads zero, a private file its content. */
	if (madvise(b->hva + offset, len, MADV_DONTNEED))
		return -errno;
	return 0;
}

static bool range_valid(const struct backend *b, uint64_t offset, uint64_t len)
{
	return b->hva && len && range_ok(offset, len) && offset + len <= b->size &&
	       is_aligned(offset, b->spec.page_size) && is_aligned(len, b->spec.page_size);
}

int backend_discard(struct backend *b, uint64_t offset, uint64_t len)
{
	int ret = -EINVAL;

	if (range_valid(b, offset, len))
		ret = discard_range(b, offset, len);
	if (ret)
		__atomic_add_fetch(&b->stats.discard_failed, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&b->stats.discarded, len, __ATOMIC_RELAXED);
	return ret;
}

int backend_map_file(struct backend *b, uint64_t offset, uint64_t len, int fd, uint64_t file_off)
{
	int flags = MAP_PRIVATE | MAP_FIXED, ret;

	if (!range_valid(b, offset, len) || b->map_shared || b->spec.hugetlb ||
	    b->spec.page_size != PAGE_4K || file_off % PAGE_4K)
		return -EINVAL;
	if (b->spec.noreserve)
		flags |= MAP_NORESERVE;
	if (mmap(b->hva + offset, len, PROT_READ | PROT_WRITE, flags, fd, (off_t)file_off) ==
	    MAP_FAILED)
		return -errno;
	/* From here on a discard must not use MADV_DONTNEED (see discard_range). */
	b->file_private = true;
	ret = readvise_range(b, offset, len, false);
	return ret;
}

/* Extents of a file closer than this share one mapping (bounds the mappings). */
#define MAP_DATA_MERGE_GAP (256 * 1024)

int backend_map_file_data(struct backend *b, uint64_t offset, uint64_t len, int fd,
			  uint64_t file_off)
{
	off_t base = (off_t)file_off, end = (off_t)(file_off + len), pos = base;
	off_t run_start = -1, run_end = -1, data, hole;
	int ret;

	if (!range_valid(b, offset, len) || file_off % PAGE_4K)
		return -EINVAL;
	for (;;) {
		data = pos < end ? lseek(fd, pos, SEEK_DATA) : end;
		if (data < 0 && errno != ENXIO)
			return -errno;
		if (data < 0 || data > end)
			data = end;
		data &= ~(off_t)(PAGE_4K - 1);
		if (run_start >= 0 && (data >= end || data - run_end >= MAP_DATA_MERGE_GAP)) {
			ret = backend_map_file(b, offset + (uint64_t)(run_start - base),
					       (uint64_t)(run_end - run_start), fd,
					       (uint64_t)run_start);
			if (ret)
				return ret;
			run_start = -1;
		}
		if (data >= end)
			return 0;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		hole = (hole + PAGE_4K - 1) & ~(off_t)(PAGE_4K - 1);
		if (hole > end)
			hole = end;
		if (run_start < 0)
			run_start = data;
		run_end = hole;
		pos = hole;
	}
}

int backend_populate(struct backend *b, uint64_t offset, uint64_t len)
{
	if (!range_valid(b, offset, len))
		return -EINVAL;
	if (madvise(b->hva + offset, len, MADV_POPULATE_WRITE))
		return -errno;
	__atomic_add_fetch(&b->stats.populated, len, __ATOMIC_RELAXED);
	return 0;
}

static int prefault(struct backend *b, uint64_t offset, uint64_t len, bool write, char *err,
		    size_t errlen)
{
	uint64_t done = 0, err_off = 0;
	const char *hint = "";
	int ret;

	if (!range_valid(b, offset, len))
		return -EINVAL;
	ret = hostmem_populate_parallel(b->hva + offset, len, b->spec.page_size, write,
					b->spec.name, &done, &err_off);
	__atomic_add_fetch(&b->stats.populated, done, __ATOMIC_RELAXED);
	if (!ret)
		return 0;
	if (ret == -EINVAL)
		hint = write ? " (MADV_POPULATE_WRITE needs Linux 5.14)"
			     : " (MADV_POPULATE_READ needs Linux 5.14)";
	else if (b->spec.hugetlb)
		hint = " (hugepage pool exhausted?)";
	else if (ret == -ENOMEM)
		hint = " (host out of memory)";
	mv_errbuf(err, errlen, "%s: prefault failed at offset 0x%" PRIx64 ": %s%s", b->spec.opt,
		  offset + err_off, strerror(-ret), hint);
	return ret;
}

int backend_prefault(struct backend *b, uint64_t offset, uint64_t len, char *err, size_t errlen)
{
	return prefault(b, offset, len, true, err, errlen);
}

int backend_prefault_read(struct backend *b, uint64_t offset, uint64_t len, char *err,
			  size_t errlen)
{
	return prefault(b, offset, len, false, err, errlen);
}

int backend_create(const struct backend_spec *spec, struct backend *out, char *err, size_t errlen)
{
	struct backend_spec *s = &out->spec;
	struct acquired acq = {0};
	char sz[24];
	int ret;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->spec = *spec;
	if (!s->size) {
		mv_errbuf(err, errlen, "%s: size is 0", s->opt);
		return -EINVAL;
	}
	if (s->hugetlb && !s->page_size) {
		s->page_size = hostmem_default_hugepage_size();
		if (!s->page_size) {
			mv_errbuf(err, errlen, "%s: hugepages=on but the host has no hugepages",
				  s->opt);
			return -EINVAL;
		}
	}
	if (!is_pow2(s->page_size)) {
		mv_errbuf(err, errlen, "%s: hugepage_size=%" PRIu64 " is not a power of two",
			  s->opt, s->page_size);
		return -EINVAL;
	}
	if (s->hugetlb && s->kind != BACKEND_FILE) {
		ret = check_pool(out, &acq, err, errlen);
		if (ret)
			return ret;
	}

	switch (s->kind) {
	case BACKEND_ANON:
		break;
	case BACKEND_MEMFD:
		out->map_shared = true; /* a hugetlb memfd too: nobody else has the fd */
		ret = open_memfd(out, err, errlen);
		if (ret)
			goto fail;
		break;
	case BACKEND_FILE:
		out->map_shared = s->shared;
		ret = open_file(out, &acq, err, errlen);
		if (ret)
			goto fail;
		ret = check_fs(out, err, errlen);
		if (ret)
			goto fail;
		break;
	}
	if (!is_aligned(s->size, s->page_size)) {
		mv_size_format(s->page_size, sz, sizeof(sz));
		mv_errbuf(err, errlen, "%s: %s=%" PRIu64 " is not a multiple of the page size %s",
			  s->opt, s->hotplug ? "hotplug_size" : "size", s->size, sz);
		ret = -EINVAL;
		goto fail;
	}
	if (s->kind == BACKEND_FILE) {
		if (s->hugetlb) {
			ret = check_pool(out, &acq, err, errlen);
			if (ret)
				goto fail;
		}
		ret = extend_file(out, &acq, err, errlen);
		if (ret)
			goto fail;
	}
	out->discard_zeroes = !(s->kind == BACKEND_FILE && !out->map_shared && !out->tmpfile);

	ret = map_backend(out, err, errlen);
	if (ret)
		goto fail;
	ret = bind_node(out, err, errlen);
	if (ret)
		goto fail;
	ret = advise(out, err, errlen);
	if (ret)
		goto fail;
	if (s->hotplug) {
		/* A virtio-mem region starts with nothing plugged. */
		ret = discard_range(out, 0, out->size);
		if (ret) {
			mv_errbuf(err, errlen, "%s: discarding the fresh hotplug region: %s",
				  s->opt, strerror(-ret));
			goto fail;
		}
	}
	if (s->prefault) {
		ret = backend_prefault(out, 0, out->size, err, errlen);
		if (ret)
			goto fail;
	}
	out->created = acq.created;
	out->extended = acq.extended;
	out->orig_size = acq.orig_size;
	return 0;

fail:
	if (out->hva)
		munmap(out->hva, out->size);
	out->hva = NULL;
	if (acq.extended && ftruncate(out->fd, (off_t)acq.orig_size))
		mv_warn("%s: file=%s: could not shrink back to %" PRIu64 " bytes", s->opt, s->path,
			acq.orig_size);
	if (acq.created)
		unlink(s->path);
	if (out->fd >= 0)
		close(out->fd);
	out->fd = -1;
	return ret;
}

void backend_destroy(struct backend *b)
{
	if (b->hva)
		munmap(b->hva, b->size);
	if (b->fd >= 0)
		close(b->fd);
	b->hva = NULL;
	b->fd = -1;
}

void backend_abandon(struct backend *b)
{
	const struct backend_spec *s = &b->spec;

	if (b->extended && b->fd >= 0 && ftruncate(b->fd, (off_t)b->orig_size))
		mv_warn("%s: file=%s: could not shrink back to %" PRIu64 " bytes", s->opt, s->path,
			b->orig_size);
	if (b->created && s->path)
		unlink(s->path);
	b->created = b->extended = false;
	backend_destroy(b);
}

void backend_get_stats(const struct backend *b, struct backend_stats *out)
{
	out->populated = __atomic_load_n(&b->stats.populated, __ATOMIC_RELAXED);
	out->discarded = __atomic_load_n(&b->stats.discarded, __ATOMIC_RELAXED);
	out->discard_failed = __atomic_load_n(&b->stats.discard_failed, __ATOMIC_RELAXED);
}

void backend_format_header(FILE *out)
{
	fprintf(out, "%-20s %-8s %-18s %-18s %-24s %s\n", "Block Name", "PSize", "Offset (GPA)",
		"Size", "Backing", "Flags");
}

static void format_row(FILE *out, const struct backend_spec *s, bool tmpfile)
{
	char ps[24], backing[4200], flags[128] = "";
	size_t n = 0;

	if (!s->page_size)
		snprintf(ps, sizeof(ps), "default");
	else if (s->page_size >= GiB)
		snprintf(ps, sizeof(ps), "%" PRIu64 " GiB", (uint64_t)(s->page_size / GiB));
	else if (s->page_size >= MiB)
		snprintf(ps, sizeof(ps), "%" PRIu64 " MiB", (uint64_t)(s->page_size / MiB));
	else
		snprintf(ps, sizeof(ps), "%" PRIu64 " KiB", (uint64_t)(s->page_size / KiB));
	switch (s->kind) {
	case BACKEND_ANON:
		snprintf(backing, sizeof(backing), "anon");
		break;
	case BACKEND_MEMFD:
		snprintf(backing, sizeof(backing), s->hugetlb ? "memfd hugetlb" : "memfd");
		break;
	case BACKEND_FILE:
		snprintf(backing, sizeof(backing), "%s %s%s", s->hugetlb ? "hugetlbfs" : "file",
			 s->path, tmpfile ? " (unlinked tmpfile)" : "");
		break;
	}
#define FLAG(cond, ...)                                                                            \
	do {                                                                                       \
		if ((cond) && n < sizeof(flags))                                                   \
			n += (size_t)snprintf(flags + n, sizeof(flags) - n, "%s", n ? "," : "");   \
		if ((cond) && n < sizeof(flags))                                                   \
			n += (size_t)snprintf(flags + n, sizeof(flags) - n, __VA_ARGS__);          \
	} while (0)
	FLAG(s->shared, "shared");
	FLAG(s->prefault, "prefault");
	FLAG(s->mergeable, "mergeable");
	FLAG(s->thp, "thp");
	FLAG(s->noreserve, "noreserve");
	FLAG(s->dontdump, "dontdump");
	FLAG(s->host_numa_node >= 0, "node %d", s->host_numa_node);
#undef FLAG
	fprintf(out, "%-20s %-8s 0x%016" PRIx64 " 0x%016" PRIx64 " %-24s %s\n", s->name, ps, s->gpa,
		s->size, backing, n ? flags : "-");
}

void backend_format_spec(FILE *out, const struct backend_spec *s)
{
	format_row(out, s, false);
}

void backend_format_backend(FILE *out, const struct backend *b)
{
	format_row(out, &b->spec, b->tmpfile);
}

void backend_format_specs(FILE *out, const struct backend_spec *s, unsigned int n)
{
	unsigned int i;

	backend_format_header(out);
	for (i = 0; i < n; i++)
		backend_format_spec(out, &s[i]);
}

void backend_format_backends(FILE *out, const struct backend *b, unsigned int n)
{
	unsigned int i;

	backend_format_header(out);
	for (i = 0; i < n; i++)
		backend_format_backend(out, &b[i]);
}
