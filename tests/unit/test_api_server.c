/* Unit tests for api/server: a real Unix socket in a temp dir, served by the loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "api/server.h"
#include "core/loop.h"
#include "lib/util.h"

struct mini_vm {
	struct api_backend b;
	struct loop *loop;
	struct api_server *srv; /* set: query-status records the largest output buffer */
	size_t peak_out;
};

static int m_status(struct api_backend *b, struct api_status *out)
{
	struct mini_vm *vm = container_of(b, struct mini_vm, b);
	struct api_client *c;

	for (c = vm->srv ? vm->srv->clients : NULL; c; c = c->next)
		vm->peak_out = MV_MAX(vm->peak_out, c->qmp.out.len);
	out->status = "running";
	out->running = true;
	return 0;
}

static void m_quit(struct api_backend *b)
{
	loop_stop(container_of(b, struct mini_vm, b)->loop);
}

static unsigned int m_count(struct api_backend *b)
{
	return 0;
}

static int m_powerdown(struct api_backend *b)
{
	return 0;
}

static const struct api_backend_ops mini_ops = {
    .query_status = m_status,
    .quit = m_quit,
    .powerdown = m_powerdown,
    .memdev_count = m_count,
};

struct fixture {
	char dir[64];
	char path[96];
	struct loop loop;
	struct mini_vm vm;
	struct api api;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/mv-api-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	assert_int_equal(loop_init(&f->loop), 0);
	f->vm.b.ops = &mini_ops;
	f->vm.loop = &f->loop;
	assert_int_equal(api_init(&f->api, &f->vm.b, &f->loop), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	api_destroy(&f->api);
	loop_destroy(&f->loop);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int client_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Runs the loop until fd has a full line to read; returns it (static buffer). */
static const char *read_line(struct fixture *f, int fd)
{
	static char line[4096];
	size_t n = 0;
	int tries;

	for (tries = 0; tries < 200 && n < sizeof(line) - 1; tries++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		loop_run_once(&f->loop, 10);
		while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && n < sizeof(line) - 1) {
			if (read(fd, &line[n], 1) != 1)
				goto out;
			if (line[n++] == '\n')
				goto out;
		}
	}
out:
	line[n] = '\0';
	return line;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void test_mode_two_clients_quit_unlink(void **state)
{
	struct fixture *f = *state;
	struct api_server *srv = NULL;
	char err[256];
	struct stat st;
	int a, b;

	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	a = client_connect(f->path);
	b = client_connect(f->path);
	assert_true(a >= 0 && b >= 0);
	assert_non_null(strstr(read_line(f, a), "{\"QMP\": {\"version\""));
	assert_non_null(strstr(read_line(f, b), "\"package\": \"" API_PACKAGE "\""));
	send_str(a, "{\"execute\": \"qmp_capabilities\"}\n");
	send_str(b, "{\"execute\": \"qmp_capabilities\"}\n");
	assert_string_equal(read_line(f, a), "{\"return\": {}}\r\n");
	assert_string_equal(read_line(f, b), "{\"return\": {}}\r\n");
	/* Split across writes, interleaved between clients. */
	send_str(a, "{\"execute\": \"query-st");
	send_str(b, "{\"execute\": \"query-status\", \"id\": \"b\"}");
	assert_string_equal(read_line(f, b), "{\"return\": {\"status\": \"running\", "
					     "\"singlestep\": false, \"running\": true}, \"id\": "
					     "\"b\"}\r\n");
	send_str(a, "atus\", \"id\": \"a\"}");
	assert_non_null(strstr(read_line(f, a), "\"id\": \"a\""));
	assert_int_equal(srv->nr_clients, 2);
	/* quit: both see SHUTDOWN, the asker gets its reply, the loop stops. */
	send_str(a, "{\"execute\": \"quit\"}");
	assert_non_null(strstr(read_line(f, a), "\"event\": \"SHUTDOWN\""));
	assert_string_equal(read_line(f, a), "{\"return\": {}}\r\n");
	assert_non_null(strstr(read_line(f, b), "\"reason\": \"host-qmp-quit\""));
	assert_true(f->loop.stop);
	api_server_close(srv);
	assert_int_equal(stat(f->path, &st), -1);
	close(a);
	close(b);
}

static void test_client_gone_mid_reply(void **state)
{
	struct fixture *f = *state;
	struct api_server *srv = NULL;
	char err[256], big[8192];
	int a, b, i;

	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	a = client_connect(f->path);
	b = client_connect(f->path);
	read_line(f, a);
	read_line(f, b);
	send_str(a, "{\"execute\": \"qmp_capabilities\"}");
	read_line(f, a);
	/* Many requests whose replies a never reads, then a vanishes. */
	for (i = 0; i < (int)sizeof(big) - 64; i += 30)
		memcpy(big + i, "{\"execute\": \"query-status\"}  ", 30);
	big[i] = '\0';
	send_str(a, big);
	close(a);
	for (i = 0; i < 20; i++)
		loop_run_once(&f->loop, 5);
	assert_int_equal(srv->nr_clients, 1);
	/* The other client still works. */
	send_str(b, "{\"execute\": \"qmp_capabilities\"}");
	assert_string_equal(read_line(f, b), "{\"return\": {}}\r\n");
	api_server_close(srv);
	close(b);
}

static void test_stale_socket_reused(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct api_server *srv = NULL;
	char err[256];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	/* A socket file nobody listens on, as a crashed memvisor leaves behind. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	fd = client_connect(f->path);
	assert_true(fd >= 0);
	assert_non_null(strstr(read_line(f, fd), "QMP"));
	close(fd);
	api_server_close(srv);
}

static void test_refuses_file_and_live_socket(void **state)
{
	struct fixture *f = *state;
	struct api_server *srv = NULL, *srv2 = NULL;
	char err[256];
	int fd;

	fd = open(f->path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "--api-socket"));
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(access(f->path, F_OK), 0); /* left alone */
	unlink(f->path);
	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	assert_int_equal(api_server_open(&srv2, &f->api, &f->loop, f->path, err, sizeof(err)),
			 -EADDRINUSE);
	assert_non_null(strstr(err, "--api-socket"));
	api_server_close(srv);
}

/* stderr into a file, so a test can count the log lines the server wrote. */
struct capture {
	int saved;
	FILE *f;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(2);
	assert_true(c->saved >= 0);
	assert_int_equal(dup2(fileno(c->f), 2), 2);
}

/* Restores stderr; returns how many lines contain `what` (and echoes them). */
static int capture_stop(struct capture *c, const char *what)
{
	char line[512];
	int n = 0;

	fflush(stderr);
	assert_int_equal(dup2(c->saved, 2), 2);
	close(c->saved);
	rewind(c->f);
	while (fgets(line, sizeof(line), c->f)) {
		if (strstr(line, what)) {
			if (n < 3)
				fprintf(stderr, "  (logged: %s", line);
			n++;
		}
	}
	fclose(c->f);
	return n;
}

static struct api_client *find_client(struct api_server *srv, bool negotiated)
{
	struct api_client *c;

	for (c = srv->clients; c; c = c->next)
		if (c->qmp.negotiated == negotiated)
			return c;
	return NULL;
}

/* Reads until EOF (or ~2 s); returns what came, NUL-terminated (caller frees). */
static char *read_to_eof(struct fixture *f, int fd, bool *eof)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int tries;

	*eof = false;
	for (tries = 0; tries < 400 && !*eof; tries++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		loop_run_once(&f->loop, 5);
		while (poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP))) {
			if (n + 4096 > cap)
				buf = realloc(buf, cap *= 2);
			r = read(fd, buf + n, cap - n - 1);
			if (r <= 0) {
				*eof = true;
				break;
			}
			n += (size_t)r;
		}
	}
	buf[n] = '\0';
	return buf;
}

