/*
 * gate: when vCPU threads may enter the guest. A vCPU thread passes the
 * gate before each KVM_RUN (gate_enter) and reports back after it
 * (gate_leave). The loop thread can close the gate for a while (gate_hold:
 * it returns once no vCPU is inside KVM_RUN; gate_release opens it again),
 * or for good (gate_stop, before joining the threads).
 *
 * A closed gate makes each vCPU leave KVM_RUN through the caller's kick
 * (core/vm.c: set the vCPU's immediate_exit and signal its thread), called
 * under the gate's lock. gate_enter clears immediate_exit under the same
 * lock, only while the gate is open, so a kick cannot be lost between the
 * check and KVM_RUN. A vCPU busy outside KVM_RUN (in an exit handler, even
 * one blocked on a lock the holder has) does not delay a hold: it waits at
 * the gate when it comes back.
 */
#ifndef MV_CORE_GATE_H
#define MV_CORE_GATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t open_cond; /* held or stopping changed */
	pthread_cond_t out_cond;  /* inside reached 0 under a hold */
	unsigned int inside;	  /* vCPUs between gate_enter and gate_leave */
	bool held;
	bool stopping;
	uint64_t holds;
};

/* Make every vCPU that may be in KVM_RUN leave it soon (gate lock held). */
typedef void (*gate_kick_fn)(void *opaque);

void gate_init(struct gate *g);
void gate_destroy(struct gate *g);
/* Open, not stopping: before the vCPU threads start. */
void gate_reset(struct gate *g);

/* vCPU thread: wait while held; false when stopping. Clears *immediate_exit. */
bool gate_enter(struct gate *g, volatile uint8_t *immediate_exit);
void gate_leave(struct gate *g);

/* Loop thread: until gate_release, no vCPU is or gets inside. */
void gate_hold(struct gate *g, gate_kick_fn kick, void *opaque);
void gate_release(struct gate *g);
/* Loop thread: every vCPU leaves and gate_enter answers false from now on. */
void gate_stop(struct gate *g, gate_kick_fn kick, void *opaque);

#endif
