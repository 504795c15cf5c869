/*
 * net_save: virtio-net's save/load section "virtio-net.<id>" (version 1).
 * The device holds no request across a notification (every chain is
 * answered on the loop thread as it is popped), so its state is its MAC
 * address, which the restored device gives the guest whatever the
 * restored command line generates, its MTU (compared) and its counters.
 * A frame read from the tap but not yet delivered is not saved: the
 * network may lose a frame, and the guest's protocols resend it. The
 * rings are the transport's section.
 *
 * Payload, little-endian: 6 bytes MAC, u16 mtu (0: none offered), 7 x u64
 * counters (rx_packets, rx_bytes, tx_packets, tx_bytes, rx_dropped,
 * tx_dropped, tx_errors).
 */
#ifndef MV_VIRTIO_NET_SAVE_H
#define MV_VIRTIO_NET_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "virtio/net.h"

#define VNET_STATE_PREFIX  "virtio-net."
#define VNET_STATE_VERSION 1

void vnet_state_name(const char *id, char *buf, size_t len);
/* Loop thread, the VM paused. Takes the device lock. */
void vnet_save(struct vnet *n, const char *id, struct mv_state_writer *w);
/* 0, or -EINVAL naming section and field with the device unchanged. Takes the device lock. */
int vnet_load(struct vnet *n, const char *id, const struct mv_state_section *sec, char *err,
	      size_t errlen);

#endif
