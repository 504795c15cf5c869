/*
 * fuzz_balloon: virtio-balloon as a hostile driver drives it. Each 32-byte
 * record of the input is one step: an inflate, deflate, statistics or
 * reporting buffer through a real virtqueue (PFNs, ranges and lengths from
 * the record), a config write of any width at any offset, or a host action
 * (new target, statistics poll, virtio reset). The fake host filters
 * discards as the board does (vb_span_clip, vb_align_in); after every step
 * no byte outside the fake guest RAM has been discarded, and every byte the
 * device handed the host was accounted for exactly once.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fakes.h"
#include "lib/util.h"
#include "virtio/balloon.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x40000ULL
#define BUF	 (MEM_GPA + 0x20000)
#define RAM_GPA	 0x40000000ULL
#define RAM_SIZE 0x10000000ULL
#define PAGE	 0x200000ULL /* "hugetlb" host pages: alignment matters */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t handed, accounted;

static void fz_discard(struct vballoon *b, uint64_t gpa, uint64_t len, struct vb_discard *out)
{
	static const struct vb_span ram = {RAM_GPA, RAM_SIZE};

	handed += len;
	while (len) {
		uint64_t piece, a, l;

		if (vb_span_clip(&ram, 1, gpa, len, &piece) < 0) {
			if (gpa >= RAM_GPA && gpa - RAM_GPA < RAM_SIZE)
				abort(); /* inside RAM, called outside */
			out->refused += piece;
		} else if (!vb_align_in(gpa, piece, PAGE, &a, &l)) {
			out->skipped += piece;
		} else {
			if (a < RAM_GPA || l > RAM_SIZE || a - RAM_GPA > RAM_SIZE - l || a % PAGE ||
			    l % PAGE || a < gpa || l > piece)
				abort(); /* a discard outside RAM or outside the range */
			out->skipped += piece - l;
			out->discarded += l;
		}
		if (!piece || piece > len)
			abort();
		gpa += piece;
		len -= piece;
	}
}

static const struct vballoon_host_ops fz_ops = {.discard = fz_discard};

static void fz_bring_up(struct vballoon *b, struct vqd *q, struct fake_gmem *fm, uint64_t feats)
{
	vdev_bring_up_direct(&b->vdev, q, fm, MEM_GPA, feats, 4, VB_QUEUE_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vballoon b;
	const struct vballoon_params p = {.deflate_on_oom = true, .free_page_reporting = true};
	uint64_t feats = 1ULL << 32 | 1ULL << VB_F_STATS_VQ | 1ULL << VB_F_REPORTING;
	struct fake_gmem fm;
	struct vqd q[4];
	size_t at;

	handed = accounted = 0;
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	if (vballoon_init(&b, &p, &fz_ops, &fm.map, NULL))
		abort();
	pthread_mutex_lock(&b.vdev.lock);
	fz_bring_up(&b, q, &fm, feats);
	pthread_mutex_unlock(&b.vdev.lock);
	for (at = 0; at + 32 <= size; at += 32) {
		const uint8_t *r = data + at;
		uint8_t op = r[28];
		uint32_t id, len, pfns[6];
		unsigned int qi;

		switch (op % 8) {
		case 0:
			vballoon_set_target(&b, (uint32_t)r[0] << 8 | r[1]);
			continue;
		case 1:
			vballoon_stats_poll(&b);
			break;
		case 2: {
			/* A config write of any width at any offset (the transport checks bounds).
			 */
			uint32_t off = r[0] % VB_CONFIG_SIZE, w = 1 + r[1] % 4;

			pthread_mutex_lock(&b.vdev.lock);
			if (off + w <= VB_CONFIG_SIZE)
				b.vdev.ops->config_write(&b.vdev, off, r + 2, w);
			pthread_mutex_unlock(&b.vdev.lock);
			continue;
		}
		case 3:
			pthread_mutex_lock(&b.vdev.lock);
			/* Sometimes a driver without statistics: the reporting queue moves to 2. */
			fz_bring_up(&b, q, &fm,
				    r[0] & 1 ? feats : (1ULL << 32 | 1ULL << VB_F_REPORTING));
			pthread_mutex_unlock(&b.vdev.lock);
			continue;
		default: {
			/* PFNs near RAM's edges most of the time, anything otherwise. */
			struct vqd_buf buf[2];
			unsigned int n = 1;

			qi = (op >> 3) % 4;
			memcpy(pfns, r, sizeof(pfns));
			if (!(op & 0x80))
				for (unsigned int i = 0; i < 6; i++)
					pfns[i] = (uint32_t)((RAM_GPA >> 12) - 8 + pfns[i] % 16 +
							     (r[24] & 1 ? (RAM_SIZE >> 12) : 0));
			memcpy(vqd_ptr(&q[qi], BUF), pfns, sizeof(pfns));
			buf[0] = (struct vqd_buf){BUF, (uint32_t)(r[25] % 32), (r[26] & 1) != 0};
			if (qi == 3 || (op & 0x40)) {
				/* A reporting range: in guest memory, or it breaks the ring. */
				uint64_t g = (r[24] & 2) ? MEM_GPA + (r[27] % 64) * 0x1000 : BUF;

				buf[1] =
				    (struct vqd_buf){g, (uint32_t)(r[26] % 3 + 1) * 0x1000, true};
				n = 2;
			}
			pthread_mutex_lock(&b.vdev.lock);
			vqd_add(&q[qi], buf, n);
			virtio_dev_queue_notify(&b.vdev, qi);
			if (b.vdev.status & VIRTIO_STATUS_NEEDS_RESET)
				fz_bring_up(&b, q, &fm, feats);
			pthread_mutex_unlock(&b.vdev.lock);
			break;
		}
		}
		for (qi = 0; qi < 4; qi++)
			while (vqd_get_used(&q[qi], &id, &len))
				if (len != 0)
					abort();
		accounted = b.c.discarded + b.c.refused + b.c.skipped + b.c.failed;
		if (accounted != handed)
			abort();
	}
	vballoon_destroy(&b);
	fake_gmem_free(&fm);
	return 0;
}
