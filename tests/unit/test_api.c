/* Unit tests for api/{commands,hmp,api}: every command over a fake VM, HMP text, events. */
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
#include "api/hmp.h"
#include "api/qmp.h"
#include "board/snapshot.h"
#include "lib/util.h"

/* ---- fake VM ---- */

struct fake_vm {
	struct api_backend b;
	struct api_memdev_info devs[3];
	unsigned int n;
	struct api_memory_summary sum;
	int quits, powerdowns, resets;
	bool paused;
	int stop_ret; /* a failure to report, 0: none */
	int snap_ret;
	char snap_url[128];
	bool snap_live;
	int set_ret;
	uint64_t last_set;
	char last_set_id[API_ID_LEN];
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
	out->status = to_vm(b)->paused ? "paused" : "running";
	out->running = !to_vm(b)->paused;
	return 0;
}

static int f_pause(struct api_backend *b, bool paused)
{
	struct fake_vm *vm = to_vm(b);

	if (vm->stop_ret)
		return vm->stop_ret;
	if (vm->paused == paused)
		return 0;
	vm->paused = paused;
	return 1;
}

static int f_stop(struct api_backend *b)
{
	return f_pause(b, true);
}

static int f_cont(struct api_backend *b)
{
	return f_pause(b, false);
}

static int f_snapshot(struct api_backend *b, const char *url, bool live,
		      struct api_snapshot_info *out, char *err, size_t errlen)
{
	struct fake_vm *vm = to_vm(b);

	snprintf(vm->snap_url, sizeof(vm->snap_url), "%s", url);
	vm->snap_live = live;
	out->pause_ms = live ? 12.5004 : 250.5;
	out->passes = live ? 4 : 1;
	out->memory_bytes = 4096;
	if (vm->snap_ret)
		snprintf(err, errlen, "/full/s: %s", strerror(-vm->snap_ret));
	return vm->snap_ret;
}

static void f_quit(struct api_backend *b)
{
	to_vm(b)->quits++;
}

static int f_powerdown(struct api_backend *b)
{
	to_vm(b)->powerdowns++;
	return 0;
}

static int f_reset(struct api_backend *b)
{
	to_vm(b)->resets++;
	return 0;
}

static unsigned int f_count(struct api_backend *b)
{
	return to_vm(b)->n;
}

static int f_info(struct api_backend *b, unsigned int idx, struct api_memdev_info *out)
{
	if (idx >= to_vm(b)->n)
		return -EINVAL;
	*out = to_vm(b)->devs[idx];
	return 0;
}

static int f_set(struct api_backend *b, const char *id, uint64_t size, char *err, size_t errlen)
{
	struct fake_vm *vm = to_vm(b);

	if (vm->set_ret) {
		snprintf(err, errlen, "device %s: guest driver not ready", id);
		return vm->set_ret;
	}
	vm->last_set = size;
	snprintf(vm->last_set_id, sizeof(vm->last_set_id), "%s", id);
	return 0;
}

static int f_summary(struct api_backend *b, struct api_memory_summary *out)
{
	*out = to_vm(b)->sum;
	return 0;
}

static int f_hmp(struct api_backend *b, const char *what, FILE *out)
{
	if (strcmp(what, "numa"))
		return -ENOENT;
	fprintf(out, "1 nodes\nnode 0 cpus: 0\nnode 0 size: 512 MB\nnode 0 plugged: 0 MB\n");
	return 0;
}

static unsigned int f_pci_list(struct api_backend *b, struct api_pci_info *out, unsigned int max)
{
	assert_int_equal(max, API_PCI_MAX);
	out[0] = (struct api_pci_info){
	    .slot = 0, .vendor = 0x8086, .device = 0x29C0, .class_code = 0x0600};
	out[1] = (struct api_pci_info){
	    .slot = 2,
	    .vendor = 0x1AF4,
	    .device = 0x1058,
	    .subsys_vendor = 0x1AF4,
	    .subsys = 0x40,
	    .class_code = 0xFF00,
	    .irq_line = 11,
	    .irq_pin = 1,
	    .qdev_id = "mem0",
	    .nr_regions = 2,
	    .regions = {{0, 0xC0000000ULL, 0x4000}, {1, 0xC0004000ULL, 0x1000}}};
	return 2;
}

