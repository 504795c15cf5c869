/* Unit tests for lib/trace: the category parser, the line formatter, the file and one write per
 * line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/trace.h"

static void test_parse(void **state)
{
	unsigned int m = 99;
	char err[128] = "";

	assert_int_equal(trace_parse(NULL, &m, err, sizeof(err)), 0);
	assert_int_equal(m, 0);
	assert_int_equal(trace_parse("", &m, err, sizeof(err)), 0);
	assert_int_equal(m, 0);
	assert_int_equal(trace_parse("vmem", &m, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_VMEM);
	assert_int_equal(trace_parse("slot", &m, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_SLOT);
	assert_int_equal(trace_parse("vmem,slot", &m, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_VMEM | TRACE_SLOT);
	assert_int_equal(trace_parse(" slot , vmem ,", &m, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_VMEM | TRACE_SLOT);
	assert_int_equal(trace_parse("all", &m, err, sizeof(err)), 0);
	assert_int_equal(m, TRACE_ALL);

	/* A bad word names itself and leaves *mask alone. */
	m = 7;
	assert_int_equal(trace_parse("vmem,slots", &m, err, sizeof(err)), -EINVAL);
	assert_int_equal(m, 7);
	assert_string_equal(err,
			    "MEMVISOR_TRACE: unknown category 'slots' (known: vmem, slot, all)");
	assert_int_equal(trace_parse("vme", &m, err, sizeof(err)), -EINVAL);
	assert_int_equal(trace_parse("1", &m, NULL, 0), -EINVAL);
}

static size_t fmt(char *buf, size_t len, uint64_t ns, const char *f, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, f);
	n = trace_format(buf, len, ns, "vmem", f, ap);
	va_end(ap);
	return n;
}

static void test_format(void **state)
{
	char buf[TRACE_LINE_MAX], small[24];
	char big[TRACE_LINE_MAX * 2];
	size_t n;

	n = fmt(buf, sizeof(buf), 12345678901ULL, "req=%s nb_blocks=%u", "PLUG", 3u);
	assert_string_equal(buf, "trace 12.345678 vmem req=PLUG nb_blocks=3\n");
	assert_int_equal(n, strlen(buf));

	/* Microseconds zero-padded, nanoseconds dropped. */
	fmt(buf, sizeof(buf), 1000000999ULL, "x");
	assert_string_equal(buf, "trace 1.000000 vmem x\n");

	/* Control characters cannot split the line. */
	fmt(buf, sizeof(buf), 0, "name=%s", "a\nb\rc\x7f");
	assert_string_equal(buf, "trace 0.000000 vmem name=a?b?c?\n");

	/* Too long: cut, marked, still one line. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = fmt(buf, sizeof(buf), 0, "%s", big);
	assert_int_equal(n, sizeof(buf) - 1);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf + n - 4, "...\n", 4);
	assert_null(memchr(buf, '\n', n - 1));

	n = fmt(small, sizeof(small), 5000000000ULL, "%s", "0123456789abcdef");
	assert_int_equal(n, sizeof(small) - 1);
	assert_string_equal(small, "trace 5.000000 vmem...\n");
	n = fmt(small, 1, 0, "x");
	assert_int_equal(n, 0);
	assert_string_equal(small, "");
}

static char *slurp(const char *path)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void test_setup_file_and_off(void **state)
{
	char path[] = "/tmp/mv-trace-XXXXXX", err[256] = "";
	int fd = mkstemp(path);
	char *text;

	assert_true(fd >= 0);
	close(fd);
	assert_false(trace_on(TRACE_VMEM));

	assert_int_equal(trace_setup("slot", path, err, sizeof(err)), 0);
	assert_true(trace_on(TRACE_SLOT));
	assert_false(trace_on(TRACE_VMEM));
	trace_emit(TRACE_SLOT, "map slot=%d", 5);
	trace_emit(TRACE_SLOT, "unmap slot=%d", 5);

	/* A bad spec changes nothing: the file stays, the mask too. */
	assert_int_equal(trace_setup("bogus", NULL, err, sizeof(err)), -EINVAL);
	assert_true(trace_on(TRACE_SLOT));
	assert_int_equal(trace_setup("vmem", "/nonexistent-dir/x", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "MEMVISOR_TRACE_FILE: cannot open /nonexistent-dir/x: "
				 "No such file or directory");
	assert_true(trace_on(TRACE_SLOT));
	assert_false(trace_on(TRACE_VMEM));

	/* Off: nothing traced, the file closed. */
	assert_int_equal(trace_setup(NULL, NULL, err, sizeof(err)), 0);
	assert_false(trace_on(TRACE_SLOT));
	assert_false(trace_on(TRACE_ALL));

	text = slurp(path);
	assert_non_null(strstr(text, " slot map slot=5\n"));
	assert_non_null(strstr(text, " slot unmap slot=5\n"));
	assert_int_equal(strncmp(text, "trace ", 6), 0);
	unlink(path);
}

#define THREADS 4
#define LINES	500

static void *emitter(void *arg)
{
	long id = (long)arg;
	int i;

	for (i = 0; i < LINES; i++)
		trace_emit(TRACE_VMEM, "thread=%ld line=%d pad=%0200d", id, i, 0);
	return NULL;
}

/* Lines from several threads arrive whole: one write per line. */
static void test_threads_whole_lines(void **state)
{
	char path[] = "/tmp/mv-trace-XXXXXX", err[256];
	int fd = mkstemp(path), seen[THREADS] = {0};
	pthread_t t[THREADS];
	char *text, *line, *save = NULL;
	long i;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(trace_setup("vmem", path, err, sizeof(err)), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, emitter, (void *)i), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(trace_setup(NULL, NULL, err, sizeof(err)), 0);

	text = slurp(path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long id;
		int n, end = 0;

		assert_int_equal(
		    sscanf(line, "trace %*u.%*u vmem thread=%ld line=%d pad=%*d%n", &id, &n, &end),
		    2);
		assert_int_equal(line[end], '\0');
		assert_true(id >= 0 && id < THREADS);
		/* In order per thread, none lost. */
		assert_int_equal(n, seen[id]);
		seen[id]++;
	}
	for (i = 0; i < THREADS; i++)
		assert_int_equal(seen[i], LINES);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_setup_file_and_off),
	    cmocka_unit_test(test_threads_whole_lines),
	};

	/* Whatever the caller's environment asked for, these tests start from off. */
	trace_setup(NULL, NULL, NULL, 0);
	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
