/*
 * qmp: QEMU's QMP wire protocol as a pure layer: bytes in, bytes out, no
 * sockets and no VM. A session is fed whatever a read() returned and appends
 * its replies and events to `out`; the owner writes `out` to the peer.
 *
 * Framing. QMP is a stream of JSON texts, not of lines: one read may hold a
 * fraction of a message or several, with any whitespace between them. Parsing
 * uses json-c's incremental tokener.
 *  - Malformed JSON gets one GenericError reply ("JSON parse error, <why>");
 *    the rest of the offending line is discarded (up to and including the next
 *    '\n', or to the end of the bytes handed to that feed call if no newline
 *    follows, so a client that never sends newlines is not stalled), then
 *    parsing starts afresh. The session stays usable.
 *  - What QEMU 7.2's parser refuses but json-c accepts is refused with one
 *    GenericError "JSON parse error, <why>" reply (the message is dropped, the
 *    session stays usable): NaN and Infinity (QEMU's lexer has no such
 *    tokens; so are numbers beyond a double, which json-c turns into
 *    Infinity), invalid UTF-8 in strings and keys (overlong forms such as
 *    c0 80, surrogates), raw control characters in strings. Two choices of
 *    memvisor's own, where QEMU would give the client something other than
 *    what it sent: "\u0000" in a string or key is refused (QEMU keeps it as
 *    modified UTF-8, c0 80; json-c would cut a key there, and every consumer
 *    here takes C strings), and an integer outside [-2^63, 2^64-1] is refused
 *    ("integer out of range": QEMU turns it into a double, losing digits, and
 *    json-c would clamp it). Numbers written with a fraction or exponent are
 *    doubles of any size, as in QEMU. Duplicate keys (QEMU: "duplicate key")
 *    are not detected: json-c keeps the last one.
 *  - A message larger than QMP_MAX_MESSAGE bytes gets one GenericError reply;
 *    the rest of it is skipped by bracket/string matching up to the end of
 *    that JSON value, and the connection is kept.
 *
 * Protocol. The greeting is sent at init. Until qmp_capabilities succeeds
 * every other command fails with CommandNotFound "Expecting capabilities
 * negotiation with 'qmp_capabilities'" and no events are delivered. "id" is
 * echoed verbatim (any JSON type) in replies, errors included, as QEMU does.
 * Request members other than execute/arguments/id are refused with QEMU's
 * texts. Lines end with "\r\n" as QEMU's do.
 *
 * Version. The greeting and query-version report the qemu triple
 * QMP_QEMU_{MAJOR,MINOR,MICRO} = 7.2.0, the QEMU release whose QMP behaviour
 * memvisor reproduces (clients such as libvirt gate features on this triple),
 * and "package": "memvisor <version>" so a human can tell who answers.
 */
#ifndef MV_API_QMP_H
#define MV_API_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/buf.h"

struct json_object;
struct json_tokener;

#define QMP_MAX_MESSAGE (1u << 20)
#define QMP_QEMU_MAJOR	7
#define QMP_QEMU_MINOR	2
#define QMP_QEMU_MICRO	0

/* QEMU's error classes (qapi/error.json). */
#define QMP_ERR_GENERIC	       "GenericError"
#define QMP_ERR_CMD_NOT_FOUND  "CommandNotFound"
#define QMP_ERR_DEV_NOT_FOUND  "DeviceNotFound"
#define QMP_ERR_DEV_NOT_ACTIVE "DeviceNotActive"

struct qmp_error {
	const char *cls; /* NULL: no error */
	char desc[256];
};

