#include "core/kvm_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PVM_MODULE_PATH "/sys/module/kvm_pvm"

/*
 * The probe guest's memory: one 64 KiB slot at guest address 0. The code runs
 * at PROBE_CODE, identity-mapped and mapped again at -2 GiB, where a stock
 * kernel lives.
 */
#define PROBE_MEM     0x10000
#define PROBE_GDT     0x0500
#define PROBE_GDTR    0x0600
#define PROBE_IDTR    0x0610
#define PROBE_IDT     0x0700
#define PROBE_PML4    0x1000
#define PROBE_PDPT    0x2000
#define PROBE_PD      0x3000
#define PROBE_CODE    0x4000
#define PROBE_PDPT_HI 0x5000
#define PROBE_HANDLER (PROBE_CODE + 0x40)
#define PROBE_HIGH    0xFFFFFFFF80000000ULL
#define PROBE_TSS     0xFFFBD000ULL

/*
 * What a stock kernel does in its first instructions, each of which a
 * paravirtual KVM may not support: load its own GDT and reload the
 * segments (a far return for CS), load an IDT and take an exception through
 * it (int3; the handler sets BL), jump to its -2 GiB mapping, and only then
 * write BL to the port. A kvm_pvm host fails the int3 (an emulation error).
 */
static const uint8_t probe_code[] = {
    0x0F, 0x01,
    0x14, 0x25,
    0x00, 0x06,
    0x00, 0x00, /* 4000 lgdt 0x600 */
    0xB8, 0x10,
    0x00, 0x00,
    0x00,	/* 4008 mov $0x10, %eax */
    0x8E, 0xD8, /* 400d mov %eax, %ds */
    0x8E, 0xD0, /* 400f mov %eax, %ss */
    0x6A, 0x08, /* 4011 push $0x08 */
    0x48, 0x8D,
    0x05, 0x03,
    0x00, 0x00,
    0x00,	/* 4013 lea 401d(%rip), %rax */
    0x50,	/* 401a push %rax */
    0x48, 0xCB, /* 401b lretq */
    0x0F, 0x01,
    0x1C, 0x25,
    0x10, 0x06,
    0x00, 0x00, /* 401d lidt 0x610 */
    0x31, 0xDB, /* 4025 xor %ebx, %ebx */
    0xCC,	/* 4027 int3 */
    0x48, 0xB8,
    0x34, 0x40,
    0x00, 0x80,
    0xFF, 0xFF, /* 4028 movabs $0xffffffff80004034, */
    0xFF, 0xFF, /*      %rax */
    0xFF, 0xE0, /* 4032 jmp *%rax */
    0x66, 0xBA,
    0x10, 0x05,		   /* 4034 mov $0x510, %dx */
    0x88, 0xD8,		   /* 4038 mov %bl, %al */
    0xEE,		   /* 403a out %al, (%dx) */
    0xF4,		   /* 403b hlt */
    0xEB, 0xFD,		   /* 403c jmp 403b */
    0x90, 0x90,		   /* 403e */
    0xB3, KVM_PROBE_VALUE, /* 4040 handler: mov $'M', %bl */
    0x48, 0xCF,		   /* 4042 iretq */
};

_Static_assert(sizeof(probe_code) == PROBE_HANDLER - PROBE_CODE + 4, "handler at 0x4040");
_Static_assert(KVM_PROBE_PORT == 0x510, "the port is in the code");

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_HLT:
		return " (hlt)";
	case KVM_EXIT_MMIO:
		return " (mmio)";
	case KVM_EXIT_SHUTDOWN:
		return " (shutdown: a triple fault)";
	case KVM_EXIT_FAIL_ENTRY:
		return " (entry failed)";
	case KVM_EXIT_INTERNAL_ERROR:
		return " (internal error)";
	default:
		return "";
	}
}

static const char *probe_cannot = "/dev/kvm cannot run a stock guest";

