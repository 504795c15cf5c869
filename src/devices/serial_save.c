#include "devices/serial_save.h"

#include <errno.h>
#include <string.h>

#include "lib/errbuf.h"

/* Writable bits, as serial.c keeps them. */
#define SERIAL_IER_MASK 0x0F
#define SERIAL_MCR_MASK 0x1F

struct serial_image {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm;
	uint8_t thri_pending;
	uint8_t rx_len;
	uint8_t rx[SERIAL_FIFO_LEN];
};

void serial_save(struct serial *s, struct mv_state_writer *w)
{
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	mv_sw_begin(w, SERIAL_STATE_NAME, SERIAL_STATE_VERSION);
	mv_sw_u8(w, s->ier);
	mv_sw_u8(w, s->lcr);
	mv_sw_u8(w, s->mcr);
	mv_sw_u8(w, s->lsr);
	mv_sw_u8(w, s->msr);
	mv_sw_u8(w, s->scr);
	mv_sw_u8(w, s->dll);
	mv_sw_u8(w, s->dlm);
	mv_sw_u8(w, s->thri_pending);
	/* The FIFO oldest byte first: the ring's head is this process's business. */
	mv_sw_u8(w, s->rx_len);
	for (i = 0; i < s->rx_len; i++)
		mv_sw_u8(w, s->rx[(s->rx_head + i) % SERIAL_FIFO_LEN]);
	mv_sw_end(w);
	pthread_mutex_unlock(&s->lock);
}

static int serial_parse(const struct mv_state_section *sec, struct serial_image *im, char *err,
			size_t errlen)
{
	struct mv_state_reader r = sec->payload;
	int ret;

	ret = mv_state_check(sec, SERIAL_STATE_NAME, SERIAL_STATE_VERSION, err, errlen);
	if (ret)
		return ret;
	im->ier = mv_sr_u8(&r);
	im->lcr = mv_sr_u8(&r);
	im->mcr = mv_sr_u8(&r);
	im->lsr = mv_sr_u8(&r);
	im->msr = mv_sr_u8(&r);
	im->scr = mv_sr_u8(&r);
	im->dll = mv_sr_u8(&r);
	im->dlm = mv_sr_u8(&r);
	im->thri_pending = mv_sr_u8(&r);
	im->rx_len = mv_sr_u8(&r);
	if (im->rx_len > SERIAL_FIFO_LEN) {
		mv_errbuf(err, errlen, "%s: rx_len %u exceeds the FIFO (%u)", sec->name, im->rx_len,
			  SERIAL_FIFO_LEN);
		return -EINVAL;
	}
	mv_sr_bytes(&r, im->rx, im->rx_len);
	ret = mv_state_done(sec, &r, err, errlen);
	if (ret)
		return ret;
	if (im->ier & ~SERIAL_IER_MASK) {
		mv_errbuf(err, errlen, "%s: ier %#x has reserved bits set", sec->name, im->ier);
		return -EINVAL;
	}
	if (im->mcr & ~SERIAL_MCR_MASK) {
		mv_errbuf(err, errlen, "%s: mcr %#x has reserved bits set", sec->name, im->mcr);
		return -EINVAL;
	}
	if (im->thri_pending > 1) {
		mv_errbuf(err, errlen, "%s: thri_pending %u is not 0 or 1", sec->name,
			  im->thri_pending);
		return -EINVAL;
	}
	return 0;
}

int serial_load(struct serial *s, const struct mv_state_section *sec, char *err, size_t errlen)
{
	struct serial_image im;
	int ret;

	memset(&im, 0, sizeof(im));
	ret = serial_parse(sec, &im, err, errlen);
	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	s->ier = im.ier;
	s->lcr = im.lcr;
	s->mcr = im.mcr;
	s->lsr = im.lsr;
	s->msr = im.msr;
	s->scr = im.scr;
	s->dll = im.dll;
	s->dlm = im.dlm;
	s->thri_pending = im.thri_pending;
	memcpy(s->rx, im.rx, im.rx_len);
	s->rx_head = 0;
	s->rx_len = im.rx_len;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
