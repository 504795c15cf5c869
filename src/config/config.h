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
#define CONFIG_MAX_NUMA      64
#define CONFIG_MAX_CPUS      255
#define CONFIG_ID_LEN        64
#define CONFIG_ERR_LEN       512
#define CONFIG_DEFAULT_MEM   (512ULL << 20)

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
	uint64_t size;          /* boot RAM, may be 0 when hotplug_size > 0 */
	char *file;             /* backing file or directory, NULL for none */
	bool shared;            /* MAP_SHARED (memfd when no file) */
	bool hugepages;
	uint64_t hugepage_size; /* 0: the host's default hugepage size */
	bool mergeable;         /* MADV_MERGEABLE */
	bool prefault;
	int host_numa_node;     /* -1: no binding */
	uint64_t hotplug_size;  /* virtio-mem region size, 0: no device */
	uint64_t hotplugged_size;
	/* virtio-mem device options */
	uint64_t block_size;    /* 0 until validated, then the effective value */
	bool prealloc;
	bool unplugged_inaccessible;
	/* filled by validation from --numa; -1 when no --numa names the zone */
	int guest_numa_node;
};

struct memory_config {
	bool given;             /* --memory appeared on the command line */
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
	uint32_t guest_numa_id;
	uint8_t cpus[(CONFIG_MAX_CPUS + 1 + 7) / 8]; /* bitmap of vCPU ids */
	bool cpus_given;
	struct numa_distance distances[CONFIG_MAX_NUMA];
	unsigned int nr_distances;
	char zones[CONFIG_MAX_ZONES][CONFIG_ID_LEN];
	unsigned int nr_zones;
};

struct cpus_config {
	unsigned int boot; /* default 1 */
	unsigned int max;  /* default = boot */
};

struct mv_config {
	char *kernel;
	char *initramfs;
	char *cmdline;
	enum serial_mode serial;
	char *serial_file;
	char *api_socket;
	bool dry_run;
	enum on_reboot on_reboot;
	bool rng;                   /* virtio-rng device, default on */
	struct cpus_config cpus;
	struct memory_config memory;
	struct zone_config zones[CONFIG_MAX_ZONES];
	unsigned int nr_zones;
	struct numa_config numa[CONFIG_MAX_NUMA];
	unsigned int nr_numa;
};

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

/*
 * Cross-option validation and normalization (zones, hotplug, NUMA, block
 * sizes). Checks against the host (hugepage sizes offered, NUMA nodes present,
 * file paths usable) go through the probes in config/host.h so tests can fake
 * them.
 */
int config_validate(struct mv_config *cfg, char *err, size_t errlen);

/* "1G", "512M", "4096": binary suffixes K/M/G/T; -EINVAL or -ERANGE. */
int config_parse_size(const char *s, uint64_t *out);
/* Prints a size the way a user would write it back ("512M", "3G", "4097K"...). */
void config_format_size(uint64_t v, char *buf, size_t len);

#endif
