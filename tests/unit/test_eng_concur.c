/*
 * test_eng_concur.c - requests in flight together: overlapping writes under
 * many SCHED_RANDOM seeds (each 512-byte sector equals one of the racing
 * writes' data; sectors only one write covers are exact), allocating
 * writes racing discards and write-zeroes, and reads racing writes; no
 * interleaving may deadlock or corrupt the metadata.
 */
#include "test_eng_util.h"

#define NREQ 6
#define AREA (UINT64_C(256) * 1024)

typedef struct areq {
    eng *e;
    int kind; /* 0 write, 1 discard, 2 zero (unmap), 3 read */
    uint64_t off, len;
    uint8_t *buf;
    int ret;
} areq;

static void areq_body(void *arg)
{
    areq *q = arg;
    switch (q->kind) {
    case 0: q->ret = eng_co_write(q->e, q->off, q->buf, q->len); break;
    case 1: q->ret = eng_co_discard(q->e, q->off, q->len); break;
    case 2:
        q->ret = eng_co_write_zeroes(q->e, q->off, q->len, ENG_ZERO_MAY_UNMAP);
        break;
    default: q->ret = eng_co_read(q->e, q->off, q->buf, q->len); break;
    }
}

/* Does sector s of the result equal sector s of some write in q[]? */
static bool sector_legal(const uint8_t *got, uint64_t s, const areq *q,
                         unsigned n, const uint8_t *before, unsigned *covering)
{
    uint64_t lo = s * 512;
    bool legal = false;
    *covering = 0;
    for (unsigned i = 0; i < n; i++) {
        if (lo < q[i].off || lo + 512 > q[i].off + q[i].len)
            continue;
        (*covering)++;
        if (memcmp(got + lo, q[i].buf + (lo - q[i].off), 512) == 0)
            legal = true;
    }
    if (*covering == 0)
        legal = memcmp(got + lo, before + lo, 512) == 0;
    return legal;
}

static void race_writes(unsigned cluster_bits, uint64_t seed, bool backing)
{
    tenv t;
    tenv_init(&t);
    sched_set_policy(t.s, SCHED_RANDOM, seed);
    uint8_t *before = calloc(1, AREA), *got = malloc(AREA);
    if (backing) {
        tfill(before, AREA - 4096, seed * 7);
        tenv_raw(&t, "base", before, AREA - 4096);
    }
    eng_create_opts o = {.size = AREA, .cluster_bits = cluster_bits,
                         .backing = backing ? "base" : NULL};
    tenv_start(&t, "img", &o);
    /* some clusters allocated beforehand: in-place and COW paths mix */
    prng p = prng_seeded(seed);
    for (unsigned i = 0; i < 3; i++) {
        uint64_t off = prng_below(&p, AREA / 512 - 16) * 512;
        tfill(before + off, 8 * 512, seed + 50 + i);
        CHECK_EQ(engsync_write(t.s, t.e, off, before + off, 8 * 512), 0);
    }
    areq q[NREQ];
    sched_req *r[NREQ];
    for (unsigned i = 0; i < NREQ; i++) {
        uint64_t sectors = 1 + prng_below(&p, 40);
        q[i] = (areq){.e = t.e, .kind = 0, .len = sectors * 512,
                      .off = prng_below(&p, AREA / 512 - sectors) * 512};
        q[i].buf = malloc(q[i].len);
        tfill(q[i].buf, q[i].len, seed * 100 + i);
        r[i] = sched_spawn(t.s, areq_body, &q[i], "write");
    }
    CHECK_EQ(sched_run_all(t.s), SCHED_IDLE);
    for (unsigned i = 0; i < NREQ; i++) {
        CHECK(sched_req_done(r[i]));
        CHECK_EQ(q[i].ret, 0);
    }
    for (int pass = 0; pass < 2; pass++) {
        CHECK_EQ(engsync_read(t.s, t.e, 0, got, AREA), 0);
        for (uint64_t s = 0; s < AREA / 512; s++) {
            unsigned cov;
            if (!sector_legal(got, s, q, NREQ, before, &cov)) {
                fprintf(stderr, "seed %llu sector %llu: %u writes cover it, "
                        "content matches none\n", (unsigned long long)seed,
                        (unsigned long long)s, cov);
                CHECK(0);
                break;
            }
        }
        if (pass == 0)
            CHECK_EQ(tenv_reopen(&t, "img"), 0);
    }
    CHECK_EQ(tenv_close(&t), 0);
    tcheck_image(t.img, false);
    for (unsigned i = 0; i < NREQ; i++)
        free(q[i].buf);
    free(before);
    free(got);
    tenv_fini(&t);
}

