#include "mem/hostmem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

#define PREFAULT_PIECE	 (64ULL << 20)
#define PREFAULT_THREADS 8

/* "1.2G": rounded, for progress lines. */
static void fmt_size_approx(uint64_t v, char *buf, size_t len)
{
	if (v >= GiB)
		snprintf(buf, len, "%.1fG", (double)v / GiB);
	else
		snprintf(buf, len, "%.0fM", (double)v / MiB);
}

static int read_u64_file(const char *path, uint64_t *out)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	*out = strtoull(buf, NULL, 10);
	return 0;
}

uint64_t hostmem_default_hugepage_size(void)
{
	char line[128];
	uint64_t kb = 0;
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %" SCNu64 " kB", &kb) == 1)
			break;
	fclose(f);
	return kb * KiB;
}

int hostmem_hugepages_free(uint64_t page_size, int node, uint64_t *free_pages)
{
	char path[160];
	uint64_t nfree, resv = 0;
	int ret;

	if (node >= 0) {
		/* Per-node pools have no reserved count; mmap's reservation is the backstop. */
		snprintf(path, sizeof(path),
			 "/sys/devices/system/node/node%d/hugepages/hugepages-%" PRIu64
			 "kB/free_hugepages",
			 node, (uint64_t)(page_size / KiB));
		ret = read_u64_file(path, &nfree);
	} else {
		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/free_hugepages",
			 (uint64_t)(page_size / KiB));
		ret = read_u64_file(path, &nfree);
		if (!ret) {
			snprintf(path, sizeof(path),
				 "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/resv_hugepages",
				 (uint64_t)(page_size / KiB));
			ret = read_u64_file(path, &resv);
		}
	}
	if (ret)
		return ret == -ENOENT ? -ENOENT : ret;
	*free_pages = nfree > resv ? nfree - resv : 0;
	return 0;
}

void hostmem_online_nodes(char *buf, size_t len)
{
	ssize_t n = -1;
	int fd;

	fd = open("/sys/devices/system/node/online", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, len - 1);
		close(fd);
	}
	if (n <= 0)
		n = snprintf(buf, len, "unknown");
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

struct prefault_job {
	const char *label;
	uint8_t *hva;
	uint64_t next; /* next offset to hand out; atomic */
	uint64_t end;
	uint64_t piece;
	int advice;    /* MADV_POPULATE_WRITE or MADV_POPULATE_READ */
	uint64_t done; /* atomic */
	int err;       /* first failure, atomic */
	uint64_t err_off;
	unsigned int running; /* atomic */
};

static void *prefault_worker(void *arg)
{
	struct prefault_job *j = arg;
	uint64_t off, len;
	int zero = 0;

	for (;;) {
		if (__atomic_load_n(&j->err, __ATOMIC_RELAXED))
			break;
		off = __atomic_fetch_add(&j->next, j->piece, __ATOMIC_RELAXED);
		if (off >= j->end)
			break;
		len = MV_MIN(j->piece, j->end - off);
		if (madvise(j->hva + off, len, j->advice)) {
			int e = errno;

			if (__atomic_compare_exchange_n(&j->err, &zero, e, false, __ATOMIC_ACQ_REL,
							__ATOMIC_RELAXED))
				j->err_off = off;
			break;
		}
		__atomic_add_fetch(&j->done, len, __ATOMIC_RELAXED);
	}
	__atomic_sub_fetch(&j->running, 1, __ATOMIC_RELEASE);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void prefault_progress(const struct prefault_job *j, uint64_t total)
{
	char done[24], all[24];

	fmt_size_approx(__atomic_load_n(&j->done, __ATOMIC_RELAXED), done, sizeof(done));
	fmt_size_approx(total, all, sizeof(all));
	fprintf(stderr, "memvisor: prefault %s: %s/%s\n", j->label, done, all);
}

bool hostmem_ksm_running(void)
{
	uint64_t run = 1;

	return read_u64_file("/sys/kernel/mm/ksm/run", &run) || run != 0;
}

int hostmem_populate_parallel(uint8_t *hva, uint64_t len, uint64_t align, bool write,
			      const char *label, uint64_t *done, uint64_t *err_off)
{
	struct prefault_job j = {.label = label,
				 .hva = hva,
				 .next = 0,
				 .end = len,
				 .advice = write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ};
	pthread_t tids[PREFAULT_THREADS];
	unsigned int n, started = 0, i;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	bool shown = false;
	double last;

	j.piece = MV_MAX(align_up(PREFAULT_PIECE, align), align);
	n = (unsigned int)MV_MIN((uint64_t)MV_MAX(cpus, 1), PREFAULT_THREADS);
	n = (unsigned int)MV_MIN((uint64_t)n, (len + j.piece - 1) / j.piece);
	j.running = n;
	for (i = 0; i < n; i++) {
		if (pthread_create(&tids[i], NULL, prefault_worker, &j))
			break;
		started++;
	}
	/* Threads that could not start: their share is done by the others, or by us. */
	__atomic_sub_fetch(&j.running, n - started, __ATOMIC_RELEASE);
	if (!started) {
		__atomic_add_fetch(&j.running, 1, __ATOMIC_RELEASE);
		prefault_worker(&j);
	}
	last = now_s();
	while (__atomic_load_n(&j.running, __ATOMIC_ACQUIRE)) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
		if (now_s() - last >= 1.0) {
			last = now_s();
			prefault_progress(&j, len);
			shown = true;
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (shown && !j.err)
		prefault_progress(&j, len);
	*done = j.done;
	*err_off = j.err_off;
	return -j.err;
}
