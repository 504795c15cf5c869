/*
 * pmem: the board's --pmem devices, one device-table entry (board/devices.c)
 * for all of them. Each opens its file (a directory: an unlinked temporary
 * file in it), grows it to size, maps it MAP_SHARED (discard_writes=on:
 * MAP_PRIVATE over a read-only fd, so the guest's writes stay in this
 * process), gives the mapping to the guest as one KVM slot at the layout's
 * address (outside boot RAM and every virtio-mem area) and, for
 * model=virtio-pmem, puts a virtio-pmem device on PCI bus 0 whose FLUSH is
 * fsync(2) of the file, run on the device's worker thread. model=nvdimm has
 * no device here: the ACPI tables describe the range (NFIT, acpi/nfit.h) and
 * the guest makes it durable with cache flushes alone, as on real NVDIMMs. The memory survives a
 * guest reboot: a reset only resets the transport. Snapshots carry the device state, not the memory
 * (the file is the memory).
 */
#ifndef MV_BOARD_PMEM_H
#define MV_BOARD_PMEM_H

#include <stdbool.h>
#include <stddef.h>

#include "board/board.h"
#include "board/devices.h"
#include "lib/state.h"

int board_pmem_create(struct board *m);
void board_pmem_reset(struct board *m);
void board_pmem_destroy(struct board *m);
void board_pmem_pause(struct board *m, bool paused);
int board_pmem_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		    size_t errlen);
int board_pmem_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		    size_t errlen);

#endif
