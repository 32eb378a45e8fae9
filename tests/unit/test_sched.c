/*
 * test_sched.c - unit tests of the deterministic scheduler (harness/sched*.c).
 *
 * Covers: FIFO order of requests and of I/O completions, park/wake between
 * requests, a write and a read of one range in flight together ordered one
 * way by FIFO and the other by a tape, RANDOM determinism (same seed, same
 * trace; some other seed, another), an all-zero tape equal to FIFO,
 * deadlock detection and its description, the step budget, destroying a
 * scheduler with unfinished requests, 1,000 concurrent requests with a few
 * I/Os each, the eng_runtime glue (self, event trail, hook errors and
 * breakpoints), sched_call, and I/O errors passed back to the submitter.
 *
 * The host backend (test_sched_mem.h) is a tiny in-memory file that logs
 * every operation in the order the scheduler performs it. Detached reads
 * (eng_file_ops.aio_pread) are tested in test_sched_detached.c.
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

/* ---- shared helpers ---------------------------------------------------- */

/* A log of who ran when: requests append "<name><step>". */
typedef struct tlog {
    char s[8192];
} tlog;

static void tlog_put(tlog *t, char who, int step)
{
    size_t n = strlen(t->s);
    if (n + 3 < sizeof(t->s)) {
        t->s[n] = who;
        t->s[n + 1] = (char)('0' + step);
        t->s[n + 2] = '\0';
    }
}

/* One request of a scripted test: name, file, log, scheduler. */
typedef struct treq {
    sched *s;
    eng_file *f;
    tlog *log;
    char name;
    int nio;         /* how many I/Os to do */
    int ret;         /* last I/O result */
    sched_req *peer; /* for park/wake tests */
    uint8_t buf[512];
} treq;

static bool str_has(const char *hay, const char *needle)
{
    bool ok = strstr(hay, needle) != NULL;
    if (!ok)
        fprintf(stderr, "missing \"%s\" in:\n%s\n", needle, hay);
    return ok;
}

static void finish(sched *s, membk *m)
{
    sched_destroy(s);
    host_destroy(&m->b);
    coro_pool_drain();
}

/* ---- FIFO -------------------------------------------------------------- */

/* Logs, then does nio writes of 512 bytes at (name-'a')*0x1000 + i*0x200. */
static void io_body(void *arg)
{
    treq *t = arg;
    for (int i = 0; i < t->nio; i++) {
        tlog_put(t->log, t->name, i);
        memset(t->buf, t->name, sizeof(t->buf));
        uint64_t off = (uint64_t)(t->name - 'a') * 0x1000 + (uint64_t)i * 0x200;
        t->ret = t->f->ops->co_pwrite(t->f, off, t->buf, sizeof(t->buf));
    }
    tlog_put(t->log, t->name, 9);
}

static void test_fifo_order(void)
{
    sched *s = sched_create();
    membk *m = mem_new();
    eng_file *f = sched_file(s, &m->b, "img");
    tlog log = {""};
    treq a = {s, f, &log, 'a', 2, 1, NULL, {0}};
    treq b = {s, f, &log, 'b', 1, 1, NULL, {0}};
    treq c = {s, f, &log, 'c', 0, 1, NULL, {0}};

    sched_req *ra = sched_spawn(s, io_body, &a, "A");
    sched_req *rb = sched_spawn(s, io_body, &b, "B");
    sched_req *rc = sched_spawn(s, io_body, &c, "C");
    CHECK_EQ(sched_req_id(ra), 1);
    CHECK_EQ(sched_req_id(rb), 2);
    CHECK_EQ(sched_req_id(rc), 3);
    CHECK(strcmp(sched_req_label(rb), "B") == 0);
    CHECK_EQ(sched_steps(s), 0); /* spawning runs nothing */
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    /* Requests in spawn order until each parks; then the oldest I/O
     * completes and its submitter runs before the next completion. */
    CHECK(strcmp(log.s, "a0b0c9a1b9a9") == 0);
    CHECK(strcmp(m->log, "W0+200 W1000+200 W200+200 ") == 0);
    CHECK_EQ(sched_steps(s), 9);
    CHECK(sched_req_done(ra) && sched_req_done(rb) && sched_req_done(rc));
    CHECK_EQ(a.ret, 0);
    CHECK_EQ(m->data[0x1000], 'b');
    CHECK(!sched_step(s));
    finish(s, m);
}

