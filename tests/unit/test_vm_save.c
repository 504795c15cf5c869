/*
 * Unit tests for core/vm_save: vCPU, irqchip, PIT and clock sections through
 * a fake KVM (tests/unit/fakes): save from one, load into a fresh one,
 * compare; corrupted or mismatched sections refused before any SET.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "core/vm_save.h"
#include "fakes.h"
#include "mem/layout.h"

#define HWCR 0xC0010015 /* an MSR KVM lists that is not carried */

struct rig {
	struct fake_kvm k;
	struct vm vm;
	struct vcpu vcpus[FAKE_KVM_VCPUS];
};

/* A fresh VM of n vCPUs whose "hardware" has every carried MSR and HWCR. */
static struct rig *rig_new(unsigned int n)
{
	struct rig *r = calloc(1, sizeof(*r));
	unsigned int i, j;

	assert_non_null(r);
	fake_kvm_init(&r->k);
	for (j = 0; j < vcpu_save_nr_msrs; j++)
		r->k.msr_list[r->k.nr_msr_list++] = vcpu_save_msrs[j];
	r->k.msr_list[r->k.nr_msr_list++] = HWCR;
	for (i = 0; i < FAKE_KVM_VCPUS; i++) {
		struct vcpu_state *v = &r->k.vcpu[i];

		for (j = 0; j < r->k.nr_msr_list; j++)
			v->msrs[v->nr_msrs++].index = r->k.msr_list[j];
		r->vcpus[i].fd = FAKE_KVM_VCPU_FD + i;
		r->vcpus[i].id = i;
	}
	r->vm.kvm_fd = FAKE_KVM_FD;
	r->vm.vm_fd = FAKE_KVM_VM_FD;
	r->vm.ncpus = n;
	r->vm.vcpus = r->vcpus;
	r->vm.chip0[2].chip.ioapic.base_address = LAYOUT_IOAPIC_BASE;
	return r;
}

static void fill(void *p, size_t n, uint8_t seed)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = seed + i * 7;
}

static void seg(struct kvm_segment *s, uint64_t base, uint16_t sel)
{
	*s = (struct kvm_segment){.base = base,
				  .limit = 0xFFFFF,
				  .selector = sel,
				  .type = 11,
				  .present = 1,
				  .dpl = 0,
				  .db = 0,
				  .s = 1,
				  .l = 1,
				  .g = 1};
}

