/*
 * devices: the board's device table. Each entry creates, resets, destroys,
 * saves and loads one device (or one kind: "virtio-mem" is one device per
 * zone with a hotplug region, each with its virtio-pci transport), so a new
 * device is one table entry in devices.c and one file of its own.
 *
 * Save and load walk the table once per phase, in the load order of
 * ARCHITECTURE.md ("Save and load"): virtio-mem (memory first: rings and
 * plugged blocks are checked against guest memory), then serial, power and
 * virtio-rng, then the PCI host, then every virtio-pci transport. The
 * layout and the VM's sections (irqchip, pit, clock, vcpu.<n>) are the
 * board's and the VM's own (mem/layout_save, core/vm_save).
 */
#ifndef MV_BOARD_DEVICES_H
#define MV_BOARD_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#include "board/board.h"
#include "lib/state.h"

enum board_phase {
	BOARD_PHASE_MEMORY,	/* virtio-mem.<zone> */
	BOARD_PHASE_DEVICES,	/* serial, power, virtio-rng */
	BOARD_PHASE_PCI,	/* pci */
	BOARD_PHASE_TRANSPORTS, /* virtio-pci.<function> */
};

/* A saved stream, searched by section name. */
struct board_stream {
	const void *p;
	size_t len;
};

struct board_device {
	const char *name;
	/* 0 or -errno after one line naming the device or its option. */
	int (*create)(struct board *b);
	void (*reset)(struct board *b);	  /* optional: guest or host reboot, vCPUs stopped */
	void (*destroy)(struct board *b); /* safe after a failed or skipped create */
	/* The sections of this phase (none is fine); 0, or -errno with err naming the device. */
	int (*save)(struct board *b, enum board_phase ph, struct mv_state_writer *w, char *err,
		    size_t errlen);
	/* This phase's sections: 0, or -errno naming section and field with nothing changed. */
	int (*load)(struct board *b, enum board_phase ph, const struct board_stream *s, char *err,
		    size_t errlen);
	/* optional: the VM paused (QMP stop) or resumed; a paused device serves no queue */
	void (*pause)(struct board *b, bool paused);
};

/* In table order; stops at the first failure (board_destroy undoes what was created). */
int board_create_devices(struct board *b);
void board_reset_devices(struct board *b);
void board_destroy_devices(struct board *b);
/* Every device paused or resumed, in table order (vCPUs already stopped when pausing). */
void board_pause_devices(struct board *b, bool paused);
/* Only the virtio-mem devices (a live snapshot): their requests wait while held. */
void board_hold_memory_devices(struct board *b, bool held);
/* Every device's sections, in load order; 0, or -errno with err naming the device. */
int board_save_devices(struct board *b, struct mv_state_writer *w, char *err, size_t errlen);
/* Loads each device from a stream in load order, stopping at the first refusal. */
int board_load_devices(struct board *b, const void *p, size_t len, char *err, size_t errlen);

#endif
