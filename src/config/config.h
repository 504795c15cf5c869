/*
 * config: the whole command line as data, parsed and validated with no side
 * effects. Nothing is acquired here; a config that passes config_validate()
 * can be built into a VM, and one that fails names the option and value.
 *
 * After config_validate() the memory description is normalized: plain
 * `--memory size=N,...` becomes zone "mem0" carrying the --memory options, so
 * later code only ever walks cfg->zones.
 */
#ifndef MV_CONFIG_CONFIG_H
#define MV_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_ZONES     64
#define CONFIG_MAX_NUMA	     64
#define CONFIG_MAX_CPUS	     255
#define CONFIG_ID_LEN	     64
#define CONFIG_ERR_LEN	     512
#define CONFIG_DEFAULT_MEM   (512ULL << 20)
#define CONFIG_MAX_PMEM	     8
#define CONFIG_MAX_DISKS     8
#define CONFIG_MAX_NETS	     8
#define CONFIG_MAX_FS	     4
#define CONFIG_FS_TAG_MAX    36 /* bytes of virtio-fs's tag field */
#define CONFIG_FS_MAX_QUEUES 7	/* request queues: with the hiprio queue, 8 (VIRTIO_MAX_QUEUES) */

enum hotplug_method {
	HOTPLUG_ACPI = 0, /* the seed's default */
	HOTPLUG_VIRTIO_MEM,
};

enum serial_mode {
	SERIAL_TTY = 0,
	SERIAL_OFF,
	SERIAL_FILE,
};

enum on_reboot {
	ON_REBOOT_RESET = 0,
	ON_REBOOT_EXIT,
};

/* One guest RAM zone and, when hotplug_size > 0, its virtio-mem device. */
struct zone_config {
	char id[CONFIG_ID_LEN];
	uint64_t keys; /* bit (1 << enum config_key) per key given */
	uint64_t size; /* boot RAM, may be 0 when hotplug_size > 0 */
	char *file;    /* backing file or directory, NULL for none */
	bool shared;   /* MAP_SHARED (memfd when no file) */
	bool hugepages;
	/* 0: the host's default; after validation the effective size */
	uint64_t hugepage_size;
	bool mergeable; /* MADV_MERGEABLE */
	bool prefault;
	int host_numa_node;    /* -1: no binding */
	uint64_t hotplug_size; /* virtio-mem region size, 0: no device */
	uint64_t hotplugged_size;
	/* virtio-mem device options */
	uint64_t block_size; /* 0 until validated, then the effective value */
	bool prealloc;
	bool unplugged_inaccessible;
	/* filled by validation from --numa; -1 when no --numa names the zone */
	int guest_numa_node;
};

enum pmem_model {
	PMEM_VIRTIO = 0, /* virtio-pmem, the default */
	PMEM_NVDIMM,	 /* NVDIMM described by the ACPI NFIT, no label area */
};

/* One --pmem value: a file mapped into the guest as persistent memory. */
struct pmem_config {
	char id[CONFIG_ID_LEN]; /* default "pmem<N>" (N: index among --pmem) */
	uint64_t keys;		/* bit (1 << enum config_key) per key given */
	char *file;		/* regular file, or directory for an unlinked temporary file */
	uint64_t size;		/* after validation: the effective size (default the file's) */
	bool discard_writes;	/* MAP_PRIVATE over a read-only fd: the file never changes */
	enum pmem_model model;
	int node; /* guest NUMA node, -1: none given */
};

/* One --disk value: a raw image or block device as a virtio-blk device. */
struct disk_config {
	char id[CONFIG_ID_LEN]; /* default "disk<N>" (N: index among --disk) */
	uint64_t keys;		/* bit (1 << enum config_key) per key given */
	char *path;
	bool readonly;
	bool direct;		 /* O_DIRECT */
	unsigned int num_queues; /* after validation: 1 unless given */
	unsigned int queue_size; /* after validation: 128 unless given */
	bool vhost_user;	 /* a vhost-user back-end at socket serves it (no path) */
	char *socket;
	uint64_t size; /* after validation: the image's size in bytes (0 with vhost_user) */
};

