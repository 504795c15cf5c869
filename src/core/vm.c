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

#include "lib/log.h"
#include "lib/util.h"

#define VM_KICK_SIGNAL SIGUSR1

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
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, vm->arch->tss_addr) < 0)
		goto fail;
	{
		uint64_t id = vm->arch->identity_addr;

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
	ret = vm->arch->vcpu_init(v->fd, vm->cpuid, id, vm->ncpus);
	if (ret)
		snprintf(err, errlen, "setting vCPU %u's CPUID failed: %s", id, strerror(-ret));
	return ret;
}

int vm_create(struct vm *vm, const struct vm_arch *arch, struct loop *loop, unsigned int ncpus,
	      char *err, size_t errlen)
{
	struct sigaction sa = {.sa_handler = vm_kick_handler};
	unsigned int i;
	int ret, n;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->event_fd = -1;
	vm->arch = arch;
	vm->loop = loop;
	vm->ncpus = ncpus;
	vm->irq.set = vm_irq_set;
	vm->events.post = vm_post;
	pthread_mutex_init(&vm->slot_lock, NULL);
	pthread_mutex_init(&vm->ev_lock, NULL);
	pthread_mutex_init(&vm->route_lock, NULL);
	irqroute_init(&vm->routes);
	gate_init(&vm->gate);
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
	vm->slot_hva = calloc(vm->max_slots, sizeof(*vm->slot_hva));
	vm->slot_gpa = calloc(vm->max_slots, sizeof(*vm->slot_gpa));
	vm->slot_size = calloc(vm->max_slots, sizeof(*vm->slot_size));
	vm->vcpus = calloc(ncpus, sizeof(*vm->vcpus));
	vm->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vm->route_buf = calloc(1, sizeof(*vm->route_buf) +
				      IRQROUTE_MAX_ENTRIES * sizeof(struct kvm_irq_routing_entry));
	if (!vm->slot_hva || !vm->slot_gpa || !vm->slot_size || !vm->vcpus || vm->event_fd < 0 ||
	    !vm->route_buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory creating the VM");
		goto fail;
	}
	ret = vm_create_chips(vm, err, errlen);
	if (ret)
		goto fail;
	ret = vm->arch->cpuid_supported(vm->kvm_fd, &vm->cpuid);
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
	free(vm->slot_hva);
	vm->slot_hva = NULL;
	free(vm->slot_gpa);
	vm->slot_gpa = NULL;
	free(vm->slot_size);
	vm->slot_size = NULL;
	free(vm->route_buf);
	vm->route_buf = NULL;
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
	    .flags = vm->dirty_log && size ? KVM_MEM_LOG_DIRTY_PAGES : 0,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int vm_map(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	uint32_t s;
	int ret;

	if (!hva)
		return -EINVAL;
	pthread_mutex_lock(&vm->slot_lock);
	for (s = 0; s < vm->max_slots && vm->slot_hva[s]; s++)
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
	vm->slot_hva[s] = hva;
	vm->slot_gpa[s] = gpa;
	vm->slot_size[s] = size;
	vm->slots_in_use++;
	*slot = s;
out:
	pthread_mutex_unlock(&vm->slot_lock);
	return ret;
}

int vm_unmap(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size)
{
	void *hva;
	int ret;

	if (slot >= vm->max_slots)
		return -EINVAL;
	pthread_mutex_lock(&vm->slot_lock);
	hva = vm->slot_hva[slot];
	if (!hva) {
		pthread_mutex_unlock(&vm->slot_lock);
		return -EINVAL;
	}
	/* Devices lose access first, then the guest's CPUs; if they cannot, nothing changes. */
	ret = gmem_remove(&vm->mem, gpa, size);
	if (ret) {
		pthread_mutex_unlock(&vm->slot_lock);
		return ret;
	}
	ret = vm_set_region(vm, slot, gpa, 0, NULL);
	if (!ret) {
		vm->slot_hva[slot] = NULL;
		vm->slots_in_use--;
	} else if (gmem_add(&vm->mem, gpa, size, hva)) {
		/* The slot stays, so devices get their view of it back (or the caller hears). */
		ret = -ENOMEM;
	}
	pthread_mutex_unlock(&vm->slot_lock);
	return ret;
}

uint32_t vm_slots_free(struct vm *vm)
{
	return vm->max_slots - vm->slots_in_use;
}

/* Slot lock held: every slot in use gets the flags of vm->dirty_log, or none changes. */
static int vm_dirty_flags(struct vm *vm)
{
	uint32_t s, t;
	int ret;

	for (s = 0; s < vm->max_slots; s++) {
		if (!vm->slot_hva[s])
			continue;
		ret = vm_set_region(vm, s, vm->slot_gpa[s], vm->slot_size[s], vm->slot_hva[s]);
		if (ret) {
			vm->dirty_log = !vm->dirty_log;
			for (t = 0; t < s; t++)
				if (vm->slot_hva[t] &&
				    vm_set_region(vm, t, vm->slot_gpa[t], vm->slot_size[t],
						  vm->slot_hva[t]))
					mv_warn("memory slot %u: dirty logging left %s", t,
						vm->dirty_log ? "off" : "on");
			return ret;
		}
	}
	return 0;
}

int vm_dirty_start(struct vm *vm, uint64_t limit)
{
	int ret = gmem_track_start(&vm->mem, limit);

	if (ret)
		return ret;
	pthread_mutex_lock(&vm->slot_lock);
	vm->dirty_log = true;
	ret = vm_dirty_flags(vm);
	pthread_mutex_unlock(&vm->slot_lock);
	if (ret)
		gmem_track_stop(&vm->mem);
	return ret;
}

void vm_dirty_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->slot_lock);
	if (vm->dirty_log) {
		vm->dirty_log = false;
		if (vm_dirty_flags(vm))
			mv_warn("memory slots: dirty logging could not be turned off");
		vm->dirty_log = false;
	}
	pthread_mutex_unlock(&vm->slot_lock);
	gmem_track_stop(&vm->mem);
}

