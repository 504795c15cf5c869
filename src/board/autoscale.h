/*
 * autoscale: --autoscale on the board. A timer on the event loop, at the
 * balloon's statistics interval, samples the guest (boot RAM + plugged
 * virtio-mem, the balloon's statistics), asks lib/autoscale's policy and
 * applies a grow or shrink by setting the requested sizes of the virtio-mem
 * devices, spread over them as `memvisor-ctl resize --spread` does
 * (api/ctl.c, ctl_plan_resize). Every decision that starts a resize emits
 * X_AUTOSCALE; the last decisions are kept for x-query-autoscale.
 *
 * A requested-size set by hand (QMP qom-set, memvisor-ctl resize) pauses the
 * policy for that device (board_autoscale_hand_set) until
 * x-autoscale-resume: the policy then resizes only the other devices, and
 * holds when every device is paused. All of it on the loop thread.
 *
 * Save and load: the section "autoscale" (version 1) carries the policy's
 * state (the guest's last fault and swap counters, how long the surplus
 * has lasted and how long ago the last resize was: ages, so that the time
 * a snapshot spends on disk is not guest time), the evaluation count and
 * which devices a hand-set size paused. The decision history is not saved.
 */
#ifndef MV_BOARD_AUTOSCALE_H
#define MV_BOARD_AUTOSCALE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/loop.h"
#include "config/config.h"
#include "lib/autoscale.h"
#include "lib/state.h"

struct board;
struct json_object;

#define AS_RING 16

struct board_autoscale {
	struct board *m;
	struct loop_timer timer;
	bool timer_ok;
	struct as_params p;
	struct as_state st;
	struct as_signals last; /* the last sample */
	bool paused[CONFIG_MAX_ZONES];
	struct as_decision
	    ring[AS_RING]; /* decisions that started a resize, and holds that changed */
	unsigned int head, count;
	struct as_decision current; /* the last evaluation, whatever it decided */
	uint64_t evaluations;
};

/* The device table's entry: nothing without --autoscale. */
int board_autoscale_create(struct board *b);
void board_autoscale_reset(struct board *b);
void board_autoscale_destroy(struct board *b);

/* Virtio-mem device idx (m->hotplug[idx]) was set by hand: pause the policy for it. */
void board_autoscale_hand_set(struct board *b, unsigned int idx);
/* The API's view: -ENODEV without --autoscale. */
int board_autoscale_query(struct board *b, struct json_object **out);
/* id NULL: every device; -ENOENT with one line in err for an unknown id. */
int board_autoscale_resume(struct board *b, const char *id, char *err, size_t errlen);
#define AUTOSCALE_STATE_NAME	"autoscale"
#define AUTOSCALE_STATE_VERSION 1

/* Nothing without --autoscale. */
void board_autoscale_save(struct board *b, struct mv_state_writer *w);
/* 0, or -EINVAL naming the section and field (the devices must be this VM's); nothing changed then.
 */
int board_autoscale_load(struct board *b, const struct mv_state_section *sec, char *err,
			 size_t errlen);
/* One evaluation now (the timer's work; tests call it). */
void board_autoscale_tick(struct board *b);

#endif
