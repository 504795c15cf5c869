/*
 * machine: the PC that memvisor builds around a VM: guest RAM, the legacy
 * devices (UART, power), PCI with its virtio devices, ACPI tables and the
 * Linux boot. main() calls the steps in order; each step validates before it
 * acquires and undoes itself on failure.
 */
#ifndef MV_CORE_MACHINE_H
#define MV_CORE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <termios.h>

#include "api/api.h"
#include "api/server.h"
#include "arch/x86/boot.h"
#include "config/config.h"
#include "core/loop.h"
#include "core/vm.h"
#include "devices/pci.h"
#include "devices/power.h"
#include "devices/serial.h"
#include "mem/backend.h"
#include "mem/hotplug.h"
#include "mem/layout.h"
#include "virtio/mem.h"
#include "virtio/pci.h"
#include "virtio/rng.h"

/* ACPI tables from the RSDP up to the reset-vector stub, in e820-reserved memory. */
#define MACHINE_ACPI_BASE LAYOUT_RSDP_ADDR
#define MACHINE_ACPI_SIZE (X86_RESET_VECTOR - LAYOUT_RSDP_ADDR)
#define MACHINE_MAX_RAM	  (CONFIG_MAX_ZONES * 2)

/* The host side of one zone's virtio-mem region. */
struct machine_hotplug {
	struct machine *m;
	unsigned int zone;
	struct backend *backend;
	struct hp_region hp;
	bool hp_up;
	struct vmem dev;
	bool dev_up;
	struct virtio_pci pci;
	bool pci_up;
	uint64_t size_changed_ms;      /* loop_now_ms() of the last plugged-size change */
	uint64_t requested_changed_ms; /* ... and of the last requested-size change */
};

/* One piece of boot RAM as the guest sees it and where the host keeps it. */
struct machine_ram {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint32_t slot;
};

struct machine {
	struct mv_config *cfg;
	struct loop loop;
	struct vm vm;
	bool vm_created;
	struct serial serial;
	bool serial_up;
	int serial_out_fd;
	struct power power;
	bool power_up;
	struct pci_host pci;
	bool pci_up;
	struct vrng rng;
	struct virtio_pci rng_pci;
	bool rng_up;

	/* guest RAM */
	struct layout layout;
	struct backend_spec specs[BACKEND_MAX];
	struct backend backends[BACKEND_MAX];
	unsigned int nr_backends;
	struct machine_hotplug hotplug[CONFIG_MAX_ZONES];
	unsigned int nr_hotplug;
	struct machine_ram ram[MACHINE_MAX_RAM];
	unsigned int nr_ram;
	uint64_t low_ram_end;
	struct x86_e820 e820[X86_E820_MAX];
	unsigned int nr_e820;

	/* boot images, kept for reboots */
	uint8_t *kernel;
	size_t kernel_len;
	uint8_t *initrd;
	size_t initrd_len;
	uint64_t rsdp;
	uint64_t min_low_ram; /* what kernel and initramfs need below the PCI hole */

	/* control socket */
	struct api_backend api_be;
	struct api api;
	bool api_up;
	struct api_server *api_srv;

	struct loop_watch vm_event_w;
	struct loop_watch signal_w;
	int exit_code;
	unsigned int boots;

	struct termios saved_tio;
	bool tio_saved;
};

/* --dry-run: print the guest memory map and its host backing; acquires nothing. */
int machine_dry_run(struct mv_config *cfg, FILE *out);

/* Each step returns 0 or -errno after printing one line naming the problem. */
int machine_load_images(struct machine *m, struct mv_config *cfg);
int machine_create_memory(struct machine *m);
int machine_create_vm(struct machine *m);
int machine_map_memory(struct machine *m);
int machine_create_devices(struct machine *m);
int machine_boot(struct machine *m);
/* Runs until the guest powers off, fails, or memvisor is told to stop; returns the exit status. */
int machine_run(struct machine *m);
void machine_destroy(struct machine *m);
/* Guest or host reboot: vCPUs stopped, devices to power-on state, kernel loaded anew. */
int machine_reset(struct machine *m);
/* The backend of a zone's boot RAM or of its virtio-mem region; NULL if none. */
struct backend *machine_zone_backend(struct machine *m, unsigned int zone, bool hotplug);

#endif