/*
 * Issue 21 item 8: a client that never reads is dropped when its output would
 * pass API_CLIENT_MAX_OUT, however the output comes (events here), once, with
 * one log line; the others are served on.
 */
static void test_client_never_reads_dropped(void **state)
{
	struct fixture *f = *state;
	struct api_server *srv = NULL;
	struct api_client *idle;
	struct capture cap;
	size_t max_len = 0;
	char err[256];
	int a, b, i, lines;
	bool eof;
	char *rest;

	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	a = client_connect(f->path);
	b = client_connect(f->path);
	read_line(f, a);
	read_line(f, b);
	send_str(a, "{\"execute\": \"qmp_capabilities\"}");
	assert_string_equal(read_line(f, a), "{\"return\": {}}\r\n");
	idle = find_client(srv, true);
	assert_non_null(idle);
	capture_start(&cap);
	/* 300,000 POWERDOWN events (~25 MB), the loop running between batches. */
	for (i = 0; i < 300000; i++) {
		api_emit_powerdown(&f->api);
		if (i % 1000 == 0) {
			loop_run_once(&f->loop, 0);
			idle = find_client(srv, true);
			if (!idle)
				break;
			max_len = MV_MAX(max_len, idle->qmp.out.len);
		}
	}
	for (i = 0; i < 5; i++)
		loop_run_once(&f->loop, 0);
	lines = capture_stop(&cap, "api: client dropped");
	assert_true(max_len <= API_CLIENT_MAX_OUT);
	assert_null(find_client(srv, true));
	assert_int_equal(srv->nr_clients, 1);
	assert_int_equal(lines, 1);
	/* a sees what its socket held, then EOF. */
	rest = read_to_eof(f, a, &eof);
	assert_true(eof);
	free(rest);
	send_str(b, "{\"execute\": \"qmp_capabilities\"}");
	assert_string_equal(read_line(f, b), "{\"return\": {}}\r\n");
	api_server_close(srv);
	close(a);
	close(b);
}

