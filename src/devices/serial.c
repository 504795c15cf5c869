#include "devices/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI	 0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI	 0x04
#define IIR_FIFO 0xC0 /* FIFOs enabled: Linux then detects a 16550A */
#define LCR_DLAB 0x80
#define LSR_DR	 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10

static void serial_power_on(struct serial *s)
{
	s->ier = 0;
	s->lcr = 0x03;
	s->mcr = 0x08;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = 0xB0;
	s->scr = 0;
	s->dll = 0x0C;
	s->dlm = 0;
	s->thri_pending = false;
}

static bool serial_irq_cond(const struct serial *s)
{
	return ((s->ier & IER_RDI) && s->rx_len) || ((s->ier & IER_THRI) && s->thri_pending);
}

/* One edge per new event; called with the lock held after a state change. */
static void serial_kick(struct serial *s)
{
	if (serial_irq_cond(s))
		irq_pulse(s->irq, SERIAL_IRQ);
}

static void serial_resume_input(struct serial *s)
{
	if (s->in_paused && s->rx_len < SERIAL_FIFO_LEN / 2) {
		s->in_paused = false;
		loop_mod(s->loop, &s->in, EPOLLIN);
	}
}

/* Wake the loop to drain; a full counter (2^64-2 wake-ups unread) means it is awake anyway. */
static void serial_wake(struct serial *s)
{
	uint64_t one = 1;
	ssize_t r = write(s->kick.fd, &one, sizeof(one));

	(void)r;
}

/* vCPU thread, lock held: never waits for the reader. */
static void serial_tx(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		if (s->rx_len < SERIAL_FIFO_LEN)
			s->rx[(s->rx_head + s->rx_len++) % SERIAL_FIFO_LEN] = c;
		return;
	}
	if (s->tx_fd < 0)
		return;
	if (s->tx_len == SERIAL_TX_RING) {
		/* The first drop wakes the loop so it can say so. */
		if (s->tx_dropped++ == 0)
			serial_wake(s);
		return;
	}
	s->tx[(s->tx_head + s->tx_len++) % SERIAL_TX_RING] = c;
	/* One wake-up per burst: the loop drains everything there is. */
	if (s->tx_len == 1)
		serial_wake(s);
}

/* A line on stderr only if it goes out at once: stderr may be the stalled pipe itself. */
static bool serial_stderr_ready(void)
{
	struct pollfd p = {.fd = STDERR_FILENO, .events = POLLOUT};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/*
 * Loop thread: write the ring out until it is empty or the output would
 * block (true then). The bytes in [head, head + len) belong to this side
 * until it advances head, so they are written without the lock.
 */
static bool serial_drain(struct serial *s)
{
	size_t head, len;
	ssize_t r;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		head = s->tx_head;
		len = s->tx_len;
		pthread_mutex_unlock(&s->lock);
		if (!len)
			return false;
		r = write(s->tx_fd, s->tx + head, MV_MIN(len, SERIAL_TX_RING - head));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true;
		pthread_mutex_lock(&s->lock);
		if (r > 0) {
			s->tx_head = (head + (size_t)r) % SERIAL_TX_RING;
			s->tx_len -= (size_t)r;
		} else {
			/* The reader is gone (EPIPE) or the output failed: this output is lost. */
			s->tx_dropped += s->tx_len;
			s->tx_head = 0;
			s->tx_len = 0;
		}
		pthread_mutex_unlock(&s->lock);
	}
}

void serial_flush(struct serial *s)
{
	bool blocked;

	if (s->tx_fd < 0)
		return;
	blocked = serial_drain(s);
	if (blocked && !s->out_waiting) {
		s->out.fd = s->tx_fd;
		if (loop_add(s->loop, &s->out, EPOLLOUT) == 0) {
			s->out_waiting = true;
		} else {
			/* Cannot wait for this output: what it would not take is lost. */
			pthread_mutex_lock(&s->lock);
			s->tx_dropped += s->tx_len;
			s->tx_head = s->tx_len = 0;
			pthread_mutex_unlock(&s->lock);
		}
	} else if (!blocked && s->out_waiting) {
		loop_del(s->loop, &s->out);
		s->out_waiting = false;
	}
	if (!s->tx_stall_said && serial_tx_dropped(s) && serial_stderr_ready()) {
		s->tx_stall_said = true;
		mv_warn("serial: output stalled, dropping console output until the reader "
			"catches up");
	}
}

