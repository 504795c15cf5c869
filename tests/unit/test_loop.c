/* Unit tests for core/loop: fd watches, timers, stopping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/loop.h"
#include "lib/util.h"

struct watcher {
	struct loop_watch w;
	struct loop *loop;
	unsigned int calls;
	uint32_t events;
	bool stop;
	bool drain;
};

static void watcher_cb(struct loop_watch *w, uint32_t events)
{
	struct watcher *x = container_of(w, struct watcher, w);
	char buf[64];

	x->calls++;
	x->events = events;
	if (x->drain)
		while (read(w->fd, buf, sizeof(buf)) > 0)
			;
	if (x->stop)
		loop_stop(x->loop);
}

struct ticker {
	struct loop_timer t;
	struct loop *loop;
	unsigned int fired;
	unsigned int stop_after;
};

static void ticker_fire(struct loop_timer *t)
{
	struct ticker *k = container_of(t, struct ticker, t);

	k->fired++;
	if (k->stop_after && k->fired == k->stop_after)
		loop_stop(k->loop);
}

static void test_fd_callback(void **state)
{
	struct watcher x = {.drain = true};
	struct loop l;
	int p[2];

	assert_int_equal(loop_init(&l), 0);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	x.w.fd = p[0];
	x.w.cb = watcher_cb;
	x.loop = &l;
	assert_int_equal(loop_add(&l, &x.w, EPOLLIN), 0);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(x.calls, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(x.calls, 1);
	assert_true(x.events & EPOLLIN);
	/* Drained: level-triggered epoll does not report it again. */
	assert_int_equal(loop_run_once(&l, 0), 0);

	/* Masked with loop_mod(0): data waits; unmasked: delivered. */
	assert_int_equal(loop_mod(&l, &x.w, 0), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(loop_run_once(&l, 20), 0);
	assert_int_equal(loop_mod(&l, &x.w, EPOLLIN), 0);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(x.calls, 2);

	/* Hang-up of the writer is reported. */
	close(p[1]);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_true(x.events & EPOLLHUP);
	assert_int_equal(loop_del(&l, &x.w), 0);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(x.calls, 3);
	close(p[0]);
	loop_destroy(&l);
}

static void test_add_errors(void **state)
{
	struct watcher x = {0};
	struct loop l;
	int p[2];

	loop_init(&l);
	assert_int_equal(pipe(p), 0);
	x.w.cb = watcher_cb;
	x.w.fd = -1;
	assert_int_equal(loop_add(&l, &x.w, EPOLLIN), -EBADF);
	x.w.fd = p[0];
	assert_int_equal(loop_add(&l, &x.w, EPOLLIN), 0);
	assert_int_equal(loop_add(&l, &x.w, EPOLLIN), -EEXIST);
	assert_int_equal(loop_del(&l, &x.w), 0);
	assert_int_equal(loop_del(&l, &x.w), -ENOENT);
	assert_int_equal(loop_mod(&l, &x.w, EPOLLIN), -ENOENT);
	close(p[0]);
	close(p[1]);
	loop_destroy(&l);
	assert_int_equal(l.epfd, -1);
	loop_destroy(&l); /* twice is harmless */
}

static void test_two_watches(void **state)
{
	struct watcher a = {.drain = true}, b = {.drain = true};
	struct loop l;
	int pa[2], pb[2];

	loop_init(&l);
	assert_int_equal(pipe2(pa, O_NONBLOCK), 0);
	assert_int_equal(pipe2(pb, O_NONBLOCK), 0);
	a.w = (struct loop_watch){.fd = pa[0], .cb = watcher_cb};
	b.w = (struct loop_watch){.fd = pb[0], .cb = watcher_cb};
	loop_add(&l, &a.w, EPOLLIN);
	loop_add(&l, &b.w, EPOLLIN);
	assert_int_equal(write(pb[1], "b", 1), 1);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(write(pa[1], "a", 1), 1);
	assert_int_equal(write(pb[1], "b", 1), 1);
	assert_int_equal(loop_run_once(&l, 1000), 2);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 2);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
	loop_destroy(&l);
}

static void test_timer_once(void **state)
{
	struct ticker k = {0};
	struct loop l;
	uint64_t t0;

	loop_init(&l);
	k.loop = &l;
	assert_int_equal(loop_timer_init(&l, &k.t, ticker_fire), 0);
	/* Not armed: nothing happens. */
	assert_int_equal(loop_run_once(&l, 20), 0);
	t0 = loop_now_ms();
	assert_int_equal(loop_timer_arm(&k.t, 30, 0), 0);
	assert_int_equal(loop_run_once(&l, 2000), 1);
	assert_int_equal(k.fired, 1);
	assert_true(loop_now_ms() - t0 >= 29);
	assert_int_equal(loop_run_once(&l, 60), 0);
	assert_int_equal(k.fired, 1);
	/* Re-arm, then disarm before it fires. */
	assert_int_equal(loop_timer_arm(&k.t, 20, 0), 0);
	assert_int_equal(loop_timer_arm(&k.t, 0, 0), 0);
	assert_int_equal(loop_run_once(&l, 60), 0);
	assert_int_equal(k.fired, 1);
	loop_timer_destroy(&l, &k.t);
	assert_int_equal(k.t.w.fd, -1);
	loop_timer_destroy(&l, &k.t);
	loop_destroy(&l);
}

static void test_timer_periodic_and_stop(void **state)
{
	struct ticker k = {.stop_after = 3};
	struct loop l;
	uint64_t t0;

	loop_init(&l);
	k.loop = &l;
	assert_int_equal(loop_timer_init(&l, &k.t, ticker_fire), 0);
	t0 = loop_now_ms();
	assert_int_equal(loop_timer_arm(&k.t, 10, 10), 0);
	/* loop_run returns once the third tick calls loop_stop(). */
	assert_int_equal(loop_run(&l), 0);
	assert_int_equal(k.fired, 3);
	assert_true(loop_now_ms() - t0 >= 29);
	/* Still periodic until disarmed. */
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(k.fired, 4);
	assert_int_equal(loop_timer_arm(&k.t, 0, 0), 0);
	assert_int_equal(loop_run_once(&l, 50), 0);
	assert_int_equal(k.fired, 4);
	/* Stopped stays stopped: loop_run returns at once. */
	assert_int_equal(loop_run(&l), 0);
	loop_timer_destroy(&l, &k.t);
	loop_destroy(&l);
}

static void test_stop_from_fd_callback(void **state)
{
	struct watcher x = {.drain = true, .stop = true};
	struct loop l;
	int p[2];

	loop_init(&l);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	x.w = (struct loop_watch){.fd = p[0], .cb = watcher_cb};
	x.loop = &l;
	loop_add(&l, &x.w, EPOLLIN);
	assert_int_equal(write(p[1], "s", 1), 1);
	assert_int_equal(loop_run(&l), 0);
	assert_int_equal(x.calls, 1);
	assert_true(l.stop);
	close(p[0]);
	close(p[1]);
	loop_destroy(&l);
}

static void test_now_monotonic(void **state)
{
	uint64_t a = loop_now_ms(), b;

	usleep(20000);
	b = loop_now_ms();
	assert_true(b >= a + 19);
	assert_true(b < a + 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fd_callback),
	    cmocka_unit_test(test_add_errors),
	    cmocka_unit_test(test_two_watches),
	    cmocka_unit_test(test_timer_once),
	    cmocka_unit_test(test_timer_periodic_and_stop),
	    cmocka_unit_test(test_stop_from_fd_callback),
	    cmocka_unit_test(test_now_monotonic),
	};

	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
