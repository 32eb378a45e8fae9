/*
 * coro.c - stackful coroutines with a system-call-free switch (see coro.h).
 *
 * Two back-ends, chosen at compile time:
 *   - x86-64 (every build, sanitizers included): an assembly switch that
 *     saves the callee-saved registers (rbx, rbp, r12-r15), MXCSR and the
 *     x87 control word on the old stack and swaps rsp. About twenty
 *     instructions; no system call.
 *   - elsewhere (or with -DCORO_USE_UCONTEXT): QEMU's scheme, makecontext
 *     once per stack to start on it, then sigsetjmp/siglongjmp with
 *     savemask 0 for every switch.
 *
 * Each coroutine runs a loop on its stack: call fn(arg), mark itself
 * finished, switch back to the main context for good. A finished coroutine
 * parked at the end of that loop is ready to run a new fn, which is what
 * makes the pool cheap: reuse costs no mmap and no new start-up frame.
 *
 * Invariants:
 *   - The switch graph is a star: coroutines are entered only from the main
 *     context and yield only back to it (tls.current tells which runs).
 *   - Stack mapping: [guard page PROT_NONE][CORO_STACK_SIZE usable], grows
 *     down towards the guard page.
 *   - A coroutine is in the pool only if it is fresh (never entered) or
 *     finished, i.e. parked at the top of its loop. Unfinished coroutines
 *     that are destroyed are unmapped, never pooled.
 *   - AddressSanitizer is told of every switch (start_switch_fiber before,
 *     finish_switch_fiber right after landing); the fake stack of a fiber is
 *     dropped when its fn finishes.
 *
 * Ownership: coro_create returns a coroutine owned by the caller until
 * coro_destroy, which hands it to this thread's pool (or frees it). The pool
 * is owned by the thread-local runtime state and emptied by coro_pool_drain.
 * The thread-local state (current coroutine, main context, pool) is the one
 * piece of global mutable state cowpoke allows.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "coro.h"

#if !defined(__x86_64__) && !defined(CORO_USE_UCONTEXT)
#define CORO_USE_UCONTEXT 1
#endif

#ifdef CORO_USE_UCONTEXT
#include <setjmp.h>
#include <ucontext.h>
#endif

/* ---- sanitizer and valgrind hooks -------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif

#ifdef CORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define asan_start(fake, lo, len) __sanitizer_start_switch_fiber(fake, lo, len)
#define asan_finish(fake, lo, len)                                             \
    __sanitizer_finish_switch_fiber(fake, lo, len)
#define asan_unpoison(p, len) __asan_unpoison_memory_region(p, len)
#else
#define asan_start(fake, lo, len) ((void)(fake), (void)(lo), (void)(len))
#define asan_finish(fake, lo, len) ((void)(fake), (void)(lo), (void)(len))
#define asan_unpoison(p, len) ((void)(p), (void)(len))
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CORO_VALGRIND 1
#endif
#endif

/* Finished coroutines kept per thread for reuse; more are unmapped. */
#define CORO_POOL_MAX 1024u

/* ---- the saved context of one side of a switch ------------------------- */

#ifdef CORO_USE_UCONTEXT
typedef struct coro_ctx {
    sigjmp_buf env;
    sigjmp_buf *boot; /* the creator's landing spot during start-up */
} coro_ctx;

/* Must stay a macro: sigsetjmp's frame has to live while the jump is away. */
#define CORO_SWITCH(from, to)                                                  \
    do {                                                                       \
        if (!sigsetjmp((from)->env, 0))                                        \
            siglongjmp((to)->env, 1);                                          \
    } while (0)
#else
typedef struct coro_ctx {
    void *sp; /* saved stack pointer while switched away */
} coro_ctx;

void cowpoke_coro_switch(void **save_sp, void *load_sp);
void cowpoke_coro_start(void);

#define CORO_SWITCH(from, to) cowpoke_coro_switch(&(from)->sp, (to)->sp)
#endif

struct coro {
    coro_ctx ctx;
    coro_fn *fn;
    void *arg;
    bool started;       /* entered at least once since coro_create */
    bool finished;      /* fn has returned */
    unsigned char *map; /* mapping: guard page, then the stack */
    size_t map_len;
    size_t guard_len;
    void *asan_fake;   /* ASan fake stack while switched away */
    unsigned vg_stack; /* valgrind stack id */
    coro *pool_next;
};

/* Per-thread runtime state: the only mutable global of cowpoke. */
static _Thread_local struct coro_tls {
    coro *current;
    coro_ctx main_ctx;
    void *main_fake;
    const void *main_lo; /* main stack, learnt when landing in a coroutine */
    size_t main_len;
    coro *pool;
    size_t pool_len;
} tls;

