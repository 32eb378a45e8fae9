/*
 * campaign_find.c - the campaign's findings (see campaign.h): which
 * verdicts count, the folders DIR/<signature hex>/ with trace.io, log.txt
 * and repro.io, the keep-the-shortest rule, and the shrink child.
 *
 * Invariants:
 *   - Every change to a finding folder happens under DIR/.lock (flock), so
 *     jobs and shrink children never race on "is mine shorter?".
 *   - A new folder is built under a temporary name and renamed into place;
 *     files in an existing folder are replaced by rename: a reader (or a
 *     kill -9) never sees a torn file or a folder without trace.io.
 *   - trace.io replays on its own: the campaign's mutants are `mutant`
 *     lines at its top and `# expect:` names the verdict.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign_int.h"
#include "eng_mutant.h"
#include "replay.h"
#include "shrink.h"
#include "trace_codec.h"

/* ---- which verdicts are findings ----------------------------------------- */

/* Tags whose break is armed or holds a request: not yet resumed, removed,
 * or disarmed by a crash, before command `upto`. */
static bool find_bp_outstanding(const script *s, size_t upto)
{
    const char *open[64];
    size_t n = 0;
    bool overflow = false;

    for (size_t i = 0; i < upto && i < s->ncmds; i++) {
        const script_cmd *c = &s->cmds[i];
        if (c->kind == SCRIPT_BREAK) {
            if (n < 64)
                open[n++] = c->bp.tag;
            else
                overflow = true;
        } else if (c->kind == SCRIPT_RESUME || c->kind == SCRIPT_REMOVE_BREAK) {
            for (size_t k = 0; k < n; k++) {
                if (strcmp(open[k], c->bp.tag) != 0)
                    continue;
                open[k] = open[--n];
                if (c->kind == SCRIPT_RESUME)
                    break; /* one resume releases one request */
                k--;
            }
        } else if (c->kind == SCRIPT_CRASH) {
            n = 0; /* a power loss disarms every breakpoint */
        }
    }
    return n > 0 || overflow;
}

/* werror=stop in effect before command `upto`. */
static bool find_werror_stop(const script *s, size_t upto)
{
    bool stop = false;
    for (size_t i = 0; i < upto && i < s->ncmds; i++)
        if (s->cmds[i].kind == SCRIPT_POLICY)
            stop = s->cmds[i].werror == SCRIPT_WERROR_STOP;
    return stop;
}

bool campaign_is_finding(const script *s, const exec_result *r)
{
    if (r->verdict == SCRIPT_V_OK)
        return false;
    if (r->verdict != SCRIPT_V_DEADLOCK)
        return true;
    size_t upto = r->cmd < s->ncmds ? r->cmd : s->ncmds;
    if (r->cmd < s->ncmds && s->cmds[r->cmd].kind == SCRIPT_WAIT_BREAK)
        return false; /* the engine need not announce that event */
    return !find_bp_outstanding(s, upto) && !find_werror_stop(s, upto);
}

/* ---- the index of findings on disk --------------------------------------- */

bool campaign_is_hex_name(const char *name)
{
    return strlen(name) == 16 && strspn(name, "0123456789abcdef") == 16;
}

/* Commands of the script at path; 0 when it is missing or does not parse. */
static size_t find_cmds_of(const char *path)
{
    script *s = NULL;
    script_error err;
    if (script_load(path, &s, &err) < 0)
        return 0;
    size_t n = s->ncmds;
    script_free(s);
    return n;
}

static int index_put(campaign_index *ix, uint64_t hash, size_t cmds)
{
    for (size_t i = 0; i < ix->n; i++) {
        if (ix->hash[i] == hash) {
            ix->cmds[i] = cmds;
            return 0;
        }
    }
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? 2 * ix->cap : 32;
        uint64_t *h = realloc(ix->hash, cap * sizeof(*h));
        if (h)
            ix->hash = h;
        size_t *c = h ? realloc(ix->cmds, cap * sizeof(*c)) : NULL;
        if (!c)
            return -ENOMEM;
        ix->cmds = c;
        ix->cap = cap;
    }
    ix->hash[ix->n] = hash;
    ix->cmds[ix->n++] = cmds;
    return 0;
}

static size_t index_get(const campaign_index *ix, uint64_t hash)
{
    for (size_t i = 0; i < ix->n; i++)
        if (ix->hash[i] == hash)
            return ix->cmds[i];
    return 0;
}

int campaign_index_load(campaign_index *ix, const char *top)
{
    char path[CAMPAIGN_PATH_MAX], **names = NULL;
    size_t n = 0;

    int ret = campaign_dir_list(top, campaign_is_hex_name, NULL, &names, &n);
    for (size_t i = 0; ret == 0 && i < n; i++) {
        if (!campaign_path(path, "%s/%s/trace.io", top, names[i]))
            continue;
        size_t cmds = find_cmds_of(path);
        if (cmds)
            ret = index_put(ix, strtoull(names[i], NULL, 16), cmds);
    }
    campaign_names_free(names, n);
    return ret;
}

