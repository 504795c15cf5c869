/*
 * options: every command-line option and every key=value key, defined once.
 *
 * The parser looks names up here, error messages print them from here, and
 * --help (and the README) are generated from the same rows, so a name can
 * never be spelled two ways. Key rows also say which field they fill, so the
 * parser is one loop over this table.
 */
#ifndef MV_CONFIG_OPTIONS_H
#define MV_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/version.h"

/*
 * Option names, defined here only: the table, the parser, the devices and
 * every message that names an option use these (as QEMU does with its
 * property-name macros). arch/x86/boot.c, below this floor, spells
 * "--cmdline" itself.
 */
#define OPT_NAME_KERNEL	     "--kernel"
#define OPT_NAME_INITRAMFS   "--initramfs"
#define OPT_NAME_CMDLINE     "--cmdline"
#define OPT_NAME_MEMORY	     "--memory"
#define OPT_NAME_MEMORY_ZONE "--memory-zone"
#define OPT_NAME_NUMA	     "--numa"
#define OPT_NAME_CPUS	     "--cpus"
#define OPT_NAME_SERIAL	     "--serial"
#define OPT_NAME_API_SOCKET  "--api-socket"
#define OPT_NAME_DRY_RUN     "--dry-run"
#define OPT_NAME_CHECK_KVM   "--check-kvm"
#define OPT_NAME_ON_REBOOT   "--on-reboot"
#define OPT_NAME_RNG	     "--rng"
#define OPT_NAME_HELP	     "--help"
#define OPT_NAME_VERSION     "--version"
#define OPT_NAME_RESTORE     "--restore"
#define OPT_NAME_PMEM	     "--pmem"
#define OPT_NAME_BALLOON     "--balloon"
#define OPT_NAME_AUTOSCALE   "--autoscale"
#define OPT_NAME_DISK	     "--disk"
#define OPT_NAME_NET	     "--net"
#define OPT_NAME_VSOCK	     "--vsock"
#define OPT_NAME_FS	     "--fs"

enum config_opt {
	OPT_KERNEL,
	OPT_INITRAMFS,
	OPT_CMDLINE,
	OPT_MEMORY,
	OPT_MEMORY_ZONE,
	OPT_NUMA,
	OPT_CPUS,
	OPT_SERIAL,
	OPT_API_SOCKET,
	OPT_DRY_RUN,
	OPT_CHECK_KVM,
	OPT_ON_REBOOT,
	OPT_RNG,
	OPT_HELP,
	OPT_VERSION,
	OPT_RESTORE,
	OPT_PMEM,
	OPT_BALLOON,
	OPT_AUTOSCALE,
	OPT_DISK,
	OPT_NET,
	OPT_VSOCK,
	OPT_FS,
	OPT__COUNT
};

struct config_option {
	const char *name; /* with the dashes: "--memory-zone" */
	char short_name;  /* 'h' for -h, 0 for none */
	const char *arg;  /* what the value looks like; NULL for a flag */
	bool multi;	  /* several values per flag, and the flag may repeat */
	bool has_keys;	  /* the value is key=value,... from config_keys */
	const char *def;  /* the default, as the user would write it, or NULL */
	const char *help;
};