static const struct api_backend_ops fake_ops = {
    .pci_list = f_pci_list,
    .query_status = f_status,
    .quit = f_quit,
    .stop = f_stop,
    .cont = f_cont,
    .snapshot = f_snapshot,
    .powerdown = f_powerdown,
    .reset = f_reset,
    .memdev_count = f_count,
    .memdev_info = f_info,
    .memdev_set_requested = f_set,
    .memory_summary = f_summary,
    .hmp_info = f_hmp,
};

/* A QMP session wired to the API, as the server wires one. */
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
	struct api_memdev_info *m = &f->vm.devs[0];

	f->vm.b.ops = &fake_ops;
	/* vm0 of the QEMU transcript. */
	snprintf(m->id, sizeof(m->id), "vm0");
	snprintf(m->memdev, sizeof(m->memdev), "/objects/mem0");
	m->memaddr = 4294967296ULL;
	m->block_size = 2097152;
	m->max_size = 4294967296ULL;
	m->requested_size = 134217728;
	f->vm.n = 1;
	f->vm.sum =
	    (struct api_memory_summary){.base = 536870912, .plugged = 0, .has_plugged = true};
	assert_int_equal(api_init(&f->api, &f->vm.b, NULL), 0);
	f->api.clock = &fake_clock;
	fake_mono = 1000;
	fake_wall = 1795424310533093ULL;
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

/* Sends one request and returns everything the session answered (static buffer). */
static const char *cmd(struct fixture *f, const char *req)
{
	static char out[8192];

	qmp_session_feed(&f->c.s, req, strlen(req));
	snprintf(out, sizeof(out), "%s", api_buf_str(&f->c.s.out));
	api_buf_consume(&f->c.s.out, f->c.s.out.len);
	return out;
}

#define ERR(cls, desc) "{\"error\": {\"class\": \"" cls "\", \"desc\": \"" desc "\"}}\r\n"

static void test_transcript_queries(void **state)
{
	struct fixture *f = *state;
	const char *r;

	r = cmd(f, "{\"execute\": \"query-memory-devices\"}");
	/* QEMU's members first, in QEMU's order, then memvisor's x- members. */
	assert_memory_equal(
	    r,
	    "{\"return\": [{\"type\": \"virtio-mem\", \"data\": {\"memdev\": "
	    "\"/objects/mem0\", \"memaddr\": 4294967296, \"block-size\": 2097152, "
	    "\"size\": 0, \"node\": 0, \"max-size\": 4294967296, \"requested-size\": "
	    "134217728, \"id\": \"vm0\", \"x-driver-ready\": false",
	    strlen("{\"return\": [{\"type\": \"virtio-mem\", \"data\": {\"memdev\": "
		   "\"/objects/mem0\", \"memaddr\": 4294967296, \"block-size\": "
		   "2097152, \"size\": 0, \"node\": 0, \"max-size\": 4294967296, "
		   "\"requested-size\": 134217728, \"id\": \"vm0\", "
		   "\"x-driver-ready\": false"));
	assert_string_equal(
	    cmd(f, "{\"execute\": \"query-memory-size-summary\"}"),
	    "{\"return\": {\"base-memory\": 536870912, \"plugged-memory\": 0}}\r\n");
	f->vm.sum.has_plugged = false;
	assert_string_equal(cmd(f, "{\"execute\": \"query-memory-size-summary\"}"),
			    "{\"return\": {\"base-memory\": 536870912}}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"query-status\"}"),
			    "{\"return\": {\"status\": \"running\", \"singlestep\": false, "
			    "\"running\": true}}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"query-version\"}"),
			    "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
			    "\"package\": \"" API_PACKAGE "\"}}\r\n");
	r = cmd(f, "{\"execute\": \"query-commands\"}");
	assert_non_null(strstr(r, "{\"name\": \"qmp_capabilities\"}"));
	assert_non_null(strstr(r, "{\"name\": \"qom-set\"}"));
	assert_non_null(strstr(r, "{\"name\": \"human-monitor-command\"}"));
}

