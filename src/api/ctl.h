/*
 * ctl: the decisions memvisor-ctl makes, as pure functions so they are unit
 * tested and fuzzed (fuzz/fuzz_ctl.c): command-line parsing, size parsing
 * and printing, the whole-VM resize plan, and the explanation of a resize
 * that does not complete.
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

/*
 * memvisor-ctl's command line: [--help] --socket PATH (COMMAND [ARGS] |
 * --json RAW). The parsers return 0, or -EINVAL with one line in err (no
 * newline) naming the argument; they never print.
 */
struct ctl_args {
	bool help;
	const char *sock;
	const char *raw;
	int cmd_argc; /* COMMAND and its ARGS */
	char **cmd_argv;
};
int ctl_parse_args(int argc, char **argv, struct ctl_args *out, char *err, size_t errlen);

/* resize [--id DEV] SIZE [--wait] [--timeout SECONDS] [--spread] (argv after "resize"). */
struct ctl_resize {
	const char *id;
	uint64_t size;
	bool wait;
	bool spread;
	unsigned int timeout_s; /* 1..CTL_MAX_TIMEOUT_S, default 60 */
};
int ctl_parse_resize(int argc, char **argv, struct ctl_resize *r, char *err, size_t errlen);

/*
 * balloon SIZE (argv after "balloon"): SIZE is the guest's target memory,
 * as QEMU's `balloon` value; 0 or more than 2^63-1 is refused here.
 */
int ctl_parse_balloon(int argc, char **argv, uint64_t *size, char *err, size_t errlen);

/* events [--count N] [--timeout SECONDS] (argv after "events"); 0: no limit. */
struct ctl_events {
	unsigned int count;
	unsigned int timeout_s;
};
int ctl_parse_events(int argc, char **argv, struct ctl_events *e, char *err, size_t errlen);

#define CTL_MAX_TIMEOUT_S 31536000u /* a year */
#define CTL_MAX_COUNT	  1000000000u

/* A decimal number 0..max, digits only: 0 or -EINVAL/-ERANGE. */
int ctl_parse_uint(const char *s, unsigned int max, unsigned int *out);

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
 * The virtio-mem devices of a query-memory-devices return list, at most max;
 * other entries (DIMMs: "type": "dimm") are skipped. Returns the count.
 */
int ctl_memdevs_from_list(struct json_object *list, struct ctl_memdev *devs, int max);

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
