/*
 * memvisor: a KVM virtual machine monitor whose point is guest memory.
 *
 * The life of a VM, in one place (ARCHITECTURE.md, "The life of a VM"):
 * parse -> validate (the command line as a whole, before anything is
 * acquired) -> board_build (images, memory, the check that this host's KVM
 * can run a stock guest, the KVM VM, its memory slots, the hotplug regions,
 * the devices) -> api_open (the control socket) -> board_run (boot, then the
 * event loop until the guest or the host ends it) -> teardown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "board/backend.h"
#include "board/board.h"
#include "board/memory.h"
#include "board/restore.h"
#include "board/run.h"
#include "core/kvm_probe.h"
#include "lib/log.h"

int main(int argc, char **argv)
{
	static struct mv_config cfg;
	static struct board b;
	char err[CONFIG_ERR_LEN], verdict[256];
	bool exit_now = false;
	int status = 1;

	config_init(&cfg);
	if (config_parse_args(&cfg, argc, argv, &exit_now, err, sizeof(err)) ||
	    (!exit_now && !cfg.check_kvm && !cfg.restore.given &&
	     config_validate(&cfg, err, sizeof(err)))) {
		mv_err("%s", err);
		config_free(&cfg);
		return 2;
	}
	if (exit_now) {
		config_free(&cfg);
		return 0;
	}
	if (cfg.check_kvm) {
		/* The verdict alone, on stdout: scripts choose local KVM or the nested rig by it.
		 */
		status = kvm_check(verdict, sizeof(verdict)) ? 0 : 1;
		printf("memvisor: %s\n", verdict);
		config_free(&cfg);
		return status;
	}
	if (cfg.dry_run) {
		status = board_dry_run(&cfg, stdout) ? 2 : 0;
		config_free(&cfg);
		return status;
	}

	if (cfg.restore.given) {
		/* The machine comes from the snapshot: its own configuration, checked as typed. */
		static struct mv_config snap_cfg;

		if (board_restore(&b, &cfg, &snap_cfg) == 0 && board_api_open(&b) == 0)
			status = board_run(&b);
		board_api_close(&b);
		board_destroy(&b);
		config_free(&snap_cfg);
		config_free(&cfg);
		return status;
	}
	if (board_build(&b, &cfg) == 0) {
		/* What a snapshot records to rebuild this machine. */
		b.argc = argc;
		b.argv = argv;
		if (board_api_open(&b) == 0)
			status = board_run(&b);
	}
	board_api_close(&b);
	board_destroy(&b);
	config_free(&cfg);
	return status;
}