/* Guest-like state everywhere, different per vCPU. */
static void make_busy(struct rig *r)
{
	struct kvm_pic_state *pic = &r->k.chips.chip[0].chip.pic;
	struct kvm_ioapic_state *io = &r->k.chips.chip[2].chip.ioapic;
	unsigned int i, j;

	for (i = 0; i < r->vm.ncpus; i++) {
		struct vcpu_state *v = &r->k.vcpu[i];

		fill(&v->regs, sizeof(v->regs), 1 + i);
		seg(&v->sregs.cs, 0, 0x10);
		seg(&v->sregs.ds, 0, 0x18);
		seg(&v->sregs.es, 0, 0x18);
		seg(&v->sregs.fs, 0x7F0000001000ULL + i, 0);
		seg(&v->sregs.gs, 0xFFFF888000000000ULL + i, 0);
		seg(&v->sregs.ss, 0, 0x18);
		seg(&v->sregs.tr, 0xFFFFFE0000003000ULL, 0x40);
		v->sregs.ldt.unusable = 1;
		v->sregs.gdt = (struct kvm_dtable){.base = 0xFFFFFE0000001000ULL, .limit = 0x7F};
		v->sregs.idt = (struct kvm_dtable){.base = 0xFFFFFE0000000000ULL, .limit = 0xFFF};
		v->sregs.cr0 = 0x80050033;
		v->sregs.cr3 = 0x1000000 + 0x1000 * i;
		v->sregs.cr4 = 0x3406E0;
		v->sregs.efer = 0xD01;
		v->sregs.apic_base = 0xFEE00000 | (i ? 0x800 : 0x900);
		v->sregs.interrupt_bitmap[1] = 1ULL << 3;
		fill(&v->xsave, sizeof(v->xsave), 9 + i);
		v->xcrs.nr_xcrs = 1;
		v->xcrs.xcrs[0].value = 7;
		for (j = 0; j < v->nr_msrs; j++)
			v->msrs[j].data = v->msrs[j].index * 3ULL + i;
		fill(&v->lapic, sizeof(v->lapic), 17 + i);
		v->events.interrupt.injected = 1;
		v->events.interrupt.nr = 0xEC;
		v->events.nmi.masked = 1;
		v->events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
		v->mp.mp_state = i ? KVM_MP_STATE_HALTED : KVM_MP_STATE_RUNNABLE;
		v->debugregs.db[1] = 0x401000;
		v->debugregs.dr6 = 0xFFFF0FF0;
		v->debugregs.dr7 = 0x400;
	}
	pic->irr = 0x01;
	pic->imr = 0xFB;
	pic->irq_base = 0x30;
	pic->init4 = 1;
	pic->elcr_mask = 0xF8;
	r->k.chips.chip[1].chip.pic.irq_base = 0x38;
	r->k.chips.chip[1].chip.pic.imr = 0xFF;
	io->irr = 0x10;
	io->ioregsel = 0x12;
	for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		io->redirtbl[i].bits = 0x10000 | (0x30 + i);
	r->k.chips.pit.channels[0].count = 0x10000;
	r->k.chips.pit.channels[0].mode = 2;
	r->k.chips.pit.channels[0].rw_mode = 3;
	r->k.chips.pit.channels[0].gate = 1;
	r->k.chips.pit.channels[0].count_load_time = 123456789;
	/* As KVM leaves a channel the guest never programmed (seen on a real KVM). */
	r->k.chips.pit.channels[1].mode = 0xFF;
	r->k.chips.pit.channels[1].count = 0x10000;
	r->k.chips.pit.flags = KVM_PIT_FLAGS_HPET_LEGACY;
	r->k.chips.clock.clock = 987654321;
	r->k.chips.clock.flags = KVM_CLOCK_TSC_STABLE;
}

static void save(struct rig *r, struct mv_state_writer *w)
{
	char err[200] = "";

	mv_sw_init(w);
	assert_int_equal(vm_state_save(&r->k.io, &r->vm, w, err, sizeof(err)), 0);
}

static uint64_t msr(struct vcpu_state *v, uint32_t index)
{
	unsigned int i;

	for (i = 0; i < v->nr_msrs; i++)
		if (v->msrs[i].index == index)
			return v->msrs[i].data;
	fail();
	return 0;
}

static void assert_same_vcpu(struct vcpu_state *a, struct vcpu_state *b, bool check_hwcr)
{
	unsigned int j;

	assert_memory_equal(&a->regs, &b->regs, sizeof(a->regs));
	assert_memory_equal(&a->sregs, &b->sregs, sizeof(a->sregs));
	assert_memory_equal(&a->xsave, &b->xsave, sizeof(a->xsave));
	assert_memory_equal(&a->xcrs, &b->xcrs, sizeof(a->xcrs));
	assert_memory_equal(&a->lapic, &b->lapic, sizeof(a->lapic));
	assert_memory_equal(&a->events, &b->events, sizeof(a->events));
	assert_memory_equal(&a->mp, &b->mp, sizeof(a->mp));
	assert_memory_equal(&a->debugregs, &b->debugregs, sizeof(a->debugregs));
	for (j = 0; j < vcpu_save_nr_msrs; j++)
		assert_int_equal(msr(a, vcpu_save_msrs[j]), msr(b, vcpu_save_msrs[j]));
	if (check_hwcr)
		assert_int_equal(msr(b, HWCR), 0); /* not carried */
}

