/*
 * Unit tests for the balloon's QMP commands in api/{commands,hmp,api}:
 * balloon, query-balloon, qom-get/qom-set of guest-stats and
 * guest-stats-polling-interval, BALLOON_CHANGE and its rate limit, and the
 * errors in QEMU's classes and words, over a fake VM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/commands.h"
#include "api/ctl.h"
#include "api/hmp.h"
#include "api/qmp.h"
#include "lib/util.h"

struct fake_vm {
	struct api_backend b;
	bool has_balloon;
	struct api_balloon_info bi;
	uint64_t last_target;
	uint64_t last_interval;
	int targets, intervals;
};

static uint64_t fake_mono, fake_wall;

static uint64_t fake_mono_ms(void)
{
	return fake_mono;
}

static uint64_t fake_wall_us(void)
{
	return fake_wall;
}

static const struct api_clock fake_clock = {.mono_ms = fake_mono_ms, .wall_us = fake_wall_us};

static struct fake_vm *to_vm(struct api_backend *b)
{
	return container_of(b, struct fake_vm, b);
}

static int f_status(struct api_backend *b, struct api_status *out)
{
	out->status = "running";
	out->running = true;
	return 0;
}

static unsigned int f_count(struct api_backend *b)
{
	return 0;
}

static int f_info(struct api_backend *b, unsigned int idx, struct api_memdev_info *out)
{
	return -ENOENT;
}

static int f_summary(struct api_backend *b, struct api_memory_summary *out)
{
	out->base = 1ULL << 30;
	return 0;
}

static int f_balloon_info(struct api_backend *b, struct api_balloon_info *out)
{
	if (!to_vm(b)->has_balloon)
		return -ENODEV;
	*out = to_vm(b)->bi;
	return 0;
}

static int f_set_target(struct api_backend *b, uint64_t size)
{
	to_vm(b)->last_target = size;
	to_vm(b)->targets++;
	return 0;
}

static int f_set_interval(struct api_backend *b, uint64_t s)
{
	to_vm(b)->last_interval = s;
	to_vm(b)->intervals++;
	return 0;
}

static const struct api_backend_ops fake_ops = {
    .query_status = f_status,
    .memdev_count = f_count,
    .memdev_info = f_info,
    .memory_summary = f_summary,
    .balloon_info = f_balloon_info,
    .balloon_set_target = f_set_target,
    .balloon_set_interval = f_set_interval,
};

struct tclient {
	struct qmp_session s;
	struct api *api;
};

static struct json_object *tc_execute(struct qmp_session *s, const char *name,
				      struct json_object *args, struct qmp_error *err)
{
	return api_execute(container_of(s, struct tclient, s)->api, name, args, err);
}

static const struct qmp_session_ops tc_ops = {.execute = tc_execute};

struct fixture {
	struct fake_vm vm;
	struct api api;
	struct tclient c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->vm.b.ops = &fake_ops;
	f->vm.has_balloon = true;
	snprintf(f->vm.bi.id, sizeof(f->vm.bi.id), "balloon0");
	f->vm.bi.current = 1ULL << 30;
	f->vm.bi.actual = 768ULL << 20;
	f->vm.bi.target = 512ULL << 20;
	for (unsigned int i = 0; i < API_BALLOON_STATS; i++)
		f->vm.bi.stats[i] = UINT64_MAX;
	assert_int_equal(api_init(&f->api, &f->vm.b, NULL), 0);
	f->api.clock = &fake_clock;
	fake_mono = 1000;
	fake_wall = 5000000;
	f->c.api = &f->api;
	assert_int_equal(qmp_session_init(&f->c.s, &tc_ops, API_PACKAGE), 0);
	api_attach(&f->api, &f->c.s);
	qmp_session_feed(&f->c.s, "{\"execute\": \"qmp_capabilities\"}", 31);
	api_buf_consume(&f->c.s.out, f->c.s.out.len);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	api_detach(&f->api, &f->c.s);
	qmp_session_destroy(&f->c.s);
	api_destroy(&f->api);
	free(f);
	return 0;
}

static const char *cmd(struct fixture *f, const char *req)
{
	static char out[8192];

	qmp_session_feed(&f->c.s, req, strlen(req));
	snprintf(out, sizeof(out), "%s", api_buf_str(&f->c.s.out));
	api_buf_consume(&f->c.s.out, f->c.s.out.len);
	return out;
}

#define ERR(cls, desc) "{\"error\": {\"class\": \"" cls "\", \"desc\": \"" desc "\"}}\r\n"
#define OK	       "{\"return\": {}}\r\n"

static void test_balloon_and_query(void **state)
{
	struct fixture *f = *state;
	const char *r;

	r = cmd(f, "{\"execute\": \"query-balloon\"}");
	assert_memory_equal(
	    r, "{\"return\": {\"actual\": 805306368, \"x-target\": 536870912,",
	    strlen("{\"return\": {\"actual\": 805306368, \"x-target\": 536870912,"));
	assert_string_equal(cmd(f, "{\"execute\": \"balloon\", \"arguments\": {\"value\": "
				   "536870912}}"),
			    OK);
	assert_int_equal(f->vm.targets, 1);
	assert_true(f->vm.last_target == 512ULL << 20);
	/* QEMU's checks, in its words. */
	assert_string_equal(cmd(f, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 0}}"),
			    ERR("GenericError", "Parameter 'target' expects a size"));
	assert_string_equal(cmd(f, "{\"execute\": \"balloon\", \"arguments\": {\"value\": -4096}}"),
			    ERR("GenericError", "Parameter 'target' expects a size"));
	assert_string_equal(
	    cmd(f, "{\"execute\": \"balloon\", \"arguments\": {\"value\": \"1G\"}}"),
	    ERR("GenericError", "Invalid parameter type for 'value', expected: integer"));
	assert_string_equal(cmd(f, "{\"execute\": \"balloon\"}"),
			    ERR("GenericError", "Parameter 'value' is missing"));
	assert_int_equal(f->vm.targets, 1);

	/* No balloon: DeviceNotActive, for every balloon command. */
	f->vm.has_balloon = false;
	assert_string_equal(cmd(f, "{\"execute\": \"query-balloon\"}"),
			    ERR("DeviceNotActive", "No balloon device has been activated"));
	assert_string_equal(cmd(f, "{\"execute\": \"balloon\", \"arguments\": {\"value\": 4096}}"),
			    ERR("DeviceNotActive", "No balloon device has been activated"));
	/* ... and its path is then no device at all. */
	assert_string_equal(
	    cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
		   "\"/machine/peripheral/balloon0\", \"property\": "
		   "\"guest-stats\"}}"),
	    ERR("DeviceNotFound", "Device '/machine/peripheral/balloon0' not found"));
	assert_int_equal(f->vm.targets, 1);
}

