#include "devices/msix.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define PCI_CAP_ID_MSIX 0x11
#define MSIX_CTRL	2 /* Message Control, in the capability */
#define MSIX_TABLE_REG	4 /* Table Offset / BIR */
#define MSIX_PBA_REG	8 /* PBA Offset / BIR */
#define MSIX_CAP_LEN	12

/* In a table entry. */
#define MSIX_E_ADDR_LO 0
#define MSIX_E_ADDR_HI 4
#define MSIX_E_DATA    8
#define MSIX_E_CTRL    12
#define MSIX_E_MASKED  0x1

static uint16_t msix_ctrl(const struct msix *x)
{
	return le_get(x->pci->cfg + x->cap + MSIX_CTRL, 2);
}

bool msix_enabled(const struct msix *x)
{
	return x->cap && (msix_ctrl(x) & MSIX_CTRL_ENABLE);
}

static uint8_t *msix_entry(struct msix *x, unsigned int v)
{
	return x->table + v * MSIX_ENTRY_SIZE;
}

static bool msix_masked(struct msix *x, unsigned int v)
{
	uint16_t c = msix_ctrl(x);

	return !(c & MSIX_CTRL_ENABLE) || (c & MSIX_CTRL_MASKALL) ||
	       (le_get(msix_entry(x, v) + MSIX_E_CTRL, 4) & MSIX_E_MASKED);
}

int msix_init(struct msix *x, struct pci_dev *pd, unsigned int nvec, unsigned int bar, bool use_fds)
{
	uint8_t cap[MSIX_CAP_LEN] = {PCI_CAP_ID_MSIX};
	unsigned int i;
	int at;

	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS)
		return -EINVAL;
	memset(x, 0, sizeof(*x));
	x->pci = pd;
	x->bar = bar;
	x->nvec = nvec;
	x->use_fds = use_fds;
	le_put(cap + MSIX_CTRL, nvec - 1, 2); /* table size, N-1 encoded */
	le_put(cap + MSIX_TABLE_REG, MSIX_TABLE_OFF | bar, 4);
	le_put(cap + MSIX_PBA_REG, MSIX_PBA_OFF | bar, 4);
	at = pci_dev_add_cap(pd, cap, sizeof(cap));
	if (at < 0)
		return at;
	x->cap = at;
	/* The guest writes enable and function mask only (the high byte's top bits). */
	pd->wmask[at + MSIX_CTRL + 1] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	for (i = 0; i < MSIX_MAX_VECTORS; i++)
		x->v[i] = (struct msix_vector){.gsi = -1, .fd = -1};
	msix_reset(x);
	return 0;
}

static void msix_drop_route(struct msix *x, unsigned int v)
{
	struct pci_host *h = x->pci->host;
	struct msix_vector *mv = &x->v[v];

	if (mv->fd >= 0) {
		h->ops->irqfd(h, mv->gsi, mv->fd, -1, false);
		close(mv->fd);
		mv->fd = -1;
	}
	if (mv->gsi >= 0 && h->ops->msi_route_free)
		h->ops->msi_route_free(h, mv->gsi);
	mv->gsi = -1;
}

void msix_destroy(struct msix *x)
{
	unsigned int i;

	if (!x->pci)
		return;
	for (i = 0; i < x->nvec; i++)
		msix_drop_route(x, i);
}

void msix_reset(struct msix *x)
{
	unsigned int i;
	uint8_t *ctrl = x->pci->cfg + x->cap + MSIX_CTRL;

	le_put(ctrl, le_get(ctrl, 2) & ~(MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL), 2);
	memset(x->table, 0, sizeof(x->table));
	for (i = 0; i < x->nvec; i++) {
		le_put(msix_entry(x, i) + MSIX_E_CTRL, MSIX_E_MASKED, 4);
		x->v[i].dirty = true;
	}
	x->pba = 0;
}

