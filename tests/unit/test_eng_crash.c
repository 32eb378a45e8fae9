/*
 * test_eng_crash.c - failure paths: host errors injected through the
 * event hook at every event kind (the request that hits one fails, the
 * others go on, the metadata stays consistent: leaks at most), and power
 * loss on the simulated host disk after a flush (flushed data survives,
 * every other sector holds its old value or one written since, and the
 * image is never corrupt).
 */
#include "hostdisk.h"
#include "test_eng_util.h"

#define SIZE (UINT64_C(1) << 20)
#define NOPS 40

typedef struct op {
    int kind; /* 0 write, 1 zero, 2 zero+unmap, 3 discard */
    uint64_t off, len, seed;
} op;

static void make_ops(op *ops, unsigned n, uint64_t seed)
{
    prng p = prng_seeded(seed);
    for (unsigned i = 0; i < n; i++) {
        uint64_t sectors = 1 + prng_below(&p, 24);
        ops[i].kind = prng_below(&p, 10) < 7 ? 0 : 1 + (int)prng_below(&p, 3);
        ops[i].len = sectors * 512;
        ops[i].off = prng_below(&p, SIZE / 512 - sectors) * 512;
        ops[i].seed = seed * 1000 + i;
    }
}

/* Run one op; apply it to ref when it succeeded. */
static int do_op(tenv *t, const op *o, uint8_t *ref, uint64_t cs)
{
    uint8_t *buf = malloc(o->len);
    int ret;
    tfill(buf, o->len, o->seed);
    if (o->kind == 0)
        ret = engsync_write(t->s, t->e, o->off, buf, o->len);
    else if (o->kind == 3)
        ret = engsync_discard(t->s, t->e, o->off, o->len);
    else
        ret = engsync_write_zeroes(t->s, t->e, o->off, o->len,
                                   o->kind == 2 ? ENG_ZERO_MAY_UNMAP : 0);
    if (ret == 0 && o->kind == 0)
        memcpy(ref + o->off, buf, o->len);
    else if (ret == 0 && o->kind != 3)
        memset(ref + o->off, 0, o->len);
    else if (ret == 0) {
        uint64_t a = (o->off + cs - 1) / cs * cs, b = (o->off + o->len) / cs * cs;
        if (a < b)
            memset(ref + a, 0, b - a);
    }
    free(buf);
    return ret;
}

static void setup(tenv *t, uint8_t *ref, uint64_t seed, unsigned cluster_bits)
{
    tenv_init(t);
    t->oo.l2_cache_tables = 2;
    t->oo.refblock_cache_blocks = 2;
    tfill(ref, SIZE / 2, seed);
    tenv_raw(t, "base", ref, SIZE / 2);
    memset(ref + SIZE / 2, 0, SIZE / 2);
    eng_create_opts o = {.size = SIZE, .cluster_bits = cluster_bits,
                         .backing = "base"};
    tenv_start(t, "img", &o);
}

/* ---- injected host errors ------------------------------------------------ */

typedef struct inject {
    eng_event ev;
    unsigned nth, seen;
    bool fired;
} inject;

static int inject_hook(void *opaque, sched *s, sched_req *r, eng_event ev)
{
    inject *in = opaque;
    (void)s;
    (void)r;
    if (ev != in->ev || in->fired || ++in->seen < in->nth)
        return 0;
    in->fired = true;
    return -EIO;
}

/* sectors a failed op touched may hold old or new data: don't compare */
static void mark_unknown(bool *unknown, const op *o)
{
    for (uint64_t s = o->off / 512; s < (o->off + o->len) / 512; s++)
        unknown[s] = true;
}

static unsigned fired_total;

static void fault_run(eng_event ev, unsigned nth, uint64_t seed,
                      unsigned cluster_bits)
{
    tenv t;
    uint8_t *ref = malloc(SIZE), *got = malloc(SIZE);
    bool *unknown = calloc(SIZE / 512, sizeof(bool));
    setup(&t, ref, seed, cluster_bits);
    op ops[NOPS];
    make_ops(ops, NOPS, seed);
    inject in = {.ev = ev, .nth = nth};
    sched_set_event_hook(t.s, inject_hook, &in);
    for (unsigned i = 0; i < NOPS; i++) {
        if (do_op(&t, &ops[i], ref, UINT64_C(1) << cluster_bits) < 0)
            mark_unknown(unknown, &ops[i]);
        else if (ops[i].kind == 0 || ops[i].kind == 1 || ops[i].kind == 2)
            for (uint64_t s = ops[i].off / 512;
                 s < (ops[i].off + ops[i].len) / 512; s++)
                unknown[s] = false;
        (void)engsync_read(t.s, t.e, ops[i].off, got, ops[i].len);
        if (i == NOPS / 2 && engsync_flush(t.s, t.e) < 0)
            memset(unknown, 1, SIZE / 512); /* a failed flush: anything */
    }
    int closed = tenv_close(&t);
    sched_set_event_hook(t.s, NULL, NULL);
    fired_total += in.fired;
    if (getenv("VERBOSE"))
        fprintf(stderr, "%s #%u fired %d\n", eng_event_name(ev), nth, in.fired);
    tcheck_image(t.img, true);
    CHECK_EQ(tenv_open(&t, "img"), 0);
    if (t.e && closed == 0) {
        CHECK_EQ(engsync_read(t.s, t.e, 0, got, SIZE), 0);
        for (uint64_t s = 0; s < SIZE / 512; s++) {
            if (!unknown[s] && memcmp(got + s * 512, ref + s * 512, 512)) {
                fprintf(stderr, "%s #%u: sector %llu differs\n",
                        eng_event_name(ev), nth, (unsigned long long)s);
                CHECK(0);
                break;
            }
        }
    }
    free(ref);
    free(got);
    free(unknown);
    tenv_fini(&t);
}

