/*
 * Unit tests for virtio/pmem and pmem_save: FLUSH answered only after the
 * host's flush (on the worker thread), EIO on a failed flush with the device
 * still running, a hostile driver's chains, reset and pause while a flush
 * runs, and the save/load round trip of requests not answered yet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"
#include "virtio/pci.h"
#include "virtio/pmem.h"
#include "virtio/pmem_save.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x80000ULL
#define BUF	 (MEM_GPA + 0x10000)
#define START	 0x140000000ULL
#define SIZE	 (64ULL << 20)

/* The host: counts flushes, fails with `fail`, and holds each flush while `hold` is set. */
static pthread_mutex_t hl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hc = PTHREAD_COND_INITIALIZER;
static bool hold;
static int fail, calls;

static int host_flush(struct vpmem *p)
{
	int r;

	pthread_mutex_lock(&hl);
	calls++;
	while (hold)
		pthread_cond_wait(&hc, &hl);
	r = fail;
	pthread_mutex_unlock(&hl);
	return r;
}

static const struct vpmem_host_ops hops = {.flush = host_flush};

static void set_hold(bool on)
{
	pthread_mutex_lock(&hl);
	hold = on;
	pthread_cond_broadcast(&hc);
	pthread_mutex_unlock(&hl);
}

static void set_fail(int r)
{
	pthread_mutex_lock(&hl);
	fail = r;
	pthread_mutex_unlock(&hl);
}

static int host_calls(void)
{
	int n;

	pthread_mutex_lock(&hl);
	n = calls;
	pthread_mutex_unlock(&hl);
	return n;
}

struct rig {
	struct fake_gmem fm;
	struct fake_pci fp;
	struct vpmem p;
	struct virtio_pci vp;
	struct vqd d;
};

static void rig_up(struct rig *g, bool discard)
{
	struct vpmem_params prm = {.start = START, .size = SIZE, .discard = discard};

	mv_log_set_quiet(true);
	set_hold(false);
	pthread_mutex_lock(&hl);
	fail = calls = 0;
	pthread_mutex_unlock(&hl);
	fake_gmem_init(&g->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&g->fp);
	assert_int_equal(vpmem_init(&g->p, &prm, &hops, &g->fm.map, NULL), 0);
	assert_int_equal(virtio_pci_init(&g->vp, &g->p.vdev, &g->fp.h, NULL, "pmem0"), 0);
	vqd_init(&g->d, &g->fm, MEM_GPA, VPMEM_QUEUE_SIZE);
	assert_int_equal(vdrv_bring_up(&g->fp, &g->vp, VDRV_VERSION_1,
				       (struct vdrv_queue[]){vdrv_queue_of(&g->d, 0)}, 1),
			 0xF);
}

static void rig_down(struct rig *g)
{
	set_hold(false);
	virtio_pci_destroy(&g->vp);
	vpmem_destroy(&g->p);
	fake_pci_free(&g->fp);
	fake_gmem_free(&g->fm);
}

static void kick(struct rig *g)
{
	vdrv_wr(&g->fp, &g->vp, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
}

/* Waits for the worker's completion and lets "the loop" answer it. */
static void complete(struct rig *g)
{
	struct pollfd pfd = {.fd = g->p.done_w.fd, .events = POLLIN};
	uint64_t v;

	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(read(pfd.fd, &v, sizeof(v)), sizeof(v));
	vpmem_done(&g->p);
}

/* A well-formed FLUSH: type at off, answer at off + 16. */
static uint16_t flush_req(struct rig *g, uint64_t off, uint32_t type)
{
	uint32_t t = htole32(type), poison = 0xAAAAAAAA;

	memcpy(g->fm.buf + (BUF - MEM_GPA) + off, &t, 4);
	memcpy(g->fm.buf + (BUF - MEM_GPA) + off + 16, &poison, 4);
	return vqd_add(&g->d, (struct vqd_buf[]){{BUF + off, 4, false}, {BUF + off + 16, 4, true}},
		       2);
}

static uint32_t answer(struct rig *g, uint64_t off)
{
	uint32_t v;

	memcpy(&v, g->fm.buf + (BUF - MEM_GPA) + off + 16, 4);
	return le32toh(v);
}

static uint8_t status(struct rig *g)
{
	return vdrv_rd(&g->fp, &g->vp, VIRTIO_PCI_STATUS, 1);
}

static void test_config_and_flush(void **state)
{
	struct rig g;
	uint32_t id, len;
	uint16_t head;

	rig_up(&g, false);
	assert_int_equal(pci_cfg_read(&g.fp.h, g.vp.pci.slot, 0, 2, 2), 0x1040 + VIRTIO_ID_PMEM);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF, 4), (uint32_t)START);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 4, 4), START >> 32);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 8, 4), (uint32_t)SIZE);
	assert_int_equal(vdrv_rd(&g.fp, &g.vp, VIRTIO_PCI_DEVICE_OFF + 12, 4), 0);

	/* Not answered before the host's flush returned. */
	set_hold(true);
	head = flush_req(&g, 0, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 0);
	assert_int_equal(answer(&g, 0), 0xAAAAAAAA);
	set_hold(false);
	complete(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 4);
	assert_int_equal(answer(&g, 0), VPMEM_RESP_OK);
	assert_int_equal(host_calls(), 1);
	rig_down(&g);
}

