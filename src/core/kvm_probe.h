/*
 * kvm_probe: can this host's /dev/kvm run an unmodified guest?
 *
 * Opening /dev/kvm and creating a VM prove little: a paravirtual KVM
 * (kvm_pvm) does both, then spins inside KVM_RUN forever on a stock kernel.
 * A trivial guest does not tell either: kvm_pvm runs straight-line 64-bit
 * code and its `out` fine. So the check runs a probe guest set up the way
 * memvisor boots Linux (page tables, GDT, long mode through KVM_SET_SREGS,
 * the supported CPUID) that first does what a stock kernel's first
 * instructions do (its own GDT and segments, an exception through its own
 * IDT, a jump to -2 GiB) and then one `out` to KVM_PROBE_PORT with a value
 * only the exception handler sets. It must come back as that KVM_EXIT_IO
 * within a bound. The probe runs in a
 * child process, interrupted by a timer signal and immediate_exit; a child
 * that does not come back anyway is killed and left behind, so a hung
 * KVM_RUN can never hang the caller: kvm_check() returns within
 * timeout_ms + KVM_PROBE_GRACE_MS.
 *
 * What was observed (kvm_probe_gather) and what it means
 * (kvm_probe_verdict, a pure function) are separate, so the verdict and its
 * one line are unit-tested for every kind of host.
 */
#ifndef MV_CORE_KVM_PROBE_H
#define MV_CORE_KVM_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVM_PROBE_PORT	     0x510
#define KVM_PROBE_VALUE	     0x4D /* 'M' */
#define KVM_PROBE_TIMEOUT_MS 2000
/* How long past the timeout the child may take to report before it is killed. */
#define KVM_PROBE_GRACE_MS 1000

enum kvm_dev_state {
	KVM_DEV_OK,
	KVM_DEV_ABSENT,	   /* no /dev/kvm */
	KVM_DEV_NO_ACCESS, /* open() failed: open_errno */
	KVM_DEV_BAD_API,   /* KVM_GET_API_VERSION is not 12: api_version */
};

enum kvm_probe_result {
	KVM_PROBE_NOT_RUN,	/* the device was not usable */
	KVM_PROBE_OK,		/* KVM_EXIT_IO out to KVM_PROBE_PORT with the value */
	KVM_PROBE_TIMEOUT,	/* not back within timeout_ms */
	KVM_PROBE_WRONG_EXIT,	/* another exit: exit_reason (and port for IO) */
	KVM_PROBE_SETUP_FAILED, /* an ioctl or mmap failed: step, err */
};

struct kvm_probe_facts {
	enum kvm_dev_state dev;
	int open_errno;
	int api_version;
	bool pvm_module; /* /sys/module/kvm_pvm exists */
	enum kvm_probe_result probe;
	const char *step; /* KVM_PROBE_SETUP_FAILED: "KVM_CREATE_VM"... */
	int err;	  /* KVM_PROBE_SETUP_FAILED: positive errno */
	uint32_t exit_reason;
	uint16_t port; /* KVM_PROBE_WRONG_EXIT on KVM_EXIT_IO: what the guest wrote */
	uint8_t value;
	bool killed; /* KVM_PROBE_TIMEOUT: KVM_RUN did not even return to a signal */
	unsigned int timeout_ms;
	unsigned int elapsed_ms; /* KVM_PROBE_OK: how long the probe took */
};

/*
 * The verdict: true when this KVM can run a stock guest. Writes one line
 * (no newline, no "memvisor: " prefix) saying so, or why not, into line.
 * Pure: only reads f.
 */
bool kvm_probe_verdict(const struct kvm_probe_facts *f, char *line, size_t len);

/* Looks at the host: /dev/kvm at dev_path, /sys/module/kvm_pvm, the probe. */
void kvm_probe_gather(struct kvm_probe_facts *f, const char *dev_path, unsigned int timeout_ms);

/* kvm_probe_gather on /dev/kvm with KVM_PROBE_TIMEOUT_MS, then the verdict. */
bool kvm_check(char *line, size_t len);

#endif
