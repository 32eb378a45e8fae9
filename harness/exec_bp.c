/*
 * exec_bp.c - what the executor does at the engine's events and around a
 * request's host I/O (see exec_int.h):
 *   - breakpoints with blkdebug's meanings (QEMU block/blkdebug.c): `break
 *     EVENT TAG` arms a one-shot rule; the next request announcing EVENT
 *     is suspended under TAG and the rule is gone; rules on one event fire
 *     newest first, and each suspends the request once, but only rules
 *     armed before the announcement count for it. `wait_break TAG` runs
 *     the world until some request is suspended under TAG; `resume TAG`
 *     wakes the request most recently suspended under TAG and lets it run
 *     until it blocks again (blkdebug re-enters the coroutine at once);
 *     `remove_break TAG` drops armed rules with TAG and resumes every
 *     request suspended under it;
 *   - `inject EVENT ...` rules (one rule set for every image's events): the
 *     host I/O after the event fails with the rule's errno. When such an
 *     error hits a data-path event (the guest data, its copy-on-write, a
 *     flush) the request must fail; if it reports success, the verdict is
 *     error-swallowed;
 *   - werror=stop: a write, write-zeroes or discard that failed is parked
 *     until resume_errors, then retried whole; the model keeps it in flight
 *     meanwhile (a request with an expect_error is never stopped);
 *   - the test-only read fault of exec_opts (flip_read): an eng_file
 *     wrapper inverts one byte of one guest read's host data.
 *
 * Invariants: the hook runs inside the announcing request's coroutine and
 * may park it; while x->quiesce holds (teardown, crash) it parks nothing
 * and injects nothing. Breakpoint records live until the run ends.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_int.h"
#include "hostfault.h"

/* ---- the event hook ------------------------------------------------------ */

/* Events whose injected error must reach the guest request. */
static bool exec_ev_data_path(eng_event ev)
{
    switch (ev) {
    case ENG_EV_WRITE_AIO:
    case ENG_EV_READ_AIO:
    case ENG_EV_READ_BACKING_AIO:
    case ENG_EV_COW_READ:
    case ENG_EV_COW_WRITE:
    case ENG_EV_FLUSH_TO_OS:
    case ENG_EV_FLUSH_TO_DISK:
        return true;
    default:
        return false;
    }
}

/* The newest rule on ev armed no later than `upto`. */
static exec_bp *exec_bp_armed(exec *x, eng_event ev, uint64_t upto)
{
    for (exec_bp *bp = x->bps; bp; bp = bp->next)
        if (bp->state == BP_ARMED && bp->event == (int)ev && bp->seq <= upto)
            return bp;
    return NULL;
}

static void exec_co_breakpoints(exec *x, sched *s, sched_req *r, exec_req *q,
                                eng_event ev)
{
    uint64_t upto = x->bp_seq;
    exec_bp *bp;

    while (!x->quiesce && (bp = exec_bp_armed(x, ev, upto))) {
        bp->state = BP_SUSPENDED;
        bp->sr = r;
        bp->q = q;
        bp->ran = false;
        bp->susp = ++x->susp_seq;
        sched_co_park(s, bp->why);
        bp->state = BP_DONE;
        bp->sr = NULL;
        bp->ran = true;
    }
}

int exec_co_event_hook(void *opaque, sched *s, sched_req *r, eng_event ev)
{
    exec *x = opaque;
    exec_req *q = exec_req_of(x, r);

    if (x->o.event)
        x->o.event(x->o.event_opaque, q ? q->id : 0, q ? q->cmd : SIZE_MAX, ev);
    if (x->quiesce)
        return 0;
    if (x->o.flip_read && ev == ENG_EV_READ_AIO && q && q->op == XOP_READ &&
        ++x->guest_reads == x->o.flip_read)
        q->flip_armed = true;
    exec_co_breakpoints(x, s, r, q, ev);
    if (x->quiesce)
        return 0;
    int ret = fault_rules_check(x->ev_rules, FAULT_EVENT, (int)ev, 0, 0);
    if (ret < 0 && q && exec_ev_data_path(ev))
        q->injected = true;
    return ret;
}

/* ---- breakpoint commands ------------------------------------------------- */

typedef struct exec_tag_wait {
    exec *x;
    const char *tag;
} exec_tag_wait;

static exec_bp *exec_bp_suspended(exec *x, const char *tag)
{
    exec_bp *best = NULL;
    for (exec_bp *bp = x->bps; bp; bp = bp->next)
        if (bp->state == BP_SUSPENDED && strcmp(bp->tag, tag) == 0 &&
            (!best || bp->susp > best->susp))
            best = bp;
    return best;
}

static bool exec_tag_suspended(void *p)
{
    exec_tag_wait *w = p;
    return exec_bp_suspended(w->x, w->tag) != NULL;
}

static bool exec_bp_has_run(void *p)
{
    return ((exec_bp *)p)->ran;
}

