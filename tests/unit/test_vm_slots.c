/*
 * core/vm memory slots against the host's real /dev/kvm (skipped without
 * one): a slot and the devices' view of it (vm->mem) change together or not
 * at all. The VM never runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/cpu.h"
#include "lib/log.h"
#include "lib/util.h"
#include "core/vm.h"

#define GPA  (4 * GiB)
#define SIZE (2 * MiB)

/*
 * A refused gmem_remove (here: a size that wraps) used to be ignored: the
 * KVM slot went away and vm_unmap reported success while devices could
 * still reach the memory through vm->mem.
 */
static void test_unmap_refused_by_gmem_keeps_slot(void **state)
{
	struct loop loop;
	struct vm vm;
	char err[256] = "";
	uint32_t slot, free0;
	void *hva;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		skip();
	close(fd);
	mv_log_set_quiet(true);
	assert_int_equal(loop_init(&loop), 0);
	if (vm_create(&vm, &x86_vm_arch, &loop, 1, err, sizeof(err))) {
		print_message("no usable KVM here (%s): skipped\n", err);
		loop_destroy(&loop);
		skip();
	}
	hva = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(hva != MAP_FAILED);
	free0 = vm_slots_free(&vm);
	assert_int_equal(vm_map(&vm, GPA, SIZE, hva, &slot), 0);
	assert_int_equal(vm_slots_free(&vm), free0 - 1);
	assert_int_equal(gmem_check(&vm.mem, GPA, SIZE), 0);

	assert_int_equal(vm_unmap(&vm, slot, GPA, UINT64_MAX - GPA + 2), -EINVAL);
	/* Nothing changed: the slot is in use, devices still reach the memory. */
	assert_int_equal(vm_slots_free(&vm), free0 - 1);
	assert_int_equal(gmem_check(&vm.mem, GPA, SIZE), 0);

	assert_int_equal(vm_unmap(&vm, slot, GPA, SIZE), 0);
	assert_int_equal(vm_slots_free(&vm), free0);
	assert_int_equal(gmem_check(&vm.mem, GPA, 1), -EFAULT);
	vm_destroy(&vm);
	loop_destroy(&loop);
	munmap(hva, SIZE);
}

struct seen {
	uint64_t gpa[4], first[4];
	unsigned int n;
};

static int note_dirty(void *opaque, uint64_t gpa, uint64_t size, const uint64_t *bits)
{
	struct seen *s = opaque;
	uint64_t i;

	for (i = 0; i < size / 4096 && s->n < 4; i++)
		if (bits[i / 64] >> (i % 64) & 1) {
			s->gpa[s->n] = gpa;
			s->first[s->n++] = i;
			break;
		}
	return 0;
}

/*
 * A live snapshot's dirty tracking: every slot, one mapped while it is on
 * included, reports the pages written since the last collect, device
 * writes (gmem) too; after stop the slots log nothing and collect fails.
 */
static void test_dirty_tracking(void **state)
{
	struct loop loop;
	struct vm vm;
	struct seen s = {0};
	char err[256] = "";
	uint32_t slot, slot2;
	uint8_t b = 1;
	void *hva, *hva2;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		skip();
	close(fd);
	mv_log_set_quiet(true);
	assert_int_equal(loop_init(&loop), 0);
	if (vm_create(&vm, &x86_vm_arch, &loop, 1, err, sizeof(err))) {
		print_message("no usable KVM here (%s): skipped\n", err);
		loop_destroy(&loop);
		skip();
	}
	hva = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	hva2 = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(hva != MAP_FAILED && hva2 != MAP_FAILED);
	assert_int_equal(vm_map(&vm, GPA, SIZE, hva, &slot), 0);
	assert_int_equal(vm_dirty_start(&vm, 8 * GiB), 0);
	assert_true(vm.dirty_log);
	assert_int_equal(vm_map(&vm, GPA + SIZE, SIZE, hva2, &slot2), 0);
	assert_int_equal(gmem_write(&vm.mem, GPA + 5 * 4096, &b, 1), 0);
	assert_int_equal(gmem_write(&vm.mem, GPA + SIZE + 7 * 4096, &b, 1), 0);
	assert_int_equal(vm_dirty_collect(&vm, note_dirty, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.gpa[0], GPA);
	assert_int_equal(s.first[0], 5);
	assert_int_equal(s.gpa[1], GPA + SIZE);
	assert_int_equal(s.first[1], 7);
	s.n = 0;
	assert_int_equal(vm_dirty_collect(&vm, note_dirty, &s), 0);
	assert_int_equal(s.n, 0);

	vm_dirty_stop(&vm);
	assert_false(vm.dirty_log);
	assert_null(vm.mem.track);
	/* The slots no longer log: KVM refuses a dirty log for them. */
	assert_int_equal(vm_dirty_collect(&vm, note_dirty, &s), -ENOENT);
	assert_int_equal(vm_unmap(&vm, slot2, GPA + SIZE, SIZE), 0);
	assert_int_equal(vm_unmap(&vm, slot, GPA, SIZE), 0);
	vm_destroy(&vm);
	loop_destroy(&loop);
	munmap(hva, SIZE);
	munmap(hva2, SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unmap_refused_by_gmem_keeps_slot),
	    cmocka_unit_test(test_dirty_tracking),
	};

	return cmocka_run_group_tests_name("vm_slots", tests, NULL, NULL);
}
