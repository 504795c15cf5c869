/*
 * fuzz_state: arbitrary bytes to the save/load section reader and to every
 * module's load. Byte 0 picks the target, byte 1 the section version (1
 * most of the time, else the byte), the rest is the payload, wrapped in a
 * section of the right name so the module's own checks are reached.
 * Target 0 feeds the whole input to the stream reader instead.
 * Invariants: never crash or read out of bounds; a refused load leaves the
 * instance as it was (checked for serial, virtio-pci queues, virtio-mem,
 * virtio-pmem, virtio-net);
 * an accepted one leaves it consistent (FIFO within bounds, enabled queues
 * of a valid size, plugged_size matching the bitmap).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "core/vm_save.h"
#include "devices/pci_save.h"
#include "devices/power_save.h"
#include "devices/serial_save.h"
#include "fakes.h"
#include "mem/layout_save.h"
#include "virtio/mem_save.h"
#include "virtio/pci_save.h"
#include "virtio/net_save.h"
#include "virtio/pmem_save.h"
#include "virtio/rng_save.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x10000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int plugged_now;

static int host_plug(struct vmem *m, uint64_t off, uint64_t len)
{
	/* Fail some plugs so the rollback runs too. */
	if ((off / len) % 7 == 3)
		return -ENOMEM;
	plugged_now++;
	return 0;
}

static int host_unplug(struct vmem *m, uint64_t off, uint64_t len)
{
	plugged_now--;
	return 0;
}

static const struct vmem_host_ops host_ops = {.plug = host_plug, .unplug = host_unplug};

static void irq_set(struct irq_sink *s, unsigned int gsi, int level)
{
}

static int irq_set_(struct irq_sink *s, unsigned int gsi, int level)
{
	irq_set(s, gsi, level);
	return 0;
}

static void post(struct vm_events *e, enum vm_event ev)
{
}

static void walk_stream(const uint8_t *p, size_t len)
{
	struct mv_state_reader r;
	struct mv_state_section s;
	char err[160];

	mv_sr_init(&r, p, len);
	while (mv_state_next(&r, &s, err, sizeof(err)) == 1) {
		struct mv_state_reader pl = s.payload;
		char str[16];

		while (!pl.short_read && mv_sr_left(&pl)) {
			switch (mv_sr_u8(&pl) % 6) {
			case 0:
				mv_sr_u16(&pl);
				break;
			case 1:
				mv_sr_u32(&pl);
				break;
			case 2:
				mv_sr_u64(&pl);
				break;
			case 3:
				mv_sr_str(&pl, str, sizeof(str));
				break;
			default:
				mv_sr_bytes(&pl, str, 3);
				break;
			}
		}
		mv_state_done(&s, &pl, err, sizeof(err));
	}
}

static void fuzz_serial(const struct mv_state_section *sec)
{
	struct bus pio;
	struct loop loop;
	struct irq_sink irq = {.set = irq_set_};
	struct vm_events ev = {.post = post};
	struct serial s, before;
	char err[160];

	bus_init(&pio);
	loop_init(&loop);
	if (serial_init(&s, &pio, &loop, &irq, &ev, -1, -1))
		abort();
	before = s;
	if (serial_load(&s, sec, err, sizeof(err))) {
		if (memcmp(&before.ier, &s.ier,
			   offsetof(struct serial, rx_len) - offsetof(struct serial, ier)) ||
		    s.rx_len != before.rx_len)
			abort();
	} else if (s.rx_len > SERIAL_FIFO_LEN) {
		abort();
	}
	serial_destroy(&s, &pio);
	loop_destroy(&loop);
	bus_destroy(&pio);
}

static void fuzz_pci(const struct mv_state_section *sec)
{
	static struct fake_pci fp;
	static struct vrng rng;
	static struct virtio_pci vp;
	struct fake_gmem fm;
	char err[160];

	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&fp);
	if (vrng_init(&rng, &fm.map) || virtio_pci_init(&vp, &rng.vdev, &fp.h, NULL, "rng"))
		abort();
	pci_host_load(&fp.h, sec, err, sizeof(err));
	virtio_pci_destroy(&vp);
	vrng_destroy(&rng);
	fake_pci_free(&fp);
	fake_gmem_free(&fm);
}

static void fuzz_vpci_vmem(const struct mv_state_section *sec, bool vmem_section)
{
	static struct fake_pci fp;
	static struct vmem m;
	static struct virtio_pci vp;
	struct vmem_params p = {4 * GiB, 100 * 2 * MiB, 2 * MiB, 64 * MiB, 0, true};
	struct fake_gmem fm;
	struct virtq q0;
	char err[160];
	uint64_t i, pop = 0;

	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&fp);
	if (vmem_init(&m, &p, &host_ops, &fm.map, err, sizeof(err)) ||
	    virtio_pci_init(&vp, &m.vdev, &fp.h, NULL, "vmem0"))
		abort();
	q0 = m.vdev.vqs[0];
	plugged_now = 0;
	if (vmem_section) {
		if (vmem_load(&m, "vmem0", sec, err, sizeof(err))) {
			if (m.st.plugged_size || plugged_now)
				abort();
		} else {
			for (i = 0; i < m.st.nr_blocks; i++)
				pop += vmem_state_test(&m.st, i);
			if (pop * m.st.block_size != m.st.plugged_size)
				abort();
		}
	} else if (virtio_pci_load(&vp, sec, err, sizeof(err))) {
		if (memcmp(&q0, &m.vdev.vqs[0], sizeof(q0)))
			abort();
	} else if (m.vdev.vqs[0].enabled &&
		   (!is_pow2(m.vdev.vqs[0].size) || m.vdev.vqs[0].size > VMEM_QUEUE_SIZE)) {
		abort();
	}
	virtio_pci_destroy(&vp);
	vmem_destroy(&m);
	fake_pci_free(&fp);
	fake_gmem_free(&fm);
}

