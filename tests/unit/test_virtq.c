/* Unit tests for virtio/virtq: the split virtqueue against a hostile driver. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/log.h"
#include "virtio/virtq.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x40000ULL
#define QSZ	 8
#define BUF	 (MEM_GPA + 0x10000)

struct fix {
	struct fake_gmem fm;
	struct vqd d;
	struct virtq q;
	struct virtq_chain c;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	mv_log_set_quiet(true);
	fake_gmem_init(&f->fm, MEM_GPA, MEM_SIZE);
	vqd_init(&f->d, &f->fm, MEM_GPA, QSZ);
	virtq_init(&f->q, &f->fm.map, QSZ);
	f->q.desc = f->d.desc;
	f->q.avail = f->d.avail;
	f->q.used = f->d.used;
	assert_int_equal(virtq_enable(&f->q), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	fake_gmem_free(&f->fm);
	free(f);
	return 0;
}

static void test_pop_push_roundtrip(void **state)
{
	struct fix *f = *state;
	struct vqd_buf b[3] = {{BUF, 24, false}, {BUF + 100, 8, false}, {BUF + 200, 10, true}};
	uint8_t in[32], out[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	uint32_t id, len;
	uint16_t head;

	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	memset(vqd_ptr(&f->d, BUF), 0xAA, 24);
	memset(vqd_ptr(&f->d, BUF + 100), 0xBB, 8);
	head = vqd_add(&f->d, b, 3);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, head);
	assert_int_equal(f->c.nr, 3);
	assert_int_equal(f->c.nr_out, 2);
	assert_int_equal(f->c.out_len, 32);
	assert_int_equal(f->c.in_len, 10);
	/* Reads cross the segment boundary; reads past the end fail. */
	assert_int_equal(virtq_chain_read(&f->q, &f->c, 0, in, 32), 0);
	assert_int_equal(in[23], 0xAA);
	assert_int_equal(in[24], 0xBB);
	assert_int_equal(virtq_chain_read(&f->q, &f->c, 1, in, 32), -EFAULT);
	assert_int_equal(virtq_chain_write(&f->q, &f->c, 0, out, 11), -EFAULT);
	assert_int_equal(virtq_chain_write(&f->q, &f->c, 0, out, 10), 0);
	assert_memory_equal(vqd_ptr(&f->d, BUF + 200), out, 10);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	assert_int_equal(virtq_push(&f->q, head, 10), 0);
	assert_true(virtq_should_notify(&f->q));
	assert_int_equal(vqd_get_used(&f->d, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 10);
}

static void test_wrapped_indices(void **state)
{
	struct fix *f = *state;
	struct vqd_buf b = {BUF, 16, true};
	uint32_t id, len;
	int i;

	/* Both sides start just below 2^16 and cross it. */
	f->d.avail_idx = f->d.last_used = 0xFFFD;
	f->q.last_avail_idx = f->q.used_idx = 0xFFFD;
	for (i = 0; i < 6; i++) {
		uint16_t head = vqd_add(&f->d, &b, 1);

		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
		assert_int_equal(f->c.head, head);
		assert_int_equal(virtq_push(&f->q, head, 16), 0);
		assert_int_equal(vqd_get_used(&f->d, &id, &len), 1);
		assert_int_equal(id, head);
	}
	assert_false(f->q.broken);
}

static void test_no_interrupt_flag(void **state)
{
	struct fix *f = *state;

	vqd_set_avail_flags(&f->d, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_should_notify(&f->q));
	vqd_set_avail_flags(&f->d, 0);
	assert_true(virtq_should_notify(&f->q));
}

/* Publish descriptor 0 as a chain head and expect the queue to break. */
static void expect_broken(struct fix *f)
{
	vqd_publish(&f->d, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EPROTO);
	assert_true(f->q.broken);
	/* Broken stays broken (nothing more is read) until reset. */
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	assert_int_equal(virtq_push(&f->q, 0, 0), -EINVAL);
}

