/*
 * config_validate: every cross-option rule, checked before anything is
 * acquired. Results (effective sizes, NUMA nodes) are computed on the side
 * and written back only when everything passed, so a refused config is left
 * as parsed.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/un.h>
#include <stdio.h>
#include <string.h>

#include "config/host.h"
#include "config/options.h"
#include "lib/util.h"
#include "devices/pci.h"
#include "virtio/mem_state.h"
#include "virtio/vsock_proto.h"
#include "lib/size.h"
#include "lib/crc32c.h"

#define PAGE_SIZE_4K (4 * KiB)
/* Linux x86_64 onlines hot-added memory in 128M blocks (below 64G of boot RAM). */
#define LINUX_MEMORY_BLOCK (128 * MiB)
#define VMEM_DEFAULT_BLOCK (2 * MiB)

/* A size as the user writes it, usable inside one printf argument list. */
struct sz {
	char s[24];
};

static struct sz fmt(uint64_t v)
{
	struct sz r;

	mv_size_format(v, r.s, sizeof(r.s));
	return r;
}

/* What validation works out per zone, committed only on success. */
struct zone_eff {
	uint64_t page;		/* backing page size: 4K or the hugepage size */
	uint64_t hugepage_size; /* effective, when hugepages */
	uint64_t block_size;
	int numa;
};

struct vctx {
	struct mv_config *cfg;
	struct zone_config *zones; /* cfg->zones, or the one zone made from --memory */
	unsigned int nr_zones;
	bool from_memory; /* zones[0] is plain --memory: messages say --memory */
	struct zone_eff eff[CONFIG_MAX_ZONES];
	uint64_t dimm_area; /* the ACPI DIMM area's size (check_dimm), 0: none */
	char *err;
	size_t errlen;
};

#define ZKEY(k)	       config_key_name(KEY_ZONE_##k)
#define has(z, k)      ((z)->keys & CONFIG_KEY_BIT(KEY_ZONE_##k))
#define zerr(fmt, ...) config_errf(v->err, v->errlen, "%s: " fmt, label, ##__VA_ARGS__)

static void zone_label(const struct vctx *v, unsigned int i, char *buf, size_t len)
{
	if (v->from_memory)
		snprintf(buf, len, "%s", config_opt_name(OPT_MEMORY));
	else
		snprintf(buf, len, "%s %s=%.*s", config_opt_name(OPT_MEMORY_ZONE), ZKEY(ID),
			 CONFIG_ID_LEN, v->zones[i].id);
}

static int check_hotplug(struct vctx *v, const struct zone_config *z, const char *label)
{
	const struct memory_config *m = &v->cfg->memory;
	const char *method = config_key_name(KEY_MEM_HOTPLUG_METHOD);

	if (has(z, HOTPLUG_SIZE) && !z->hotplug_size)
		return zerr("%s=0 is invalid (leave it out for no hotplug)", ZKEY(HOTPLUG_SIZE));
	if (has(z, HOTPLUGGED_SIZE) && !z->hotplugged_size)
		return zerr("%s=0 is invalid (leave it out)", ZKEY(HOTPLUGGED_SIZE));
	if (z->hotplugged_size && !z->hotplug_size)
		return zerr("%s=%s needs %s", ZKEY(HOTPLUGGED_SIZE), fmt(z->hotplugged_size).s,
			    ZKEY(HOTPLUG_SIZE));
	if (z->hotplugged_size && m->hotplug_method != HOTPLUG_VIRTIO_MEM)
		return zerr("%s=%s is only valid with %s %s=virtio-mem", ZKEY(HOTPLUGGED_SIZE),
			    fmt(z->hotplugged_size).s, config_opt_name(OPT_MEMORY), method);
	if (z->hotplugged_size > z->hotplug_size)
		return zerr("%s (%s) exceeds %s (%s)", ZKEY(HOTPLUGGED_SIZE),
			    fmt(z->hotplugged_size).s, ZKEY(HOTPLUG_SIZE), fmt(z->hotplug_size).s);
	if (z->hotplug_size && m->hotplug_method == HOTPLUG_ACPI)
		return zerr("%s=%s needs %s %s=virtio-mem (ACPI memory hotplug (DIMMs) is for "
			    "plain %s)",
			    ZKEY(HOTPLUG_SIZE), fmt(z->hotplug_size).s, config_opt_name(OPT_MEMORY),
			    method, config_opt_name(OPT_MEMORY));
	if (!z->hotplug_size) {
		static const enum config_key dev_keys[] = {KEY_ZONE_BLOCK_SIZE, KEY_ZONE_PREALLOC,
							   KEY_ZONE_UNPLUGGED_INACCESSIBLE};

		for (size_t i = 0; i < ARRAY_SIZE(dev_keys); i++)
			if (z->keys & CONFIG_KEY_BIT(dev_keys[i]))
				return zerr("%s is a virtio-mem device option; it needs %s",
					    config_key_name(dev_keys[i]), ZKEY(HOTPLUG_SIZE));
	}
	if (has(z, SIZE) && !z->size && !z->hotplug_size)
		return zerr("%s=0 needs %s (a zone without boot RAM must be hotpluggable)",
			    ZKEY(SIZE), ZKEY(HOTPLUG_SIZE));
	return 0;
}

/* hugepages, hugepage_size, file and host_numa_node; sets e->page. */
static int check_backing(struct vctx *v, const struct zone_config *z, struct zone_eff *e,
			 const char *label)
{
	const struct config_host_ops *host = config_host();
	struct config_file_info fi = {0};
	char why[256] = "";
	uint64_t hp = z->hugepage_size;

	if (has(z, HUGEPAGE_SIZE) && !z->hugepages)
		return zerr("%s=%s needs %s=on", ZKEY(HUGEPAGE_SIZE), fmt(hp).s, ZKEY(HUGEPAGES));
	if (has(z, HUGEPAGE_SIZE) && !is_pow2(hp))
		return zerr("%s=%s is not a power of two", ZKEY(HUGEPAGE_SIZE), fmt(hp).s);
	if (has(z, HUGEPAGE_SIZE) && !host->hugepage_size_offered(hp))
		return zerr("%s=%s: the host does not offer this size (see "
			    "/sys/kernel/mm/hugepages)",
			    ZKEY(HUGEPAGE_SIZE), fmt(hp).s);
	if (z->file && host->check_file(z->file, &fi, why, sizeof(why)))
		return zerr("%s=%s: %s", ZKEY(FILE), z->file, why);
	if (z->hugepages && z->file && !fi.hugetlbfs)
		return zerr("%s=on with %s=%s: the file is not on hugetlbfs", ZKEY(HUGEPAGES),
			    ZKEY(FILE), z->file);
	if (z->hugepages && fi.hugetlbfs && hp && hp != fi.hugetlbfs_page)
		return zerr("%s=%s but %s=%s is on a hugetlbfs mount with %s pages",
			    ZKEY(HUGEPAGE_SIZE), fmt(hp).s, ZKEY(FILE), z->file,
			    fmt(fi.hugetlbfs_page).s);
	if (z->hugepages && !hp)
		hp = fi.hugetlbfs ? fi.hugetlbfs_page : host->default_hugepage_size();
	if (z->hugepages && !hp)
		return zerr("%s=on: the host has no hugetlb pages (no Hugepagesize in "
			    "/proc/meminfo)",
			    ZKEY(HUGEPAGES));
	if (z->host_numa_node >= 0 && !host->numa_node_present(z->host_numa_node))
		return zerr("%s=%d: the host has no such NUMA node", ZKEY(HOST_NUMA_NODE),
			    z->host_numa_node);
	e->hugepage_size = z->hugepages ? hp : 0;
	/* A hugetlbfs file maps with the mount's page size even without hugepages=on. */
	e->page = z->hugepages ? hp : fi.hugetlbfs ? fi.hugetlbfs_page : PAGE_SIZE_4K;
	return 0;
}

