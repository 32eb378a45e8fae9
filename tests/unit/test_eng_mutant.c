/*
 * test_eng_mutant.c - the zoo switches of the engine: the table, and for
 * each mutant a scenario in its historical circumstances that loses data
 * with the mutant on and is exact with it off:
 *   - avail_sectors: a discard makes a hole after a kept cluster; a write
 *     spanning kept + new + a partial cluster then runs past its
 *     allocation (over another guest cluster's data) and leaves the
 *     partial cluster unmapped;
 *   - alloc_no_serialize: two writes in flight into one unallocated
 *     cluster (FIFO interleaving: both copy-on-write reads happen before
 *     either L2 update); one write's data vanishes.
 */
#include "test_eng_util.h"

static void test_mutant_table(void)
{
    for (int m = 0; m < ENG_MUT_COUNT; m++) {
        const eng_mutant_info *in = eng_mutant_get((eng_mutant)m);
        CHECK(in && in->name && in->origin && in->mechanism);
        CHECK_EQ(eng_mutant_by_name(in->name), m);
    }
    CHECK_EQ(eng_mutant_by_name("no_such_mutant"), (uint64_t)-1);
    CHECK(eng_mutant_get(ENG_MUT_COUNT) == NULL);
    CHECK_EQ(eng_mutant_by_name("avail_sectors"), ENG_MUT_AVAIL_SECTORS);
    CHECK_EQ(eng_mutant_by_name("alloc_no_serialize"),
             ENG_MUT_ALLOC_NO_SERIALIZE);
}

#define CS (UINT64_C(64) * 1024)

typedef struct scen {
    tenv t;
    uint64_t size;
    uint8_t *ref, *got;
} scen;

/* A fresh image of `size` bytes (64 KiB clusters) with these mutants. */
static void scen_begin(scen *c, uint64_t mutants, uint64_t size)
{
    tenv_init(&c->t);
    c->t.oo.mutants = mutants;
    c->size = size;
    c->ref = calloc(1, size);
    c->got = malloc(size);
    eng_create_opts o = {.size = size};
    tenv_start(&c->t, "img", &o);
}

/* Read everything back; true when it equals the reference. The metadata
 * is clean (leaks allowed where the mutant may leak). */
static bool scen_end(scen *c, bool allow_leaks)
{
    CHECK_EQ(engsync_read(c->t.s, c->t.e, 0, c->got, c->size), 0);
    bool exact = memcmp(c->got, c->ref, c->size) == 0;
    CHECK_EQ(tenv_close(&c->t), 0);
    tcheck_image(c->t.img, allow_leaks);
    free(c->ref);
    free(c->got);
    tenv_fini(&c->t);
    return exact;
}

/* Returns true when the scenario read back exactly what was written. */
static bool avail_sectors_scenario(uint64_t mutants)
{
    scen c;
    scen_begin(&c, mutants, 16 * CS);
    tenv *t = &c.t;
    /* host layout: G0 at H, G5 at H+1, G6 at H+2 */
    const unsigned order[] = {0, 5, 6};
    for (unsigned i = 0; i < 3; i++) {
        uint64_t off = order[i] * CS;
        tfill(c.ref + off, CS, 10 + i);
        CHECK_EQ(engsync_write(t->s, t->e, off, c.ref + off, CS), 0);
    }
    /* the hole after H */
    CHECK_EQ(engsync_discard(t->s, t->e, 5 * CS, CS), 0);
    memset(c.ref + 5 * CS, 0, CS);
    /* kept G0 (from its middle) + new G1 + the first half of G2 */
    uint64_t off = CS / 2, len = 2 * CS;
    tfill(c.ref + off, len, 99);
    CHECK_EQ(engsync_write(t->s, t->e, off, c.ref + off, len), 0);
    return scen_end(&c, false);
}

static void test_avail_sectors(void)
{
    CHECK(avail_sectors_scenario(0));
    CHECK(!avail_sectors_scenario(ENG_MUTANT_BIT(ENG_MUT_AVAIL_SECTORS)));
    /* the other mutant does not matter here */
    CHECK(avail_sectors_scenario(ENG_MUTANT_BIT(ENG_MUT_ALLOC_NO_SERIALIZE)));
}

typedef struct wreq {
    eng *e;
    uint64_t off, len;
    const uint8_t *buf;
    int ret;
} wreq;

static void wreq_body(void *arg)
{
    wreq *w = arg;
    w->ret = eng_co_write(w->e, w->off, w->buf, w->len);
}

/* Two sub-cluster writes into one unallocated cluster, in flight together
 * under the given policy. True when both writes' data is there. */
static bool two_writes_scenario(uint64_t mutants, sched_policy pol,
                                uint64_t seed)
{
    scen c;
    scen_begin(&c, mutants, 4 * CS);
    tenv *t = &c.t;
    /* the L2 table exists already: the race is on the data cluster */
    uint8_t one = 1;
    CHECK_EQ(engsync_write(t->s, t->e, 3 * CS, &one, 1), 0);
    c.ref[3 * CS] = 1;
    sched_set_policy(t->s, pol, seed);
    wreq w[2] = {{t->e, CS + 0, 4096, NULL, 0}, {t->e, CS + 8192, 4096, NULL, 0}};
    for (unsigned i = 0; i < 2; i++) {
        tfill(c.ref + w[i].off, w[i].len, 7 + i);
        w[i].buf = c.ref + w[i].off;
        sched_spawn(t->s, wreq_body, &w[i], "write");
    }
    CHECK_EQ(sched_run_all(t->s), SCHED_IDLE);
    CHECK_EQ(w[0].ret, 0);
    CHECK_EQ(w[1].ret, 0);
    return scen_end(&c, true); /* the mutant loses data, not metadata */
}

static void test_alloc_no_serialize(void)
{
    uint64_t on = ENG_MUTANT_BIT(ENG_MUT_ALLOC_NO_SERIALIZE);
    CHECK(two_writes_scenario(0, SCHED_FIFO, 0));
    CHECK(!two_writes_scenario(on, SCHED_FIFO, 0));
    CHECK(two_writes_scenario(ENG_MUTANT_BIT(ENG_MUT_AVAIL_SECTORS),
                              SCHED_FIFO, 0));
    /* off: no interleaving loses data; on: some do */
    unsigned lost = 0;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        CHECK(two_writes_scenario(0, SCHED_RANDOM, seed));
        lost += !two_writes_scenario(on, SCHED_RANDOM, seed);
    }
    CHECK(lost > 0);
}

static const unit_test tests[] = {
    UNIT(test_mutant_table),
    UNIT(test_avail_sectors),
    UNIT(test_alloc_no_serialize),
};

UNIT_MAIN(tests)
