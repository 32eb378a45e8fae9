/*
 * test_shrink.c - the minimizer (replay/shrink*.c): it keeps the finding's
 * signature; its output parses, replays under fifo to the same verdict and
 * is a fixed point; the same input gives the same output; seeded schedules
 * become fifo with explicit breakpoints; padded zoo reproducers shrink back
 * to a handful of commands; bounds cut the work short and say so; every
 * failing script of the regression suite shrinks to a valid reproducer.
 *
 * Runs are in process (no fork) and bounded by a run count, so each test
 * takes a bounded, deterministic amount of work. The measured command
 * counts and times are printed, never asserted on time.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eng_mutant.h"
#include "replay.h"
#include "shrink.h"
#include "signature.h"
#include "unit.h"

#define MAX_RUNS 20000 /* a safety bound: no test here needs as many */

static void src_path(char *buf, size_t len, const char *rel)
{
    const char *slash = strrchr(__FILE__, '/');

    /* __FILE__ is .../tests/unit/test_shrink.c: rel is from tests/. */
    snprintf(buf, len, "%.*s/../%s", slash ? (int)(slash - __FILE__) : 1,
             slash ? __FILE__ : ".", rel);
}

static script *parse_text(const char *name, const char *text)
{
    script *s = NULL;
    script_error e;

    if (script_parse(name, text, strlen(text), &s, &e) < 0) {
        char msg[600];
        script_error_format(&e, msg, sizeof(msg));
        fprintf(stderr, "parse: %s\n", msg);
        return NULL;
    }
    return s;
}

