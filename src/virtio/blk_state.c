#include "virtio/blk_state.h"

#include <string.h>

#include "lib/util.h"

static struct vblk_decision vblk_answer(uint8_t status)
{
	return (struct vblk_decision){.act = VBLK_ACT_ANSWER, .status = status};
}

/* [sector, sector + len / 512) on the disk, len whole sectors. */
static bool vblk_span_ok(const struct vblk_disk *disk, uint64_t sector, uint64_t len)
{
	return len % VBLK_SECTOR == 0 && sector <= disk->sectors &&
	       len / VBLK_SECTOR <= disk->sectors - sector;
}

struct vblk_decision vblk_decide(const struct vblk_disk *disk, uint64_t out_len, uint64_t in_len,
				 const uint8_t *hdr)
{
	struct vblk_decision d = {0};
	uint32_t type;

	if (in_len < 1)
		return (struct vblk_decision){.act = VBLK_ACT_BAD};
	if (out_len < VBLK_HDR_SIZE)
		return vblk_answer(VBLK_S_IOERR);
	type = le_get(hdr, 4);
	d.sector = le_get(hdr + 8, 8);
	switch (type) {
	case VBLK_T_IN:
		/* Data: every writable byte but the status. */
		d.len = in_len - 1;
		if (out_len != VBLK_HDR_SIZE || !vblk_span_ok(disk, d.sector, d.len))
			return vblk_answer(VBLK_S_IOERR);
		d.act = VBLK_ACT_READ;
		return d;
	case VBLK_T_OUT:
		d.len = out_len - VBLK_HDR_SIZE;
		if (disk->readonly || in_len != 1 || !vblk_span_ok(disk, d.sector, d.len))
			return vblk_answer(VBLK_S_IOERR);
		d.act = VBLK_ACT_WRITE;
		return d;
	case VBLK_T_FLUSH:
		if (!disk->flush)
			return vblk_answer(VBLK_S_UNSUPP);
		d.act = VBLK_ACT_FLUSH;
		return d;
	case VBLK_T_GET_ID:
		d.act = VBLK_ACT_GET_ID;
		return d;
	case VBLK_T_DISCARD:
	case VBLK_T_WRITE_ZEROES:
		if (type == VBLK_T_DISCARD ? !disk->discard : !disk->write_zeroes)
			return vblk_answer(VBLK_S_UNSUPP);
		if (disk->readonly)
			return vblk_answer(VBLK_S_IOERR);
		d.len = out_len - VBLK_HDR_SIZE;
		if (d.len == 0 || d.len % VBLK_RANGE_SIZE ||
		    d.len / VBLK_RANGE_SIZE > VBLK_MAX_RANGES)
			return vblk_answer(VBLK_S_IOERR);
		d.nranges = d.len / VBLK_RANGE_SIZE;
		d.act = type == VBLK_T_DISCARD ? VBLK_ACT_DISCARD : VBLK_ACT_WRITE_ZEROES;
		return d;
	default:
		return vblk_answer(VBLK_S_UNSUPP);
	}
}

uint8_t vblk_check_range(const struct vblk_disk *disk, uint32_t type, const uint8_t raw[16],
			 struct vblk_range *out)
{
	out->sector = le_get(raw, 8);
	out->count = le_get(raw + 8, 4);
	out->flags = le_get(raw + 12, 4);
	/* Discard takes no flags; write zeroes only "unmap". */
	if (out->flags & ~(type == VBLK_T_WRITE_ZEROES ? VBLK_RANGE_UNMAP : 0))
		return VBLK_S_UNSUPP;
	if (!out->count || out->sector > disk->sectors || out->count > disk->sectors - out->sector)
		return VBLK_S_IOERR;
	return VBLK_S_OK;
}
