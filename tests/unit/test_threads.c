/*
 * Unit tests for the thread rules of ARCHITECTURE.md ("Threads"): a real
 * second thread plays a vCPU and writes virtio-mem's notify register with
 * every width while the loop thread serves control clients that connect
 * and disconnect on a real socket. Device work and every API call must run
 * on the loop thread whatever path the write takes (an ioeventfd that
 * matches it, one that does not, no ioeventfd at all). Run under
 * `make unit-tsan`, ThreadSanitizer also checks that nothing is shared
 * without synchronisation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "api/server.h"
#include "lib/log.h"
#include "core/loop.h"
#include "virtio/mem.h"
#include "virtio/pci.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x40000ULL
#define REQ_GPA	 (MEM_GPA + 0x20000)
#define RESP_GPA (MEM_GPA + 0x21000)
#define BS	 (2 * MiB)
#define ADDR	 (4 * GiB)
#define REGION	 (1 * GiB)
#define NR_REQS	 150 /* per host kind: 50 notify writes of each width */
#define NR_CONNS 25

/* How the host's KVM treats an ioeventfd registration. */
enum host_kind {
	HOST_ANY_LENGTH, /* len 0 accepted: any width at the address (KVM_CAP_IOEVENTFD_ANY_LENGTH)
			  */
	HOST_EXACT_ONLY, /* len 0 refused: only the exact width registered */
	HOST_NO_IOEVENTFD,
};

struct ioev {
	uint64_t addr;
	uint32_t len;
	int fd;
};

struct tfix {
	enum host_kind kind;
	struct fake_gmem fm;
	struct fake_pci fp;
	struct pci_host_ops ops;
	struct ioev ioev[4];
	unsigned int nioev;
	struct loop loop;
	struct api_backend be;
	struct api api;
	struct api_server *srv;
	char dir[64], path[96];
	struct vmem m;
	struct virtio_pci vp;
	uint64_t bar;
	pthread_t loop_thread;
	/* Written by whichever thread runs the device; checked after the join. */
	unsigned int off_loop; /* host ops or API calls that ran elsewhere */
	unsigned int host_calls;
	uint64_t host_plugged;
	/* vCPU and client threads report here (atomics). */
	int vcpu_done, client_done;
	unsigned int acked, events_seen, conns;
	char vcpu_err[128], client_err[128];
	/* A guest that keeps the avail index one ahead (loop thread only). */
	struct vqd *adv;
	unsigned int adv_left;
};

static struct tfix *fix_of(struct pci_host *h)
{
	return container_of(h, struct tfix, fp.h);
}

/* ---- the host: KVM's ioeventfd matching, faked ---- */

static int t_ioeventfd(struct pci_host *h, uint64_t addr, uint32_t len, int fd, bool assign)
{
	struct tfix *f = fix_of(h);
	unsigned int i;

	if (assign) {
		if (f->kind == HOST_EXACT_ONLY && len == 0)
			return -EINVAL;
		assert_true(f->nioev < 4);
		f->ioev[f->nioev++] = (struct ioev){addr, len, fd};
		return 0;
	}
	for (i = 0; i < f->nioev; i++)
		if (f->ioev[i].addr == addr && f->ioev[i].len == len && f->ioev[i].fd == fd) {
			f->ioev[i] = f->ioev[--f->nioev];
			return 0;
		}
	return -ENOENT;
}

/*
 * A guest write as KVM handles it: an ioeventfd whose address matches and
 * whose length is 0 or the write's width gets the write (KVM signals the
 * eventfd, the vCPU does not exit); anything else exits to the VMM's MMIO
 * path on this (the vCPU's) thread.
 */
static void vcpu_write(struct tfix *f, uint64_t addr, uint32_t len, uint64_t val)
{
	uint64_t one = 1;
	unsigned int i;

	for (i = 0; i < f->nioev; i++)
		if (f->ioev[i].addr == addr && (!f->ioev[i].len || f->ioev[i].len == len)) {
			assert_int_equal(write(f->ioev[i].fd, &one, 8), 8);
			return;
		}
	assert_true(bus_write(&f->fp.mmio, addr, &val, len));
}

