#include "board/run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "board/backend.h"
#include "lib/log.h"
#include "lib/util.h"

static void board_on_vm_event(struct loop_watch *w, uint32_t events)
{
	struct board *m = container_of(w, struct board, vm_event_w);

	switch (vm_take_event(&m->vm)) {
	case VM_EV_NONE:
		return;
	case VM_EV_POWEROFF:
		board_api_shutdown(m, true, "guest-shutdown");
		m->exit_code = 0;
		break;
	case VM_EV_RESET:
		board_api_reset(m, true, "guest-reset");
		if (m->cfg->on_reboot == ON_REBOOT_RESET) {
			if (board_reset(m) == 0)
				return;
			m->exit_code = 1;
		} else {
			m->exit_code = 0;
		}
		break;
	case VM_EV_PANIC:
		board_api_panic(m);
		mv_err("the guest kernel panicked");
		m->exit_code = 1;
		break;
	case VM_EV_SHUTDOWN:
		mv_err("the guest triple-faulted (CPU shutdown)");
		m->exit_code = 1;
		break;
	case VM_EV_QUIT:
		m->exit_code = 0;
		break;
	case VM_EV_ERROR:
		m->exit_code = 1;
		break;
	}
	loop_stop(&m->loop);
}

static void board_on_signal(struct loop_watch *w, uint32_t events)
{
	struct board *m = container_of(w, struct board, signal_w);
	struct signalfd_siginfo si;

	if (read(w->fd, &si, sizeof(si)) != sizeof(si))
		return;
	mv_info("%s received, stopping the VM", strsignal(si.ssi_signo));
	board_api_shutdown(m, false, "host-signal");
	if (mv_debug_enabled()) {
		vm_stop(&m->vm);
		for (unsigned int i = 0; i < m->vm.ncpus; i++) {
			struct kvm_regs r;

			if (ioctl(m->vm.vcpus[i].fd, KVM_GET_REGS, &r) == 0)
				mv_debug("vCPU %u: rip %#llx rsp %#llx", i,
					 (unsigned long long)r.rip, (unsigned long long)r.rsp);
		}
	}
	m->exit_code = 0;
	loop_stop(&m->loop);
}

static void board_raw_terminal(struct board *m)
{
	struct termios t;

	if (m->cfg->serial != SERIAL_TTY || !isatty(STDIN_FILENO) ||
	    tcgetattr(STDIN_FILENO, &m->saved_tio) < 0)
		return;
	m->tio_saved = true;
	t = m->saved_tio;
	/* Raw input for the guest; Ctrl-A x leaves (see serial.h). */
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

int board_run(struct board *m)
{
	sigset_t set;
	int ret;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	m->signal_w.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	m->signal_w.cb = board_on_signal;
	m->vm_event_w.fd = m->vm.event_fd;
	m->vm_event_w.cb = board_on_vm_event;
	if (m->signal_w.fd < 0 || loop_add(&m->loop, &m->signal_w, EPOLLIN) ||
	    loop_add(&m->loop, &m->vm_event_w, EPOLLIN)) {
		mv_err("cannot watch signals and VM events: %s", strerror(errno));
		return 1;
	}
	board_raw_terminal(m);
	ret = board_boot(m);
	if (!ret) {
		ret = loop_run(&m->loop);
		if (ret)
			mv_err("event loop failed: %s", strerror(-ret));
	}
	if (m->tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &m->saved_tio);
	m->tio_saved = false;
	return ret ? 1 : m->exit_code;
}
