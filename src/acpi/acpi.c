#include "acpi/acpi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acpi/aml.h"
#include "acpi/nfit.h"
#include "lib/util.h"

#define FADT_LEN 276

/* FADT flags and IA-PC boot architecture bits (ACPI 6.x, 5.2.9). */
#define FADT_F_PWR_BUTTON (1U << 4)
#define FADT_F_SLP_BUTTON (1U << 5)
#define FADT_F_RESET_REG  (1U << 10)
#define FADT_F_HW_REDUCED (1U << 20)
#define FADT_BOOT_NO_VGA  (1U << 2)
#define FADT_BOOT_NO_CMOS (1U << 5)

uint8_t acpi_sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

/* Header with a zero length; acpi_table_done() fills length and checksum. */
static void acpi_header(struct aml *t, const char *sig, uint8_t rev)
{
	aml_bytes(t, sig, 4);
	aml_le(t, 0, 4);
	aml_byte(t, rev);
	aml_byte(t, 0);
	aml_bytes(t, "MEMVSR", 6);
	aml_bytes(t, "MEMVISOR", 8);
	aml_le(t, 1, 4);
	aml_bytes(t, "MVSR", 4);
	aml_le(t, 1, 4);
}

static void acpi_table_done(struct aml *t)
{
	if (t->err)
		return;
	t->buf[4] = t->len;
	t->buf[5] = t->len >> 8;
	t->buf[6] = t->len >> 16;
	t->buf[7] = t->len >> 24;
	t->buf[ACPI_HDR_CHECKSUM] = 0;
	t->buf[ACPI_HDR_CHECKSUM] = -acpi_sum(t->buf, t->len);
}

/* Generic Address Structure for a byte-wide register in I/O space. */
static void acpi_gas_io8(struct aml *t, uint16_t port)
{
	aml_byte(t, 1); /* SystemIO */
	aml_byte(t, 8);
	aml_byte(t, 0);
	aml_byte(t, 1); /* byte access */
	aml_le(t, port, 8);
}

static void acpi_build_fadt(struct aml *t, uint64_t dsdt)
{
	size_t base = t->len;
	uint8_t *f;

	acpi_header(t, "FACP", 6);
	while (t->len < base + FADT_LEN)
		aml_byte(t, 0);
	if (t->err)
		return;
	f = t->buf + base;
	le_put(f + 40, dsdt < 4 * GiB ? dsdt : 0, 4);
	le_put(f + 109, FADT_BOOT_NO_VGA | FADT_BOOT_NO_CMOS, 2);
	le_put(f + 112,
	       FADT_F_HW_REDUCED | FADT_F_RESET_REG | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON, 4);
	/* Reset, sleep control and sleep status share the power device's port. */
	t->len = base + 116;
	acpi_gas_io8(t, ACPI_PM_PORT);
	t->len = base + FADT_LEN;
	f = t->buf + base;
	f[128] = ACPI_RESET_VAL;
	f[131] = 3; /* FADT minor version */
	le_put(f + 140, dsdt, 8);
	t->len = base + 244;
	acpi_gas_io8(t, ACPI_PM_PORT);
	acpi_gas_io8(t, ACPI_PM_PORT);
	memcpy(t->buf + base + 268, "MEMVISOR", 8);
	t->len = base + FADT_LEN;
}

static void acpi_build_madt(struct aml *t, const struct acpi_machine *m)
{
	unsigned int i;

	acpi_header(t, "APIC", 5);
	aml_le(t, LAYOUT_LAPIC_BASE, 4); /* local APIC address */
	aml_le(t, 0, 4);		 /* flags: no dual 8259 setup to do */
	for (i = 0; i < m->ncpus; i++) {
		aml_byte(t, 0); /* processor local APIC */
		aml_byte(t, 8);
		aml_byte(t, i); /* ACPI processor UID */
		aml_byte(t, i); /* APIC ID = KVM vcpu id */
		aml_le(t, 1, 4);
	}
	aml_byte(t, 1); /* I/O APIC */
	aml_byte(t, 12);
	aml_byte(t, 0);
	aml_byte(t, 0);
	aml_le(t, LAYOUT_IOAPIC_BASE, 4);
	aml_le(t, 0, 4);
}

