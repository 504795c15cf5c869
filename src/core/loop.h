/*
 * loop: the VMM's event loop (epoll), run by the main thread. Device queue
 * work (virtqueue notifications), the control socket and its API, timers,
 * signals and VM lifecycle events are served here, so their callbacks never
 * run concurrently with each other; vCPU threads never run loop callbacks.
 *
 * Crossing threads: another thread hands work to the loop by writing an
 * eventfd the loop watches (see ARCHITECTURE.md, "Threads"). The epoll fd
 * is fixed after loop_init, so loop_add/mod/del (plain epoll_ctl) are safe
 * from any thread; loop_run, loop_run_once and loop_stop belong to the loop
 * thread. A callback does bounded work and leaves the rest for a later round.
 */
#ifndef MV_CORE_LOOP_H
#define MV_CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop_watch;
typedef void (*loop_cb)(struct loop_watch *w, uint32_t events);

/* Embed in the owner; reach the owner with container_of in the callback. */
struct loop_watch {
	int fd;
	loop_cb cb;
};

struct loop {
	int epfd;
	bool stop;
};

int loop_init(struct loop *l);
void loop_destroy(struct loop *l);
/* Watch w->fd for `events` (EPOLLIN, ...); w must outlive the watch. */
int loop_add(struct loop *l, struct loop_watch *w, uint32_t events);
int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events);
int loop_del(struct loop *l, struct loop_watch *w);
/* Waits up to timeout_ms (-1: forever) and runs ready callbacks. */
int loop_run_once(struct loop *l, int timeout_ms);
/* Runs until loop_stop(); returns 0 or -errno. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* One-shot or periodic timer on a timerfd, driven by the loop. */
struct loop_timer {
	struct loop_watch w;
	void (*fire)(struct loop_timer *t);
};

int loop_timer_init(struct loop *l, struct loop_timer *t, void (*fire)(struct loop_timer *t));
/* Arms the timer to fire after ms (0 disarms), repeating every interval_ms if non-zero. */
int loop_timer_arm(struct loop_timer *t, uint64_t ms, uint64_t interval_ms);
void loop_timer_destroy(struct loop *l, struct loop_timer *t);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t loop_now_ms(void);

#endif