bool kvm_probe_verdict(const struct kvm_probe_facts *f, char *line, size_t len)
{
	char why[160];

	switch (f->dev) {
	case KVM_DEV_ABSENT:
		snprintf(line, len,
			 "no /dev/kvm: this host offers no KVM (kvm_intel or kvm_amd "
			 "not loaded, or no hardware virtualization)");
		return false;
	case KVM_DEV_NO_ACCESS:
		snprintf(line, len, "cannot open /dev/kvm: %s", strerror(f->open_errno));
		return false;
	case KVM_DEV_BAD_API:
		snprintf(line, len, "/dev/kvm speaks KVM API version %d, not %d", f->api_version,
			 KVM_API_VERSION);
		return false;
	case KVM_DEV_OK:
		break;
	}
	switch (f->probe) {
	case KVM_PROBE_OK:
		snprintf(line, len,
			 "/dev/kvm can run a stock guest: the probe guest (64-bit, paging) reached "
			 "its out in %u ms",
			 f->elapsed_ms);
		return true;
	case KVM_PROBE_TIMEOUT:
		snprintf(why, sizeof(why), "the probe guest did not reach its out within %u ms%s",
			 f->timeout_ms, f->killed ? ", and KVM_RUN ignored signals" : "");
		break;
	case KVM_PROBE_WRONG_EXIT:
		if (f->exit_reason == KVM_EXIT_IO)
			snprintf(why, sizeof(why),
				 "the probe guest did an unexpected I/O exit (port 0x%x value "
				 "0x%x) instead of its out 0x%x to 0x%x",
				 f->port, f->value, KVM_PROBE_VALUE, KVM_PROBE_PORT);
		else
			snprintf(why, sizeof(why),
				 "the probe guest stopped with KVM exit reason %u%s instead of "
				 "its out",
				 f->exit_reason, exit_name(f->exit_reason));
		break;
	case KVM_PROBE_SETUP_FAILED:
		snprintf(why, sizeof(why), "setting up the probe guest: %s failed: %s",
			 f->step ? f->step : "?", strerror(f->err));
		break;
	case KVM_PROBE_NOT_RUN:
	default:
		snprintf(why, sizeof(why), "the probe guest was not run");
		break;
	}
	if (f->pvm_module)
		snprintf(line, len,
			 "this host's KVM is kvm_pvm, which runs only PVM guest kernels (%s)", why);
	else
		snprintf(line, len, "%s: %s", probe_cannot, why);
	return false;
}

/* What the child tells its parent through the pipe. */
struct probe_msg {
	enum kvm_probe_result probe;
	const char *step; /* a string literal: the same address in both processes */
	int err;
	uint32_t exit_reason;
	uint16_t port;
	uint8_t value;
	unsigned int elapsed_ms;
};

static struct kvm_run *volatile probe_run;
static volatile sig_atomic_t probe_expired;

static void probe_alarm(int sig)
{
	(void)sig;
	probe_expired = 1;
	/* Covers the race where the signal lands just before KVM_RUN enters the guest. */
	if (probe_run)
		probe_run->immediate_exit = 1;
}

static unsigned int ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned int)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

static void put64(uint8_t *mem, uint64_t at, uint64_t v)
{
	memcpy(mem + at, &v, sizeof(v));
}

static void put16(uint8_t *mem, uint64_t at, uint16_t v)
{
	memcpy(mem + at, &v, sizeof(v));
}

static void probe_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xFFFFFFFF;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

#define FAIL(what)                                                                                 \
	do {                                                                                       \
		m->probe = KVM_PROBE_SETUP_FAILED;                                                 \
		m->step = what;                                                                    \
		m->err = errno;                                                                    \
		return;                                                                            \
	} while (0)

