/*
 * shrink.c - the minimizer's driver (see shrink.h and shrink_int.h): the
 * runs and their bounds, the static validity check that rejects hopeless
 * candidates without a run, the fixed-point loop over the phases, and the
 * output script with its header.
 *
 * Runs: every candidate is checked statically (shrink_valid), printed and
 * parsed back (so whatever the shrinker keeps is a script the parser
 * accepts), then run once, in process or in a child (replay_isolated). A
 * bound (runs, or time through the caller's clock) is checked before each
 * run; once reached, c->stop makes every phase return at once and the
 * result is the best script so far, reported as cut short.
 *
 * Ownership: the context owns cur, cand, the scratch result and the pool;
 * shrink_script frees them all before it returns. The output is built
 * afresh (deep copies) in a new script the caller owns.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng_mutant.h"
#include "replay.h"
#include "shrink_int.h"

#define SHRINK_NOTE_EVERY 64 /* runs between progress calls */

/* ---- candidates and runs -------------------------------------------------- */

static bool shrink_grow(script_cmd **v, size_t *cap, size_t n)
{
    if (n <= *cap)
        return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < n)
        nc *= 2;
    script_cmd *p = realloc(*v, nc * sizeof(*p));
    if (!p)
        return false;
    *v = p;
    *cap = nc;
    return true;
}

script_cmd *shrink_cand(shrink_ctx *c, size_t n)
{
    if (!shrink_grow(&c->cand, &c->capcand, n ? n : 1)) {
        c->err = -ENOMEM;
        c->stop = true;
        return NULL;
    }
    return c->cand;
}

void shrink_note(shrink_ctx *c, const char *phase)
{
    c->st->cmds_after = c->n;
    if (c->o->now)
        c->st->seconds = c->o->now(c->o->now_opaque) - c->t0;
    if (c->o->progress)
        c->o->progress(c->o->progress_opaque, c->st, phase);
}

/* True (and c->stop) when a bound is reached. */
static bool shrink_bounded(shrink_ctx *c)
{
    shrink_stats *st = c->st;

    if (c->stop)
        return true;
    if (c->o->max_runs && st->runs >= c->o->max_runs) {
        st->cut_by = "run";
    } else if (c->o->now && c->o->time_limit > 0 &&
               c->o->now(c->o->now_opaque) - c->t0 >= c->o->time_limit) {
        st->cut_by = "time";
    } else {
        return false;
    }
    st->cut_short = true;
    c->stop = true;
    return true;
}

static void shrink_view(const shrink_ctx *c, const script_cmd *cmds, size_t n,
                        script *view)
{
    memset(view, 0, sizeof(*view));
    view->name = c->name;
    view->cmds = (script_cmd *)cmds;
    view->ncmds = n;
}

int shrink_run(shrink_ctx *c, const script_cmd *cmds, size_t n)
{
    script view;
    int ret;

    if (shrink_bounded(c))
        return -1;
    shrink_view(c, cmds, n, &view);
    if (c->o->in_process)
        ret = exec_run(&view, &c->eo, c->r);
    else
        ret = replay_isolated(&view, &c->eo, c->r);
    c->st->runs++;
    if (ret < 0) {
        c->err = ret;
        c->stop = true;
        return -1;
    }
    if (c->st->runs % SHRINK_NOTE_EVERY == 0)
        shrink_note(c, "running");
    return 0;
}

/* The candidate prints and parses back. */
static bool shrink_parses(shrink_ctx *c, const script_cmd *cmds, size_t n)
{
    script view, *back = NULL;
    script_error err;
    size_t len;

    shrink_view(c, cmds, n, &view);
    char *text = script_print(&view, &len);
    if (!text) {
        c->err = -ENOMEM;
        c->stop = true;
        return false;
    }
    int ret = script_parse(c->name ? c->name : "shrink", text, len, &back,
                           &err);
    free(text);
    script_free(back);
    if (ret == -ENOMEM) {
        c->err = ret;
        c->stop = true;
    }
    return ret == 0;
}

/*
 * The finding's class within its signature, so that shrinking cannot trade
 * an engine failure for a mistake of the candidate script itself:
 *   - data-mismatch found by the -P check alone (the model accepted the
 *     bytes: the person's expectation, not the engine, is wrong there) is
 *     another class than one the shadow model found;
 *   - unexpected-error keeps its error (a request pushed past the end of a
 *     shrunk image fails with EINVAL, not with the ENOSPC being kept), or,
 *     when the request succeeded, the error that was expected of it.
 * It reads the executor's structured class (exec_result), not its text.
 */
