/*
 * Helpers shared by the config unit tests: a fake host, and running a
 * command line written as one string (split at blanks) through
 * config_parse_args() and config_validate().
 */
#ifndef MV_TESTS_TEST_CONFIG_UTIL_H
#define MV_TESTS_TEST_CONFIG_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/host.h"
#include "config/options.h"
#include "config_fake_host.h"

/* One config for the whole test binary: it is ~300K, too big for a frame. */
static struct mv_config *cfg;
static char err[CONFIG_ERR_LEN];

static inline int group_setup(void **state)
{
	cfg = calloc(1, sizeof(*cfg));
	config_init(cfg);
	config_host_set(&fake_host);
	return cfg ? 0 : -1;
}

static inline int group_teardown(void **state)
{
	config_free(cfg);
	free(cfg);
	config_host_set(NULL);
	return 0;
}

/* Frees what the previous test parsed and starts from the defaults. */
static inline void reset(void)
{
	config_free(cfg);
	config_init(cfg);
	fake_default_hp = 2ULL << 20;
	err[0] = '\0';
}

/* Parses argv given as words; resets cfg first. */
static inline int parse_argv(int argc, char **argv)
{
	bool exit_now;

	reset();
	return config_parse_args(cfg, argc, argv, &exit_now, err, sizeof(err));
}

/* Parses "memvisor <line>" (line split at blanks); resets cfg first. */
static inline int parse_line(const char *line)
{
	char buf[8192], *argv[128], *save;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = "memvisor";
	for (char *t = strtok_r(buf, " ", &save); t && argc < 127; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	return parse_argv(argc, argv);
}

/* Parses "--kernel /k <line>" and validates it. */
static inline int run(const char *line)
{
	char full[8192];
	int r;

	snprintf(full, sizeof(full), "--kernel /k %s", line);
	r = parse_line(full);
	return r ? r : config_validate(cfg, err, sizeof(err));
}

#define expect_ok(line)                                                                            \
	do {                                                                                       \
		int r_ = run(line);                                                                \
		if (r_)                                                                            \
			fail_msg("'%s' refused (%d): %s", line, r_, err);                          \
	} while (0)

/* Refused with -EINVAL and an error line containing want. */
#define expect_err(line, want)                                                                     \
	do {                                                                                       \
		int r_ = run(line);                                                                \
		if (r_ != -EINVAL)                                                                 \
			fail_msg("'%s' gave %d, want -EINVAL ('%s')", line, r_, want);             \
		if (!strstr(err, want))                                                            \
			fail_msg("'%s': error '%s' lacks '%s'", line, err, want);                  \
		if (strchr(err, '\n'))                                                             \
			fail_msg("'%s': error is not one line: '%s'", line, err);                  \
	} while (0)

#endif