/* The route of v follows its entry; an eventfd bound to it when possible. */
static void msix_route(struct msix *x, unsigned int v, uint64_t addr, uint32_t data)
{
	struct pci_host *h = x->pci->host;
	struct msix_vector *mv = &x->v[v];

	if (!h->ops->msi_route || !h->ops->signal_msi)
		return;
	if (h->ops->msi_route(h, &mv->gsi, addr, data)) {
		/* Sent directly until a later write of the entry retries. */
		x->route_failures++;
		msix_drop_route(x, v);
		mv->dirty = false;
		return;
	}
	mv->dirty = false;
	if (mv->fd >= 0 || !x->use_fds || !h->ops->irqfd)
		return;
	mv->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mv->fd >= 0 && h->ops->irqfd(h, mv->gsi, mv->fd, -1, true)) {
		close(mv->fd);
		mv->fd = -1;
	}
}

static void msix_send(struct msix *x, unsigned int v)
{
	struct pci_host *h = x->pci->host;
	const uint8_t *e = msix_entry(x, v);
	uint64_t addr = le_get(e + MSIX_E_ADDR_LO, 8);
	uint32_t data = le_get(e + MSIX_E_DATA, 4);
	uint64_t one = 1;

	if (x->v[v].dirty)
		msix_route(x, v, addr, data);
	x->sent++;
	if (x->v[v].fd >= 0 && write(x->v[v].fd, &one, sizeof(one)) == sizeof(one))
		return;
	x->direct++;
	/* A message KVM refuses (a guest's bad address) is the guest's loss only. */
	if (h->ops->signal_msi)
		h->ops->signal_msi(h, addr, data);
}

void msix_notify(struct msix *x, unsigned int v)
{
	if (v >= x->nvec)
		return;
	if (msix_masked(x, v)) {
		x->pba |= 1ULL << v;
		x->pended++;
		return;
	}
	msix_send(x, v);
}

/* Send what is pending and no longer masked. */
static void msix_flush(struct msix *x)
{
	unsigned int v;

	for (v = 0; v < x->nvec; v++) {
		if (!(x->pba >> v & 1) || msix_masked(x, v))
			continue;
		x->pba &= ~(1ULL << v);
		msix_send(x, v);
	}
}

void msix_cfg_written(struct msix *x)
{
	msix_flush(x);
}

void msix_loaded(struct msix *x)
{
	unsigned int i;

	for (i = 0; i < x->nvec; i++)
		x->v[i].dirty = true;
	if (x->nvec < 64)
		x->pba &= (1ULL << x->nvec) - 1;
}

/* A 4- or 8-byte aligned access inside [base, base + size). */
static bool msix_access_ok(uint64_t off, uint32_t len, uint64_t base, uint64_t size)
{
	return (len == 4 || len == 8) && off % len == 0 && off >= base && off - base < size &&
	       len <= size - (off - base);
}

void msix_bar_read(struct msix *x, uint64_t off, void *data, uint32_t len)
{
	uint8_t pba[8];

	memset(data, 0, len);
	if (msix_access_ok(off, len, MSIX_TABLE_OFF, x->nvec * MSIX_ENTRY_SIZE)) {
		memcpy(data, x->table + (off - MSIX_TABLE_OFF), len);
	} else if (msix_access_ok(off, len, MSIX_PBA_OFF, 8)) {
		le_put(pba, x->pba, 8);
		memcpy(data, pba + (off - MSIX_PBA_OFF), len);
	}
}

void msix_bar_write(struct msix *x, uint64_t off, const void *data, uint32_t len)
{
	unsigned int v, i, o;

	if (!msix_access_ok(off, len, MSIX_TABLE_OFF, x->nvec * MSIX_ENTRY_SIZE))
		return;
	off -= MSIX_TABLE_OFF;
	v = off / MSIX_ENTRY_SIZE;
	for (i = 0; i < len; i++) {
		o = (off + i) % MSIX_ENTRY_SIZE;
		/* Only the mask bit of Vector Control is writable. */
		if (o >= MSIX_E_CTRL && (o != MSIX_E_CTRL))
			continue;
		if (o == MSIX_E_CTRL) {
			x->table[off + i] = (x->table[off + i] & ~MSIX_E_MASKED) |
					    (((const uint8_t *)data)[i] & MSIX_E_MASKED);
			continue;
		}
		if (x->table[off + i] != ((const uint8_t *)data)[i])
			x->v[v].dirty = true;
		x->table[off + i] = ((const uint8_t *)data)[i];
	}
	if (!msix_masked(x, v) && (x->pba >> v & 1)) {
		x->pba &= ~(1ULL << v);
		msix_send(x, v);
	}
}
