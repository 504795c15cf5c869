#include "board/backend.h"

#include "board/autoscale.h"
#include "board/dimm.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/server.h"
#include "board/board.h"
#include "board/snapshot.h"
#include "lib/log.h"
#include "lib/util.h"
#include "config/options.h"

static struct board *board_of(struct api_backend *b)
{
	return container_of(b, struct board, api_be);
}

static int mapi_query_status(struct api_backend *b, struct api_status *out)
{
	bool paused = board_of(b)->paused;

	out->status = paused ? "paused" : "running";
	out->running = !paused;
	return 0;
}

static int mapi_stop(struct api_backend *b)
{
	return board_pause(board_of(b));
}

static int mapi_cont(struct api_backend *b)
{
	return board_resume(board_of(b));
}

static void mapi_quit(struct api_backend *b)
{
	struct board *m = board_of(b);

	m->exit_code = 0;
	loop_stop(&m->loop);
}

static int mapi_snapshot(struct api_backend *b, const char *url, bool live,
			 struct api_snapshot_info *out, char *err, size_t errlen)
{
	struct board_snapshot_result res;
	int ret = board_snapshot(board_of(b), url, live, &res, err, errlen);

	out->pause_ms = res.pause_ms;
	out->passes = res.passes;
	out->memory_bytes = res.memory_bytes;
	return ret;
}

static int mapi_powerdown(struct api_backend *b)
{
	power_button(&board_of(b)->power);
	return 0;
}

static int mapi_reset(struct api_backend *b)
{
	return board_reset(board_of(b));
}

static unsigned int mapi_memdev_count(struct api_backend *b)
{
	return board_of(b)->nr_hotplug;
}

static int mapi_memdev_info(struct api_backend *b, unsigned int idx, struct api_memdev_info *out)
{
	struct board *m = board_of(b);
	struct board_hotplug *h;
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
	out->slot_changes = st.slot_changes;
	out->slot_holds = st.holds;
	out->slots_refused = st.slots_refused;
	out->unmap_failures = st.unmap_failures;
	out->slots = st.slots;
	out->size_changed_ms = h->size_changed_ms;
	out->requested_changed_ms = h->requested_changed_ms;
	return 0;
}

static int mapi_memdev_set_requested(struct api_backend *b, const char *id, uint64_t size,
				     char *err, size_t errlen)
{
	struct board *m = board_of(b);
	unsigned int i;
	int ret;

	for (i = 0; i < m->nr_hotplug; i++) {
		struct board_hotplug *h = &m->hotplug[i];

		if (strcmp(m->cfg->zones[h->zone].id, id))
			continue;
		ret = vmem_set_requested(&h->dev, size, err, errlen);
		if (!ret) {
			h->requested_changed_ms = loop_now_ms();
			board_autoscale_hand_set(m, i);
		}
		return ret;
	}
	snprintf(err, errlen, "Device '%s' not found", id);
	return -ENOENT;
}

static int mapi_memory_summary(struct api_backend *b, struct api_memory_summary *out)
{
	struct board *m = board_of(b);
	unsigned int i;

	out->base = m->layout.boot_ram;
	out->plugged = 0;
	for (i = 0; i < m->nr_hotplug; i++) {
		struct hp_stats st;

		hp_get_stats(&m->hotplug[i].hp, &st);
		out->plugged += st.plugged_bytes;
	}
	/* DIMMs the guest holds count as plugged memory, as QEMU counts pc-dimm. */
	if (m->dimms)
		out->plugged += dimm_plugged_bytes(&m->dimms->set);
	out->has_plugged = m->nr_hotplug > 0 || m->dimms;
	return 0;
}

/* QEMU's "info numa": nodes, their CPUs, boot memory and plugged memory. */
static void mapi_info_numa(struct board *m, FILE *out)
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
	struct board *m = board_of(b);

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

static unsigned int mapi_pmem_count(struct api_backend *b)
{
	return board_of(b)->nr_pmem;
}