/* A flush that fails on the host answers EIO; the device runs on and the next one succeeds. */
static void test_flush_failure_is_eio(void **state)
{
	struct rig g;
	uint32_t id, len;

	rig_up(&g, false);
	set_fail(-EIO);
	flush_req(&g, 0, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	complete(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(answer(&g, 0), VPMEM_RESP_EIO);
	assert_int_equal(g.p.flush_errors, 1);
	assert_false(status(&g) & VIRTIO_STATUS_NEEDS_RESET);
	set_fail(0);
	flush_req(&g, 32, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	complete(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(answer(&g, 32), VPMEM_RESP_OK);
	rig_down(&g);
}

/* A FLUSH popped while one runs waits for a flush of its own. */
static void test_flush_after_flush(void **state)
{
	struct rig g;
	uint32_t id, len;
	uint16_t h1, h2;

	rig_up(&g, false);
	set_hold(true);
	h1 = flush_req(&g, 0, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	h2 = flush_req(&g, 32, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	set_hold(false);
	complete(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(id, h1);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 0);
	assert_int_equal(answer(&g, 32), 0xAAAAAAAA);
	complete(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(id, h2);
	assert_int_equal(host_calls(), 2);
	rig_down(&g);
}

/* A hostile driver: wrong type, no request bytes, split answer, no room for an answer. */
static void test_hostile_requests(void **state)
{
	struct rig g;
	uint32_t id, len, v;
	uint8_t *b;

	assert_int_equal(vpmem_decide(4, 4, 0), VPMEM_ACT_FLUSH);
	assert_int_equal(vpmem_decide(4, 4, 1), VPMEM_ACT_EIO);
	assert_int_equal(vpmem_decide(3, 4, 0), VPMEM_ACT_EIO);
	assert_int_equal(vpmem_decide(4, 3, 0), VPMEM_ACT_BAD);
	assert_int_equal(vpmem_decide(100, 100, 0), VPMEM_ACT_FLUSH);

	rig_up(&g, false);
	/* Unknown type: EIO at once, no flush. */
	flush_req(&g, 0, 7);
	kick(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(answer(&g, 0), VPMEM_RESP_EIO);
	/* No readable bytes at all: EIO. */
	vqd_add(&g.d, (struct vqd_buf[]){{BUF + 0x100, 4, true}}, 1);
	kick(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	memcpy(&v, g.fm.buf + (BUF - MEM_GPA) + 0x100, 4);
	assert_int_equal(le32toh(v), VPMEM_RESP_EIO);
	assert_int_equal(host_calls(), 0);
	/* The answer split over three descriptors (1 + 1 + 2 bytes) is written across them. */
	b = g.fm.buf + (BUF - MEM_GPA);
	memset(b + 0x200, 0, 4);
	memset(b + 0x210, 0xAA, 16);
	vqd_add(&g.d,
		(struct vqd_buf[]){{BUF + 0x200, 4, false},
				   {BUF + 0x210, 1, true},
				   {BUF + 0x218, 1, true},
				   {BUF + 0x21c, 2, true}},
		4);
	kick(&g);
	complete(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(b[0x210], 0);
	assert_int_equal(b[0x218], 0);
	assert_int_equal(b[0x21c], 0);
	assert_int_equal(b[0x21d], 0);
	assert_int_equal(b[0x211], 0xAA);
	/* A 3-byte answer buffer: a device error, nothing answered, no crash. */
	vqd_add(&g.d, (struct vqd_buf[]){{BUF + 0x300, 4, false}, {BUF + 0x310, 3, true}}, 2);
	kick(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 0);
	assert_true(status(&g) & VIRTIO_STATUS_NEEDS_RESET);
	rig_down(&g);

	/* A descriptor outside guest memory, and a looping chain: the queue breaks. */
	rig_up(&g, false);
	vqd_add(&g.d, (struct vqd_buf[]){{BUF, 4, false}, {MEM_GPA + MEM_SIZE - 2, 4, true}}, 2);
	kick(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 0);
	assert_true(status(&g) & VIRTIO_STATUS_NEEDS_RESET);
	rig_down(&g);
	rig_up(&g, false);
	vqd_put_desc(&g.d, 5, BUF, 4, VIRTQ_DESC_F_NEXT, 5);
	vqd_publish(&g.d, 5);
	kick(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 0);
	assert_true(status(&g) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(host_calls(), 0);
	rig_down(&g);
}

/*
 * More FLUSHes than the device holds (a driver reusing one head): a queue's
 * worth is held, the rest waits in the ring and is served as batches complete.
 */
static void test_bounded_requests(void **state)
{
	struct rig g;
	uint32_t id, len;
	unsigned int i, n = 0;

	rig_up(&g, false);
	set_hold(true);
	flush_req(&g, 0, VPMEM_REQ_TYPE_FLUSH); /* descriptors 0 and 1 */
	kick(&g);
	for (i = 1; i < 2 * VPMEM_QUEUE_SIZE; i++) {
		vqd_publish(&g.d, 0); /* the same head, again and again */
		kick(&g);
	}
	assert_int_equal(g.p.nr_reqs, VPMEM_QUEUE_SIZE);
	assert_false(status(&g) & VIRTIO_STATUS_NEEDS_RESET);
	set_hold(false);
	for (i = 0; i < 4 && n < 2 * VPMEM_QUEUE_SIZE; i++) {
		complete(&g);
		while (vqd_get_used(&g.d, &id, &len))
			n++;
	}
	assert_int_equal(n, 2 * VPMEM_QUEUE_SIZE);
	assert_int_equal(g.p.nr_reqs, 0);
	rig_down(&g);
}

/* discard_writes=on: nothing to make durable, answered at once without the worker. */
static void test_discard_answers_at_once(void **state)
{
	struct rig g;
	uint32_t id, len;

	rig_up(&g, true);
	flush_req(&g, 0, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(answer(&g, 0), VPMEM_RESP_OK);
	assert_int_equal(host_calls(), 0);
	rig_down(&g);
}

/* A reset while a flush runs: its answer goes to nobody; the new driver's FLUSH gets its own. */
static void test_reset_during_flush(void **state)
{
	struct rig g;
	uint32_t id, len;

	rig_up(&g, false);
	set_hold(true);
	flush_req(&g, 0, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	virtio_pci_reset(&g.vp);
	vqd_init(&g.d, &g.fm, MEM_GPA, VPMEM_QUEUE_SIZE);
	memset(g.fm.buf, 0, 0x3000);
	assert_int_equal(vdrv_bring_up(&g.fp, &g.vp, VDRV_VERSION_1,
				       (struct vdrv_queue[]){vdrv_queue_of(&g.d, 0)}, 1),
			 0xF);
	flush_req(&g, 64, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	set_hold(false);
	complete(&g); /* the old flush: nothing to answer */
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 0);
	assert_int_equal(answer(&g, 0), 0xAAAAAAAA);
	complete(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(answer(&g, 64), VPMEM_RESP_OK);
	rig_down(&g);
}

/* Paused (QMP stop): a completion is held until cont. */
static void test_pause_holds_answer(void **state)
{
	struct rig g;
	uint32_t id, len;

	rig_up(&g, false);
	set_hold(true);
	flush_req(&g, 0, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	virtio_pci_set_paused(&g.vp, true);
	set_hold(false);
	complete(&g);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 0);
	virtio_pci_set_paused(&g.vp, false);
	vpmem_set_paused(&g.p, false);
	assert_int_equal(vqd_get_used(&g.d, &id, &len), 1);
	assert_int_equal(answer(&g, 0), VPMEM_RESP_OK);
	rig_down(&g);
}

static void save_one(struct vpmem *p, struct mv_state_writer *w, struct mv_state_section *sec)
{
	char err[256];

	mv_sw_init(w);
	vpmem_save(p, "pmem0", w);
	assert_int_equal(mv_sw_error(w), 0);
	assert_int_equal(mv_state_find(w->buf, w->len, "virtio-pmem.pmem0", sec, err, sizeof(err)),
			 0);
}

/* A FLUSH running at save time is flushed and answered by the loaded device. */
static void test_save_load_round_trip(void **state)
{
	struct rig g, h;
	struct mv_state_writer w;
	struct mv_state_section sec;
	char err[256];
	uint32_t id, len;
	uint16_t head;

	rig_up(&g, false);
	set_hold(true);
	head = flush_req(&g, 0, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	save_one(&g.p, &w, &sec);
	set_hold(false);
	complete(&g);
	rig_down(&g);

	/* The "restored" VM: same memory contents, a fresh device and transport. */
	rig_up(&h, false);
	memset(h.fm.buf + (BUF - MEM_GPA) + 16, 0xAA, 4);
	assert_int_equal(vpmem_load(&h.p, "pmem0", &sec, err, sizeof(err)), 0);
	assert_int_equal(h.p.nr_reqs, 1);
	assert_int_equal(h.p.flushes, 2); /* the saved one, and the one load started */
	complete(&h);
	assert_int_equal(answer(&h, 0), VPMEM_RESP_OK);
	assert_int_equal(vqd_get_used(&h.d, &id, &len), 1);
	assert_int_equal(id, head);
	mv_sw_free(&w);
	rig_down(&h);
}

static void test_load_refusals(void **state)
{
	struct rig g, h;
	struct mv_state_writer w;
	struct mv_state_section sec;
	char err[256];
	struct vpmem_params other = {.start = START + (128ULL << 20), .size = SIZE};
	struct vpmem q;

	rig_up(&g, false);
	set_hold(true);
	flush_req(&g, 0, VPMEM_REQ_TYPE_FLUSH);
	kick(&g);
	save_one(&g.p, &w, &sec);

	/* Another range. */
	assert_int_equal(vpmem_init(&q, &other, &hops, &g.fm.map, NULL), 0);
	assert_int_equal(vpmem_load(&q, "pmem0", &sec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "virtio-pmem.pmem0: start/size"));
	assert_int_equal(q.nr_reqs, 0);
	vpmem_destroy(&q);

	rig_up(&h, false);
	/* Truncated payload. */
	sec.payload.len -= 3;
	assert_int_equal(vpmem_load(&h.p, "pmem0", &sec, err, sizeof(err)), -EINVAL);
	assert_int_equal(h.p.nr_reqs, 0);
	sec.payload.len += 3;
	/* The answer's gpa moved outside guest memory (u16 head, u8 nseg, then u64 gpa). */
	{
		uint8_t *pl = (uint8_t *)sec.payload.p;
		uint64_t bad = htole64(MEM_GPA + MEM_SIZE);

		memcpy(pl + 36 + 3, &bad, 8);
		assert_int_equal(vpmem_load(&h.p, "pmem0", &sec, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "not in guest memory"));
		pl[36] = 200; /* head beyond the queue */
		assert_int_equal(vpmem_load(&h.p, "pmem0", &sec, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "out of range"));
	}
	assert_int_equal(h.p.nr_reqs, 0);
	mv_sw_free(&w);
	rig_down(&h);
	rig_down(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_and_flush),
	    cmocka_unit_test(test_flush_failure_is_eio),
	    cmocka_unit_test(test_flush_after_flush),
	    cmocka_unit_test(test_hostile_requests),
	    cmocka_unit_test(test_bounded_requests),
	    cmocka_unit_test(test_discard_answers_at_once),
	    cmocka_unit_test(test_reset_during_flush),
	    cmocka_unit_test(test_pause_holds_answer),
	    cmocka_unit_test(test_save_load_round_trip),
	    cmocka_unit_test(test_load_refusals),
	};

	return cmocka_run_group_tests_name("virtio_pmem", tests, NULL, NULL);
}