static void acpi_dsdt_pci(struct aml *d, const struct acpi_machine *m)
{
	unsigned int slot;

	aml_open_device(d, "PC00");
	aml_name(d, "_HID");
	aml_eisaid(d, "PNP0A03");
	aml_name(d, "_ADR");
	aml_integer(d, 0);
	aml_name(d, "_SEG");
	aml_integer(d, 0);
	aml_name(d, "_UID");
	aml_integer(d, 0);
	aml_name(d, "_BBN");
	aml_integer(d, 0);
	if (m->numa) {
		/* The one PCI bus belongs to node 0 (as in Cloud Hypervisor). */
		aml_name(d, "_PXM");
		aml_integer(d, 0);
	}
	aml_name(d, "_CRS");
	aml_open_buffer(d);
	aml_res_word_bus(d, 0, 0);
	aml_res_io(d, PCI_CONFIG_PORT, 8);
	aml_res_word_io(d, 0x0000, PCI_CONFIG_PORT - 1);
	aml_res_word_io(d, PCI_IO_HIGH_BASE, 0xFFFF);
	aml_res_dword_mem(d, m->pci_mmio32_base, m->pci_mmio32_base + m->pci_mmio32_size - 1);
	aml_res_end(d);
	aml_close_buffer(d);
	/* Every slot's INTA goes to its own IOAPIC pin (level, active low). */
	aml_name(d, "_PRT");
	aml_open_package(d, m->pci_slots - 1);
	for (slot = 1; slot < m->pci_slots; slot++) {
		aml_open_package(d, 4);
		aml_integer(d, (uint64_t)slot << 16 | 0xFFFF);
		aml_integer(d, 0);
		aml_integer(d, 0);
		aml_integer(d, m->pci_gsi_base + slot % m->pci_gsi_num);
		aml_close(d);
	}
	aml_close(d);
	aml_close(d);
}

/*
 * Hardware-reduced ACPI has no fixed power button: a Generic Event Device
 * takes an interrupt and its _EVT notifies a control-method power button
 * (the host's system_powerdown pulses that interrupt).
 */
static void acpi_dsdt_power_button(struct aml *d, uint32_t gsi, uint32_t memhp_gsi)
{
	aml_open_device(d, "PWRB");
	aml_name(d, "_HID");
	aml_eisaid(d, "PNP0C0C");
	aml_name(d, "_UID");
	aml_integer(d, 0);
	aml_close(d);

	aml_open_device(d, "GED0");
	aml_name(d, "_HID");
	aml_string(d, "ACPI0013");
	aml_name(d, "_UID");
	aml_integer(d, 0);
	aml_name(d, "_CRS");
	aml_open_buffer(d);
	aml_res_interrupt_edge(d, gsi);
	if (memhp_gsi)
		aml_res_interrupt_edge(d, memhp_gsi);
	aml_res_end(d);
	aml_close_buffer(d);
	aml_open_method(d, "_EVT", 1);
	if (!memhp_gsi) {
		aml_notify(d, "PWRB", 0x80);
	} else {
		/* Arg0 is the GSI that fired. */
		aml_open_if(d);
		aml_op(d, AML_OP_LEQUAL);
		aml_arg(d, 0);
		aml_integer(d, gsi);
		aml_notify(d, "PWRB", 0x80);
		aml_close(d);
		aml_open_if(d);
		aml_op(d, AML_OP_LEQUAL);
		aml_arg(d, 0);
		aml_integer(d, memhp_gsi);
		aml_namestring(d, "\\_SB_.MHPC.MSCN");
		aml_close(d);
	}
	aml_close(d);
	aml_close(d);
}

/* Store(Arg0, MSEL) under the lock: the first lines of every per-slot method. */
static void acpi_memhp_select(struct aml *d)
{
	aml_acquire(d, "MLCK");
	aml_op(d, AML_OP_STORE);
	aml_arg(d, 0);
	aml_namestring(d, "MSEL");
}

/* Store(Or(ShiftLeft(HI, 32), LO), target): a 64-bit value from two registers. */
static void acpi_memhp_load64(struct aml *d, const char *hi, const char *lo, const char *target)
{
	aml_op(d, AML_OP_STORE);
	aml_op(d, AML_OP_OR);
	aml_op(d, AML_OP_SHIFT_LEFT);
	aml_namestring(d, hi);
	aml_integer(d, 32);
	aml_target_none(d);
	aml_namestring(d, lo);
	aml_target_none(d);
	aml_namestring(d, target);
}

