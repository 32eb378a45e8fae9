/*
 * test_shadow_scale.c - the shadow model's cost and its limits: a long
 * history of overlapping sub-sector writes stays linear (counted through
 * the model's work counter, never timed), legal values multiplied down a
 * backing chain never overflow, an oversized candidate set degrades
 * soundly instead of refusing, and determined runs are judged as a whole
 * (with exact mismatch offsets).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shadow.h"
#include "shadow_int.h" /* the work counter */
#include "test_shadow_util.h"
#include "unit.h"

#define KB 1024ull
#define MB (1024ull * KB)

static shadow *mk(uint64_t size, shadow *backing, uint64_t blength)
{
    shadow_opts o = {size, 0, 3, {SHADOW_BACKING_NONE, 0, 0, 0, 0}};
    shadow *s = NULL;

    if (backing)
        o.backing = (shadow_backing){SHADOW_BACKING_MODEL, blength, backing,
                                     NULL, 0};
    CHECK_EQ(shadow_create(&o, &s), 0);
    return s;
}

static void put(shadow *s, uint64_t req, uint64_t off, uint64_t len,
                datagen_src src, bool ok)
{
    CHECK_EQ(shadow_write_begin(s, req, req, off, len, &src), 0);
    CHECK_EQ(shadow_write_end(s, req, ok), 0);
}

/*
 * The fuzzer's slow trace: n writes of one pattern, 2560 bytes at offsets 3
 * bytes apart, three in flight at a time, never flushed. Every write makes
 * new composite values of its head and tail sectors, and they all stay in
 * the history (a crash may bring any back). Returns the work it took.
 */
static uint64_t overlap_history(unsigned n)
{
    shadow *s = mk(11328 * KB, NULL, 0);
    datagen_src p = datagen_pattern(0x05);
    uint8_t buf[4096];

    for (unsigned i = 0; i < n; i += 3) {
        for (unsigned k = i; k < i + 3 && k < n; k++)
            CHECK_EQ(shadow_write_begin(s, k + 1, k, 13 * KB + 3 * k, 2560, &p),
                     0);
        for (unsigned k = i; k < i + 3 && k < n; k++)
            CHECK_EQ(shadow_write_end(s, k + 1, true), 0);
    }
    memset(buf, 0, sizeof(buf));
    memset(buf + 1024, 0x05, 2560 + 3 * (n - 1));
    CHECK(looks(s, 12 * KB, sizeof(buf), buf));
    buf[1024 + 2560 + 3 * (n - 1)] = 0x05; /* one byte too far */
    CHECK(!looks(s, 12 * KB, sizeof(buf), buf));
    CHECK_EQ(shadow_check_invariants(s), 0);
    uint64_t work = s->work;
    CHECK_EQ(shadow_crash(s), 0); /* every value since the start is legal */
    CHECK_EQ(shadow_check_invariants(s), 0);
    shadow_destroy(s);
    return work;
}

static void test_overlap_history_linear(void)
{
    uint64_t w32 = overlap_history(32), w64 = overlap_history(64);

    /* pairwise comparison of values or of the history grows with the
     * square of the writes (and each comparison with the pieces) */
    CHECK(w64 < 3 * w32);
    CHECK(w64 < 64 * 4000);
}

/*
 * Partial writes that fail keep both outcomes, so k of them over disjoint
 * bytes of one sector give 2^k legal values. Writes [req, req+k) at bytes
 * lo + 8i .. lo + 8i + 4 of sector 0.
 */
static void fail_writes(shadow *s, uint64_t req, unsigned k, unsigned lo,
                        uint8_t pat)
{
    for (unsigned i = 0; i < k; i++)
        put(s, req + i, lo + 8 * i, 4, datagen_pattern(pat), false);
}

/* A 2-deep chain whose sector 0 holds 64 values in base and in mid, with
 * three partial writes racing in top: the old model multiplied them into
 * 8 * 64 * 64 concrete values and refused the read (-E2BIG). */
static void test_chain_product(void)
{
    shadow *base = mk(64 * KB, NULL, 0);
    fail_writes(base, 1, 6, 0, 0xb0);
    shadow *mid = mk(64 * KB, base, 64 * KB);
    fail_writes(mid, 1, 6, 100, 0xa0);
    shadow *top = mk(64 * KB, mid, 64 * KB);
    datagen_src t = datagen_pattern(0x70);
    for (uint64_t k = 0; k < 3; k++)
        CHECK_EQ(shadow_write_begin(top, 10 + k, 0, 300 + 8 * k, 4, &t), 0);

    uint8_t buf[512] = {0};
    shadow_verdict v;
    CHECK(looks_v(top, 0, 512, buf, &v)); /* nothing took effect */
    memset(buf + 8, 0xb0, 4);             /* base's second failed write */
    memset(buf + 140, 0xa0, 4);           /* mid's sixth */
    memset(buf + 308, 0x70, 4);           /* top's second, in flight */
    CHECK(looks_v(top, 0, 512, buf, &v));
    buf[4] = 0xb0; /* no write touched byte 4 */
    CHECK(!looks_v(top, 0, 512, buf, &v));
    CHECK_EQ(v.off, 4);
    buf[4] = 0;
    memset(buf + 108, 0xb0, 4); /* base's pattern where only mid wrote */
    CHECK(!looks_v(top, 0, 512, buf, &v));
    CHECK_EQ(v.off, 108);
    for (uint64_t k = 0; k < 3; k++)
        CHECK_EQ(shadow_write_end(top, 10 + k, true), 0);
    CHECK_EQ(shadow_check_invariants(top), 0);
    shadow_destroy(top);
    shadow_destroy(mid);
    shadow_destroy(base);
}