static void serial_out_cb(struct loop_watch *w, uint32_t events)
{
	serial_flush(container_of(w, struct serial, out));
}

static void serial_kick_cb(struct loop_watch *w, uint32_t events)
{
	struct serial *s = container_of(w, struct serial, kick);
	uint64_t n;

	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	serial_flush(s);
}

uint64_t serial_tx_dropped(struct serial *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->tx_dropped;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/*
 * A descriptor for out_fd that never blocks. Setting O_NONBLOCK on out_fd
 * itself would reach every process sharing it (the shell's terminal, the
 * pipe stdout is), so a pipe or terminal is reopened; only where that is
 * impossible (a socket, no /proc) is out_fd's own flag set, and put back at
 * destroy. A regular file never waits for a reader and is used as is.
 */
static int serial_open_tx(struct serial *s, int fd)
{
	char path[40];
	struct stat st;
	int fl, nfd;

	s->tx_fd = -1;
	s->tx_restore_fl = -1;
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || (fl & O_NONBLOCK)) {
		s->tx_fd = fd;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (nfd >= 0) {
		s->tx_fd = nfd;
		s->tx_own_fd = true;
		return 0;
	}
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	s->tx_restore_fl = fl;
	s->tx_fd = fd;
	return 0;
}

static void serial_close_tx(struct serial *s)
{
	if (s->kick.fd >= 0) {
		loop_del(s->loop, &s->kick);
		close(s->kick.fd);
		s->kick.fd = -1;
	}
	if (s->out_waiting) {
		loop_del(s->loop, &s->out);
		s->out_waiting = false;
	}
	if (s->tx_restore_fl >= 0)
		fcntl(s->tx_fd, F_SETFL, s->tx_restore_fl);
	if (s->tx_own_fd)
		close(s->tx_fd);
	s->tx_fd = -1;
	free(s->tx);
	s->tx = NULL;
}

static void serial_read(struct bus_dev *d, uint64_t off, void *data, uint32_t len)
{
	struct serial *s = container_of(d, struct serial, bdev);
	uint8_t v = 0;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_len) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_LEN;
			s->rx_len--;
			serial_resume_input(s);
		}
		break;
	case UART_IER:
		v = s->lcr & LCR_DLAB ? s->dlm : s->ier;
		break;
	case UART_IIR:
		if ((s->ier & IER_RDI) && s->rx_len) {
			v = IIR_RDI;
		} else if ((s->ier & IER_THRI) && s->thri_pending) {
			v = IIR_THRI;
			s->thri_pending = false; /* reading IIR acknowledges THRE */
		} else {
			v = IIR_NONE;
		}
		v |= IIR_FIFO;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = s->lsr | (s->rx_len ? LSR_DR : 0);
		break;
	case UART_MSR:
		v = s->msr;
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
}

