#include "api/hmp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/qmp.h"
#include "lib/util.h"

void hmp_render_memory_devices(const struct api_memdev_info *devs, size_t n, struct api_buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct api_memdev_info *m = &devs[i];

		api_buf_printf(out, "Memory device [virtio-mem]: \"%s\"\n", m->id);
		api_buf_printf(out, "  memaddr: 0x%" PRIx64 "\n", m->memaddr);
		api_buf_printf(out, "  node: %" PRIu32 "\n", m->node);
		api_buf_printf(out, "  requested-size: %" PRIu64 "\n", m->requested_size);
		api_buf_printf(out, "  size: %" PRIu64 "\n", m->size);
		api_buf_printf(out, "  max-size: %" PRIu64 "\n", m->max_size);
		api_buf_printf(out, "  block-size: %" PRIu64 "\n", m->block_size);
		api_buf_printf(out, "  memdev: %s\n", m->memdev);
		/* memvisor's counters, after QEMU's lines so parsers of those still work */
		api_buf_printf(out, "  x-discarded-bytes: %" PRIu64 "\n", m->discarded_bytes);
		api_buf_printf(out, "  x-discard-failures: %" PRIu64 "\n", m->discard_failures);
		api_buf_printf(out, "  x-plugs-refused: %" PRIu64 "\n", m->plugs_refused);
		api_buf_printf(out,
			       "  x-unplugged-accesses: %" PRIu64 " reads, %" PRIu64 " writes\n",
			       m->unplugged_reads, m->unplugged_writes);
	}
}

void hmp_render_dimms(const struct dimm_set *s, struct api_buf *out)
{
	for (unsigned int i = 0; s && i < s->nr_slots; i++) {
		const struct dimm *d = &s->dimms[i];

		if (d->state == DIMM_EMPTY)
			continue;
		/* QEMU's lines for a pc-dimm, in its order. */
		api_buf_printf(out, "Memory device [dimm]: \"%s\"\n", d->id);
		api_buf_printf(out, "  addr: 0x%" PRIx64 "\n", d->addr);
		api_buf_printf(out, "  slot: %u\n", i);
		api_buf_printf(out, "  node: %" PRIu32 "\n", d->node);
		api_buf_printf(out, "  size: %" PRIu64 "\n", d->size);
		api_buf_printf(out, "  memdev: /objects/%s\n", s->objects[d->object].id);
		api_buf_printf(out, "  hotplugged: true\n");
		api_buf_printf(out, "  hotpluggable: true\n");
	}
}

void hmp_render_memory_summary(const struct api_memory_summary *s, struct api_buf *out)
{
	api_buf_printf(out, "base memory: %" PRIu64 "\n", s->base);
	if (s->has_plugged)
		api_buf_printf(out, "plugged memory: %" PRIu64 "\n", s->plugged);
}

static int hmp_memory_devices(struct api *api, struct api_buf *out)
{
	struct api_backend *b = api->backend;
	unsigned int i, n = b->ops->memdev_count(b);
	struct api_memdev_info m;
	int ret;

	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		ret = b->ops->memdev_info(b, i, &m);
		if (ret)
			return ret;
		hmp_render_memory_devices(&m, 1, out);
	}
	hmp_render_dimms(b->ops->dimm_set ? b->ops->dimm_set(b) : NULL, out);
	return 0;
}

static int hmp_memory_summary(struct api *api, struct api_buf *out)
{
	struct api_memory_summary s = {0};
	int ret = api->backend->ops->memory_summary(api->backend, &s);

	if (ret)
		return ret;
	hmp_render_memory_summary(&s, out);
	return 0;
}

/* QEMU's "info balloon" line (MiB), then memvisor's figures. */
static int hmp_balloon(struct api *api, struct api_buf *out)
{
	struct api_backend *b = api->backend;
	struct api_balloon_info bi;
	int ret;

	memset(&bi, 0, sizeof(bi));
	ret = b->ops->balloon_info ? b->ops->balloon_info(b, &bi) : -ENODEV;
	if (ret == -ENODEV) {
		api_buf_puts(out, "Error: No balloon device has been activated\n");
		return 0;
	}
	if (ret)
		return ret;
	api_buf_printf(out, "balloon: actual=%" PRIu64 "\n", bi.actual >> 20);
	api_buf_printf(out, "  x-target: %" PRIu64 "\n", bi.target >> 20);
	api_buf_printf(out, "  x-driver-ready: %s\n", bi.driver_ready ? "yes" : "no");
	api_buf_printf(out, "  x-discarded-bytes: %" PRIu64 "\n", bi.discarded_bytes);
	api_buf_printf(out, "  x-reported-bytes: %" PRIu64 "\n", bi.reported_bytes);
	api_buf_printf(out, "  x-refused-bytes: %" PRIu64 "\n", bi.refused_bytes);
	api_buf_printf(out, "  x-stats-polling-interval: %" PRIu64 "\n", bi.stats_interval);
	return 0;
}