static uint64_t shrink_class(const exec_result *r)
{
    if (r->verdict == SCRIPT_V_DATA_MISMATCH)
        return r->by_pattern;
    if (r->verdict != SCRIPT_V_UNEXPECTED_ERROR)
        return 0;
    if (r->err_got)
        return UINT64_C(0x9e3779b97f4a7c15) * (2 * (uint64_t)r->err_got + 1);
    if (r->err_expected)
        return UINT64_C(0xbf58476d1ce4e5b9) * (2 * (uint64_t)r->err_expected + 1);
    return 0;
}

/* The key a candidate must keep: its signature and its class. */
static uint64_t shrink_key(const script *view, const exec_result *r,
                           signature *sig)
{
    signature_of(view, r, sig);
    return sig->hash ^ shrink_class(r);
}

/* Runs cmds without their `mutant` lines: does it still fail with the
 * target key? (Then the mutants are not what makes it fail.) false also
 * when a bound stops the run: the caller refuses the candidate then. */
static bool shrink_fails_bare(shrink_ctx *c, const script_cmd *cmds,
                              size_t n, bool *ran)
{
    size_t k = 0;
    script view;
    signature sig;

    *ran = false;
    if (!shrink_grow(&c->bare, &c->capbare, n)) {
        c->err = -ENOMEM;
        c->stop = true;
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (cmds[i].kind != SCRIPT_MUTANT)
            c->bare[k++] = cmds[i];
    if (k == 0)
        return false;
    exec_result *cand_r = c->r; /* callers read the candidate's result */
    c->r = c->r_bare;
    bool done = shrink_run(c, c->bare, k) == 0;
    exec_result *r = c->r;
    c->r = cand_r;
    if (!done)
        return false;
    *ran = true;
    shrink_view(c, c->bare, k, &view);
    return r->verdict != SCRIPT_V_OK && r->verdict != SCRIPT_V_SCRIPT_ERROR &&
           shrink_key(&view, r, &sig) == c->target;
}

bool shrink_try(shrink_ctx *c, const script_cmd *cmds, size_t n)
{
    signature sig;
    script view;

    if (c->stop)
        return false;
    if (n == 0 || !shrink_valid(cmds, n) || !shrink_parses(c, cmds, n)) {
        c->st->rejected++;
        return false;
    }
    if (shrink_run(c, cmds, n) < 0)
        return false;
    if (c->r->verdict == SCRIPT_V_SCRIPT_ERROR || c->r->verdict == SCRIPT_V_OK)
        return false;
    shrink_view(c, cmds, n, &view);
    if (shrink_key(&view, c->r, &sig) != c->target)
        return false;
    if (!c->st->needs_mutants)
        return true;
    /* a zoo reproducer must fail because of its mutants: one that fails
     * the same way on the correct engine has lost the bug */
    bool ran, bare = shrink_fails_bare(c, cmds, n, &ran);
    if (bare)
        c->st->unfaithful++;
    return ran && !bare;
}

void shrink_accept(shrink_ctx *c, const script_cmd *cmds, size_t n)
{
    if (!shrink_grow(&c->cur, &c->cap, n)) {
        c->err = -ENOMEM;
        c->stop = true;
        return;
    }
    memmove(c->cur, cmds, n * sizeof(*cmds));
    c->n = n;
    c->fault = c->r->cmd;
}

/* ---- static validity ------------------------------------------------------ */

/* What each kind of command needs to run (a table, not a switch, so the
 * rules read in one place). */
enum {
    SV_REQUEST = 1, /* makes a request: may follow expect_error */
    SV_IMAGE = 2,   /* needs a current image */
    SV_OPEN = 4,    /* ... and needs it open */
};

static const unsigned char shrink_needs[SCRIPT_KIND_COUNT] = {
    [SCRIPT_WRITE] = SV_REQUEST | SV_IMAGE | SV_OPEN,
    [SCRIPT_READ] = SV_REQUEST | SV_IMAGE | SV_OPEN,
    [SCRIPT_AIO_WRITE] = SV_REQUEST | SV_IMAGE | SV_OPEN,
    [SCRIPT_AIO_READ] = SV_REQUEST | SV_IMAGE | SV_OPEN,
    [SCRIPT_FLUSH] = SV_REQUEST | SV_IMAGE | SV_OPEN,
    [SCRIPT_DISCARD] = SV_REQUEST | SV_IMAGE | SV_OPEN,
    [SCRIPT_TRUNCATE] = SV_REQUEST | SV_IMAGE | SV_OPEN,
    [SCRIPT_CLOSE] = SV_REQUEST | SV_IMAGE | SV_OPEN,
    [SCRIPT_REOPEN] = SV_REQUEST | SV_IMAGE,
    [SCRIPT_IMAGE_OPEN] = SV_REQUEST,
    [SCRIPT_CHECK] = SV_IMAGE | SV_OPEN,
    [SCRIPT_HOST_LIMIT] = SV_IMAGE,
    [SCRIPT_HOST_GROW] = SV_IMAGE,
};

/* Whether name is among the n strings of set. */
static bool shrink_in(const char *const *set, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], name) == 0)
            return true;
    return false;
}

