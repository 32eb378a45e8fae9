/*
 * sched.c - the deterministic scheduler (see sched.h): requests as
 * coroutines, the choice among ready requests and pending host I/O, the
 * run loops with deadlock and budget detection, the eng_runtime glue and
 * the human-readable account of every request.
 *
 * The choice: candidates are listed the way FIFO prefers them, ready
 * requests oldest first, then pending I/Os oldest first. FIFO takes
 * candidate 0; RANDOM draws an index from its seeded generator; TAPE takes
 * the next tape byte modulo the number of candidates (candidate 0 once the
 * tape is spent). A draw or a tape byte is used only when there are two or
 * more candidates, so an all-zero tape behaves exactly like FIFO and no
 * fuzzer byte is wasted on a forced move.
 *
 * Invariants: those of sched_int.h; s->nparked counts requests in state
 * PARKED; one step is one request run until it parks or finishes, or one
 * I/O completion (waited-for or detached: both are candidates, in
 * submission order), and s->steps counts them. A detached I/O keeps the
 * run loops going after its submitter finished: "idle" means no request
 * ready and no I/O of either kind pending.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

/* ---- queues ------------------------------------------------------------ */

void sched_fifo_push(sched_fifo *q, sched_link *l)
{
    l->next = NULL;
    if (q->tail)
        q->tail->next = l;
    else
        q->head = l;
    q->tail = l;
    q->n++;
}

sched_link *sched_fifo_take(sched_fifo *q, size_t k)
{
    sched_link **link = &q->head, *prev = NULL;

    assert(k < q->n);
    while (k--) {
        prev = *link;
        link = &prev->next;
    }
    sched_link *l = *link;
    *link = l->next;
    if (q->tail == l)
        q->tail = prev;
    l->next = NULL;
    q->n--;
    return l;
}

void sched_queue_push(sched_queue *q, sched_req *r)
{
    sched_fifo_push(&q->f, &r->q_link);
}

/* Take the k-th (0-based) request off q. */
static sched_req *queue_take(sched_queue *q, size_t k)
{
    return SCHED_OF(sched_fifo_take(&q->f, k), sched_req, q_link);
}

void sched_make_ready(sched *s, sched_req *r)
{
    r->state = REQ_READY;
    r->why = NULL;
    sched_queue_push(&s->ready, r);
}

/* ---- create / destroy / settings --------------------------------------- */

static eng_co *rt_self(void *opaque);
static void rt_co_park(void *opaque, const char *why);
static void rt_wake(void *opaque, eng_co *co);
static int rt_co_event(void *opaque, eng_event ev);

sched *sched_create(void)
{
    sched *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->policy = SCHED_FIFO;
    s->rng = prng_seeded(0);
    s->rt.opaque = s;
    s->rt.self = rt_self;
    s->rt.co_park = rt_co_park;
    s->rt.wake = rt_wake;
    s->rt.co_event = rt_co_event;
    return s;
}

static void req_free(sched_req *r)
{
    coro_destroy(r->co); /* abandons it if unfinished: no more code runs */
    free(r);
}

void sched_destroy(sched *s)
{
    if (!s)
        return;
    assert(!s->running && "sched_destroy from inside a request");
    /* first, while every coroutine its done() may wake still exists */
    sched_io_cancel_detached(s);
    while (s->all_head) {
        sched_req *r = s->all_head;
        s->all_head = r->all_next;
        req_free(r);
    }
    sched_files_free(s);
    free(s->tape);
    free(s);
}

void sched_set_policy(sched *s, sched_policy p, uint64_t seed)
{
    s->policy = p;
    s->rng = prng_seeded(seed);
}

void sched_set_tape(sched *s, const uint8_t *tape, size_t len)
{
    uint8_t *copy = NULL;

    if (len) {
        copy = malloc(len);
        if (!copy)
            len = 0; /* out of memory: an empty tape, i.e. FIFO */
        else
            memcpy(copy, tape, len);
    }
    free(s->tape);
    s->tape = copy;
    s->tape_len = len;
    s->tape_pos = 0;
}

void sched_set_budget(sched *s, uint64_t steps)
{
    s->budget = steps;
}

uint64_t sched_steps(const sched *s)
{
    return s->steps;
}

size_t sched_detached_pending(const sched *s)
{
    return s->io.detached;
}

void sched_set_event_hook(sched *s, sched_event_hook *hook, void *opaque)
{
    s->hook = hook;
    s->hook_opaque = opaque;
}

