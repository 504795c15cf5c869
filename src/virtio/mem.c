#include "virtio/mem.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "core/loop.h"
#include "lib/util.h"
#include "lib/trace.h"

/* Wire sizes (VIRTIO 1.2 5.15.6): request 24 bytes, response 10 bytes. */
#define VMEM_REQ_LEN  24
#define VMEM_RESP_LEN 10

static struct vmem *to_vmem(struct virtio_dev *d)
{
	return container_of(d, struct vmem, vdev);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static void vmem_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct vmem *m = to_vmem(d);
	uint8_t cfg[VMEM_CONFIG_SIZE] = {0};

	put_le64(cfg + 0x00, m->st.block_size);
	put_le16(cfg + 0x08, m->node_id < 0 ? 0 : m->node_id);
	put_le64(cfg + 0x10, m->st.addr);
	put_le64(cfg + 0x18, m->st.region_size);
	put_le64(cfg + 0x20, m->st.usable_size);
	put_le64(cfg + 0x28, m->st.plugged_size);
	put_le64(cfg + 0x30, m->st.requested_size);
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, cfg + off, len);
}

static int vmem_features_ok(struct virtio_dev *d, uint64_t features)
{
	/*
	 * As QEMU: with UNPLUGGED_INACCESSIBLE offered, a driver that would
	 * read unplugged memory is refused rather than allowed to fault.
	 */
	if ((d->host_features >> VMEM_F_UNPLUGGED_INACCESSIBLE & 1) &&
	    !(features >> VMEM_F_UNPLUGGED_INACCESSIBLE & 1))
		return -EFAULT;
	return 0;
}

/* Unplug every plugged run on the host; commits each run that succeeded. */
static int vmem_unplug_all(struct vmem *m)
{
	uint64_t first = 0, count, bs = m->st.block_size;
	int ret;

	while (vmem_state_next_plugged(&m->st, &first, &count) == 0) {
		ret = m->hops->unplug(m, first * bs, count * bs);
		if (ret) {
			m->stats.discard_failures++;
			return ret;
		}
		vmem_state_set(&m->st, first, count, false);
		m->stats.discarded_bytes += count * bs;
		first += count;
	}
	return 0;
}

/* Why a request got its answer, for the trace only. */
struct vmem_why {
	const char *why;
	int err; /* the host's -errno behind a BUSY */
};

static const char *vmem_refusal(const struct vmem_req *r, const struct vmem_decision *d)
{
	if (d->resp == VMEM_RESP_NACK)
		return "plugged+request-exceeds-requested-size";
	/* vmem_decide leaves count 0 when the range itself is refused. */
	if (!d->count)
		return "range-misaligned-or-outside-usable-region";
	return r->type == VMEM_REQ_PLUG ? "some-block-already-plugged" : "some-block-not-plugged";
}

/* Carry out one well-formed request; returns the response type. */
static uint16_t vmem_handle(struct vmem *m, const struct vmem_req *r, uint16_t *state,
			    struct vmem_why *why)
{
	struct vmem_decision dec = vmem_decide(&m->st, r);
	uint64_t bs = m->st.block_size;

	*state = dec.state;
	if (!dec.act) {
		if (r->type == VMEM_REQ_PLUG && dec.resp == VMEM_RESP_NACK)
			m->stats.plug_refused++;
		if (dec.resp != VMEM_RESP_ACK)
			why->why = vmem_refusal(r, &dec);
		return dec.resp;
	}
	switch (r->type) {
	case VMEM_REQ_PLUG:
		why->err = m->hops->plug(m, dec.first * bs, dec.count * bs);
		if (why->err) {
			m->stats.plug_refused++;
			why->why = "host-plug-failed";
			return VMEM_RESP_BUSY;
		}
		vmem_state_set(&m->st, dec.first, dec.count, true);
		m->stats.plugged_bytes += dec.count * bs;
		return VMEM_RESP_ACK;
	case VMEM_REQ_UNPLUG:
		why->err = m->hops->unplug(m, dec.first * bs, dec.count * bs);
		if (why->err) {
			m->stats.discard_failures++;
			why->why = "host-unplug-failed";
			return VMEM_RESP_BUSY;
		}
		vmem_state_set(&m->st, dec.first, dec.count, false);
		m->stats.discarded_bytes += dec.count * bs;
		return VMEM_RESP_ACK;
	default: /* UNPLUG_ALL */
		why->err = vmem_unplug_all(m);
		if (why->err) {
			why->why = "host-unplug-failed";
			return VMEM_RESP_BUSY;
		}
		/* The spec allows the shrink here without a config notification. */
		m->st.usable_size = vmem_usable_for(&m->st, m->st.requested_size, true);
		return VMEM_RESP_ACK;
	}
}