/* ---- park / wake ------------------------------------------------------- */

static void parker_body(void *arg)
{
    treq *t = arg;
    tlog_put(t->log, t->name, 0);
    sched_co_park(t->s, "waiting for b");
    tlog_put(t->log, t->name, 1);
}

static void waker_body(void *arg)
{
    treq *t = arg;
    tlog_put(t->log, t->name, 0);
    sched_wake(t->s, t->peer);
    sched_wake(t->s, t->peer);             /* twice: the second is ignored */
    sched_wake(t->s, sched_current(t->s)); /* not parked: ignored */
    tlog_put(t->log, t->name, 1);          /* waking does not switch */
}

static void test_park_wake(void)
{
    sched *s = sched_create();
    tlog log = {""};
    treq a = {s, NULL, &log, 'a', 0, 0, NULL, {0}};
    treq b = {s, NULL, &log, 'b', 0, 0, NULL, {0}};
    char desc[1024];

    sched_req *ra = sched_spawn(s, parker_body, &a, "A");
    CHECK(sched_step(s));
    sched_describe(s, desc, sizeof(desc));
    CHECK(str_has(desc, "request 1 \"A\": parked on waiting for b"));
    CHECK(!sched_step(s)); /* nothing ready: A is parked */
    b.peer = ra;
    sched_req *rb = sched_spawn(s, waker_body, &b, "B");
    CHECK_EQ(sched_run_until_done(s, ra), SCHED_OK);
    CHECK(strcmp(log.s, "a0b0b1a1") == 0);
    CHECK(sched_req_done(rb));
    /* The ignored wakes queued nothing: three runs and no more. */
    CHECK_EQ(sched_steps(s), 3);
    CHECK(!sched_step(s));
    sched_req_release(s, ra);
    sched_req_release(s, rb);
    sched_describe(s, desc, sizeof(desc));
    CHECK(str_has(desc, "0 live requests"));
    sched_destroy(s);
    coro_pool_drain();
}

/* A bare coro_yield inside a request: back of the ready queue. */
static void yielder_body(void *arg)
{
    treq *t = arg;
    tlog_put(t->log, t->name, 0);
    coro_yield();
    tlog_put(t->log, t->name, 1);
}

static void test_bare_yield(void)
{
    sched *s = sched_create();
    tlog log = {""};
    treq a = {s, NULL, &log, 'a', 0, 0, NULL, {0}};
    treq b = {s, NULL, &log, 'b', 0, 0, NULL, {0}};

    sched_spawn(s, yielder_body, &a, "A");
    sched_spawn(s, yielder_body, &b, "B");
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    CHECK(strcmp(log.s, "a0b0a1b1") == 0);
    CHECK_EQ(sched_steps(s), 4);
    sched_destroy(s);
    coro_pool_drain();
}

/* ---- a write and a read of one range in flight together ---------------- */

static void race_writer(void *arg)
{
    treq *t = arg;
    memset(t->buf, 0xAA, sizeof(t->buf));
    t->ret = t->f->ops->co_pwrite(t->f, 0, t->buf, sizeof(t->buf));
}

static void race_reader(void *arg)
{
    treq *t = arg;
    memset(t->buf, 0x55, sizeof(t->buf));
    t->ret = t->f->ops->co_pread(t->f, 0, t->buf, sizeof(t->buf));
}