typedef struct shrink_vstate {
    bool image, open;
    const char **names, **tags; /* image names, armed tags (distinct) */
    size_t nnames, ntags;
} shrink_vstate;

/* One command against the state; false when it cannot run there. */
static bool shrink_valid_one(shrink_vstate *v, const script_cmd *cmds,
                             size_t n, size_t i)
{
    const script_cmd *x = &cmds[i];
    unsigned need = shrink_needs[x->kind];

    if (((need & SV_IMAGE) && !v->image) || ((need & SV_OPEN) && !v->open))
        return false;
    switch (x->kind) {
    case SCRIPT_IMAGE_CREATE:
        if (x->create.backing &&
            !shrink_in(v->names, v->nnames, x->create.backing))
            return false;
        if (x->create.name) {
            if (shrink_in(v->names, v->nnames, x->create.name))
                return false;
            v->names[v->nnames++] = x->create.name;
        }
        /* fall through */
    case SCRIPT_IMAGE_OPEN:
    case SCRIPT_REOPEN:
        v->image = v->open = true;
        return true;
    case SCRIPT_CLOSE:
        v->open = false;
        return true;
    case SCRIPT_BREAK:
        if (!shrink_in(v->tags, v->ntags, x->bp.tag))
            v->tags[v->ntags++] = x->bp.tag;
        return true;
    case SCRIPT_WAIT_BREAK:
    case SCRIPT_RESUME:
    case SCRIPT_REMOVE_BREAK:
        return shrink_in(v->tags, v->ntags, x->bp.tag);
    case SCRIPT_EXPECT_ERROR:
        return i + 1 < n && (shrink_needs[cmds[i + 1].kind] & SV_REQUEST);
    default:
        return true;
    }
}

bool shrink_valid(const script_cmd *cmds, size_t n)
{
    shrink_vstate v = {0};
    bool ok = true;

    v.names = malloc(n * sizeof(*v.names));
    v.tags = malloc(n * sizeof(*v.tags));
    if (!v.names || !v.tags)
        ok = false; /* rejected: the run would need memory too */
    for (size_t i = 0; ok && i < n; i++)
        ok = shrink_valid_one(&v, cmds, n, i);
    free(v.names);
    free(v.tags);
    return ok;
}

/* ---- the output ----------------------------------------------------------- */

static const char *const shrink_own_lines[] = {
    " signature:", " mutants:", " shrunk:", " shrink time:", " shrink work:",
    " interleaving:",
};

/* A header line a previous shrink wrote (replaced, not kept twice). */
static bool shrink_own_line(const char *text)
{
    for (size_t i = 0; i < sizeof(shrink_own_lines) / sizeof(char *); i++)
        if (strncmp(text, shrink_own_lines[i],
                    strlen(shrink_own_lines[i])) == 0)
            return true;
    return false;
}

static const char **shrink_copy_lines(script *s, const char *const *v,
                                      size_t n)
{
    const char **out = script_memdup(s, v, n * sizeof(*v));

    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = script_strdup(s, v[i])))
            return NULL;
    return out;
}

