/*
 * Unit tests for virtio/mem: the device driven as the Linux driver does,
 * through a real virtqueue laid out in fake guest memory and the virtio-pci
 * registers of a fake PCI host; the host side effects are recorded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/trace.h"
#include "virtio/mem.h"
#include "virtio/pci.h"
#include "virtio_test.h"

#define MEM_GPA	 0x100000ULL
#define MEM_SIZE 0x40000ULL
#define REQ_GPA	 (MEM_GPA + 0x20000)
#define RESP_GPA (MEM_GPA + 0x21000)
#define BS	 (2 * MiB)
#define ADDR	 (4 * GiB)
#define REGION	 (1 * GiB)
#define NBLK	 (REGION / BS)

struct fix {
	struct fake_gmem fm;
	struct fake_pci fp;
	struct vmem m;
	struct virtio_pci vp;
	struct vqd d;
	uint64_t bar;
	/* Host side as the fake VMM sees it. */
	bool host[NBLK];
	unsigned int plug_calls, unplug_calls;
	int fail_plug, fail_unplug;
	/* size_changed: how often, and the committed state it could see */
	unsigned int changed_calls;
	unsigned int settled_calls; /* requests that reached the requested size */
	uint64_t changed_plugged, changed_host;
};

static struct fix *host_fix(struct vmem *m)
{
	return container_of(m, struct fix, m);
}

static int host_apply(struct fix *f, uint64_t off, uint64_t len, bool plug)
{
	uint64_t i;

	assert_true(off % BS == 0 && len % BS == 0 && len && off + len <= REGION);
	for (i = off / BS; i < (off + len) / BS; i++) {
		assert_int_equal(f->host[i], !plug); /* never asked twice */
		f->host[i] = plug;
	}
	return 0;
}

static int host_plug(struct vmem *m, uint64_t off, uint64_t len)
{
	struct fix *f = host_fix(m);

	f->plug_calls++;
	return f->fail_plug ? f->fail_plug : host_apply(f, off, len, true);
}

static int host_unplug(struct vmem *m, uint64_t off, uint64_t len)
{
	struct fix *f = host_fix(m);

	f->unplug_calls++;
	return f->fail_unplug ? f->fail_unplug : host_apply(f, off, len, false);
}

/* What a VMM reporting the change right now would report (lock held: no vmem_get_info). */
static void host_size_changed(struct vmem *m)
{
	struct fix *f = host_fix(m);
	unsigned int i;

	f->changed_calls++;
	f->changed_plugged = m->st.plugged_size;
	f->changed_host = 0;
	for (i = 0; i < NBLK; i++)
		f->changed_host += f->host[i] ? BS : 0;
}

static void host_settled(struct vmem *m)
{
	struct fix *f = host_fix(m);

	assert_int_equal(m->st.plugged_size, m->st.requested_size);
	f->settled_calls++;
}

static const struct vmem_host_ops host_ops = {
    .plug = host_plug,
    .unplug = host_unplug,
    .size_changed = host_size_changed,
    .settled = host_settled,
};

static uint64_t rd(struct fix *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	assert_true(bus_read(&f->fp.mmio, f->bar + off, &v, len));
	return v;
}

static void wr(struct fix *f, uint64_t off, uint32_t len, uint64_t v)
{
	assert_true(bus_write(&f->fp.mmio, f->bar + off, &v, len));
}

/* A 64-bit config field as Linux reads it: two 32-bit halves. */
static uint64_t cfg64(struct fix *f, uint32_t off)
{
	return rd(f, VIRTIO_PCI_DEVICE_OFF + off, 4) | rd(f, VIRTIO_PCI_DEVICE_OFF + off + 4, 4)
							   << 32;
}

/* As Linux's virtio_pci_probe: reset, then the shared bring-up with one queue. */
static void driver_init(struct fix *f, uint32_t features_lo)
{
	struct vdrv_queue q;

	vdrv_reset(&f->fp, &f->vp);
	vqd_init(&f->d, &f->fm, MEM_GPA, VMEM_QUEUE_SIZE);
	q = vdrv_queue_of(&f->d, 0);
	vdrv_bring_up(&f->fp, &f->vp, VDRV_VERSION_1 | features_lo, &q, 1);
	rd(f, VIRTIO_PCI_ISR_OFF, 1);
}

