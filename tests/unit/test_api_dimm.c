/*
 * Unit tests for the DIMM commands of api/commands over a fake VM whose
 * DIMM bookkeeping is the real mem/dimm: object-add, device_add pc-dimm,
 * device_del, object-del, query-memory-devices' dimm entries,
 * query-acpi-ospm-status, x-resize; every bad request refused with QEMU's
 * error class, and nothing changed by a refusal.
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
#include "api/qmp.h"
#include "lib/util.h"

#define G (1ULL << 30)

struct fake_vm {
	struct api_backend b;
	struct dimm_set set;
	int unplug_requests;
	uint64_t resized_to;
};

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

static int f_info(struct api_backend *b, unsigned int i, struct api_memdev_info *out)
{
	return -ENOENT;
}

static int f_summary(struct api_backend *b, struct api_memory_summary *out)
{
	out->base = G;
	out->plugged = dimm_plugged_bytes(&to_vm(b)->set);
	out->has_plugged = true;
	return 0;
}

static const struct dimm_set *f_set(struct api_backend *b)
{
	return &to_vm(b)->set;
}

static int f_oadd(struct api_backend *b, const struct dimm_object_req *r, struct dimm_error *e)
{
	return dimm_object_add(&to_vm(b)->set, r, e);
}

static int f_odel(struct api_backend *b, const char *id, struct dimm_error *e)
{
	return dimm_object_del(&to_vm(b)->set, id, e);
}

static int f_dadd(struct api_backend *b, const char *id, const char *memdev, long node,
		  struct dimm_error *e)
{
	struct dimm_plan p;
	int ret = dimm_plug_check(&to_vm(b)->set, id, memdev, node, &p, e);

	if (!ret)
		dimm_plug_commit(&to_vm(b)->set, id, &p);
	return ret;
}

static int f_ddel(struct api_backend *b, const char *id, struct dimm_error *e)
{
	unsigned int slot;
	int ret = dimm_unplug_request(&to_vm(b)->set, id, &slot, e);

	to_vm(b)->unplug_requests += !ret;
	return ret;
}

static int f_resize(struct api_backend *b, uint64_t total, struct dimm_error *e)
{
	to_vm(b)->resized_to = total;
	return 0;
}

static const struct api_backend_ops fake_ops = {
    .query_status = f_status,
    .memdev_count = f_count,
    .memdev_info = f_info,
    .memory_summary = f_summary,
    .dimm_set = f_set,
    .dimm_object_add = f_oadd,
    .dimm_object_del = f_odel,
    .dimm_device_add = f_dadd,
    .dimm_device_del = f_ddel,
    .dimm_resize = f_resize,
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

	assert_non_null(f);
	f->vm.b.ops = &fake_ops;
	assert_int_equal(dimm_set_init(&f->vm.set, 4 * G, 4 * G, 2, 2), 0);
	assert_int_equal(dimm_set_boot_id(&f->vm.set, "mem0"), 0);
	assert_int_equal(api_init(&f->api, &f->vm.b, NULL), 0);
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

#define OK	       "{\"return\": {}}\r\n"
#define ERR(cls, desc) "{\"error\": {\"class\": \"" cls "\", \"desc\": \"" desc "\"}}\r\n"

/* The request is refused with that reply and the bookkeeping is byte-identical after. */
static void refused(struct fixture *f, const char *req, const char *want)
{
	struct dimm_set *before = malloc(sizeof(*before));

	assert_non_null(before);
	memcpy(before, &f->vm.set, sizeof(*before));
	assert_string_equal(cmd(f, req), want);
	assert_memory_equal(before, &f->vm.set, sizeof(*before));
	free(before);
}