/* One --net value: a virtio-net device over a tap interface. */
struct net_config {
	char id[CONFIG_ID_LEN];	 /* default "net<N>" (N: index among --net) */
	uint64_t keys;		 /* bit (1 << enum config_key) per key given */
	char *tap;		 /* interface name; NULL: the kernel names it vmtap<N> */
	char *ip, *mask;	 /* as given */
	char *mac, *host_mac;	 /* as given */
	unsigned int mtu;	 /* 0: none offered */
	unsigned int num_queues; /* after validation: 2 */
	unsigned int queue_size; /* after validation: 256 unless given */
	unsigned int fd;	 /* with fd=: an open tap */
	bool vhost_user;	 /* refused: not implemented */
	char *socket;
	/* After validation: */
	uint8_t guest_mac[6];	   /* mac=, or derived from the VM's names (validate.c) */
	uint8_t tap_mac[6];	   /* host_mac=, when given */
	uint32_t ip_addr, ip_mask; /* network order; 0: no ip= */
};

struct memory_config {
	bool given;    /* --memory appeared on the command line */
	uint64_t keys; /* bit (1 << enum config_key) per key given */
	uint64_t size;
	bool mergeable;
	bool shared;
	bool hugepages;
	uint64_t hugepage_size;
	bool prefault;
	enum hotplug_method hotplug_method;
	bool hotplug_method_given;
	uint64_t hotplug_size;
	uint64_t hotplugged_size;
	uint64_t block_size;
	bool prealloc;
	bool unplugged_inaccessible;
	bool unplugged_inaccessible_given;
};

struct numa_distance {
	uint32_t dest;
	uint8_t distance;
};

struct numa_config {
	uint64_t keys; /* bit (1 << enum config_key) per key given */
	uint32_t guest_numa_id;
	uint8_t cpus[(CONFIG_MAX_CPUS + 1 + 7) / 8]; /* bitmap of vCPU ids */
	bool cpus_given;
	struct numa_distance distances[CONFIG_MAX_NUMA];
	unsigned int nr_distances;
	char zones[CONFIG_MAX_ZONES][CONFIG_ID_LEN];
	unsigned int nr_zones;
	unsigned int nr_sgx_epc_sections; /* parsed only to be refused */
};

struct cpus_config {
	uint64_t keys;	   /* bit (1 << enum config_key) per key given */
	unsigned int boot; /* default 1 */
	unsigned int max;  /* default = boot */
};

enum restore_mode { RESTORE_COPY, RESTORE_COW, RESTORE_ONDEMAND };

/* --restore: the VM comes from a snapshot file (board/restore.c). */
struct restore_config {
	bool given;
	char *source_url;
	int prefault; /* -1: as the snapshot's zones say; 0/1: override */
	enum restore_mode mode;
	bool resume;
};

/* --balloon: the virtio-balloon device (virtio/balloon.h). */
struct balloon_config {
	bool given;
	uint64_t keys;	     /* bit (1 << enum config_key) per key given */
	uint64_t size;	     /* bytes taken from the guest at boot, multiple of 4K */
	bool deflate_on_oom; /* VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
	bool free_page_reporting;
	unsigned int stats_interval; /* seconds, 0: no polling */
	char id[CONFIG_ID_LEN];	     /* "balloon0" unless id= */
};

/* --vsock: one virtio-vsock device. */
struct vsock_config {
	bool given;
	uint64_t keys; /* bit (1 << enum config_key) per key given */
	unsigned int cid;
	char *socket;
	char id[CONFIG_ID_LEN]; /* "vsock0" unless id= */
};

