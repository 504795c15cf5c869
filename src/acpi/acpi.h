/*
 * acpi: the machine's ACPI tables (hardware-reduced ACPI 6).
 *
 * acpi_build() is a pure function of the machine description: it lays out
 * RSDP, XSDT, FADT, DSDT, MADT, with guest NUMA SRAT and SLIT, with
 * NVDIMMs NFIT (acpi/nfit.h), into a
 * buffer that the caller copies to guest physical address `gpa` (inside the
 * e820-reserved area below 1 MiB). Checksums and links are final.
 */
#ifndef MV_ACPI_ACPI_H
#define MV_ACPI_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/x86/memmap.h"

#define ACPI_MAX_CPUS	256
#define ACPI_MAX_MEM	160
#define ACPI_MAX_NODES	64
#define ACPI_MAX_NVDIMM 8
/* Memory-hotplug slots (PNP0C80 devices MP00..MPFF). */
#define ACPI_MAX_MEMHP_SLOTS 256

/* I/O port of the sleep control/status and reset registers (FADT). */
#define ACPI_SLP_TYP_S5 5
#define ACPI_SLP_EN	0x20

struct acpi_mem_range {
	uint64_t base;
	uint64_t size;
	uint32_t node;
	bool hotplug;
	bool nonvolatile; /* persistent memory (--pmem): SRAT's non-volatile flag */
};

/* One NVDIMM (--pmem model=nvdimm): NFIT structures and a DSDT device (acpi/nfit.c). */
struct acpi_nvdimm {
	uint64_t base;
	uint64_t size;
	uint32_t node;
};

struct acpi_machine {
	unsigned int ncpus; /* APIC ID i for vCPU i */
	uint32_t cpu_node[ACPI_MAX_CPUS];
	/* Guest NUMA: SRAT/SLIT are emitted only when numa is set. */
	bool numa;
	unsigned int nr_nodes;
	uint32_t node_ids[ACPI_MAX_NODES];		  /* proximity domains */
	uint8_t distance[ACPI_MAX_NODES][ACPI_MAX_NODES]; /* indexed like node_ids */
	struct acpi_mem_range mem[ACPI_MAX_MEM];
	unsigned int nr_mem;
	/* PCI bus 0: INTx GSI of each slot (0: no device) for the _PRT. */
	unsigned int pci_slots;
	uint32_t pci_gsi_base;
	uint32_t pci_gsi_num;
	uint64_t pci_mmio32_base;
	uint64_t pci_mmio32_size;
	/* Generic Event Device raising the power button on this GSI (0: none). */
	uint32_t ged_gsi;
	/*
	 * ACPI memory hotplug (DIMMs): memhp_slots PNP0C80 devices (0: none)
	 * backed by the devices/memhp registers at MEMHP_PORT; the GED also
	 * takes memhp_gsi, on which it runs the slot scan. Needs ged_gsi.
	 */
	unsigned int memhp_slots;
	uint32_t memhp_gsi;
	/* NVDIMMs: an NFIT and the ACPI0012 root device are emitted when nr_nvdimm > 0. */
	struct acpi_nvdimm nvdimm[ACPI_MAX_NVDIMM];
	unsigned int nr_nvdimm;
};

/* Offsets inside the SDT header. */
#define ACPI_HDR_LEN	  36
#define ACPI_HDR_CHECKSUM 9

/*
 * Builds every table into buf (cap bytes, to be placed at gpa). On success
 * *rsdp_gpa is the RSDP's address and *used the bytes written. -ENOSPC when
 * cap is too small, -EINVAL for a description that cannot be encoded.
 */
int acpi_build(const struct acpi_machine *m, uint64_t gpa, uint8_t *buf, size_t cap,
	       uint64_t *rsdp_gpa, size_t *used);

/* Sum of bytes, mod 256 (a valid table sums to 0). */
uint8_t acpi_sum(const void *p, size_t len);

#endif
