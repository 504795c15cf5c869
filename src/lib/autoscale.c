/*
 * autoscale: the policy (see autoscale.h for the rules). Integer arithmetic
 * only; every product is of a byte count below 2^50 by a percentage, so
 * nothing overflows 64 bits.
 */
#include "lib/autoscale.h"

#include <stdio.h>
#include <string.h>

void as_state_init(struct as_state *st)
{
	memset(st, 0, sizeof(*st));
}

const char *as_action_name(enum as_action a)
{
	switch (a) {
	case AS_GROW:
		return "grow";
	case AS_SHRINK:
		return "shrink";
	default:
		return "hold";
	}
}

static uint64_t round_up(uint64_t v, uint64_t block)
{
	return (v + block - 1) / block * block;
}

static uint64_t round_down(uint64_t v, uint64_t block)
{
	return v / block * block;
}

/* A counter's growth since the last sample; a counter that went back (a guest reboot) counts 0. */
static uint64_t delta(uint64_t now, uint64_t before, bool primed)
{
	if (!primed || now == AS_NONE || before == AS_NONE || now < before)
		return 0;
	return now - before;
}

/* The total T at which available memory, with `used` in use, is pct% of T. */
static uint64_t total_for(uint64_t used, unsigned int pct)
{
	return used * 100 / (100 - pct) + 1;
}

static void hold(struct as_decision *d, const char *why)
{
	d->action = AS_HOLD;
	d->target = d->total;
	snprintf(d->reason, sizeof(d->reason), "%s", why);
}

void as_decide(const struct as_params *p, struct as_state *st, const struct as_signals *s,
	       struct as_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->time = s->now;
	d->total = s->total;
	d->low_bytes = s->total * p->low / 100;
	d->high_bytes = s->total * p->high / 100;

	uint64_t avail = s->available;
	if (avail == AS_NONE && s->free != AS_NONE)
		avail = s->free + (s->caches != AS_NONE ? s->caches : 0);
	d->available = avail == AS_NONE ? 0 : avail;

	if (s->resizing) {
		/* A surplus goes on counting through the policy's own shrink (a grow reset it). */
		hold(d, "resize in progress");
		return;
	}
	if (s->stats_time == 0 || avail == AS_NONE) {
		st->surplus_since = 0;
		hold(d, "no statistics from the guest");
		return;
	}
	if (s->now - s->stats_time > (int64_t)p->stale_after) {
		st->surplus_since = 0;
		st->primed = false;
		hold(d, "statistics are stale");
		return;
	}
	if (st->last_resize && s->stats_time <= st->last_resize) {
		hold(d, "waiting for statistics newer than the last resize");
		return;
	}

	d->major_delta = delta(s->major_faults, st->last_major, st->primed);
	d->swap_delta = delta(s->swap_in, st->last_swap_in, st->primed) +
			delta(s->swap_out, st->last_swap_out, st->primed);
	st->last_major = s->major_faults;
	st->last_swap_in = s->swap_in;
	st->last_swap_out = s->swap_out;
	st->primed = true;

	uint64_t total = s->total;
	if (avail > total)
		avail = total; /* a guest's figure is not trusted past the total */
	d->available = avail;
	uint64_t used = total - avail;
	unsigned int mid = (p->low + p->high) / 2;
	bool pressure = d->swap_delta > 0 || d->major_delta > 0;
	bool short_ = avail < d->low_bytes;

	if (total < p->min || (total < p->max && (short_ || pressure))) {
		uint64_t want = total_for(used, mid);
		uint64_t target = want > total ? want : total;
		uint64_t step = pressure ? 2 * p->up_step : p->up_step;
		if (target - total < step)
			target = total + step;
		if (target < p->min)
			target = p->min;
		target = round_up(target, p->block);
		if (target > p->max)
			target = round_down(p->max, p->block);
		st->surplus_since = 0;
		if (target <= total) {
			hold(d, "short of memory but at the maximum");
			return;
		}
		d->action = AS_GROW;
		d->target = target;
		st->last_resize = s->now;
		snprintf(d->reason, sizeof(d->reason), "%s%s%s",
			 total < p->min ? "below min"
			 : short_	? "available below low"
					: "",
			 total >= p->min && short_ && pressure ? ", " : "",
			 total >= p->min && pressure
			     ? (d->swap_delta ? "swap activity" : "major faults")
			     : "");
		return;
	}
	if (short_ || pressure) {
		st->surplus_since = 0;
		hold(d, "short of memory but at the maximum");
		return;
	}
	if (total > p->max) {
		st->surplus_since = 0;
		d->action = AS_SHRINK;
		d->target = round_down(p->max, p->block);
		st->last_resize = s->now;
		snprintf(d->reason, sizeof(d->reason), "above max");
		return;
	}
	if (avail <= d->high_bytes) {
		st->surplus_since = 0;
		hold(d, "within the band");
		return;
	}
	if (!st->surplus_since)
		st->surplus_since = s->now;
	if (s->now - st->surplus_since < (int64_t)p->down_delay) {
		snprintf(d->reason, sizeof(d->reason), "surplus for %llds of down_delay %us",
			 (long long)(s->now - st->surplus_since), p->down_delay);
		d->action = AS_HOLD;
		d->target = total;
		return;
	}
	/* Aim at the middle of the band, never below used + the low margin, nor min. */
	uint64_t floor = total_for(used, p->low);
	uint64_t aim = total_for(used, mid);
	if (aim < floor)
		aim = floor;
	if (aim < p->min)
		aim = p->min;
	/* Half the way there per decision, at least up_step: big surpluses go in a few steps. */
	uint64_t step = (total - (aim < total ? aim : total)) / 2;
	if (step < p->up_step)
		step = p->up_step;
	if (total > step && aim < total - step)
		aim = total - step;
	uint64_t target = round_up(aim, p->block);
	if (target >= total) {
		hold(d, total <= p->min ? "surplus but at the minimum" : "surplus below one block");
		return;
	}
	d->action = AS_SHRINK;
	d->target = target;
	st->last_resize = s->now;
	snprintf(d->reason, sizeof(d->reason), "available above high for %llds",
		 (long long)(s->now - st->surplus_since));
}
