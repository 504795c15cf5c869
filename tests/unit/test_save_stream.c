/*
 * One stream carrying every device section, as a snapshot or a migration
 * will: saved from one machine's devices, loaded into fresh ones in the
 * documented order (virtio-mem before the transports, so a ring that lives
 * in hotplugged memory is mapped by the time its queue is checked).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "devices/pci_save.h"
#include "devices/power_save.h"
#include "devices/serial_save.h"
#include "virtio/mem_save.h"
#include "virtio/pci_save.h"
#include "virtio/rng_save.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x40000ULL
#define BS	 (2 * MiB)
#define ADDR	 (4 * GiB)
#define REGION	 (2 * BS)

struct machine {
	struct fake_gmem fm;
	uint8_t *hotplug; /* host memory behind the virtio-mem region */
	struct fake_pci fp;
	struct loop loop;
	struct irq_sink irq;
	struct vm_events ev;
	struct serial serial;
	struct power power;
	struct vmem vmem;
	struct virtio_pci vmem_pci;
	struct vrng rng;
	struct virtio_pci rng_pci;
};

/* The VMM's side of virtio-mem: map plugged blocks for device access. */
static int host_plug(struct vmem *m, uint64_t off, uint64_t len)
{
	struct machine *x = container_of(m, struct machine, vmem);

	return gmem_add(&x->fm.map, ADDR + off, len, x->hotplug + off);
}

static int host_unplug(struct vmem *m, uint64_t off, uint64_t len)
{
	struct machine *x = container_of(m, struct machine, vmem);

	return gmem_remove(&x->fm.map, ADDR + off, len);
}

static const struct vmem_host_ops host_ops = {.plug = host_plug, .unplug = host_unplug};

static int irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
	return 0;
}

static void post(struct vm_events *e, enum vm_event ev)
{
}

static struct machine *machine_new(void)
{
	struct machine *x = calloc(1, sizeof(*x));
	struct vmem_params p = {.addr = ADDR,
				.region_size = REGION,
				.block_size = BS,
				.requested_size = REGION,
				.node_id = -1};
	char err[160];

	assert_non_null(x);
	x->hotplug = calloc(1, REGION);
	assert_non_null(x->hotplug);
	fake_gmem_init(&x->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&x->fp);
	assert_int_equal(loop_init(&x->loop), 0);
	x->irq.set = irq_set;
	x->ev.post = post;
	assert_int_equal(serial_init(&x->serial, &x->fp.pio, &x->loop, &x->irq, &x->ev, -1, -1), 0);
	assert_int_equal(power_init(&x->power, &x->fp.pio, &x->ev, &x->irq), 0);
	assert_int_equal(vmem_init(&x->vmem, &p, &host_ops, &x->fm.map, err, sizeof(err)), 0);
	assert_int_equal(virtio_pci_init(&x->vmem_pci, &x->vmem.vdev, &x->fp.h, NULL, "mem1"), 0);
	assert_int_equal(vrng_init(&x->rng, &x->fm.map), 0);
	assert_int_equal(virtio_pci_init(&x->rng_pci, &x->rng.vdev, &x->fp.h, NULL, "virtio-rng"),
			 0);
	return x;
}

static void machine_free(struct machine *x)
{
	virtio_pci_destroy(&x->rng_pci);
	vrng_destroy(&x->rng);
	virtio_pci_destroy(&x->vmem_pci);
	vmem_destroy(&x->vmem);
	power_destroy(&x->power, &x->fp.pio);
	serial_destroy(&x->serial, &x->fp.pio);
	loop_destroy(&x->loop);
	fake_pci_free(&x->fp);
	fake_gmem_free(&x->fm);
	free(x->hotplug);
	free(x);
}

static void wr(struct machine *x, struct virtio_pci *vp, uint64_t off, uint32_t len, uint64_t v)
{
	assert_true(bus_write(&x->fp.mmio, vp->pci.bars[0].addr + off, &v, len));
}

