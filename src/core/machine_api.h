/*
 * machine_api: the machine as the control socket sees it: the backend ops
 * of src/api (status, reset, memory devices, HMP views) and the events the
 * machine reports (guest shutdown/reset/panic, memory-device size changes).
 */
#ifndef MV_CORE_MACHINE_API_H
#define MV_CORE_MACHINE_API_H

#include <stdbool.h>

struct machine;
struct machine_hotplug;

/* Opens --api-socket if given; 0 or -errno after one line naming the option. */
int machine_api_open(struct machine *m);
void machine_api_close(struct machine *m);
/* A device's plugged size changed (loop thread). */
void machine_api_size_changed(struct machine *m, struct machine_hotplug *h);
void machine_api_shutdown(struct machine *m, bool guest, const char *reason);
void machine_api_reset(struct machine *m, bool guest, const char *reason);
void machine_api_panic(struct machine *m);

#endif