/* Deep copy of src into d (already appended to s). */
static int shrink_copy_cmd(script *s, script_cmd *d, const script_cmd *src)
{
    const char **strs[4] = {NULL, NULL, NULL, NULL};

    *d = *src;
    d->line = d->col = 0;
    if (src->ncomments &&
        !(d->comments = shrink_copy_lines(s, src->comments, src->ncomments)))
        return -ENOMEM;
    strs[0] = &d->trailing;
    switch (src->kind) {
    case SCRIPT_BREAK:
    case SCRIPT_WAIT_BREAK:
    case SCRIPT_RESUME:
    case SCRIPT_REMOVE_BREAK:
        strs[1] = &d->bp.tag;
        break;
    case SCRIPT_IMAGE_CREATE:
        strs[1] = &d->create.name;
        strs[2] = &d->create.backing;
        break;
    case SCRIPT_IMAGE_OPEN:
        strs[1] = &d->open.file;
        strs[2] = &d->open.backing;
        break;
    case SCRIPT_IMAGE_USE:
        strs[1] = &d->use;
        break;
    case SCRIPT_SCHED:
        if (src->sched.tape_len &&
            !(d->sched.tape = script_memdup(s, src->sched.tape,
                                            src->sched.tape_len)))
            return -ENOMEM;
        break;
    default:
        break;
    }
    for (size_t i = 0; i < 4; i++)
        if (strs[i] && *strs[i] && !(*strs[i] = script_strdup(s, *strs[i])))
            return -ENOMEM;
    return 0;
}

static void shrink_mutant_list(const script_cmd *cmds, size_t n, char *buf,
                               size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (cmds[i].kind != SCRIPT_MUTANT)
            continue;
        const eng_mutant_info *mi = eng_mutant_get((eng_mutant)cmds[i].mutant);
        int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                         mi ? mi->name : "?");
        if (w > 0 && (size_t)w < len - used)
            used += (size_t)w;
    }
    if (!used)
        snprintf(buf, len, "none");
}

/* The shrink block of the header, one line per entry of lines. */
static size_t shrink_header_block(const shrink_ctx *c, char lines[6][200])
{
    const shrink_stats *st = c->st;
    char mut[160];
    size_t k = 0;

    snprintf(lines[k++], 200, " signature: %s (%016" PRIx64 ")", st->sig.text,
             st->sig.hash);
    shrink_mutant_list(c->cur, c->n, mut, sizeof(mut));
    snprintf(lines[k++], 200, " mutants: %s", mut);
    if (st->cut_short)
        snprintf(lines[k++], 200,
                 " shrunk: %zu commands -> %zu (cut short by the %s bound: "
                 "not a fixed point)",
                 st->cmds_before, c->n, st->cut_by);
    else
        snprintf(lines[k++], 200, " shrunk: %zu commands -> %zu (fixed point)",
                 st->cmds_before, c->n);
    if (c->o->now)
        snprintf(lines[k++], 200, " shrink time: %.2f s, %" PRIu64 " runs",
                 st->seconds, st->runs);
    else
        snprintf(lines[k++], 200, " shrink work: %" PRIu64 " runs", st->runs);
    if (st->kept_policy)
        snprintf(lines[k++], 200,
                 " interleaving: the seeded policy is kept (fifo with one "
                 "breakpoint does not reproduce it)");
    return k;
}

static int shrink_set_header(shrink_ctx *c, const script *in, script *s)
{
    char block[6][200];
    size_t k = shrink_header_block(c, block);
    size_t extra = c->n ? c->cur[0].ncomments : 0;
    const char **tmp = malloc((k + in->nheader + extra + 1) * sizeof(*tmp));
    size_t n = 0;
    bool sep = false;

    if (!tmp)
        return -ENOMEM;
    for (size_t i = 0; i < k; i++)
        tmp[n++] = block[i];
    for (size_t i = 0; i < in->nheader; i++) {
        if (shrink_own_line(in->header[i]) ||
            (!sep && in->header[i][0] == '\0'))
            continue;
        if (!sep)
            tmp[n++] = "";
        sep = true;
        tmp[n++] = in->header[i];
    }
    /* The first command's comment lines print as header lines anyway. */
    for (size_t i = 0; i < extra; i++)
        tmp[n++] = c->cur[0].comments[i];
    s->header = shrink_copy_lines(s, tmp, n);
    s->nheader = s->header ? n : 0;
    free(tmp);
    return s->header || !n ? 0 : -ENOMEM;
}

static int shrink_build(shrink_ctx *c, const script *in, script **out)
{
    script *s = script_new(in->name);

    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        script_cmd *d = script_append(s, c->cur[i].kind);
        if (!d || shrink_copy_cmd(s, d, &c->cur[i]) < 0)
            goto fail;
    }
    if (s->ncmds) {
        s->cmds[0].comments = NULL;
        s->cmds[0].ncomments = 0;
    }
    s->has_expect = true;
    s->expect = c->st->verdict;
    if (shrink_set_header(c, in, s) < 0)
        goto fail;
    if (in->nfooter &&
        !(s->footer = shrink_copy_lines(s, in->footer, in->nfooter)))
        goto fail;
    s->nfooter = in->nfooter;
    *out = s;
    return 0;
