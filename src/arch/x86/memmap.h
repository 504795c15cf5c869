/*
 * memmap: the PC's fixed map, every guest-physical address, I/O port and
 * interrupt line that does not depend on the configuration, each defined here
 * and nowhere else. Modules take them from here (mem/layout keeps RAM out of
 * the fixed ranges, devices register at them, acpi describes them, the boot
 * code writes its structures at them).
 *
 * Pure constants; includes nothing. The KVM probe (core/kvm_probe) runs its
 * own throwaway guest with its own addresses and is not part of this map.
 */
#ifndef MV_ARCH_X86_MEMMAP_H
#define MV_ARCH_X86_MEMMAP_H

/* --- Low 1 MiB ------------------------------------------------------------ */
#define X86_BOOT_GDT	 0x500ULL /* boot GDT, then IDT, of the 64-bit entry */
#define X86_BOOT_IDT	 0x520ULL
#define X86_BOOT_PARAMS	 0x7000ULL /* the zero page (struct boot_params) */
#define X86_BOOT_STACK	 0x8FF0ULL
#define X86_BOOT_PML4	 0x9000ULL /* identity page tables start here */
#define X86_BOOT_CMDLINE 0x20000ULL
/* RAM up to the EBDA, then reserved up to 1 MiB. */
#define LAYOUT_LOW_RAM_END	0x9FC00ULL /* end of the first e820 RAM entry */
#define LAYOUT_ACPI_BASE	0x9FC00ULL /* [BASE, END): reserved for firmware tables */
#define LAYOUT_ACPI_END		0xE0000ULL
#define LAYOUT_RSDP_ADDR	0xE0000ULL  /* in the BIOS area Linux scans for "RSD PTR " */
#define X86_RESET_VECTOR	0xFFFF0ULL  /* the reboot stub; ACPI tables end below it */
#define LAYOUT_RESERVED_LOW_END 0x100000ULL /* reserved [LOW_RAM_END, 1 MiB) */
#define X86_KERNEL_LOAD		0x100000ULL /* protected-mode kernel */
/* The ACPI tables: from the RSDP up to the reset vector. */
#define MEMMAP_ACPI_BASE LAYOUT_RSDP_ADDR
#define MEMMAP_ACPI_SIZE (X86_RESET_VECTOR - LAYOUT_RSDP_ADDR)

/* --- The hole below 4 GiB --------------------------------------------------- */
#define PCI_MMIO32_BASE	   0xC0000000ULL /* 32-bit BARs; the hole starts here */
#define PCI_MMIO32_SIZE	   0x20000000ULL /* up to the ECAM */
#define PCI_ECAM_BASE	   0xE0000000ULL
#define PCI_ECAM_SIZE	   0x00100000ULL /* bus 0 only */
#define LAYOUT_IOAPIC_BASE 0xFEC00000ULL
#define LAYOUT_IOAPIC_SIZE 0x1000ULL
#define LAYOUT_LAPIC_BASE  0xFEE00000ULL
#define LAYOUT_LAPIC_SIZE  0x100000ULL /* the local APIC page and the MSI window */
/* KVM's private pages for Intel VMX (real-mode TSS, identity map), below the BIOS. */
#define X86_IDENTITY_ADDR 0xFFFBC000ULL
#define X86_TSS_ADDR	  0xFFFBD000ULL
#define LAYOUT_HOLE_BASE  PCI_MMIO32_BASE
#define LAYOUT_HOLE_END	  0x100000000ULL

/* --- I/O ports ---------------------------------------------------------------- */
#define I8042_PORT   0x60 /* the 8042's data..command range, 5 ports (reset line) */
#define SERIAL_PORT  0x3F8
#define PVPANIC_PORT 0x505
/* The ACPI sleep control/status and reset registers (FADT); the reboot stub
 * at X86_RESET_VECTOR writes ACPI_RESET_VAL here too. */
#define ACPI_PM_PORT	0x600
#define ACPI_RESET_VAL	0x01
#define PCI_CONFIG_PORT 0xCF8 /* 0xCF8 address latch, 0xCFC-0xCFF data: 8 ports */
/* ACPI memory hotplug registers (devices/memhp), QEMU's port and layout: 24 ports. */
#define MEMHP_PORT 0x0A00
#define MEMHP_LEN  24
/* The PCI host bridge decodes every port but its config ports: below them and from here up. */
#define PCI_IO_HIGH_BASE 0x0D00

/* --- Interrupt lines (GSIs) ---------------------------------------------------- */
#define SERIAL_IRQ	  4
#define MEMHP_GSI	  5  /* the GED's memory-hotplug interrupt (free ISA line) */
#define POWER_BUTTON_GSI  6  /* the GED's interrupt (an ISA line nothing else uses) */
#define PCI_INTX_GSI_BASE 16 /* slot n's INTA is GSI 16 + n % 8 */
#define PCI_INTX_GSI_NUM  8

#endif