static int pmem_flush(struct vpmem *p)
{
	return 0;
}

static const struct vpmem_host_ops pmem_ops = {.flush = pmem_flush};

/* A refused load holds no request; an accepted one at most a queue's worth. */
static void fuzz_vpmem(const struct mv_state_section *sec)
{
	static struct vpmem p;
	struct vpmem_params prm = {.start = 4 * GiB, .size = 64 * MiB};
	struct fake_gmem fm;
	char err[160];

	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	if (vpmem_init(&p, &prm, &pmem_ops, &fm.map, NULL))
		abort();
	if (vpmem_load(&p, "pmem0", sec, err, sizeof(err))) {
		if (p.nr_reqs || p.flushes)
			abort();
	} else if (p.nr_reqs > VPMEM_QUEUE_SIZE) {
		abort();
	}
	vpmem_destroy(&p);
	fake_gmem_free(&fm);
}

/* A refused load leaves the MAC and counters as they were; an accepted one a unicast MAC. */
static void fuzz_vnet(const struct mv_state_section *sec)
{
	static struct vnet n;
	static const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3};
	struct vnet_params prm = {.queue_size = 16, .fd = 0};
	struct fake_gmem fm;
	char err[160];

	memcpy(prm.mac, mac, 6);
	fake_gmem_init(&fm, MEM_GPA, MEM_SIZE);
	if (vnet_init(&n, &prm, &fm.map, NULL))
		abort();
	if (vnet_load(&n, "net0", sec, err, sizeof(err))) {
		if (memcmp(n.mac, mac, 6) || n.st.rx_packets || n.st.tx_packets)
			abort();
	} else if (n.mac[0] & 1) {
		abort();
	}
	vnet_destroy(&n);
	fake_gmem_free(&fm);
}

static void fuzz_layout(const struct mv_state_section *sec)
{
	static struct mv_config cfg;
	static struct layout lay;
	static bool built;
	char err[256];

	if (!built) {
		snprintf(cfg.zones[0].id, sizeof(cfg.zones[0].id), "mem0");
		cfg.zones[0].size = 512 * MiB;
		snprintf(cfg.zones[1].id, sizeof(cfg.zones[1].id), "mem1");
		cfg.zones[1].hotplug_size = 1 * GiB;
		cfg.zones[1].block_size = 2 * MiB;
		cfg.nr_zones = 2;
		if (layout_build(&cfg, &lay, err, sizeof(err)))
			abort();
		built = true;
	}
	layout_load(&lay, &cfg, sec, err, sizeof(err));
}

static void fuzz_vcpu(const struct mv_state_section *sec, const uint8_t *p, size_t len)
{
	struct vcpu_state *st = malloc(sizeof(*st));
	struct vm_chips_state chips;
	char err[160];

	vcpu_state_read(sec, 0, st, err, sizeof(err));
	vm_chips_read(p, len, 0xFEC00000, &chips, err, sizeof(err));
	free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
	    NULL,     "serial", "pci",	      "virtio-pci.vmem0",  "virtio-mem.vmem0", "layout",
	    "vcpu.0", "power",	"virtio-rng", "virtio-pmem.pmem0", "virtio-net.net0",
	};
	struct mv_state_section sec;
	unsigned int t;
	char err[160];

	if (size < 2)
		return 0;
	t = data[0] % ARRAY_SIZE(names);
	if (!t) {
		walk_stream(data + 2, size - 2);
		return 0;
	}
	memset(&sec, 0, sizeof(sec));
	snprintf(sec.name, sizeof(sec.name), "%s", names[t]);
	sec.version = data[1] < 0xF0 ? 1 : data[1] - 0xF0;
	/* An exact-size copy, so ASan sees any read past the payload. */
	{
		size_t len = size - 2;
		uint8_t *p = malloc(len ? len : 1);

		memcpy(p, data + 2, len);
		mv_sr_init(&sec.payload, p, len);
		switch (t) {
		case 1:
			fuzz_serial(&sec);
			break;
		case 2:
			fuzz_pci(&sec);
			break;
		case 3:
			fuzz_vpci_vmem(&sec, false);
			break;
		case 4:
			fuzz_vpci_vmem(&sec, true);
			break;
		case 5:
			fuzz_layout(&sec);
			break;
		case 6:
			fuzz_vcpu(&sec, p, len);
			break;
		case 7:
			power_load(NULL, &sec, err, sizeof(err));
			break;
		case 9:
			fuzz_vpmem(&sec);
			break;
		case 10:
			fuzz_vnet(&sec);
			break;
		default:
			vrng_load(NULL, &sec, err, sizeof(err));
			break;
		}
		free(p);
	}
	return 0;
}