static void serial_write(struct bus_dev *d, uint64_t off, const void *data, uint32_t len)
{
	struct serial *s = container_of(d, struct serial, bdev);
	uint8_t v = *(const uint8_t *)data;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		serial_tx(s, v);
		/* The byte left at once: THR is empty again, a new THRE event. */
		s->thri_pending = true;
		serial_kick(s);
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		s->ier = v & 0x0F;
		/* Enabling THRI with THR empty interrupts at once (8250 startup test relies on it).
		 */
		if (s->ier & IER_THRI)
			s->thri_pending = true;
		serial_kick(s);
		break;
	case UART_IIR: /* FCR: FIFO control; our FIFO is always on */
		if (v & 0x02) {
			s->rx_len = 0;
			serial_resume_input(s);
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1F;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_dev_ops serial_ops = {
    .read = serial_read,
    .write = serial_write,
};

unsigned int serial_push_input(struct serial *s, const uint8_t *buf, unsigned int len)
{
	unsigned int n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_len < SERIAL_FIFO_LEN) {
		s->rx[(s->rx_head + s->rx_len++) % SERIAL_FIFO_LEN] = buf[n++];
	}
	if (n)
		serial_kick(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void serial_input_cb(struct loop_watch *w, uint32_t events)
{
	struct serial *s = container_of(w, struct serial, in);
	uint8_t buf[SERIAL_FIFO_LEN], out[SERIAL_FIFO_LEN];
	unsigned int room, i, n = 0;
	ssize_t r;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_FIFO_LEN - s->rx_len;
	if (!room) {
		/* Stop reading until the guest drains the FIFO. */
		s->in_paused = true;
		loop_mod(s->loop, &s->in, 0);
	}
	pthread_mutex_unlock(&s->lock);
	if (!room)
		return;
	r = read(w->fd, buf, room);
	if (r <= 0) {
		if (r == 0 || (errno != EAGAIN && errno != EINTR))
			loop_del(s->loop, w); /* EOF: the guest just gets no more input */
		return;
	}
	for (i = 0; i < (unsigned int)r; i++) {
		if (s->in_tty && s->escape) {
			s->escape = false;
			if (buf[i] == 'x') {
				s->events->post(s->events, VM_EV_QUIT);
				return;
			}
			if (buf[i] != 0x01)
				continue;
		} else if (s->in_tty && buf[i] == 0x01) {
			s->escape = true;
			continue;
		}
		out[n++] = buf[i];
	}
	serial_push_input(s, out, n);
}

void serial_reset(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	serial_power_on(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_init(struct serial *s, struct bus *pio, struct loop *loop, struct irq_sink *irq,
		struct vm_events *events, int in_fd, int out_fd)
{
	int ret;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->loop = loop;
	s->irq = irq;
	s->events = events;
	s->out_fd = out_fd;
	s->in.fd = in_fd;
	s->in.cb = serial_input_cb;
	s->in_tty = in_fd >= 0 && isatty(in_fd);
	s->out.cb = serial_out_cb;
	s->kick.fd = -1;
	s->kick.cb = serial_kick_cb;
	serial_power_on(s);
	ret = serial_open_tx(s, out_fd);
	if (!ret && s->tx_fd >= 0) {
		s->tx = malloc(SERIAL_TX_RING);
		s->kick.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (!s->tx || s->kick.fd < 0)
			ret = -ENOMEM;
		else
			ret = loop_add(loop, &s->kick, EPOLLIN);
		if (ret && s->kick.fd >= 0) {
			close(s->kick.fd);
			s->kick.fd = -1;
		}
	}
	if (ret)
		goto fail;
	s->bdev.ops = &serial_ops;
	s->bdev.name = "serial";
	ret = bus_register(pio, &s->bdev, SERIAL_PORT, 8);
	if (ret)
		goto fail;
	if (in_fd >= 0) {
		ret = loop_add(loop, &s->in, EPOLLIN);
		/* A regular file or /dev/null cannot be polled: the guest gets no input. */
		if (ret == -EPERM) {
			s->in.fd = -1;
			ret = 0;
		}
		if (ret) {
			bus_unregister(pio, &s->bdev);
			goto fail;
		}
	}
	return 0;
fail:
	serial_close_tx(s);
	pthread_mutex_destroy(&s->lock);
	return ret;
}

void serial_destroy(struct serial *s, struct bus *pio)
{
	uint64_t dropped;

	bus_unregister(pio, &s->bdev);
	/* The vCPUs are stopped: what the output takes now goes out, without waiting. */
	if (s->tx_fd >= 0)
		serial_drain(s);
	dropped = serial_tx_dropped(s);
	if (dropped && serial_stderr_ready())
		mv_warn("serial: output stalled, %llu bytes dropped", (unsigned long long)dropped);
	serial_close_tx(s);
	pthread_mutex_destroy(&s->lock);
}