static void test_round_trip(void **st)
{
	struct rig *a = rig_new(2), *b = rig_new(2);
	struct mv_state_writer w;
	struct mv_state_section sec;
	char err[200] = "";
	unsigned int i;

	make_busy(a);
	save(a, &w);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), 0);
	for (i = 0; i < 2; i++)
		assert_same_vcpu(&a->k.vcpu[i], &b->k.vcpu[i], true);
	for (i = 0; i < 3; i++)
		assert_memory_equal(&a->k.chips.chip[i], &b->k.chips.chip[i],
				    sizeof(a->k.chips.chip[i]));
	assert_memory_equal(&a->k.chips.pit, &b->k.chips.pit, sizeof(a->k.chips.pit));
	assert_int_equal(b->k.chips.clock.clock, 987654321);
	assert_int_equal(b->k.chips.clock.flags, 0); /* flags are outputs of GET only */
	/* Exactly the five sections. */
	assert_int_equal(mv_state_find(w.buf, w.len, "vcpu.1", &sec, err, sizeof(err)), 0);
	assert_int_equal(mv_state_find(w.buf, w.len, "vcpu.2", &sec, err, sizeof(err)), -ENOENT);
	mv_sw_free(&w);
	free(a);
	free(b);
}

/* Without XSAVE the legacy FPU state travels instead. */
static void test_fpu_without_xsave(void **st)
{
	struct rig *a = rig_new(1), *b = rig_new(1);
	struct mv_state_writer w;
	char err[200] = "";

	make_busy(a);
	a->k.has_xsave = a->k.has_xcrs = false;
	a->k.vcpu[0].xcrs.nr_xcrs = 0;
	fill(&a->k.vcpu[0].fpu, offsetof(struct kvm_fpu, pad1), 3);
	a->k.vcpu[0].fpu.mxcsr = 0x1F80;
	save(a, &w);
	b->k.has_xsave = b->k.has_xcrs = false;
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), 0);
	assert_memory_equal(&a->k.vcpu[0].fpu, &b->k.vcpu[0].fpu, offsetof(struct kvm_fpu, pad1));
	assert_int_equal(b->k.vcpu[0].fpu.mxcsr, 0x1F80);
	mv_sw_free(&w);
	free(a);
	free(b);
}

/* An MSR KVM cannot read is left out; the rest still travel. */
static void test_unreadable_msr_skipped(void **st)
{
	struct rig *a = rig_new(1);
	struct mv_state_writer w;
	struct mv_state_section sec;
	struct vcpu_state *v = malloc(sizeof(*v));
	char err[200] = "";
	unsigned int i;

	make_busy(a);
	a->k.unreadable_msr = 0x277;
	save(a, &w);
	assert_int_equal(mv_state_find(w.buf, w.len, "vcpu.0", &sec, err, sizeof(err)), 0);
	assert_int_equal(vcpu_state_read(&sec, 0, v, err, sizeof(err)), 0);
	assert_int_equal(v->nr_msrs, vcpu_save_nr_msrs - 1);
	for (i = 0; i < v->nr_msrs; i++) {
		assert_int_not_equal(v->msrs[i].index, 0x277);
		assert_int_equal(v->msrs[i].data, v->msrs[i].index * 3ULL);
	}
	free(v);
	mv_sw_free(&w);
	free(a);
}

typedef void (*spoil_fn)(struct rig *a);

/* The stream of a spoiled `a` is refused by a fresh VM of n vCPUs with nothing set. */
static void expect_refused(spoil_fn spoil, unsigned int n, int want, const char *msg)
{
	struct rig *a = rig_new(2), *b = rig_new(n), *ref = rig_new(n);
	struct mv_state_writer w;
	char err[200] = "";
	unsigned int i;

	make_busy(a);
	if (spoil)
		spoil(a);
	save(a, &w);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), want);
	assert_string_equal(err, msg);
	if (want == -EINVAL) {
		assert_int_equal(b->k.sets, 0);
		for (i = 0; i < n; i++)
			assert_same_vcpu(&ref->k.vcpu[i], &b->k.vcpu[i], false);
	}
	mv_sw_free(&w);
	free(a);
	free(b);
	free(ref);
}

