/*
 * vm_save: save/load sections for the state KVM keeps: per vCPU "vcpu.<id>"
 * (version 1: registers, special registers, XSAVE or FPU, XCRs, the MSRs
 * that matter, LAPIC, pending events, MP state, debug registers) and per VM
 * "irqchip" (PIC master, PIC slave, IOAPIC), "pit" (PIT channels) and
 * "clock" (kvmclock), each version 1.
 *
 * Each section has a pure half (vcpu_state / vm_chips_state <-> bytes,
 * with the sanity checks) and a KVM half (the GET/SET ioctls), which goes
 * through struct kvm_io so unit tests can stand in a fake KVM. Loading
 * parses and checks everything before the first SET ioctl; a SET that KVM
 * refuses midway is reported naming the section and the ioctl (the vCPU
 * must then not be run).
 *
 * Special registers: KVM_GET_SREGS2 where KVM has KVM_CAP_SREGS2 (it
 * carries the PAE PDPTRs the CPU holds, which may differ from what guest
 * memory at CR3 says), else KVM_GET_SREGS; the section records which one
 * (version 2). Version 1 sections (SREGS only, no record) still load. A
 * SREGS2 state loaded where KVM lacks SREGS2 goes in through KVM_SET_SREGS:
 * KVM then reads the PDPTRs from guest memory, as a KVM without SREGS2
 * always did; the pending interrupt travels in the events either way.
 *
 * MSRs: those in vcpu_save_msrs[] that KVM lists in KVM_GET_MSR_INDEX_LIST
 * are saved; a section naming any other MSR is refused.
 * Order of SETs as x86 KVM requires it: MP state, regs, sregs, XSAVE/FPU,
 * XCRs, debug registers, LAPIC, MSRs (TSC before TSC_DEADLINE, which needs
 * the LAPIC in TSC-deadline mode), events last.
 */
#ifndef MV_CORE_VM_SAVE_H
#define MV_CORE_VM_SAVE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vm.h"
#include "lib/state.h"

#define VCPU_STATE_PREFIX   "vcpu."
#define VCPU_STATE_VERSION  2 /* 1: sregs only, without the kind byte */
#define VCPU_STATE_MAX_MSRS 64
#define IRQCHIP_STATE_NAME  "irqchip"
#define PIT_STATE_NAME	    "pit"
#define CLOCK_STATE_NAME    "clock"
#define CHIPS_STATE_VERSION 1

/* How the save code reaches KVM: ioctl(2) in the VMM, a fake in unit tests. */
struct kvm_io {
	/* ioctl's result (>= 0), or -errno. */
	int (*ioctl)(const struct kvm_io *k, int fd, unsigned long req, void *arg);
};

extern const struct kvm_io kvm_io_sys;
/* The MSRs worth carrying, and how many. */
extern const uint32_t vcpu_save_msrs[];
extern const unsigned int vcpu_save_nr_msrs;

enum vcpu_fpu_kind {
	VCPU_FPU_XSAVE = 1, /* KVM_GET_XSAVE: the 4 KiB legacy XSAVE area */
	VCPU_FPU_FPU = 2,   /* KVM_GET_FPU, when KVM has no XSAVE */
};

enum vcpu_sregs_kind {
	VCPU_SREGS_SREGS = 1,  /* KVM_GET_SREGS: interrupt_bitmap, no PDPTRs */
	VCPU_SREGS_SREGS2 = 2, /* KVM_GET_SREGS2: sregs2_flags and pdptrs */
};

struct vcpu_state {
	struct kvm_regs regs;
	/* The fields both ioctls share live in sregs (interrupt_bitmap 0 for SREGS2). */
	struct kvm_sregs sregs;
	uint8_t sregs_kind;
	__u64 sregs2_flags; /* KVM_SREGS2_FLAGS_* */
	__u64 pdptrs[4];
	uint8_t fpu_kind;
	uint32_t xsave[1024]; /* struct kvm_xsave's region (its flexible tail unused) */
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs; /* nr_xcrs 0 without KVM_CAP_XCRS */
	uint32_t nr_msrs;
	struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_debugregs debugregs;
};

struct vm_chips_state {
	struct kvm_irqchip chip[3]; /* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* The KVM half. */
int vcpu_state_get(const struct kvm_io *k, int kvm_fd, int vcpu_fd, struct vcpu_state *st,
		   char *err, size_t errlen);
int vcpu_state_put(const struct kvm_io *k, int vcpu_fd, unsigned int id,
		   const struct vcpu_state *st, char *err, size_t errlen);
/* For a KVM without SREGS2: the same state as KVM_SET_SREGS takes it. */
void vcpu_sregs_downgrade(struct vcpu_state *st);
int vm_chips_get(const struct kvm_io *k, int vm_fd, struct vm_chips_state *st, char *err,
		 size_t errlen);
int vm_chips_put(const struct kvm_io *k, int vm_fd, const struct vm_chips_state *st, char *err,
		 size_t errlen);

/* The pure half: one section "vcpu.<id>"; three sections irqchip, pit, clock. */
void vcpu_state_write(const struct vcpu_state *st, unsigned int id, struct mv_state_writer *w);
int vcpu_state_read(const struct mv_state_section *sec, unsigned int id, struct vcpu_state *st,
		    char *err, size_t errlen);
void vm_chips_write(const struct vm_chips_state *st, struct mv_state_writer *w);
/* Each of the three sections found in [p, len); ioapic_base is the running one. */
int vm_chips_read(const void *p, size_t len, uint64_t ioapic_base, struct vm_chips_state *st,
		  char *err, size_t errlen);

/*
 * The whole VM (vCPUs stopped): chips then every vCPU. Load finds every
 * section in [p, len), checks all of them, then sets chips and vCPUs.
 */
int vm_state_save(const struct kvm_io *k, struct vm *vm, struct mv_state_writer *w, char *err,
		  size_t errlen);
int vm_state_load(const struct kvm_io *k, struct vm *vm, const void *p, size_t len, char *err,
		  size_t errlen);

#endif
