/*
 * memvisor-ctl: a small QMP client shipped with memvisor (static, runs inside
 * a busybox initramfs). It speaks to --api-socket like any QMP client and
 * knows memvisor's extra query-memory-devices fields, so a resize that does
 * not complete is explained rather than just timed out.
 *
 * Exit codes: 0 ok, 1 QMP error (class and desc printed), 2 usage,
 * 3 connection failure, 4 resize target not reached before --timeout.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/buf.h"
#include "api/ctl.h"
#include "api/qmp.h"
#include "lib/util.h"
#include "lib/size.h"

enum {
	EXIT_OK = 0,
	EXIT_QMP = 1,
	EXIT_USAGE = 2,
	EXIT_CONN = 3,
	EXIT_TIMEOUT = 4,
};

#define CTL_REPLY_TIMEOUT_MS	30000
#define CTL_SNAPSHOT_TIMEOUT_MS (3600 * 1000)

static const char ctl_usage[] =
    "usage: memvisor-ctl --socket PATH COMMAND [ARGS]\n"
    "       memvisor-ctl --socket PATH --json 'RAW-QMP-COMMAND'\n"
    "\n"
    "Commands:\n"
    "  status                         print the VM run state\n"
    "  info balloon|memory-devices|memory_size_summary|numa|ramblock|mtree\n"
    "                                 print the HMP view, as QEMU's 'info' prints it\n"
    "  query NAME                     run QMP command NAME, print its return as JSON\n"
    "  resize [--id DEV] SIZE [--wait] [--timeout SECONDS] [--spread]\n"
    "                                 with --id: set DEV's requested-size to SIZE;\n"
    "                                 without: SIZE is the total guest memory (boot RAM\n"
    "                                 included), as Cloud Hypervisor's resize; with several\n"
    "                                 devices --spread shares it in proportion to max-size;\n"
    "                                 with no virtio-mem device, by ACPI DIMMs (one added\n"
    "                                 of the difference, or the newest ones removed).\n"
    "                                 --wait prints progress until plugged (default timeout\n"
    "                                 60 s) and explains a stall\n"
    "  balloon SIZE                   ask the balloon for a guest of SIZE (QEMU's balloon)\n"
    "  powerdown | reset | quit       ACPI power button, system reset, stop memvisor\n"
    "  pause | resume                 QMP stop and cont: vCPUs and device queues paused\n"
    "  snapshot [--live] file:///PATH the VM into one file (paused meanwhile; --live:\n"
    "                                 memory copied while it runs, paused for the last\n"
    "                                 pass); prints the pause; exits 0 once the file is\n"
    "                                 complete and durable\n"
    "  autoscale [--json]             the --autoscale policy, its current signals and its\n"
    "                                 last decisions (QMP x-query-autoscale)\n"
    "  autoscale resume [DEV]         resume the policy for DEV (default: every device)\n"
    "                                 after a hand-set requested-size paused it\n"
    "  events [--count N] [--timeout SECONDS]\n"
    "                                 print QMP events as JSON lines as they arrive\n"
    "\n"
    "--json sends RAW after capabilities negotiation and prints the reply line.\n"
    "SIZE takes K, M, G, T suffixes (binary). Exit codes: 0 ok, 1 QMP error,\n"
    "2 usage, 3 connection failure, 4 resize not reached before the timeout.\n";

struct ctl_conn {
	int fd;
	struct qmp_framer fr;
	struct json_object *queue; /* messages read but not yet consumed */
	bool broken;
	int next_id;
};

static void ctl_msg(struct qmp_framer *f, struct json_object *obj)
{
	struct ctl_conn *c = container_of(f, struct ctl_conn, fr);

	json_object_array_add(c->queue, obj);
}

static void ctl_frame_error(struct qmp_framer *f, const char *desc)
{
	struct ctl_conn *c = container_of(f, struct ctl_conn, fr);

	fprintf(stderr, "memvisor-ctl: unreadable reply from the server: %s\n", desc);
	c->broken = true;
}

