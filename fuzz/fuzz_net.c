/*
 * fuzz_net: virtio-net as a hostile driver and a hostile host network
 * drive it. Each 16-byte record is one step: a transmit chain (up to three
 * segments of any length, direction and place, in or past guest memory),
 * receive buffers, frames of any length from the "tap" (a SOCK_SEQPACKET
 * socket), a pause or resume, or a virtio reset. After each step the
 * device tries to receive. No frame the host side reads is longer than a
 * header and the largest frame, and a frame the device keeps fits its
 * buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fakes.h"
#include "lib/util.h"
#include "virtio/net.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x40000ULL
#define BUF	 (MEM_GPA + 0x20000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* With the offloads (sel bit 0) or without, with mergeable receive buffers (bit 1) or without. */
static void fz_bring_up(struct vnet *n, struct vqd *q, struct fake_gmem *fm, unsigned int sel)
{
	vdev_bring_up_direct(&n->vdev, q, fm, MEM_GPA,
			     1ULL << 32 | 1ULL << VNET_F_MAC |
				 (sel & 1 ? VNET_OFFLOAD_FEATURES : 0) |
				 (sel & 2 ? 1ULL << VNET_F_MRG_RXBUF : 0),
			     2, 16);
	n->features = n->vdev.driver_features;
}

/* An address in guest memory most of the time, near or past its end sometimes. */
static uint64_t fz_addr(uint8_t sel, uint16_t off)
{
	return (sel & 7) == 0 ? MEM_GPA + MEM_SIZE - (off % 64) : BUF + off % 0x18000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vnet n;
	static uint8_t frame[VNET_BOUNCE + 64];
	struct vnet_params p = {
	    .queue_size = 16, .mac = {0x52, 0x54, 0, 1, 2, 3}, .offloads = true};
	struct fake_gmem fm;
	struct vqd q[2];
	int sv[2];
	size_t at;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv))
		abort();
	p.fd = sv[0];
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	if (vnet_init(&n, &p, &fm.map, NULL))
		abort();
	pthread_mutex_lock(&n.vdev.lock);
	fz_bring_up(&n, q, &fm, size & 3);
	pthread_mutex_unlock(&n.vdev.lock);
	for (at = 0; at + 16 <= size; at += 16) {
		const uint8_t *r = data + at;
		unsigned int op = r[0] % 8, nseg = 1 + r[1] % 3;
		struct vqd_buf buf[3];
		ssize_t got;

		pthread_mutex_lock(&n.vdev.lock);
		switch (op) {
		case 0:
			fz_bring_up(&n, q, &fm, r[1] & 3);
			break;
		case 1:
			virtio_dev_set_paused(&n.vdev, !n.vdev.paused);
			break;
		case 2:
		case 3: /* transmit */
		case 4:
		case 5: /* receive buffers */
			for (unsigned int i = 0; i < nseg; i++)
				buf[i] = (struct vqd_buf){
				    fz_addr(r[2 + i], le_get(r + 5 + 2 * i, 2)),
				    (r[2 + i] & 8) ? 1 + le_get(r + 11 + i, 1) * 64u
						   : 1 + le_get(r + 5 + 2 * i, 2) % 0x2000,
				    op >= 4 ? !(r[2 + i] & 0x10) : (r[2 + i] & 0x10) != 0};
			vqd_add(&q[op >= 4 ? VNET_RXQ : VNET_TXQ], buf, nseg);
			virtio_dev_queue_notify(&n.vdev, op >= 4 ? VNET_RXQ : VNET_TXQ);
			break;
		default: { /* frames from the host: a runt, a normal one, the largest, one more */
			static const size_t lens[] = {0,  5,	12,	     26,
						      60, 1526, VNET_BOUNCE, VNET_BOUNCE + 64};
			size_t len = (r[1] & 0x80) ? le_get(r + 2, 2) : lens[r[1] % 8];

			memset(frame, r[4], sizeof(frame));
			frame[0] =
			    r[5]; /* the header's flags and GSO type, as a hostile host sets them */
			frame[1] = r[6];
			if (write(sv[1], frame, MV_MIN(len, sizeof(frame))) < 0) {
				/* full: fine, the device will drain it */
			}
			break;
		}
		}
		pthread_mutex_unlock(&n.vdev.lock);
		vnet_rx(&n);
		if (n.rx_len > VNET_BOUNCE)
			abort();
		while ((got = read(sv[1], frame, sizeof(frame))) > 0)
			if (got > VNET_BOUNCE)
				abort();
	}
	vnet_destroy(&n);
	close(sv[0]);
	close(sv[1]);
	fake_gmem_free(&fm);
	return 0;
}