static void fix_create(struct fix *f, const struct vmem_params *p)
{
	char err[160];

	mv_log_set_quiet(true);
	fake_gmem_init(&f->fm, MEM_GPA, MEM_SIZE);
	fake_pci_init(&f->fp);
	assert_int_equal(vmem_init(&f->m, p, &host_ops, &f->fm.map, err, sizeof(err)), 0);
	assert_int_equal(virtio_pci_init(&f->vp, &f->m.vdev, &f->fp.h, NULL, "virtio-mem"), 0);
	f->bar = f->vp.pci.bars[0].addr;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct vmem_params p = {
	    .addr = ADDR,
	    .region_size = REGION,
	    .block_size = BS,
	    .requested_size = 64 * MiB,
	    .node_id = -1,
	    .unplugged_inaccessible = true,
	};

	fix_create(f, &p);
	driver_init(f, 1 << VMEM_F_UNPLUGGED_INACCESSIBLE);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 0xF);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	virtio_pci_destroy(&f->vp);
	vmem_destroy(&f->m);
	fake_pci_free(&f->fp);
	fake_gmem_free(&f->fm);
	free(f);
	return 0;
}

static void put_req(struct fix *f, uint64_t gpa, uint16_t type, uint64_t addr, uint16_t nb)
{
	uint8_t *p = vqd_ptr(&f->d, gpa);

	memset(p, 0, 24);
	p[0] = type;
	p[1] = type >> 8;
	addr = htole64(addr);
	memcpy(p + 8, &addr, 8);
	p[16] = nb;
	p[17] = nb >> 8;
}

static void kick(struct fix *f)
{
	wr(f, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
}

/* One request the way Linux sends it; returns the response type. */
static uint16_t req(struct fix *f, uint16_t type, uint64_t addr, uint16_t nb, uint16_t *state)
{
	struct vqd_buf b[2] = {{REQ_GPA, 24, false}, {RESP_GPA, 10, true}};
	uint32_t id, len;
	uint8_t *r = vqd_ptr(&f->d, RESP_GPA);

	put_req(f, REQ_GPA, type, addr, nb);
	memset(r, 0xEE, 16);
	vqd_add(&f->d, b, 2);
	kick(f);
	assert_int_equal(vqd_get_used(&f->d, &id, &len), 1);
	assert_int_equal(len, 10);
	assert_int_equal(r[10], 0xEE); /* nothing beyond the response */
	if (state)
		*state = r[8] | r[9] << 8;
	return r[0] | r[1] << 8;
}

static bool needs_reset(struct fix *f)
{
	return rd(f, VIRTIO_PCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET;
}

static void test_config_layout(void **state)
{
	struct fix *f = *state;

	assert_int_equal(cfg64(f, 0x00), BS);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 8, 2), 0);
	assert_int_equal(cfg64(f, 0x10), ADDR);
	assert_int_equal(cfg64(f, 0x18), REGION);
	assert_int_equal(cfg64(f, 0x20), 320 * MiB);
	assert_int_equal(cfg64(f, 0x28), 0);
	assert_int_equal(cfg64(f, 0x30), 64 * MiB);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 0x30, 8), 64 * MiB);
	/* Config writes are ignored. */
	wr(f, VIRTIO_PCI_DEVICE_OFF + 0x30, 4, 0);
	assert_int_equal(cfg64(f, 0x30), 64 * MiB);
	/* Device id and class. */
	assert_int_equal(pci_cfg_read(&f->fp.h, f->vp.pci.slot, 0, 2, 2), 0x1058);
	assert_int_equal(pci_cfg_read(&f->fp.h, f->vp.pci.slot, 0, 0xB, 1), 0xFF);
}

