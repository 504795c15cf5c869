#include "virtio/net_save.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/errbuf.h"

#define VNET_NR_COUNTERS 7

static uint64_t *vnet_counter(struct vnet_stats *st, unsigned int i)
{
	uint64_t *c[VNET_NR_COUNTERS] = {&st->rx_packets, &st->rx_bytes,   &st->tx_packets,
					 &st->tx_bytes,	  &st->rx_dropped, &st->tx_dropped,
					 &st->tx_errors};

	return c[i];
}

void vnet_state_name(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", VNET_STATE_PREFIX, id);
}

void vnet_save(struct vnet *n, const char *id, struct mv_state_writer *w)
{
	char name[MV_STATE_NAME_MAX + 1];

	vnet_state_name(id, name, sizeof(name));
	pthread_mutex_lock(&n->vdev.lock);
	mv_sw_begin(w, name, VNET_STATE_VERSION);
	mv_sw_bytes(w, n->mac, 6);
	mv_sw_u16(w, n->mtu);
	for (unsigned int i = 0; i < VNET_NR_COUNTERS; i++)
		mv_sw_u64(w, *vnet_counter(&n->st, i));
	mv_sw_end(w);
	pthread_mutex_unlock(&n->vdev.lock);
}

int vnet_load(struct vnet *n, const char *id, const struct mv_state_section *sec, char *err,
	      size_t errlen)
{
	char name[MV_STATE_NAME_MAX + 1];
	struct mv_state_reader r = sec->payload;
	uint64_t counters[VNET_NR_COUNTERS];
	uint8_t mac[6];
	uint16_t mtu;
	int ret;

	vnet_state_name(id, name, sizeof(name));
	ret = mv_state_check(sec, name, VNET_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	mv_sr_bytes(&r, mac, 6);
	mtu = mv_sr_u16(&r);
	for (unsigned int i = 0; i < VNET_NR_COUNTERS; i++)
		counters[i] = mv_sr_u64(&r);
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	if (mac[0] & 1) {
		mv_errbuf(err, errlen,
			  "%s: mac: %02x:%02x:%02x:%02x:%02x:%02x is a multicast address", name,
			  mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return -EINVAL;
	}
	pthread_mutex_lock(&n->vdev.lock);
	if (mtu != n->mtu) {
		pthread_mutex_unlock(&n->vdev.lock);
		mv_errbuf(err, errlen, "%s: mtu: %u in the saved state, %u here", name, mtu,
			  n->mtu);
		return -EINVAL;
	}
	memcpy(n->mac, mac, 6);
	for (unsigned int i = 0; i < VNET_NR_COUNTERS; i++)
		*vnet_counter(&n->st, i) = counters[i];
	pthread_mutex_unlock(&n->vdev.lock);
	return 0;
}
