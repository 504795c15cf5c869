/*
 * backend: the board as the control socket sees it, one way only. The
 * board calls the API here (open, close, and the events it reports: guest
 * shutdown/reset/panic, memory-device size changes); the API calls the
 * board only through the api_backend ops table this file fills (status,
 * quit, powerdown, reset, memory devices, HMP views). json-c appears here
 * and in src/api, nowhere below.
 */
#ifndef MV_BOARD_BACKEND_H
#define MV_BOARD_BACKEND_H

#include <stdbool.h>

struct api_backend_ops;

struct board;

/* Opens --api-socket if given; 0 or -errno after one line naming the option. */
int board_api_open(struct board *b);
void board_api_close(struct board *b);
void board_api_shutdown(struct board *b, bool guest, const char *reason);
void board_api_reset(struct board *b, bool guest, const char *reason);
void board_api_panic(struct board *b);
/* The ops the API calls (tests drive the board through them without a socket). */
const struct api_backend_ops *board_api_backend_ops(void);

#endif
