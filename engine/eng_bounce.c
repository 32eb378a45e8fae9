/*
 * eng_bounce.c - the bounced, detached guest read path that only the
 * early_completion mutant takes (see eng_rw.c, read_run_co): the host read
 * goes into an engine-owned bounce buffer through eng_file_ops.aio_pread,
 * the request waits for a completion, then copies the bounce buffer into
 * the guest buffer. The correct engine reads straight into the guest
 * buffer and waits for its own read (eng_co_hread), so none of this runs
 * with the mutant off.
 *
 * Mutant early_completion (the class of QEMU launchpad bug 1745312, the
 * isapc machine's intermittent IDE "General failure reading drive"): the
 * request waits for the next completion of any of the engine's detached
 * reads, not for its own. When another read's host I/O completes first,
 * the request copies the bounce buffer - the bytes of whatever read used
 * it before - to the guest and completes while its own host read is still
 * in flight.
 *
 * Invariants:
 *   - Every record the engine made is on e->bounce_all until the engine
 *     goes. A record is idle (also on e->bounce_idle, most recently used
 *     first, so a reused buffer holds an earlier read's bytes), held by a
 *     request, or pending (also on e->bounce_pending: its host read
 *     submitted, its done() not yet called). Pending records are never
 *     reused or freed by the engine: done() hands them back to their
 *     request, or to the idle list when the request already completed.
 *   - eng_co_close drains (waits until nothing is pending); eng_destroy
 *     cannot wait, so it frees every record but the pending ones, which it
 *     orphans (b->e = NULL) for their done() to free. The file's owner
 *     calls done() exactly once (eng.h), so nothing leaks and nothing is
 *     freed under a read, even when a request waiting for its read is
 *     abandoned with the scheduler.
 *   - Buffers are grown with their new bytes zeroed: stale bytes are
 *     earlier reads' bytes or zeroes, never uninitialised memory.
 *   - Deterministic: lists in submission / release order only.
 */
#include <stdlib.h>

#include "eng_internal.h"

struct eng_bounce {
    eng_aio aio; /* first: an eng_aio * is an eng_bounce * */
    eng *e;      /* NULL once the engine is gone (orphan) */
    uint8_t *buf;
    size_t cap;
    bool pending;   /* host read submitted, done() not yet called */
    bool abandoned; /* its request completed early: done() releases it */
    int ret;
    eng_bounce *next;     /* e->bounce_idle or e->bounce_pending */
    eng_bounce *all_next; /* e->bounce_all */
};

static void bounce_free(eng_bounce *b)
{
    free(b->buf);
    free(b);
}

static void bounce_put(eng *e, eng_bounce *b)
{
    b->next = e->bounce_idle;
    e->bounce_idle = b;
}

/* An idle record with room for len bytes (the most recently used first). */
static eng_bounce *bounce_get(eng *e, size_t len)
{
    eng_bounce *b = e->bounce_idle;
    if (b) {
        e->bounce_idle = b->next;
    } else {
        if (!(b = calloc(1, sizeof(*b))))
            return NULL;
        b->all_next = e->bounce_all;
        e->bounce_all = b;
    }
    b->next = NULL;
    if (b->cap < len) {
        uint8_t *p = realloc(b->buf, len);
        if (!p) {
            bounce_put(e, b);
            return NULL;
        }
        memset(p + b->cap, 0, len - b->cap);
        b->buf = p;
        b->cap = len;
    }
    b->e = e;
    b->pending = b->abandoned = false;
    b->ret = 0;
    return b;
}

static void pending_unlink(eng *e, eng_bounce *b)
{
    eng_bounce **link = &e->bounce_pending;
    while (*link && *link != b)
        link = &(*link)->next;
    assert(*link == b);
    *link = b->next;
    b->next = NULL;
}

/* eng_aio.done: the detached read finished (or was cancelled). */
static void bounce_done(eng_aio *aio, int ret)
{
    eng_bounce *b = (eng_bounce *)aio;
    eng *e = b->e;

    if (!e) { /* the engine was destroyed meanwhile */
        bounce_free(b);
        return;
    }
    assert(b->pending);
    pending_unlink(e, b);
    b->pending = false;
    b->ret = ret;
    if (b->abandoned)
        bounce_put(e, b);
    /* every waiter looks again: its own read, or (the mutant) any */
    eng_coqueue_wake_all(&e->rt, &e->bounce_waiters);
}

int eng_bounce_co_read(eng *e, uint64_t host, uint8_t *buf, size_t len)
{
    /* the buffer first, as a device prepares its transfer buffer, then
     * the event (a breakpoint may hold the request with it), then the I/O */
    eng_bounce *b = bounce_get(e, len);
    if (!b)
        return -ENOMEM;
    int ret = eng_co_ev(e, ENG_EV_READ_AIO);
    if (ret < 0)
        goto out;
    if (!e->file->ops->aio_pread) { /* no detached reads: wait for it */
        ret = e->file->ops->co_pread(e->file, host, b->buf, len);
        goto copy;
    }
    b->aio.done = bounce_done;
    b->pending = true;
    b->next = e->bounce_pending;
    e->bounce_pending = b;
    ret = e->file->ops->aio_pread(e->file, host, b->buf, len, &b->aio);
    if (ret < 0) {
        pending_unlink(e, b);
        b->pending = false;
        bounce_put(e, b);
        return ret;
    }
    /*
     * Mutant early_completion: one wait for "a completion" where a loop
     * until this record's own completion belongs
     * (`while (b->pending) eng_coqueue_co_wait_unlocked(...)`). Woken by
     * another read's completion, the request goes on with its host read
     * in flight and copies what the bounce buffer held before.
     */
    eng_coqueue_co_wait_unlocked(&e->rt, &e->bounce_waiters,
                                 "engine read completion");
    if (b->pending) {
        b->abandoned = true; /* done() returns it to the idle list */
        memcpy(buf, b->buf, len);
        return 0;
    }
    ret = b->ret;
copy:
    if (ret == 0)
        memcpy(buf, b->buf, len);
out:
    bounce_put(e, b);
    return ret;
}

void eng_bounce_co_drain(eng *e)
{
    while (e->bounce_pending)
        eng_coqueue_co_wait_unlocked(&e->rt, &e->bounce_waiters,
                                     "engine close: detached reads");
}

void eng_bounce_release(eng *e)
{
    eng_bounce *b = e->bounce_all;
    while (b) {
        eng_bounce *next = b->all_next;
        if (b->pending)
            b->e = NULL; /* an orphan: its done() frees it */
        else
            bounce_free(b);
        b = next;
    }
    e->bounce_all = e->bounce_idle = e->bounce_pending = NULL;
}
