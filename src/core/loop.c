#include "core/loop.h"

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

int loop_init(struct loop *l)
{
	l->stop = false;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_destroy(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

static int loop_ctl(struct loop *l, int op, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(l->epfd, op, w->fd, &ev) < 0 ? -errno : 0;
}

int loop_add(struct loop *l, struct loop_watch *w, uint32_t events)
{
	return loop_ctl(l, EPOLL_CTL_ADD, w, events);
}

int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events)
{
	return loop_ctl(l, EPOLL_CTL_MOD, w, events);
}

int loop_del(struct loop *l, struct loop_watch *w)
{
	return loop_ctl(l, EPOLL_CTL_DEL, w, 0);
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[32];
	int n, i;

	n = epoll_wait(l->epfd, evs, ARRAY_SIZE(evs), timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct loop_watch *w = evs[i].data.ptr;

		w->cb(w, evs[i].events);
	}
	return n;
}

int loop_run(struct loop *l)
{
	int ret = 0;

	while (!l->stop && ret >= 0)
		ret = loop_run_once(l, -1);
	return ret < 0 ? ret : 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

static void loop_timer_cb(struct loop_watch *w, uint32_t events)
{
	struct loop_timer *t = container_of(w, struct loop_timer, w);
	uint64_t n;

	if (read(w->fd, &n, sizeof(n)) == sizeof(n))
		t->fire(t);
}

int loop_timer_init(struct loop *l, struct loop_timer *t, void (*fire)(struct loop_timer *t))
{
	int ret;

	t->fire = fire;
	t->w.cb = loop_timer_cb;
	t->w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->w.fd < 0)
		return -errno;
	ret = loop_add(l, &t->w, EPOLLIN);
	if (ret) {
		close(t->w.fd);
		t->w.fd = -1;
	}
	return ret;
}

int loop_timer_arm(struct loop_timer *t, uint64_t ms, uint64_t interval_ms)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000},
	    .it_interval = {.tv_sec = interval_ms / 1000,
			    .tv_nsec = (interval_ms % 1000) * 1000000},
	};

	return timerfd_settime(t->w.fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void loop_timer_destroy(struct loop *l, struct loop_timer *t)
{
	if (t->w.fd < 0)
		return;
	loop_del(l, &t->w);
	close(t->w.fd);
	t->w.fd = -1;
}

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
