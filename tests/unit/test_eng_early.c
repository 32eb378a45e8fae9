/*
 * test_eng_early.c - the early_completion mutant at engine level
 * (tests/regress/zoo_early_completion*.io show it through the executor):
 * its bounced, detached read path and what must hold around it.
 *
 * Covers: one read alone is exact with the mutant on (it does not corrupt
 * the moment it is switched on); two reads in flight are exact with it off
 * and, with it on, the second completes on the first one's completion with
 * its host read still pending, showing the bounce buffer's stale bytes
 * (zeroes of a fresh buffer, or an earlier read's bytes); close drains a
 * pending read; eng_destroy with a read pending orphans its buffer, which
 * the scheduler's cancellation frees (LeakSanitizer and ASan watch both
 * orders of teardown, and a request abandoned while it waits for its
 * read); an error injected at read_aio reaches the guest
 * and the bounce buffer is reused after it.
 */
#include "test_eng_util.h"

#define CS (UINT64_C(64) * 1024)
#define KB(n) ((uint64_t)(n) * 1024)
#define ON ENG_MUTANT_BIT(ENG_MUT_EARLY_COMPLETION)

/* An image of 1 MiB with 0x11 in cluster 0 and 0x22 in cluster 1. */
static void estart(tenv *t, uint64_t mutants)
{
    tenv_init(t);
    t->oo.mutants = mutants;
    eng_create_opts o = {.size = UINT64_C(1) << 20};
    tenv_start(t, "img", &o);
    uint8_t *buf = malloc(2 * CS);
    memset(buf, 0x11, CS);
    memset(buf + CS, 0x22, CS);
    CHECK_EQ(engsync_write(t->s, t->e, 0, buf, 2 * CS), 0);
    free(buf);
}

typedef struct rreq {
    eng *e;
    uint64_t off;
    uint8_t buf[KB(4)];
    int ret;
    bool done;
} rreq;

static void rreq_body(void *arg)
{
    rreq *q = arg;
    memset(q->buf, 0xa5, sizeof(q->buf));
    q->ret = eng_co_read(q->e, q->off, q->buf, sizeof(q->buf));
    q->done = true;
}

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static void test_single_read_exact(void)
{
    tenv t;
    estart(&t, ON);
    uint8_t buf[KB(4)];
    for (int i = 0; i < 4; i++) { /* the buffer is reused between them */
        uint64_t off = (uint64_t)(i & 1) * CS;
        CHECK_EQ(engsync_read(t.s, t.e, off, buf, sizeof(buf)), 0);
        CHECK(all(buf, sizeof(buf), (i & 1) ? 0x22 : 0x11));
    }
    CHECK_EQ(sched_detached_pending(t.s), 0);
    tenv_fini(&t);
}

/* Two reads in flight (FIFO): the bytes the second one got. */
static uint8_t two_reads(uint64_t mutants, size_t *pending_at_end)
{
    tenv t;
    estart(&t, mutants);
    rreq a = {t.e, CS, {0}, 1, false}, b = {t.e, 0, {0}, 1, false};
    sched_spawn(t.s, rreq_body, &a, "A");
    sched_req *rb = sched_spawn(t.s, rreq_body, &b, "B");
    CHECK_EQ(sched_run_until_done(t.s, rb), SCHED_OK);
    *pending_at_end = sched_detached_pending(t.s);
    CHECK_EQ(sched_run_all(t.s), SCHED_IDLE);
    CHECK(a.done && a.ret == 0 && all(a.buf, sizeof(a.buf), 0x22));
    CHECK_EQ(b.ret, 0);
    CHECK(all(b.buf, sizeof(b.buf), b.buf[0]));
    uint8_t got = b.buf[0];
    tenv_fini(&t);
    return got;
}

static void test_two_reads(void)
{
    size_t pending;
    CHECK_EQ(two_reads(0, &pending), 0x11);
    CHECK_EQ(pending, 0);
    /* on: B finished with its host read still in flight, and got the
     * zeroes of a fresh bounce buffer */
    CHECK_EQ(two_reads(ON, &pending), 0x00);
    CHECK_EQ(pending, 1);
}

/* The event hook: park the first request that announces read_aio. */
typedef struct holdst {
    sched_req *held;
} holdst;

static int hold_first(void *opaque, sched *s, sched_req *r, eng_event ev)
{
    holdst *h = opaque;
    if (ev != ENG_EV_READ_AIO || h->held)
        return 0;
    h->held = r;
    sched_co_park(s, "held at read_aio");
    return 0;
}

static bool is_held(void *h)
{
    return ((holdst *)h)->held != NULL;
}

/* The regress script's order: a read of cluster 0 leaves 0x11 in the
 * bounce buffer; A (cluster 1) takes it and is held at read_aio; B
 * (cluster 0) submits first; A is let go. The bytes A got. */
