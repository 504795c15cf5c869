#include "mem/ondemand.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define OD_PAGE	 4096ULL
#define OD_CHUNK (1ULL << 20) /* the background pass's step: a fault waits at most one */
#define OD_MSGS	 16

static uint64_t od_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void od_count(uint64_t *field, uint64_t v)
{
	__atomic_add_fetch(field, v, __ATOMIC_RELAXED);
}

static void od_wake_owner(struct ondemand *od)
{
	uint64_t one = 1;

	if (write(od->done_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write fails only on overflow: the owner has been woken */
	}
}

/* The file cannot be read: one line, then zeros for every fault (nobody hangs). */
static void od_fail(struct ondemand *od, const char *what, uint64_t off, int e)
{
	if (__atomic_exchange_n(&od->failed, true, __ATOMIC_ACQ_REL))
		return;
	mv_err("memory_restore_mode=ondemand: %s the snapshot at offset %#llx: %s; stopping the "
	       "VM",
	       what, (unsigned long long)off, strerror(e));
	od_wake_owner(od);
}

static bool od_failed(struct ondemand *od)
{
	return __atomic_load_n(&od->failed, __ATOMIC_ACQUIRE);
}

static const char *od_unprivileged(void)
{
	static char v[8];
	int fd = open("/proc/sys/vm/unprivileged_userfaultfd", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, v, sizeof(v) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return "unknown";
	v[n] = '\0';
	v[strcspn(v, "\n")] = '\0';
	return v;
}

int od_open(struct ondemand *od, int fd, char *err, size_t errlen)
{
	struct uffdio_api api = {.api = UFFD_API, .features = 0};
	int e1, e2 = 0, dev;

	memset(od, 0, sizeof(*od));
	od->uffd = od->fd = od->stop_fd = od->done_fd = -1;
	/* Not UFFD_USER_MODE_ONLY: KVM's faults on guest memory are the kernel's. */
	od->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	e1 = errno;
	if (od->uffd < 0) {
		dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			od->uffd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			e2 = errno;
			close(dev);
		} else {
			e2 = errno;
		}
	}
	if (od->uffd < 0) {
		snprintf(err, errlen,
			 "this host does not allow userfaultfd (userfaultfd(2): %s; "
			 "/dev/userfaultfd: %s; vm.unprivileged_userfaultfd=%s): run as root, "
			 "or use memory_restore_mode=copy",
			 strerror(e1), strerror(e2), od_unprivileged());
		return -(e1 ? e1 : EPERM);
	}
	if (ioctl(od->uffd, UFFDIO_API, &api) || !(api.ioctls & (1ULL << _UFFDIO_REGISTER))) {
		e1 = errno ? errno : EOPNOTSUPP;
		snprintf(err, errlen, "userfaultfd: UFFDIO_API: %s", strerror(e1));
		od_close(od);
		return -e1;
	}
	od->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	od->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	od->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (od->fd < 0 || od->stop_fd < 0 || od->done_fd < 0) {
		e1 = errno;
		snprintf(err, errlen, "userfaultfd server: %s", strerror(e1));
		od_close(od);
		return -e1;
	}
	return 0;
}

int od_add(struct ondemand *od, void *hva, uint64_t len, uint64_t file_off, char *err,
	   size_t errlen)
{
	const uint64_t need = (1ULL << _UFFDIO_COPY) | (1ULL << _UFFDIO_ZEROPAGE);
	struct uffdio_register reg = {.range = {.start = (uintptr_t)hva, .len = len},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};

	if (od->running || od->n >= OD_MAX_RANGES || !len || (uintptr_t)hva % OD_PAGE ||
	    len % OD_PAGE || file_off % OD_PAGE) {
		snprintf(err, errlen, "userfaultfd: range %p+%#llx cannot be served", hva,
			 (unsigned long long)len);
		return -EINVAL;
	}
	if (ioctl(od->uffd, UFFDIO_REGISTER, &reg)) {
		int e = errno;

		snprintf(err, errlen, "userfaultfd: registering %#llx bytes: %s",
			 (unsigned long long)len, strerror(e));
		return -e;
	}
	if ((reg.ioctls & need) != need) {
		snprintf(err, errlen, "userfaultfd: this memory cannot be served by copy");
		return -EOPNOTSUPP;
	}
	od->ranges[od->n++] = (struct od_range){hva, len, file_off};
	return 0;
}

static const struct od_range *od_find(const struct ondemand *od, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < od->n; i++)
		if (addr >= (uintptr_t)od->ranges[i].hva &&
		    addr - (uintptr_t)od->ranges[i].hva < od->ranges[i].len)
			return &od->ranges[i];
	return NULL;
}

