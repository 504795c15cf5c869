/*
 * vsock_save: virtio-vsock's save/load section "virtio-vsock.<id>"
 * (version 1). Connections are not saved: their host ends are sockets of
 * this process, which a restore does not have. The restored device tells
 * the guest with a TRANSPORT_RESET event (vsock_restored), as the spec
 * provides for a migrated device, and the guest drops them; its listening
 * sockets stay. The rings are the transport's section.
 *
 * Payload, little-endian: u64 guest_cid (compared with --vsock cid=), 8 x
 * u64 counters (rx_packets, rx_bytes, tx_packets, tx_bytes, conns, resets,
 * tx_errors, refused).
 */
#ifndef MV_VIRTIO_VSOCK_SAVE_H
#define MV_VIRTIO_VSOCK_SAVE_H

#include <stddef.h>

#include "lib/state.h"
#include "virtio/vsock.h"

#define VSOCK_STATE_PREFIX  "virtio-vsock."
#define VSOCK_STATE_VERSION 1

void vsock_state_name(const char *id, char *buf, size_t len);
/* Loop thread, the VM paused. Takes the device lock. */
void vsock_save(struct vsock *v, const char *id, struct mv_state_writer *w);
/* 0, or -EINVAL naming section and field with the device unchanged. Takes the device lock. */
int vsock_load(struct vsock *v, const char *id, const struct mv_state_section *sec, char *err,
	       size_t errlen);

#endif
