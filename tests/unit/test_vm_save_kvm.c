/*
 * core/vm_save against the host's real /dev/kvm (skipped without one): a VM
 * that never runs is saved, changed, loaded and saved again, so the ioctl
 * structs, their order and the sanity checks meet what KVM really reports
 * (a PIT channel never programmed reads mode 0xFF, for one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "arch/x86/cpu.h"
#include "core/vm_save.h"
#include "mem/layout.h"

static void read_vcpu(const struct mv_state_writer *w, unsigned int id, struct vcpu_state *st)
{
	struct mv_state_section sec;
	char name[16], err[200] = "";

	snprintf(name, sizeof(name), "vcpu.%u", id);
	assert_int_equal(mv_state_find(w->buf, w->len, name, &sec, err, sizeof(err)), 0);
	assert_int_equal(vcpu_state_read(&sec, id, st, err, sizeof(err)), 0);
}

static void test_real_kvm_round_trip(void **state)
{
	struct loop loop;
	struct vm vm;
	struct mv_state_writer w, w2;
	struct vm_chips_state c1, c2;
	struct vcpu_state *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char err[256] = "";
	unsigned int i, j;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		free(a);
		free(b);
		skip();
	}
	close(fd);
	mv_log_set_quiet(true);
	assert_int_equal(loop_init(&loop), 0);
	if (vm_create(&vm, &x86_vm_arch, &loop, 2, err, sizeof(err))) {
		print_message("no usable KVM here (%s): skipped\n", err);
		loop_destroy(&loop);
		free(a);
		free(b);
		skip();
	}
	assert_int_equal(vm_reset_vcpus(&vm, 0x100000, 0x7000), 0);
	/* Settling (a snapshot's first step) enters no guest: KVM_RUN returns EINTR at once. */
	assert_int_equal(vm_settle_vcpus(&vm), 0);
	mv_sw_init(&w);
	assert_int_equal(vm_state_save(&kvm_io_sys, &vm, &w, err, sizeof(err)), 0);
	/* Change what a guest would have changed, then load it into the VM. */
	read_vcpu(&w, 1, a);
	a->regs.rax = 0x1234;
	a->regs.rip = 0xFFF0;
	a->mp.mp_state = KVM_MP_STATE_RUNNABLE;
	mv_sw_init(&w2);
	assert_int_equal(vm_chips_read(w.buf, w.len, LAYOUT_IOAPIC_BASE, &c1, err, sizeof(err)), 0);
	vm_chips_write(&c1, &w2);
	read_vcpu(&w, 0, b);
	vcpu_state_write(b, 0, &w2);
	vcpu_state_write(a, 1, &w2);
	assert_int_equal(vm_state_load(&kvm_io_sys, &vm, w2.buf, w2.len, err, sizeof(err)), 0);
	mv_sw_free(&w);
	mv_sw_init(&w);
	assert_int_equal(vm_state_save(&kvm_io_sys, &vm, &w, err, sizeof(err)), 0);
	/* What KVM holds now is what was loaded, but for the clocks that ran on. */
	for (i = 0; i < 2; i++) {
		read_vcpu(&w2, i, a);
		read_vcpu(&w, i, b);
		assert_memory_equal(&a->regs, &b->regs, sizeof(a->regs));
		assert_memory_equal(&a->sregs, &b->sregs, sizeof(a->sregs));
		/* SREGS2 where this KVM has it: the kind, flags and PDPTRs come back too. */
		assert_int_equal(a->sregs_kind, b->sregs_kind);
		assert_int_equal(a->sregs2_flags, b->sregs2_flags);
		assert_memory_equal(a->pdptrs, b->pdptrs, sizeof(a->pdptrs));
		assert_memory_equal(a->xsave, b->xsave, sizeof(a->xsave));
		assert_memory_equal(&a->xcrs, &b->xcrs, sizeof(a->xcrs));
		assert_memory_equal(&a->lapic, &b->lapic, sizeof(a->lapic));
		assert_memory_equal(&a->events, &b->events, sizeof(a->events));
		assert_int_equal(a->mp.mp_state, b->mp.mp_state);
		assert_memory_equal(&a->debugregs, &b->debugregs, sizeof(a->debugregs));
		assert_int_equal(a->nr_msrs, b->nr_msrs);
		for (j = 0; j < a->nr_msrs; j++) {
			assert_int_equal(a->msrs[j].index, b->msrs[j].index);
			if (a->msrs[j].index != 0x10) /* the TSC runs */
				assert_int_equal(a->msrs[j].data, b->msrs[j].data);
		}
	}
	assert_int_equal(b->regs.rax, 0x1234);
	assert_int_equal(b->regs.rip, 0xFFF0);
	assert_int_equal(b->mp.mp_state, KVM_MP_STATE_RUNNABLE);
	assert_int_equal(vm_chips_read(w.buf, w.len, LAYOUT_IOAPIC_BASE, &c2, err, sizeof(err)), 0);
	for (i = 0; i < 3; i++)
		assert_memory_equal(&c1.chip[i], &c2.chip[i], sizeof(c1.chip[i]));
	for (i = 0; i < 3; i++) {
		c1.pit.channels[i].count_load_time = c2.pit.channels[i].count_load_time = 0;
		assert_memory_equal(&c1.pit.channels[i], &c2.pit.channels[i],
				    sizeof(c1.pit.channels[i]));
	}
	mv_sw_free(&w);
	mv_sw_free(&w2);
	vm_destroy(&vm);
	loop_destroy(&loop);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_kvm_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
