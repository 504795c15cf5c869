#include "devices/memhp.h"

#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

/* The 24 bytes the guest reads for the selected slot (zeros for none). */
static void memhp_image(const struct memhp_regs *r, uint8_t img[MEMHP_LEN])
{
	const struct memhp_slot *s;

	memset(img, 0, MEMHP_LEN);
	if (r->selector >= r->nr_slots)
		return;
	s = &r->slots[r->selector];
	if (s->enabled || s->ejecting) {
		le_put(img + MEMHP_REG_ADDR_LO, s->addr, 8);
		le_put(img + MEMHP_REG_SIZE_LO, s->size, 8);
		le_put(img + MEMHP_REG_PXM, s->node, 4);
	}
	img[MEMHP_REG_STATUS] = (s->enabled ? MEMHP_ST_ENABLED : 0) |
				(s->inserting ? MEMHP_ST_INSERT : 0) |
				(s->removing ? MEMHP_ST_REMOVE : 0);
}

static bool memhp_width_ok(uint64_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && off < MEMHP_LEN && len <= MEMHP_LEN - off;
}

void memhp_read(const struct memhp_regs *r, uint64_t off, uint32_t len, uint64_t *val)
{
	uint8_t img[MEMHP_LEN];

	*val = 0;
	if (!memhp_width_ok(off, len))
		return;
	memhp_image(r, img);
	*val = le_get(img + off, len);
}

struct memhp_result memhp_write(struct memhp_regs *r, uint64_t off, uint32_t len, uint64_t val)
{
	struct memhp_result res = {.action = MEMHP_NONE};
	struct memhp_slot *s;

	if (!memhp_width_ok(off, len))
		return res;
	if (off == MEMHP_REG_SEL) {
		r->selector = val;
		return res;
	}
	if (r->selector >= r->nr_slots)
		return res;
	s = &r->slots[r->selector];
	res.slot = r->selector;
	switch (off) {
	case MEMHP_REG_OST_EV:
		s->ost_event = val;
		break;
	case MEMHP_REG_OST_ST:
		/* The event code was written first; the status completes the report. */
		s->ost_status = val;
		res.action = MEMHP_OST;
		res.ost_event = s->ost_event;
		res.ost_status = s->ost_status;
		break;
	case MEMHP_REG_CTRL:
		if (val & MEMHP_ST_INSERT)
			s->inserting = false;
		if (val & MEMHP_ST_REMOVE)
			s->removing = false;
		if ((val & MEMHP_CTL_EJECT) && s->enabled) {
			s->enabled = false;
			s->inserting = false;
			s->removing = false;
			s->ejecting = true;
			res.action = MEMHP_EJECT;
		}
		break;
	default:
		break; /* read-only or reserved */
	}
	return res;
}

bool memhp_ost_eject_failed(uint32_t event, uint32_t status)
{
	if (event != MEMHP_OST_EV_EJECT_REQUEST && event != MEMHP_OST_EV_OSPM_EJECT)
		return false;
	/* Success and "in progress" are not refusals; every other code is (ACPI 6.3.5). */
	return status != MEMHP_OST_SUCCESS && status != MEMHP_OST_IN_PROGRESS;
}

static struct memhp *memhp_of(struct bus_dev *d)
{
	return container_of(d, struct memhp, dev);
}

static void memhp_bus_read(struct bus_dev *d, uint64_t off, void *data, uint32_t len)
{
	struct memhp *h = memhp_of(d);
	uint64_t v;

	pthread_mutex_lock(&h->lock);
	memhp_read(&h->regs, off, len, &v);
	pthread_mutex_unlock(&h->lock);
	memset(data, 0, len);
	le_put(data, v, len > 8 ? 8 : len);
}

