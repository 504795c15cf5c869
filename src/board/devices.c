#include "board/devices.h"
#include "board/blk.h"
#include "board/net.h"
#include "board/vsock.h"
#include "board/vhost_user.h"
#include "board/pmem.h"

#include "board/autoscale.h"
#include "board/dimm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci_save.h"
#include "devices/power_save.h"
#include "devices/serial_save.h"
#include "lib/errbuf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/mem_save.h"
#include "virtio/pci_save.h"
#include "virtio/rng_save.h"
#include "config/options.h"

static int board_pci_set_irq(struct pci_host *h, unsigned int gsi, int level)
{
	struct board *m = container_of(h, struct board, pci);

	return m->vm.irq.set(&m->vm.irq, gsi, level);
}

static int board_pci_ioeventfd(struct pci_host *h, uint64_t addr, uint32_t len, int fd, bool assign)
{
	struct board *m = container_of(h, struct board, pci);

	return vm_ioeventfd(&m->vm, addr, len, fd, assign);
}

static int board_pci_irqfd(struct pci_host *h, unsigned int gsi, int fd, int resample_fd,
			   bool assign)
{
	struct board *m = container_of(h, struct board, pci);

	return vm_irqfd(&m->vm, gsi, fd, resample_fd, assign);
}

static int board_pci_msi_route(struct pci_host *h, int *gsi, uint64_t addr, uint32_t data)
{
	return vm_msi_route(&container_of(h, struct board, pci)->vm, gsi, addr, data);
}

static void board_pci_msi_route_free(struct pci_host *h, int gsi)
{
	vm_msi_route_free(&container_of(h, struct board, pci)->vm, gsi);
}

static int board_pci_signal_msi(struct pci_host *h, uint64_t addr, uint32_t data)
{
	return vm_signal_msi(&container_of(h, struct board, pci)->vm, addr, data);
}

static const struct pci_host_ops board_pci_ops = {
    .set_irq = board_pci_set_irq,
    .ioeventfd = board_pci_ioeventfd,
    .irqfd = board_pci_irqfd,
    .msi_route = board_pci_msi_route,
    .msi_route_free = board_pci_msi_route_free,
    .signal_msi = board_pci_signal_msi,
};

static struct board_hotplug *board_vmem(struct vmem *v)
{
	return container_of(v, struct board_hotplug, dev);
}

static int board_vmem_plug(struct vmem *v, uint64_t off, uint64_t len)
{
	return hp_plug(&board_vmem(v)->hp, off, len);
}

static int board_vmem_unplug(struct vmem *v, uint64_t off, uint64_t len)
{
	return hp_unplug(&board_vmem(v)->hp, off, len);
}

static void board_vmem_settled(struct vmem *v)
{
	hp_settle(&board_vmem(v)->hp);
}

/*
 * Device lock held, the change committed: note it and let the loop report
 * it once the lock is released (board/backend.c).
 */
static void board_vmem_size_changed(struct vmem *v)
{
	struct board_hotplug *h = board_vmem(v);
	uint64_t one = 1;

	__atomic_store_n(&h->size_dirty, true, __ATOMIC_RELEASE);
	if (write(h->m->size_w.fd, &one, sizeof(one)) != sizeof(one))
		mv_warn("%s: size change not reported: %s", h->m->cfg->zones[h->zone].id,
			strerror(errno));
}

static const struct vmem_host_ops board_vmem_ops = {
    .plug = board_vmem_plug,
    .unplug = board_vmem_unplug,
    .size_changed = board_vmem_size_changed,
    .settled = board_vmem_settled,
};

