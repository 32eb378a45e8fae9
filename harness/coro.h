/*
 * coro.h - stackful coroutines with a system-call-free switch.
 *
 * A coroutine runs fn(arg) on its own guarded stack. coro_enter() switches
 * from the caller into it; coro_yield() switches back to whoever entered it.
 * When fn returns the coroutine is finished; entering it again is a bug.
 *
 * Invariants:
 *   - One thread. Coroutines are entered only from the main context (the
 *     scheduler), never from each other, so the switch graph is a star.
 *   - No system call per switch (sigsetjmp/siglongjmp with savemask 0 after
 *     a one-time makecontext, or an assembly switch); AddressSanitizer fiber
 *     annotations in sanitizer builds.
 *   - Stacks: mmap'd with a PROT_NONE guard page below; finished coroutines
 *     are kept in a pool (owned by the pool) and reused.
 *   - The current coroutine is thread-local state of the runtime (as in
 *     QEMU); nothing else is global.
 */
#ifndef COWPOKE_CORO_H
#define COWPOKE_CORO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct coro coro;
typedef void coro_fn(void *arg);

#define CORO_STACK_SIZE (256u * 1024u)

/* A new coroutine that will run fn(arg) when first entered. NULL on ENOMEM. */
coro *coro_create(coro_fn *fn, void *arg);

/* Switch into co until it yields or finishes. Called from the main context. */
void coro_enter(coro *co);

/* From inside a coroutine: switch back to the main context. */
void coro_yield(void);

/* The running coroutine, or NULL in the main context. */
coro *coro_self(void);

/* Whether fn has returned. */
bool coro_finished(const coro *co);

/*
 * Release a coroutine. A finished or never-entered one goes to this thread's
 * pool for reuse by coro_create. An unfinished one (suspended in fn) is
 * abandoned: its stack is freed and no more of its code runs, so whatever
 * it alone referenced leaks (the scheduler's destroy relies on this).
 * NULL is ignored. Never destroy the running coroutine.
 */
void coro_destroy(coro *co);

/* Free the pool of this thread (tests, end of process; LeakSanitizer). */
void coro_pool_drain(void);

/* How many coroutines this thread's pool holds (tests). */
size_t coro_pool_count(void);

/*
 * Micro-benchmark: nanoseconds per round trip (coro_enter + coro_yield,
 * two switches) averaged over `rounds`; negative on ENOMEM. Reads the
 * clock: for the bench command only, never for tests or decisions.
 */
double coro_bench_switch_ns(unsigned rounds);

#endif