static int check_sizes(struct vctx *v, const struct zone_config *z, struct zone_eff *e,
		       const char *label)
{
	const char *what = e->page == PAGE_SIZE_4K ? "page size" : "hugepage size";
	const struct {
		const char *name;
		uint64_t val;
	} sizes[] = {
	    {ZKEY(SIZE), z->size},
	    {ZKEY(HOTPLUG_SIZE), z->hotplug_size},
	    {ZKEY(HOTPLUGGED_SIZE), z->hotplugged_size},
	};
	uint64_t bs = z->block_size;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		if (!is_aligned(sizes[i].val, e->page))
			return zerr("%s=%s is not a multiple of the %s %s", sizes[i].name,
				    fmt(sizes[i].val).s, fmt(e->page).s, what);
	if (!range_ok(z->size, z->hotplug_size))
		return zerr("%s plus %s overflows", ZKEY(SIZE), ZKEY(HOTPLUG_SIZE));
	if (has(z, BLOCK_SIZE)) {
		if (!is_pow2(bs))
			return zerr("%s=%s is not a power of two", ZKEY(BLOCK_SIZE), fmt(bs).s);
		if (bs < VMEM_MIN_BLOCK)
			return zerr("%s=%s is below the minimum %s", ZKEY(BLOCK_SIZE), fmt(bs).s,
				    fmt(VMEM_MIN_BLOCK).s);
		if (bs < e->page)
			return zerr("%s=%s is below the %s %s", ZKEY(BLOCK_SIZE), fmt(bs).s,
				    fmt(e->page).s, what);
	} else {
		bs = z->hugepages ? e->page : MV_MAX(VMEM_DEFAULT_BLOCK, e->page);
	}
	e->block_size = bs;
	if (!z->hotplug_size)
		return 0;
	if (!is_aligned(z->hotplug_size, bs))
		return zerr("%s=%s is not a multiple of %s (%s)", ZKEY(HOTPLUG_SIZE),
			    fmt(z->hotplug_size).s, ZKEY(BLOCK_SIZE), fmt(bs).s);
	if (!is_aligned(z->hotplugged_size, bs))
		return zerr("%s=%s is not a multiple of %s (%s)", ZKEY(HOTPLUGGED_SIZE),
			    fmt(z->hotplugged_size).s, ZKEY(BLOCK_SIZE), fmt(bs).s);
	if (!is_aligned(z->hotplug_size, LINUX_MEMORY_BLOCK))
		return zerr("%s=%s is not a multiple of %s: Linux adds memory in %s blocks, the "
			    "guest could not use the rest",
			    ZKEY(HOTPLUG_SIZE), fmt(z->hotplug_size).s, fmt(LINUX_MEMORY_BLOCK).s,
			    fmt(LINUX_MEMORY_BLOCK).s);
	return 0;
}

static int check_zone(struct vctx *v, unsigned int i)
{
	const struct zone_config *z = &v->zones[i];
	char label[CONFIG_ID_LEN + 32];
	int r;

	if (!v->from_memory && !has(z, ID))
		return config_errf(v->err, v->errlen,
				   "%s (zone %u): %s is mandatory (e.g. id=mem%u)",
				   config_opt_name(OPT_MEMORY_ZONE), i + 1, ZKEY(ID), i);
	zone_label(v, i, label, sizeof(label));
	if (!v->from_memory && !has(z, SIZE))
		return zerr("%s is mandatory", ZKEY(SIZE));
	for (unsigned int j = 0; j < i; j++)
		if (!strcmp(v->zones[j].id, z->id))
			return zerr("%s is used by two zones", ZKEY(ID));
	r = check_hotplug(v, z, label);
	if (!r)
		r = check_backing(v, z, &v->eff[i], label);
	if (!r)
		r = check_sizes(v, z, &v->eff[i], label);
	return r;
}

/* --memory on its own, or as the size=0 header of --memory-zone. */
static int check_memory(struct vctx *v)
{
	struct mv_config *cfg = v->cfg;
	const struct memory_config *m = &cfg->memory;
	const char *opt = config_opt_name(OPT_MEMORY), *size = config_key_name(KEY_MEM_SIZE);

	if (m->given && !(m->keys & CONFIG_KEY_BIT(KEY_MEM_SIZE)))
		return config_errf(v->err, v->errlen, "%s: %s is mandatory (e.g. %s %s=1G)", opt,
				   size, opt, size);
	if (!cfg->nr_zones && !m->size)
		return config_errf(v->err, v->errlen, "%s %s=0: needs at least one %s", opt, size,
				   config_opt_name(OPT_MEMORY_ZONE));
	if (!cfg->nr_zones)
		return 0;
	if (m->size)
		return config_errf(v->err, v->errlen,
				   "%s needs %s %s=0 (guest RAM is then the "
				   "sum of the zones; %s=%s given)",
				   config_opt_name(OPT_MEMORY_ZONE), opt, size, size,
				   fmt(m->size).s);
	for (int k = 0; k < KEY__COUNT; k++) {
		if (config_keys[k].opt != OPT_MEMORY || !(m->keys & CONFIG_KEY_BIT(k)) ||
		    k == KEY_MEM_SIZE || k == KEY_MEM_HOTPLUG_METHOD || k == KEY_MEM_MERGEABLE)
			continue;
		return config_errf(v->err, v->errlen,
				   "%s %s: not allowed with %s; set it per "
				   "zone (%s ...,%s=...)",
				   opt, config_key_name(k), config_opt_name(OPT_MEMORY_ZONE),
				   config_opt_name(OPT_MEMORY_ZONE), config_key_name(k));
	}
	return 0;
}

/*
 * --memory hotplug_size with hotplug_method=acpi: an area for DIMMs, not a
 * virtio-mem device, so the virtio-mem keys do not apply. The area is cut
 * into whole Linux memory blocks; one ACPI slot per block, at least
 * CONFIG_DIMM_MIN_SLOTS and at most CONFIG_DIMM_MAX_SLOTS.
 */
static int check_dimm(struct vctx *v, uint64_t *area, unsigned int *slots)
{
	const struct memory_config *m = &v->cfg->memory;
	const char *opt = config_opt_name(OPT_MEMORY);
	const char *method = config_key_name(KEY_MEM_HOTPLUG_METHOD);
	static const enum config_key vmem_keys[] = {KEY_MEM_BLOCK_SIZE, KEY_MEM_PREALLOC,
						    KEY_MEM_UNPLUGGED_INACCESSIBLE};
	const char *hs = config_key_name(KEY_MEM_HOTPLUG_SIZE);

	*area = 0;
	*slots = 0;
	if (v->cfg->nr_zones || m->hotplug_method != HOTPLUG_ACPI)
		return 0;
	if (m->keys & CONFIG_KEY_BIT(KEY_MEM_HOTPLUGGED_SIZE))
		return config_errf(v->err, v->errlen,
				   "%s: %s=%s is only valid with %s %s=virtio-mem", opt,
				   config_key_name(KEY_MEM_HOTPLUGGED_SIZE),
				   fmt(m->hotplugged_size).s, opt, method);
	/* Without hotplug_size the zone checks name what the device keys need. */
	if (!(m->keys & CONFIG_KEY_BIT(KEY_MEM_HOTPLUG_SIZE)))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(vmem_keys); i++)
		if (m->keys & CONFIG_KEY_BIT(vmem_keys[i]))
			return config_errf(v->err, v->errlen,
					   "%s: %s is a virtio-mem device option; not valid with "
					   "%s=acpi (DIMMs)",
					   opt, config_key_name(vmem_keys[i]), method);
	if (!m->hotplug_size)
		return config_errf(v->err, v->errlen,
				   "%s: %s=0 is invalid (leave it out for no "
				   "hotplug)",
				   opt, hs);
	if (!is_aligned(m->hotplug_size, CONFIG_DIMM_ALIGN))
		return config_errf(v->err, v->errlen,
				   "%s: %s=%s must be a multiple of %s (DIMMs are whole "
				   "Linux memory blocks)",
				   opt, hs, fmt(m->hotplug_size).s, fmt(CONFIG_DIMM_ALIGN).s);
	if (!range_ok(m->size, m->hotplug_size))
		return config_errf(v->err, v->errlen, "%s: %s=%s: total guest memory overflows",
				   opt, hs, fmt(m->hotplug_size).s);
	*area = m->hotplug_size;
	/* Slots cost DSDT bytes only until plugged: at least CONFIG_DIMM_MIN_SLOTS. */
	*slots =
	    MV_MIN(MV_MAX(m->hotplug_size / CONFIG_DIMM_ALIGN, (uint64_t)CONFIG_DIMM_MIN_SLOTS),
		   (uint64_t)CONFIG_DIMM_MAX_SLOTS);
	return 0;
}

