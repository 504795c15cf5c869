#include "virtio/vhost_user_takeover.h"

#include <errno.h>

#include "lib/util.h"
#include "virtio/virtq.h"

#define VUTAKE_MAX_INDIRECT 1024 /* descriptors in one indirect table */
#define AVAIL_IDX	    2
#define AVAIL_RING(i)	    (4 + 2ULL * (i))
#define USED_IDX	    2
#define USED_RING(i)	    (4 + 8ULL * (i))

struct vutake_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static int read_desc(struct gmem *m, uint64_t table, uint16_t i, struct vutake_desc *d)
{
	uint8_t b[16];

	if (gmem_read(m, table + 16ULL * i, b, sizeof(b)))
		return -EFAULT;
	d->addr = le_get(b, 8);
	d->len = le_get(b + 8, 4);
	d->flags = le_get(b + 12, 2);
	d->next = le_get(b + 14, 2);
	return 0;
}

static int read_u16(struct gmem *m, uint64_t gpa, uint16_t *v)
{
	uint8_t b[2];

	if (gmem_read(m, gpa, b, sizeof(b)))
		return -EFAULT;
	*v = le_get(b, 2);
	return 0;
}

static int write_u16(struct gmem *m, uint64_t gpa, uint16_t v)
{
	uint8_t b[2];

	le_put(b, v, 2);
	return gmem_write(m, gpa, b, sizeof(b)) ? -EFAULT : 0;
}

/* The last descriptor of the chain at head (one indirect level followed). */
static int last_desc(struct gmem *m, const struct vutake_ring *r, uint16_t head,
		     struct vutake_desc *d)
{
	uint64_t table = r->desc;
	unsigned int n = r->size, hops = 0;
	bool indirect = false;
	uint16_t i = head;

	if (head >= r->size)
		return -EPROTO;
	for (;;) {
		if (read_desc(m, table, i, d))
			return -EFAULT;
		if (d->flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect || d->len % 16 || !d->len || d->len / 16 > VUTAKE_MAX_INDIRECT)
				return -EPROTO;
			indirect = true;
			table = d->addr;
			n = d->len / 16;
			i = 0;
			hops = 0;
			continue;
		}
		if (!(d->flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (++hops >= n || d->next >= n)
			return -EPROTO;
		i = d->next;
	}
}

static int push_used(struct gmem *m, struct vutake_ring *r, uint16_t head, uint32_t len)
{
	uint8_t elem[8];

	le_put(elem, head, 4);
	le_put(elem + 4, len, 4);
	if (gmem_write(m, r->used + USED_RING(r->used_idx & (r->size - 1)), elem, sizeof(elem)))
		return -EFAULT;
	/* The element before the index that publishes it (the driver reads them in that order). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (write_u16(m, r->used + USED_IDX, (uint16_t)(r->used_idx + 1)))
		return -EFAULT;
	r->used_idx++;
	return 0;
}

int vutake_fail_chain(struct gmem *m, struct vutake_ring *r, uint16_t head)
{
	uint8_t status = VUTAKE_BLK_IOERR;
	struct vutake_desc d;
	int ret = last_desc(m, r, head, &d);

	if (ret)
		return ret;
	if (!(d.flags & VIRTQ_DESC_F_WRITE) || !d.len)
		return -EPROTO;
	if (gmem_write(m, d.addr + d.len - 1, &status, 1))
		return -EFAULT;
	ret = push_used(m, r, head, 1);
	if (!ret)
		r->failed++;
	return ret;
}

int vutake_start(struct gmem *m, struct vutake_ring *r, const uint8_t *part, size_t len)
{
	uint16_t used, held = 0, batch_head = UINT16_MAX;
	int ret;

	if (!r->size || r->size > VIRTQ_MAX_SIZE || r->size & (r->size - 1))
		return -EPROTO;
	if (read_u16(m, r->used + USED_IDX, &used))
		return -EFAULT;
	r->used_idx = used;
	r->last_avail = used;
	/*
	 * No area: what the back-end held is not known, so everything made
	 * available so far is left to it (answering a chain it had already
	 * used would write into memory the driver has taken back).
	 */
	if (!part)
		return read_u16(m, r->avail + AVAIL_IDX, &r->last_avail) ? -EFAULT : 0;
	/* A part too small, or never set up (version 0): it holds nothing. */
	if (len < VUTAKE_HDR_SIZE + (size_t)VUTAKE_STATE_SIZE * r->size || !le_get(part + 8, 2))
		return 0;
	/* Used but not yet cleared: the last batch, when the guest's index is ahead. */
	if ((uint16_t)le_get(part + 14, 2) != used)
		batch_head = le_get(part + 12, 2);
	for (unsigned int i = 0; i < r->size; i++) {
		if (!part[VUTAKE_HDR_SIZE + VUTAKE_STATE_SIZE * i] || i == batch_head)
			continue;
		ret = vutake_fail_chain(m, r, i);
		if (ret)
			return ret;
		held++;
	}
	r->last_avail = used + held;
	return held;
}

int vutake_serve(struct gmem *m, struct vutake_ring *r)
{
	uint16_t avail, head;
	int done = 0, ret;

	if (read_u16(m, r->avail + AVAIL_IDX, &avail))
		return -EFAULT;
	for (;;) {
		if ((uint16_t)(avail - r->last_avail) > r->size)
			return -EPROTO;
		/* The avail entries after the index that published them. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		while (r->last_avail != avail && done < r->size) {
			if (read_u16(m, r->avail + AVAIL_RING(r->last_avail & (r->size - 1)),
				     &head))
				return -EFAULT;
			ret = vutake_fail_chain(m, r, head);
			if (ret)
				return ret;
			r->last_avail++;
			done++;
		}
		if (done == r->size)
			return done;
		/*
		 * avail_event, after the used ring: notify again past this. Then
		 * look once more, for what the driver added before it saw it.
		 */
		if (write_u16(m, r->used + USED_RING(r->size), r->last_avail))
			return -EFAULT;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (read_u16(m, r->avail + AVAIL_IDX, &avail))
			return -EFAULT;
		if (avail == r->last_avail)
			return done;
	}
}
