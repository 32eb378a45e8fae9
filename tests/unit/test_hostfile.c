/*
 * test_hostfile.c - unit tests of the real-file backend (models/hostfile.c).
 *
 * A seeded random mix of writes, reads, truncates and a few flushes runs
 * against a hostfile and a flat reference buffer; directed tests check the
 * zero fill past EOF, truncate, that a reopened file shows the data, the
 * errors of open and of writes to a read-only file, and hole finding.
 *
 * Ownership: every test creates its own temporary file (mkstemp under /tmp)
 * and unlinks it; every backend opened is destroyed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostfile.h"
#include "prng.h"
#include "unit.h"

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)

static void fill(unsigned char *buf, size_t len, uint64_t seed)
{
    prng r = prng_seeded(seed);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(prng_next(&r) | 1); /* never zero */
}

/* A fresh empty temporary file; the caller unlinks and frees the path. */
static char *temp_path(void)
{
    char *path = strdup("/tmp/cowpoke-hostfile-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    return path;
}

/* A temporary file opened read-write; a test cannot go on without it. */
typedef struct fixture {
    char *path;
    host_backend *b;
} fixture;

static fixture fx_open(void)
{
    fixture fx = {temp_path(), NULL};
    CHECK_EQ(hostfile_open(fx.path, O_RDWR, 0, &fx.b), 0);
    if (!fx.b || !hostfile_is(fx.b)) {
        fprintf(stderr, "cannot open %s\n", fx.path);
        exit(1);
    }
    return fx;
}

static void fx_close(fixture *fx)
{
    host_destroy(fx->b);
    unlink(fx->path);
    free(fx->path);
}

/* Checks [off, off + len) against want. */
static void expect(host_backend *b, uint64_t off, const void *want, size_t len)
{
    unsigned char *got = malloc(len);
    memset(got, 0xa5, len);
    CHECK_EQ(host_pread(b, off, got, len), 0);
    CHECK_MEM(got, want, len);
    free(got);
}

/* ---- random ops against a flat buffer ----------------------------------- */

#define REF_MAX ((size_t)64 << 10)

static void random_op(host_backend *b, unsigned char *ref, uint64_t *size,
                      prng *r, unsigned char *buf, int *flushes)
{
    uint64_t roll = prng_below(r, 100), off, len;

    if (roll < 45) {
        len = 1 + prng_below(r, 10000);
        off = prng_below(r, REF_MAX - len);
        fill(buf, len, prng_next(r));
        CHECK_EQ(host_pwrite(b, off, buf, len), 0);
        memcpy(ref + off, buf, len);
        *size = off + len > *size ? off + len : *size;
    } else if (roll < 85) { /* may straddle or lie past EOF */
        len = 1 + prng_below(r, 10000);
        off = prng_below(r, REF_MAX);
        memset(buf, 0xa5, len);
        CHECK_EQ(host_pread(b, off, buf, len), 0);
        for (size_t i = 0; i < len; i++)
            if (buf[i] != (off + i < REF_MAX ? ref[off + i] : 0)) {
                CHECK_EQ(off + i, UINT64_MAX); /* names the offset */
                break;
            }
    } else if (roll < 97) {
        off = prng_below(r, REF_MAX);
        CHECK_EQ(host_truncate(b, off), 0);
        if (off < *size)
            memset(ref + off, 0, REF_MAX - off);
        *size = off;
    } else if (*flushes < 20) { /* fdatasync can be slow: a few suffice */
        CHECK_EQ(host_flush(b), 0);
        (*flushes)++;
    }
}

static void test_random_vs_flat(void)
{
    fixture fx = fx_open();
    host_backend *b = fx.b;
    unsigned char *ref = calloc(REF_MAX, 1), *buf = malloc(10000);
    uint64_t size = 0;
    int flushes = 0;
    prng r = prng_seeded(7);

    for (int i = 0; i < 3000; i++) {
        random_op(b, ref, &size, &r, buf, &flushes);
        CHECK_EQ(host_size(b), size);
        if (unit_failures)
            break;
    }
    expect(b, 0, ref, REF_MAX);
    fx_close(&fx);
    free(ref);
    free(buf);
}

/* ---- directed tests ---------------------------------------------------- */

static void test_eof_zero_fill(void)
{
    fixture fx = fx_open();
    host_backend *b = fx.b;
    unsigned char data[3000], got[8192], want[8192] = {0};

    fill(data, sizeof(data), 1);
    CHECK_EQ(host_pwrite(b, 1000, data, sizeof(data)), 0);
    CHECK_EQ(host_size(b), 4000);
    memcpy(want + 1000, data, sizeof(data));
    expect(b, 0, want, sizeof(want)); /* straddles EOF */
    memset(got, 0xa5, sizeof(got));
    CHECK_EQ(host_pread(b, MiB, got, sizeof(got)), 0); /* wholly past */
    CHECK_MEM(got, want + 4000, 4000);
    CHECK_EQ(host_pread(b, (uint64_t)INT64_MAX, got, 2), -EINVAL);
    CHECK_EQ(host_pwrite(b, UINT64_MAX - 1, data, 4), -EINVAL);
    CHECK_EQ(host_truncate(b, (uint64_t)INT64_MAX + 1), -EINVAL);
    CHECK_EQ(host_size(b), 4000);
    fx_close(&fx);
}

static void test_truncate(void)
{
    fixture fx = fx_open();
    host_backend *b = fx.b;
    unsigned char data[10000], zero[10000] = {0};

    fill(data, sizeof(data), 2);
    CHECK_EQ(host_pwrite(b, 0, data, sizeof(data)), 0);
    CHECK_EQ(host_truncate(b, 5000), 0);
    CHECK_EQ(host_size(b), 5000);
    expect(b, 0, data, 5000);
    CHECK_EQ(host_truncate(b, 20000), 0);
    CHECK_EQ(host_size(b), 20000);
    expect(b, 0, data, 5000);
    expect(b, 5000, zero, sizeof(zero)); /* the old tail is gone */
    CHECK_EQ(host_truncate(b, 0), 0);
    CHECK_EQ(host_size(b), 0);
    fx_close(&fx);
}

static void test_reopen(void)
{
    fixture fx = fx_open();
    host_backend *b = fx.b;
    unsigned char data[9000];

    fill(data, sizeof(data), 3);
    CHECK_EQ(host_pwrite(b, 12345, data, sizeof(data)), 0);
    CHECK_EQ(host_flush(b), 0);
    host_destroy(b);
    CHECK_EQ(hostfile_open(fx.path, O_RDONLY, 0, &b), 0);
    if (b) {
        CHECK_EQ(host_size(b), 12345 + sizeof(data));
        expect(b, 12345, data, sizeof(data));
        /* Read-only: writes and truncates fail and change nothing. */
        CHECK_EQ(host_pwrite(b, 0, data, 10), -EBADF);
        CHECK(host_truncate(b, 0) < 0);
        CHECK_EQ(host_size(b), 12345 + sizeof(data));
        host_destroy(b);
    }
    /* O_TRUNC through the open flags empties it. */
    CHECK_EQ(hostfile_open(fx.path, O_RDWR | O_TRUNC, 0, &fx.b), 0);
    if (fx.b)
        CHECK_EQ(host_size(fx.b), 0);
    fx_close(&fx);
}

static void test_open_errors(void)
{
    char *path = temp_path();
    host_backend dummy = {NULL};
    host_backend *b = &dummy; /* must come back NULL */

    unlink(path);
    CHECK_EQ(hostfile_open(path, O_RDWR, 0, &b), -ENOENT);
    CHECK(b == NULL);
    CHECK_EQ(
        hostfile_open("/nonexistent-cowpoke/x", O_RDWR | O_CREAT, 0600, &b),
        -ENOENT);
    CHECK(b == NULL);
    CHECK_EQ(hostfile_open(path, O_RDWR | O_CREAT | O_APPEND, 0600, &b),
             -EINVAL);
    CHECK(b == NULL);
    CHECK_EQ(access(path, F_OK), -1); /* refused before creating */
    CHECK_EQ(hostfile_open(path, O_RDWR | O_CREAT | O_EXCL, 0600, &b), 0);
    host_destroy(b);
    CHECK_EQ(hostfile_open(path, O_RDWR | O_CREAT | O_EXCL, 0600, &b), -EEXIST);
    unlink(path);
    free(path);
}

static void test_next_data(void)
{
    fixture fx = fx_open();
    host_backend *b = fx.b;
    unsigned char data[4096];
    uint64_t start, end;

    fill(data, sizeof(data), 4);
    CHECK_EQ(host_pwrite(b, 4 * MiB, data, sizeof(data)), 0);
    CHECK_EQ(host_truncate(b, 8 * MiB), 0);
    CHECK_EQ(hostfile_next_data(b, 0, &start, &end), 0);
    /* The data extent holds 4 MiB; a file system without holes reports
     * everything as data. */
    CHECK(start <= 4 * MiB && end >= 4 * MiB + sizeof(data));
    CHECK(end <= 8 * MiB);
    if (start == 4 * MiB) { /* holes are known: nothing after the data */
        CHECK_EQ(hostfile_next_data(b, end, &start, &end), 0);
        CHECK_EQ(start, 8 * MiB);
        CHECK_EQ(end, 8 * MiB);
    }
    CHECK_EQ(hostfile_next_data(b, 9 * MiB, &start, &end), 0);
    CHECK_EQ(start, 8 * MiB);
    CHECK_EQ(end, 8 * MiB);
    fx_close(&fx);
}

static const unit_test tests[] = {
    UNIT(test_random_vs_flat), UNIT(test_eof_zero_fill), UNIT(test_truncate),
    UNIT(test_reopen),         UNIT(test_open_errors),   UNIT(test_next_data),
};

UNIT_MAIN(tests)