/* Plain --memory as zone "mem0": the same keys under the same names. */
static void memory_as_zone(const struct memory_config *m, struct zone_config *z)
{
	memset(z, 0, sizeof(*z));
	snprintf(z->id, sizeof(z->id), "mem0");
	for (int k = 0; k < KEY__COUNT; k++) {
		int zk;

		if (config_keys[k].opt != OPT_MEMORY || !(m->keys & CONFIG_KEY_BIT(k)))
			continue;
		zk = config_key_find(OPT_MEMORY_ZONE, config_key_name(k),
				     strlen(config_key_name(k)));
		if (zk >= 0)
			z->keys |= CONFIG_KEY_BIT(zk);
	}
	z->size = m->size;
	z->shared = m->shared;
	z->hugepages = m->hugepages;
	z->hugepage_size = m->hugepage_size;
	z->mergeable = m->mergeable;
	z->prefault = m->prefault;
	z->host_numa_node = -1;
	/* With ACPI the hotplug area takes DIMMs (check_dimm), it is no virtio-mem region. */
	if (m->hotplug_method == HOTPLUG_ACPI)
		z->keys &= ~CONFIG_KEY_BIT(KEY_ZONE_HOTPLUG_SIZE);
	else
		z->hotplug_size = m->hotplug_size;
	z->hotplugged_size = m->hotplugged_size;
	z->block_size = m->block_size;
	z->prealloc = m->prealloc;
	z->unplugged_inaccessible = m->unplugged_inaccessible;
	z->guest_numa_node = -1;
}

static int check_cpus(struct vctx *v)
{
	struct cpus_config *c = &v->cfg->cpus;
	const char *opt = config_opt_name(OPT_CPUS);
	unsigned int max = (c->keys & CONFIG_KEY_BIT(KEY_CPUS_MAX)) ? c->max : c->boot;

	if (c->boot < 1 || c->boot > CONFIG_MAX_CPUS)
		return config_errf(v->err, v->errlen, "%s %s=%u: must be 1 to %d", opt,
				   config_key_name(KEY_CPUS_BOOT), c->boot, CONFIG_MAX_CPUS);
	if (max < c->boot || max > CONFIG_MAX_CPUS)
		return config_errf(v->err, v->errlen, "%s %s=%u: must be %s (%u) to %d", opt,
				   config_key_name(KEY_CPUS_MAX), max,
				   config_key_name(KEY_CPUS_BOOT), c->boot, CONFIG_MAX_CPUS);
	if (max > c->boot)
		return config_errf(v->err, v->errlen,
				   "%s %s=%u: CPU hotplug is not supported yet (max must equal %s)",
				   opt, config_key_name(KEY_CPUS_MAX), max,
				   config_key_name(KEY_CPUS_BOOT));
	return 0;
}

static int find_zone(const struct vctx *v, const char *id)
{
	for (unsigned int i = 0; i < v->nr_zones; i++)
		if (!strcmp(v->zones[i].id, id))
			return i;
	return -1;
}

