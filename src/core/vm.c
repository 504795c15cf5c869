#include "core/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/cpu.h"
#include "core/log.h"
#include "core/util.h"

#define VM_TSS_ADDR	 0xFFFBD000ULL
#define VM_IDENTITY_ADDR 0xFFFBC000ULL
#define VM_KICK_SIGNAL	 SIGUSR1

static int vm_irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	struct vm *vm = container_of(s, struct vm, irq);
	struct kvm_irq_level l = {.irq = gsi, .level = level};

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

/* The first event wins: a reset posted after a poweroff must not resurrect the guest. */
static void vm_post(struct vm_events *e, enum vm_event ev)
{
	struct vm *vm = container_of(e, struct vm, events);
	uint64_t one = 1;

	pthread_mutex_lock(&vm->ev_lock);
	if (vm->pending == VM_EV_NONE || ev == VM_EV_ERROR)
		vm->pending = ev;
	pthread_mutex_unlock(&vm->ev_lock);
	if (write(vm->event_fd, &one, sizeof(one)) < 0)
		mv_debug("vm: event write: %s", strerror(errno));
}

enum vm_event vm_take_event(struct vm *vm)
{
	enum vm_event ev;
	uint64_t n;

	if (read(vm->event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		mv_debug("vm: event read: %s", strerror(errno));
	pthread_mutex_lock(&vm->ev_lock);
	ev = vm->pending;
	vm->pending = VM_EV_NONE;
	pthread_mutex_unlock(&vm->ev_lock);
	return ev;
}

static void vm_kick_handler(int sig)
{
	(void)sig;
}

static int vm_open_kvm(struct vm *vm, char *err, size_t errlen)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen,
				 "/dev/kvm not found: KVM is not available on this host");
		else
			snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(e));
		return -e;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm speaks an unknown KVM API version");
		return -ENOTSUP;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE failed");
		return -ENOTSUP;
	}
	return 0;
}

static int vm_create_chips(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	unsigned int i;

	/* TSS and identity map must be placed before any vCPU exists (Intel). */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, VM_TSS_ADDR) < 0)
		goto fail;
	{
		uint64_t id = VM_IDENTITY_ADDR;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &id) < 0)
			goto fail;
	}
	/* The irqchip must exist before vCPUs, or they get no in-kernel LAPIC. */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail;
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		goto fail;
	for (i = 0; i < 3; i++) {
		vm->chip0[i].chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &vm->chip0[i]) < 0)
			goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &vm->pit0) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "creating the interrupt controllers failed: %s", strerror(errno));
	return -errno;
}

static int vm_create_vcpu(struct vm *vm, unsigned int id, char *err, size_t errlen)
{
	struct vcpu *v = &vm->vcpus[id];
	int ret;

	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "creating vCPU %u failed: %s", id, strerror(-ret));
		return ret;
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		ret = -errno;
		snprintf(err, errlen, "mapping vCPU %u failed: %s", id, strerror(-ret));
		return ret;
	}
	if (ioctl(v->fd, KVM_GET_LAPIC, &v->lapic0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "reading vCPU %u's LAPIC failed: %s", id, strerror(-ret));
		return ret;
	}
	ret = x86_vcpu_init(v->fd, vm->cpuid, id, vm->ncpus);
	if (ret)
		snprintf(err, errlen, "setting vCPU %u's CPUID failed: %s", id, strerror(-ret));
	return ret;
}

