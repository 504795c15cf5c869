#include "board/balloon.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "board/board.h"
#include "board/memory.h"
#include "lib/log.h"
#include "lib/util.h"
#include "config/options.h"
#include "virtio/balloon_save.h"
#include "virtio/pci_save.h"

static struct board *board_of_vb(struct vballoon *v)
{
	return container_of(v, struct board, balloon.dev);
}

/* Discard [off, off+len) of a backend, whole host pages only. */
static void bb_discard_backend(struct backend *be, uint64_t off, uint64_t len,
			       struct vb_discard *out)
{
	uint64_t page = be->spec.page_size ? be->spec.page_size : 4096, aoff, alen;

	if (!vb_align_in(off, len, page, &aoff, &alen)) {
		out->skipped += len;
		return;
	}
	out->skipped += len - alen;
	if (backend_discard(be, aoff, alen))
		out->failed += alen;
	else
		out->discarded += alen;
}

/* A piece inside a virtio-mem region: plugged blocks only. */
static void bb_discard_hotplug(struct hp_region *hp, struct backend *be, uint64_t off, uint64_t len,
			       struct vb_discard *out)
{
	while (len) {
		uint64_t step = MV_MIN(len, hp->block - (off & (hp->block - 1)));

		if (hp_is_plugged(hp, off))
			bb_discard_backend(be, off, step, out);
		else
			out->refused += step;
		off += step;
		len -= step;
	}
}

static void bb_discard(struct vballoon *v, uint64_t gpa, uint64_t len, struct vb_discard *out)
{
	struct board_balloon *bb = &board_of_vb(v)->balloon;

	while (len) {
		uint64_t piece, off;
		int i = vb_span_clip(bb->spans, bb->nr_spans, gpa, len, &piece);

		if (i < 0) {
			out->refused += piece;
		} else {
			off = bb->span_offset[i] + (gpa - bb->spans[i].gpa);
			if (bb->span_hp[i])
				bb_discard_hotplug(bb->span_hp[i], bb->span_backend[i], off, piece,
						   out);
			else
				bb_discard_backend(bb->span_backend[i], off, piece, out);
		}
		gpa += piece;
		len -= piece;
	}
}

/* Device lock held, maybe on a vCPU thread: note it, the loop reports it. */
static void bb_actual_changed(struct vballoon *v)
{
	struct board_balloon *bb = &board_of_vb(v)->balloon;
	uint64_t one = 1;

	__atomic_store_n(&bb->dirty, true, __ATOMIC_RELEASE);
	if (bb->w_up && write(bb->w.fd, &one, sizeof(one)) != sizeof(one))
		mv_warn("virtio-balloon: change not reported: %s", strerror(errno));
}

static const struct vballoon_host_ops bb_ops = {
    .discard = bb_discard,
    .actual_changed = bb_actual_changed,
};

/* Boot RAM and plugged virtio-mem: QEMU's get_current_ram_size(). */
static uint64_t bb_current(struct board *m)
{
	uint64_t total = m->layout.boot_ram;
	unsigned int i;

	for (i = 0; i < m->nr_hotplug; i++) {
		struct hp_stats st;

		hp_get_stats(&m->hotplug[i].hp, &st);
		total += st.plugged_bytes;
	}
	return total;
}

static void bb_on_change(struct loop_watch *w, uint32_t events)
{
	struct board *m = container_of(w, struct board, balloon.w);
	struct vballoon_info vi;
	uint64_t n;

	if (read(w->fd, &n, sizeof(n)) < 0)
		return;
	if (!__atomic_exchange_n(&m->balloon.dirty, false, __ATOMIC_ACQ_REL))
		return;
	vballoon_get_info(&m->balloon.dev, &vi);
	if (m->api_up)
		api_balloon_changed(&m->api, vb_actual_bytes(bb_current(m), vi.actual));
}

static int bb_spans(struct board *m)
{
	struct board_balloon *bb = &m->balloon;
	unsigned int i;

	for (i = 0; i < m->layout.nr_regions; i++) {
		const struct layout_region *r = &m->layout.regions[i];
		struct backend *be = board_zone_backend(m, r->zone, false);

		if (r->kind != LAYOUT_RAM || !be)
			continue;
		if (bb->nr_spans == BOARD_BALLOON_SPANS)
			return -ENOSPC;
		bb->spans[bb->nr_spans] = (struct vb_span){r->gpa, r->size};
		bb->span_backend[bb->nr_spans] = be;
		bb->span_offset[bb->nr_spans] = r->offset;
		bb->span_hp[bb->nr_spans++] = NULL;
	}
	for (i = 0; i < m->nr_hotplug; i++) {
		struct board_hotplug *h = &m->hotplug[i];

		if (bb->nr_spans == BOARD_BALLOON_SPANS)
			return -ENOSPC;
		bb->spans[bb->nr_spans] = (struct vb_span){h->hp.gpa, h->hp.size};
		bb->span_backend[bb->nr_spans] = h->backend;
		bb->span_offset[bb->nr_spans] = 0;
		bb->span_hp[bb->nr_spans++] = &h->hp;
	}
	return 0;
}