/* One virtio-mem device per zone with a hotplug region, named after the zone. */
static int board_create_vmem(struct board *m)
{
	char err[CONFIG_ERR_LEN];
	unsigned int i;
	int ret;

	if (!m->nr_hotplug)
		return 0;
	/* Watched by the loop once the API is open (board/backend.c). */
	m->size_w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->size_w.fd < 0) {
		ret = -errno;
		mv_err("virtio-mem: cannot watch size changes: %s", strerror(errno));
		return ret;
	}
	for (i = 0; i < m->nr_hotplug; i++) {
		struct board_hotplug *h = &m->hotplug[i];
		const struct zone_config *z = &m->cfg->zones[h->zone];
		struct vmem_params p = {
		    .addr = h->hp.gpa,
		    .region_size = h->hp.size,
		    .block_size = h->hp.block,
		    .requested_size = z->hotplugged_size,
		    /* A proximity domain means something only with an SRAT (guest NUMA). */
		    .node_id = m->cfg->nr_numa ? z->guest_numa_node : -1,
		    .unplugged_inaccessible = z->unplugged_inaccessible,
		};

		ret = vmem_init(&h->dev, &p, &board_vmem_ops, &m->vm.mem, err, sizeof(err));
		if (ret) {
			mv_err("%s: %s", z->id, err);
			return ret;
		}
		h->dev_up = true;
		ret = virtio_pci_init(&h->pci, &h->dev.vdev, &m->pci, &m->loop, z->id);
		if (ret) {
			mv_err("%s: virtio-pci: %s", z->id, strerror(-ret));
			return ret;
		}
		h->pci_up = true;
	}
	return 0;
}

static int dev_serial_create(struct board *m)
{
	const struct mv_config *cfg = m->cfg;
	int in_fd = -1, ret;

	switch (cfg->serial) {
	case SERIAL_TTY:
		in_fd = STDIN_FILENO;
		m->serial_out_fd = dup(STDOUT_FILENO);
		break;
	case SERIAL_FILE:
		m->serial_out_fd =
		    open(cfg->serial_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (m->serial_out_fd < 0) {
			ret = -errno;
			mv_err(OPT_NAME_SERIAL " file=%s: %s", cfg->serial_file, strerror(errno));
			return ret;
		}
		break;
	case SERIAL_OFF:
		break;
	}
	ret = serial_init(&m->serial, &m->vm.pio, &m->loop, &m->vm.irq, &m->vm.events, in_fd,
			  m->serial_out_fd);
	if (ret) {
		mv_err("serial port: %s", strerror(-ret));
		return ret;
	}
	m->serial_up = true;
	return 0;
}

static void dev_serial_reset(struct board *m)
{
	serial_reset(&m->serial);
}

static void dev_serial_destroy(struct board *m)
{
	if (m->serial_up)
		serial_destroy(&m->serial, &m->vm.pio);
	m->serial_up = false;
}

static int dev_serial_save(struct board *m, enum board_phase ph, struct mv_state_writer *w,
			   char *err, size_t errlen)
{
	if (ph == BOARD_PHASE_DEVICES)
		serial_save(&m->serial, w);
	return 0;
}

/* Section `name` of the saved stream: 0, -ENOENT or -EINVAL with a message. */
static int dev_find(const struct board_stream *s, const char *name, struct mv_state_section *sec,
		    char *err, size_t errlen)
{
	return mv_state_find(s->p, s->len, name, sec, err, errlen);
}

static int dev_serial_load(struct board *m, enum board_phase ph, const struct board_stream *s,
			   char *err, size_t errlen)
{
	struct mv_state_section sec;
	int ret;

	if (ph != BOARD_PHASE_DEVICES)
		return 0;
	ret = dev_find(s, "serial", &sec, err, errlen);
	return ret ? ret : serial_load(&m->serial, &sec, err, errlen);
}

static int dev_power_create(struct board *m)
{
	int ret = power_init(&m->power, &m->vm.pio, &m->vm.events, &m->vm.irq);

	if (ret) {
		mv_err("power device: %s", strerror(-ret));
		return ret;
	}
	m->power_up = true;
	return 0;
}

static void dev_power_destroy(struct board *m)
{
	if (m->power_up)
		power_destroy(&m->power, &m->vm.pio);
	m->power_up = false;
}

static int dev_power_save(struct board *m, enum board_phase ph, struct mv_state_writer *w,
			  char *err, size_t errlen)
{
	if (ph == BOARD_PHASE_DEVICES)
		power_save(&m->power, w);
	return 0;
}

static int dev_power_load(struct board *m, enum board_phase ph, const struct board_stream *s,
			  char *err, size_t errlen)
{
	struct mv_state_section sec;
	int ret;

	if (ph != BOARD_PHASE_DEVICES)
		return 0;
	ret = dev_find(s, "power", &sec, err, errlen);
	return ret ? ret : power_load(&m->power, &sec, err, errlen);
}

static int dev_pci_create(struct board *m)
{
	int ret = pci_host_init(&m->pci, &board_pci_ops, &m->vm.mmio, &m->vm.pio);

	if (ret) {
		mv_err("PCI host bridge: %s", strerror(-ret));
		return ret;
	}
	m->pci_up = true;
	return 0;
}

static void dev_pci_destroy(struct board *m)
{
	if (m->pci_up)
		pci_host_destroy(&m->pci);
	m->pci_up = false;
}

static int dev_pci_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
			size_t errlen)
{
	if (ph == BOARD_PHASE_PCI)
		pci_host_save(&m->pci, w);
	return 0;
}

