/*
 * Unit tests for virtio/vhost_user_takeover: a virtio-blk ring answered
 * with IOERR after its back-end died, built in a buffer as a driver would,
 * with a dead back-end's inflight area beside it; malformed chains and
 * rings are refused and leave the used ring untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/guest.h"
#include "lib/util.h"
#include "virtio/virtq.h"
#include "virtio/vhost_user_takeover.h"

#define BASE	0x10000ULL
#define MEMSZ	0x10000
#define QSIZE	8
#define DESC	(BASE + 0x0)
#define AVAIL	(BASE + 0x100)
#define USED	(BASE + 0x200)
#define DATA	(BASE + 0x1000)
#define INDIR	(BASE + 0x2000)
#define PART_SZ (VUTAKE_HDR_SIZE + VUTAKE_STATE_SIZE * QSIZE)

static uint8_t mem[MEMSZ];
static struct gmem gm;

static uint8_t *at(uint64_t gpa)
{
	return mem + (gpa - BASE);
}

static void desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *p = at(table + 16ULL * i);

	le_put(p, addr, 8);
	le_put(p + 8, len, 4);
	le_put(p + 12, flags, 2);
	le_put(p + 14, next, 2);
}

/* A request of two descriptors, header and status; its status at DATA + 0x100 * n + 0xff. */
static void request(uint16_t head, unsigned int n)
{
	uint64_t d = DATA + 0x100ULL * n;

	desc(DESC, head, d, 16, VIRTQ_DESC_F_NEXT, (head + 1) % QSIZE);
	desc(DESC, (head + 1) % QSIZE, d + 0xff, 1, VIRTQ_DESC_F_WRITE, 0);
	*at(d + 0xff) = 0xEE;
}

static void avail_put(uint16_t pos, uint16_t head)
{
	le_put(at(AVAIL + 4 + 2ULL * (pos % QSIZE)), head, 2);
	le_put(at(AVAIL + 2), pos + 1, 2);
}

static uint16_t used_idx(void)
{
	return le_get(at(USED + 2), 2);
}

static uint32_t used_id(uint16_t pos)
{
	return le_get(at(USED + 4 + 8ULL * (pos % QSIZE)), 4);
}

