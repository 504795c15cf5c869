/*
 * restore: memvisor --restore, the VM of a snapshot file (ARCHITECTURE.md,
 * "Snapshot file") rebuilt and loaded but not booted. Everything the file
 * says is checked before anything is acquired: its header, table and
 * checksums (lib/snapfile), its command line (re-parsed and re-validated as
 * if typed), the identity of each shared file= zone, that each zone can take
 * memory_restore_mode, and for ondemand that the host gives a userfaultfd.
 * Then the board is built from that configuration, memory put in place by
 * the mode (copy: read in, holes stay unallocated; cow: mapped privately
 * from the file; ondemand: served through userfaultfd by mem/ondemand), the
 * sections loaded in ARCHITECTURE.md's order, prefault applied; the vCPUs
 * start at board_run only with resume=on (else QMP cont starts them).
 */
#ifndef MV_BOARD_RESTORE_H
#define MV_BOARD_RESTORE_H

#include "board/board.h"

/*
 * rcfg: the --restore command line; cfg: filled with the snapshot's
 * configuration (config_free it). 0, or -1 after one line naming the
 * problem, with everything acquired released by board_destroy.
 */
int board_restore(struct board *b, const struct mv_config *rcfg, struct mv_config *cfg);

#endif
