/* Unit tests for lib/state: the save/load section format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/state.h"

static void write_two(struct mv_state_writer *w)
{
	mv_sw_init(w);
	mv_sw_begin(w, "alpha", 1);
	mv_sw_u8(w, 0xA1);
	mv_sw_u16(w, 0xB2C3);
	mv_sw_u32(w, 0xD4E5F607);
	mv_sw_u64(w, 0x1122334455667788ULL);
	mv_sw_bytes(w, "xyz", 3);
	mv_sw_str(w, "mem0");
	mv_sw_end(w);
	mv_sw_begin(w, "beta.0", 3);
	mv_sw_end(w);
	assert_int_equal(mv_sw_error(w), 0);
}

/* Parse everything write_two wrote; 0 when it all checks out, else -EINVAL. */
static int read_two(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	struct mv_state_reader r, pl;
	struct mv_state_section s;
	char str[8], b[3];
	int ret;

	mv_sr_init(&r, p, len);
	ret = mv_state_next(&r, &s, err, errlen);
	if (ret != 1)
		return ret ? ret : -ENOENT;
	ret = mv_state_check(&s, "alpha", 1, err, errlen);
	if (ret)
		return ret;
	pl = s.payload;
	if (mv_sr_u8(&pl) != 0xA1 || mv_sr_u16(&pl) != 0xB2C3 || mv_sr_u32(&pl) != 0xD4E5F607 ||
	    mv_sr_u64(&pl) != 0x1122334455667788ULL)
		return mv_state_done(&s, &pl, err, errlen) ?: -EBADMSG;
	mv_sr_bytes(&pl, b, 3);
	mv_sr_str(&pl, str, sizeof(str));
	ret = mv_state_done(&s, &pl, err, errlen);
	if (ret)
		return ret;
	if (memcmp(b, "xyz", 3) || strcmp(str, "mem0"))
		return -EBADMSG;
	ret = mv_state_next(&r, &s, err, errlen);
	if (ret != 1)
		return ret ? ret : -ENOENT;
	ret = mv_state_check(&s, "beta.0", 3, err, errlen);
	if (ret)
		return ret;
	ret = mv_state_done(&s, &s.payload, err, errlen);
	if (ret)
		return ret;
	return mv_state_next(&r, &s, err, errlen); /* 0: end of input */
}

static void test_round_trip(void **st)
{
	struct mv_state_writer w;
	char err[160] = "";

	write_two(&w);
	/* 1+5+4+8 header, 1+2+4+8+3+1+4 payload; 1+6+4+8 header, empty payload. */
	assert_int_equal(w.len, 18 + 23 + 19);
	/* Little-endian on the wire, whatever the host. */
	assert_memory_equal(w.buf,
			    "\x05"
			    "alpha"
			    "\x01\0\0\0"
			    "\x17\0\0\0\0\0\0\0"
			    "\xA1\xC3\xB2",
			    21);
	assert_int_equal(read_two(w.buf, w.len, err, sizeof(err)), 0);
	mv_sw_free(&w);
}

/* Every strict prefix is refused, and (ASan) no byte past it is read. */
static void test_truncated_everywhere(void **st)
{
	struct mv_state_writer w;
	size_t len;

	write_two(&w);
	for (len = 0; len < w.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		char err[160] = "";

		memcpy(copy, w.buf, len);
		int ret = read_two(copy, len, err, sizeof(err));

		/* Cut at a section boundary the stream is well-formed, one section short. */
		if (len == 0 || len == 18 + 23) {
			assert_int_equal(ret, -ENOENT);
		} else {
			assert_int_equal(ret, -EINVAL);
			assert_true(err[0] != '\0');
		}
		free(copy);
	}
	mv_sw_free(&w);
}

