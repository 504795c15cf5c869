/*
 * fuzz_ctl: memvisor-ctl's command line and sizes (api/ctl.c): ctl_parse_args,
 * then ctl_parse_resize or ctl_parse_events on the command's words, and
 * mv_size_parse on every word.
 *
 * Input: argv words after "memvisor-ctl", split at NUL or newline.
 * Invariants: no crash; a refusal is -EINVAL with one non-empty line in err;
 * an accepted resize has a timeout in 1..CTL_MAX_TIMEOUT_S; events' numbers
 * are in range; a size that parses prints (mv_size_format) as text that
 * parses back to the same value.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/ctl.h"
#include "lib/size.h"

#define FZ_MAX_WORDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_refusal(int ret, const char *err)
{
	if (ret != -EINVAL || !err[0] || strchr(err, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[FZ_MAX_WORDS + 2], *text, err[256], fmt[32];
	struct ctl_resize r;
	struct ctl_events e;
	struct ctl_args a;
	uint64_t v, v2;
	int argc = 1, i, ret;
	size_t k;

	if (size > 4096)
		return 0;
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	argv[0] = "memvisor-ctl";
	argv[argc++] = text;
	for (k = 0; k < size && argc < FZ_MAX_WORDS + 1; k++) {
		if (text[k] == '\0' || text[k] == '\n') {
			text[k] = '\0';
			argv[argc++] = text + k + 1;
		}
	}
	argv[argc] = NULL;
	for (i = 1; i < argc; i++) {
		if (mv_size_parse(argv[i], &v) == 0) {
			mv_size_format(v, fmt, sizeof(fmt));
			if (mv_size_parse(fmt, &v2) || v2 != v)
				abort();
		}
	}
	err[0] = '\0';
	ret = ctl_parse_args(argc, argv, &a, err, sizeof(err));
	if (ret) {
		fz_refusal(ret, err);
		goto out;
	}
	if (a.help || a.raw)
		goto out;
	if (a.cmd_argc < 1 || !a.sock)
		abort();
	if (!strcmp(a.cmd_argv[0], "resize")) {
		err[0] = '\0';
		ret = ctl_parse_resize(a.cmd_argc - 1, a.cmd_argv + 1, &r, err, sizeof(err));
		if (ret)
			fz_refusal(ret, err);
		else if (!r.timeout_s || r.timeout_s > CTL_MAX_TIMEOUT_S)
			abort();
	} else if (!strcmp(a.cmd_argv[0], "events")) {
		err[0] = '\0';
		ret = ctl_parse_events(a.cmd_argc - 1, a.cmd_argv + 1, &e, err, sizeof(err));
		if (ret)
			fz_refusal(ret, err);
		else if (e.timeout_s > CTL_MAX_TIMEOUT_S || e.count > CTL_MAX_COUNT)
			abort();
	}
out:
	free(text);
	return 0;
}
