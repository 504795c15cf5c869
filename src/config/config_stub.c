/* Interim minimal command line (kernel, memory size, cpus, serial); replaced by config.c. */
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_init(struct mv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory.size = CONFIG_DEFAULT_MEM;
	cfg->cpus.boot = cfg->cpus.max = 1;
	cfg->rng = true;
}

void config_free(struct mv_config *cfg)
{
	(void)cfg;
}

int config_parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'K':
		v <<= 10;
		break;
	case 'M':
		v <<= 20;
		break;
	case 'G':
		v <<= 30;
		break;
	default:
		break;
	}
	*out = v;
	return 0;
}

int config_parse_args(struct mv_config *cfg, int argc, char **argv, bool *exit_now, char *err,
		      size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--kernel") && v) {
			cfg->kernel = argv[++i];
		} else if (!strcmp(a, "--initramfs") && v) {
			cfg->initramfs = argv[++i];
		} else if (!strcmp(a, "--cmdline") && v) {
			cfg->cmdline = argv[++i];
		} else if (!strcmp(a, "--memory") && v && !strncmp(v, "size=", 5)) {
			config_parse_size(v + 5, &cfg->memory.size);
			i++;
		} else if (!strcmp(a, "--cpus") && v && !strncmp(v, "boot=", 5)) {
			cfg->cpus.boot = cfg->cpus.max = atoi(v + 5);
			i++;
		} else if (!strcmp(a, "--serial") && v) {
			i++;
			if (!strcmp(v, "off"))
				cfg->serial = SERIAL_OFF;
			else if (!strncmp(v, "file=", 5)) {
				cfg->serial = SERIAL_FILE;
				cfg->serial_file = (char *)v + 5;
			}
		} else if (!strcmp(a, "--on-reboot") && v) {
			cfg->on_reboot =
			    !strcmp(argv[++i], "exit") ? ON_REBOOT_EXIT : ON_REBOOT_RESET;
		} else {
			snprintf(err, errlen, "unknown option %s", a);
			return -EINVAL;
		}
	}
	*exit_now = false;
	return 0;
}

int config_validate(struct mv_config *cfg, char *err, size_t errlen)
{
	cfg->nr_zones = 1;
	strcpy(cfg->zones[0].id, "mem0");
	cfg->zones[0].size = cfg->memory.size;
	return 0;
}
