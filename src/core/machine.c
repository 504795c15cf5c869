#include "core/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "core/machine_api.h"
#include "core/log.h"
#include "core/util.h"

/* The reset-vector stub (arch/x86/boot.c) reboots through the power device. */
_Static_assert(X86_RESET_PORT == ACPI_PM_PORT && X86_RESET_VALUE == ACPI_RESET_VAL,
	       "reset stub and FADT reset register disagree");

static int machine_read_file(const char *opt, const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t done = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		mv_err("%s %s: %s", opt, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		ret = -EINVAL;
		mv_err("%s %s: not a non-empty regular file", opt, path);
		goto out;
	}
	*buf = malloc(st.st_size);
	if (!*buf) {
		ret = -ENOMEM;
		mv_err("%s %s: out of memory", opt, path);
		goto out;
	}
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + done, st.st_size - done);

		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			mv_err("%s %s: read failed: %s", opt, path, strerror(-ret));
			free(*buf);
			*buf = NULL;
			goto out;
		}
		done += r;
	}
	*len = done;
out:
	close(fd);
	return ret;
}

int machine_load_images(struct machine *m, struct mv_config *cfg)
{
	struct x86_bzimage bz;
	char err[256];
	int ret;

	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	m->serial_out_fd = -1;
	m->loop.epfd = -1;
	if (!cfg->kernel) {
		mv_err("--kernel is required");
		return -EINVAL;
	}
	ret = machine_read_file("--kernel", cfg->kernel, &m->kernel, &m->kernel_len);
	if (ret)
		return ret;
	ret = x86_bzimage_parse(m->kernel, m->kernel_len, &bz, err, sizeof(err));
	if (ret) {
		mv_err("--kernel %s: %s", cfg->kernel, err);
		return ret;
	}
	if (cfg->cmdline && bz.cmdline_size && strlen(cfg->cmdline) > bz.cmdline_size) {
		mv_err("--cmdline is %zu bytes, this kernel accepts %u", strlen(cfg->cmdline),
		       bz.cmdline_size);
		return -EINVAL;
	}
	if (cfg->initramfs)
		ret = machine_read_file("--initramfs", cfg->initramfs, &m->initrd, &m->initrd_len);
	if (ret)
		return ret;
	m->min_low_ram = x86_boot_min_low_ram(&bz, m->initrd_len);
	return 0;
}