static void bad_mp(struct rig *a)
{
	a->k.vcpu[1].mp.mp_state = 42;
}

static void bad_seg(struct rig *a)
{
	a->k.vcpu[0].sregs.ss.present = 2;
}

static void bad_events(struct rig *a)
{
	a->k.vcpu[0].events.flags |= 0x40;
}

static void bad_event_field(struct rig *a)
{
	a->k.vcpu[0].events.exception.nr = 32;
}

static void bad_xcrs(struct rig *a)
{
	a->k.vcpu[0].xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
}

static void bad_ioapic(struct rig *a)
{
	a->k.chips.chip[2].chip.ioapic.base_address += 0x1000;
}

static void bad_ioapic_irr(struct rig *a)
{
	a->k.chips.chip[2].chip.ioapic.irr = 1U << 24;
}

static void bad_pic(struct rig *a)
{
	a->k.chips.chip[1].chip.pic.priority_add = 9;
}

static void bad_pit(struct rig *a)
{
	a->k.chips.pit.channels[2].mode = 7;
}

static void bad_pit_flags(struct rig *a)
{
	a->k.chips.pit.flags = 0x80;
}

static void test_refused(void **st)
{
	expect_refused(bad_mp, 2, -EINVAL, "vcpu.1: mp_state 42 is not a KVM MP state");
	expect_refused(bad_seg, 2, -EINVAL, "vcpu.0: segment ss has a flag out of range");
	expect_refused(bad_events, 2, -EINVAL, "vcpu.0: events flags 0x45 has unknown bits");
	expect_refused(bad_event_field, 2, -EINVAL,
		       "vcpu.0: a pending-event field is out of range");
	expect_refused(bad_xcrs, 2, -EINVAL, "vcpu.0: 17 XCRs, KVM has at most 16");
	expect_refused(bad_ioapic, 2, -EINVAL,
		       "irqchip: IOAPIC at 0xfec01000 in the saved state, 0xfec00000 here");
	expect_refused(bad_ioapic_irr, 2, -EINVAL,
		       "irqchip: IOAPIC irr 0x1000000 names pins that do not exist");
	expect_refused(bad_pic, 2, -EINVAL, "irqchip: PIC slave has a field out of range");
	expect_refused(bad_pit, 2, -EINVAL, "pit: channel 2 has a field out of range");
	expect_refused(bad_pit_flags, 2, -EINVAL, "pit: flags 0x80 has unknown bits");
	expect_refused(NULL, 1, -EINVAL, "vcpu.1: the saved state has more vCPUs than the 1 here");
	expect_refused(NULL, 3, -ENOENT, "vcpu.2: section missing from the saved state");
}