/* Reads len bytes at off; what lies past the end of the file reads zero. */
static int od_read(struct ondemand *od, uint8_t *buf, uint64_t len, uint64_t off)
{
	uint64_t got = 0;

	while (got < len) {
		ssize_t n = pread(od->fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset(buf + got, 0, len - got);
			break;
		}
		got += (uint64_t)n;
	}
	return 0;
}

static bool od_zero(const uint8_t *p, uint64_t len)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i])
			return false;
	return true;
}

static void od_wake(struct ondemand *od, uint64_t addr)
{
	struct uffdio_range r = {.start = addr, .len = OD_PAGE};

	(void)ioctl(od->uffd, UFFDIO_WAKE, &r);
}

/*
 * One page: 1 when placed, 0 when it was there already (EEXIST: its waiter
 * woken) or is no longer ours (ENOENT: unregistered by a discard, which
 * woke its waiter); else -errno.
 */
static int od_place(struct ondemand *od, uint64_t addr, const uint8_t *src)
{
	for (;;) {
		int ret;

		if (src) {
			struct uffdio_copy c = {
			    .dst = addr, .src = (uintptr_t)src, .len = OD_PAGE, .mode = 0};

			ret = ioctl(od->uffd, UFFDIO_COPY, &c);
		} else {
			struct uffdio_zeropage z = {.range = {.start = addr, .len = OD_PAGE},
						    .mode = 0};

			ret = ioctl(od->uffd, UFFDIO_ZEROPAGE, &z);
		}
		if (!ret)
			return 1;
		if (errno == ENOENT)
			return 0;
		if (errno == EEXIST) {
			od_wake(od, addr);
			return 0;
		}
		if (errno != EAGAIN)
			return -errno;
	}
}

static void od_serve(struct ondemand *od, uint64_t addr, uint8_t *page)
{
	const struct od_range *r;
	uint64_t off = 0;
	bool zero = true;
	int ret;

	addr &= ~(OD_PAGE - 1);
	r = od_find(od, addr);
	if (r && !od_failed(od)) {
		off = r->file_off + (addr - (uintptr_t)r->hva);
		ret = od_read(od, page, OD_PAGE, off);
		if (ret)
			od_fail(od, "reading", off, -ret);
		else
			zero = od_zero(page, OD_PAGE);
	}
	od_count(&od->stats.faults, 1);
	if (zero)
		od_count(&od->stats.fault_zero, 1);
	ret = od_place(od, addr, zero ? NULL : page);
	if (ret < 0) {
		od_fail(od, "placing a page of", off, -ret);
		if (od_place(od, addr, NULL) < 0)
			od_wake(od, addr);
	}
}

static void od_serve_all(struct ondemand *od, uint8_t *page)
{
	struct uffd_msg msg[OD_MSGS];
	ssize_t n;
	int i;

	for (;;) {
		n = read(od->uffd, msg, sizeof(msg));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (i = 0; i < (int)(n / (ssize_t)sizeof(msg[0])); i++)
			if (msg[i].event == UFFD_EVENT_PAGEFAULT)
				od_serve(od, msg[i].arg.pagefault.address, page);
	}
}

/* Copies len bytes (page multiple) to dst: in one ioctl, else the rest page by page. */
static int od_copy(struct ondemand *od, uint64_t dst, const uint8_t *src, uint64_t len)
{
	struct uffdio_copy c = {.dst = dst, .src = (uintptr_t)src, .len = len, .mode = 0};
	uint64_t done = 0;
	int ret;

	if (!ioctl(od->uffd, UFFDIO_COPY, &c)) {
		od_count(&od->stats.filled_bytes, len);
		return 0;
	}
	if (c.copy > 0)
		done = (uint64_t)c.copy & ~(OD_PAGE - 1);
	od_count(&od->stats.filled_bytes, done);
	for (; done < len; done += OD_PAGE) {
		ret = od_place(od, dst + done, src + done);
		if (ret < 0)
			return ret;
		od_count(&od->stats.filled_bytes, (uint64_t)ret * OD_PAGE);
	}
	return 0;
}

struct od_cursor {
	unsigned int i; /* range */
	uint64_t pos;	/* offset in it */
};

