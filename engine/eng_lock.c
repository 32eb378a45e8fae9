/*
 * eng_lock.c - a coroutine mutex and a coroutine wait queue built only on
 * the runtime's self/park/wake (the engine's metadata lock and the queue of
 * requests waiting on an in-flight allocation).
 *
 * Invariants:
 *   - Waiters are served in FIFO order; unlock hands the mutex directly to
 *     the first waiter (it stays locked), so nobody can overtake a waiter.
 *   - A waiter node lives on the waiting coroutine's stack; it is unlinked
 *     before the waiter is woken, and the waiter parks again until its
 *     own node says it was woken (a stray wake changes nothing).
 *   - Single thread: nothing here yields between deciding and enqueueing.
 */
#include "eng_internal.h"

/* Waiter nodes live on the waiting coroutine's stack and are always
 * unlinked before that coroutine returns (see the invariants above); GCC
 * cannot see that across the park. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

static void queue_push(eng_coqueue *q, eng_waiter *w)
{
    w->next = NULL;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
}

static eng_waiter *queue_pop(eng_coqueue *q)
{
    eng_waiter *w = q->head;
    if (w) {
        q->head = w->next;
        if (!q->head)
            q->tail = NULL;
        w->next = NULL;
    }
    return w;
}

static void waiter_co_park(const eng_runtime *rt, eng_waiter *w,
                           const char *why)
{
    while (!w->woken)
        rt->co_park(rt->opaque, why);
}

static void waiter_wake(const eng_runtime *rt, eng_waiter *w)
{
    w->woken = true;
    rt->wake(rt->opaque, w->co);
}

void eng_comutex_co_lock(const eng_runtime *rt, eng_comutex *m)
{
    if (!m->locked) {
        m->locked = true;
        return;
    }
    eng_waiter w = {.co = rt->self(rt->opaque)};
    queue_push(&m->waiters, &w);
    /* unlock hands over the mutex: when woken, it is ours */
    waiter_co_park(rt, &w, "engine metadata lock");
    assert(m->locked);
}

void eng_comutex_unlock(const eng_runtime *rt, eng_comutex *m)
{
    assert(m->locked);
    eng_waiter *w = queue_pop(&m->waiters);
    if (w)
        waiter_wake(rt, w); /* ownership passes to w; stays locked */
    else
        m->locked = false;
}

void eng_coqueue_co_wait(const eng_runtime *rt, eng_coqueue *q, eng_comutex *m,
                         const char *why)
{
    eng_waiter w = {.co = rt->self(rt->opaque)};
    queue_push(q, &w);
    eng_comutex_unlock(rt, m);
    waiter_co_park(rt, &w, why);
    eng_comutex_co_lock(rt, m);
}

void eng_coqueue_co_wait_unlocked(const eng_runtime *rt, eng_coqueue *q,
                                  const char *why)
{
    eng_waiter w = {.co = rt->self(rt->opaque)};
    queue_push(q, &w);
    waiter_co_park(rt, &w, why);
}

void eng_coqueue_wake_all(const eng_runtime *rt, eng_coqueue *q)
{
    eng_waiter *w;
    while ((w = queue_pop(q)) != NULL)
        waiter_wake(rt, w);
}