#define nerr(fmt, ...)                                                                             \
	config_errf(v->err, v->errlen, "%s %s=%u: " fmt, config_opt_name(OPT_NUMA),                \
		    config_key_name(KEY_NUMA_GUEST_NUMA_ID), n->guest_numa_id, ##__VA_ARGS__)

static int check_numa_node(struct vctx *v, unsigned int idx, int *cpu_owner, unsigned int max)
{
	const struct numa_config *n = &v->cfg->numa[idx];
	const struct mv_config *cfg = v->cfg;

	if (n->nr_sgx_epc_sections)
		return nerr("%s: SGX is not supported", config_key_name(KEY_NUMA_SGX_EPC_SECTIONS));
	for (unsigned int c = 0; c <= CONFIG_MAX_CPUS; c++) {
		if (!(n->cpus[c / 8] & (1u << (c % 8))))
			continue;
		if (c >= max)
			return nerr("cpu %u does not exist (%s has %u vCPUs at most)", c,
				    config_opt_name(OPT_CPUS), max);
		if (cpu_owner[c] >= 0)
			return nerr("cpu %u is also in guest NUMA node %d", c, cpu_owner[c]);
		cpu_owner[c] = n->guest_numa_id;
	}
	for (unsigned int i = 0; i < n->nr_zones; i++) {
		int z = find_zone(v, n->zones[i]);

		if (z < 0)
			return nerr("memory zone '%s' does not exist", n->zones[i]);
		if (v->eff[z].numa >= 0)
			return nerr("memory zone '%s' is also in guest NUMA node %d (a zone "
				    "belongs to one node)",
				    n->zones[i], v->eff[z].numa);
		v->eff[z].numa = n->guest_numa_id;
	}
	for (unsigned int i = 0; i < n->nr_distances; i++) {
		const struct numa_distance *d = &n->distances[i];
		bool defined = false;

		for (unsigned int j = 0; j < cfg->nr_numa; j++)
			defined |= cfg->numa[j].guest_numa_id == d->dest;
		for (unsigned int j = 0; j < i; j++)
			if (n->distances[j].dest == d->dest)
				return nerr("distance to node %u given twice", d->dest);
		if (!defined)
			return nerr("distance to node %u: no --numa defines that node", d->dest);
		if (d->dest == n->guest_numa_id && d->distance != 10)
			return nerr("distance to itself must be 10, not %u", d->distance);
		if (d->distance < 10)
			return nerr("distance %u to node %u is below 10 (the local distance)",
				    d->distance, d->dest);
	}
	return 0;
}

static int check_numa(struct vctx *v)
{
	const struct mv_config *cfg = v->cfg;
	int cpu_owner[CONFIG_MAX_CPUS + 1];
	unsigned int max =
	    (cfg->cpus.keys & CONFIG_KEY_BIT(KEY_CPUS_MAX)) ? cfg->cpus.max : cfg->cpus.boot;
	int r;

	memset(cpu_owner, -1, sizeof(cpu_owner));
	for (unsigned int i = 0; i < cfg->nr_numa; i++) {
		const struct numa_config *n = &cfg->numa[i];

		if (!(n->keys & CONFIG_KEY_BIT(KEY_NUMA_GUEST_NUMA_ID)))
			return config_errf(v->err, v->errlen, "%s (node %u): %s is mandatory",
					   config_opt_name(OPT_NUMA), i + 1,
					   config_key_name(KEY_NUMA_GUEST_NUMA_ID));
		if (n->guest_numa_id >= CONFIG_MAX_NUMA)
			return nerr("must be below %d", CONFIG_MAX_NUMA);
		for (unsigned int j = 0; j < i; j++)
			if (cfg->numa[j].guest_numa_id == n->guest_numa_id)
				return nerr("%s given twice",
					    config_key_name(KEY_NUMA_GUEST_NUMA_ID));
	}
	for (unsigned int i = 0; i < cfg->nr_numa; i++) {
		r = check_numa_node(v, i, cpu_owner, max);
		if (r)
			return r;
	}
	/*
	 * Linux drops the whole NUMA layout when SRAT leaves any RAM out. Only
	 * enforced once memory_zones is used at all, so CPU-only layouts (and
	 * the seed's bare `--numa guest_numa_id=0`) stay valid.
	 */
	bool placed = false;

	for (unsigned int i = 0; i < cfg->nr_numa; i++)
		placed |= cfg->numa[i].nr_zones > 0;
	for (unsigned int i = 0; placed && i < v->nr_zones; i++)
		if (v->eff[i].numa < 0)
			return config_errf(v->err, v->errlen,
					   "%s: memory zone '%s' is in no guest NUMA node (add it "
					   "to one with %s=...)",
					   config_opt_name(OPT_NUMA), v->zones[i].id,
					   config_key_name(KEY_NUMA_MEMORY_ZONES));
	return 0;
}

/*
 * Every zone with hotplug_size becomes a virtio-mem region with its memory
 * slots and a virtio-mem device on PCI bus 0, beside virtio-rng
 * (board_create_devices); more than KVM or the bus holds would pass here
 * and fail at start.
 */
static int check_devices(struct vctx *v)
{
	unsigned int vmem = 0, others = (v->cfg->rng ? 1 : 0) + (v->cfg->balloon.given ? 1 : 0);

	/* Any size fits KVM's slots: a region's slots follow its plugged runs (mem/hotplug.h). */
	for (unsigned int i = 0; i < v->nr_zones; i++)
		if (v->zones[i].hotplug_size)
			vmem++;
	if (vmem + others <= PCI_DEV_SLOTS)
		return 0;
	return config_errf(v->err, v->errlen,
			   "%s: %u zones with %s need %u virtio-mem devices; PCI bus 0 has room "
			   "for %u (%u device slots%s)",
			   v->from_memory ? config_opt_name(OPT_MEMORY)
					  : config_opt_name(OPT_MEMORY_ZONE),
			   vmem, ZKEY(HOTPLUG_SIZE), vmem, PCI_DEV_SLOTS - others, PCI_DEV_SLOTS,
			   others == 2	 ? ", two taken by virtio-rng and virtio-balloon"
			   : !others	 ? ""
			   : v->cfg->rng ? ", one taken by virtio-rng"
					 : ", one taken by virtio-balloon");
}

/*
 * --balloon: what it takes from the guest must be whole 4K pages (the
 * protocol counts pages) and leave the guest some boot RAM; its id names a
 * QOM path beside the virtio-mem devices', so it may not be a zone's.
 */
static int check_balloon(struct vctx *v)
{
	const struct balloon_config *b = &v->cfg->balloon;
	const char *name = config_opt_name(OPT_BALLOON), *size = config_key_name(KEY_BALLOON_SIZE);
	uint64_t boot = 0;

	if (!b->given)
		return 0;
	for (unsigned int i = 0; i < v->nr_zones; i++)
		boot += v->zones[i].size;
	if (b->size % PAGE_SIZE_4K)
		return config_errf(v->err, v->errlen, "%s: %s=%s is not a multiple of 4K", name,
				   size, fmt(b->size).s);
	if (b->size && b->size >= boot)
		return config_errf(v->err, v->errlen,
				   "%s: %s=%s must be smaller than the boot RAM (%s)", name, size,
				   fmt(b->size).s, fmt(boot).s);
	for (unsigned int i = 0; i < v->nr_zones; i++)
		if (!strcmp(v->zones[i].id, b->id))
			return config_errf(v->err, v->errlen,
					   "%s: %s=%s is already the name of a memory zone", name,
					   config_key_name(KEY_BALLOON_ID), b->id);
	return 0;
}

/*
 * --autoscale: it resizes virtio-mem devices by what the balloon's
 * statistics say, so it needs both; its bounds must hold the memory the
 * guest boots with and fit in what the devices can plug.
 */
static int check_autoscale(struct vctx *v)
{
	const struct autoscale_config *a = &v->cfg->autoscale;
	const char *name = config_opt_name(OPT_AUTOSCALE);
	uint64_t boot = 0, plugged = 0, most = 0;
	bool vmem = false;

	if (!a->given)
		return 0;
	for (unsigned int i = 0; i < v->nr_zones; i++) {
		boot += v->zones[i].size;
		plugged += v->zones[i].hotplugged_size;
		most += v->zones[i].size + v->zones[i].hotplug_size;
		vmem |= v->zones[i].hotplug_size > 0;
	}
	if (!vmem || v->cfg->memory.hotplug_method != HOTPLUG_VIRTIO_MEM)
		return config_errf(
		    v->err, v->errlen,
		    "%s needs a virtio-mem device (%s hotplug_method=virtio-mem with "
		    "hotplug_size)",
		    name, config_opt_name(OPT_MEMORY));
	if (!v->cfg->balloon.given || !v->cfg->balloon.stats_interval)
		return config_errf(v->err, v->errlen,
				   "%s needs %s with %s= greater than 0 (its statistics drive the "
				   "policy)",
				   name, config_opt_name(OPT_BALLOON),
				   config_key_name(KEY_BALLOON_STATS_INTERVAL));
	if (!a->low || a->low >= 100)
		return config_errf(v->err, v->errlen, "%s: %s=%u must be between 1 and 99", name,
				   config_key_name(KEY_AS_LOW), a->low);
	if (a->high >= 100)
		return config_errf(v->err, v->errlen, "%s: %s=%u must be below 100", name,
				   config_key_name(KEY_AS_HIGH), a->high);
	if (a->low >= a->high)
		return config_errf(v->err, v->errlen, "%s: %s=%u must be smaller than %s=%u", name,
				   config_key_name(KEY_AS_LOW), a->low,
				   config_key_name(KEY_AS_HIGH), a->high);
	if (!a->up_step)
		return config_errf(v->err, v->errlen, "%s: %s=0 is invalid", name,
				   config_key_name(KEY_AS_UP_STEP));
	if (a->min > boot + plugged)
		return config_errf(v->err, v->errlen,
				   "%s: %s=%s is more than the memory the guest boots with (%s)",
				   name, config_key_name(KEY_AS_MIN), fmt(a->min).s,
				   fmt(boot + plugged).s);
	if (a->max < boot + plugged)
		return config_errf(v->err, v->errlen,
				   "%s: %s=%s is less than the memory the guest boots with (%s)",
				   name, config_key_name(KEY_AS_MAX), fmt(a->max).s,
				   fmt(boot + plugged).s);
	if (a->max > most)
		return config_errf(v->err, v->errlen,
				   "%s: %s=%s is more than boot RAM plus the virtio-mem devices' "
				   "size (%s)",
				   name, config_key_name(KEY_AS_MAX), fmt(a->max).s, fmt(most).s);
	return 0;
}

#define PMEM_ALIGN     (2 * MiB)
#define PKEY(k)	       config_key_name(KEY_PMEM_##k)
#define phas(p, k)     ((p)->keys & CONFIG_KEY_BIT(KEY_PMEM_##k))
#define perr(fmt, ...) config_errf(v->err, v->errlen, "%s: " fmt, label, ##__VA_ARGS__)

/* One --pmem value: its file, size and node; the effective id and size into *id, *size. */
static int check_pmem_one(struct vctx *v, unsigned int i, char *id, uint64_t *size)
{
	const struct config_host_ops *host = config_host();
	const struct pmem_config *p = &v->cfg->pmem[i];
	struct config_pmem_file fi = {0};
	char label[CONFIG_ID_LEN + 32], why[256] = "";
	bool defined = false;

	if (phas(p, ID))
		snprintf(id, CONFIG_ID_LEN, "%s", p->id);
	else
		snprintf(id, CONFIG_ID_LEN, "pmem%u", i);
	snprintf(label, sizeof(label), "%s %s=%.*s", config_opt_name(OPT_PMEM), PKEY(ID),
		 CONFIG_ID_LEN, id);
	if (!p->file)
		return perr("%s is mandatory (e.g. %s=/path/to/image)", PKEY(FILE), PKEY(FILE));
	for (unsigned int j = 0; j < v->nr_zones; j++)
		if (!strcmp(v->zones[j].id, id))
			return perr("%s is also the id of a memory zone", PKEY(ID));
	if (!host->check_pmem_file)
		return perr("%s=%s: cannot be checked on this host", PKEY(FILE), p->file);
	if (host->check_pmem_file(p->file, p->discard_writes, &fi, why, sizeof(why)))
		return perr("%s=%s: %s", PKEY(FILE), p->file, why);
	if (phas(p, SIZE) && !p->size)
		return perr("%s=0 is invalid", PKEY(SIZE));
	if (!phas(p, SIZE) && fi.is_dir)
		return perr("%s=%s is a directory: %s is mandatory", PKEY(FILE), p->file,
			    PKEY(SIZE));
	if (!phas(p, SIZE) && !fi.size)
		return perr("%s=%s is empty: give %s", PKEY(FILE), p->file, PKEY(SIZE));
	*size = phas(p, SIZE) ? p->size : fi.size;
	if (!is_aligned(*size, PMEM_ALIGN))
		return perr("%s=%s is not a multiple of %s%s", PKEY(SIZE), fmt(*size).s,
			    fmt(PMEM_ALIGN).s,
			    phas(p, SIZE) ? "" : " (the file's size; give size= to grow it)");
	if (fi.size > *size)
		return perr("%s=%s (%s) is larger than %s=%s", PKEY(FILE), p->file, fmt(fi.size).s,
			    PKEY(SIZE), fmt(*size).s);
	if (p->discard_writes && fi.size < *size && !fi.is_dir)
		return perr("%s=on: %s=%s (%s) would have to grow to %s=%s, and it is opened "
			    "read-only",
			    PKEY(DISCARD_WRITES), PKEY(FILE), p->file, fmt(fi.size).s, PKEY(SIZE),
			    fmt(*size).s);
	if (p->node >= 0) {
		for (unsigned int j = 0; j < v->cfg->nr_numa; j++)
			defined |= v->cfg->numa[j].guest_numa_id == (uint32_t)p->node;
		if (!defined)
			return perr("%s=%d: no %s %s=%d defines that guest NUMA node", PKEY(NODE),
				    p->node, config_opt_name(OPT_NUMA),
				    config_key_name(KEY_NUMA_GUEST_NUMA_ID), p->node);
	}
	return 0;
}

/*
 * Every --pmem: its own checks, ids unique, and a PCI slot for each
 * virtio-pmem beside virtio-rng and the virtio-mem devices (an NVDIMM is
 * described in ACPI, not on PCI).
 */
static int check_pmem(struct vctx *v, char ids[][CONFIG_ID_LEN], uint64_t *sizes)
{
	unsigned int devs = v->cfg->rng ? 1 : 0, nvirtio = 0;
	int r;

	for (unsigned int i = 0; i < v->cfg->nr_pmem; i++) {
		r = check_pmem_one(v, i, ids[i], &sizes[i]);
		if (r)
			return r;
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(ids[j], ids[i]))
				return config_errf(v->err, v->errlen,
						   "%s %s=%s: used by two devices",
						   config_opt_name(OPT_PMEM), PKEY(ID), ids[i]);
		nvirtio += v->cfg->pmem[i].model == PMEM_VIRTIO;
	}
	for (unsigned int i = 0; i < v->nr_zones; i++)
		devs += v->zones[i].hotplug_size ? 1 : 0;
	if (nvirtio && devs + nvirtio > PCI_DEV_SLOTS)
		return config_errf(v->err, v->errlen,
				   "%s: %u virtio-pmem devices do not fit on PCI bus 0 (%u device "
				   "slots, %u taken by virtio-rng and virtio-mem)",
				   config_opt_name(OPT_PMEM), nvirtio, PCI_DEV_SLOTS, devs);
	return 0;
}