int vm_dirty_collect(struct vm *vm, vm_dirty_fn fn, void *opaque)
{
	uint64_t *bits = NULL, npages, cap = 0;
	uint32_t s;
	int ret = 0;

	pthread_mutex_lock(&vm->slot_lock);
	for (s = 0; !ret && s < vm->max_slots; s++) {
		struct kvm_dirty_log log = {.slot = s};

		if (!vm->slot_hva[s])
			continue;
		npages = vm->slot_size[s] / 4096u;
		if (align_up(npages, 64) / 64 > cap) {
			uint64_t *n = realloc(bits, align_up(npages, 64) / 8);

			if (!n) {
				ret = -ENOMEM;
				break;
			}
			bits = n;
			cap = align_up(npages, 64) / 64;
		}
		memset(bits, 0, align_up(npages, 64) / 8);
		log.dirty_bitmap = bits;
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			ret = -errno;
			break;
		}
		gmem_track_take(&vm->mem, vm->slot_gpa[s], npages, bits);
		ret = fn(opaque, vm->slot_gpa[s], vm->slot_size[s], bits);
	}
	pthread_mutex_unlock(&vm->slot_lock);
	free(bits);
	return ret;
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

		ret = vm->arch->vcpu_set_apic_base(v->fd, i == 0);
		if (ret)
			return ret;
		if (ioctl(v->fd, KVM_SET_LAPIC, &v->lapic0) < 0)
			return -errno;
		ret = vm->arch->vcpu_reset(v->fd);
		if (ret)
			return ret;
		if (i == 0) {
			ret = vm->arch->vcpu_boot_regs(v->fd, entry, boot_params);
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

/* A triple fault: where this vCPU was, for the report (the guest is lost anyway). */
static void vm_log_shutdown(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_vcpu_events e;

	if (ioctl(v->fd, KVM_GET_REGS, &r) || ioctl(v->fd, KVM_GET_SREGS, &s))
		return;
	memset(&e, 0, sizeof(e));
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &e))
		memset(&e, 0, sizeof(e));
	mv_err(
	    "vCPU %u: CPU shutdown at rip=%#llx rsp=%#llx rflags=%#llx cr0=%#llx cr2=%#llx "
	    "cr3=%#llx cr4=%#llx efer=%#llx idt=%#llx/%#x gs=%#llx exception=%u/%u interrupt=%u/%u",
	    v->id, (unsigned long long)r.rip, (unsigned long long)r.rsp,
	    (unsigned long long)r.rflags, (unsigned long long)s.cr0, (unsigned long long)s.cr2,
	    (unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer,
	    (unsigned long long)s.idt.base, s.idt.limit, (unsigned long long)s.gs.base,
	    e.exception.injected, e.exception.nr, e.interrupt.injected, e.interrupt.nr);
}
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
		vm_log_shutdown(v);
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
	for (;;) {
		int r;

		if (!gate_enter(&vm->gate, &v->run->immediate_exit))
			break;
		r = ioctl(v->fd, KVM_RUN, 0);
		gate_leave(&vm->gate);
		if (r < 0) {
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

/*
 * Gate lock held: every running vCPU leaves KVM_RUN. immediate_exit covers
 * a kick that lands just before KVM_RUN (gate_enter clears it only while
 * the gate is open).
 */
static void vm_kick_all(void *opaque)
{
	struct vm *vm = opaque;
	unsigned int i;

	for (i = 0; vm->vcpus && i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, VM_KICK_SIGNAL);
	}
}

void vm_hold(struct vm *vm)
{
	gate_hold(&vm->gate, vm_kick_all, vm);
}

void vm_release(struct vm *vm)
{
	gate_release(&vm->gate);
}

int vm_start(struct vm *vm)
{
	sigset_t set, old;
	unsigned int i;
	int ret = 0;

	/* vCPU threads start with every signal blocked but the kick. */
	sigfillset(&set);
	pthread_sigmask(SIG_SETMASK, &set, &old);
	gate_reset(&vm->gate);
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

	gate_stop(&vm->gate, vm_kick_all, vm);
	for (i = 0; vm->vcpus && i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		pthread_join(v->thread, NULL);
		v->started = false;
		v->run->immediate_exit = 0;
	}
}

int vm_settle_vcpus(struct vm *vm)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; vm->vcpus && i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->started)
			return -EBUSY;
		v->run->immediate_exit = 1;
		if (ioctl(v->fd, KVM_RUN, 0) < 0 && errno != EINTR && !ret)
			ret = -errno;
		v->run->immediate_exit = 0;
	}
	return ret;
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

