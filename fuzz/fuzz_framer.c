/*
 * fuzz_framer: the QMP framer alone (qmp_framer_feed), as memvisor-ctl and the
 * server use it, fed a byte stream in PRNG-chosen chunks.
 *
 * Input: h[0] chunking (0: one call; else 1..2^(h[0] % 12) bytes per call,
 * sizes from a PRNG seeded by h[1]); h[2] bit0 lowers the message limit to
 * 16 + h[3] * 4 bytes (oversized messages from small inputs); the rest is
 * the stream.
 * Invariants: no crash or leak; at most one message or error per input byte;
 * every message the framer hands on is written by api_json_append as text
 * that the framer parses back into exactly one message, with no error, whose
 * text is the same (the writer never emits invalid JSON, and what the
 * framer accepts can be written).
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/buf.h"
#include "api/qmp.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct qmp_framer f;
	size_t messages, errors;
	struct api_buf last; /* text of the last message */
	bool check;	     /* round-trip each message */
};

static void fz_roundtrip(struct api_buf *text);

static void fz_message(struct qmp_framer *f, struct json_object *obj)
{
	struct fz *z = container_of(f, struct fz, f);

	z->messages++;
	api_buf_consume(&z->last, z->last.len);
	api_json_append(&z->last, obj);
	json_object_put(obj);
	if (z->check)
		fz_roundtrip(&z->last);
}

static void fz_error(struct qmp_framer *f, const char *desc)
{
	struct fz *z = container_of(f, struct fz, f);

	if (!desc[0])
		abort();
	z->errors++;
}

static const struct qmp_framer_ops fz_ops = {.message = fz_message, .error = fz_error};

/* The writer's text parses back to one message that prints the same. */
static void fz_roundtrip(struct api_buf *text)
{
	struct fz z2 = {0};

	if (text->failed)
		return;
	if (qmp_framer_init(&z2.f, &fz_ops, (size_t)-1))
		abort();
	api_buf_init(&z2.last);
	qmp_framer_feed(&z2.f, text->data, text->len);
	qmp_framer_feed(&z2.f, "\n", 1);
	if (z2.messages != 1 || z2.errors != 0)
		abort();
	if (z2.last.len != text->len || memcmp(z2.last.data, text->data, text->len))
		abort();
	qmp_framer_destroy(&z2.f);
	api_buf_free(&z2.last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed;
	size_t off = 0, max = QMP_MAX_MESSAGE;
	struct fz z = {0};

	if (size < 4)
		return 0;
	seed = data[1] * 2654435761u + 1;
	if (data[2] & 1)
		max = 16 + (size_t)data[3] * 4;
	if (qmp_framer_init(&z.f, &fz_ops, max))
		abort();
	api_buf_init(&z.last);
	z.check = true;
	data += 4;
	size -= 4;
	while (off < size) {
		size_t n = size - off;

		if (data[-4]) {
			seed = seed * 1103515245u + 12345u;
			n = MV_MIN(n, 1 + (seed >> 8) % ((size_t)1 << (data[-4] % 12)));
		}
		qmp_framer_feed(&z.f, (const char *)data + off, n);
		off += n;
	}
	if (z.messages + z.errors > size + 1)
		abort();
	qmp_framer_destroy(&z.f);
	api_buf_free(&z.last);
	return 0;
}
