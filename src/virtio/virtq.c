#include "virtio/virtq.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

/* Split ring layout (VIRTIO 1.x 2.6): all fields little-endian. */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define AVAIL_FLAGS   0
#define AVAIL_IDX     2
#define AVAIL_RING(i) (4 + 2 * (uint64_t)(i))
#define USED_IDX      2
#define USED_RING(i)  (4 + 8 * (uint64_t)(i))

void virtq_init(struct virtq *q, struct gmem *mem, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->max_size = max_size;
	virtq_reset(q);
}

void virtq_reset(struct virtq *q)
{
	q->size = q->max_size;
	q->desc = q->avail = q->used = 0;
	q->enabled = false;
	q->broken = false;
	q->last_avail_idx = 0;
	q->used_idx = 0;
	virtq_budget_reset(q);
}

void virtq_budget_reset(struct virtq *q)
{
	q->budget = q->size;
	q->more = false;
}

int virtq_enable(struct virtq *q)
{
	if (!is_pow2(q->size) || q->size > q->max_size)
		return -EINVAL;
	/* Alignments required of the driver by 2.6: 16, 2 and 4 bytes. */
	if (!is_aligned(q->desc, 16) || !is_aligned(q->avail, 2) || !is_aligned(q->used, 4))
		return -EINVAL;
	q->enabled = true;
	virtq_budget_reset(q);
	return 0;
}

static int virtq_fail(struct virtq *q, const char *why)
{
	mv_warn("virtq: %s; queue stopped until device reset", why);
	q->broken = true;
	return -EPROTO;
}

static int virtq_read16(struct virtq *q, uint64_t gpa, uint16_t *v)
{
	uint16_t le;

	if (gmem_read(q->mem, gpa, &le, sizeof(le)))
		return -EFAULT;
	*v = le16toh(le);
	return 0;
}

static int virtq_read_desc(struct virtq *q, uint16_t i, struct virtq_desc *d)
{
	if (gmem_read(q->mem, q->desc + 16 * (uint64_t)i, d, sizeof(*d)))
		return -EFAULT;
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return 0;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t avail_idx, pending, head, i;
	unsigned int walked = 0;
	struct virtq_desc d;

	if (!q->enabled || q->broken)
		return 0;
	if (virtq_read16(q, q->avail + AVAIL_IDX, &avail_idx))
		return virtq_fail(q, "avail ring outside guest memory");
	/* Modulo 2^16 like the index itself; the guest cannot get more than a queue ahead. */
	pending = avail_idx - q->last_avail_idx;
	if (!pending)
		return 0;
	if (pending > q->size)
		return virtq_fail(q, "avail idx more than a queue ahead");
	if (!q->budget) {
		q->more = true;
		return 0;
	}
	/*
	 * Acquire: the avail idx read above must complete before the ring
	 * entry and the descriptors it publishes are read; pairs with the
	 * driver's write barrier between filling them and bumping avail idx.
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (virtq_read16(q, q->avail + AVAIL_RING(q->last_avail_idx & (q->size - 1)), &head))
		return virtq_fail(q, "avail ring outside guest memory");
	if (head >= q->size)
		return virtq_fail(q, "avail ring entry out of range");

	memset(c, 0, offsetof(struct virtq_chain, seg));
	c->head = head;
	for (i = head;;) {
		struct virtq_seg *s;

		/* A chain longer than the queue must revisit a descriptor: a loop. */
		if (++walked > q->size)
			return virtq_fail(q, "descriptor chain loops");
		if (c->nr == VIRTQ_MAX_SEGS)
			return virtq_fail(q, "descriptor chain too long");
		if (virtq_read_desc(q, i, &d))
			return virtq_fail(q, "descriptor table outside guest memory");
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return virtq_fail(q, "indirect descriptor (not negotiated)");
		if (!d.len)
			return virtq_fail(q, "zero-length descriptor");
		/* Checked by the one rule: it may span adjacent ranges (two plugged runs). */
		if (gmem_check(q->mem, d.addr, d.len))
			return virtq_fail(q, "buffer outside guest memory");
		s = &c->seg[c->nr++];
		s->gpa = d.addr;
		s->len = d.len;
		s->writable = d.flags & VIRTQ_DESC_F_WRITE;
		if (s->writable) {
			c->in_len += d.len;
		} else {
			if (c->nr - 1 != c->nr_out)
				return virtq_fail(q, "readable descriptor after a writable one");
			c->nr_out++;
			c->out_len += d.len;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= q->size)
			return virtq_fail(q, "descriptor next out of range");
		i = d.next;
	}
	q->last_avail_idx++;
	q->budget--;
	return 1;
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	q->last_avail_idx -= n;
	q->budget += n;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	struct {
		uint32_t id;
		uint32_t len;
	} elem = {htole32(head), htole32(len)};
	uint16_t idx;

	if (!q->enabled || q->broken || head >= q->size)
		return -EINVAL;
	if (gmem_write(q->mem, q->used + USED_RING(q->used_idx & (q->size - 1)), &elem,
		       sizeof(elem))) {
		virtq_fail(q, "used ring outside guest memory");
		return -EFAULT;
	}
	/*
	 * Release: the used element must be visible before the used idx that
	 * publishes it; pairs with the driver's read barrier after it reads
	 * used idx.
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->used_idx++;
	idx = htole16(q->used_idx);
	if (gmem_write(q->mem, q->used + USED_IDX, &idx, sizeof(idx))) {
		virtq_fail(q, "used ring outside guest memory");
		return -EFAULT;
	}
	return 0;
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t flags;

	/*
	 * Full barrier: the used idx store above must be visible before the
	 * driver's flags are read, or we could miss the driver re-enabling
	 * interrupts just after it last saw the old used idx (pairs with the
	 * driver's barrier between clearing NO_INTERRUPT and re-reading used idx).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->enabled || virtq_read16(q, q->avail + AVAIL_FLAGS, &flags))
		return true; /* an interrupt too many is harmless; one too few hangs */
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Copy between a flat buffer and the segments [first, first+n) at byte offset off. */
static int virtq_chain_copy(struct virtq *q, const struct virtq_seg *seg, unsigned int n,
			    uint64_t off, void *buf, size_t len, bool to_guest)
{
	uint8_t *p = buf;
	unsigned int i;

	for (i = 0; i < n && len; i++) {
		uint64_t chunk;
		int ret;

		if (off >= seg[i].len) {
			off -= seg[i].len;
			continue;
		}
		chunk = MV_MIN((uint64_t)seg[i].len - off, len);
		ret = to_guest ? gmem_write(q->mem, seg[i].gpa + off, p, chunk)
			       : gmem_read(q->mem, seg[i].gpa + off, p, chunk);
		if (ret)
			return ret;
		p += chunk;
		len -= chunk;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

int virtq_chain_read(struct virtq *q, const struct virtq_chain *c, uint64_t off, void *dst,
		     size_t len)
{
	return virtq_chain_copy(q, c->seg, c->nr_out, off, dst, len, false);
}

int virtq_chain_write(struct virtq *q, const struct virtq_chain *c, uint64_t off, const void *src,
		      size_t len)
{
	return virtq_chain_copy(q, c->seg + c->nr_out, c->nr - c->nr_out, off, (void *)src, len,
				true);
}
