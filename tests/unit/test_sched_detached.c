/*
 * test_sched_detached.c - unit tests of the scheduler's detached host reads
 * (eng_file_ops.aio_pread of a sched_file; harness/sched_io.c): an I/O that
 * its submitter does not wait for and that may outlive the request that
 * submitted it.
 *
 * Covers: a read that completes after its request finished (done() once,
 * from the main context, the data in the buffer only then); the FIFO order
 * of detached and waited-for I/O in one queue, and a tape byte that picks
 * a detached read as a candidate like any other I/O; a done() that wakes a
 * parked request (no false deadlock while a detached read is pending); an
 * error passed to done(); the step budget with a read still pending;
 * sched_destroy cancelling pending reads (done(-ECANCELED) in submission
 * order, the backend untouched, nothing leaked under LeakSanitizer); a
 * done() that submits another read; and the account in sched_describe.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coro.h"
#include "sched.h"
#include "unit.h"

#include "test_sched_mem.h"

/* ---- a detached read and its completion record ------------------------- */

typedef struct dread {
    eng_aio aio; /* first: an eng_aio * is a dread * */
    sched *s;
    eng_file *f;
    uint64_t off;
    uint8_t buf[16];
    int ndone, ret;
    bool in_request;     /* done() saw a running request (it must not) */
    sched_req *waker;    /* done() wakes this request */
    struct dread *chain; /* done() submits this one next */
    char *order;         /* done() appends its tag */
    char tag;
} dread;

static void dread_done(eng_aio *aio, int ret)
{
    dread *d = (dread *)aio;
    d->ndone++;
    d->ret = ret;
    d->in_request = sched_current(d->s) != NULL;
    if (d->order) {
        size_t n = strlen(d->order);
        d->order[n] = d->tag;
        d->order[n + 1] = '\0';
    }
    if (d->waker)
        sched_wake(d->s, d->waker);
    if (d->chain && ret == 0)
        CHECK_EQ(d->f->ops->aio_pread(d->f, d->chain->off, d->chain->buf,
                                      sizeof(d->chain->buf), &d->chain->aio),
                 0);
}

static void dread_init(dread *d, sched *s, eng_file *f, uint64_t off, char tag)
{
    memset(d, 0, sizeof(*d));
    d->aio.done = dread_done;
    d->s = s;
    d->f = f;
    d->off = off;
    d->tag = tag;
    memset(d->buf, 0xa5, sizeof(d->buf));
}

static int dread_submit(dread *d)
{
    return d->f->ops->aio_pread(d->f, d->off, d->buf, sizeof(d->buf), &d->aio);
}

static membk *mem_filled(void)
{
    membk *m = mem_new();
    CHECK_EQ(mem_grow(m, 0x10000), 0);
    for (size_t i = 0; i < 0x10000; i++)
        m->data[i] = (uint8_t)(i >> 8);
    return m;
}

static void finish(sched *s, membk *m)
{
    sched_destroy(s);
    host_destroy(&m->b);
    coro_pool_drain();
}

static bool str_has(const char *hay, const char *needle)
{
    bool ok = strstr(hay, needle) != NULL;
    if (!ok)
        fprintf(stderr, "missing \"%s\" in:\n%s\n", needle, hay);
    return ok;
}

/* ---- a read that outlives its request ------------------------------------ */

static void submit_body(void *arg)
{
    CHECK_EQ(dread_submit(arg), 0); /* returns at once: no yield */
}

