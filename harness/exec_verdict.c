/*
 * exec_verdict.c - the executor's verdicts (see exec_int.h): recording the
 * first one, and the texts that make it actionable: the event trail of the
 * request at fault, the requests in flight and what each waits on, and the
 * script command that wrote the bytes a read should have returned.
 *
 * Invariants: the first verdict wins (later calls of exec_fail change
 * nothing); texts are truncated, never overflowed; nothing here allocates
 * except the request-to-command map, which grows with the requests made.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_int.h"

bool exec_fail(exec *x, const exec_req *q, script_verdict v, const char *fmt,
               ...)
{
    exec_result *r = x->r;
    va_list ap;

    if (x->over)
        return false;
    x->over = true;
    r->verdict = v;
    r->cmd = q ? q->cmd : x->cmd;
    r->line = r->col = 0;
    if (r->cmd < x->scr->ncmds) {
        r->line = x->scr->cmds[r->cmd].line;
        r->col = x->scr->cmds[r->cmd].col;
    }
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    return false;
}

void exec_fail_class(exec *x, int got, int expected)
{
    if (x->over)
        return; /* the verdict kept is an earlier one */
    x->r->err_got = got;
    x->r->err_expected = expected;
}

void exec_detail(exec *x, const char *fmt, ...)
{
    exec_result *r = x->r;
    size_t used = strlen(r->detail);
    va_list ap;

    if (used + 1 >= sizeof(r->detail))
        return;
    va_start(ap, fmt);
    vsnprintf(r->detail + used, sizeof(r->detail) - used, fmt, ap);
    va_end(ap);
}

void exec_take_trail(exec *x, const exec_req *q, sched_req *sr)
{
    exec_result *r = x->r;

    if (!sr)
        return;
    r->ntrail = sched_req_trail(sr, r->trail, EXEC_TRAIL_MAX);
    snprintf(r->trail_req, sizeof(r->trail_req), "%s", sched_req_label(sr));
    (void)q;
}

void exec_cmd_text(const exec *x, size_t i, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    if (i < x->scr->ncmds)
        script_cmd_format(&x->scr->cmds[i], buf, len);
}

void exec_note_req(exec *x, const exec_req *q)
{
    if (q->id >= x->nreq_cmd) {
        size_t n = x->nreq_cmd ? x->nreq_cmd : 64;
        while (n <= q->id)
            n *= 2;
        uint32_t *v = realloc(x->req_cmd, n * sizeof(*v));
        if (!v)
            return; /* provenance is a nicety: go on without it */
        memset(v + x->nreq_cmd, 0, (n - x->nreq_cmd) * sizeof(*v));
        x->req_cmd = v;
        x->nreq_cmd = n;
    }
    x->req_cmd[q->id] = (uint32_t)(q->cmd + 1);
}

/* What a live request is doing, for deadlock and mismatch reports. */
static const char *exec_req_state(const exec *x, const exec_req *q, char *buf,
                                  size_t len)
{
    for (const exec_bp *bp = x->bps; bp; bp = bp->next) {
        if (bp->state == BP_SUSPENDED && bp->q == q) {
            snprintf(buf, len, "suspended at breakpoint %s %s",
                     eng_event_name((eng_event)bp->event), bp->tag);
            return buf;
        }
    }
    if (q->stopped)
        return "stopped on a host error (werror=stop), waiting for "
               "resume_errors";
    if (!q->entered)
        return "not started yet";
    return "in the engine (see the scheduler's account below)";
}

void exec_describe_inflight(exec *x)
{
    char text[160], state[128];
    size_t n = 0;
    char *acct;

    for (exec_req *q = x->reqs; q; q = q->next)
        n += !q->done;
    exec_detail(x, "requests in flight: %zu\n", n);
    for (exec_req *q = x->reqs; q; q = q->next) {
        if (q->done)
            continue;
        exec_cmd_text(x, q->cmd, text, sizeof(text));
        exec_detail(x, "  request %" PRIu64 " (%s:%u: %s): %s\n", q->id,
                    x->scr->name ? x->scr->name : "script", q->line,
                    text[0] ? text : exec_op_name(q),
                    exec_req_state(x, q, state, sizeof(state)));
    }
    acct = malloc(4096);
    if (!acct)
        return;
    sched_describe(x->s, acct, 4096);
    exec_detail(x, "scheduler: %s", acct);
    free(acct);
}

/* "FILE:LINE: command" of the request that wrote some bytes. */
static void exec_detail_writer(exec *x, const char *lead, uint64_t req)
{
    char text[160];

    if (req >= x->nreq_cmd || !x->req_cmd[req])
        return;
    size_t i = x->req_cmd[req] - 1;
    exec_cmd_text(x, i, text, sizeof(text));
    exec_detail(x, "  %s %s:%u: %s\n", lead,
                x->scr->name ? x->scr->name : "script", x->scr->cmds[i].line,
                text);
}

void exec_detail_shadow(exec *x, const shadow_verdict *v)
{
    char text[2048];

    shadow_verdict_format(v, text, sizeof(text));
    exec_detail(x, "%s", text);
    for (unsigned i = 0; i < v->nlisted; i++) {
        const shadow_cand_info *c = &v->cands[i];
        if (c->origin != SHADOW_ORIGIN_REQUEST)
            continue;
        bool seen = false;
        for (unsigned j = 0; j < i; j++)
            seen |= v->cands[j].origin == SHADOW_ORIGIN_REQUEST &&
                    v->cands[j].req == c->req;
        if (!seen)
            exec_detail_writer(
                x, i == 0 ? "expected bytes written by" : "or bytes written by",
                c->req);
    }
}