static void test_overlapping_writes_random(void)
{
    for (uint64_t seed = 1; seed <= 60; seed++) {
        race_writes(12, seed, false);
        race_writes(16, seed, seed % 2 == 0);
    }
}

/* Disjoint requests of every kind in flight together: the result is
 * exact whatever the interleaving. */
static void mixed_disjoint(uint64_t seed)
{
    tenv t;
    tenv_init(&t);
    t.oo.l2_cache_tables = 2;
    t.oo.refblock_cache_blocks = 2;
    sched_set_policy(t.s, SCHED_RANDOM, seed);
    const uint64_t cs = 4096, size = 64 * cs;
    uint8_t *ref = calloc(1, size), *got = malloc(size);
    eng_create_opts o = {.size = size, .cluster_bits = 12};
    tenv_start(&t, "img", &o);
    tfill(ref, size, seed);
    CHECK_EQ(engsync_write(t.s, t.e, 0, ref, size / 2), 0);
    memset(ref + size / 2, 0, size / 2);
    areq q[8];
    prng p = prng_seeded(seed);
    for (unsigned i = 0; i < 8; i++) {
        /* slot i: 8 clusters; requests share clusters at slot edges */
        uint64_t off = i * 8 * cs + (i % 2 ? 0 : cs / 2);
        q[i] = (areq){.e = t.e, .kind = (int)prng_below(&p, 4), .off = off,
                      .len = 6 * cs + 512 * prng_below(&p, 8)};
        q[i].buf = malloc(q[i].len);
        tfill(q[i].buf, q[i].len, seed + i);
        sched_spawn(t.s, areq_body, &q[i], "mixed");
    }
    CHECK_EQ(sched_run_all(t.s), SCHED_IDLE);
    for (unsigned i = 0; i < 8; i++) {
        CHECK_EQ(q[i].ret, 0);
        uint64_t a = (q[i].off + cs - 1) / cs * cs;
        uint64_t b = (q[i].off + q[i].len) / cs * cs;
        if (q[i].kind == 0)
            memcpy(ref + q[i].off, q[i].buf, q[i].len);
        else if (q[i].kind == 1 && a < b)
            memset(ref + a, 0, b - a);
        else if (q[i].kind == 2)
            memset(ref + q[i].off, 0, q[i].len);
    }
    /* reads saw the content from before the batch */
    for (unsigned i = 0; i < 8; i++)
        if (q[i].kind == 3)
            CHECK_MEM(q[i].buf, ref + q[i].off, q[i].len);
    CHECK_EQ(engsync_read(t.s, t.e, 0, got, size), 0);
    CHECK_MEM(got, ref, size);
    CHECK_EQ(tenv_close(&t), 0);
    tcheck_image(t.img, false);
    for (unsigned i = 0; i < 8; i++)
        free(q[i].buf);
    free(ref);
    free(got);
    tenv_fini(&t);
}

static void test_mixed_disjoint_random(void)
{
    for (uint64_t seed = 1; seed <= 80; seed++)
        mixed_disjoint(seed);
}

static const unit_test tests[] = {
    UNIT(test_overlapping_writes_random),
    UNIT(test_mixed_disjoint_random),
};

UNIT_MAIN(tests)