/* Plans the guest's memory and creates every host backing; nothing else is acquired yet. */
int machine_create_memory(struct machine *m)
{
	struct backend_spec *specs = m->specs;
	char err[CONFIG_ERR_LEN];
	unsigned int i;
	int ret;

	ret = layout_build(m->cfg, &m->layout, err, sizeof(err));
	if (ret) {
		mv_err("%s", err);
		return ret;
	}
	/* Checked before any memory is taken: the kernel must fit below the PCI hole. */
	if (m->layout.low_ram_end < m->min_low_ram) {
		layout_zone_opt(m->cfg, 0, err, sizeof(err));
		mv_err(
		    "%s: %lluM of RAM below 3G is too little for this kernel and initramfs: they "
		    "need %lluM",
		    err, (unsigned long long)(m->layout.low_ram_end >> 20),
		    (unsigned long long)(m->min_low_ram >> 20) + 1);
		return -EINVAL;
	}
	ret = backend_specs_from_config(m->cfg, &m->layout, specs, BACKEND_MAX, &m->nr_backends);
	if (ret) {
		mv_err("planning host memory failed: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; i < m->nr_backends; i++) {
		ret = backend_create(&specs[i], &m->backends[i], err, sizeof(err));
		if (ret) {
			mv_err("%s", err);
			m->nr_backends = i;
			return ret;
		}
	}
	for (i = 0; i < m->layout.nr_regions; i++) {
		const struct layout_region *r = &m->layout.regions[i];
		struct backend *b = machine_zone_backend(m, r->zone, r->kind == LAYOUT_HOTPLUG);

		if (r->kind != LAYOUT_RAM || !b)
			continue;
		m->ram[m->nr_ram++] = (struct machine_ram){r->gpa, r->size, b->hva + r->offset, 0};
	}
	for (i = 0; i < m->layout.nr_e820 && i < X86_E820_MAX; i++) {
		m->e820[i] = (struct x86_e820){m->layout.e820[i].addr, m->layout.e820[i].size,
					       m->layout.e820[i].type};
	}
	m->nr_e820 = i;
	m->low_ram_end = m->layout.low_ram_end;
	return 0;
}

struct backend *machine_zone_backend(struct machine *m, unsigned int zone, bool hotplug)
{
	unsigned int i;

	for (i = 0; i < m->nr_backends; i++)
		if (m->backends[i].spec.zone == zone && m->backends[i].spec.hotplug == hotplug)
			return &m->backends[i];
	return NULL;
}

int machine_dry_run(struct mv_config *cfg, FILE *out)
{
	static struct layout l;
	static struct backend_spec specs[BACKEND_MAX];
	char err[CONFIG_ERR_LEN];
	unsigned int n;
	int ret;

	ret = layout_build(cfg, &l, err, sizeof(err));
	if (ret) {
		mv_err("%s", err);
		return ret;
	}
	ret = backend_specs_from_config(cfg, &l, specs, BACKEND_MAX, &n);
	if (ret) {
		mv_err("planning host memory failed: %s", strerror(-ret));
		return ret;
	}
	fprintf(out, "Guest physical memory map:\n");
	layout_format_mtree(&l, cfg, out);
	fprintf(out, "\nE820 map:\n");
	layout_format_e820(&l, out);
	fprintf(out, "\nHost backing (RAM blocks):\n");
	backend_format_specs(out, specs, n);
	return 0;
}

static struct machine_hotplug *machine_hp(struct hp_region *r)
{
	return container_of(r, struct machine_hotplug, hp);
}

static int machine_hp_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva,
			  uint32_t *slot)
{
	return vm_map(&machine_hp(r)->m->vm, gpa, size, hva, slot);
}

static int machine_hp_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	return vm_unmap(&machine_hp(r)->m->vm, slot, gpa, size);
}

static int machine_hp_populate(struct hp_region *r, uint64_t off, uint64_t len)
{
	return backend_populate(machine_hp(r)->backend, off, len);
}

static int machine_hp_discard(struct hp_region *r, uint64_t off, uint64_t len)
{
	return backend_discard(machine_hp(r)->backend, off, len);
}

static const struct hp_ops machine_hp_ops = {
    .map = machine_hp_map,
    .unmap = machine_hp_unmap,
    .populate = machine_hp_populate,
    .discard = machine_hp_discard,
};

/* vCPU thread: a guest access that no slot and no device claimed. */
static bool machine_unmapped(struct vm *vm, uint64_t gpa, void *data, uint32_t len, bool write)
{
	struct machine *m = container_of(vm, struct machine, vm);
	unsigned int i;

	for (i = 0; i < m->nr_hotplug; i++)
		if (hp_access(&m->hotplug[i].hp, gpa, data, len, write))
			return true;
	return false;
}

/* Memory slots left for virtio-mem granules, shared out by region size. */
#define MACHINE_SLOT_RESERVE 64