static int hmp_status(struct api *api, struct api_buf *out)
{
	struct api_status st = {.status = "running", .running = true};
	int ret = api->backend->ops->query_status(api->backend, &st);

	if (ret)
		return ret;
	/* QEMU prints "running" or "paused (<runstate>)". */
	if (st.running)
		api_buf_puts(out, "VM status: running\n");
	else if (!strcmp(st.status, "paused"))
		api_buf_puts(out, "VM status: paused\n");
	else
		api_buf_printf(out, "VM status: paused (%s)\n", st.status);
	return 0;
}

static int hmp_version(struct api *api, struct api_buf *out)
{
	return api_buf_printf(out, "%d.%d.%d (%s)\n", QMP_QEMU_MAJOR, QMP_QEMU_MINOR,
			      QMP_QEMU_MICRO, API_PACKAGE);
}

/* Views the VM renders, captured through a memory stream. */
static int hmp_backend(struct api *api, const char *what, struct api_buf *out)
{
	struct api_backend *b = api->backend;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	if (!b->ops->hmp_info)
		return -ENOENT;
	f = open_memstream(&text, &len);
	if (!f)
		return -errno;
	ret = b->ops->hmp_info(b, what, f);
	/* The text is complete only once the stream is closed. */
	if (fclose(f) && !ret)
		ret = -ENOMEM;
	if (!ret)
		api_buf_append(out, text, len);
	free(text);
	return ret;
}

struct hmp_info_cmd {
	const char *name;
	const char *help;
	int (*fn)(struct api *api, struct api_buf *out);
	bool backend; /* rendered by the VM */
};

static const struct hmp_info_cmd hmp_info_cmds[] = {
    {"balloon", "show balloon information", hmp_balloon, false},
    {"memory-devices", "show memory devices", hmp_memory_devices, false},
    {"memory_size_summary",
     "show the amount of initially allocated and present hotpluggable "
     "(if enabled) memory in bytes.",
     hmp_memory_summary, false},
    {"mtree", "show memory tree", NULL, true},
    {"numa", "show NUMA information", NULL, true},
    {"ramblock", "Display system RAMBlock information", NULL, true},
    {"status", "show the current VM status (running|paused)", hmp_status, false},
    {"version", "show the version of QEMU", hmp_version, false},
};

/* Splits the next blank-separated word off *p into word. */
static size_t hmp_word(const char **p, char *word, size_t len)
{
	const char *s = *p, *e;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s;
	while (*e && *e != ' ' && *e != '\t' && *e != '\n')
		e++;
	n = MV_MIN((size_t)(e - s), len - 1);
	memcpy(word, s, n);
	word[n] = '\0';
	*p = e;
	return (size_t)(e - s);
}

int hmp_run(struct api *api, const char *cmdline, struct api_buf *out)
{
	char cmd[64], sub[64];
	const char *p = cmdline;
	size_t i;
	int ret;

	if (!hmp_word(&p, cmd, sizeof(cmd)))
		return 0; /* an empty line prints nothing, as in QEMU */
	if (strcmp(cmd, "info")) {
		api_buf_printf(out, "unknown command: '%s'\n", cmd);
		return -ENOENT;
	}
	if (!hmp_word(&p, sub, sizeof(sub))) {
		for (i = 0; i < ARRAY_SIZE(hmp_info_cmds); i++)
			api_buf_printf(out, "info %s  -- %s\n", hmp_info_cmds[i].name,
				       hmp_info_cmds[i].help);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(hmp_info_cmds); i++) {
		const struct hmp_info_cmd *c = &hmp_info_cmds[i];

		if (strcmp(c->name, sub))
			continue;
		ret = c->backend ? hmp_backend(api, c->name, out) : c->fn(api, out);
		if (ret == -ENOENT)
			break;
		if (ret)
			api_buf_printf(out, "Error: info %s failed: %s\n", sub, strerror(-ret));
		return ret;
	}
	api_buf_printf(out, "unknown command: 'info %s'\n", sub);
	return -ENOENT;
}
