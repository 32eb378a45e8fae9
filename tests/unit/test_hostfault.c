/*
 * test_hostfault.c - unit tests of the fault rules (models/faultrules.c)
 * and the host wrapper with capacity limit and injection
 * (models/hostfault.c).
 *
 * The wrapper sits on a hostdisk; each test that expects a failed call
 * takes a fingerprint of the disk (length, durable length, volatile
 * sectors, hash) before and compares it after, so "changes nothing" is
 * checked on the bytes. The rule tests call fault_rules_check directly
 * where the host is beside the point (events, ranges, order). A seeded
 * random op mix checks that the wrapper with no rule and no limit is
 * indistinguishable from a bare hostdisk.
 *
 * Ownership: every test creates and destroys its own wrappers, rule sets
 * and buffers; destroying a wrapper frees its hostdisk (ASan checks it).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "faultrules.h"
#include "hostdisk.h"
#include "hostfault.h"
#include "prng.h"
#include "unit.h"

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)

/* ---- helpers --------------------------------------------------------- */

static void fill(unsigned char *buf, size_t len, uint64_t seed)
{
    prng r = prng_seeded(seed);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(prng_next(&r) | 1); /* never zero */
}

/* A wrapper over a new hostdisk; *inner gets the disk (owned by it). */
static host_backend *wrapped(host_backend **inner)
{
    host_backend *d = hostdisk_create(), *w = NULL;
    CHECK(d != NULL);
    CHECK_EQ(hostfault_wrap(d, &w), 0);
    CHECK(w != NULL);
    *inner = d;
    return w;
}

/* Writes len bytes of pattern seed at off; returns the call's result. */
static int put(host_backend *b, uint64_t off, size_t len, uint64_t seed)
{
    unsigned char *buf = malloc(len ? len : 1);
    fill(buf, len, seed);
    int rc = host_pwrite(b, off, buf, len);
    free(buf);
    return rc;
}

/* Checks that [off, off + len) of b holds bytes [from, from + len) of
 * pattern seed. */
static void expect_part(host_backend *b, uint64_t off, size_t len,
                        uint64_t seed, size_t from)
{
    unsigned char *want = malloc(from + len), *got = malloc(len);
    fill(want, from + len, seed);
    CHECK_EQ(host_pread(b, off, got, len), 0);
    CHECK_MEM(got, want + from, len);
    free(want);
    free(got);
}

/* Checks that [off, off + len) of b holds pattern seed from its start. */
static void expect_pattern(host_backend *b, uint64_t off, size_t len,
                           uint64_t seed)
{
    expect_part(b, off, len, seed, 0);
}

typedef struct fingerprint {
    uint64_t size, dsize, hash;
    size_t vol;
} fingerprint;

static fingerprint print_of(host_backend *disk)
{
    fingerprint p = {host_size(disk), hostdisk_durable_size(disk),
                     hostdisk_hash(disk), hostdisk_volatile_sectors(disk)};
    return p;
}

static void expect_print(host_backend *disk, fingerprint was)
{
    fingerprint now = print_of(disk);
    CHECK_EQ(now.size, was.size);
    CHECK_EQ(now.dsize, was.dsize);
    CHECK_EQ(now.hash, was.hash);
    CHECK_EQ(now.vol, was.vol);
}

static fault_rule rule(fault_target t, int err, fault_mode m, uint64_t n)
{
    fault_rule u = {.target = t, .err = err, .mode = m, .n = n};
    return u;
}

static fault_rule ranged(fault_target t, int err, fault_mode m, uint64_t n,
                         uint64_t off, uint64_t len)
{
    fault_rule u = rule(t, err, m, n);
    u.has_range = true;
    u.off = off;
    u.len = len;
    return u;
}

static fault_rule_stats stats_of(const fault_rules *r, int id)
{
    fault_rule_stats st = {0};
    CHECK_EQ(fault_rules_get(r, id, NULL, &st), 0);
    return st;
}

/* ---- the wrapper itself ---------------------------------------------- */

static void test_wrap_ownership(void)
{
    host_backend *w = (host_backend *)&w, *inner;

    CHECK_EQ(hostfault_wrap(NULL, &w), -EINVAL);
    CHECK(w == NULL);
    w = wrapped(&inner);
    CHECK(hostfault_is(w));
    CHECK(!hostfault_is(inner));
    CHECK(!hostdisk_is(w));
    CHECK(hostfault_inner(w) == inner);
    CHECK(hostfault_rules(w) != NULL);
    CHECK_EQ(fault_rules_count(hostfault_rules(w)), 0);
    CHECK_EQ(hostfault_limit(w), 0);
    CHECK_EQ(put(w, 4 * KiB, 4 * KiB, 1), 0);
    CHECK_EQ(host_size(w), 8 * KiB);
    CHECK_EQ(host_size(inner), 8 * KiB);
    host_destroy(w); /* frees inner too: ASan reports a leak otherwise */
}