static void test_query_pci(void **state)
{
	struct fixture *f = *state;

	/* QEMU's PciInfo / PciDeviceInfo members, in QEMU's order. */
	assert_string_equal(
	    cmd(f, "{\"execute\": \"query-pci\"}"),
	    "{\"return\": [{\"bus\": 0, \"devices\": ["
	    "{\"bus\": 0, \"slot\": 0, \"function\": 0, \"class_info\": {\"desc\": \"Host "
	    "bridge\", \"class\": 1536}, \"id\": {\"device\": 10688, \"vendor\": 32902, "
	    "\"subsystem\": 0, \"subsystem-vendor\": 0}, \"irq_pin\": 0, \"qdev_id\": \"\", "
	    "\"regions\": []}, "
	    "{\"bus\": 0, \"slot\": 2, \"function\": 0, \"class_info\": {\"class\": 65280}, "
	    "\"id\": {\"device\": 4184, \"vendor\": 6900, \"subsystem\": 64, "
	    "\"subsystem-vendor\": 6900}, \"irq\": 11, \"irq_pin\": 1, \"qdev_id\": \"mem0\", "
	    "\"regions\": [{\"bar\": 0, \"type\": \"memory\", \"address\": 3221225472, "
	    "\"size\": 16384, \"prefetch\": false, \"mem_type_64\": false}, {\"bar\": 1, "
	    "\"type\": \"memory\", \"address\": 3221241856, \"size\": 4096, \"prefetch\": "
	    "false, \"mem_type_64\": false}]}]}]}\r\n");
}

static void test_extra_fields(void **state)
{
	struct fixture *f = *state;
	struct api_memdev_info *m = &f->vm.devs[0];
	const char *r;

	m->driver_ready = true;
	m->discarded_bytes = 4096;
	m->discard_failures = 1;
	m->plugs_refused = 3;
	m->size_changed_ms = 500;
	m->requested_changed_ms = 900;
	r = cmd(f, "{\"execute\": \"query-memory-devices\"}");
	assert_non_null(
	    strstr(r, "\"x-driver-ready\": true, \"x-discarded-bytes\": 4096, "
		      "\"x-discard-failures\": 1, \"x-plugs-refused\": 3, "
		      "\"x-unplugged-reads\": 0, \"x-unplugged-writes\": 0, \"x-slot-changes\": 0, "
		      "\"x-slot-holds\": 0, \"x-slots-refused\": 0, "
		      "\"x-unmap-failures\": 0, "
		      "\"x-slots\": 0, \"x-size-age-ms\": 500, \"x-request-age-ms\": 100}}]}\r\n"));
}

static void test_qom_set_and_errors(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"requested-size\", \"value\": 1073741824}}"),
			    "{\"return\": {}}\r\n");
	assert_int_equal(f->vm.last_set, 1073741824);
	assert_string_equal(f->vm.last_set_id, "vm0");
	/* The transcript's two refusals, byte for byte. */
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"requested-size\", \"value\": 3145728}}"),
			    ERR("GenericError", "'requested-size' has to be multiples of "
						"'block-size' (0x200000)"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"requested-size\", \"value\": 68719476736}}"),
			    ERR("GenericError", "'requested-size' cannot exceed the memory "
						"backend size(0x100000000)"));
	/* QEMU's uint64 visitor takes -2M as 2^64-2M: aligned, but beyond the backend. */
	assert_non_null(
	    strstr(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
			  "\"vm0\", \"property\": \"requested-size\", \"value\": -2097152}}"),
		   "cannot exceed"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"requested-size\", \"value\": \"1G\"}}"),
			    ERR("GenericError", "Parameter 'requested-size' expects uint64"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"requested-size\", \"value\": 2.0}}"),
			    ERR("GenericError", "Parameter 'requested-size' expects uint64"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vmX\", "
				   "\"property\": \"requested-size\", \"value\": 0}}"),
			    ERR("DeviceNotFound", "Device 'vmX' not found"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"foo\", \"value\": 0}}"),
			    ERR("GenericError", "Property 'virtio-mem-pci.foo' not found"));
	assert_string_equal(
	    cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
		   "\"property\": \"size\", \"value\": 0}}"),
	    ERR("GenericError", "Insufficient permission to perform this operation"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"block-size\", \"value\": 0}}"),
			    ERR("GenericError",
				"Attempt to set property 'block-size' on anonymous "
				"device (type 'virtio-mem') after it was realized"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"requested-size\"}}"),
			    ERR("GenericError", "Parameter 'value' is missing"));
	/* The backend's own refusal. */
	f->vm.set_ret = -EBUSY;
	assert_string_equal(cmd(f, "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"requested-size\", \"value\": 0}}"),
			    ERR("GenericError", "device vm0: guest driver not ready"));
}

