/*
 * vsock: the board's --vsock device, one device-table entry
 * (board/devices.c). It binds the Unix socket socket= names (refusing a
 * path another process listens on; a stale socket file is replaced), puts
 * a virtio-vsock device on PCI bus 0 over it (virtio/vsock.h) and removes
 * the socket file when the VM ends. In a snapshot it has its device
 * section (virtio/vsock_save.h) and its transport's; a restore binds the
 * socket again and tells the guest its connections are gone.
 */
#ifndef MV_BOARD_VSOCK_H
#define MV_BOARD_VSOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "board/board.h"
#include "board/devices.h"
#include "lib/state.h"
#include "virtio/pci.h"
#include "virtio/vsock.h"

struct board_vsock {
	int listen_fd;
	bool bound; /* the socket file is ours: removed at destroy */
	struct vsock dev;
	bool dev_up;
	struct virtio_pci pci;
	bool pci_up;
};

int board_vsock_create(struct board *m);
void board_vsock_reset(struct board *m);
void board_vsock_destroy(struct board *m);
void board_vsock_pause(struct board *m, bool paused);
int board_vsock_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		     size_t errlen);
int board_vsock_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		     size_t errlen);

#endif
