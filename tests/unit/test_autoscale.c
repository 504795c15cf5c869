/*
 * Unit tests for lib/autoscale: the --autoscale policy as a pure function
 * (steady state, pressure, delayed shrink, bounds, swap and fault signals,
 * stale or missing statistics).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/autoscale.h"

#define M (1024ULL * 1024)
#define G (1024 * M)

static struct as_params params(void)
{
	struct as_params p = {
	    .min = 512 * M,
	    .max = 4 * G,
	    .low = 20,
	    .high = 50,
	    .up_step = 128 * M,
	    .down_delay = 10,
	    .block = 2 * M,
	    .stale_after = 5,
	};
	return p;
}

static struct as_signals sample(int64_t now, uint64_t total, uint64_t avail)
{
	struct as_signals s = {
	    .now = now,
	    .total = total,
	    .stats_time = now,
	    .available = avail,
	    .free = AS_NONE,
	    .caches = AS_NONE,
	    .major_faults = 0,
	    .swap_in = 0,
	    .swap_out = 0,
	};
	return s;
}

static void steady_state_holds(void **state)
{
	struct as_params p = params();
	struct as_state st;
	struct as_decision d;
	as_state_init(&st);
	for (int t = 1; t < 100; t++) {
		struct as_signals s = sample(t, 1 * G, 300 * M); /* 29%: in the band */
		as_decide(&p, &st, &s, &d);
		assert_int_equal(d.action, AS_HOLD);
		assert_int_equal(d.target, 1 * G);
		assert_string_equal(d.reason, "within the band");
	}
}

static void shortage_grows_to_the_middle_of_the_band(void **state)
{
	struct as_params p = params();
	struct as_state st;
	struct as_decision d;
	as_state_init(&st);
	struct as_signals s = sample(10, 1 * G, 100 * M); /* 9.8% < 20% */
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_GROW);
	assert_string_equal(d.reason, "available below low");
	/* used = 924M; at 35% available the total is 924M/0.65 = 1421.5M -> 1422M */
	assert_true(d.target >= 1421 * M && d.target <= 1424 * M);
	assert_int_equal(d.target % p.block, 0);
	uint64_t used = 1 * G - 100 * M;
	assert_true((d.target - used) * 100 >= d.target * p.low);
	/* Grow fast: at least up_step even for a small shortage. */
	as_state_init(&st);
	s = sample(10, 1 * G, 200 * M); /* 19.5% */
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_GROW);
	assert_true(d.target - 1 * G >= p.up_step);
	/* used = 824M: the middle of the band is at 824M/0.65 = 1267.7M -> 1268M */
	assert_int_equal(d.target, 1268 * M);
}

static void no_second_grow_on_old_statistics(void **state)
{
	struct as_params p = params();
	struct as_state st;
	struct as_decision d;
	as_state_init(&st);
	struct as_signals s = sample(10, 1 * G, 100 * M);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_GROW);
	uint64_t t1 = d.target;
	/* The resize is under way: hold. */
	s = sample(11, 1 * G, 100 * M);
	s.resizing = true;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	assert_string_equal(d.reason, "resize in progress");
	/* Done, but the statistics are those of before the resize: hold. */
	s = sample(12, t1, 100 * M);
	s.stats_time = 10;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	assert_string_equal(d.reason, "waiting for statistics newer than the last resize");
	/* New figures in the band: hold. */
	s = sample(13, t1, t1 * 30 / 100);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	assert_string_equal(d.reason, "within the band");
}