static void test_qom_get_and_errors(void **state)
{
	struct fixture *f = *state;

	f->vm.devs[0].size = 134217728;
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"size\"}}"),
			    "{\"return\": 134217728}\r\n");
	assert_string_equal(cmd(f,
				"{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
				"\"/machine/peripheral/vm0\", \"property\": \"requested-size\"}}"),
			    "{\"return\": 134217728}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
				   "\"peripheral/vm0\", \"property\": \"block-size\"}}"),
			    "{\"return\": 2097152}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"max-size\"}}"),
			    "{\"return\": 4294967296}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"node\"}}"),
			    "{\"return\": 0}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"memaddr\"}}"),
			    "{\"return\": 4294967296}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"memdev\"}}"),
			    "{\"return\": \"/objects/mem0\"}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"type\"}}"),
			    "{\"return\": \"virtio-mem-pci\"}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
				   "\"/machine/peripheral/nope\", \"property\": \"size\"}}"),
			    ERR("DeviceNotFound", "Device '/machine/peripheral/nope' not found"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"bar\"}}"),
			    ERR("GenericError", "Property 'virtio-mem-pci.bar' not found"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"property\": "
				   "\"size\"}}"),
			    ERR("GenericError", "Parameter 'path' is missing"));
	assert_string_equal(
	    cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": 1, "
		   "\"property\": \"size\"}}"),
	    ERR("GenericError", "Invalid parameter type for 'path', expected: string"));
	assert_string_equal(cmd(f, "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"vm0\", "
				   "\"property\": \"size\", \"x\": 1}}"),
			    ERR("GenericError", "Parameter 'x' is unexpected"));
	assert_string_equal(cmd(f, "{\"execute\": \"query-status\", \"arguments\": {\"x\": 1}}"),
			    ERR("GenericError", "Parameter 'x' is unexpected"));
	assert_string_equal(cmd(f, "{\"execute\": \"foo\"}"),
			    ERR("CommandNotFound", "The command foo has not been found"));
}

/*
 * QEMU's stop and cont: STOP/RESUME before the reply, only on a change;
 * query-status follows; a failure is a GenericError and sends nothing.
 */
static void test_stop_cont(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(cmd(f, "{\"execute\": \"stop\"}"),
			    "{\"timestamp\": {\"seconds\": 1795424310, \"microseconds\": 533093}, "
			    "\"event\": \"STOP\"}\r\n{\"return\": {}}\r\n");
	assert_true(f->vm.paused);
	assert_string_equal(cmd(f, "{\"execute\": \"query-status\"}"),
			    "{\"return\": {\"status\": \"paused\", \"singlestep\": false, "
			    "\"running\": false}}\r\n");
	/* Already paused: no event. */
	assert_string_equal(cmd(f, "{\"execute\": \"stop\"}"), "{\"return\": {}}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"cont\"}"),
			    "{\"timestamp\": {\"seconds\": 1795424310, \"microseconds\": 533093}, "
			    "\"event\": \"RESUME\"}\r\n{\"return\": {}}\r\n");
	assert_false(f->vm.paused);
	assert_string_equal(cmd(f, "{\"execute\": \"query-status\"}"),
			    "{\"return\": {\"status\": \"running\", \"singlestep\": false, "
			    "\"running\": true}}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"cont\"}"), "{\"return\": {}}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"stop\", \"arguments\": {\"x\": 1}}"),
			    ERR("GenericError", "Parameter 'x' is unexpected"));
	assert_false(f->vm.paused);
	f->vm.stop_ret = -EAGAIN;
	assert_string_equal(cmd(f, "{\"execute\": \"stop\"}"),
			    ERR("GenericError", "stop failed: Resource temporarily unavailable"));
	assert_string_equal(cmd(f, "{\"execute\": \"cont\"}"),
			    ERR("GenericError", "cont failed: Resource temporarily unavailable"));
	assert_false(f->vm.paused);
}