static int setup(void **state)
{
	(void)state;
	memset(mem, 0, sizeof(mem));
	assert_int_equal(gmem_init(&gm), 0);
	assert_int_equal(gmem_add(&gm, BASE, MEMSZ, mem), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gmem_destroy(&gm);
	return 0;
}

static struct vutake_ring ring(void)
{
	return (struct vutake_ring){.desc = DESC, .avail = AVAIL, .used = USED, .size = QSIZE};
}

static void test_fail_chain(void **state)
{
	struct vutake_ring r = ring();

	(void)state;
	request(0, 0);
	assert_int_equal(vutake_fail_chain(&gm, &r, 0), 0);
	assert_int_equal(*at(DATA + 0xff), VUTAKE_BLK_IOERR);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_id(0), 0);
	assert_int_equal(le_get(at(USED + 8), 4), 1); /* one byte written */
	assert_int_equal(r.failed, 1);

	/* Indirect: the status is the table's last descriptor. */
	desc(DESC, 3, INDIR, 48, VIRTQ_DESC_F_INDIRECT, 0);
	desc(INDIR, 0, DATA + 0x300, 16, VIRTQ_DESC_F_NEXT, 2);
	desc(INDIR, 2, DATA + 0x310, 64, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(INDIR, 1, DATA + 0x3ff, 1, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(vutake_fail_chain(&gm, &r, 3), 0);
	assert_int_equal(*at(DATA + 0x3ff), VUTAKE_BLK_IOERR);
	assert_int_equal(used_idx(), 2);
	assert_int_equal(used_id(1), 3);
}

static void test_fail_chain_malformed(void **state)
{
	struct vutake_ring r = ring();

	(void)state;
	desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 0); /* loops on itself */
	assert_int_equal(vutake_fail_chain(&gm, &r, 0), -EPROTO);
	desc(DESC, 1, DATA, 16, VIRTQ_DESC_F_NEXT, QSIZE); /* next out of the ring */
	assert_int_equal(vutake_fail_chain(&gm, &r, 1), -EPROTO);
	desc(DESC, 2, DATA, 16, 0, 0); /* status not device-writable */
	assert_int_equal(vutake_fail_chain(&gm, &r, 2), -EPROTO);
	desc(DESC, 3, DATA, 0, VIRTQ_DESC_F_WRITE, 0); /* no byte for it */
	assert_int_equal(vutake_fail_chain(&gm, &r, 3), -EPROTO);
	desc(DESC, 4, DATA + MEMSZ, 1, VIRTQ_DESC_F_WRITE, 0); /* outside guest memory */
	assert_int_equal(vutake_fail_chain(&gm, &r, 4), -EFAULT);
	desc(DESC, 5, INDIR, 16, VIRTQ_DESC_F_INDIRECT, 0); /* an indirect in an indirect */
	desc(INDIR, 0, INDIR, 16, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(vutake_fail_chain(&gm, &r, 5), -EPROTO);
	desc(DESC, 6, INDIR, 20, VIRTQ_DESC_F_INDIRECT, 0); /* not whole descriptors */
	assert_int_equal(vutake_fail_chain(&gm, &r, 6), -EPROTO);
	desc(DESC, 7, INDIR, 32, VIRTQ_DESC_F_INDIRECT, 0); /* a loop inside the table */
	desc(INDIR, 0, DATA, 1, VIRTQ_DESC_F_NEXT, 1);
	desc(INDIR, 1, DATA, 1, VIRTQ_DESC_F_NEXT, 0);
	assert_int_equal(vutake_fail_chain(&gm, &r, 7), -EPROTO);
	assert_int_equal(vutake_fail_chain(&gm, &r, QSIZE), -EPROTO);
	assert_int_equal(used_idx(), 0);
	assert_int_equal(r.failed, 0);
}

static void test_start_and_serve(void **state)
{
	uint8_t part[PART_SZ] = {0};
	struct vutake_ring r = ring();

	(void)state;
	/* Three requests available: heads 0 and 3 taken by the back-end, 6 not yet. */
	request(0, 0);
	request(3, 1);
	request(6, 2);
	avail_put(0, 0);
	avail_put(1, 3);
	avail_put(2, 6);
	/* The back-end took 0 and 3 (both held), used nothing. */
	le_put(part + 8, 1, 2);
	part[VUTAKE_HDR_SIZE + VUTAKE_STATE_SIZE * 0] = 1;
	part[VUTAKE_HDR_SIZE + VUTAKE_STATE_SIZE * 3] = 1;
	assert_int_equal(vutake_start(&gm, &r, part, sizeof(part)), 2);
	assert_int_equal(*at(DATA + 0xff), VUTAKE_BLK_IOERR);
	assert_int_equal(*at(DATA + 0x1ff), VUTAKE_BLK_IOERR);
	assert_int_equal(*at(DATA + 0x2ff), 0xEE); /* not taken: not answered yet */
	assert_int_equal(r.last_avail, 2);
	assert_int_equal(used_idx(), 2);

	/* What it never took, and what comes after. */
	assert_int_equal(vutake_serve(&gm, &r), 1);
	assert_int_equal(*at(DATA + 0x2ff), VUTAKE_BLK_IOERR);
	assert_int_equal(used_id(2), 6);
	assert_int_equal(le_get(at(USED + 4 + 8 * QSIZE), 2), 3); /* avail_event */
	assert_int_equal(vutake_serve(&gm, &r), 0);
	request(0, 3);
	avail_put(3, 0);
	assert_int_equal(vutake_serve(&gm, &r), 1);
	assert_int_equal(*at(DATA + 0x3ff), VUTAKE_BLK_IOERR);
	assert_int_equal(used_idx(), 4);
	assert_int_equal(r.failed, 4);

	/* An avail index more than a ring ahead: refused. */
	le_put(at(AVAIL + 2), r.last_avail + QSIZE + 1, 2);
	assert_int_equal(vutake_serve(&gm, &r), -EPROTO);
}

static void test_start_last_batch_and_no_area(void **state)
{
	uint8_t part[PART_SZ] = {0};
	struct vutake_ring r = ring();

	(void)state;
	request(0, 0);
	request(3, 1);
	avail_put(0, 0);
	avail_put(1, 3);
	/* Head 0 was used (the guest sees used idx 1) but its state not yet cleared. */
	le_put(at(USED + 4), 0, 4);
	le_put(at(USED + 2), 1, 2);
	le_put(part + 8, 1, 2);
	le_put(part + 12, 0, 2); /* last_batch_head */
	le_put(part + 14, 0, 2); /* used_idx, one behind */
	part[VUTAKE_HDR_SIZE + VUTAKE_STATE_SIZE * 0] = 1;
	part[VUTAKE_HDR_SIZE + VUTAKE_STATE_SIZE * 3] = 1;
	assert_int_equal(vutake_start(&gm, &r, part, sizeof(part)), 1);
	assert_int_equal(*at(DATA + 0xff), 0xEE); /* the back-end's answer stands */
	assert_int_equal(*at(DATA + 0x1ff), VUTAKE_BLK_IOERR);
	assert_int_equal(r.last_avail, 2);
	assert_int_equal(used_idx(), 2);

	/* No area: what is available now is left alone, only what comes after is answered. */
	r = ring();
	request(6, 2);
	avail_put(2, 6);
	assert_int_equal(vutake_start(&gm, &r, NULL, 0), 0);
	assert_int_equal(r.last_avail, 3);
	assert_int_equal(r.used_idx, 2);
	assert_int_equal(vutake_serve(&gm, &r), 0);
	assert_int_equal(*at(DATA + 0x2ff), 0xEE);
	request(0, 3);
	avail_put(3, 0);
	assert_int_equal(vutake_serve(&gm, &r), 1);
	assert_int_equal(*at(DATA + 0x3ff), VUTAKE_BLK_IOERR);
	assert_int_equal(used_id(2), 0);
	/* An area never set up (version 0): nothing held, the avail ring from used on. */
	r = ring();
	memset(part, 0, sizeof(part));
	part[VUTAKE_HDR_SIZE] = 1;
	assert_int_equal(vutake_start(&gm, &r, part, sizeof(part)), 0);
	/* A ring that is not a power of two: refused. */
	r.size = 6;
	assert_int_equal(vutake_start(&gm, &r, part, sizeof(part)), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fail_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fail_chain_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_and_serve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_last_batch_and_no_area, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
