/* Unit tests for arch/x86/cpu: the per-vCPU CPUID table (pure part). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpu.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* What KVM_GET_SUPPORTED_CPUID returns on a 6.2+ host, reduced to the leaves that matter. */
static struct kvm_cpuid2 *supported(bool with_0xb, bool with_amd_topo)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 8 * sizeof(c->entries[0]));
	struct kvm_cpuid_entry2 *e;

	assert_non_null(c);
	e = c->entries;
	*e++ = (struct kvm_cpuid_entry2){.function = 0, .eax = 0x1F, .ebx = 0x756E6547};
	/* Host values: APIC ID 0x2A, 16 logical CPUs, CLFLUSH 8, brand 0x05; PDCM set. */
	*e++ = (struct kvm_cpuid_entry2){.function = 1,
					 .eax = 0x000806F8,
					 .ebx = 0x2A100805,
					 .ecx = 0x76FAB203 | (1U << 15),
					 .edx = 0x178BFBFF | (1U << 28)};
	*e++ = (struct kvm_cpuid_entry2){.function = 4, .index = 0, .flags = SIG, .eax = 0x121};
	if (with_0xb)
		*e++ = (struct kvm_cpuid_entry2){.function = 0xB, .index = 0, .flags = SIG};
	*e++ =
	    (struct kvm_cpuid_entry2){.function = 0x40000000, .eax = 0x40000001, .ebx = 0x4B4D564B};
	if (with_amd_topo)
		*e++ = (struct kvm_cpuid_entry2){.function = 0x8000001E, .eax = 0x77, .ebx = 0x100};
	c->nent = e - c->entries;
	return c;
}

static void test_leaf1(void **state)
{
	struct kvm_cpuid2 *sup = supported(true, false);
	struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(sup, 3, 4);
	struct kvm_cpuid_entry2 *e;

	assert_non_null(c);
	e = x86_cpuid_find(c, 1, 0);
	assert_non_null(e);
	assert_int_equal(e->ebx >> 24, 3);	    /* initial APIC ID = vCPU id = MADT id */
	assert_int_equal((e->ebx >> 16) & 0xFF, 4); /* addressable logical CPUs */
	assert_int_equal((e->ebx >> 8) & 0xFF, 8);  /* CLFLUSH line size / 8 */
	assert_int_equal(e->ebx & 0xFF, 0x05);	    /* brand index kept */
	assert_true(e->ecx & (1U << 31));	    /* hypervisor */
	assert_true(e->ecx & (1U << 24));	    /* TSC deadline */
	assert_false(e->ecx & (1U << 15));	    /* PDCM hidden */
	assert_int_equal(e->ecx & ~((1U << 31) | (1U << 24) | (1U << 15)),
			 0x76FAB203 & ~((1U << 31) | (1U << 24) | (1U << 15)));
	assert_true(e->edx & (1U << 28)); /* HTT */
	assert_int_equal(e->eax, 0x000806F8);
	/* KVM's own leaves are passed through. */
	e = x86_cpuid_find(c, 0x40000000, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 0x40000001);
	assert_int_equal(e->ebx, 0x4B4D564B);
	/* The input is left alone. */
	assert_int_equal(sup->entries[1].ebx, 0x2A100805);
	free(c);
	free(sup);
}

static void test_leaf1_counts(void **state)
{
	static const struct {
		unsigned int ncpus, field;
	} cases[] = {{1, 1}, {2, 2}, {3, 4}, {5, 8}, {64, 64}, {65, 128}, {128, 128}};
	struct kvm_cpuid2 *sup = supported(false, false);
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int id = cases[i].ncpus - 1;
		struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(sup, id, cases[i].ncpus);
		struct kvm_cpuid_entry2 *e = x86_cpuid_find(c, 1, 0);

		assert_int_equal(e->ebx >> 24, id);
		assert_int_equal((e->ebx >> 16) & 0xFF, cases[i].field);
		if (cases[i].ncpus > 1)
			assert_true(e->edx & (1U << 28));
		else
			assert_false(e->edx & (1U << 28)); /* host HTT cleared for one vCPU */
		free(c);
	}
	free(sup);
}

/* More than 128 vCPUs: the 8-bit count field must not spill into the APIC ID byte. */
static void test_leaf1_many_cpus(void **state)
{
	struct kvm_cpuid2 *sup = supported(false, false);
	static const unsigned int ids[] = {0, 1, 2, 130, 254};
	unsigned int i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(sup, ids[i], 255);
		struct kvm_cpuid_entry2 *e = x86_cpuid_find(c, 1, 0);

		assert_int_equal(e->ebx >> 24, ids[i]);
		assert_int_equal((e->ebx >> 16) & 0xFF, 0xFF);
		free(c);
	}
	free(sup);
}