/*
 * The memory-hotplug container: the register block as named fields, helper
 * methods that select a slot under one mutex (the GED's scan and the OSPM's
 * per-device calls run on different threads), the scan that turns the
 * insert/remove events into Notify(1) device check / Notify(3) eject request
 * (what Linux's acpi_memhotplug acts on), and one PNP0C80 device per slot.
 */
static void acpi_dsdt_memhp(struct aml *d, unsigned int nr_slots)
{
	static const char *const regs[] = {"MRBL", "MRBH", "MRLL", "MRLH", "MPXR"};
	char dev[5];
	unsigned int i;

	aml_open_device(d, "MHPC");
	aml_name(d, "_HID");
	aml_string(d, "PNP0A06");
	aml_name(d, "_UID");
	aml_string(d, "Memory hotplug");
	aml_name(d, "_CRS");
	aml_open_buffer(d);
	aml_res_io(d, MEMHP_PORT, MEMHP_LEN);
	aml_res_end(d);
	aml_close_buffer(d);
	aml_region_io(d, "MHPR", MEMHP_PORT, MEMHP_LEN);
	aml_open_field(d, "MHPR", AML_FIELD_DWORD | AML_FIELD_PRESERVE);
	for (i = 0; i < ARRAY_SIZE(regs); i++)
		aml_field_unit(d, regs[i], 32);
	aml_close(d);
	/* Status/control byte: reads status, writes control bits (others as zero). */
	aml_open_field(d, "MHPR", AML_FIELD_BYTE | AML_FIELD_WRITE_ZEROES);
	aml_field_skip(d, 8 * 0x14);
	aml_field_unit(d, "MES_", 1);
	aml_field_unit(d, "MINS", 1);
	aml_field_unit(d, "MRMV", 1);
	aml_field_unit(d, "MEJ_", 1);
	aml_close(d);
	aml_open_field(d, "MHPR", AML_FIELD_DWORD | AML_FIELD_PRESERVE);
	aml_field_unit(d, "MSEL", 32);
	aml_field_unit(d, "MOEV", 32);
	aml_field_unit(d, "MOSC", 32);
	aml_close(d);
	aml_mutex(d, "MLCK");

	/* MSTA(slot): 0x0F when enabled, else 0. */
	aml_open_method(d, "MSTA", 1);
	acpi_memhp_select(d);
	aml_op(d, AML_OP_STORE);
	aml_integer(d, 0);
	aml_local(d, 0);
	aml_open_if(d);
	aml_op(d, AML_OP_LEQUAL);
	aml_namestring(d, "MES_");
	aml_integer(d, 1);
	aml_op(d, AML_OP_STORE);
	aml_integer(d, 0x0F);
	aml_local(d, 0);
	aml_close(d);
	aml_release(d, "MLCK");
	aml_return(d);
	aml_local(d, 0);
	aml_close(d);

	/* MCRS(slot): a QWordMemory descriptor patched with the slot's range. */
	aml_open_method(d, "MCRS", 1 | 0x08 /* serialized: it creates a name */);
	acpi_memhp_select(d);
	aml_name(d, "MR64");
	aml_open_buffer(d);
	aml_res_qword_mem(d, 0, 0);
	aml_res_end(d);
	aml_close_buffer(d);
	/* Offsets of minimum, maximum and length in a QWord address descriptor. */
	aml_op_create_qword_field(d);
	aml_namestring(d, "MR64");
	aml_integer(d, 14);
	aml_namestring(d, "MINA");
	aml_op_create_qword_field(d);
	aml_namestring(d, "MR64");
	aml_integer(d, 22);
	aml_namestring(d, "MAXA");
	aml_op_create_qword_field(d);
	aml_namestring(d, "MR64");
	aml_integer(d, 38);
	aml_namestring(d, "LENA");
	acpi_memhp_load64(d, "MRBH", "MRBL", "MINA");
	acpi_memhp_load64(d, "MRLH", "MRLL", "LENA");
	aml_op(d, AML_OP_SUBTRACT);
	aml_op(d, AML_OP_ADD);
	aml_namestring(d, "MINA");
	aml_namestring(d, "LENA");
	aml_target_none(d);
	aml_integer(d, 1);
	aml_namestring(d, "MAXA");
	aml_release(d, "MLCK");
	aml_return(d);
	aml_namestring(d, "MR64");
	aml_close(d);

	/* MPXM(slot): the proximity domain. */
	aml_open_method(d, "MPXM", 1);
	acpi_memhp_select(d);
	aml_op(d, AML_OP_STORE);
	aml_namestring(d, "MPXR");
	aml_local(d, 0);
	aml_release(d, "MLCK");
	aml_return(d);
	aml_local(d, 0);
	aml_close(d);

	/* MOST(slot, event, status): _OST; the status write reports the pair. */
	aml_open_method(d, "MOST", 3);
	acpi_memhp_select(d);
	aml_op(d, AML_OP_STORE);
	aml_arg(d, 1);
	aml_namestring(d, "MOEV");
	aml_op(d, AML_OP_STORE);
	aml_arg(d, 2);
	aml_namestring(d, "MOSC");
	aml_release(d, "MLCK");
	aml_close(d);

	/* MEJ0(slot): the guest has offlined the memory; the host may take it. */
	aml_open_method(d, "MEJ0", 1);
	acpi_memhp_select(d);
	aml_op(d, AML_OP_STORE);
	aml_integer(d, 1);
	aml_namestring(d, "MEJ_");
	aml_release(d, "MLCK");
	aml_close(d);

	/* MSCN: every slot's pending insert or remove event, acknowledged as notified. */
	aml_open_method(d, "MSCN", 0);
	aml_acquire(d, "MLCK");
	for (i = 0; i < nr_slots; i++) {
		snprintf(dev, sizeof(dev), "MP%02X", i & 0xFFu);
		aml_op(d, AML_OP_STORE);
		aml_integer(d, i);
		aml_namestring(d, "MSEL");
		aml_open_if(d);
		aml_op(d, AML_OP_LEQUAL);
		aml_namestring(d, "MINS");
		aml_integer(d, 1);
		aml_notify(d, dev, 1); /* device check */
		aml_op(d, AML_OP_STORE);
		aml_integer(d, 1);
		aml_namestring(d, "MINS");
		aml_close(d);
		aml_open_if(d);
		aml_op(d, AML_OP_LEQUAL);
		aml_namestring(d, "MRMV");
		aml_integer(d, 1);
		aml_notify(d, dev, 3); /* eject request */
		aml_op(d, AML_OP_STORE);
		aml_integer(d, 1);
		aml_namestring(d, "MRMV");
		aml_close(d);
	}
	aml_release(d, "MLCK");
	aml_close(d);

	for (i = 0; i < nr_slots; i++) {
		snprintf(dev, sizeof(dev), "MP%02X", i & 0xFFu);
		aml_open_device(d, dev);
		aml_name(d, "_HID");
		aml_eisaid(d, "PNP0C80");
		aml_name(d, "_UID");
		aml_integer(d, i);
		aml_open_method(d, "_STA", 0);
		aml_return(d);
		aml_namestring(d, "MSTA");
		aml_integer(d, i);
		aml_close(d);
		aml_open_method(d, "_CRS", 0);
		aml_return(d);
		aml_namestring(d, "MCRS");
		aml_integer(d, i);
		aml_close(d);
		aml_open_method(d, "_PXM", 0);
		aml_return(d);
		aml_namestring(d, "MPXM");
		aml_integer(d, i);
		aml_close(d);
		aml_open_method(d, "_OST", 3);
		aml_namestring(d, "MOST");
		aml_integer(d, i);
		aml_arg(d, 0);
		aml_arg(d, 1);
		aml_close(d);
		aml_open_method(d, "_EJ0", 1);
		aml_namestring(d, "MEJ0");
		aml_integer(d, i);
		aml_close(d);
		aml_close(d);
	}
	aml_close(d);
}