/* ---- the VMM side: host ops and API backend as board/devices.c and board/backend.c wire them ----
 */

static void put_req(struct vqd *d, uint64_t gpa, uint16_t type, uint64_t addr, uint16_t nb)
{
	uint8_t *p = vqd_ptr(d, gpa);

	memset(p, 0, 24);
	p[0] = type;
	addr = htole64(addr);
	memcpy(p + 8, &addr, 8);
	p[16] = nb;
}

/* Request n of the adversary: plug block 0, unplug it, ... in slots of its own. */
static void adv_publish(struct vqd *d, unsigned int n)
{
	struct vqd_buf b[2] = {{REQ_GPA + 32 * (n % 64), 24, false},
			       {RESP_GPA + 16 * (n % 64), 10, true}};

	put_req(d, b[0].gpa, n % 2 ? VMEM_REQ_UNPLUG : VMEM_REQ_PLUG, ADDR, 1);
	vqd_add(d, b, 2);
}

static void note_thread(struct tfix *f)
{
	if (!pthread_equal(pthread_self(), f->loop_thread))
		__atomic_add_fetch(&f->off_loop, 1, __ATOMIC_RELAXED);
}

static int t_host(struct vmem *m, uint64_t off, uint64_t len, bool plug)
{
	struct tfix *f = container_of(m, struct tfix, m);

	note_thread(f);
	f->host_calls++;
	f->host_plugged += plug ? len : -len;
	/*
	 * Straight to the API from the host op, as the board did before size
	 * changes were deferred: a race unless device work runs on the loop.
	 */
	api_memdev_size_changed(&f->api, "mem0", f->host_plugged);
	/* The guest, on another vCPU, adds one more request while this one is served. */
	if (f->adv && f->adv_left) {
		f->adv_left--;
		adv_publish(f->adv, f->host_calls);
	}
	return 0;
}

static int t_plug(struct vmem *m, uint64_t off, uint64_t len)
{
	return t_host(m, off, len, true);
}

static int t_unplug(struct vmem *m, uint64_t off, uint64_t len)
{
	return t_host(m, off, len, false);
}

static const struct vmem_host_ops t_hops = {.plug = t_plug, .unplug = t_unplug};

static int b_status(struct api_backend *b, struct api_status *out)
{
	note_thread(container_of(b, struct tfix, be));
	out->status = "running";
	out->running = true;
	return 0;
}

static void b_quit(struct api_backend *b)
{
}

static unsigned int b_count(struct api_backend *b)
{
	note_thread(container_of(b, struct tfix, be));
	return 1;
}

static int b_info(struct api_backend *b, unsigned int idx, struct api_memdev_info *out)
{
	struct tfix *f = container_of(b, struct tfix, be);
	struct vmem_info vi;

	note_thread(f);
	vmem_get_info(&f->m, &vi);
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "mem0");
	snprintf(out->memdev, sizeof(out->memdev), "/objects/mem0");
	out->memaddr = vi.addr;
	out->size = vi.plugged_size;
	out->max_size = vi.region_size;
	out->block_size = vi.block_size;
	out->requested_size = vi.requested_size;
	out->driver_ready = vi.driver_ready;
	return 0;
}

static const struct api_backend_ops b_ops = {
    .query_status = b_status,
    .quit = b_quit,
    .memdev_count = b_count,
    .memdev_info = b_info,
};

/* Every change leaves the rate-limit window at once: every one is broadcast. */
static uint64_t fast_mono_ms(void)
{
	static uint64_t t;

	return __atomic_add_fetch(&t, 2 * API_EVENT_RATE_MS, __ATOMIC_RELAXED);
}

static uint64_t real_wall_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static const struct api_clock fast_clock = {.mono_ms = fast_mono_ms, .wall_us = real_wall_us};

/* ---- setup: the driver brings the device up before the threads start ---- */

static uint64_t rd(struct tfix *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	assert_true(bus_read(&f->fp.mmio, f->bar + off, &v, len));
	return v;
}

