#include "config/options.h"
#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "config/config.h"

/* The keys of one option share a uint64_t mask (CONFIG_KEY_BIT): test_config checks they fit. */

const struct config_option config_options[OPT__COUNT] = {
    [OPT_KERNEL] = {.name = OPT_NAME_KERNEL,
		    .arg = "<path>",
		    .help = "Linux bzImage to boot (required)"},
    [OPT_INITRAMFS] = {.name = OPT_NAME_INITRAMFS, .arg = "<path>", .help = "initramfs to load"},
    [OPT_CMDLINE] = {.name = OPT_NAME_CMDLINE, .arg = "<string>", .help = "kernel command line"},
    [OPT_MEMORY] = {.name = OPT_NAME_MEMORY,
		    .arg = "<key=value,...>",
		    .has_keys = true,
		    .def = "size=512M",
		    .help = "guest RAM; with --memory-zone only size=0, hotplug_method and "
			    "mergeable"},
    [OPT_MEMORY_ZONE] = {.name = OPT_NAME_MEMORY_ZONE,
			 .arg = "<key=value,...>...",
			 .multi = true,
			 .has_keys = true,
			 .help = "one guest RAM zone per value (needs --memory size=0)"},
    [OPT_NUMA] = {.name = OPT_NAME_NUMA,
		  .arg = "<key=value,...>...",
		  .multi = true,
		  .has_keys = true,
		  .help = "one guest NUMA node per value"},
    [OPT_CPUS] = {.name = OPT_NAME_CPUS,
		  .arg = "<key=value,...>",
		  .has_keys = true,
		  .def = "boot=1",
		  .help = "vCPUs"},
    [OPT_SERIAL] = {.name = OPT_NAME_SERIAL,
		    .arg = "tty|off|file=<path>",
		    .def = "tty",
		    .help = "where the guest's serial console goes"},
    [OPT_API_SOCKET] = {.name = OPT_NAME_API_SOCKET,
			.arg = "<path>|path=<path>",
			.help = "QMP control socket to listen on"},
    [OPT_DRY_RUN] = {.name = OPT_NAME_DRY_RUN,
		     .help = "validate and print the VM layout, then exit"},
    [OPT_CHECK_KVM] = {.name = OPT_NAME_CHECK_KVM,
		       .help = "say whether this host's KVM can run a stock guest (a probe "
			       "guest), exit 0 if so, 1 if not"},
    [OPT_ON_REBOOT] = {.name = OPT_NAME_ON_REBOOT,
		       .arg = "reset|exit",
		       .def = "reset",
		       .help = "what a guest reboot does"},
    [OPT_RNG] = {.name = OPT_NAME_RNG, .arg = "on|off", .def = "on", .help = "virtio-rng device"},
    [OPT_HELP] = {.name = OPT_NAME_HELP, .short_name = 'h', .help = "print this help and exit"},
    [OPT_VERSION] = {.name = OPT_NAME_VERSION,
		     .short_name = 'V',
		     .help = "print the version and exit"},
    [OPT_RESTORE] =
	{.name = OPT_NAME_RESTORE,
	 .arg = "source_url=file:///<path>[,...]",
	 .help = "rebuild the VM of a snapshot; also prefault=on|off, "
		 "memory_restore_mode=copy|cow|ondemand, resume=on|off (default off: QMP cont "
		 "starts it); only --api-socket and --serial may be added"},
    [OPT_PMEM] = {.name = OPT_NAME_PMEM,
		  .arg = "<key=value,...>...",
		  .multi = true,
		  .has_keys = true,
		  .help = "one persistent-memory device per value (virtio-pmem over a file)"},
    [OPT_BALLOON] = {.name = OPT_NAME_BALLOON,
		     .arg = "<key=value,...>",
		     .has_keys = true,
		     .help = "virtio-balloon device (QMP balloon, query-balloon, guest-stats)"},
    [OPT_AUTOSCALE] = {.name = OPT_NAME_AUTOSCALE,
		       .arg = "min=<size>,max=<size>[,...]",
		       .has_keys = true,
		       .help = "resize the virtio-mem devices to keep the guest's available memory "
			       "between low% and high% (needs --balloon statistics)"},
    [OPT_DISK] = {.name = OPT_NAME_DISK,
		  .arg = "<key=value,...>...",
		  .multi = true,
		  .has_keys = true,
		  .help = "one virtio-blk disk per value (a raw image file or a block device)"},
    [OPT_NET] = {.name = OPT_NAME_NET,
		 .arg = "<key=value,...>...",
		 .multi = true,
		 .has_keys = true,
		 .help = "one virtio-net device per value, over a tap interface"},
    [OPT_VSOCK] = {.name = OPT_NAME_VSOCK,
		   .arg = "cid=<n>,socket=<path>[,id=<id>]",
		   .has_keys = true,
		   .help = "virtio-vsock device: guest stream sockets reach host processes over a "
			   "Unix socket (CONNECT <port> in, <path>_<port> out)"},
    [OPT_FS] = {.name = OPT_NAME_FS,
		.arg = "tag=<tag>,socket=<path>[,...]...",
		.multi = true,
		.has_keys = true,
		.help = "one virtio-fs share per value, served by a vhost-user back-end such as "
			"virtiofsd (needs shareable guest memory: shared=on or hugepages=on)"},
};

