/*
 * vm: one KVM virtual machine: its vCPU threads, memory slots, buses,
 * interrupt lines and lifecycle (run, reset on reboot, stop).
 *
 * Threads (ARCHITECTURE.md): vCPU threads run KVM_RUN and dispatch port/MMIO
 * exits to the buses; everything else (device queue work, control socket,
 * signals, lifecycle events) runs on the main thread's event loop. Devices
 * report lifecycle events through vm->events, from any thread.
 */
#ifndef MV_CORE_VM_H
#define MV_CORE_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/events.h"
#include "core/irq.h"
#include "core/loop.h"
#include "core/gate.h"
#include "core/irqroute.h"
#include "core/guest.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct kvm_lapic_state lapic0; /* power-on LAPIC, restored at reset */
};

/*
 * What the VM needs from the architecture (arch/x86/cpu.c provides
 * x86_vm_arch; the board passes it to vm_create). Core knows KVM, not the
 * CPU: the supported CPUID, a new vCPU's set-up, its reset registers.
 */
struct vm_arch {
	uint64_t tss_addr;	/* KVM_SET_TSS_ADDR, before any vCPU */
	uint64_t identity_addr; /* KVM_SET_IDENTITY_MAP_ADDR */
	int (*cpuid_supported)(int kvm_fd, struct kvm_cpuid2 **out);
	int (*vcpu_init)(int vcpu_fd, const struct kvm_cpuid2 *sup, unsigned int id,
			 unsigned int ncpus);
	int (*vcpu_set_apic_base)(int vcpu_fd, bool bsp);
	int (*vcpu_reset)(int vcpu_fd);
	int (*vcpu_boot_regs)(int vcpu_fd, uint64_t entry, uint64_t boot_params);
};

/* Called on the vCPU thread for a guest access to an address no slot or device covers. */
typedef bool (*vm_unmapped_fn)(struct vm *vm, uint64_t gpa, void *data, uint32_t len, bool write);

struct vm {
	const struct vm_arch *arch;
	int kvm_fd;
	int vm_fd;
	int run_size;
	struct kvm_cpuid2 *cpuid; /* supported by KVM; adjusted per vCPU */
	unsigned int ncpus;
	struct vcpu *vcpus;
	struct bus pio;
	struct bus mmio;
	struct gmem mem;
	struct loop *loop;
	struct irq_sink irq;
	struct vm_events events;
	vm_unmapped_fn unmapped; /* optional: e.g. unplugged virtio-mem blocks */

	/* memory slots */
	pthread_mutex_t slot_lock;
	uint32_t max_slots;
	void **slot_hva; /* per slot: the host address it maps, NULL when free */
	uint64_t *slot_gpa, *slot_size;
	uint32_t slots_in_use;
	bool dirty_log; /* slots made now log dirty pages (a live snapshot) */

	/* lifecycle: vCPU and device threads post; the loop thread watches
	 * event_fd and acts (vm_take_event) */
	int event_fd;
	pthread_mutex_t ev_lock;
	enum vm_event pending;
	struct gate gate;	     /* vCPUs pass it before each KVM_RUN (core/gate.h) */
	struct kvm_irqchip chip0[3]; /* power-on PIC master/slave and IOAPIC */

	/* GSI routing (irqchip pins and MSI routes), replaced whole in KVM on change */
	pthread_mutex_t route_lock;
	struct irqroute routes;
	struct kvm_irq_routing *route_buf; /* IRQROUTE_MAX_ENTRIES entries */
	struct kvm_pit_state2 pit0;
};

/*
 * Opens /dev/kvm and creates the VM with in-kernel irqchip and PIT and
 * ncpus vCPUs (not yet running). -errno with a one-line reason in err.
 */
int vm_create(struct vm *vm, const struct vm_arch *arch, struct loop *loop, unsigned int ncpus,
	      char *err, size_t errlen);
void vm_destroy(struct vm *vm);

/* Map host memory at gpa for the guest (a KVM slot) and into vm->mem; returns the slot. */
int vm_map(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
    __attribute__((warn_unused_result));
/* Remove a slot made by vm_map (gpa/size as mapped); on failure the slot is still there. */
int vm_unmap(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size)
    __attribute__((warn_unused_result));
uint32_t vm_slots_free(struct vm *vm);

/*
 * Dirty tracking for a live snapshot, loop thread. Start: every slot, and
 * each one mapped later, logs the pages the guest's CPUs write
 * (KVM_MEM_LOG_DIRTY_PAGES), and gmem tracks device writes below limit
 * (guest.h). Collect: per slot, the pages written since start or the last
 * collect (KVM_GET_DIRTY_LOG, which clears and re-protects them, ORed with
 * gmem's), handed to fn with the slot's gpa and size; fn's non-zero return
 * stops the walk and is returned. Slot changes wait while fn runs.
 */
typedef int (*vm_dirty_fn)(void *opaque, uint64_t gpa, uint64_t size, const uint64_t *bits);
int vm_dirty_start(struct vm *vm, uint64_t limit) __attribute__((warn_unused_result));
void vm_dirty_stop(struct vm *vm);
int vm_dirty_collect(struct vm *vm, vm_dirty_fn fn, void *opaque)
    __attribute__((warn_unused_result));

/* Set vCPU registers and state for a boot (the BSP enters at entry). */
int vm_reset_vcpus(struct vm *vm, uint64_t entry, uint64_t boot_params);
/* Restore the interrupt controllers and PIT to their power-on state. */
int vm_reset_irqchip(struct vm *vm);
int vm_start(struct vm *vm);
/* Stop every vCPU thread and join them. */
void vm_stop(struct vm *vm);
/*
 * Loop thread: until vm_release, no vCPU runs guest code. Returns once
 * every vCPU is out of KVM_RUN (kicked); a vCPU busy in an exit handler
 * finishes it and waits before entering the guest again, so a hold never
 * waits for a handler (one blocked on a lock the caller holds included).
 * For replacing memory slots that map memory the guest is using: between
 * the two, no guest access can find it missing. Cheap when no vCPU runs.
 */
void vm_hold(struct vm *vm);
void vm_release(struct vm *vm);
/*
 * With the vCPUs stopped: completes the port or MMIO access each returned
 * with (KVM finishes an exit's instruction only on the next KVM_RUN), by
 * one KVM_RUN with immediate_exit set, which enters no guest. Before saving
 * vCPU state. 0 or -errno.
 */
int vm_settle_vcpus(struct vm *vm);

int vm_irqfd(struct vm *vm, unsigned int gsi, int fd, int resample_fd, bool assign);
/*
 * MSI routes (any thread, under route_lock): *gsi < 0 allocates a GSI for
 * the message (addr, data), else the route of *gsi is changed to it. KVM's
 * table is replaced; on failure nothing changed (the GSI allocated is
 * released) and -errno is returned. vm_msi_route_free releases a GSI.
 */
int vm_msi_route(struct vm *vm, int *gsi, uint64_t addr, uint32_t data);
void vm_msi_route_free(struct vm *vm, int gsi);
/* Inject one MSI directly (KVM_SIGNAL_MSI): 0, or -errno (-EINVAL: KVM refused the message). */
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);
int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, int fd, bool assign);

/* The event the loop thread should act on (cleared by the call). */
enum vm_event vm_take_event(struct vm *vm);

#endif
