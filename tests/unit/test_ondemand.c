/*
 * Unit tests for mem/ondemand: memory served from a file through a real
 * userfaultfd (skipped where the host allows none), and the discard rule
 * of mem/backend: an unplugged range never faults the snapshot back in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "mem/backend.h"
#include "mem/layout.h"
#include "mem/ondemand.h"

#define REGION (8 * MiB)
#define FOFF   4096ULL /* the region's offset in the file */

static char path[64];
static int fd = -1;

/* Page p of the region holds p+1 in its first byte and 0x5a after, except the holes. */
static bool is_hole(uint64_t off)
{
	return (off >= 2 * MiB && off < 4 * MiB) || off >= 6 * MiB;
}

static uint8_t want(uint64_t off)
{
	if (is_hole(off))
		return 0;
	return off % 4096 == 0 ? (uint8_t)(off / 4096 + 1) : 0x5a;
}

static int setup(void **state)
{
	uint8_t *page = malloc(4096);
	uint64_t off;

	snprintf(path, sizeof(path), "/tmp/mv-ondemand-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)(FOFF + REGION)))
		return -1;
	for (off = 0; off < REGION; off += 4096) {
		if (is_hole(off))
			continue;
		memset(page, 0x5a, 4096);
		page[0] = want(off);
		if (pwrite(fd, page, 4096, (off_t)(FOFF + off)) != 4096)
			return -1;
	}
	free(page);
	return 0;
}

static int teardown(void **state)
{
	if (fd >= 0)
		close(fd);
	unlink(path);
	return 0;
}

static bool open_or_skip(struct ondemand *od)
{
	char err[512];
	int ret = od_open(od, fd, err, sizeof(err));

	if (ret == -EPERM || ret == -ENOSYS || ret == -EACCES) {
		/* The message names the knobs; then nothing to test here. */
		assert_non_null(strstr(err, "vm.unprivileged_userfaultfd"));
		return false;
	}
	assert_int_equal(ret, 0);
	return true;
}

static void wait_done(struct ondemand *od)
{
	struct pollfd p = {od->done_fd, POLLIN, 0};

	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_true(od_take_done(od));
}

static void check_region(const uint8_t *p, uint64_t skip_lo, uint64_t skip_hi)
{
	uint64_t off;

	for (off = 0; off < REGION; off += 2048) {
		if (off >= skip_lo && off < skip_hi)
			continue;
		if (p[off] != want(off))
			fail_msg("offset %#llx: %#x, want %#x", (unsigned long long)off, p[off],
				 want(off));
	}
}

/* Faults are answered from the file (zeros for holes); the background pass fills the rest. */
static void test_serve_and_fill(void **state)
{
	struct ondemand od;
	struct od_stats st;
	char err[512];
	uint8_t *p;

	if (!open_or_skip(&od))
		skip();
	p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(od_add(&od, p, REGION, FOFF, err, sizeof(err)), 0);
	/* Misaligned ranges are refused. */
	assert_int_equal(od_add(&od, p + 1, 4096, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(od_start(&od), 0);
	/* This thread faults: served at once, whatever the background pass has done. */
	assert_int_equal(p[5 * MiB + 4096], want(5 * MiB + 4096));
	assert_int_equal(p[3 * MiB], 0);
	wait_done(&od);
	od_get_stats(&od, &st);
	/* Data extents only: 4M of the 8M, less what faults brought in first. */
	assert_true(st.filled_bytes <= 4 * MiB);
	assert_true(st.filled_bytes + st.faults * 4096 >= 4 * MiB - 4096);
	check_region(p, 0, 0);
	od_close(&od);
	/* Plain anonymous memory now: the holes read zero, the rest stays. */
	check_region(p, 0, 0);
	munmap(p, REGION);
}

/*
 * The rule for unplug during ondemand: a discarded range leaves the
 * userfaultfd, so neither a later fault nor the background pass brings the
 * snapshot's pages back into it; it reads zero. Without the unregister the
 * range would be missing again and served from the file.
 */
static void test_discard_reads_zero(void **state)
{
	static struct mv_config cfg;
	static struct layout lay;
	struct backend_spec s;
	struct backend b;
	struct ondemand od;
	char err[512];
	uint64_t off;

	if (!open_or_skip(&od))
		skip();
	cfg.nr_zones = 1;
	snprintf(cfg.zones[0].id, sizeof(cfg.zones[0].id), "mem0");
	cfg.zones[0].size = 2 * MiB;
	cfg.zones[0].hotplug_size = REGION;
	cfg.zones[0].block_size = 2 * MiB;
	cfg.zones[0].host_numa_node = -1;
	cfg.zones[0].guest_numa_node = -1;
	assert_int_equal(layout_build(&cfg, &lay, err, sizeof(err)), 0);
	assert_int_equal(backend_spec_from_zone(&cfg, &lay, 0, true, &s), 0);
	assert_int_equal(backend_create(&s, &b, err, sizeof(err)), 0);
	assert_int_equal(od_add(&od, b.hva, REGION, FOFF, err, sizeof(err)), 0);
	b.uffd = od.uffd;
	b.uffd_on = true;
	/* Unplugged before anything was served: never filled, never faulted from the file. */
	assert_int_equal(backend_discard(&b, 0, 2 * MiB), 0);
	assert_int_equal(od_start(&od), 0);
	for (off = 0; off < 2 * MiB; off += 4096)
		assert_int_equal(b.hva[off], 0);
	wait_done(&od);
	for (off = 0; off < 2 * MiB; off += 2048)
		assert_int_equal(b.hva[off], 0);
	check_region(b.hva, 0, 2 * MiB);
	/* Served, written by the guest, then unplugged: zeros, not the snapshot's page. */
	memset(b.hva + 4 * MiB, 0x77, 2 * MiB);
	assert_int_equal(backend_discard(&b, 4 * MiB, 2 * MiB), 0);
	for (off = 4 * MiB; off < 6 * MiB; off += 4096)
		assert_int_equal(b.hva[off], 0);
	check_region(b.hva, 0, 6 * MiB);
	/* Once closed, a discard is the plain one. */
	od_close(&od);
	b.uffd_on = false;
	assert_int_equal(backend_discard(&b, 6 * MiB, 2 * MiB), 0);
	assert_int_equal(b.hva[6 * MiB], 0);
	assert_int_equal(b.hva[4 * MiB + 4096], 0);
	assert_int_equal(b.hva[4096], 0);
	backend_destroy(&b);
}

/*
 * A host that gives this process no userfaultfd: refused in one line that
 * names the knobs. Run as root, in a child that drops to nobody (then
 * neither the syscall nor /dev/userfaultfd, root's only, is allowed).
 */
static void test_refused_without_permission(void **state)
{
	int pipefd[2], status;
	char msg[512] = "";
	ssize_t n;
	pid_t pid;

	if (getuid() != 0 || access("/proc/sys/vm/unprivileged_userfaultfd", R_OK))
		skip();
	{
		FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
		int v = 1;

		assert_non_null(f);
		assert_int_equal(fscanf(f, "%d", &v), 1);
		fclose(f);
		if (v != 0)
			skip(); /* anyone may: nothing to refuse */
	}
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ondemand od;
		char err[400] = "";
		int ret;

		close(pipefd[0]);
		if (setgid(65534) || setuid(65534))
			_exit(3);
		ret = od_open(&od, fd, err, sizeof(err));
		if (write(pipefd[1], err, strlen(err)) < 0)
			_exit(4);
		_exit(ret == -EPERM ? 0 : 1);
	}
	close(pipefd[1]);
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	assert_true(n > 0);
	msg[n] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(strstr(msg, "this host does not allow userfaultfd"));
	assert_non_null(strstr(msg, "vm.unprivileged_userfaultfd=0"));
	assert_non_null(strstr(msg, "use memory_restore_mode=copy"));
	assert_null(strchr(msg, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serve_and_fill),
	    cmocka_unit_test(test_discard_reads_zero),
	    cmocka_unit_test(test_refused_without_permission),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
