#include "core/machine_api.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/server.h"
#include "core/log.h"
#include "core/machine.h"
#include "core/util.h"

static struct machine *machine_of(struct api_backend *b)
{
	return container_of(b, struct machine, api_be);
}

static int mapi_query_status(struct api_backend *b, struct api_status *out)
{
	out->status = "running";
	out->running = true;
	return 0;
}

static void mapi_quit(struct api_backend *b)
{
	struct machine *m = machine_of(b);

	m->exit_code = 0;
	loop_stop(&m->loop);
}

static int mapi_powerdown(struct api_backend *b)
{
	power_button(&machine_of(b)->power);
	return 0;
}

static int mapi_reset(struct api_backend *b)
{
	return machine_reset(machine_of(b));
}

static unsigned int mapi_memdev_count(struct api_backend *b)
{
	return machine_of(b)->nr_hotplug;
}

static int mapi_memdev_info(struct api_backend *b, unsigned int idx, struct api_memdev_info *out)
{
	struct machine *m = machine_of(b);
	struct machine_hotplug *h;
	struct vmem_info vi;
	struct hp_stats st;

	if (idx >= m->nr_hotplug)
		return -ENOENT;
	h = &m->hotplug[idx];
	vmem_get_info(&h->dev, &vi);
	hp_get_stats(&h->hp, &st);
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", m->cfg->zones[h->zone].id);
	snprintf(out->memdev, sizeof(out->memdev), "/objects/%s", m->cfg->zones[h->zone].id);
	out->memaddr = vi.addr;
	out->size = vi.plugged_size;
	out->max_size = vi.region_size;
	out->block_size = vi.block_size;
	out->requested_size = vi.requested_size;
	out->node = vi.node_id >= 0 ? (uint32_t)vi.node_id : 0;
	out->driver_ready = vi.driver_ready;
	out->discarded_bytes = st.discarded_bytes;
	out->discard_failures = st.discard_failures;
	out->plugs_refused = vi.plug_refused;
	out->unplugged_reads = st.unplugged_reads;
	out->unplugged_writes = st.unplugged_writes;
	out->exposed_bytes = st.exposed_bytes;
	out->slots = st.slots;
	out->size_changed_ms = h->size_changed_ms;
	out->requested_changed_ms = h->requested_changed_ms;
	return 0;
}

static int mapi_memdev_set_requested(struct api_backend *b, const char *id, uint64_t size,
				     char *err, size_t errlen)
{
	struct machine *m = machine_of(b);
	unsigned int i;
	int ret;

	for (i = 0; i < m->nr_hotplug; i++) {
		struct machine_hotplug *h = &m->hotplug[i];

		if (strcmp(m->cfg->zones[h->zone].id, id))
			continue;
		ret = vmem_set_requested(&h->dev, size, err, errlen);
		if (!ret)
			h->requested_changed_ms = loop_now_ms();
		return ret;
	}
	snprintf(err, errlen, "Device '%s' not found", id);
	return -ENOENT;
}

static int mapi_memory_summary(struct api_backend *b, struct api_memory_summary *out)
{
	struct machine *m = machine_of(b);
	unsigned int i;

	out->base = m->layout.boot_ram;
	out->plugged = 0;
	for (i = 0; i < m->nr_hotplug; i++) {
		struct hp_stats st;

		hp_get_stats(&m->hotplug[i].hp, &st);
		out->plugged += st.plugged_bytes;
	}
	out->has_plugged = m->nr_hotplug > 0;
	return 0;
}

