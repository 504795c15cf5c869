/*
 * ops: host-side cost of virtio-mem requests, in process, no KVM.
 *
 * Requests go the way the guest's come: a split virtqueue laid out in fake
 * guest memory (tests/unit/virtio_test.h), a notify write on the virtio-pci
 * BAR, vmem's request path, hp_plug/hp_unplug, the real backend. Only the
 * KVM memory slot calls are fakes (they count). Each figure is set against
 * the raw kernel operation on a fresh mapping of the same kind of backing,
 * measured in the same run, alternating the order, and the medians are
 * compared.
 *
 * Usage: ops [REPEATS]   prints "key value" lines for bench/run.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "lib/log.h"
#include "mem/backend.h"
#include "mem/hotplug.h"
#include "virtio/mem.h"
#include "virtio/pci.h"
#include "virtio_test.h"

#define RING_GPA  0x100000ULL
#define RING_SIZE 0x40000ULL
#define REQ_GPA	  (RING_GPA + 0x20000)
#define RESP_GPA  (RING_GPA + 0x21000)
#define BLOCK	  (2 * MiB)
#define VMEM_GPA  (4 * GiB)
#define MAX_SLOTS 32000
#define BYTES	  (1 * GiB)
/* Linux's driver (big block mode off) plugs at most one 128 MiB memory block per request. */
#define LINUX_CHUNK (128 * MiB)

struct rig {
	struct fake_gmem fm;
	struct fake_pci fp;
	struct vmem m;
	struct virtio_pci vp;
	struct vqd d;
	uint64_t bar;
	struct hp_region hp;
	struct backend b; /* hva NULL: no host memory (request-rate runs) */
	uint32_t next_slot;
	uint64_t maps, unmaps;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int ret)
{
	fprintf(stderr, "ops: %s: %s\n", what, strerror(ret < 0 ? -ret : ret));
	exit(1);
}

static struct rig *hp_rig(struct hp_region *r)
{
	return container_of(r, struct rig, hp);
}

static int fake_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	struct rig *g = hp_rig(r);

	*slot = g->next_slot++;
	g->maps++;
	return 0;
}

static int fake_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	hp_rig(r)->unmaps++;
	return 0;
}

static int do_populate(struct hp_region *r, uint64_t off, uint64_t len)
{
	struct rig *g = hp_rig(r);

	return g->b.hva ? backend_populate(&g->b, off, len) : 0;
}

static int do_discard(struct hp_region *r, uint64_t off, uint64_t len)
{
	struct rig *g = hp_rig(r);

	return g->b.hva ? backend_discard(&g->b, off, len) : 0;
}

static const struct hp_ops hops = {
    .map = fake_map,
    .unmap = fake_unmap,
    .populate = do_populate,
    .discard = do_discard,
};

static struct rig *vmem_rig(struct vmem *m)
{
	return container_of(m, struct rig, m);
}

/* As the machine's: the device's host side is the hotplug region. */
static int vm_plug(struct vmem *m, uint64_t off, uint64_t len)
{
	return hp_plug(&vmem_rig(m)->hp, off, len);
}

static int vm_unplug(struct vmem *m, uint64_t off, uint64_t len)
{
	return hp_unplug(&vmem_rig(m)->hp, off, len);
}

static const struct vmem_host_ops vops = {.plug = vm_plug, .unplug = vm_unplug};

static void wr(struct rig *g, uint64_t off, uint32_t len, uint64_t v)
{
	bus_write(&g->fp.mmio, g->bar + off, &v, len);
}

/* The Linux driver's bring-up: reset, bus master, features, one queue, DRIVER_OK. */
static void driver_init(struct rig *g)
{
	struct vdrv_queue q;

	vdrv_reset(&g->fp, &g->vp);
	vqd_init(&g->d, &g->fm, RING_GPA, VMEM_QUEUE_SIZE);
	q = vdrv_queue_of(&g->d, 0);
	if (vdrv_bring_up(&g->fp, &g->vp, VDRV_VERSION_1 | 1 << VMEM_F_UNPLUGGED_INACCESSIBLE, &q,
			  1) != 0xF) {
		fprintf(stderr, "ops: the device refused the driver\n");
		exit(1);
	}
}

static struct backend_spec region_spec(uint64_t size, bool memfd)
{
	struct backend_spec s = {
	    .name = "bench-hotplug",
	    .opt = "--memory",
	    .hotplug = true,
	    .kind = memfd ? BACKEND_MEMFD : BACKEND_ANON,
	    .shared = memfd,
	    .page_size = 4096,
	    .size = size,
	    .gpa = VMEM_GPA,
	    .thp = !memfd,
	    .noreserve = true,
	    .dontdump = true,
	    .host_numa_node = -1,
	};

	return s;
}

/* kind: 0 no host memory, 1 anon, 2 memfd (shared=on). */
static struct rig *rig_create(uint64_t region, int kind, bool prealloc)
{
	struct rig *g = calloc(1, sizeof(*g));
	struct vmem_params p = {
	    .addr = VMEM_GPA,
	    .region_size = region,
	    .block_size = BLOCK,
	    .requested_size = region,
	    .node_id = -1,
	    .unplugged_inaccessible = true,
	};
	char err[256];
	int ret;

