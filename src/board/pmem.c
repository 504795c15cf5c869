#include "board/pmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/options.h"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/pci_save.h"
#include "virtio/pmem_save.h"

/* Worker thread of the device: the guest's writes reach the file's storage. */
static int board_pmem_flush(struct vpmem *p)
{
	struct board_pmem *bp = container_of(p, struct board_pmem, dev);

	return fsync(bp->fd) ? -errno : 0;
}

static const struct vpmem_host_ops board_pmem_ops = {
    .flush = board_pmem_flush,
};

/* The file, or an unlinked temporary one in the directory; grown to size. */
static int pmem_open(const struct pmem_config *c, int *fdp)
{
	struct stat st;
	char tmpl[4096];
	int fd, e;

	if (stat(c->file, &st))
		return -errno;
	if (S_ISDIR(st.st_mode)) {
		fd = open(c->file, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			/* Filesystems without O_TMPFILE. */
			if (snprintf(tmpl, sizeof(tmpl), "%s/memvisor-pmem-XXXXXX", c->file) >=
			    (int)sizeof(tmpl))
				return -ENAMETOOLONG;
			fd = mkostemp(tmpl, O_CLOEXEC);
			if (fd < 0)
				return -errno;
			unlink(tmpl);
		}
	} else {
		fd = open(c->file, (c->discard_writes ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	if (fstat(fd, &st))
		goto fail;
	/* Validation refused a file larger than size, and growing a read-only one. */
	if ((uint64_t)st.st_size < c->size && ftruncate(fd, c->size))
		goto fail;
	*fdp = fd;
	return 0;
fail:
	e = errno;
	close(fd);
	return -e;
}

static int pmem_create_one(struct board *m, unsigned int i)
{
	const struct pmem_config *c = &m->cfg->pmem[i];
	struct board_pmem *bp = &m->pmem[i];
	struct vpmem_params prm;
	int ret;

	bp->m = m;
	bp->idx = i;
	bp->fd = -1;
	bp->gpa = m->layout.pmem[i].gpa;
	bp->size = m->layout.pmem[i].size;
	m->nr_pmem = i + 1;
	ret = pmem_open(c, &bp->fd);
	if (ret) {
		mv_err(OPT_NAME_PMEM " id=%s: file=%s: %s", c->id, c->file, strerror(-ret));
		return ret;
	}
	bp->hva = mmap(NULL, bp->size, PROT_READ | PROT_WRITE,
		       c->discard_writes ? MAP_PRIVATE : MAP_SHARED, bp->fd, 0);
	if (bp->hva == MAP_FAILED) {
		ret = -errno;
		bp->hva = NULL;
		mv_err(OPT_NAME_PMEM " id=%s: mapping file=%s: %s", c->id, c->file, strerror(-ret));
		return ret;
	}
	ret = vm_map(&m->vm, bp->gpa, bp->size, bp->hva, &bp->slot);
	if (ret) {
		mv_err(OPT_NAME_PMEM " id=%s: mapping it at %#llx for the guest: %s", c->id,
		       (unsigned long long)bp->gpa, strerror(-ret));
		return ret;
	}
	bp->mapped = true;
	/* An NVDIMM is the mapping alone: the guest finds it in the NFIT (board/firmware.c). */
	if (c->model == PMEM_NVDIMM)
		return 0;
	prm =
	    (struct vpmem_params){.start = bp->gpa, .size = bp->size, .discard = c->discard_writes};
	ret = vpmem_init(&bp->dev, &prm, &board_pmem_ops, &m->vm.mem, &m->loop);
	if (ret) {
		mv_err(OPT_NAME_PMEM " id=%s: virtio-pmem: %s", c->id, strerror(-ret));
		return ret;
	}
	bp->dev_up = true;
	ret = virtio_pci_init(&bp->pci, &bp->dev.vdev, &m->pci, &m->loop, c->id);
	if (ret) {
		mv_err(OPT_NAME_PMEM " id=%s: virtio-pci: %s", c->id, strerror(-ret));
		return ret;
	}
	bp->pci_up = true;
	return 0;
}

int board_pmem_create(struct board *m)
{
	unsigned int i;
	int ret;

	for (i = 0; i < m->cfg->nr_pmem; i++) {
		ret = pmem_create_one(m, i);
		if (ret)
			return ret;
	}
	return 0;
}

void board_pmem_reset(struct board *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_pmem; i++)
		if (m->pmem[i].pci_up)
			virtio_pci_reset(&m->pmem[i].pci);
}

void board_pmem_pause(struct board *m, bool paused)
{
	unsigned int i;

	for (i = 0; i < m->nr_pmem; i++) {
		if (!m->pmem[i].pci_up)
			continue;
		virtio_pci_set_paused(&m->pmem[i].pci, paused);
		vpmem_set_paused(&m->pmem[i].dev, paused);
	}
}

void board_pmem_destroy(struct board *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_pmem; i++) {
		struct board_pmem *bp = &m->pmem[i];

		if (bp->pci_up)
			virtio_pci_destroy(&bp->pci);
		if (bp->dev_up)
			vpmem_destroy(&bp->dev);
		if (bp->mapped && vm_unmap(&m->vm, bp->slot, bp->gpa, bp->size))
			mv_warn("%s: removing the memory slot failed", m->cfg->pmem[i].id);
		if (bp->hva)
			munmap(bp->hva, bp->size);
		if (bp->fd >= 0)
			close(bp->fd);
		bp->pci_up = bp->dev_up = bp->mapped = false;
		bp->hva = NULL;
		bp->fd = -1;
	}
	m->nr_pmem = 0;
}

int board_pmem_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		    size_t errlen)
{
	unsigned int i;

	for (i = 0; i < m->nr_pmem; i++) {
		if (ph == BOARD_PHASE_DEVICES && m->pmem[i].dev_up)
			vpmem_save(&m->pmem[i].dev, m->cfg->pmem[i].id, w);
		else if (ph == BOARD_PHASE_TRANSPORTS && m->pmem[i].pci_up)
			virtio_pci_save(&m->pmem[i].pci, w);
	}
	return 0;
}

int board_pmem_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		    size_t errlen)
{
	char name[MV_STATE_NAME_MAX + 1];
	struct mv_state_section sec;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < m->nr_pmem && !ret; i++) {
		struct board_pmem *bp = &m->pmem[i];
		const char *id = m->cfg->pmem[i].id;

		/* An NVDIMM has no state of its own (the file is its memory): nothing to find. */
		if (m->cfg->pmem[i].model == PMEM_NVDIMM)
			continue;
		if (ph == BOARD_PHASE_TRANSPORTS) {
			ret = virtio_pci_find_load(&bp->pci, s->p, s->len, err, errlen);
		} else if (ph == BOARD_PHASE_DEVICES) {
			vpmem_state_name(id, name, sizeof(name));
			ret = mv_state_find(s->p, s->len, name, &sec, err, errlen);
			if (!ret)
				ret = vpmem_load(&bp->dev, id, &sec, err, errlen);
		}
	}
	return ret;
}
