/* Unit tests for devices/msix (over a fake PCI host with irqfds) and core/irqroute. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/irqroute.h"
#include "devices/msix.h"
#include "lib/log.h"
#include "virtio_test.h"

static void test_irqroute_default_table(void **state)
{
	struct kvm_irq_routing *t =
	    calloc(1, sizeof(*t) + IRQROUTE_MAX_ENTRIES * sizeof(struct kvm_irq_routing_entry));
	struct irqroute r;
	unsigned int i, ioapic = 0, pic = 0;

	irqroute_init(&r);
	irqroute_build(&r, t);
	/* KVM's own default: 24 IOAPIC pins, the first 16 GSIs on the PICs too. */
	assert_int_equal(t->nr, 40);
	for (i = 0; i < t->nr; i++) {
		const struct kvm_irq_routing_entry *e = &t->entries[i];

		assert_int_equal(e->type, KVM_IRQ_ROUTING_IRQCHIP);
		if (e->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
			assert_int_equal(e->u.irqchip.pin, e->gsi);
			ioapic++;
		} else {
			assert_true(e->gsi < 16);
			assert_int_equal(e->u.irqchip.irqchip, e->gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
									  : KVM_IRQCHIP_PIC_SLAVE);
			assert_int_equal(e->u.irqchip.pin, e->gsi % 8);
			pic++;
		}
	}
	assert_int_equal(ioapic, 24);
	assert_int_equal(pic, 16);
	free(t);
}

static void test_irqroute_msi_routes(void **state)
{
	struct kvm_irq_routing *t =
	    calloc(1, sizeof(*t) + IRQROUTE_MAX_ENTRIES * sizeof(struct kvm_irq_routing_entry));
	struct irqroute *r = malloc(sizeof(*r));
	int a, b, i;

	irqroute_init(r);
	a = irqroute_alloc(r, 0xFEE00000ULL, 0x41);
	b = irqroute_alloc(r, 0x1FEE01000ULL, 0x42);
	assert_int_equal(a, 24);
	assert_int_equal(b, 25);
	assert_int_equal(irqroute_set(r, b, 0xFEE02000ULL, 0x43), 0);
	assert_int_equal(irqroute_set(r, 26, 0, 0), -EINVAL);
	assert_int_equal(irqroute_set(r, 3, 0, 0), -EINVAL);
	irqroute_build(r, t);
	assert_int_equal(t->nr, 42);
	assert_int_equal(t->entries[40].gsi, 24);
	assert_int_equal(t->entries[40].type, KVM_IRQ_ROUTING_MSI);
	assert_int_equal(t->entries[40].u.msi.address_lo, 0xFEE00000U);
	assert_int_equal(t->entries[40].u.msi.address_hi, 0);
	assert_int_equal(t->entries[41].u.msi.data, 0x43);
	/* A freed GSI leaves the table and is the next one handed out. */
	irqroute_free(r, a);
	irqroute_free(r, a);
	irqroute_free(r, 7);
	assert_int_equal(r->nr_msi, 1);
	irqroute_build(r, t);
	assert_int_equal(t->nr, 41);
	assert_int_equal(t->entries[40].gsi, 25);
	assert_int_equal(irqroute_alloc(r, 0, 0), 24);
	for (i = 2; i < IRQROUTE_MSI_MAX; i++)
		assert_true(irqroute_alloc(r, 0, i) > 0);
	assert_int_equal(irqroute_alloc(r, 0, 0), -ENOSPC);
	irqroute_build(r, t);
	assert_int_equal(t->nr, IRQROUTE_MAX_ENTRIES);
	free(r);
	free(t);
}

/* A host with routes (fake_pci's) and irqfds it records. */
struct irqfd_host {
	struct fake_pci fp;
	int fd[FAKE_MSI_ROUTES]; /* per GSI 24 + i: the bound eventfd, -1: none */
	bool refuse_irqfd;
};

static int ih_irqfd(struct pci_host *h, unsigned int gsi, int fd, int resample_fd, bool assign)
{
	struct irqfd_host *k = container_of(h, struct irqfd_host, fp.h);

	assert_true(gsi >= 24 && gsi < 24 + FAKE_MSI_ROUTES);
	assert_int_equal(resample_fd, -1);
	if (!assign) {
		assert_int_equal(k->fd[gsi - 24], fd);
		k->fd[gsi - 24] = -1;
		return 0;
	}
	if (k->refuse_irqfd)
		return -EINVAL;
	assert_int_equal(k->fd[gsi - 24], -1);
	k->fd[gsi - 24] = fd;
	return 0;
}

static void ih_init(struct irqfd_host *k)
{
	static struct pci_host_ops ops;
	unsigned int i;

	memset(k, 0, sizeof(*k));
	fake_pci_init_msi(&k->fp);
	ops = *k->fp.h.ops;
	ops.irqfd = ih_irqfd;
	k->fp.h.ops = &ops;
	for (i = 0; i < FAKE_MSI_ROUTES; i++)
		k->fd[i] = -1;
}

