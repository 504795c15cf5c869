/*
 * nfit: the ACPI description of the machine's NVDIMMs (--pmem model=nvdimm).
 *
 * Two pure builders over struct acpi_machine's nvdimm list, called by
 * acpi_build(): the NFIT table body (per NVDIMM one SPA range structure with
 * the persistent-memory GUID, one memory-device-to-SPA map structure and one
 * control region structure; ACPI 6.x 5.2.25) and, inside \_SB, the NVDIMM
 * root device (ACPI0012) with one child per NVDIMM whose _ADR is its NFIT
 * device handle, which is how Linux's nfit driver pairs the two. No _DSM:
 * there is no label area, so the guest sees one raw namespace per NVDIMM.
 */
#ifndef MV_ACPI_NFIT_H
#define MV_ACPI_NFIT_H

#include <stdint.h>

#include "acpi/acpi.h"
#include "acpi/aml.h"

/* Sizes of the NFIT structures (ACPI 6.x, 5.2.25.2 to 5.2.25.5). */
#define NFIT_HDR_LEN  40 /* SDT header and 4 reserved bytes */
#define NFIT_SPA_LEN  56
#define NFIT_MAP_LEN  48
#define NFIT_DCR_LEN  80
#define NFIT_PER_DIMM (NFIT_SPA_LEN + NFIT_MAP_LEN + NFIT_DCR_LEN)

/* Structure types. */
#define NFIT_TYPE_SPA 0
#define NFIT_TYPE_MAP 1
#define NFIT_TYPE_DCR 4

/* SPA range flags and address range memory mapping attributes (UEFI). */
#define NFIT_SPA_F_PXM_VALID (1U << 1)
#define NFIT_EFI_MEMORY_WB   0x8ULL
#define NFIT_EFI_MEMORY_NV   0x8000ULL

/* Byte-addressable persistent memory, no energy source (NFIT region format interface code). */
#define NFIT_FIC_BYTEN 0x0301

/* The persistent-memory address range type GUID in its on-table byte order. */
extern const uint8_t nfit_pm_guid[16];

/* NFIT device handle of the NVDIMM at index i of the machine (never 0). */
uint32_t nfit_handle(unsigned int i);

/*
 * Appends the NFIT after the SDT header the caller wrote (the caller's
 * acpi_table_done() sets length and checksum). Proximity domains are marked
 * valid only when the machine has SRAT (m->numa).
 */
void nfit_build_body(struct aml *t, const struct acpi_machine *m);

/* Appends Device (NVDR) with its children to an open \_SB scope. */
void nfit_build_dsdt(struct aml *d, const struct acpi_machine *m);

#endif