void qmp_error_set(struct qmp_error *e, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Brace/bracket/string tracker run over every byte of a message, so an
 * oversized message can be skipped to its end without parsing it.
 */
struct qmp_scan {
	unsigned int depth;
	bool started; /* a non-whitespace byte was seen */
	bool in_str;
	char quote; /* '"', or '\'' (json-c and QEMU take single-quoted strings too) */
	bool esc;
	bool scalar; /* the value is a bare literal/number */
	/* What json-c accepts silently and QMP refuses (see Framing above). */
	unsigned int hex_left; /* hex digits still to come in a \uXXXX escape */
	unsigned int hex_val;
	bool in_num;	   /* inside a number token */
	bool num_neg;	   /* it began with '-' */
	bool num_float;	   /* it has a fraction or an exponent */
	unsigned int ndig; /* significant digits kept in dig (leading zeros dropped) */
	char dig[21];	   /* enough for 2^64 - 1 and one more to tell it is too big */
	bool bad_nul;	   /* a \u0000 escape */
	bool bad_ctrl;	   /* a raw byte below 0x20 in a string */
	bool bad_int;	   /* an integer outside [-2^63, 2^64-1] */
};

void qmp_scan_reset(struct qmp_scan *sc);
/* Feeds one byte; true when that byte completed a top-level JSON value. */
bool qmp_scan_byte(struct qmp_scan *sc, char c);
/*
 * Checks a parsed value against the scan of its bytes (call once the value
 * is complete): 0, or -EINVAL with the QMP error text in desc.
 */
int qmp_check_value(struct qmp_scan *sc, struct json_object *obj, char *desc, size_t len);

/*
 * Incremental framer: turns a byte stream into JSON values. Shared by the
 * server session and the memvisor-ctl client.
 */
struct qmp_framer;
struct qmp_framer_ops {
	/* A complete JSON value; ownership of obj passes to the callee. */
	void (*message)(struct qmp_framer *f, struct json_object *obj);
	/* A framing error: desc is the QMP error text to report. */
	void (*error)(struct qmp_framer *f, const char *desc);
};

enum qmp_skip {
	QMP_SKIP_NONE,
	QMP_SKIP_LINE,	/* after a parse error: to the next '\n' */
	QMP_SKIP_VALUE, /* after an oversized message: to the end of the value */
};

struct qmp_framer {
	const struct qmp_framer_ops *ops;
	struct json_tokener *tok;
	struct qmp_scan scan;
	size_t msg_bytes; /* bytes of the current message since its first non-space */
	size_t max;
	enum qmp_skip skip;
};

int qmp_framer_init(struct qmp_framer *f, const struct qmp_framer_ops *ops, size_t max);
void qmp_framer_destroy(struct qmp_framer *f);
void qmp_framer_feed(struct qmp_framer *f, const char *buf, size_t len);

/* A server-side QMP session. */
struct qmp_session;
struct qmp_session_ops {
	/*
	 * Runs command `name` after negotiation (never qmp_capabilities). args
	 * is the request's "arguments" object or an empty object. Returns the
	 * "return" value (a new reference) or NULL with err set.
	 */
	struct json_object *(*execute)(struct qmp_session *s, const char *name,
				       struct json_object *args, struct qmp_error *err);
	/* Output was appended to s->out (optional): the owner should flush it. */
	void (*kick)(struct qmp_session *s);
};

struct qmp_session {
	const struct qmp_session_ops *ops;
	struct qmp_framer framer;
	bool negotiated;
	struct api_buf out;
	struct qmp_session *next; /* the API's broadcast list, owned there */
};

/* Appends the greeting to s->out. package: e.g. "memvisor 0.1". */
int qmp_session_init(struct qmp_session *s, const struct qmp_session_ops *ops, const char *package);
void qmp_session_destroy(struct qmp_session *s);
void qmp_session_feed(struct qmp_session *s, const char *buf, size_t len);
/*
 * Queues an event if the session has negotiated. data may be NULL (no "data"
 * member, as QEMU's POWERDOWN); wall_us is the event's wall-clock time.
 */
void qmp_session_event(struct qmp_session *s, const char *name, struct json_object *data,
		       uint64_t wall_us);

/* {"qemu": {"micro": .., "minor": .., "major": ..}, "package": package} */
struct json_object *qmp_version_info(const char *package);

#endif