	if (!g)
		die("calloc", -ENOMEM);
	g->b.fd = -1;
	if (kind) {
		struct backend_spec s = region_spec(region, kind == 2);

		ret = backend_create(&s, &g->b, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "ops: %s\n", err);
			exit(1);
		}
	}
	ret = hp_init(&g->hp, &hops, VMEM_GPA, region, BLOCK, MAX_SLOTS, g->b.hva, prealloc);
	if (ret)
		die("hp_init", ret);
	fake_gmem_init(&g->fm, RING_GPA, RING_SIZE);
	fake_pci_init(&g->fp);
	ret = vmem_init(&g->m, &p, &vops, &g->fm.map, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "ops: %s\n", err);
		exit(1);
	}
	ret = virtio_pci_init(&g->vp, &g->m.vdev, &g->fp.h, NULL, "virtio-mem");
	if (ret)
		die("virtio_pci_init", ret);
	g->bar = g->vp.pci.bars[0].addr;
	driver_init(g);
	return g;
}

static void rig_destroy(struct rig *g)
{
	virtio_pci_destroy(&g->vp);
	vmem_destroy(&g->m);
	fake_pci_free(&g->fp);
	fake_gmem_free(&g->fm);
	hp_destroy(&g->hp);
	backend_destroy(&g->b);
	free(g);
}

/* One request as Linux sends it (24-byte request, 10-byte response); returns the response. */
static uint16_t req(struct rig *g, uint16_t type, uint64_t addr, uint16_t nb)
{
	struct vqd_buf b[2] = {{REQ_GPA, 24, false}, {RESP_GPA, 10, true}};
	uint8_t *q = vqd_ptr(&g->d, REQ_GPA), *r = vqd_ptr(&g->d, RESP_GPA);
	uint64_t a = htole64(addr);
	uint32_t id, len;

	memset(q, 0, 24);
	q[0] = type;
	memcpy(q + 8, &a, 8);
	q[16] = nb;
	q[17] = nb >> 8;
	vqd_add(&g->d, b, 2);
	wr(g, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	if (vqd_get_used(&g->d, &id, &len) != 1) {
		fprintf(stderr, "ops: request not answered\n");
		exit(1);
	}
	return r[0] | r[1] << 8;
}

static void req_ok(struct rig *g, uint16_t type, uint64_t addr, uint16_t nb)
{
	uint16_t resp = req(g, type, addr, nb);

	if (resp != VMEM_RESP_ACK) {
		fprintf(stderr, "ops: request %u at %#llx x%u answered %u\n", type,
			(unsigned long long)addr, nb, resp);
		exit(1);
	}
}

/* PLUG or UNPLUG of [0, len) in requests of `chunk` bytes. */
static double serve_range(struct rig *g, uint16_t type, uint64_t len, uint64_t chunk)
{
	double t0 = now();
	uint64_t off;

	for (off = 0; off < len; off += chunk)
		req_ok(g, type, VMEM_GPA + off, chunk / BLOCK);
	return now() - t0;
}

/* The raw side: one madvise per chunk, as memvisor makes one per request. */
static int raw_madvise(uint8_t *p, uint64_t len, uint64_t chunk, int advice)
{
	uint64_t off;

	for (off = 0; off < len; off += chunk)
		if (madvise(p + off, chunk, advice))
			return -errno;
	return 0;
}

static int raw_punch(int fd, uint64_t len, uint64_t chunk)
{
	uint64_t off;

	for (off = 0; off < len; off += chunk)
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)chunk))
			return -errno;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A fresh region backend, exactly as memvisor makes one, for the raw side. */
static struct backend raw_backend(int kind)
{
	struct backend_spec s = region_spec(4 * GiB, kind == 2);
	struct backend b;
	char err[256];

	if (backend_create(&s, &b, err, sizeof(err))) {
		fprintf(stderr, "ops: %s\n", err);
		exit(1);
	}
	return b;
}

static void populate_or_die(uint8_t *p, uint64_t len)
{
	if (madvise(p, len, MADV_POPULATE_WRITE))
		die("MADV_POPULATE_WRITE", errno);
}

/* Figure 2: PLUG of 1 GiB with prealloc=on vs MADV_POPULATE_WRITE. */
static void bench_prealloc(int kind, int reps, uint64_t chunk, const char *tag)
{
	double mv[64], raw[64];
	int i, j;

	for (i = 0; i < reps; i++) {
		for (j = 0; j < 2; j++) {
			if ((i + j) % 2 == 0) {
				struct rig *g = rig_create(4 * GiB, kind, true);

				mv[i] = serve_range(g, VMEM_REQ_PLUG, BYTES, chunk);
				rig_destroy(g);
			} else {
				struct backend b = raw_backend(kind);
				double t0 = now();
				int ret = raw_madvise(b.hva, BYTES, chunk, MADV_POPULATE_WRITE);

				raw[i] = now() - t0;
				if (ret)
					die("MADV_POPULATE_WRITE", ret);
				backend_destroy(&b);
			}
		}
	}
	printf("prealloc_%s_mv_ms %.2f\n", tag, median(mv, reps) * 1e3);
	printf("prealloc_%s_raw_ms %.2f\n", tag, median(raw, reps) * 1e3);
}