static const struct qmp_framer_ops ctl_framer_ops = {
    .message = ctl_msg,
    .error = ctl_frame_error,
};

static uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The next message (reply or event), or NULL on timeout or a dead connection. */
static struct json_object *ctl_next(struct ctl_conn *c, int timeout_ms)
{
	uint64_t end = ctl_now_ms() + (uint64_t)timeout_ms;
	struct json_object *o;
	char buf[65536];
	ssize_t n;

	while (!json_object_array_length(c->queue)) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		uint64_t now = ctl_now_ms();

		if (c->broken || now >= end)
			return NULL;
		if (poll(&p, 1, (int)(end - now)) < 0 && errno != EINTR)
			return NULL;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->broken = true;
			return NULL;
		}
		qmp_framer_feed(&c->fr, buf, (size_t)n);
	}
	o = json_object_get(json_object_array_get_idx(c->queue, 0));
	json_object_array_del_idx(c->queue, 0, 1);
	return o;
}

static int ctl_send(struct ctl_conn *c, const char *text)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;

	while (off < len) {
		n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/* Events seen while waiting for a reply are dropped; `resize --wait` polls. */
static struct json_object *ctl_call_within(struct ctl_conn *c, const char *name,
					   struct json_object *args, int timeout_ms)
{
	struct json_object *req = json_object_new_object(), *msg, *id;
	struct api_buf text;
	int my_id = ++c->next_id, ret;

	json_object_object_add(req, "execute", json_object_new_string(name));
	if (args)
		json_object_object_add(req, "arguments", args);
	json_object_object_add(req, "id", json_object_new_int(my_id));
	api_buf_init(&text);
	api_json_append(&text, req);
	api_buf_puts(&text, "\n");
	json_object_put(req);
	ret = ctl_send(c, api_buf_str(&text));
	api_buf_free(&text);
	if (ret)
		return NULL;
	while ((msg = ctl_next(c, timeout_ms))) {
		if (json_object_object_get_ex(msg, "id", &id) && json_object_get_int(id) == my_id)
			return msg;
		json_object_put(msg);
	}
	return NULL;
}

static struct json_object *ctl_call(struct ctl_conn *c, const char *name, struct json_object *args)
{
	return ctl_call_within(c, name, args, CTL_REPLY_TIMEOUT_MS);
}

static int ctl_connect(struct ctl_conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct json_object *m;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->queue = json_object_new_array();
	if (qmp_framer_init(&c->fr, &ctl_framer_ops, 64u << 20))
		return -ENOMEM;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "memvisor-ctl: --socket %s: path too long\n", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "memvisor-ctl: --socket %s: %s\n", path, strerror(errno));
		return -errno;
	}
	m = ctl_next(c, CTL_REPLY_TIMEOUT_MS);
	if (!m || !json_object_object_get_ex(m, "QMP", NULL)) {
		fprintf(stderr, "memvisor-ctl: --socket %s: no QMP greeting\n", path);
		json_object_put(m);
		return -EPROTO;
	}
	json_object_put(m);
	m = ctl_call(c, "qmp_capabilities", NULL);
	if (!m || !json_object_object_get_ex(m, "return", NULL)) {
		fprintf(stderr, "memvisor-ctl: --socket %s: capabilities negotiation failed\n",
			path);
		json_object_put(m);
		return -EPROTO;
	}
	json_object_put(m);
	return 0;
}

static void ctl_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	qmp_framer_destroy(&c->fr);
	json_object_put(c->queue);
}

/* Returns the "return" member (borrowed from *reply) or NULL after printing why. */
static struct json_object *ctl_result(struct json_object *reply, int *rc)
{
	struct json_object *ret, *err, *cls, *desc;

	if (!reply) {
		fprintf(stderr, "memvisor-ctl: no reply (connection lost or timed out)\n");
		*rc = EXIT_CONN;
		return NULL;
	}
	if (json_object_object_get_ex(reply, "return", &ret)) {
		*rc = EXIT_OK;
		return ret ? ret : reply; /* "return": null is still a success */
	}
	json_object_object_get_ex(reply, "error", &err);
	json_object_object_get_ex(err, "class", &cls);
	json_object_object_get_ex(err, "desc", &desc);
	fprintf(stderr, "memvisor-ctl: %s: %s\n", cls ? json_object_get_string(cls) : "Error",
		desc ? json_object_get_string(desc) : "(no description)");
	*rc = EXIT_QMP;
	return NULL;
}