static void vmem_device_error(struct vmem *m, const char *why)
{
	mv_warn("virtio-mem: %s; device needs reset", why);
	if (trace_on(TRACE_VMEM))
		trace_emit(TRACE_VMEM, "dev=vmem@0x%" PRIx64 " device-error why=%s", m->st.addr,
			   why);
	m->stats.device_errors++;
	virtio_dev_set_needs_reset(&m->vdev);
}

/* One chain: 0 when answered, -EPROTO on a device error. */
static int vmem_serve(struct vmem *m, struct virtq *q, const struct virtq_chain *c)
{
	uint8_t raw[VMEM_REQ_LEN], resp[VMEM_RESP_LEN] = {0};
	static const char *const req_names[] = {"PLUG", "UNPLUG", "UNPLUG_ALL", "STATE"};
	static const char *const resp_names[] = {"ACK", "NACK", "BUSY", "ERROR"};
	struct vmem_why why = {NULL, 0};
	struct vmem_req r;
	uint64_t before;
	uint16_t t16, state, rt;

	/* Larger buffers are fine: only the first 24/10 bytes are used. */
	if (c->out_len < VMEM_REQ_LEN || c->in_len < VMEM_RESP_LEN) {
		vmem_device_error(m, "request or response buffer too small");
		return -EPROTO;
	}
	if (virtq_chain_read(q, c, 0, raw, sizeof(raw))) {
		vmem_device_error(m, "request unreadable");
		return -EPROTO;
	}
	memcpy(&t16, raw + 0x00, 2);
	r.type = le16toh(t16);
	memcpy(&r.addr, raw + 0x08, 8);
	r.addr = le64toh(r.addr);
	memcpy(&t16, raw + 0x10, 2);
	r.nb_blocks = le16toh(t16);
	if (r.type > VMEM_REQ_STATE) {
		vmem_device_error(m, "unknown request type");
		return -EPROTO;
	}
	m->stats.requests++;
	m->stats.last_request_ms = loop_now_ms();
	before = m->st.plugged_size;
	rt = vmem_handle(m, &r, &state, &why);
	put_le16(resp + 0x00, rt);
	if (trace_on(TRACE_VMEM))
		trace_emit(TRACE_VMEM,
			   "dev=vmem@0x%" PRIx64 " req=%s addr=0x%" PRIx64
			   " nb_blocks=%u resp=%s%s%s err=%d plugged=0x%" PRIx64
			   " requested=0x%" PRIx64 " usable=0x%" PRIx64,
			   m->st.addr, req_names[r.type], r.addr, (unsigned int)r.nb_blocks,
			   rt < 4 ? resp_names[rt] : "?", why.why ? " why=" : "",
			   why.why ? why.why : "", why.err, m->st.plugged_size,
			   m->st.requested_size, m->st.usable_size);
	if (m->st.plugged_size != before && m->st.plugged_size == m->st.requested_size &&
	    m->hops->settled)
		m->hops->settled(m);
	/* Reported after the commit, as QEMU does: a query sees what the event says. */
	if (m->st.plugged_size != before && m->hops->size_changed)
		m->hops->size_changed(m);
	put_le16(resp + 0x08, state);
	if (virtq_chain_write(q, c, 0, resp, sizeof(resp)) ||
	    virtq_push(q, c->head, sizeof(resp))) {
		vmem_device_error(m, "response unwritable");
		return -EPROTO;
	}
	return 0;
}

static void vmem_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct vmem *m = to_vmem(d);
	struct virtq *q = &d->vqs[qi];
	struct virtq_chain c;
	bool used = false;
	int ret;

	/* virtq_pop stops at the notification's budget; the core continues later. */
	while ((ret = virtq_pop(q, &c)) == 1) {
		if (vmem_serve(m, q, &c))
			break;
		used = true;
	}
	if (ret < 0)
		vmem_device_error(m, "malformed virtqueue");
	if (used)
		virtio_dev_notify_used(d, qi);
}

static const struct virtio_dev_ops vmem_ops = {
    .device_id = 24,
    .num_queues = 1,
    .queue_max_size = VMEM_QUEUE_SIZE,
    .config_size = VMEM_CONFIG_SIZE,
    .features_ok = vmem_features_ok,
    .config_read = vmem_config_read,
    .queue_notify = vmem_queue_notify,
    /* No .reset: a virtio reset must not change block states (5.15.5). */
};

