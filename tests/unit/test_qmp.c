/* Unit tests for api/qmp: framing, negotiation, request envelope, id echo, events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/qmp.h"
#include "lib/util.h"

#define GREETING                                                                                   \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "          \
	"\"package\": \"memvisor test\"}, \"capabilities\": []}}\r\n"

struct tsess {
	struct qmp_session s;
	int executed;
	char last[64];
};

/* Echoes the command name and arguments back, or fails "fail". */
static struct json_object *t_execute(struct qmp_session *s, const char *name,
				     struct json_object *args, struct qmp_error *err)
{
	struct tsess *t = container_of(s, struct tsess, s);
	struct json_object *o;

	t->executed++;
	snprintf(t->last, sizeof(t->last), "%s", name);
	if (!strcmp(name, "fail")) {
		qmp_error_set(err, QMP_ERR_CMD_NOT_FOUND, "The command %s has not been found",
			      name);
		return NULL;
	}
	if (!strcmp(name, "void"))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "cmd", json_object_new_string(name));
	json_object_object_add(o, "args", json_object_get(args));
	return o;
}

static const struct qmp_session_ops t_ops = {.execute = t_execute};

static struct tsess *t_new(bool negotiate)
{
	struct tsess *t = calloc(1, sizeof(*t));

	assert_int_equal(qmp_session_init(&t->s, &t_ops, "memvisor test"), 0);
	assert_string_equal(api_buf_str(&t->s.out), GREETING);
	api_buf_consume(&t->s.out, t->s.out.len);
	if (negotiate) {
		qmp_session_feed(&t->s, "{\"execute\": \"qmp_capabilities\"}", 31);
		assert_string_equal(api_buf_str(&t->s.out), "{\"return\": {}}\r\n");
		api_buf_consume(&t->s.out, t->s.out.len);
	}
	return t;
}

static void t_free(struct tsess *t)
{
	qmp_session_destroy(&t->s);
	free(t);
}

static void t_feed(struct tsess *t, const char *s)
{
	qmp_session_feed(&t->s, s, strlen(s));
}

static void t_expect(struct tsess *t, const char *want)
{
	assert_string_equal(api_buf_str(&t->s.out), want);
	api_buf_consume(&t->s.out, t->s.out.len);
}

static void test_greeting_and_negotiation(void **state)
{
	struct tsess *t = t_new(false);

	t_feed(t, "{\"execute\": \"query-status\"}");
	t_expect(t, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting "
		    "capabilities negotiation with 'qmp_capabilities'\"}}\r\n");
	assert_int_equal(t->executed, 0);
	t_feed(t, "{\"execute\": \"qmp_capabilities\", \"id\": 7}");
	t_expect(t, "{\"return\": {}, \"id\": 7}\r\n");
	t_feed(t, "{\"execute\": \"qmp_capabilities\"}");
	t_expect(t, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities "
		    "negotiation is already complete, command ignored\"}}\r\n");
	t_feed(t, "{\"execute\": \"void\"}");
	t_expect(t, "{\"return\": {}}\r\n");
	t_free(t);
}

static void test_capabilities_arguments(void **state)
{
	struct tsess *t = t_new(false);

	t_feed(t, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}");
	t_expect(t, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capability oob not "
		    "available\"}}\r\n");
	t_feed(t, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": 1}}");
	t_expect(t, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter "
		    "type for 'enable', expected: array\"}}\r\n");
	t_feed(t, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"x\": 1}}");
	t_expect(t, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'x' is "
		    "unexpected\"}}\r\n");
	assert_false(t->s.negotiated);
	t_feed(t, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": []}}");
	t_expect(t, "{\"return\": {}}\r\n");
	assert_true(t->s.negotiated);
	t_free(t);
}