/* Returns the first byte the reader saw; *log gets the backend's order. */
static int race(sched_policy p, const uint8_t *tape, size_t len, bool stagger,
                char *log)
{
    sched *s = sched_create();
    membk *m = mem_new();
    eng_file *f = sched_file(s, &m->b, "img");
    treq w = {s, f, NULL, 'w', 0, 1, NULL, {0}};
    treq r = {s, f, NULL, 'r', 0, 1, NULL, {0}};

    sched_set_policy(s, p, 0);
    sched_set_tape(s, tape, len);
    sched_spawn(s, race_writer, &w, "W");
    if (stagger) /* W submits alone: a forced move, which takes no byte */
        CHECK(sched_step(s));
    sched_spawn(s, race_reader, &r, "R");
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    CHECK_EQ(w.ret, 0);
    CHECK_EQ(r.ret, 0);
    strcpy(log, m->log);
    finish(s, m);
    return r.buf[0];
}

static void test_write_read_race(void)
{
    char log[256];
    /* FIFO: both submit, then the write (older) completes first. */
    CHECK_EQ(race(SCHED_FIFO, NULL, 0, false, log), 0xAA);
    CHECK(strcmp(log, "W0+200 R0+200 ") == 0);
    /* Tape: run W (0 of ready W, R), run R (0 of ready R + pending write),
     * then complete the read (1 of pending write, read) before the write:
     * the read sees the old zeroes. */
    const uint8_t tape[] = {0, 0, 1};
    CHECK_EQ(race(SCHED_TAPE, tape, sizeof(tape), false, log), 0x00);
    CHECK(strcmp(log, "R0+200 W0+200 ") == 0);
    /* Bytes are taken modulo the number of candidates. */
    const uint8_t tape2[] = {2, 4, 3};
    CHECK_EQ(race(SCHED_TAPE, tape2, sizeof(tape2), false, log), 0x00);
    /* After a forced move: run R (0 of ready R + pending write), then the
     * read (1 of pending write, read). */
    CHECK_EQ(race(SCHED_TAPE, tape + 1, 2, true, log), 0x00);
    CHECK(strcmp(log, "R0+200 W0+200 ") == 0);
    CHECK_EQ(race(SCHED_FIFO, NULL, 0, true, log), 0xAA);
}

/* ---- RANDOM and TAPE determinism --------------------------------------- */

static void busy_body(void *arg)
{
    treq *t = arg;
    for (int i = 0; i < t->nio; i++) {
        tlog_put(t->log, t->name, i);
        uint64_t off = (uint64_t)(t->name - 'a') * 0x1000;
        if (i % 2)
            t->ret = t->f->ops->co_pread(t->f, off, t->buf, sizeof(t->buf));
        else
            t->ret = t->f->ops->co_pwrite(t->f, off, t->buf, sizeof(t->buf));
    }
}

/* Run 6 requests of 4 I/Os each; the trace is who ran + what completed. */
static void trace_run(sched_policy p, uint64_t seed, const uint8_t *tape,
                      size_t len, char *out, size_t outlen)
{
    sched *s = sched_create();
    membk *m = mem_new();
    eng_file *f = sched_file(s, &m->b, "img");
    tlog log = {""};
    treq t[6];

    sched_set_policy(s, p, seed);
    sched_set_tape(s, tape, len);
    for (int i = 0; i < 6; i++) {
        t[i] = (treq){s, f, &log, (char)('a' + i), 4, 1, NULL, {0}};
        sched_spawn(s, busy_body, &t[i], "busy");
    }
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    for (int i = 0; i < 6; i++)
        CHECK_EQ(t[i].ret, 0);
    snprintf(out, outlen, "%s | %s", log.s, m->log);
    finish(s, m);
}

