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
 * we care about offers).
 */
#ifndef MV_MEM_LAYOUT_H
#define MV_MEM_LAYOUT_H

#include <stdint.h>
#include <stdio.h>

#include "arch/x86/boot.h"
#include "config/config.h"
#include "devices/pci.h"

/* Low 1 MiB: RAM up to the EBDA, then reserved up to 1 MiB. */
#define LAYOUT_LOW_RAM_END	0x9FC00ULL /* end of the first e820 RAM entry */
#define LAYOUT_ACPI_BASE	0x9FC00ULL /* ACPI tables go in [BASE, END) of zone 0 */
#define LAYOUT_ACPI_END		0xE0000ULL
#define LAYOUT_RSDP_ADDR	0xE0000ULL  /* in the BIOS area Linux scans for "RSD PTR " */
#define LAYOUT_RESERVED_LOW_END 0x100000ULL /* reserved [LOW_RAM_END, 1 MiB) */

/* The hole below 4 GiB. */
#define LAYOUT_HOLE_BASE   PCI_MMIO32_BASE
#define LAYOUT_HOLE_END	   0x100000000ULL
#define LAYOUT_IOAPIC_BASE 0xFEC00000ULL
#define LAYOUT_IOAPIC_SIZE 0x1000ULL
#define LAYOUT_LAPIC_BASE  0xFEE00000ULL
#define LAYOUT_LAPIC_SIZE  0x100000ULL /* the local APIC page and the MSI window */

#define LAYOUT_MAX_GPA	      (1ULL << 46)
#define LAYOUT_HOTPLUG_ALIGN  (1ULL << 30)
#define LAYOUT_ZONE_ALIGN     (2ULL << 20)
#define LAYOUT_MIN_ZONE0_SIZE LAYOUT_RESERVED_LOW_END

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
	uint64_t low_ram_end; /* end of RAM below the hole */
	uint64_t ram_end;     /* end of the highest RAM region */
	uint64_t end;	      /* end of everything (RAM and virtio-mem areas) */
	uint64_t boot_ram;    /* sum of the zones' boot RAM */
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
