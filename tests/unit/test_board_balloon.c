/*
 * The board's balloon (board/balloon.c) without KVM: real host memory
 * (board_create_memory's anonymous backends) behind boot RAM and one
 * virtio-mem region whose slots are faked, and the discards a guest's
 * PFNs and reports turn into. Only boot RAM and plugged blocks lose their
 * contents; holes, MMIO, unplugged blocks and addresses past the end are
 * refused and counted, and nothing else is touched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fakes.h"
#include "board/balloon.h"
#include "board/board.h"
#include "board/devices.h"
#include "board/memory.h"
#include "lib/log.h"

#define MiB (1ULL << 20)

static int irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	return 0;
}

static void post(struct vm_events *e, enum vm_event ev)
{
}

static void test_discards_only_guest_memory(void **st)
{
	char line[] = "--dry-run --memory size=256M,hotplug_method=virtio-mem,hotplug_size=256M "
		      "--balloon size=0";
	char *argv[16], err[CONFIG_ERR_LEN];
	struct mv_config cfg;
	struct board *m = calloc(1, sizeof(*m));
	struct board_hotplug *h;
	struct vb_discard r = {0, 0, 0, 0};
	struct api_balloon_info bi;
	const struct vballoon_host_ops *ops;
	uint8_t *ram, *hp;
	uint64_t hp_gpa;
	bool exit_now;
	int argc;

	mv_log_set_quiet(true);
	config_init(&cfg);
	fake_argv(line, argv, &argc);
	assert_int_equal(config_parse_args(&cfg, argc, argv, &exit_now, err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	board_init(m, &cfg);
	assert_int_equal(board_create_memory(m), 0);
	assert_int_equal(loop_init(&m->loop), 0);
	m->vm.kvm_fd = m->vm.vm_fd = m->vm.event_fd = -1;
	bus_init(&m->vm.pio);
	bus_init(&m->vm.mmio);
	gmem_init(&m->vm.mem);
	m->vm.irq.set = irq_set;
	m->vm.events.post = post;
	/* The virtio-mem region as board_create_hotplug makes it, with fake slots. */
	h = &m->hotplug[0];
	h->m = m;
	h->zone = 0;
	h->backend = board_zone_backend(m, 0, true);
	assert_non_null(h->backend);
	hp_gpa = m->layout.zones[0].hotplug_gpa;
	assert_int_equal(
	    hp_init(&h->hp, &fake_hp_ops, hp_gpa, 256 * MiB, 2 * MiB, 16, h->backend->hva, false),
	    0);
	h->hp_up = true;
	m->nr_hotplug = 1;
	assert_int_equal(board_create_devices(m), 0);
	assert_true(m->balloon.pci_up);
	ops = m->balloon.dev.hops;

	ram = m->ram[0].hva;
	hp = h->backend->hva;
	memset(ram + 16 * MiB, 0xAB, 3 * MiB);
	memset(hp, 0xCD, 8 * MiB);

	/* Boot RAM: the page goes, its neighbours stay. */
	ops->discard(&m->balloon.dev, m->ram[0].gpa + 16 * MiB + 4096, 4096, &r);
	assert_int_equal(r.discarded, 4096);
	assert_int_equal(ram[16 * MiB + 4096], 0);
	assert_int_equal(ram[16 * MiB + 4095], 0xAB);
	assert_int_equal(ram[16 * MiB + 8192], 0xAB);

	/* Past the end of boot RAM (the gap below the PCI hole and beyond): refused. */
	memset(&r, 0, sizeof(r));
	ops->discard(&m->balloon.dev, m->ram[0].gpa + m->ram[0].size - 4096, 3 * 4096, &r);
	assert_int_equal(r.discarded, 4096);
	assert_int_equal(r.refused, 2 * 4096);
	memset(&r, 0, sizeof(r));
	ops->discard(&m->balloon.dev, 0xFEC00000ULL, 0x100000, &r); /* IOAPIC, MMIO */
	ops->discard(&m->balloon.dev, ~0ULL - 0xFFF, 0x1000, &r);   /* the last page of 2^64 */
	assert_int_equal(r.discarded, 0);
	assert_int_equal(r.refused, 0x101000);

	/* Unplugged virtio-mem blocks: refused, their bytes untouched. */
	memset(&r, 0, sizeof(r));
	ops->discard(&m->balloon.dev, hp_gpa, 4 * MiB, &r);
	assert_int_equal(r.refused, 4 * MiB);
	assert_int_equal(r.discarded, 0);
	assert_int_equal(hp[0], 0xCD);
	/* Plug the second block: a range over both discards only that one. */
	assert_int_equal(hp_plug(&h->hp, 2 * MiB, 2 * MiB), 0);
	memset(&r, 0, sizeof(r));
	ops->discard(&m->balloon.dev, hp_gpa + MiB, 3 * MiB, &r);
	assert_int_equal(r.refused, MiB);
	assert_int_equal(r.discarded, 2 * MiB);
	assert_int_equal(hp[MiB], 0xCD);
	assert_int_equal(hp[2 * MiB], 0);
	assert_int_equal(hp[4 * MiB - 1], 0);
	assert_int_equal(hp[4 * MiB], 0xCD);
	/* Past the region's end: refused. */
	memset(&r, 0, sizeof(r));
	ops->discard(&m->balloon.dev, hp_gpa + 256 * MiB, MiB, &r);
	assert_int_equal(r.refused, MiB);

	/* QEMU's arithmetic: the guest's memory is boot RAM plus plugged blocks. */
	assert_int_equal(board_balloon_info(m, &bi), 0);
	assert_true(bi.current == 258 * MiB && bi.actual == 258 * MiB && bi.target == bi.current);
	assert_string_equal(bi.id, "balloon0");
	assert_int_equal(board_balloon_set_target(m, 200 * MiB), 0);
	assert_int_equal(m->balloon.dev.num_pages, (58 * MiB) >> 12);
	assert_int_equal(board_balloon_set_target(m, 1ULL << 40), 0);
	assert_int_equal(m->balloon.dev.num_pages, 0);

	board_destroy_devices(m);
	board_destroy_hotplug(m);
	board_destroy_backends(m);
	bus_destroy(&m->vm.pio);
	bus_destroy(&m->vm.mmio);
	gmem_destroy(&m->vm.mem);
	loop_destroy(&m->loop);
	free(m);
	config_free(&cfg);
}

static void test_no_balloon(void **st)
{
	struct mv_config cfg;
	struct board *m = calloc(1, sizeof(*m));
	struct api_balloon_info bi;

	config_init(&cfg);
	board_init(m, &cfg);
	assert_int_equal(board_balloon_create(m), 0);
	assert_int_equal(board_balloon_info(m, &bi), -ENODEV);
	assert_int_equal(board_balloon_set_target(m, MiB), -ENODEV);
	assert_int_equal(board_balloon_set_interval(m, 1), -ENODEV);
	board_balloon_destroy(m);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discards_only_guest_memory),
	    cmocka_unit_test(test_no_balloon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