void campaign_index_free(campaign_index *ix)
{
    free(ix->hash);
    free(ix->cmds);
    memset(ix, 0, sizeof(*ix));
}

/* ---- trace.io and log.txt ------------------------------------------------ */

char *campaign_trace_text(const script *s, script_verdict v, uint64_t mutants,
                          const char *header)
{
    char head[1024];
    script body = *s; /* shallow: only the header fields differ */
    body.has_expect = false;
    body.nheader = 0;
    char *text = script_print(&body, NULL);
    if (!text)
        return NULL;
    int n = snprintf(head, sizeof(head), "# expect: %s\n%s",
                     script_verdict_name(v), header ? header : "");
    for (int m = 0; m < ENG_MUT_COUNT && n < (int)sizeof(head) - 80; m++)
        if (mutants & ENG_MUTANT_BIT(m))
            n += snprintf(head + n, sizeof(head) - (size_t)n, "mutant %s\n",
                          eng_mutant_get((eng_mutant)m)->name);
    size_t tl = strlen(text);
    char *all = malloc((size_t)n + tl + 1);
    if (all) {
        memcpy(all, head, (size_t)n);
        memcpy(all + n, text, tl + 1);
    }
    free(text);
    return all;
}

int campaign_mutants_parse(const char *list, uint64_t *set, char *bad,
                           size_t badlen)
{
    char names[512], *save = NULL;
    snprintf(names, sizeof(names), "%s", list ? list : "");
    for (char *t = strtok_r(names, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        int m = eng_mutant_by_name(t);
        if (m < 0) {
            snprintf(bad, badlen, "%s", t);
            return -EINVAL;
        }
        *set |= ENG_MUTANT_BIT(m);
    }
    return 0;
}

int campaign_decode(const uint8_t *data, size_t len, script **out)
{
    int ret = trace_decode(data, len, NULL, out);
    if (ret < 0)
        return ret;
    script *s = *out;
    for (size_t i = 0; i < s->ncmds; i++)
        if (s->cmds[i].kind == SCRIPT_READ ||
            s->cmds[i].kind == SCRIPT_AIO_READ)
            s->cmds[i].io.flags &= ~SCRIPT_F_VERBOSE;
    return 0;
}

int campaign_judge_input(const uint8_t *data, size_t len, uint64_t mutants,
                         exec_result *r, char **report)
{
    script *s = NULL;
    *report = NULL;
    if (campaign_decode(data, len, &s) < 0)
        return -ENOMEM;
    exec_opts o = {.mutants = mutants, .no_files = true};
    exec_run(s, &o, r);
    int ret = 0;
    if (campaign_is_finding(s, r)) {
        signature sig;
        signature_of(s, r, &sig);
        char *text = campaign_trace_text(s, r->verdict, mutants, NULL);
        size_t cap = strlen(r->msg) + strlen(r->detail) +
                     (text ? strlen(text) : 0) + 256;
        if (text && (*report = malloc(cap)))
            snprintf(*report, cap,
                     "finding %s: %s\n%s\n---- trace (cowpoke replay runs "
                     "it) ----\n%s---- end of trace ----\n",
                     sig.text, r->msg, r->detail, text);
        free(text);
        ret = *report ? 1 : -ENOMEM;
    }
    script_free(s);
    return ret;
}

/* The text of trace.io: header, the mutant lines, s's commands. */
static char *find_trace_text(const script *s, const exec_result *r,
                             const signature *sig, const campaign_origin *from)
{
    char hex[17], head[512];
    signature_hex(sig, hex);
    snprintf(head, sizeof(head),
             "# signature: %s\n# signature hash: %s\n"
             "# found by cowpoke fuzz: job %u (seed %" PRIu64
             "), execution %" PRIu64 "\n",
             sig->text, hex, from->job, from->seed, from->exec_no);
    return campaign_trace_text(s, r->verdict, from->mutants, head);
}

/* log.txt: where it came from and the verdict report of trace.io's run. */
static char *find_log_text(const campaign_ctx *c, const script *t,
                           const exec_result *r, const signature *sig,
                           const campaign_origin *from, size_t nmut)
{
    replay_result *rr = calloc(1, sizeof(*rr));
    size_t cap = 3 * EXEC_DETAIL_MAX;
    char *log = malloc(cap);
    if (!rr || !log) {
        free(rr);
        free(log);
        return NULL;
    }
    rr->parsed = true;
    rr->expect = r->verdict;
    rr->run = *r;
    rr->runs = 1;
    rr->repeat_ok = rr->match = true;
    size_t at = r->cmd < SIZE_MAX - nmut ? r->cmd + nmut : SIZE_MAX;
    bool replayed = false;
    if (r->verdict != SCRIPT_V_ENGINE_ABORT) {
        exec_opts eo = c->o->exec;
        eo.mutants = 0; /* they are lines of the trace now */
        eo.print = NULL;
        eo.progress = NULL;
        eo.hostio = NULL;
        eo.event = NULL;
        eo.no_hashes = false;
        replayed = exec_run(t, &eo, &rr->run) == 0;
        at = rr->run.cmd;
    }
    rr->run.cmd = at;
    if (at < t->ncmds) {
        rr->run.line = t->cmds[at].line;
        rr->run.col = t->cmds[at].col;
        script_cmd_format(&t->cmds[at], rr->cmd_text, sizeof(rr->cmd_text));
    }
    signature again;
    signature_of(t, &rr->run, &again);
    int n = snprintf(log, cap,
                     "cowpoke fuzz finding\nsignature: %s\nfound by: job %u "
                     "(seed %" PRIu64 "), execution %" PRIu64 "\n%s\n\n",
                     sig->text, from->job, from->seed, from->exec_no,
                     !replayed ? "replay: not re-run here (engine-abort: "
                                 "`cowpoke replay trace.io` runs it isolated)"
                     : again.hash == sig->hash
                         ? "replay: trace.io gives the same signature"
                         : "replay: trace.io gives ANOTHER signature");
    if (n > 0 && (size_t)n < cap)
        replay_format_text("trace.io", rr, log + n, cap - (size_t)n);
    free(rr);
    return log;
}

/* Write both files into folder dir. */
static int find_write(const char *dir, const char *trace, const char *log)
{
    int ret =
        campaign_write_atomic(dir, "trace.io", trace, strlen(trace), true);
    if (ret == 0)
        ret = campaign_write_atomic(dir, "log.txt", log, strlen(log), true);
    return ret;
}

/* Create DIR/<hex> whole, or replace its files. */
static int find_put(const char *top, const char *hex, const char *trace,
                    const char *log)
{
    char dir[CAMPAIGN_PATH_MAX], tmp[CAMPAIGN_PATH_MAX];
    struct stat sb;

    if (!campaign_path(dir, "%s/%s", top, hex) ||
        !campaign_path(tmp, "%s/.%s.tmp.%ld", top, hex, (long)getpid()))
        return -ENAMETOOLONG;
    if (stat(dir, &sb) == 0)
        return find_write(dir, trace, log);
    if (mkdir(tmp, 0777) < 0 && errno != EEXIST)
        return -errno;
    int ret = find_write(tmp, trace, log);
    if (ret == 0 && rename(tmp, dir) < 0)
        ret = -errno;
    return ret;
}

static size_t find_count_mutants(uint64_t mutants)
{
    size_t n = 0;
    for (int m = 0; m < ENG_MUT_COUNT; m++)
        n += (mutants & ENG_MUTANT_BIT(m)) != 0;
    return n;
}

/* Under the lock: is the candidate (ncmds) shorter than what DIR holds? */
static bool find_is_shorter(const char *top, const char *hex, uint64_t hash,
                            size_t ncmds, campaign_index *ix)
{
    char path[CAMPAIGN_PATH_MAX];
    size_t known = index_get(ix, hash);
    if (known && known <= ncmds)
        return false;
    if (!campaign_path(path, "%s/%s/trace.io", top, hex))
        return false;
    size_t disk = find_cmds_of(path);
    if (disk) {
        index_put(ix, hash, disk);
        if (disk <= ncmds)
            return false;
    }
    return true;
}

int campaign_record(const campaign_ctx *c, const script *s,
                    const exec_result *r, const signature *sig,
                    const campaign_origin *from, campaign_index *ix,
                    bool *wrote)
{
    char hex[17];
    script_error err;
    script *t = NULL;
    char *log = NULL;

    *wrote = false;
    signature_hex(sig, hex);
    char *trace = find_trace_text(s, r, sig, from);
    if (!trace)
        return -ENOMEM;
    int ret = script_parse("trace.io", trace, strlen(trace), &t, &err);
    if (ret < 0)
        goto out;
    while (flock(c->lock_fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    if (find_is_shorter(from->top, hex, sig->hash, t->ncmds, ix)) {
        log = find_log_text(c, t, r, sig, from,
                            find_count_mutants(from->mutants));
        ret = log ? find_put(from->top, hex, trace, log) : -ENOMEM;
        if (ret == 0) {
            *wrote = true;
            ret = index_put(ix, sig->hash, t->ncmds);
        }
    }
    flock(c->lock_fd, LOCK_UN);
out:
    script_free(t);
    free(trace);
    free(log);
    return ret;
}

/* ---- the shrink child ---------------------------------------------------- */

static double find_now(void *opaque)
{
    const campaign_opts *o = opaque;
    return o->now(o->now_opaque);
}

/* Remove s's `mutant` commands (in place); returns their set. */
static uint64_t find_strip_mutants(script *s)
{
    uint64_t set = 0;
    size_t k = 0;
    for (size_t i = 0; i < s->ncmds; i++) {
        if (s->cmds[i].kind == SCRIPT_MUTANT)
            set |= ENG_MUTANT_BIT(s->cmds[i].mutant);
        else
            s->cmds[k++] = s->cmds[i];
    }
    s->ncmds = k;
    return set;
}

static void find_shrink_opts(const campaign_ctx *c, const script *in,
                             uint64_t mutants, shrink_opts *so)
{
    memset(so, 0, sizeof(*so));
    so->exec = c->o->exec;
    so->exec.mutants = mutants; /* options: the shrinker cannot drop them */
    so->exec.print = NULL;
    so->exec.progress = NULL;
    so->exec.hostio = NULL;
    so->exec.event = NULL;
    so->in_process = in->expect != SCRIPT_V_ENGINE_ABORT;
    so->time_limit = c->o->shrink_time > 0 ? c->o->shrink_time : 30;
    so->max_runs = c->o->shrink_runs;
    so->now = c->o->now ? find_now : NULL;
    so->now_opaque = (void *)c->o;
}

/* Keep text as dir/repro.io unless one with no more commands is there. */
static int find_put_repro(const campaign_ctx *c, const char *dir,
                          const char *text, size_t len, size_t ncmds)
{
    char path[CAMPAIGN_PATH_MAX];
    int ret = 0;
    while (flock(c->lock_fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    size_t have =
        campaign_path(path, "%s/repro.io", dir) ? find_cmds_of(path) : 0;
    if (!have || ncmds < have)
        ret = campaign_write_atomic(dir, "repro.io", text, len, true);
    flock(c->lock_fd, LOCK_UN);
    return ret;
}

int campaign_shrink_main(const campaign_ctx *c, const char *hex)
{
    char dir[CAMPAIGN_PATH_MAX], path[CAMPAIGN_PATH_MAX];
    script *in = NULL, *out = NULL;
    script_error err;
    shrink_stats st;
    shrink_opts so;

    if (!campaign_path(dir, "%s/%s", c->o->dir, hex) ||
        !campaign_path(path, "%s/trace.io", dir) ||
        script_load(path, &in, &err) < 0)
        return 2;
    uint64_t mutants = find_strip_mutants(in);
    find_shrink_opts(c, in, mutants, &so);
    /* faithful by construction: a trace that needs its mutants to fail
     * shrinks to a reproducer that needs them too (shrink.h) */
    int ret = shrink_script(in, &so, &out, &st);
    size_t len = 0;
    char *text = ret == 0 ? script_print(out, &len) : NULL;
    if (text)
        ret = find_put_repro(c, dir, text, len, out->ncmds);
    script_free(in);
    script_free(out);
    free(text);
    return ret < 0 ? 3 : 0;
}

/* ---- listing ------------------------------------------------------------- */

static int find_entry(const char *top, const char *hex, campaign_finding *f)
{
    char path[CAMPAIGN_PATH_MAX], *text;
    size_t len;

    memset(f, 0, sizeof(*f));
    snprintf(f->hex, sizeof(f->hex), "%s", hex);
    if (!campaign_path(path, "%s/%s/trace.io", top, hex))
        return -ENAMETOOLONG;
    int ret = campaign_read_file(path, &text, &len);
    if (ret < 0)
        return ret;
    const char *p = strstr(text, "# signature: ");
    if (p)
        sscanf(p, "# signature: %95s", f->sig);
    free(text);
    f->trace_cmds = find_cmds_of(path);
    if (campaign_path(path, "%s/%s/repro.io", top, hex))
        f->repro_cmds = find_cmds_of(path);
    return 0;
}

int campaign_list_findings(const char *dir, campaign_finding **out, size_t *n)
{
    char **names = NULL;
    size_t k = 0;

    *n = 0;
    *out = NULL;
    int ret = campaign_dir_list(dir, campaign_is_hex_name, NULL, &names, &k);
    if (ret == 0 && k && !(*out = calloc(k, sizeof(**out))))
        ret = -ENOMEM;
    for (size_t i = 0; ret == 0 && i < k; i++)
        if (find_entry(dir, names[i], &(*out)[*n]) == 0)
            (*n)++;
    campaign_names_free(names, k);
    return ret;
}
