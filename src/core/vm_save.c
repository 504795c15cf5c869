#include "core/vm_save.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lib/errbuf.h"
#include "lib/util.h"

static int kvm_sys_ioctl(const struct kvm_io *k, int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

const struct kvm_io kvm_io_sys = {.ioctl = kvm_sys_ioctl};

_Static_assert(sizeof(((struct vcpu_state *)0)->xsave) == sizeof(struct kvm_xsave),
	       "KVM_GET_XSAVE writes exactly the legacy 4 KiB area");

/* struct kvm_msrs with room for every MSR carried (its entries are a flexible array). */
static struct kvm_msrs *msrs_alloc(unsigned int n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + VCPU_STATE_MAX_MSRS * sizeof(m->entries[0]));

	if (m)
		m->nmsrs = n;
	return m;
}

/*
 * What a guest sets and expects back (Linux, Windows): syscall entry,
 * sysenter, GS swap, TSC and its deadline, PAT, MTRRs and KVM's
 * paravirtual MSRs. EFER, FS/GS base and APIC base travel in the sregs.
 */
const uint32_t vcpu_save_msrs[] = {
    0x00000010, /* TSC */
    0x0000003B, /* TSC_ADJUST */
    0x00000174, /* SYSENTER_CS */
    0x00000175, /* SYSENTER_ESP */
    0x00000176, /* SYSENTER_EIP */
    0x000001A0, /* MISC_ENABLE */
    0x00000200, 0x00000201, 0x00000202, 0x00000203, 0x00000204, 0x00000205,
    0x00000206, 0x00000207, 0x00000208, 0x00000209, 0x0000020A, 0x0000020B,
    0x0000020C, 0x0000020D, 0x0000020E, 0x0000020F, /* MTRR physbase/physmask 0-7 */
    0x00000250, 0x00000258, 0x00000259, 0x00000268, 0x00000269, 0x0000026A,
    0x0000026B, 0x0000026C, 0x0000026D, 0x0000026E, 0x0000026F, /* fixed MTRRs */
    0x00000277,							/* PAT */
    0x000002FF,							/* MTRR_DEF_TYPE */
    0x000006E0,							/* TSC_DEADLINE */
    0xC0000081,							/* STAR */
    0xC0000082,							/* LSTAR */
    0xC0000083,							/* CSTAR */
    0xC0000084,							/* SYSCALL_MASK */
    0xC0000102,							/* KERNEL_GS_BASE */
    0xC0000103,							/* TSC_AUX */
    0x4B564D00,							/* KVM_WALL_CLOCK_NEW */
    0x4B564D01,							/* KVM_SYSTEM_TIME_NEW */
    0x4B564D02,							/* KVM_ASYNC_PF_EN */
    0x4B564D03,							/* KVM_STEAL_TIME */
    0x4B564D04,							/* KVM_PV_EOI_EN */
    0x4B564D05,							/* KVM_POLL_CONTROL */
    0x4B564D06,							/* KVM_ASYNC_PF_INT */
};
const unsigned int vcpu_save_nr_msrs = ARRAY_SIZE(vcpu_save_msrs);

static bool vcpu_msr_known(uint32_t index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vcpu_save_msrs); i++)
		if (vcpu_save_msrs[i] == index)
			return true;
	return false;
}

/* The KVM half ----------------------------------------------------------- */

static int kvm_call(const struct kvm_io *k, int fd, unsigned long req, void *arg, const char *what,
		    char *err, size_t errlen)
{
	int r = k->ioctl(k, fd, req, arg);

	if (r < 0)
		mv_errbuf(err, errlen, "%s failed: %s", what, strerror(-r));
	return r < 0 ? r : 0;
}

/* The MSRs of vcpu_save_msrs[] that KVM lists, into st->msrs (indices only). */
static int vcpu_msr_list(const struct kvm_io *k, int kvm_fd, struct vcpu_state *st, char *err,
			 size_t errlen)
{
	struct kvm_msr_list probe = {.nmsrs = 0}, *list;
	unsigned int i;
	int r;

	r = k->ioctl(k, kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe);
	if (r < 0 && r != -E2BIG) {
		mv_errbuf(err, errlen, "KVM_GET_MSR_INDEX_LIST failed: %s", strerror(-r));
		return r;
	}
	list = calloc(1, sizeof(*list) + (probe.nmsrs + 1) * sizeof(uint32_t));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	r = kvm_call(k, kvm_fd, KVM_GET_MSR_INDEX_LIST, list, "KVM_GET_MSR_INDEX_LIST", err,
		     errlen);
	st->nr_msrs = 0;
	for (i = 0; !r && i < list->nmsrs && i < probe.nmsrs; i++)
		if (vcpu_msr_known(list->indices[i]) && st->nr_msrs < VCPU_STATE_MAX_MSRS)
			st->msrs[st->nr_msrs++].index = list->indices[i];
	free(list);
	return r;
}