#define DKEY(k)			config_key_name(KEY_DISK_##k)
#define dhas(d, k)		((d)->keys & CONFIG_KEY_BIT(KEY_DISK_##k))
#define DISK_DEFAULT_QUEUE_SIZE 128
#define DISK_MAX_QUEUE_SIZE	1024
#define DISK_MAX_QUEUES		8

/*
 * Guest memory a vhost-user back-end can map, for the device named by
 * label: every zone shared=on or hugepages=on (a private mapping's pages
 * are this process's alone), and no ACPI DIMMs (their memory would have to
 * reach the back-end when plugged, which is not done).
 */
static int check_vu_memory(struct vctx *v, const char *label)
{
	char zl[CONFIG_ID_LEN + 32];

	for (unsigned int j = 0; j < v->nr_zones; j++) {
		const struct zone_config *z = &v->zones[j];

		if (z->shared || z->hugepages)
			continue;
		zone_label(v, j, zl, sizeof(zl));
		return config_errf(v->err, v->errlen,
				   "%s: the back-end must map guest memory, and %s is private to "
				   "this process: give it shared=on (or hugepages=on)",
				   label, zl);
	}
	if (v->dimm_area)
		return config_errf(v->err, v->errlen,
				   "%s: ACPI memory hotplug (%s hotplug_size= with "
				   "hotplug_method=acpi) is not supported with vhost-user devices "
				   "yet: use hotplug_method=virtio-mem",
				   label, config_opt_name(OPT_MEMORY));
	return 0;
}

/* A Unix socket path that fits sun_path. */
static bool socket_path_ok(const char *path)
{
	return path && path[0] && strlen(path) < sizeof(((struct sockaddr_un *)0)->sun_path);
}

/* One --disk value; its effective id into id, its size into *size. */
static int check_disk_one(struct vctx *v, unsigned int i, char *id, uint64_t *size,
			  char pmem_ids[][CONFIG_ID_LEN])
{
	const struct config_host_ops *host = config_host();
	const struct disk_config *d = &v->cfg->disks[i];
	char label[CONFIG_ID_LEN + 32], why[256] = "";

	if (dhas(d, ID))
		snprintf(id, CONFIG_ID_LEN, "%s", d->id);
	else
		snprintf(id, CONFIG_ID_LEN, "disk%u", i);
	snprintf(label, sizeof(label), "%s %s=%.*s", config_opt_name(OPT_DISK), DKEY(ID),
		 CONFIG_ID_LEN, id);
#define derr(fmt, ...) config_errf(v->err, v->errlen, "%s: " fmt, label, ##__VA_ARGS__)
	if (!d->vhost_user && dhas(d, SOCKET))
		return derr("%s= is for %s=on (a vhost-user back-end serves the disk)",
			    DKEY(SOCKET), DKEY(VHOST_USER));
	if (d->vhost_user) {
		if (!dhas(d, SOCKET))
			return derr("%s=on needs %s= (the back-end's Unix socket)",
				    DKEY(VHOST_USER), DKEY(SOCKET));
		if (!socket_path_ok(d->socket))
			return derr("%s=%s: not a Unix socket path (1 to %zu bytes)", DKEY(SOCKET),
				    d->socket, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		if (d->path)
			return derr("%s= with %s=on: the image is the back-end's to open, not "
				    "memvisor's",
				    DKEY(PATH), DKEY(VHOST_USER));
		if (dhas(d, READONLY) || dhas(d, DIRECT))
			return derr("%s= with %s=on: set it on the back-end's export",
				    dhas(d, READONLY) ? DKEY(READONLY) : DKEY(DIRECT),
				    DKEY(VHOST_USER));
	} else if (!d->path)
		return derr("%s is mandatory (e.g. %s=/path/to/disk.img)", DKEY(PATH), DKEY(PATH));
	if (dhas(d, NUM_QUEUES) && (d->num_queues < 1 || d->num_queues > DISK_MAX_QUEUES))
		return derr("%s=%u: must be 1 to %u", DKEY(NUM_QUEUES), d->num_queues,
			    DISK_MAX_QUEUES);
	if (dhas(d, QUEUE_SIZE) &&
	    (d->queue_size < 2 || d->queue_size > DISK_MAX_QUEUE_SIZE || !is_pow2(d->queue_size)))
		return derr("%s=%u: must be a power of two from 2 to %u", DKEY(QUEUE_SIZE),
			    d->queue_size, DISK_MAX_QUEUE_SIZE);
	for (unsigned int j = 0; j < v->nr_zones; j++)
		if (!strcmp(v->zones[j].id, id))
			return derr("%s is also the id of a memory zone", DKEY(ID));
	for (unsigned int j = 0; j < v->cfg->nr_pmem; j++)
		if (!strcmp(pmem_ids[j], id))
			return derr("%s is also the id of a %s device", DKEY(ID),
				    config_opt_name(OPT_PMEM));
	if (v->cfg->balloon.given && !strcmp(v->cfg->balloon.id, id))
		return derr("%s is also the id of the balloon", DKEY(ID));
	if (d->vhost_user) {
		*size = 0; /* the back-end's: read from its config at start */
		return check_vu_memory(v, label);
	}
	if (!host->check_disk)
		return derr("%s=%s: cannot be checked on this host", DKEY(PATH), d->path);
	if (host->check_disk(d->path, d->readonly, size, why, sizeof(why)))
		return derr("%s=%s: %s%s", DKEY(PATH), d->path, why,
			    d->readonly || !strstr(why, "not writable")
				? ""
				: " (readonly=on opens it for reading only)");
	if (*size < 512)
		return derr("%s=%s: %llu bytes, less than one 512-byte sector", DKEY(PATH), d->path,
			    (unsigned long long)*size);
#undef derr
	return 0;
}

/* Every --disk, ids unique, and a PCI slot for each beside the other virtio devices. */
static int check_disks(struct vctx *v, char ids[][CONFIG_ID_LEN], uint64_t *sizes,
		       char pmem_ids[][CONFIG_ID_LEN])
{
	unsigned int devs = (v->cfg->rng ? 1 : 0) + (v->cfg->balloon.given ? 1 : 0);
	int r;

	for (unsigned int i = 0; i < v->cfg->nr_disks; i++) {
		r = check_disk_one(v, i, ids[i], &sizes[i], pmem_ids);
		if (r)
			return r;
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(ids[j], ids[i]))
				return config_errf(v->err, v->errlen,
						   "%s %s=%s: used by two devices",
						   config_opt_name(OPT_DISK), DKEY(ID), ids[i]);
	}
	for (unsigned int i = 0; i < v->nr_zones; i++)
		devs += v->zones[i].hotplug_size ? 1 : 0;
	for (unsigned int i = 0; i < v->cfg->nr_pmem; i++)
		devs += v->cfg->pmem[i].model == PMEM_VIRTIO;
	if (v->cfg->nr_disks && devs + v->cfg->nr_disks > PCI_DEV_SLOTS)
		return config_errf(
		    v->err, v->errlen,
		    "%s: %u disks do not fit on PCI bus 0 (%u device slots, %u taken "
		    "by the other virtio devices)",
		    config_opt_name(OPT_DISK), v->cfg->nr_disks, PCI_DEV_SLOTS, devs);
	return 0;
}

