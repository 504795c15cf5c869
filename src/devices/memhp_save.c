#include "devices/memhp_save.h"

#include <errno.h>
#include <string.h>

#include "lib/errbuf.h"

#define MEMHP_SAVE_ENABLED   (1U << 0)
#define MEMHP_SAVE_INSERTING (1U << 1)
#define MEMHP_SAVE_REMOVING  (1U << 2)
#define MEMHP_SAVE_EJECTING  (1U << 3)
#define MEMHP_SAVE_FLAGS     0x0FU

void memhp_save(struct memhp *h, struct mv_state_writer *w)
{
	unsigned int i;

	pthread_mutex_lock(&h->lock);
	mv_sw_begin(w, MEMHP_STATE_NAME, MEMHP_STATE_VERSION);
	mv_sw_u32(w, h->regs.nr_slots);
	mv_sw_u32(w, h->regs.selector);
	for (i = 0; i < h->regs.nr_slots; i++) {
		const struct memhp_slot *s = &h->regs.slots[i];

		mv_sw_u64(w, s->addr);
		mv_sw_u64(w, s->size);
		mv_sw_u32(w, s->node);
		mv_sw_u8(w, (s->enabled ? MEMHP_SAVE_ENABLED : 0) |
				(s->inserting ? MEMHP_SAVE_INSERTING : 0) |
				(s->removing ? MEMHP_SAVE_REMOVING : 0) |
				(s->ejecting ? MEMHP_SAVE_EJECTING : 0));
		mv_sw_u32(w, s->ost_event);
		mv_sw_u32(w, s->ost_status);
	}
	mv_sw_end(w);
	pthread_mutex_unlock(&h->lock);
}

/* A slot's state as memhp.c can reach it; NULL when it can. */
static const char *memhp_slot_wrong(const struct memhp_slot *s)
{
	bool events = s->inserting || s->removing;

	if (!s->enabled && !s->ejecting)
		return s->addr || s->size || s->node || events ? "is free but has an address, "
								 "size, node or event"
							       : NULL;
	if (s->enabled && s->ejecting)
		return "is both enabled and ejecting";
	if (s->ejecting && events)
		return "is ejecting with an event pending";
	if (!s->size || (s->addr | s->size) & 0xFFF || s->addr + s->size < s->addr)
		return "has a size of zero, a range not 4 KiB aligned, or one that wraps";
	return NULL;
}

int memhp_parse(const struct mv_state_section *sec, struct memhp_regs *regs, char *err,
		size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	uint32_t n, i;
	int ret;

	ret = mv_state_check(sec, MEMHP_STATE_NAME, MEMHP_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	n = mv_sr_u32(&r);
	if (n != regs->nr_slots) {
		mv_errbuf(err, errlen, "%s: %u slots; this VM has %u (--memory hotplug_size)",
			  sec->name, n, regs->nr_slots);
		return -EINVAL;
	}
	regs->selector = mv_sr_u32(&r);
	for (i = 0; i < n; i++) {
		struct memhp_slot *s = &regs->slots[i];
		uint8_t f;
		const char *why;

		s->addr = mv_sr_u64(&r);
		s->size = mv_sr_u64(&r);
		s->node = mv_sr_u32(&r);
		f = mv_sr_u8(&r);
		s->ost_event = mv_sr_u32(&r);
		s->ost_status = mv_sr_u32(&r);
		if (r.short_read)
			break;
		if (f & ~MEMHP_SAVE_FLAGS) {
			mv_errbuf(err, errlen, "%s: slot %u: flags %#x has unknown bits", sec->name,
				  i, f);
			return -EINVAL;
		}
		s->enabled = f & MEMHP_SAVE_ENABLED;
		s->inserting = f & MEMHP_SAVE_INSERTING;
		s->removing = f & MEMHP_SAVE_REMOVING;
		s->ejecting = f & MEMHP_SAVE_EJECTING;
		why = memhp_slot_wrong(s);
		if (why) {
			mv_errbuf(err, errlen, "%s: slot %u %s", sec->name, i, why);
			return -EINVAL;
		}
	}
	return mv_state_done(sec, &r, err, errlen);
}

void memhp_commit(struct memhp *h, const struct memhp_regs *regs)
{
	pthread_mutex_lock(&h->lock);
	h->regs = *regs;
	pthread_mutex_unlock(&h->lock);
}