static int ctl_simple(struct ctl_conn *c, const char *name)
{
	struct json_object *reply = ctl_call(c, name, NULL);
	int rc;

	ctl_result(reply, &rc);
	json_object_put(reply);
	return rc;
}

static int ctl_balloon(struct ctl_conn *c, int argc, char **argv)
{
	struct json_object *args, *reply;
	char err[256];
	uint64_t size;
	int rc;

	if (ctl_parse_balloon(argc, argv, &size, err, sizeof(err))) {
		fprintf(stderr, "memvisor-ctl: %s\n", err);
		return EXIT_USAGE;
	}
	args = json_object_new_object();
	json_object_object_add(args, "value", json_object_new_int64((int64_t)size));
	reply = ctl_call(c, "balloon", args);
	ctl_result(reply, &rc);
	json_object_put(reply);
	return rc;
}

/*
 * x-snapshot: the reply comes when the file is complete and durable, so
 * wait long enough; then one line with the pause.
 */
static int ctl_snapshot(struct ctl_conn *c, int argc, char **argv)
{
	struct json_object *args, *reply, *ret, *pause, *passes;
	bool live = argc == 2 && !strcmp(argv[0], "--live");
	int rc;

	if (argc != 1 && !live) {
		fprintf(stderr, "memvisor-ctl: snapshot: want [--live] file:///PATH\n");
		return EXIT_USAGE;
	}
	args = json_object_new_object();
	json_object_object_add(args, "url", json_object_new_string(argv[argc - 1]));
	if (live)
		json_object_object_add(args, "live", json_object_new_boolean(1));
	reply = ctl_call_within(c, "x-snapshot", args, CTL_SNAPSHOT_TIMEOUT_MS);
	ret = ctl_result(reply, &rc);
	if (ret && json_object_object_get_ex(ret, "x-pause-ms", &pause) &&
	    json_object_object_get_ex(ret, "x-passes", &passes))
		printf("snapshot %s: paused %.3f ms, %d pass%s over memory\n", argv[argc - 1],
		       json_object_get_double(pause), json_object_get_int(passes),
		       json_object_get_int(passes) == 1 ? "" : "es");
	json_object_put(reply);
	return rc;
}

static void ctl_print_json(struct json_object *o)
{
	struct api_buf b;

	api_buf_init(&b);
	api_json_append(&b, o);
	printf("%s\n", api_buf_str(&b));
	api_buf_free(&b);
}

static int ctl_query(struct ctl_conn *c, const char *name)
{
	struct json_object *reply = ctl_call(c, name, NULL), *ret;
	int rc;

	ret = ctl_result(reply, &rc);
	if (ret)
		ctl_print_json(ret);
	json_object_put(reply);
	return rc;
}