/* Sections a save would never write: an MSR outside the list, twice, a bad fpu_kind. */
static void test_refused_crafted(void **st)
{
	struct rig *a = rig_new(1), *b = rig_new(1);
	struct vcpu_state *v = calloc(1, sizeof(*v));
	struct mv_state_writer w;
	char err[200] = "";
	v->sregs_kind = VCPU_SREGS_SREGS;
	v->fpu_kind = VCPU_FPU_XSAVE;
	v->nr_msrs = 1;
	v->msrs[0].index = HWCR;
	mv_sw_init(&w);
	vm_chips_write(&a->k.chips, &w);
	vcpu_state_write(v, 0, &w);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vcpu.0: MSR 0xc0010015 is not one this build restores");
	mv_sw_free(&w);

	v->nr_msrs = 2;
	v->msrs[0].index = v->msrs[1].index = 0x10;
	mv_sw_init(&w);
	vm_chips_write(&a->k.chips, &w);
	vcpu_state_write(v, 0, &w);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vcpu.0: MSR 0x10 appears twice");
	mv_sw_free(&w);

	v->nr_msrs = 0;
	v->fpu_kind = 3;
	mv_sw_init(&w);
	vm_chips_write(&a->k.chips, &w);
	vcpu_state_write(v, 0, &w);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vcpu.0: fpu_kind 3 is neither XSAVE (1) nor FPU (2)");
	mv_sw_free(&w);

	/* vCPU 1's section offered as vCPU 0's. */
	v->fpu_kind = VCPU_FPU_XSAVE;
	mv_sw_init(&w);
	vcpu_state_write(v, 1, &w);
	{
		struct mv_state_section sec;

		assert_int_equal(mv_state_find(w.buf, w.len, "vcpu.1", &sec, err, sizeof(err)), 0);
		assert_int_equal(vcpu_state_read(&sec, 0, v, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "vcpu.0: got section \"vcpu.1\" instead");
	}
	mv_sw_free(&w);
	assert_int_equal(b->k.sets, 0);
	free(v);
	free(a);
	free(b);
}

/* Every truncation of a vCPU section is refused without reading past it (ASan). */
static void test_truncated(void **st)
{
	struct rig *a = rig_new(1);
	struct vcpu_state *v = malloc(sizeof(*v));
	struct mv_state_writer w;
	struct mv_state_section sec;
	char err[200] = "";
	size_t len;

	make_busy(a);
	save(a, &w);
	assert_int_equal(mv_state_find(w.buf, w.len, "vcpu.0", &sec, err, sizeof(err)), 0);
	for (len = 0; len < sec.payload.len; len++) {
		struct mv_state_section cut = sec;
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, sec.payload.p, len);
		mv_sr_init(&cut.payload, copy, len);
		assert_int_equal(vcpu_state_read(&cut, 0, v, err, sizeof(err)), -EINVAL);
		free(copy);
	}
	free(v);
	mv_sw_free(&w);
	free(a);
}

/*
 * A vCPU's SETs in x86's order: MP state, registers, special registers,
 * XSAVE, XCRs, debug registers, LAPIC, then the MSRs (TSC_DEADLINE is only
 * accepted once the LAPIC timer is in TSC-deadline mode; TSC before it in
 * the list), vCPU events last (they may inject into the restored state).
 */
static void test_set_order(void **st)
{
	static const unsigned long want[] = {
	    KVM_SET_MP_STATE,  KVM_SET_REGS,  KVM_SET_SREGS, KVM_SET_XSAVE,	  KVM_SET_XCRS,
	    KVM_SET_DEBUGREGS, KVM_SET_LAPIC, KVM_SET_MSRS,  KVM_SET_VCPU_EVENTS,
	};
	struct rig *a = rig_new(1), *b = rig_new(1);
	struct mv_state_writer w;
	char err[200] = "";
	unsigned int i, n = 0, tsc = ~0u, deadline = ~0u;

	make_busy(a);
	save(a, &w);
	b->k.nr_log = 0;
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), 0);
	for (i = 0; i < b->k.nr_log; i++) {
		unsigned long r = b->k.log[i];

		if (r == KVM_SET_IRQCHIP || r == KVM_SET_PIT2 || r == KVM_SET_CLOCK ||
		    _IOC_DIR(r) != _IOC_WRITE)
			continue;
		assert_true(n < ARRAY_SIZE(want));
		assert_int_equal(r, want[n]);
		n++;
	}
	assert_int_equal(n, ARRAY_SIZE(want));
	for (i = 0; i < vcpu_save_nr_msrs; i++) {
		if (vcpu_save_msrs[i] == 0x10)
			tsc = i;
		if (vcpu_save_msrs[i] == 0x6e0)
			deadline = i;
	}
	assert_true(tsc < deadline && deadline != ~0u);
	mv_sw_free(&w);
	free(a);
	free(b);
}