static void test_guest_stats(void **state)
{
	struct fixture *f = *state;
	const char *r;

	/* Before the guest sent any figures: QEMU's error. */
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
				   "\"/machine/peripheral/balloon0\", \"property\": "
				   "\"guest-stats\"}}"),
			    ERR("GenericError", "guest hasn't updated any stats yet"));
	f->vm.bi.stats_last_update = 1700000000;
	f->vm.bi.stats[4] = 100 << 20; /* free */
	f->vm.bi.stats[6] = 300 << 20; /* available */
	r = cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"balloon0\", "
		   "\"property\": \"guest-stats\"}}");
	assert_string_equal(
	    r, "{\"return\": {\"stats\": {\"stat-swap-in\": 18446744073709551615, "
	       "\"stat-swap-out\": 18446744073709551615, \"stat-major-faults\": "
	       "18446744073709551615, \"stat-minor-faults\": 18446744073709551615, "
	       "\"stat-free-memory\": 104857600, \"stat-total-memory\": 18446744073709551615, "
	       "\"stat-available-memory\": 314572800, \"stat-disk-caches\": "
	       "18446744073709551615, \"stat-htlb-pgalloc\": 18446744073709551615, "
	       "\"stat-htlb-pgfail\": 18446744073709551615}, \"last-update\": 1700000000}}\r\n");

	f->vm.bi.stats_interval = 2;
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
				   "\"peripheral/balloon0\", \"property\": "
				   "\"guest-stats-polling-interval\"}}"),
			    "{\"return\": 2}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
				   "\"/machine/peripheral/balloon0\", \"property\": "
				   "\"guest-stats-polling-interval\", \"value\": 10}}"),
			    OK);
	assert_int_equal(f->vm.intervals, 1);
	assert_true(f->vm.last_interval == 10);
	/* QEMU's checks of the interval, in its words; nothing reaches the VM. */
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
				   "\"balloon0\", \"property\": "
				   "\"guest-stats-polling-interval\", \"value\": -1}}"),
			    ERR("GenericError", "timer value must be greater than zero"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
				   "\"balloon0\", \"property\": "
				   "\"guest-stats-polling-interval\", \"value\": 4294967296}}"),
			    ERR("GenericError", "timer value is too big"));
	assert_string_equal(
	    cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"balloon0\", "
		   "\"property\": \"guest-stats-polling-interval\", \"value\": \"2\"}}"),
	    ERR("GenericError", "Invalid parameter type for 'guest-stats-polling-interval', "
				"expected: integer"));
	assert_string_equal(
	    cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
		   "\"balloon0\", \"property\": \"guest-stats\", \"value\": 1}}"),
	    ERR("GenericError", "Insufficient permission to perform this operation"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
				   "\"balloon0\", \"property\": \"colour\"}}"),
			    ERR("GenericError", "Property 'virtio-balloon-pci.colour' not found"));
	assert_int_equal(f->vm.intervals, 1);
}

