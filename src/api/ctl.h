/*
 * ctl: the decisions memvisor-ctl makes, as pure functions so they are unit
 * tested: size parsing and printing, the whole-VM resize plan, and the
 * explanation of a resize that does not complete.
 *
 * Whole-VM resize policy (memvisor-ctl resize SIZE without --id). SIZE is the
 * target TOTAL guest memory, boot RAM included, as Cloud Hypervisor's
 * `vm.resize` desired_ram:
 *  - below boot RAM is refused (virtio-mem can only give back what it plugged);
 *  - one virtio-mem device (plain --memory: zone mem0): its requested-size
 *    becomes SIZE - boot RAM, exactly what Cloud Hypervisor does;
 *  - several devices (user-defined --memory-zone): Cloud Hypervisor refuses a
 *    whole-VM resize ("not allowed to resize guest memory when backed with
 *    user defined memory zones") and wants a per-zone resize; memvisor-ctl
 *    refuses likewise, pointing at --id, unless --spread is given. --spread
 *    (memvisor's extension) shares SIZE - boot RAM among the devices in
 *    proportion to their max-size, each share rounded down to its block size,
 *    and hands the remainder out block by block in device order.
 */
#ifndef MV_API_CTL_H
#define MV_API_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

struct json_object;

/* "1G", "512M", "64K", "4096" (binary suffixes K/M/G/T, optional "iB"/"B"). */
int ctl_parse_size(const char *s, uint64_t *out);
/* The largest exact unit: "1G", "384M", "4097K", "1000". */
void ctl_format_size(uint64_t v, char *buf, size_t len);

/* A device as memvisor-ctl reads it back from query-memory-devices. */
struct ctl_memdev {
	struct api_memdev_info info;
	bool has_size_age;
	uint64_t size_age_ms; /* since the plugged size last changed */
	bool has_request_age;
	uint64_t request_age_ms; /* since requested-size last changed */
};

/* Parses one query-memory-devices "data" object. */
int ctl_memdev_from_json(struct json_object *data, struct ctl_memdev *out);

/*
 * Plans a whole-VM resize to `target` total bytes (policy above); fills
 * req[i] for each of the n devices. -EINVAL/-ERANGE with one line in err.
 */
int ctl_plan_resize(const struct ctl_memdev *devs, size_t n, uint64_t base, uint64_t target,
		    bool spread, uint64_t *req, char *err, size_t errlen);

/*
 * Why device m has not reached `target`: one line into buf ("no driver bound
 * (guest has not loaded virtio_mem)", "unplug stalled for 42 s: ...").
 */
void ctl_diagnose(const struct ctl_memdev *m, uint64_t target, char *buf, size_t len);

#endif