static void acpi_build_dsdt(struct aml *t, const struct acpi_machine *m)
{
	struct aml d;

	acpi_header(t, "DSDT", 2);
	aml_init(&d);
	/* \_S5_: SLP_TYP 5, so the guest writes (5 << 2) | SLP_EN to power off. */
	aml_name(&d, "\\_S5_");
	aml_open_package(&d, 4);
	aml_integer(&d, ACPI_SLP_TYP_S5);
	aml_integer(&d, ACPI_SLP_TYP_S5);
	aml_integer(&d, 0);
	aml_integer(&d, 0);
	aml_close(&d);

	aml_open_scope(&d, "\\_SB_");
	aml_open_device(&d, "COM1");
	aml_name(&d, "_HID");
	aml_eisaid(&d, "PNP0501");
	aml_name(&d, "_UID");
	aml_integer(&d, 0);
	aml_name(&d, "_CRS");
	aml_open_buffer(&d);
	aml_res_io(&d, SERIAL_PORT, 8);
	aml_res_irq_noflags(&d, SERIAL_IRQ);
	aml_res_end(&d);
	aml_close_buffer(&d);
	aml_close(&d);
	/* pvpanic: the guest reports a panic by writing to this port. */
	aml_open_device(&d, "PEVT");
	aml_name(&d, "_HID");
	aml_string(&d, "QEMU0001");
	aml_name(&d, "_STA");
	aml_integer(&d, 0x0F);
	aml_name(&d, "_CRS");
	aml_open_buffer(&d);
	aml_res_io(&d, PVPANIC_PORT, 1);
	aml_res_end(&d);
	aml_close_buffer(&d);
	aml_close(&d);
	if (m->ged_gsi)
		acpi_dsdt_power_button(&d, m->ged_gsi, m->memhp_slots ? m->memhp_gsi : 0);
	if (m->memhp_slots)
		acpi_dsdt_memhp(&d, m->memhp_slots);
	if (m->pci_slots > 1)
		acpi_dsdt_pci(&d, m);
	if (m->nr_nvdimm)
		nfit_build_dsdt(&d, m);
	aml_close(&d);

	if (d.err || d.depth)
		t->err = d.err ? d.err : -EINVAL;
	else
		aml_bytes(t, d.buf, d.len);
	aml_free(&d);
}