/* Inner's own errors come back unchanged and are not counted. */
static void test_inner_errors_pass(void)
{
    host_backend *inner, *w = wrapped(&inner);

    hostdisk_fail_allocs_after(inner, 0);
    CHECK_EQ(put(w, 0, 4 * KiB, 1), -ENOMEM);
    CHECK_EQ(hostfault_injected_count(w), 0);
    CHECK_EQ(hostfault_enospc_count(w), 0);
    hostdisk_fail_allocs_after(inner, -1);
    CHECK_EQ(put(w, 0, 4 * KiB, 1), 0);
    host_destroy(w);
}

/* ---- capacity limit -------------------------------------------------- */

static void test_limit_below_succeeds(void)
{
    host_backend *inner, *w = wrapped(&inner);

    hostfault_set_limit(w, 64 * KiB);
    CHECK_EQ(hostfault_limit(w), 64 * KiB);
    /* Into a hole past the end of the file, wholly below the limit. */
    CHECK_EQ(put(w, 40 * KiB, 8 * KiB, 1), 0);
    CHECK_EQ(host_size(w), 48 * KiB);
    /* Ending exactly at the limit. */
    CHECK_EQ(put(w, 60 * KiB, 4 * KiB, 2), 0);
    CHECK_EQ(put(w, 0, 4 * KiB, 3), 0);
    CHECK_EQ(host_size(w), 64 * KiB);
    expect_pattern(inner, 40 * KiB, 8 * KiB, 1);
    expect_pattern(inner, 60 * KiB, 4 * KiB, 2);
    expect_pattern(inner, 0, 4 * KiB, 3);
    CHECK_EQ(hostfault_enospc_count(w), 0);
    host_destroy(w);
}

static void test_limit_crossing_fails(void)
{
    host_backend *inner, *w = wrapped(&inner);

    CHECK_EQ(put(w, 0, 60 * KiB, 1), 0);
    hostfault_set_limit(w, 64 * KiB);
    fingerprint was = print_of(inner);
    CHECK_EQ(put(w, 56 * KiB, 16 * KiB, 2), -ENOSPC);
    CHECK_EQ(put(w, 64 * KiB, 1, 3), -ENOSPC);       /* first byte past */
    CHECK_EQ(put(w, UINT64_MAX - 1, 4, 4), -ENOSPC); /* off + len wraps */
    CHECK_EQ(put(w, 128 * KiB, 0, 5), 0);            /* writes no byte */
    expect_print(inner, was);
    expect_pattern(inner, 0, 60 * KiB, 1);
    CHECK_EQ(hostfault_enospc_count(w), 3);
    CHECK_EQ(hostfault_injected_count(w), 0);

    hostfault_grow(w, 8 * KiB);
    CHECK_EQ(hostfault_limit(w), 72 * KiB);
    CHECK_EQ(put(w, 56 * KiB, 16 * KiB, 2), 0);
    expect_pattern(inner, 56 * KiB, 16 * KiB, 2);
    CHECK_EQ(put(w, 72 * KiB - 1, 2, 6), -ENOSPC);
    CHECK_EQ(hostfault_enospc_count(w), 4);
    host_destroy(w);
}

/* Past a limit set below the current length: reads, flushes and
 * shrinking go on; writing or growing there fails. */
static void test_limit_below_length(void)
{
    host_backend *inner, *w = wrapped(&inner);
    unsigned char buf[4096];

    CHECK_EQ(put(w, 0, 64 * KiB, 1), 0);
    hostfault_set_limit(w, 16 * KiB);
    fingerprint was = print_of(inner);
    CHECK_EQ(put(w, 20 * KiB, 4 * KiB, 2), -ENOSPC); /* overwrite past */
    CHECK_EQ(host_truncate(w, 80 * KiB), -ENOSPC);   /* growth past */
    expect_print(inner, was);
    CHECK_EQ(host_pread(w, 60 * KiB, buf, sizeof(buf)), 0);
    CHECK_EQ(host_pread(w, 1 * MiB, buf, sizeof(buf)), 0); /* past eof */
    CHECK_EQ(host_flush(w), 0);
    CHECK_EQ(hostdisk_volatile_sectors(inner), 0);
    CHECK_EQ(host_truncate(w, 32 * KiB), 0); /* shrinks, still past */
    CHECK_EQ(host_truncate(w, 32 * KiB), 0); /* keeps the length */
    CHECK_EQ(host_size(inner), 32 * KiB);
    CHECK_EQ(put(w, 0, 16 * KiB, 3), 0);
    expect_pattern(inner, 0, 16 * KiB, 3);
    expect_part(inner, 16 * KiB, 16 * KiB, 1, 16 * KiB);
    CHECK_EQ(hostfault_enospc_count(w), 2);
    host_destroy(w);
}