static int vmem_check_params(const struct vmem_params *p, char *err, size_t errlen)
{
	if (!is_pow2(p->block_size) || p->block_size < VMEM_MIN_BLOCK) {
		snprintf(err, errlen,
			 "virtio-mem: block_size 0x%" PRIx64 " is not a power of two >= 1 MiB",
			 p->block_size);
		return -EINVAL;
	}
	if (!p->region_size || !is_aligned(p->region_size, p->block_size)) {
		snprintf(err, errlen,
			 "virtio-mem: region size 0x%" PRIx64
			 " is not a non-zero multiple of block_size 0x%" PRIx64,
			 p->region_size, p->block_size);
		return -EINVAL;
	}
	if (!is_aligned(p->addr, p->block_size) || !range_ok(p->addr, p->region_size)) {
		snprintf(err, errlen,
			 "virtio-mem: address 0x%" PRIx64 " is not aligned to block_size 0x%" PRIx64
			 " or the region wraps",
			 p->addr, p->block_size);
		return -EINVAL;
	}
	if (p->node_id < -1 || p->node_id > UINT16_MAX) {
		snprintf(err, errlen, "virtio-mem: node id %d out of range", p->node_id);
		return -EINVAL;
	}
	return 0;
}

int vmem_init(struct vmem *m, const struct vmem_params *p, const struct vmem_host_ops *hops,
	      struct gmem *mem, char *err, size_t errlen)
{
	uint64_t features = 0;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = vmem_check_params(p, err, errlen);
	if (ret)
		return ret;
	/* Geometry checked: the requested-size check only needs these two. */
	m->st.block_size = p->block_size;
	m->st.region_size = p->region_size;
	ret = vmem_check_requested(m->st.block_size, m->st.region_size, p->requested_size, err,
				   errlen);
	if (ret)
		return ret;
	if (p->node_id >= 0)
		features |= 1ULL << VMEM_F_ACPI_PXM;
	if (p->unplugged_inaccessible)
		features |= 1ULL << VMEM_F_UNPLUGGED_INACCESSIBLE;
	ret = vmem_state_init(&m->st, p->addr, p->region_size, p->block_size);
	if (ret)
		goto err;
	m->st.requested_size = p->requested_size;
	m->st.usable_size = vmem_usable_for(&m->st, p->requested_size, false);
	m->hops = hops;
	m->node_id = p->node_id;
	ret = virtio_dev_init(&m->vdev, &vmem_ops, mem, features);
	if (ret)
		goto err_state;
	return 0;
err_state:
	vmem_state_free(&m->st);
err:
	snprintf(err, errlen, "virtio-mem: %s", strerror(-ret));
	return ret;
}

void vmem_destroy(struct vmem *m)
{
	virtio_dev_destroy(&m->vdev);
	vmem_state_free(&m->st);
}

int vmem_set_requested(struct vmem *m, uint64_t size, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&m->vdev.lock);
	ret = vmem_check_requested(m->st.block_size, m->st.region_size, size, err, errlen);
	if (!ret) {
		m->st.requested_size = size;
		m->st.usable_size = vmem_usable_for(&m->st, size, false);
		/* Always, even if nothing changed: the spec allows spurious ones. */
		virtio_dev_notify_config(&m->vdev);
	}
	pthread_mutex_unlock(&m->vdev.lock);
	return ret;
}

int vmem_system_reset(struct vmem *m)
{
	uint64_t before;
	int ret;

	pthread_mutex_lock(&m->vdev.lock);
	before = m->st.plugged_size;
	ret = vmem_unplug_all(m);
	if (ret)
		mv_warn("virtio-mem: unplug at system reset failed: %s", strerror(-ret));
	if (m->st.plugged_size != before && m->hops->size_changed)
		m->hops->size_changed(m);
	m->st.usable_size = vmem_usable_for(&m->st, m->st.requested_size, true);
	/* The next driver reads the config afresh; no interrupt to a rebooting guest. */
	m->vdev.config_generation++;
	pthread_mutex_unlock(&m->vdev.lock);
	return ret;
}

void vmem_get_info(struct vmem *m, struct vmem_info *out)
{
	pthread_mutex_lock(&m->vdev.lock);
	*out = m->stats;
	out->addr = m->st.addr;
	out->region_size = m->st.region_size;
	out->block_size = m->st.block_size;
	out->node_id = m->node_id;
	out->requested_size = m->st.requested_size;
	out->plugged_size = m->st.plugged_size;
	out->usable_region_size = m->st.usable_size;
	out->driver_ready = m->vdev.status & VIRTIO_STATUS_DRIVER_OK;
	pthread_mutex_unlock(&m->vdev.lock);
}
