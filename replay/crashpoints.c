/*
 * crashpoints.c - the crash-point driver (see crashpoints.h): the counting
 * run, the loop over points and seeds, judging each run, and writing and
 * confirming reproducers.
 *
 * Cost: each variant replays the trace's prefix, so a trace with N points
 * costs about N * (1 + seeds) runs of at most its own length; random
 * subsets are skipped at points where the disks held no unflushed sector
 * (they would lose exactly what drop=all loses).
 *
 * Isolation: in process (crashpt_opts.in_process), a child process per
 * run (child_per_run), or by default a forked worker that runs many
 * points in process (crashpoints_worker.c).
 *
 * Ownership: the driver's state (crashpt_ctx) lives on crashpt_run's
 * stack and owns the per-command table of the counting run and one
 * crashpt_failure buffer; variants are built and freed per point.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "campaign.h"
#include "crashpoints_int.h"
#include "regress.h"
#include "replay.h"

/* ---- the counting run ---------------------------------------------------- */

static void crashpt_note(void *opaque, uint64_t n, size_t cmd)
{
    crashpt_ctx *x = opaque;

    if (x->oom || n != x->n + 1)
        return; /* cmd SIZE_MAX: the end-of-trace close, CRASHPT_END */
    if (x->n == x->cap) {
        uint64_t cap = x->cap ? 2 * x->cap : 256;
        size_t *v = realloc(x->cmd_of, cap * sizeof(*v));
        if (!v) {
            x->oom = true;
            return;
        }
        x->cmd_of = v;
        x->cap = cap;
    }
    x->cmd_of[x->n++] = cmd;
}

/* One run of v with the driver's options. */
static int crashpt_exec(crashpt_ctx *x, const script *v, exec_result *r,
                        bool count)
{
    exec_opts eo = x->o->exec;

    eo.print = NULL;
    eo.progress = NULL;
    eo.hostio = count ? crashpt_note : NULL;
    eo.hostio_opaque = x;
    if (!x->isolate || count)
        return exec_run(v, &eo, r);
    return replay_isolated(v, &eo, r);
}

/* ---- reproducers --------------------------------------------------------- */

static int crashpt_mkdir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST)
        return 0;
    return -errno;
}

/* Parse text back and run it: does it fail the same way? */
static int crashpt_confirm(crashpt_ctx *x, const char *text, size_t len,
                           exec_result *scratch, bool *same)
{
    script *p = NULL;
    script_error err;
    int r = script_parse(x->f->path, text, len, &p, &err);

    *same = false;
    if (r == -EINVAL)
        return 0; /* does not parse: unconfirmed */
    if (r < 0)
        return r;
    r = crashpt_exec(x, p, scratch, false);
    *same = r == 0 && scratch->verdict == x->f->run.verdict &&
            scratch->verdict == p->expect;
    script_free(p);
    return r;
}

/* Write variant v as the reproducer of x->f, and replay it once. */
static int crashpt_repro(crashpt_ctx *x, script *v)
{
    crashpt_failure *f = x->f;
    char name[96];
    size_t len;
    int w = x->rep->points >= 10000 ? 0 : 4;

    if (f->random)
        snprintf(name, sizeof(name), "k%0*" PRIu64 "-seed%" PRIu64 ".io", w,
                 f->k, f->seed);
    else
        snprintf(name, sizeof(name), "k%0*" PRIu64 "-all.io", w, f->k);
    int n = snprintf(f->path, sizeof(f->path), "%s/%s", x->o->out_dir, name);
    if (n < 0 || (size_t)n >= sizeof(f->path))
        return -ENAMETOOLONG;
    int r = crashpt_variant_header(v, f, x->o->source, x->rep->points);
    char *text = r == 0 ? script_print(v, &len) : NULL;
    if (!text)
        return -ENOMEM;
    r = crashpt_mkdir(x->o->out_dir);
    if (r == 0)
        r = campaign_write_file(f->path, text, len, true);
    exec_result *scratch = r == 0 ? malloc(sizeof(*scratch)) : NULL;
    if (r == 0 && !scratch)
        r = -ENOMEM;
    if (r == 0)
        r = crashpt_confirm(x, text, len, scratch, &f->confirmed);
    free(scratch);
    free(text);
    if (r == 0) {
        x->rep->written++;
        x->rep->unconfirmed += !f->confirmed;
    }
    return r;
}

/* ---- one point ----------------------------------------------------------- */