/* KVM_GET_MSRS stops at the first MSR it cannot read: drop that one and go on. */
static int vcpu_get_msrs(const struct kvm_io *k, int fd, struct vcpu_state *st, char *err,
			 size_t errlen)
{
	struct kvm_msrs *m = msrs_alloc(0);
	unsigned int done = 0;
	int r = 0;

	if (!m)
		return -ENOMEM;
	while (done < st->nr_msrs) {
		m->nmsrs = st->nr_msrs - done;
		memcpy(m->entries, st->msrs + done, m->nmsrs * sizeof(m->entries[0]));
		r = k->ioctl(k, fd, KVM_GET_MSRS, m);
		if (r < 0) {
			mv_errbuf(err, errlen, "KVM_GET_MSRS failed: %s", strerror(-r));
			break;
		}
		if ((unsigned int)r > m->nmsrs)
			r = m->nmsrs;
		memcpy(st->msrs + done, m->entries, r * sizeof(m->entries[0]));
		done += r;
		r = 0;
		if (done < st->nr_msrs) {
			memmove(st->msrs + done, st->msrs + done + 1,
				(st->nr_msrs - done - 1) * sizeof(st->msrs[0]));
			st->nr_msrs--;
		}
	}
	free(m);
	return r;
}

#define X86_CR0_PG_BIT	 (1ULL << 31)
#define X86_CR4_PAE_BIT	 (1ULL << 5)
#define X86_EFER_LMA_BIT (1ULL << 10)

/* The segment registers of struct kvm_sregs and kvm_sregs2, in saved order. */
#define SEGS(X) X(cs) X(ds) X(es) X(fs) X(gs) X(ss) X(tr) X(ldt)

/* kvm_sregs2 <-> the shared fields in st->sregs plus flags and PDPTRs. */
#define SREGS_SHARED(X)                                                                            \
	SEGS(X)                                                                                    \
	X(gdt) X(idt) X(cr0) X(cr2) X(cr3) X(cr4) X(cr8) X(efer) X(apic_base)
#define FROM2(f) st->sregs.f = s2->f;
#define TO2(f)	 s2->f = st->sregs.f;

static void sregs_from2(struct vcpu_state *st, const struct kvm_sregs2 *s2)
{
	memset(&st->sregs, 0, sizeof(st->sregs));
	SREGS_SHARED(FROM2)
	st->sregs_kind = VCPU_SREGS_SREGS2;
	st->sregs2_flags = s2->flags;
	memcpy(st->pdptrs, s2->pdptrs, sizeof(st->pdptrs));
}

static void sregs_to2(const struct vcpu_state *st, struct kvm_sregs2 *s2)
{
	memset(s2, 0, sizeof(*s2));
	SREGS_SHARED(TO2)
	s2->flags = st->sregs2_flags;
	memcpy(s2->pdptrs, st->pdptrs, sizeof(s2->pdptrs));
}

void vcpu_sregs_downgrade(struct vcpu_state *st)
{
	if (st->sregs_kind != VCPU_SREGS_SREGS2)
		return;
	/* No interrupt in the bitmap: KVM_SET_VCPU_EVENTS (last) carries it. */
	memset(st->sregs.interrupt_bitmap, 0, sizeof(st->sregs.interrupt_bitmap));
	st->sregs_kind = VCPU_SREGS_SREGS;
	st->sregs2_flags = 0;
	memset(st->pdptrs, 0, sizeof(st->pdptrs));
}

int vcpu_state_get(const struct kvm_io *k, int kvm_fd, int fd, struct vcpu_state *st, char *err,
		   size_t errlen)
{
	int r;

	memset(st, 0, sizeof(*st));
	r = kvm_call(k, fd, KVM_GET_REGS, &st->regs, "KVM_GET_REGS", err, errlen);
	if (!r && k->ioctl(k, kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_SREGS2) > 0) {
		struct kvm_sregs2 s2;

		r = kvm_call(k, fd, KVM_GET_SREGS2, &s2, "KVM_GET_SREGS2", err, errlen);
		if (!r)
			sregs_from2(st, &s2);
	} else if (!r) {
		st->sregs_kind = VCPU_SREGS_SREGS;
		r = kvm_call(k, fd, KVM_GET_SREGS, &st->sregs, "KVM_GET_SREGS", err, errlen);
	}
	if (r)
		return r;
	if (k->ioctl(k, kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_XSAVE) > 0) {
		st->fpu_kind = VCPU_FPU_XSAVE;
		r = kvm_call(k, fd, KVM_GET_XSAVE, st->xsave, "KVM_GET_XSAVE", err, errlen);
	} else {
		st->fpu_kind = VCPU_FPU_FPU;
		r = kvm_call(k, fd, KVM_GET_FPU, &st->fpu, "KVM_GET_FPU", err, errlen);
	}
	if (!r && k->ioctl(k, kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_XCRS) > 0)
		r = kvm_call(k, fd, KVM_GET_XCRS, &st->xcrs, "KVM_GET_XCRS", err, errlen);
	if (!r)
		r = vcpu_msr_list(k, kvm_fd, st, err, errlen);
	if (!r)
		r = vcpu_get_msrs(k, fd, st, err, errlen);
	if (!r)
		r = kvm_call(k, fd, KVM_GET_LAPIC, &st->lapic, "KVM_GET_LAPIC", err, errlen);
	if (!r)
		r = kvm_call(k, fd, KVM_GET_VCPU_EVENTS, &st->events, "KVM_GET_VCPU_EVENTS", err,
			     errlen);
	if (!r)
		r = kvm_call(k, fd, KVM_GET_MP_STATE, &st->mp, "KVM_GET_MP_STATE", err, errlen);
	if (!r)
		r = kvm_call(k, fd, KVM_GET_DEBUGREGS, &st->debugregs, "KVM_GET_DEBUGREGS", err,
			     errlen);
	return r;
}

