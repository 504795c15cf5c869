/*
 * Unit tests for query-memory-devices over persistent memory: a virtio-pmem
 * in QEMU's virtio-pmem shape, an NVDIMM in QEMU's "nvdimm" shape (pc-dimm
 * data: id, addr, size, slot, node, memdev, hotplugged, hotpluggable) without
 * memvisor's flush counters, and an error from the VM as a QMP error.
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

struct fake_vm {
	struct api_backend b;
	struct api_pmem_info pmem[2];
	unsigned int n;
	int fail; /* pmem_info's answer when non-zero */
};

static struct fake_vm *to_vm(struct api_backend *b)
{
	return container_of(b, struct fake_vm, b);
}

static unsigned int f_memdev_count(struct api_backend *b)
{
	(void)b;
	return 0;
}

static int f_memdev_info(struct api_backend *b, unsigned int idx, struct api_memdev_info *out)
{
	(void)b;
	(void)idx;
	(void)out;
	return -EINVAL;
}

static unsigned int f_pmem_count(struct api_backend *b)
{
	return to_vm(b)->n;
}

static int f_pmem_info(struct api_backend *b, unsigned int idx, struct api_pmem_info *out)
{
	if (to_vm(b)->fail)
		return to_vm(b)->fail;
	if (idx >= to_vm(b)->n)
		return -ENOENT;
	*out = to_vm(b)->pmem[idx];
	return 0;
}

static const struct api_backend_ops fake_ops = {
    .memdev_count = f_memdev_count,
    .memdev_info = f_memdev_info,
    .pmem_count = f_pmem_count,
    .pmem_info = f_pmem_info,
};

static struct json_object *execute(struct api *api, const char *name, struct qmp_error *err)
{
	struct json_object *args = json_object_new_object(), *r;

	memset(err, 0, sizeof(*err));
	r = api_execute(api, name, args, err);
	json_object_put(args);
	return r;
}

static void test_virtio_pmem_and_nvdimm_shapes(void **state)
{
	struct fake_vm vm = {.b.ops = &fake_ops, .n = 2};
	struct json_object *r;
	struct qmp_error err;
	struct api api;

	(void)state;
	vm.pmem[0] = (struct api_pmem_info){.id = "root",
					    .memdev = "/objects/root",
					    .memaddr = 5ULL << 30,
					    .size = 32 << 20,
					    .flushes = 3};
	vm.pmem[1] = (struct api_pmem_info){.id = "nv",
					    .memdev = "/objects/nv",
					    .memaddr = (5ULL << 30) + (128 << 20),
					    .size = 64 << 20,
					    .nvdimm = true,
					    .slot = 0,
					    .node = 1,
					    .flushes = 99};
	assert_int_equal(api_init(&api, &vm.b, NULL), 0);
	r = execute(&api, "query-memory-devices", &err);
	assert_non_null(r);
	assert_string_equal(
	    json_object_to_json_string_ext(r, JSON_C_TO_STRING_SPACED |
						  JSON_C_TO_STRING_NOSLASHESCAPE),
	    "[ { \"type\": \"virtio-pmem\", \"data\": { \"id\": \"root\", \"memaddr\": "
	    "5368709120, \"size\": 33554432, \"memdev\": \"/objects/root\", \"x-flushes\": 3, "
	    "\"x-flush-errors\": 0 } }, { \"type\": \"nvdimm\", \"data\": { \"id\": \"nv\", "
	    "\"addr\": 5502926848, \"size\": 67108864, \"slot\": 0, \"node\": 1, \"memdev\": "
	    "\"/objects/nv\", \"hotplugged\": false, \"hotpluggable\": false } } ]");
	json_object_put(r);

	vm.fail = -EIO;
	assert_null(execute(&api, "query-memory-devices", &err));
	assert_non_null(strstr(err.desc, "query-memory-devices"));
	api_destroy(&api);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_virtio_pmem_and_nvdimm_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
