/* Unit tests for api/ctl: memvisor-ctl's sizes, whole-VM resize plan and stall diagnosis. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "api/ctl.h"
#include "lib/util.h"
#include "lib/size.h"

static void test_sizes(void **state)
{
	uint64_t v;
	char buf[32];

	assert_int_equal(mv_size_parse("1G", &v), 0);
	assert_int_equal(v, GiB);
	assert_int_equal(mv_size_parse("512m", &v), 0);
	assert_int_equal(v, 512 * MiB);
	/* One syntax with memvisor's options (lib/size): no "iB", no "B". */
	assert_int_equal(mv_size_parse("2GiB", &v), -EINVAL);
	assert_int_equal(mv_size_parse("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(mv_size_parse("4096B", &v), -EINVAL);
	assert_int_equal(mv_size_parse("1T", &v), 0);
	assert_int_equal(v, TiB);
	assert_int_equal(mv_size_parse("1X", &v), -EINVAL);
	assert_int_equal(mv_size_parse("", &v), -EINVAL);
	assert_int_equal(mv_size_parse("-1G", &v), -EINVAL);
	assert_int_equal(mv_size_parse("1Gx", &v), -EINVAL);
	assert_int_equal(mv_size_parse("99999999999T", &v), -ERANGE);
	mv_size_format(GiB, buf, sizeof(buf));
	assert_string_equal(buf, "1G");
	mv_size_format(384 * MiB, buf, sizeof(buf));
	assert_string_equal(buf, "384M");
	mv_size_format(4097 * KiB, buf, sizeof(buf));
	assert_string_equal(buf, "4097K");
	mv_size_format(1000, buf, sizeof(buf));
	assert_string_equal(buf, "1000");
	mv_size_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "0");
}

static struct ctl_memdev dev(const char *id, uint64_t max, uint64_t bs)
{
	struct ctl_memdev d;

	memset(&d, 0, sizeof(d));
	snprintf(d.info.id, sizeof(d.info.id), "%s", id);
	d.info.max_size = max;
	d.info.block_size = bs;
	return d;
}

static void test_plan_single_device_as_cloud_hypervisor(void **state)
{
	struct ctl_memdev d[1] = {dev("mem0", 4 * GiB, 2 * MiB)};
	uint64_t req[1];
	char err[256];

	/* desired_ram - boot_ram goes to the one device. */
	assert_int_equal(ctl_plan_resize(d, 1, 512 * MiB, 2 * GiB, false, req, err, sizeof(err)),
			 0);
	assert_int_equal(req[0], 1536 * MiB);
	assert_int_equal(ctl_plan_resize(d, 1, 512 * MiB, 512 * MiB, false, req, err, sizeof(err)),
			 0);
	assert_int_equal(req[0], 0);
	assert_int_equal(ctl_plan_resize(d, 1, 512 * MiB, 256 * MiB, false, req, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "below the boot memory (512M)"));
	assert_int_equal(ctl_plan_resize(d, 1, 512 * MiB, 8 * GiB, false, req, err, sizeof(err)),
			 -ERANGE);
	assert_non_null(strstr(err, "above the maximum of 4608M"));
	assert_int_equal(ctl_plan_resize(d, 0, 512 * MiB, 1 * GiB, false, req, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "no virtio-mem device"));
}