static void test_features(void **state)
{
	struct fix *f = *state;
	struct fix *g = calloc(1, sizeof(*g));
	struct vmem_params p = {ADDR, REGION, BS, 0, 3, false};

	/* UNPLUGGED_INACCESSIBLE offered but not accepted: refused, as QEMU. */
	driver_init(f, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1) & 8, 0);
	wr(f, VIRTIO_PCI_DFSELECT, 4, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_DF, 4), 1 << VMEM_F_UNPLUGGED_INACCESSIBLE);

	/* With a node: ACPI_PXM offered and node_id visible; no INACCESSIBLE. */
	fix_create(g, &p);
	wr(g, VIRTIO_PCI_DFSELECT, 4, 0);
	assert_int_equal(rd(g, VIRTIO_PCI_DF, 4), 1 << VMEM_F_ACPI_PXM);
	assert_int_equal(rd(g, VIRTIO_PCI_DEVICE_OFF + 8, 2), 3);
	driver_init(g, 0);
	assert_int_equal(rd(g, VIRTIO_PCI_STATUS, 1), 0xF);
	teardown((void **)&g);
}

static void test_plug_unplug_state(void **state)
{
	struct fix *f = *state;
	struct vmem_info info;
	uint16_t st;

	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 4, NULL), VMEM_RESP_ACK);
	assert_true(f->host[0] && f->host[3] && !f->host[4]);
	assert_int_equal(cfg64(f, 0x28), 8 * MiB);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 4, &st), VMEM_RESP_ACK);
	assert_int_equal(st, VMEM_STATE_PLUGGED);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR + 2 * BS, 4, &st), VMEM_RESP_ACK);
	assert_int_equal(st, VMEM_STATE_MIXED);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR + 4 * BS, 10, &st), VMEM_RESP_ACK);
	assert_int_equal(st, VMEM_STATE_UNPLUGGED);
	assert_int_equal(req(f, VMEM_REQ_UNPLUG, ADDR + BS, 2, NULL), VMEM_RESP_ACK);
	assert_true(f->host[0] && !f->host[1] && !f->host[2] && f->host[3]);
	assert_int_equal(cfg64(f, 0x28), 4 * MiB);
	assert_int_equal(f->settled_calls, 0);
	/* Plug up to exactly requested (64 MiB = 32 blocks) is fine, and settles. */
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + 10 * BS, 30, NULL), VMEM_RESP_ACK);
	assert_int_equal(cfg64(f, 0x28), 64 * MiB);
	assert_int_equal(f->settled_calls, 1);
	/* A request that changes nothing does not settle again. */
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 4, &st), VMEM_RESP_ACK);
	assert_int_equal(f->settled_calls, 1);
	/* Unplugged and plugged data are not touched by a used-buffer interrupt. */
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_QUEUE);
	vmem_get_info(&f->m, &info);
	assert_int_equal(info.requests, 7);
	assert_int_equal(info.plugged_bytes, 68 * MiB);
	assert_int_equal(info.discarded_bytes, 4 * MiB);
	assert_int_equal(info.plugged_size, 64 * MiB);
	assert_true(info.driver_ready);
	assert_true(info.last_request_ms > 0);
}

static void test_nack_beyond_requested(void **state)
{
	struct fix *f = *state;
	struct vmem_info info;

	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 33, NULL), VMEM_RESP_NACK);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 32, NULL), VMEM_RESP_ACK);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + 32 * BS, 1, NULL), VMEM_RESP_NACK);
	/* NACK comes before the state check: plugging plugged blocks beyond requested. */
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 1, NULL), VMEM_RESP_NACK);
	/* Unplugging below requested is allowed. */
	assert_int_equal(req(f, VMEM_REQ_UNPLUG, ADDR, 32, NULL), VMEM_RESP_ACK);
	vmem_get_info(&f->m, &info);
	assert_int_equal(info.plug_refused, 3);
	assert_int_equal(f->plug_calls, 1);
}

