/*
 * hostmem: facts about the host's memory (hugepage sizes and pools, NUMA
 * nodes, KSM) and the one bulk operation done on raw mappings: populating a
 * range in parallel threads with a progress line. No state; backend builds on
 * it.
 */
#ifndef MV_MEM_HOSTMEM_H
#define MV_MEM_HOSTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The host's default hugepage size (Hugepagesize in /proc/meminfo), 0 if none. */
uint64_t hostmem_default_hugepage_size(void);
/*
 * Free hugepages of `page_size`: free minus reserved, or the node's free pages
 * when node >= 0. -ENOENT when the host does not offer that size.
 */
int hostmem_hugepages_free(uint64_t page_size, int node, uint64_t *free_pages);
/* The online host NUMA nodes as sysfs lists them ("0", "0-3"), for messages. */
void hostmem_online_nodes(char *buf, size_t len);
/* False only when /sys/kernel/mm/ksm/run says KSM is stopped. */
bool hostmem_ksm_running(void);

/*
 * MADV_POPULATE_WRITE (write=false: MADV_POPULATE_READ, which maps a private
 * file mapping's pages without copying them) over [hva, hva+len) in pieces
 * (multiples of `align`) on min(nproc, 8) threads. After about 1 s prints
 * "memvisor: prefault <label>: 1.2G/4.0G" on stderr once a second. Returns 0
 * or the first failure as -errno (its offset in *err_off); *done gets the
 * bytes populated either way.
 */
int hostmem_populate_parallel(uint8_t *hva, uint64_t len, uint64_t align, bool write,
			      const char *label, uint64_t *done, uint64_t *err_off);

#endif