static void *stack_lo(const coro *co)
{
    return co->map + co->guard_len;
}

static size_t stack_len(const coro *co)
{
    return co->map_len - co->guard_len;
}

/* ---- switching --------------------------------------------------------- */

/* From the main context into co, until co switches back. */
static void switch_into(coro *co)
{
    asan_start(&tls.main_fake, stack_lo(co), stack_len(co));
    CORO_SWITCH(&tls.main_ctx, &co->ctx);
    asan_finish(tls.main_fake, NULL, NULL);
}

/* First thing after landing on co's stack: let ASan know where we came from. */
static void landed_in(coro *co)
{
    asan_finish(co->asan_fake, &tls.main_lo, &tls.main_len);
}

/* From co back to the main context. `final`: fn has returned, so the fake
 * stack of this run can go; when the coroutine is reused it starts anew. */
static void switch_out(coro *co, bool final)
{
    if (final)
        co->asan_fake = NULL;
    asan_start(final ? NULL : &co->asan_fake, tls.main_lo, tls.main_len);
    CORO_SWITCH(&co->ctx, &tls.main_ctx);
    landed_in(co);
}

/* The loop every coroutine runs on its own stack; never returns. Not
 * static: the assembly start-up code calls it by name. */
__attribute__((noreturn, used, visibility("hidden"))) void
cowpoke_coro_body(coro *co);

void cowpoke_coro_body(coro *co)
{
    landed_in(co);
    for (;;) {
        co->fn(co->arg);
        co->finished = true;
        switch_out(co, true);
    }
}

/* ---- back-end: start-up frame ------------------------------------------ */

#ifdef CORO_USE_UCONTEXT

static void coro_uc_start(int hi, int lo)
{
    coro *co = (coro *)(((uintptr_t)(unsigned)hi << 32) | (unsigned)lo);
    const void *creator_lo;
    size_t creator_len;

    asan_finish(NULL, &creator_lo, &creator_len);
    if (!sigsetjmp(co->ctx.env, 0)) {
        asan_start(&co->asan_fake, creator_lo, creator_len);
        siglongjmp(*co->ctx.boot, 1);
    }
    cowpoke_coro_body(co);
}

/* Run co's stack up to its first sigsetjmp and come back (one
 * swapcontext per stack, not per switch). */
static int coro_init_frame(coro *co)
{
    ucontext_t uc, old;
    sigjmp_buf boot;
    void *fake = NULL;
    uintptr_t p = (uintptr_t)co;

    if (getcontext(&uc) < 0)
        return -errno;
    uc.uc_stack.ss_sp = stack_lo(co);
    uc.uc_stack.ss_size = stack_len(co);
    uc.uc_link = NULL;
    makecontext(&uc, (void (*)(void))coro_uc_start, 2, (int)(p >> 32),
                (int)(uint32_t)p);
    co->ctx.boot = &boot;
    asan_start(&fake, stack_lo(co), stack_len(co));
    if (!sigsetjmp(boot, 0))
        swapcontext(&old, &uc);
    asan_finish(fake, NULL, NULL);
    co->ctx.boot = NULL;
    return 0;
}

#else /* x86-64 assembly */

/*
 * cowpoke_coro_switch(save_sp, load_sp): push the callee-saved registers
 * and the FPU control state, store rsp in *save_sp, load load_sp, pop the
 * same from there and return into the other side.
 * cowpoke_coro_start: where a fresh stack first returns to; calls
 * cowpoke_coro_body(r12) with a 16-byte aligned stack.
 */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl cowpoke_coro_switch\n"
        ".hidden cowpoke_coro_switch\n"
        ".type cowpoke_coro_switch, @function\n"
        "cowpoke_coro_switch:\n"
        "    .cfi_startproc\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        "    .cfi_endproc\n"
        ".size cowpoke_coro_switch, .-cowpoke_coro_switch\n"
        ".p2align 4\n"
        ".globl cowpoke_coro_start\n"
        ".hidden cowpoke_coro_start\n"
        ".type cowpoke_coro_start, @function\n"
        "cowpoke_coro_start:\n"
        "    .cfi_startproc\n"
        "    .cfi_undefined rip\n"
        "    movq %r12, %rdi\n"
        "    call cowpoke_coro_body\n"
        "    ud2\n"
        "    .cfi_endproc\n"
        ".size cowpoke_coro_start, .-cowpoke_coro_start\n");

/* Lay out the frame cowpoke_coro_switch pops on first entry. From the top:
 * 16 bytes of zeroes (end of the frame chain), the return address
 * (cowpoke_coro_start), rbp=0, rbx=0, r12=co, r13..r15=0, then MXCSR and
 * the x87 control word at their power-on defaults. */
