/*
 * exec.c - the script executor's core (see exec.h and exec_int.h): one
 * trace from the first command to the end-of-trace checks, the dispatch of
 * commands, and the run loops that turn "nothing can run any more" into a
 * deadlock verdict and a spent step budget into a budget verdict.
 *
 * The shape of a run:
 *   1. set up: a scheduler (FIFO, the step budget, the event hook);
 *   2. every command in order, until one of them finds a verdict; after
 *      each command, finished requests are reaped;
 *   2b. when an armed power loss (`crash after=N`) cut the command short,
 *      the lost requests unwind, the images reopen, and the next command
 *      runs (exec_crash.c);
 *   3. end of trace: an `expect_error` with no command after it is a
 *      script error; an armed power loss and breakpoints that never fired
 *      are disarmed; every
 *      request is drained (a request still suspended or stopped is a
 *      deadlock); every open image is flushed and closed; the metadata
 *      checker runs on every image;
 *   4. teardown, whatever the verdict: held requests are released and
 *      drained with a fresh allowance of steps (so they free what they
 *      hold), the image hashes are taken, and everything is freed.
 *
 * Invariant: nothing here yields; the run loops are called from the main
 * context only (never from inside a request).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_int.h"

/* Steps allowed to unwind held requests at teardown. */
#define EXEC_TEARDOWN_BUDGET UINT64_C(1000000)

/* ---- output -------------------------------------------------------------- */

void exec_printf(exec *x, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (!x->o.print)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    x->o.print(x->o.print_opaque, line);
}

/* ---- run loops ----------------------------------------------------------- */

typedef struct exec_wait {
    exec *x;
    bool (*pred)(void *);
    void *arg;
} exec_wait;

/* A failure found inside a request ends every wait at once. */
static bool exec_wait_pred(void *p)
{
    exec_wait *w = p;
    return exec_halted(w->x) || (w->pred && w->pred(w->arg));
}

/* Turn a scheduler status into true (the wait is over) or a verdict. */
static bool exec_status(exec *x, sched_status st, bool idle_ok,
                        const char *what)
{
    x->r->steps = sched_steps(x->s);
    if (exec_halted(x))
        return false;
    if (st == SCHED_OK || (st == SCHED_IDLE && idle_ok))
        return true;
    exec_reap(x); /* finished requests are not part of the story */
    if (st == SCHED_BUDGET) {
        exec_fail(x, NULL, SCRIPT_V_BUDGET,
                  "the step budget (%" PRIu64 " scheduler steps) ran out "
                  "while waiting for %s",
                  x->o.budget, what);
    } else {
        exec_fail(x, NULL, SCRIPT_V_DEADLOCK,
                  "deadlock: waiting for %s, but %s", what,
                  st == SCHED_IDLE ? "no request is left that could get there"
                                   : "every request in flight is parked and "
                                     "nothing can wake them");
    }
    exec_describe_inflight(x);
    return false;
}

bool exec_run_until(exec *x, bool (*pred)(void *), void *arg, const char *what)
{
    if (exec_halted(x))
        return false;
    exec_wait w = {x, pred, arg};
    sched_status st = sched_run_until(x->s, exec_wait_pred, &w);
    return exec_status(x, st, false, what);
}

bool exec_drain(exec *x, const char *what)
{
    if (exec_halted(x))
        return false;
    exec_wait w = {x, NULL, NULL};
    sched_status st = sched_run_until(x->s, exec_wait_pred, &w);
    return exec_status(x, st, true, what);
}

/* Free every finished request. */
void exec_reap(exec *x)
{
    exec_req **link = &x->reqs;
    while (*link) {
        exec_req *q = *link;
        if (q->done) {
            *link = q->next;
            sched_req_release(x->s, q->sr);
            exec_req_free(q);
        } else {
            link = &q->next;
        }
    }
}

/* ---- commands ------------------------------------------------------------ */