static void test_random_determinism(void)
{
    enum { TN = 16400 };
    char *buf = calloc(4, TN);
    char *one = buf, *again = buf + TN, *other = buf + 2 * TN,
         *fifo = buf + 3 * TN;

    trace_run(SCHED_RANDOM, 1, NULL, 0, one, TN);
    trace_run(SCHED_RANDOM, 1, NULL, 0, again, TN);
    CHECK(strcmp(one, again) == 0);
    trace_run(SCHED_FIFO, 0, NULL, 0, fifo, TN);
    bool differs = false;
    for (uint64_t seed = 2; seed < 64 && !differs; seed++) {
        trace_run(SCHED_RANDOM, seed, NULL, 0, other, TN);
        differs = strcmp(one, other) != 0;
    }
    CHECK(differs);
    CHECK(strcmp(one, fifo) != 0);

    /* Tapes: all zeroes is FIFO; a spent tape falls back to FIFO; the
     * same tape gives the same trace. */
    uint8_t zeros[64] = {0}, bytes[8] = {5, 3, 250, 7, 1, 9, 4, 2};
    trace_run(SCHED_TAPE, 0, zeros, sizeof(zeros), other, TN);
    CHECK(strcmp(other, fifo) == 0);
    trace_run(SCHED_TAPE, 0, NULL, 0, other, TN);
    CHECK(strcmp(other, fifo) == 0);
    trace_run(SCHED_TAPE, 0, bytes, sizeof(bytes), one, TN);
    trace_run(SCHED_TAPE, 0, bytes, sizeof(bytes), again, TN);
    CHECK(strcmp(one, again) == 0);
    CHECK(strcmp(one, fifo) != 0);
    free(buf);
}

/* ---- deadlock ---------------------------------------------------------- */

static void lock_body(void *arg)
{
    treq *t = arg;
    const eng_runtime *rt = sched_runtime(t->s);
    rt->co_event(rt->opaque,
                 t->name == 'a' ? ENG_EV_L2_LOAD : ENG_EV_REFBLOCK_LOAD);
    rt->co_event(rt->opaque, ENG_EV_CLUSTER_ALLOC);
    rt->co_park(rt->opaque,
                t->name == 'a' ? "lock held by B" : "lock held by A");
}

static void test_deadlock(void)
{
    sched *s = sched_create();
    treq a = {s, NULL, NULL, 'a', 0, 0, NULL, {0}};
    treq b = {s, NULL, NULL, 'b', 0, 0, NULL, {0}};
    char desc[2048];

    sched_spawn(s, lock_body, &a, "write A");
    sched_spawn(s, lock_body, &b, "write B");
    CHECK_EQ(sched_run_all(s), SCHED_DEADLOCK);
    sched_describe(s, desc, sizeof(desc));
    CHECK(str_has(desc, "2 live requests"));
    CHECK(str_has(desc, "request 1 \"write A\": parked on lock held by B\n"
                        "  last events: l2_load cluster_alloc\n"));
    CHECK(str_has(desc, "request 2 \"write B\": parked on lock held by A\n"
                        "  last events: refblock_load cluster_alloc\n"));
    /* Running again changes nothing and still reports it. */
    CHECK_EQ(sched_run_all(s), SCHED_DEADLOCK);

    /* A short buffer is truncated, still NUL-terminated. */
    char tiny[16];
    sched_describe(s, tiny, sizeof(tiny));
    CHECK_EQ(strlen(tiny), sizeof(tiny) - 1);
    sched_destroy(s);
    coro_pool_drain();
}

/* A predicate nobody can make true, with nobody parked: IDLE. */
static bool never(void *opaque)
{
    (void)opaque;
    return false;
}

static void test_idle(void)
{
    sched *s = sched_create();
    CHECK_EQ(sched_run_until(s, never, NULL), SCHED_IDLE);
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    sched_destroy(s);
}

/* ---- budget ------------------------------------------------------------ */

static void pingpong_body(void *arg)
{
    treq *t = arg;
    for (;;) {
        sched_wake(t->s, t->peer);
        sched_co_park(t->s, "ping");
    }
}