static int dev_pci_load(struct board *m, enum board_phase ph, const struct board_stream *s,
			char *err, size_t errlen)
{
	struct mv_state_section sec;
	int ret;

	if (ph != BOARD_PHASE_PCI)
		return 0;
	ret = dev_find(s, "pci", &sec, err, errlen);
	return ret ? ret : pci_host_load(&m->pci, &sec, err, errlen);
}

/* A transport's section is "virtio-pci.<function>". */

static int dev_rng_create(struct board *m)
{
	int ret;

	if (!m->cfg->rng)
		return 0;
	ret = vrng_init(&m->rng, &m->vm.mem);
	if (!ret)
		ret = virtio_pci_init(&m->rng_pci, &m->rng.vdev, &m->pci, &m->loop, "virtio-rng");
	if (ret) {
		mv_err("virtio-rng: %s", strerror(-ret));
		return ret;
	}
	m->rng_up = true;
	return 0;
}

static void dev_rng_reset(struct board *m)
{
	if (m->rng_up)
		virtio_pci_reset(&m->rng_pci);
}

static void dev_rng_pause(struct board *m, bool paused)
{
	if (m->rng_up)
		virtio_pci_set_paused(&m->rng_pci, paused);
}

static void dev_rng_destroy(struct board *m)
{
	if (m->rng_up) {
		virtio_pci_destroy(&m->rng_pci);
		vrng_destroy(&m->rng);
	}
	m->rng_up = false;
}

static int dev_rng_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
			size_t errlen)
{
	if (!m->rng_up)
		return 0;
	if (ph == BOARD_PHASE_DEVICES)
		vrng_save(&m->rng, w);
	else if (ph == BOARD_PHASE_TRANSPORTS)
		virtio_pci_save(&m->rng_pci, w);
	return 0;
}

static int dev_rng_load(struct board *m, enum board_phase ph, const struct board_stream *s,
			char *err, size_t errlen)
{
	struct mv_state_section sec;
	int ret;

	if (!m->rng_up)
		return 0;
	if (ph == BOARD_PHASE_TRANSPORTS)
		return virtio_pci_find_load(&m->rng_pci, s->p, s->len, err, errlen);
	if (ph != BOARD_PHASE_DEVICES)
		return 0;
	ret = dev_find(s, "virtio-rng", &sec, err, errlen);
	return ret ? ret : vrng_load(&m->rng, &sec, err, errlen);
}

static int dev_balloon_save(struct board *m, enum board_phase ph, struct mv_state_writer *w,
			    char *err, size_t errlen)
{
	if (ph == BOARD_PHASE_DEVICES || ph == BOARD_PHASE_TRANSPORTS)
		board_balloon_save(m, ph == BOARD_PHASE_DEVICES, w);
	return 0;
}

static int dev_balloon_load(struct board *m, enum board_phase ph, const struct board_stream *s,
			    char *err, size_t errlen)
{
	if (ph != BOARD_PHASE_DEVICES && ph != BOARD_PHASE_TRANSPORTS)
		return 0;
	return board_balloon_load(m, ph == BOARD_PHASE_DEVICES, s->p, s->len, err, errlen);
}