/* KVM refusing a SET midway is reported with the section and the ioctl. */
static void test_set_fails(void **st)
{
	struct rig *a = rig_new(1), *b = rig_new(1);
	struct mv_state_writer w;
	char err[200] = "";

	make_busy(a);
	save(a, &w);
	b->k.fail_req = KVM_SET_LAPIC;
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), -EIO);
	assert_string_equal(err, "vcpu.0: KVM_SET_LAPIC failed: Input/output error");
	a->k.fail_req = KVM_GET_VCPU_EVENTS;
	mv_sw_free(&w);
	mv_sw_init(&w);
	assert_int_equal(vm_state_save(&a->k.io, &a->vm, &w, err, sizeof(err)), -EIO);
	assert_string_equal(err, "KVM_GET_VCPU_EVENTS failed: Input/output error");
	mv_sw_free(&w);
	free(a);
	free(b);
}

/* Where KVM has SREGS2, that is what travels: the PDPTRs arrive, through KVM_SET_SREGS2. */
static void sregs2_busy(struct rig *r)
{
	unsigned int i, j;

	r->k.has_sregs2 = true;
	for (i = 0; i < FAKE_KVM_VCPUS; i++) {
		struct vcpu_state *v = &r->k.vcpu[i];

		/* A PAE guest, no long mode: the CPU's PDPTRs are the state. */
		v->sregs.cr0 = 0x80000011;
		v->sregs.cr4 = 0x20;
		v->sregs.efer = 0;
		v->sregs2_flags = KVM_SREGS2_FLAGS_PDPTRS_VALID;
		for (j = 0; j < 4; j++)
			v->pdptrs[j] = 0x2000001 + 0x1000 * j + 0x100000 * i;
		/* SREGS2 has no interrupt bitmap (the events carry it). */
		memset(v->sregs.interrupt_bitmap, 0, sizeof(v->sregs.interrupt_bitmap));
	}
}

static bool logged(const struct fake_kvm *k, unsigned long req)
{
	unsigned int i;

	for (i = 0; i < k->nr_log; i++)
		if (k->log[i] == req)
			return true;
	return false;
}

static void test_sregs2_round_trip(void **st)
{
	struct rig *a = rig_new(2), *b = rig_new(2);
	struct vcpu_state *v = malloc(sizeof(*v));
	struct mv_state_writer w;
	struct mv_state_section sec;
	char err[200] = "";
	unsigned int i;

	make_busy(a);
	sregs2_busy(a);
	b->k.has_sregs2 = true;
	save(a, &w);
	assert_true(logged(&a->k, KVM_GET_SREGS2));
	assert_false(logged(&a->k, KVM_GET_SREGS));
	assert_int_equal(mv_state_find(w.buf, w.len, "vcpu.1", &sec, err, sizeof(err)), 0);
	assert_int_equal(sec.version, 2);
	assert_int_equal(vcpu_state_read(&sec, 1, v, err, sizeof(err)), 0);
	assert_int_equal(v->sregs_kind, VCPU_SREGS_SREGS2);
	assert_int_equal(v->pdptrs[3], 0x2103001);
	b->k.nr_log = 0;
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), 0);
	assert_true(logged(&b->k, KVM_SET_SREGS2));
	assert_false(logged(&b->k, KVM_SET_SREGS));
	for (i = 0; i < 2; i++) {
		assert_same_vcpu(&a->k.vcpu[i], &b->k.vcpu[i], true);
		assert_int_equal(b->k.vcpu[i].sregs2_flags, KVM_SREGS2_FLAGS_PDPTRS_VALID);
		assert_memory_equal(a->k.vcpu[i].pdptrs, b->k.vcpu[i].pdptrs,
				    sizeof(a->k.vcpu[i].pdptrs));
	}
	free(v);
	mv_sw_free(&w);
	free(a);
	free(b);
}

