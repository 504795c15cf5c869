/*
 * hmp: the human monitor views reachable through QMP's
 * human-monitor-command. "info memory-devices" and
 * "info memory_size_summary" are rendered here byte for byte as QEMU 7.2
 * prints them; "info numa", "info ramblock" and "info mtree" are rendered by
 * the VM (backend hmp_info). Unknown commands print QEMU's
 * "unknown command: '...'" line. Output lines end in '\n'; QMP callers
 * convert them to "\r\n" as QEMU's monitor does.
 */
#ifndef MV_API_HMP_H
#define MV_API_HMP_H

#include <stddef.h>

#include "api/api.h"
#include "api/buf.h"

/* Runs one HMP command line, appending its output to out. */
int hmp_run(struct api *api, const char *cmdline, struct api_buf *out);

/* The pure renderers. */
void hmp_render_memory_devices(const struct api_memdev_info *devs, size_t n, struct api_buf *out);
void hmp_render_memory_summary(const struct api_memory_summary *s, struct api_buf *out);
/* The DIMMs of s (NULL: none), as QEMU's `info memory-devices` shows pc-dimm. */
void hmp_render_dimms(const struct dimm_set *s, struct api_buf *out);

#endif
