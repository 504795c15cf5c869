/*
 * fuzz_qmp: the QMP input stream of one client, through the real session,
 * command table and HMP views, over a fake VM with two virtio-mem devices.
 *
 * Input: a 4-byte header, then the stream.
 *   h[0]: chunking. 0 feeds the stream in one call; otherwise each call takes
 *         1..2^(h[0] % 16) bytes, sizes drawn from a PRNG seeded by h[1], so
 *         split points vary with the input.
 *   h[2]: flags. bit0: negotiate before the stream; bit1: between chunks the
 *         fake devices move their plugged size one block toward the requested
 *         size (size-change events, rate-limited by the API); bit2: the VM
 *         refuses resizes; bit3: expand the stream (below); bit4: lower the
 *         message size limit from QMP_MAX_MESSAGE to 16 + h[3] * 8 bytes, so
 *         oversized messages and their skipping are reached by small inputs
 *         (a 1 MiB input per run would make fuzzing crawl; the unit tests
 *         cover the real limit).
 *   h[3]: with bit3, the stream A 0xff M 0xff B is fed as A, M repeated
 *         h[3] * 16 times, B: deep nesting and long strings from small
 *         inputs. Big streams are fed in at most ~FZ_MAX_FEEDS calls.
 * Invariants: never crash or leak; every reply and event is "\r\n"-ended;
 * output is bounded by the input (at most FZ_AMP bytes per input byte,
 * the largest being one error reply per byte fed one at a time) plus what
 * the fake VM's events add.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/commands.h"
#include "api/qmp.h"
#include "lib/util.h"

#define FZ_DEVS	     2
#define FZ_BLOCK     (2 * MiB)
#define FZ_AMP	     256	/* output bytes allowed per input byte */
#define FZ_SLACK     (16 * KiB) /* the greeting and replies to a short tail */
#define FZ_EXPAND    16		/* repetitions of M per unit of h[3] */
#define FZ_MAX_BYTES (4 * KiB)	/* cap on the expanded stream: keeps runs fast */
#define FZ_MAX_FEEDS 1024

enum {
	FZ_NEGOTIATE = 1 << 0,
	FZ_EVENTS = 1 << 1,
	FZ_REFUSE = 1 << 2,
	FZ_EXPAND_BIT = 1 << 3,
	FZ_SMALL_LIMIT = 1 << 4,
};

struct fz_vm {
	struct api_backend b;
	struct api_memdev_info devs[FZ_DEVS];
	bool refuse;
	int quits;
};

struct fz_client {
	struct qmp_session s;
	struct api *api;
};

static uint64_t fz_mono, fz_wall;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fz_mono_ms(void)
{
	return fz_mono;
}

static uint64_t fz_wall_us(void)
{
	return fz_wall;
}

static const struct api_clock fz_clock = {.mono_ms = fz_mono_ms, .wall_us = fz_wall_us};

static struct fz_vm *to_vm(struct api_backend *b)
{
	return container_of(b, struct fz_vm, b);
}

static int f_status(struct api_backend *b, struct api_status *out)
{
	out->status = to_vm(b)->quits ? "shutdown" : "running";
	out->running = !to_vm(b)->quits;
	return 0;
}

static void f_quit(struct api_backend *b)
{
	to_vm(b)->quits++;
}

static int f_power(struct api_backend *b)
{
	return 0;
}

static unsigned int f_count(struct api_backend *b)
{
	return FZ_DEVS;
}

static int f_info(struct api_backend *b, unsigned int idx, struct api_memdev_info *out)
{
	if (idx >= FZ_DEVS)
		abort(); /* the API asked past memdev_count */
	*out = to_vm(b)->devs[idx];
	return 0;
}

static int f_set(struct api_backend *b, const char *id, uint64_t size, char *err, size_t errlen)
{
	struct fz_vm *vm = to_vm(b);

	for (unsigned int i = 0; i < FZ_DEVS; i++) {
		struct api_memdev_info *m = &vm->devs[i];

		if (strcmp(m->id, id))
			continue;
		/* The API promised to check alignment and the bound first. */
		if (size > m->max_size || size % m->block_size)
			abort();
		if (vm->refuse) {
			snprintf(err, errlen, "device %s: guest driver not ready", id);
			return -EBUSY;
		}
		m->requested_size = size;
		return 0;
	}
	abort(); /* the API resolved an id that no device has */
}

static int f_summary(struct api_backend *b, struct api_memory_summary *out)
{
	struct fz_vm *vm = to_vm(b);

	out->base = 512 * MiB;
	out->plugged = vm->devs[0].size + vm->devs[1].size;
	out->has_plugged = true;
	return 0;
}

static int f_hmp(struct api_backend *b, const char *what, FILE *out)
{
	if (strcmp(what, "numa"))
		return -ENOENT;
	fprintf(out, "1 nodes\nnode 0 cpus: 0\nnode 0 size: 512 MB\n");
	return 0;
}

static const struct api_backend_ops fz_ops = {
    .query_status = f_status,
    .quit = f_quit,
    .powerdown = f_power,
    .reset = f_power,
    .memdev_count = f_count,
    .memdev_info = f_info,
    .memdev_set_requested = f_set,
    .memory_summary = f_summary,
    .hmp_info = f_hmp,
};

static struct json_object *fz_execute(struct qmp_session *s, const char *name,
				      struct json_object *args, struct qmp_error *err)
{
	return api_execute(container_of(s, struct fz_client, s)->api, name, args, err);
}