int vcpu_state_put(const struct kvm_io *k, int fd, unsigned int id, const struct vcpu_state *st,
		   char *err, size_t errlen)
{
	/* The SETs take non-const pointers: copies keep *st as given. */
	struct vcpu_state *c = malloc(sizeof(*c));
	struct kvm_msrs *m = msrs_alloc(st->nr_msrs);
	char what[96];
	int r;

	if (!c || !m) {
		free(c);
		free(m);
		return -ENOMEM;
	}
	*c = *st;
	/*
	 * x86's order: MP state first (it may reset what follows), registers,
	 * FPU state, debug registers, then the LAPIC before the MSRs (KVM drops
	 * a TSC_DEADLINE write unless the LAPIC timer is in TSC-deadline mode;
	 * TSC comes before it in vcpu_save_msrs), and events last, onto the
	 * restored state.
	 */
	r = kvm_call(k, fd, KVM_SET_MP_STATE, &c->mp, "KVM_SET_MP_STATE", what, sizeof(what));
	if (!r)
		r = kvm_call(k, fd, KVM_SET_REGS, &c->regs, "KVM_SET_REGS", what, sizeof(what));
	if (!r && c->sregs_kind == VCPU_SREGS_SREGS2) {
		struct kvm_sregs2 s2;

		sregs_to2(c, &s2);
		r = kvm_call(k, fd, KVM_SET_SREGS2, &s2, "KVM_SET_SREGS2", what, sizeof(what));
	} else if (!r) {
		r = kvm_call(k, fd, KVM_SET_SREGS, &c->sregs, "KVM_SET_SREGS", what, sizeof(what));
	}
	if (!r)
		r = c->fpu_kind == VCPU_FPU_XSAVE
			? kvm_call(k, fd, KVM_SET_XSAVE, c->xsave, "KVM_SET_XSAVE", what,
				   sizeof(what))
			: kvm_call(k, fd, KVM_SET_FPU, &c->fpu, "KVM_SET_FPU", what, sizeof(what));
	if (!r && c->xcrs.nr_xcrs)
		r = kvm_call(k, fd, KVM_SET_XCRS, &c->xcrs, "KVM_SET_XCRS", what, sizeof(what));
	if (!r)
		r = kvm_call(k, fd, KVM_SET_DEBUGREGS, &c->debugregs, "KVM_SET_DEBUGREGS", what,
			     sizeof(what));
	if (!r)
		r = kvm_call(k, fd, KVM_SET_LAPIC, &c->lapic, "KVM_SET_LAPIC", what, sizeof(what));
	if (!r && c->nr_msrs) {
		memcpy(m->entries, c->msrs, c->nr_msrs * sizeof(m->entries[0]));
		r = k->ioctl(k, fd, KVM_SET_MSRS, m);
		if (r >= 0 && (unsigned int)r < c->nr_msrs) {
			snprintf(what, sizeof(what), "KVM_SET_MSRS refused MSR %#" PRIx32,
				 c->msrs[r].index);
			r = -EINVAL;
		} else if (r < 0) {
			snprintf(what, sizeof(what), "KVM_SET_MSRS failed: %s", strerror(-r));
		} else {
			r = 0;
		}
	}
	if (!r)
		r = kvm_call(k, fd, KVM_SET_VCPU_EVENTS, &c->events, "KVM_SET_VCPU_EVENTS", what,
			     sizeof(what));
	if (r)
		mv_errbuf(err, errlen, "%s%u: %s", VCPU_STATE_PREFIX, id, what);
	free(m);
	free(c);
	return r;
}

int vm_chips_get(const struct kvm_io *k, int vm_fd, struct vm_chips_state *st, char *err,
		 size_t errlen)
{
	unsigned int i;
	int r = 0;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < 3 && !r; i++) {
		st->chip[i].chip_id = i;
		r = kvm_call(k, vm_fd, KVM_GET_IRQCHIP, &st->chip[i], "KVM_GET_IRQCHIP", err,
			     errlen);
	}
	if (!r)
		r = kvm_call(k, vm_fd, KVM_GET_PIT2, &st->pit, "KVM_GET_PIT2", err, errlen);
	if (!r)
		r = kvm_call(k, vm_fd, KVM_GET_CLOCK, &st->clock, "KVM_GET_CLOCK", err, errlen);
	return r;
}

int vm_chips_put(const struct kvm_io *k, int vm_fd, const struct vm_chips_state *st, char *err,
		 size_t errlen)
{
	struct vm_chips_state c = *st;
	unsigned int i;
	int r = 0;

	for (i = 0; i < 3 && !r; i++)
		r = kvm_call(k, vm_fd, KVM_SET_IRQCHIP, &c.chip[i], "irqchip: KVM_SET_IRQCHIP", err,
			     errlen);
	if (!r)
		r = kvm_call(k, vm_fd, KVM_SET_PIT2, &c.pit, "pit: KVM_SET_PIT2", err, errlen);
	/* Only the clock value: the flags KVM_GET_CLOCK reports are not inputs. */
	c.clock.flags = 0;
	if (!r)
		r = kvm_call(k, vm_fd, KVM_SET_CLOCK, &c.clock, "clock: KVM_SET_CLOCK", err,
			     errlen);
	return r;
}

/* The pure half: vCPU ------------------------------------------------------ */

static void put_seg(struct mv_state_writer *w, const struct kvm_segment *s)
{
	mv_sw_u64(w, s->base);
	mv_sw_u32(w, s->limit);
	mv_sw_u16(w, s->selector);
	mv_sw_u8(w, s->type);
	mv_sw_u8(w, s->present);
	mv_sw_u8(w, s->dpl);
	mv_sw_u8(w, s->db);
	mv_sw_u8(w, s->s);
	mv_sw_u8(w, s->l);
	mv_sw_u8(w, s->g);
	mv_sw_u8(w, s->avl);
	mv_sw_u8(w, s->unusable);
}