#define NKEY(k)		       config_key_name(KEY_NET_##k)
#define nhas(n, k)	       ((n)->keys & CONFIG_KEY_BIT(KEY_NET_##k))
#define NET_DEFAULT_QUEUE_SIZE 256
#define NET_MAX_QUEUE_SIZE     1024
#define NET_MIN_MTU	       68
#define NET_MAX_MTU	       65535
#define NET_IFNAME_MAX	       15 /* IFNAMSIZ - 1 */

/* "aa:bb:cc:dd:ee:ff" (hex, either case) into mac; 0 or -EINVAL. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				      &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (unsigned int i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != (i < 5 ? ':' : 0) || !isxdigit((unsigned char)s[i * 3]) ||
		    !isxdigit((unsigned char)s[i * 3 + 1]))
			return -EINVAL;
		mac[i] = b[i];
	}
	return 0;
}

/* A dotted-quad IPv4 address into *addr (network order); 0 or -EINVAL. */
static int parse_ipv4(const char *s, uint32_t *addr)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*addr = a.s_addr;
	return 0;
}

/* A netmask is ones then zeros. */
static bool mask_ok(uint32_t be)
{
	uint32_t m = ntohl(be);

	return m && !(~m & (~m + 1));
}

/* The effective id of --net i. */
static void net_id(const struct mv_config *cfg, unsigned int i, char *id)
{
	if (nhas(&cfg->nets[i], ID))
		snprintf(id, CONFIG_ID_LEN, "%s", cfg->nets[i].id);
	else
		snprintf(id, CONFIG_ID_LEN, "net%u", i);
}

