/*
 * Unit tests for core/gate: real threads play vCPUs around a fake KVM_RUN
 * that runs until its immediate_exit is set (the kick). While a hold is on,
 * no vCPU is inside; a vCPU blocked outside, on a lock the holder has, does
 * not delay the hold; a stop lets every thread go. Under `make unit-tsan`,
 * ThreadSanitizer checks the gate's own synchronisation too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "core/gate.h"

#define NCPU 4

static struct gate g;
static struct cpu {
	pthread_t t;
	uint8_t immediate_exit; /* written under the gate's lock, read by "KVM" */
	atomic_bool kicked;
	unsigned long runs;
} cpus[NCPU];
static atomic_int inside_guest; /* vCPUs in the fake KVM_RUN now */
static atomic_int violations;	/* runs seen while a hold was on */
static atomic_bool hold_on;
static pthread_mutex_t device_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool use_device;

/* The fake KVM_RUN: "guest" time until kicked, checking the hold is never on. */
static void fake_run(struct cpu *c)
{
	atomic_fetch_add(&inside_guest, 1);
	for (int spin = 0; spin < 2000 && !atomic_load(&c->kicked); spin++) {
		if (atomic_load(&hold_on))
			atomic_fetch_add(&violations, 1);
	}
	atomic_store(&c->kicked, false);
	atomic_fetch_sub(&inside_guest, 1);
}

static void *vcpu(void *arg)
{
	struct cpu *c = arg;

	while (gate_enter(&g, &c->immediate_exit)) {
		fake_run(c);
		gate_leave(&g);
		c->runs++;
		/* An exit handler that takes a device lock the loop may hold. */
		if (atomic_load(&use_device)) {
			pthread_mutex_lock(&device_lock);
			pthread_mutex_unlock(&device_lock);
		}
	}
	return NULL;
}

static void kick(void *opaque)
{
	(void)opaque;
	for (int i = 0; i < NCPU; i++) {
		cpus[i].immediate_exit = 1;
		atomic_store(&cpus[i].kicked, true);
	}
}

static void start(void)
{
	gate_init(&g);
	atomic_store(&violations, 0);
	for (int i = 0; i < NCPU; i++) {
		cpus[i].runs = 0;
		atomic_store(&cpus[i].kicked, false);
		assert_int_equal(pthread_create(&cpus[i].t, NULL, vcpu, &cpus[i]), 0);
	}
}

static void stop(void)
{
	gate_stop(&g, kick, NULL);
	for (int i = 0; i < NCPU; i++)
		assert_int_equal(pthread_join(cpus[i].t, NULL), 0);
	gate_destroy(&g);
}

static void test_hold_keeps_every_vcpu_out(void **state)
{
	start();
	for (int round = 0; round < 300; round++) {
		gate_hold(&g, kick, NULL);
		atomic_store(&hold_on, true);
		assert_int_equal(atomic_load(&inside_guest), 0);
		usleep(50); /* the slot swap */
		assert_int_equal(atomic_load(&inside_guest), 0);
		atomic_store(&hold_on, false);
		gate_release(&g);
		usleep(20);
	}
	assert_int_equal(g.holds, 300);
	stop();
	assert_int_equal(atomic_load(&violations), 0);
	for (int i = 0; i < NCPU; i++)
		assert_true(cpus[i].runs > 0);
}

/* The holder has the device lock a vCPU's exit handler wants: no deadlock. */
static void test_hold_with_vcpu_blocked_on_holders_lock(void **state)
{
	atomic_store(&use_device, true);
	start();
	for (int round = 0; round < 200; round++) {
		pthread_mutex_lock(&device_lock);
		usleep(10); /* let a vCPU block on it */
		gate_hold(&g, kick, NULL);
		atomic_store(&hold_on, true);
		assert_int_equal(atomic_load(&inside_guest), 0);
		atomic_store(&hold_on, false);
		gate_release(&g);
		pthread_mutex_unlock(&device_lock);
	}
	stop();
	atomic_store(&use_device, false);
	assert_int_equal(atomic_load(&violations), 0);
}

/* A stop while held lets the threads go; a held gate with no vCPU returns at once. */
static void test_stop_while_held_and_empty_hold(void **state)
{
	struct gate e;
	uint8_t ie = 1;

	gate_init(&e);
	gate_hold(&e, kick, NULL);
	gate_release(&e);
	assert_true(gate_enter(&e, &ie));
	assert_int_equal(ie, 0);
	gate_leave(&e);
	gate_destroy(&e);

	start();
	gate_hold(&g, kick, NULL);
	stop(); /* joins: gate_stop wakes the vCPUs waiting at the closed gate */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hold_keeps_every_vcpu_out),
	    cmocka_unit_test(test_hold_with_vcpu_blocked_on_holders_lock),
	    cmocka_unit_test(test_stop_while_held_and_empty_hold),
	};

	return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
