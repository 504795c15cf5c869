#include "devices/power_save.h"

void power_save(struct power *p, struct mv_state_writer *w)
{
	mv_sw_begin(w, POWER_STATE_NAME, POWER_STATE_VERSION);
	mv_sw_end(w);
}

int power_load(struct power *p, const struct mv_state_section *sec, char *err, size_t errlen)
{
	int ret = mv_state_check(sec, POWER_STATE_NAME, POWER_STATE_VERSION, err, errlen);

	return ret ? ret : mv_state_done(sec, &sec->payload, err, errlen);
}