/* x-snapshot answers once the backend is done; its refusal reaches the client in one line. */
static void test_snapshot_command(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(
	    cmd(f, "{\"execute\": \"x-snapshot\", \"arguments\": {\"url\": "
		   "\"file:///s/vm.snap\"}}"),
	    "{\"return\": {\"x-pause-ms\": 250.5, \"x-passes\": 1, \"x-memory-bytes\": 4096}}\r\n");
	assert_string_equal(f->vm.snap_url, "file:///s/vm.snap");
	assert_false(f->vm.snap_live);
	/* live: the backend is asked for it; the pause is rounded to the microsecond. */
	assert_string_equal(
	    cmd(f, "{\"execute\": \"x-snapshot\", \"arguments\": {\"url\": "
		   "\"file:///s/l.snap\", \"live\": true}}"),
	    "{\"return\": {\"x-pause-ms\": 12.5, \"x-passes\": 4, \"x-memory-bytes\": 4096}}\r\n");
	assert_true(f->vm.snap_live);
	assert_string_equal(
	    cmd(f, "{\"execute\": \"x-snapshot\", \"arguments\": {\"url\": "
		   "\"file:///s/l.snap\", \"live\": false}}"),
	    "{\"return\": {\"x-pause-ms\": 250.5, \"x-passes\": 1, \"x-memory-bytes\": 4096}}\r\n");
	assert_false(f->vm.snap_live);
	assert_string_equal(
	    cmd(f, "{\"execute\": \"x-snapshot\", \"arguments\": {\"url\": "
		   "\"file:///s/l.snap\", \"live\": 1}}"),
	    ERR("GenericError", "Invalid parameter type for 'live', expected: boolean"));
	assert_string_equal(cmd(f, "{\"execute\": \"x-snapshot\"}"),
			    ERR("GenericError", "Parameter 'url' is missing"));
	f->vm.snap_ret = -ENOSPC;
	assert_string_equal(cmd(f, "{\"execute\": \"x-snapshot\", \"arguments\": {\"url\": "
				   "\"file:///full/s\"}}"),
			    ERR("GenericError", "x-snapshot: /full/s: No space left on device"));
}

/* The url: file:///PATH only, an absolute path to a file. */
static void test_snapshot_url(void **state)
{
	char err[160];

	assert_string_equal(board_snapshot_path("file:///tmp/s", err, sizeof(err)), "/tmp/s");
	assert_null(board_snapshot_path("/tmp/s", err, sizeof(err)));
	assert_string_equal(err, "url '/tmp/s': only file:///PATH is supported");
	assert_null(board_snapshot_path("file://tmp/s", err, sizeof(err)));
	assert_string_equal(err,
			    "url 'file://tmp/s': want file:///PATH, an absolute path to a file");
	assert_null(board_snapshot_path("file:///tmp/", err, sizeof(err)));
	assert_null(board_snapshot_path("file:///", err, sizeof(err)));
}