static bool exec_bp_arm(exec *x, const script_cmd *c)
{
    exec_bp *bp = calloc(1, sizeof(*bp));

    if (!bp)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR, "out of memory");
    bp->event = c->bp.event;
    snprintf(bp->tag, sizeof(bp->tag), "%s", c->bp.tag);
    snprintf(bp->why, sizeof(bp->why), "breakpoint %s %s",
             eng_event_name((eng_event)c->bp.event), c->bp.tag);
    bp->state = BP_ARMED;
    bp->seq = ++x->bp_seq;
    bp->next = x->bps;
    x->bps = bp;
    return true;
}

/* Wake the request held at bp and let it run until it blocks again. */
static bool exec_bp_resume(exec *x, exec_bp *bp, const char *cmd)
{
    char what[160];

    sched_wake(x->s, bp->sr);
    snprintf(what, sizeof(what), "%s %s: the resumed request to run", cmd,
             bp->tag);
    return exec_run_until(x, exec_bp_has_run, bp, what);
}

static bool exec_bp_remove(exec *x, const char *tag)
{
    bool found = false;

    for (exec_bp *bp = x->bps; bp; bp = bp->next) {
        if (bp->state == BP_ARMED && strcmp(bp->tag, tag) == 0) {
            bp->state = BP_DONE;
            found = true;
        }
    }
    exec_bp *bp;
    while ((bp = exec_bp_suspended(x, tag))) {
        found = true;
        if (!exec_bp_resume(x, bp, "remove_break"))
            return false;
    }
    if (!found)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "remove_break %s: no breakpoint is armed or holds a "
                         "request under tag %s",
                         tag, tag);
    return true;
}

/* After a failed wait_break: say what became of the breakpoint. */
static void exec_wait_break_why(exec *x, const char *tag)
{
    bool any = false;

    if (x->r->verdict != SCRIPT_V_DEADLOCK)
        return;
    for (exec_bp *bp = x->bps; bp; bp = bp->next) {
        if (strcmp(bp->tag, tag) != 0)
            continue;
        any = true;
        if (bp->state == BP_ARMED)
            exec_detail(x,
                        "breakpoint %s %s is still armed: no request in "
                        "flight announced %s\n",
                        eng_event_name((eng_event)bp->event), tag,
                        eng_event_name((eng_event)bp->event));
        else
            exec_detail(x,
                        "breakpoint %s %s fired earlier and was resumed or "
                        "removed: a breakpoint holds one request, once\n",
                        eng_event_name((eng_event)bp->event), tag);
    }
    if (!any)
        exec_detail(x, "no breakpoint was ever set with tag %s\n", tag);
}

bool exec_cmd_bp(exec *x, const script_cmd *c)
{
    const char *tag = c->bp.tag;
    char what[160];

    switch (c->kind) {
    case SCRIPT_BREAK:
        return exec_bp_arm(x, c);
    case SCRIPT_WAIT_BREAK: {
        exec_tag_wait w = {x, tag};
        snprintf(what, sizeof(what),
                 "wait_break %s: a request suspended at breakpoint %s", tag,
                 tag);
        if (exec_run_until(x, exec_tag_suspended, &w, what))
            return true;
        exec_wait_break_why(x, tag);
        return false;
    }
    case SCRIPT_RESUME: {
        exec_bp *bp = exec_bp_suspended(x, tag);
        if (!bp)
            return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                             "resume %s: no request is suspended under tag %s",
                             tag, tag);
        return exec_bp_resume(x, bp, "resume");
    }
    case SCRIPT_REMOVE_BREAK:
        return exec_bp_remove(x, tag);
    default:
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR, "not a breakpoint");
    }
}

void exec_bp_release_all(exec *x)
{
    for (exec_bp *bp = x->bps; bp; bp = bp->next) {
        if (bp->state == BP_ARMED)
            bp->state = BP_DONE;
        else if (bp->state == BP_SUSPENDED)
            sched_wake(x->s, bp->sr);
    }
    for (exec_req *q = x->reqs; q; q = q->next)
        if (q->stopped && !q->done)
            sched_wake(x->s, q->sr);
}

void exec_bp_free(exec *x)
{
    while (x->bps) {
        exec_bp *bp = x->bps;
        x->bps = bp->next;
        free(bp);
    }
    free(x->req_cmd);
    x->req_cmd = NULL;
}

/* ---- fault rules --------------------------------------------------------- */

/* Rules a script may hold per set; the rest is kept for `crash`. */
#define EXEC_SCRIPT_RULES (FAULT_RULES_MAX - 4)

