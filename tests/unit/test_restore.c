/*
 * board_restore's checks before anything is acquired (no KVM needed): a
 * memory_restore_mode the snapshot's zones cannot take is refused in one
 * line naming memory_restore_mode and the zone's option; a zone whose
 * memory is not in the file, or ondemand with prefault=on (copied), is not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board/restore.h"
#include "lib/snapfile.h"

static char dir[64], snap[128], kernel[128], zfile[128];

static int setup(void **state)
{
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/mv-restore-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(snap, sizeof(snap), "%s/vm.snap", dir);
	snprintf(kernel, sizeof(kernel), "%s/bzImage", dir);
	snprintf(zfile, sizeof(zfile), "%s/zone.img", dir);
	/* Not a bzImage: a restore that passes the checks fails when the board loads it. */
	fd = open(kernel, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "not a kernel", 12) != 12)
		return -1;
	close(fd);
	fd = open(zfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 64 << 20))
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* A snapshot whose configuration is these words (after --kernel K). */
static void write_snap(const char *const *words)
{
	struct mv_snap_writer w;
	char buf[1024];
	size_t n = 0;
	int fd, i;

	n += (size_t)snprintf(buf, sizeof(buf), "--kernel") + 1;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", kernel) + 1;
	for (i = 0; words[i]; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", words[i]) + 1;
	fd = open(snap, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	mv_snap_writer_init(&w, fd);
	assert_int_equal(mv_snap_add_data(&w, MV_SNAP_CONFIG, buf, n), 0);
	assert_int_equal(mv_snap_add_data(&w, MV_SNAP_STATE, "", 0), 0);
	assert_int_equal(mv_snap_finish(&w), 0);
	mv_snap_writer_free(&w);
	close(fd);
}

/* board_restore's stderr; its status must be -1 (nothing here can run a VM). */
static void restore_err(const char *mode, int prefault, char *out, size_t len)
{
	static struct board b;
	static struct mv_config rcfg, cfg;
	char url[160];
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(f);
	memset(&rcfg, 0, sizeof(rcfg));
	memset(&cfg, 0, sizeof(cfg));
	snprintf(url, sizeof(url), "file://%s", snap);
	rcfg.restore.given = true;
	rcfg.restore.source_url = url;
	rcfg.restore.prefault = prefault;
	rcfg.restore.mode = !strcmp(mode, "cow")	? RESTORE_COW
			    : !strcmp(mode, "ondemand") ? RESTORE_ONDEMAND
							: RESTORE_COPY;
	fflush(stderr);
	assert_int_equal(dup2(fileno(f), 2), 2);
	assert_int_equal(board_restore(&b, &rcfg, &cfg), -1);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	board_destroy(&b);
	config_free(&cfg);
	rewind(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void expect_refused(const char *mode, int prefault, const char *want)
{
	char out[2048];

	restore_err(mode, prefault, out, sizeof(out));
	if (!strstr(out, want))
		fail_msg("%s: got '%s', want '%s'", mode, out, want);
	/* One line. */
	assert_non_null(strchr(out, '\n'));
	assert_null(strchr(strchr(out, '\n') + 1, '\n'));
}

static void expect_not_refused(const char *mode, int prefault)
{
	char out[2048];

	restore_err(mode, prefault, out, sizeof(out));
	if (strstr(out, "memory_restore_mode"))
		fail_msg("%s: refused: '%s'", mode, out);
}

static void test_shared_zone(void **state)
{
	const char *const w[] = {"--memory", "size=64M,shared=on", NULL};

	write_snap(w);
	expect_refused("cow", -1,
		       "--restore memory_restore_mode=cow: --memory is shared=on, and a private "
		       "copy of it would not be shared: use memory_restore_mode=copy");
	expect_refused("ondemand", -1,
		       "--restore memory_restore_mode=ondemand: --memory is shared=on; only "
		       "private anonymous memory is served on demand");
	expect_not_refused("copy", -1);
	/* prefault=on: ondemand would fill every page first; the zone is copied instead. */
	expect_not_refused("ondemand", 1);
}

static void test_private_file_zone(void **state)
{
	char zone[256];
	const char *const w[] = {"--memory", "size=0", "--memory-zone", zone, NULL};

	snprintf(zone, sizeof(zone), "id=z0,size=64M,file=%s", zfile);
	write_snap(w);
	expect_refused("ondemand", -1,
		       "--restore memory_restore_mode=ondemand: --memory-zone id=z0 has file=; "
		       "only anonymous memory is served on demand");
	expect_not_refused("cow", -1);
}

static void test_shared_file_zone_not_in_file(void **state)
{
	char zone[256];
	const char *const w[] = {"--memory", "size=0", "--memory-zone", zone, NULL};
	const char *const vw[] = {"--memory", "size=0,hotplug_method=virtio-mem", "--memory-zone",
				  zone, NULL};

	/* Its memory is the user's file, not the snapshot's: any mode. */
	snprintf(zone, sizeof(zone), "id=z0,size=64M,file=%s,shared=on", zfile);
	write_snap(w);
	expect_not_refused("cow", -1);
	expect_not_refused("ondemand", -1);
	/* With virtio-mem its region is a shared memfd, which is in the file. */
	snprintf(zone, sizeof(zone), "id=z0,size=64M,file=%s,shared=on,hotplug_size=128M", zfile);
	write_snap(vw);
	expect_refused("cow", -1, "memory_restore_mode=cow: --memory-zone id=z0 is shared=on");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared_zone),
	    cmocka_unit_test(test_private_file_zone),
	    cmocka_unit_test(test_shared_file_zone_not_in_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