static void test_limit_truncate(void)
{
    host_backend *inner, *w = wrapped(&inner);

    hostfault_set_limit(w, 64 * KiB);
    CHECK_EQ(put(w, 0, 8 * KiB, 1), 0);
    fingerprint was = print_of(inner);
    CHECK_EQ(host_truncate(w, 64 * KiB + 1), -ENOSPC);
    CHECK_EQ(host_truncate(w, UINT64_MAX), -ENOSPC);
    expect_print(inner, was);
    CHECK_EQ(hostfault_enospc_count(w), 2);
    CHECK_EQ(host_truncate(w, 64 * KiB), 0);
    CHECK_EQ(host_size(inner), 64 * KiB);
    hostfault_grow(w, 64 * KiB);
    CHECK_EQ(host_truncate(w, 128 * KiB), 0);
    CHECK_EQ(host_size(inner), 128 * KiB);
    CHECK_EQ(host_truncate(w, 0), 0);
    CHECK_EQ(host_size(inner), 0);
    host_destroy(w);
}

static void test_limit_none_and_grow(void)
{
    host_backend *inner, *w = wrapped(&inner);

    hostfault_grow(w, 4 * KiB); /* no limit: nothing to raise */
    CHECK_EQ(hostfault_limit(w), 0);
    CHECK_EQ(put(w, 1 * MiB, 4 * KiB, 1), 0);
    hostfault_set_limit(w, 4 * KiB);
    CHECK_EQ(put(w, 2 * MiB, 4 * KiB, 2), -ENOSPC);
    hostfault_set_limit(w, 0);
    CHECK_EQ(put(w, 2 * MiB, 4 * KiB, 2), 0);
    expect_pattern(inner, 2 * MiB, 4 * KiB, 2);
    hostfault_set_limit(w, UINT64_MAX - 10);
    hostfault_grow(w, 100);
    CHECK_EQ(hostfault_limit(w), UINT64_MAX);
    CHECK_EQ(hostfault_enospc_count(w), 1);
    host_destroy(w);
}

/* ---- rules through the wrapper --------------------------------------- */

static void test_rule_once(void)
{
    host_backend *inner, *w = wrapped(&inner);
    fault_rule u = rule(FAULT_WRITE, EIO, FAULT_ONCE, 0);
    int id = fault_rules_add(hostfault_rules(w), &u);

    CHECK(id >= 0);
    fingerprint was = print_of(inner);
    CHECK_EQ(put(w, 8 * KiB, 4 * KiB, 1), -EIO);
    expect_print(inner, was);
    CHECK_EQ(put(w, 8 * KiB, 4 * KiB, 1), 0);
    CHECK_EQ(put(w, 0, 4 * KiB, 2), 0);
    expect_pattern(inner, 8 * KiB, 4 * KiB, 1);
    fault_rule_stats st = stats_of(hostfault_rules(w), id);
    CHECK_EQ(st.matches, 3);
    CHECK_EQ(st.fired, 1);
    CHECK_EQ(st.first_off, 8 * KiB);
    CHECK_EQ(hostfault_injected_count(w), 1);
    CHECK_EQ(fault_rules_last_fired(hostfault_rules(w)), id);
    host_destroy(w);
}

/* Writes i = 0..5 at i * 64k through a wrapper with rule u; bit i of the
 * result is set when write i failed with u's errno. */
static unsigned write_six(const fault_rule *u, fault_rule_stats *st)
{
    host_backend *inner, *w = wrapped(&inner);
    int id = fault_rules_add(hostfault_rules(w), u);
    unsigned failed = 0;

    CHECK(id >= 0);
    for (unsigned i = 0; i < 6; i++) {
        int rc = put(w, i * 64 * KiB, 4 * KiB, i);
        CHECK(rc == 0 || rc == -u->err);
        if (rc)
            failed |= 1u << i;
        else
            expect_pattern(inner, i * 64 * KiB, 4 * KiB, i);
    }
    *st = stats_of(hostfault_rules(w), id);
    host_destroy(w);
    return failed;
}