/* One step of the background pass: false when it is over. */
static bool od_fill_step(struct ondemand *od, struct od_cursor *cur, uint8_t *buf)
{
	while (cur->i < od->n && !od_failed(od)) {
		const struct od_range *r = &od->ranges[cur->i];
		uint64_t end = r->file_off + r->len, data, hole, len;
		off_t d, h;
		int ret;

		if (cur->pos >= r->len) {
			cur->i++;
			cur->pos = 0;
			continue;
		}
		d = lseek(od->fd, (off_t)(r->file_off + cur->pos), SEEK_DATA);
		if (d < 0 && errno == ENXIO) {
			cur->pos = r->len;
			continue;
		}
		if (d < 0) {
			od_fail(od, "seeking in", r->file_off + cur->pos, errno);
			break;
		}
		data = (uint64_t)d & ~(OD_PAGE - 1);
		if (data >= end) {
			cur->pos = r->len;
			continue;
		}
		h = lseek(od->fd, (off_t)data, SEEK_HOLE);
		hole = h < 0 ? end : MV_MIN((uint64_t)h, end);
		len = align_up(MV_MIN(hole - data, OD_CHUNK), OD_PAGE);
		len = MV_MIN(len, end - data);
		ret = od_read(od, buf, len, data);
		if (!ret)
			ret = od_copy(od, (uintptr_t)r->hva + (data - r->file_off), buf, len);
		if (ret) {
			od_fail(od, "filling from", data, -ret);
			break;
		}
		cur->pos = data - r->file_off + len;
		return true;
	}
	return false;
}

static void *od_thread(void *arg)
{
	struct ondemand *od = arg;
	struct od_cursor cur = {0, 0};
	uint8_t *buf = malloc(OD_CHUNK), *page = malloc(OD_PAGE);
	bool filling = buf && page;

	if (!filling)
		od_fail(od, "no memory to read", 0, ENOMEM);
	for (;;) {
		struct pollfd p[2] = {{od->uffd, POLLIN, 0}, {od->stop_fd, POLLIN, 0}};
		int n = poll(p, 2, filling ? 0 : -1);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && p[1].revents)
			break;
		if (n > 0 && (p[0].revents & POLLIN))
			od_serve_all(od, page ? page : (uint8_t *)"");
		if (filling && !od_fill_step(od, &cur, buf)) {
			filling = false;
			__atomic_store_n(&od->stats.fill_ms, od_now_ms() - od->start_ms,
					 __ATOMIC_RELAXED);
			__atomic_store_n(&od->filled, true, __ATOMIC_RELEASE);
			od_wake_owner(od);
		}
	}
	free(buf);
	free(page);
	return NULL;
}

int od_start(struct ondemand *od)
{
	sigset_t all, old;
	int ret;

	od->start_ms = od_now_ms();
	/* Signals are the loop's (signalfd); the server takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&od->thread, NULL, od_thread, od);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return -ret;
	pthread_setname_np(od->thread, "mv-ondemand");
	od->running = true;
	return 0;
}

bool od_take_done(struct ondemand *od)
{
	uint64_t v;

	if (read(od->done_fd, &v, sizeof(v)) != sizeof(v)) {
		/* nothing pending: the stats say whether the pass is over */
	}
	return od_failed(od) || __atomic_load_n(&od->filled, __ATOMIC_ACQUIRE);
}

void od_get_stats(struct ondemand *od, struct od_stats *out)
{
	out->faults = __atomic_load_n(&od->stats.faults, __ATOMIC_RELAXED);
	out->fault_zero = __atomic_load_n(&od->stats.fault_zero, __ATOMIC_RELAXED);
	out->filled_bytes = __atomic_load_n(&od->stats.filled_bytes, __ATOMIC_RELAXED);
	out->fill_ms = __atomic_load_n(&od->stats.fill_ms, __ATOMIC_RELAXED);
}

void od_close(struct ondemand *od)
{
	uint64_t one = 1;

	if (od->running) {
		if (write(od->stop_fd, &one, sizeof(one)) < 0) {
			/* cannot fail on a fresh eventfd */
		}
		pthread_join(od->thread, NULL);
		od->running = false;
	}
	/* Closing the userfaultfd unregisters every range; waiters retry as plain faults. */
	if (od->uffd >= 0)
		close(od->uffd);
	if (od->fd >= 0)
		close(od->fd);
	if (od->stop_fd >= 0)
		close(od->stop_fd);
	if (od->done_fd >= 0)
		close(od->done_fd);
	od->uffd = od->fd = od->stop_fd = od->done_fd = -1;
}