/* ---- requests ---------------------------------------------------------- */

static void req_body(void *arg)
{
    sched_req *r = arg;
    r->fn(r->arg);
}

sched_req *sched_spawn(sched *s, sched_fn *fn, void *arg, const char *label)
{
    sched_req *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->co = coro_create(req_body, r);
    if (!r->co) {
        free(r);
        return NULL;
    }
    r->s = s;
    r->id = ++s->next_id;
    r->fn = fn;
    r->arg = arg;
    snprintf(r->label, sizeof(r->label), "%s", label ? label : "");
    r->all_prev = s->all_tail;
    if (s->all_tail)
        s->all_tail->all_next = r;
    else
        s->all_head = r;
    s->all_tail = r;
    sched_make_ready(s, r);
    return r;
}

bool sched_req_done(const sched_req *r)
{
    return r->state == REQ_DONE;
}

const char *sched_req_label(const sched_req *r)
{
    return r->label;
}

uint64_t sched_req_id(const sched_req *r)
{
    return r->id;
}

size_t sched_req_trail(const sched_req *r, eng_event *out, size_t max)
{
    uint64_t held = r->trail_n < SCHED_TRAIL ? r->trail_n : SCHED_TRAIL;
    size_t n = held < max ? (size_t)held : max;

    for (size_t i = 0; i < n; i++)
        out[i] = r->trail[(r->trail_n - n + i) % SCHED_TRAIL];
    return n;
}

void sched_req_release(sched *s, sched_req *r)
{
    if (!r || r->state != REQ_DONE)
        return; /* only finished requests; the rest go with the scheduler */
    if (r->all_prev)
        r->all_prev->all_next = r->all_next;
    else
        s->all_head = r->all_next;
    if (r->all_next)
        r->all_next->all_prev = r->all_prev;
    else
        s->all_tail = r->all_prev;
    req_free(r);
}

/* ---- inside a request -------------------------------------------------- */

sched_req *sched_current(sched *s)
{
    return s->running;
}

void sched_co_park(sched *s, const char *why)
{
    sched_req *r = s->running;

    assert(r && "sched_co_park outside a request");
    if (!r)
        return;
    r->state = REQ_PARKED;
    r->why = why ? why : "parked";
    s->nparked++;
    coro_yield();
}

void sched_wake(sched *s, sched_req *r)
{
    if (!r || r->state != REQ_PARKED)
        return; /* only parked requests wake; I/O waits end at completion */
    s->nparked--;
    sched_make_ready(s, r);
}

/* ---- stepping ---------------------------------------------------------- */

/* Which of n candidates goes next (see the top of this file). */
static size_t sched_choose(sched *s, size_t n)
{
    if (n < 2)
        return 0;
    switch (s->policy) {
    case SCHED_RANDOM:
        return (size_t)prng_below(&s->rng, n);
    case SCHED_TAPE:
        if (s->tape_pos < s->tape_len)
            return s->tape[s->tape_pos++] % n;
        return 0;
    case SCHED_FIFO:
        break;
    }
    return 0;
}

/* Run r's coroutine until it parks, waits for I/O, yields or finishes. */
static void run_req(sched *s, sched_req *r)
{
    r->state = REQ_RUNNING;
    s->running = r;
    coro_enter(r->co);
    s->running = NULL;
    if (coro_finished(r->co)) {
        r->state = REQ_DONE;
        coro_destroy(r->co);
        r->co = NULL;
    } else if (r->state == REQ_RUNNING) {
        sched_make_ready(s, r); /* a bare coro_yield: back of the queue */
    }
}

bool sched_step(sched *s)
{
    size_t n = s->ready.f.n + s->io.f.n;

    if (n == 0 || s->running)
        return false; /* idle, or called from inside a request */
    size_t k = sched_choose(s, n);
    s->steps++;
    if (k < s->ready.f.n)
        run_req(s, queue_take(&s->ready, k));
    else
        sched_io_complete(s, sched_io_take(s, k - s->ready.f.n));
    return true;
}

sched_status sched_run_until(sched *s, bool (*pred)(void *), void *opaque)
{
    for (;;) {
        if (pred && pred(opaque))
            return SCHED_OK;
        if (s->budget && s->steps >= s->budget)
            return SCHED_BUDGET;
        if (!sched_step(s))
            return s->nparked ? SCHED_DEADLOCK : SCHED_IDLE;
    }
}