static void test_rule_modes(void)
{
    fault_rule_stats st;
    fault_rule u = rule(FAULT_WRITE, EIO, FAULT_NTH, 3);

    CHECK_EQ(write_six(&u, &st), 1u << 2);
    CHECK_EQ(st.matches, 6);
    CHECK_EQ(st.fired, 1);
    CHECK_EQ(st.first_off, 128 * KiB);
    u = rule(FAULT_WRITE, ENOSPC, FAULT_AFTER, 3);
    CHECK_EQ(write_six(&u, &st), 0x3cu);
    CHECK_EQ(st.fired, 4);
    CHECK_EQ(st.first_off, 128 * KiB);
    CHECK_EQ(st.last_off, 320 * KiB);
    u = rule(FAULT_WRITE, EROFS, FAULT_ALWAYS, 0);
    CHECK_EQ(write_six(&u, &st), 0x3fu);
    CHECK_EQ(st.fired, 6);
    u = rule(FAULT_WRITE, EIO, FAULT_ONCE, 0);
    CHECK_EQ(write_six(&u, &st), 1u);
    u = ranged(FAULT_WRITE, EIO, FAULT_ALWAYS, 0, 64 * KiB, 128 * KiB + 1);
    CHECK_EQ(write_six(&u, &st), 0xeu); /* 64k, 128k, and 192k's 1st byte */
    CHECK_EQ(st.matches, 3);
}

/* A failed read leaves the caller's buffer alone; other targets pass. */
static void test_rule_targets(void)
{
    host_backend *inner, *w = wrapped(&inner);
    fault_rules *r = hostfault_rules(w);
    unsigned char buf[512];
    fault_rule u;

    u = rule(FAULT_READ, EIO, FAULT_ALWAYS, 0);
    int rd = fault_rules_add(r, &u);
    u = rule(FAULT_FLUSH, ENOSPC, FAULT_ALWAYS, 0);
    int fl = fault_rules_add(r, &u);
    u = rule(FAULT_TRUNCATE, EROFS, FAULT_ONCE, 0);
    int tr = fault_rules_add(r, &u);
    CHECK(rd >= 0 && fl >= 0 && tr >= 0);

    CHECK_EQ(put(w, 0, 8 * KiB, 1), 0); /* no write rule */
    memset(buf, 0xab, sizeof(buf));
    CHECK_EQ(host_pread(w, 0, buf, sizeof(buf)), -EIO);
    CHECK_EQ(buf[0], 0xab);
    CHECK_EQ(buf[sizeof(buf) - 1], 0xab);
    fingerprint was = print_of(inner);
    CHECK(was.vol > 0);
    CHECK_EQ(host_flush(w), -ENOSPC);
    CHECK_EQ(host_truncate(w, 4 * KiB), -EROFS);
    expect_print(inner, was); /* still volatile, still 8k long */
    CHECK_EQ(fault_rules_remove(r, fl), 0);
    CHECK_EQ(host_flush(w), 0);
    CHECK_EQ(hostdisk_volatile_sectors(inner), 0);
    CHECK_EQ(host_truncate(w, 4 * KiB), 0);
    CHECK_EQ(host_size(inner), 4 * KiB);
    CHECK_EQ(stats_of(r, rd).matches, 1);
    CHECK_EQ(stats_of(r, tr).matches, 2);
    CHECK_EQ(hostfault_injected_count(w), 3);
    host_destroy(w);
}

/* A truncate touches [min(old, new), max(old, new)). */
static void test_rule_truncate_range(void)
{
    host_backend *inner, *w = wrapped(&inner);
    fault_rule u =
        ranged(FAULT_TRUNCATE, EIO, FAULT_ALWAYS, 0, 1 * MiB, 4 * KiB);
    int id = fault_rules_add(hostfault_rules(w), &u);

    CHECK(id >= 0);
    CHECK_EQ(host_truncate(w, 512 * KiB), 0);  /* [0, 512k) */
    CHECK_EQ(host_truncate(w, 512 * KiB), 0);  /* empty */
    CHECK_EQ(host_truncate(w, 2 * MiB), -EIO); /* [512k, 2M) */
    CHECK_EQ(host_size(inner), 512 * KiB);
    CHECK_EQ(host_truncate(w, 1 * MiB), 0);        /* [512k, 1M) */
    CHECK_EQ(host_truncate(w, 1 * MiB + 1), -EIO); /* [1M, 1M + 1) */
    CHECK_EQ(host_truncate(w, 0), 0);              /* [0, 1M) */
    fault_rule_stats st = stats_of(hostfault_rules(w), id);
    CHECK_EQ(st.matches, 2);
    CHECK_EQ(st.first_off, 512 * KiB);
    CHECK_EQ(st.last_off, 1 * MiB);
    host_destroy(w);
}

