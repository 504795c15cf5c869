/* Unit tests for virtio/mem_save: the "virtio-mem.<id>" section round trip and its refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "virtio/mem_save.h"
#include "fakes.h"

#define BS     (2 * MiB)
#define ADDR   (4 * GiB)
#define NBLK   100 /* not a multiple of 64: the bitmap's last word is partial */
#define REGION (NBLK * BS)
#define HDR    (1 + 15 + 4 + 8) /* "virtio-mem.mem1" */
#define BITMAP 60		/* offset of the bitmap in the payload */
#define STATS  (BITMAP + 16)

struct fix {
	struct fake_gmem fm;
	struct vmem m;
	bool host[NBLK];
	unsigned int plug_calls, unplug_calls;
	unsigned int fail_plug_at; /* 1-based plug call that fails, 0: none */
};

static int host_apply(struct fix *f, uint64_t off, uint64_t len, bool plug)
{
	uint64_t i;

	assert_true(off % BS == 0 && len % BS == 0 && len && off + len <= REGION);
	for (i = off / BS; i < (off + len) / BS; i++) {
		assert_int_equal(f->host[i], !plug);
		f->host[i] = plug;
	}
	return 0;
}

static int host_plug(struct vmem *m, uint64_t off, uint64_t len)
{
	struct fix *f = container_of(m, struct fix, m);

	if (++f->plug_calls == f->fail_plug_at)
		return -ENOMEM;
	return host_apply(f, off, len, true);
}

static int host_unplug(struct vmem *m, uint64_t off, uint64_t len)
{
	struct fix *f = container_of(m, struct fix, m);

	f->unplug_calls++;
	return host_apply(f, off, len, false);
}

static const struct vmem_host_ops host_ops = {.plug = host_plug, .unplug = host_unplug};

static struct fix *fix_new(void)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct vmem_params p = {
	    .addr = ADDR, .region_size = REGION, .block_size = BS, .node_id = 1};
	char err[160];

	assert_non_null(f);
	fake_gmem_init(&f->fm, 0x100000, 0x10000);
	assert_int_equal(vmem_init(&f->m, &p, &host_ops, &f->fm.map, err, sizeof(err)), 0);
	return f;
}

static void fix_free(struct fix *f)
{
	vmem_destroy(&f->m);
	fake_gmem_free(&f->fm);
	free(f);
}

/* Blocks 3-7, 40 and 99 (the last) plugged, requested 16 blocks, counters set. */
static void make_busy(struct fix *f)
{
	char err[160];

	assert_int_equal(vmem_set_requested(&f->m, 16 * BS, err, sizeof(err)), 0);
	vmem_state_set(&f->m.st, 3, 5, true);
	vmem_state_set(&f->m.st, 40, 1, true);
	vmem_state_set(&f->m.st, 99, 1, true);
	f->m.stats.requests = 11;
	f->m.stats.plugged_bytes = 9 * BS;
	f->m.stats.discarded_bytes = 2 * BS;
	f->m.stats.discard_failures = 1;
	f->m.stats.plug_refused = 3;
	f->m.stats.device_errors = 4;
}

static void save(struct fix *f, struct mv_state_writer *w)
{
	mv_sw_init(w);
	vmem_save(&f->m, "mem1", w);
	assert_int_equal(mv_sw_error(w), 0);
}

static int load(struct fix *f, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct mv_state_section sec;
	char name[MV_STATE_NAME_MAX + 1];
	int ret;

	vmem_state_name("mem1", name, sizeof(name));
	ret = mv_state_find(buf, len, name, &sec, err, errlen);
	return ret ? ret : vmem_load(&f->m, "mem1", &sec, err, errlen);
}

static void assert_same(struct fix *a, struct fix *b)
{
	struct vmem_info x, y;
	uint64_t i;

	vmem_get_info(&a->m, &x);
	vmem_get_info(&b->m, &y);
	x.last_request_ms = y.last_request_ms = 0; /* a host clock reading, not saved */
	assert_memory_equal(&x, &y, sizeof(x));
	for (i = 0; i < NBLK; i++)
		assert_int_equal(vmem_state_test(&a->m.st, i), vmem_state_test(&b->m.st, i));
}

static void test_round_trip(void **st)
{
	struct fix *a = fix_new(), *b = fix_new();
	struct mv_state_writer w;
	char err[200] = "";
	unsigned int i;

	make_busy(a);
	save(a, &w);
	assert_int_equal(w.len, HDR + STATS + 48);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), 0);
	assert_same(a, b);
	/* The host was asked for exactly the plugged runs, once each. */
	assert_int_equal(b->plug_calls, 3);
	for (i = 0; i < NBLK; i++)
		assert_int_equal(b->host[i], vmem_state_test(&a->m.st, i));
	mv_sw_free(&w);
	fix_free(a);
	fix_free(b);
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	while (n--) {
		*p++ = v;
		v >>= 8;
	}
}

