/*
 * test_coro.c - unit tests of the coroutine runtime (harness/coro.c).
 *
 * Covers: the order of switches (a log compared with the expected one),
 * data on coroutine stacks surviving switches, callee-saved state and FPU
 * control across switches, 10,000 coroutines alive at once, pool reuse and
 * drain, a deep-ish recursion with a yield at the bottom, abandoning an
 * unfinished coroutine, and the guard page below every stack (in a child
 * process, which must die on the guard page and nowhere else).
 *
 * Every test drains the pool at its end so LeakSanitizer sees no stacks.
 */
#include <fenv.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coro.h"
#include "unit.h"

/* ---- switch order ------------------------------------------------------ */

typedef struct order_ctx {
    char *log;
    char name;
    int rounds;
} order_ctx;

static void log_put(char *log, char who, int step)
{
    size_t n = strlen(log);
    log[n] = who;
    log[n + 1] = (char)('0' + step);
    log[n + 2] = '\0';
}

static void order_body(void *arg)
{
    order_ctx *c = arg;

    for (int i = 0; i < c->rounds; i++) {
        CHECK(coro_self() != NULL);
        log_put(c->log, c->name, i);
        coro_yield();
    }
    log_put(c->log, c->name, 9);
}

static void test_switch_order(void)
{
    char log[128] = "";
    order_ctx a = {log, 'a', 2}, b = {log, 'b', 1}, c = {log, 'c', 3};
    coro *ca = coro_create(order_body, &a);
    coro *cb = coro_create(order_body, &b);
    coro *cc = coro_create(order_body, &c);

    CHECK(coro_self() == NULL);
    CHECK(ca && cb && cc);
    /* Enter in a deliberately irregular pattern. */
    coro *plan[] = {cb, ca, cc, cb, cc, ca, ca, cc, cc};
    for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
        if (!coro_finished(plan[i]))
            coro_enter(plan[i]);
        CHECK(coro_self() == NULL);
        log_put(log, 'm', (int)i);
    }
    CHECK(strcmp(log, "b0m0a0m1c0m2b9m3c1m4a1m5a9m6c2m7c9m8") == 0);
    if (strcmp(log, "b0m0a0m1c0m2b9m3c1m4a1m5a9m6c2m7c9m8") != 0)
        fprintf(stderr, "log: %s\n", log);
    CHECK(coro_finished(ca) && coro_finished(cb) && coro_finished(cc));
    coro_destroy(ca);
    coro_destroy(cb);
    coro_destroy(cc);
    coro_pool_drain();
}

/* ---- stack data and registers across switches -------------------------- */

typedef struct stack_ctx {
    uint8_t seed;
    int ok;
} stack_ctx;

static void stack_body(void *arg)
{
    stack_ctx *c = arg;
    uint8_t buf[4096];
    volatile double acc = c->seed * 0.5;
    uint64_t sum = 0;

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(c->seed + i * 7);
    for (int round = 0; round < 5; round++) {
        coro_yield();
        acc = acc * 1.5 + round;
        for (size_t i = 0; i < sizeof(buf); i++)
            sum += buf[i] == (uint8_t)(c->seed + i * 7);
    }
    double want = c->seed * 0.5;
    for (int round = 0; round < 5; round++)
        want = want * 1.5 + round;
    c->ok = sum == 5 * sizeof(buf) && acc == want;
}

static void test_stack_survives_switches(void)
{
    stack_ctx c[4] = {{1, 0}, {2, 0}, {3, 0}, {200, 0}};
    coro *co[4];

    for (int i = 0; i < 4; i++)
        co[i] = coro_create(stack_body, &c[i]);
    while (!coro_finished(co[3]))
        for (int i = 3; i >= 0; i--)
            if (!coro_finished(co[i]))
                coro_enter(co[i]);
    for (int i = 0; i < 4; i++) {
        CHECK(c[i].ok);
        coro_destroy(co[i]);
    }

    coro_pool_drain();
}

#if defined(__x86_64__) && !defined(CORO_USE_UCONTEXT)
/* On x86-64 (the assembly switch) the FPU rounding mode is per context: a
 * coroutine changing it must not change main's, and main's must not leak
 * into a coroutine. The portable sigsetjmp back-end leaves it per thread. */
static volatile double fpu_one = 1.0, fpu_three = 3.0, fpu_ten = 10.0;

/* 1/3 and 1/10 in SSE arithmetic, a fingerprint of MXCSR's rounding mode:
 * to nearest rounds the first down and the second up, so nearest, down and
 * up give three different fingerprints. */