/* A SREGS2 snapshot onto a KVM without it: KVM_SET_SREGS, every shared field, no bitmap. */
static void test_sregs2_onto_sregs(void **st)
{
	struct rig *a = rig_new(1), *b = rig_new(1);
	struct mv_state_writer w;
	char err[200] = "";

	make_busy(a);
	sregs2_busy(a);
	save(a, &w);
	b->k.nr_log = 0;
	b->k.vcpu[0].sregs.interrupt_bitmap[2] = 5; /* what KVM_SET_SREGS must clear */
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), 0);
	assert_true(logged(&b->k, KVM_SET_SREGS));
	assert_false(logged(&b->k, KVM_SET_SREGS2));
	assert_same_vcpu(&a->k.vcpu[0], &b->k.vcpu[0], true);
	/* And a SREGS snapshot onto a KVM with SREGS2 keeps KVM_SET_SREGS (its bitmap). */
	mv_sw_free(&w);
	a->k.has_sregs2 = false;
	a->k.vcpu[0].sregs.interrupt_bitmap[1] = 1ULL << 3;
	save(a, &w);
	b->k.has_sregs2 = true;
	b->k.nr_log = 0;
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), 0);
	assert_true(logged(&b->k, KVM_SET_SREGS));
	assert_false(logged(&b->k, KVM_SET_SREGS2));
	assert_same_vcpu(&a->k.vcpu[0], &b->k.vcpu[0], true);
	mv_sw_free(&w);
	free(a);
	free(b);
}

/* The regs as the section writes them: 18 u64 (then, from version 2, the sregs kind). */
#define REGS_BYTES (18 * 8)

/*
 * A version 1 section (what builds before SREGS2 wrote: no kind byte)
 * still loads, as SREGS with its interrupt bitmap; a version 1 header on a
 * version 2 payload, and version 3, are refused in one line.
 */
static void test_sregs_version1(void **st)
{
	struct rig *a = rig_new(1), *b = rig_new(1);
	struct mv_state_writer w, w1;
	struct mv_state_section sec;
	char err[200] = "";
	const uint8_t *p;

	make_busy(a);
	save(a, &w);
	assert_int_equal(mv_state_find(w.buf, w.len, "vcpu.0", &sec, err, sizeof(err)), 0);
	p = sec.payload.p;
	assert_int_equal(p[REGS_BYTES], VCPU_SREGS_SREGS);
	mv_sw_init(&w1);
	vm_chips_write(&a->k.chips, &w1);
	mv_sw_begin(&w1, "vcpu.0", 1);
	mv_sw_bytes(&w1, p, REGS_BYTES);
	mv_sw_bytes(&w1, p + REGS_BYTES + 1, sec.payload.len - REGS_BYTES - 1);
	mv_sw_end(&w1);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w1.buf, w1.len, err, sizeof(err)), 0);
	assert_same_vcpu(&a->k.vcpu[0], &b->k.vcpu[0], true);
	assert_int_equal(b->k.vcpu[0].sregs.interrupt_bitmap[1], 1ULL << 3);
	mv_sw_free(&w1);

	mv_sw_init(&w1);
	vm_chips_write(&a->k.chips, &w1);
	mv_sw_begin(&w1, "vcpu.0", 1);
	mv_sw_bytes(&w1, p, sec.payload.len);
	mv_sw_end(&w1);
	b->k.sets = 0;
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w1.buf, w1.len, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(b->k.sets, 0);
	mv_sw_free(&w1);

	mv_sw_init(&w1);
	vm_chips_write(&a->k.chips, &w1);
	mv_sw_begin(&w1, "vcpu.0", 3);
	mv_sw_bytes(&w1, p, sec.payload.len);
	mv_sw_end(&w1);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w1.buf, w1.len, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "vcpu.0: section version 3 is not supported (this build reads 1 to 2)");
	assert_int_equal(b->k.sets, 0);
	mv_sw_free(&w1);
	mv_sw_free(&w);
	free(a);
	free(b);
}

