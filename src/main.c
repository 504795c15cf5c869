/*
 * memvisor: a KVM virtual machine monitor whose point is guest memory.
 *
 * The order in which a VM comes to be, in one place: the command line is
 * parsed and validated as a whole before anything is acquired; then images,
 * memory, the KVM VM, devices, and the boot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "core/log.h"
#include "core/machine.h"

int main(int argc, char **argv)
{
	static struct mv_config cfg;
	static struct machine m;
	char err[CONFIG_ERR_LEN];
	bool exit_now = false;
	int status = 1;

	config_init(&cfg);
	if (config_parse_args(&cfg, argc, argv, &exit_now, err, sizeof(err)) ||
	    (!exit_now && config_validate(&cfg, err, sizeof(err)))) {
		mv_err("%s", err);
		config_free(&cfg);
		return 2;
	}
	if (exit_now) {
		config_free(&cfg);
		return 0;
	}
	if (cfg.dry_run) {
		status = machine_dry_run(&cfg, stdout) ? 2 : 0;
		config_free(&cfg);
		return status;
	}

	if (machine_load_images(&m, &cfg) || machine_create_memory(&m) || machine_create_vm(&m) ||
	    machine_map_memory(&m) || machine_create_devices(&m))
		goto out;
	status = machine_run(&m);
out:
	machine_destroy(&m);
	config_free(&cfg);
	return status;
}
