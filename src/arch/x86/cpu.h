/*
 * cpu: x86 vCPU state at power-on: CPUID (from KVM_GET_SUPPORTED_CPUID, with
 * the hypervisor bit, KVM leaves and topology made consistent with the MADT),
 * boot MSRs, the local APIC's LINT pins, and the 64-bit entry registers of
 * the Linux boot protocol for the boot CPU.
 */
#ifndef MV_ARCH_X86_CPU_H
#define MV_ARCH_X86_CPU_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/vm.h"

/* Supported CPUID, grown until KVM stops answering E2BIG. Caller frees. */
int x86_cpuid_supported(int kvm_fd, struct kvm_cpuid2 **out);
/*
 * A copy of `sup` adjusted for vCPU `id` of `ncpus` (pure). The copy has room
 * for the entries this adds. Caller frees.
 */
struct kvm_cpuid2 *x86_cpuid_for_vcpu(const struct kvm_cpuid2 *sup, unsigned int id,
				      unsigned int ncpus);
/* Look up (function, index) in a CPUID table; NULL when absent. */
struct kvm_cpuid_entry2 *x86_cpuid_find(struct kvm_cpuid2 *c, uint32_t function, uint32_t index);

/* CPUID of a new vCPU (set once, before it first runs). */
int x86_vcpu_init(int vcpu_fd, const struct kvm_cpuid2 *sup, unsigned int id, unsigned int ncpus);
/* APIC base MSR at its power-on value (xAPIC, enabled, BSP flag); before KVM_SET_LAPIC. */
int x86_vcpu_set_apic_base(int vcpu_fd, bool bsp);
/* Boot MSRs, XCR0 and LAPIC LINT pins, at power-on and at every reset. */
int x86_vcpu_reset(int vcpu_fd);
/* The boot CPU's registers for the 64-bit boot protocol entry. */
int x86_vcpu_boot_regs(int vcpu_fd, uint64_t entry, uint64_t boot_params);

/* The x86 hooks of core/vm. */
extern const struct vm_arch x86_vm_arch;

#endif