static void fix_create(struct tfix *f, enum host_kind kind, struct vqd *d)
{
	struct vmem_params p = {
	    .addr = ADDR,
	    .region_size = REGION,
	    .block_size = BS,
	    .requested_size = 64 * MiB,
	    .node_id = -1,
	};
	struct vdrv_queue q;
	char err[160];

	mv_log_set_quiet(true);
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->loop_thread = pthread_self();
	fake_gmem_init(&f->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&f->fp);
	f->ops = (struct pci_host_ops){.set_irq = fake_pci_set_irq};
	if (kind != HOST_NO_IOEVENTFD)
		f->ops.ioeventfd = t_ioeventfd;
	f->fp.h.ops = &f->ops;
	assert_int_equal(loop_init(&f->loop), 0);
	f->be.ops = &b_ops;
	assert_int_equal(api_init(&f->api, &f->be, &f->loop), 0);
	f->api.clock = &fast_clock;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mv-threads-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	assert_int_equal(api_server_open(&f->srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	assert_int_equal(vmem_init(&f->m, &p, &t_hops, &f->fm.map, err, sizeof(err)), 0);
	assert_int_equal(virtio_pci_init(&f->vp, &f->m.vdev, &f->fp.h, &f->loop, "mem0"), 0);
	f->bar = f->vp.pci.bars[0].addr;

	/* The Linux driver's bring-up: bus master, features, one queue, DRIVER_OK. */
	vqd_init(d, &f->fm, MEM_GPA, VMEM_QUEUE_SIZE);
	q = vdrv_queue_of(d, 0);
	assert_int_equal(vdrv_bring_up(&f->fp, &f->vp, VDRV_VERSION_1, &q, 1), 0xF);
}

static void fix_destroy(struct tfix *f)
{
	api_server_close(f->srv);
	virtio_pci_destroy(&f->vp);
	vmem_destroy(&f->m);
	api_destroy(&f->api);
	loop_destroy(&f->loop);
	fake_pci_free(&f->fp);
	fake_gmem_free(&f->fm);
	rmdir(f->dir);
}

/* ---- the vCPU thread: one request at a time, notified with width 1, 2, 4 ---- */

struct vcpu_arg {
	struct tfix *f;
	struct vqd d;
};

/*
 * Waits for the used-buffer interrupt by reading the ISR (read-to-clear,
 * under the device lock, as a guest's interrupt handler does). The device
 * pushes under that lock, so the used ring is safe to read afterwards.
 */
static bool vcpu_wait_irq(struct tfix *f)
{
	unsigned int i;

	for (i = 0; i < 20000; i++) {
		uint8_t isr = 0;

		assert_true(bus_read(&f->fp.mmio, f->bar + VIRTIO_PCI_ISR_OFF, &isr, 1));
		if (isr & VIRTIO_PCI_ISR_QUEUE)
			return true;
		usleep(250);
	}
	return false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu_arg *a = arg;
	struct tfix *f = a->f;
	static const uint32_t widths[] = {1, 2, 4};
	unsigned int i;

	/* At least NR_REQS, and on until the clients are done: both overlap throughout. */
	for (i = 0; i < NR_REQS || !__atomic_load_n(&f->client_done, __ATOMIC_ACQUIRE); i++) {
		struct vqd_buf b[2] = {{REQ_GPA, 24, false}, {RESP_GPA, 10, true}};
		uint8_t *r = vqd_ptr(&a->d, RESP_GPA);
		uint32_t id, len, plugged;

		/* Plug block 0, unplug it, plug it again... each answered ACK. */
		put_req(&a->d, REQ_GPA, i % 2 ? VMEM_REQ_UNPLUG : VMEM_REQ_PLUG, ADDR, 1);
		memset(r, 0xEE, 10);
		vqd_add(&a->d, b, 2);
		vcpu_write(f, f->bar + VIRTIO_PCI_NOTIFY_OFF, widths[i % 3], 0);
		if (!vcpu_wait_irq(f) || vqd_get_used(&a->d, &id, &len) != 1) {
			snprintf(f->vcpu_err, sizeof(f->vcpu_err),
				 "request %u (notify width %u) not answered", i, widths[i % 3]);
			break;
		}
		if (r[0] | r[1] << 8) {
			snprintf(f->vcpu_err, sizeof(f->vcpu_err), "request %u answered %u", i,
				 r[0] | r[1] << 8);
			break;
		}
		/* The driver's config read (on the vCPU) sees the committed plugged size. */
		plugged = 0;
		assert_true(
		    bus_read(&f->fp.mmio, f->bar + VIRTIO_PCI_DEVICE_OFF + 0x28, &plugged, 4));
		if (plugged != (i % 2 ? 0 : BS)) {
			snprintf(f->vcpu_err, sizeof(f->vcpu_err), "request %u: plugged_size %#x",
				 i, plugged);
			break;
		}
		__atomic_add_fetch(&f->acked, 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&f->vcpu_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- the client thread: QMP clients that come and go ---- */

static int c_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Reads lines until one contains `want`; counts events on the way. */
static bool c_expect(struct tfix *f, int fd, const char *want)
{
	char line[8192];
	size_t n = 0;

	while (n < sizeof(line) - 1) {
		if (read(fd, &line[n], 1) != 1)
			return false;
		if (line[n++] != '\n')
			continue;
		line[n] = '\0';
		if (strstr(line, "MEMORY_DEVICE_SIZE_CHANGE"))
			__atomic_add_fetch(&f->events_seen, 1, __ATOMIC_RELAXED);
		if (strstr(line, want))
			return true;
		n = 0;
	}
	return false;
}

static void c_send(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return; /* the server may have dropped us; the next read says so */
}

static void *client_thread(void *arg)
{
	struct tfix *f = arg;
	unsigned int i;

	for (i = 0; i < NR_CONNS; i++) {
		int fd = c_connect(f->path);

		if (fd < 0 || !c_expect(f, fd, "\"QMP\"")) {
			snprintf(f->client_err, sizeof(f->client_err), "client %u: no greeting", i);
			if (fd >= 0)
				close(fd);
			break;
		}
		c_send(fd, "{\"execute\": \"qmp_capabilities\"}\n");
		/* Every third client vanishes without waiting for anything. */
		if (i % 3 == 2) {
			close(fd);
			continue;
		}
		c_send(fd, "{\"execute\": \"query-memory-devices\", \"id\": 7}\n");
		if (!c_expect(f, fd, "\"id\": 7")) {
			snprintf(f->client_err, sizeof(f->client_err), "client %u: no reply", i);
			close(fd);
			break;
		}
		/* Stay until a size change reaches us too; the vCPU goes on until we are done. */
		if (!c_expect(f, fd, "MEMORY_DEVICE_SIZE_CHANGE")) {
			snprintf(f->client_err, sizeof(f->client_err), "client %u: no event", i);
			close(fd);
			break;
		}
		c_send(fd, "{\"execute\": \"query-status\", \"id\": 8}\n");
		if (!c_expect(f, fd, "\"id\": 8")) {
			snprintf(f->client_err, sizeof(f->client_err), "client %u: no reply", i);
			close(fd);
			break;
		}
		close(fd);
		__atomic_add_fetch(&f->conns, 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&f->client_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void run_threads(enum host_kind kind)
{
	struct tfix *f = calloc(1, sizeof(*f));
	struct vcpu_arg a;
	pthread_t vcpu, client;
	uint64_t deadline;

	fix_create(f, kind, &a.d);
	a.f = f;
	assert_int_equal(pthread_create(&client, NULL, client_thread, f), 0);
	assert_int_equal(pthread_create(&vcpu, NULL, vcpu_thread, &a), 0);
	/* This thread is the event loop. */
	deadline = loop_now_ms() + 60000;
	while (!(__atomic_load_n(&f->vcpu_done, __ATOMIC_ACQUIRE) &&
		 __atomic_load_n(&f->client_done, __ATOMIC_ACQUIRE)) &&
	       loop_now_ms() < deadline)
		loop_run_once(&f->loop, 10);
	pthread_join(vcpu, NULL);
	pthread_join(client, NULL);

	assert_string_equal(f->vcpu_err, "");
	assert_string_equal(f->client_err, "");
	assert_true(f->acked >= NR_REQS);
	assert_int_equal(f->host_calls, f->acked);
	/* Two of three clients stay for replies; they see size changes as they happen. */
	assert_int_equal(f->conns, NR_CONNS - NR_CONNS / 3);
	assert_true(f->events_seen >= f->conns);
	/* The point of the test: nothing ran on the vCPU thread. */
	assert_int_equal(f->off_loop, 0);
	fix_destroy(f);
	free(f);
}

static void test_notify_any_length_ioeventfd(void **state)
{
	run_threads(HOST_ANY_LENGTH);
}

static void test_notify_exact_length_ioeventfd(void **state)
{
	run_threads(HOST_EXACT_ONLY);
}

static void test_notify_no_ioeventfd(void **state)
{
	run_threads(HOST_NO_IOEVENTFD);
}

/* ---- one notification must not keep the device busy forever ---- */

struct other {
	struct loop_timer t;
	struct tfix *f;
	unsigned int fired;
	unsigned int adv_left_then; /* how far ahead the guest still was */
};

static void other_fire(struct loop_timer *t)
{
	struct other *o = container_of(t, struct other, t);

	o->fired++;
	o->adv_left_then = o->f->adv_left;
}

#define ADV_REQS (8 * VMEM_QUEUE_SIZE)

/*
 * The guest keeps the avail index exactly one ahead: every request served
 * makes another available (never more than a queue ahead, so the ring
 * checks do not trip). One notification may serve at most a queue's worth;
 * the rest is continued from the loop, which serves a timer in between.
 */
static void guest_one_ahead(enum host_kind kind, uint32_t width)
{
	struct tfix *f = calloc(1, sizeof(*f));
	struct vqd d;
	struct other o = {.f = f};
	unsigned int i, before, most = 0, rounds = 0;

	fix_create(f, kind, &d);
	f->adv = &d;
	f->adv_left = ADV_REQS;
	assert_int_equal(loop_timer_init(&f->loop, &o.t, other_fire), 0);
	assert_int_equal(loop_timer_arm(&o.t, 1, 0), 0);
	usleep(5000); /* the timer is due before the guest kicks */

	adv_publish(&d, 0);
	/* The vCPU's write returns at once (vm_stop must be able to join it). */
	vcpu_write(f, f->bar + VIRTIO_PCI_NOTIFY_OFF, width, 0);
	assert_true(f->host_calls <= VMEM_QUEUE_SIZE);
	most = f->host_calls;
	for (i = 0; i < 4 * ADV_REQS && vqd_used_idx(&d) != d.avail_idx; i++) {
		before = f->host_calls;
		loop_run_once(&f->loop, 100);
		most = MV_MAX(most, f->host_calls - before);
		rounds += f->host_calls != before;
	}
	/* At most a queue's worth per notification... */
	assert_true(most <= VMEM_QUEUE_SIZE);
	/* ...the timer ran while the guest still kept the device busy... */
	assert_int_equal(o.fired, 1);
	assert_true(o.adv_left_then > 0);
	/* ...and the device finished the work later, with no new notification. */
	assert_int_equal(f->adv_left, 0);
	assert_int_equal(f->host_calls, ADV_REQS + 1);
	assert_int_equal(vqd_used_idx(&d), d.avail_idx);
	assert_true(rounds >= ADV_REQS / VMEM_QUEUE_SIZE);
	assert_false(rd(f, VIRTIO_PCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	loop_timer_destroy(&f->loop, &o.t);
	fix_destroy(f);
	free(f);
}

static void test_one_ahead_ioeventfd(void **state)
{
	guest_one_ahead(HOST_ANY_LENGTH, 2);
}

static void test_one_ahead_mmio(void **state)
{
	guest_one_ahead(HOST_NO_IOEVENTFD, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_notify_any_length_ioeventfd),
	    cmocka_unit_test(test_notify_exact_length_ioeventfd),
	    cmocka_unit_test(test_notify_no_ioeventfd),
	    cmocka_unit_test(test_one_ahead_ioeventfd),
	    cmocka_unit_test(test_one_ahead_mmio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
