/*
 * test_shadow_mix.c - a seeded random mix of requests, one at a time,
 * checked against a flat byte array holding what the guest must read.
 *
 * Without concurrency, failures or crashes every sector has exactly one
 * legal value, so the model must agree with the array byte for byte: every
 * read of the array's bytes passes, and the same read with one bit flipped
 * fails at exactly that byte with one candidate. Six variants cover
 * versions 2 and 3, cluster sizes from 512 bytes to 64 KiB, and no backing
 * file, a backing file of datagen ranges (its length not a multiple of 512)
 * and a backing model (shorter than the overlay).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "shadow.h"
#include "unit.h"

#define CAP (256u * 1024u)
#define OPS 2500
#define SEED 0x5eedull

typedef struct mix {
    shadow *s, *base;
    uint8_t *ref; /* CAP bytes; [0, size) is the disk */
    uint64_t size;
    unsigned version;
    uint32_t cluster;
    bool backed;
    prng g;
    uint64_t req;
} mix;

/* A random range of the disk: sector-aligned, byte-granular, tiny, or
 * cluster-aligned. */
static uint64_t pick(mix *m, uint64_t *off)
{
    uint64_t len;

    switch (prng_below(&m->g, 4)) {
    case 0:
        *off = prng_below(&m->g, m->size / 512) * 512;
        len = (1 + prng_below(&m->g, 64)) * 512;
        break;
    case 1:
        *off = prng_below(&m->g, m->size);
        len = prng_below(&m->g, 20000);
        break;
    case 2:
        *off = prng_below(&m->g, m->size);
        len = 1 + prng_below(&m->g, 16);
        break;
    default:
        *off = prng_below(&m->g, m->size / m->cluster + 1) * m->cluster;
        len = (1 + prng_below(&m->g, 4)) * m->cluster;
        break;
    }
    if (*off > m->size)
        *off = m->size;
    return len < m->size - *off ? len : m->size - *off;
}

static void op_write(mix *m)
{
    uint64_t off, len = pick(m, &off), req = ++m->req;
    datagen_src src = prng_chance(&m->g, 1, 2)
                          ? datagen_seeded(SEED, req)
                          : datagen_pattern((uint8_t)prng_next(&m->g));

    CHECK_EQ(shadow_write_begin(m->s, req, req, off, len, &src), 0);
    CHECK_EQ(shadow_write_end(m->s, req, true), 0);
    datagen_fill(&src, off, m->ref + off, len);
}

static void op_zeroes(mix *m)
{
    uint64_t off, len = pick(m, &off), req = ++m->req;

    CHECK_EQ(
        shadow_zeroes_begin(m->s, req, req, off, len, prng_chance(&m->g, 1, 2)),
        0);
    CHECK_EQ(shadow_write_end(m->s, req, true), 0);
    memset(m->ref + off, 0, len);
}

static void op_discard(mix *m)
{
    uint64_t off, len = pick(m, &off), req = ++m->req, zoff;

    CHECK_EQ(shadow_discard_begin(m->s, req, req, off, len), 0);
    CHECK_EQ(shadow_write_end(m->s, req, true), 0);
    uint64_t zlen = shadow_discard_zeroed(m->version, m->backed, m->size,
                                          m->cluster, off, len, &zoff);
    memset(m->ref + zoff, 0, zlen);
}

static void op_truncate(mix *m)
{
    uint64_t size = (1 + prng_below(&m->g, CAP / 512)) * 512, req = ++m->req;

    CHECK_EQ(shadow_truncate(m->s, req, req, size), 0);
    if (size > m->size)
        memset(m->ref + m->size, 0, size - m->size);
    m->size = size;
}

static void op_flush(mix *m)
{
    uint64_t req = ++m->req;

    CHECK_EQ(shadow_flush_begin(m->s, req), 0);
    CHECK_EQ(shadow_flush_end(m->s, req, true), 0);
}

static void op_read(mix *m, uint8_t *buf)
{
    uint64_t off, len = pick(m, &off), req = ++m->req;
    shadow_verdict v;

    memcpy(buf, m->ref + off, len);
    CHECK_EQ(shadow_read_check(m->s, req, off, len, buf, &v), 0);
    CHECK(v.ok);
    if (len == 0)
        return;
    uint64_t k = prng_below(&m->g, len);
    buf[k] ^= (uint8_t)(1u << prng_below(&m->g, 8));
    CHECK_EQ(shadow_read_check(m->s, req, off, len, buf, &v), 0);
    CHECK(!v.ok);
    CHECK_EQ(v.off, off + k);
    CHECK_EQ(v.ncands, 1);
}

