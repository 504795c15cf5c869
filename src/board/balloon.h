/*
 * balloon: the board's virtio-balloon (--balloon): the device with its
 * virtio-pci transport, what a discard may touch, and what the control API
 * sees. The device table (board/devices.c) calls the board_balloon_*
 * device functions, board/backend.c the API ones.
 *
 * Discards touch only memory the guest was given: boot RAM (through its
 * zone's backend) and the plugged blocks of a virtio-mem region; any other
 * byte (a hole, MMIO, an unplugged block, past the end of memory) is
 * counted as refused and left alone, and a range that is not whole host
 * pages of its backing (hugetlb) keeps what is not. Discards run on the
 * event-loop thread, where virtio-mem plugs and unplugs too, so a block
 * cannot change state between the check and the discard.
 *
 * QEMU's arithmetic: the guest's memory is boot RAM plus plugged
 * virtio-mem memory (get_current_ram_size()); `balloon VALUE` asks for a
 * guest of VALUE bytes, so the balloon's target is the difference.
 */
#ifndef MV_BOARD_BALLOON_H
#define MV_BOARD_BALLOON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "core/loop.h"
#include "lib/state.h"
#include "mem/backend.h"
#include "mem/hotplug.h"
#include "virtio/balloon.h"
#include "virtio/pci.h"

#define BOARD_BALLOON_SPANS (2 * CONFIG_MAX_ZONES + CONFIG_MAX_ZONES)

struct board;

struct board_balloon {
	struct vballoon dev;
	bool dev_up;
	struct virtio_pci pci;
	bool pci_up;
	/* `actual` changes, reported from the loop (eventfd; see board/backend.c's size_w) */
	struct loop_watch w;
	bool w_up;
	bool dirty; /* atomic */
	/* The guest's memory: boot RAM pieces, then virtio-mem regions (hp set). */
	struct vb_span spans[BOARD_BALLOON_SPANS];
	struct backend *span_backend[BOARD_BALLOON_SPANS];
	uint64_t span_offset[BOARD_BALLOON_SPANS]; /* of spans[i].gpa in its backend */
	struct hp_region *span_hp[BOARD_BALLOON_SPANS];
	unsigned int nr_spans;
};

/* The device table's entry (enum board_phase values as unsigned). */
int board_balloon_create(struct board *b);
void board_balloon_reset(struct board *b);
void board_balloon_pause(struct board *b, bool paused);
void board_balloon_destroy(struct board *b);
void board_balloon_save(struct board *b, bool devices_phase, struct mv_state_writer *w);
int board_balloon_load(struct board *b, bool devices_phase, const void *p, size_t len, char *err,
		       size_t errlen);

/* The API's view: -ENODEV without a balloon. Loop thread. */
int board_balloon_info(struct board *b, struct api_balloon_info *out);
int board_balloon_set_target(struct board *b, uint64_t guest_size);
int board_balloon_set_interval(struct board *b, uint64_t seconds);

#endif