static void test_outlives_request(void)
{
    sched *s = sched_create();
    membk *m = mem_filled();
    eng_file *f = sched_file(s, &m->b, "img");
    dread d;

    dread_init(&d, s, f, 0x300, 'd');
    sched_req *r = sched_spawn(s, submit_body, &d, "R");
    CHECK(sched_step(s)); /* R runs, submits, finishes */
    CHECK(sched_req_done(r));
    CHECK_EQ(sched_detached_pending(s), 1);
    CHECK_EQ(d.ndone, 0);
    CHECK_EQ(d.buf[0], 0xa5); /* nothing read yet */
    CHECK_EQ(m->nops, 0);
    sched_req_release(s, r); /* the request is gone; its read is not */
    char desc[512];
    sched_describe(s, desc, sizeof(desc));
    CHECK(str_has(desc, "0 live requests"));
    CHECK(str_has(desc, "1 I/O pending (some detached)"));
    CHECK(str_has(desc, "detached host read img 0x300+0x10, submitted by "
                        "request 1"));
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    CHECK_EQ(d.ndone, 1);
    CHECK_EQ(d.ret, 0);
    CHECK(!d.in_request);
    CHECK_EQ(d.buf[0], 3);
    CHECK_EQ(sched_detached_pending(s), 0);
    CHECK_EQ(sched_steps(s), 2); /* one run, one completion */
    CHECK(strcmp(m->log, "R300+10 ") == 0);
    finish(s, m);
}

/* ---- one queue, submission order ----------------------------------------- */

typedef struct mixst {
    eng_file *f;
    dread *d;
    uint8_t wbuf[16], rbuf[16];
    int wret, rret;
} mixst;

/* A waited-for write, a detached read, a waited-for read. */
static void mix_body(void *arg)
{
    mixst *x = arg;
    memset(x->wbuf, 0xee, sizeof(x->wbuf));
    x->wret = x->f->ops->co_pwrite(x->f, 0x100, x->wbuf, sizeof(x->wbuf));
    CHECK_EQ(dread_submit(x->d), 0);
    x->rret = x->f->ops->co_pread(x->f, 0x200, x->rbuf, sizeof(x->rbuf));
}

/* A alone under a tape: the backend's log, and done()'s tag in order. */
static void mix_run(const uint8_t *tape, size_t len, char *log, char *order)
{
    sched *s = sched_create();
    membk *m = mem_filled();
    eng_file *f = sched_file(s, &m->b, "img");
    dread d;
    dread_init(&d, s, f, 0x100, 'd');
    d.order = order;
    mixst a = {f, &d, {0}, {0}, 1, 1};

    sched_set_policy(s, SCHED_TAPE, 0);
    sched_set_tape(s, tape, len);
    sched_spawn(s, mix_body, &a, "A");
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    CHECK_EQ(d.ndone, 1);
    CHECK_EQ(a.wret, 0);
    CHECK_EQ(a.rret, 0);
    strcpy(log, m->log);
    finish(s, m);
}

static void test_queue_order(void)
{
    char log[8192], order[8] = "";
    /* FIFO: the write, then A runs on (submits the detached read and its
     * waited read); the detached read is older, so it completes first and
     * sees the write */
    mix_run(NULL, 0, log, order);
    CHECK(strcmp(log, "W100+10 R100+10 R200+10 ") == 0);
    CHECK(strcmp(order, "d") == 0);
    /* the tape picks candidate 1 of the two pending I/Os: the waited read
     * completes before the detached one */
    const uint8_t pick[] = {1};
    mix_run(pick, sizeof(pick), log, order);
    CHECK(strcmp(log, "W100+10 R200+10 R100+10 ") == 0);
}

/* ---- done() wakes a parked request --------------------------------------- */

typedef struct waitst {
    sched *s;
    dread *d;
    int parks;
} waitst;

static void wait_body(void *arg)
{
    waitst *w = arg;
    w->d->waker = sched_current(w->s);
    CHECK_EQ(dread_submit(w->d), 0);
    while (w->d->ndone == 0) {
        w->parks++;
        sched_co_park(w->s, "my detached read");
    }
}

static void test_done_wakes(void)
{
    sched *s = sched_create();
    membk *m = mem_filled();
    eng_file *f = sched_file(s, &m->b, "img");
    dread d;
    dread_init(&d, s, f, 0x1200, 'd');
    waitst w = {s, &d, 0};

    sched_req *r = sched_spawn(s, wait_body, &w, "W");
    /* parked with a read pending: not a deadlock, the read completes */
    CHECK_EQ(sched_run_until_done(s, r), SCHED_OK);
    CHECK_EQ(w.parks, 1);
    CHECK_EQ(d.ndone, 1);
    CHECK_EQ(d.buf[0], 0x12);
    CHECK_EQ(sched_steps(s), 3); /* run, completion, run */
    finish(s, m);
}

