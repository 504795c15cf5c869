/*
 * fuzz_vmem: the virtio-mem request path. Each 32-byte record of the input
 * is one step: a request (24 bytes as the guest wrote it) queued through a
 * real virtqueue with buffer sizes and host failures chosen by the record,
 * or a host action (resize, system reset, virtio reset). After every step
 * the device's bitmap must match what the fake host was told.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "fakes.h"
#include "virtio/mem.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x20000ULL
#define REQ_GPA	 (MEM_GPA + 0x10000)
#define RESP_GPA (MEM_GPA + 0x11000)
#define BS	 (2 * MiB)
#define ADDR	 (4 * GiB)
#define NBLK	 64
#define REGION	 (NBLK * BS)

struct fz {
	struct vmem m;
	bool host[NBLK];
	int fail;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_apply(struct vmem *m, uint64_t off, uint64_t len, bool plug)
{
	struct fz *f = container_of(m, struct fz, m);
	uint64_t i;

	if (f->fail)
		return -EBUSY;
	if (off % BS || len % BS || !len || off + len > REGION || off + len < off)
		abort();
	for (i = off / BS; i < (off + len) / BS; i++) {
		if (f->host[i] == plug)
			abort(); /* asked to plug what is plugged, or the reverse */
		f->host[i] = plug;
	}
	return 0;
}

static int fz_plug(struct vmem *m, uint64_t off, uint64_t len)
{
	return fz_apply(m, off, len, true);
}

static int fz_unplug(struct vmem *m, uint64_t off, uint64_t len)
{
	return fz_apply(m, off, len, false);
}

static const struct vmem_host_ops fz_ops = {.plug = fz_plug, .unplug = fz_unplug};

static void fz_check(struct fz *f)
{
	uint64_t i, n = 0;

	for (i = 0; i < NBLK; i++) {
		if (vmem_state_test(&f->m.st, i) != f->host[i])
			abort();
		n += f->host[i];
	}
	if (n * BS != f->m.st.plugged_size || f->m.st.usable_size > REGION ||
	    f->m.st.usable_size < f->m.st.requested_size || f->m.st.usable_size % BS)
		abort();
}

static void fz_driver_init(struct fz *f, struct vqd *d)
{
	struct virtio_dev *v = &f->m.vdev;

	virtio_dev_set_status(v, 0);
	v->driver_features = 1ULL << 32 | 1ULL << VMEM_F_UNPLUGGED_INACCESSIBLE;
	virtio_dev_set_status(v, 0xB);
	d->avail_idx = d->last_used = d->next_desc = 0;
	memset(vqd_ptr(d, d->desc), 0, 0x4000);
	v->vqs[0].desc = d->desc;
	v->vqs[0].avail = d->avail;
	v->vqs[0].used = d->used;
	if (virtq_enable(&v->vqs[0]))
		abort();
	virtio_dev_set_status(v, 0xF);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	struct vmem_params p = {ADDR, REGION, BS, 16 * BS, -1, true};
	struct fake_gmem fm;
	struct vqd d;
	char err[128];
	size_t at;

	memset(&f, 0, sizeof(f));
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	if (vmem_init(&f.m, &p, &fz_ops, &fm.map, err, sizeof(err)))
		abort();
	vqd_init(&d, &fm, MEM_GPA, VMEM_QUEUE_SIZE);
	fz_driver_init(&f, &d);
	for (at = 0; at + 32 <= size; at += 32) {
		const uint8_t *r = data + at;
		uint8_t op = r[24];
		uint32_t id, len;

		f.fail = (r[25] & 7) == 0;
		pthread_mutex_lock(&f.m.vdev.lock);
		switch (op % 16) {
		case 0: {
			uint64_t req;

			memcpy(&req, r, 8);
			pthread_mutex_unlock(&f.m.vdev.lock);
			vmem_set_requested(&f.m,
					   (req % (REGION + 2 * BS)) & ~(r[8] & 1 ? 0xFFFULL : 0),
					   err, sizeof(err));
			pthread_mutex_lock(&f.m.vdev.lock);
			break;
		}
		case 1:
			pthread_mutex_unlock(&f.m.vdev.lock);
			f.fail = 0; /* a reboot that fails is reported, not fuzzed */
			vmem_system_reset(&f.m);
			pthread_mutex_lock(&f.m.vdev.lock);
			fz_driver_init(&f, &d);
			break;
		case 2:
			fz_driver_init(&f, &d);
			break;
		default: {
			/* Request and response lengths from the record: mostly right. */
			uint32_t rl = op & 0x10 ? r[26] % 40 : 24, sl = op & 0x20 ? r[27] % 16 : 10;
			struct vqd_buf b[2] = {{REQ_GPA, rl, false}, {RESP_GPA, sl, true}};

			memcpy(vqd_ptr(&d, REQ_GPA), r, 24);
			/* Addresses inside the region most of the time. */
			if (!(op & 0x40)) {
				uint64_t a =
				    ADDR + (r[8] % (NBLK + 2)) * BS + (op & 0x80 ? r[9] : 0);

				memcpy(vqd_ptr(&d, REQ_GPA + 8), &a, 8);
				vqd_ptr(&d, REQ_GPA)[0] &= 3;
				vqd_ptr(&d, REQ_GPA)[1] = 0;
				vqd_ptr(&d, REQ_GPA + 16)[1] &= 0x80;
			}
			vqd_add(&d, b, 2);
			virtio_dev_queue_notify(&f.m.vdev, 0);
			while (vqd_get_used(&d, &id, &len))
				if (len != 10)
					abort();
			if (f.m.vdev.status & VIRTIO_STATUS_NEEDS_RESET)
				fz_driver_init(&f, &d);
			break;
		}
		}
		pthread_mutex_unlock(&f.m.vdev.lock);
		fz_check(&f);
	}
	vmem_destroy(&f.m);
	fake_gmem_free(&fm);
	return 0;
}
