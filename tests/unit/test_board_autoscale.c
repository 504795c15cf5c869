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

#include "fakes.h"
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

/* A board with one 1G virtio-mem device, a balloon and --autoscale, as line says. */
static struct board *as_board_new(char *line, struct mv_config *cfg)
{
	char *argv[16], err[CONFIG_ERR_LEN];
	struct board *m = calloc(1, sizeof(*m));
	struct board_hotplug *h;
	bool exit_now;
	int argc;

	assert_non_null(m);
	mv_log_set_quiet(true);
	config_init(cfg);
	fake_argv(line, argv, &argc);
	assert_int_equal(config_parse_args(cfg, argc, argv, &exit_now, err, sizeof(err)), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
	board_init(m, cfg);
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
	assert_int_equal(hp_init(&h->hp, &fake_hp_ops, m->layout.zones[0].hotplug_gpa, 1024 * MiB,
				 2 * MiB, 16, h->backend->hva, false),
			 0);
	h->hp_up = true;
	m->nr_hotplug = 1;
	assert_int_equal(board_create_devices(m), 0);
	assert_non_null(m->autoscale);
	return m;
}

static void as_board_free(struct board *m, struct mv_config *cfg)
{
	board_destroy_devices(m);
	assert_null(m->autoscale);
	board_destroy_hotplug(m);
	board_destroy_backends(m);
	bus_destroy(&m->vm.pio);
	bus_destroy(&m->vm.mmio);
	gmem_destroy(&m->vm.mem);
	loop_destroy(&m->loop);
	free(m);
	config_free(cfg);
}

#define AS_LINE                                                                                    \
	"--dry-run --memory size=256M,hotplug_method=virtio-mem,hotplug_size=1G "                  \
	"--balloon size=0,statistics_polling_interval=1 "                                          \
	"--autoscale min=256M,max=1280M,down_delay=0,up_step=64M"

static void test_tick_resizes_and_hand_set_pauses(void **st)
{
	char line[] = AS_LINE, err[CONFIG_ERR_LEN];
	struct mv_config cfg;
	struct board *m = as_board_new(line, &cfg);
	struct board_hotplug *h = &m->hotplug[0];
	struct json_object *q, *v;

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

	as_board_free(m, &cfg);
}

/* Saves a's policy state, lets edit() damage the payload, loads it into b. */
static int save_load(struct board *a, struct board *b, void (*edit)(struct mv_state_writer *w),
		     char *err, size_t errlen)
{
	struct mv_state_writer w;
	struct mv_state_reader r;
	struct mv_state_section sec;
	int ret;

	mv_sw_init(&w);
	board_autoscale_save(a, &w);
	assert_int_equal(mv_sw_error(&w), 0);
	if (edit)
		edit(&w);
	mv_sr_init(&r, w.buf, w.len);
	ret = mv_state_next(&r, &sec, err, errlen);
	assert_int_equal(ret, 1);
	ret = board_autoscale_load(b, &sec, err, errlen);
	mv_sw_free(&w);
	return ret;
}

/* Header: name length, "autoscale", version, length; then primed and three counters. */
#define AS_HDR	  (1 + 9 + 4 + 8)
#define AS_PRIMED AS_HDR
#define AS_NDEV	  (AS_HDR + 1 + 8 * 6)
#define AS_PAUSED (AS_NDEV + 4 + 1 + 4)

static void edit_primed(struct mv_state_writer *w)
{
	w->buf[AS_PRIMED] = 2;
}
static void edit_ndev(struct mv_state_writer *w)
{
	w->buf[AS_NDEV] = 2;
}
static void edit_id(struct mv_state_writer *w)
{
	w->buf[AS_NDEV + 4 + 1] = 'X';
}
static void edit_paused(struct mv_state_writer *w)
{
	w->buf[AS_PAUSED] = 7;
}
static void edit_version(struct mv_state_writer *w)
{
	w->buf[1 + 9] = AUTOSCALE_STATE_VERSION + 1;
}
static void edit_short(struct mv_state_writer *w)
{
	w->buf[1 + 9 + 4] -= 1; /* the payload ends inside the paused flag */
}

/*
 * Snapshot and restore: the policy's ages survive (a surplus 30 s old is
 * 30 s old after the load, whenever that is), with the counters, the
 * evaluation count and a hand-set pause; damaged sections are refused,
 * naming the field, and the loaded board keeps its own state.
 */
static void test_save_load(void **st)
{
	char la[] = AS_LINE, lb[] = AS_LINE, err[CONFIG_ERR_LEN] = "";
	struct mv_config ca, cb;
	struct board *a = as_board_new(la, &ca), *b = as_board_new(lb, &cb);
	struct as_state *sa = &a->autoscale->st, *sb = &b->autoscale->st;
	int64_t now = (int64_t)time(NULL);

	board_autoscale_hand_set(a, 0);
	*sa = (struct as_state){now - 30, now - 100, true, 1234, 5, 6};
	a->autoscale->evaluations = 41;
	assert_int_equal(save_load(a, b, NULL, err, sizeof(err)), 0);
	assert_true(sb->surplus_since >= now - 30 && sb->surplus_since <= (int64_t)time(NULL) - 30);
	assert_true(sb->last_resize >= now - 100 && sb->last_resize <= (int64_t)time(NULL) - 100);
	assert_true(sb->primed);
	assert_int_equal(sb->last_major, 1234);
	assert_int_equal(sb->last_swap_in, 5);
	assert_int_equal(sb->last_swap_out, 6);
	assert_int_equal(b->autoscale->evaluations, 41);
	assert_true(b->autoscale->paused[0]);

	/* None and never stay none and never. */
	*sa = (struct as_state){0};
	a->autoscale->evaluations = 0;
	assert_int_equal(save_load(a, b, NULL, err, sizeof(err)), 0);
	assert_int_equal(sb->surplus_since, 0);
	assert_int_equal(sb->last_resize, 0);
	assert_int_equal(b->autoscale->evaluations, 0);

	static const struct {
		void (*edit)(struct mv_state_writer *w);
		const char *want;
	} bad[] = {
	    {edit_primed, "autoscale: primed 2 is not 0 or 1"},
	    {edit_ndev, "autoscale: 2 virtio-mem devices; this VM has 1"},
	    {edit_id, "autoscale: device 0 is not mem0"},
	    {edit_paused, "autoscale: device 0 is not mem0, or its paused flag is not 0 or 1"},
	    {edit_version, "autoscale"},
	    {edit_short, "autoscale"},
	};
	*sa = (struct as_state){now - 5, now - 5, true, 1, 1, 1};
	a->autoscale->evaluations = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(save_load(a, b, bad[i].edit, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].want);
		assert_int_equal(sb->surplus_since, 0); /* as the last good load left it */
		assert_int_equal(b->autoscale->evaluations, 0);
	}
	as_board_free(a, &ca);
	as_board_free(b, &cb);
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
	    cmocka_unit_test(test_save_load),
	    cmocka_unit_test(test_no_autoscale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