static void expect_refused(struct fix *a, size_t at, uint64_t val, unsigned int n, int want,
			   const char *msg, unsigned int fail_plug_at)
{
	struct fix *b = fix_new(), *ref = fix_new();
	struct mv_state_writer w;
	char err[200] = "";
	unsigned int i;

	save(a, &w);
	if (n)
		put_le(w.buf + HDR + at, val, n);
	b->fail_plug_at = fail_plug_at;
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), want);
	assert_string_equal(err, msg);
	assert_same(ref, b);
	for (i = 0; i < NBLK; i++)
		assert_false(b->host[i]); /* nothing left plugged on the host */
	mv_sw_free(&w);
	fix_free(b);
	fix_free(ref);
}

static void test_refused(void **st)
{
	struct fix *a = fix_new();

	make_busy(a);
	expect_refused(a, 0, 8 * GiB, 8, -EINVAL,
		       "virtio-mem.mem1: addr 0x200000000 in the saved state, 0x100000000 here", 0);
	expect_refused(a, 8, REGION + BS, 8, -EINVAL,
		       "virtio-mem.mem1: region_size 0xca00000 in the saved state, 0xc800000 here",
		       0);
	expect_refused(a, 16, 4 * MiB, 8, -EINVAL,
		       "virtio-mem.mem1: block_size 0x400000 in the saved state, 0x200000 here", 0);
	expect_refused(a, 24, 0xFFFFFFFF, 4, -EINVAL,
		       "virtio-mem.mem1: node_id -1 in the saved state, 1 here", 0);
	expect_refused(a, 52, 128, 8, -EINVAL,
		       "virtio-mem.mem1: bitmap length (blocks) 0x80 in the saved state, 0x64 here",
		       0);
	/* Block 100 does not exist. */
	expect_refused(a, BITMAP + 8, 1ULL << 36 | 1ULL << 35, 8, -EINVAL,
		       "virtio-mem.mem1: bitmap has blocks set past the region's 100", 0);
	expect_refused(a, 44, 6 * BS, 8, -EINVAL,
		       "virtio-mem.mem1: plugged_size 0xc00000 but the bitmap has 7 blocks of "
		       "0x200000",
		       0);
	expect_refused(a, 28, BS + 4096, 8, -EINVAL,
		       "virtio-mem.mem1: requested_size 0x201000 is not a multiple of the block "
		       "size within the region",
		       0);
	expect_refused(a, 36, REGION + BS, 8, -EINVAL,
		       "virtio-mem.mem1: usable_size 0xca00000 is not a multiple of the block "
		       "size within the region",
		       0);
	expect_refused(a, -12, 2, 4, -EINVAL,
		       "virtio-mem.mem1: section version 2 is not supported (this build reads 1 "
		       "to 1)",
		       0);
	/* The host fails on the second run: the first is unplugged again. */
	expect_refused(a, 0, 0, 0, -ENOMEM,
		       "virtio-mem.mem1: plugging blocks 40-40 on the host: Cannot allocate memory",
		       2);
	fix_free(a);
}

static void test_truncated_and_busy(void **st)
{
	struct fix *a = fix_new(), *b = fix_new();
	struct mv_state_writer w;
	char err[200] = "";
	size_t len;

	make_busy(a);
	save(a, &w);
	for (len = 0; len < w.len - HDR; len++) {
		uint8_t *copy = malloc(HDR + len + 1);

		memcpy(copy, w.buf, HDR + len);
		put_le(copy + HDR - 8, len, 8);
		assert_int_equal(load(b, copy, HDR + len, err, sizeof(err)), -EINVAL);
		assert_int_equal(b->plug_calls, 0);
		free(copy);
	}
	/* A trailing byte. */
	{
		uint8_t *copy = malloc(w.len + 1);

		memcpy(copy, w.buf, w.len);
		copy[w.len] = 0;
		put_le(copy + HDR - 8, w.len - HDR + 1, 8);
		assert_int_equal(load(b, copy, w.len + 1, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "virtio-mem.mem1: 1 unexpected bytes after the payload");
		free(copy);
	}
	/* Only into a device with nothing plugged. */
	vmem_state_set(&b->m.st, 0, 1, true);
	assert_int_equal(load(b, w.buf, w.len, err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "virtio-mem.mem1: the device here has blocks plugged already");
	assert_int_equal(b->plug_calls, 0);
	mv_sw_free(&w);
	fix_free(a);
	fix_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_truncated_and_busy),
	};

	mv_log_set_quiet(true);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