static void dev_init(struct pci_dev *d, struct irqfd_host *k, struct msix *x, unsigned int nvec)
{
	pci_dev_init(d, NULL, "mtest", 0x1AF4, 0x1000, 0xFF0000, 1, 0x1AF4, 0x40);
	assert_int_equal(pci_dev_set_bar(d, 2, MSIX_BAR_SIZE), 0);
	assert_int_equal(msix_init(x, d, nvec, 2, true), 0);
	d->host = &k->fp.h;
}

static void set_ctrl(struct pci_dev *d, struct msix *x, uint16_t v)
{
	le_put(d->cfg + x->cap + 2, (le_get(d->cfg + x->cap + 2, 2) & 0x07FF) | v, 2);
	msix_cfg_written(x);
}

static void entry(struct msix *x, unsigned int v, uint32_t data, bool masked)
{
	uint64_t addr = 0xFEE00000ULL;
	uint32_t ctl = masked;

	msix_bar_write(x, 16 * v, &addr, 8);
	msix_bar_write(x, 16 * v + 8, &data, 4);
	msix_bar_write(x, 16 * v + 12, &ctl, 4);
}

static void test_msix_irqfd_per_vector(void **state)
{
	struct irqfd_host k;
	struct pci_dev d;
	struct msix x;
	uint64_t cnt = 0;

	mv_log_set_quiet(true);
	ih_init(&k);
	dev_init(&d, &k, &x, 4);
	assert_int_equal(le_get(d.cfg + x.cap + 4, 4), MSIX_TABLE_OFF | 2);
	set_ctrl(&d, &x, MSIX_CTRL_ENABLE);
	entry(&x, 0, 0x30, false);
	entry(&x, 3, 0x33, false);
	msix_notify(&x, 3);
	msix_notify(&x, 3);
	msix_notify(&x, 0);
	msix_notify(&x, 4); /* beyond the table: nothing */
	msix_notify(&x, 1000);
	/* Each vector its own route and eventfd; KVM (here: the fd) does the rest. */
	assert_true(k.fd[0] >= 0);
	assert_true(k.fd[1] >= 0);
	assert_int_equal(k.fp.route[0].data, 0x33);
	assert_int_equal(k.fp.route[1].data, 0x30);
	assert_int_equal(read(k.fd[0], &cnt, sizeof(cnt)), sizeof(cnt));
	assert_int_equal(cnt, 2);
	assert_int_equal(read(k.fd[1], &cnt, sizeof(cnt)), sizeof(cnt));
	assert_int_equal(cnt, 1);
	assert_int_equal(k.fp.msis, 0);
	assert_int_equal(x.sent, 3);
	/* A changed message moves the route; the eventfd stays bound. */
	entry(&x, 3, 0x53, false);
	msix_notify(&x, 3);
	assert_int_equal(k.fp.route[0].data, 0x53);
	assert_int_equal(read(k.fd[0], &cnt, sizeof(cnt)), sizeof(cnt));
	/* After a load every route is remade at its next send. */
	x.pba = ~0ULL;
	msix_loaded(&x);
	assert_int_equal(x.pba, 0xF);
	msix_notify(&x, 0);
	assert_int_equal(k.fp.route_calls, 4);
	msix_destroy(&x);
	assert_int_equal(k.fd[0], -1);
	assert_int_equal(k.fd[1], -1);
	assert_false(k.fp.route[0].used);
	assert_false(k.fp.route[1].used);
	fake_pci_free(&k.fp);
}

static void test_msix_irqfd_refused(void **state)
{
	struct irqfd_host k;
	struct pci_dev d;
	struct msix x;

	mv_log_set_quiet(true);
	ih_init(&k);
	k.refuse_irqfd = true;
	dev_init(&d, &k, &x, 1);
	set_ctrl(&d, &x, MSIX_CTRL_ENABLE);
	entry(&x, 0, 0x30, false);
	msix_notify(&x, 0);
	/* The route stands, the message goes directly. */
	assert_true(k.fp.route[0].used);
	assert_int_equal(k.fp.msis, 1);
	assert_int_equal(x.direct, 1);
	msix_destroy(&x);
	assert_false(k.fp.route[0].used);
	fake_pci_free(&k.fp);
	assert_int_equal(msix_init(&x, &d, 0, 2, false), -EINVAL);
	assert_int_equal(msix_init(&x, &d, MSIX_MAX_VECTORS + 1, 2, false), -EINVAL);
	assert_int_equal(msix_init(&x, &d, 1, PCI_NUM_BARS, false), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_irqroute_default_table),
	    cmocka_unit_test(test_irqroute_msi_routes),
	    cmocka_unit_test(test_msix_irqfd_per_vector),
	    cmocka_unit_test(test_msix_irqfd_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