static void swap_and_major_faults_grow_more(void **state)
{
	struct as_params p = params();
	struct as_state st;
	struct as_decision d;
	as_state_init(&st);
	/* In the band, counters primed. */
	struct as_signals s = sample(1, 1 * G, 300 * M);
	s.swap_in = 1000;
	s.swap_out = 5000;
	s.major_faults = 70;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	assert_int_equal(d.swap_delta, 0); /* the first sample is no delta */
	/* Same counters: no pressure. */
	s.now = s.stats_time = 2;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	/* Swap-out moves while available looks fine: grow by two steps. */
	s.now = s.stats_time = 3;
	s.swap_out = 6000;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_GROW);
	assert_int_equal(d.swap_delta, 1000);
	assert_string_equal(d.reason, "swap activity");
	assert_true(d.target >= 1 * G + 2 * p.up_step);
	/* Major faults alone are pressure too. */
	as_state_init(&st);
	s = sample(1, 1 * G, 300 * M);
	s.major_faults = 70;
	as_decide(&p, &st, &s, &d);
	s.now = s.stats_time = 2;
	s.major_faults = 90;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_GROW);
	assert_int_equal(d.major_delta, 20);
	assert_string_equal(d.reason, "major faults");
	/* A counter that goes back (guest reboot) is no pressure. */
	as_state_init(&st);
	s = sample(1, 1 * G, 300 * M);
	s.swap_in = 5000;
	as_decide(&p, &st, &s, &d);
	s.now = s.stats_time = 2;
	s.swap_in = 3;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	assert_int_equal(d.swap_delta, 0);
}

static void surplus_shrinks_only_after_delay_in_steps(void **state)
{
	struct as_params p = params();
	struct as_state st;
	struct as_decision d;
	as_state_init(&st);
	uint64_t total = 2 * G, used = 300 * M;
	int64_t t = 100;
	for (; t < 110; t++) {
		struct as_signals s = sample(t, total, total - used);
		as_decide(&p, &st, &s, &d);
		assert_int_equal(d.action, AS_HOLD);
		assert_non_null(strstr(d.reason, "of down_delay 10s"));
	}
	/* A sample in the band restarts the count. */
	struct as_signals s = sample(t, total, total * 40 / 100);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	assert_int_equal(st.surplus_since, 0);
	int64_t start = ++t;
	for (; t < start + 10; t++) {
		s = sample(t, total, total - used);
		as_decide(&p, &st, &s, &d);
		assert_int_equal(d.action, AS_HOLD);
	}
	/* After down_delay: half the way (at least up_step) per step, more steps on new figures. */
	int steps = 0;
	for (; steps < 100; t++) {
		s = sample(t, total, total - used);
		as_decide(&p, &st, &s, &d);
		if (d.action == AS_HOLD)
			break;
		assert_int_equal(d.action, AS_SHRINK);
		assert_true(total - d.target <= p.up_step ||
			    total - d.target <= (total - used) / 2 + p.block);
		assert_int_equal(d.target % p.block, 0);
		/* never below used + the low margin */
		assert_true((d.target - used) * 100 >= d.target * p.low);
		total = d.target;
		steps++;
	}
	assert_true(steps >= 3 && steps <= 8);
	/* It stops in the band (or at min), never below. */
	assert_true(total >= p.min);
	assert_true((total - used) * 100 <= total * p.high || total == p.min ||
		    total - used <= total * p.high / 100 + p.block);
}

/* The policy's own shrink under way does not restart the surplus count. */
static void shrink_goes_on_through_its_resize(void **state)
{
	struct as_params p = params();
	struct as_state st;
	struct as_decision d;
	struct as_signals s;
	as_state_init(&st);
	uint64_t total = 2 * G, used = 300 * M;
	int64_t t;
	for (t = 1; t <= 11; t++) {
		s = sample(t, total, total - used);
		as_decide(&p, &st, &s, &d);
	}
	assert_int_equal(d.action, AS_SHRINK);
	/* Half the way to the middle of the band: far more than up_step. */
	assert_true(total - d.target > 2 * p.up_step);
	total = d.target;
	s = sample(t++, 2 * G, 2 * G - used);
	s.resizing = true;
	as_decide(&p, &st, &s, &d);
	assert_string_equal(d.reason, "resize in progress");
	s = sample(t++, total, total - used);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_SHRINK);
	assert_true(d.target < total);
}