static void test_errors(void **state)
{
	struct fix *f = *state;
	uint64_t usable = 320 * MiB;
	uint16_t st;

	/* Misaligned, empty, outside the usable region, below, wrapping. */
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + 4096, 1, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 0, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + usable, 1, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + usable - BS, 2, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR - BS, 1, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_PLUG, 0, 1, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_PLUG, UINT64_MAX - BS + 1, 1, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_UNPLUG, UINT64_MAX - BS + 1, 0xFFFF, NULL),
			 VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR + REGION, 1, &st), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 0xFFFF, &st), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR + 1, 1, &st), VMEM_RESP_ERROR);
	/* Last usable block is fine. */
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + usable - BS, 1, NULL), VMEM_RESP_ACK);
	/* Already in the target state. */
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + usable - BS, 1, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_UNPLUG, ADDR, 1, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_UNPLUG, ADDR + usable - 2 * BS, 2, NULL), VMEM_RESP_ERROR);
	assert_false(needs_reset(f));
	assert_int_equal(f->plug_calls, 1);
	assert_int_equal(f->unplug_calls, 0);
	assert_int_equal(cfg64(f, 0x28), BS);
}

static void test_host_failure_busy(void **state)
{
	struct fix *f = *state;
	struct vmem_info info;
	uint16_t st;

	f->fail_plug = -ENOMEM;
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 4, NULL), VMEM_RESP_BUSY);
	assert_int_equal(cfg64(f, 0x28), 0);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 4, &st), VMEM_RESP_ACK);
	assert_int_equal(st, VMEM_STATE_UNPLUGGED);
	f->fail_plug = 0;
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 4, NULL), VMEM_RESP_ACK);
	f->fail_unplug = -EIO;
	assert_int_equal(req(f, VMEM_REQ_UNPLUG, ADDR, 2, NULL), VMEM_RESP_BUSY);
	assert_int_equal(req(f, VMEM_REQ_UNPLUG_ALL, 0, 0, NULL), VMEM_RESP_BUSY);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 4, &st), VMEM_RESP_ACK);
	assert_int_equal(st, VMEM_STATE_PLUGGED);
	assert_int_equal(cfg64(f, 0x28), 8 * MiB);
	vmem_get_info(&f->m, &info);
	assert_int_equal(info.plug_refused, 1);
	assert_int_equal(info.discard_failures, 2);
	assert_false(needs_reset(f));
}

/* The file's text, then tracing off and the file removed. */
static char *trace_stop(const char *path)
{
	static char text[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	assert_true(n >= 0);
	text[n] = '\0';
	close(fd);
	assert_int_equal(trace_setup(NULL, NULL, NULL, 0), 0);
	unlink(path);
	return text;
}

/* MEMVISOR_TRACE=vmem: one line per request with its answer and why. */
static void test_trace_requests(void **state)
{
	struct fix *f = *state;
	char path[] = "/tmp/mv-vmem-trace-XXXXXX", err[200];
	int fd = mkstemp(path);
	const char *t;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(trace_setup("vmem", path, err, sizeof(err)), 0);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 2, NULL), VMEM_RESP_ACK);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + 2 * BS, 31, NULL), VMEM_RESP_NACK);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + 4096, 1, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_UNPLUG, ADDR + 2 * BS, 1, NULL), VMEM_RESP_ERROR);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 1, NULL), VMEM_RESP_ERROR);
	f->fail_unplug = -EIO;
	assert_int_equal(req(f, VMEM_REQ_UNPLUG, ADDR, 1, NULL), VMEM_RESP_BUSY);
	t = trace_stop(path);
	/* Tracing off: nothing more is written (the file is gone, the call must not fail). */
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 1, NULL), VMEM_RESP_ACK);

	assert_non_null(strstr(t,
			       " vmem dev=vmem@0x100000000 req=PLUG addr=0x100000000 nb_blocks=2 "
			       "resp=ACK err=0 plugged=0x400000 requested=0x4000000 "
			       "usable=0x14000000\n"));
	assert_non_null(
	    strstr(t, " req=PLUG addr=0x100400000 nb_blocks=31 resp=NACK "
		      "why=plugged+request-exceeds-requested-size err=0 plugged=0x400000"));
	assert_non_null(strstr(t, " req=PLUG addr=0x100001000 nb_blocks=1 resp=ERROR "
				  "why=range-misaligned-or-outside-usable-region err=0"));
	assert_non_null(strstr(t, " req=UNPLUG addr=0x100400000 nb_blocks=1 resp=ERROR "
				  "why=some-block-not-plugged err=0"));
	assert_non_null(strstr(t, " req=PLUG addr=0x100000000 nb_blocks=1 resp=ERROR "
				  "why=some-block-already-plugged err=0"));
	assert_non_null(strstr(t, " req=UNPLUG addr=0x100000000 nb_blocks=1 resp=BUSY "
				  "why=host-unplug-failed err=-5 plugged=0x400000"));
	assert_null(strstr(t, "req=STATE"));
}