/* Injection comes before the limit; each is counted as what it is. */
static void test_inject_before_limit(void)
{
    host_backend *inner, *w = wrapped(&inner);
    fault_rule u = rule(FAULT_WRITE, EIO, FAULT_ONCE, 0);

    CHECK(fault_rules_add(hostfault_rules(w), &u) >= 0);
    hostfault_set_limit(w, 4 * KiB);
    CHECK_EQ(put(w, 0, 8 * KiB, 1), -EIO);
    CHECK_EQ(put(w, 0, 8 * KiB, 1), -ENOSPC);
    CHECK_EQ(hostfault_injected_count(w), 1);
    CHECK_EQ(hostfault_enospc_count(w), 1);
    CHECK_EQ(host_size(inner), 0);
    host_destroy(w);
}

/* ---- rules on their own ---------------------------------------------- */

static void test_rule_range(void)
{
    fault_rules *r = fault_rules_create();
    fault_rule u =
        ranged(FAULT_WRITE, EIO, FAULT_ALWAYS, 0, 64 * KiB, 64 * KiB);
    int id = fault_rules_add(r, &u);

    CHECK(id >= 0);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 0, 64 * KiB), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 60 * KiB, 8 * KiB), -EIO);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 127 * KiB, KiB), -EIO);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 128 * KiB, 4 * KiB), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 80 * KiB, 0), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 0, UINT64_MAX), -EIO);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, UINT64_MAX - 1, 99), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_READ, 0, 64 * KiB, 1), 0);
    CHECK_EQ(stats_of(r, id).matches, 3);

    /* A range at the very top of the offset space. */
    u = ranged(FAULT_READ, EROFS, FAULT_ALWAYS, 0, UINT64_MAX - 1, 1);
    CHECK(fault_rules_add(r, &u) >= 0);
    CHECK_EQ(fault_rules_check(r, FAULT_READ, 0, UINT64_MAX - 9, 100), -EROFS);
    CHECK_EQ(fault_rules_check(r, FAULT_READ, 0, 0, UINT64_MAX - 1), 0);
    fault_rules_destroy(r);
}

static void test_event_rules(void)
{
    fault_rules *r = fault_rules_create();
    fault_rule u = rule(FAULT_EVENT, EIO, FAULT_ONCE, 0), got;

    u.event = 5;
    int a = fault_rules_add(r, &u);
    u = ranged(FAULT_EVENT, ENOSPC, FAULT_ALWAYS, 0, 0, 1); /* range ignored */
    u.event = 7;
    int b = fault_rules_add(r, &u);
    CHECK(a >= 0 && b >= 0);
    CHECK_EQ(fault_rules_get(r, b, &got, NULL), 0);
    CHECK(!got.has_range);
    CHECK_EQ(got.event, 7);

    CHECK_EQ(fault_rules_check(r, FAULT_EVENT, 6, 0, 0), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 5, 0, 4096), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_EVENT, 5, 0, 0), -EIO);
    CHECK_EQ(fault_rules_check(r, FAULT_EVENT, 5, 0, 0), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_EVENT, 7, 1 * MiB, 0), -ENOSPC);
    CHECK_EQ(fault_rules_check(r, FAULT_EVENT, 7, 0, 0), -ENOSPC);
    CHECK_EQ(stats_of(r, a).matches, 2);
    CHECK_EQ(stats_of(r, b).fired, 2);
    CHECK_EQ(fault_rules_last_fired(r), b);
    fault_rules_destroy(r);

    /* The host wrapper never matches event rules. */
    host_backend *inner, *w = wrapped(&inner);
    u = rule(FAULT_EVENT, EIO, FAULT_ALWAYS, 0);
    CHECK(fault_rules_add(hostfault_rules(w), &u) >= 0);
    CHECK_EQ(put(w, 0, 4 * KiB, 1), 0);
    CHECK_EQ(host_flush(w), 0);
    CHECK_EQ(hostfault_injected_count(w), 0);
    host_destroy(w);
}

/* Insertion order decides; every matching rule counts; a shadowed ONCE
 * rule loses its one chance. */
