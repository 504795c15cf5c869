/*
 * net: the board's --net devices, one device-table entry (board/devices.c)
 * for all of them. Each opens its tap (/dev/net/tun: IFF_TAP, IFF_NO_PI,
 * IFF_VNET_HDR with a 12-byte header; TUNSETOFFLOAD as the driver
 * accepts), named tap= or chosen by the kernel (vmtap<N>), or takes the
 * open tap fd= names; gives it
 * ip=/mask=, host_mac= and mtu= when asked, brings it up, and puts a
 * virtio-net device on PCI bus 0 over it (virtio/net.h). In a snapshot
 * each has its device section (virtio/net_save.h) and its transport's; a
 * restore opens the tap again by name.
 */
#ifndef MV_BOARD_NET_H
#define MV_BOARD_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "board/board.h"
#include "board/devices.h"
#include "lib/state.h"

int board_net_create(struct board *m);
void board_net_reset(struct board *m);
void board_net_destroy(struct board *m);
void board_net_pause(struct board *m, bool paused);
int board_net_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		   size_t errlen);
int board_net_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		   size_t errlen);
/* 0, or -EINVAL with err naming the --net a snapshot could not open again (fd=). */
int board_net_snapshot_check(struct board *m, char *err, size_t errlen);

#endif