int board_balloon_create(struct board *m)
{
	const struct balloon_config *c = &m->cfg->balloon;
	struct board_balloon *bb = &m->balloon;
	struct vballoon_params p = {
	    .num_pages = (uint32_t)MV_MIN(c->size >> VB_PFN_SHIFT, (uint64_t)UINT32_MAX),
	    .deflate_on_oom = c->deflate_on_oom,
	    .free_page_reporting = c->free_page_reporting,
	    .stats_interval = c->stats_interval,
	};
	int ret;

	if (!c->given)
		return 0;
	ret = bb_spans(m);
	if (ret) {
		mv_err(OPT_NAME_BALLOON ": too many memory ranges");
		return ret;
	}
	bb->w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (bb->w.fd < 0) {
		ret = -errno;
		mv_err(OPT_NAME_BALLOON ": cannot watch balloon changes: %s", strerror(errno));
		return ret;
	}
	bb->w.cb = bb_on_change;
	if (loop_add(&m->loop, &bb->w, EPOLLIN)) {
		ret = -errno;
		close(bb->w.fd);
		mv_err(OPT_NAME_BALLOON ": cannot watch balloon changes: %s", strerror(errno));
		return ret;
	}
	bb->w_up = true;
	ret = vballoon_init(&bb->dev, &p, &bb_ops, &m->vm.mem, &m->loop);
	if (ret) {
		mv_err(OPT_NAME_BALLOON ": %s", strerror(-ret));
		return ret;
	}
	bb->dev_up = true;
	ret = virtio_pci_init(&bb->pci, &bb->dev.vdev, &m->pci, &m->loop, "virtio-balloon");
	if (ret) {
		mv_err(OPT_NAME_BALLOON ": virtio-pci: %s", strerror(-ret));
		return ret;
	}
	bb->pci_up = true;
	return 0;
}

void board_balloon_reset(struct board *m)
{
	if (m->balloon.pci_up)
		virtio_pci_reset(&m->balloon.pci);
}

void board_balloon_pause(struct board *m, bool paused)
{
	if (m->balloon.pci_up)
		virtio_pci_set_paused(&m->balloon.pci, paused);
}

void board_balloon_destroy(struct board *m)
{
	struct board_balloon *bb = &m->balloon;

	if (bb->pci_up)
		virtio_pci_destroy(&bb->pci);
	if (bb->dev_up)
		vballoon_destroy(&bb->dev);
	if (bb->w_up) {
		loop_del(&m->loop, &bb->w);
		close(bb->w.fd);
	}
	bb->pci_up = bb->dev_up = bb->w_up = false;
}

void board_balloon_save(struct board *m, bool devices_phase, struct mv_state_writer *w)
{
	if (!m->balloon.pci_up)
		return;
	if (devices_phase)
		vballoon_save(&m->balloon.dev, w);
	else
		virtio_pci_save(&m->balloon.pci, w);
}

int board_balloon_load(struct board *m, bool devices_phase, const void *p, size_t len, char *err,
		       size_t errlen)
{
	struct mv_state_section sec;
	int ret;

	if (!m->balloon.pci_up)
		return 0;
	if (!devices_phase)
		return virtio_pci_find_load(&m->balloon.pci, p, len, err, errlen);
	ret = mv_state_find(p, len, VB_STATE_NAME, &sec, err, errlen);
	return ret ? ret : vballoon_load(&m->balloon.dev, &sec, err, errlen);
}

int board_balloon_info(struct board *m, struct api_balloon_info *out)
{
	struct vballoon_info vi;
	uint64_t cur;

	if (!m->balloon.pci_up)
		return -ENODEV;
	_Static_assert(API_BALLOON_STATS == VB_S_NR, "one statistic list");
	vballoon_get_info(&m->balloon.dev, &vi);
	cur = bb_current(m);
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", m->cfg->balloon.id);
	out->current = cur;
	out->actual = vb_actual_bytes(cur, vi.actual);
	out->target = vb_actual_bytes(cur, vi.num_pages);
	out->driver_ready = vi.driver_ready;
	out->stats_vq = vi.stats_vq;
	memcpy(out->stats, vi.stats, sizeof(out->stats));
	out->stats_last_update = vi.stats_last_update;
	out->stats_interval = vi.stats_interval;
	out->discarded_bytes = vi.c.discarded;
	out->reported_bytes = vi.c.reported_bytes;
	out->refused_bytes = vi.c.refused;
	out->skipped_bytes = vi.c.skipped;
	out->failed_bytes = vi.c.failed;
	out->device_errors = vi.c.device_errors;
	return 0;
}

int board_balloon_set_target(struct board *m, uint64_t guest_size)
{
	if (!m->balloon.pci_up)
		return -ENODEV;
	vballoon_set_target(&m->balloon.dev, vb_target_pages(bb_current(m), guest_size));
	return 0;
}

int board_balloon_set_interval(struct board *m, uint64_t seconds)
{
	if (!m->balloon.pci_up)
		return -ENODEV;
	return vballoon_set_stats_interval(&m->balloon.dev, seconds);
}
