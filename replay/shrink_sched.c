/*
 * shrink_sched.c - writing the interleaving into the script: a `sched
 * random SEED` or `sched tape HEX` policy hides the order of events in a
 * seed; a reproducer should show it with blkdebug's breakpoints instead.
 *
 * Order of attempts (the first that keeps the signature wins):
 *   1. fifo alone: every `sched` command dropped;
 *   2. fifo plus one breakpoint: for each aio request R (in script order),
 *      for each event R announces (found by probe runs: `break EVENT T`
 *      before R, `wait_break T` after it; an event R never reaches ends in
 *      a deadlock at that wait_break), for each later point P (nearest
 *      first): `break EVENT T` before R, `wait_break T` right after R,
 *      `resume T` before the command at P (or at the end).
 * When neither works the policy stays, and the header says so.
 *
 * Invariant: the attempts are enumerated in a fixed order over the script
 * and the event table, so the outcome depends only on the script.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eng_event.h"
#include "shrink_int.h"

bool shrink_has_policy(const script_cmd *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cmds[i].kind == SCRIPT_SCHED &&
            cmds[i].sched.policy != SCRIPT_SCHED_FIFO)
            return true;
    return false;
}

/* Copy cmds without their `sched` commands; the count copied. */
static size_t sched_strip(const script_cmd *cmds, size_t n, script_cmd *out)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (cmds[i].kind != SCRIPT_SCHED)
            out[k++] = cmds[i];
    return k;
}

void shrink_tag_name(size_t k, char buf[8])
{
    char tmp[8];
    size_t n = 0;

    /* Bijective base 26: A..Z, AA..AZ, BA, ... */
    k++;
    while (k && n < 7) {
        tmp[n++] = (char)('A' + (k - 1) % 26);
        k = (k - 1) / 26;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
}

static bool sched_tag_used(const script_cmd *cmds, size_t n, const char *tag)
{
    for (size_t i = 0; i < n; i++)
        if ((cmds[i].kind == SCRIPT_BREAK ||
             cmds[i].kind == SCRIPT_WAIT_BREAK ||
             cmds[i].kind == SCRIPT_RESUME ||
             cmds[i].kind == SCRIPT_REMOVE_BREAK) &&
            strcmp(cmds[i].bp.tag, tag) == 0)
            return true;
    return false;
}

const char *shrink_fresh_tag(shrink_ctx *c, const script_cmd *cmds, size_t n)
{
    char name[8];

    for (size_t k = 0;; k++) {
        shrink_tag_name(k, name);
        if (!sched_tag_used(cmds, n, name))
            break;
    }
    const char *tag = script_strdup(c->pool, name);
    if (!tag) {
        c->err = -ENOMEM;
        c->stop = true;
    }
    return tag;
}

static script_cmd sched_bp(script_kind kind, int ev, const char *tag)
{
    script_cmd x;

    memset(&x, 0, sizeof(x));
    x.kind = kind;
    x.bp.event = kind == SCRIPT_BREAK ? ev : -1;
    x.bp.tag = tag;
    return x;
}

bool shrink_sched_fifo(shrink_ctx *c)
{
    if (!shrink_has_policy(c->cur, c->n))
        return false;
    script_cmd *cand = shrink_cand(c, c->n);
    if (!cand)
        return false;
    size_t m = sched_strip(c->cur, c->n, cand);
    if (!shrink_try(c, cand, m))
        return false;
    shrink_accept(c, cand, m);
    shrink_note(c, "schedule");
    return true;
}

/* Does request base[i] (or anything in flight with it) announce ev right
 * away? False only when the probe deadlocks at its wait_break. */
static bool sched_announces(shrink_ctx *c, const script_cmd *base, size_t i,
                            int ev, const char *tag)
{
    script_cmd *cand = shrink_cand(c, i + 4);

    if (!cand)
        return false;
    memcpy(cand, base, i * sizeof(*cand));
    cand[i] = sched_bp(SCRIPT_BREAK, ev, tag);
    cand[i + 1] = base[i];
    cand[i + 2] = sched_bp(SCRIPT_WAIT_BREAK, -1, tag);
    cand[i + 3] = sched_bp(SCRIPT_REMOVE_BREAK, -1, tag);
    if (!shrink_valid(cand, i + 4) || shrink_run(c, cand, i + 4) < 0)
        return false;
    return !(c->r->verdict == SCRIPT_V_DEADLOCK && c->r->cmd == i + 2);
}

/* break ev before base[i], wait_break after it, resume before base[j]
 * (j == nb: at the end), for every j after i. True when accepted. */
static bool sched_try_bp(shrink_ctx *c, const script_cmd *base, size_t nb,
                         size_t i, int ev, const char *tag)
{
    for (size_t j = i + 1; j <= nb && !c->stop; j++) {
        script_cmd *cand = shrink_cand(c, nb + 3);
        if (!cand)
            return false;
        size_t k = 0;
        memcpy(cand, base, i * sizeof(*cand));
        k = i;
        cand[k++] = sched_bp(SCRIPT_BREAK, ev, tag);
        cand[k++] = base[i];
        cand[k++] = sched_bp(SCRIPT_WAIT_BREAK, -1, tag);
        memcpy(cand + k, base + i + 1, (j - i - 1) * sizeof(*cand));
        k += j - i - 1;
        cand[k++] = sched_bp(SCRIPT_RESUME, -1, tag);
        memcpy(cand + k, base + j, (nb - j) * sizeof(*cand));
        k += nb - j;
        if (shrink_try(c, cand, k)) {
            shrink_accept(c, cand, k);
            shrink_note(c, "schedule");
            return true;
        }
    }
    return false;
}

/* Every event request base[i] announces, then a breakpoint on each. */
static bool sched_around(shrink_ctx *c, const script_cmd *base, size_t nb,
                         size_t i, const char *tag)
{
    int evs[ENG_EV_COUNT];
    size_t nev = 0;

    for (int ev = 0; ev < ENG_EV_COUNT && !c->stop; ev++)
        if (sched_announces(c, base, i, ev, tag))
            evs[nev++] = ev;
    for (size_t k = 0; k < nev && !c->stop; k++)
        if (sched_try_bp(c, base, nb, i, evs[k], tag))
            return true;
    return false;
}

bool shrink_sched(shrink_ctx *c)
{
    if (!shrink_has_policy(c->cur, c->n))
        return false;
    if (shrink_sched_fifo(c))
        return true;
    script_cmd *base = calloc(c->n ? c->n : 1, sizeof(*base));
    if (!base) {
        c->err = -ENOMEM;
        c->stop = true;
        return false;
    }
    size_t nb = sched_strip(c->cur, c->n, base);
    const char *tag = shrink_fresh_tag(c, base, nb);
    bool hit = false;
    for (size_t i = 0; i < nb && tag && !hit && !c->stop; i++)
        if (base[i].kind == SCRIPT_AIO_WRITE || base[i].kind == SCRIPT_AIO_READ)
            hit = sched_around(c, base, nb, i, tag);
    free(base);
    return hit;
}