/* Figure 3: UNPLUG of 1 GiB of touched memory vs the raw discard of the same backing. */
static void bench_discard(int kind, int reps, uint64_t chunk, const char *tag)
{
	double mv[64], raw[64];
	int i, j;

	for (i = 0; i < reps; i++) {
		for (j = 0; j < 2; j++) {
			if ((i + j) % 2 == 0) {
				struct rig *g = rig_create(4 * GiB, kind, false);

				serve_range(g, VMEM_REQ_PLUG, BYTES, BYTES);
				populate_or_die(g->b.hva, BYTES); /* the guest touched it all */
				mv[i] = serve_range(g, VMEM_REQ_UNPLUG, BYTES, chunk);
				rig_destroy(g);
			} else {
				struct backend b = raw_backend(kind);
				double t0;
				int ret;

				populate_or_die(b.hva, BYTES);
				t0 = now();
				if (kind == 2)
					ret = raw_punch(b.fd, BYTES, chunk);
				else
					ret = raw_madvise(b.hva, BYTES, chunk, MADV_DONTNEED);
				raw[i] = now() - t0;
				if (ret)
					die("raw discard", ret);
				backend_destroy(&b);
			}
		}
	}
	printf("discard_%s_mv_ms %.2f\n", tag, median(mv, reps) * 1e3);
	printf("discard_%s_raw_ms %.2f\n", tag, median(raw, reps) * 1e3);
}

/* Figure 4: requests per second through the queue, one request per notify, no host memory. */
static void bench_rate(int reps, uint64_t region, const char *tag)
{
	uint64_t nblocks = region / BLOCK, b, n;
	double st[64], pl[64], un[64], t0;
	int i;

	for (i = 0; i < reps; i++) {
		struct rig *g = rig_create(region, 0, false);

		/* STATE over single blocks, as the driver asks at probe time. */
		n = 4 * nblocks;
		t0 = now();
		for (b = 0; b < n; b++)
			req_ok(g, VMEM_REQ_STATE, VMEM_GPA + (b % nblocks) * BLOCK, 1);
		st[i] = n / (now() - t0);
		/* One block per request: the worst case for the host bookkeeping. */
		t0 = now();
		for (b = 0; b < nblocks; b++)
			req_ok(g, VMEM_REQ_PLUG, VMEM_GPA + b * BLOCK, 1);
		pl[i] = nblocks / (now() - t0);
		t0 = now();
		for (b = 0; b < nblocks; b++)
			req_ok(g, VMEM_REQ_UNPLUG, VMEM_GPA + b * BLOCK, 1);
		un[i] = nblocks / (now() - t0);
		rig_destroy(g);
	}
	printf("rate_%s_state_per_s %.0f\n", tag, median(st, reps));
	printf("rate_%s_plug_per_s %.0f\n", tag, median(pl, reps));
	printf("rate_%s_unplug_per_s %.0f\n", tag, median(un, reps));
}

/*
 * This machine's own host backs its memory lazily: the first touch of a
 * physical page costs ~10x a later one. Touch and free a few GiB of both
 * kinds first so both sides of every ratio mostly get warm pages.
 */
static void warm_up(void)
{
	int kind, i;

	for (i = 0; i < 2; i++) {
		for (kind = 1; kind <= 2; kind++) {
			struct backend b = raw_backend(kind);

			populate_or_die(b.hva, 3 * GiB);
			backend_destroy(&b);
		}
	}
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 5;
	const char *only = argc > 2 ? argv[2] : "all";
	bool all = !strcmp(only, "all");

	if (reps < 1 || reps > 64) {
		fprintf(stderr, "usage: ops [REPEATS 1..64] [all|prealloc|discard|rate]\n");
		return 2;
	}
	mv_log_set_quiet(true);
	printf("repeats %d\n", reps);
	warm_up();
	/* One 1 GiB request against one call; then Linux-sized requests against as many calls. */
	if (all || !strcmp(only, "prealloc")) {
		bench_prealloc(1, reps, BYTES, "anon");
		bench_prealloc(2, reps, BYTES, "memfd");
		bench_prealloc(1, reps, LINUX_CHUNK, "anon_128m");
	}
	if (all || !strcmp(only, "discard")) {
		bench_discard(1, reps, BYTES, "anon");
		bench_discard(2, reps, BYTES, "memfd");
		bench_discard(1, reps, LINUX_CHUNK, "anon_128m");
		bench_discard(2, reps, LINUX_CHUNK, "memfd_128m");
	}
	if (all || !strcmp(only, "rate")) {
		bench_rate(reps, 4 * GiB, "4g");
		bench_rate(reps, 64 * GiB, "64g");
	}
	return 0;
}