bool exec_is_data_cmd(script_kind k)
{
    switch (k) {
    case SCRIPT_WRITE:
    case SCRIPT_READ:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_AIO_READ:
    case SCRIPT_FLUSH:
    case SCRIPT_DISCARD:
        return true;
    default:
        return false;
    }
}

/* Commands that make a request, and so may carry an expect_error. */
static bool exec_takes_expect(script_kind k)
{
    return exec_is_data_cmd(k) || k == SCRIPT_CLOSE || k == SCRIPT_REOPEN ||
           k == SCRIPT_TRUNCATE || k == SCRIPT_IMAGE_OPEN;
}

static bool exec_cmd_sched(exec *x, const script_cmd *c)
{
    switch (c->sched.policy) {
    case SCRIPT_SCHED_FIFO:
        sched_set_policy(x->s, SCHED_FIFO, 0);
        break;
    case SCRIPT_SCHED_RANDOM:
        sched_set_policy(x->s, SCHED_RANDOM, c->sched.seed);
        break;
    case SCRIPT_SCHED_TAPE:
        sched_set_policy(x->s, SCHED_TAPE, 0);
        sched_set_tape(x->s, c->sched.tape, c->sched.tape_len);
        break;
    }
    return true;
}

static bool exec_cmd(exec *x, const script_cmd *c)
{
    switch (c->kind) {
    case SCRIPT_WRITE:
    case SCRIPT_READ:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_AIO_READ:
    case SCRIPT_FLUSH:
    case SCRIPT_DISCARD:
        return exec_cmd_io(x, c);
    case SCRIPT_AIO_FLUSH:
        return exec_drain(x, "aio_flush: every request in flight to complete");
    case SCRIPT_BREAK:
    case SCRIPT_WAIT_BREAK:
    case SCRIPT_RESUME:
    case SCRIPT_REMOVE_BREAK:
        return exec_cmd_bp(x, c);
    case SCRIPT_CLOSE:
        return exec_cmd_close(x, false);
    case SCRIPT_REOPEN:
        return exec_cmd_close(x, true);
    case SCRIPT_TRUNCATE:
        return exec_cmd_truncate(x, c);
    case SCRIPT_IMAGE_CREATE:
        return exec_cmd_image_create(x, c);
    case SCRIPT_IMAGE_OPEN:
        return exec_cmd_image_open(x, c);
    case SCRIPT_IMAGE_USE:
        return exec_cmd_image_use(x, c);
    case SCRIPT_SCHED:
        return exec_cmd_sched(x, c);
    case SCRIPT_CHECK:
        return exec_cmd_check(x);
    case SCRIPT_MUTANT:
        x->mutants |= ENG_MUTANT_BIT(c->mutant);
        return true;
    case SCRIPT_EXPECT_ERROR:
        x->pending_expect = c->err;
        return true;
    case SCRIPT_POLICY:
        x->werror_stop = c->werror == SCRIPT_WERROR_STOP;
        return true;
    case SCRIPT_RESUME_ERRORS:
        return exec_cmd_resume_errors(x);
    case SCRIPT_HOST_LIMIT:
    case SCRIPT_HOST_GROW:
        return exec_cmd_host(x, c);
    case SCRIPT_INJECT:
        return exec_cmd_inject(x, c);
    case SCRIPT_CRASH:
        return exec_cmd_crash(x, c);
    case SCRIPT_KIND_COUNT:
        break;
    }
    return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR, "unknown command");
}