static void test_loop(void **state)
{
	struct fix *f = *state;

	vqd_put_desc(&f->d, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	vqd_put_desc(&f->d, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	expect_broken(f);
}

static void test_self_loop(void **state)
{
	struct fix *f = *state;

	vqd_put_desc(&f->d, 0, BUF, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	expect_broken(f);
}

static void test_next_out_of_range(void **state)
{
	struct fix *f = *state;

	vqd_put_desc(&f->d, 0, BUF, 8, VIRTQ_DESC_F_NEXT, QSZ);
	expect_broken(f);
}

static void test_head_out_of_range(void **state)
{
	struct fix *f = *state;

	vqd_publish(&f->d, QSZ + 3);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EPROTO);
}

static void test_addr_outside_memory(void **state)
{
	struct fix *f = *state;

	vqd_put_desc(&f->d, 0, MEM_GPA + MEM_SIZE - 4, 8, 0, 0);
	expect_broken(f);
}

static void test_addr_wraps(void **state)
{
	struct fix *f = *state;

	vqd_put_desc(&f->d, 0, UINT64_MAX - 3, 0x10, 0, 0);
	expect_broken(f);
}

static void test_zero_length(void **state)
{
	struct fix *f = *state;

	vqd_put_desc(&f->d, 0, BUF, 0, 0, 0);
	expect_broken(f);
}

static void test_indirect_refused(void **state)
{
	struct fix *f = *state;

	vqd_put_desc(&f->d, 0, BUF, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_broken(f);
}

static void test_readable_after_writable(void **state)
{
	struct fix *f = *state;

	vqd_put_desc(&f->d, 0, BUF, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	vqd_put_desc(&f->d, 1, BUF + 8, 8, 0, 0);
	expect_broken(f);
}

static void test_avail_idx_jump(void **state)
{
	struct fix *f = *state;

	vqd_set_avail_idx(&f->d, QSZ + 1);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EPROTO);
	assert_true(f->q.broken);
	/* Reset brings it back, disabled. */
	virtq_reset(&f->q);
	assert_false(f->q.broken);
	assert_false(f->q.enabled);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
}

static void test_full_queue_ok(void **state)
{
	struct fix *f = *state;
	struct vqd_buf b = {BUF, 4, false};
	int i;

	/* Exactly a queue ahead is legal. */
	for (i = 0; i < QSZ; i++)
		vqd_add(&f->d, &b, 1);
	for (i = 0; i < QSZ; i++)
		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
}

/*
 * Two adjacent guest ranges with different host backing (two boot zones, two
 * plugged granules): a buffer across the seam is as legal as any other.
 */
#define SEAM (MEM_GPA + MEM_SIZE)

static uint8_t seam_host[0x2000];

static void add_seam_range(struct fix *f)
{
	memset(seam_host, 0, sizeof(seam_host));
	assert_int_equal(gmem_add(&f->fm.map, SEAM, sizeof(seam_host), seam_host), 0);
}

static void test_buffer_across_seam(void **state)
{
	struct fix *f = *state;
	struct vqd_buf b[2] = {{SEAM - 0x1000, 0x2000, false}, {SEAM - 0x400, 0x800, true}};
	static uint8_t in[0x2000], out[0x800];
	unsigned int i;
	uint16_t head;

	add_seam_range(f);
	memset(f->fm.buf + (SEAM - 0x1000 - MEM_GPA), 0xA1, 0x1000);
	memset(seam_host, 0xB2, 0x1000);
	for (i = 0; i < sizeof(out); i++)
		out[i] = i * 7;
	head = vqd_add(&f->d, b, 2);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.out_len, 0x2000);
	assert_int_equal(f->c.in_len, 0x800);
	assert_int_equal(virtq_chain_read(&f->q, &f->c, 0, in, sizeof(in)), 0);
	assert_int_equal(in[0], 0xA1);
	assert_int_equal(in[0xFFF], 0xA1);
	assert_int_equal(in[0x1000], 0xB2);
	assert_int_equal(in[0x1FFF], 0xB2);
	assert_int_equal(virtq_chain_write(&f->q, &f->c, 0, out, sizeof(out)), 0);
	assert_memory_equal(f->fm.buf + (SEAM - 0x400 - MEM_GPA), out, 0x400);
	assert_memory_equal(seam_host, out + 0x400, 0x400);
	/* The used ring itself may straddle the seam too: idx before, entries after. */
	f->q.used = SEAM - 4;
	assert_int_equal(virtq_push(&f->q, head, 0x800), 0);
	assert_int_equal(seam_host[0], head);
	assert_int_equal(seam_host[4], 0x00);
	assert_int_equal(seam_host[5], 0x08);
	assert_int_equal(f->fm.buf[SEAM - 2 - MEM_GPA], 1);
}

static void test_buffer_one_byte_past_ram(void **state)
{
	struct fix *f = *state;

	add_seam_range(f);
	/* Across the seam and one byte past the end of the second range. */
	vqd_put_desc(&f->d, 0, SEAM - 0x1000, 0x1000 + sizeof(seam_host) + 1, 0, 0);
	expect_broken(f);
}

static void test_buffer_across_hole(void **state)
{
	struct fix *f = *state;

	add_seam_range(f);
	/* An unplugged granule in the middle: no longer one span of RAM. */
	assert_int_equal(gmem_remove(&f->fm.map, SEAM, 0x1000), 0);
	vqd_put_desc(&f->d, 0, SEAM - 0x100, 0x1200, 0, 0);
	expect_broken(f);
}

/*
 * A driver that keeps the avail index one ahead: at most a queue's worth
 * of chains per notification, then `more` says work is left; the next
 * notification (budget reset) continues where this one stopped.
 */
static void test_budget_per_notification(void **state)
{
	struct fix *f = *state;
	struct vqd_buf b = {BUF, 4, false};
	int i, popped = 0;

	vqd_add(&f->d, &b, 1);
	virtq_budget_reset(&f->q);
	while (popped < 4 * QSZ && virtq_pop(&f->q, &f->c) == 1) {
		assert_int_equal(virtq_push(&f->q, f->c.head, 0), 0);
		popped++;
		vqd_add(&f->d, &b, 1); /* one more, never more than a queue ahead */
	}
	assert_int_equal(popped, QSZ);
	assert_true(f->q.more);
	assert_false(f->q.broken);
	virtq_budget_reset(&f->q);
	assert_false(f->q.more);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	/* With nothing left, an exhausted budget is not "more". */
	assert_int_equal(virtq_push(&f->q, f->c.head, 0), 0);
	for (i = 0; i < QSZ; i++)
		vqd_add(&f->d, &b, 1);
	virtq_budget_reset(&f->q);
	for (i = 0; i < QSZ; i++) {
		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
		assert_int_equal(virtq_push(&f->q, f->c.head, 0), 0);
	}
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	assert_false(f->q.more);
}

static void test_ring_outside_memory(void **state)
{
	struct fix *f = *state;

	virtq_reset(&f->q);
	f->q.size = QSZ;
	f->q.desc = MEM_GPA;
	f->q.avail = MEM_GPA + MEM_SIZE; /* just past the end */
	f->q.used = f->d.used;
	assert_int_equal(virtq_enable(&f->q), 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EPROTO);
	/* A used ring outside memory fails the push, never writes. */
	virtq_reset(&f->q);
	f->q.avail = f->d.avail;
	f->q.used = UINT64_MAX - 3;
	assert_int_equal(virtq_enable(&f->q), 0);
	assert_int_equal(virtq_push(&f->q, 0, 0), -EFAULT);
}

static void test_enable_checks(void **state)
{
	struct fix *f = *state;

	virtq_reset(&f->q);
	f->q.size = 6;
	assert_int_equal(virtq_enable(&f->q), -EINVAL);
	f->q.size = 2 * QSZ;
	assert_int_equal(virtq_enable(&f->q), -EINVAL);
	f->q.size = 0;
	assert_int_equal(virtq_enable(&f->q), -EINVAL);
	f->q.size = QSZ / 2;
	f->q.desc = 8;
	assert_int_equal(virtq_enable(&f->q), -EINVAL);
	f->q.desc = 16;
	f->q.used = 2;
	assert_int_equal(virtq_enable(&f->q), -EINVAL);
	f->q.used = 4;
	assert_int_equal(virtq_enable(&f->q), 0);
}

static void test_chain_too_long_for_device(void **state)
{
	struct fake_gmem fm;
	struct vqd d;
	struct virtq q;
	struct virtq_chain c;
	uint16_t i, n = VIRTQ_MAX_SEGS + 1;

	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	vqd_init(&d, &fm, MEM_GPA, 256);
	virtq_init(&q, &fm.map, 256);
	q.desc = d.desc;
	q.avail = d.avail;
	q.used = d.used;
	assert_int_equal(virtq_enable(&q), 0);
	for (i = 0; i < n; i++)
		vqd_put_desc(&d, i, BUF, 4, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	vqd_publish(&d, 0);
	assert_int_equal(virtq_pop(&q, &c), -EPROTO);
	fake_gmem_free(&fm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pop_push_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrapped_indices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_self_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_next_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_addr_outside_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_addr_wraps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zero_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_indirect_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avail_idx_jump, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_queue_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_budget_per_notification, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ring_outside_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buffer_across_seam, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buffer_one_byte_past_ram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buffer_across_hole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enable_checks, setup, teardown),
	    cmocka_unit_test(test_chain_too_long_for_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