bool exec_cmd_inject(exec *x, const script_cmd *c)
{
    const script_inject *in = &c->inject;
    fault_rule fr = {.err = in->err, .event = 0};
    fault_rules *set = x->ev_rules;

    if (in->once)
        fr.mode = in->nth ? FAULT_NTH : FAULT_ONCE;
    else
        fr.mode = in->nth ? FAULT_AFTER : FAULT_ALWAYS;
    fr.n = in->nth;
    switch (in->target) {
    case SCRIPT_INJ_EVENT:
        fr.target = FAULT_EVENT;
        fr.event = in->event;
        break;
    case SCRIPT_INJ_READ:
    case SCRIPT_INJ_WRITE:
    case SCRIPT_INJ_FLUSH:
        if (!x->cur)
            return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                             "inject read/write/flush needs an image (image "
                             "create or image open first)");
        set = hostfault_rules(x->cur->hb);
        fr.target = in->target == SCRIPT_INJ_READ    ? FAULT_READ
                    : in->target == SCRIPT_INJ_WRITE ? FAULT_WRITE
                                                     : FAULT_FLUSH;
        fr.has_range = in->has_range;
        fr.off = in->off;
        fr.len = in->len;
        break;
    }
    if (fault_rules_count(set) >= EXEC_SCRIPT_RULES)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "more than %d inject rules for one image",
                         EXEC_SCRIPT_RULES);
    int id = fault_rules_add(set, &fr);
    if (id < 0)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "inject: the rule is not valid (%s)", strerror(-id));
    return true;
}

/* ---- werror=stop --------------------------------------------------------- */

bool exec_co_werror_stop(exec *x, exec_req *q)
{
    if (!x->werror_stop || x->quiesce || x->over || q->lost || q->expect_err)
        return false;
    if (q->op != XOP_WRITE && q->op != XOP_ZERO && q->op != XOP_DISCARD)
        return false;
    q->stopped = true;
    q->woken = false;
    sched_co_park(x->s, "stopped on a host error (werror=stop)");
    q->stopped = false;
    q->woken = false;
    return !x->quiesce && !q->lost && !x->over;
}

static bool exec_none_woken(void *p)
{
    exec *x = p;
    for (exec_req *q = x->reqs; q; q = q->next)
        if (q->woken && !q->done)
            return false;
    return true;
}

bool exec_cmd_resume_errors(exec *x)
{
    /* let every request that can run settle first, so that one about to
     * stop on its error is stopped (QEMU's `cont` retries whatever the
     * stopped VM holds); parked requests are no deadlock here */
    sched_status st = sched_run_all(x->s);
    x->r->steps = sched_steps(x->s);
    if (exec_halted(x))
        return false;
    if (st == SCHED_BUDGET)
        return exec_fail(x, NULL, SCRIPT_V_BUDGET,
                         "the step budget (%" PRIu64 " scheduler steps) ran "
                         "out before resume_errors",
                         x->o.budget);
    for (exec_req *q = x->reqs; q; q = q->next) {
        if (q->stopped && !q->done) {
            q->woken = true;
            sched_wake(x->s, q->sr);
        }
    }
    return exec_run_until(x, exec_none_woken, x,
                          "resume_errors: the stopped requests to retry");
}

/* ---- the executor's eng_file --------------------------------------------- */

static exec_file *exec_file_of(eng_file *f)
{
    return (exec_file *)f;
}

static int exec_file_co_pread(eng_file *f, uint64_t off, void *buf, size_t len)
{
    exec_file *xf = exec_file_of(f);
    int ret = xf->inner->ops->co_pread(xf->inner, off, buf, len);
    exec *x = xf->x;

    if (ret == 0 && x->o.flip_read && len > 0) {
        exec_req *q = exec_req_of(x, sched_current(x->s));
        if (q && q->flip_armed) {
            size_t i = x->o.flip_byte < len ? (size_t)x->o.flip_byte : len - 1;
            ((uint8_t *)buf)[i] ^= 0xff;
            q->flip_armed = false;
        }
    }
    return ret;
}

static int exec_file_co_pwrite(eng_file *f, uint64_t off, const void *buf,
                               size_t len)
{
    exec_file *xf = exec_file_of(f);
    return xf->inner->ops->co_pwrite(xf->inner, off, buf, len);
}

static int exec_file_co_flush(eng_file *f)
{
    exec_file *xf = exec_file_of(f);
    return xf->inner->ops->co_flush(xf->inner);
}

static int exec_file_co_truncate(eng_file *f, uint64_t size)
{
    exec_file *xf = exec_file_of(f);
    return xf->inner->ops->co_truncate(xf->inner, size);
}

static uint64_t exec_file_size(eng_file *f)
{
    exec_file *xf = exec_file_of(f);
    return xf->inner->ops->size(xf->inner);
}

/* A detached read (the early_completion mutant's path) passes through; the
 * flip fault hits only reads that their request waits for. */
static int exec_file_aio_pread(eng_file *f, uint64_t off, void *buf,
                               size_t len, eng_aio *aio)
{
    exec_file *xf = exec_file_of(f);
    if (!xf->inner->ops->aio_pread)
        return -ENOTSUP;
    return xf->inner->ops->aio_pread(xf->inner, off, buf, len, aio);
}

static const eng_file_ops exec_file_ops = {
    .co_pread = exec_file_co_pread,
    .co_pwrite = exec_file_co_pwrite,
    .co_flush = exec_file_co_flush,
    .co_truncate = exec_file_co_truncate,
    .size = exec_file_size,
    .aio_pread = exec_file_aio_pread,
};

void exec_file_init(exec *x, exec_file *xf, eng_file *inner)
{
    xf->f.ops = &exec_file_ops;
    xf->f.name = inner->name;
    xf->inner = inner;
    xf->x = x;
}
