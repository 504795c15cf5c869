#include "virtio/rng_save.h"

void vrng_save(struct vrng *r, struct mv_state_writer *w)
{
	mv_sw_begin(w, VRNG_STATE_NAME, VRNG_STATE_VERSION);
	mv_sw_end(w);
}

int vrng_load(struct vrng *r, const struct mv_state_section *sec, char *err, size_t errlen)
{
	int ret = mv_state_check(sec, VRNG_STATE_NAME, VRNG_STATE_VERSION, err, errlen);

	return ret ? ret : mv_state_done(sec, &sec->payload, err, errlen);
}