/* route_lock held: hand the whole table to KVM. */
static int vm_routes_commit(struct vm *vm)
{
	irqroute_build(&vm->routes, vm->route_buf);
	return ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, vm->route_buf) < 0 ? -errno : 0;
}

int vm_msi_route(struct vm *vm, int *gsi, uint64_t addr, uint32_t data)
{
	struct irqroute_msi old;
	int ret, g = *gsi;

	pthread_mutex_lock(&vm->route_lock);
	if (g < 0) {
		g = irqroute_alloc(&vm->routes, addr, data);
		if (g < 0) {
			ret = g;
			goto out;
		}
	} else {
		if (g < IRQROUTE_MSI_FIRST || g - IRQROUTE_MSI_FIRST >= IRQROUTE_MSI_MAX) {
			ret = -EINVAL;
			goto out;
		}
		old = vm->routes.msi[g - IRQROUTE_MSI_FIRST];
		ret = irqroute_set(&vm->routes, g, addr, data);
		if (ret)
			goto out;
	}
	ret = vm_routes_commit(vm);
	if (ret && *gsi < 0)
		irqroute_free(&vm->routes, g);
	else if (ret)
		vm->routes.msi[g - IRQROUTE_MSI_FIRST] = old;
	else
		*gsi = g;
out:
	pthread_mutex_unlock(&vm->route_lock);
	return ret;
}

void vm_msi_route_free(struct vm *vm, int gsi)
{
	int r;

	if (gsi < 0)
		return;
	pthread_mutex_lock(&vm->route_lock);
	irqroute_free(&vm->routes, gsi);
	/* A stale route left in KVM routes nothing: no irqfd uses its GSI now. */
	r = vm_routes_commit(vm);
	if (r)
		mv_warn("vm: KVM_SET_GSI_ROUTING failed releasing GSI %d: %s", gsi, strerror(-r));
	pthread_mutex_unlock(&vm->route_lock);
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi m = {.address_lo = (uint32_t)addr, .address_hi = addr >> 32, .data = data};
	int r = ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m);

	/* 0: the message was blocked (no destination); > 0: delivered. */
	return r < 0 ? -errno : 0;
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, int fd, bool assign)
{
	struct kvm_ioeventfd e = {.addr = addr, .len = len, .fd = fd};

	if (!assign)
		e.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &e) < 0 ? -errno : 0;
}