fail:
    script_free(s);
    return -ENOMEM;
}

/* ---- the driver ----------------------------------------------------------- */

static bool shrink_has_mutant(const script *in, int m)
{
    for (size_t i = 0; i < in->ncmds; i++)
        if (in->cmds[i].kind == SCRIPT_MUTANT && in->cmds[i].mutant == m)
            return true;
    return false;
}

static bool shrink_has_mutants(const script_cmd *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cmds[i].kind == SCRIPT_MUTANT)
            return true;
    return false;
}

/* cur = `mutant` lines for the option's mutants, then the input. */
static int shrink_start(shrink_ctx *c, const script *in)
{
    size_t n = 0;

    if (!shrink_grow(&c->cur, &c->cap, in->ncmds + ENG_MUT_COUNT))
        return -ENOMEM;
    for (int m = 0; m < ENG_MUT_COUNT; m++) {
        if (!(c->o->exec.mutants & ENG_MUTANT_BIT(m)) ||
            shrink_has_mutant(in, m))
            continue;
        memset(&c->cur[n], 0, sizeof(c->cur[n]));
        c->cur[n].kind = SCRIPT_MUTANT;
        c->cur[n].bp.event = -1;
        c->cur[n].mutant = m;
        n++;
    }
    if (in->ncmds)
        memcpy(c->cur + n, in->cmds, in->ncmds * sizeof(*in->cmds));
    c->n = n + in->ncmds;
    c->eo = c->o->exec;
    c->eo.mutants = 0;
    c->eo.print = NULL;
    c->eo.progress = NULL;
    return 0;
}

/* The target: the signature of the input's run. */
static int shrink_target(shrink_ctx *c)
{
    script view;

    shrink_view(c, c->cur, c->n, &view);
    if (shrink_run(c, c->cur, c->n) < 0)
        return c->err ? c->err : -EINVAL;
    c->target = shrink_key(&view, c->r, &c->st->sig);
    c->st->verdict = c->r->verdict;
    c->fault = c->r->cmd;
    if (c->r->verdict == SCRIPT_V_OK || c->r->verdict == SCRIPT_V_SCRIPT_ERROR)
        return -EINVAL;
    if (shrink_has_mutants(c->cur, c->n)) {
        bool ran, bare = shrink_fails_bare(c, c->cur, c->n, &ran);
        if (!ran)
            return c->err ? c->err : -EINVAL;
        c->st->needs_mutants = !bare;
    }
    return 0;
}

static void shrink_loop(shrink_ctx *c)
{
    shrink_sched_fifo(c);
    while (!c->stop) {
        bool changed = false;
        c->st->passes++;
        changed |= shrink_ddmin(c);
        changed |= shrink_sched(c);
        changed |= shrink_simplify(c);
        changed |= shrink_patterns(c);
        changed |= shrink_tags(c);
        shrink_note(c, "pass");
        if (!changed)
            break;
    }
    c->st->kept_policy = shrink_has_policy(c->cur, c->n);
}

int shrink_script(const script *in, const shrink_opts *o, script **out,
                  shrink_stats *st)
{
    shrink_ctx c = {.o = o, .st = st, .name = in->name};
    int ret = -ENOMEM;

    memset(st, 0, sizeof(*st));
    *out = NULL;
    c.r = malloc(sizeof(*c.r));
    c.r_bare = malloc(sizeof(*c.r_bare));
    c.pool = script_new("shrink");
    if (!c.r || !c.r_bare || !c.pool || shrink_start(&c, in) < 0)
        goto done;
    if (o->now)
        c.t0 = o->now(o->now_opaque);
    st->cmds_before = c.n;
    ret = shrink_target(&c);
    if (ret < 0)
        goto done;
    shrink_loop(&c);
    if (c.err) {
        ret = c.err;
        goto done;
    }
    shrink_note(&c, "done");
    ret = shrink_build(&c, in, out);
done:
    free(c.cur);
    free(c.cand);
    free(c.bare);
    free(c.r_bare);
    free(c.r);
    script_free(c.pool);
    return ret;
}