static void test_plan_zones_refused_without_spread(void **state)
{
	struct ctl_memdev d[2] = {dev("mem0", 4 * GiB, 2 * MiB), dev("mem1", 4 * GiB, 2 * MiB)};
	uint64_t req[2];
	char err[256];

	assert_int_equal(ctl_plan_resize(d, 2, 1 * GiB, 3 * GiB, false, req, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--id"));
	assert_non_null(strstr(err, "--spread"));
}

static void test_plan_spread(void **state)
{
	struct ctl_memdev d[3] = {dev("a", 4 * GiB, 2 * MiB), dev("b", 2 * GiB, 2 * MiB),
				  dev("c", 2 * GiB, 128 * MiB)};
	uint64_t req[3];
	char err[256];

	/* 4G to share, max-sizes 4:2:2. */
	assert_int_equal(ctl_plan_resize(d, 3, 1 * GiB, 5 * GiB, true, req, err, sizeof(err)), 0);
	assert_int_equal(req[0], 2 * GiB);
	assert_int_equal(req[1], 1 * GiB);
	assert_int_equal(req[2], 1 * GiB);
	/* 10M: shares 5M/2.5M/2.5M round down to 4M/2M/0, the 4M left go block by block. */
	assert_int_equal(ctl_plan_resize(d, 3, 0, 10 * MiB, true, req, err, sizeof(err)), 0);
	assert_int_equal(req[0] + req[1] + req[2], 10 * MiB);
	assert_int_equal(req[2] % (128 * MiB), 0);
	assert_true(req[0] <= 4 * GiB && req[1] <= 2 * GiB);
	/* Everything. */
	assert_int_equal(ctl_plan_resize(d, 3, 0, 8 * GiB, true, req, err, sizeof(err)), 0);
	assert_int_equal(req[0], 4 * GiB);
	assert_int_equal(req[1], 2 * GiB);
	assert_int_equal(req[2], 2 * GiB);
	/* Not a whole number of the smallest block. */
	assert_int_equal(ctl_plan_resize(d, 3, 0, 3 * MiB, true, req, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "whole blocks"));
}

static void test_memdev_from_json_and_diagnose(void **state)
{
	struct json_object *o = json_tokener_parse(
	    "{\"memdev\": \"/objects/mem0\", \"memaddr\": 4294967296, \"block-size\": 2097152, "
	    "\"size\": 402653184, \"node\": 1, \"max-size\": 4294967296, \"requested-size\": "
	    "1073741824, \"id\": \"mem0\", \"x-driver-ready\": false, \"x-discarded-bytes\": 0, "
	    "\"x-discard-failures\": 0, \"x-plugs-refused\": 0, \"x-request-age-ms\": 42000}");
	struct ctl_memdev d;
	char buf[256];

	assert_int_equal(ctl_memdev_from_json(o, &d), 0);
	assert_string_equal(d.info.id, "mem0");
	assert_string_equal(d.info.memdev, "/objects/mem0");
	assert_int_equal(d.info.size, 384 * MiB);
	assert_int_equal(d.info.node, 1);
	assert_false(d.has_size_age);
	assert_true(d.has_request_age);
	assert_int_equal(d.request_age_ms, 42000);

	ctl_diagnose(&d, GiB, buf, sizeof(buf));
	assert_string_equal(buf, "no driver bound (guest has not loaded virtio_mem)");
	d.info.driver_ready = true;
	d.info.plugs_refused = 7;
	ctl_diagnose(&d, GiB, buf, sizeof(buf));
	assert_string_equal(buf, "guest refused/failed 7 plugs (prealloc failed?)");
	d.info.plugs_refused = 0;
	ctl_diagnose(&d, GiB, buf, sizeof(buf));
	assert_non_null(strstr(buf, "plug stalled for 42 s"));
	/* Shrinking: size above the target, no change for 42 s. */
	d.info.requested_size = 256 * MiB;
	d.has_size_age = true;
	d.size_age_ms = 42500;
	d.info.discard_failures = 2;
	ctl_diagnose(&d, 256 * MiB, buf, sizeof(buf));
	assert_string_equal(buf, "unplug stalled for 42 s: guest memory in use/unmovable; 2 host "
				 "discards failed");
	ctl_diagnose(&d, 512 * MiB, buf, sizeof(buf));
	assert_non_null(strstr(buf, "changed by someone else"));
	json_object_put(o);
	o = json_tokener_parse("{\"size\": 1}");
	assert_int_equal(ctl_memdev_from_json(o, &d), -EINVAL);
	json_object_put(o);
}

/* memvisor-ctl's command line, now parsed here (it was strtoul/strtol in the tool). */
static void test_parse_args(void **state)
{
	char *ok[] = {"memvisor-ctl", "--socket",  "/s", "resize", "1G",
		      "--wait",	      "--timeout", "5",	 NULL};
	char *raw[] = {"memvisor-ctl", "--socket", "/s", "--json", "{}", NULL};
	char *bad1[] = {"memvisor-ctl", "--sock", "/s", "status", NULL};
	char *bad2[] = {"memvisor-ctl", "--socket", "/s", "--json", "{}", "status", NULL};
	char *bad3[] = {"memvisor-ctl", "status", NULL};
	char *help[] = {"memvisor-ctl", "-h", NULL};
	struct ctl_events e;
	struct ctl_resize r;
	struct ctl_args a;
	char err[128];

	assert_int_equal(ctl_parse_args(8, ok, &a, err, sizeof(err)), 0);
	assert_string_equal(a.sock, "/s");
	assert_int_equal(a.cmd_argc, 5);
	assert_string_equal(a.cmd_argv[0], "resize");
	assert_int_equal(ctl_parse_resize(a.cmd_argc - 1, a.cmd_argv + 1, &r, err, sizeof(err)), 0);
	assert_int_equal(r.size, GiB);
	assert_true(r.wait);
	assert_int_equal(r.timeout_s, 5);
	assert_int_equal(ctl_parse_args(5, raw, &a, err, sizeof(err)), 0);
	assert_string_equal(a.raw, "{}");
	assert_int_equal(ctl_parse_args(4, bad1, &a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown option --sock");
	assert_int_equal(ctl_parse_args(6, bad2, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_parse_args(2, bad3, &a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--socket PATH missing");
	assert_int_equal(ctl_parse_args(2, help, &a, err, sizeof(err)), 0);
	assert_true(a.help);

	/* --timeout: -5 used to wrap to 4294967291 s, 4294967297 to 1 s; both refused now. */
	{
		char *neg[] = {"1G", "--timeout", "-5", NULL};
		char *wrap[] = {"1G", "--timeout", "4294967297", NULL};
		char *zero[] = {"1G", "--timeout", "0", NULL};
		char *two[] = {"1G", "2G", NULL};

		assert_int_equal(ctl_parse_resize(3, neg, &r, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "--timeout -5"));
		assert_int_equal(ctl_parse_resize(3, wrap, &r, err, sizeof(err)), -EINVAL);
		assert_int_equal(ctl_parse_resize(3, zero, &r, err, sizeof(err)), -EINVAL);
		assert_int_equal(ctl_parse_resize(2, two, &r, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "resize: unexpected argument '2G'");
		assert_int_equal(ctl_parse_resize(0, NULL, &r, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "resize: SIZE missing");
		/* Found by fuzz_ctl: an argument with a newline made a two-line message. */
		{
			char *nl[] = {"1\nG", NULL};

			assert_int_equal(ctl_parse_resize(1, nl, &r, err, sizeof(err)), -EINVAL);
			assert_string_equal(
			    err,
			    "resize 1\\x0aG: not a size (bytes, or a number with K, M, G or T)");
		}
	}
	/* events --count abc used to mean "forever" (strtol gave 0). */
	{
		char *abc[] = {"--count", "abc", NULL};
		char *fine[] = {"--count", "3", "--timeout", "0", NULL};

		assert_int_equal(ctl_parse_events(2, abc, &e, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "--count abc"));
		assert_int_equal(ctl_parse_events(4, fine, &e, err, sizeof(err)), 0);
		assert_int_equal(e.count, 3);
		assert_int_equal(e.timeout_s, 0);
	}
}

/* query-memory-devices with a DIMM beside virtio-mem: resize plans only the virtio-mem device. */
static void test_memdevs_skip_dimms(void **state)
{
	struct json_object *list = json_tokener_parse(
	    "[{\"type\": \"dimm\", \"data\": {\"id\": \"d1\", \"addr\": 4294967296, "
	    "\"size\": 1073741824, \"slot\": 0, \"node\": 0, \"memdev\": \"/objects/m1\", "
	    "\"hotplugged\": true, \"hotpluggable\": true}}, "
	    "{\"type\": \"virtio-mem\", \"data\": {\"id\": \"vm0\", \"size\": 0, "
	    "\"max-size\": 1073741824, \"block-size\": 2097152, \"requested-size\": 0}}, "
	    "{\"data\": {\"id\": \"typeless\"}}]");
	struct ctl_memdev devs[4];

	assert_non_null(list);
	assert_int_equal(ctl_memdevs_from_list(list, devs, 4), 1);
	assert_string_equal(devs[0].info.id, "vm0");
	assert_int_equal(ctl_memdevs_from_list(list, devs, 0), 0);
	json_object_put(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memdevs_skip_dimms),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_parse_args),
	    cmocka_unit_test(test_plan_single_device_as_cloud_hypervisor),
	    cmocka_unit_test(test_plan_zones_refused_without_spread),
	    cmocka_unit_test(test_plan_spread),
	    cmocka_unit_test(test_memdev_from_json_and_diagnose),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