static uint64_t js_u64(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

static const char *js_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static void ctl_print_decision(struct json_object *d)
{
	printf("  %" PRId64 " %-6s total %" PRIu64 "M available %" PRIu64 "M -> %" PRIu64 "M: %s\n",
	       (int64_t)js_u64(d, "time"), js_str(d, "decision"), js_u64(d, "total") >> 20,
	       js_u64(d, "available") >> 20, js_u64(d, "target") >> 20, js_str(d, "reason"));
}

/* autoscale [--json] | autoscale resume [DEV] */
static int ctl_autoscale(struct ctl_conn *c, int argc, char **argv)
{
	struct json_object *reply, *ret, *p, *s, *list, *paused, *cur;
	int rc;

	if (argc >= 1 && !strcmp(argv[0], "resume")) {
		struct json_object *args = NULL;

		if (argc > 2) {
			fprintf(stderr, "memvisor-ctl: autoscale resume: want at most one DEV\n");
			return EXIT_USAGE;
		}
		if (argc == 2) {
			args = json_object_new_object();
			json_object_object_add(args, "id", json_object_new_string(argv[1]));
		}
		reply = ctl_call(c, "x-autoscale-resume", args);
		ctl_result(reply, &rc);
		json_object_put(reply);
		return rc;
	}
	if (argc == 1 && !strcmp(argv[0], "--json"))
		return ctl_query(c, "x-query-autoscale");
	if (argc) {
		fprintf(stderr, "memvisor-ctl: autoscale: want [--json] or resume [DEV]\n");
		return EXIT_USAGE;
	}
	reply = ctl_call(c, "x-query-autoscale", NULL);
	ret = ctl_result(reply, &rc);
	if (ret) {
		json_object_object_get_ex(ret, "policy", &p);
		json_object_object_get_ex(ret, "signals", &s);
		json_object_object_get_ex(ret, "decisions", &list);
		json_object_object_get_ex(ret, "paused", &paused);
		json_object_object_get_ex(ret, "current", &cur);
		printf("policy: min %" PRIu64 "M max %" PRIu64 "M low %" PRIu64 "%% high %" PRIu64
		       "%% up_step %" PRIu64 "M down_delay %" PRIu64 "s\n",
		       js_u64(p, "min") >> 20, js_u64(p, "max") >> 20, js_u64(p, "low"),
		       js_u64(p, "high"), js_u64(p, "up-step") >> 20, js_u64(p, "down-delay"));
		printf("paused: ");
		for (size_t i = 0; paused && i < json_object_array_length(paused); i++)
			printf("%s%s", i ? " " : "",
			       json_object_get_string(json_object_array_get_idx(paused, i)));
		printf("%s\n", paused && json_object_array_length(paused) ? "" : "none");
		printf("signals: total %" PRIu64 "M available %" PRIu64 "M free %" PRIu64
		       "M caches %" PRIu64 "M major-faults %" PRIu64 " swap-in %" PRIu64
		       " swap-out %" PRIu64 "%s\n",
		       js_u64(s, "total") >> 20, js_u64(s, "available") >> 20,
		       js_u64(s, "free") >> 20, js_u64(s, "caches") >> 20,
		       js_u64(s, "major-faults"), js_u64(s, "swap-in"), js_u64(s, "swap-out"),
		       json_object_get_boolean(json_object_object_get(s, "resizing"))
			   ? " (resizing)"
			   : "");
		printf("now:\n");
		if (cur)
			ctl_print_decision(cur);
		printf("last decisions:\n");
		for (size_t i = 0; list && i < json_object_array_length(list); i++)
			ctl_print_decision(json_object_array_get_idx(list, i));
	}
	json_object_put(reply);
	return rc;
}

static int ctl_status(struct ctl_conn *c)
{
	struct json_object *reply = ctl_call(c, "query-status", NULL), *ret, *st;
	int rc;

	ret = ctl_result(reply, &rc);
	if (ret && json_object_object_get_ex(ret, "status", &st))
		printf("%s\n", json_object_get_string(st));
	json_object_put(reply);
	return rc;
}

static int ctl_info(struct ctl_conn *c, const char *what)
{
	struct json_object *args = json_object_new_object(), *reply, *ret;
	char line[128];
	const char *s;
	int rc;

	snprintf(line, sizeof(line), "info %s", what);
	json_object_object_add(args, "command-line", json_object_new_string(line));
	reply = ctl_call(c, "human-monitor-command", args);
	ret = ctl_result(reply, &rc);
	if (ret) {
		s = json_object_get_string(ret);
		if (!strncmp(s, "unknown command:", 16) || !strncmp(s, "Error:", 6))
			rc = EXIT_QMP;
		for (; *s; s++)
			if (*s != '\r')
				fputc(*s, rc ? stderr : stdout);
	}
	json_object_put(reply);
	return rc;
}

static int ctl_raw(struct ctl_conn *c, const char *raw)
{
	struct json_object *msg;
	int ret;

	ret = ctl_send(c, raw);
	if (!ret)
		ret = ctl_send(c, "\n");
	if (ret) {
		fprintf(stderr, "memvisor-ctl: send: %s\n", strerror(-ret));
		return EXIT_CONN;
	}
	while ((msg = ctl_next(c, CTL_REPLY_TIMEOUT_MS))) {
		if (!json_object_object_get_ex(msg, "event", NULL)) {
			ctl_print_json(msg);
			ret = json_object_object_get_ex(msg, "error", NULL) ? EXIT_QMP : EXIT_OK;
			json_object_put(msg);
			return ret;
		}
		json_object_put(msg);
	}
	fprintf(stderr, "memvisor-ctl: no reply (connection lost or timed out)\n");
	return EXIT_CONN;
}

/* Reads every device; returns how many (at most max) or -1 after printing why. */
static int ctl_devices(struct ctl_conn *c, struct ctl_memdev *devs, int max, int *rc)
{
	struct json_object *reply = ctl_call(c, "query-memory-devices", NULL), *ret;
	int n;

	ret = ctl_result(reply, rc);
	if (!ret) {
		json_object_put(reply);
		return -1;
	}
	n = ctl_memdevs_from_list(ret, devs, max);
	json_object_put(reply);
	return n;
}

static int ctl_set_requested(struct ctl_conn *c, const char *id, uint64_t size)
{
	struct json_object *args = json_object_new_object(), *reply;
	int rc;

	json_object_object_add(args, "path", json_object_new_string(id));
	json_object_object_add(args, "property", json_object_new_string("requested-size"));
	json_object_object_add(args, "value", json_object_new_uint64(size));
	reply = ctl_call(c, "qom-set", args);
	ctl_result(reply, &rc);
	json_object_put(reply);
	return rc;
}

/* Base plus plugged memory from query-memory-size-summary; 0 or an exit code. */
static int ctl_total(struct ctl_conn *c, uint64_t *total)
{
	struct json_object *reply = ctl_call(c, "query-memory-size-summary", NULL), *ret, *v;
	int rc;

	*total = 0;
	ret = ctl_result(reply, &rc);
	if (ret && json_object_object_get_ex(ret, "base-memory", &v))
		*total += json_object_get_uint64(v);
	if (ret && json_object_object_get_ex(ret, "plugged-memory", &v))
		*total += json_object_get_uint64(v);
	json_object_put(reply);
	return rc;
}

/*
 * A VM without virtio-mem devices resizes by ACPI DIMMs: memvisor's x-resize
 * adds one DIMM of the difference or removes the newest hot-added DIMMs;
 * --wait polls until the guest holds exactly the target (shrinking waits
 * for the guest's ejects).
 */
static int ctl_resize_dimms(struct ctl_conn *c, const struct ctl_resize *r)
{
	struct json_object *args = json_object_new_object(), *reply, *ev;
	uint64_t total, last = UINT64_MAX, deadline;
	char a[32], b[32];
	int rc;

	json_object_object_add(args, "size", json_object_new_uint64(r->size));
	reply = ctl_call(c, "x-resize", args);
	ctl_result(reply, &rc);
	json_object_put(reply);
	if (rc || !r->wait)
		return rc;
	deadline = ctl_now_ms() + (uint64_t)r->timeout_s * 1000;
	mv_size_format(r->size, b, sizeof(b));
	for (;;) {
		rc = ctl_total(c, &total);
		if (rc)
			return rc;
		if (total != last) {
			mv_size_format(total, a, sizeof(a));
			printf("memory: %s/%s\n", a, b);
			fflush(stdout);
			last = total;
		}
		if (total == r->size)
			return EXIT_OK;
		if (ctl_now_ms() >= deadline)
			break;
		ev = ctl_next(c, 500);
		json_object_put(ev);
		if (c->broken) {
			fprintf(stderr, "memvisor-ctl: connection lost while waiting\n");
			return EXIT_CONN;
		}
	}
	fprintf(stderr,
		"memvisor-ctl: memory %s/%s after %u s (a refused eject shows in "
		"query-acpi-ospm-status)\n",
		a, b, r->timeout_s);
	return EXIT_TIMEOUT;
}

static int ctl_resize(struct ctl_conn *c, int argc, char **argv)
{
	static struct ctl_memdev devs[API_MAX_MEMDEVS];
	uint64_t req[API_MAX_MEMDEVS], last[API_MAX_MEMDEVS], base = 0, deadline;
	bool target[API_MAX_MEMDEVS] = {false}, done;
	struct json_object *reply, *ret, *v, *ev;
	struct ctl_resize r = {0};
	char err[256], a[32], b[32];
	int n, i, rc, found = 0;

	if (ctl_parse_resize(argc, argv, &r, err, sizeof(err))) {
		fprintf(stderr, "memvisor-ctl: %s\n", err);
		return EXIT_USAGE;
	}
	n = ctl_devices(c, devs, API_MAX_MEMDEVS, &rc);
	if (n < 0)
		return rc;
	if (r.id) {
		for (i = 0; i < n; i++) {
			if (!strcmp(devs[i].info.id, r.id)) {
				req[i] = r.size;
				target[i] = true;
				found = 1;
			}
		}
		if (!found) /* let the server word the error */
			return ctl_set_requested(c, r.id, r.size);
	} else if (n == 0) {
		return ctl_resize_dimms(c, &r);
	} else {
		reply = ctl_call(c, "query-memory-size-summary", NULL);
		ret = ctl_result(reply, &rc);
		if (ret && json_object_object_get_ex(ret, "base-memory", &v))
			base = json_object_get_uint64(v);
		json_object_put(reply);
		if (rc)
			return rc;
		if (ctl_plan_resize(devs, (size_t)n, base, r.size, r.spread, req, err,
				    sizeof(err))) {
			fprintf(stderr, "memvisor-ctl: %s\n", err);
			return EXIT_USAGE;
		}
		for (i = 0; i < n; i++)
			target[i] = true;
	}
	for (i = 0; i < n; i++) {
		if (!target[i])
			continue;
		rc = ctl_set_requested(c, devs[i].info.id, req[i]);
		if (rc)
			return rc;
		last[i] = UINT64_MAX;
	}
	if (!r.wait)
		return EXIT_OK;
	deadline = ctl_now_ms() + (uint64_t)r.timeout_s * 1000;
	for (;;) {
		n = ctl_devices(c, devs, API_MAX_MEMDEVS, &rc);
		if (n < 0)
			return rc;
		done = true;
		for (i = 0; i < n; i++) {
			if (!target[i])
				continue;
			if (devs[i].info.size != last[i]) {
				mv_size_format(devs[i].info.size, a, sizeof(a));
				mv_size_format(req[i], b, sizeof(b));
				printf("%s: %s/%s plugged\n", devs[i].info.id, a, b);
				fflush(stdout);
				last[i] = devs[i].info.size;
			}
			done = done && devs[i].info.size == req[i];
		}
		if (done)
			return EXIT_OK;
		if (ctl_now_ms() >= deadline)
			break;
		/* A size-change event ends the nap early; otherwise poll twice a second. */
		ev = ctl_next(c, 500);
		json_object_put(ev);
		if (c->broken) {
			fprintf(stderr, "memvisor-ctl: connection lost while waiting\n");
			return EXIT_CONN;
		}
	}
	for (i = 0; i < n; i++) {
		if (!target[i] || devs[i].info.size == req[i])
			continue;
		mv_size_format(devs[i].info.size, a, sizeof(a));
		mv_size_format(req[i], b, sizeof(b));
		ctl_diagnose(&devs[i], req[i], err, sizeof(err));
		fprintf(stderr, "memvisor-ctl: %s: %s/%s plugged after %u s: %s\n", devs[i].info.id,
			a, b, r.timeout_s, err);
	}
	return EXIT_TIMEOUT;
}

/* Prints events as JSON lines until `count` arrived (0: forever) or the timeout passed. */
static int ctl_events(struct ctl_conn *c, int argc, char **argv)
{
	struct ctl_events e;
	unsigned int seen = 0;
	char err[256];
	uint64_t end;

	if (ctl_parse_events(argc, argv, &e, err, sizeof(err))) {
		fprintf(stderr, "memvisor-ctl: %s\n", err);
		return EXIT_USAGE;
	}
	end = e.timeout_s ? ctl_now_ms() + (uint64_t)e.timeout_s * 1000 : UINT64_MAX;
	while (!e.count || seen < e.count) {
		uint64_t now = ctl_now_ms();
		struct json_object *m;
		struct api_buf text;

		if (now >= end)
			return EXIT_TIMEOUT;
		m = ctl_next(c, (int)MV_MIN(end - now, 1000));
		if (!m) {
			if (c->broken)
				return EXIT_CONN;
			continue;
		}
		if (json_object_object_get_ex(m, "event", NULL)) {
			api_buf_init(&text);
			api_json_append(&text, m);
			printf("%s\n", api_buf_str(&text));
			fflush(stdout);
			api_buf_free(&text);
			seen++;
		}
		json_object_put(m);
	}
	return EXIT_OK;
}

static int ctl_dispatch(struct ctl_conn *c, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "status") && argc == 1)
		return ctl_status(c);
	if (!strcmp(cmd, "info") && argc == 2)
		return ctl_info(c, argv[1]);
	if (!strcmp(cmd, "query") && argc == 2)
		return ctl_query(c, argv[1]);
	if (!strcmp(cmd, "resize"))
		return ctl_resize(c, argc - 1, argv + 1);
	if (!strcmp(cmd, "balloon"))
		return ctl_balloon(c, argc - 1, argv + 1);
	if (!strcmp(cmd, "powerdown") && argc == 1)
		return ctl_simple(c, "system_powerdown");
	if (!strcmp(cmd, "reset") && argc == 1)
		return ctl_simple(c, "system_reset");
	if (!strcmp(cmd, "quit") && argc == 1)
		return ctl_simple(c, "quit");
	if (!strcmp(cmd, "snapshot"))
		return ctl_snapshot(c, argc - 1, argv + 1);
	if (!strcmp(cmd, "pause") && argc == 1)
		return ctl_simple(c, "stop");
	if (!strcmp(cmd, "resume") && argc == 1)
		return ctl_simple(c, "cont");
	if (!strcmp(cmd, "autoscale"))
		return ctl_autoscale(c, argc - 1, argv + 1);
	if (!strcmp(cmd, "events"))
		return ctl_events(c, argc - 1, argv + 1);
	fprintf(stderr, "memvisor-ctl: unknown command or wrong arguments: %s (see --help)\n", cmd);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct ctl_args a;
	struct ctl_conn c;
	char err[256];
	int rc;

	if (ctl_parse_args(argc, argv, &a, err, sizeof(err))) {
		fprintf(stderr, "memvisor-ctl: %s\n%s", err, ctl_usage);
		return EXIT_USAGE;
	}
	if (a.help) {
		fputs(ctl_usage, stdout);
		return EXIT_OK;
	}
	/* A usage error is one before connecting, not after (the commands parse again). */
	if (!a.raw) {
		struct ctl_resize r;
		struct ctl_events e;

		if ((!strcmp(a.cmd_argv[0], "resize") &&
		     ctl_parse_resize(a.cmd_argc - 1, a.cmd_argv + 1, &r, err, sizeof(err))) ||
		    (!strcmp(a.cmd_argv[0], "events") &&
		     ctl_parse_events(a.cmd_argc - 1, a.cmd_argv + 1, &e, err, sizeof(err)))) {
			fprintf(stderr, "memvisor-ctl: %s\n", err);
			return EXIT_USAGE;
		}
	}
	if (ctl_connect(&c, a.sock)) {
		ctl_close(&c);
		return EXIT_CONN;
	}
	rc = a.raw ? ctl_raw(&c, a.raw) : ctl_dispatch(&c, a.cmd_argc, a.cmd_argv);
	ctl_close(&c);
	return rc;
}