static int dev_vmem_create(struct board *m)
{
	return board_create_vmem(m);
}

/* Memory devices unplug everything, then their transport forgets the driver. */
static void dev_vmem_reset(struct board *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_hotplug; i++) {
		vmem_system_reset(&m->hotplug[i].dev);
		virtio_pci_reset(&m->hotplug[i].pci);
	}
}

static void dev_vmem_pause(struct board *m, bool paused)
{
	unsigned int i;

	for (i = 0; i < m->nr_hotplug; i++)
		if (m->hotplug[i].pci_up)
			virtio_pci_set_paused(&m->hotplug[i].pci, paused);
}

static void dev_vmem_destroy(struct board *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_hotplug; i++) {
		struct board_hotplug *h = &m->hotplug[i];

		if (h->pci_up)
			virtio_pci_destroy(&h->pci);
		if (h->dev_up)
			vmem_destroy(&h->dev);
		h->pci_up = h->dev_up = false;
	}
}

static int dev_vmem_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
			 size_t errlen)
{
	unsigned int i;

	for (i = 0; i < m->nr_hotplug; i++) {
		struct board_hotplug *h = &m->hotplug[i];

		if (ph == BOARD_PHASE_MEMORY && h->dev_up)
			vmem_save(&h->dev, m->cfg->zones[h->zone].id, w);
		else if (ph == BOARD_PHASE_TRANSPORTS && h->pci_up)
			virtio_pci_save(&h->pci, w);
	}
	return 0;
}

static int dev_vmem_load(struct board *m, enum board_phase ph, const struct board_stream *s,
			 char *err, size_t errlen)
{
	char name[MV_STATE_NAME_MAX + 1];
	struct mv_state_section sec;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < m->nr_hotplug && !ret; i++) {
		struct board_hotplug *h = &m->hotplug[i];
		const char *id = m->cfg->zones[h->zone].id;

		if (ph == BOARD_PHASE_TRANSPORTS) {
			ret = virtio_pci_find_load(&h->pci, s->p, s->len, err, errlen);
		} else if (ph == BOARD_PHASE_MEMORY) {
			vmem_state_name(id, name, sizeof(name));
			ret = dev_find(s, name, &sec, err, errlen);
			if (!ret)
				ret = vmem_load(&h->dev, id, &sec, err, errlen);
		}
	}
	return ret;
}

static int dev_dimms_save(struct board *m, enum board_phase ph, struct mv_state_writer *w,
			  char *err, size_t errlen)
{
	return ph == BOARD_PHASE_MEMORY ? board_dimms_save(m, w) : 0;
}

static int dev_autoscale_save(struct board *m, enum board_phase ph, struct mv_state_writer *w,
			      char *err, size_t errlen)
{
	if (ph == BOARD_PHASE_DEVICES)
		board_autoscale_save(m, w);
	return 0;
}

/* A snapshot without the section (no --autoscale, or an older build's): the policy starts afresh.
 */
static int dev_autoscale_load(struct board *m, enum board_phase ph, const struct board_stream *s,
			      char *err, size_t errlen)
{
	struct mv_state_section sec;
	int ret;

	if (ph != BOARD_PHASE_DEVICES || !m->autoscale)
		return 0;
	ret = mv_state_find(s->p, s->len, AUTOSCALE_STATE_NAME, &sec, err, errlen);
	if (ret == -ENOENT)
		return 0;
	return ret ? ret : board_autoscale_load(m, &sec, err, errlen);
}

static int dev_none_load(struct board *m, enum board_phase ph, const struct board_stream *s,
			 char *err, size_t errlen)
{
	return 0;
}

/*
 * The board's devices, in creation order (destroyed in reverse). A new
 * device is one entry here and one file for its functions.
 */