static void test_unplug_all(void **state)
{
	struct fix *f = *state;
	char err[128];
	unsigned int i;

	assert_int_equal(vmem_set_requested(&f->m, 512 * MiB, err, sizeof(err)), 0);
	rd(f, VIRTIO_PCI_ISR_OFF, 1);
	assert_int_equal(cfg64(f, 0x20), 768 * MiB);
	/* Two separate runs. */
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 3, NULL), VMEM_RESP_ACK);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + 300 * BS, 5, NULL), VMEM_RESP_ACK);
	assert_int_equal(vmem_set_requested(&f->m, 10 * MiB, err, sizeof(err)), 0);
	rd(f, VIRTIO_PCI_ISR_OFF, 1);
	assert_int_equal(cfg64(f, 0x20), 768 * MiB); /* grows only */
	f->unplug_calls = 0;
	assert_int_equal(req(f, VMEM_REQ_UNPLUG_ALL, 0x1234, 77, NULL), VMEM_RESP_ACK);
	assert_int_equal(f->unplug_calls, 2);
	for (i = 0; i < NBLK; i++)
		assert_false(f->host[i]);
	assert_int_equal(cfg64(f, 0x28), 0);
	/* Shrunk to the policy for the current request, without a config interrupt. */
	assert_int_equal(cfg64(f, 0x20), 266 * MiB);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_QUEUE);
	/* Nothing plugged: still ACK. */
	assert_int_equal(req(f, VMEM_REQ_UNPLUG_ALL, 0, 0, NULL), VMEM_RESP_ACK);
	assert_int_equal(f->unplug_calls, 2);
}