static int mapi_pmem_info(struct api_backend *b, unsigned int idx, struct api_pmem_info *out)
{
	struct board *m = board_of(b);

	if (idx >= m->nr_pmem)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", m->cfg->pmem[idx].id);
	snprintf(out->memdev, sizeof(out->memdev), "/objects/%s", m->cfg->pmem[idx].id);
	out->memaddr = m->pmem[idx].gpa;
	out->size = m->pmem[idx].size;
	if (m->cfg->pmem[idx].model == PMEM_NVDIMM) {
		out->nvdimm = true;
		for (unsigned int i = 0; i < idx; i++)
			out->slot += m->cfg->pmem[i].model == PMEM_NVDIMM;
		out->node = m->cfg->pmem[idx].node >= 0 ? (unsigned int)m->cfg->pmem[idx].node
			    : m->cfg->nr_numa		? m->cfg->numa[0].guest_numa_id
							: 0;
		return 0;
	}
	/* Loop thread, as the completions that change them. */
	pthread_mutex_lock(&m->pmem[idx].dev.vdev.lock);
	out->flushes = m->pmem[idx].dev.flushes;
	out->flush_errors = m->pmem[idx].dev.flush_errors;
	pthread_mutex_unlock(&m->pmem[idx].dev.vdev.lock);
	return 0;
}

static const struct dimm_set *mapi_dimm_set(struct api_backend *b)
{
	return board_dimm_set(board_of(b));
}

static int mapi_dimm_object_add(struct api_backend *b, const struct dimm_object_req *r,
				struct dimm_error *e)
{
	return board_dimm_object_add(board_of(b), r, e);
}

static int mapi_dimm_object_del(struct api_backend *b, const char *id, struct dimm_error *e)
{
	return board_dimm_object_del(board_of(b), id, e);
}

static int mapi_dimm_device_add(struct api_backend *b, const char *id, const char *memdev,
				long node, struct dimm_error *e)
{
	return board_dimm_device_add(board_of(b), id, memdev, node, e);
}

static int mapi_dimm_device_del(struct api_backend *b, const char *id, struct dimm_error *e)
{
	return board_dimm_device_del(board_of(b), id, e);
}

static int mapi_autoscale_query(struct api_backend *b, struct json_object **out)
{
	return board_autoscale_query(board_of(b), out);
}

static int mapi_autoscale_resume(struct api_backend *b, const char *id, char *err, size_t errlen)
{
	return board_autoscale_resume(board_of(b), id, err, errlen);
}

static int mapi_dimm_resize(struct api_backend *b, uint64_t total, struct dimm_error *e)
{
	return board_dimm_resize(board_of(b), total, e);
}

static int mapi_balloon_info(struct api_backend *b, struct api_balloon_info *out)
{
	return board_balloon_info(board_of(b), out);
}

static int mapi_balloon_set_target(struct api_backend *b, uint64_t guest_size)
{
	return board_balloon_set_target(board_of(b), guest_size);
}

static int mapi_balloon_set_interval(struct api_backend *b, uint64_t seconds)
{
	return board_balloon_set_interval(board_of(b), seconds);
}