static void get_seg(struct mv_state_reader *r, struct kvm_segment *s)
{
	s->base = mv_sr_u64(r);
	s->limit = mv_sr_u32(r);
	s->selector = mv_sr_u16(r);
	s->type = mv_sr_u8(r);
	s->present = mv_sr_u8(r);
	s->dpl = mv_sr_u8(r);
	s->db = mv_sr_u8(r);
	s->s = mv_sr_u8(r);
	s->l = mv_sr_u8(r);
	s->g = mv_sr_u8(r);
	s->avl = mv_sr_u8(r);
	s->unusable = mv_sr_u8(r);
}

static bool seg_ok(const struct kvm_segment *s)
{
	return s->type <= 15 && s->present <= 1 && s->dpl <= 3 && s->db <= 1 && s->s <= 1 &&
	       s->l <= 1 && s->g <= 1 && s->avl <= 1 && s->unusable <= 1;
}

static void put_regs(struct mv_state_writer *w, const struct kvm_regs *g)
{
	const uint64_t v[] = {g->rax, g->rbx, g->rcx, g->rdx, g->rsi, g->rdi,
			      g->rsp, g->rbp, g->r8,  g->r9,  g->r10, g->r11,
			      g->r12, g->r13, g->r14, g->r15, g->rip, g->rflags};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		mv_sw_u64(w, v[i]);
}

static void get_regs(struct mv_state_reader *r, struct kvm_regs *g)
{
	__u64 *v[] = {&g->rax, &g->rbx, &g->rcx, &g->rdx, &g->rsi, &g->rdi,
		      &g->rsp, &g->rbp, &g->r8,	 &g->r9,  &g->r10, &g->r11,
		      &g->r12, &g->r13, &g->r14, &g->r15, &g->rip, &g->rflags};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		*v[i] = mv_sr_u64(r);
}

static void put_fpu(struct mv_state_writer *w, const struct kvm_fpu *f)
{
	mv_sw_bytes(w, f->fpr, sizeof(f->fpr));
	mv_sw_u16(w, f->fcw);
	mv_sw_u16(w, f->fsw);
	mv_sw_u8(w, f->ftwx);
	mv_sw_u16(w, f->last_opcode);
	mv_sw_u64(w, f->last_ip);
	mv_sw_u64(w, f->last_dp);
	mv_sw_bytes(w, f->xmm, sizeof(f->xmm));
	mv_sw_u32(w, f->mxcsr);
}

static void get_fpu(struct mv_state_reader *r, struct kvm_fpu *f)
{
	mv_sr_bytes(r, f->fpr, sizeof(f->fpr));
	f->fcw = mv_sr_u16(r);
	f->fsw = mv_sr_u16(r);
	f->ftwx = mv_sr_u8(r);
	f->last_opcode = mv_sr_u16(r);
	f->last_ip = mv_sr_u64(r);
	f->last_dp = mv_sr_u64(r);
	mv_sr_bytes(r, f->xmm, sizeof(f->xmm));
	f->mxcsr = mv_sr_u32(r);
}

static void put_events(struct mv_state_writer *w, const struct kvm_vcpu_events *e)
{
	mv_sw_u8(w, e->exception.injected);
	mv_sw_u8(w, e->exception.nr);
	mv_sw_u8(w, e->exception.has_error_code);
	mv_sw_u8(w, e->exception.pending);
	mv_sw_u32(w, e->exception.error_code);
	mv_sw_u8(w, e->interrupt.injected);
	mv_sw_u8(w, e->interrupt.nr);
	mv_sw_u8(w, e->interrupt.soft);
	mv_sw_u8(w, e->interrupt.shadow);
	mv_sw_u8(w, e->nmi.injected);
	mv_sw_u8(w, e->nmi.pending);
	mv_sw_u8(w, e->nmi.masked);
	mv_sw_u32(w, e->sipi_vector);
	mv_sw_u32(w, e->flags);
	mv_sw_u8(w, e->smi.smm);
	mv_sw_u8(w, e->smi.pending);
	mv_sw_u8(w, e->smi.smm_inside_nmi);
	mv_sw_u8(w, e->smi.latched_init);
	mv_sw_u8(w, e->triple_fault.pending);
	mv_sw_u8(w, e->exception_has_payload);
	mv_sw_u64(w, e->exception_payload);
}

static void get_events(struct mv_state_reader *r, struct kvm_vcpu_events *e)
{
	e->exception.injected = mv_sr_u8(r);
	e->exception.nr = mv_sr_u8(r);
	e->exception.has_error_code = mv_sr_u8(r);
	e->exception.pending = mv_sr_u8(r);
	e->exception.error_code = mv_sr_u32(r);
	e->interrupt.injected = mv_sr_u8(r);
	e->interrupt.nr = mv_sr_u8(r);
	e->interrupt.soft = mv_sr_u8(r);
	e->interrupt.shadow = mv_sr_u8(r);
	e->nmi.injected = mv_sr_u8(r);
	e->nmi.pending = mv_sr_u8(r);
	e->nmi.masked = mv_sr_u8(r);
	e->sipi_vector = mv_sr_u32(r);
	e->flags = mv_sr_u32(r);
	e->smi.smm = mv_sr_u8(r);
	e->smi.pending = mv_sr_u8(r);
	e->smi.smm_inside_nmi = mv_sr_u8(r);
	e->smi.latched_init = mv_sr_u8(r);
	e->triple_fault.pending = mv_sr_u8(r);
	e->exception_has_payload = mv_sr_u8(r);
	e->exception_payload = mv_sr_u64(r);
}