#define MEM(f)	offsetof(struct memory_config, f)
#define ZONE(f) offsetof(struct zone_config, f)
#define NUMA(f) offsetof(struct numa_config, f)
#define CPUS(f) offsetof(struct cpus_config, f)
#define PMEM(f) offsetof(struct pmem_config, f)
#define BLN(f)	offsetof(struct balloon_config, f)
#define ASC(f)	offsetof(struct autoscale_config, f)
#define DSK(f)	offsetof(struct disk_config, f)
#define NET(f)	offsetof(struct net_config, f)
#define VSK(f)	offsetof(struct vsock_config, f)
#define FSC(f)	offsetof(struct fs_config, f)

const struct config_key_desc config_keys[KEY__COUNT] = {
    [KEY_MEM_SIZE] = {OPT_MEMORY, "size", KT_SIZE, MEM(size), "<size>", "512M",
		      "boot RAM (mandatory with --memory)"},
    [KEY_MEM_MERGEABLE] = {OPT_MEMORY, "mergeable", KT_BOOL, MEM(mergeable), "on|off", "off",
			   "let KSM merge guest pages (madvise MADV_MERGEABLE)"},
    [KEY_MEM_SHARED] = {OPT_MEMORY, "shared", KT_BOOL, MEM(shared), "on|off", "off",
			"MAP_SHARED guest RAM"},
    [KEY_MEM_HUGEPAGES] = {OPT_MEMORY, "hugepages", KT_BOOL, MEM(hugepages), "on|off", "off",
			   "back guest RAM with hugetlb pages"},
    [KEY_MEM_HUGEPAGE_SIZE] = {OPT_MEMORY, "hugepage_size", KT_SIZE, MEM(hugepage_size), "<size>",
			       "host default", "hugetlb page size (needs hugepages=on)"},
    [KEY_MEM_HOTPLUG_METHOD] = {OPT_MEMORY, "hotplug_method", KT_HOTPLUG_METHOD,
				MEM(hotplug_method), "acpi|virtio-mem", "acpi",
				"how memory is added at run time: acpi (DIMMs) or virtio-mem"},
    [KEY_MEM_HOTPLUG_SIZE] = {OPT_MEMORY, "hotplug_size", KT_SIZE, MEM(hotplug_size), "<size>",
			      NULL,
			      "DIMM area (acpi) or virtio-mem region size (multiple of 128M)"},
    [KEY_MEM_HOTPLUGGED_SIZE] = {OPT_MEMORY, "hotplugged_size", KT_SIZE, MEM(hotplugged_size),
				 "<size>", NULL,
				 "virtio-mem: memory plugged at boot (up to hotplug_size)"},
    [KEY_MEM_PREFAULT] = {OPT_MEMORY, "prefault", KT_BOOL, MEM(prefault), "on|off", "off",
			  "populate boot RAM up front (MAP_POPULATE)"},
    [KEY_MEM_BLOCK_SIZE] = {OPT_MEMORY, "block_size", KT_SIZE, MEM(block_size), "<size>",
			    "2M, or the hugepage size", "virtio-mem block size"},
    [KEY_MEM_PREALLOC] = {OPT_MEMORY, "prealloc", KT_BOOL, MEM(prealloc), "on|off", "off",
			  "populate virtio-mem blocks when the guest plugs them"},
    [KEY_MEM_UNPLUGGED_INACCESSIBLE] = {OPT_MEMORY, "unplugged_inaccessible", KT_BOOL,
					MEM(unplugged_inaccessible), "on|off", "on",
					"the guest may not read unplugged virtio-mem blocks"},

    [KEY_ZONE_ID] = {OPT_MEMORY_ZONE, "id", KT_ID, ZONE(id), "<id>", NULL,
		     "zone name, unique (mandatory)"},
    [KEY_ZONE_SIZE] = {OPT_MEMORY_ZONE, "size", KT_SIZE, ZONE(size), "<size>", NULL,
		       "boot RAM of the zone (mandatory; 0 only with hotplug_size)"},
    [KEY_ZONE_FILE] = {OPT_MEMORY_ZONE, "file", KT_PATH, ZONE(file), "<path>", NULL,
		       "backing file, or directory for an unlinked temporary file"},
    [KEY_ZONE_SHARED] = {OPT_MEMORY_ZONE, "shared", KT_BOOL, ZONE(shared), "on|off", "off",
			 "MAP_SHARED zone RAM"},
    [KEY_ZONE_HUGEPAGES] = {OPT_MEMORY_ZONE, "hugepages", KT_BOOL, ZONE(hugepages), "on|off", "off",
			    "back the zone with hugetlb pages"},
    [KEY_ZONE_HUGEPAGE_SIZE] = {OPT_MEMORY_ZONE, "hugepage_size", KT_SIZE, ZONE(hugepage_size),
				"<size>", "host default", "hugetlb page size (needs hugepages=on)"},
    [KEY_ZONE_HOST_NUMA_NODE] = {OPT_MEMORY_ZONE, "host_numa_node", KT_NODE, ZONE(host_numa_node),
				 "<node>", NULL, "host NUMA node to allocate from (mbind)"},
    [KEY_ZONE_HOTPLUG_SIZE] = {OPT_MEMORY_ZONE, "hotplug_size", KT_SIZE, ZONE(hotplug_size),
			       "<size>", NULL,
			       "virtio-mem region size (multiple of 128M; needs --memory "
			       "hotplug_method=virtio-mem)"},
    [KEY_ZONE_HOTPLUGGED_SIZE] = {OPT_MEMORY_ZONE, "hotplugged_size", KT_SIZE,
				  ZONE(hotplugged_size), "<size>", NULL,
				  "memory plugged at boot (up to hotplug_size)"},
    [KEY_ZONE_PREFAULT] = {OPT_MEMORY_ZONE, "prefault", KT_BOOL, ZONE(prefault), "on|off", "off",
			   "populate the zone's boot RAM up front"},
    [KEY_ZONE_MERGEABLE] = {OPT_MEMORY_ZONE, "mergeable", KT_BOOL, ZONE(mergeable), "on|off",
			    "--memory mergeable", "let KSM merge the zone's pages"},
    [KEY_ZONE_BLOCK_SIZE] = {OPT_MEMORY_ZONE, "block_size", KT_SIZE, ZONE(block_size), "<size>",
			     "2M, or the hugepage size", "virtio-mem block size"},
    [KEY_ZONE_PREALLOC] = {OPT_MEMORY_ZONE, "prealloc", KT_BOOL, ZONE(prealloc), "on|off", "off",
			   "populate virtio-mem blocks when the guest plugs them"},
    [KEY_ZONE_UNPLUGGED_INACCESSIBLE] = {OPT_MEMORY_ZONE, "unplugged_inaccessible", KT_BOOL,
					 ZONE(unplugged_inaccessible), "on|off", "on",
					 "the guest may not read unplugged virtio-mem blocks"},

    [KEY_NUMA_GUEST_NUMA_ID] = {OPT_NUMA, "guest_numa_id", KT_UINT, NUMA(guest_numa_id), "<id>",
				NULL, "guest node id, unique, below 64 (mandatory)"},
    [KEY_NUMA_CPUS] = {OPT_NUMA, "cpus", KT_CPU_LIST, NUMA(cpus), "<n>|<a-b>|[<list>]", NULL,
		       "vCPUs of the node, e.g. [0-3,7]"},
    [KEY_NUMA_DISTANCES] = {OPT_NUMA, "distances", KT_DISTANCES, NUMA(distances),
			    "<node>@<d>|[<list>]", NULL,
			    "distances to other nodes, e.g. [1@20,2@30] (10 is local)"},
    [KEY_NUMA_MEMORY_ZONES] = {OPT_NUMA, "memory_zones", KT_ZONE_LIST, NUMA(zones), "<id>|[<list>]",
			       NULL, "memory zones of the node, e.g. [mem0,mem2]"},
    [KEY_NUMA_SGX_EPC_SECTIONS] = {OPT_NUMA, "sgx_epc_sections", KT_SGX_LIST,
				   NUMA(nr_sgx_epc_sections), "<id>|[<list>]", NULL,
				   "not supported (SGX)"},

    [KEY_CPUS_BOOT] = {OPT_CPUS, "boot", KT_UINT, CPUS(boot), "<n>", "1",
		       "vCPUs at boot, 1 to 255"},
    [KEY_CPUS_MAX] = {OPT_CPUS, "max", KT_UINT, CPUS(max), "<n>", "boot",
		      "most vCPUs the guest may see"},

    [KEY_PMEM_FILE] = {OPT_PMEM, "file", KT_PATH, PMEM(file), "<path>", NULL,
		       "backing file, or directory for an unlinked temporary file (mandatory)"},
    [KEY_PMEM_SIZE] = {OPT_PMEM, "size", KT_SIZE, PMEM(size), "<size>", "the file's size",
		       "device size, a multiple of 2M; a smaller file is grown"},
    [KEY_PMEM_DISCARD_WRITES] = {OPT_PMEM, "discard_writes", KT_BOOL, PMEM(discard_writes),
				 "on|off", "off",
				 "map the file privately, read-only: the file never changes"},
    [KEY_PMEM_ID] = {OPT_PMEM, "id", KT_ID, PMEM(id), "<id>", "pmem<N>", "device name, unique"},
    [KEY_PMEM_MODEL] = {OPT_PMEM, "model", KT_PMEM_MODEL, PMEM(model), "virtio-pmem|nvdimm",
			"virtio-pmem", "device model (nvdimm: ACPI NFIT, no labels)"},
    [KEY_PMEM_NODE] = {OPT_PMEM, "node", KT_NODE, PMEM(node), "<node>", NULL,
		       "guest NUMA node of the memory (SRAT; needs that --numa node)"},
    [KEY_BALLOON_SIZE] = {OPT_BALLOON, "size", KT_SIZE, BLN(size), "<size>", NULL,
			  "memory taken from the guest at boot (mandatory; 0 for none)"},
    [KEY_BALLOON_DEFLATE_ON_OOM] = {OPT_BALLOON, "deflate_on_oom", KT_BOOL, BLN(deflate_on_oom),
				    "on|off", "off",
				    "the guest may take pages back from the balloon when out of "
				    "memory"},
    [KEY_BALLOON_FREE_PAGE_REPORTING] = {OPT_BALLOON, "free_page_reporting", KT_BOOL,
					 BLN(free_page_reporting), "on|off", "off",
					 "pages the guest frees are given back to the host"},
    [KEY_BALLOON_STATS_INTERVAL] = {OPT_BALLOON, "statistics_polling_interval", KT_UINT,
				    BLN(stats_interval), "<seconds>", "0",
				    "ask the guest for statistics this often (0: only when set "
				    "by QMP guest-stats-polling-interval)"},
    [KEY_BALLOON_ID] = {OPT_BALLOON, "id", KT_ID, BLN(id), "<id>", "balloon0",
			"device name: QOM path /machine/peripheral/<id>"},
    [KEY_AS_MIN] = {OPT_AUTOSCALE, "min", KT_SIZE, ASC(min), "<size>", NULL,
		    "smallest total guest memory (mandatory)"},
    [KEY_AS_MAX] = {OPT_AUTOSCALE, "max", KT_SIZE, ASC(max), "<size>", NULL,
		    "largest total guest memory (mandatory)"},
    [KEY_AS_LOW] = {OPT_AUTOSCALE, "low", KT_UINT, ASC(low), "<percent>", "20",
		    "grow when available memory falls below this share of the total"},
    [KEY_AS_HIGH] = {OPT_AUTOSCALE, "high", KT_UINT, ASC(high), "<percent>", "50",
		     "shrink when available memory stays above this share of the total"},
    [KEY_AS_UP_STEP] = {OPT_AUTOSCALE, "up_step", KT_SIZE, ASC(up_step), "<size>", "128M",
			"smallest grow, largest shrink step"},
    [KEY_AS_DOWN_DELAY] = {OPT_AUTOSCALE, "down_delay", KT_UINT, ASC(down_delay), "<seconds>", "30",
			   "seconds of continuous surplus before a shrink"},
    [KEY_DISK_PATH] = {OPT_DISK, "path", KT_PATH, DSK(path), "<path>", NULL,
		       "raw image file or block device (mandatory unless vhost_user=on)"},
    [KEY_DISK_READONLY] = {OPT_DISK, "readonly", KT_BOOL, DSK(readonly), "on|off", "off",
			   "the guest may not write (VIRTIO_BLK_F_RO)"},
    [KEY_DISK_DIRECT] = {OPT_DISK, "direct", KT_BOOL, DSK(direct), "on|off", "off",
			 "bypass the host's page cache (O_DIRECT)"},
    [KEY_DISK_NUM_QUEUES] = {OPT_DISK, "num_queues", KT_UINT, DSK(num_queues), "<n>", "1",
			     "request queues, 1 to 8"},
    [KEY_DISK_QUEUE_SIZE] = {OPT_DISK, "queue_size", KT_UINT, DSK(queue_size), "<n>", "128",
			     "entries per queue, a power of two from 2 to 1024"},
    [KEY_DISK_ID] = {OPT_DISK, "id", KT_ID, DSK(id), "<id>", "disk<N>",
		     "device name, unique; also the serial the guest reads (GET_ID)"},
    [KEY_DISK_VHOST_USER] = {OPT_DISK, "vhost_user", KT_BOOL, DSK(vhost_user), "on|off", "off",
			     "a vhost-user back-end serves the disk (with socket=, no path=)"},
    [KEY_DISK_SOCKET] = {OPT_DISK, "socket", KT_PATH, DSK(socket), "<path>", NULL,
			 "the vhost-user backend's socket (with vhost_user=on)"},
    [KEY_NET_TAP] = {OPT_NET, "tap", KT_PATH, NET(tap), "<if_name>", "vmtap<N>",
		     "the host's tap interface, created unless it exists"},
    [KEY_NET_IP] = {OPT_NET, "ip", KT_PATH, NET(ip), "<ipv4>", NULL,
		    "the address given to the tap on the host side (none unless given)"},
    [KEY_NET_MASK] = {OPT_NET, "mask", KT_PATH, NET(mask), "<ipv4>", "255.255.255.0",
		      "the tap's netmask (with ip=)"},
    [KEY_NET_MAC] = {OPT_NET, "mac", KT_PATH, NET(mac), "<mac>", "random",
		     "the guest's MAC address (locally administered when random)"},
    [KEY_NET_HOST_MAC] = {OPT_NET, "host_mac", KT_PATH, NET(host_mac), "<mac>", NULL,
			  "the tap's own MAC address on the host side"},
    [KEY_NET_MTU] = {OPT_NET, "mtu", KT_UINT, NET(mtu), "<n>", NULL,
		     "MTU offered to the guest (VIRTIO_NET_F_MTU) and set on the tap, 68 to 65535"},
    [KEY_NET_NUM_QUEUES] = {OPT_NET, "num_queues", KT_UINT, NET(num_queues), "<n>", "2",
			    "queues, receive and transmit: only 2 (one pair) for now"},
    [KEY_NET_QUEUE_SIZE] = {OPT_NET, "queue_size", KT_UINT, NET(queue_size), "<n>", "256",
			    "entries per queue, a power of two from 2 to 1024"},
    [KEY_NET_ID] = {OPT_NET, "id", KT_ID, NET(id), "<id>", "net<N>", "device name, unique"},
    [KEY_NET_FD] = {OPT_NET, "fd", KT_UINT, NET(fd), "<fd>", NULL,
		    "an open tap fd (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) instead of tap="},
    [KEY_NET_VHOST_USER] = {OPT_NET, "vhost_user", KT_BOOL, NET(vhost_user), "on|off", "off",
			    "a vhost-user backend (not supported yet: refused)"},
    [KEY_NET_SOCKET] = {OPT_NET, "socket", KT_PATH, NET(socket), "<path>", NULL,
			"the vhost-user backend's socket (with vhost_user=on)"},
    [KEY_VSOCK_CID] = {OPT_VSOCK, "cid", KT_UINT, VSK(cid), "<n>", NULL,
		       "the guest's context id, 3 to 4294967294 (mandatory)"},
    [KEY_VSOCK_SOCKET] = {OPT_VSOCK, "socket", KT_PATH, VSK(socket), "<path>", NULL,
			  "the Unix socket the device listens on (mandatory)"},
    [KEY_VSOCK_ID] = {OPT_VSOCK, "id", KT_ID, VSK(id), "<id>", "vsock0", "device name, unique"},
    [KEY_FS_TAG] = {OPT_FS, "tag", KT_PATH, FSC(tag), "<tag>", NULL,
		    "the name the guest mounts (mount -t virtiofs <tag> /mnt), 1 to 36 bytes "
		    "(mandatory)"},
    [KEY_FS_SOCKET] = {OPT_FS, "socket", KT_PATH, FSC(socket), "<path>", NULL,
		       "the back-end's vhost-user socket (mandatory)"},
    [KEY_FS_NUM_QUEUES] = {OPT_FS, "num_queues", KT_UINT, FSC(num_queues), "<n>", "1",
			   "request queues, 1 to 7 (a high-priority queue besides)"},
    [KEY_FS_QUEUE_SIZE] = {OPT_FS, "queue_size", KT_UINT, FSC(queue_size), "<n>", "1024",
			   "entries per queue, a power of two from 2 to 1024"},
    [KEY_FS_ID] = {OPT_FS, "id", KT_ID, FSC(id), "<id>", "fs<N>", "device name, unique"},
};

