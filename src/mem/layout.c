#include "mem/layout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "config/options.h"

#define PAGE_4K 4096ULL

void layout_zone_opt(const struct mv_config *cfg, unsigned int zone, char *buf, size_t len)
{
	/* --memory-zone requires --memory size=0, so a non-zero size means mem0 came from --memory.
	 */
	if (cfg->memory.size != 0)
		snprintf(buf, len, OPT_NAME_MEMORY);
	else
		snprintf(buf, len, OPT_NAME_MEMORY_ZONE " id=%s", cfg->zones[zone].id);
}

uint64_t layout_zone_align(const struct zone_config *z)
{
	if (z->hugepages && is_pow2(z->hugepage_size) && z->hugepage_size > LAYOUT_ZONE_ALIGN)
		return z->hugepage_size;
	return LAYOUT_ZONE_ALIGN;
}

static int add_region(struct layout *l, enum layout_kind kind, unsigned int zone, uint64_t gpa,
		      uint64_t size, uint64_t offset)
{
	struct layout_region *r;

	if (l->nr_regions >= LAYOUT_MAX_REGIONS)
		return -ENOSPC;
	r = &l->regions[l->nr_regions++];
	r->kind = kind;
	r->zone = zone;
	r->gpa = gpa;
	r->size = size;
	r->offset = offset;
	return 0;
}

/* Boot RAM of zone i from *cursor on; splits at the hole. */
static int place_ram(const struct mv_config *cfg, struct layout *l, unsigned int i,
		     uint64_t *cursor, char *err, size_t errlen)
{
	const struct zone_config *z = &cfg->zones[i];
	uint64_t start, off = 0, left = z->size, chunk;
	char opt[CONFIG_ID_LEN + 24];
	int ret;

	layout_zone_opt(cfg, i, opt, sizeof(opt));
	if (i == 0 && z->size < LAYOUT_MIN_ZONE0_SIZE) {
		mv_errbuf(err, errlen,
			  "%s: size=%" PRIu64 " is too small: the first zone holds the low 1M "
			  "(boot and ACPI tables)",
			  opt, z->size);
		return -EINVAL;
	}
	if (!z->size)
		return 0;
	if (!is_aligned(z->size, PAGE_4K)) {
		mv_errbuf(err, errlen, "%s: size=%" PRIu64 " is not a multiple of 4K", opt,
			  z->size);
		return -EINVAL;
	}
	start = align_up(*cursor, layout_zone_align(z));
	if (start >= LAYOUT_HOLE_BASE && start < LAYOUT_HOLE_END)
		start = LAYOUT_HOLE_END;
	l->zones[i].ram_gpa = start;
	while (left) {
		chunk = start < LAYOUT_HOLE_BASE ? MV_MIN(left, LAYOUT_HOLE_BASE - start) : left;
		if (start > LAYOUT_MAX_GPA || chunk > LAYOUT_MAX_GPA - start) {
			mv_errbuf(err, errlen,
				  "%s: size=%" PRIu64
				  " puts guest RAM above the 2^46 guest physical "
				  "address limit",
				  opt, z->size);
			return -ERANGE;
		}
		ret = add_region(l, LAYOUT_RAM, i, start, chunk, off);
		if (ret)
			return ret;
		off += chunk;
		left -= chunk;
		start += chunk;
		if (start <= LAYOUT_HOLE_BASE)
			l->low_ram_end = start;
		if (start == LAYOUT_HOLE_BASE)
			start = LAYOUT_HOLE_END;
	}
	/* A zone ending exactly at the hole leaves the cursor at 4 GiB. */
	*cursor = start;
	l->ram_end = l->regions[l->nr_regions - 1].gpa + l->regions[l->nr_regions - 1].size;
	return 0;
}

