/*
 * The board's device table (board/devices.c) without KVM: the devices are
 * created on a board whose buses, IRQ sink and event sink are plain structs,
 * saved through the table, loaded into a second board and saved again, byte
 * for byte; the sections come out in the documented load order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "board/board.h"
#include "board/devices.h"
#include "board/pmem.h"
#include "board/snapshot.h"
#include "devices/serial_save.h"
#include "lib/log.h"

static int irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	return 0;
}

static void post(struct vm_events *e, enum vm_event ev)
{
}

static struct board *board_new(struct mv_config *cfg)
{
	struct board *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	board_init(b, cfg);
	assert_int_equal(loop_init(&b->loop), 0);
	/* What vm_create would set up, minus KVM (no fd: nothing here may need it). */
	b->vm.kvm_fd = b->vm.vm_fd = b->vm.event_fd = -1;
	bus_init(&b->vm.pio);
	bus_init(&b->vm.mmio);
	gmem_init(&b->vm.mem);
	b->vm.irq.set = irq_set;
	b->vm.events.post = post;
	assert_int_equal(board_create_devices(b), 0);
	return b;
}

static void board_free(struct board *b)
{
	board_destroy_devices(b);
	bus_destroy(&b->vm.pio);
	bus_destroy(&b->vm.mmio);
	gmem_destroy(&b->vm.mem);
	loop_destroy(&b->loop);
	free(b);
}

static void test_table_round_trip(void **st)
{
	struct mv_config cfg;
	struct board *a, *b;
	struct mv_state_writer w, w2;
	struct mv_state_reader r;
	struct mv_state_section s;
	const char *order[] = {"serial", "power", "virtio-rng", "pci", "virtio-pci.virtio-rng"};
	char err[200] = "";
	unsigned int n = 0;

	mv_log_set_quiet(true);
	config_init(&cfg);
	cfg.serial = SERIAL_OFF;
	cfg.rng = true;
	a = board_new(&cfg);
	b = board_new(&cfg);
	/* A state the second board does not have: the UART's scratch register. */
	assert_true(bus_write(&a->vm.pio, SERIAL_PORT + 7, &(uint8_t){0x5A}, 1));

	mv_sw_init(&w);
	assert_int_equal(board_save_devices(a, &w, err, sizeof(err)), 0);
	mv_sr_init(&r, w.buf, w.len);
	while (mv_state_next(&r, &s, err, sizeof(err)) == 1) {
		assert_true(n < sizeof(order) / sizeof(order[0]));
		assert_string_equal(s.name, order[n++]);
	}
	assert_int_equal(n, sizeof(order) / sizeof(order[0]));

	/* Before the load, b's state is not a's... */
	mv_sw_init(&w2);
	assert_int_equal(board_save_devices(b, &w2, err, sizeof(err)), 0);
	assert_int_equal(w.len, w2.len);
	assert_true(memcmp(w.buf, w2.buf, w.len) != 0);
	mv_sw_free(&w2);
	/* ...after it, it is. */
	assert_int_equal(board_load_devices(b, w.buf, w.len, err, sizeof(err)), 0);
	mv_sw_init(&w2);
	assert_int_equal(board_save_devices(b, &w2, err, sizeof(err)), 0);
	assert_int_equal(w.len, w2.len);
	assert_memory_equal(w.buf, w2.buf, w.len);

	/* A stream without a device's section is refused, naming it. */
	assert_int_equal(board_load_devices(b, w.buf, 0, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "serial"));
	mv_sw_free(&w);
	mv_sw_free(&w2);
	board_free(a);
	board_free(b);
	config_free(&cfg);
}

static unsigned int dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	unsigned int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * A snapshot that cannot complete (here: the VM's sections, with no KVM
 * behind the board) leaves nothing beside the target and the VM as it was:
 * running stays running, paused stays paused. A missing directory is named.
 */