int vm_create(struct vm *vm, struct loop *loop, unsigned int ncpus, char *err, size_t errlen)
{
	struct sigaction sa = {.sa_handler = vm_kick_handler};
	unsigned int i;
	int ret, n;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->event_fd = -1;
	vm->loop = loop;
	vm->ncpus = ncpus;
	vm->irq.set = vm_irq_set;
	vm->events.post = vm_post;
	pthread_mutex_init(&vm->slot_lock, NULL);
	pthread_mutex_init(&vm->ev_lock, NULL);
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	gmem_init(&vm->mem);
	sigaction(VM_KICK_SIGNAL, &sa, NULL);

	ret = vm_open_kvm(vm, err, errlen);
	if (ret)
		goto fail;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "KVM_CREATE_VM failed: %s", strerror(-ret));
		goto fail;
	}
	n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	vm->max_slots = n > 0 ? n : 32;
	vm->slot_used = calloc(vm->max_slots, 1);
	vm->vcpus = calloc(ncpus, sizeof(*vm->vcpus));
	vm->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!vm->slot_used || !vm->vcpus || vm->event_fd < 0) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory creating the VM");
		goto fail;
	}
	ret = vm_create_chips(vm, err, errlen);
	if (ret)
		goto fail;
	ret = x86_cpuid_supported(vm->kvm_fd, &vm->cpuid);
	if (ret) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-ret));
		goto fail;
	}
	for (i = 0; i < ncpus; i++) {
		vm->vcpus[i].fd = -1;
		ret = vm_create_vcpu(vm, i, err, errlen);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	vm_destroy(vm);
	return ret;
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	vm_stop(vm);
	for (i = 0; vm->vcpus && i < vm->ncpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		if (vm->vcpus[i].fd > 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	free(vm->cpuid);
	vm->cpuid = NULL;
	free(vm->slot_used);
	vm->slot_used = NULL;
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->event_fd = vm->vm_fd = vm->kvm_fd = -1;
	gmem_destroy(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
}

static int vm_set_region(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int vm_map(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	uint32_t s;
	int ret;

	pthread_mutex_lock(&vm->slot_lock);
	for (s = 0; s < vm->max_slots && vm->slot_used[s]; s++)
		;
	if (s == vm->max_slots) {
		ret = -ENOSPC;
		goto out;
	}
	ret = vm_set_region(vm, s, gpa, size, hva);
	if (ret)
		goto out;
	ret = gmem_add(&vm->mem, gpa, size, hva);
	if (ret) {
		vm_set_region(vm, s, gpa, 0, hva);
		goto out;
	}
	vm->slot_used[s] = 1;
	vm->slots_in_use++;
	*slot = s;
out:
	pthread_mutex_unlock(&vm->slot_lock);
	return ret;
}

int vm_unmap(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size)
{
	int ret;

	if (slot >= vm->max_slots || !vm->slot_used[slot])
		return -EINVAL;
	pthread_mutex_lock(&vm->slot_lock);
	/* Devices lose access first, then the guest's CPUs. */
	gmem_remove(&vm->mem, gpa, size);
	ret = vm_set_region(vm, slot, gpa, 0, NULL);
	if (!ret) {
		vm->slot_used[slot] = 0;
		vm->slots_in_use--;
	}
	pthread_mutex_unlock(&vm->slot_lock);
	return ret;
}

uint32_t vm_slots_free(struct vm *vm)
{
	return vm->max_slots - vm->slots_in_use;
}

int vm_reset_irqchip(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < 3; i++)
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &vm->chip0[i]) < 0)
			return -errno;
	return ioctl(vm->vm_fd, KVM_SET_PIT2, &vm->pit0) < 0 ? -errno : 0;
}

int vm_reset_vcpus(struct vm *vm, uint64_t entry, uint64_t boot_params)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		/* Application processors wait for INIT/SIPI from the boot CPU. */
		struct kvm_mp_state mp = {
		    .mp_state = i ? KVM_MP_STATE_UNINITIALIZED : KVM_MP_STATE_RUNNABLE,
		};

		ret = x86_vcpu_set_apic_base(v->fd, i == 0);
		if (ret)
			return ret;
		if (ioctl(v->fd, KVM_SET_LAPIC, &v->lapic0) < 0)
			return -errno;
		ret = x86_vcpu_reset(v->fd);
		if (ret)
			return ret;
		if (i == 0) {
			ret = x86_vcpu_boot_regs(v->fd, entry, boot_params);
			if (ret)
				return ret;
		}
		if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
			return -errno;
	}
	return 0;
}

