/*
 * blk: the board's --disk devices, one device-table entry (board/devices.c)
 * for all of them. Each opens its image file or block device (read-only
 * for readonly=on, O_DIRECT for direct=on) and puts a virtio-blk device on
 * PCI bus 0 whose host side is plain positioned I/O on that fd, run on the
 * device's worker thread: pread/pwrite, fdatasync for FLUSH, and for
 * DISCARD and WRITE_ZEROES fallocate(2) on a file (punching holes, or
 * zeroing a range) or BLKDISCARD/BLKZEROOUT on a block device, with zeros
 * written where the host has neither. In a snapshot each disk has its
 * device section (virtio/blk_save.h: the disk flushed, requests finished
 * but not returned) and its transport's; the image itself is the user's
 * file and is not copied.
 */
#ifndef MV_BOARD_BLK_H
#define MV_BOARD_BLK_H

#include <stdbool.h>
#include <stddef.h>

#include "board/board.h"
#include "board/devices.h"
#include "lib/state.h"

int board_blk_create(struct board *m);
void board_blk_reset(struct board *m);
void board_blk_destroy(struct board *m);
void board_blk_pause(struct board *m, bool paused);
int board_blk_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		   size_t errlen);
int board_blk_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		   size_t errlen);

#endif
