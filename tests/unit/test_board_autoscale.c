/*
 * The board's autoscale (board/autoscale.c) without KVM: the board of
 * test_board_balloon (real backends, fake virtio-mem slots), balloon
 * statistics written as the device would keep them, and one evaluation per
 * board_autoscale_tick: the decision lands in the virtio-mem device's
 * requested-size, a hand-set size pauses the policy until resume, and
 * x-query-autoscale's object shows it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board/autoscale.h"
#include "board/backend.h"
#include "board/board.h"
#include "board/devices.h"
#include "board/memory.h"
#include "lib/log.h"
#include "virtio/balloon_state.h"

#define MiB (1ULL << 20)

static int irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	return 0;
}

static void post(struct vm_events *e, enum vm_event ev)
{
}

static int f_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	*slot = 7;
	return 0;
}

static int f_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	return 0;
}

static int f_populate(struct hp_region *r, uint64_t off, uint64_t len)
{
	return 0;
}

static int f_discard(struct hp_region *r, uint64_t off, uint64_t len)
{
	return 0;
}

static const struct hp_ops f_hp_ops = {f_map, f_unmap, f_populate, f_discard};

static char *argv_of(char *line, char **argv, int *argc)
{
	*argc = 0;
	argv[(*argc)++] = "memvisor";
	for (char *t = strtok(line, " "); t; t = strtok(NULL, " "))
		argv[(*argc)++] = t;
	return line;
}

static void set_stats(struct board *m, uint64_t avail)
{
	struct vballoon *b = &m->balloon.dev;

	for (int i = 0; i < VB_S_NR; i++)
		b->stats[i] = 0;
	b->stats[VB_S_AVAIL] = avail;
	b->stats[VB_S_MEMFREE] = avail;
	/* Newer than any resize decided this second: the policy asks for that. */
	b->stats_last_update = (int64_t)time(NULL) + 1 + (int64_t)m->boots++;
}

static uint64_t requested(struct board *m)
{
	struct vmem_info vi;

	vmem_get_info(&m->hotplug[0].dev, &vi);
	return vi.requested_size;
}

static void test_tick_resizes_and_hand_set_pauses(void **st)
{
	char line[] = "--dry-run --memory size=256M,hotplug_method=virtio-mem,hotplug_size=1G "
		      "--balloon size=0,statistics_polling_interval=1 "
		      "--autoscale min=256M,max=1280M,down_delay=0,up_step=64M";
	char *argv[16], err[CONFIG_ERR_LEN];
	struct mv_config cfg;
	struct board *m = calloc(1, sizeof(*m));
	struct board_hotplug *h;
	struct json_object *q, *v;
	bool exit_now;
	int argc;

	mv_log_set_quiet(true);
	config_init(&cfg);
	argv_of(line, argv, &argc);
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
	h = &m->hotplug[0];
	h->m = m;
	h->zone = 0;
	h->backend = board_zone_backend(m, 0, true);
	assert_non_null(h->backend);
	assert_int_equal(hp_init(&h->hp, &f_hp_ops, m->layout.zones[0].hotplug_gpa, 1024 * MiB,
				 2 * MiB, 2 * MiB, h->backend->hva, false),
			 0);
	h->hp_up = true;
	m->nr_hotplug = 1;
	assert_int_equal(board_create_devices(m), 0);
	assert_non_null(m->autoscale);
	assert_int_equal(requested(m), 0);

	/* No statistics yet: hold. */
	board_autoscale_tick(m);
	assert_int_equal(requested(m), 0);

	/* 20M of 256M available (< 20%): grow to the middle of the band, spread on the device. */
	set_stats(m, 20 * MiB);
	board_autoscale_tick(m);
	uint64_t r1 = requested(m);
	/* used 236M at 35% available: 363.1M -> 364M total, 108M on the device */
	assert_int_equal(r1, 108 * MiB);

	/* The guest has not plugged it yet: hold, even on fresh figures. */
	set_stats(m, 10 * MiB);
	board_autoscale_tick(m);
	assert_int_equal(requested(m), r1);

	/* Plugged (as the driver would), lots free now: shrink by at most up_step. */
	assert_int_equal(hp_plug(&h->hp, 0, r1), 0);
	h->dev.st.plugged_size = r1;
	set_stats(m, 300 * MiB);
	board_autoscale_tick(m);
	assert_int_equal(requested(m), r1 - 64 * MiB);

	/* By hand (QMP qom-set requested-size): the policy pauses for the device. */
	assert_int_equal(hp_unplug(&h->hp, 44 * MiB, 64 * MiB), 0);
	h->dev.st.plugged_size = 44 * MiB;
	m->api_be.ops = board_api_backend_ops();
	assert_int_equal(
	    m->api_be.ops->memdev_set_requested(&m->api_be, "mem0", 512 * MiB, err, sizeof(err)),
	    0);
	set_stats(m, 1 * MiB);
	board_autoscale_tick(m);
	assert_int_equal(requested(m), 512 * MiB);
	assert_int_equal(board_autoscale_query(m, &q), 0);
	assert_true(json_object_object_get_ex(q, "paused", &v));
	assert_int_equal(json_object_array_length(v), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "mem0");
	assert_true(json_object_object_get_ex(q, "decisions", &v));
	assert_int_equal(json_object_array_length(v), 2);
	assert_string_equal(json_object_get_string(json_object_object_get(
				json_object_array_get_idx(v, 0), "decision")),
			    "grow");
	assert_string_equal(json_object_get_string(json_object_object_get(
				json_object_array_get_idx(v, 1), "decision")),
			    "shrink");
	json_object_put(q);

	/* Resume: an unknown id is refused, then the policy acts again. */
	assert_int_equal(board_autoscale_resume(m, "nope", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "Device 'nope' not found");
	assert_int_equal(board_autoscale_resume(m, "mem0", err, sizeof(err)), 0);
	h->dev.st.requested_size = 44 * MiB; /* settled back where the guest is */
	set_stats(m, 1 * MiB);
	board_autoscale_tick(m);
	assert_true(requested(m) > 44 * MiB);

	board_destroy_devices(m);
	assert_null(m->autoscale);
	board_destroy_hotplug(m);
	board_destroy_backends(m);
	bus_destroy(&m->vm.pio);
	bus_destroy(&m->vm.mmio);
	gmem_destroy(&m->vm.mem);
	loop_destroy(&m->loop);
	free(m);
	config_free(&cfg);
}

static void test_no_autoscale(void **st)
{
	struct mv_config cfg;
	struct board *m = calloc(1, sizeof(*m));
	struct json_object *q = NULL;
	char err[128];

	config_init(&cfg);
	board_init(m, &cfg);
	assert_int_equal(board_autoscale_create(m), 0);
	assert_null(m->autoscale);
	assert_int_equal(board_autoscale_query(m, &q), -ENODEV);
	assert_int_equal(board_autoscale_resume(m, NULL, err, sizeof(err)), -ENODEV);
	board_autoscale_hand_set(m, 0); /* harmless */
	board_autoscale_tick(m);
	board_autoscale_destroy(m);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tick_resizes_and_hand_set_pauses),
	    cmocka_unit_test(test_no_autoscale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