static void vm_exit_io(struct vm *vm, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	/* String I/O (rep ins/outs) arrives as `count` back-to-back accesses. */
	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		bool out = run->io.direction == KVM_EXIT_IO_OUT;
		bool done = out ? bus_write(&vm->pio, run->io.port, data, run->io.size)
				: bus_read(&vm->pio, run->io.port, data, run->io.size);

		if (!done && mv_debug_enabled())
			mv_debug("vm: unclaimed port %s %#x (%u bytes)", out ? "write" : "read",
				 run->io.port, run->io.size);
	}
}

static void vm_exit_mmio(struct vm *vm, struct kvm_run *run)
{
	uint64_t addr = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	bool done;

	if (len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		done = bus_write(&vm->mmio, addr, run->mmio.data, len);
	else
		done = bus_read(&vm->mmio, addr, run->mmio.data, len);
	if (!done && vm->unmapped)
		done = vm->unmapped(vm, addr, run->mmio.data, len, run->mmio.is_write);
	if (!done)
		mv_debug("vm: unclaimed MMIO %s at %#llx (%u bytes)",
			 run->mmio.is_write ? "write" : "read", (unsigned long long)addr, len);
}

/* Handles one exit; returns false when this vCPU must stop. */
static bool vm_handle_exit(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vm_exit_io(vm, run);
		return true;
	case KVM_EXIT_MMIO:
		vm_exit_mmio(vm, run);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vm->events.post(&vm->events, VM_EV_SHUTDOWN);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm->events.post(&vm->events, VM_EV_POWEROFF);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm->events.post(&vm->events, VM_EV_RESET);
			break;
		default:
			vm->events.post(&vm->events, VM_EV_PANIC);
			break;
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		mv_err("vCPU %u: KVM could not enter the guest (hardware reason %#llx)", v->id,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		mv_err("vCPU %u: KVM internal error (suberror %u)", v->id, run->internal.suberror);
		break;
	default:
		mv_err("vCPU %u: unexpected KVM exit reason %u", v->id, run->exit_reason);
		break;
	}
	vm->events.post(&vm->events, VM_EV_ERROR);
	return false;
}

static void *vm_vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!vm->stopping) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			mv_err("vCPU %u: KVM_RUN failed: %s", v->id, strerror(errno));
			vm->events.post(&vm->events, VM_EV_ERROR);
			break;
		}
		if (!vm_handle_exit(v))
			break;
	}
	return NULL;
}

int vm_start(struct vm *vm)
{
	sigset_t set, old;
	unsigned int i;
	int ret = 0;

	/* vCPU threads start with every signal blocked but the kick. */
	sigfillset(&set);
	pthread_sigmask(SIG_SETMASK, &set, &old);
	vm->stopping = false;
	for (i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->run->immediate_exit = 0;
		ret = -pthread_create(&v->thread, NULL, vm_vcpu_thread, v);
		if (ret)
			break;
		v->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		vm_stop(vm);
	return ret;
}

void vm_stop(struct vm *vm)
{
	unsigned int i;

	vm->stopping = true;
	for (i = 0; vm->vcpus && i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		/* immediate_exit covers a kick that lands just before KVM_RUN. */
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, VM_KICK_SIGNAL);
	}
	for (i = 0; vm->vcpus && i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		pthread_join(v->thread, NULL);
		v->started = false;
		v->run->immediate_exit = 0;
	}
}

int vm_irqfd(struct vm *vm, unsigned int gsi, int fd, int resample_fd, bool assign)
{
	struct kvm_irqfd i = {.fd = fd, .gsi = gsi};

	if (!assign)
		i.flags = KVM_IRQFD_FLAG_DEASSIGN;
	else if (resample_fd >= 0) {
		i.flags = KVM_IRQFD_FLAG_RESAMPLE;
		i.resamplefd = resample_fd;
	}
	return ioctl(vm->vm_fd, KVM_IRQFD, &i) < 0 ? -errno : 0;
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, int fd, bool assign)
{
	struct kvm_ioeventfd e = {.addr = addr, .len = len, .fd = fd};

	if (!assign)
		e.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &e) < 0 ? -errno : 0;
}
