#include "board/board.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/cpu.h"
#include "board/devices.h"
#include "board/firmware.h"
#include "board/memory.h"
#include "core/kvm_probe.h"
#include "lib/log.h"
#include "lib/util.h"

void board_init(struct board *m, struct mv_config *cfg)
{
	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	m->serial_out_fd = -1;
	m->size_w.fd = -1;
	m->loop.epfd = -1;
}

int board_create_vm(struct board *m)
{
	char err[256];
	int ret;

	ret = loop_init(&m->loop);
	if (ret) {
		mv_err("cannot create the event loop: %s", strerror(-ret));
		return ret;
	}
	ret = vm_create(&m->vm, &x86_vm_arch, &m->loop, m->cfg->cpus.boot, err, sizeof(err));
	if (ret) {
		mv_err("%s", err);
		return ret;
	}
	m->vm_created = true;
	return 0;
}

int board_build(struct board *m, struct mv_config *cfg)
{
	char verdict[256];

	board_init(m, cfg);
	if (board_load_images(m) || board_create_memory(m))
		return -1;
	/*
	 * After the memory, so that a configuration this host cannot back (RAM
	 * too small for the kernel, a file= zone on a full filesystem) is named
	 * first on every host; the memory is only reserved, not touched, unless
	 * prefault=on asked for it.
	 */
	if (!kvm_check(verdict, sizeof(verdict))) {
		mv_err("cannot run the guest: %s", verdict);
		return -1;
	}
	if (board_create_vm(m) || board_map_memory(m) || board_create_hotplug(m) ||
	    board_create_devices(m))
		return -1;
	return 0;
}

int board_boot(struct board *m)
{
	/* A restored guest is already where it was: only its vCPUs start. */
	int ret = m->restored ? 0 : board_load_guest(m);

	m->restored = false;
	if (ret)
		return ret;
	m->boots++;
	/* A reset while paused (QMP system_reset) stays paused, as QEMU's does. */
	if (m->paused)
		return 0;
	ret = vm_start(&m->vm);
	if (ret)
		mv_err("starting the vCPUs failed: %s", strerror(-ret));
	return ret;
}

int board_reset(struct board *m)
{
	vm_stop(&m->vm);
	board_reset_devices(m);
	mv_info("guest reboot");
	return board_boot(m);
}

int board_pause(struct board *m)
{
	if (m->paused)
		return 0;
	/* vCPUs first: no notify can arrive once they are joined; then the queues. */
	vm_stop(&m->vm);
	board_pause_devices(m, true);
	m->paused = true;
	return 1;
}

int board_resume(struct board *m)
{
	int ret;

	if (!m->paused)
		return 0;
	board_pause_devices(m, false);
	ret = vm_start(&m->vm);
	if (ret) {
		board_pause_devices(m, true);
		mv_err("starting the vCPUs failed: %s", strerror(-ret));
		return ret;
	}
	m->paused = false;
	return 1;
}

/* Reverse of creation: vCPUs stop first, devices go before the VM they are wired to. */
void board_destroy(struct board *m)
{
	if (m->vm_created)
		vm_stop(&m->vm);
	board_destroy_devices(m);
	board_destroy_hotplug(m);
	if (m->vm_created)
		vm_destroy(&m->vm);
	if (m->signal_w.fd > 0)
		close(m->signal_w.fd);
	if (m->size_w.fd >= 0)
		close(m->size_w.fd);
	if (m->loop.epfd >= 0)
		loop_destroy(&m->loop);
	if (m->serial_out_fd >= 0)
		close(m->serial_out_fd);
	board_destroy_backends(m);
	free(m->kernel);
	free(m->initrd);
}
