/* Unit tests for devices/power_save and virtio/rng_save: empty v1 sections, strictly checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/power_save.h"
#include "virtio/rng_save.h"

typedef void (*save_fn)(void *dev, struct mv_state_writer *w);
typedef int (*load_fn)(void *dev, const struct mv_state_section *sec, char *err, size_t len);

static void power_save_(void *d, struct mv_state_writer *w)
{
	power_save(d, w);
}

static int power_load_(void *d, const struct mv_state_section *s, char *err, size_t len)
{
	return power_load(d, s, err, len);
}

static void vrng_save_(void *d, struct mv_state_writer *w)
{
	vrng_save(d, w);
}

static int vrng_load_(void *d, const struct mv_state_section *s, char *err, size_t len)
{
	return vrng_load(d, s, err, len);
}

static void check(void *a, void *b, save_fn save, load_fn load, const char *name)
{
	struct mv_state_writer w;
	struct mv_state_section sec;
	char err[200] = "", msg[200];
	size_t hdr = 1 + strlen(name) + 4 + 8;

	mv_sw_init(&w);
	save(a, &w);
	assert_int_equal(mv_sw_error(&w), 0);
	assert_int_equal(w.len, hdr);
	assert_int_equal(mv_state_find(w.buf, w.len, name, &sec, err, sizeof(err)), 0);
	assert_int_equal(load(b, &sec, err, sizeof(err)), 0);
	/* A newer version. */
	sec.version = 2;
	assert_int_equal(load(b, &sec, err, sizeof(err)), -EINVAL);
	snprintf(msg, sizeof(msg),
		 "%s: section version 2 is not supported (this build reads 1 to 1)", name);
	assert_string_equal(err, msg);
	/* A payload this version does not have. */
	mv_sw_free(&w);
	mv_sw_init(&w);
	mv_sw_begin(&w, name, 1);
	mv_sw_u32(&w, 0);
	mv_sw_end(&w);
	assert_int_equal(mv_state_find(w.buf, w.len, name, &sec, err, sizeof(err)), 0);
	assert_int_equal(load(b, &sec, err, sizeof(err)), -EINVAL);
	snprintf(msg, sizeof(msg), "%s: 4 unexpected bytes after the payload", name);
	assert_string_equal(err, msg);
	/* Another device's section. */
	mv_sw_free(&w);
	mv_sw_init(&w);
	mv_sw_begin(&w, "serial", 1);
	mv_sw_end(&w);
	assert_int_equal(mv_state_find(w.buf, w.len, "serial", &sec, err, sizeof(err)), 0);
	assert_int_equal(load(b, &sec, err, sizeof(err)), -EINVAL);
	mv_sw_free(&w);
}

static void test_power(void **st)
{
	struct power a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	check(&a, &b, power_save_, power_load_, POWER_STATE_NAME);
}

static void test_rng(void **st)
{
	struct vrng a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	check(&a, &b, vrng_save_, vrng_load_, VRNG_STATE_NAME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_power),
	    cmocka_unit_test(test_rng),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
