/*
 * fuzz_blk: virtio-blk as a hostile driver drives it. Each 24-byte record
 * is one request through a real virtqueue (type, sector, up to three data
 * segments of any length and direction, a status byte or none, on one of
 * two queues) or a virtio reset. The fake disk aborts on any access past
 * its end; after each step the device has returned every request it took
 * or reset them, and its job slots balance.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fakes.h"
#include "lib/util.h"
#include "virtio/blk.h"
#include "virtio_test.h"

#define MEM_GPA	  0x100000ULL
#define MEM_SIZE  0x40000ULL
#define BUF	  (MEM_GPA + 0x20000)
#define DISK_SIZE (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t disk[DISK_SIZE];

static void in_disk(uint64_t off, uint64_t len)
{
	if (off > DISK_SIZE || len > DISK_SIZE - off)
		abort();
}

static int fz_read(struct vblk *b, uint64_t off, void *buf, size_t len)
{
	in_disk(off, len);
	memcpy(buf, disk + off, len);
	return 0;
}

static int fz_write(struct vblk *b, uint64_t off, const void *buf, size_t len)
{
	in_disk(off, len);
	memcpy(disk + off, buf, len);
	return 0;
}

static int fz_flush(struct vblk *b)
{
	return 0;
}

static int fz_discard(struct vblk *b, uint64_t off, uint64_t len)
{
	in_disk(off, len);
	return 0;
}

static int fz_zeroes(struct vblk *b, uint64_t off, uint64_t len, bool unmap)
{
	in_disk(off, len);
	memset(disk + off, 0, len);
	return 0;
}

static const struct vblk_host_ops fz_ops = {fz_read, fz_write, fz_flush, fz_discard, fz_zeroes};

static void fz_bring_up(struct vblk *b, struct vqd *q, struct fake_gmem *fm)
{
	vdev_bring_up_direct(&b->vdev, q, fm, MEM_GPA,
			     1ULL << 32 | 1ULL << VBLK_F_FLUSH | 1ULL << VBLK_F_DISCARD |
				 1ULL << VBLK_F_WRITE_ZEROES | 1ULL << VBLK_F_MQ,
			     2, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vblk b;
	const struct vblk_params p = {
	    .size = DISK_SIZE, .num_queues = 2, .queue_size = 16, .serial = "fuzz"};
	struct fake_gmem fm;
	struct vqd q[2];
	size_t at;

	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	if (vblk_init(&b, &p, &fz_ops, &fm.map, NULL))
		abort();
	pthread_mutex_lock(&b.vdev.lock);
	fz_bring_up(&b, q, &fm);
	pthread_mutex_unlock(&b.vdev.lock);
	for (at = 0; at + 24 <= size; at += 24) {
		const uint8_t *r = data + at;
		uint8_t op = r[0];
		unsigned int qi = op & 1, nseg = (op >> 1) % 4, n = 0;
		struct vqd_buf buf[6];
		uint8_t hdr[16] = {0};

		if ((op >> 3) % 16 == 0) {
			pthread_mutex_lock(&b.vdev.lock);
			fz_bring_up(&b, q, &fm);
			pthread_mutex_unlock(&b.vdev.lock);
			continue;
		}
		/* A known type most of the time, a sector near the end often. */
		le_put(hdr, (op & 0x80) ? r[1] : (uint32_t[]){0, 1, 4, 8, 11, 13}[r[1] % 6], 4);
		le_put(hdr + 8, (r[2] & 1) ? DISK_SIZE / 512 - r[3] % 8 : le_get(r + 3, 4), 8);
		memcpy(vqd_ptr(&q[qi], BUF + qi * 0x4000), hdr, 16);
		buf[n++] = (struct vqd_buf){BUF + qi * 0x4000, (r[2] & 2) ? 16u : r[4] % 24, false};
		for (unsigned int i = 0; i < nseg; i++) {
			uint32_t len = (r[2] & 4) ? 512u * (1 + r[5 + 3 * i] % 4)
						  : le_get(r + 5 + 3 * i, 2) % 0x1800;

			/* Data at BUF + 0x1000...; discard ranges written from the record. */
			memcpy(vqd_ptr(&q[qi], BUF + qi * 0x4000 + 0x100 + 0x10 * i), r + 12, 12);
			buf[n++] =
			    (struct vqd_buf){i == 0 && (r[2] & 8) ? BUF + qi * 0x4000 + 0x100
								  : BUF + 0x8000 + i * 0x2000,
					     len, (r[6 + 3 * i] & 1) != 0};
		}
		if (!(r[2] & 0x10))
			buf[n++] = (struct vqd_buf){BUF + qi * 0x4000 + 0x80, 1 + r[23] % 4, true};
		pthread_mutex_lock(&b.vdev.lock);
		vqd_add(&q[qi], buf, n);
		virtio_dev_queue_notify(&b.vdev, qi);
		pthread_mutex_unlock(&b.vdev.lock);
		vblk_wait_idle(&b);
		pthread_mutex_lock(&b.vdev.lock);
		vblk_done(&b);
		if (b.nr_jobs)
			abort(); /* everything taken came back */
		pthread_mutex_unlock(&b.vdev.lock);
	}
	vblk_destroy(&b);
	fake_gmem_free(&fm);
	return 0;
}