static void test_injected_errors(void)
{
    for (int ev = 0; ev < ENG_EV_COUNT; ev++)
        for (unsigned nth = 1; nth <= 3; nth++) {
            fault_run((eng_event)ev, nth, 100 + nth, 9);
            fault_run((eng_event)ev, nth, 200 + nth, 12);
        }
    /* most event kinds occur in this workload: the errors really hit */
    CHECK(fired_total >= 60);
}

/* Errors while the L1 and refcount tables grow: the image stays
 * consistent and keeps working. */
static void fault_growth(eng_event ev)
{
    tenv t;
    tenv_init(&t);
    eng_create_opts o = {.size = SIZE, .cluster_bits = 9};
    tenv_start(&t, "img", &o);
    inject in = {.ev = ev, .nth = 1};
    sched_set_event_hook(t.s, inject_hook, &in);
    uint8_t *buf = malloc(SIZE);
    tfill(buf, SIZE, 3);
    bool grown = engsync_truncate(t.s, t.e, 12 * SIZE) == 0;
    if (!grown)
        CHECK_EQ(engsync_truncate(t.s, t.e, 12 * SIZE), 0);
    for (uint64_t off = 0; off < 12 * SIZE; off += SIZE)
        (void)engsync_write(t.s, t.e, off, buf, SIZE);
    (void)tenv_close(&t);
    sched_set_event_hook(t.s, NULL, NULL);
    fired_total += in.fired;
    tcheck_image(t.img, true);
    CHECK_EQ(tenv_open(&t, "img"), 0);
    /* everything written after the error reads back */
    uint8_t *got = malloc(SIZE);
    CHECK_EQ(engsync_write(t.s, t.e, 11 * SIZE, buf, SIZE), 0);
    CHECK_EQ(engsync_read(t.s, t.e, 11 * SIZE, got, SIZE), 0);
    CHECK_MEM(got, buf, SIZE);
    CHECK_EQ(tenv_close(&t), 0);
    tcheck_image(t.img, true);
    free(buf);
    free(got);
    tenv_fini(&t);
}

static void test_injected_errors_growth(void)
{
    static const eng_event evs[] = {
        ENG_EV_L1_GROW_ALLOC_TABLE, ENG_EV_L1_GROW_WRITE_TABLE,
        ENG_EV_L1_GROW_ACTIVATE_TABLE, ENG_EV_REFTABLE_GROW,
        ENG_EV_REFBLOCK_ALLOC_WRITE_BLOCKS, ENG_EV_REFBLOCK_ALLOC_WRITE_TABLE,
        ENG_EV_REFBLOCK_ALLOC_SWITCH_TABLE, ENG_EV_REFBLOCK_ALLOC,
        ENG_EV_REFBLOCK_ALLOC_HOOKUP, ENG_EV_REFBLOCK_ALLOC_WRITE,
    };
    fired_total = 0;
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        fault_growth(evs[i]);
    CHECK_EQ(fired_total, sizeof(evs) / sizeof(evs[0]));
}

/* ---- power loss -------------------------------------------------------- */

static bool keep_random(void *opaque, uint64_t sector)
{
    (void)sector;
    return prng_chance(opaque, 1, 2);
}

static void crash_run(uint64_t seed)
{
    tenv t;
    uint8_t *ref = malloc(SIZE), *got = malloc(SIZE);
    setup(&t, ref, seed, 9);
    op ops[NOPS];
    make_ops(ops, NOPS, seed);
    for (unsigned i = 0; i < NOPS / 2; i++)
        CHECK_EQ(do_op(&t, &ops[i], ref, 512), 0);
    CHECK_EQ(engsync_flush(t.s, t.e), 0);
    /* snapshots of the reference after each unflushed op */
    uint8_t *snap = malloc(SIZE * (NOPS / 2 + 1));
    memcpy(snap, ref, SIZE);
    for (unsigned i = NOPS / 2; i < NOPS; i++) {
        CHECK_EQ(do_op(&t, &ops[i], ref, 512), 0);
        memcpy(snap + SIZE * (i - NOPS / 2 + 1), ref, SIZE);
    }
    prng p = prng_seeded(seed);
    hostdisk_power_loss(t.img, keep_random, &p);
    eng_destroy(t.e);
    t.e = NULL;
    tcheck_image(t.img, true);
    CHECK_EQ(tenv_open(&t, "img"), 0);
    CHECK_EQ(engsync_read(t.s, t.e, 0, got, SIZE), 0);
    for (uint64_t s = 0; s < SIZE / 512; s++) {
        bool legal = false;
        for (unsigned k = 0; k <= NOPS / 2 && !legal; k++)
            legal = memcmp(got + s * 512, snap + SIZE * k + s * 512, 512) == 0;
        if (!legal) {
            fprintf(stderr, "crash seed %llu: sector %llu holds a value never "
                    "written there\n", (unsigned long long)seed,
                    (unsigned long long)s);
            CHECK(0);
            break;
        }
    }
    free(snap);
    free(ref);
    free(got);
    tenv_fini(&t);
}

static void test_power_loss(void)
{
    for (uint64_t seed = 1; seed <= 40; seed++)
        crash_run(seed);
}

static const unit_test tests[] = {
    UNIT(test_injected_errors),
    UNIT(test_injected_errors_growth),
    UNIT(test_power_loss),
};

UNIT_MAIN(tests)