static void acpi_build_srat(struct aml *t, const struct acpi_machine *m)
{
	unsigned int i;

	acpi_header(t, "SRAT", 3);
	aml_le(t, 1, 4); /* reserved, 1 for compatibility */
	aml_le(t, 0, 8);
	for (i = 0; i < m->ncpus; i++) {
		uint32_t pxm = m->cpu_node[i];

		aml_byte(t, 0); /* processor local APIC affinity */
		aml_byte(t, 16);
		aml_byte(t, pxm);
		aml_byte(t, i);	 /* APIC ID */
		aml_le(t, 1, 4); /* enabled */
		aml_byte(t, 0);
		aml_le(t, pxm >> 8, 3);
		aml_le(t, 0, 4);
	}
	for (i = 0; i < m->nr_mem; i++) {
		const struct acpi_mem_range *r = &m->mem[i];

		aml_byte(t, 1); /* memory affinity */
		aml_byte(t, 40);
		aml_le(t, r->node, 4);
		aml_le(t, 0, 2);
		aml_le(t, r->base, 8);
		aml_le(t, r->size, 8);
		aml_le(t, 0, 4);
		/* enabled, hot-pluggable, non-volatile */
		aml_le(t, 1 | (r->hotplug ? 2 : 0) | (r->nonvolatile ? 4 : 0), 4);
		aml_le(t, 0, 8);
	}
}

static void acpi_build_slit(struct aml *t, const struct acpi_machine *m)
{
	unsigned int i, j;

	acpi_header(t, "SLIT", 1);
	aml_le(t, m->nr_nodes, 8);
	for (i = 0; i < m->nr_nodes; i++)
		for (j = 0; j < m->nr_nodes; j++)
			aml_byte(t, m->distance[i][j]);
}

static int acpi_check(const struct acpi_machine *m)
{
	unsigned int i;

	if (!m->ncpus || m->ncpus > ACPI_MAX_CPUS || m->nr_mem > ACPI_MAX_MEM)
		return -EINVAL;
	if (m->pci_slots > 32 || (m->pci_slots > 1 && !m->pci_gsi_num))
		return -EINVAL;
	if (m->numa && (!m->nr_nodes || m->nr_nodes > ACPI_MAX_NODES))
		return -EINVAL;
	/* The scan runs from the GED, on a line of its own. */
	if (m->memhp_slots > ACPI_MAX_MEMHP_SLOTS ||
	    (m->memhp_slots && (!m->ged_gsi || !m->memhp_gsi || m->memhp_gsi == m->ged_gsi)))
		return -EINVAL;
	for (i = 0; i < m->nr_mem; i++)
		if (!range_ok(m->mem[i].base, m->mem[i].size))
			return -EINVAL;
	if (m->nr_nvdimm > ACPI_MAX_NVDIMM)
		return -EINVAL;
	for (i = 0; i < m->nr_nvdimm; i++)
		if (!m->nvdimm[i].size || !range_ok(m->nvdimm[i].base, m->nvdimm[i].size))
			return -EINVAL;
	return 0;
}