/* One --net value. ids: every other device's id seen so far (n of them). */
static int check_net_one(struct vctx *v, unsigned int i, char ids[][CONFIG_ID_LEN], unsigned int n)
{
	const struct net_config *c = &v->cfg->nets[i];
	char label[CONFIG_ID_LEN + 32], id[CONFIG_ID_LEN];
	uint8_t mac[6];
	uint32_t a;

	net_id(v->cfg, i, id);
	snprintf(label, sizeof(label), "%s %s=%.*s", config_opt_name(OPT_NET), NKEY(ID),
		 CONFIG_ID_LEN, id);
#define neterr(fmt, ...) config_errf(v->err, v->errlen, "%s: " fmt, label, ##__VA_ARGS__)
	if (c->vhost_user)
		return neterr("%s=on: vhost-user network devices are not supported yet "
			      "(not implemented)",
			      NKEY(VHOST_USER));
	if (nhas(c, SOCKET))
		return neterr("%s= is for %s=on, which is not supported yet", NKEY(SOCKET),
			      NKEY(VHOST_USER));
	if (nhas(c, FD) && nhas(c, TAP))
		return neterr("%s= and %s= both name the tap: give one", NKEY(FD), NKEY(TAP));
	if (nhas(c, FD) && (nhas(c, IP) || nhas(c, MASK) || nhas(c, HOST_MAC) || nhas(c, MTU)))
		return neterr("%s=%u is a tap opened by the caller, who sets it up: %s=, %s=, %s= "
			      "and %s= are not applied to it",
			      NKEY(FD), c->fd, NKEY(IP), NKEY(MASK), NKEY(HOST_MAC), NKEY(MTU));
	if (nhas(c, FD) && c->fd <= 2)
		return neterr("%s=%u: not a tap (0-2 are stdin, stdout, stderr)", NKEY(FD), c->fd);
	if (nhas(c, TAP) && (!c->tap[0] || strlen(c->tap) > NET_IFNAME_MAX || strchr(c->tap, '/') ||
			     strchr(c->tap, ' ') || !strcmp(c->tap, ".") || !strcmp(c->tap, "..")))
		return neterr("%s=%s: not an interface name (1 to %u characters, no '/' or blank)",
			      NKEY(TAP), c->tap, NET_IFNAME_MAX);
	if (nhas(c, IP) && (parse_ipv4(c->ip, &a) || !a))
		return neterr("%s=%s: not an IPv4 address (e.g. 192.168.249.1)", NKEY(IP), c->ip);
	if (nhas(c, MASK) && !nhas(c, IP))
		return neterr("%s= needs %s=", NKEY(MASK), NKEY(IP));
	if (nhas(c, MASK) && (parse_ipv4(c->mask, &a) || !mask_ok(a)))
		return neterr("%s=%s: not a netmask (e.g. 255.255.255.0)", NKEY(MASK), c->mask);
	if (nhas(c, MAC) && parse_mac(c->mac, mac))
		return neterr("%s=%s: not a MAC address (e.g. 52:54:00:12:34:56)", NKEY(MAC),
			      c->mac);
	if (nhas(c, MAC) && (mac[0] & 1))
		return neterr("%s=%s: a multicast address (the first byte is odd)", NKEY(MAC),
			      c->mac);
	if (nhas(c, MAC) && !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return neterr("%s=%s: the zero address", NKEY(MAC), c->mac);
	if (nhas(c, HOST_MAC) && (parse_mac(c->host_mac, mac) || (mac[0] & 1)))
		return neterr("%s=%s: not a unicast MAC address (e.g. 52:54:00:12:34:57)",
			      NKEY(HOST_MAC), c->host_mac);
	if (nhas(c, MTU) && (c->mtu < NET_MIN_MTU || c->mtu > NET_MAX_MTU))
		return neterr("%s=%u: must be %u to %u", NKEY(MTU), c->mtu, NET_MIN_MTU,
			      NET_MAX_MTU);
	if (nhas(c, NUM_QUEUES) && c->num_queues != 2)
		return neterr("%s=%u: only 2 (one receive and one transmit queue) is supported",
			      NKEY(NUM_QUEUES), c->num_queues);
	if (nhas(c, QUEUE_SIZE) &&
	    (c->queue_size < 2 || c->queue_size > NET_MAX_QUEUE_SIZE || !is_pow2(c->queue_size)))
		return neterr("%s=%u: must be a power of two from 2 to %u", NKEY(QUEUE_SIZE),
			      c->queue_size, NET_MAX_QUEUE_SIZE);
	for (unsigned int j = 0; j < n; j++)
		if (!strcmp(ids[j], id))
			return neterr("%s is also the id of another device or memory zone",
				      NKEY(ID));
	for (unsigned int j = 0; j < i; j++) {
		const struct net_config *o = &v->cfg->nets[j];

		if (!strcmp(ids[n + j], id))
			return neterr("used by two devices");
		if (c->tap && o->tap && !strcmp(c->tap, o->tap))
			return neterr("%s=%s: also the tap of %s %s", NKEY(TAP), c->tap,
				      config_opt_name(OPT_NET), ids[n + j]);
		if (nhas(c, FD) && nhas(o, FD) && c->fd == o->fd)
			return neterr("%s=%u: also the fd of %s %s", NKEY(FD), c->fd,
				      config_opt_name(OPT_NET), ids[n + j]);
	}
#undef neterr
	return 0;
}

/* Every --net: ids unique among all devices and zones, a PCI slot for each. */
static int check_nets(struct vctx *v, char disk_ids[][CONFIG_ID_LEN],
		      char pmem_ids[][CONFIG_ID_LEN])
{
	char ids[CONFIG_MAX_ZONES + CONFIG_MAX_PMEM + CONFIG_MAX_DISKS + 1 + CONFIG_MAX_NETS]
		[CONFIG_ID_LEN];
	unsigned int n = 0, devs = (v->cfg->rng ? 1 : 0) + (v->cfg->balloon.given ? 1 : 0);
	int r;

	for (unsigned int i = 0; i < v->nr_zones; i++) {
		snprintf(ids[n++], CONFIG_ID_LEN, "%.*s", CONFIG_ID_LEN - 1, v->zones[i].id);
		devs += v->zones[i].hotplug_size ? 1 : 0;
	}
	for (unsigned int i = 0; i < v->cfg->nr_pmem; i++) {
		snprintf(ids[n++], CONFIG_ID_LEN, "%.*s", CONFIG_ID_LEN - 1, pmem_ids[i]);
		devs += v->cfg->pmem[i].model == PMEM_VIRTIO;
	}
	for (unsigned int i = 0; i < v->cfg->nr_disks; i++)
		snprintf(ids[n++], CONFIG_ID_LEN, "%.*s", CONFIG_ID_LEN - 1, disk_ids[i]);
	devs += v->cfg->nr_disks;
	if (v->cfg->balloon.given)
		snprintf(ids[n++], CONFIG_ID_LEN, "%.*s", CONFIG_ID_LEN - 1, v->cfg->balloon.id);
	for (unsigned int i = 0; i < v->cfg->nr_nets; i++) {
		r = check_net_one(v, i, ids, n);
		if (r)
			return r;
		net_id(v->cfg, i, ids[n + i]);
	}
	if (v->cfg->nr_nets && devs + v->cfg->nr_nets > PCI_DEV_SLOTS)
		return config_errf(v->err, v->errlen,
				   "%s: %u network devices do not fit on PCI bus 0 (%u device "
				   "slots, %u taken by the other virtio devices)",
				   config_opt_name(OPT_NET), v->cfg->nr_nets, PCI_DEV_SLOTS, devs);
	return 0;
}

/*
 * --vsock: a context id the guest may have (0 to 2 are the hypervisor's,
 * the local and the host's; U32_MAX is "any"), a socket path with room for
 * the "_<port>" of guest-initiated connections, an id no other device or
 * zone has, and a PCI slot.
 */
static int check_vsock(struct vctx *v, char disk_ids[][CONFIG_ID_LEN],
		       char pmem_ids[][CONFIG_ID_LEN])
{
	const struct vsock_config *k = &v->cfg->vsock;
	const char *name = config_opt_name(OPT_VSOCK);
	unsigned int devs = (v->cfg->rng ? 1 : 0) + (v->cfg->balloon.given ? 1 : 0) +
			    v->cfg->nr_disks + v->cfg->nr_nets + 1;
	char id[CONFIG_ID_LEN];
	bool dup = v->cfg->balloon.given && !strcmp(v->cfg->balloon.id, k->id);

	if (!k->given)
		return 0;
	if (k->cid < VSOCK_MIN_CID || k->cid > VSOCK_MAX_CID)
		return config_errf(v->err, v->errlen,
				   "%s: %s=%u: not a guest's context id (%u to %u; 0 to 2 are "
				   "reserved)",
				   name, config_key_name(KEY_VSOCK_CID), k->cid, VSOCK_MIN_CID,
				   VSOCK_MAX_CID);
	if (strlen(k->socket) + sizeof("_4294967295") > sizeof(((struct sockaddr_un *)0)->sun_path))
		return config_errf(v->err, v->errlen,
				   "%s: %s=%s: too long for a Unix socket path with \"_<port>\" "
				   "after it (at most %zu bytes)",
				   name, config_key_name(KEY_VSOCK_SOCKET), k->socket,
				   sizeof(((struct sockaddr_un *)0)->sun_path) -
				       sizeof("_4294967295"));
	for (unsigned int i = 0; i < v->nr_zones; i++) {
		dup |= !strcmp(v->zones[i].id, k->id);
		devs += v->zones[i].hotplug_size ? 1 : 0;
	}
	for (unsigned int i = 0; i < v->cfg->nr_pmem; i++) {
		dup |= !strcmp(pmem_ids[i], k->id);
		devs += v->cfg->pmem[i].model == PMEM_VIRTIO;
	}
	for (unsigned int i = 0; i < v->cfg->nr_disks; i++)
		dup |= !strcmp(disk_ids[i], k->id);
	for (unsigned int i = 0; i < v->cfg->nr_nets; i++) {
		net_id(v->cfg, i, id);
		dup |= !strcmp(id, k->id);
	}
	if (dup)
		return config_errf(v->err, v->errlen, "%s: %s=%s: another device or zone has it",
				   name, config_key_name(KEY_VSOCK_ID), k->id);
	if (devs > PCI_DEV_SLOTS)
		return config_errf(
		    v->err, v->errlen,
		    "%s: no PCI slot left on bus 0 (%u device slots, all taken by the "
		    "other virtio devices)",
		    name, PCI_DEV_SLOTS);
	return 0;
}

#define FKEY(k)	     config_key_name(KEY_FS_##k)
#define fhas(f, k)   ((f)->keys & CONFIG_KEY_BIT(KEY_FS_##k))
#define FS_MAX_QSIZE 1024

/*
 * --fs: a tag the guest can hold, a socket path that fits, queue counts a
 * virtio-pci function here offers, ids and tags nobody else has, a PCI
 * slot each, and guest memory another process can map (check_vu_memory).
 */
static int check_fs(struct vctx *v, char disk_ids[][CONFIG_ID_LEN], char pmem_ids[][CONFIG_ID_LEN])
{
	const struct mv_config *cfg = v->cfg;
	unsigned int devs = (cfg->rng ? 1 : 0) + (cfg->balloon.given ? 1 : 0) + cfg->nr_disks +
			    cfg->nr_nets + (cfg->vsock.given ? 1 : 0) + cfg->nr_fs;
	char label[CONFIG_ID_LEN + 32], id[CONFIG_ID_LEN];
	int r;

	for (unsigned int i = 0; i < v->nr_zones; i++)
		devs += v->zones[i].hotplug_size ? 1 : 0;
	for (unsigned int i = 0; i < cfg->nr_pmem; i++)
		devs += cfg->pmem[i].model == PMEM_VIRTIO;
	for (unsigned int i = 0; i < cfg->nr_fs; i++) {
		const struct fs_config *f = &cfg->fs[i];
		bool dup = cfg->balloon.given && !strcmp(cfg->balloon.id, f->id);

		snprintf(label, sizeof(label), "%s %s=%s", config_opt_name(OPT_FS), FKEY(ID),
			 f->id);
#define fserr(fmt, ...) config_errf(v->err, v->errlen, "%s: " fmt, label, ##__VA_ARGS__)
		if (!f->tag[0] || strlen(f->tag) > CONFIG_FS_TAG_MAX)
			return fserr("%s=%s: 1 to %u bytes", FKEY(TAG), f->tag, CONFIG_FS_TAG_MAX);
		if (!socket_path_ok(f->socket))
			return fserr("%s=%s: not a Unix socket path (1 to %zu bytes)", FKEY(SOCKET),
				     f->socket, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		if (fhas(f, NUM_QUEUES) &&
		    (f->num_queues < 1 || f->num_queues > CONFIG_FS_MAX_QUEUES))
			return fserr("%s=%u: must be 1 to %u", FKEY(NUM_QUEUES), f->num_queues,
				     CONFIG_FS_MAX_QUEUES);
		if (fhas(f, QUEUE_SIZE) &&
		    (f->queue_size < 2 || f->queue_size > FS_MAX_QSIZE || !is_pow2(f->queue_size)))
			return fserr("%s=%u: must be a power of two from 2 to %u", FKEY(QUEUE_SIZE),
				     f->queue_size, FS_MAX_QSIZE);
		for (unsigned int j = 0; j < v->nr_zones; j++)
			dup |= !strcmp(v->zones[j].id, f->id);
		for (unsigned int j = 0; j < cfg->nr_pmem; j++)
			dup |= !strcmp(pmem_ids[j], f->id);
		for (unsigned int j = 0; j < cfg->nr_disks; j++)
			dup |= !strcmp(disk_ids[j], f->id);
		for (unsigned int j = 0; j < cfg->nr_nets; j++) {
			net_id(cfg, j, id);
			dup |= !strcmp(id, f->id);
		}
		dup |= cfg->vsock.given && !strcmp(cfg->vsock.id, f->id);
		for (unsigned int j = 0; j < i; j++) {
			dup |= !strcmp(cfg->fs[j].id, f->id);
			if (!strcmp(cfg->fs[j].tag, f->tag))
				return fserr("%s=%s: also the tag of %s %s=%s", FKEY(TAG), f->tag,
					     config_opt_name(OPT_FS), FKEY(ID), cfg->fs[j].id);
		}
		if (dup)
			return fserr("another device or zone has this id");
		r = check_vu_memory(v, label);
		if (r)
			return r;
#undef fserr
	}
	if (devs > PCI_DEV_SLOTS)
		return config_errf(
		    v->err, v->errlen,
		    "%s: %u shares do not fit on PCI bus 0 (%u device slots, %u taken "
		    "by the other virtio devices)",
		    config_opt_name(OPT_FS), cfg->nr_fs, PCI_DEV_SLOTS, devs - cfg->nr_fs);
	return 0;
}

static void commit_fs(struct mv_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_fs; i++) {
		struct fs_config *f = &cfg->fs[i];

		if (!fhas(f, NUM_QUEUES))
			f->num_queues = 1;
		if (!fhas(f, QUEUE_SIZE))
			f->queue_size = FS_MAX_QSIZE;
	}
}

/*
 * The MAC of a --net without mac=: the same for the same VM at every start,
 * so a guest's network configuration and its peers' ARP caches hold across
 * restarts. "The same VM" is what names it on this host: the tap it was
 * given (tap=), its control socket (--api-socket), and the device's id;
 * two VMs running side by side can share neither a tap nor a socket. With
 * neither (a tap named by the kernel or fd=, no socket) nothing names the
 * VM, and the MAC is random. Locally administered, unicast.
 */
static void net_default_mac(const struct mv_config *cfg, struct net_config *c)
{
	const char *parts[3] = {c->tap, cfg->api_socket, c->id};
	uint32_t h1 = 0, h2;

	if (c->tap || cfg->api_socket) {
		for (unsigned int i = 0; i < 3; i++)
			h1 = mv_crc32c(h1, parts[i] ? parts[i] : "",
				       parts[i] ? strlen(parts[i]) + 1 : 1);
		h2 = mv_crc32c(h1, "memvisor-net", 12);
		memcpy(c->guest_mac, &h1, 4);
		c->guest_mac[4] = h2;
		c->guest_mac[5] = h2 >> 8;
	} else if (getrandom(c->guest_mac, 6, 0) != 6) {
		for (unsigned int b = 0; b < 6; b++)
			c->guest_mac[b] = rand();
	}
	c->guest_mac[0] = (c->guest_mac[0] & 0xFC) | 0x02;
}

/* After validation: ids, defaults, the parsed addresses, a default MAC where none was given. */
static void commit_nets(struct mv_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		struct net_config *c = &cfg->nets[i];

		char id[CONFIG_ID_LEN];

		net_id(cfg, i, id);
		memcpy(c->id, id, sizeof(id));
		c->num_queues = 2;
		if (!nhas(c, QUEUE_SIZE))
			c->queue_size = NET_DEFAULT_QUEUE_SIZE;
		if (!nhas(c, MAC) || parse_mac(c->mac, c->guest_mac))
			net_default_mac(cfg, c);
		if (nhas(c, HOST_MAC))
			parse_mac(c->host_mac, c->tap_mac);
		c->ip_addr = c->ip_mask = 0;
		if (nhas(c, IP) && !parse_ipv4(c->ip, &c->ip_addr))
			c->ip_mask = htonl(0xFFFFFF00);
		if (nhas(c, MASK))
			parse_ipv4(c->mask, &c->ip_mask);
	}
}

