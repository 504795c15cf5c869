#include "arch/x86/cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/memmap.h"
#include "lib/util.h"

#define CPUID_MAX_ENTRIES_START 256

int x86_cpuid_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	unsigned int n = CPUID_MAX_ENTRIES_START;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || n >= 4096)
			return -errno;
		n *= 2;
	}
}

struct kvm_cpuid_entry2 *x86_cpuid_find(struct kvm_cpuid2 *c, uint32_t function, uint32_t index)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != function)
			continue;
		if (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index)
			return e;
	}
	return NULL;
}

static unsigned int next_pow2(unsigned int v)
{
	unsigned int p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static unsigned int log2_ceil(unsigned int v)
{
	unsigned int s = 0;

	while ((1U << s) < v)
		s++;
	return s;
}

struct kvm_cpuid2 *x86_cpuid_for_vcpu(const struct kvm_cpuid2 *sup, unsigned int id,
				      unsigned int ncpus)
{
	size_t sz = sizeof(*sup) + (sup->nent + 2) * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = calloc(1, sz);
	struct kvm_cpuid_entry2 *e;

	if (!c)
		return NULL;
	memcpy(c, sup, sizeof(*sup) + sup->nent * sizeof(sup->entries[0]));

	e = x86_cpuid_find(c, 1, 0);
	if (e) {
		/* An 8-bit field: 256 (from 129+ vCPUs) would spill into the APIC ID. */
		e->ebx = (e->ebx & 0x0000FFFF) | id << 24 | MV_MIN(next_pow2(ncpus), 0xFFU) << 16;
		e->ebx = (e->ebx & ~0xFF00U) | 8 << 8; /* CLFLUSH line size */
		/* Hypervisor present: the guest then finds kvm-clock (no TSC calibration hang). */
		e->ecx |= 1U << 31;
		e->ecx |= 1U << 24;    /* TSC deadline timer: no APIC timer calibration */
		e->ecx &= ~(1U << 15); /* PDCM: no perf capabilities MSR */
		if (ncpus > 1)
			e->edx |= 1U << 28;
		else
			e->edx &= ~(1U << 28);
	}
	/* Extended topology: one thread per core, x2APIC ID = vCPU id in every subleaf. */
	e = x86_cpuid_find(c, 0xB, 0);
	if (e) {
		struct kvm_cpuid_entry2 *s1 = x86_cpuid_find(c, 0xB, 1);

		e->flags |= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->eax = 0;
		e->ebx = 1;
		e->ecx = 1 << 8;
		e->edx = id;
		if (!s1) {
			s1 = &c->entries[c->nent++];
			memset(s1, 0, sizeof(*s1));
			s1->function = 0xB;
			s1->index = 1;
			s1->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		}
		s1->eax = log2_ceil(ncpus);
		s1->ebx = ncpus;
		s1->ecx = 2 << 8 | 1;
		s1->edx = id;
	}
	e = x86_cpuid_find(c, 0x8000001E, 0);
	if (e)
		e->eax = id;
	return c;
}

static const struct kvm_msr_entry x86_boot_msrs[] = {
    {.index = 0x174},
    {.index = 0x175},
    {.index = 0x176}, /* SYSENTER */
    {.index = 0xC0000081},
    {.index = 0xC0000082}, /* STAR, LSTAR */
    {.index = 0xC0000083},
    {.index = 0xC0000084},	     /* CSTAR, FMASK */
    {.index = 0xC0000102},	     /* KERNEL_GS_BASE */
    {.index = 0x10},		     /* TSC */
    {.index = 0x1A0, .data = 1},     /* MISC_ENABLE: fast strings */
    {.index = 0x2FF, .data = 0x806}, /* MTRRdefType: enabled, WB */
    /* kvm-clock, async PF, steal time and PV EOI off: a rebooted guest must
     * not have KVM keep writing into memory its previous kernel chose. */
    {.index = 0x11},
    {.index = 0x12},
    {.index = 0x4B564D00},
    {.index = 0x4B564D01},
    {.index = 0x4B564D02},
    {.index = 0x4B564D03},
    {.index = 0x4B564D04},
};

#define X86_NR_BOOT_MSRS (sizeof(x86_boot_msrs) / sizeof(x86_boot_msrs[0]))

static int x86_set_msrs(int fd)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[X86_NR_BOOT_MSRS];
	} m;
	unsigned int i = 0;
	int n;

	/* KVM stops at the first MSR it does not know (e.g. a PV MSR the host
	 * lacks): skip that one and carry on with the rest. */
	while (i < X86_NR_BOOT_MSRS) {
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = X86_NR_BOOT_MSRS - i;
		memcpy(m.e, &x86_boot_msrs[i], m.hdr.nmsrs * sizeof(m.e[0]));
		n = ioctl(fd, KVM_SET_MSRS, &m);
		if (n < 0)
			return -errno;
		i += n + ((unsigned int)n < m.hdr.nmsrs);
	}
	return 0;
}

