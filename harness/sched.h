/*
 * sched.h - the deterministic scheduler: one thread, every guest request a
 * coroutine, every host I/O completed when the scheduler says so.
 *
 * The scheduler owns all concurrency. A request (sched_req) is a coroutine
 * spawned with sched_spawn(); it runs until it parks: it submitted host I/O,
 * it waits on another request (engine locks), or a breakpoint holds it.
 * Host I/O submitted through a scheduler-made eng_file is queued; the
 * scheduler performs it on the backend (reads copy data at completion time,
 * writes apply at completion time) and wakes the submitter. A detached read
 * (aio_pread) is queued the same way but nobody waits for it: at its
 * completion the scheduler calls its eng_aio's done() from the main
 * context, even when the request that submitted it has finished.
 *
 * Policies decide which runnable thing goes next:
 *   SCHED_FIFO:   the oldest ready request runs first; when none is ready,
 *                 the oldest pending host I/O completes. Ties are broken by
 *                 sequence numbers, never by addresses.
 *   SCHED_RANDOM: a seeded choice among ready requests and pending I/Os.
 *   SCHED_TAPE:   each choice is read from a byte tape (fuzzer input); when
 *                 the tape runs out, FIFO.
 * The candidates of a choice are listed as FIFO prefers them: ready
 * requests oldest first, then pending I/Os oldest first. RANDOM draws an
 * index among them, TAPE takes (next byte % count). A draw or a byte is
 * spent only when there are two or more candidates, so an all-zero tape is
 * FIFO and no byte is wasted on a forced move.
 *
 * Invariants:
 *   - Deterministic: same spawns, same policy and seed/tape -> same order.
 *   - Never hangs: sched_run_*() return SCHED_DEADLOCK when requests remain
 *     parked with nothing runnable and no I/O pending (sched_describe()
 *     then names each request and what it waits on), and SCHED_BUDGET when
 *     the step budget is spent.
 *   - The scheduler owns its requests and the eng_files it makes.
 */
#ifndef COWPOKE_SCHED_H
#define COWPOKE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eng.h"
#include "host.h"

typedef struct sched sched;
typedef struct sched_req sched_req;
typedef void sched_fn(void *arg);

typedef enum sched_policy { SCHED_FIFO, SCHED_RANDOM, SCHED_TAPE } sched_policy;

typedef enum sched_status {
    SCHED_OK,       /* the awaited condition holds */
    SCHED_IDLE,     /* nothing runnable, nothing pending, nobody parked */
    SCHED_DEADLOCK, /* requests parked forever */
    SCHED_BUDGET,   /* step budget exhausted */
} sched_status;

sched *sched_create(void);
/* Frees everything. Requests still alive are abandoned (their coroutines are
 * freed without running further); detached reads still pending are
 * cancelled first (done(-ECANCELED), their buffers untouched). */
void sched_destroy(sched *s);

void sched_set_policy(sched *s, sched_policy p, uint64_t seed);
void sched_set_tape(sched *s, const uint8_t *tape, size_t len); /* copied */
void sched_set_budget(sched *s, uint64_t steps); /* 0: unlimited */
uint64_t sched_steps(const sched *s);
/* Detached host reads (eng_file_ops.aio_pread) not yet completed. They are
 * completed by steps like any I/O, and may outlive the request that
 * submitted them; sched_destroy cancels the rest (done(-ECANCELED)). */
size_t sched_detached_pending(const sched *s);

/*
 * Event hook: called (inside the announcing coroutine) for every event the
 * engine announces, after the scheduler logs it in the request's trail. It
 * may park the request (breakpoints) and may return -errno (injected
 * errors). NULL: events only logged.
 */
typedef int sched_event_hook(void *opaque, sched *s, sched_req *r,
                             eng_event ev);
void sched_set_event_hook(sched *s, sched_event_hook *hook, void *opaque);

/* Spawn a request; it is ready but does not run until the scheduler runs. */
sched_req *sched_spawn(sched *s, sched_fn *fn, void *arg, const char *label);
bool sched_req_done(const sched_req *r);
const char *sched_req_label(const sched_req *r);
uint64_t sched_req_id(const sched_req *r); /* 1, 2, ... in spawn order */
/* Free a finished request early (otherwise freed with the scheduler).
 * Ignored for a request that has not finished. */
void sched_req_release(sched *s, sched_req *r);
/* Copy r's last events (at most the ~16 kept, at most max), oldest first,
 * into out; returns how many. The trail of the request at fault goes into
 * verdict reports. */
size_t sched_req_trail(const sched_req *r, eng_event *out, size_t max);

/* Run one step (one ready request until it parks, or one I/O completion).
 * Returns false when there was nothing to do (or when called from inside a
 * request). Counts towards the budget but does not look at it: the
 * sched_run_*() functions do. */
bool sched_step(sched *s);
/*
 * The run loops. Each returns SCHED_OK as soon as its condition holds
 * (checked before every step), SCHED_BUDGET when the budget is spent,
 * SCHED_DEADLOCK when nothing can run or complete but requests are parked,
 * SCHED_IDLE when nothing can run or complete and nobody is parked.
 */
/* Run until r has finished. */
sched_status sched_run_until_done(sched *s, sched_req *r);
/* Run until pred(opaque) is true (checked between steps). */
sched_status sched_run_until(sched *s, bool (*pred)(void *), void *opaque);
/* Run until nothing is runnable or pending: SCHED_IDLE when all is drained,
 * SCHED_DEADLOCK if requests are parked (or SCHED_BUDGET). */
sched_status sched_run_all(sched *s);

/* Spawn fn(arg) (label "call") and run until it finishes: the synchronous
 * way to call the engine from ordinary code (CLI, tests). Other requests
 * run meanwhile. SCHED_OK once it finished (it is then released); else
 * the request stays with the scheduler. SCHED_IDLE if it could not even be
 * created (out of memory). */
sched_status sched_call(sched *s, sched_fn *fn, void *arg);

/* Write a human-readable account of every live request (id, label, state,
 * what it waits on, its last events) into buf. */
void sched_describe(const sched *s, char *buf, size_t len);

/* ---- inside a request's coroutine --------------------------------------- */

sched_req *sched_current(sched *s);
/* Park the current request until sched_wake(). `why` is a static string. */
void sched_co_park(sched *s, const char *why);
/* Make a parked request ready (it runs when the policy picks it; the
 * caller goes on). Waking a request that is not parked does nothing: in
 * particular a request waiting for its host I/O waits for the completion. */
void sched_wake(sched *s, sched_req *r);

/* ---- glue for the engine ------------------------------------------------ */

/* The eng_runtime backed by this scheduler (valid until sched_destroy). */
const eng_runtime *sched_runtime(sched *s);

/* An asynchronous eng_file over backend b: each I/O is queued and completed
 * by the scheduler. The scheduler owns the eng_file; b stays the caller's. */
eng_file *sched_file(sched *s, host_backend *b, const char *name);

#endif
