/*
 * fuzz_virtq: the split virtqueue over guest memory the fuzzer controls.
 * Input: byte 0 = log2 queue size, byte 1 = pops to try, the rest is copied
 * to the start of guest memory (descriptor table, avail ring and buffers).
 * Invariants: never crash, never touch memory outside the map, a popped
 * chain stays within its limits, readable before writable, a read past the
 * readable bytes is refused, and every failure is -EFAULT (or -EINVAL on a
 * queue already broken).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fakes.h"
#include "virtio/virtq.h"

#define MEM_GPA	 0x10000ULL
#define MEM_SIZE 0x8000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	struct fake_gmem fm;
	struct virtq q;
	uint16_t qsz;
	unsigned int pops, i, j;
	uint8_t buf[64];

	if (size < 2)
		return 0;
	qsz = 1U << (data[0] % 9); /* 1..256 */
	pops = data[1];
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	memcpy(fm.buf, data + 2, size - 2 < MEM_SIZE ? size - 2 : MEM_SIZE);
	virtq_init(&q, &fm.map, 256);
	q.size = qsz;
	q.desc = MEM_GPA;
	q.avail = MEM_GPA + 16ULL * qsz;
	/* The used ring overlaps nothing the fuzzer wrote only if it is short. */
	q.used = MEM_GPA + 0x6000;
	if (virtq_enable(&q))
		abort();
	for (i = 0; i < pops; i++) {
		int ret = virtq_pop(&q, &c);
		size_t len;

		if (ret <= 0)
			break;
		if (c.nr == 0 || c.nr > VIRTQ_MAX_SEGS || c.nr_out > c.nr || c.head >= qsz)
			abort();
		for (j = 0; j < c.nr; j++)
			if (!c.seg[j].len || c.seg[j].writable != (j >= c.nr_out))
				abort();
		len = c.out_len < sizeof(buf) ? c.out_len : 0;
		ret = virtq_chain_read(&q, &c, i % 7, buf, len);
		/* Past the readable bytes is refused; inside, a fuzzed address may fault. */
		if ((ret && ret != -EFAULT) || (!ret && len && i % 7 + len > c.out_len))
			abort();
		memset(buf, 0xA5, sizeof(buf));
		ret = virtq_chain_write(&q, &c, 0, buf,
					c.in_len < sizeof(buf) ? c.in_len : sizeof(buf));
		if (ret && ret != -EFAULT)
			abort();
		/* The used ring may lie outside guest memory (-EFAULT); the head is valid. */
		ret = virtq_push(&q, c.head, 10);
		if (ret && ret != -EFAULT && !(ret == -EINVAL && q.broken))
			abort();
		virtq_should_notify(&q);
	}
	fake_gmem_free(&fm);
	return 0;
}