static uint8_t held_read(uint64_t mutants)
{
    tenv t;
    estart(&t, mutants);
    uint8_t warm[KB(4)];
    CHECK_EQ(engsync_read(t.s, t.e, 0, warm, sizeof(warm)), 0);
    holdst h = {NULL};
    sched_set_event_hook(t.s, hold_first, &h);
    rreq a = {t.e, CS, {0}, 1, false}, b = {t.e, 0, {0}, 1, false};
    sched_req *ra = sched_spawn(t.s, rreq_body, &a, "A");
    CHECK_EQ(sched_run_until(t.s, is_held, &h), SCHED_OK);
    sched_spawn(t.s, rreq_body, &b, "B");
    CHECK(sched_step(t.s)); /* B submits its read and waits */
    sched_wake(t.s, ra);
    CHECK_EQ(sched_run_all(t.s), SCHED_IDLE);
    sched_set_event_hook(t.s, NULL, NULL);
    CHECK(b.done && b.ret == 0 && all(b.buf, sizeof(b.buf), 0x11));
    CHECK(a.done && a.ret == 0 && all(a.buf, sizeof(a.buf), a.buf[0]));
    uint8_t got = a.buf[0];
    tenv_fini(&t);
    return got;
}

static void test_stale_earlier_read(void)
{
    CHECK_EQ(held_read(0), 0x22);
    CHECK_EQ(held_read(ON), 0x11); /* the earlier read's bytes */
}

/* A read completed early, then close (drains) or destroy (orphans). */
static void teardown_with_pending(bool close, bool sched_first)
{
    tenv t;
    estart(&t, ON);
    rreq a = {t.e, CS, {0}, 1, false}, b = {t.e, 0, {0}, 1, false};
    sched_spawn(t.s, rreq_body, &a, "A");
    sched_req *rb = sched_spawn(t.s, rreq_body, &b, "B");
    CHECK_EQ(sched_run_until_done(t.s, rb), SCHED_OK);
    CHECK_EQ(sched_detached_pending(t.s), 1);
    if (close) {
        CHECK_EQ(tenv_close(&t), 0); /* waits for the read */
        CHECK_EQ(sched_detached_pending(t.s), 0);
        tcheck_image(t.img, false);
    } else if (sched_first) {
        sched_destroy(t.s); /* cancels: done(-ECANCELED), engine alive */
        t.s = sched_create();
        eng_destroy(t.e);
        t.e = NULL;
    } else {
        eng_destroy(t.e); /* orphans the buffer */
        t.e = NULL;
    }
    tenv_fini(&t); /* destroys the scheduler: cancels what is left */
}

static void test_teardown_pending(void)
{
    teardown_with_pending(true, false);
    teardown_with_pending(false, true);
    teardown_with_pending(false, false);
}

/* A request waiting for its read when the scheduler goes: the read is
 * cancelled, the request abandoned, and eng_destroy frees the buffer the
 * request held (LeakSanitizer watches). */
static void test_abandoned_waiter(void)
{
    tenv t;
    estart(&t, ON);
    rreq a = {t.e, CS, {0}, 1, false};
    sched_spawn(t.s, rreq_body, &a, "A");
    CHECK(sched_step(t.s)); /* A submits and waits */
    CHECK_EQ(sched_detached_pending(t.s), 1);
    sched_destroy(t.s);
    CHECK(!a.done);
    t.s = sched_create();
    eng_destroy(t.e);
    t.e = NULL;
    tenv_fini(&t);
}

/* An error injected at read_aio fails the read before its host I/O, and
 * the bounce buffer goes back to the pool (the next read is exact). */
static int fail_read(void *opaque, sched *s, sched_req *r, eng_event ev)
{
    (void)opaque;
    (void)s;
    (void)r;
    return ev == ENG_EV_READ_AIO ? -EIO : 0;
}

static void test_error_reaches_guest(void)
{
    tenv t;
    estart(&t, ON);
    uint8_t buf[KB(4)];
    sched_set_event_hook(t.s, fail_read, NULL);
    CHECK_EQ(engsync_read(t.s, t.e, 0, buf, sizeof(buf)), -EIO);
    sched_set_event_hook(t.s, NULL, NULL);
    CHECK_EQ(engsync_read(t.s, t.e, 0, buf, sizeof(buf)), 0);
    CHECK(all(buf, sizeof(buf), 0x11));
    tenv_fini(&t);
}

static const unit_test tests[] = {
    UNIT(test_single_read_exact),
    UNIT(test_two_reads),
    UNIT(test_stale_earlier_read),
    UNIT(test_teardown_pending),
    UNIT(test_abandoned_waiter),
    UNIT(test_error_reaches_guest),
};

UNIT_MAIN(tests)
