/*
 * mv-vsock: the guest's end of the e2e vsock tests, built static into the
 * L2 initramfs (busybox has no AF_VSOCK).
 *
 *   mv-vsock listen PORT     accept on PORT forever, echoing each connection
 *                            (a child per connection) until its peer shuts down
 *   mv-vsock send CID PORT   connect to CID:PORT, stdin to the socket (shut
 *                            down for writing at EOF), the socket to stdout
 *                            until the peer closes; exit 1 with the reason on
 *                            a failed connect
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int write_all(int fd, const char *p, ssize_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

static void echo(int fd)
{
	static char buf[65536];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (write_all(fd, buf, r))
			break;
	shutdown(fd, SHUT_WR);
	close(fd);
}

static int do_listen(unsigned int port)
{
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);

	signal(SIGCHLD, SIG_IGN);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 16)) {
		perror("mv-vsock: listen");
		return 1;
	}
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			perror("mv-vsock: accept");
			return 1;
		}
		if (fork() == 0) {
			close(s);
			echo(c);
			_exit(0);
		}
		close(c);
	}
}

/*
 * Both directions at once, never blocking on one: a write that would block
 * (the peer's credit is spent) waits for POLLOUT while the socket is still
 * read, or an echoing peer would deadlock against us.
 */
static int do_send(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
	static char in[65536], out[65536];
	struct pollfd p[2];
	ssize_t pend = 0, off = 0;
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	bool in_open = true;

	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "mv-vsock: connect %u:%u: %s\n", cid, port, strerror(errno));
		return 1;
	}
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	for (;;) {
		ssize_t r;

		p[0] = (struct pollfd){.fd = in_open && !pend ? 0 : -1, .events = POLLIN};
		p[1] = (struct pollfd){.fd = s, .events = POLLIN | (pend ? POLLOUT : 0)};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			pend = read(0, in, sizeof(in));
			off = 0;
			if (pend <= 0) {
				pend = 0;
				in_open = false;
				shutdown(s, SHUT_WR);
			}
		}
		if (pend && (p[1].revents & POLLOUT)) {
			r = write(s, in + off, pend - off);
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				perror("mv-vsock: send");
				return 1;
			}
			if (r > 0 && (off += r) == pend)
				pend = off = 0;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(s, out, sizeof(out));
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r < 0) {
				perror("mv-vsock: receive");
				return 1;
			}
			if (r == 0)
				return 0;
			if (write_all(1, out, r))
				return 1;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "listen"))
		return do_listen(strtoul(argv[2], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "send"))
		return do_send(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
	fprintf(stderr, "usage: mv-vsock listen PORT | mv-vsock send CID PORT\n");
	return 2;
}
