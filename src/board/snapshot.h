/*
 * snapshot: the whole VM into one file (ARCHITECTURE.md, "Snapshot file"),
 * on the loop thread: a running VM is paused while it is written and
 * resumed after; a paused one stays paused. The file holds the command
 * line words, every state section (layout, the device table, the VM's
 * irqchip/pit/clock/vcpu.<n>), boot RAM and the plugged virtio-mem blocks
 * (zero pages as holes), and for a shared file= zone only its identity.
 * It is written under a temporary name in the target's directory, fsync'd
 * and renamed (then the directory fsync'd): the snapshot exists complete
 * and durable, or not at all.
 *
 * Live (board_snapshot with live): memory is copied while the guest runs,
 * with KVM's dirty log on every slot and gmem tracking device writes
 * (vm_dirty_start); passes over the pages written meanwhile follow until a
 * pass finds at most BOARD_LIVE_DIRTY_PAGES or BOARD_LIVE_MAX_PASSES were
 * made; then the VM is paused for the last pass, the state and the config,
 * and resumed before the table, header and fsync. The virtio-mem devices
 * are held from the first pass (guest plug/unplug requests wait in their
 * queue), so no plugged map or memory slot changes under the copy; a
 * resize asked over QMP waits too (see board_snapshot's note). All of it
 * on the loop thread, which serves no other client meanwhile.
 */
#ifndef MV_BOARD_SNAPSHOT_H
#define MV_BOARD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board/board.h"

/* The path of a "file:///PATH" url, or NULL with one line in err. */
const char *board_snapshot_path(const char *url, char *err, size_t errlen);
#define BOARD_LIVE_MAX_PASSES  8
#define BOARD_LIVE_DIRTY_PAGES 256 /* 1 MiB: small enough to copy while paused */

struct board_snapshot_result {
	double pause_ms;       /* how long the guest was stopped for it (0: it was paused) */
	unsigned int passes;   /* over memory; 1 for a paused snapshot */
	uint64_t memory_bytes; /* memory data written by the first pass */
};

/*
 * 0, or -errno with one line in err; on failure nothing is left at the path
 * or beside it, and the VM is running or paused as it was.
 */
int board_snapshot(struct board *b, const char *url, bool live, struct board_snapshot_result *res,
		   char *err, size_t errlen);

#endif
