/*
 * fs: the board's --fs shares, one device-table entry (board/devices.c).
 * Each connects to its vhost-user back-end's socket at creation (a socket
 * that is missing or does not answer as a back-end fails the start with one
 * line), puts a virtio-fs device on PCI bus 0 whose queues the back-end
 * serves (virtio/vhost_user_dev.h), and hands it guest memory as the
 * layout has it: each boot RAM range and each virtio-mem region whole, by
 * their backends' fds. A back-end that goes away breaks its device and
 * raises the QMP event X_VHOST_USER_DISCONNECTED; the VM runs on.
 * Snapshots are refused while a share exists (its state is in the back-end).
 */
#ifndef MV_BOARD_FS_H
#define MV_BOARD_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "board/board.h"
#include "board/devices.h"
#include "lib/state.h"
#include "virtio/pci.h"
#include "virtio/vhost_user_dev.h"

struct board_fs {
	struct board *m;
	unsigned int idx; /* in cfg->fs */
	char name[CONFIG_ID_LEN + 16];
	struct vudev dev;
	bool dev_up;
	struct virtio_pci pci;
	bool pci_up;
};

int board_fs_create(struct board *m);
void board_fs_reset(struct board *m);
void board_fs_destroy(struct board *m);
void board_fs_pause(struct board *m, bool paused);
int board_fs_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		  size_t errlen);
int board_fs_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		  size_t errlen);
/* 0, or -EOPNOTSUPP with err naming the share: snapshots do not carry a back-end's state. */
int board_fs_snapshot_check(struct board *m, char *err, size_t errlen);
/*
 * The guest memory a back-end maps, from the layout: 0, or -errno with err
 * naming the zone that is not shareable or the table that does not fit.
 */
int board_vu_memory(struct board *m, struct vudev_mem *out, char *err, size_t errlen);

#endif