static void memhp_bus_write(struct bus_dev *d, uint64_t off, const void *data, uint32_t len)
{
	struct memhp *h = memhp_of(d);
	struct memhp_result res;

	pthread_mutex_lock(&h->lock);
	res = memhp_write(&h->regs, off, len, le_get(data, len > 8 ? 8 : len));
	pthread_mutex_unlock(&h->lock);
	if (res.action == MEMHP_OST) {
		mv_debug("memhp: slot %u _OST event %#x status %#x", res.slot, res.ost_event,
			 res.ost_status);
		if (h->hooks && h->hooks->ost)
			h->hooks->ost(h, res.slot, res.ost_event, res.ost_status);
	} else if (res.action == MEMHP_EJECT) {
		mv_debug("memhp: slot %u ejected by the guest", res.slot);
		if (h->hooks && h->hooks->eject)
			h->hooks->eject(h, res.slot);
	}
}

static const struct bus_dev_ops memhp_ops = {
    .read = memhp_bus_read,
    .write = memhp_bus_write,
};

int memhp_init(struct memhp *h, unsigned int nr_slots, struct bus *pio, struct irq_sink *irq,
	       const struct memhp_hooks *hooks, void *opaque)
{
	int ret;

	if (!nr_slots || nr_slots > MEMHP_MAX_SLOTS)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->irq = irq;
	h->hooks = hooks;
	h->opaque = opaque;
	h->regs.nr_slots = nr_slots;
	h->dev = (struct bus_dev){.ops = &memhp_ops, .name = "acpi-memhp"};
	ret = pthread_mutex_init(&h->lock, NULL);
	if (ret)
		return -ret;
	ret = bus_register(pio, &h->dev, MEMHP_PORT, MEMHP_LEN);
	if (ret)
		pthread_mutex_destroy(&h->lock);
	return ret;
}

void memhp_destroy(struct memhp *h, struct bus *pio)
{
	bus_unregister(pio, &h->dev);
	pthread_mutex_destroy(&h->lock);
}

int memhp_plug(struct memhp *h, unsigned int slot, uint64_t addr, uint64_t size, uint32_t node)
{
	struct memhp_slot *s;
	int ret = 0;

	if (slot >= h->regs.nr_slots || !size || (addr | size) & 0xFFF || addr + size < addr)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	s = &h->regs.slots[slot];
	if (s->enabled || s->ejecting) {
		ret = -EBUSY;
	} else {
		*s = (struct memhp_slot){
		    .addr = addr, .size = size, .node = node, .enabled = true, .inserting = true};
	}
	pthread_mutex_unlock(&h->lock);
	if (!ret)
		irq_pulse(h->irq, MEMHP_GSI);
	return ret;
}

int memhp_request_unplug(struct memhp *h, unsigned int slot)
{
	int ret = 0;

	if (slot >= h->regs.nr_slots)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	if (!h->regs.slots[slot].enabled)
		ret = -ENOENT;
	else
		h->regs.slots[slot].removing = true;
	pthread_mutex_unlock(&h->lock);
	if (!ret)
		irq_pulse(h->irq, MEMHP_GSI);
	return ret;
}

int memhp_release(struct memhp *h, unsigned int slot)
{
	struct memhp_slot *s;
	int ret = 0;

	if (slot >= h->regs.nr_slots)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	s = &h->regs.slots[slot];
	if (!s->enabled && !s->ejecting)
		ret = -ENOENT;
	else
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&h->lock);
	return ret;
}

struct memhp_slot memhp_slot_get(struct memhp *h, unsigned int slot)
{
	struct memhp_slot s = {0};

	if (slot >= h->regs.nr_slots)
		return s;
	pthread_mutex_lock(&h->lock);
	s = h->regs.slots[slot];
	pthread_mutex_unlock(&h->lock);
	return s;
}

void memhp_reset(struct memhp *h)
{
	unsigned int i;

	pthread_mutex_lock(&h->lock);
	h->regs.selector = 0;
	for (i = 0; i < h->regs.nr_slots; i++) {
		struct memhp_slot *s = &h->regs.slots[i];

		s->inserting = false;
		s->removing = false;
		s->ost_event = 0;
		s->ost_status = 0;
	}
	pthread_mutex_unlock(&h->lock);
}