/* Run command i; an expect_error in front of it becomes its expectation. */
static void exec_step(exec *x, size_t i)
{
    const script_cmd *c = &x->scr->cmds[i];

    x->cmd = i;
    x->line = c->line;
    if (x->o.progress)
        x->o.progress(x->o.progress_opaque, i);
    if (x->o.abort_at == i + 1)
        abort();
    if (x->pending_expect && c->kind != SCRIPT_EXPECT_ERROR &&
        !exec_takes_expect(c->kind)) {
        exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                  "expect_error must come right before a command that makes "
                  "a request, not before '%s'",
                  script_kind_name(c->kind));
        return;
    }
    if (c->kind == SCRIPT_EXPECT_ERROR && x->pending_expect) {
        exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                  "two expect_error commands in a row");
        return;
    }
    exec_cmd(x, c);
    if (c->kind != SCRIPT_EXPECT_ERROR || x->cut)
        x->pending_expect = 0;
    if (x->cut && !x->over)
        exec_cut_resume(x);
    exec_reap(x);
}

/* ---- end of trace and teardown ------------------------------------------- */

static void exec_end_of_trace(exec *x)
{
    x->cmd = SIZE_MAX;
    x->line = 0;
    if (x->pending_expect) {
        exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                  "expect_error at the end of the script: no command follows");
        return;
    }
    exec_cut_disarm(x);
    /* breakpoints that never fired would catch the final close */
    for (exec_bp *bp = x->bps; bp; bp = bp->next)
        if (bp->state == BP_ARMED)
            bp->state = BP_DONE;
    if (!exec_drain(x, "the end of the script: every request to complete"))
        return;
    exec_reap(x);
    exec_images_finish(x);
}

/* Release held requests and let them finish, so that they free what they
 * hold; requests that still cannot finish are abandoned with the
 * scheduler. */
static void exec_teardown(exec *x)
{
    x->quiesce = true;
    exec_bp_release_all(x);
    sched_set_budget(x->s, sched_steps(x->s) + EXEC_TEARDOWN_BUDGET);
    (void)sched_run_all(x->s);
    exec_reap(x);
    exec_images_hash(x);
    sched_destroy(x->s);
    x->s = NULL;
    while (x->reqs) {
        exec_req *q = x->reqs;
        x->reqs = q->next;
        exec_req_free(q);
    }
    exec_images_free(x);
    exec_bp_free(x);
    fault_rules_destroy(x->ev_rules);
}

static void exec_defaults(exec_opts *o)
{
    if (!o->budget)
        o->budget = EXEC_DEFAULT_BUDGET;
    if (!o->data_seed)
        o->data_seed = EXEC_DEFAULT_DATA_SEED;
    if (!o->max_io)
        o->max_io = EXEC_DEFAULT_MAX_IO;
}

int exec_run(const script *s, const exec_opts *o, exec_result *r)
{
    exec x = {0};

    memset(r, 0, sizeof(*r));
    r->verdict = SCRIPT_V_OK;
    r->cmd = SIZE_MAX;
    if (o)
        x.o = *o;
    exec_defaults(&x.o);
    x.scr = s;
    x.r = r;
    x.mutants = x.o.mutants;
    x.s = sched_create();
    x.ev_rules = fault_rules_create();
    if (!x.s || !x.ev_rules) {
        sched_destroy(x.s);
        fault_rules_destroy(x.ev_rules);
        exec_fail(&x, NULL, SCRIPT_V_SCRIPT_ERROR, "out of memory");
        return -ENOMEM;
    }
    sched_set_budget(x.s, x.o.budget);
    sched_set_event_hook(x.s, exec_co_event_hook, &x);
    for (size_t i = 0; i < s->ncmds && !x.over; i++)
        exec_step(&x, i);
    if (!x.over)
        exec_end_of_trace(&x);
    r->steps = sched_steps(x.s);
    r->requests = x.next_id;
    exec_teardown(&x);
    r->host_ios = x.host_ios;
    return 0;
}

bool exec_result_same(const exec_result *a, const exec_result *b)
{
    if (a->verdict != b->verdict || a->cmd != b->cmd ||
        a->nhashes != b->nhashes || strcmp(a->msg, b->msg) != 0)
        return false;
    for (size_t i = 0; i < a->nhashes; i++)
        if (a->hashes[i].hash != b->hashes[i].hash ||
            a->hashes[i].size != b->hashes[i].size)
            return false;
    return true;
}