static const struct board_device board_devices[] = {
    {"serial", dev_serial_create, dev_serial_reset, dev_serial_destroy, dev_serial_save,
     dev_serial_load, NULL},
    {"power", dev_power_create, NULL, dev_power_destroy, dev_power_save, dev_power_load, NULL},
    {"pci", dev_pci_create, NULL, dev_pci_destroy, dev_pci_save, dev_pci_load, NULL},
    {"virtio-rng", dev_rng_create, dev_rng_reset, dev_rng_destroy, dev_rng_save, dev_rng_load,
     dev_rng_pause},
    {"virtio-mem", dev_vmem_create, dev_vmem_reset, dev_vmem_destroy, dev_vmem_save, dev_vmem_load,
     dev_vmem_pause},
    {"virtio-pmem", board_pmem_create, board_pmem_reset, board_pmem_destroy, board_pmem_save,
     board_pmem_load, board_pmem_pause},
    {"acpi-memhp", board_dimms_create, board_dimms_reset, board_dimms_destroy, dev_dimms_save,
     dev_none_load /* before the memory: board_dimms_restore */, NULL},
    /* Last, so that adding it moves no other device's PCI slot. */
    {"virtio-balloon", board_balloon_create, board_balloon_reset, board_balloon_destroy,
     dev_balloon_save, dev_balloon_load, board_balloon_pause},
    {"virtio-blk", board_blk_create, board_blk_reset, board_blk_destroy, board_blk_save,
     board_blk_load, board_blk_pause},
    {"virtio-net", board_net_create, board_net_reset, board_net_destroy, board_net_save,
     board_net_load, board_net_pause},
    {"virtio-vsock", board_vsock_create, board_vsock_reset, board_vsock_destroy, board_vsock_save,
     board_vsock_load, board_vsock_pause},
    {"vhost-user", board_vu_create, board_vu_reset, board_vu_destroy, board_vu_save, board_vu_load,
     board_vu_pause},
    /* Not a device: the policy that drives virtio-mem by the balloon's statistics. */
    {"autoscale", board_autoscale_create, board_autoscale_reset, board_autoscale_destroy,
     dev_autoscale_save, dev_autoscale_load, NULL},
};

int board_create_devices(struct board *m)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(board_devices); i++) {
		ret = board_devices[i].create(m);
		if (ret)
			return ret;
	}
	return 0;
}

void board_reset_devices(struct board *m)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(board_devices); i++)
		if (board_devices[i].reset)
			board_devices[i].reset(m);
}

void board_pause_devices(struct board *m, bool paused)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(board_devices); i++)
		if (board_devices[i].pause)
			board_devices[i].pause(m, paused);
}

void board_hold_memory_devices(struct board *m, bool held)
{
	dev_vmem_pause(m, held);
}

void board_destroy_devices(struct board *m)
{
	unsigned int i = ARRAY_SIZE(board_devices);

	while (i--)
		board_devices[i].destroy(m);
}

/* Load order (ARCHITECTURE.md, "Save and load"): memory first, transports after PCI. */
static const enum board_phase board_phases[] = {BOARD_PHASE_MEMORY, BOARD_PHASE_DEVICES,
						BOARD_PHASE_PCI, BOARD_PHASE_TRANSPORTS};

int board_save_devices(struct board *m, struct mv_state_writer *w, char *err, size_t errlen)
{
	unsigned int p, i;
	int ret;

	for (p = 0; p < ARRAY_SIZE(board_phases); p++)
		for (i = 0; i < ARRAY_SIZE(board_devices); i++) {
			err[0] = 0;
			ret = board_devices[i].save(m, board_phases[p], w, err, errlen);
			if (ret) {
				if (!err[0])
					mv_errbuf(err, errlen, "%s: %s", board_devices[i].name,
						  strerror(-ret));
				return ret;
			}
		}
	ret = mv_sw_error(w);
	if (ret)
		mv_errbuf(err, errlen, "writing the devices' state: %s", strerror(-ret));
	return ret;
}

int board_load_devices(struct board *m, const void *p, size_t len, char *err, size_t errlen)
{
	const struct board_stream s = {p, len};
	unsigned int ph, i;
	int ret;

	for (ph = 0; ph < ARRAY_SIZE(board_phases); ph++)
		for (i = 0; i < ARRAY_SIZE(board_devices); i++) {
			ret = board_devices[i].load(m, board_phases[ph], &s, err, errlen);
			if (ret)
				return ret;
		}
	return 0;
}