/* The rng driver puts its queue in hotplugged memory (block 1), after plugging it. */
static void make_busy(struct machine *x, struct vqd *d, struct fake_gmem *view)
{
	struct virtio_pci *vp = &x->rng_pci;
	struct vdrv_queue q;
	uint32_t id, len;

	assert_int_equal(host_plug(&x->vmem, BS, BS), 0);
	vmem_state_set(&x->vmem.st, 1, 1, true);
	/* A fake_gmem view of block 1, for the test driver's pokes. */
	view->buf = x->hotplug + BS;
	view->gpa = ADDR + BS;
	view->size = BS;
	vqd_init(d, view, ADDR + BS, 64);
	q = vdrv_queue_of(d, 0);
	assert_int_equal(vdrv_bring_up(&x->fp, vp, VDRV_VERSION_1, &q, 1), 0xF);
	vqd_add(d, (struct vqd_buf[]){{MEM_GPA, 32, true}}, 1);
	wr(x, vp, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(vqd_get_used(d, &id, &len), 1);
	/* The guest moves the rng's BAR; the serial port has input waiting. */
	pci_cfg_write(&x->fp.h, vp->pci.slot, 0, 0x10, 4, 0xC0100000);
	assert_int_equal(serial_push_input(&x->serial, (const uint8_t *)"hi", 2), 2);
}

static void save_all(struct machine *x, struct mv_state_writer *w)
{
	mv_sw_init(w);
	serial_save(&x->serial, w);
	power_save(&x->power, w);
	vmem_save(&x->vmem, "mem1", w);
	vrng_save(&x->rng, w);
	pci_host_save(&x->fp.h, w);
	virtio_pci_save(&x->vmem_pci, w);
	virtio_pci_save(&x->rng_pci, w);
	assert_int_equal(mv_sw_error(w), 0);
}

static int find(const struct mv_state_writer *w, const char *name, struct mv_state_section *s)
{
	char err[160];

	return mv_state_find(w->buf, w->len, name, s, err, sizeof(err));
}

static void test_whole_stream(void **st)
{
	struct machine *a = machine_new(), *b = machine_new();
	struct mv_state_writer w, w2;
	struct mv_state_section s;
	struct fake_gmem view;
	struct vqd d;
	char err[200] = "", name[MV_STATE_NAME_MAX + 1];
	uint32_t id, len;

	mv_log_set_quiet(true);
	make_busy(a, &d, &view);
	save_all(a, &w);

	/* Out of order, the rng's queue is refused: its rings are not mapped yet. */
	virtio_pci_state_name(&b->rng_pci, name, sizeof(name));
	assert_int_equal(find(&w, name, &s), 0);
	assert_int_equal(virtio_pci_load(&b->rng_pci, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "virtio-pci.virtio-rng: queue 0: desc 0x100200000 not inside "
				 "guest memory");

	/* In order: memory first, then PCI, then the transports. */
	assert_int_equal(find(&w, "serial", &s), 0);
	assert_int_equal(serial_load(&b->serial, &s, err, sizeof(err)), 0);
	assert_int_equal(find(&w, "power", &s), 0);
	assert_int_equal(power_load(&b->power, &s, err, sizeof(err)), 0);
	assert_int_equal(find(&w, "virtio-mem.mem1", &s), 0);
	assert_int_equal(vmem_load(&b->vmem, "mem1", &s, err, sizeof(err)), 0);
	assert_int_equal(find(&w, "virtio-rng", &s), 0);
	assert_int_equal(vrng_load(&b->rng, &s, err, sizeof(err)), 0);
	assert_int_equal(find(&w, "pci", &s), 0);
	assert_int_equal(pci_host_load(&b->fp.h, &s, err, sizeof(err)), 0);
	assert_int_equal(find(&w, "virtio-pci.mem1", &s), 0);
	assert_int_equal(virtio_pci_load(&b->vmem_pci, &s, err, sizeof(err)), 0);
	assert_int_equal(find(&w, name, &s), 0);
	assert_int_equal(virtio_pci_load(&b->rng_pci, &s, err, sizeof(err)), 0);

	/* b saves exactly what a saved. */
	save_all(b, &w2);
	assert_int_equal(w.len, w2.len);
	assert_memory_equal(w.buf, w2.buf, w.len);

	/* And b runs on: the driver's next buffer (rings in b's hotplug memory) is served. */
	view.buf = b->hotplug + BS;
	memcpy(b->hotplug + BS, a->hotplug + BS, BS); /* the memory migrates separately */
	vqd_add(&d, (struct vqd_buf[]){{MEM_GPA + 64, 16, true}}, 1);
	wr(b, &b->rng_pci, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(vqd_get_used(&d, &id, &len), 1);
	assert_int_equal(len, 16);
	assert_int_equal(b->rng_pci.pci.bars[0].addr, 0xC0100000);
	mv_sw_free(&w);
	mv_sw_free(&w2);
	machine_free(a);
	machine_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
