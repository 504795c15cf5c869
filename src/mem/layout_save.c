#include "mem/layout_save.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"

struct zone_image {
	char id[CONFIG_ID_LEN];
	uint64_t ram_gpa, ram_size, hotplug_gpa, hotplug_size, block_size;
	int32_t node;
};

struct region_image {
	uint8_t kind;
	uint32_t zone;
	uint64_t gpa, size, offset;
};

struct layout_image {
	uint32_t nr_zones, nr_regions;
	struct zone_image z[CONFIG_MAX_ZONES];
	struct region_image r[LAYOUT_MAX_REGIONS];
};

static void zone_image_of(const struct layout *l, const struct mv_config *cfg, unsigned int i,
			  struct zone_image *z)
{
	memset(z, 0, sizeof(*z));
	memcpy(z->id, cfg->zones[i].id, sizeof(z->id));
	z->id[sizeof(z->id) - 1] = '\0';
	z->ram_gpa = l->zones[i].ram_size ? l->zones[i].ram_gpa : 0;
	z->ram_size = l->zones[i].ram_size;
	z->hotplug_gpa = l->zones[i].hotplug_gpa;
	z->hotplug_size = l->zones[i].hotplug_size;
	z->block_size = l->zones[i].hotplug_size ? cfg->zones[i].block_size : 0;
	z->node = cfg->zones[i].guest_numa_node;
}

void layout_save(const struct layout *l, const struct mv_config *cfg, struct mv_state_writer *w)
{
	struct zone_image z;
	unsigned int i;

	mv_sw_begin(w, LAYOUT_STATE_NAME, LAYOUT_STATE_VERSION);
	mv_sw_u32(w, l->nr_zones);
	for (i = 0; i < l->nr_zones; i++) {
		zone_image_of(l, cfg, i, &z);
		mv_sw_str(w, z.id);
		mv_sw_u64(w, z.ram_gpa);
		mv_sw_u64(w, z.ram_size);
		mv_sw_u64(w, z.hotplug_gpa);
		mv_sw_u64(w, z.hotplug_size);
		mv_sw_u64(w, z.block_size);
		mv_sw_u32(w, (uint32_t)z.node);
	}
	mv_sw_u32(w, l->nr_regions);
	for (i = 0; i < l->nr_regions; i++) {
		mv_sw_u8(w, l->regions[i].kind);
		mv_sw_u32(w, l->regions[i].zone);
		mv_sw_u64(w, l->regions[i].gpa);
		mv_sw_u64(w, l->regions[i].size);
		mv_sw_u64(w, l->regions[i].offset);
	}
	mv_sw_end(w);
}