/* LINT0 ExtINT, LINT1 NMI, as a PC's firmware leaves them. */
static int x86_set_lint(int fd)
{
	struct kvm_lapic_state l;
	uint32_t v;

	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	memcpy(&v, &l.regs[0x350], 4);
	v = (v & ~0x700U) | 7 << 8;
	memcpy(&l.regs[0x350], &v, 4);
	memcpy(&v, &l.regs[0x360], 4);
	v = (v & ~0x700U) | 4 << 8;
	memcpy(&l.regs[0x360], &v, 4);
	return ioctl(fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

int x86_vcpu_init(int vcpu_fd, const struct kvm_cpuid2 *sup, unsigned int id, unsigned int ncpus)
{
	struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(sup, id, ncpus);
	int ret;

	if (!c)
		return -ENOMEM;
	ret = ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return ret;
}

int x86_vcpu_set_apic_base(int vcpu_fd, bool bsp)
{
	struct kvm_sregs sregs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	/* xAPIC mode, enabled: a rebooted guest must not find the x2APIC mode
	 * its previous kernel chose. */
	sregs.apic_base = LAYOUT_LAPIC_BASE | 0x800 | (bsp ? 0x100 : 0);
	return ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ? -errno : 0;
}

int x86_vcpu_reset(int vcpu_fd)
{
	struct kvm_xcrs xcrs = {.nr_xcrs = 1, .xcrs = {{.xcr = 0, .value = 1}}};
	int ret = x86_set_msrs(vcpu_fd);

	/* XCR0 back to x87 only, as at power-on (the old kernel enabled more). */
	if (!ret && ioctl(vcpu_fd, KVM_SET_XCRS, &xcrs) < 0 && errno != EINVAL)
		ret = -errno;
	return ret ? ret : x86_set_lint(vcpu_fd);
}

static void x86_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xFFFFFFFF;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

int x86_vcpu_boot_regs(int vcpu_fd, uint64_t entry, uint64_t boot_params)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	x86_seg(&sregs.cs, 0x08, 0xB, true);
	x86_seg(&sregs.ds, 0x10, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	x86_seg(&sregs.tr, 0x18, 0xB, false);
	sregs.tr.s = 0;
	sregs.tr.g = 0;
	sregs.tr.db = 0;
	sregs.tr.limit = 0xFFFFF;
	sregs.gdt.base = X86_BOOT_GDT;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = X86_BOOT_IDT;
	sregs.idt.limit = 7;
	sregs.cr3 = X86_BOOT_PML4;
	sregs.cr4 = 0x20;	/* PAE */
	sregs.cr0 = 0x80000011; /* PG, ET, PE; not CD/NW */
	sregs.efer = 0x500;	/* LME, LMA */
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsi = boot_params;
	regs.rsp = regs.rbp = X86_BOOT_STACK;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37F;
	fpu.mxcsr = 0x1F80;
	return ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

const struct vm_arch x86_vm_arch = {
    .tss_addr = X86_TSS_ADDR,
    .identity_addr = X86_IDENTITY_ADDR,
    .cpuid_supported = x86_cpuid_supported,
    .vcpu_init = x86_vcpu_init,
    .vcpu_set_apic_base = x86_vcpu_set_apic_base,
    .vcpu_reset = x86_vcpu_reset,
    .vcpu_boot_regs = x86_vcpu_boot_regs,
};