static void test_id_echo_any_type(void **state)
{
	static const char *const ids[] = {
	    "1",
	    "-5",
	    "\"abc\"",
	    "null",
	    "true",
	    "[1, \"x\", {}]",
	    "{\"a\": {\"b\": [null]}}",
	    "18446744073709551615",
	    "\"q\\\"uote\\n\"",
	};
	struct tsess *t = t_new(true);
	char req[256], want[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		snprintf(req, sizeof(req), "{\"id\": %s, \"execute\": \"void\"}", ids[i]);
		snprintf(want, sizeof(want), "{\"return\": {}, \"id\": %s}\r\n", ids[i]);
		t_feed(t, req);
		t_expect(t, want);
		/* Errors carry the id too. */
		snprintf(req, sizeof(req), "{\"id\": %s, \"execute\": \"fail\"}", ids[i]);
		snprintf(
		    want, sizeof(want),
		    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command fail "
		    "has not been found\"}, \"id\": %s}\r\n",
		    ids[i]);
		t_feed(t, req);
		t_expect(t, want);
	}
	t_free(t);
}

static void test_split_at_every_byte(void **state)
{
	const char *in =
	    "  {\"execute\": \"echo\", \"arguments\": {\"s\": \"a}b{\\\"c\", "
	    "\"n\": [1, 2.5, {\"x\": null}]}, \"id\": \"i\"}\n\t{\"execute\":\"void\"}";
	const char *want =
	    "{\"return\": {\"cmd\": \"echo\", \"args\": {\"s\": \"a}b{\\\"c\", "
	    "\"n\": [1, 2.5, {\"x\": null}]}}, \"id\": \"i\"}\r\n{\"return\": {}}\r\n";
	size_t len = strlen(in), cut, i;

	for (cut = 0; cut <= len; cut++) {
		struct tsess *t = t_new(true);

		qmp_session_feed(&t->s, in, cut);
		qmp_session_feed(&t->s, in + cut, len - cut);
		t_expect(t, want);
		t_free(t);
	}
	/* And one byte at a time. */
	{
		struct tsess *t = t_new(true);

		for (i = 0; i < len; i++)
			qmp_session_feed(&t->s, in + i, 1);
		t_expect(t, want);
		t_free(t);
	}
}

static void test_several_in_one_buffer(void **state)
{
	struct tsess *t = t_new(true);

	t_feed(t, "{\"execute\":\"void\",\"id\":1}{\"execute\":\"void\",\"id\":2}\r\n\r\n  "
		  "{\"execute\":\"void\",\"id\":3}");
	t_expect(t, "{\"return\": {}, \"id\": 1}\r\n{\"return\": {}, \"id\": 2}\r\n"
		    "{\"return\": {}, \"id\": 3}\r\n");
	t_feed(t, "\n\n   \t");
	t_expect(t, "");
	t_free(t);
}

static void test_envelope_errors(void **state)
{
	struct tsess *t = t_new(true);

	t_feed(t, "[1, 2]");
	t_expect(t, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a "
		    "JSON object\"}}\r\n");
	t_feed(t, "\"str\"");
	t_expect(t, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a "
		    "JSON object\"}}\r\n");
	t_feed(t, "{\"id\": 3}");
	t_expect(t, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks "
		    "member 'execute'\"}, \"id\": 3}\r\n");
	t_feed(t, "{\"execute\": 1}");
	t_expect(t, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member "
		    "'execute' must be a string\"}}\r\n");
	t_feed(t, "{\"execute\": \"void\", \"arguments\": []}");
	t_expect(t, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member "
		    "'arguments' must be an object\"}}\r\n");
	t_feed(t, "{\"execute\": \"void\", \"bogus\": 1}");
	t_expect(t, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member "
		    "'bogus' is unexpected\"}}\r\n");
	assert_int_equal(t->executed, 0);
	t_free(t);
}

static void test_malformed_then_usable(void **state)
{
	struct tsess *t = t_new(true);
	const char *out;

	/* Same read: the rest of the line goes, the next line is served. */
	t_feed(t, "{\"execute\": foo}\n{\"execute\": \"void\", \"id\": 1}\n");
	out = api_buf_str(&t->s.out);
	assert_non_null(strstr(out, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON "
				    "parse error, "));
	assert_non_null(strstr(out, "}}\r\n{\"return\": {}, \"id\": 1}\r\n"));
	api_buf_consume(&t->s.out, t->s.out.len);
	/* No newline: the discard ends with the read, the next read is fresh. */
	t_feed(t, "}}}");
	assert_non_null(strstr(api_buf_str(&t->s.out), "JSON parse error"));
	api_buf_consume(&t->s.out, t->s.out.len);
	t_feed(t, "{\"execute\": \"void\", \"id\": 2}");
	t_expect(t, "{\"return\": {}, \"id\": 2}\r\n");
	/* A NUL byte is an error too. */
	qmp_session_feed(&t->s, "\0", 1);
	assert_non_null(strstr(api_buf_str(&t->s.out), "JSON parse error"));
	api_buf_consume(&t->s.out, t->s.out.len);
	t_feed(t, "{\"execute\": \"void\"}");
	t_expect(t, "{\"return\": {}}\r\n");
	t_free(t);
}