/* QEMU's "info numa": nodes, their CPUs, boot memory and plugged memory. */
static void mapi_info_numa(struct machine *m, FILE *out)
{
	const struct mv_config *cfg = m->cfg;
	unsigned int nodes = cfg->nr_numa ? cfg->nr_numa : 1, n, c, z;

	fprintf(out, "%u nodes\n", nodes);
	for (n = 0; n < nodes; n++) {
		uint32_t id = cfg->nr_numa ? cfg->numa[n].guest_numa_id : 0;
		uint64_t size = 0, plugged = 0;

		fprintf(out, "node %u cpus:", id);
		for (c = 0; c < cfg->cpus.boot; c++)
			if (!cfg->nr_numa || (cfg->numa[n].cpus[c / 8] & (1U << (c % 8))))
				fprintf(out, " %u", c);
		fprintf(out, "\n");
		for (z = 0; z < cfg->nr_zones; z++)
			if (!cfg->nr_numa || cfg->zones[z].guest_numa_node == (int)id)
				size += cfg->zones[z].size;
		for (z = 0; z < m->nr_hotplug; z++) {
			const struct zone_config *zc = &cfg->zones[m->hotplug[z].zone];
			struct hp_stats st;

			if (cfg->nr_numa && zc->guest_numa_node != (int)id)
				continue;
			hp_get_stats(&m->hotplug[z].hp, &st);
			plugged += st.plugged_bytes;
		}
		fprintf(out, "node %u size: %" PRIu64 " MB\n", id, (size + plugged) >> 20);
		fprintf(out, "node %u plugged: %" PRIu64 " MB\n", id, plugged >> 20);
	}
}

static int mapi_hmp_info(struct api_backend *b, const char *what, FILE *out)
{
	struct machine *m = machine_of(b);

	if (!strcmp(what, "numa"))
		mapi_info_numa(m, out);
	else if (!strcmp(what, "ramblock"))
		backend_format_backends(out, m->backends, m->nr_backends);
	else if (!strcmp(what, "mtree"))
		layout_format_mtree(&m->layout, m->cfg, out);
	else
		return -ENOENT;
	return 0;
}

static const struct api_backend_ops machine_api_ops = {
    .query_status = mapi_query_status,
    .quit = mapi_quit,
    .powerdown = mapi_powerdown,
    .reset = mapi_reset,
    .memdev_count = mapi_memdev_count,
    .memdev_info = mapi_memdev_info,
    .memdev_set_requested = mapi_memdev_set_requested,
    .memory_summary = mapi_memory_summary,
    .hmp_info = mapi_hmp_info,
};

int machine_api_open(struct machine *m)
{
	char err[CONFIG_ERR_LEN];
	int ret;

	if (!m->cfg->api_socket)
		return 0;
	m->api_be.ops = &machine_api_ops;
	ret = api_init(&m->api, &m->api_be, &m->loop);
	if (ret) {
		mv_err("--api-socket: %s", strerror(-ret));
		return ret;
	}
	m->api_up = true;
	ret = api_server_open(&m->api_srv, &m->api, &m->loop, m->cfg->api_socket, err, sizeof(err));
	if (ret)
		mv_err("%s", err);
	return ret;
}

void machine_api_close(struct machine *m)
{
	if (m->api_srv)
		api_server_close(m->api_srv);
	m->api_srv = NULL;
	if (m->api_up)
		api_destroy(&m->api);
	m->api_up = false;
}

void machine_api_size_changed(struct machine *m, struct machine_hotplug *h)
{
	struct hp_stats st;

	h->size_changed_ms = loop_now_ms();
	if (!m->api_up)
		return;
	hp_get_stats(&h->hp, &st);
	api_memdev_size_changed(&m->api, m->cfg->zones[h->zone].id, st.plugged_bytes);
}

void machine_api_shutdown(struct machine *m, bool guest, const char *reason)
{
	if (m->api_up)
		api_emit_shutdown(&m->api, guest, reason);
}

void machine_api_reset(struct machine *m, bool guest, const char *reason)
{
	if (m->api_up)
		api_emit_reset(&m->api, guest, reason);
}

void machine_api_panic(struct machine *m)
{
	struct json_object *data;

	if (!m->api_up)
		return;
	data = json_object_new_object();
	json_object_object_add(data, "action", json_object_new_string("poweroff"));
	api_emit_event(&m->api, "GUEST_PANICKED", data);
}
