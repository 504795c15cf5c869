#include "fakes.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "mem/layout.h"

void fake_gmem_init(struct fake_gmem *f, uint64_t gpa, uint64_t size)
{
	f->buf = calloc(1, size);
	f->gpa = gpa;
	f->size = size;
	assert(f->buf);
	assert(gmem_init(&f->map) == 0);
	assert(gmem_add(&f->map, gpa, size, f->buf) == 0);
}

void fake_gmem_free(struct fake_gmem *f)
{
	gmem_destroy(&f->map);
	free(f->buf);
}

static struct kvm_msr_entry *fake_msr(struct vcpu_state *v, uint32_t index)
{
	unsigned int i;

	for (i = 0; i < v->nr_msrs; i++)
		if (v->msrs[i].index == index)
			return &v->msrs[i];
	return NULL;
}

static int fake_msrs(struct fake_kvm *f, struct vcpu_state *v, struct kvm_msrs *m, bool set)
{
	unsigned int i;

	for (i = 0; i < m->nmsrs; i++) {
		struct kvm_msr_entry *e = fake_msr(v, m->entries[i].index);

		if (!e || m->entries[i].index == f->unreadable_msr)
			break;
		if (set)
			e->data = m->entries[i].data;
		else
			m->entries[i].data = e->data;
	}
	if (set && i)
		f->sets++;
	return i;
}

/* Copy between the caller's struct and the fake's: out for GET, in for SET. */
#define FAKE_XFER(get, set, field)                                                                 \
	case get:                                                                                  \
		memcpy(arg, &(field), sizeof(field));                                              \
		return 0;                                                                          \
	case set:                                                                                  \
		memcpy(&(field), arg, sizeof(field));                                              \
		f->sets++;                                                                         \
		return 0;

/* KVM_GET_SREGS2 / KVM_SET_SREGS2, field by field. */
static int fake_sregs2(struct fake_kvm *f, struct vcpu_state *v, struct kvm_sregs2 *s2, bool set)
{
	struct kvm_segment *hw[] = {&v->sregs.cs, &v->sregs.ds, &v->sregs.es, &v->sregs.fs,
				    &v->sregs.gs, &v->sregs.ss, &v->sregs.tr, &v->sregs.ldt};
	struct kvm_segment *io[] = {&s2->cs, &s2->ds, &s2->es, &s2->fs,
				    &s2->gs, &s2->ss, &s2->tr, &s2->ldt};
	__u64 *hwr[] = {&v->sregs.cr0, &v->sregs.cr2,  &v->sregs.cr3,	    &v->sregs.cr4,
			&v->sregs.cr8, &v->sregs.efer, &v->sregs.apic_base, &v->sregs2_flags};
	__u64 *ior[] = {&s2->cr0, &s2->cr2,  &s2->cr3,	     &s2->cr4,
			&s2->cr8, &s2->efer, &s2->apic_base, &s2->flags};
	unsigned int i;

	if (!f->has_sregs2)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(hw); i++)
		set ? (*hw[i] = *io[i]) : (*io[i] = *hw[i]);
	for (i = 0; i < ARRAY_SIZE(hwr); i++)
		set ? (*hwr[i] = *ior[i]) : (*ior[i] = *hwr[i]);
	if (set) {
		v->sregs.gdt = s2->gdt;
		v->sregs.idt = s2->idt;
		memcpy(v->pdptrs, s2->pdptrs, sizeof(v->pdptrs));
		f->sets++;
	} else {
		s2->gdt = v->sregs.gdt;
		s2->idt = v->sregs.idt;
		memcpy(s2->pdptrs, v->pdptrs, sizeof(v->pdptrs));
	}
	return 0;
}

