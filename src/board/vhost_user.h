/*
 * vhost_user: the board's devices whose queues a vhost-user back-end
 * serves, one device-table entry (board/devices.c) for all of them: each
 * --fs share (virtio-fs, Debian's virtiofsd) and each --disk with
 * vhost_user=on (virtio-blk, qemu-storage-daemon's vhost-user-blk export).
 * Each connects to its back-end's socket at creation (a socket that is
 * missing or does not answer as a back-end fails the start with one line),
 * puts a virtio device on PCI bus 0 (virtio/vhost_user_dev.h), and hands
 * it guest memory as the layout has it: each boot RAM range and each
 * virtio-mem region whole, by their backends' fds. A disk's config
 * (capacity, block size, limits) is the back-end's, read with GET_CONFIG,
 * with memvisor's queue count. A back-end that goes away breaks its device
 * and raises the QMP event X_VHOST_USER_DISCONNECTED; the VM runs on.
 * Snapshots are refused while such a device exists (its state is in the
 * back-end).
 */
#ifndef MV_BOARD_VHOST_USER_H
#define MV_BOARD_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>

#include "board/board.h"
#include "board/devices.h"
#include "lib/state.h"
#include "virtio/pci.h"
#include "virtio/vhost_user_dev.h"

struct board_vu {
	struct board *m;
	const char *id;		       /* the config's */
	const char *socket;	       /* the config's */
	char name[CONFIG_ID_LEN + 16]; /* "--fs id=fs0", "--disk id=disk1" */
	struct vudev dev;
	bool dev_up;
	struct virtio_pci pci;
	bool pci_up;
};

int board_vu_create(struct board *m);
void board_vu_reset(struct board *m);
void board_vu_destroy(struct board *m);
void board_vu_pause(struct board *m, bool paused);
int board_vu_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		  size_t errlen);
int board_vu_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		  size_t errlen);
/* 0, or -EOPNOTSUPP with err naming the device: snapshots do not carry a back-end's state. */
int board_vu_snapshot_check(struct board *m, char *err, size_t errlen);
/*
 * The guest memory a back-end maps, from the layout: 0, or -errno with err
 * naming the zone that is not shareable or the table that does not fit.
 */
int board_vu_memory(struct board *m, struct vudev_mem *out, char *err, size_t errlen);

#endif