void vcpu_state_write(const struct vcpu_state *st, unsigned int id, struct mv_state_writer *w)
{
	char name[MV_STATE_NAME_MAX + 1];
	unsigned int i;

	snprintf(name, sizeof(name), "%s%u", VCPU_STATE_PREFIX, id);
	mv_sw_begin(w, name, VCPU_STATE_VERSION);
	put_regs(w, &st->regs);
	mv_sw_u8(w, st->sregs_kind);
#define PUT_SEG(s) put_seg(w, &st->sregs.s);
	SEGS(PUT_SEG)
	mv_sw_u64(w, st->sregs.gdt.base);
	mv_sw_u16(w, st->sregs.gdt.limit);
	mv_sw_u64(w, st->sregs.idt.base);
	mv_sw_u16(w, st->sregs.idt.limit);
	mv_sw_u64(w, st->sregs.cr0);
	mv_sw_u64(w, st->sregs.cr2);
	mv_sw_u64(w, st->sregs.cr3);
	mv_sw_u64(w, st->sregs.cr4);
	mv_sw_u64(w, st->sregs.cr8);
	mv_sw_u64(w, st->sregs.efer);
	mv_sw_u64(w, st->sregs.apic_base);
	if (st->sregs_kind == VCPU_SREGS_SREGS2) {
		mv_sw_u64(w, st->sregs2_flags);
		for (i = 0; i < ARRAY_SIZE(st->pdptrs); i++)
			mv_sw_u64(w, st->pdptrs[i]);
	} else {
		for (i = 0; i < ARRAY_SIZE(st->sregs.interrupt_bitmap); i++)
			mv_sw_u64(w, st->sregs.interrupt_bitmap[i]);
	}
	mv_sw_u8(w, st->fpu_kind);
	if (st->fpu_kind == VCPU_FPU_XSAVE)
		for (i = 0; i < ARRAY_SIZE(st->xsave); i++)
			mv_sw_u32(w, st->xsave[i]);
	else
		put_fpu(w, &st->fpu);
	mv_sw_u32(w, st->xcrs.nr_xcrs);
	mv_sw_u32(w, st->xcrs.flags);
	for (i = 0; i < st->xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
		mv_sw_u32(w, st->xcrs.xcrs[i].xcr);
		mv_sw_u64(w, st->xcrs.xcrs[i].value);
	}
	mv_sw_u32(w, st->nr_msrs);
	for (i = 0; i < st->nr_msrs && i < VCPU_STATE_MAX_MSRS; i++) {
		mv_sw_u32(w, st->msrs[i].index);
		mv_sw_u64(w, st->msrs[i].data);
	}
	mv_sw_bytes(w, st->lapic.regs, sizeof(st->lapic.regs));
	put_events(w, &st->events);
	mv_sw_u32(w, st->mp.mp_state);
	for (i = 0; i < 4; i++)
		mv_sw_u64(w, st->debugregs.db[i]);
	mv_sw_u64(w, st->debugregs.dr6);
	mv_sw_u64(w, st->debugregs.dr7);
	mv_sw_u64(w, st->debugregs.flags);
	mv_sw_end(w);
}

