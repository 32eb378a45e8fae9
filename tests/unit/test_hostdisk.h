/*
 * test_hostdisk.h - helpers shared by the simulated host disk's unit tests
 * (test_hostdisk.c: the rules, against a flat reference; test_hostdisk_mem.c:
 * memory, pools, no-op writes and failure injection). Header-only, every
 * function static inline; the tests' CHECK macros come from unit.h.
 *
 * Ownership: put() and temp_path() hand their results to the caller; a
 * keeper owns its arrays (keeper_free).
 */
#ifndef COWPOKE_TEST_HOSTDISK_H
#define COWPOKE_TEST_HOSTDISK_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "hostdisk.h"
#include "prng.h"
#include "unit.h"

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define TiB ((uint64_t)1 << 40)
#define SECTOR HOSTDISK_SECTOR_SIZE

/* ---- helpers --------------------------------------------------------- */

/* In [0, n); 0 when n is 0. */
static inline uint64_t below(prng *r, uint64_t n)
{
    return n ? prng_below(r, n) : 0;
}

static inline void fill(unsigned char *buf, size_t len, uint64_t seed)
{
    prng r = prng_seeded(seed);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(prng_next(&r) | 1); /* never zero */
}

static inline bool all_bytes(const unsigned char *buf, size_t len,
                             unsigned char c)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != c)
            return false;
    return true;
}

static inline host_backend *new_disk(void)
{
    host_backend *b = hostdisk_create();
    CHECK(b != NULL);
    CHECK(hostdisk_is(b));
    return b;
}

/* Writes len bytes of pattern `seed` at off; returns the pattern in *out
 * (caller frees) when out is not NULL. */
static inline void put(host_backend *b, uint64_t off, size_t len, uint64_t seed,
                       unsigned char **out)
{
    unsigned char *buf = malloc(len);
    fill(buf, len, seed);
    CHECK_EQ(host_pwrite(b, off, buf, len), 0);
    if (out)
        *out = buf;
    else
        free(buf);
}

/* Checks that [off, off + len) of the current view equals want. */
static inline void expect(host_backend *b, uint64_t off, const void *want,
                          size_t len)
{
    unsigned char *got = malloc(len);
    memset(got, 0xa5, len);
    CHECK_EQ(host_pread(b, off, got, len), 0);
    CHECK_MEM(got, want, len);
    free(got);
}

/* Checks that [off, off + len) reads as zeroes, current or durable view. */
static inline void expect_zero(host_backend *b, uint64_t off, size_t len,
                               bool durable)
{
    unsigned char *got = malloc(len);
    memset(got, 0xa5, len);
    if (durable)
        CHECK_EQ(hostdisk_pread_durable(b, off, got, len), 0);
    else
        CHECK_EQ(host_pread(b, off, got, len), 0);
    CHECK(all_bytes(got, len, 0));
    free(got);
}

/* A keep() that records its calls and answers from a policy. */
typedef struct keeper {
    int mode; /* 0 none, 1 all, 2 odd sectors, 3 random */
    prng r;
    uint64_t *sectors;
    bool *kept;
    size_t n, cap;
} keeper;

static inline bool keeper_keep(void *opaque, uint64_t sector)
{
    keeper *k = opaque;
    bool keep = k->mode == 1   ? true
                : k->mode == 2 ? (sector & 1) != 0
                : k->mode == 3 ? (prng_next(&k->r) & 1) != 0
                               : false;
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 64;
        k->sectors = realloc(k->sectors, k->cap * sizeof(*k->sectors));
        k->kept = realloc(k->kept, k->cap * sizeof(*k->kept));
    }
    k->sectors[k->n] = sector;
    k->kept[k->n++] = keep;
    return keep;
}

static inline void keeper_free(keeper *k)
{
    free(k->sectors);
    free(k->kept);
}

/* hostdisk_hash's definition (hostdisk.h), computed from flat bytes. */
static inline uint64_t flat_hash(const unsigned char *flat, size_t len)
{
    static const unsigned char zero[4096];
    XXH3_state_t *st = XXH3_createState();
    unsigned char le[8];

    XXH3_64bits_reset(st);
    for (size_t off = 0; off < len; off += 4096) {
        size_t n = len - off < 4096 ? len - off : 4096;
        if (memcmp(flat + off, zero, n) == 0)
            continue;
        for (int i = 0; i < 8; i++)
            le[i] = (unsigned char)((off / 4096) >> (8 * i));
        XXH3_64bits_update(st, le, 8);
        XXH3_64bits_update(st, flat + off, n);
    }
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)len >> (8 * i));
    XXH3_64bits_update(st, le, 8);
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

static inline char *temp_path(void)
{
    char *path = strdup("/tmp/cowpoke-hostdisk-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    return path;
}

/* What a failed call must leave untouched. */
typedef struct snapshot {
    uint64_t hash, size, dsize, durable_hash;
    size_t vol, mem;
} snapshot;

static inline snapshot snap(host_backend *b)
{
    snapshot s = {hostdisk_hash(b),
                  host_size(b),
                  hostdisk_durable_size(b),
                  0,
                  hostdisk_volatile_sectors(b),
                  hostdisk_mem_bytes(b)};
    size_t n = (size_t)(s.dsize < 64 * KiB ? s.dsize : 64 * KiB);
    unsigned char *buf = malloc(n + 1);
    CHECK_EQ(hostdisk_pread_durable(b, 0, buf, n), 0);
    s.durable_hash = XXH3_64bits(buf, n);
    free(buf);
    return s;
}

static inline void expect_snap(host_backend *b, const snapshot *want)
{
    snapshot got = snap(b);
    CHECK_EQ(got.hash, want->hash);
    CHECK_EQ(got.size, want->size);
    CHECK_EQ(got.dsize, want->dsize);
    CHECK_EQ(got.durable_hash, want->durable_hash);
    CHECK_EQ(got.vol, want->vol);
    CHECK_EQ(got.mem, want->mem);
}

/* A disk with flushed and volatile data on its first pages. */
static inline host_backend *seeded_disk(void)
{
    host_backend *b = new_disk();
    put(b, 0, 6000, 100, NULL);
    CHECK_EQ(host_flush(b), 0);
    put(b, 5000, 3000, 101, NULL);
    return b;
}

#endif