static void test_set_requested(void **state)
{
	struct fix *f = *state;
	uint8_t gen = rd(f, VIRTIO_PCI_CFG_GEN, 1);
	unsigned int gsi = f->vp.pci.gsi;
	char err[128];

	assert_int_equal(vmem_set_requested(&f->m, BS + 4096, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'requested-size' has to be multiples of 'block-size' (0x200000)");
	assert_int_equal(vmem_set_requested(&f->m, REGION + BS, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "'requested-size' cannot exceed the memory backend size(0x40000000)");
	assert_int_equal(rd(f, VIRTIO_PCI_CFG_GEN, 1), gen);
	assert_int_equal(f->fp.level[gsi], 0);

	assert_int_equal(vmem_set_requested(&f->m, 100 * MiB, err, sizeof(err)), 0);
	assert_int_equal(cfg64(f, 0x30), 100 * MiB);
	assert_int_equal(cfg64(f, 0x20), 356 * MiB);
	assert_int_equal(rd(f, VIRTIO_PCI_CFG_GEN, 1), (uint8_t)(gen + 1));
	assert_int_equal(f->fp.level[gsi], 1);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	/* Same value: still an interrupt. */
	assert_int_equal(vmem_set_requested(&f->m, 100 * MiB, err, sizeof(err)), 0);
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	/* Capped at the region; then 0 leaves usable where it was. */
	assert_int_equal(vmem_set_requested(&f->m, REGION, err, sizeof(err)), 0);
	assert_int_equal(cfg64(f, 0x20), REGION);
	assert_int_equal(vmem_set_requested(&f->m, 0, err, sizeof(err)), 0);
	assert_int_equal(cfg64(f, 0x20), REGION);
	assert_int_equal(cfg64(f, 0x30), 0);
	/* requested 0: usable drops to 0 on UNPLUG_ALL. */
	assert_int_equal(req(f, VMEM_REQ_UNPLUG_ALL, 0, 0, NULL), VMEM_RESP_ACK);
	assert_int_equal(cfg64(f, 0x20), 0);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 1, NULL), VMEM_RESP_ERROR);
}

static void test_init_validation(void **state)
{
	struct vmem m;
	char err[160];
	struct vmem_params ok = {ADDR, REGION, BS, 0, -1, true}, p;

	p = ok;
	p.block_size = 3 * MiB;
	assert_int_equal(vmem_init(&m, &p, &host_ops, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "block_size"));
	p = ok;
	p.block_size = 512 * KiB;
	assert_int_equal(vmem_init(&m, &p, &host_ops, NULL, err, sizeof(err)), -EINVAL);
	p = ok;
	p.region_size = REGION + MiB;
	assert_int_equal(vmem_init(&m, &p, &host_ops, NULL, err, sizeof(err)), -EINVAL);
	p = ok;
	p.region_size = 0;
	assert_int_equal(vmem_init(&m, &p, &host_ops, NULL, err, sizeof(err)), -EINVAL);
	p = ok;
	p.addr = ADDR + MiB;
	assert_int_equal(vmem_init(&m, &p, &host_ops, NULL, err, sizeof(err)), -EINVAL);
	p = ok;
	p.addr = UINT64_MAX - BS + 1;
	assert_int_equal(vmem_init(&m, &p, &host_ops, NULL, err, sizeof(err)), -EINVAL);
	p = ok;
	p.requested_size = BS + 1;
	assert_int_equal(vmem_init(&m, &p, &host_ops, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'requested-size' has to be multiples of 'block-size' (0x200000)");
	p = ok;
	p.node_id = 70000;
	assert_int_equal(vmem_init(&m, &p, &host_ops, NULL, err, sizeof(err)), -EINVAL);
	p = ok;
	p.requested_size = 0;
	assert_int_equal(vmem_init(&m, &p, &host_ops, NULL, err, sizeof(err)), 0);
	assert_int_equal(m.st.usable_size, 0);
	vmem_destroy(&m);
}

static void test_virtio_reset_keeps_plug_state(void **state)
{
	struct fix *f = *state;
	uint16_t st;

	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 8, NULL), VMEM_RESP_ACK);
	f->unplug_calls = 0;
	wr(f, VIRTIO_PCI_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 0);
	assert_int_equal(f->unplug_calls, 0);
	assert_int_equal(cfg64(f, 0x28), 16 * MiB);
	driver_init(f, 1 << VMEM_F_UNPLUGGED_INACCESSIBLE);
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 8, &st), VMEM_RESP_ACK);
	assert_int_equal(st, VMEM_STATE_PLUGGED);
	assert_true(f->host[7]);
}

static void test_system_reset_unplugs(void **state)
{
	struct fix *f = *state;
	char err[128];
	unsigned int i;

	assert_int_equal(vmem_set_requested(&f->m, 512 * MiB, err, sizeof(err)), 0);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + 200 * BS, 50, NULL), VMEM_RESP_ACK);
	assert_int_equal(vmem_set_requested(&f->m, 0, err, sizeof(err)), 0);
	assert_int_equal(vmem_system_reset(&f->m), 0);
	virtio_pci_reset(&f->vp);
	for (i = 0; i < NBLK; i++)
		assert_false(f->host[i]);
	assert_int_equal(rd(f, VIRTIO_PCI_STATUS, 1), 0);
	assert_int_equal(cfg64(f, 0x28), 0);
	assert_int_equal(cfg64(f, 0x20), 0);
}

