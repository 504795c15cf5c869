#include "virtio/balloon_save.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lib/errbuf.h"

static void vb_counters_io(struct vb_counters *c, struct mv_state_writer *w,
			   struct mv_state_reader *r)
{
	uint64_t *f[] = {&c->inflated_pages, &c->deflated_pages, &c->reported_bytes,
			 &c->discarded,	     &c->refused,	 &c->skipped,
			 &c->failed,	     &c->dropped_pfns,	 &c->stats_updates,
			 &c->device_errors};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (w)
			mv_sw_u64(w, *f[i]);
		else
			*f[i] = mv_sr_u64(r);
	}
}

void vballoon_save(struct vballoon *b, struct mv_state_writer *w)
{
	pthread_mutex_lock(&b->vdev.lock);
	mv_sw_begin(w, VB_STATE_NAME, VB_STATE_VERSION);
	mv_sw_u64(w, b->vdev.host_features);
	mv_sw_u32(w, b->num_pages);
	mv_sw_u32(w, b->actual);
	mv_sw_u8(w, b->stats_held);
	mv_sw_u16(w, b->stats_head);
	for (unsigned int i = 0; i < VB_S_NR; i++)
		mv_sw_u64(w, b->stats[i]);
	mv_sw_u64(w, (uint64_t)b->stats_last_update);
	mv_sw_u32(w, b->stats_interval);
	vb_counters_io(&b->c, w, NULL);
	mv_sw_end(w);
	pthread_mutex_unlock(&b->vdev.lock);
}

int vballoon_load(struct vballoon *b, const struct mv_state_section *sec, char *err, size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	uint64_t features, stats[VB_S_NR];
	uint32_t num_pages, actual, interval;
	int64_t last;
	struct vb_counters c;
	uint16_t head;
	uint8_t held;
	int ret = mv_state_check(sec, VB_STATE_NAME, VB_STATE_VERSION, err, errlen);

	if (ret)
		return ret;
	features = mv_sr_u64(&r);
	num_pages = mv_sr_u32(&r);
	actual = mv_sr_u32(&r);
	held = mv_sr_u8(&r);
	head = mv_sr_u16(&r);
	for (unsigned int i = 0; i < VB_S_NR; i++)
		stats[i] = mv_sr_u64(&r);
	last = (int64_t)mv_sr_u64(&r);
	interval = mv_sr_u32(&r);
	vb_counters_io(&c, NULL, &r);
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	if (features != b->vdev.host_features) {
		mv_errbuf(err, errlen,
			  VB_STATE_NAME ": features %#" PRIx64 " in the saved state, %#" PRIx64
					" here (deflate_on_oom and free_page_reporting must match)",
			  features, b->vdev.host_features);
		return -EINVAL;
	}
	if (held > 1 || head >= VB_QUEUE_SIZE) {
		mv_errbuf(err, errlen, VB_STATE_NAME ": statistics buffer %u/%u is not valid",
			  (unsigned int)held, (unsigned int)head);
		return -EINVAL;
	}
	pthread_mutex_lock(&b->vdev.lock);
	b->num_pages = num_pages;
	b->actual = actual;
	b->stats_held = held;
	b->stats_head = head;
	memcpy(b->stats, stats, sizeof(stats));
	b->stats_last_update = last;
	b->stats_interval = interval;
	b->c = c;
	pthread_mutex_unlock(&b->vdev.lock);
	vballoon_restart_timer(b);
	return 0;
}