static void test_plug_query_unplug(void **state)
{
	struct fixture *f = *state;
	const char *out;

	assert_string_equal(cmd(f,
				"{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
				"\"memory-backend-ram\", \"id\": \"m1\", \"size\": 1073741824}}"),
			    OK);
	assert_string_equal(cmd(f,
				"{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
				"\"pc-dimm\", \"id\": \"d1\", \"memdev\": \"m1\", \"node\": 1}}"),
			    OK);
	out = cmd(f, "{\"execute\": \"query-memory-devices\"}");
	assert_string_equal(
	    out, "{\"return\": [{\"type\": \"dimm\", \"data\": {\"id\": \"d1\", \"addr\": "
		 "4294967296, \"size\": 1073741824, \"slot\": 0, \"node\": 1, \"memdev\": "
		 "\"/objects/m1\", \"hotplugged\": true, \"hotpluggable\": true}}]}\r\n");
	out = cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
		     "\"info memory-devices\"}}");
	assert_string_equal(out, "{\"return\": \"Memory device [dimm]: \\\"d1\\\"\\r\\n  addr: "
				 "0x100000000\\r\\n  slot: 0\\r\\n  node: 1\\r\\n  size: "
				 "1073741824\\r\\n  memdev: /objects/m1\\r\\n  hotplugged: "
				 "true\\r\\n  hotpluggable: true\\r\\n\"}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"query-memory-size-summary\"}"),
			    "{\"return\": {\"base-memory\": 1073741824, \"plugged-memory\": "
			    "1073741824}}\r\n");
	out = cmd(f, "{\"execute\": \"query-acpi-ospm-status\"}");
	assert_string_equal(out, "{\"return\": [{\"device\": \"d1\", \"slot\": \"0\", "
				 "\"slot-type\": \"DIMM\", \"source\": 0, \"status\": 0}, "
				 "{\"slot\": \"1\", \"slot-type\": \"DIMM\", \"source\": 0, "
				 "\"status\": 0}]}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"device_del\", \"arguments\": {\"id\": "
				   "\"/machine/peripheral/d1\"}}"),
			    OK);
	assert_int_equal(f->vm.unplug_requests, 1);
	assert_int_equal(f->vm.set.dimms[0].state, DIMM_UNPLUGGING);
	/* The memdev stays busy until the DIMM is gone. */
	refused(f, "{\"execute\": \"object-del\", \"arguments\": {\"id\": \"m1\"}}",
		ERR("GenericError", "object 'm1' is in use, can not be deleted"));
	assert_int_equal(dimm_ejected(&f->vm.set, 0), 0);
	assert_int_equal(dimm_released(&f->vm.set, 0), 0);
	assert_string_equal(
	    cmd(f, "{\"execute\": \"object-del\", \"arguments\": {\"id\": \"m1\"}}"), OK);
	assert_string_equal(cmd(f, "{\"execute\": \"query-memory-devices\"}"),
			    "{\"return\": []}\r\n");
}