static uint64_t fpu_fingerprint(void)
{
    double a = fpu_one / fpu_three, b = fpu_one / fpu_ten;
    uint64_t x, y;
    memcpy(&x, &a, sizeof(x));
    memcpy(&y, &b, sizeof(y));
    return (x & 3) << 2 | (y & 3);
}

typedef struct fenv_seen {
    int mode[2];   /* fegetround() (x87 control word) before/after yield */
    uint64_t q[2]; /* fpu_fingerprint() (MXCSR) before/after yield */
} fenv_seen;

static void fenv_body(void *arg)
{
    fenv_seen *seen = arg;

    seen->mode[0] = fegetround();
    fesetround(FE_UPWARD);
    seen->q[0] = fpu_fingerprint();
    coro_yield();
    seen->mode[1] = fegetround();
    seen->q[1] = fpu_fingerprint();
}

static void test_fpu_control_per_context(void)
{
    fenv_seen seen = {{-1, -1}, {0, 0}};
    coro *f = coro_create(fenv_body, &seen);

    fesetround(FE_TONEAREST);
    uint64_t nearest = fpu_fingerprint();
    fesetround(FE_DOWNWARD);
    uint64_t down = fpu_fingerprint();
    fesetround(FE_UPWARD);
    uint64_t up = fpu_fingerprint();
    fesetround(FE_TONEAREST);
    /* else this test could not see anything */
    CHECK(nearest != down && nearest != up && down != up);
    coro_enter(f);
    CHECK_EQ(fegetround(), FE_TONEAREST);
    CHECK(fpu_fingerprint() == nearest);
    fesetround(FE_DOWNWARD);
    coro_enter(f);
    CHECK_EQ(fegetround(), FE_DOWNWARD);
    CHECK(fpu_fingerprint() == down);
    fesetround(FE_TONEAREST);
    CHECK_EQ(seen.mode[0], FE_TONEAREST);
    CHECK_EQ(seen.mode[1], FE_UPWARD);
    CHECK_EQ(seen.q[0], up);
    CHECK_EQ(seen.q[1], up);
    coro_destroy(f);
    coro_pool_drain();
}
#else
static void test_fpu_control_per_context(void)
{
}
#endif

/* ---- many at once ------------------------------------------------------ */

#define MANY 10000

static void many_body(void *arg)
{
    unsigned *slot = arg;
    unsigned mine = *slot;

    coro_yield();
    *slot = mine * 2 + 1;
}

static void test_ten_thousand(void)
{
    coro **co = calloc(MANY, sizeof(*co));
    unsigned *slot = calloc(MANY, sizeof(*slot));
    size_t created = 0, finished = 0, right = 0;

    for (unsigned i = 0; i < MANY; i++) {
        slot[i] = i;
        co[i] = coro_create(many_body, &slot[i]);
        created += co[i] != NULL;
        if (co[i])
            coro_enter(co[i]);
    }
    CHECK_EQ(created, MANY);
    for (unsigned i = MANY; i-- > 0;) {
        if (!co[i])
            continue;
        CHECK(!coro_finished(co[i]));
        coro_enter(co[i]);
        finished += coro_finished(co[i]);
        right += slot[i] == i * 2 + 1;
    }
    CHECK_EQ(finished, MANY);
    CHECK_EQ(right, MANY);
    for (unsigned i = 0; i < MANY; i++)
        coro_destroy(co[i]);
    coro_pool_drain();
    CHECK_EQ(coro_pool_count(), 0);
    free(co);
    free(slot);
}

/* ---- pool -------------------------------------------------------------- */

static void count_body(void *arg)
{
    (*(int *)arg)++;
    coro_yield();
    (*(int *)arg)++;
}

static void test_pool_reuse(void)
{
    int n = 0;
    coro_pool_drain();
    coro *a = coro_create(count_body, &n);
    coro_enter(a);
    coro_enter(a);
    CHECK(coro_finished(a));
    CHECK_EQ(n, 2);
    coro_destroy(a);
    CHECK_EQ(coro_pool_count(), 1);

    /* The pooled coroutine comes back and runs the new function. */
    int m = 10;
    coro *b = coro_create(count_body, &m);
    CHECK(b == a);
    CHECK_EQ(coro_pool_count(), 0);
    CHECK(!coro_finished(b));
    coro_enter(b);
    CHECK_EQ(m, 11);
    coro_enter(b);
    CHECK_EQ(m, 12);
    CHECK_EQ(n, 2);
    coro_destroy(b);

    /* A never-entered coroutine goes to the pool too. */
    coro *c = coro_create(count_body, &n);
    coro_destroy(c);
    CHECK_EQ(coro_pool_count(), 1);
    coro *d = coro_create(count_body, &n);
    coro_enter(d);
    coro_enter(d);
    CHECK_EQ(n, 4);
    coro_destroy(d);

    coro_pool_drain();
    CHECK_EQ(coro_pool_count(), 0);
}