static char *read_text(const char *rel)
{
    char path[1024];
    src_path(path, sizeof(path), rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    if (buf)
        fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

static void sig_of_opts(const script *s, const exec_opts *eo, signature *sig,
                        script_verdict *v)
{
    exec_result *r = calloc(1, sizeof(*r));
    CHECK(exec_run(s, eo, r) == 0);
    signature_of(s, r, sig);
    *v = r->verdict;
    free(r);
}

static void sig_of(const script *s, signature *sig, script_verdict *v)
{
    sig_of_opts(s, NULL, sig, v);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static shrink_opts quick_opts(void)
{
    shrink_opts o = {.in_process = true, .max_runs = MAX_RUNS};
    return o;
}

static size_t count_kind(const script *s, script_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ncmds; i++)
        n += s->cmds[i].kind == k;
    return n;
}

static bool has_policy(const script *s)
{
    for (size_t i = 0; i < s->ncmds; i++)
        if (s->cmds[i].kind == SCRIPT_SCHED &&
            s->cmds[i].sched.policy != SCRIPT_SCHED_FIFO)
            return true;
    return false;
}

static bool header_has(const script *s, const char *needle)
{
    for (size_t i = 0; i < s->nheader; i++)
        if (strstr(s->header[i], needle))
            return true;
    return false;
}

static bool same_cmds(const script *a, const script *b)
{
    if (a->ncmds != b->ncmds)
        return false;
    for (size_t i = 0; i < a->ncmds; i++)
        if (!script_cmd_equal(&a->cmds[i], &b->cmds[i]))
            return false;
    return true;
}

/*
 * The properties every shrink result must have: the signature kept, a
 * header that says so, a text that parses back to the same script,
 * a replay (in process, fifo unless a policy had to stay) that matches its
 * `# expect:` header, and a fixed point: shrinking it again changes no
 * command. Returns the output (caller frees) or NULL.
 */
static script *shrink_checked(const script *in, const shrink_opts *o,
                              shrink_stats *st, const char *label)
{
    signature want, got;
    script_verdict v;
    script *out = NULL;

    sig_of_opts(in, &o->exec, &want, &v);
    double t0 = now_s();
    int ret = shrink_script(in, o, &out, st);
    double dt = now_s() - t0;
    CHECK_EQ(ret, 0);
    if (ret < 0)
        return NULL;
    printf("  %s: %zu -> %zu commands, %" PRIu64 " runs, %.3f s, %s\n", label,
           st->cmds_before, out->ncmds, st->runs, dt, st->sig.text);
    sig_of(out, &got, &v);
    CHECK(got.hash == want.hash);
    CHECK(strcmp(st->sig.text, want.text) == 0);
    CHECK(out->has_expect && out->expect == v);
    CHECK(header_has(out, " signature: "));
    CHECK(header_has(out, " mutants: "));
    CHECK(header_has(out, " shrunk: "));
    CHECK(out->ncmds == st->cmds_after);

    size_t len;
    char *text = script_print(out, &len);
    script *back = text ? parse_text("out.io", text) : NULL;
    CHECK(back && script_equal(back, out));
    free(text);
    script_free(back);

    replay_opts ro = {.in_process = true, .repeat = 2};
    replay_result *rr = calloc(1, sizeof(*rr));
    CHECK(replay_script(out, &ro, rr) == 0);
    CHECK(rr->match);
    free(rr);

    if (!st->cut_short) {
        shrink_stats st2;
        script *again = NULL;
        CHECK_EQ(shrink_script(out, o, &again, &st2), 0);
        CHECK(again && same_cmds(again, out));
        CHECK(again && again->nheader == out->nheader);
        script_free(again);
    }
    return out;
}

/* ---- padding: burying a reproducer in irrelevant commands ----------------- */

typedef struct pad {
    uint64_t s;
    char *buf;
    size_t n, cap;
} pad;

static unsigned pad_rand(pad *p, unsigned n)
{
    p->s = p->s * 6364136223846793005u + 1442695040888963407u;
    return (unsigned)((p->s >> 33) % n);
}

static void pad_put(pad *p, const char *line)
{
    size_t l = strlen(line);
    if (p->n + l + 2 > p->cap) {
        p->cap = (p->cap + l + 2) * 2;
        p->buf = realloc(p->buf, p->cap);
    }
    memcpy(p->buf + p->n, line, l);
    p->n += l;
    p->buf[p->n++] = '\n';
    p->buf[p->n] = '\0';
}

/* One irrelevant command touching only [lo, hi) (in KiB), writes allowed
 * or not. */
static void pad_one(pad *p, unsigned lo, unsigned hi, bool writes)
{
    char line[96];
    unsigned off = lo + 4 * pad_rand(p, (hi - lo) / 4);
    unsigned len = 4 * (1 + pad_rand(p, 4));
    if (off + len > hi)
        len = hi - off;
    switch (pad_rand(p, writes ? 6 : 4)) {
    case 0:
        snprintf(line, sizeof(line), "read %uk %uk", off, len);
        break;
    case 1:
        snprintf(line, sizeof(line), "flush");
        break;
    case 2:
        snprintf(line, sizeof(line), "aio_read %uk %uk", off, len);
        break;
    case 3:
        snprintf(line, sizeof(line), "aio_flush");
        break;
    default:
        snprintf(line, sizeof(line), "write -P 0x%02x %uk %uk",
                 0x40 + pad_rand(p, 64), off, len);
        break;
    }
    pad_put(p, line);
}

/*
 * The commands of text (a script) with `sched random SEED` after its
 * `mutant` lines and `total` irrelevant commands spread between the others
 * (none before the image exists; writes only from command `writes_from`).
 */
static char *pad_script(const char *text, uint64_t seed, unsigned total,
                        unsigned lo, unsigned hi, unsigned writes_from)
{
    pad p = {.s = seed};
    char line[512], sched[48];
    const char *t = text;
    unsigned cmd = 0, left = total;
    bool image = false;

    pad_put(&p, "# expect: data-mismatch");
    while (*t) {
        size_t l = strcspn(t, "\n");
        snprintf(line, sizeof(line), "%.*s", (int)l, t);
        t += l + (t[l] == '\n');
        if (!line[0] || line[0] == '#')
            continue;
        if (image && left) {
            unsigned k = pad_rand(&p, 2 * total / 8 + 1);
            k = k > left ? left : k;
            for (unsigned i = 0; i < k; i++)
                pad_one(&p, lo, hi, cmd > writes_from);
            left -= k;
        }
        pad_put(&p, line);
        cmd++;
        if (strncmp(line, "image create", 12) == 0) {
            image = true;
            snprintf(sched, sizeof(sched), "sched random %u",
                     (unsigned)(seed % 1000));
            pad_put(&p, sched);
        }
    }
    while (left--)
        pad_one(&p, lo, hi, true);
    return p.buf;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_nothing_to_shrink(void)
{
    script *s = parse_text("ok.io", "image create size=1M\n"
                                    "write -P 0x11 0 4k\n"
                                    "read -P 0x11 0 4k\n");
    shrink_opts o = quick_opts();
    shrink_stats st;
    script *out = (script *)1;

    CHECK(s != NULL);
    CHECK_EQ(shrink_script(s, &o, &out, &st), -EINVAL);
    CHECK(out == NULL);
    CHECK_EQ(st.verdict, SCRIPT_V_OK);
    script_free(s);
}

/*
 * The first burial of text (seeds from `seed` on) that keeps its finding:
 * a sched random policy and 60 irrelevant commands can hide a race, and
 * the test needs one that does not. Deterministic: the seeds are tried in
 * order. NULL when none of 64 does.
 */
static script *bury(const char *rel, const char *text, uint64_t seed,
                    unsigned lo, unsigned hi, unsigned writes_from)
{
    script *o0 = parse_text(rel, text);
    signature want, got;
    script_verdict v;

    if (!o0)
        return NULL;
    sig_of(o0, &want, &v);
    script_free(o0);
    for (uint64_t k = seed; k < seed + 64; k++) {
        char *padded = pad_script(text, k, 60, lo, hi, writes_from);
        script *s = parse_text(rel, padded);
        free(padded);
        if (!s)
            return NULL;
        sig_of(s, &got, &v);
        if (got.hash == want.hash) {
            printf("  %s buried with seed %" PRIu64 "\n", rel, k);
            return s;
        }
        script_free(s);
    }
    return NULL;
}

/* A padded zoo reproducer shrinks to <= 15 commands under fifo. */
static void padded_zoo(const char *rel, uint64_t seed, unsigned lo,
                       unsigned hi, unsigned writes_from)
{
    char *orig = read_text(rel);
    script *s = orig ? bury(rel, orig, seed, lo, hi, writes_from) : NULL;

    CHECK(s != NULL);
    if (!s)
        goto done;
    CHECK(has_policy(s));
    CHECK(s->ncmds >= 68); /* the input, sched random and 60 more */

    shrink_opts o = quick_opts();
    shrink_stats st;
    script *out = shrink_checked(s, &o, &st, rel);
    CHECK(out != NULL);
    if (out) {
        CHECK(out->ncmds <= 15);
        CHECK(!has_policy(out));
        CHECK(!st.kept_policy && !st.cut_short);
        CHECK(header_has(out, " (fixed point)"));
        char *text = script_print(out, NULL);
        printf("%s", text);
        free(text);
    }
    script_free(out);
done:
    script_free(s);
    free(orig);
}

static void test_padded_avail_sectors(void)
{
    /* Reads anywhere past the damage, writes only after the key write
     * (command 6: the host layout before it is what the bug needs). */
    padded_zoo("regress/avail_sectors_on.io", 11, 576, 1024, 6);
}

static void test_padded_alloc_no_serialize(void)
{
    /* Cluster 2 only: the two racing writes own cluster 1. */
    padded_zoo("regress/alloc_no_serialize_on.io", 17, 128, 192, 0);
}

/* Same input, same output: the whole text, header included (no clock). */
static void test_deterministic(void)
{
    char *orig = read_text("regress/alloc_no_serialize_on.io");
    script *s = orig ? bury("p.io", orig, 17, 128, 192, 0) : NULL;
    shrink_opts o = quick_opts();
    shrink_stats st1, st2;
    script *a = NULL, *b = NULL;

    CHECK(s != NULL);
    if (s) {
        CHECK_EQ(shrink_script(s, &o, &a, &st1), 0);
        CHECK_EQ(shrink_script(s, &o, &b, &st2), 0);
    }
    char *ta = a ? script_print(a, NULL) : NULL;
    char *tb = b ? script_print(b, NULL) : NULL;
    CHECK(ta && tb && strcmp(ta, tb) == 0);
    CHECK_EQ(st1.runs, st2.runs);
    free(ta);
    free(tb);
    script_free(a);
    script_free(b);
    script_free(s);
    free(orig);
}

/* fifo alone does not show this race; one breakpoint does. */
static const char race_text[] =
    "mutant alloc_no_serialize\n"
    "image create size=256k cluster_size=64k\n"
    "write -P 1 192k 512\n"
    "sched random 2\n"
    "aio_write -P 7 64k 4k\n"
    "aio_write -P 8 72k 4k\n"
    "read 192k 512\n"
    "aio_flush\n"
    "read -P 8 72k 4k\n";

static void test_schedule_to_breakpoints(void)
{
    script *s = parse_text("race.io", race_text);
    CHECK(s != NULL);
    if (!s)
        return;
    /* The premise: under fifo the race does not show. */
    script *fifo = script_new("fifo");
    for (size_t i = 0; fifo && i < s->ncmds; i++) {
        if (s->cmds[i].kind == SCRIPT_SCHED)
            continue;
        script_cmd *c = script_append(fifo, s->cmds[i].kind);
        *c = s->cmds[i];
    }
    signature sig;
    script_verdict v;
    sig_of(fifo, &sig, &v);
    CHECK_EQ(v, SCRIPT_V_OK);
    script_free(fifo);

    shrink_opts o = quick_opts();
    shrink_stats st;
    script *out = shrink_checked(s, &o, &st, "race");
    if (out) {
        CHECK(!has_policy(out));
        CHECK_EQ(count_kind(out, SCRIPT_SCHED), 0);
        CHECK_EQ(count_kind(out, SCRIPT_BREAK), 1);
        CHECK_EQ(count_kind(out, SCRIPT_WAIT_BREAK), 1);
        CHECK_EQ(count_kind(out, SCRIPT_RESUME), 1);
        for (size_t i = 0; i < out->ncmds; i++)
            if (out->cmds[i].kind == SCRIPT_BREAK)
                CHECK(strcmp(out->cmds[i].bp.tag, "A") == 0);
        char *text = script_print(out, NULL);
        printf("%s", text);
        free(text);
    }
    script_free(out);
    script_free(s);
}

/* --mutant becomes a `mutant` line; tags become A, B; -P failures stay
 * -P failures. */
static void test_mutant_option_and_tags(void)
{
    script *s = parse_text("m.io", "image create size=256k cluster_size=64k\n"
                                   "write -P 0x01 192k 512\n"
                                   "break write_aio zz\n"
                                   "aio_write -P 0x07 64k 4k\n"
                                   "wait_break zz\n"
                                   "resume zz\n"
                                   "aio_write -P 0x08 72k 4k\n"
                                   "aio_flush\n"
                                   "read -P 0x07 64k 4k\n"
                                   "read -P 0x08 72k 4k\n");
    shrink_opts o = quick_opts();
    shrink_stats st;

    o.exec.mutants = ENG_MUTANT_BIT(ENG_MUT_ALLOC_NO_SERIALIZE);
    CHECK(s != NULL);
    if (!s)
        return;
    script *out = shrink_checked(s, &o, &st, "mutant option");
    if (out) {
        CHECK(out->ncmds > 0 && out->cmds[0].kind == SCRIPT_MUTANT &&
              out->cmds[0].mutant == ENG_MUT_ALLOC_NO_SERIALIZE);
        CHECK(header_has(out, " mutants: alloc_no_serialize"));
        for (size_t i = 0; i < out->ncmds; i++)
            if (out->cmds[i].kind == SCRIPT_BREAK ||
                out->cmds[i].kind == SCRIPT_WAIT_BREAK ||
                out->cmds[i].kind == SCRIPT_RESUME)
                CHECK(strcmp(out->cmds[i].bp.tag, "A") == 0);
    }
    script_free(out);
    script_free(s);

    /* A person's wrong -P is kept as such: not traded for a model one. */
    s = parse_text("p.io", "image create size=1M\n"
                           "write -P 0x11 0 64k\n"
                           "write -P 0x22 64k 64k\n"
                           "read -P 0x11 0 64k\n"
                           "read -P 0x33 64k 4k\n");
    o = quick_opts();
    out = s ? shrink_checked(s, &o, &st, "pattern") : NULL;
    CHECK(out && out->ncmds >= 2);
    if (out) {
        const script_cmd *last = &out->cmds[out->ncmds - 1];
        CHECK(last->kind == SCRIPT_READ &&
              (last->io.flags & SCRIPT_F_PATTERN));
    }
    script_free(out);
    script_free(s);
}

static double fake_clock(void *opaque)
{
    double *t = opaque;
    return *t += 1.0; /* one second per look */
}

/* Bounds cut the work short, and the result and header say so. */
/* The failure's class, as the executor reports it (exec_result's
 * by_pattern, err_got, err_expected: what the shrinker keys on besides the
 * signature), is set and is still the same after shrinking: an unexpected
 * ENOSPC stays an ENOSPC, and a -P mismatch the model accepts stays one. */
static void test_class_kept(void)
{
    static const char *enospc = "image create size=4M cluster_size=64k\n"
                                "write -P 0x11 0 64k\n"
                                "host limit 384k\n"
                                "write -P 0x22 2M 64k\n"
                                "read 0 64k\n";
    static const char *pattern = "image create size=4M cluster_size=64k\n"
                                 "write -P 0x11 1M 64k\n"
                                 "write -P 0x33 3M 4k\n"
                                 "read -P 0x12 1M 4k\n";
    shrink_opts o = quick_opts();
    shrink_stats st;
    exec_result *r = calloc(1, sizeof(*r));
    script *in = parse_text("enospc.io", enospc), *out = NULL;

    out = in && r ? shrink_checked(in, &o, &st, "enospc") : NULL;
    CHECK(out && exec_run(out, NULL, r) == 0);
    CHECK(r && r->verdict == SCRIPT_V_UNEXPECTED_ERROR &&
          r->err_got == ENOSPC && r->err_expected == 0);
    script_free(out);
    script_free(in);

    in = parse_text("pattern.io", pattern);
    out = in && r ? shrink_checked(in, &o, &st, "pattern class") : NULL;
    CHECK(out && exec_run(out, NULL, r) == 0);
    CHECK(r && r->verdict == SCRIPT_V_DATA_MISMATCH && r->by_pattern);
    script_free(out);
    script_free(in);
    free(r);
}

/* A zoo finding shrinks to a reproducer that still needs its mutant: a
 * campaign found swallow_enospc with this trace, and dropping `host limit`
 * (or the mutant line) leaves a write that succeeds where ENOSPC was
 * expected, the same signature on any engine; such candidates are
 * refused, so the output fails with the mutant and passes without it. */
static void test_needs_mutant(void)
{
    static const char *found = "mutant swallow_enospc\n"
                               "image create size=8M cluster_size=64k\n"
                               "write -P 0x11 0 256k\n"
                               "host limit 32k\n"
                               "expect_error ENOSPC\n"
                               "write -P 0x22 2M 1M\n"
                               "expect_error ENOSPC\n"
                               "write -P 0x23 64k 4k\n"
                               "aio_flush\n"
                               "host limit 0\n"
                               "read -P 0x11 0 64k\n"
                               "check\n";
    shrink_opts o = quick_opts();
    shrink_stats st;
    exec_result *r = calloc(1, sizeof(*r));
    script *in = parse_text("found.io", found);
    script *out = in && r ? shrink_checked(in, &o, &st, "needs mutant") : NULL;

    CHECK(st.needs_mutants);
    CHECK(st.unfaithful > 0); /* the trap was there, and was refused */
    CHECK(out && count_kind(out, SCRIPT_MUTANT) == 1);
    if (out && r) {
        size_t k = 0;
        for (size_t i = 0; i < out->ncmds; i++)
            if (out->cmds[i].kind != SCRIPT_MUTANT)
                out->cmds[k++] = out->cmds[i];
        out->ncmds = k; /* the same script on the correct engine */
        CHECK(exec_run(out, NULL, r) == 0);
        CHECK_EQ(r->verdict, SCRIPT_V_OK);
    }
    script_free(out);
    script_free(in);
    free(r);
}

static void test_bounds(void)
{
    char *orig = read_text("regress/avail_sectors_on.io");
    script *s = orig ? bury("p.io", orig, 11, 576, 1024, 6) : NULL;
    shrink_opts o = quick_opts();
    shrink_stats st;
    script *out = NULL;
    double t = 0;

    CHECK(s != NULL);
    if (!s)
        goto done;
    o.max_runs = 5;
    out = shrink_checked(s, &o, &st, "5 runs");
    CHECK(st.cut_short && strcmp(st.cut_by, "run") == 0);
    CHECK_EQ(st.runs, 5);
    CHECK(out && header_has(out, "cut short by the run bound"));
    script_free(out);

    o = quick_opts();
    o.now = fake_clock;
    o.now_opaque = &t;
    o.time_limit = 20;
    out = shrink_checked(s, &o, &st, "20 fake seconds");
    CHECK(st.cut_short && strcmp(st.cut_by, "time") == 0);
    CHECK(st.seconds >= 20);
    CHECK(out && header_has(out, "cut short by the time bound"));
    CHECK(out && header_has(out, " shrink time: "));
    script_free(out);
done:
    script_free(s);
    free(orig);
}

/* An engine abort is a finding too: runs in child processes keep the
 * shrinker alive (the executor's test-only abort_at stands in for an
 * engine assertion at the third command). */
static void test_engine_abort_isolated(void)
{
    script *s = parse_text("abort.io", "image create size=1M\n"
                                       "write -P 0x11 0 4k\n"
                                       "read -P 0x11 0 4k\n"
                                       "flush\n"
                                       "read -P 0x11 0 4k\n");
    shrink_opts o = {.max_runs = 500};
    shrink_stats st;
    script *out = NULL;

    o.exec.abort_at = 3;
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_EQ(shrink_script(s, &o, &out, &st), 0);
    CHECK_EQ(st.verdict, SCRIPT_V_ENGINE_ABORT);
    CHECK(strcmp(st.sig.text, "engine-abort/read/-") == 0);
    CHECK(out && out->ncmds == 3 && out->expect == SCRIPT_V_ENGINE_ABORT);
    CHECK(out && out->cmds[2].kind == SCRIPT_READ);
    printf("  engine abort: %zu -> %zu commands, %" PRIu64 " runs\n",
           st.cmds_before, st.cmds_after, st.runs);
    script_free(out);
    script_free(s);
}

static bool suite_candidate(const script *s)
{
    return s->has_expect && s->expect != SCRIPT_V_OK &&
           s->expect != SCRIPT_V_SCRIPT_ERROR;
}

/* Every failing script of the regression suite shrinks to a reproducer of
 * its own finding (overlays with their bases, breakpoints with their
 * requests, expect_error with its command, deadlocks, crashes). */
static void test_regress_suite(void)
{
    char dir[1024];
    src_path(dir, sizeof(dir), "regress");
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    unsigned shrunk = 0;

    CHECK(n > 0);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t l = strlen(nm);
        char rel[512];
        snprintf(rel, sizeof(rel), "regress/%s", nm);
        char *text = l > 3 && strcmp(nm + l - 3, ".io") == 0 ? read_text(rel)
                                                              : NULL;
        script *s = NULL;
        script_error e;
        if (text && script_parse(nm, text, strlen(text), &s, &e) == 0 &&
            suite_candidate(s)) {
            shrink_opts o = quick_opts();
            shrink_stats st;
            script *out = shrink_checked(s, &o, &st, nm);
            CHECK(out && (out->ncmds <= s->ncmds || has_policy(s)));
            shrunk += out != NULL;
            script_free(out);
        }
        script_free(s);
        free(text);
        free(names[i]);
    }
    free(names);
    CHECK(shrunk >= 10);
}

static const unit_test tests[] = {
    UNIT(test_nothing_to_shrink),
    UNIT(test_padded_avail_sectors),
    UNIT(test_padded_alloc_no_serialize),
    UNIT(test_deterministic),
    UNIT(test_schedule_to_breakpoints),
    UNIT(test_mutant_option_and_tags),
    UNIT(test_class_kept),
    UNIT(test_needs_mutant),
    UNIT(test_bounds),
    UNIT(test_engine_abort_isolated),
    UNIT(test_regress_suite),
};

UNIT_MAIN(tests)