/* Judge the run in x->f; write the reproducer of a failure. */
static int crashpt_judge(crashpt_ctx *x, script *v)
{
    crashpt_failure *f = x->f;
    crashpt_report *rep = x->rep;

    rep->runs++;
    if (!f->run.cut_fired && f->run.verdict != SCRIPT_V_ENGINE_ABORT) {
        rep->misfires++; /* not a crash point after all: nothing judged */
        return 0;
    }
    if (f->run.verdict == SCRIPT_V_OK)
        return 0;
    rep->failures++;
    f->path[0] = '\0';
    f->confirmed = false;
    int r = 0;
    if (x->o->out_dir)
        r = crashpt_repro(x, v);
    if (rep->failures == 1)
        rep->first_failure = *f;
    if (x->o->found)
        x->o->found(x->o->found_opaque, f);
    return r;
}

/* The first point made during command c, at or before point k. */
static uint64_t crashpt_first_of(const crashpt_ctx *x, uint64_t k, size_t c)
{
    while (k > 1 && x->cmd_of[k - 2] == c)
        k--;
    return k;
}

/* Every run of point k: drop=all, then the random subsets. */
static int crashpt_point(crashpt_ctx *x, uint64_t k)
{
    crashpt_failure *f = x->f;
    size_t c = x->cmd_of[k - 1], arm;
    script *v = NULL;
    uint64_t failures = x->rep->failures;
    int r = crashpt_variant(x->s, x->o->exec.mutants, c,
                            k - crashpt_first_of(x, k, c) + 1, x->own_cut, &v,
                            &arm);

    if (r < 0)
        return r;
    f->k = k;
    f->cmd = c;
    f->line = c == CRASHPT_END ? 0 : x->s->cmds[c].line;
    for (uint64_t seed = 0; seed <= x->o->seeds && r == 0; seed++) {
        v->cmds[arm].crash.drop = seed ? SCRIPT_DROP_RANDOM : SCRIPT_DROP_ALL;
        v->cmds[arm].crash.seed = seed;
        f->random = seed > 0;
        f->seed = seed;
        r = crashpt_exec(x, v, &f->run, false);
        if (r == 0)
            r = crashpt_judge(x, v);
        if (seed == 0 && (!f->run.cut_fired || f->run.cut_volatile == 0))
            break; /* nothing unflushed: a subset loses what all loses */
    }
    script_free(v);
    x->rep->tried++;
    x->rep->failed_points += x->rep->failures > failures;
    return r;
}

/* ---- the procedure ------------------------------------------------------- */

int crashpt_one(crashpt_ctx *x, uint64_t k)
{
    const crashpt_opts *o = x->o;

    if (x->cmd_of[k - 1] == CRASHPT_END && !x->end_ok) {
        x->rep->skipped++;
        return 0;
    }
    int r = crashpt_point(x, k);
    if (r == 0 && o->progress)
        o->progress(o->progress_opaque, x->rep);
    return r;
}

static int crashpt_loop(crashpt_ctx *x)
{
    const crashpt_opts *o = x->o;
    uint64_t first = o->first ? o->first : 1;
    uint64_t last = o->last && o->last < x->n ? o->last : x->n;

    x->end_ok = crashpt_end_ok(x->s);
    if (!o->in_process && !o->child_per_run)
        return crashpt_loop_forked(x, first, last);
    for (uint64_t k = first; k <= last; k++) {
        int r = crashpt_one(x, k);
        if (r < 0)
            return r;
    }
    return 0;
}

int crashpt_run(const script *s, const crashpt_opts *o, crashpt_report *rep)
{
    crashpt_ctx x = {.s = s, .o = o, .rep = rep, .isolate = !o->in_process};

    memset(rep, 0, sizeof(*rep));
    if (o->seeds > CRASHPT_MAX_SEEDS)
        return -EINVAL;
    int r = 0;
    if (!o->in_process) /* an engine abort must not end the caller */
        r = crashpt_exec(&x, s, &rep->clean, false);
    if (r == 0 && rep->clean.verdict == SCRIPT_V_OK)
        r = crashpt_exec(&x, s, &rep->clean, true);
    if (r == 0 && x.oom)
        r = -ENOMEM;
    x.own_cut = rep->clean.cut_fired ? rep->clean.cut_cmd : SIZE_MAX;
    rep->points = x.n;
    if (r == 0 && rep->clean.verdict == SCRIPT_V_OK) {
        x.f = malloc(sizeof(*x.f));
        r = x.f ? crashpt_loop(&x) : -ENOMEM;
        free(x.f);
    }
    free(x.cmd_of);
    return r;
}

int crashpt_default_dir(const char *path, char *buf, size_t len)
{
    char name[1024];

    regress_default_name(path, name, sizeof(name)); /* "NAME" of NAME.io */
    return snprintf(buf, len, "crashpoints-%s", name);
}