/* An unfinished coroutine is freed, not pooled, and nothing more runs. */
static void test_abandon_unfinished(void)
{
    int n = 0;
    coro_pool_drain();
    coro *a = coro_create(count_body, &n);
    coro_enter(a);
    CHECK_EQ(n, 1);
    coro_destroy(a);
    CHECK_EQ(n, 1);
    CHECK_EQ(coro_pool_count(), 0);
    coro_pool_drain();
}

/* ---- recursion --------------------------------------------------------- */

static uint64_t recurse(unsigned depth, unsigned yield_at)
{
    volatile uint8_t pad[96];

    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = (uint8_t)(depth + i);
    if (depth == yield_at)
        coro_yield();
    uint64_t below = depth ? recurse(depth - 1, yield_at) : 0;
    uint64_t mine = 0;
    for (size_t i = 0; i < sizeof(pad); i++)
        mine += pad[i] == (uint8_t)(depth + i);
    return below + mine;
}

typedef struct deep_ctx {
    unsigned depth;
    uint64_t result;
} deep_ctx;

static void deep_body(void *arg)
{
    deep_ctx *c = arg;
    c->result = recurse(c->depth, 0);
}

static void test_deep_recursion(void)
{
    /* ~600 frames of >100 bytes: well within CORO_STACK_SIZE, even under
     * ASan's larger frames, and far beyond what a tiny stack would take. */
    deep_ctx c = {600, 0};
    coro *co = coro_create(deep_body, &c);
    int entries = 0;

    while (!coro_finished(co)) {
        coro_enter(co);
        entries++;
    }
    CHECK_EQ(entries, 2); /* yielded once at the bottom */
    CHECK_EQ(c.result, (uint64_t)(c.depth + 1) * 96);
    coro_destroy(co);
    coro_pool_drain();
}

/* ---- guard page -------------------------------------------------------- */

static volatile uintptr_t guard_lowest;     /* lowest frame seen (child only) */
static volatile unsigned guard_limit = ~0u; /* never reached in practice */

static void guard_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    uintptr_t fault = (uintptr_t)si->si_addr;
    uintptr_t page = fault & ~(uintptr_t)4095;
    unsigned char vec;
    /* The fault must hit the deepest frame (within a few pages below the
     * last local recorded), on a page that is mapped but inaccessible: the
     * guard page, not an unmapped hole or somewhere random. mincore fails
     * with ENOMEM on unmapped memory. */
    bool at_bottom =
        fault <= guard_lowest + 256 && fault + 3 * 4096 > guard_lowest;
    bool mapped = mincore((void *)page, 4096, &vec) == 0;
    _exit(at_bottom && mapped ? 42 : 43);
}

static unsigned overflow(unsigned depth)
{
    volatile uint8_t pad[256];

    guard_lowest = (uintptr_t)pad;
    if (depth >= guard_limit)
        return 0;
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = (uint8_t)depth;
    return overflow(depth + 1) + pad[depth % sizeof(pad)];
}

static void overflow_body(void *arg)
{
    *(unsigned *)arg = overflow(0);
}

static void test_guard_page(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        static char alt[64 * 1024];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof(alt)};
        struct sigaction sa;
        unsigned r = 0;

        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = guard_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaltstack(&ss, NULL);
        sigaction(SIGSEGV, &sa, NULL);
        coro *co = coro_create(overflow_body, &r);
        coro_enter(co);
        _exit(44); /* unreachable: the recursion never ends */
    }
    int status = 0;
    CHECK(pid > 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 42);
}

static const unit_test tests[] = {
    UNIT(test_switch_order),
    UNIT(test_stack_survives_switches),
    UNIT(test_fpu_control_per_context),
    UNIT(test_ten_thousand),
    UNIT(test_pool_reuse),
    UNIT(test_abandon_unfinished),
    UNIT(test_deep_recursion),
    UNIT(test_guard_page),
};

UNIT_MAIN(tests)