static bool req_is_done(void *r)
{
    return sched_req_done(r);
}

sched_status sched_run_until_done(sched *s, sched_req *r)
{
    return sched_run_until(s, req_is_done, r);
}

sched_status sched_run_all(sched *s)
{
    return sched_run_until(s, NULL, NULL);
}

sched_status sched_call(sched *s, sched_fn *fn, void *arg)
{
    sched_req *r = sched_spawn(s, fn, arg, "call");

    if (!r)
        return SCHED_IDLE; /* out of memory: nothing could run */
    sched_status st = sched_run_until_done(s, r);
    if (st == SCHED_OK)
        sched_req_release(s, r);
    return st;
}

/* ---- eng_runtime glue -------------------------------------------------- */

static eng_co *rt_self(void *opaque)
{
    return (eng_co *)sched_current(opaque);
}

static void rt_co_park(void *opaque, const char *why)
{
    sched_co_park(opaque, why);
}

static void rt_wake(void *opaque, eng_co *co)
{
    sched_wake(opaque, (sched_req *)co);
}

/* Log ev in the announcing request's trail, then let the hook decide. */
static int rt_co_event(void *opaque, eng_event ev)
{
    sched *s = opaque;
    sched_req *r = s->running;

    if (!r)
        return 0;
    r->trail[r->trail_n++ % SCHED_TRAIL] = ev;
    return s->hook ? s->hook(s->hook_opaque, s, r, ev) : 0;
}

const eng_runtime *sched_runtime(sched *s)
{
    return &s->rt;
}

/* ---- description ------------------------------------------------------- */

typedef struct outbuf {
    char *p;
    size_t len, used;
} outbuf;

/* Append formatted text, truncating silently at the end of the buffer. */
__attribute__((format(printf, 2, 3))) static void out(outbuf *o,
                                                      const char *fmt, ...)
{
    va_list ap;

    if (o->used + 1 >= o->len)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->used, o->len - o->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->used +=
            (size_t)n < o->len - o->used ? (size_t)n : o->len - o->used - 1;
}

static const char *state_name(sched_req_state st)
{
    switch (st) {
    case REQ_READY:
        return "ready";
    case REQ_RUNNING:
        return "running";
    case REQ_PARKED:
        return "parked";
    case REQ_IO:
        return "waiting for I/O";
    case REQ_DONE:
        return "done";
    }
    return "?";
}

static void describe_req(const sched_req *r, outbuf *o)
{
    eng_event ev[SCHED_TRAIL];
    size_t n = sched_req_trail(r, ev, SCHED_TRAIL);

    out(o, "request %" PRIu64 " \"%s\": %s", r->id, r->label,
        state_name(r->state));
    if (r->state == REQ_IO) {
        char what[96]; /* formatted only here: I/O is submitted far more
                        * often than a deadlock is described */
        sched_io_what(&r->io, what, sizeof(what));
        out(o, " on %s", what);
    } else if (r->why && r->state == REQ_PARKED) {
        out(o, " on %s", r->why);
    }
    out(o, "\n  last events:");
    if (n == 0)
        out(o, " none");
    if (r->trail_n > n)
        out(o, " ...");
    for (size_t i = 0; i < n; i++)
        out(o, " %s", eng_event_name(ev[i]));
    out(o, "\n");
}

void sched_describe(const sched *s, char *buf, size_t len)
{
    outbuf o = {buf, len, 0};
    size_t live = 0;

    if (!len)
        return;
    buf[0] = '\0';
    for (const sched_req *r = s->all_head; r; r = r->all_next)
        live++;
    out(&o,
        "%zu live request%s, %zu ready, %zu parked, %zu I/O pending%s, "
        "%" PRIu64 " steps\n",
        live, live == 1 ? "" : "s", s->ready.f.n, s->nparked, s->io.f.n,
        s->io.detached ? " (some detached)" : "", s->steps);
    for (const sched_req *r = s->all_head; r; r = r->all_next)
        describe_req(r, &o);
    for (const sched_link *l = s->io.f.head; l; l = l->next) {
        const sched_io *io = SCHED_OF(l, const sched_io, q_link);
        char what[96];
        if (io->req)
            continue;
        sched_io_what(io, what, sizeof(what));
        out(&o, "detached %s, submitted by request %" PRIu64 "\n", what,
            io->owner);
    }
}
