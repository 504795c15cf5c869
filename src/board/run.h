/*
 * run: the board while its guest runs, on the loop thread: SIGINT, SIGTERM
 * and SIGHUP through a signalfd, the terminal in raw mode for the serial
 * console (restored when the run ends), and the VM's lifecycle events
 * (core/events.h): poweroff, reboot (board_reset, or exit with
 * --on-reboot=exit), panic, triple fault, quit, error; each reported to the
 * API before the board acts on it.
 */
#ifndef MV_BOARD_RUN_H
#define MV_BOARD_RUN_H

#include "board/board.h"

/* Boots and runs until the guest powers off, fails, or memvisor is told to stop; the exit status.
 */
int board_run(struct board *b);

#endif