const char *config_opt_name(enum config_opt opt)
{
	return config_options[opt].name;
}

const char *config_key_name(enum config_key key)
{
	return config_keys[key].name;
}

int config_opt_find(const char *name, size_t len)
{
	for (int i = 0; i < OPT__COUNT; i++)
		if (strlen(config_options[i].name) == len &&
		    !memcmp(config_options[i].name, name, len))
			return i;
	return -1;
}

int config_opt_find_short(char c)
{
	for (int i = 0; i < OPT__COUNT; i++)
		if (c && config_options[i].short_name == c)
			return i;
	return -1;
}

int config_key_find(enum config_opt opt, const char *name, size_t len)
{
	for (int i = 0; i < KEY__COUNT; i++) {
		const struct config_key_desc *k = &config_keys[i];

		if (k->opt == opt && strlen(k->name) == len && !memcmp(k->name, name, len))
			return i;
	}
	return -1;
}

void config_key_list(enum config_opt opt, char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (int i = 0; i < KEY__COUNT; i++) {
		if (config_keys[i].opt != opt || used >= len)
			continue;
		used +=
		    snprintf(buf + used, len - used, "%s%s", used ? ", " : "", config_keys[i].name);
	}
}

void config_print_help(FILE *out)
{
	fprintf(out, "Usage: memvisor --kernel <path> [options]\n\n"
		     "A KVM virtual machine monitor. Options take `--opt value` or `--opt=value`;\n"
		     "keyed values are key=value pairs separated by commas, lists in [ ].\n\n"
		     "Options:\n");
	for (int i = 0; i < OPT__COUNT; i++) {
		const struct config_option *o = &config_options[i];
		char head[64];

		if (o->short_name)
			snprintf(head, sizeof(head), "-%c, %s", o->short_name, o->name);
		else
			snprintf(head, sizeof(head), "%s %s", o->name, o->arg ? o->arg : "");
		fprintf(out, "  %-36s %s", head, o->help);
		if (o->def)
			fprintf(out, " [default: %s]", o->def);
		fputc('\n', out);
		for (int k = 0; o->has_keys && k < KEY__COUNT; k++) {
			const struct config_key_desc *d = &config_keys[k];

			if ((int)d->opt != i)
				continue;
			snprintf(head, sizeof(head), "%s=%s", d->name, d->arg);
			fprintf(out, "      %-32s %s", head, d->help);
			if (d->def)
				fprintf(out, " [default: %s]", d->def);
			fputc('\n', out);
		}
	}
	fprintf(out, "\nSizes are bytes with an optional K, M, G or T suffix (powers of 1024).\n"
		     "on|off also accept true|false.\n");
}

int config_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mv_verrbuf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}
