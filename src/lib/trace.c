#include "lib/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

unsigned int trace_mask;
static int trace_fd = STDERR_FILENO;

static const struct {
	const char *name;
	unsigned int bits;
} trace_cats[] = {
    {"vmem", TRACE_VMEM},
    {"slot", TRACE_SLOT},
    {"all", TRACE_ALL},
};

static const char *trace_cat_name(unsigned int cat)
{
	size_t i;

	for (i = 0; i < sizeof(trace_cats) / sizeof(trace_cats[0]); i++)
		if (trace_cats[i].bits == cat)
			return trace_cats[i].name;
	return "?";
}

int trace_parse(const char *spec, unsigned int *mask, char *err, size_t errlen)
{
	unsigned int m = 0;
	const char *p = spec ? spec : "";

	while (*p) {
		const char *end;
		size_t n, i;

		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		for (i = 0; n && i < sizeof(trace_cats) / sizeof(trace_cats[0]); i++)
			if (strlen(trace_cats[i].name) == n && !memcmp(p, trace_cats[i].name, n))
				break;
		if (n && i == sizeof(trace_cats) / sizeof(trace_cats[0])) {
			if (errlen)
				snprintf(err, errlen,
					 "MEMVISOR_TRACE: unknown category '%.*s' (known: vmem, "
					 "slot, all)",
					 (int)(n > 64 ? 64 : n), p);
			return -EINVAL;
		}
		if (n)
			m |= trace_cats[i].bits;
		p = *end ? end + 1 : end;
	}
	*mask = m;
	return 0;
}

int trace_setup(const char *spec, const char *path, char *err, size_t errlen)
{
	unsigned int m;
	int fd = STDERR_FILENO, ret;

	ret = trace_parse(spec, &m, err, errlen);
	if (ret)
		return ret;
	if (path && *path && m) {
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0) {
			ret = -errno;
			if (errlen)
				snprintf(err, errlen, "MEMVISOR_TRACE_FILE: cannot open %s: %s",
					 path, strerror(-ret));
			return ret;
		}
	}
	if (trace_fd != STDERR_FILENO)
		close(trace_fd);
	trace_fd = fd;
	__atomic_store_n(&trace_mask, m, __ATOMIC_RELAXED);
	return 0;
}

uint64_t trace_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

size_t trace_format(char *buf, size_t len, uint64_t mono_ns, const char *cat, const char *fmt,
		    va_list ap)
{
	size_t n, i, head;
	int r;

	if (!len)
		return 0;
	r = snprintf(buf, len, "trace %llu.%06llu %s ",
		     (unsigned long long)(mono_ns / 1000000000ULL),
		     (unsigned long long)(mono_ns % 1000000000ULL / 1000), cat);
	head = r < 0 ? 0 : (size_t)r >= len ? len - 1 : (size_t)r;
	n = head;
	if (n + 1 < len) {
		r = vsnprintf(buf + n, len - n, fmt, ap);
		if (r > 0)
			n += (size_t)r >= len - n ? len - n - 1 : (size_t)r;
	}
	/* A message never splits the line (a name or a string from outside). */
	for (i = head; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	if (n + 1 >= len && len > 4) {
		/* Truncated: mark it and keep room for the newline. */
		n = len - 1;
		memcpy(buf + n - 4, "...\n", 4);
	} else if (n + 1 < len) {
		buf[n++] = '\n';
	}
	buf[n] = '\0';
	return n;
}

void trace_emit(unsigned int cat, const char *fmt, ...)
{
	char line[TRACE_LINE_MAX];
	va_list ap;
	size_t n;
	ssize_t w;

	va_start(ap, fmt);
	n = trace_format(line, sizeof(line), trace_now_ns(), trace_cat_name(cat), fmt, ap);
	va_end(ap);
	/* One write: O_APPEND and the pipe/terminal keep whole lines apart. */
	do
		w = write(trace_fd, line, n);
	while (w < 0 && errno == EINTR);
	/* Best effort: a lost trace line must not change what the VMM does. */
	(void)w;
}

/* Read the environment once, before main and before any thread exists. */
__attribute__((constructor)) static void trace_init_env(void)
{
	char err[256];

	if (trace_setup(getenv("MEMVISOR_TRACE"), getenv("MEMVISOR_TRACE_FILE"), err,
			sizeof(err))) {
		fprintf(stderr, "memvisor: error: %s\n", err);
		exit(2);
	}
}