/* Runs in the child: builds the probe guest and runs it until its out. */
static void probe_guest(int kvm_fd, unsigned int timeout_ms, struct probe_msg *m)
{
	struct kvm_userspace_memory_region region = {0};
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {0};
	struct sigaction sa = {0};
	struct itimerval it = {0};
	struct timespec t0;
	sigset_t set;
	uint8_t *mem;
	int vm_fd, vcpu_fd, run_size, nent = 256;

	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		FAIL("KVM_CREATE_VM");
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, PROBE_TSS) < 0)
		FAIL("KVM_SET_TSS_ADDR");
	mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		FAIL("mmap");
	/* GDT: null, 64-bit code (0x08), data (0x10); its pseudo-descriptor. */
	put64(mem, PROBE_GDT + 8, 0x00AF9B000000FFFFULL);
	put64(mem, PROBE_GDT + 16, 0x00CF93000000FFFFULL);
	put16(mem, PROBE_GDTR, 3 * 8 - 1);
	put64(mem, PROBE_GDTR + 2, PROBE_GDT);
	/* IDT: vector 3 only, a 64-bit interrupt gate to the handler. */
	put64(mem, PROBE_IDT + 3 * 16, (PROBE_HANDLER & 0xFFFF) | 0x08ULL << 16 | 0x8EULL << 40);
	put16(mem, PROBE_IDTR, 4 * 16 - 1);
	put64(mem, PROBE_IDTR + 2, PROBE_IDT);
	/* The first 2 MiB with one large page, at 0 and at -2 GiB. */
	put64(mem, PROBE_PML4, PROBE_PDPT | 0x3);
	put64(mem, PROBE_PML4 + 511 * 8, PROBE_PDPT_HI | 0x3);
	put64(mem, PROBE_PDPT, PROBE_PD | 0x3);
	put64(mem, PROBE_PDPT_HI + 510 * 8, PROBE_PD | 0x3);
	put64(mem, PROBE_PD, 0x83);
	memcpy(mem + PROBE_CODE, probe_code, sizeof(probe_code));
	region.memory_size = PROBE_MEM;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		FAIL("KVM_SET_USER_MEMORY_REGION");
	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	if (vcpu_fd < 0)
		FAIL("KVM_CREATE_VCPU");
	/* The CPUID memvisor gives a guest: what KVM supports. */
	cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
	if (!cpuid)
		FAIL("calloc");
	cpuid->nent = nent;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		FAIL("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		FAIL("KVM_SET_CPUID2");
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		FAIL("KVM_GET_SREGS");
	probe_seg(&sregs.cs, 0x08, 0xB, true);
	probe_seg(&sregs.ds, 0x10, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* A 64-bit busy TSS, as memvisor's boot CPU has (VMX checks TR). */
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.type = 0xB;
	sregs.tr.present = 1;
	sregs.tr.limit = 0x67;
	sregs.gdt.base = PROBE_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.cr3 = PROBE_PML4;
	sregs.cr4 = 0x20;	/* PAE */
	sregs.cr0 = 0x80000011; /* PG, ET, PE */
	sregs.efer = 0x500;	/* LME, LMA */
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		FAIL("KVM_SET_SREGS");
	regs.rip = PROBE_CODE;
	regs.rsp = PROBE_MEM;
	regs.rflags = 0x2;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		FAIL("KVM_SET_REGS");
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		FAIL("KVM_GET_VCPU_MMAP_SIZE");
	probe_run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (probe_run == MAP_FAILED) {
		probe_run = NULL;
		FAIL("mmap of kvm_run");
	}

	/* No SA_RESTART: the timer must make KVM_RUN return with EINTR. */
	sa.sa_handler = probe_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	it.it_value.tv_sec = timeout_ms / 1000;
	it.it_value.tv_usec = (timeout_ms % 1000) * 1000;
	/* Again every 100 ms, in case one signal lands between checks. */
	it.it_interval.tv_usec = 100000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	setitimer(ITIMER_REAL, &it, NULL);
	for (;;) {
		if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (probe_expired) {
					m->probe = KVM_PROBE_TIMEOUT;
					return;
				}
				continue;
			}
			FAIL("KVM_RUN");
		}
		m->elapsed_ms = ms_since(&t0);
		m->exit_reason = probe_run->exit_reason;
		if (probe_run->exit_reason == KVM_EXIT_INTR && !probe_expired)
			continue;
		if (probe_run->exit_reason == KVM_EXIT_IO) {
			const uint8_t *data =
			    (const uint8_t *)probe_run + probe_run->io.data_offset;

			m->port = probe_run->io.port;
			m->value = data[0];
			if (probe_run->io.direction == KVM_EXIT_IO_OUT &&
			    probe_run->io.port == KVM_PROBE_PORT && probe_run->io.size == 1 &&
			    probe_run->io.count == 1 && data[0] == KVM_PROBE_VALUE) {
				m->probe = KVM_PROBE_OK;
				return;
			}
		}
		m->probe = probe_expired ? KVM_PROBE_TIMEOUT : KVM_PROBE_WRONG_EXIT;
		return;
	}
}