static void test_quit_reset_powerdown(void **state)
{
	struct fixture *f = *state;

	/* The transcript's last two lines. */
	assert_string_equal(cmd(f, "{\"execute\": \"quit\"}"),
			    "{\"timestamp\": {\"seconds\": 1795424310, \"microseconds\": 533093}, "
			    "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": "
			    "\"host-qmp-quit\"}}\r\n{\"return\": {}}\r\n");
	assert_int_equal(f->vm.quits, 1);
	assert_string_equal(cmd(f, "{\"execute\": \"system_reset\"}"),
			    "{\"timestamp\": {\"seconds\": 1795424310, \"microseconds\": 533093}, "
			    "\"event\": \"RESET\", \"data\": {\"guest\": false, \"reason\": "
			    "\"host-qmp-system-reset\"}}\r\n{\"return\": {}}\r\n");
	assert_int_equal(f->vm.resets, 1);
	assert_string_equal(cmd(f, "{\"execute\": \"system_powerdown\"}"),
			    "{\"timestamp\": {\"seconds\": 1795424310, \"microseconds\": 533093}, "
			    "\"event\": \"POWERDOWN\"}\r\n{\"return\": {}}\r\n");
	assert_int_equal(f->vm.powerdowns, 1);
	api_emit_shutdown(&f->api, true, "guest-shutdown");
	assert_string_equal(cmd(f, ""), "{\"timestamp\": {\"seconds\": 1795424310, "
					"\"microseconds\": 533093}, \"event\": \"SHUTDOWN\", "
					"\"data\": {\"guest\": true, \"reason\": "
					"\"guest-shutdown\"}}\r\n");
}

static void test_hmp(void **state)
{
	struct fixture *f = *state;
	struct api_memdev_info *m = &f->vm.devs[1];

	/* The seed user guide's second device, next to the transcript's. */
	snprintf(m->id, sizeof(m->id), "vm1");
	snprintf(m->memdev, sizeof(m->memdev), "/objects/vmem1");
	m->memaddr = 0x340000000ULL;
	m->node = 1;
	m->requested_size = m->size = 1073741824;
	m->max_size = 8589934592ULL;
	m->block_size = 2097152;
	f->vm.n = 2;
	assert_string_equal(
	    cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
		   "\"info memory-devices\"}}"),
	    "{\"return\": \"Memory device [virtio-mem]: \\\"vm0\\\"\\r\\n  memaddr: "
	    "0x100000000\\r\\n  node: 0\\r\\n  requested-size: 134217728\\r\\n  size: 0\\r\\n  "
	    "max-size: 4294967296\\r\\n  block-size: 2097152\\r\\n  memdev: /objects/mem0\\r\\n"
	    "  x-discarded-bytes: 0\\r\\n  x-discard-failures: 0\\r\\n  x-plugs-refused: 0\\r\\n"
	    "  x-unplugged-accesses: 0 reads, 0 writes\\r\\n"
	    "Memory device [virtio-mem]: \\\"vm1\\\"\\r\\n  memaddr: 0x340000000\\r\\n  node: "
	    "1\\r\\n  requested-size: 1073741824\\r\\n  size: 1073741824\\r\\n  max-size: "
	    "8589934592\\r\\n  block-size: 2097152\\r\\n  memdev: /objects/vmem1\\r\\n"
	    "  x-discarded-bytes: 0\\r\\n  x-discard-failures: 0\\r\\n  x-plugs-refused: 0\\r\\n"
	    "  x-unplugged-accesses: 0 reads, 0 writes\\r\\n\"}\r\n");
	f->vm.sum = (struct api_memory_summary){
	    .base = 8589934592ULL, .plugged = 1073741824, .has_plugged = true};
	assert_string_equal(
	    cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
		   "\"info memory_size_summary\"}}"),
	    "{\"return\": \"base memory: 8589934592\\r\\nplugged memory: 1073741824\\r\\n\"}\r\n");
	assert_string_equal(
	    cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
		   "\"info numa\"}}"),
	    "{\"return\": \"1 nodes\\r\\nnode 0 cpus: 0\\r\\nnode 0 size: 512 MB\\r\\nnode 0 "
	    "plugged: 0 MB\\r\\n\"}\r\n");
	/* The fake renders no mtree: QEMU's unknown-command line. */
	assert_string_equal(
	    cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
		   "\"info mtree\"}}"),
	    "{\"return\": \"unknown command: 'info mtree'\\r\\n\"}\r\n");
	assert_string_equal(
	    cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
		   "\"info bogus\"}}"),
	    "{\"return\": \"unknown command: 'info bogus'\\r\\n\"}\r\n");
	assert_string_equal(
	    cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
		   "\"frobnicate now\"}}"),
	    "{\"return\": \"unknown command: 'frobnicate'\\r\\n\"}\r\n");
	assert_string_equal(
	    cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
		   "\"info status\"}}"),
	    "{\"return\": \"VM status: running\\r\\n\"}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": "
				   "{\"command-line\": \"\"}}"),
			    "{\"return\": \"\"}\r\n");
	assert_string_equal(cmd(f, "{\"execute\": \"human-monitor-command\"}"),
			    ERR("GenericError", "Parameter 'command-line' is missing"));
	assert_string_equal(
	    cmd(f, "{\"execute\": \"human-monitor-command\", \"arguments\": "
		   "{\"command-line\": \"info status\", \"cpu-index\": \"0\"}}"),
	    ERR("GenericError", "Invalid parameter type for 'cpu-index', expected: integer"));
}