/* Loop thread; config space under the host's lock, as a vCPU writes it. */
static unsigned int mapi_pci_list(struct api_backend *b, struct api_pci_info *out, unsigned int max)
{
	struct pci_host *h = &board_of(b)->pci;
	unsigned int slot, i, n = 0;

	pthread_mutex_lock(&h->lock);
	for (slot = 0; slot < PCI_MAX_SLOTS && n < max; slot++) {
		const struct pci_dev *d = h->devs[slot];
		struct api_pci_info *p = &out[n];

		if (!d)
			continue;
		memset(p, 0, sizeof(*p));
		p->slot = slot;
		p->vendor = le_get(d->cfg + 0x00, 2);
		p->device = le_get(d->cfg + 0x02, 2);
		p->class_code = le_get(d->cfg + 0x0A, 2);
		p->subsys_vendor = le_get(d->cfg + 0x2C, 2);
		p->subsys = le_get(d->cfg + 0x2E, 2);
		p->irq_line = d->cfg[0x3C];
		p->irq_pin = d->cfg[0x3D];
		snprintf(p->qdev_id, sizeof(p->qdev_id), "%s", d->name ? d->name : "");
		for (i = 0; i < PCI_NUM_BARS; i++) {
			if (!d->bars[i].size)
				continue;
			p->regions[p->nr_regions].bar = i;
			p->regions[p->nr_regions].addr = d->bars[i].addr;
			p->regions[p->nr_regions].size = d->bars[i].size;
			p->nr_regions++;
		}
		n++;
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

static const struct api_backend_ops board_api_ops = {
    .pci_list = mapi_pci_list,
    .query_status = mapi_query_status,
    .quit = mapi_quit,
    .stop = mapi_stop,
    .cont = mapi_cont,
    .snapshot = mapi_snapshot,
    .powerdown = mapi_powerdown,
    .reset = mapi_reset,
    .memdev_count = mapi_memdev_count,
    .memdev_info = mapi_memdev_info,
    .memdev_set_requested = mapi_memdev_set_requested,
    .memory_summary = mapi_memory_summary,
    .pmem_count = mapi_pmem_count,
    .pmem_info = mapi_pmem_info,
    .hmp_info = mapi_hmp_info,
    .dimm_set = mapi_dimm_set,
    .dimm_object_add = mapi_dimm_object_add,
    .dimm_object_del = mapi_dimm_object_del,
    .dimm_device_add = mapi_dimm_device_add,
    .dimm_device_del = mapi_dimm_device_del,
    .dimm_resize = mapi_dimm_resize,
    .autoscale_query = mapi_autoscale_query,
    .autoscale_resume = mapi_autoscale_resume,
    .balloon_info = mapi_balloon_info,
    .balloon_set_target = mapi_balloon_set_target,
    .balloon_set_interval = mapi_balloon_set_interval,
};

/* Loop thread: MEMORY_DEVICE_SIZE_CHANGE with the committed plugged size. */
static void board_on_size_change(struct loop_watch *w, uint32_t events)
{
	struct board *m = container_of(w, struct board, size_w);
	unsigned int i;
	uint64_t n;

	if (read(w->fd, &n, sizeof(n)) < 0)
		return;
	for (i = 0; i < m->nr_hotplug; i++) {
		struct board_hotplug *h = &m->hotplug[i];
		struct vmem_info vi;

		if (!__atomic_exchange_n(&h->size_dirty, false, __ATOMIC_ACQ_REL))
			continue;
		vmem_get_info(&h->dev, &vi);
		h->size_changed_ms = loop_now_ms();
		api_memdev_size_changed(&m->api, m->cfg->zones[h->zone].id, vi.plugged_size);
	}
}

const struct api_backend_ops *board_api_backend_ops(void)
{
	return &board_api_ops;
}

int board_api_open(struct board *m)
{
	char err[CONFIG_ERR_LEN];
	int ret;

	if (!m->cfg->api_socket)
		return 0;
	m->api_be.ops = &board_api_ops;
	ret = api_init(&m->api, &m->api_be, &m->loop);
	if (ret) {
		mv_err(OPT_NAME_API_SOCKET ": %s", strerror(-ret));
		return ret;
	}
	m->api_up = true;
	/* virtio-mem size changes (board/devices.c) are reported once the API exists. */
	m->size_w.cb = board_on_size_change;
	if (m->size_w.fd >= 0 && loop_add(&m->loop, &m->size_w, EPOLLIN)) {
		ret = -errno;
		mv_err("virtio-mem: cannot watch size changes: %s", strerror(errno));
		return ret;
	}
	ret = api_server_open(&m->api_srv, &m->api, &m->loop, m->cfg->api_socket, err, sizeof(err));
	if (ret)
		mv_err("%s", err);
	return ret;
}

void board_api_close(struct board *m)
{
	if (m->api_srv)
		api_server_close(m->api_srv);
	m->api_srv = NULL;
	if (m->api_up)
		api_destroy(&m->api);
	m->api_up = false;
}

void board_api_shutdown(struct board *m, bool guest, const char *reason)
{
	if (m->api_up)
		api_emit_shutdown(&m->api, guest, reason);
}

void board_api_reset(struct board *m, bool guest, const char *reason)
{
	if (m->api_up)
		api_emit_reset(&m->api, guest, reason);
}

void board_api_panic(struct board *m)
{
	struct json_object *data;

	if (!m->api_up)
		return;
	data = json_object_new_object();
	json_object_object_add(data, "action", json_object_new_string("poweroff"));
	api_emit_event(&m->api, "GUEST_PANICKED", data);
}