static int layout_parse(const struct mv_state_section *sec, struct layout_image *im, char *err,
			size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	unsigned int i;
	int ret;

	ret = mv_state_check(sec, LAYOUT_STATE_NAME, LAYOUT_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	im->nr_zones = mv_sr_u32(&r);
	if (im->nr_zones > CONFIG_MAX_ZONES) {
		mv_errbuf(err, errlen, "%s: %" PRIu32 " zones, at most %u exist", sec->name,
			  im->nr_zones, CONFIG_MAX_ZONES);
		return -EINVAL;
	}
	for (i = 0; i < im->nr_zones; i++) {
		struct zone_image *z = &im->z[i];

		mv_sr_str(&r, z->id, sizeof(z->id));
		z->ram_gpa = mv_sr_u64(&r);
		z->ram_size = mv_sr_u64(&r);
		z->hotplug_gpa = mv_sr_u64(&r);
		z->hotplug_size = mv_sr_u64(&r);
		z->block_size = mv_sr_u64(&r);
		z->node = (int32_t)mv_sr_u32(&r);
	}
	im->nr_regions = mv_sr_u32(&r);
	if (im->nr_regions > LAYOUT_MAX_REGIONS) {
		mv_errbuf(err, errlen, "%s: %" PRIu32 " regions, at most %u exist", sec->name,
			  im->nr_regions, LAYOUT_MAX_REGIONS);
		return -EINVAL;
	}
	for (i = 0; i < im->nr_regions; i++) {
		struct region_image *g = &im->r[i];

		g->kind = mv_sr_u8(&r);
		g->zone = mv_sr_u32(&r);
		g->gpa = mv_sr_u64(&r);
		g->size = mv_sr_u64(&r);
		g->offset = mv_sr_u64(&r);
	}
	return mv_state_done(sec, &r, err, errlen);
}

static int zone_field(const char *sec, const char *id, const char *field, uint64_t saved,
		      uint64_t here, char *err, size_t errlen)
{
	if (saved == here)
		return 0;
	mv_errbuf(err, errlen, "%s: zone %s: %s %#" PRIx64 " in the saved state, %#" PRIx64 " here",
		  sec, id, field, saved, here);
	return -EINVAL;
}

static int layout_compare(const struct layout *l, const struct mv_config *cfg, const char *sec,
			  const struct layout_image *im, char *err, size_t errlen)
{
	struct zone_image h;
	unsigned int i;
	int ret = 0;

	if (im->nr_zones != l->nr_zones) {
		mv_errbuf(err, errlen, "%s: %" PRIu32 " zones in the saved state, %u here", sec,
			  im->nr_zones, l->nr_zones);
		return -EINVAL;
	}
	for (i = 0; i < l->nr_zones && !ret; i++) {
		const struct zone_image *z = &im->z[i];

		zone_image_of(l, cfg, i, &h);
		if (strcmp(z->id, h.id)) {
			mv_errbuf(err, errlen, "%s: zone %u is %s in the saved state, %s here", sec,
				  i, z->id, h.id);
			return -EINVAL;
		}
		ret = zone_field(sec, h.id, "ram_gpa", z->ram_gpa, h.ram_gpa, err, errlen);
		if (!ret)
			ret = zone_field(sec, h.id, "size", z->ram_size, h.ram_size, err, errlen);
		if (!ret)
			ret = zone_field(sec, h.id, "hotplug_gpa", z->hotplug_gpa, h.hotplug_gpa,
					 err, errlen);
		if (!ret)
			ret = zone_field(sec, h.id, "hotplug_size", z->hotplug_size, h.hotplug_size,
					 err, errlen);
		if (!ret)
			ret = zone_field(sec, h.id, "block_size", z->block_size, h.block_size, err,
					 errlen);
		if (!ret && z->node != h.node) {
			mv_errbuf(err, errlen,
				  "%s: zone %s: guest NUMA node %" PRId32
				  " in the saved state, %" PRId32 " here",
				  sec, h.id, z->node, h.node);
			ret = -EINVAL;
		}
	}
	if (ret)
		return ret;
	if (im->nr_regions != l->nr_regions) {
		mv_errbuf(err, errlen, "%s: %" PRIu32 " regions in the saved state, %u here", sec,
			  im->nr_regions, l->nr_regions);
		return -EINVAL;
	}
	for (i = 0; i < l->nr_regions; i++) {
		const struct region_image *g = &im->r[i];
		const struct layout_region *x = &l->regions[i];

		if (g->kind != x->kind || g->zone != x->zone || g->gpa != x->gpa ||
		    g->size != x->size || g->offset != x->offset) {
			mv_errbuf(err, errlen,
				  "%s: region %u: [%#" PRIx64 ", +%#" PRIx64
				  ") in the saved state, [%#" PRIx64 ", +%#" PRIx64 ") here",
				  sec, i, g->gpa, g->size, x->gpa, x->size);
			return -EINVAL;
		}
	}
	return 0;
}

int layout_load(const struct layout *l, const struct mv_config *cfg,
		const struct mv_state_section *sec, char *err, size_t errlen)
{
	struct layout_image *im = calloc(1, sizeof(*im));
	int ret;

	if (!im)
		return -ENOMEM;
	ret = layout_parse(sec, im, err, errlen);
	if (!ret)
		ret = layout_compare(l, cfg, sec->name, im, err, errlen);
	free(im);
	return ret;
}