static void test_budget(void)
{
    sched *s = sched_create();
    treq a = {s, NULL, NULL, 'a', 0, 0, NULL, {0}};
    treq b = {s, NULL, NULL, 'b', 0, 0, NULL, {0}};

    sched_req *ra = sched_spawn(s, pingpong_body, &a, "A");
    sched_req *rb = sched_spawn(s, pingpong_body, &b, "B");
    a.peer = rb;
    b.peer = ra;
    sched_set_budget(s, 50);
    CHECK_EQ(sched_run_all(s), SCHED_BUDGET);
    CHECK_EQ(sched_steps(s), 50);
    CHECK_EQ(sched_run_until_done(s, ra), SCHED_BUDGET);
    CHECK_EQ(sched_steps(s), 50);
    sched_set_budget(s, 120);
    CHECK_EQ(sched_call(s, pingpong_body, &a), SCHED_BUDGET);
    CHECK_EQ(sched_steps(s), 120);
    CHECK(!sched_req_done(ra) && !sched_req_done(rb));
    sched_destroy(s); /* frees the unfinished requests */
    coro_pool_drain();
}

/* ---- destroy with unfinished requests ---------------------------------- */

static void test_destroy_unfinished(void)
{
    sched *s = sched_create();
    membk *m = mem_new();
    eng_file *f = sched_file(s, &m->b, "img");
    sched_file(s, &m->b, NULL); /* a second file, unnamed */
    tlog log = {""};
    treq t[4];

    for (int i = 0; i < 4; i++)
        t[i] = (treq){s, f, &log, (char)('a' + i), 3, 1, NULL, {0}};
    sched_spawn(s, busy_body, &t[0], "io"); /* will wait for I/O */
    sched_spawn(s, parker_body, &t[1], "parked");
    sched_spawn(s, io_body, &t[2], "ready");
    CHECK(sched_step(s) && sched_step(s));
    sched_spawn(s, busy_body, &t[3], "never ran");
    char desc[2048];
    sched_describe(s, desc, sizeof(desc));
    CHECK(str_has(desc, "request 1 \"io\": waiting for I/O on host write img "
                        "0x0+0x200"));
    CHECK(str_has(desc, "request 2 \"parked\": parked on waiting for b"));
    CHECK(str_has(desc, "request 4 \"never ran\": ready"));
    /* Destroying now runs no more of their code: the logs stay put. */
    char before[64];
    strcpy(before, log.s);
    sched_destroy(s);
    CHECK(strcmp(before, log.s) == 0);
    CHECK(strcmp(m->log, "") == 0); /* the queued write never happened */
    host_destroy(&m->b);
    coro_pool_drain();
}

/* ---- 1,000 concurrent requests ----------------------------------------- */

#define THOUSAND 1000

typedef struct kreq {
    eng_file *f;
    unsigned idx;
    int errors;
    bool verified;
} kreq;

/* Three 512-byte writes into its own 1.5 KiB, a flush, one read back. */
static void kilo_body(void *arg)
{
    kreq *k = arg;
    uint8_t blk[512], back[1536];
    uint64_t base = (uint64_t)k->idx * sizeof(back);

    for (unsigned j = 0; j < 3; j++) {
        memset(blk, (int)(k->idx * 3 + j), sizeof(blk));
        k->errors += k->f->ops->co_pwrite(k->f, base + j * 512, blk, 512) != 0;
    }
    k->errors += k->f->ops->co_flush(k->f) != 0;
    k->errors += k->f->ops->co_pread(k->f, base, back, sizeof(back)) != 0;
    k->verified = true;
    for (unsigned i = 0; i < sizeof(back); i++)
        if (back[i] != (uint8_t)(k->idx * 3 + i / 512))
            k->verified = false;
}

