/*
 * firmware: what the guest finds in memory when its boot CPU starts: the
 * kernel and initramfs read from the host (board_load_images, checked
 * against the boot protocol before any memory exists), the ACPI tables
 * with the NUMA description (SRAT/SLIT from --numa, or one node covering
 * the hotplug regions), and the Linux boot structures (arch/x86/boot).
 */
#ifndef MV_BOARD_FIRMWARE_H
#define MV_BOARD_FIRMWARE_H

#include "board/board.h"

/* Reads --kernel and --initramfs and checks them; b->cfg must be set. */
int board_load_images(struct board *b);
/* Writes ACPI tables and the kernel into guest memory and sets up the vCPUs (every boot). */
int board_load_guest(struct board *b);

#endif