/* 2^10 values and three racing partial writes: 8192 (value, mask) pairs,
 * past SHADOW_MAX_CANDS. The set degrades (wild where the values of one
 * mask disagree) and keeps checking the bytes they all agree on. */
static void test_degrade(void)
{
    shadow *s = mk(64 * KB, NULL, 0);
    datagen_src t = datagen_pattern(0x70);
    uint8_t buf[512] = {0};
    shadow_stats st;

    fail_writes(s, 1, 10, 0, 0xb0);
    for (uint64_t k = 0; k < 3; k++)
        CHECK_EQ(shadow_write_begin(s, 20 + k, 0, 200 + 8 * k, 4, &t), 0);
    CHECK_EQ(shadow_check_invariants(s), 0);
    shadow_get_stats(s, &st);
    CHECK(st.max_cands <= SHADOW_MAX_CANDS);
    memset(buf + 16, 0xb0, 4);
    memset(buf + 216, 0x70, 4);
    CHECK(looks(s, 0, 512, buf)); /* a legal outcome is never refused */
    buf[400] = 0x70;              /* bytes nobody wrote are still checked */
    CHECK(!looks(s, 0, 512, buf));
    buf[400] = 0;
    buf[208] = 0x71; /* so are the racing writes' bytes */
    CHECK(!looks(s, 0, 512, buf));
    for (uint64_t k = 0; k < 3; k++)
        CHECK_EQ(shadow_write_end(s, 20 + k, true), 0);
    for (unsigned k = 0; k < 3; k++) /* all three landed */
        memset(buf + 200 + 8 * k, 0x70, 4);
    CHECK(looks(s, 0, 512, buf));
    buf[209] = 0; /* the second has landed: its bytes are set */
    CHECK(!looks(s, 0, 512, buf));
    CHECK_EQ(shadow_check_invariants(s), 0);
    shadow_destroy(s);
}

/* Determined runs are judged whole: the work does not grow with the
 * sectors read, and a wrong byte is found at its exact offset. */
static void test_fast_runs(void)
{
    shadow *base = mk(4 * MB, NULL, 0);
    put(base, 1, 0, 3 * MB + 100, datagen_seeded(7, 1), true);
    shadow *s = mk(16 * MB, base, 4 * MB);
    put(s, 2, 1 * MB, 2 * MB, datagen_seeded(7, 2), true);
    put(s, 3, 5 * MB, 8 * MB, datagen_pattern(0x3c), true);
    uint64_t len = 14 * MB;
    uint8_t *buf = calloc(1, len);
    shadow_verdict v;

    CHECK(buf != NULL);
    datagen_src b1 = datagen_seeded(7, 1), s2 = datagen_seeded(7, 2);
    datagen_fill(&b1, 0, buf, 3 * MB + 100);
    datagen_fill(&s2, 1 * MB, buf + 1 * MB, 2 * MB);
    memset(buf + 5 * MB, 0x3c, 8 * MB);
    uint64_t w0 = s->work;
    CHECK(looks_v(s, 0, len, buf, &v));
    CHECK(s->work - w0 < 50); /* 28672 sectors, a handful of extents */
    uint64_t bad[] = {12345, 1 * MB + 777, 3 * MB + 99, 3 * MB + 100,
                      4 * MB + 1, 9 * MB + 511, 13 * MB + 3};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf[bad[i]] ^= 0x5a;
        CHECK(!looks_v(s, 0, len, buf, &v));
        CHECK_EQ(v.off, bad[i]);
        CHECK(looks_v(s, 0, bad[i], buf, &v)); /* up to it, all fine */
        buf[bad[i]] ^= 0x5a;
    }
    CHECK(looks_v(s, 3 * MB + 50, 100, buf + 3 * MB + 50, &v));
    free(buf);
    shadow_destroy(s);
    shadow_destroy(base);
}

static const unit_test tests[] = {
    UNIT(test_overlap_history_linear),
    UNIT(test_chain_product),
    UNIT(test_degrade),
    UNIT(test_fast_runs),
};

UNIT_MAIN(tests)