/* The same limit holds for replies to a client's own requests. */
static void test_client_never_reads_replies_dropped(void **state)
{
	struct fixture *f = *state;
	struct api_server *srv = NULL;
	char err[256], *big;
	size_t i, n = 1 << 20;
	int a, rounds;

	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	a = client_connect(f->path);
	read_line(f, a);
	send_str(a, "{\"execute\": \"qmp_capabilities\"}");
	read_line(f, a);
	/*
	 * An error reply (~90 bytes) per 3 bytes sent, so one read of 64 KiB
	 * makes ~2 MiB of output; query-status now and then samples the
	 * buffer from inside the server (the VM's callback).
	 */
	f->vm.srv = srv;
	big = malloc(n + 1);
	for (i = 0; i + 3 + 30 <= n;) {
		if (i % 3000 < 3) {
			memcpy(big + i, "{\"execute\": \"query-status\"}\n", 29);
			i += 29;
		} else {
			memcpy(big + i, "{}\n", 3);
			i += 3;
		}
	}
	big[i] = '\0';
	for (rounds = 0; rounds < 4 && srv->nr_clients; rounds++) {
		size_t off = 0;

		while (off < i && srv->nr_clients) {
			ssize_t w = send(a, big + off, i - off, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN)
				break;
			loop_run_once(&f->loop, 0);
			if (srv->clients)
				assert_true(srv->clients->qmp.out.len <= API_CLIENT_MAX_OUT);
		}
	}
	assert_int_equal(srv->nr_clients, 0);
	assert_true(f->vm.peak_out > 0);
	assert_true(f->vm.peak_out <= API_CLIENT_MAX_OUT);
	free(big);
	api_server_close(srv);
	close(a);
}

/* Issue 21 item 10: a request then shutdown(SHUT_WR) gets its replies, then EOF. */
static void test_half_close_gets_replies(void **state)
{
	struct fixture *f = *state;
	struct api_server *srv = NULL;
	char err[256], *out;
	bool eof;
	int a;

	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	a = client_connect(f->path);
	send_str(a, "{\"execute\": \"qmp_capabilities\"}\n"
		    "{\"execute\": \"query-status\", \"id\": 1}\n");
	assert_int_equal(shutdown(a, SHUT_WR), 0);
	out = read_to_eof(f, a, &eof);
	assert_true(eof);
	assert_non_null(strstr(out, "{\"QMP\": "));
	assert_non_null(strstr(out,
			       "\r\n{\"return\": {}}\r\n{\"return\": {\"status\": \"running\", "
			       "\"singlestep\": false, \"running\": true}, \"id\": 1}\r\n"));
	free(out);
	assert_int_equal(srv->nr_clients, 0);
	api_server_close(srv);
	close(a);
}

/* Issue 21 item 9: more than API_MAX_CLIENTS clients: the extra ones are told and closed. */
static void test_client_cap(void **state)
{
	struct fixture *f = *state;
	struct api_server *srv = NULL;
	int fds[API_MAX_CLIENTS + 1], i, extra;
	char err[256], *out;
	bool eof;

	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	for (i = 0; i < API_MAX_CLIENTS; i++) {
		fds[i] = client_connect(f->path);
		assert_true(fds[i] >= 0);
		assert_non_null(strstr(read_line(f, fds[i]), "QMP"));
	}
	assert_int_equal(srv->nr_clients, API_MAX_CLIENTS);
	extra = client_connect(f->path);
	assert_true(extra >= 0);
	out = read_to_eof(f, extra, &eof);
	assert_true(eof);
	assert_non_null(strstr(out, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"too "
				    "many clients"));
	free(out);
	close(extra);
	assert_int_equal(srv->nr_clients, API_MAX_CLIENTS);
	/* One leaves: a newcomer is served. */
	close(fds[0]);
	for (i = 0; i < 10; i++)
		loop_run_once(&f->loop, 1);
	fds[0] = client_connect(f->path);
	assert_non_null(strstr(read_line(f, fds[0]), "QMP"));
	send_str(fds[0], "{\"execute\": \"qmp_capabilities\"}");
	assert_string_equal(read_line(f, fds[0]), "{\"return\": {}}\r\n");
	api_server_close(srv);
	for (i = 0; i < API_MAX_CLIENTS; i++)
		close(fds[i]);
}

