#include "board/firmware.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "lib/log.h"
#include "lib/util.h"
#include "config/options.h"

static int board_read_file(const char *opt, const char *path, uint8_t **buf, size_t *len)
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

int board_load_images(struct board *m)
{
	const struct mv_config *cfg = m->cfg;
	struct x86_bzimage bz;
	char err[256];
	int ret;

	ret = board_read_file(OPT_NAME_KERNEL, cfg->kernel, &m->kernel, &m->kernel_len);
	if (ret)
		return ret;
	ret = x86_bzimage_parse(m->kernel, m->kernel_len, &bz, err, sizeof(err));
	if (ret) {
		mv_err(OPT_NAME_KERNEL " %s: %s", cfg->kernel, err);
		return ret;
	}
	if (cfg->cmdline && bz.cmdline_size && strlen(cfg->cmdline) > bz.cmdline_size) {
		mv_err(OPT_NAME_CMDLINE " is %zu bytes, this kernel accepts %u",
		       strlen(cfg->cmdline), bz.cmdline_size);
		return -EINVAL;
	}
	if (cfg->initramfs)
		ret =
		    board_read_file(OPT_NAME_INITRAMFS, cfg->initramfs, &m->initrd, &m->initrd_len);
	if (ret)
		return ret;
	m->min_low_ram = x86_boot_min_low_ram(&bz, m->initrd_len);
	return 0;
}

/*
 * Guest NUMA from --numa: SLIT localities are indexed by proximity domain,
 * so domains 0..max(guest_numa_id) are all described (unnamed ones at the
 * default distances). Without --numa but with virtio-mem, one node covers
 * boot RAM and hotplug regions (as QEMU does), so Linux sizes itself for
 * the memory that may be plugged later.
 */
static void board_describe_numa(struct board *m, struct acpi_machine *a)
{
	const struct mv_config *cfg = m->cfg;
	uint32_t first_node = cfg->nr_numa ? cfg->numa[0].guest_numa_id : 0;
	unsigned int i, j, c;

	a->numa = cfg->nr_numa > 0 || m->nr_hotplug > 0 || m->layout.dimm_size;
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
	/* Persistent memory on its node (the guest's nd region reads it from SRAT). */
	for (i = 0; i < m->layout.nr_pmem && a->nr_mem < ACPI_MAX_MEM; i++) {
		int node = cfg->pmem[i].node;

		a->mem[a->nr_mem++] = (struct acpi_mem_range){
		    .base = m->layout.pmem[i].gpa,
		    .size = m->layout.pmem[i].size,
		    .node = node >= 0 ? (uint32_t)node : first_node,
		    .nonvolatile = true,
		};
	}
	/* The DIMM area, hotpluggable; each DIMM's own node comes from its _PXM. */
	if (m->layout.dimm_size && a->nr_mem < ACPI_MAX_MEM)
		a->mem[a->nr_mem++] = (struct acpi_mem_range){
		    .base = m->layout.dimm_gpa,
		    .size = m->layout.dimm_size,
		    .node = first_node,
		    .hotplug = true,
		};
}

/* The --pmem model=nvdimm devices, in --pmem order, for the NFIT and the DSDT. */
static void board_describe_nvdimms(struct board *m, struct acpi_machine *a)
{
	const struct mv_config *cfg = m->cfg;
	uint32_t first_node = cfg->nr_numa ? cfg->numa[0].guest_numa_id : 0;
	unsigned int i;

	for (i = 0; i < m->layout.nr_pmem && a->nr_nvdimm < ACPI_MAX_NVDIMM; i++) {
		if (cfg->pmem[i].model != PMEM_NVDIMM)
			continue;
		a->nvdimm[a->nr_nvdimm++] = (struct acpi_nvdimm){
		    .base = m->layout.pmem[i].gpa,
		    .size = m->layout.pmem[i].size,
		    .node = cfg->pmem[i].node >= 0 ? (uint32_t)cfg->pmem[i].node : first_node,
		};
	}
}

static void board_describe_acpi(struct board *m, struct acpi_machine *a)
{
	memset(a, 0, sizeof(*a));
	a->ncpus = m->cfg->cpus.boot;
	a->pci_slots = PCI_MAX_SLOTS;
	a->pci_gsi_base = PCI_INTX_GSI_BASE;
	a->pci_gsi_num = PCI_INTX_GSI_NUM;
	a->pci_mmio32_base = PCI_MMIO32_BASE;
	a->pci_mmio32_size = PCI_MMIO32_SIZE;
	a->ged_gsi = POWER_BUTTON_GSI;
	if (m->dimms) {
		a->memhp_slots = m->cfg->dimm_slots;
		a->memhp_gsi = MEMHP_GSI;
	}
	board_describe_numa(m, a);
	board_describe_nvdimms(m, a);
}

/* Writes ACPI tables and the kernel into guest memory and sets up the vCPUs. */
int board_load_guest(struct board *m)
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
	board_describe_acpi(m, a);
	/* Built on the host, then copied in: the area may cross a boot-zone seam. */
	tables = calloc(1, MEMMAP_ACPI_SIZE);
	if (!tables) {
		free(a);
		return -ENOMEM;
	}
	ret = acpi_build(a, MEMMAP_ACPI_BASE, tables, MEMMAP_ACPI_SIZE, &m->rsdp, &used);
	free(a);
	if (ret) {
		free(tables);
		mv_err("building ACPI tables failed: %s", strerror(-ret));
		return ret;
	}
	ret = gmem_write(&m->vm.mem, MEMMAP_ACPI_BASE, tables, MEMMAP_ACPI_SIZE);
	free(tables);
	if (ret) {
		mv_err("guest RAM does not cover the ACPI area");
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