static void kilo_run(sched_policy p, uint64_t seed)
{
    sched *s = sched_create();
    membk *m = mem_new();
    eng_file *f = sched_file(s, &m->b, "img");
    kreq *k = calloc(THOUSAND, sizeof(*k));
    unsigned ok = 0, spawned = 0;

    sched_set_policy(s, p, seed);
    for (unsigned i = 0; i < THOUSAND; i++) {
        k[i] = (kreq){f, i, 0, false};
        spawned += sched_spawn(s, kilo_body, &k[i], "kilo") != NULL;
    }
    CHECK_EQ(spawned, THOUSAND);
    CHECK_EQ(sched_run_all(s), SCHED_IDLE);
    for (unsigned i = 0; i < THOUSAND; i++)
        ok += k[i].verified && k[i].errors == 0;
    CHECK_EQ(ok, THOUSAND);
    CHECK_EQ(m->nops, THOUSAND * 5);
    /* 5 I/Os each: 5 completions + 6 runs per request. */
    CHECK_EQ(sched_steps(s), THOUSAND * 11);
    CHECK_EQ(f->ops->size(f), THOUSAND * 1536);
    free(k);
    finish(s, m);
}

static void test_thousand_requests(void)
{
    kilo_run(SCHED_FIFO, 0);
    kilo_run(SCHED_RANDOM, 7);
}

/* ---- eng_runtime glue and the event hook -------------------------------- */

typedef struct hookst {
    sched_req *held; /* the request a breakpoint holds */
    int calls;
} hookst;

/* WRITE_AIO fails with EIO; L2_UPDATE parks the request (a breakpoint). */
static int test_hook(void *opaque, sched *s, sched_req *r, eng_event ev)
{
    hookst *h = opaque;
    h->calls++;
    if (ev == ENG_EV_WRITE_AIO)
        return -EIO;
    if (ev == ENG_EV_L2_UPDATE) {
        h->held = r;
        sched_co_park(s, "breakpoint A");
        h->held = NULL;
    }
    return 0;
}

typedef struct rtreq {
    sched *s;
    bool self_ok;
    int write_ret, update_ret;
} rtreq;

static void rt_body(void *arg)
{
    rtreq *q = arg;
    const eng_runtime *rt = sched_runtime(q->s);
    q->self_ok = rt->self(rt->opaque) == (eng_co *)sched_current(q->s) &&
                 rt->self(rt->opaque) != NULL;
    for (int i = 0; i < 20; i++)
        rt->co_event(rt->opaque, (eng_event)(i % 4));
    q->write_ret = rt->co_event(rt->opaque, ENG_EV_WRITE_AIO);
    q->update_ret = rt->co_event(rt->opaque, ENG_EV_L2_UPDATE);
}

static bool held(void *opaque)
{
    return ((hookst *)opaque)->held != NULL;
}

static void test_runtime_glue(void)
{
    sched *s = sched_create();
    hookst h = {NULL, 0};
    rtreq q = {s, false, 1, 1};
    eng_event trail[32];

    sched_set_event_hook(s, test_hook, &h);
    sched_req *r = sched_spawn(s, rt_body, &q, "rt");
    CHECK_EQ(sched_run_until(s, held, &h), SCHED_OK);
    CHECK(h.held == r);
    CHECK(q.self_ok);
    CHECK_EQ(q.write_ret, -EIO);
    CHECK_EQ(h.calls, 22);
    /* The trail keeps the last 16 events, oldest first. */
    size_t n = sched_req_trail(r, trail, 32);
    CHECK_EQ(n, 16);
    CHECK_EQ(trail[15], ENG_EV_L2_UPDATE);
    CHECK_EQ(trail[14], ENG_EV_WRITE_AIO);
    CHECK_EQ(trail[13], 19 % 4);
    CHECK_EQ(trail[0], 6 % 4);
    CHECK_EQ(sched_req_trail(r, trail, 3), 3);
    CHECK_EQ(trail[2], ENG_EV_L2_UPDATE);
    char desc[1024];
    sched_describe(s, desc, sizeof(desc));
    CHECK(str_has(desc, "parked on breakpoint A\n  last events: ... "));
    CHECK_EQ(sched_run_all(s), SCHED_DEADLOCK);
    sched_runtime(s)->wake(sched_runtime(s)->opaque, (eng_co *)r); /* resume */
    CHECK_EQ(sched_run_until_done(s, r), SCHED_OK);
    CHECK_EQ(q.update_ret, 0);
    CHECK(sched_runtime(s)->self(sched_runtime(s)->opaque) == NULL);
    CHECK_EQ(
        sched_runtime(s)->co_event(sched_runtime(s)->opaque, ENG_EV_L2_LOAD),
        0);
    sched_destroy(s);
    coro_pool_drain();
}