static void test_bad_version(void **st)
{
	struct mv_state_writer w;
	struct mv_state_section s;
	char err[160] = "";

	mv_sw_init(&w);
	mv_sw_begin(&w, "serial", 2);
	mv_sw_end(&w);
	assert_int_equal(mv_state_find(w.buf, w.len, "serial", &s, err, sizeof(err)), 0);
	assert_int_equal(mv_state_check(&s, "serial", 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "serial: section version 2 is not supported (this build reads 1 to 1)");
	/* Version 0 never exists: the writer refuses it, a reader too. */
	s.version = 0;
	assert_int_equal(mv_state_check(&s, "serial", 1, err, sizeof(err)), -EINVAL);
	mv_sw_free(&w);
	mv_sw_init(&w);
	mv_sw_begin(&w, "serial", 0);
	mv_sw_end(&w);
	assert_int_equal(mv_sw_error(&w), -EINVAL);
	mv_sw_free(&w);
}

static void test_wrong_name(void **st)
{
	struct mv_state_writer w;
	struct mv_state_section s;
	struct mv_state_reader r;
	char err[160] = "";

	mv_sw_init(&w);
	mv_sw_begin(&w, "pci", 1);
	mv_sw_end(&w);
	mv_sr_init(&r, w.buf, w.len);
	assert_int_equal(mv_state_next(&r, &s, err, sizeof(err)), 1);
	assert_int_equal(mv_state_check(&s, "serial", 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "serial: got section \"pci\" instead");
	assert_int_equal(mv_state_find(w.buf, w.len, "serial", &s, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "serial: section missing from the saved state");
	/* Names the writer must refuse: empty, too long, a space. */
	mv_sw_free(&w);
	mv_sw_init(&w);
	mv_sw_begin(&w, "", 1);
	assert_int_equal(mv_sw_error(&w), -EINVAL);
	mv_sw_free(&w);
	mv_sw_init(&w);
	mv_sw_begin(&w, "a b", 1);
	assert_int_equal(mv_sw_error(&w), -EINVAL);
	mv_sw_free(&w);
	mv_sw_init(&w);
	{
		char longname[MV_STATE_NAME_MAX + 2];

		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		mv_sw_begin(&w, longname, 1);
	}
	assert_int_equal(mv_sw_error(&w), -EINVAL);
	mv_sw_free(&w);
	/* A reader refuses a non-printable name. */
	{
		static const uint8_t bad[] = {2, 'a', 0x01, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

		mv_sr_init(&r, bad, sizeof(bad));
		assert_int_equal(mv_state_next(&r, &s, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "state: malformed section name at offset 0");
	}
}

static void test_trailing_and_short(void **st)
{
	struct mv_state_writer w;
	struct mv_state_section s;
	struct mv_state_reader pl;
	char err[160] = "";

	mv_sw_init(&w);
	mv_sw_begin(&w, "x", 1);
	mv_sw_u32(&w, 7);
	mv_sw_u8(&w, 9);
	mv_sw_end(&w);
	assert_int_equal(mv_state_find(w.buf, w.len, "x", &s, err, sizeof(err)), 0);
	pl = s.payload;
	assert_int_equal(mv_sr_u32(&pl), 7);
	assert_int_equal(mv_state_done(&s, &pl, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "x: 1 unexpected bytes after the payload");
	/* A u16 over the one byte left: zero, and the error is sticky. */
	assert_int_equal(mv_sr_u16(&pl), 0);
	assert_int_equal(mv_sr_u8(&pl), 0);
	assert_int_equal(mv_state_done(&s, &pl, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "x: payload truncated (5 bytes)");
	mv_sw_free(&w);
}

static void test_payload_length_beyond_input(void **st)
{
	/* Name "a", version 1, length 2^63: refused before any payload byte is touched. */
	static const uint8_t in[] = {1, 'a', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xEE};
	struct mv_state_reader r;
	struct mv_state_section s;
	char err[160] = "";

	mv_sr_init(&r, in, sizeof(in));
	assert_int_equal(mv_state_next(&r, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "a: payload of 9223372036854775808 bytes but only 1 left in the input "
			    "(offset 0)");
}

static void test_writer_unbalanced(void **st)
{
	struct mv_state_writer w;

	mv_sw_init(&w);
	mv_sw_begin(&w, "a", 1);
	assert_int_equal(mv_sw_error(&w), -EINVAL); /* still open */
	mv_sw_begin(&w, "b", 1);		    /* nested */
	mv_sw_end(&w);
	assert_int_equal(mv_sw_error(&w), -EINVAL);
	mv_sw_free(&w);
	mv_sw_init(&w);
	mv_sw_end(&w);
	assert_int_equal(mv_sw_error(&w), -EINVAL);
	mv_sw_free(&w);
}

static void test_str_limits(void **st)
{
	static const uint8_t in[] = {4, 'a', 'b', 0, 'c', 3, 'a', 'b', 'c'};
	struct mv_state_reader r;
	char buf[4];

	mv_sr_init(&r, in, 5);
	mv_sr_str(&r, buf, sizeof(buf)); /* an embedded NUL */
	assert_true(r.short_read);
	mv_sr_init(&r, in + 5, 4);
	mv_sr_str(&r, buf, 3); /* "abc" does not fit in 3 */
	assert_true(r.short_read);
	mv_sr_init(&r, in + 5, 4);
	mv_sr_str(&r, buf, sizeof(buf));
	assert_false(r.short_read);
	assert_string_equal(buf, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_bad_version),
	    cmocka_unit_test(test_wrong_name),
	    cmocka_unit_test(test_trailing_and_short),
	    cmocka_unit_test(test_payload_length_beyond_input),
	    cmocka_unit_test(test_writer_unbalanced),
	    cmocka_unit_test(test_str_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
