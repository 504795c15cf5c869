/* Unit tests for lib/crc32c and lib/snapfile: the snapshot file's container. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "lib/snapfile.h"

#define PG MV_SNAP_PAGE

static void test_crc32c_vectors(void **state)
{
	static const uint8_t zeros[32], ones[32] = {[0 ... 31] = 0xff};
	uint8_t inc[32];
	unsigned int i;

	for (i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	/* The check value and RFC 3720's (iSCSI) test patterns. */
	assert_int_equal(mv_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(mv_crc32c(0, zeros, 32), 0x8a9136aa);
	assert_int_equal(mv_crc32c(0, ones, 32), 0x62a8ab43);
	assert_int_equal(mv_crc32c(0, inc, 32), 0x46dd794e);
	assert_int_equal(mv_crc32c(0, "", 0), 0);
	/* Continued over pieces = in one go. */
	assert_int_equal(mv_crc32c(mv_crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
}

static int tmpfile_fd(char *path)
{
	int fd;

	strcpy(path, "/tmp/mv-snapfile-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static uint64_t fsize(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (uint64_t)st.st_size;
}

/* config, state, 4 pages of memory (two zero), a file zone. */
static int write_sample(uint8_t *mem, uint64_t *data_written)
{
	struct mv_snap_writer w;
	char path[64];
	unsigned int idx;
	int fd = tmpfile_fd(path);

	memset(mem, 0, 4 * PG);
	memset(mem + PG, 0xab, PG);
	mem[3 * PG + 17] = 1;
	mv_snap_writer_init(&w, fd);
	assert_int_equal(mv_snap_add_data(&w, MV_SNAP_CONFIG, "--memory\0size=1G\0", 17), 0);
	assert_int_equal(mv_snap_add_data(&w, MV_SNAP_STATE, "state bytes", 11), 0);
	assert_int_equal(mv_snap_add_memory(&w, 0x100000, 1024 * PG, &idx), 0);
	/* Only pages 8..11 of it are written (a plugged block, say). */
	assert_int_equal(mv_snap_write_memory(&w, idx, 8 * PG, mem, 4 * PG), 0);
	assert_int_equal(mv_snap_write_memory(&w, idx, 1022 * PG, mem, 4 * PG), -EINVAL);
	assert_int_equal(mv_snap_add_memory(&w, 0x100001, PG, &idx), -EINVAL);
	assert_int_equal(mv_snap_add_file(&w, 2, 1 << 20, 3, 4, 5, 6), 0);
	assert_int_equal(mv_snap_finish(&w), 0);
	*data_written = w.written;
	mv_snap_writer_free(&w);
	return fd;
}

static void test_round_trip_and_holes(void **state)
{
	uint8_t *mem = aligned_alloc(PG, 4 * PG), *back = malloc(4 * PG);
	const struct mv_snap_entry *e;
	struct mv_snap_file f;
	uint64_t written;
	char err[160];
	struct stat st;
	void *data;
	int fd = write_sample(mem, &written);

	assert_int_equal(written, 2 * PG); /* the two zero pages were skipped */
	assert_int_equal(mv_snap_open(fd, fsize(fd), &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 4);
	e = mv_snap_find(&f, MV_SNAP_CONFIG);
	assert_non_null(e);
	assert_int_equal(mv_snap_read_data(fd, e, &data, err, sizeof(err)), 0);
	assert_memory_equal(data, "--memory\0size=1G\0", 17);
	free(data);
	e = mv_snap_find(&f, MV_SNAP_MEMORY);
	assert_int_equal(e->gpa, 0x100000);
	assert_int_equal(e->length, 1024 * PG);
	assert_int_equal(e->offset % PG, 0);
	assert_int_equal(pread(fd, back, 4 * PG, (off_t)(e->offset + 8 * PG)), 4 * PG);
	assert_memory_equal(back, mem, 4 * PG);
	e = mv_snap_find(&f, MV_SNAP_FILE);
	assert_int_equal(e->gpa, 2);
	assert_int_equal(e->length, 1 << 20);
	assert_int_equal(e->aux[0], 3);
	assert_int_equal(e->aux[3], 6);
	/* 4 MiB of memory in the file, a few pages on disk. */
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size > 1024 * PG);
	assert_true((uint64_t)st.st_blocks * 512 <= 8 * PG);
	mv_snap_close(&f);
	close(fd);
	free(mem);
	free(back);
}

static void poke(int fd, uint64_t off, const void *p, size_t n)
{
	assert_int_equal(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
}

/* Each refusal is one line naming the problem, and returns nothing to free. */
static void test_refusals(void **state)
{
	uint8_t *mem = aligned_alloc(PG, 4 * PG);
	const struct mv_snap_entry *e;
	struct mv_snap_file f;
	uint64_t written, size;
	char err[160], path[64];
	uint8_t b;
	void *data;
	int fd;

	/* Foreign: an ELF file, a text file. */
	fd = tmpfile_fd(path);
	poke(fd, 0, "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32);
	assert_int_equal(mv_snap_open(fd, fsize(fd), &f, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "not a memvisor snapshot (bad magic)");
	close(fd);
	fd = tmpfile_fd(path);
	poke(fd, 0, "hi\n", 3);
	assert_int_equal(mv_snap_open(fd, fsize(fd), &f, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "truncated: 3 bytes, shorter than a snapshot header");
	close(fd);

	/* Truncated: the table cut off. */
	fd = write_sample(mem, &written);
	size = fsize(fd);
	assert_int_equal(ftruncate(fd, (off_t)(size - 10)), 0);
	assert_int_equal(mv_snap_open(fd, size - 10, &f, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "truncated: the entry table ends at"));
	close(fd);

	/* Wrong version, with a header checksum that matches it (a newer memvisor's file). */
	fd = write_sample(mem, &written);
	{
		uint8_t hdr[32];
		uint32_t v = 2, c;

		assert_int_equal(pread(fd, hdr, 32, 0), 32);
		memcpy(hdr + 8, &v, 4);
		c = mv_crc32c(0, hdr, 28);
		memcpy(hdr + 28, &c, 4);
		poke(fd, 0, hdr, 32);
	}
	assert_int_equal(mv_snap_open(fd, fsize(fd), &f, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "snapshot format version 2; this memvisor reads version 1");
	/* The same byte changed without fixing the checksum: corrupted header. */
	b = 1;
	poke(fd, 8, &b, 1);
	assert_int_equal(mv_snap_open(fd, fsize(fd), &f, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "corrupted: header checksum mismatch");
	close(fd);

	/* A flipped bit in the table, then in the state entry. */
	fd = write_sample(mem, &written);
	assert_int_equal(mv_snap_open(fd, fsize(fd), &f, err, sizeof(err)), 0);
	e = mv_snap_find(&f, MV_SNAP_STATE);
	assert_int_equal(pread(fd, &b, 1, (off_t)e->offset + 3), 1);
	b ^= 0x10;
	poke(fd, e->offset + 3, &b, 1);
	assert_int_equal(mv_snap_read_data(fd, e, &data, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "corrupted: state entry checksum mismatch");
	assert_null(data);
	size = fsize(fd);
	mv_snap_close(&f);
	assert_int_equal(pread(fd, &b, 1, (off_t)(size - 40)), 1);
	b ^= 1;
	poke(fd, size - 40, &b, 1);
	assert_int_equal(mv_snap_open(fd, size, &f, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "corrupted: entry table checksum mismatch");
	close(fd);
	free(mem);
}

/* A write that fails (here: a read-only fd, as a full disk would) is reported, not hidden. */
static void test_write_failure(void **state)
{
	struct mv_snap_writer w;
	char path[64];
	int fd = tmpfile_fd(path), ro;
	char proc[64];
	unsigned int idx;
	static uint8_t page[PG] = {1};

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ro = open(proc, O_RDONLY);
	assert_true(ro >= 0);
	mv_snap_writer_init(&w, ro);
	assert_int_equal(mv_snap_add_data(&w, MV_SNAP_CONFIG, "x", 1), -EBADF);
	assert_int_equal(mv_snap_add_memory(&w, 0, PG, &idx), 0);
	assert_int_equal(mv_snap_write_memory(&w, idx, 0, page, PG), -EBADF);
	assert_int_not_equal(mv_snap_finish(&w), 0);
	mv_snap_writer_free(&w);
	close(ro);
	close(fd);
}

/*
 * A live snapshot's later pass writes pages again: changed data replaces
 * the old, a page that became zero reads back zero and is a hole again, a
 * range outside the entry is refused.
 */
static void test_rewrite_memory(void **state)
{
	uint8_t *mem = aligned_alloc(PG, 4 * PG), *back = malloc(4 * PG);
	struct mv_snap_writer w;
	char path[64];
	unsigned int idx;
	struct stat st;
	int fd = tmpfile_fd(path);

	memset(mem, 0x11, 4 * PG);
	mv_snap_writer_init(&w, fd);
	assert_int_equal(mv_snap_add_memory(&w, 0, 256 * PG, &idx), 0);
	assert_int_equal(mv_snap_write_memory(&w, idx, 0, mem, 4 * PG), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 >= 4 * PG);

	memset(mem, 0, 3 * PG); /* pages 0-2 turned zero, page 3 changed */
	memset(mem + 3 * PG, 0x22, PG);
	assert_int_equal(mv_snap_rewrite_memory(&w, idx, 0, mem, 4 * PG), 0);
	assert_int_equal(w.rewritten, PG);
	assert_int_equal(pread(fd, back, 4 * PG, (off_t)PG), 4 * PG);
	assert_memory_equal(back, mem, 4 * PG);
	assert_int_equal(fstat(fd, &st), 0);
	/* tmpfs and the usual disks punch holes; the three zero pages left the disk */
	assert_true((uint64_t)st.st_blocks * 512 <= 2 * PG);
	assert_int_equal(mv_snap_rewrite_memory(&w, idx, 255 * PG, mem, 2 * PG), -EINVAL);
	assert_int_equal(mv_snap_rewrite_memory(&w, idx + 1, 0, mem, PG), -EINVAL);
	mv_snap_writer_free(&w);
	close(fd);
	free(mem);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c_vectors), cmocka_unit_test(test_round_trip_and_holes),
	    cmocka_unit_test(test_refusals),	   cmocka_unit_test(test_write_failure),
	    cmocka_unit_test(test_rewrite_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