/* ---- sched_call, I/O errors, size -------------------------------------- */

typedef struct callst {
    eng_file *f;
    int read_ret, trunc_ret, flush_ret;
    uint64_t size_seen;
} callst;

static void call_body(void *arg)
{
    callst *c = arg;
    uint8_t buf[16];
    c->read_ret = c->f->ops->co_pread(c->f, 0x4000, buf, sizeof(buf));
    c->trunc_ret = c->f->ops->co_truncate(c->f, 0x3000);
    c->size_seen = c->f->ops->size(c->f);
    c->flush_ret = c->f->ops->co_flush(c->f);
}

static void test_call_and_errors(void)
{
    sched *s = sched_create();
    membk *m = mem_new();
    eng_file *f = sched_file(s, &m->b, "disk.img");
    tlog log = {""};
    treq bg = {s, f, &log, 'a', 3, 1, NULL, {0}};
    callst c = {f, 1, 1, 1, 0};
    uint8_t buf[8];

    CHECK(strcmp(f->name, "disk.img") == 0);
    CHECK_EQ(f->ops->size(f), 0); /* immediate, even from main */
    CHECK_EQ(f->ops->co_pread(f, 0, buf, sizeof(buf)), -EINVAL);
    m->fail_off = 0x4000;
    m->fail_err = EIO;
    sched_req *rbg = sched_spawn(s, io_body, &bg, "background");
    CHECK_EQ(sched_call(s, call_body, &c), SCHED_OK);
    CHECK_EQ(c.read_ret, -EIO);
    CHECK_EQ(c.trunc_ret, 0);
    CHECK_EQ(c.size_seen, 0x3000);
    CHECK_EQ(c.flush_ret, 0);
    CHECK(strlen(log.s) >= 2); /* the background request ran meanwhile */
    /* The call's request is released: only the background one is left. */
    char desc[1024];
    sched_describe(s, desc, sizeof(desc));
    CHECK(str_has(desc, "1 live request,"));
    CHECK_EQ(sched_run_until_done(s, rbg), SCHED_OK);
    CHECK(str_has(m->log, "R4000+10 "));
    CHECK(str_has(m->log, "T3000 "));
    CHECK(str_has(m->log, "F "));
    /* A call that parks forever: deadlock, and it stays for describe. */
    treq p = {s, NULL, &log, 'p', 0, 0, NULL, {0}};
    CHECK_EQ(sched_call(s, parker_body, &p), SCHED_DEADLOCK);
    sched_describe(s, desc, sizeof(desc));
    CHECK(str_has(desc, "\"call\": parked on waiting for b"));
    finish(s, m);
}

static const unit_test tests[] = {
    UNIT(test_fifo_order),
    UNIT(test_park_wake),
    UNIT(test_bare_yield),
    UNIT(test_write_read_race),
    UNIT(test_random_determinism),
    UNIT(test_deadlock),
    UNIT(test_idle),
    UNIT(test_budget),
    UNIT(test_destroy_unfinished),
    UNIT(test_thousand_requests),
    UNIT(test_runtime_glue),
    UNIT(test_call_and_errors),
};

UNIT_MAIN(tests)