static void test_first_rule_wins(void)
{
    fault_rules *r = fault_rules_create();
    fault_rule u = ranged(FAULT_WRITE, EIO, FAULT_ALWAYS, 0, 0, 64 * KiB);
    int a = fault_rules_add(r, &u);
    u = rule(FAULT_WRITE, ENOSPC, FAULT_ALWAYS, 0);
    int b = fault_rules_add(r, &u);
    u = rule(FAULT_WRITE, EROFS, FAULT_ONCE, 0);
    int c = fault_rules_add(r, &u);

    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 0, 512), -EIO);
    CHECK_EQ(fault_rules_last_fired(r), a);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 128 * KiB, 512), -ENOSPC);
    CHECK_EQ(fault_rules_last_fired(r), b);
    CHECK_EQ(fault_rules_remove(r, b), 0);
    CHECK_EQ(fault_rules_last_fired(r), -1);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 128 * KiB, 512), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 0, 512), -EIO);

    fault_rule_stats sa = stats_of(r, a), sc = stats_of(r, c);
    CHECK_EQ(sa.matches, 2);
    CHECK_EQ(sa.fired, 2);
    CHECK_EQ(sc.matches, 4);
    CHECK_EQ(sc.fired, 0);
    CHECK_EQ(sc.shadowed, 1);
    fault_rules_destroy(r);
}

static const char *name_four(void *opaque, int event)
{
    (void)opaque;
    return event == 4 ? "l2_update" : NULL;
}

static void test_describe(void)
{
    fault_rules *r = fault_rules_create();
    char buf[1024], small[12];
    fault_rule u = ranged(FAULT_WRITE, EIO, FAULT_NTH, 3, 0x30000, 0x10000);
    int a = fault_rules_add(r, &u);
    u = rule(FAULT_FLUSH, ENOSPC, FAULT_ALWAYS, 0);
    fault_rules_add(r, &u);
    u = rule(FAULT_EVENT, EROFS, FAULT_AFTER, 2);
    u.event = 4;
    fault_rules_add(r, &u);
    u = rule(FAULT_EVENT, EIO, FAULT_ONCE, 0);
    u.event = 9;
    fault_rules_add(r, &u);
    u = rule(FAULT_WRITE, EIO, FAULT_AFTER, 4);
    fault_rules_add(r, &u);

    for (uint64_t i = 0; i < 5; i++)
        fault_rules_check(r, FAULT_WRITE, 0, 0x30000 + i * 0x1000, 512);
    fault_rules_check(r, FAULT_FLUSH, 0, 0, 0);
    fault_rules_check(r, FAULT_FLUSH, 0, 0, 0);
    for (int i = 0; i < 3; i++)
        fault_rules_check(r, FAULT_EVENT, 4, 0, 0);

    const char *want =
        "inject write errno=EIO once nth=3 off=0x30000 len=0x10000"
        " # 5 matches, fired once at host offset 0x32000\n"
        "inject flush errno=ENOSPC # 2 matches, fired 2 times\n"
        "inject l2_update errno=EROFS nth=2 # 3 matches, fired 2 times\n"
        "inject event#9 errno=EIO once # 0 matches, never fired\n"
        "inject write errno=EIO nth=4 # 5 matches, fired 2 times,"
        " first at host offset 0x33000, last at 0x34000\n";
    int n = fault_rules_describe(r, name_four, NULL, buf, sizeof(buf));
    CHECK_EQ(n, strlen(want));
    CHECK(strcmp(buf, want) == 0);
    CHECK_EQ(fault_rules_describe(r, name_four, NULL, NULL, 0), n);
    CHECK_EQ(fault_rules_describe(r, name_four, NULL, small, sizeof(small)), n);
    CHECK(memcmp(small, want, sizeof(small) - 1) == 0);
    CHECK_EQ(small[sizeof(small) - 1], '\0');

    fault_rules_check(r, FAULT_WRITE, 0, 0x31000, 512); /* e fires again */
    n = fault_rules_describe_rule(r, a, NULL, NULL, buf, sizeof(buf));
    CHECK(strcmp(buf, "inject write errno=EIO once nth=3 off=0x30000"
                      " len=0x10000 # 6 matches, fired once at host"
                      " offset 0x32000") == 0);
    CHECK_EQ(n, strlen(buf));
    fault_rules_describe_rule(r, fault_rules_id_at(r, 4), NULL, NULL, buf,
                              sizeof(buf));
    CHECK(strcmp(buf, "inject write errno=EIO nth=4 # 6 matches, fired 3"
                      " times, first at host offset 0x33000, last at"
                      " 0x31000") == 0);

    /* A ONCE flush rule behind an ALWAYS one is shadowed at its chance. */
    u = rule(FAULT_FLUSH, EIO, FAULT_ONCE, 0);
    int f = fault_rules_add(r, &u);
    CHECK_EQ(fault_rules_check(r, FAULT_FLUSH, 0, 0, 0), -ENOSPC);
    fault_rules_describe_rule(r, f, NULL, NULL, buf, sizeof(buf));
    CHECK(strcmp(buf, "inject flush errno=EIO once # 1 match, never fired,"
                      " shadowed once") == 0);
    CHECK_EQ(fault_rules_describe_rule(r, 99, NULL, NULL, buf, sizeof(buf)),
             -ENOENT);
    fault_rules_clear(r);
    CHECK_EQ(fault_rules_describe(r, NULL, NULL, buf, sizeof(buf)), 0);
    CHECK_EQ(buf[0], '\0');
    fault_rules_destroy(r);
}

