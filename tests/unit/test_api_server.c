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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "api/server.h"
#include "core/loop.h"
#include "core/util.h"

struct mini_vm {
	struct api_backend b;
	struct loop *loop;
};

static int m_status(struct api_backend *b, struct api_status *out)
{
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

static const struct api_backend_ops mini_ops = {
    .query_status = m_status,
    .quit = m_quit,
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mode_two_clients_quit_unlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_gone_mid_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_socket_reused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_file_and_live_socket, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
