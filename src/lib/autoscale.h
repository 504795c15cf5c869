/*
 * autoscale: the --autoscale policy as one pure function. Given the
 * guest's signals (its total memory, what its balloon statistics say is
 * available, major faults and swap counters), the policy's parameters and
 * its own small state, it decides to grow, shrink or hold, and says why
 * with the figures behind the decision. No clock, no device, no I/O: the
 * caller (board/autoscale.c) samples, decides and applies.
 *
 * The rules (README.md, "--autoscale"): keep available memory between low%
 * and high% of the total. Grow fast: at once, by at least up_step and by
 * enough to bring available back to the middle of the band, by more when
 * major faults or swap activity show pressure. Shrink with care: only
 * after down_delay seconds of continuous surplus (the policy's own shrinks
 * do not restart that count), then per decision half the way to the middle
 * of the band (at least up_step), never below what the guest uses plus the
 * low margin. Always within
 * [min, max], in whole blocks. Statistics that are missing, stale, or not
 * newer than the last resize lead to a hold: the policy never acts on
 * figures that predate its own last action.
 */
#ifndef MV_LIB_AUTOSCALE_H
#define MV_LIB_AUTOSCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A counter the guest did not report (the balloon's VB_STAT_NONE). */
#define AS_NONE UINT64_MAX

struct as_params {
	uint64_t min, max;	  /* total guest memory, bytes */
	unsigned int low, high;	  /* percent of the total, low < high < 100 */
	uint64_t up_step;	  /* bytes, > 0 */
	unsigned int down_delay;  /* seconds */
	uint64_t block;		  /* resize granularity in bytes (power of two), > 0 */
	unsigned int stale_after; /* seconds after which statistics are too old */
};

struct as_signals {
	int64_t now;	    /* seconds, any monotonic origin */
	uint64_t total;	    /* boot RAM + plugged */
	bool resizing;	    /* a resize is under way (requested != plugged) */
	int64_t stats_time; /* when the statistics were received, 0: never */
	uint64_t available; /* stat-available-memory, AS_NONE if not reported */
	uint64_t free;	    /* stat-free-memory, AS_NONE if not reported */
	uint64_t caches;    /* stat-disk-caches, AS_NONE if not reported */
	uint64_t major_faults, swap_in, swap_out; /* cumulative, AS_NONE if not reported */
};

struct as_state {
	int64_t surplus_since; /* 0: no surplus now */
	int64_t last_resize;   /* when the last grow or shrink was decided, 0: never */
	bool primed;	       /* the counters below hold a sample */
	uint64_t last_major, last_swap_in, last_swap_out;
};

enum as_action { AS_HOLD, AS_GROW, AS_SHRINK };

struct as_decision {
	enum as_action action;
	uint64_t total, available, target; /* target == total on a hold */
	uint64_t low_bytes, high_bytes;	   /* the band in bytes of this total */
	uint64_t major_delta, swap_delta;  /* since the previous sample */
	int64_t time;
	char reason[96];
};

void as_state_init(struct as_state *st);
/* Decide on one sample; updates st. Never fails: a hold says why. */
void as_decide(const struct as_params *p, struct as_state *st, const struct as_signals *s,
	       struct as_decision *d);
/* "grow", "shrink", "hold". */
const char *as_action_name(enum as_action a);

#endif
