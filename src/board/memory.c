#include "board/memory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/size.h"
#include "lib/util.h"
#include "config/options.h"

struct backend *board_zone_backend(struct board *m, unsigned int zone, bool hotplug)
{
	unsigned int i;

	for (i = 0; i < m->nr_backends; i++)
		if (m->backends[i].spec.zone == zone && m->backends[i].spec.hotplug == hotplug)
			return &m->backends[i];
	return NULL;
}

int board_dry_run(struct mv_config *cfg, FILE *out)
{
	static struct layout l;
	static struct backend_spec specs[BACKEND_MAX];
	char err[CONFIG_ERR_LEN];
	unsigned int n;
	int ret;

	ret = layout_build(cfg, &l, err, sizeof(err));
	if (ret) {
		mv_err("%s", err);
		return ret;
	}
	ret = backend_specs_from_config(cfg, &l, specs, BACKEND_MAX, &n);
	if (ret) {
		mv_err("planning host memory failed: %s", strerror(-ret));
		return ret;
	}
	fprintf(out, "Guest physical memory map:\n");
	layout_format_mtree(&l, cfg, out);
	fprintf(out, "\nE820 map:\n");
	layout_format_e820(&l, out);
	fprintf(out, "\nHost backing (RAM blocks):\n");
	backend_format_specs(out, specs, n);
	return 0;
}