/* ---- errors, budget, cancellation --------------------------------------- */

static void test_error(void)
{
    sched *s = sched_create();
    membk *m = mem_filled();
    eng_file *f = sched_file(s, &m->b, "img");
    dread d;
    dread_init(&d, s, f, 0x800, 'd');

    m->fail_off = 0x800;
    m->fail_err = EIO;
    CHECK_EQ(dread_submit(&d), 0); /* from the main context too */
    char desc[512];
    sched_describe(s, desc, sizeof(desc));
    CHECK(str_has(desc, "submitted by request 0"));
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    CHECK_EQ(d.ndone, 1);
    CHECK_EQ(d.ret, -EIO);
    finish(s, m);
}

static void test_budget_then_cancel(void)
{
    sched *s = sched_create();
    membk *m = mem_filled();
    eng_file *f = sched_file(s, &m->b, "img");
    dread a, b;
    char order[8] = "";
    dread_init(&a, s, f, 0x100, 'a');
    dread_init(&b, s, f, 0x200, 'b');
    a.order = b.order = order;

    CHECK_EQ(dread_submit(&a), 0);
    CHECK_EQ(dread_submit(&b), 0);
    sched_set_budget(s, 1);
    CHECK_EQ(sched_run_all(s), SCHED_BUDGET);
    CHECK_EQ(a.ndone, 1);
    CHECK_EQ(b.ndone, 0);
    CHECK_EQ(sched_detached_pending(s), 1);
    sched_destroy(s); /* b is cancelled, its buffer untouched */
    CHECK_EQ(b.ndone, 1);
    CHECK_EQ(b.ret, -ECANCELED);
    CHECK_EQ(b.buf[0], 0xa5);
    CHECK(strcmp(order, "ab") == 0);
    CHECK(strcmp(m->log, "R100+10 ") == 0);
    host_destroy(&m->b);
    coro_pool_drain();
}

/* A request parked on a detached read, and two more reads, at destroy:
 * every read is cancelled in submission order, before the request's
 * coroutine is freed (done() may wake it). */
static void test_destroy_cancels(void)
{
    sched *s = sched_create();
    membk *m = mem_filled();
    eng_file *f = sched_file(s, &m->b, "img");
    dread d, e, g;
    char order[8] = "";
    dread_init(&d, s, f, 0x100, 'd');
    dread_init(&e, s, f, 0x200, 'e');
    dread_init(&g, s, f, 0x300, 'g');
    d.order = e.order = g.order = order;
    waitst w = {s, &d, 0};

    sched_spawn(s, wait_body, &w, "W");
    CHECK(sched_step(s)); /* W submits d and parks */
    CHECK_EQ(dread_submit(&e), 0);
    CHECK_EQ(dread_submit(&g), 0);
    CHECK_EQ(sched_detached_pending(s), 3);
    sched_destroy(s);
    CHECK(strcmp(order, "deg") == 0);
    CHECK(d.ndone == 1 && e.ndone == 1 && g.ndone == 1);
    CHECK_EQ(d.ret, -ECANCELED);
    CHECK_EQ(m->nops, 0);
    host_destroy(&m->b);
    coro_pool_drain();
}

/* A done() that submits the next read: the chain completes in order. */
static void test_chain(void)
{
    sched *s = sched_create();
    membk *m = mem_filled();
    eng_file *f = sched_file(s, &m->b, "img");
    dread a, b;
    char order[8] = "";
    dread_init(&a, s, f, 0x100, 'a');
    dread_init(&b, s, f, 0x4400, 'b');
    a.order = b.order = order;
    a.chain = &b;

    CHECK_EQ(dread_submit(&a), 0);
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    CHECK(strcmp(order, "ab") == 0);
    CHECK_EQ(b.buf[0], 0x44);
    CHECK_EQ(sched_steps(s), 2);
    finish(s, m);
}

static const unit_test tests[] = {
    UNIT(test_outlives_request),
    UNIT(test_queue_order),
    UNIT(test_done_wakes),
    UNIT(test_error),
    UNIT(test_budget_then_cancel),
    UNIT(test_destroy_cancels),
    UNIT(test_chain),
};

UNIT_MAIN(tests)