static void test_add_remove_full(void)
{
    fault_rules *r = fault_rules_create();
    fault_rule u = rule(FAULT_WRITE, EIO, FAULT_ALWAYS, 0), got;

    for (int i = 0; i < FAULT_RULES_MAX; i++) {
        u.err = 1 + i;
        CHECK_EQ(fault_rules_add(r, &u), i);
    }
    CHECK_EQ(fault_rules_add(r, &u), -E2BIG);
    CHECK_EQ(fault_rules_count(r), FAULT_RULES_MAX);
    CHECK_EQ(fault_rules_remove(r, 5), 0);
    CHECK_EQ(fault_rules_remove(r, 5), -ENOENT);
    CHECK_EQ(fault_rules_get(r, 5, &got, NULL), -ENOENT);
    CHECK_EQ(fault_rules_count(r), FAULT_RULES_MAX - 1);
    CHECK_EQ(fault_rules_id_at(r, 4), 4);
    CHECK_EQ(fault_rules_id_at(r, 5), 6);
    CHECK_EQ(fault_rules_get(r, 6, &got, NULL), 0);
    CHECK_EQ(got.err, 7);
    CHECK_EQ(fault_rules_add(r, &u), FAULT_RULES_MAX); /* ids not reused */
    CHECK_EQ(fault_rules_id_at(r, FAULT_RULES_MAX - 1), FAULT_RULES_MAX);
    /* Removing rule 0 hands the check to rule 1. */
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 0, 1), -1);
    CHECK_EQ(fault_rules_remove(r, 0), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 0, 1), -2);
    CHECK_EQ(stats_of(r, 1).matches, 2);
    fault_rules_clear(r);
    CHECK_EQ(fault_rules_count(r), 0);
    CHECK_EQ(fault_rules_check(r, FAULT_WRITE, 0, 0, 1), 0);
    CHECK_EQ(fault_rules_add(r, &u), FAULT_RULES_MAX + 1);
    fault_rules_destroy(r);
}

static void test_add_invalid(void)
{
    fault_rules *r = fault_rules_create();
    fault_rule u, got;

    u = rule(FAULT_WRITE, 0, FAULT_ALWAYS, 0);
    CHECK_EQ(fault_rules_add(r, &u), -EINVAL);
    u.err = -EIO;
    CHECK_EQ(fault_rules_add(r, &u), -EINVAL);
    u.err = FAULT_ERRNO_MAX + 1;
    CHECK_EQ(fault_rules_add(r, &u), -EINVAL);
    u = rule(FAULT_WRITE, EIO, FAULT_NTH, 0);
    CHECK_EQ(fault_rules_add(r, &u), -EINVAL);
    u = rule(FAULT_WRITE, EIO, FAULT_AFTER, 0);
    CHECK_EQ(fault_rules_add(r, &u), -EINVAL);
    u = rule((fault_target)99, EIO, FAULT_ALWAYS, 0);
    CHECK_EQ(fault_rules_add(r, &u), -EINVAL);
    u = rule(FAULT_WRITE, EIO, (fault_mode)99, 0);
    CHECK_EQ(fault_rules_add(r, &u), -EINVAL);
    u = ranged(FAULT_READ, EIO, FAULT_ALWAYS, 0, 0, 0);
    CHECK_EQ(fault_rules_add(r, &u), -EINVAL);
    u = ranged(FAULT_READ, EIO, FAULT_ALWAYS, 0, UINT64_MAX, 1);
    CHECK_EQ(fault_rules_add(r, &u), -EINVAL);
    CHECK_EQ(fault_rules_count(r), 0);

    /* ONCE and ALWAYS store n as 0; FLUSH drops its range. */
    u = rule(FAULT_WRITE, EIO, FAULT_ONCE, 7);
    int id = fault_rules_add(r, &u);
    CHECK_EQ(id, 0);
    CHECK_EQ(fault_rules_get(r, id, &got, NULL), 0);
    CHECK_EQ(got.n, 0);
    u = ranged(FAULT_FLUSH, EIO, FAULT_ALWAYS, 0, 0, 0);
    id = fault_rules_add(r, &u);
    CHECK_EQ(id, 1);
    CHECK_EQ(fault_rules_get(r, id, &got, NULL), 0);
    CHECK(!got.has_range);
    fault_rules_destroy(r);
}