/* Hostile SREGS2 sections: an unknown kind, unknown flags, a payload cut or padded. */
static void test_sregs2_hostile(void **st)
{
	struct rig *a = rig_new(1), *b = rig_new(1);
	struct mv_state_writer w, w1;
	struct mv_state_section sec;
	char err[200] = "";
	uint8_t *p;
	size_t len;

	make_busy(a);
	sregs2_busy(a);
	b->k.has_sregs2 = true;
	a->k.vcpu[0].sregs2_flags = 0x3;
	save(a, &w);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vcpu.0: sregs2 flags 0x3 has unknown bits");
	assert_int_equal(b->k.sets, 0);
	mv_sw_free(&w);

	/* PDPTRs on a long-mode vCPU: KVM_SET_SREGS2 would refuse it midway. */
	a->k.vcpu[0].sregs2_flags = KVM_SREGS2_FLAGS_PDPTRS_VALID;
	a->k.vcpu[0].sregs.efer = 0x500;
	save(a, &w);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w.buf, w.len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vcpu.0: sregs2 has PDPTRs but the vCPU is not in PAE paging");
	assert_int_equal(b->k.sets, 0);
	mv_sw_free(&w);
	a->k.vcpu[0].sregs.efer = 0;

	save(a, &w);
	assert_int_equal(mv_state_find(w.buf, w.len, "vcpu.0", &sec, err, sizeof(err)), 0);
	len = sec.payload.len;
	p = malloc(len + 8);
	memcpy(p, sec.payload.p, len);
	p[REGS_BYTES] = 7;
	mv_sw_init(&w1);
	vm_chips_write(&a->k.chips, &w1);
	mv_sw_begin(&w1, "vcpu.0", 2);
	mv_sw_bytes(&w1, p, len);
	mv_sw_end(&w1);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w1.buf, w1.len, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "vcpu.0: sregs_kind 7 is neither SREGS (1) nor SREGS2 (2)");
	mv_sw_free(&w1);

	/* Kind SREGS on a SREGS2 payload: 40 bytes of flags and PDPTRs read as 32 of bitmap. */
	p[REGS_BYTES] = VCPU_SREGS_SREGS;
	mv_sw_init(&w1);
	vm_chips_write(&a->k.chips, &w1);
	mv_sw_begin(&w1, "vcpu.0", 2);
	mv_sw_bytes(&w1, p, len);
	mv_sw_end(&w1);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w1.buf, w1.len, err, sizeof(err)),
			 -EINVAL);
	mv_sw_free(&w1);

	/* One byte short, one byte over. */
	p[REGS_BYTES] = VCPU_SREGS_SREGS2;
	memset(p + len, 0, 8);
	mv_sw_init(&w1);
	vm_chips_write(&a->k.chips, &w1);
	mv_sw_begin(&w1, "vcpu.0", 2);
	mv_sw_bytes(&w1, p, len - 1);
	mv_sw_end(&w1);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w1.buf, w1.len, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "vcpu.0: payload truncated"));
	mv_sw_free(&w1);
	mv_sw_init(&w1);
	vm_chips_write(&a->k.chips, &w1);
	mv_sw_begin(&w1, "vcpu.0", 2);
	mv_sw_bytes(&w1, p, len + 1);
	mv_sw_end(&w1);
	assert_int_equal(vm_state_load(&b->k.io, &b->vm, w1.buf, w1.len, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "vcpu.0: 1 unexpected bytes after the payload");
	assert_int_equal(b->k.sets, 0);
	mv_sw_free(&w1);
	free(p);
	mv_sw_free(&w);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_fpu_without_xsave),
	    cmocka_unit_test(test_unreadable_msr_skipped),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_refused_crafted),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_set_fails),
	    cmocka_unit_test(test_set_order),
	    cmocka_unit_test(test_sregs2_round_trip),
	    cmocka_unit_test(test_sregs2_onto_sregs),
	    cmocka_unit_test(test_sregs_version1),
	    cmocka_unit_test(test_sregs2_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