#define BEV(s, a)                                                                                  \
	"{\"timestamp\": {\"seconds\": " s ", \"microseconds\": 0}, \"event\": "                   \
	"\"BALLOON_CHANGE\", \"data\": {\"actual\": " a "}}\r\n"

static void test_balloon_change_rate_limit(void **state)
{
	struct fixture *f = *state;

	api_balloon_changed(&f->api, 1000 << 20);
	assert_string_equal(cmd(f, ""), BEV("5", "1048576000"));
	/* Within the second: coalesced, the latest goes out when the window closes. */
	fake_mono += 200;
	fake_wall = 6000000;
	api_balloon_changed(&f->api, 900 << 20);
	fake_wall = 7000000;
	api_balloon_changed(&f->api, 800 << 20);
	assert_string_equal(cmd(f, ""), "");
	assert_int_equal(api_events_tick(&f->api), 800);
	fake_mono += 800;
	api_events_tick(&f->api);
	assert_string_equal(cmd(f, ""), BEV("7", "838860800"));
	/* A quiet window closes; the next change is sent at once. */
	fake_mono += 1000;
	assert_int_equal(api_events_tick(&f->api), 0);
	api_balloon_changed(&f->api, 1 << 30);
	assert_non_null(strstr(cmd(f, ""), "\"actual\": 1073741824"));
}

static void test_hmp_and_ctl(void **state)
{
	struct fixture *f = *state;
	struct api_buf out;
	char err[256];
	char *argv[2];
	uint64_t size;

	api_buf_init(&out);
	hmp_run(&f->api, "info balloon", &out);
	assert_memory_equal(api_buf_str(&out), "balloon: actual=768\n", 20);
	api_buf_free(&out);
	f->vm.has_balloon = false;
	api_buf_init(&out);
	hmp_run(&f->api, "info balloon", &out);
	assert_string_equal(api_buf_str(&out), "Error: No balloon device has been activated\n");
	api_buf_free(&out);

	argv[0] = "512M";
	assert_int_equal(ctl_parse_balloon(1, argv, &size, err, sizeof(err)), 0);
	assert_true(size == 512ULL << 20);
	argv[0] = "0";
	assert_int_equal(ctl_parse_balloon(1, argv, &size, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "balloon 0: the target must be above 0"));
	argv[0] = "lots";
	assert_int_equal(ctl_parse_balloon(1, argv, &size, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "balloon lots: not a size"));
	argv[0] = "16T";
	argv[1] = "extra";
	assert_int_equal(ctl_parse_balloon(2, argv, &size, err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_parse_balloon(0, argv, &size, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_balloon_and_query, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_stats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_balloon_change_rate_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hmp_and_ctl, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