#undef FAIL

/* Forks the probe; waits at most timeout_ms + KVM_PROBE_GRACE_MS for its report. */
static void probe_in_child(struct kvm_probe_facts *f, int kvm_fd, unsigned int timeout_ms)
{
	struct probe_msg msg = {.probe = KVM_PROBE_TIMEOUT};
	struct timespec t0;
	int p[2], status;
	size_t got = 0;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pipe2(p, O_CLOEXEC) < 0) {
		f->probe = KVM_PROBE_SETUP_FAILED;
		f->step = "pipe";
		f->err = errno;
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		f->probe = KVM_PROBE_SETUP_FAILED;
		f->step = "fork";
		f->err = errno;
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		struct probe_msg m = {.probe = KVM_PROBE_NOT_RUN};

		close(p[0]);
		probe_guest(kvm_fd, timeout_ms, &m);
		if (write(p[1], &m, sizeof(m)) != sizeof(m))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	while (got < sizeof(msg)) {
		unsigned int spent = ms_since(&t0);
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		ssize_t n;

		if (spent >= timeout_ms + KVM_PROBE_GRACE_MS)
			break;
		if (poll(&pfd, 1, (int)(timeout_ms + KVM_PROBE_GRACE_MS - spent)) <= 0)
			continue;
		n = read(p[0], (char *)&msg + got, sizeof(msg) - got);
		if (n <= 0)
			break;
		got += n;
	}
	close(p[0]);
	if (got < sizeof(msg)) {
		/* No report: the child is stuck (or died). Kill it and do not wait long. */
		kill(pid, SIGKILL);
		msg = (struct probe_msg){.probe = KVM_PROBE_TIMEOUT};
		f->killed = true;
	}
	for (int i = 0; i < 50; i++) {
		if (waitpid(pid, &status, WNOHANG) != 0)
			break;
		usleep(10000);
	}
	f->probe = msg.probe;
	f->step = msg.step;
	f->err = msg.err;
	f->exit_reason = msg.exit_reason;
	f->port = msg.port;
	f->value = msg.value;
	f->elapsed_ms = msg.elapsed_ms;
}

void kvm_probe_gather(struct kvm_probe_facts *f, const char *dev_path, unsigned int timeout_ms)
{
	int fd;

	memset(f, 0, sizeof(*f));
	f->timeout_ms = timeout_ms;
	f->pvm_module = access(PVM_MODULE_PATH, F_OK) == 0;
	fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		f->dev = errno == ENOENT ? KVM_DEV_ABSENT : KVM_DEV_NO_ACCESS;
		f->open_errno = errno;
		return;
	}
	f->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (f->api_version != KVM_API_VERSION) {
		f->dev = KVM_DEV_BAD_API;
		close(fd);
		return;
	}
	f->dev = KVM_DEV_OK;
	probe_in_child(f, fd, timeout_ms);
	close(fd);
}

bool kvm_check(char *line, size_t len)
{
	struct kvm_probe_facts f;

	kvm_probe_gather(&f, "/dev/kvm", KVM_PROBE_TIMEOUT_MS);
	return kvm_probe_verdict(&f, line, len);
}