#define VCPU_EVENT_FLAGS                                                                           \
	(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |                       \
	 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM | KVM_VCPUEVENT_VALID_PAYLOAD |      \
	 KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

static int vcpu_check(const char *name, const struct vcpu_state *st, char *err, size_t errlen)
{
	const struct kvm_vcpu_events *e = &st->events;
	unsigned int i, j;

#define CHECK_SEG(s)                                                                               \
	if (!seg_ok(&st->sregs.s)) {                                                               \
		mv_errbuf(err, errlen, "%s: segment " #s " has a flag out of range", name);        \
		return -EINVAL;                                                                    \
	}
	SEGS(CHECK_SEG)
	if (st->sregs2_flags & ~(uint64_t)KVM_SREGS2_FLAGS_PDPTRS_VALID) {
		mv_errbuf(err, errlen, "%s: sregs2 flags %#" PRIx64 " has unknown bits", name,
			  (uint64_t)st->sregs2_flags);
		return -EINVAL;
	}
	/* KVM_SET_SREGS2 refuses PDPTRs outside PAE paging: refuse before any SET. */
	if ((st->sregs2_flags & KVM_SREGS2_FLAGS_PDPTRS_VALID) &&
	    (!(st->sregs.cr0 & X86_CR0_PG_BIT) || !(st->sregs.cr4 & X86_CR4_PAE_BIT) ||
	     (st->sregs.efer & X86_EFER_LMA_BIT))) {
		mv_errbuf(err, errlen, "%s: sregs2 has PDPTRs but the vCPU is not in PAE paging",
			  name);
		return -EINVAL;
	}
	if (st->mp.mp_state > KVM_MP_STATE_SUSPENDED) {
		mv_errbuf(err, errlen, "%s: mp_state %u is not a KVM MP state", name,
			  st->mp.mp_state);
		return -EINVAL;
	}
	if (e->flags & ~VCPU_EVENT_FLAGS) {
		mv_errbuf(err, errlen, "%s: events flags %#x has unknown bits", name, e->flags);
		return -EINVAL;
	}
	if (e->exception.injected > 1 || e->exception.pending > 1 ||
	    e->exception.has_error_code > 1 || e->exception.nr > 31 || e->interrupt.injected > 1 ||
	    e->interrupt.soft > 1 || e->nmi.injected > 1 || e->nmi.pending > 1 ||
	    e->nmi.masked > 1 || e->smi.smm > 1 || e->smi.pending > 1 ||
	    e->smi.smm_inside_nmi > 1 || e->smi.latched_init > 1 || e->triple_fault.pending > 1 ||
	    e->exception_has_payload > 1) {
		mv_errbuf(err, errlen, "%s: a pending-event field is out of range", name);
		return -EINVAL;
	}
	for (i = 0; i < st->nr_msrs; i++) {
		if (!vcpu_msr_known(st->msrs[i].index)) {
			mv_errbuf(err, errlen,
				  "%s: MSR %#" PRIx32 " is not one this build restores", name,
				  st->msrs[i].index);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (st->msrs[j].index == st->msrs[i].index) {
				mv_errbuf(err, errlen, "%s: MSR %#" PRIx32 " appears twice", name,
					  st->msrs[i].index);
				return -EINVAL;
			}
	}
	return 0;
}

int vcpu_state_read(const struct mv_state_section *sec, unsigned int id, struct vcpu_state *st,
		    char *err, size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	char name[MV_STATE_NAME_MAX + 1];
	unsigned int i;
	int ret;

	snprintf(name, sizeof(name), "%s%u", VCPU_STATE_PREFIX, id);
	ret = mv_state_check(sec, name, VCPU_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	memset(st, 0, sizeof(*st));
	get_regs(&r, &st->regs);
	/* Version 1 had no kind byte: it always held KVM_GET_SREGS. */
	st->sregs_kind = sec->version >= 2 ? mv_sr_u8(&r) : VCPU_SREGS_SREGS;
	if (!r.short_read && st->sregs_kind != VCPU_SREGS_SREGS &&
	    st->sregs_kind != VCPU_SREGS_SREGS2) {
		mv_errbuf(err, errlen, "%s: sregs_kind %u is neither SREGS (1) nor SREGS2 (2)",
			  name, st->sregs_kind);
		return -EINVAL;
	}
#define GET_SEG(s) get_seg(&r, &st->sregs.s);
	SEGS(GET_SEG)
	st->sregs.gdt.base = mv_sr_u64(&r);
	st->sregs.gdt.limit = mv_sr_u16(&r);
	st->sregs.idt.base = mv_sr_u64(&r);
	st->sregs.idt.limit = mv_sr_u16(&r);
	st->sregs.cr0 = mv_sr_u64(&r);
	st->sregs.cr2 = mv_sr_u64(&r);
	st->sregs.cr3 = mv_sr_u64(&r);
	st->sregs.cr4 = mv_sr_u64(&r);
	st->sregs.cr8 = mv_sr_u64(&r);
	st->sregs.efer = mv_sr_u64(&r);
	st->sregs.apic_base = mv_sr_u64(&r);
	if (st->sregs_kind == VCPU_SREGS_SREGS2) {
		st->sregs2_flags = mv_sr_u64(&r);
		for (i = 0; i < ARRAY_SIZE(st->pdptrs); i++)
			st->pdptrs[i] = mv_sr_u64(&r);
	} else {
		for (i = 0; i < ARRAY_SIZE(st->sregs.interrupt_bitmap); i++)
			st->sregs.interrupt_bitmap[i] = mv_sr_u64(&r);
	}
	st->fpu_kind = mv_sr_u8(&r);
	if (st->fpu_kind == VCPU_FPU_XSAVE) {
		for (i = 0; i < ARRAY_SIZE(st->xsave); i++)
			st->xsave[i] = mv_sr_u32(&r);
	} else if (st->fpu_kind == VCPU_FPU_FPU) {
		get_fpu(&r, &st->fpu);
	} else if (!r.short_read) {
		mv_errbuf(err, errlen, "%s: fpu_kind %u is neither XSAVE (1) nor FPU (2)", name,
			  st->fpu_kind);
		return -EINVAL;
	}
	st->xcrs.nr_xcrs = mv_sr_u32(&r);
	st->xcrs.flags = mv_sr_u32(&r);
	if (st->xcrs.nr_xcrs > KVM_MAX_XCRS) {
		mv_errbuf(err, errlen, "%s: %u XCRs, KVM has at most %u", name, st->xcrs.nr_xcrs,
			  KVM_MAX_XCRS);
		return -EINVAL;
	}
	for (i = 0; i < st->xcrs.nr_xcrs; i++) {
		st->xcrs.xcrs[i].xcr = mv_sr_u32(&r);
		st->xcrs.xcrs[i].value = mv_sr_u64(&r);
	}
	st->nr_msrs = mv_sr_u32(&r);
	if (st->nr_msrs > VCPU_STATE_MAX_MSRS) {
		mv_errbuf(err, errlen, "%s: %u MSRs, at most %u", name, st->nr_msrs,
			  VCPU_STATE_MAX_MSRS);
		return -EINVAL;
	}
	for (i = 0; i < st->nr_msrs; i++) {
		st->msrs[i].index = mv_sr_u32(&r);
		st->msrs[i].data = mv_sr_u64(&r);
	}
	mv_sr_bytes(&r, st->lapic.regs, sizeof(st->lapic.regs));
	get_events(&r, &st->events);
	st->mp.mp_state = mv_sr_u32(&r);
	for (i = 0; i < 4; i++)
		st->debugregs.db[i] = mv_sr_u64(&r);
	st->debugregs.dr6 = mv_sr_u64(&r);
	st->debugregs.dr7 = mv_sr_u64(&r);
	st->debugregs.flags = mv_sr_u64(&r);
	ret = mv_state_done(sec, &r, err, errlen);
	return ret ? ret : vcpu_check(name, st, err, errlen);
}

/* The pure half: irqchip, PIT, clock -------------------------------------- */

static void put_pic(struct mv_state_writer *w, const struct kvm_pic_state *p)
{
	const uint8_t v[] = {p->last_irr,
			     p->irr,
			     p->imr,
			     p->isr,
			     p->priority_add,
			     p->irq_base,
			     p->read_reg_select,
			     p->poll,
			     p->special_mask,
			     p->init_state,
			     p->auto_eoi,
			     p->rotate_on_auto_eoi,
			     p->special_fully_nested_mode,
			     p->init4,
			     p->elcr,
			     p->elcr_mask};

	mv_sw_bytes(w, v, sizeof(v));
}

static void get_pic(struct mv_state_reader *r, struct kvm_pic_state *p)
{
	uint8_t v[16];

	mv_sr_bytes(r, v, sizeof(v));
	p->last_irr = v[0];
	p->irr = v[1];
	p->imr = v[2];
	p->isr = v[3];
	p->priority_add = v[4];
	p->irq_base = v[5];
	p->read_reg_select = v[6];
	p->poll = v[7];
	p->special_mask = v[8];
	p->init_state = v[9];
	p->auto_eoi = v[10];
	p->rotate_on_auto_eoi = v[11];
	p->special_fully_nested_mode = v[12];
	p->init4 = v[13];
	p->elcr = v[14];
	p->elcr_mask = v[15];
}

static bool pic_ok(const struct kvm_pic_state *p)
{
	return p->priority_add <= 7 && !(p->irq_base & 7) && p->read_reg_select <= 1 &&
	       p->poll <= 1 && p->special_mask <= 1 && p->init_state <= 3 && p->auto_eoi <= 1 &&
	       p->rotate_on_auto_eoi <= 1 && p->special_fully_nested_mode <= 1 && p->init4 <= 1;
}

void vm_chips_write(const struct vm_chips_state *st, struct mv_state_writer *w)
{
	const struct kvm_ioapic_state *io = &st->chip[2].chip.ioapic;
	unsigned int i;

	mv_sw_begin(w, IRQCHIP_STATE_NAME, CHIPS_STATE_VERSION);
	put_pic(w, &st->chip[0].chip.pic);
	put_pic(w, &st->chip[1].chip.pic);
	mv_sw_u64(w, io->base_address);
	mv_sw_u32(w, io->ioregsel);
	mv_sw_u32(w, io->id);
	mv_sw_u32(w, io->irr);
	for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		mv_sw_u64(w, io->redirtbl[i].bits);
	mv_sw_end(w);
	mv_sw_begin(w, PIT_STATE_NAME, CHIPS_STATE_VERSION);
	for (i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &st->pit.channels[i];

		mv_sw_u32(w, c->count);
		mv_sw_u16(w, c->latched_count);
		mv_sw_u8(w, c->count_latched);
		mv_sw_u8(w, c->status_latched);
		mv_sw_u8(w, c->status);
		mv_sw_u8(w, c->read_state);
		mv_sw_u8(w, c->write_state);
		mv_sw_u8(w, c->write_latch);
		mv_sw_u8(w, c->rw_mode);
		mv_sw_u8(w, c->mode);
		mv_sw_u8(w, c->bcd);
		mv_sw_u8(w, c->gate);
		mv_sw_u64(w, (uint64_t)c->count_load_time);
	}
	mv_sw_u32(w, st->pit.flags);
	mv_sw_end(w);
	mv_sw_begin(w, CLOCK_STATE_NAME, CHIPS_STATE_VERSION);
	mv_sw_u64(w, st->clock.clock);
	mv_sw_end(w);
}

static int irqchip_read(const struct mv_state_section *sec, uint64_t ioapic_base,
			struct vm_chips_state *st, char *err, size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	struct kvm_ioapic_state *io = &st->chip[2].chip.ioapic;
	unsigned int i;
	int ret;

	ret = mv_state_check(sec, IRQCHIP_STATE_NAME, CHIPS_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < 3; i++)
		st->chip[i].chip_id = i;
	get_pic(&r, &st->chip[0].chip.pic);
	get_pic(&r, &st->chip[1].chip.pic);
	io->base_address = mv_sr_u64(&r);
	io->ioregsel = mv_sr_u32(&r);
	io->id = mv_sr_u32(&r);
	io->irr = mv_sr_u32(&r);
	for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		io->redirtbl[i].bits = mv_sr_u64(&r);
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++)
		if (!pic_ok(&st->chip[i].chip.pic)) {
			mv_errbuf(err, errlen, "%s: PIC %s has a field out of range", sec->name,
				  i ? "slave" : "master");
			return -EINVAL;
		}
	if (io->base_address != ioapic_base) {
		mv_errbuf(err, errlen, "%s: IOAPIC at %#llx in the saved state, %#llx here",
			  sec->name, (unsigned long long)io->base_address,
			  (unsigned long long)ioapic_base);
		return -EINVAL;
	}
	if (io->irr >> KVM_IOAPIC_NUM_PINS) {
		mv_errbuf(err, errlen, "%s: IOAPIC irr %#x names pins that do not exist", sec->name,
			  io->irr);
		return -EINVAL;
	}
	return 0;
}

#define PIT_FLAGS (KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON)

static int pit_read(const struct mv_state_section *sec, struct kvm_pit_state2 *p, char *err,
		    size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	unsigned int i;
	int ret;

	ret = mv_state_check(sec, PIT_STATE_NAME, CHIPS_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *c = &p->channels[i];

		c->count = mv_sr_u32(&r);
		c->latched_count = mv_sr_u16(&r);
		c->count_latched = mv_sr_u8(&r);
		c->status_latched = mv_sr_u8(&r);
		c->status = mv_sr_u8(&r);
		c->read_state = mv_sr_u8(&r);
		c->write_state = mv_sr_u8(&r);
		c->write_latch = mv_sr_u8(&r);
		c->rw_mode = mv_sr_u8(&r);
		c->mode = mv_sr_u8(&r);
		c->bcd = mv_sr_u8(&r);
		c->gate = mv_sr_u8(&r);
		c->count_load_time = (int64_t)mv_sr_u64(&r);
	}
	p->flags = mv_sr_u32(&r);
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &p->channels[i];

		/* KVM folds modes 6/7 into 2/3; 0xFF is a channel never programmed. */
		if (c->count > 0x10000 || (c->mode > 5 && c->mode != 0xFF) || c->rw_mode > 3 ||
		    c->read_state > 4 || c->write_state > 4 || c->bcd > 1 || c->gate > 1) {
			mv_errbuf(err, errlen, "%s: channel %u has a field out of range", sec->name,
				  i);
			return -EINVAL;
		}
	}
	if (p->flags & ~PIT_FLAGS) {
		mv_errbuf(err, errlen, "%s: flags %#x has unknown bits", sec->name, p->flags);
		return -EINVAL;
	}
	return 0;
}

static int clock_read(const struct mv_state_section *sec, struct kvm_clock_data *c, char *err,
		      size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	int ret = mv_state_check(sec, CLOCK_STATE_NAME, CHIPS_STATE_VERSION, err, errlen);

	if (ret)
		return ret;
	c->clock = mv_sr_u64(&r);
	return mv_state_done(sec, &r, err, errlen);
}

int vm_chips_read(const void *p, size_t len, uint64_t ioapic_base, struct vm_chips_state *st,
		  char *err, size_t errlen)
{
	struct mv_state_section sec;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = mv_state_find(p, len, IRQCHIP_STATE_NAME, &sec, err, errlen);
	if (!ret)
		ret = irqchip_read(&sec, ioapic_base, st, err, errlen);
	if (!ret)
		ret = mv_state_find(p, len, PIT_STATE_NAME, &sec, err, errlen);
	if (!ret)
		ret = pit_read(&sec, &st->pit, err, errlen);
	if (!ret)
		ret = mv_state_find(p, len, CLOCK_STATE_NAME, &sec, err, errlen);
	if (!ret)
		ret = clock_read(&sec, &st->clock, err, errlen);
	return ret;
}

/* The whole VM ------------------------------------------------------------ */

int vm_state_save(const struct kvm_io *k, struct vm *vm, struct mv_state_writer *w, char *err,
		  size_t errlen)
{
	struct vm_chips_state chips;
	struct vcpu_state *st;
	unsigned int i;
	int ret;

	ret = vm_chips_get(k, vm->vm_fd, &chips, err, errlen);
	if (ret)
		return ret;
	vm_chips_write(&chips, w);
	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (i = 0; i < vm->ncpus && !ret; i++) {
		ret = vcpu_state_get(k, vm->kvm_fd, vm->vcpus[i].fd, st, err, errlen);
		if (!ret)
			vcpu_state_write(st, i, w);
	}
	free(st);
	return ret ? ret : mv_sw_error(w);
}

int vm_state_load(const struct kvm_io *k, struct vm *vm, const void *p, size_t len, char *err,
		  size_t errlen)
{
	struct vm_chips_state chips;
	struct mv_state_section sec;
	struct vcpu_state *st;
	char name[MV_STATE_NAME_MAX + 1];
	unsigned int i;
	int ret;

	ret = vm_chips_read(p, len, vm->chip0[2].chip.ioapic.base_address, &chips, err, errlen);
	if (ret)
		return ret;
	st = calloc(vm->ncpus ? vm->ncpus : 1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (i = 0; i < vm->ncpus && !ret; i++) {
		snprintf(name, sizeof(name), "%s%u", VCPU_STATE_PREFIX, i);
		ret = mv_state_find(p, len, name, &sec, err, errlen);
		if (!ret)
			ret = vcpu_state_read(&sec, i, &st[i], err, errlen);
	}
	/* More vCPUs saved than exist here is a different machine. */
	snprintf(name, sizeof(name), "%s%u", VCPU_STATE_PREFIX, vm->ncpus);
	if (!ret && mv_state_find(p, len, name, &sec, NULL, 0) == 0) {
		mv_errbuf(err, errlen, "%s: the saved state has more vCPUs than the %u here", name,
			  vm->ncpus);
		ret = -EINVAL;
	}
	if (!ret &&
	    k->ioctl(k, vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_SREGS2) <= 0)
		for (i = 0; i < vm->ncpus; i++)
			vcpu_sregs_downgrade(&st[i]);
	if (!ret)
		ret = vm_chips_put(k, vm->vm_fd, &chips, err, errlen);
	for (i = 0; i < vm->ncpus && !ret; i++)
		ret = vcpu_state_put(k, vm->vcpus[i].fd, i, &st[i], err, errlen);
	free(st);
	return ret;
}