/* What the table builders need besides the machine: addresses of earlier tables. */
struct acpi_ctx {
	const struct acpi_machine *m;
	uint64_t dsdt;
	uint64_t xsdt_entries[8];
	unsigned int nx;
};

static void acpi_build_xsdt(struct aml *t, const struct acpi_ctx *c)
{
	unsigned int i;

	acpi_header(t, "XSDT", 1);
	for (i = 0; i < c->nx; i++)
		aml_le(t, c->xsdt_entries[i], 8);
}

enum acpi_table {
	ACPI_DSDT,
	ACPI_FADT,
	ACPI_MADT,
	ACPI_SRAT,
	ACPI_SLIT,
	ACPI_XSDT,
	ACPI_NFIT,
};

static void acpi_build_one(struct aml *t, enum acpi_table which, const struct acpi_ctx *c)
{
	switch (which) {
	case ACPI_DSDT:
		acpi_build_dsdt(t, c->m);
		break;
	case ACPI_FADT:
		acpi_build_fadt(t, c->dsdt);
		break;
	case ACPI_MADT:
		acpi_build_madt(t, c->m);
		break;
	case ACPI_SRAT:
		acpi_build_srat(t, c->m);
		break;
	case ACPI_SLIT:
		acpi_build_slit(t, c->m);
		break;
	case ACPI_XSDT:
		acpi_build_xsdt(t, c);
		break;
	case ACPI_NFIT:
		acpi_header(t, "NFIT", 1);
		nfit_build_body(t, c->m);
		break;
	}
}

/* Appends one finished table, 16-byte aligned; returns its guest address. */
static uint64_t acpi_append(struct aml *all, uint64_t gpa, enum acpi_table which,
			    const struct acpi_ctx *c)
{
	size_t start = align_up(all->len, 16);
	struct aml one;

	while (all->len < start)
		aml_byte(all, 0);
	aml_init(&one);
	acpi_build_one(&one, which, c);
	acpi_table_done(&one);
	if (one.err)
		all->err = one.err;
	else
		aml_bytes(all, one.buf, one.len);
	aml_free(&one);
	return gpa + start;
}

int acpi_build(const struct acpi_machine *m, uint64_t gpa, uint8_t *buf, size_t cap,
	       uint64_t *rsdp_gpa, size_t *used)
{
	struct acpi_ctx c = {.m = m};
	uint64_t xsdt;
	struct aml t;
	uint8_t *rsdp;
	int ret;

	ret = acpi_check(m);
	if (ret)
		return ret;
	aml_init(&t);
	/* RSDP first, 16-byte aligned as the legacy scan requires; filled last. */
	while (t.len < 48)
		aml_byte(&t, 0);
	c.dsdt = acpi_append(&t, gpa, ACPI_DSDT, &c);
	c.xsdt_entries[c.nx++] = acpi_append(&t, gpa, ACPI_FADT, &c);
	c.xsdt_entries[c.nx++] = acpi_append(&t, gpa, ACPI_MADT, &c);
	if (m->numa) {
		c.xsdt_entries[c.nx++] = acpi_append(&t, gpa, ACPI_SRAT, &c);
		c.xsdt_entries[c.nx++] = acpi_append(&t, gpa, ACPI_SLIT, &c);
	}
	if (m->nr_nvdimm)
		c.xsdt_entries[c.nx++] = acpi_append(&t, gpa, ACPI_NFIT, &c);
	xsdt = acpi_append(&t, gpa, ACPI_XSDT, &c);

	ret = t.err;
	if (!ret && t.len > cap)
		ret = -ENOSPC;
	if (ret)
		goto out;
	rsdp = t.buf;
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "MEMVSR", 6);
	rsdp[15] = 2; /* revision: ACPI 2.0+, XSDT */
	le_put(rsdp + 20, 36, 4);
	le_put(rsdp + 24, xsdt, 8);
	rsdp[8] = -acpi_sum(rsdp, 20);
	rsdp[32] = -acpi_sum(rsdp, 36);
	memcpy(buf, t.buf, t.len);
	*rsdp_gpa = gpa;
	*used = t.len;
out:
	aml_free(&t);
	return ret;
}
