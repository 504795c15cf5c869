#include "api/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int ctl_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end && strchr("KMGT", toupper((unsigned char)*end))) {
		shift =
		    10 * (unsigned int)(strchr("KMGT", toupper((unsigned char)*end)) - "KMGT" + 1);
		end++;
		if (!strcasecmp(end, "iB"))
			end += 2;
	}
	if (!strcasecmp(end, "B"))
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

void ctl_format_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "TGMK";
	unsigned int i;

	for (i = 0; i < 4 && v; i++) {
		unsigned int shift = 40 - 10 * i;

		if (!(v & ((1ULL << shift) - 1))) {
			snprintf(buf, len, "%" PRIu64 "%c", v >> shift, units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
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

int ctl_plan_resize(const struct ctl_memdev *devs, size_t n, uint64_t base, uint64_t target,
		    bool spread, uint64_t *req, char *err, size_t errlen)
{
	uint64_t need, total_max = 0, given = 0, left, share;
	char a[32], b[32];
	bool progress;
	size_t i;

	ctl_format_size(target, a, sizeof(a));
	ctl_format_size(base, b, sizeof(b));
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
		ctl_format_size(base + total_max, b, sizeof(b));
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