static int coro_init_frame(coro *co)
{
    uintptr_t top = ((uintptr_t)co->map + co->map_len) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top;
    uint32_t mxcsr = 0x1f80;
    uint16_t fpucw = 0x037f;

    sp[-1] = 0;
    sp[-2] = 0;
    sp[-3] = (uint64_t)(uintptr_t)cowpoke_coro_start;
    sp[-4] = 0;                       /* rbp */
    sp[-5] = 0;                       /* rbx */
    sp[-6] = (uint64_t)(uintptr_t)co; /* r12 */
    sp[-7] = 0;                       /* r13 */
    sp[-8] = 0;                       /* r14 */
    sp[-9] = 0;                       /* r15 */
    memcpy(&sp[-10], &mxcsr, sizeof(mxcsr));
    memcpy((unsigned char *)&sp[-10] + 4, &fpucw, sizeof(fpucw));
    co->ctx.sp = &sp[-10];
    return 0;
}

#endif

/* ---- life cycle -------------------------------------------------------- */

/* Unmap and free; co may be unfinished (its frames are simply dropped). */
static void coro_free(coro *co)
{
#ifdef CORO_VALGRIND
    VALGRIND_STACK_DEREGISTER(co->vg_stack);
#endif
    /* Frames that never returned leave ASan redzones behind: clear them so
     * whatever is mapped here next starts clean. */
    asan_unpoison(stack_lo(co), stack_len(co));
    munmap(co->map, co->map_len);
    free(co);
}

static coro *coro_new(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    coro *co = calloc(1, sizeof(*co));

    if (!co)
        return NULL;
    co->guard_len = page;
    co->map_len = page + ((CORO_STACK_SIZE + page - 1) & ~(page - 1));
    co->map =
        mmap(NULL, co->map_len, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (co->map == MAP_FAILED) {
        free(co);
        return NULL;
    }
    if (mprotect(co->map, co->guard_len, PROT_NONE) < 0 ||
        coro_init_frame(co) < 0) {
        munmap(co->map, co->map_len);
        free(co);
        return NULL;
    }
#ifdef CORO_VALGRIND
    co->vg_stack = VALGRIND_STACK_REGISTER(stack_lo(co), co->map + co->map_len);
#endif
    return co;
}

coro *coro_create(coro_fn *fn, void *arg)
{
    coro *co = tls.pool;

    if (co) {
        tls.pool = co->pool_next;
        tls.pool_len--;
        co->pool_next = NULL;
    } else {
        co = coro_new();
        if (!co)
            return NULL;
    }
    co->fn = fn;
    co->arg = arg;
    co->started = false;
    co->finished = false;
    return co;
}

void coro_enter(coro *co)
{
    assert(tls.current == NULL && "coroutines are entered from main only");
    assert(!co->finished);
    co->started = true;
    tls.current = co;
    switch_into(co);
    tls.current = NULL;
}

void coro_yield(void)
{
    coro *co = tls.current;

    assert(co && "coro_yield outside a coroutine");
    switch_out(co, false);
}

coro *coro_self(void)
{
    return tls.current;
}

bool coro_finished(const coro *co)
{
    return co->finished;
}

void coro_destroy(coro *co)
{
    if (!co)
        return;
    assert(co != tls.current);
    if ((co->started && !co->finished) || tls.pool_len >= CORO_POOL_MAX) {
        coro_free(co);
        return;
    }
    co->fn = NULL;
    co->arg = NULL;
    co->pool_next = tls.pool;
    tls.pool = co;
    tls.pool_len++;
}

void coro_pool_drain(void)
{
    while (tls.pool) {
        coro *co = tls.pool;
        tls.pool = co->pool_next;
        coro_free(co);
    }
    tls.pool_len = 0;
}

size_t coro_pool_count(void)
{
    return tls.pool_len;
}

/* ---- micro-benchmark --------------------------------------------------- */

static void bench_body(void *arg)
{
    const volatile bool *stop = arg;

    while (!*stop)
        coro_yield();
}

double coro_bench_switch_ns(unsigned rounds)
{
    volatile bool stop = false;
    struct timespec t0, t1;
    coro *co = coro_create(bench_body, (void *)&stop);

    if (!co || rounds == 0) {
        coro_destroy(co);
        return -1.0;
    }
    coro_enter(co); /* warm up: first entry runs the start-up frame */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < rounds; i++)
        coro_enter(co);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    stop = true;
    coro_enter(co);
    coro_destroy(co);
    return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
            (double)(t1.tv_nsec - t0.tv_nsec)) /
           rounds;
}