/* A non-blocking connect: the listen backlog may be full. */
static int client_connect_nb(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/*
 * Issue 21 item 9: out of file descriptors, the server stops accepting
 * (no busy loop, a log line or two, not one per wakeup), keeps serving its
 * clients, and serves new ones once descriptors are free again.
 */
static void test_emfile_no_spin(void **state)
{
	struct fixture *f = *state;
	struct api_server *srv = NULL;
	struct rlimit old, low;
	struct capture cap;
	int fds[256], n = 0, i, lines, fd, spare;
	long wakeups = 0;
	uint64_t end;
	char err[256];

	assert_int_equal(api_server_open(&srv, &f->api, &f->loop, f->path, err, sizeof(err)), 0);
	fds[n] = client_connect(f->path);
	read_line(f, fds[n]);
	send_str(fds[n], "{\"execute\": \"qmp_capabilities\"}");
	assert_string_equal(read_line(f, fds[n]), "{\"return\": {}}\r\n");
	n++;
	capture_start(&cap);
	/* Room for about 20 more descriptors than are open now, in this process. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	fd = dup(0);
	assert_true(fd >= 0);
	close(fd);
	low = old;
	low.rlim_cur = (rlim_t)fd + 20;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	spare = dup(0);
	assert_true(spare >= 0);
	/* Clients until this process (client and server ends alike) has no fd left. */
	while (n < (int)ARRAY_SIZE(fds)) {
		fd = client_connect_nb(f->path);
		loop_run_once(&f->loop, 0);
		if (fd < 0)
			break;
		fds[n++] = fd;
	}
	assert_true(n < (int)ARRAY_SIZE(fds));
	/* One more client takes the spare: its connection waits, accept() has EMFILE. */
	close(spare);
	fds[n] = client_connect_nb(f->path);
	assert_true(fds[n++] >= 0);
	assert_true(n < API_MAX_CLIENTS); /* it is EMFILE that stops them, not the cap */
	/* A second of loop: no busy loop, no flood of lines. */
	end = loop_now_ms() + 1000;
	while (loop_now_ms() < end && wakeups < 1000000) {
		int r = loop_run_once(&f->loop, 50);

		if (r > 0)
			wakeups += r;
	}
	/* The first client is still served. */
	send_str(fds[0], "{\"execute\": \"query-status\", \"id\": \"old\"}");
	assert_non_null(strstr(read_line(f, fds[0]), "\"id\": \"old\""));
	/* Free some descriptors: the pending and new clients are served. */
	for (i = n - 1; i > n - 6; i--)
		close(fds[i]);
	n -= 5;
	for (i = 0; i < 50; i++)
		loop_run_once(&f->loop, 10);
	fd = client_connect(f->path);
	assert_true(fd >= 0);
	lines = capture_stop(&cap, "--api-socket");
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	fprintf(stderr, "  (%ld wakeups in 1 s, %d log lines, %d clients)\n", wakeups, lines, n);
	assert_true(wakeups < 100);
	assert_true(lines >= 1 && lines <= 3);
	assert_non_null(strstr(read_line(f, fd), "QMP"));
	send_str(fd, "{\"execute\": \"qmp_capabilities\"}{\"execute\": \"query-status\"}");
	assert_string_equal(read_line(f, fd), "{\"return\": {}}\r\n");
	assert_non_null(strstr(read_line(f, fd), "\"status\": \"running\""));
	close(fd);
	for (i = 0; i < n; i++)
		close(fds[i]);
	api_server_close(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mode_two_clients_quit_unlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_gone_mid_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_socket_reused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_file_and_live_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_never_reads_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_never_reads_replies_dropped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_half_close_gets_replies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_emfile_no_spin, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