#define SIZE_EV(s, sz)                                                                             \
	"{\"timestamp\": {\"seconds\": " s "}, \"event\": \"MEMORY_DEVICE_SIZE_CHANGE\", "         \
	"\"data\": {\"size\": " sz ", \"qom-path\": \"/machine/peripheral/vm0\", \"id\": "         \
	"\"vm0\"}}\r\n"

static void test_size_change_rate_limit(void **state)
{
	struct fixture *f = *state;

	fake_wall = 1000000;
	api_memdev_size_changed(&f->api, "vm0", 2097152);
	assert_string_equal(cmd(f, ""), SIZE_EV("1, \"microseconds\": 0", "2097152"));
	/* Within the window: coalesced, nothing sent, latest kept. */
	fake_mono += 100;
	fake_wall = 2000000;
	api_memdev_size_changed(&f->api, "vm0", 4194304);
	fake_mono += 100;
	fake_wall = 3000000;
	api_memdev_size_changed(&f->api, "vm0", 6291456);
	api_memdev_size_changed(&f->api, "vm1", 2097152); /* other devices are not held back */
	assert_non_null(strstr(cmd(f, ""), "\"id\": \"vm1\""));
	assert_int_equal(api_events_tick(&f->api), 800);
	assert_string_equal(cmd(f, ""), "");
	/* Window closes: the latest size goes out, stamped when it happened. */
	fake_mono += 800;
	api_events_tick(&f->api);
	assert_string_equal(cmd(f, ""), SIZE_EV("3, \"microseconds\": 0", "6291456"));
	/* A new window opened with that send: a change now waits again. */
	fake_mono += 10;
	api_memdev_size_changed(&f->api, "vm0", 0);
	assert_string_equal(cmd(f, ""), "");
	fake_mono += 990;
	api_events_tick(&f->api);
	assert_non_null(strstr(cmd(f, ""), "\"size\": 0,"));
	/* A quiet window closes with nothing to send; the next change is immediate. */
	fake_mono += 1000;
	api_events_tick(&f->api);
	fake_mono += 5000;
	assert_int_equal(api_events_tick(&f->api), 0);
	api_memdev_size_changed(&f->api, "vm0", 8388608);
	assert_non_null(strstr(cmd(f, ""), "\"size\": 8388608,"));
}

static void test_events_need_negotiation(void **state)
{
	struct fixture *f = *state;
	struct tclient c2 = {.api = &f->api};

	assert_int_equal(qmp_session_init(&c2.s, &tc_ops, API_PACKAGE), 0);
	api_attach(&f->api, &c2.s);
	api_buf_consume(&c2.s.out, c2.s.out.len);
	api_emit_powerdown(&f->api);
	assert_int_equal(c2.s.out.len, 0);
	assert_non_null(strstr(cmd(f, ""), "POWERDOWN"));
	api_detach(&f->api, &c2.s);
	qmp_session_destroy(&c2.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_transcript_queries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_query_pci, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extra_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_qom_set_and_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_qom_get_and_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quit_reset_powerdown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_cont, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_command, setup, teardown),
	    cmocka_unit_test(test_snapshot_url),
	    cmocka_unit_test_setup_teardown(test_hmp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_change_rate_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_need_negotiation, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