/* Plans the guest's memory and creates every host backing; nothing else is acquired yet. */
int board_create_memory(struct board *m)
{
	struct backend_spec *specs = m->specs;
	char err[CONFIG_ERR_LEN];
	unsigned int i;
	int ret;

	ret = layout_build(m->cfg, &m->layout, err, sizeof(err));
	if (ret) {
		mv_err("%s", err);
		return ret;
	}
	/* Checked before any memory is taken: the kernel must fit below the PCI hole. */
	if (m->layout.low_ram_end < m->min_low_ram) {
		char have[MV_SIZE_STR], need[MV_SIZE_STR];

		layout_zone_opt(m->cfg, 0, err, sizeof(err));
		mv_size_format(m->layout.low_ram_end, have, sizeof(have));
		mv_size_format(((m->min_low_ram >> 20) + 1) << 20, need, sizeof(need));
		mv_err("%s: %s of RAM below 3G is too little for this kernel and initramfs: they "
		       "need %s",
		       err, have, need);
		return -EINVAL;
	}
	ret = backend_specs_from_config(m->cfg, &m->layout, specs, BACKEND_MAX, &m->nr_backends);
	if (ret) {
		mv_err("planning host memory failed: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; i < m->nr_backends; i++) {
		ret = backend_create(&specs[i], &m->backends[i], err, sizeof(err));
		if (ret) {
			mv_err("%s", err);
			m->nr_backends = i;
			return ret;
		}
	}
	for (i = 0; i < m->layout.nr_regions; i++) {
		const struct layout_region *r = &m->layout.regions[i];
		struct backend *b = board_zone_backend(m, r->zone, r->kind == LAYOUT_HOTPLUG);

		if (r->kind != LAYOUT_RAM || !b)
			continue;
		m->ram[m->nr_ram++] = (struct board_ram){r->gpa, r->size, b->hva + r->offset, 0};
	}
	for (i = 0; i < m->layout.nr_e820 && i < X86_E820_MAX; i++) {
		m->e820[i] = (struct x86_e820){m->layout.e820[i].addr, m->layout.e820[i].size,
					       m->layout.e820[i].type};
	}
	m->nr_e820 = i;
	m->low_ram_end = m->layout.low_ram_end;
	return 0;
}

int board_map_memory(struct board *m)
{
	unsigned int i;
	int ret;

	for (i = 0; i < m->nr_ram; i++) {
		struct board_ram *r = &m->ram[i];

		ret = vm_map(&m->vm, r->gpa, r->size, r->hva, &r->slot);
		if (ret) {
			mv_err("mapping guest RAM at %#llx failed: %s", (unsigned long long)r->gpa,
			       strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static struct board_hotplug *board_hp(struct hp_region *r)
{
	return container_of(r, struct board_hotplug, hp);
}

static int board_hp_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	return vm_map(&board_hp(r)->m->vm, gpa, size, hva, slot);
}

static int board_hp_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	return vm_unmap(&board_hp(r)->m->vm, slot, gpa, size);
}

static int board_hp_populate(struct hp_region *r, uint64_t off, uint64_t len)
{
	return backend_populate(board_hp(r)->backend, off, len);
}

static int board_hp_discard(struct hp_region *r, uint64_t off, uint64_t len)
{
	return backend_discard(board_hp(r)->backend, off, len);
}

static void board_hp_hold(struct hp_region *r)
{
	vm_hold(&board_hp(r)->m->vm);
}

static void board_hp_release(struct hp_region *r)
{
	vm_release(&board_hp(r)->m->vm);
}

static const struct hp_ops board_hp_ops = {
    .map = board_hp_map,
    .unmap = board_hp_unmap,
    .populate = board_hp_populate,
    .discard = board_hp_discard,
    .hold = board_hp_hold,
    .release = board_hp_release,
};

/* vCPU thread: a guest access that no slot and no device claimed. */
static bool board_unmapped(struct vm *vm, uint64_t gpa, void *data, uint32_t len, bool write)
{
	struct board *m = container_of(vm, struct board, vm);
	unsigned int i;

	for (i = 0; i < m->nr_hotplug; i++)
		if (hp_access(&m->hotplug[i].hp, gpa, data, len, write))
			return true;
	return false;
}

/*
 * The memory slots a DIMM or a --pmem device takes, counted before they
 * exist, so the virtio-mem regions' shares leave room for them.
 */
static uint64_t board_slots_later(const struct board *m)
{
	return (uint64_t)m->cfg->dimm_slots + m->cfg->nr_pmem;
}

int board_create_hotplug(struct board *m)
{
	uint64_t sizes[CONFIG_MAX_ZONES], free_slots, later, budget;
	uint32_t shares[CONFIG_MAX_ZONES];
	unsigned int z, n = 0, i;
	int ret;

	for (z = 0; z < m->layout.nr_zones; z++)
		if (m->layout.zones[z].hotplug_size)
			sizes[n++] = m->layout.zones[z].hotplug_size;
	if (!n)
		return 0;
	/*
	 * The slots KVM leaves, less a reserve and what DIMMs and pmem will
	 * take, shared out by region size: each region's extents stay within
	 * its share (hp_init), so no consumer can starve another.
	 */
	free_slots = vm_slots_free(&m->vm);
	later = board_slots_later(m);
	budget = free_slots > HP_SLOT_RESERVE + later ? free_slots - HP_SLOT_RESERVE - later : 0;
	ret = hp_share_slots(sizes, n, budget, shares);
	if (ret) {
		mv_err("%s: %u virtio-mem regions need at least a memory slot each; this KVM "
		       "leaves %llu (%u kept back, %llu for DIMMs and pmem)",
		       m->cfg->memory.size ? OPT_NAME_MEMORY : OPT_NAME_MEMORY_ZONE, n,
		       (unsigned long long)free_slots, HP_SLOT_RESERVE, (unsigned long long)later);
		return ret;
	}
	for (z = 0, i = 0; z < m->layout.nr_zones; z++) {
		const struct layout_zone *lz = &m->layout.zones[z];
		const struct zone_config *zc = &m->cfg->zones[z];
		struct board_hotplug *h = &m->hotplug[m->nr_hotplug];

		if (!lz->hotplug_size)
			continue;
		h->m = m;
		h->zone = z;
		h->backend = board_zone_backend(m, z, true);
		if (!h->backend)
			return -EINVAL;
		ret = hp_init(&h->hp, &board_hp_ops, lz->hotplug_gpa, lz->hotplug_size,
			      zc->block_size, shares[i++], h->backend->hva, zc->prealloc);
		if (ret) {
			mv_err("%s: virtio-mem region: %s", zc->id, strerror(-ret));
			return ret;
		}
		h->hp_up = true;
		m->nr_hotplug++;
	}
	m->vm.unmapped = board_unmapped;
	return 0;
}

void board_destroy_hotplug(struct board *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_hotplug; i++)
		if (m->hotplug[i].hp_up)
			hp_destroy(&m->hotplug[i].hp);
}

void board_ondemand_close(struct board *m, bool report)
{
	struct od_stats st;
	unsigned int i;

	if (!m->od)
		return;
	od_get_stats(m->od, &st);
	/* Before the close: a discard must not use the userfaultfd any more. */
	for (i = 0; i < m->nr_backends; i++)
		m->backends[i].uffd_on = false;
	od_close(m->od);
	free(m->od);
	m->od = NULL;
	if (report)
		mv_info(
		    "memory_restore_mode=ondemand: every page in place after %llu ms "
		    "(%llu MiB by the background pass, %llu pages on a fault, %llu of them zero)",
		    (unsigned long long)st.fill_ms, (unsigned long long)(st.filled_bytes >> 20),
		    (unsigned long long)st.faults, (unsigned long long)st.fault_zero);
}

/* A VM that never booted leaves no files behind; one that ran keeps its data. */
void board_destroy_backends(struct board *m)
{
	unsigned int i;

	/* The vCPUs are joined: no fault waits on the server any more. */
	board_ondemand_close(m, false);
	for (i = 0; i < m->nr_backends; i++) {
		if (m->boots)
			backend_destroy(&m->backends[i]);
		else
			backend_abandon(&m->backends[i]);
	}
}