static int machine_create_hotplug(struct machine *m)
{
	uint64_t total = 0, budget;
	unsigned int z;
	int ret;

	for (z = 0; z < m->layout.nr_zones; z++)
		total += m->layout.zones[z].hotplug_size;
	if (!total)
		return 0;
	budget = vm_slots_free(&m->vm);
	budget = budget > MACHINE_SLOT_RESERVE ? budget - MACHINE_SLOT_RESERVE : 1;
	for (z = 0; z < m->layout.nr_zones; z++) {
		const struct layout_zone *lz = &m->layout.zones[z];
		const struct zone_config *zc = &m->cfg->zones[z];
		struct machine_hotplug *h = &m->hotplug[m->nr_hotplug];
		uint64_t share, granule;

		if (!lz->hotplug_size)
			continue;
		share = MV_MAX(1, (uint64_t)((double)budget * lz->hotplug_size / total));
		granule = hp_granule_for(lz->hotplug_size, zc->block_size, share);
		h->m = m;
		h->zone = z;
		h->backend = machine_zone_backend(m, z, true);
		if (!h->backend)
			return -EINVAL;
		ret = hp_init(&h->hp, &machine_hp_ops, lz->hotplug_gpa, lz->hotplug_size,
			      zc->block_size, granule, h->backend->hva, zc->prealloc);
		if (ret) {
			mv_err("%s: virtio-mem region: %s", zc->id, strerror(-ret));
			return ret;
		}
		h->hp_up = true;
		m->nr_hotplug++;
		if (granule > zc->block_size)
			mv_warn("%s: %llu memory slots cannot cover %lluM in blocks of %lluM; "
				"unplugged memory is unmapped in granules of %lluM",
				zc->id, (unsigned long long)share,
				(unsigned long long)(lz->hotplug_size >> 20),
				(unsigned long long)(zc->block_size >> 20),
				(unsigned long long)(granule >> 20));
	}
	m->vm.unmapped = machine_unmapped;
	return 0;
}

int machine_create_vm(struct machine *m)
{
	char err[256];
	int ret;

	ret = loop_init(&m->loop);
	if (ret) {
		mv_err("cannot create the event loop: %s", strerror(-ret));
		return ret;
	}
	ret = vm_create(&m->vm, &m->loop, m->cfg->cpus.boot, err, sizeof(err));
	if (ret) {
		mv_err("%s", err);
		return ret;
	}
	m->vm_created = true;
	return 0;
}

int machine_map_memory(struct machine *m)
{
	unsigned int i;
	int ret;

	for (i = 0; i < m->nr_ram; i++) {
		struct machine_ram *r = &m->ram[i];

		ret = vm_map(&m->vm, r->gpa, r->size, r->hva, &r->slot);
		if (ret) {
			mv_err("mapping guest RAM at %#llx failed: %s", (unsigned long long)r->gpa,
			       strerror(-ret));
			return ret;
		}
	}
	return machine_create_hotplug(m);
}

static int machine_pci_set_irq(struct pci_host *h, unsigned int gsi, int level)
{
	struct machine *m = container_of(h, struct machine, pci);

	return m->vm.irq.set(&m->vm.irq, gsi, level);
}

static int machine_pci_ioeventfd(struct pci_host *h, uint64_t addr, uint32_t len, int fd,
				 bool assign)
{
	struct machine *m = container_of(h, struct machine, pci);

	return vm_ioeventfd(&m->vm, addr, len, fd, assign);
}

static int machine_pci_irqfd(struct pci_host *h, unsigned int gsi, int fd, int resample_fd,
			     bool assign)
{
	struct machine *m = container_of(h, struct machine, pci);

	return vm_irqfd(&m->vm, gsi, fd, resample_fd, assign);
}

static const struct pci_host_ops machine_pci_ops = {
    .set_irq = machine_pci_set_irq,
    .ioeventfd = machine_pci_ioeventfd,
    .irqfd = machine_pci_irqfd,
};

static struct machine_hotplug *machine_vmem(struct vmem *v)
{
	return container_of(v, struct machine_hotplug, dev);
}

static int machine_vmem_plug(struct vmem *v, uint64_t off, uint64_t len)
{
	struct machine_hotplug *h = machine_vmem(v);
	int ret = hp_plug(&h->hp, off, len);

	if (!ret)
		machine_api_size_changed(h->m, h);
	return ret;
}

static int machine_vmem_unplug(struct vmem *v, uint64_t off, uint64_t len)
{
	struct machine_hotplug *h = machine_vmem(v);
	int ret = hp_unplug(&h->hp, off, len);

	if (!ret)
		machine_api_size_changed(h->m, h);
	return ret;
}

static const struct vmem_host_ops machine_vmem_ops = {
    .plug = machine_vmem_plug,
    .unplug = machine_vmem_unplug,
};