static void test_snapshot_failure_leaves_nothing(void **st)
{
	char dir[] = "/tmp/mv-snap-XXXXXX", url[128], want[160], err[240];
	char *argv[] = {"memvisor", "--memory", "size=512M", NULL};
	struct board_snapshot_result res;
	struct mv_config cfg;
	struct board *b;

	mv_log_set_quiet(true);
	config_init(&cfg);
	cfg.serial = SERIAL_OFF;
	b = board_new(&cfg);
	b->argc = 3;
	b->argv = argv;
	assert_non_null(mkdtemp(dir));

	snprintf(url, sizeof(url), "file://%s/nodir/vm.snap", dir);
	assert_int_equal(board_snapshot(b, url, false, &res, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s/nodir/vm.snap: No such file or directory", dir);
	assert_string_equal(err, want);
	assert_false(b->paused);

	snprintf(url, sizeof(url), "file://%s/vm.snap", dir);
	err[0] = '\0';
	assert_true(board_snapshot(b, url, false, &res, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/vm.snap: "));
	assert_int_equal(dir_entries(dir), 0);
	assert_false(b->paused);
	b->paused = true;
	assert_true(board_snapshot(b, url, false, &res, err, sizeof(err)) < 0);
	assert_true(b->paused);
	assert_int_equal(dir_entries(dir), 0);

	/* Live, the same: the failure comes after the memory passes, the VM is as it was. */
	b->paused = false;
	err[0] = '\0';
	assert_true(board_snapshot(b, url, true, &res, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/vm.snap: "));
	assert_int_equal(dir_entries(dir), 0);
	assert_false(b->paused);
	assert_false(b->vm.dirty_log);
	assert_null(b->vm.mem.track);
	b->paused = true;
	assert_true(board_snapshot(b, url, true, &res, err, sizeof(err)) < 0);
	assert_true(b->paused);
	assert_int_equal(dir_entries(dir), 0);

	assert_int_equal(board_snapshot(b, "http://x/vm.snap", false, &res, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "url 'http://x/vm.snap': only file:///PATH is supported");
	assert_int_equal(rmdir(dir), 0);
	board_free(b);
	config_free(&cfg);
}

/*
 * --pmem discard_writes=on: the guest's writes live only in this process and
 * a snapshot does not carry them, so x-snapshot refuses in one line naming
 * the device, writes nothing and leaves the VM running.
 */
static void test_snapshot_refuses_discard_writes_pmem(void **st)
{
	char dir[] = "/tmp/mv-snap-XXXXXX", url[128], err[240] = "";
	char *argv[] = {"memvisor", "--memory", "size=512M", NULL};
	struct mv_config cfg;
	struct board *b;

	mv_log_set_quiet(true);
	config_init(&cfg);
	cfg.serial = SERIAL_OFF;
	b = board_new(&cfg);
	b->argc = 3;
	b->argv = argv;
	/* Only the config: the device itself needs KVM for its memory slot. */
	cfg.nr_pmem = 1;
	snprintf(cfg.pmem[0].id, sizeof(cfg.pmem[0].id), "root");
	cfg.pmem[0].discard_writes = true;
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "file://%s/vm.snap", dir);
	struct board_snapshot_result res;

	assert_int_equal(board_snapshot(b, url, false, &res, err, sizeof(err)), -EOPNOTSUPP);
	assert_string_equal(err, "--pmem id=root: discard_writes=on keeps the guest's writes in "
				 "this process only, and snapshots do not carry them (not "
				 "implemented)");
	assert_int_equal(dir_entries(dir), 0);
	assert_false(b->paused);
	assert_int_equal(rmdir(dir), 0);
	cfg.nr_pmem = 0;
	board_free(b);
	config_free(&cfg);
}

/*
 * --pmem model=nvdimm has no device state (the file is its memory): a
 * snapshot holds no section for it and a restore asks for none.
 */
static void test_nvdimm_has_no_state(void **st)
{
	static struct board b;
	struct mv_config cfg;
	struct mv_state_writer w;
	struct board_stream s;
	char err[240] = "";

	(void)st;
	mv_log_set_quiet(true);
	config_init(&cfg);
	cfg.nr_pmem = 1;
	cfg.pmem[0].model = PMEM_NVDIMM;
	snprintf(cfg.pmem[0].id, sizeof(cfg.pmem[0].id), "nv");
	memset(&b, 0, sizeof(b));
	b.cfg = &cfg;
	b.nr_pmem = 1;
	b.pmem[0].fd = -1;
	mv_sw_init(&w);
	assert_int_equal(board_pmem_save(&b, BOARD_PHASE_DEVICES, &w, err, sizeof(err)), 0);
	assert_int_equal(board_pmem_save(&b, BOARD_PHASE_TRANSPORTS, &w, err, sizeof(err)), 0);
	assert_false(w.oom);
	assert_int_equal(w.len, 0);
	s = (struct board_stream){.p = w.buf, .len = w.len};
	assert_int_equal(board_pmem_load(&b, BOARD_PHASE_TRANSPORTS, &s, err, sizeof(err)), 0);
	assert_int_equal(board_pmem_load(&b, BOARD_PHASE_DEVICES, &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	mv_sw_free(&w);
	b.nr_pmem = 0;
	cfg.nr_pmem = 0;
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_round_trip),
	    cmocka_unit_test(test_snapshot_failure_leaves_nothing),
	    cmocka_unit_test(test_snapshot_refuses_discard_writes_pmem),
	    cmocka_unit_test(test_nvdimm_has_no_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