/* The backing file of a variant, and the array's initial bytes. */
static void setup_backing(mix *m, shadow_backing_kind kind, shadow_opts *o,
                          shadow_backing_range *r, size_t nr)
{
    o->backing.kind = kind;
    if (kind == SHADOW_BACKING_RANGES) {
        uint64_t at = 0, length = CAP * 3 / 4 + 123;
        for (size_t i = 0; i < nr; i++) {
            r[i].off = at + prng_below(&m->g, 8000);
            r[i].len = 1 + prng_below(&m->g, CAP / nr - 8000);
            r[i].src = prng_chance(&m->g, 1, 2)
                           ? datagen_seeded(SEED, 1000 + i)
                           : datagen_pattern((uint8_t)(i + 1));
            r[i].tag = i;
            at = r[i].off + r[i].len;
            uint64_t end = at < length ? at : length;
            if (r[i].off < end)
                datagen_fill(&r[i].src, r[i].off, m->ref + r[i].off,
                             end - r[i].off);
        }
        o->backing.length = length;
        o->backing.ranges = r;
        o->backing.nranges = nr;
    } else if (kind == SHADOW_BACKING_MODEL) {
        shadow_opts bo = {CAP / 2, 0, 3, {SHADOW_BACKING_NONE, 0, 0, 0, 0}};
        CHECK_EQ(shadow_create(&bo, &m->base), 0);
        m->s = m->base;
        m->size = CAP / 2;
        for (int i = 0; i < 20; i++)
            op_write(m);
        o->backing.length = CAP / 2;
        o->backing.model = m->base;
    }
    m->backed = kind != SHADOW_BACKING_NONE;
}

static void run_variant(unsigned version, shadow_backing_kind kind,
                        uint32_t cluster, uint64_t seed)
{
    mix m = {0};
    shadow_opts o = {CAP, cluster, version, {SHADOW_BACKING_NONE, 0, 0, 0, 0}};
    shadow_backing_range r[6];
    uint8_t *buf = malloc(CAP);

    m.ref = calloc(1, CAP);
    m.version = version;
    m.cluster = cluster;
    m.g = prng_seeded(seed);
    setup_backing(&m, kind, &o, r, 6);
    CHECK_EQ(shadow_create(&o, &m.s), 0);
    m.size = CAP;
    for (int i = 0; i < OPS; i++) {
        unsigned c = (unsigned)prng_below(&m.g, 100);
        if (c < 35)
            op_write(&m);
        else if (c < 45)
            op_zeroes(&m);
        else if (c < 57)
            op_discard(&m);
        else if (c < 60)
            op_truncate(&m);
        else if (c < 65)
            op_flush(&m);
        else
            op_read(&m, buf);
        if (i % 50 == 0)
            CHECK_EQ(shadow_check_invariants(m.s), 0);
    }
    shadow_verdict v;
    memcpy(buf, m.ref, m.size);
    CHECK_EQ(shadow_read_check(m.s, 0, 0, m.size, buf, &v), 0);
    CHECK(v.ok);
    shadow_stats st;
    shadow_get_stats(m.s, &st);
    CHECK_EQ(st.max_cands, 1);
    CHECK_EQ(st.undetermined, 0);
    shadow_destroy(m.s);
    shadow_destroy(m.base);
    free(m.ref);
    free(buf);
}

static void test_mix_v3_plain(void)
{
    run_variant(3, SHADOW_BACKING_NONE, 4096, 1);
}

static void test_mix_v2_ranges(void)
{
    run_variant(2, SHADOW_BACKING_RANGES, 512, 2);
}

static void test_mix_v3_model(void)
{
    run_variant(3, SHADOW_BACKING_MODEL, 65536, 3);
}

static void test_mix_v2_plain(void)
{
    run_variant(2, SHADOW_BACKING_NONE, 2048, 4);
}

static void test_mix_v3_ranges(void)
{
    run_variant(3, SHADOW_BACKING_RANGES, 4096, 5);
}

static void test_mix_v2_model(void)
{
    run_variant(2, SHADOW_BACKING_MODEL, 4096, 6);
}

static const unit_test tests[] = {
    UNIT(test_mix_v3_plain), UNIT(test_mix_v2_ranges), UNIT(test_mix_v3_model),
    UNIT(test_mix_v2_plain), UNIT(test_mix_v3_ranges), UNIT(test_mix_v2_model),
};

UNIT_MAIN(tests)