static void test_leaf_0xb_added(void **state)
{
	static const struct {
		unsigned int ncpus, shift;
	} cases[] = {{1, 0}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {255, 8}};
	struct kvm_cpuid2 *sup = supported(true, false);
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int id = cases[i].ncpus - 1;
		struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(sup, id, cases[i].ncpus);
		struct kvm_cpuid_entry2 *s0, *s1;

		assert_int_equal(c->nent, sup->nent + 1);
		s0 = x86_cpuid_find(c, 0xB, 0);
		s1 = x86_cpuid_find(c, 0xB, 1);
		assert_non_null(s0);
		assert_non_null(s1);
		assert_ptr_not_equal(s0, s1);
		/* SMT level: one thread per core. */
		assert_true(s0->flags & SIG);
		assert_int_equal(s0->eax, 0);
		assert_int_equal(s0->ebx, 1);
		assert_int_equal(s0->ecx, 1 << 8);
		assert_int_equal(s0->edx, id);
		/* Core level: every vCPU of the package, x2APIC ID again in EDX. */
		assert_true(s1->flags & SIG);
		assert_int_equal(s1->index, 1);
		assert_int_equal(s1->eax, cases[i].shift);
		assert_true((1U << s1->eax) >= cases[i].ncpus);
		assert_int_equal(s1->ebx, cases[i].ncpus);
		assert_int_equal(s1->ecx, (2 << 8) | 1);
		assert_int_equal(s1->edx, id);
		/* Subleaf 2 stays absent (a type-0 level ends the enumeration). */
		assert_null(x86_cpuid_find(c, 0xB, 2));
		free(c);
	}
	free(sup);
}

/* An older host that returns subleaf 1 already: it is rewritten, not duplicated. */
static void test_leaf_0xb_existing_subleaf(void **state)
{
	struct kvm_cpuid2 *sup = supported(true, false);
	struct kvm_cpuid2 *c;
	struct kvm_cpuid_entry2 *s1;

	sup->entries[sup->nent++] = (struct kvm_cpuid_entry2){.function = 0xB,
							      .index = 1,
							      .flags = SIG,
							      .eax = 5,
							      .ebx = 48,
							      .ecx = 0x201,
							      .edx = 99};
	c = x86_cpuid_for_vcpu(sup, 7, 8);
	assert_int_equal(c->nent, sup->nent);
	s1 = x86_cpuid_find(c, 0xB, 1);
	assert_int_equal(s1->eax, 3);
	assert_int_equal(s1->ebx, 8);
	assert_int_equal(s1->edx, 7);
	assert_int_equal(x86_cpuid_find(c, 0xB, 0)->edx, 7);
	free(c);
	free(sup);
}

static void test_no_0xb_nothing_added(void **state)
{
	struct kvm_cpuid2 *sup = supported(false, true);
	struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(sup, 5, 6);

	assert_int_equal(c->nent, sup->nent);
	assert_null(x86_cpuid_find(c, 0xB, 0));
	/* AMD topology leaf carries the APIC ID in EAX. */
	assert_int_equal(x86_cpuid_find(c, 0x8000001E, 0)->eax, 5);
	assert_int_equal(x86_cpuid_find(c, 0x8000001E, 0)->ebx, 0x100);
	free(c);
	free(sup);
}

static void test_find(void **state)
{
	struct kvm_cpuid2 *sup = supported(true, false);

	/* Without the significant-index flag any index matches. */
	assert_ptr_equal(x86_cpuid_find(sup, 1, 0), &sup->entries[1]);
	assert_ptr_equal(x86_cpuid_find(sup, 1, 9), &sup->entries[1]);
	/* With it, only the exact subleaf. */
	assert_ptr_equal(x86_cpuid_find(sup, 4, 0), &sup->entries[2]);
	assert_null(x86_cpuid_find(sup, 4, 1));
	assert_null(x86_cpuid_find(sup, 0x12345, 0));
	free(sup);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find),
	    cmocka_unit_test(test_leaf1),
	    cmocka_unit_test(test_leaf1_counts),
	    cmocka_unit_test(test_leaf1_many_cpus),
	    cmocka_unit_test(test_leaf_0xb_added),
	    cmocka_unit_test(test_leaf_0xb_existing_subleaf),
	    cmocka_unit_test(test_no_0xb_nothing_added),
	};

	return cmocka_run_group_tests_name("cpuid", tests, NULL, NULL);
}