/* A chain built by hand; expects the device to stop with NEEDS_RESET. */
static void expect_device_error(struct fix *f, const struct vqd_buf *b, unsigned int n)
{
	uint32_t id, len;
	struct vmem_info info;

	vqd_add(&f->d, b, n);
	kick(f);
	assert_int_equal(vqd_get_used(&f->d, &id, &len), 0);
	assert_true(needs_reset(f));
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	vmem_get_info(&f->m, &info);
	assert_int_equal(info.device_errors, 1);
	/* Nothing more is processed until the driver resets. */
	put_req(f, REQ_GPA, VMEM_REQ_STATE, ADDR, 1);
	vqd_add(&f->d, (struct vqd_buf[]){{REQ_GPA, 24, false}, {RESP_GPA, 10, true}}, 2);
	kick(f);
	assert_int_equal(vqd_get_used(&f->d, &id, &len), 0);
	driver_init(f, 1 << VMEM_F_UNPLUGGED_INACCESSIBLE);
	assert_false(needs_reset(f));
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 1, NULL), VMEM_RESP_ACK);
}

static void test_short_request(void **state)
{
	struct fix *f = *state;

	put_req(f, REQ_GPA, VMEM_REQ_PLUG, ADDR, 1);
	expect_device_error(f, (struct vqd_buf[]){{REQ_GPA, 23, false}, {RESP_GPA, 10, true}}, 2);
	assert_int_equal(f->plug_calls, 0);
}

static void test_short_response(void **state)
{
	struct fix *f = *state;

	put_req(f, REQ_GPA, VMEM_REQ_PLUG, ADDR, 1);
	memset(vqd_ptr(&f->d, RESP_GPA + 0x100), 0xEE, 16);
	expect_device_error(
	    f, (struct vqd_buf[]){{REQ_GPA, 24, false}, {RESP_GPA + 0x100, 9, true}}, 2);
	assert_int_equal(f->plug_calls, 0);
	assert_int_equal(*vqd_ptr(&f->d, RESP_GPA + 0x100), 0xEE);
}

static void test_no_response_buffer(void **state)
{
	struct fix *f = *state;

	put_req(f, REQ_GPA, VMEM_REQ_PLUG, ADDR, 1);
	expect_device_error(f, (struct vqd_buf[]){{REQ_GPA, 24, false}, {RESP_GPA, 10, false}}, 2);
}

static void test_unknown_type(void **state)
{
	struct fix *f = *state;

	put_req(f, REQ_GPA, 4, ADDR, 1);
	expect_device_error(f, (struct vqd_buf[]){{REQ_GPA, 24, false}, {RESP_GPA, 10, true}}, 2);
}

static void test_bad_descriptor(void **state)
{
	struct fix *f = *state;

	put_req(f, REQ_GPA, VMEM_REQ_PLUG, ADDR, 1);
	expect_device_error(f, (struct vqd_buf[]){{REQ_GPA, 24, false}, {ADDR, 10, true}}, 2);
}

