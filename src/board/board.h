/*
 * board: the PC that memvisor builds around a VM: guest RAM (board/memory),
 * the devices (board/devices: UART, power, PCI with its virtio devices),
 * firmware (board/firmware: ACPI tables, NUMA, the Linux boot), the run
 * (board/run) and the API's view (board/backend). The top floor: nothing in
 * src/ but main.c includes it (ARCHITECTURE.md, "Floors").
 */
#ifndef MV_BOARD_BOARD_H
#define MV_BOARD_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <termios.h>

#include "api/api.h"
#include "api/server.h"
#include "arch/x86/boot.h"
#include "board/balloon.h"
#include "config/config.h"
#include "core/loop.h"
#include "core/vm.h"
#include "devices/pci.h"
#include "devices/power.h"
#include "devices/serial.h"
#include "mem/backend.h"
#include "mem/hotplug.h"
#include "mem/layout.h"
#include "mem/ondemand.h"
#include "virtio/mem.h"
#include "virtio/pci.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/pmem.h"
#include "virtio/rng.h"

struct board_dimms;
struct board_vsock;
struct board_autoscale;

/* Boot RAM pieces: each zone gives at most two (split by the PCI hole). */
#define BOARD_MAX_RAM (CONFIG_MAX_ZONES * 2)

/* The host side of one zone's virtio-mem region. */
struct board_hotplug {
	struct board *m;
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
	bool size_dirty; /* a committed change not yet reported (atomic; see size_w) */
};

/* One --pmem device: its file mapped at gpa, a KVM slot, virtio-pmem on PCI (board/pmem.c). */
struct board_pmem {
	struct board *m;
	unsigned int idx; /* in cfg->pmem */
	int fd;
	uint8_t *hva;
	uint64_t gpa, size;
	uint32_t slot;
	bool mapped;
	struct vpmem dev;
	bool dev_up;
	struct virtio_pci pci;
	bool pci_up;
};

/* One --net: its tap, virtio-net on PCI (board/net.c). */
struct board_net {
	int fd;
	char ifname[16]; /* the tap's name, as the kernel gave it */
	bool offloads;	 /* it takes checksum and TSO offloads (TUNSETOFFLOAD) */
	struct vnet dev;
	bool dev_up;
	struct virtio_pci pci;
	bool pci_up;
};

/* One --disk: its file or block device, virtio-blk on PCI (board/blk.c). */
struct board_blk {
	int fd;
	bool blockdev; /* a block device: BLKDISCARD/BLKZEROOUT, not fallocate */
	struct vblk dev;
	bool dev_up;
	struct virtio_pci pci;
	bool pci_up;
};

/* One piece of boot RAM as the guest sees it and where the host keeps it. */
struct board_ram {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint32_t slot;
};

struct board_vu;

struct board {
	struct mv_config *cfg;
	/* the command line (argv[0] the program), kept for snapshots (main sets it) */
	int argc;
	char *const *argv;
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
	struct board_balloon balloon;	   /* --balloon (board/balloon.c) */
	struct board_autoscale *autoscale; /* --autoscale (board/autoscale.c), NULL: none */

	/* guest RAM */
	struct layout layout;
	struct backend_spec specs[BACKEND_MAX];
	struct backend backends[BACKEND_MAX];
	unsigned int nr_backends;
	struct board_hotplug hotplug[CONFIG_MAX_ZONES];
	unsigned int nr_hotplug;
	struct board_pmem pmem[CONFIG_MAX_PMEM];
	unsigned int nr_pmem;
	struct board_blk blk[CONFIG_MAX_DISKS];
	unsigned int nr_blk;
	struct board_net net[CONFIG_MAX_NETS];
	unsigned int nr_net;
	struct board_vsock *vsock; /* --vsock (board/vsock.h), NULL: none */
	struct board_vu *vu;	   /* vhost-user devices (board/vhost_user.h), nr_vu of them */
	unsigned int nr_vu;
	struct board_dimms *dimms; /* ACPI-hotplugged DIMMs (board/dimm.h), NULL: none */
	struct board_ram ram[BOARD_MAX_RAM];
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
	/* virtio-mem size changes, reported from the loop once committed (-1: none) */
	struct loop_watch size_w;
	int exit_code;
	unsigned int boots;
	/* QMP stop: vCPUs stopped, devices serve no queue, until cont (loop thread only) */
	bool paused;
	/* loaded from a snapshot (board/restore.c): the first boot starts vCPUs, loads nothing */
	bool restored;
	/* memory_restore_mode=ondemand: the userfaultfd server until its pass is over (NULL) */
	struct ondemand *od;
	struct loop_watch od_w; /* its done_fd */

	struct termios saved_tio;
	bool tio_saved;
};

/* main's one step: every resource of the PC, in order, each validated before it is
 * acquired; 0 or -1 after one line naming the problem (board_destroy undoes it). */
int board_build(struct board *b, struct mv_config *cfg);
/* The steps of board_build, in order. */
void board_init(struct board *b, struct mv_config *cfg); /* zeroes b: nothing acquired */
int board_create_vm(struct board *b);			 /* the event loop and the KVM VM */
/* Loads the guest (board/firmware.c) and starts the vCPUs (unless paused: cont starts them). */
int board_boot(struct board *b);
/* Guest or host reboot: vCPUs stopped, devices to power-on state, kernel loaded anew. */
int board_reset(struct board *b);
/*
 * QMP stop and cont, on the loop thread: stop joins the vCPUs and holds every
 * device's queues; cont releases them and starts the vCPUs. 1 when the state
 * changed, 0 when it already was so, -errno if the vCPUs cannot start
 * (the VM stays paused).
 */
int board_pause(struct board *b);
int board_resume(struct board *b);
/* Reverse of board_build; the API must be closed first (board_api_close). */
void board_destroy(struct board *b);

#endif