static int place_hotplug(const struct mv_config *cfg, struct layout *l, unsigned int i,
			 uint64_t *cursor, char *err, size_t errlen)
{
	const struct zone_config *z = &cfg->zones[i];
	uint64_t align = LAYOUT_HOTPLUG_ALIGN, gpa;
	char opt[CONFIG_ID_LEN + 24];

	layout_zone_opt(cfg, i, opt, sizeof(opt));
	if (z->block_size && !is_pow2(z->block_size)) {
		mv_errbuf(err, errlen, "%s: block_size=%" PRIu64 " is not a power of two", opt,
			  z->block_size);
		return -EINVAL;
	}
	if (!is_aligned(z->hotplug_size, MV_MAX(z->block_size, PAGE_4K))) {
		mv_errbuf(err, errlen, "%s: hotplug_size=%" PRIu64 " is not a multiple of the %s",
			  opt, z->hotplug_size, z->block_size ? "block_size" : "4K page size");
		return -EINVAL;
	}
	align = MV_MAX(align, z->block_size);
	align = MV_MAX(align, layout_zone_align(z));
	gpa = align_up(*cursor, align);
	if (gpa < *cursor || gpa > LAYOUT_MAX_GPA || z->hotplug_size > LAYOUT_MAX_GPA - gpa) {
		mv_errbuf(err, errlen,
			  "%s: hotplug_size=%" PRIu64
			  " puts the virtio-mem area above the 2^46 guest "
			  "physical address limit",
			  opt, z->hotplug_size);
		return -ERANGE;
	}
	l->zones[i].hotplug_gpa = gpa;
	l->zones[i].hotplug_size = z->hotplug_size;
	*cursor = gpa + z->hotplug_size;
	return add_region(l, LAYOUT_HOTPLUG, i, gpa, z->hotplug_size, 0);
}

/* --pmem i from *cursor on, at the next 128 MiB boundary. */
static int place_pmem(const struct mv_config *cfg, struct layout *l, unsigned int i,
		      uint64_t *cursor, char *err, size_t errlen)
{
	const struct pmem_config *p = &cfg->pmem[i];
	uint64_t gpa = align_up(*cursor, LAYOUT_PMEM_ALIGN);

	if (gpa < *cursor || gpa > LAYOUT_MAX_GPA || p->size > LAYOUT_MAX_GPA - gpa) {
		mv_errbuf(err, errlen,
			  OPT_NAME_PMEM " id=%s: size=%" PRIu64
					" puts the device above the 2^46 guest physical address "
					"limit",
			  p->id, p->size);
		return -ERANGE;
	}
	l->pmem[i] = (struct layout_pmem){gpa, p->size};
	*cursor = gpa + p->size;
	return 0;
}

static void add_e820(struct layout *l, uint64_t addr, uint64_t size, uint32_t type)
{
	struct layout_e820 *e;

	if (!size)
		return;
	e = l->nr_e820 ? &l->e820[l->nr_e820 - 1] : NULL;
	if (e && e->type == type && e->addr + e->size == addr) {
		e->size += size;
		return;
	}
	/* At most one RAM entry per zone plus the hole split and 3 fixed: cannot fill. */
	if (l->nr_e820 >= LAYOUT_MAX_E820)
		return;
	e = &l->e820[l->nr_e820++];
	e->addr = addr;
	e->size = size;
	e->type = type;
}

static void build_e820(struct layout *l)
{
	bool ecam_done = false;
	unsigned int i;

	add_e820(l, 0, LAYOUT_LOW_RAM_END, E820_RAM);
	add_e820(l, LAYOUT_LOW_RAM_END, LAYOUT_RESERVED_LOW_END - LAYOUT_LOW_RAM_END,
		 E820_RESERVED);
	for (i = 0; i < l->nr_regions; i++) {
		const struct layout_region *r = &l->regions[i];
		uint64_t base = r->gpa, end = r->gpa + r->size;

		if (r->kind != LAYOUT_RAM)
			continue;
		if (!ecam_done && base >= LAYOUT_HOLE_END) {
			add_e820(l, PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED);
			ecam_done = true;
		}
		base = MV_MAX(base, LAYOUT_RESERVED_LOW_END);
		if (end > base)
			add_e820(l, base, end - base, E820_RAM);
	}
	if (!ecam_done)
		add_e820(l, PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED);
}

