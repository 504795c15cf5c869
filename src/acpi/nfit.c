#include "acpi/nfit.h"

#include <stdio.h>

/* 66F0D379-B4F3-4074-AC43-0D3318B78CDB: first three fields little-endian. */
const uint8_t nfit_pm_guid[16] = {0x79, 0xD3, 0xF0, 0x66, 0xF3, 0xB4, 0x74, 0x40,
				  0xAC, 0x43, 0x0D, 0x33, 0x18, 0xB7, 0x8C, 0xDB};

uint32_t nfit_handle(unsigned int i)
{
	/* DIMM number in the handle's low bits, from 1: 0 would read as "no handle". */
	return i + 1;
}

static void nfit_spa(struct aml *t, const struct acpi_machine *m, unsigned int i)
{
	const struct acpi_nvdimm *n = &m->nvdimm[i];

	aml_le(t, NFIT_TYPE_SPA, 2);
	aml_le(t, NFIT_SPA_LEN, 2);
	aml_le(t, i + 1, 2); /* SPA range structure index (0 is reserved) */
	aml_le(t, m->numa ? NFIT_SPA_F_PXM_VALID : 0, 2);
	aml_le(t, 0, 4);
	aml_le(t, m->numa ? n->node : 0, 4);
	aml_bytes(t, nfit_pm_guid, sizeof(nfit_pm_guid));
	aml_le(t, n->base, 8);
	aml_le(t, n->size, 8);
	aml_le(t, NFIT_EFI_MEMORY_WB | NFIT_EFI_MEMORY_NV, 8);
}

/* The whole range is one region of one NVDIMM, not interleaved. */
static void nfit_map(struct aml *t, const struct acpi_machine *m, unsigned int i)
{
	aml_le(t, NFIT_TYPE_MAP, 2);
	aml_le(t, NFIT_MAP_LEN, 2);
	aml_le(t, nfit_handle(i), 4);
	aml_le(t, i, 2);     /* NVDIMM physical id */
	aml_le(t, 0, 2);     /* region id */
	aml_le(t, i + 1, 2); /* SPA range structure index */
	aml_le(t, i + 1, 2); /* control region structure index */
	aml_le(t, m->nvdimm[i].size, 8);
	aml_le(t, 0, 8); /* region offset */
	aml_le(t, 0, 8); /* physical address of the region on the DIMM */
	aml_le(t, 0, 2); /* no interleave structure */
	aml_le(t, 1, 2); /* interleave ways */
	aml_le(t, 0, 2); /* state flags: nothing wrong */
	aml_le(t, 0, 2);
}

/* Identification only: no block control windows, so the rest stays zero. */
static void nfit_dcr(struct aml *t, unsigned int i)
{
	aml_le(t, NFIT_TYPE_DCR, 2);
	aml_le(t, NFIT_DCR_LEN, 2);
	aml_le(t, i + 1, 2);  /* control region structure index */
	aml_le(t, 0x1af4, 2); /* vendor id (the virtio vendor, as a made-up part) */
	aml_le(t, 0x0001, 2); /* device id */
	aml_le(t, 1, 2);      /* revision id */
	aml_le(t, 0x1af4, 2); /* subsystem vendor, device, revision */
	aml_le(t, 0x0001, 2);
	aml_le(t, 1, 2);
	aml_byte(t, 0);		       /* valid fields: manufacturing location/date not given */
	aml_byte(t, 0);		       /* manufacturing location */
	aml_le(t, 0, 2);	       /* manufacturing date */
	aml_le(t, 0, 2);	       /* reserved */
	aml_le(t, 0x4d560000U + i, 4); /* serial number: "MV" and the index, unique per DIMM */
	aml_le(t, NFIT_FIC_BYTEN, 2);
	aml_le(t, 0, 2); /* block control windows */
	/* Window size, command and status register offsets and sizes: unused. */
	for (unsigned int k = 0; k < 5; k++)
		aml_le(t, 0, 8);
	aml_le(t, 0, 2); /* control region flags */
	aml_le(t, 0, 6); /* reserved */
}

void nfit_build_body(struct aml *t, const struct acpi_machine *m)
{
	unsigned int i;

	aml_le(t, 0, 4); /* reserved */
	for (i = 0; i < m->nr_nvdimm; i++) {
		nfit_spa(t, m, i);
		nfit_map(t, m, i);
		nfit_dcr(t, i);
	}
}

void nfit_build_dsdt(struct aml *d, const struct acpi_machine *m)
{
	char name[8];
	unsigned int i;

	aml_open_device(d, "NVDR");
	aml_name(d, "_HID");
	aml_string(d, "ACPI0012");
	for (i = 0; i < m->nr_nvdimm; i++) {
		snprintf(name, sizeof(name), "NV%02X", i & 0xFF);
		aml_open_device(d, name);
		aml_name(d, "_ADR");
		aml_integer(d, nfit_handle(i));
		aml_close(d);
	}
	aml_close(d);
}
