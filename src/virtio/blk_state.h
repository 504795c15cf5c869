/*
 * blk_state: what one virtio-blk request asks (VIRTIO 1.2, 5.2.6), decided
 * from the chain's shape and its 16-byte header alone. Pure: no I/O, no
 * device state; blk.c does what the decision says.
 *
 * A request is a header (type, reserved, sector; device-readable), then
 * data, then one status byte: the last writable byte of the chain. Without
 * a writable byte nothing can be answered: a device error. Otherwise every
 * other fault is answered with a status: IOERR for a transfer that is not
 * whole sectors, reaches past the end of the disk, writes a read-only disk
 * or has its data on the wrong side (an IN needs writable data, an OUT
 * readable data); UNSUPP for a type the device does not offer.
 */
#ifndef MV_VIRTIO_BLK_STATE_H
#define MV_VIRTIO_BLK_STATE_H

#include <stdbool.h>
#include <stdint.h>

#define VBLK_T_IN	    0
#define VBLK_T_OUT	    1
#define VBLK_T_FLUSH	    4
#define VBLK_T_GET_ID	    8
#define VBLK_T_DISCARD	    11
#define VBLK_T_WRITE_ZEROES 13

#define VBLK_S_OK     0
#define VBLK_S_IOERR  1
#define VBLK_S_UNSUPP 2

#define VBLK_SECTOR	 512
#define VBLK_HDR_SIZE	 16
#define VBLK_ID_BYTES	 20
#define VBLK_RANGE_SIZE	 16 /* one discard / write-zeroes range: sector, count, flags */
#define VBLK_MAX_RANGES	 16 /* max_discard_seg, max_write_zeroes_seg */
#define VBLK_RANGE_UNMAP 1  /* write zeroes: the range may be deallocated */

enum vblk_action {
	VBLK_ACT_ANSWER, /* answer `status` at once */
	VBLK_ACT_READ,	 /* read `len` bytes at `sector` into the writable data */
	VBLK_ACT_WRITE,	 /* write the readable data (`len` bytes) at `sector` */
	VBLK_ACT_FLUSH,
	VBLK_ACT_GET_ID,
	VBLK_ACT_DISCARD,      /* `nranges` ranges follow the header */
	VBLK_ACT_WRITE_ZEROES, /* likewise */
	VBLK_ACT_BAD,	       /* no status byte: a device error */
};

struct vblk_disk {
	uint64_t sectors;
	bool readonly;
	bool flush, discard, write_zeroes; /* the features the driver accepted */
};

struct vblk_decision {
	enum vblk_action act;
	uint8_t status; /* VBLK_ACT_ANSWER */
	uint64_t sector;
	uint64_t len;	      /* data bytes */
	unsigned int nranges; /* discard / write zeroes */
};

/*
 * out_len / in_len: the chain's readable / writable bytes; hdr: its first
 * 16 bytes (valid when out_len >= 16).
 */
struct vblk_decision vblk_decide(const struct vblk_disk *disk, uint64_t out_len, uint64_t in_len,
				 const uint8_t *hdr);

struct vblk_range {
	uint64_t sector;
	uint32_t count;
	uint32_t flags;
};

/*
 * A discard or write-zeroes range as read from the chain: VBLK_S_OK, or the
 * status that answers the request (IOERR past the end or empty, UNSUPP for
 * flags the type does not take).
 */
uint8_t vblk_check_range(const struct vblk_disk *disk, uint32_t type, const uint8_t raw[16],
			 struct vblk_range *out);

#endif