int layout_build(const struct mv_config *cfg, struct layout *out, char *err, size_t errlen)
{
	uint64_t cursor = 0;
	unsigned int i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (cfg->nr_zones == 0 || cfg->nr_zones > CONFIG_MAX_ZONES) {
		mv_errbuf(err, errlen,
			  OPT_NAME_MEMORY ": no guest RAM zone (config not validated?)");
		return -EINVAL;
	}
	out->nr_zones = cfg->nr_zones;
	for (i = 0; i < cfg->nr_zones; i++) {
		ret = place_ram(cfg, out, i, &cursor, err, errlen);
		if (ret)
			return ret;
		out->zones[i].ram_size = cfg->zones[i].size;
		out->boot_ram += cfg->zones[i].size;
	}
	cursor = MV_MAX(out->ram_end, LAYOUT_HOLE_END);
	for (i = 0; i < cfg->nr_zones; i++) {
		if (!cfg->zones[i].hotplug_size)
			continue;
		ret = place_hotplug(cfg, out, i, &cursor, err, errlen);
		if (ret)
			return ret;
	}
	out->end = out->nr_regions ? out->regions[out->nr_regions - 1].gpa +
					 out->regions[out->nr_regions - 1].size
				   : 0;
	cursor = MV_MAX(out->end, LAYOUT_HOLE_END);
	for (i = 0; i < cfg->nr_pmem && i < CONFIG_MAX_PMEM; i++) {
		ret = place_pmem(cfg, out, i, &cursor, err, errlen);
		if (ret)
			return ret;
		out->nr_pmem = i + 1;
		out->end = cursor;
	}
	if (cfg->dimm_area) {
		uint64_t gpa = align_up(MV_MAX(out->end, LAYOUT_HOLE_END), LAYOUT_HOTPLUG_ALIGN);

		if (gpa > LAYOUT_MAX_GPA || cfg->dimm_area > LAYOUT_MAX_GPA - gpa) {
			mv_errbuf(err, errlen,
				  OPT_NAME_MEMORY ": hotplug_size: the DIMM area would end above "
						  "guest physical address 2^46");
			return -ERANGE;
		}
		out->dimm_gpa = gpa;
		out->dimm_size = cfg->dimm_area;
		out->end = gpa + cfg->dimm_area;
	}
	build_e820(out);
	return 0;
}

struct mtree_line {
	uint64_t base;
	uint64_t size;
	const char *kind;
	const struct layout_region *r;
	const char *name;
};

static int mtree_cmp(const void *a, const void *b)
{
	const struct mtree_line *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

void layout_format_mtree(const struct layout *l, const struct mv_config *cfg, FILE *out)
{
	static const struct {
		uint64_t base, size;
		const char *name;
	} fixed[] = {
	    {PCI_MMIO32_BASE, PCI_MMIO32_SIZE, "pci-mmio32"},
	    {PCI_ECAM_BASE, PCI_ECAM_SIZE, "pci-ecam"},
	    {LAYOUT_IOAPIC_BASE, LAYOUT_IOAPIC_SIZE, "ioapic"},
	    {LAYOUT_LAPIC_BASE, LAYOUT_LAPIC_SIZE, "lapic-msi"},
	};
	struct mtree_line lines[LAYOUT_MAX_REGIONS + CONFIG_MAX_PMEM + ARRAY_SIZE(fixed) + 1];
	unsigned int n = 0, i;

	for (i = 0; i < l->nr_regions; i++)
		lines[n++] =
		    (struct mtree_line){l->regions[i].gpa, l->regions[i].size,
					l->regions[i].kind == LAYOUT_RAM ? "ram" : "virtio-mem",
					&l->regions[i], cfg->zones[l->regions[i].zone].id};
	for (i = 0; i < l->nr_pmem; i++)
		lines[n++] = (struct mtree_line){l->pmem[i].gpa, l->pmem[i].size, "pmem", NULL,
						 cfg->pmem[i].id};
	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		lines[n++] =
		    (struct mtree_line){fixed[i].base, fixed[i].size, "i/o", NULL, fixed[i].name};
	if (l->dimm_size)
		lines[n++] =
		    (struct mtree_line){l->dimm_gpa, l->dimm_size, "container", NULL, "dimm-area"};
	qsort(lines, n, sizeof(lines[0]), mtree_cmp);

	fprintf(out, "address-space: memory\n");
	fprintf(out, "  0000000000000000-%016" PRIx64 " (prio 0, container): system\n",
		(uint64_t)MV_MAX(l->end, LAYOUT_HOLE_END) - 1);
	for (i = 0; i < n; i++) {
		const struct mtree_line *m = &lines[i];

		fprintf(out, "    %016" PRIx64 "-%016" PRIx64 " (prio 0, %s): %s", m->base,
			m->base + m->size - 1, m->kind, m->name);
		if (m->r && m->r->kind == LAYOUT_HOTPLUG)
			fprintf(out, "-hotplug");
		if (m->r)
			fprintf(out, " @%016" PRIx64, m->r->offset);
		fputc('\n', out);
	}
}

void layout_format_e820(const struct layout *l, FILE *out)
{
	unsigned int i;

	for (i = 0; i < l->nr_e820; i++)
		fprintf(out, "e820: [mem 0x%016" PRIx64 "-0x%016" PRIx64 "] %s\n", l->e820[i].addr,
			l->e820[i].addr + l->e820[i].size - 1,
			l->e820[i].type == E820_RAM ? "usable" : "reserved");
}
