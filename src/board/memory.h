/*
 * memory: the board's guest memory, in the order it comes to be: zones ->
 * layout -> host backends (board_create_memory, before any VM exists) ->
 * KVM slots for boot RAM (board_map_memory) -> one hotplug region per zone
 * with hotplug_size (board_create_hotplug), which maps its plugged runs in
 * KVM slots, within a share of KVM's slots, as virtio-mem plugs and
 * unplugs blocks (mem/hotplug.h).
 */
#ifndef MV_BOARD_MEMORY_H
#define MV_BOARD_MEMORY_H

#include <stdbool.h>
#include <stdio.h>

#include "board/board.h"

/* --dry-run: print the guest memory map and its host backing; acquires nothing. */
int board_dry_run(struct mv_config *cfg, FILE *out);
/* Plans the layout and creates every host backing (no VM yet). */
int board_create_memory(struct board *b);
/* Boot RAM into KVM slots. */
int board_map_memory(struct board *b);
/* The hotplug regions of the zones' virtio-mem devices (nothing plugged). */
int board_create_hotplug(struct board *b);
void board_destroy_hotplug(struct board *b);
/* Stops the ondemand server first (its vCPUs joined), then the backends. */
void board_destroy_backends(struct board *b);
/*
 * memory_restore_mode=ondemand (board/restore.c), on the loop thread: the
 * userfaultfd server joined and closed, every range plain memory from now
 * on; report: one line with its figures. No-op without one.
 */
void board_ondemand_close(struct board *b, bool report);
/* The backend of a zone's boot RAM or of its virtio-mem region; NULL if none. */
struct backend *board_zone_backend(struct board *b, unsigned int zone, bool hotplug);

#endif
