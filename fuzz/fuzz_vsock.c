/*
 * fuzz_vsock: virtio-vsock as a hostile driver and hostile host clients
 * drive it, with real Unix sockets and the event loop. Each 16-byte record
 * is one step: a packet from the guest (any op, ports from a small set so
 * that they meet connections, any flags, credit and length, in a chain
 * that may be shorter than its header says), receive or event buffers of
 * any size and place, a host client connecting with a CONNECT line, a
 * bad line or data, a client closing, a pause or resume, a virtio reset or
 * a restore. After each step the loop runs. No connection holds more than
 * its buffer, and the device never sends a guest more than it advertised
 * while it advertised it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fakes.h"
#include "lib/util.h"
#include "virtio/vsock.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x80000ULL
#define BUF	 (MEM_GPA + 0x20000)
#define CID	 5
#define CLIENTS	 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static int fz_listen(const char *p)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	unlink(p);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4))
		abort();
	return fd;
}

static int fz_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint64_t fz_addr(uint8_t sel, uint16_t off)
{
	return (sel & 7) == 0 ? MEM_GPA + MEM_SIZE - (off % 64) : BUF + off % 0x40000;
}

static void fz_check(struct vsock *v)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &v->conns[i];

		if (c->state != VSOCK_FREE && c->rx_cnt - c->fwd_cnt > VSOCK_CONN_BUF)
			abort();
	}
	if (v->rst_len > VSOCK_MAX_RST)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsock v;
	static uint8_t junk[8192];
	static int peer_l = -1;
	struct vsock_params p = {.cid = CID};
	struct fake_gmem fm;
	struct loop loop;
	struct vqd q[3];
	int lfd, cl[CLIENTS];
	size_t at;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/fuzz_vsock.%d", (int)getpid());
		/* A host service on port 9: guest connections to it succeed (and stay queued). */
		char p9[80];

		snprintf(p9, sizeof(p9), "%s_9", path);
		peer_l = fz_listen(p9);
	}
	lfd = fz_listen(path);
	p.listen_fd = lfd;
	p.path = path;
	if (loop_init(&loop))
		abort();
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	if (vsock_init(&v, &p, &fm.map, &loop))
		abort();
	pthread_mutex_lock(&v.vdev.lock);
	vdev_bring_up_direct(&v.vdev, q, &fm, MEM_GPA, 1ULL << 32, 3, 16);
	pthread_mutex_unlock(&v.vdev.lock);
	for (int i = 0; i < CLIENTS; i++)
		cl[i] = -1;
	for (at = 0; at + 16 <= size; at += 16) {
		const uint8_t *r = data + at;
		unsigned int op = r[0] % 10, k = r[1] % CLIENTS;
		struct vsock_hdr h;
		uint8_t raw[VSOCK_HDR_SIZE];
		struct vqd_buf buf[2];
		char line[48];
		int n;

		switch (op) {
		case 0:
			pthread_mutex_lock(&v.vdev.lock);
			if (r[1] & 1)
				vdev_bring_up_direct(&v.vdev, q, &fm, MEM_GPA, 1ULL << 32, 3, 16);
			else
				virtio_dev_set_paused(&v.vdev, !v.vdev.paused);
			pthread_mutex_unlock(&v.vdev.lock);
			if (!(r[1] & 1))
				vsock_set_paused(&v, v.vdev.paused);
			break;
		case 1:
		case 2:
		case 3: { /* a packet from the guest */
			uint64_t gpa = fz_addr(r[2], le_get(r + 3, 2));
			uint32_t len = r[5] & 0x80 ? le_get(r + 6, 2) : r[5] % 64;

			h = (struct vsock_hdr){
			    .src_cid = r[8] & 0x80 ? r[8] : CID,
			    .dst_cid = r[8] & 0x40 ? r[8] : VSOCK_HOST_CID,
			    .src_port = r[9] % 4,
			    .dst_port = r[10] & 0x80 ? VSOCK_LOCAL_PORT_BASE + r[10] % 4 : 9,
			    .len = len,
			    .type = r[8] & 0x20 ? 2 : VSOCK_TYPE_STREAM,
			    .op = r[11] % 9,
			    .flags = r[12] % 4,
			    .buf_alloc = r[13] & 0x80 ? le_get(r + 13, 3) : 65536,
			    .fwd_cnt = r[14] & 0x80 ? le_get(r + 14, 2) : 0};
			vsock_hdr_put(raw, &h);
			if (gpa + sizeof(raw) <= MEM_GPA + MEM_SIZE)
				memcpy(fm.buf + (gpa - MEM_GPA), raw, sizeof(raw));
			buf[0] =
			    (struct vqd_buf){gpa, r[15] & 0x80 ? r[15] % 64 : VSOCK_HDR_SIZE + len,
					     (r[15] & 0x40) != 0};
			pthread_mutex_lock(&v.vdev.lock);
			vqd_add(&q[VSOCK_TXQ], buf, 1);
			virtio_dev_queue_notify(&v.vdev, VSOCK_TXQ);
			pthread_mutex_unlock(&v.vdev.lock);
			break;
		}
		case 4:
		case 5: { /* receive (or event) buffers */
			unsigned int qi = r[1] & 0x80 ? VSOCK_EVQ : VSOCK_RXQ,
				     nseg = 1 + (r[1] & 1);

			for (unsigned int i = 0; i < nseg; i++)
				buf[i] = (struct vqd_buf){
				    fz_addr(r[2 + i], le_get(r + 4 + 2 * i, 2)),
				    (r[8 + i] & 0x80) ? r[8 + i] % 64
						      : 1 + le_get(r + 10 + 2 * i, 2) % 0x3000,
				    !(r[2 + i] & 0x10)};
			pthread_mutex_lock(&v.vdev.lock);
			vqd_add(&q[qi], buf, nseg);
			virtio_dev_queue_notify(&v.vdev, qi);
			pthread_mutex_unlock(&v.vdev.lock);
			break;
		}
		case 6: /* a client connects and says CONNECT, or something else */
			if (cl[k] < 0)
				cl[k] = fz_connect();
			if (cl[k] < 0)
				break;
			n = r[2] & 0x80 ? snprintf(line, sizeof(line), "CONNECT %u\n", r[3] % 4)
					: (int)(r[2] % sizeof(line));
			if (!(r[2] & 0x80))
				memcpy(line, r + 3, MV_MIN((size_t)n, (size_t)13));
			if (send(cl[k], line, n, MSG_NOSIGNAL) < 0) {
				/* the device hung up: fine */
			}
			break;
		case 7: /* a client sends data */
			if (cl[k] >= 0 &&
			    send(cl[k], junk, le_get(r + 2, 2) % sizeof(junk), MSG_NOSIGNAL) < 0) {
				/* full or gone: fine */
			}
			break;
		case 8: /* a client reads what it was sent, half-closes or goes away */
			if (cl[k] < 0)
				break;
			while (read(cl[k], junk, sizeof(junk)) > 0)
				;
			if (r[2] & 1) {
				shutdown(cl[k], SHUT_WR);
			} else if (r[2] & 2) {
				close(cl[k]);
				cl[k] = -1;
			}
			break;
		default:
			vsock_restored(&v);
			break;
		}
		for (int i = 0; i < 3 && loop_run_once(&loop, 0) > 0; i++)
			;
		fz_check(&v);
	}
	vsock_destroy(&v);
	for (int i = 0; i < CLIENTS; i++)
		if (cl[i] >= 0)
			close(cl[i]);
	for (int fd; (fd = accept(peer_l, NULL, NULL)) >= 0;)
		close(fd);
	close(lfd);
	unlink(path);
	loop_destroy(&loop);
	fake_gmem_free(&fm);
	return 0;
}
