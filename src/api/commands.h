/*
 * commands: the QMP command table. Each command names its arguments and
 * their types; the generic checker answers missing, mistyped and unexpected
 * arguments with QEMU's texts before a handler runs. Handlers reach the VM
 * only through the backend ops in api.h.
 *
 * Devices are addressed the way QEMU's qom-get/qom-set accept them: the
 * device id ("vm0"), its canonical path ("/machine/peripheral/vm0") or the
 * partial path "peripheral/vm0". Properties: size, requested-size,
 * block-size, node, memaddr, memdev, type (QEMU's) and max-size (memvisor's);
 * only requested-size can be set.
 */
#ifndef MV_API_COMMANDS_H
#define MV_API_COMMANDS_H

#include <stddef.h>

#include "api/api.h"
#include "api/qmp.h"

struct json_object;

/* Runs QMP command `name`; returns the "return" value or NULL with err set. */
struct json_object *api_execute(struct api *api, const char *name, struct json_object *args,
				struct qmp_error *err);

/* Number of commands and the name of the i-th (query-commands lists them all). */
size_t api_command_count(void);
const char *api_command_name(size_t i);

/* Finds a device by id or QOM path; 0, -ENODEV or the backend's -errno. */
int api_find_memdev(struct api *api, const char *path, struct api_memdev_info *out);

/* The query-memory-devices "data" member of one device. */
struct json_object *api_memdev_json(struct api *api, const struct api_memdev_info *m);

#endif