static void commit(struct vctx *v, uint64_t dimm_area, unsigned int dimm_slots)
{
	struct mv_config *cfg = v->cfg;

	if (!(cfg->cpus.keys & CONFIG_KEY_BIT(KEY_CPUS_MAX)))
		cfg->cpus.max = cfg->cpus.boot;
	cfg->dimm_area = dimm_area;
	cfg->dimm_slots = dimm_slots;
	if (v->from_memory) {
		cfg->zones[0] = v->zones[0];
		cfg->nr_zones = 1;
	}
	for (unsigned int i = 0; i < cfg->nr_zones; i++) {
		struct zone_config *z = &cfg->zones[i];

		if (!has(z, MERGEABLE))
			z->mergeable = cfg->memory.mergeable;
		z->hugepage_size = v->eff[i].hugepage_size;
		z->block_size = v->eff[i].block_size;
		z->guest_numa_node = v->eff[i].numa;
	}
}

int config_validate(struct mv_config *cfg, char *err, size_t errlen)
{
	struct zone_config mem0;
	char pmem_ids[CONFIG_MAX_PMEM][CONFIG_ID_LEN];
	uint64_t pmem_sizes[CONFIG_MAX_PMEM];
	char disk_ids[CONFIG_MAX_DISKS][CONFIG_ID_LEN];
	uint64_t disk_sizes[CONFIG_MAX_DISKS];
	struct vctx v = {.cfg = cfg, .err = err, .errlen = errlen};
	uint64_t total = 0, dimm_area;
	unsigned int dimm_slots;
	int r;

	/* --dry-run checks the rest of the command line without a kernel. */
	if (!cfg->kernel && !cfg->dry_run)
		return config_errf(err, errlen, "%s is required", config_opt_name(OPT_KERNEL));
	r = check_cpus(&v);
	if (!r)
		r = check_memory(&v);
	if (!r)
		r = check_dimm(&v, &dimm_area, &dimm_slots);
	if (r)
		return r;
	v.dimm_area = dimm_area;
	v.from_memory = !cfg->nr_zones;
	if (v.from_memory)
		memory_as_zone(&cfg->memory, &mem0);
	v.zones = v.from_memory ? &mem0 : cfg->zones;
	v.nr_zones = v.from_memory ? 1 : cfg->nr_zones;
	for (unsigned int i = 0; i < v.nr_zones; i++) {
		const struct zone_config *z = &v.zones[i];

		v.eff[i].numa = -1;
		r = check_zone(&v, i);
		if (r)
			return r;
		if (!range_ok(total, z->size + z->hotplug_size))
			return config_errf(err, errlen, "%s: total guest memory overflows",
					   config_opt_name(OPT_MEMORY_ZONE));
		total += z->size + z->hotplug_size;
	}
	r = check_devices(&v);
	if (!r)
		r = check_numa(&v);
	if (!r)
		r = check_pmem(&v, pmem_ids, pmem_sizes);
	if (!r)
		r = check_balloon(&v);
	if (!r)
		r = check_disks(&v, disk_ids, disk_sizes, pmem_ids);
	if (!r)
		r = check_nets(&v, disk_ids, pmem_ids);
	if (!r)
		r = check_vsock(&v, disk_ids, pmem_ids);
	if (!r)
		r = check_fs(&v, disk_ids, pmem_ids);
	if (!r)
		r = check_autoscale(&v);
	if (r)
		return r;
	commit(&v, dimm_area, dimm_slots);
	for (unsigned int i = 0; i < cfg->nr_pmem; i++) {
		memcpy(cfg->pmem[i].id, pmem_ids[i], CONFIG_ID_LEN);
		cfg->pmem[i].size = pmem_sizes[i];
	}
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		struct disk_config *d = &cfg->disks[i];

		memcpy(d->id, disk_ids[i], CONFIG_ID_LEN);
		d->size = disk_sizes[i];
		if (!dhas(d, NUM_QUEUES))
			d->num_queues = 1;
		if (!dhas(d, QUEUE_SIZE))
			d->queue_size = DISK_DEFAULT_QUEUE_SIZE;
	}
	commit_nets(cfg);
	commit_fs(cfg);
	return 0;
}