static void test_oversized_skipped(void **state)
{
	struct tsess *t = t_new(true);
	size_t big = QMP_MAX_MESSAGE + 4096, i, chunk;
	const char *tail = "\"}}{\"execute\": \"void\", \"id\": 9}";
	char *msg = malloc(big + 128);
	size_t len;

	/* A string full of brackets and escaped quotes the skipper must not trip on. */
	len = (size_t)sprintf(msg, "{\"execute\": \"void\", \"arguments\": {\"s\": \"");
	for (i = 0; i < big; i += 8, len += 8)
		memcpy(msg + len, "x{[]}\\\"y", 8);
	memcpy(msg + len, tail, strlen(tail));
	len += strlen(tail);
	for (chunk = 0; chunk < len; chunk += 65536)
		qmp_session_feed(&t->s, msg + chunk, MV_MIN((size_t)65536, len - chunk));
	assert_string_equal(
	    api_buf_str(&t->s.out),
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON message size "
	    "limit (1048576 bytes) exceeded\"}}\r\n{\"return\": {}, \"id\": 9}\r\n");
	api_buf_consume(&t->s.out, t->s.out.len);
	/* Delivered in one piece it is refused the same way. */
	qmp_session_feed(&t->s, msg, len);
	assert_non_null(strstr(api_buf_str(&t->s.out), "size limit"));
	assert_non_null(strstr(api_buf_str(&t->s.out), "\"id\": 9"));
	assert_int_equal(t->executed, 2);
	free(msg);
	t_free(t);
}

static void test_events_only_after_negotiation(void **state)
{
	struct tsess *t = t_new(false);
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "guest", json_object_new_boolean(false));
	json_object_object_add(d, "reason", json_object_new_string("host-qmp-quit"));
	qmp_session_event(&t->s, "SHUTDOWN", d, 1795424310533093ULL);
	t_expect(t, "");
	t_feed(t, "{\"execute\": \"qmp_capabilities\"}");
	t_expect(t, "{\"return\": {}}\r\n");
	qmp_session_event(&t->s, "SHUTDOWN", d, 1795424310533093ULL);
	/* The transcript's line, byte for byte. */
	t_expect(t, "{\"timestamp\": {\"seconds\": 1795424310, \"microseconds\": 533093}, "
		    "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": "
		    "\"host-qmp-quit\"}}\r\n");
	qmp_session_event(&t->s, "POWERDOWN", NULL, 1000001);
	t_expect(t, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 1}, \"event\": "
		    "\"POWERDOWN\"}\r\n");
	json_object_put(d);
	t_free(t);
}

/* Asserts the session's output is one error line naming `why`, then clears it. */
static void t_expect_parse_error(struct tsess *t, const char *why)
{
	const char *out = api_buf_str(&t->s.out);

	assert_non_null(strstr(out, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON "
				    "parse error, "));
	assert_non_null(strstr(out, why));
	assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out)); /* one line */
	api_buf_consume(&t->s.out, t->s.out.len);
}

