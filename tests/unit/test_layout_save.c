/* Unit tests for mem/layout_save: the "layout" section and its refusal of another layout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "mem/layout_save.h"

#define HDR (1 + 6 + 4 + 8)

struct machine_desc {
	struct mv_config cfg;
	struct layout lay;
};

static struct zone_config *zone(struct mv_config *cfg, const char *id, uint64_t size)
{
	struct zone_config *z = &cfg->zones[cfg->nr_zones++];

	snprintf(z->id, sizeof(z->id), "%s", id);
	z->size = size;
	z->host_numa_node = -1;
	z->guest_numa_node = -1;
	return z;
}

/* Two zones: mem0 (3.5 GiB, split by the hole), mem1 with a virtio-mem region. */
static struct machine_desc *desc_new(void)
{
	struct machine_desc *d = calloc(1, sizeof(*d));
	struct zone_config *z;

	assert_non_null(d);
	zone(&d->cfg, "mem0", 3 * GiB + 512 * MiB);
	z = zone(&d->cfg, "mem1", 1 * GiB);
	z->hotplug_size = 2 * GiB;
	z->block_size = 2 * MiB;
	z->guest_numa_node = 1;
	z->file = "/dev/hugepages"; /* host side: never compared */
	return d;
}

static void desc_build(struct machine_desc *d)
{
	char err[256];

	assert_int_equal(layout_build(&d->cfg, &d->lay, err, sizeof(err)), 0);
}

static void save(struct machine_desc *d, struct mv_state_writer *w)
{
	mv_sw_init(w);
	layout_save(&d->lay, &d->cfg, w);
	assert_int_equal(mv_sw_error(w), 0);
}

static int load(struct machine_desc *d, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct mv_state_section sec;
	int ret = mv_state_find(buf, len, LAYOUT_STATE_NAME, &sec, err, errlen);

	return ret ? ret : layout_load(&d->lay, &d->cfg, &sec, err, errlen);
}

static void test_same_layout(void **st)
{
	struct machine_desc *a = desc_new(), *b = desc_new();
	struct mv_state_writer w;
	char err[256] = "";

	desc_build(a);
	b->cfg.zones[1].file = NULL;
	b->cfg.zones[1].hugepages = true;
	desc_build(b);
	save(a, &w);
	assert_int_equal(a->lay.nr_regions, 4);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	mv_sw_free(&w);
	free(a);
	free(b);
}

/* b differs from a by `change`; the load is refused with `msg`. */
static void expect_refused(void (*change)(struct mv_config *), const char *msg)
{
	struct machine_desc *a = desc_new(), *b = desc_new();
	struct mv_state_writer w;
	char err[256] = "";

	desc_build(a);
	change(&b->cfg);
	desc_build(b);
	save(a, &w);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	mv_sw_free(&w);
	free(a);
	free(b);
}

static void grow_mem1(struct mv_config *c)
{
	c->zones[1].size = 2 * GiB;
}

static void grow_mem0(struct mv_config *c)
{
	c->zones[0].size = 2 * GiB;
}

static void other_block(struct mv_config *c)
{
	c->zones[1].block_size = 4 * MiB;
}

static void bigger_hotplug(struct mv_config *c)
{
	c->zones[1].hotplug_size = 3 * GiB;
}

static void other_node(struct mv_config *c)
{
	c->zones[1].guest_numa_node = 0;
}

static void renamed(struct mv_config *c)
{
	snprintf(c->zones[1].id, sizeof(c->zones[1].id), "big");
}

static void third_zone(struct mv_config *c)
{
	zone(c, "mem2", 64 * MiB);
}

static void test_refused(void **st)
{
	expect_refused(grow_mem1, "layout: zone mem1: size 0x40000000 in the saved state, "
				  "0x80000000 here");
	expect_refused(grow_mem0, "layout: zone mem0: size 0xe0000000 in the saved state, "
				  "0x80000000 here");
	expect_refused(other_block, "layout: zone mem1: block_size 0x200000 in the saved state, "
				    "0x400000 here");
	expect_refused(bigger_hotplug, "layout: zone mem1: hotplug_size 0x80000000 in the saved "
				       "state, 0xc0000000 here");
	expect_refused(other_node,
		       "layout: zone mem1: guest NUMA node 1 in the saved state, 0 here");
	expect_refused(renamed, "layout: zone 1 is mem1 in the saved state, big here");
	expect_refused(third_zone, "layout: 2 zones in the saved state, 3 here");
}

static void test_malformed(void **st)
{
	struct machine_desc *a = desc_new();
	struct mv_state_writer w;
	char err[256] = "";
	size_t len;
	uint8_t *copy;

	desc_build(a);
	save(a, &w);
	for (len = 0; len < w.len - HDR; len++) {
		copy = malloc(HDR + len + 1);
		memcpy(copy, w.buf, HDR + len);
		copy[HDR - 8] = len;
		copy[HDR - 7] = len >> 8;
		assert_int_equal(load(a, copy, HDR + len, err, sizeof(err)), -EINVAL);
		free(copy);
	}
	copy = calloc(1, w.len + 1);
	memcpy(copy, w.buf, w.len);
	copy[HDR - 8] = w.len - HDR + 1;
	assert_int_equal(load(a, copy, w.len + 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "layout: 1 unexpected bytes after the payload");
	/* A zone count beyond any configuration, before anything is read for it. */
	memcpy(copy, w.buf, w.len);
	copy[HDR + 3] = 0x7F;
	assert_int_equal(load(a, copy, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "layout: 2130706434 zones, at most 64 exist");
	free(copy);
	mv_sw_free(&w);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_layout),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