static void test_loop_chain(void **state)
{
	struct fix *f = *state;
	uint32_t id, len;

	vqd_put_desc(&f->d, 0, REQ_GPA, 24, VIRTQ_DESC_F_NEXT, 1);
	vqd_put_desc(&f->d, 1, RESP_GPA, 10, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	vqd_publish(&f->d, 0);
	kick(f);
	assert_int_equal(vqd_get_used(&f->d, &id, &len), 0);
	assert_true(needs_reset(f));
}

static void test_oversized_and_split_buffers(void **state)
{
	struct fix *f = *state;
	uint32_t id, len;
	uint8_t *r = vqd_ptr(&f->d, RESP_GPA);

	/* 64-byte request, 4 + 60 byte response: only 24/10 bytes used. */
	put_req(f, REQ_GPA, VMEM_REQ_PLUG, ADDR, 2);
	memset(vqd_ptr(&f->d, REQ_GPA + 24), 0x55, 40);
	memset(r, 0xEE, 64);
	vqd_add(&f->d,
		(struct vqd_buf[]){{REQ_GPA, 12, false},
				   {REQ_GPA + 12, 52, false},
				   {RESP_GPA, 4, true},
				   {RESP_GPA + 4, 60, true}},
		4);
	kick(f);
	assert_int_equal(vqd_get_used(&f->d, &id, &len), 1);
	assert_int_equal(len, 10);
	assert_int_equal(r[0] | r[1] << 8, VMEM_RESP_ACK);
	assert_int_equal(r[10], 0xEE);
	assert_int_equal(cfg64(f, 0x28), 2 * BS);
}

static void test_batch(void **state)
{
	struct fix *f = *state;
	uint32_t id, len;
	unsigned int i;

	/* Several requests per kick; responses in order, one interrupt. */
	for (i = 0; i < 4; i++) {
		uint64_t rq = REQ_GPA + 64 * i, rs = RESP_GPA + 64 * i;

		put_req(f, rq, VMEM_REQ_PLUG, ADDR + i * BS, 1);
		vqd_add(&f->d, (struct vqd_buf[]){{rq, 24, false}, {rs, 10, true}}, 2);
	}
	kick(f);
	for (i = 0; i < 4; i++) {
		assert_int_equal(vqd_get_used(&f->d, &id, &len), 1);
		assert_int_equal(*vqd_ptr(&f->d, RESP_GPA + 64 * i), VMEM_RESP_ACK);
	}
	assert_int_equal(cfg64(f, 0x28), 4 * BS);
}

/*
 * The size change is reported once per request that changed the plugged
 * size, after the bitmap and the config the driver reads were committed,
 * and never for requests that changed nothing.
 */
static void test_size_change_after_commit(void **state)
{
	struct fix *f = *state;

	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 4, NULL), VMEM_RESP_ACK);
	assert_int_equal(f->changed_calls, 1);
	assert_int_equal(f->changed_plugged, 8 * MiB);
	assert_int_equal(f->changed_host, 8 * MiB);
	/* Nothing changed: no report. */
	assert_int_equal(req(f, VMEM_REQ_STATE, ADDR, 4, NULL), VMEM_RESP_ACK);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 40, NULL), VMEM_RESP_NACK);
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 1, NULL), VMEM_RESP_ERROR);
	f->fail_plug = -ENOMEM;
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR + 8 * BS, 1, NULL), VMEM_RESP_BUSY);
	f->fail_plug = 0;
	assert_int_equal(f->changed_calls, 1);
	assert_int_equal(req(f, VMEM_REQ_UNPLUG, ADDR + BS, 2, NULL), VMEM_RESP_ACK);
	assert_int_equal(f->changed_calls, 2);
	assert_int_equal(f->changed_plugged, 4 * MiB);
	assert_int_equal(f->changed_host, 4 * MiB);
	assert_int_equal(req(f, VMEM_REQ_UNPLUG_ALL, 0, 0, NULL), VMEM_RESP_ACK);
	assert_int_equal(f->changed_calls, 3);
	assert_int_equal(f->changed_plugged, 0);
	assert_int_equal(f->changed_host, 0);
	/* A system reset that unplugs reports it; one with nothing plugged does not. */
	assert_int_equal(req(f, VMEM_REQ_PLUG, ADDR, 1, NULL), VMEM_RESP_ACK);
	assert_int_equal(vmem_system_reset(&f->m), 0);
	assert_int_equal(f->changed_calls, 5);
	assert_int_equal(f->changed_plugged, 0);
	assert_int_equal(vmem_system_reset(&f->m), 0);
	assert_int_equal(f->changed_calls, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plug_unplug_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nack_beyond_requested, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_failure_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trace_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unplug_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_requested, setup, teardown),
	    cmocka_unit_test(test_init_validation),
	    cmocka_unit_test_setup_teardown(test_virtio_reset_keeps_plug_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_system_reset_unplugs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_short_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_short_response, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_response_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_descriptor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loop_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversized_and_split_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_change_after_commit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