static void test_bad_requests_change_nothing(void **state)
{
	struct fixture *f = *state;

	cmd(f,
	    "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-ram\", "
	    "\"id\": \"m1\", \"size\": 1073741824}}");
	cmd(f,
	    "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-memfd\", "
	    "\"id\": \"odd\", \"size\": 104857600}}");
	refused(f,
		"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"pc-dimm\", \"id\": "
		"\"d1\", \"memdev\": \"nope\"}}",
		ERR("GenericError", "Property 'pc-dimm.memdev' can't find value 'nope'"));
	refused(f,
		"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"pc-dimm\", \"id\": "
		"\"d1\", \"memdev\": \"odd\"}}",
		ERR("GenericError", "memdev 'odd' size 100M is not a multiple of 128M (a DIMM is "
				    "whole Linux memory blocks)"));
	assert_string_equal(cmd(f, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
				   "\"pc-dimm\", \"id\": \"d1\", \"memdev\": \"m1\"}}"),
			    OK);
	refused(f,
		"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"pc-dimm\", \"id\": "
		"\"d2\", \"memdev\": \"m1\"}}",
		ERR("GenericError", "can't use already busy memdev: m1"));
	cmd(f,
	    "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-ram\", "
	    "\"id\": \"m2\", \"size\": 134217728}}");
	cmd(f,
	    "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-ram\", "
	    "\"id\": \"m3\", \"size\": 134217728}}");
	assert_string_equal(cmd(f, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
				   "\"pc-dimm\", \"id\": \"d2\", \"memdev\": \"m2\"}}"),
			    OK);
	refused(f,
		"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"pc-dimm\", \"id\": "
		"\"d3\", \"memdev\": \"m3\"}}",
		ERR("GenericError", "no free slots left (all 2 DIMM slots are used)"));
	refused(f, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"mem0\"}}",
		ERR("GenericError", "'mem0' is boot RAM: only hotplugged DIMMs can be unplugged"));
	refused(f, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"ghost\"}}",
		ERR("DeviceNotFound", "Device 'ghost' not found"));
	refused(
	    f,
	    "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-mem-pci\", "
	    "\"id\": \"v\", \"memdev\": \"m3\"}}",
	    ERR("GenericError",
		"'virtio-mem-pci' is not a valid device model name (memvisor hotplugs pc-dimm)"));
	refused(f,
		"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"pc-dimm\", \"id\": "
		"\"d3\", \"memdev\": \"m3\", \"addr\": 0}}",
		ERR("GenericError", "Parameter 'addr' is unexpected"));
	refused(f,
		"{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
		"\"memory-backend-ram\", \"id\": \"m4\", \"size\": 134217728, \"host-nodes\": "
		"[0], \"policy\": \"bind\"}}",
		ERR("GenericError",
		    "Property 'memory-backend-ram.host-nodes' is not supported by memvisor"));
	refused(
	    f,
	    "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-epc\", "
	    "\"id\": \"m4\", \"size\": 134217728}}",
	    ERR("GenericError",
		"invalid object type: memory-backend-epc (memvisor offers "
		"memory-backend-ram, memory-backend-memfd and memory-backend-file)"));
	refused(f,
		"{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
		"\"memory-backend-ram\", \"id\": \"m1\", \"size\": 134217728}}",
		ERR("GenericError",
		    "attempt to add duplicate property 'm1' to object (type 'container')"));
	refused(f,
		"{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
		"\"memory-backend-file\", \"id\": \"m5\", \"size\": 134217728}}",
		ERR("GenericError", "Parameter 'mem-path' is missing"));
	refused(f,
		"{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
		"\"memory-backend-ram\", \"id\": \"m5\", \"size\": \"1G\"}}",
		ERR("GenericError", "Invalid parameter type for 'size', expected: integer"));
	refused(f, "{\"execute\": \"object-del\", \"arguments\": {\"id\": \"zz\"}}",
		ERR("GenericError", "object 'zz' not found"));
}

static void test_resize_command(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(
	    cmd(f, "{\"execute\": \"x-resize\", \"arguments\": {\"size\": 3221225472}}"), OK);
	assert_int_equal(f->vm.resized_to, 3 * G);
	assert_string_equal(cmd(f, "{\"execute\": \"x-resize\", \"arguments\": {\"size\": 0}}"),
			    ERR("GenericError", "Parameter 'size' expects a positive size"));
}

/* A VM without DIMM support: the commands say so, nothing else happens. */
static void test_no_dimm_ops(void **state)
{
	static const struct api_backend_ops bare = {
	    .query_status = f_status,
	    .memdev_count = f_count,
	    .memdev_info = f_info,
	    .memory_summary = f_summary,
	};
	struct fixture *f = *state;

	f->vm.b.ops = &bare;
	assert_string_equal(cmd(f, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"d\"}}"),
			    ERR("GenericError", "memory hotplug is not supported by this VM"));
	assert_string_equal(cmd(f, "{\"execute\": \"query-acpi-ospm-status\"}"),
			    "{\"return\": []}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"query-memory-devices\"}"),
			    "{\"return\": []}\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plug_query_unplug, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_requests_change_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resize_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_dimm_ops, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