/* One --fs value: a virtio-fs share served by a vhost-user back-end (virtiofsd). */
struct fs_config {
	char id[CONFIG_ID_LEN];	 /* "fs<N>" unless id= */
	uint64_t keys;		 /* bit (1 << enum config_key) per key given */
	char *tag;		 /* what the guest mounts: 1 to CONFIG_FS_TAG_MAX bytes */
	char *socket;		 /* the back-end's vhost-user socket */
	unsigned int num_queues; /* request queues (the hiprio queue besides); 1 unless given */
	unsigned int queue_size; /* after validation: 1024 unless given */
};

/* --autoscale: the policy of lib/autoscale.h over the virtio-mem devices. */
struct autoscale_config {
	bool given;
	uint64_t keys; /* bit (1 << enum config_key) per key given */
	uint64_t min, max, up_step;
	unsigned int low, high, down_delay; /* percent, percent, seconds */
};

struct mv_config {
	struct restore_config restore;
	char *kernel;
	char *initramfs;
	char *cmdline;
	enum serial_mode serial;
	char *serial_file;
	char *api_socket;
	bool dry_run;
	bool check_kvm; /* --check-kvm: only the KVM verdict, no VM */
	enum on_reboot on_reboot;
	bool rng; /* virtio-rng device, default on */
	struct cpus_config cpus;
	struct memory_config memory;
	struct zone_config zones[CONFIG_MAX_ZONES];
	unsigned int nr_zones;
	struct numa_config numa[CONFIG_MAX_NUMA];
	unsigned int nr_numa;
	struct pmem_config pmem[CONFIG_MAX_PMEM];
	unsigned int nr_pmem;
	struct disk_config disks[CONFIG_MAX_DISKS];
	unsigned int nr_disks;
	struct net_config nets[CONFIG_MAX_NETS];
	unsigned int nr_nets;
	/*
	 * ACPI memory hotplug (--memory hotplug_method=acpi, the default, with
	 * hotplug_size): set by validation. dimm_area bytes of guest-physical
	 * space above all RAM take DIMMs (multiples of CONFIG_DIMM_ALIGN) in
	 * dimm_slots ACPI slots; 0 and 0 without.
	 */
	uint64_t dimm_area;
	unsigned int dimm_slots;
	struct balloon_config balloon;
	struct autoscale_config autoscale;
	struct vsock_config vsock;
	struct fs_config fs[CONFIG_MAX_FS];
	unsigned int nr_fs;
};

/* DIMM sizes and addresses: whole Linux x86_64 memory blocks. */
#define CONFIG_DIMM_ALIGN (128ULL << 20)
/* ACPI slots: one per CONFIG_DIMM_ALIGN of the area, at least 64, at most 256 (MP00..MPFF). */
#define CONFIG_DIMM_MIN_SLOTS 64
#define CONFIG_DIMM_MAX_SLOTS 256

/* Defaults as the seed gives them (size=512M, 1 vCPU, serial on the tty). */
void config_init(struct mv_config *cfg);
void config_free(struct mv_config *cfg);

/*
 * Parse argv (argv[0] is the program name). On error returns -EINVAL and
 * writes one line naming the option and value into err. --help and
 * --version are reported through *exit_now (with the text printed to stdout)
 * so the caller exits 0.
 */
int config_parse_args(struct mv_config *cfg, int argc, char **argv, bool *exit_now, char *err,
		      size_t errlen);

/* Parsers for one option's value, shared by config_parse_args and tests. */
int config_parse_memory(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_memory_zone(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_numa(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_cpus(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_pmem(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_disk(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_net(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_fs(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_restore(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_balloon(struct mv_config *cfg, const char *value, char *err, size_t errlen);
int config_parse_autoscale(struct mv_config *cfg, const char *value, char *err, size_t errlen);

/*
 * Cross-option validation and normalization (zones, hotplug, NUMA, block
 * sizes). Checks against the host (hugepage sizes offered, NUMA nodes present,
 * file paths usable) go through the probes in config/host.h so tests can fake
 * them.
 */
int config_validate(struct mv_config *cfg, char *err, size_t errlen);

#endif