/* One virtio-mem device per zone with a hotplug region, named after the zone. */
static int machine_create_vmem(struct machine *m)
{
	char err[CONFIG_ERR_LEN];
	unsigned int i;
	int ret;

	for (i = 0; i < m->nr_hotplug; i++) {
		struct machine_hotplug *h = &m->hotplug[i];
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

		ret = vmem_init(&h->dev, &p, &machine_vmem_ops, &m->vm.mem, err, sizeof(err));
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

int machine_create_devices(struct machine *m)
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
			mv_err("--serial file=%s: %s", cfg->serial_file, strerror(errno));
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
	ret = power_init(&m->power, &m->vm.pio, &m->vm.events, &m->vm.irq);
	if (ret) {
		mv_err("power device: %s", strerror(-ret));
		return ret;
	}
	m->power_up = true;
	ret = pci_host_init(&m->pci, &machine_pci_ops, &m->vm.mmio, &m->vm.pio);
	if (ret) {
		mv_err("PCI host bridge: %s", strerror(-ret));
		return ret;
	}
	m->pci_up = true;
	if (cfg->rng) {
		ret = vrng_init(&m->rng, &m->vm.mem);
		if (!ret)
			ret = virtio_pci_init(&m->rng_pci, &m->rng.vdev, &m->pci, &m->loop,
					      "virtio-rng");
		if (ret) {
			mv_err("virtio-rng: %s", strerror(-ret));
			return ret;
		}
		m->rng_up = true;
	}
	ret = machine_create_vmem(m);
	return ret ? ret : machine_api_open(m);
}

/*
 * Guest NUMA from --numa: SLIT localities are indexed by proximity domain,
 * so domains 0..max(guest_numa_id) are all described (unnamed ones at the
 * default distances). Without --numa but with virtio-mem, one node covers
 * boot RAM and hotplug regions (as QEMU does), so Linux sizes itself for
 * the memory that may be plugged later.
 */
static void machine_describe_numa(struct machine *m, struct acpi_machine *a)
{
	const struct mv_config *cfg = m->cfg;
	uint32_t first_node = cfg->nr_numa ? cfg->numa[0].guest_numa_id : 0;
	unsigned int i, j, c;

	a->numa = cfg->nr_numa > 0 || m->nr_hotplug > 0;
	if (!a->numa)
		return;
	a->nr_nodes = 1;
	for (i = 0; i < cfg->nr_numa; i++)
		a->nr_nodes = MV_MAX(a->nr_nodes, cfg->numa[i].guest_numa_id + 1);
	for (i = 0; i < a->nr_nodes; i++) {
		a->node_ids[i] = i;
		for (j = 0; j < a->nr_nodes; j++)
			a->distance[i][j] = i == j ? 10 : 20;
	}
	for (c = 0; c < a->ncpus; c++)
		a->cpu_node[c] = first_node;
	for (i = 0; i < cfg->nr_numa; i++) {
		const struct numa_config *n = &cfg->numa[i];

		for (c = 0; c < a->ncpus; c++)
			if (n->cpus[c / 8] & (1U << (c % 8)))
				a->cpu_node[c] = n->guest_numa_id;
		for (j = 0; j < n->nr_distances; j++)
			a->distance[n->guest_numa_id][n->distances[j].dest] =
			    n->distances[j].distance;
	}
	for (i = 0; i < m->layout.nr_regions && a->nr_mem < ACPI_MAX_MEM; i++) {
		const struct layout_region *r = &m->layout.regions[i];
		int node = cfg->zones[r->zone].guest_numa_node;

		a->mem[a->nr_mem++] = (struct acpi_mem_range){
		    .base = r->gpa,
		    .size = r->size,
		    .node = node >= 0 ? (uint32_t)node : first_node,
		    .hotplug = r->kind == LAYOUT_HOTPLUG,
		};
	}
}

static void machine_describe_acpi(struct machine *m, struct acpi_machine *a)
{
	memset(a, 0, sizeof(*a));
	a->ncpus = m->cfg->cpus.boot;
	a->pci_slots = PCI_MAX_SLOTS;
	a->pci_gsi_base = PCI_INTX_GSI_BASE;
	a->pci_gsi_num = PCI_INTX_GSI_NUM;
	a->pci_mmio32_base = PCI_MMIO32_BASE;
	a->pci_mmio32_size = PCI_MMIO32_SIZE;
	a->ged_gsi = POWER_BUTTON_GSI;
	machine_describe_numa(m, a);
}

/* Writes ACPI tables and the kernel into guest memory and sets up the vCPUs. */
static int machine_load_guest(struct machine *m)
{
	struct acpi_machine *a = calloc(1, sizeof(*a));
	const char *cmdline = m->cfg->cmdline ? m->cfg->cmdline : "console=ttyS0";
	struct x86_boot b;
	uint8_t *tables;
	uint64_t entry;
	size_t used;
	char err[256];
	int ret;

	if (!a)
		return -ENOMEM;
	machine_describe_acpi(m, a);
	tables = gmem_hva(&m->vm.mem, MACHINE_ACPI_BASE, MACHINE_ACPI_SIZE);
	if (!tables) {
		free(a);
		mv_err("guest RAM does not cover the ACPI area");
		return -EFAULT;
	}
	ret = acpi_build(a, MACHINE_ACPI_BASE, tables, MACHINE_ACPI_SIZE, &m->rsdp, &used);
	free(a);
	if (ret) {
		mv_err("building ACPI tables failed: %s", strerror(-ret));
		return ret;
	}
	b = (struct x86_boot){
	    .kernel = m->kernel,
	    .kernel_len = m->kernel_len,
	    .initrd = m->initrd,
	    .initrd_len = m->initrd_len,
	    .cmdline = cmdline,
	    .e820 = m->e820,
	    .nr_e820 = m->nr_e820,
	    .rsdp = m->rsdp,
	    .low_ram_end = m->low_ram_end,
	};
	ret = x86_boot_load(&m->vm.mem, &b, &entry, err, sizeof(err));
	if (ret) {
		mv_err("%s", err);
		return ret;
	}
	ret = vm_reset_irqchip(&m->vm);
	if (!ret)
		ret = vm_reset_vcpus(&m->vm, entry, X86_BOOT_PARAMS);
	if (ret)
		mv_err("setting up the vCPUs failed: %s", strerror(-ret));
	return ret;
}

int machine_boot(struct machine *m)
{
	int ret = machine_load_guest(m);

	if (ret)
		return ret;
	m->boots++;
	ret = vm_start(&m->vm);
	if (ret)
		mv_err("starting the vCPUs failed: %s", strerror(-ret));
	return ret;
}

int machine_reset(struct machine *m)
{
	unsigned int i;

	vm_stop(&m->vm);
	serial_reset(&m->serial);
	/* Memory devices unplug everything, then every transport forgets the driver. */
	for (i = 0; i < m->nr_hotplug; i++) {
		vmem_system_reset(&m->hotplug[i].dev);
		virtio_pci_reset(&m->hotplug[i].pci);
	}
	if (m->rng_up)
		virtio_pci_reset(&m->rng_pci);
	mv_info("guest reboot");
	return machine_boot(m);
}

static void machine_on_vm_event(struct loop_watch *w, uint32_t events)
{
	struct machine *m = container_of(w, struct machine, vm_event_w);

	switch (vm_take_event(&m->vm)) {
	case VM_EV_NONE:
		return;
	case VM_EV_POWEROFF:
		machine_api_shutdown(m, true, "guest-shutdown");
		m->exit_code = 0;
		break;
	case VM_EV_RESET:
		machine_api_reset(m, true, "guest-reset");
		if (m->cfg->on_reboot == ON_REBOOT_RESET) {
			if (machine_reset(m) == 0)
				return;
			m->exit_code = 1;
		} else {
			m->exit_code = 0;
		}
		break;
	case VM_EV_PANIC:
		machine_api_panic(m);
		mv_err("the guest kernel panicked");
		m->exit_code = 1;
		break;
	case VM_EV_SHUTDOWN:
		mv_err("the guest triple-faulted (CPU shutdown)");
		m->exit_code = 1;
		break;
	case VM_EV_QUIT:
		m->exit_code = 0;
		break;
	case VM_EV_ERROR:
		m->exit_code = 1;
		break;
	}
	loop_stop(&m->loop);
}

static void machine_on_signal(struct loop_watch *w, uint32_t events)
{
	struct machine *m = container_of(w, struct machine, signal_w);
	struct signalfd_siginfo si;

	if (read(w->fd, &si, sizeof(si)) != sizeof(si))
		return;
	mv_info("%s received, stopping the VM", strsignal(si.ssi_signo));
	machine_api_shutdown(m, false, "host-signal");
	if (mv_debug_enabled()) {
		vm_stop(&m->vm);
		for (unsigned int i = 0; i < m->vm.ncpus; i++) {
			struct kvm_regs r;

			if (ioctl(m->vm.vcpus[i].fd, KVM_GET_REGS, &r) == 0)
				mv_debug("vCPU %u: rip %#llx rsp %#llx", i,
					 (unsigned long long)r.rip, (unsigned long long)r.rsp);
		}
	}
	m->exit_code = 0;
	loop_stop(&m->loop);
}

static void machine_raw_terminal(struct machine *m)
{
	struct termios t;

	if (m->cfg->serial != SERIAL_TTY || !isatty(STDIN_FILENO) ||
	    tcgetattr(STDIN_FILENO, &m->saved_tio) < 0)
		return;
	m->tio_saved = true;
	t = m->saved_tio;
	/* Raw input for the guest; Ctrl-A x leaves (see serial.h). */
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

int machine_run(struct machine *m)
{
	sigset_t set;
	int ret;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	m->signal_w.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	m->signal_w.cb = machine_on_signal;
	m->vm_event_w.fd = m->vm.event_fd;
	m->vm_event_w.cb = machine_on_vm_event;
	if (m->signal_w.fd < 0 || loop_add(&m->loop, &m->signal_w, EPOLLIN) ||
	    loop_add(&m->loop, &m->vm_event_w, EPOLLIN)) {
		mv_err("cannot watch signals and VM events: %s", strerror(errno));
		return 1;
	}
	machine_raw_terminal(m);
	ret = machine_boot(m);
	if (ret)
		return 1;
	ret = loop_run(&m->loop);
	if (ret) {
		mv_err("event loop failed: %s", strerror(-ret));
		return 1;
	}
	return m->exit_code;
}

/* Reverse of creation: vCPUs stop first, devices go before the VM they are wired to. */
void machine_destroy(struct machine *m)
{
	unsigned int i;

	if (m->vm_created)
		vm_stop(&m->vm);
	if (m->tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &m->saved_tio);
	machine_api_close(m);
	for (i = 0; i < m->nr_hotplug; i++) {
		struct machine_hotplug *h = &m->hotplug[i];

		if (h->pci_up)
			virtio_pci_destroy(&h->pci);
		if (h->dev_up)
			vmem_destroy(&h->dev);
	}
	if (m->rng_up) {
		virtio_pci_destroy(&m->rng_pci);
		vrng_destroy(&m->rng);
	}
	if (m->pci_up)
		pci_host_destroy(&m->pci);
	if (m->power_up)
		power_destroy(&m->power, &m->vm.pio);
	if (m->serial_up)
		serial_destroy(&m->serial, &m->vm.pio);
	for (i = 0; i < m->nr_hotplug; i++)
		if (m->hotplug[i].hp_up)
			hp_destroy(&m->hotplug[i].hp);
	if (m->vm_created)
		vm_destroy(&m->vm);
	if (m->signal_w.fd > 0)
		close(m->signal_w.fd);
	if (m->loop.epfd >= 0)
		loop_destroy(&m->loop);
	if (m->serial_out_fd >= 0)
		close(m->serial_out_fd);
	/* A VM that never booted leaves no files behind; one that ran keeps its data. */
	for (i = 0; i < m->nr_backends; i++) {
		if (m->boots)
			backend_destroy(&m->backends[i]);
		else
			backend_abandon(&m->backends[i]);
	}
	free(m->kernel);
	free(m->initrd);
}
