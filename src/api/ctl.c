#include "api/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "lib/size.h"

/*
 * An argument as an error message may show it: control bytes (a newline
 * would split the message) as \xNN, at most about 64 bytes of it.
 */
static const char *ctl_q(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (o >= 64) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

int ctl_parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long long v = 0;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(*p - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = (unsigned int)v;
	return 0;
}

int ctl_parse_args(int argc, char **argv, struct ctl_args *out, char *err, size_t errlen)
{
	char q[80];
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			out->help = true;
			return 0;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			out->sock = argv[++i];
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			out->raw = argv[++i];
		} else {
			snprintf(err, errlen, "unknown option %s", ctl_q(argv[i], q, sizeof(q)));
			return -EINVAL;
		}
	}
	if (!out->sock) {
		snprintf(err, errlen, "--socket PATH missing");
		return -EINVAL;
	}
	if (!out->raw && i >= argc) {
		snprintf(err, errlen, "COMMAND missing");
		return -EINVAL;
	}
	if (out->raw && i < argc) {
		snprintf(err, errlen, "--json takes no COMMAND (got '%s')",
			 ctl_q(argv[i], q, sizeof(q)));
		return -EINVAL;
	}
	out->cmd_argc = argc - i;
	out->cmd_argv = argv + i;
	return 0;
}

static int ctl_parse_timeout(const char *s, unsigned int *out, bool zero_ok, char *err,
			     size_t errlen)
{
	char q[80];

	if (ctl_parse_uint(s, CTL_MAX_TIMEOUT_S, out) || (!zero_ok && !*out)) {
		snprintf(err, errlen, "--timeout %s: not a number of seconds from %u to %u",
			 ctl_q(s, q, sizeof(q)), zero_ok ? 0 : 1, CTL_MAX_TIMEOUT_S);
		return -EINVAL;
	}
	return 0;
}

int ctl_parse_balloon(int argc, char **argv, uint64_t *size, char *err, size_t errlen)
{
	char q[80];

	if (argc != 1) {
		snprintf(err, errlen, "balloon: one SIZE expected (the guest's target memory)");
		return -EINVAL;
	}
	if (mv_size_parse(argv[0], size)) {
		snprintf(err, errlen, "balloon %s: " MV_SIZE_SYNTAX, ctl_q(argv[0], q, sizeof(q)));
		return -EINVAL;
	}
	if (!*size || *size > INT64_MAX) {
		snprintf(err, errlen, "balloon %s: the target must be above 0 and below 8E",
			 ctl_q(argv[0], q, sizeof(q)));
		return -EINVAL;
	}
	return 0;
}

int ctl_parse_resize(int argc, char **argv, struct ctl_resize *r, char *err, size_t errlen)
{
	bool have_size = false;
	char q[80];
	int i;

	memset(r, 0, sizeof(*r));
	r->timeout_s = 60;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--id") && i + 1 < argc) {
			r->id = argv[++i];
		} else if (!strcmp(argv[i], "--wait")) {
			r->wait = true;
		} else if (!strcmp(argv[i], "--spread")) {
			r->spread = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (ctl_parse_timeout(argv[++i], &r->timeout_s, false, err, errlen))
				return -EINVAL;
		} else if (!have_size && argv[i][0] != '-') {
			if (mv_size_parse(argv[i], &r->size)) {
				snprintf(err, errlen, "resize %s: " MV_SIZE_SYNTAX,
					 ctl_q(argv[i], q, sizeof(q)));
				return -EINVAL;
			}
			have_size = true;
		} else {
			snprintf(err, errlen, "resize: unexpected argument '%s'",
				 ctl_q(argv[i], q, sizeof(q)));
			return -EINVAL;
		}
	}
	if (!have_size) {
		snprintf(err, errlen, "resize: SIZE missing");
		return -EINVAL;
	}
	return 0;
}

int ctl_parse_events(int argc, char **argv, struct ctl_events *e, char *err, size_t errlen)
{
	char q[80];
	int i;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			if (ctl_parse_uint(argv[++i], CTL_MAX_COUNT, &e->count)) {
				snprintf(err, errlen, "--count %s: not a number from 0 to %u",
					 ctl_q(argv[i], q, sizeof(q)), CTL_MAX_COUNT);
				return -EINVAL;
			}
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (ctl_parse_timeout(argv[++i], &e->timeout_s, true, err, errlen))
				return -EINVAL;
		} else {
			snprintf(err, errlen, "events: unexpected argument '%s'",
				 ctl_q(argv[i], q, sizeof(q)));
			return -EINVAL;
		}
	}
	return 0;
}

static uint64_t ctl_u64(struct json_object *o, const char *key, bool *has)
{
	struct json_object *v;
	bool found = json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int);

	if (has)
		*has = found;
	return found ? json_object_get_uint64(v) : 0;
}