static const struct qmp_session_ops fz_session_ops = {.execute = fz_execute};

static void fz_vm_init(struct fz_vm *vm, bool refuse)
{
	static const char *const ids[FZ_DEVS] = {"vm0", "vm1"};

	memset(vm, 0, sizeof(*vm));
	vm->b.ops = &fz_ops;
	vm->refuse = refuse;
	for (unsigned int i = 0; i < FZ_DEVS; i++) {
		struct api_memdev_info *m = &vm->devs[i];

		snprintf(m->id, sizeof(m->id), "%s", ids[i]);
		snprintf(m->memdev, sizeof(m->memdev), "/objects/mem%u", i);
		m->memaddr = 4 * GiB + i * 4 * GiB;
		m->block_size = FZ_BLOCK;
		m->max_size = 4 * GiB;
		m->requested_size = 128 * MiB;
		m->node = i;
		m->driver_ready = true;
	}
}

/* One block toward the requested size per device, as a guest driver would. */
static void fz_vm_step(struct fz_vm *vm, struct api *api)
{
	for (unsigned int i = 0; i < FZ_DEVS; i++) {
		struct api_memdev_info *m = &vm->devs[i];

		if (m->size == m->requested_size)
			continue;
		m->size += m->size < m->requested_size ? FZ_BLOCK : -FZ_BLOCK;
		api_memdev_size_changed(api, m->id, m->size);
	}
}

/* Builds the stream: the body itself, or A + M * reps + B when expanding. */
static char *fz_stream(const uint8_t *body, size_t n, bool expand, size_t reps, size_t *len)
{
	const uint8_t *m1 = expand ? memchr(body, 0xff, n) : NULL;
	const uint8_t *m2 = m1 ? memchr(m1 + 1, 0xff, n - (m1 + 1 - body)) : NULL;
	size_t a, mid, b, i;
	char *s;

	if (!m2) {
		*len = n;
		s = malloc(n ? n : 1);
		if (s)
			memcpy(s, body, n);
		return s;
	}
	a = m1 - body;
	mid = m2 - m1 - 1;
	b = n - (m2 + 1 - body);
	if (mid)
		reps = MV_MIN(reps, FZ_MAX_BYTES / mid);
	*len = a + reps * mid + b;
	s = malloc(*len ? *len : 1);
	if (!s)
		return NULL;
	memcpy(s, body, a);
	for (i = 0; i < reps; i++)
		memcpy(s + a + i * mid, m1 + 1, mid);
	memcpy(s + a + reps * mid, m2 + 1, b);
	return s;
}

/* Takes what the session wrote, as the server would; checks its framing. */
static size_t fz_drain(struct qmp_session *s)
{
	size_t n = s->out.len;

	if (s->out.failed)
		abort();
	if (n && (n < 2 || memcmp(s->out.data + n - 2, "\r\n", 2)))
		abort();
	api_buf_consume(&s->out, n);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_vm vm;
	static struct fz_client c;
	static struct api api;
	size_t len, off = 0, out = 0, events = 0, chunk_max;
	uint32_t rng;
	uint8_t flags;
	char *stream;

	if (size < 4)
		return 0;
	flags = data[2];
	chunk_max = data[0] ? (size_t)1 << (data[0] % 16) : SIZE_MAX;
	rng = 0x9e3779b9u ^ data[1];
	stream = fz_stream(data + 4, size - 4, flags & FZ_EXPAND_BIT, data[3] * FZ_EXPAND, &len);
	if (!stream)
		return 0;
	if (chunk_max != SIZE_MAX)
		chunk_max = MV_MAX(chunk_max, len / (FZ_MAX_FEEDS / 2));
	fz_mono = 1000;
	fz_wall = 1795424310533093ULL;
	fz_vm_init(&vm, flags & FZ_REFUSE);
	if (api_init(&api, &vm.b, NULL))
		abort();
	api.clock = &fz_clock;
	c.api = &api;
	if (qmp_session_init(&c.s, &fz_session_ops, API_PACKAGE))
		abort();
	if (flags & FZ_SMALL_LIMIT)
		c.s.framer.max = 16 + data[3] * 8;
	api_attach(&api, &c.s);
	if (flags & FZ_NEGOTIATE)
		qmp_session_feed(&c.s, "{\"execute\": \"qmp_capabilities\"}", 31);
	out += fz_drain(&c.s);
	while (off < len) {
		size_t n = MV_MIN(len - off, chunk_max);

		if (chunk_max != SIZE_MAX) {
			rng ^= rng << 13;
			rng ^= rng >> 17;
			rng ^= rng << 5;
			n = MV_MIN(n, 1 + rng % chunk_max);
		}
		qmp_session_feed(&c.s, stream + off, n);
		off += n;
		out += fz_drain(&c.s);
		if (flags & FZ_EVENTS) {
			fz_mono += 300;
			fz_wall += 300000;
			fz_vm_step(&vm, &api);
			api_events_tick(&api);
			events += fz_drain(&c.s);
		}
		if (out > FZ_SLACK + off * FZ_AMP)
			abort();
	}
	/* Events are bounded by the steps taken: one per device per chunk. */
	if (events > (len + 1) * FZ_DEVS * 512)
		abort();
	api_detach(&api, &c.s);
	qmp_session_destroy(&c.s);
	api_destroy(&api);
	free(stream);
	return 0;
}
