#include "virtio/vsock_save.h"

#include <errno.h>
#include <stdio.h>

#include "lib/errbuf.h"

#define VSOCK_NR_COUNTERS 8

static uint64_t *vsock_counter(struct vsock_stats *st, unsigned int i)
{
	uint64_t *c[VSOCK_NR_COUNTERS] = {&st->rx_packets, &st->rx_bytes, &st->tx_packets,
					  &st->tx_bytes,   &st->conns,	  &st->resets,
					  &st->tx_errors,  &st->refused};

	return c[i];
}

void vsock_state_name(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", VSOCK_STATE_PREFIX, id);
}

void vsock_save(struct vsock *v, const char *id, struct mv_state_writer *w)
{
	char name[MV_STATE_NAME_MAX + 1];

	vsock_state_name(id, name, sizeof(name));
	pthread_mutex_lock(&v->vdev.lock);
	mv_sw_begin(w, name, VSOCK_STATE_VERSION);
	mv_sw_u64(w, v->cid);
	for (unsigned int i = 0; i < VSOCK_NR_COUNTERS; i++)
		mv_sw_u64(w, *vsock_counter(&v->st, i));
	mv_sw_end(w);
	pthread_mutex_unlock(&v->vdev.lock);
}

int vsock_load(struct vsock *v, const char *id, const struct mv_state_section *sec, char *err,
	       size_t errlen)
{
	char name[MV_STATE_NAME_MAX + 1];
	struct mv_state_reader r = sec->payload;
	uint64_t counters[VSOCK_NR_COUNTERS], cid;
	int ret;

	vsock_state_name(id, name, sizeof(name));
	ret = mv_state_check(sec, name, VSOCK_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	cid = mv_sr_u64(&r);
	for (unsigned int i = 0; i < VSOCK_NR_COUNTERS; i++)
		counters[i] = mv_sr_u64(&r);
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	pthread_mutex_lock(&v->vdev.lock);
	if (cid != v->cid) {
		pthread_mutex_unlock(&v->vdev.lock);
		mv_errbuf(err, errlen, "%s: guest_cid: %llu in the saved state, %llu here", name,
			  (unsigned long long)cid, (unsigned long long)v->cid);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < VSOCK_NR_COUNTERS; i++)
		*vsock_counter(&v->st, i) = counters[i];
	pthread_mutex_unlock(&v->vdev.lock);
	return 0;
}