static int fake_vcpu_ioctl(struct fake_kvm *f, struct vcpu_state *v, unsigned long req, void *arg)
{
	switch (req) {
		FAKE_XFER(KVM_GET_REGS, KVM_SET_REGS, v->regs)
		FAKE_XFER(KVM_GET_SREGS, KVM_SET_SREGS, v->sregs)
		FAKE_XFER(KVM_GET_FPU, KVM_SET_FPU, v->fpu)
		FAKE_XFER(KVM_GET_LAPIC, KVM_SET_LAPIC, v->lapic)
		FAKE_XFER(KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, v->events)
		FAKE_XFER(KVM_GET_MP_STATE, KVM_SET_MP_STATE, v->mp)
		FAKE_XFER(KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, v->debugregs)
	case KVM_GET_XSAVE:
	case KVM_SET_XSAVE:
		if (!f->has_xsave)
			return -EINVAL;
		if (req == KVM_GET_XSAVE) {
			memcpy(arg, v->xsave, sizeof(v->xsave));
		} else {
			memcpy(v->xsave, arg, sizeof(v->xsave));
			f->sets++;
		}
		return 0;
	case KVM_GET_XCRS:
	case KVM_SET_XCRS:
		if (!f->has_xcrs)
			return -EINVAL;
		if (req == KVM_GET_XCRS) {
			memcpy(arg, &v->xcrs, sizeof(v->xcrs));
		} else {
			memcpy(&v->xcrs, arg, sizeof(v->xcrs));
			f->sets++;
		}
		return 0;
	case KVM_GET_MSRS:
	case KVM_SET_MSRS:
		return fake_msrs(f, v, arg, req == KVM_SET_MSRS);
	case KVM_GET_SREGS2:
	case KVM_SET_SREGS2:
		return fake_sregs2(f, v, arg, req == KVM_SET_SREGS2);
	default:
		return -ENOTTY;
	}
}

static int fake_vm_ioctl(struct fake_kvm *f, unsigned long req, void *arg)
{
	struct kvm_irqchip *c = arg;

	switch (req) {
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
		if (c->chip_id > 2)
			return -EINVAL;
		if (req == KVM_GET_IRQCHIP) {
			memcpy(&c->chip, &f->chips.chip[c->chip_id].chip, sizeof(c->chip));
		} else {
			memcpy(&f->chips.chip[c->chip_id], c, sizeof(*c));
			f->sets++;
		}
		return 0;
		FAKE_XFER(KVM_GET_PIT2, KVM_SET_PIT2, f->chips.pit)
		FAKE_XFER(KVM_GET_CLOCK, KVM_SET_CLOCK, f->chips.clock)
	default:
		return -ENOTTY;
	}
}

static int fake_kvm_ioctl(const struct kvm_io *k, int fd, unsigned long req, void *arg)
{
	struct fake_kvm *f = container_of(k, struct fake_kvm, io);

	if (f->nr_log < ARRAY_SIZE(f->log))
		f->log[f->nr_log++] = req;
	if (req == f->fail_req)
		return -EIO;
	if (fd == FAKE_KVM_FD) {
		struct kvm_msr_list *l = arg;
		unsigned int n;

		if (req == KVM_CHECK_EXTENSION) {
			uintptr_t cap = (uintptr_t)arg;

			return cap == KVM_CAP_XSAVE    ? f->has_xsave
			       : cap == KVM_CAP_XCRS   ? f->has_xcrs
			       : cap == KVM_CAP_SREGS2 ? f->has_sregs2
						       : 0;
		}
		if (req != KVM_GET_MSR_INDEX_LIST)
			return -ENOTTY;
		n = l->nmsrs;
		l->nmsrs = f->nr_msr_list;
		if (n < f->nr_msr_list)
			return -E2BIG;
		memcpy(l->indices, f->msr_list, f->nr_msr_list * sizeof(uint32_t));
		return 0;
	}
	if (fd == FAKE_KVM_VM_FD)
		return fake_vm_ioctl(f, req, arg);
	if (fd >= FAKE_KVM_VCPU_FD && fd < FAKE_KVM_VCPU_FD + FAKE_KVM_VCPUS)
		return fake_vcpu_ioctl(f, &f->vcpu[fd - FAKE_KVM_VCPU_FD], req, arg);
	return -EBADF;
}

void fake_kvm_init(struct fake_kvm *f)
{
	memset(f, 0, sizeof(*f));
	f->io.ioctl = fake_kvm_ioctl;
	f->has_xsave = f->has_xcrs = true;
	for (unsigned int i = 0; i < 3; i++)
		f->chips.chip[i].chip_id = i;
	f->chips.chip[2].chip.ioapic.base_address = LAYOUT_IOAPIC_BASE;
}

static int fake_hp_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	*slot = 7;
	return 0;
}

static int fake_hp_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	return 0;
}

static int fake_hp_mem(struct hp_region *r, uint64_t off, uint64_t len)
{
	return 0;
}

const struct hp_ops fake_hp_ops = {
    .map = fake_hp_map,
    .unmap = fake_hp_unmap,
    .populate = fake_hp_mem,
    .discard = fake_hp_mem,
};

void fake_argv(char *line, char **argv, int *argc)
{
	*argc = 0;
	argv[(*argc)++] = "memvisor";
	for (char *t = strtok(line, " "); t; t = strtok(NULL, " "))
		argv[(*argc)++] = t;
}