int ctl_memdev_from_json(struct json_object *data, struct ctl_memdev *out)
{
	struct api_memdev_info *m = &out->info;
	struct json_object *v;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(data, json_type_object) ||
	    !json_object_object_get_ex(data, "id", &v) || !json_object_is_type(v, json_type_string))
		return -EINVAL;
	snprintf(m->id, sizeof(m->id), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(data, "memdev", &v))
		snprintf(m->memdev, sizeof(m->memdev), "%s", json_object_get_string(v));
	m->memaddr = ctl_u64(data, "memaddr", NULL);
	m->size = ctl_u64(data, "size", NULL);
	m->max_size = ctl_u64(data, "max-size", NULL);
	m->block_size = ctl_u64(data, "block-size", NULL);
	m->requested_size = ctl_u64(data, "requested-size", NULL);
	m->node = (uint32_t)ctl_u64(data, "node", NULL);
	m->driver_ready =
	    json_object_object_get_ex(data, "x-driver-ready", &v) && json_object_get_boolean(v);
	m->discarded_bytes = ctl_u64(data, "x-discarded-bytes", NULL);
	m->discard_failures = ctl_u64(data, "x-discard-failures", NULL);
	m->plugs_refused = ctl_u64(data, "x-plugs-refused", NULL);
	out->size_age_ms = ctl_u64(data, "x-size-age-ms", &out->has_size_age);
	out->request_age_ms = ctl_u64(data, "x-request-age-ms", &out->has_request_age);
	return 0;
}

int ctl_memdevs_from_list(struct json_object *list, struct ctl_memdev *devs, int max)
{
	int i, n = 0;

	if (!json_object_is_type(list, json_type_array))
		return 0;
	for (i = 0; i < (int)json_object_array_length(list) && n < max; i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *type, *data;

		/* A DIMM has no requested-size: resize plans it on the server (x-resize). */
		if (!json_object_object_get_ex(e, "type", &type) ||
		    strcmp(json_object_get_string(type), "virtio-mem"))
			continue;
		if (json_object_object_get_ex(e, "data", &data) &&
		    ctl_memdev_from_json(data, &devs[n]) == 0)
			n++;
	}
	return n;
}

int ctl_plan_resize(const struct ctl_memdev *devs, size_t n, uint64_t base, uint64_t target,
		    bool spread, uint64_t *req, char *err, size_t errlen)
{
	uint64_t need, total_max = 0, given = 0, left, share;
	char a[32], b[32];
	bool progress;
	size_t i;

	mv_size_format(target, a, sizeof(a));
	mv_size_format(base, b, sizeof(b));
	if (target < base) {
		snprintf(err, errlen, "resize %s: below the boot memory (%s), which cannot shrink",
			 a, b);
		return -EINVAL;
	}
	if (n == 0) {
		snprintf(err, errlen, "resize %s: the VM has no virtio-mem device", a);
		return -EINVAL;
	}
	need = target - base;
	if (n > 1 && !spread) {
		snprintf(err, errlen,
			 "resize %s: the VM has %zu virtio-mem devices (memory zones); resize one "
			 "with --id DEV, or share the memory among them with --spread",
			 a, n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		total_max += devs[i].info.max_size;
	if (need > total_max) {
		mv_size_format(base + total_max, b, sizeof(b));
		snprintf(err, errlen, "resize %s: above the maximum of %s (boot + hotplug sizes)",
			 a, b);
		return -ERANGE;
	}
	if (n == 1) {
		req[0] = need; /* alignment is the device's to refuse, in QEMU's words */
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct api_memdev_info *m = &devs[i].info;

		/* need * max / total_max without overflowing 64 bits. */
		share = (uint64_t)((unsigned __int128)need * m->max_size / total_max);
		req[i] = m->block_size ? align_down(share, m->block_size) : share;
		given += req[i];
	}
	left = need - given;
	do {
		progress = false;
		for (i = 0; i < n && left; i++) {
			uint64_t bs = devs[i].info.block_size;

			if (bs && bs <= left && req[i] + bs <= devs[i].info.max_size) {
				req[i] += bs;
				left -= bs;
				progress = true;
			}
		}
	} while (left && progress);
	if (left) {
		snprintf(err, errlen,
			 "resize %s: cannot be spread in whole blocks (%" PRIu64
			 " bytes left over)",
			 a, left);
		return -EINVAL;
	}
	return 0;
}

void ctl_diagnose(const struct ctl_memdev *d, uint64_t target, char *buf, size_t len)
{
	const struct api_memdev_info *m = &d->info;
	uint64_t age_ms = d->has_size_age ? d->size_age_ms : d->request_age_ms;
	char extra[96] = "";

	if (m->discard_failures)
		snprintf(extra, sizeof(extra), "; %" PRIu64 " host discards failed",
			 m->discard_failures);
	if (!m->driver_ready) {
		snprintf(buf, len, "no driver bound (guest has not loaded virtio_mem)%s", extra);
	} else if (m->requested_size != target) {
		snprintf(buf, len,
			 "requested-size is %" PRIu64 ", not the target: changed by someone "
			 "else?%s",
			 m->requested_size, extra);
	} else if (m->size < target && m->plugs_refused) {
		snprintf(buf, len, "guest refused/failed %" PRIu64 " plugs (prealloc failed?)%s",
			 m->plugs_refused, extra);
	} else if (m->size < target) {
		snprintf(buf, len,
			 "plug stalled for %" PRIu64 " s: guest not onlining memory "
			 "(memhp_default_state/auto-online?)%s",
			 age_ms / 1000, extra);
	} else if (m->size > target) {
		snprintf(buf, len,
			 "unplug stalled for %" PRIu64 " s: guest memory in use/unmovable%s",
			 age_ms / 1000, extra);
	} else {
		snprintf(buf, len, "reached%s", extra);
	}
}
