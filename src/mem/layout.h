/*
 * layout: where guest RAM, the virtio-mem areas and the fixed devices sit in
 * guest physical address space, and the e820 map handed to the kernel.
 *
 * Pure: computed from a validated config only, nothing acquired. Boot RAM of
 * the zones is packed from GPA 0 in zone order (each zone's start aligned to
 * 2 MiB, or to its hugepage size, so THP and hugetlb pages line up with guest
 * pages); RAM stops at the 32-bit PCI hole and continues at 4 GiB, so a zone
 * can become two regions. Every virtio-mem area sits above all RAM, 1 GiB
 * aligned, and nothing may end above 2^46 (a guest MAXPHYADDR every x86 host
 * we care about offers). Persistent memory (--pmem) comes above every
 * virtio-mem area, each device's start aligned to 128 MiB: Linux maps it
 * with devm_memremap_pages, which needs 2 MiB (a subsection) at least, and a
 * range that starts on a 128 MiB memory section shares no section with RAM
 * or another device (README, "Persistent memory"). The ACPI DIMM area comes
 * last (1 GiB aligned, never in e820: each DIMM is its own slot).
 */
#ifndef MV_MEM_LAYOUT_H
#define MV_MEM_LAYOUT_H

#include <stdint.h>
#include <stdio.h>

#include "arch/x86/boot.h"
#include "config/config.h"
#include "arch/x86/memmap.h"

#define LAYOUT_MAX_GPA	      (1ULL << 46)
#define LAYOUT_HOTPLUG_ALIGN  (1ULL << 30)
#define LAYOUT_ZONE_ALIGN     (2ULL << 20)
#define LAYOUT_MIN_ZONE0_SIZE LAYOUT_RESERVED_LOW_END
#define LAYOUT_PMEM_ALIGN     (128ULL << 20)

/* A zone gives at most two RAM regions (split by the hole) and one area. */
#define LAYOUT_MAX_REGIONS (3 * CONFIG_MAX_ZONES)
/* RAM entries between zones only when alignment leaves gaps; Linux takes 128. */
#define LAYOUT_MAX_E820 (CONFIG_MAX_ZONES + 8)

enum layout_kind {
	LAYOUT_RAM,	/* boot RAM, in e820 */
	LAYOUT_HOTPLUG, /* a virtio-mem device region, never in e820 */
};

struct layout_region {
	enum layout_kind kind;
	unsigned int zone; /* index in cfg->zones */
	uint64_t gpa;
	uint64_t size;
	uint64_t offset; /* within the zone's host mapping (boot RAM or hotplug) */
};

struct layout_zone {
	uint64_t ram_gpa; /* first boot RAM byte; meaningless when ram_size is 0 */
	uint64_t ram_size;
	uint64_t hotplug_gpa; /* 0 when the zone has no virtio-mem device */
	uint64_t hotplug_size;
};

/* One --pmem device's range; never in e820 (the device's config announces it). */
struct layout_pmem {
	uint64_t gpa;
	uint64_t size;
};

/* E820_RAM and E820_RESERVED come from the boot protocol's header. */

struct layout_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct layout {
	struct layout_region regions[LAYOUT_MAX_REGIONS]; /* sorted by gpa */
	unsigned int nr_regions;
	struct layout_zone zones[CONFIG_MAX_ZONES];
	unsigned int nr_zones;
	struct layout_e820 e820[LAYOUT_MAX_E820]; /* sorted, boot RAM only */
	unsigned int nr_e820;
	uint64_t low_ram_end;			  /* end of RAM below the hole */
	uint64_t ram_end;			  /* end of the highest RAM region */
	struct layout_pmem pmem[CONFIG_MAX_PMEM]; /* indexed like cfg->pmem */
	unsigned int nr_pmem;
	uint64_t end;	   /* end of everything (RAM, virtio-mem areas, pmem, DIMMs) */
	uint64_t boot_ram; /* sum of the zones' boot RAM */
	/* The ACPI DIMM area (cfg->dimm_area) above everything else, 1 GiB aligned; 0: none. */
	uint64_t dimm_gpa;
	uint64_t dimm_size;
};

/*
 * Build the layout of a validated config. -EINVAL (zone 0 under 1 MiB, size
 * not 4 KiB aligned) or -ERANGE (above 2^46), with one line in err naming the
 * option.
 */
int layout_build(const struct mv_config *cfg, struct layout *out, char *err, size_t errlen);

/*
 * The option a zone came from, for messages: "--memory" when plain --memory
 * was normalized into zone mem0 (cfg->memory.size != 0), else
 * "--memory-zone id=<id>".
 */
void layout_zone_opt(const struct mv_config *cfg, unsigned int zone, char *buf, size_t len);

/* Alignment of a zone's start GPA: its hugepage size, at least 2 MiB. */
uint64_t layout_zone_align(const struct zone_config *z);

/* A QEMU `info mtree`-like view of the guest physical address space. */
void layout_format_mtree(const struct layout *l, const struct mv_config *cfg, FILE *out);
/* The e820 map, one entry a line. */
void layout_format_e820(const struct layout *l, FILE *out);

#endif