static void shrink_stops_at_min(void **state)
{
	struct as_params p = params();
	struct as_state st;
	struct as_decision d;
	as_state_init(&st);
	uint64_t total = 640 * M;
	int64_t t = 1;
	for (; t < 40; t++) {
		struct as_signals s = sample(t, total, total - 50 * M);
		as_decide(&p, &st, &s, &d);
		if (d.action == AS_SHRINK)
			total = d.target;
		assert_true(total >= p.min);
	}
	assert_int_equal(total, p.min);
	assert_int_equal(d.action, AS_HOLD);
	assert_string_equal(d.reason, "surplus but at the minimum");
}

static void grow_stops_at_max(void **state)
{
	struct as_params p = params();
	p.max = 1 * G + 64 * M;
	struct as_state st;
	struct as_decision d;
	as_state_init(&st);
	struct as_signals s = sample(1, 1 * G, 10 * M);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_GROW);
	assert_int_equal(d.target, p.max);
	s = sample(2, p.max, 10 * M);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	assert_string_equal(d.reason, "short of memory but at the maximum");
	/* Below min: grow to min whatever the figures say. */
	as_state_init(&st);
	s = sample(1, 256 * M, 200 * M);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_GROW);
	assert_int_equal(d.target, p.min);
	assert_string_equal(d.reason, "below min");
	/* Above max (set by hand before the policy resumed): back to max. */
	as_state_init(&st);
	s = sample(1, 2 * G, 1 * G);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_SHRINK);
	assert_int_equal(d.target, p.max);
}

static void stale_or_missing_statistics_hold(void **state)
{
	struct as_params p = params();
	struct as_state st;
	struct as_decision d;
	as_state_init(&st);
	struct as_signals s = sample(100, 1 * G, 10 * M);
	s.stats_time = 90; /* 10 s old, stale_after 5 */
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	assert_string_equal(d.reason, "statistics are stale");
	s = sample(100, 1 * G, 10 * M);
	s.stats_time = 0;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	assert_string_equal(d.reason, "no statistics from the guest");
	s = sample(100, 1 * G, AS_NONE);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.action, AS_HOLD);
	/* Without stat-available-memory, free + caches stand in. */
	s = sample(100, 1 * G, AS_NONE);
	s.free = 50 * M;
	s.caches = 20 * M;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.available, 70 * M);
	assert_int_equal(d.action, AS_GROW);
	/* A guest claiming more than its total is capped at the total. */
	as_state_init(&st);
	s = sample(100, 1 * G, UINT64_MAX - 1);
	as_decide(&p, &st, &s, &d);
	assert_int_equal(d.available, 1 * G);
	assert_true(d.action == AS_HOLD);
	/* Staleness also breaks a running surplus. */
	as_state_init(&st);
	s = sample(100, 2 * G, 2 * G - 100 * M);
	as_decide(&p, &st, &s, &d);
	assert_int_not_equal(st.surplus_since, 0);
	s.now = 120;
	as_decide(&p, &st, &s, &d);
	assert_int_equal(st.surplus_since, 0);
	assert_string_equal(as_action_name(AS_GROW), "grow");
	assert_string_equal(as_action_name(AS_SHRINK), "shrink");
	assert_string_equal(as_action_name(AS_HOLD), "hold");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(steady_state_holds),
	    cmocka_unit_test(shortage_grows_to_the_middle_of_the_band),
	    cmocka_unit_test(no_second_grow_on_old_statistics),
	    cmocka_unit_test(swap_and_major_faults_grow_more),
	    cmocka_unit_test(surplus_shrinks_only_after_delay_in_steps),
	    cmocka_unit_test(shrink_goes_on_through_its_resize),
	    cmocka_unit_test(shrink_stops_at_min),
	    cmocka_unit_test(grow_stops_at_max),
	    cmocka_unit_test(stale_or_missing_statistics_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