/* ---- pass-through ---------------------------------------------------- */

/* Keeps a pseudo-random half of the volatile sectors at power loss; the
 * same answer for the same sector on both disks. */
static bool keep_half(void *opaque, uint64_t sector)
{
    prng p = prng_seeded(sector ^ *(const uint64_t *)opaque);
    return prng_next(&p) & 1;
}

/* One random op on both backends; their results must agree. */
static void mix_step(prng *g, host_backend *w, host_backend *bare,
                     unsigned char *a, unsigned char *b, uint64_t step)
{
    uint64_t off = prng_below(g, 2 * MiB);
    size_t len = (size_t)prng_below(g, 64 * KiB + 1);
    unsigned op = (unsigned)prng_below(g, 20);

    if (op < 9) {
        fill(a, len, step);
        CHECK_EQ(host_pwrite(w, off, a, len), host_pwrite(bare, off, a, len));
    } else if (op < 16) {
        CHECK_EQ(host_pread(w, off, a, len), host_pread(bare, off, b, len));
        CHECK_MEM(a, b, len);
    } else if (op < 18) {
        CHECK_EQ(host_flush(w), host_flush(bare));
    } else if (op < 19) {
        CHECK_EQ(host_truncate(w, off), host_truncate(bare, off));
    } else {
        hostdisk_power_loss(hostfault_inner(w), keep_half, &step);
        hostdisk_power_loss(bare, keep_half, &step);
    }
    CHECK_EQ(host_size(w), host_size(bare));
}

/* With `quiet` set, the wrapper has a far limit and rules that never
 * match: it must still pass everything through. */
static void passthrough_run(uint64_t seed, bool quiet)
{
    host_backend *inner, *w = wrapped(&inner), *bare = hostdisk_create();
    unsigned char *a = malloc(64 * KiB), *b = malloc(64 * KiB);
    prng g = prng_seeded(seed);

    if (quiet) {
        fault_rule u =
            ranged(FAULT_WRITE, EIO, FAULT_ALWAYS, 0, 1ull << 40, 4 * KiB);
        CHECK(fault_rules_add(hostfault_rules(w), &u) >= 0);
        u = rule(FAULT_EVENT, EIO, FAULT_ALWAYS, 0);
        CHECK(fault_rules_add(hostfault_rules(w), &u) >= 0);
        hostfault_set_limit(w, 1ull << 40);
    }
    for (uint64_t step = 0; step < 2000; step++)
        mix_step(&g, w, bare, a, b, step);
    fingerprint want = print_of(bare);
    expect_print(inner, want);
    CHECK(want.size > 0);
    CHECK_EQ(hostfault_injected_count(w), 0);
    CHECK_EQ(hostfault_enospc_count(w), 0);
    free(a);
    free(b);
    host_destroy(bare);
    host_destroy(w);
}

static void test_passthrough(void)
{
    passthrough_run(0x5eed, false);
    passthrough_run(0xc0ffee, true);
}

static const unit_test tests[] = {
    UNIT(test_wrap_ownership),       UNIT(test_inner_errors_pass),
    UNIT(test_limit_below_succeeds), UNIT(test_limit_crossing_fails),
    UNIT(test_limit_below_length),   UNIT(test_limit_truncate),
    UNIT(test_limit_none_and_grow),  UNIT(test_rule_once),
    UNIT(test_rule_modes),           UNIT(test_rule_targets),
    UNIT(test_rule_truncate_range),  UNIT(test_inject_before_limit),
    UNIT(test_rule_range),           UNIT(test_event_rules),
    UNIT(test_first_rule_wins),      UNIT(test_describe),
    UNIT(test_add_remove_full),      UNIT(test_add_invalid),
    UNIT(test_passthrough),
};

UNIT_MAIN(tests)