/* Issue 21 item 11: what QEMU's parser refuses is refused, and no reply is invalid JSON. */
static void test_refuses_what_is_not_json(void **state)
{
	static const char *const nonfinite[] = {"NaN", "Infinity", "-Infinity",
						"nan", "1e999",	   "-1e400"};
	struct tsess *t = t_new(true);
	char req[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nonfinite); i++) {
		snprintf(req, sizeof(req), "{\"execute\": \"void\", \"id\": %s}\n", nonfinite[i]);
		t_feed(t, req);
		t_expect_parse_error(t, "NaN, Infinity");
	}
	/* \u0000 in a value or in a key: refused, not cut. */
	t_feed(t, "{\"execute\": \"void\", \"id\": \"a\\u0000b\"}");
	t_expect_parse_error(t, "\\\\u0000 is not supported");
	t_feed(t, "{\"execute\": \"void\", \"arguments\": {\"a\\u0000b\": 1}}");
	t_expect_parse_error(t, "\\\\u0000 is not supported");
	t_feed(t, "{\"execute\": \"vo\\u0000id\"}");
	t_expect_parse_error(t, "\\\\u0000 is not supported");
	/* Single-quoted strings (json-c and QEMU take them) are strings to the checks too. */
	t_feed(t, "{'execute': 'void', 'id': '\\\"\\u0000\\\"', 'x\\u0000': 1}");
	t_expect_parse_error(t, "\\\\u0000 is not supported");
	t_feed(t, "{'execute': 'void', 'id': '\x01'}");
	t_expect_parse_error(t, "control character");
	/* Integers json-c would clamp to 64 bits. */
	t_feed(t, "{\"execute\": \"void\", \"id\": 18446744073709551616}");
	t_expect_parse_error(t, "integer out of range");
	t_feed(t, "{\"execute\": \"void\", \"id\": -9223372036854775809}");
	t_expect_parse_error(t, "integer out of range");
	t_feed(t, "{\"execute\": \"void\", \"id\": [123456789012345678901234567890]}");
	t_expect_parse_error(t, "integer out of range");
	/* Invalid UTF-8 (a stray byte, an overlong NUL, a surrogate) and raw control bytes. */
	t_feed(t, "{\"execute\": \"void\", \"id\": \"\xff\"}");
	t_expect_parse_error(t, "UTF-8");
	t_feed(t, "{\"execute\": \"void\", \"id\": \"\xc0\x80\"}");
	t_expect_parse_error(t, "UTF-8");
	t_feed(t, "{\"execute\": \"void\", \"arguments\": {\"\xed\xa0\x80\": 1}}");
	t_expect_parse_error(t, "UTF-8");
	t_feed(t, "{\"execute\": \"void\", \"id\": \"a\x01z\"}");
	t_expect_parse_error(t, "control character");
	assert_int_equal(t->executed, 0);
	/* The edges are fine, and come back exactly. */
	t_feed(t, "{\"execute\": \"void\", \"id\": [18446744073709551615, -9223372036854775808, "
		  "0.5, 1e300, -0, \"\\u00e9\xc3\xa9\\n\"]}");
	t_expect(t, "{\"return\": {}, \"id\": [18446744073709551615, -9223372036854775808, 0.5, "
		    "1.0000000000000001e+300, 0, \"\xc3\xa9\xc3\xa9\\n\"]}\r\n");
	/* Decimal numbers are not integers: any size is a double. */
	t_feed(t, "{\"execute\": \"void\", \"id\": 123456789012345678901234567890.0}");
	t_expect(t, "{\"return\": {}, \"id\": 1.2345678901234568e+29}\r\n");
	assert_int_equal(t->executed, 2);
	t_free(t);
}

static void test_scan(void **state)
{
	struct qmp_scan sc;
	const char *s = " {\"a\": \"}\\\"\", \"b\": [1, {}]} ";
	size_t i, end = 0;

	qmp_scan_reset(&sc);
	for (i = 0; s[i]; i++)
		if (qmp_scan_byte(&sc, s[i]) && !end)
			end = i;
	assert_int_equal(end, strlen(s) - 2);
	qmp_scan_reset(&sc);
	assert_false(qmp_scan_byte(&sc, '1'));
	assert_false(qmp_scan_byte(&sc, '2'));
	assert_true(qmp_scan_byte(&sc, ' '));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_greeting_and_negotiation),
	    cmocka_unit_test(test_refuses_what_is_not_json),
	    cmocka_unit_test(test_capabilities_arguments),
	    cmocka_unit_test(test_id_echo_any_type),
	    cmocka_unit_test(test_split_at_every_byte),
	    cmocka_unit_test(test_several_in_one_buffer),
	    cmocka_unit_test(test_envelope_errors),
	    cmocka_unit_test(test_malformed_then_usable),
	    cmocka_unit_test(test_oversized_skipped),
	    cmocka_unit_test(test_events_only_after_negotiation),
	    cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
