/* fakes: shared helpers for unit tests (fake guest memory, a fake KVM, ...). */
#ifndef MV_TESTS_FAKES_H
#define MV_TESTS_FAKES_H

#include <stddef.h>
#include <stdint.h>

#include "core/vm_save.h"
#include "core/guest.h"
#include "mem/hotplug.h"

/* A guest memory of `size` bytes at `gpa`, backed by calloc'd host memory. */
struct fake_gmem {
	struct gmem map;
	uint8_t *buf;
	uint64_t gpa;
	uint64_t size;
};

void fake_gmem_init(struct fake_gmem *f, uint64_t gpa, uint64_t size);
void fake_gmem_free(struct fake_gmem *f);

/* A machine whose every hotplug slot change and host memory call succeeds (slot 7). */
extern const struct hp_ops fake_hp_ops;

/* argv for a command line of space-separated words, argv[0] "memvisor"; line is cut up. */
void fake_argv(char *line, char **argv, int *argc);

/*
 * A fake KVM behind struct kvm_io: the VM's chips and each vCPU's state are
 * plain structs that GET ioctls copy out and SET ioctls copy in. MSRs live
 * in vcpu[i].msrs (what the "hardware" has); KVM_GET_MSR_INDEX_LIST reports
 * msr_list; GET_MSRS and SET_MSRS stop at an MSR the vCPU lacks, or at
 * `unreadable_msr`, as KVM does. With has_sregs2, KVM_GET/SET_SREGS2 move
 * vcpu[i].sregs (all but interrupt_bitmap), sregs2_flags and pdptrs.
 */
#define FAKE_KVM_FD	 100
#define FAKE_KVM_VM_FD	 101
#define FAKE_KVM_VCPU_FD 200 /* + vCPU index */
#define FAKE_KVM_VCPUS	 4

struct fake_kvm {
	struct kvm_io io;
	bool has_xsave, has_xcrs, has_sregs2;
	struct vm_chips_state chips;
	struct vcpu_state vcpu[FAKE_KVM_VCPUS];
	uint32_t msr_list[VCPU_STATE_MAX_MSRS + 8];
	unsigned int nr_msr_list;
	uint32_t unreadable_msr;
	unsigned long fail_req; /* an ioctl request answered -EIO, 0: none */
	unsigned int sets;	/* SET ioctls that changed something */
	unsigned long log[64];	/* every request, in order (the first 64) */
	unsigned int nr_log;
};

void fake_kvm_init(struct fake_kvm *f);

#endif