enum config_key {
	/* --memory */
	KEY_MEM_SIZE,
	KEY_MEM_MERGEABLE,
	KEY_MEM_SHARED,
	KEY_MEM_HUGEPAGES,
	KEY_MEM_HUGEPAGE_SIZE,
	KEY_MEM_HOTPLUG_METHOD,
	KEY_MEM_HOTPLUG_SIZE,
	KEY_MEM_HOTPLUGGED_SIZE,
	KEY_MEM_PREFAULT,
	KEY_MEM_BLOCK_SIZE,
	KEY_MEM_PREALLOC,
	KEY_MEM_UNPLUGGED_INACCESSIBLE,
	/* --memory-zone */
	KEY_ZONE_ID,
	KEY_ZONE_SIZE,
	KEY_ZONE_FILE,
	KEY_ZONE_SHARED,
	KEY_ZONE_HUGEPAGES,
	KEY_ZONE_HUGEPAGE_SIZE,
	KEY_ZONE_HOST_NUMA_NODE,
	KEY_ZONE_HOTPLUG_SIZE,
	KEY_ZONE_HOTPLUGGED_SIZE,
	KEY_ZONE_PREFAULT,
	KEY_ZONE_MERGEABLE,
	KEY_ZONE_BLOCK_SIZE,
	KEY_ZONE_PREALLOC,
	KEY_ZONE_UNPLUGGED_INACCESSIBLE,
	/* --numa */
	KEY_NUMA_GUEST_NUMA_ID,
	KEY_NUMA_CPUS,
	KEY_NUMA_DISTANCES,
	KEY_NUMA_MEMORY_ZONES,
	KEY_NUMA_SGX_EPC_SECTIONS,
	/* --cpus */
	KEY_CPUS_BOOT,
	KEY_CPUS_MAX,
	/* --pmem */
	KEY_PMEM_FILE,
	KEY_PMEM_SIZE,
	KEY_PMEM_DISCARD_WRITES,
	KEY_PMEM_ID,
	KEY_PMEM_MODEL,
	KEY_PMEM_NODE,
	/* --balloon */
	KEY_BALLOON_SIZE,
	KEY_BALLOON_DEFLATE_ON_OOM,
	KEY_BALLOON_FREE_PAGE_REPORTING,
	KEY_BALLOON_STATS_INTERVAL,
	KEY_BALLOON_ID,
	/* --autoscale */
	KEY_AS_MIN,
	KEY_AS_MAX,
	KEY_AS_LOW,
	KEY_AS_HIGH,
	KEY_AS_UP_STEP,
	KEY_AS_DOWN_DELAY,
	/* --disk */
	KEY_DISK_PATH,
	KEY_DISK_READONLY,
	KEY_DISK_DIRECT,
	KEY_DISK_NUM_QUEUES,
	KEY_DISK_QUEUE_SIZE,
	KEY_DISK_ID,
	KEY_DISK_VHOST_USER,
	KEY_DISK_SOCKET,
	/* --net */
	KEY_NET_TAP,
	KEY_NET_IP,
	KEY_NET_MASK,
	KEY_NET_MAC,
	KEY_NET_HOST_MAC,
	KEY_NET_MTU,
	KEY_NET_NUM_QUEUES,
	KEY_NET_QUEUE_SIZE,
	KEY_NET_ID,
	KEY_NET_FD,
	KEY_NET_VHOST_USER,
	KEY_NET_SOCKET,
	/* --vsock */
	KEY_VSOCK_CID,
	KEY_VSOCK_SOCKET,
	KEY_VSOCK_ID,
	/* --fs (tag and socket first: both are needed) */
	KEY_FS_TAG,
	KEY_FS_SOCKET,
	KEY_FS_NUM_QUEUES,
	KEY_FS_QUEUE_SIZE,
	KEY_FS_ID,
	KEY__COUNT
};

/* How a key's value is parsed and which field type it fills. */
enum config_key_type {
	KT_SIZE,	   /* uint64_t, mv_size_parse() */
	KT_BOOL,	   /* bool, on|off|true|false */
	KT_ID,		   /* char[CONFIG_ID_LEN] */
	KT_PATH,	   /* char *, strdup'd */
	KT_UINT,	   /* unsigned int */
	KT_NODE,	   /* int, >= 0 */
	KT_HOTPLUG_METHOD, /* enum hotplug_method */
	KT_CPU_LIST,	   /* struct numa_config cpus bitmap */
	KT_DISTANCES,	   /* struct numa_config distances */
	KT_ZONE_LIST,	   /* struct numa_config zones */
	KT_SGX_LIST,	   /* struct numa_config nr_sgx_epc_sections */
	KT_PMEM_MODEL,	   /* enum pmem_model */
};

struct config_key_desc {
	enum config_opt opt; /* the option this key belongs to */
	const char *name;
	enum config_key_type type;
	size_t offset; /* of the field in the option's struct */
	const char *arg;
	const char *def; /* the default, or NULL */
	const char *help;
};

extern const struct config_option config_options[OPT__COUNT];
extern const struct config_key_desc config_keys[KEY__COUNT];

/*
 * A key's bit in its option's keys mask. An option's keys are contiguous
 * in enum config_key and fewer than 64 (test_config checks), so they take
 * distinct bits of that option's own mask.
 */
#define CONFIG_KEY_BIT(k) (1ULL << ((unsigned int)(k) % 64))

/* "--memory-zone" for OPT_MEMORY_ZONE; "size" for KEY_ZONE_SIZE. */
const char *config_opt_name(enum config_opt opt);
const char *config_key_name(enum config_key key);

/* Lookups; -1 when there is no such option or key. */
int config_opt_find(const char *name, size_t len);
int config_opt_find_short(char c);
int config_key_find(enum config_opt opt, const char *name, size_t len);

/* Writes "size, mergeable, ..." for the keys of opt (for "unknown key"). */
void config_key_list(enum config_opt opt, char *buf, size_t len);

/* The --help text, generated from the tables. */
void config_print_help(FILE *out);

/* snprintf into err (if any) and return -EINVAL: the one error path. */
int config_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
