/*
 * idle: what the VMM's hotplug machinery holds on the host for one big
 * virtio-mem region with nothing plugged, and what it adds per plugged GiB.
 *
 * Usage: idle REGION_GIB [PLUG_GIB [count]]
 * PLUG_GIB is plugged in 128 MiB requests, as the Linux driver plugs a
 * memory block per request, with prealloc=on; "count" plugs without
 * populating (for sizes this host cannot hold: the slot figures only).
 * Builds the real objects the machine builds (backend_create of the
 * hotplug region, hp_init, vmem_init) with fake KVM slots and a fake guest
 * memory, in a fresh process so RSS deltas are this region's alone. Prints
 * "key value" lines; bench/run.sh turns them into the table.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "fakes.h"
#include "mem/backend.h"
#include "mem/hotplug.h"
#include "virtio/mem.h"

#define BLOCK	   (2 * MiB)
#define MAX_SLOTS  32000
#define REQUEST	   (128 * MiB)
#define REGION_GPA (4 * GiB)

struct idle {
	struct backend b;
	struct hp_region hp;
	struct vmem m;
	uint32_t next_slot;
};

/* Fields of /proc/self/status in KiB. */
static long status_kib(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static struct idle *to_idle(struct hp_region *r)
{
	return container_of(r, struct idle, hp);
}

static int fake_map(struct hp_region *r, uint64_t gpa, uint64_t size, void *hva, uint32_t *slot)
{
	*slot = to_idle(r)->next_slot++;
	return 0;
}

static int fake_unmap(struct hp_region *r, uint32_t slot, uint64_t gpa, uint64_t size)
{
	return 0;
}

static int do_populate(struct hp_region *r, uint64_t off, uint64_t len)
{
	return backend_populate(&to_idle(r)->b, off, len);
}

static int do_discard(struct hp_region *r, uint64_t off, uint64_t len)
{
	return backend_discard(&to_idle(r)->b, off, len);
}

static const struct hp_ops ops = {
    .map = fake_map,
    .unmap = fake_unmap,
    .populate = do_populate,
    .discard = do_discard,
};

static int vm_plug(struct vmem *m, uint64_t off, uint64_t len)
{
	return -EPERM;
}

static const struct vmem_host_ops vops = {.plug = vm_plug, .unplug = vm_plug};

int main(int argc, char **argv)
{
	static struct idle s;
	struct backend_spec spec = {
	    .name = "bench-hotplug",
	    .opt = "--memory",
	    .hotplug = true,
	    .kind = BACKEND_ANON,
	    .page_size = 4096,
	    .gpa = REGION_GPA,
	    .thp = true,
	    .noreserve = true,
	    .dontdump = true,
	    .host_numa_node = -1,
	};
	struct vmem_params p = {
	    .addr = REGION_GPA,
	    .block_size = BLOCK,
	    .node_id = -1,
	    .unplugged_inaccessible = true,
	};
	struct fake_gmem fm;
	struct hp_stats st;
	uint64_t plug, off;
	bool count_only;
	long rss0, pte0, rss1, pte1, rss2, pte2;
	char err[256];
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: idle REGION_GIB [PLUG_GIB]\n");
		return 2;
	}
	mv_log_set_quiet(true);
	spec.size = strtoull(argv[1], NULL, 0) * GiB;
	plug = argc > 2 ? strtoull(argv[2], NULL, 0) * GiB : 0;
	count_only = argc > 3 && !strcmp(argv[3], "count");
	/* The fake guest RAM is not the hotplug machinery's: allocate it first. */
	fake_gmem_init(&fm, 0, 1 * MiB);
	memset(fm.buf, 0, 1 * MiB);

	rss0 = status_kib("VmRSS");
	pte0 = status_kib("VmPTE");
	ret = backend_create(&spec, &s.b, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "idle: %s\n", err);
		return 1;
	}
	ret = hp_init(&s.hp, &ops, REGION_GPA, spec.size, BLOCK, MAX_SLOTS, s.b.hva, !count_only);
	if (ret) {
		fprintf(stderr, "idle: hp_init: %d\n", ret);
		return 1;
	}
	p.region_size = spec.size;
	ret = vmem_init(&s.m, &p, &vops, &fm.map, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "idle: %s\n", err);
		return 1;
	}
	rss1 = status_kib("VmRSS");
	pte1 = status_kib("VmPTE");
	hp_get_stats(&s.hp, &st);
	printf("region_gib %s\n", argv[1]);
	printf("max_slots %" PRIu32 "\n", s.hp.max_slots);
	printf("idle_rss_kib %ld\n", rss1 - rss0);
	printf("idle_pte_kib %ld\n", pte1 - pte0);
	printf("idle_slots %" PRIu64 "\n", st.slots);

	if (plug) {
		/* prealloc=on: the plugged memory itself is resident, the rest is overhead. */
		for (off = 0; off < plug; off += REQUEST) {
			ret = hp_plug(&s.hp, off, MV_MIN(REQUEST, plug - off));
			if (ret) {
				fprintf(stderr, "idle: hp_plug: %d\n", ret);
				return 1;
			}
		}
		rss2 = status_kib("VmRSS");
		pte2 = status_kib("VmPTE");
		hp_get_stats(&s.hp, &st);
		printf("plug_gib %s\n", argv[2]);
		printf("plugged_rss_kib %ld\n", rss2 - rss0);
		printf("plugged_overhead_kib %ld\n", rss2 - rss0 - (long)(plug >> 10));
		printf("plugged_pte_kib %ld\n", pte2 - pte0);
		printf("plugged_slots %" PRIu64 "\n", st.slots);
		printf("plugged_slot_changes %" PRIu64 "\n", st.slot_changes);
		/*
		 * What KVM keeps for those slots, from its code: per slot a
		 * struct kvm_memory_slot (~200 bytes) and its large-page info
		 * (4 bytes per 2 MiB and per 1 GiB page); the 4 KiB rmap
		 * (8 bytes per page) only where the shadow MMU is in use (a
		 * nested guest, or TDP MMU off): it grows with the memory
		 * mapped, not with the slot count.
		 */
		printf("plugged_kvm_meta_kib %" PRIu64 "\n",
		       (uint64_t)((st.slots * 200 + plug / (2 * MiB) * 4 + plug / GiB * 4) / KiB));
		printf("plugged_kvm_rmap_kib %" PRIu64 "\n", (uint64_t)(plug / 4096 * 8 / KiB));
		ret = hp_unplug_all(&s.hp);
		if (ret)
			fprintf(stderr, "idle: hp_unplug_all: %d\n", ret);
	}
	vmem_destroy(&s.m);
	hp_destroy(&s.hp);
	backend_destroy(&s.b);
	fake_gmem_free(&fm);
	return 0;
}
