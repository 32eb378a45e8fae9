/*
 * test_crashpoints.c - power loss at exact host writes and flushes, and
 * the crash-point driver (replay/crashpoints.h):
 *   - `crash after=N` parses, prints and compares, with its errors;
 *   - the executor cuts the power right after the N-th successful host
 *     write or flush (counted as the hostio hook counts them), during the
 *     command it falls in; unflushed data is lost, requests in flight are
 *     lost without an unexpected-error, an image whose close was cut short
 *     comes back open, and an arm that never fires changes nothing;
 *   - variant scripts: where the arm goes, the read-back (merged, rounded
 *     to clusters, chunked, host limit lifted, none after an inject);
 *   - the driver over 20 regression traces: every point tried, no false
 *     alarm on the correct engine, and the same report twice;
 *   - power losses inside truncate (grow; a shrink has no points), image
 *     create and the end-of-trace close; variants of them, with every
 *     image read back through `image use`; the forked worker replaced
 *     after a run that aborts (the same report as a child per run);
 *   - the oracles can fail: with flush_no_host_flush and refcount_after_l2
 *     some crash point fails and its reproducer replays to the same
 *     verdict; with swallow_enospc the model catches the swallowed error.
 *     Each mutant is looked up by name; a missing one is skipped with a
 *     printed reason.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "crashpoints_int.h"
#include "eng_mutant.h"
#include "replay.h"
#include "unit.h"

/* ---- helpers ------------------------------------------------------------- */

static script *parse(const char *text)
{
    script *s = NULL;
    script_error err;
    int r = script_parse("t.io", text, strlen(text), &s, &err);

    if (r < 0)
        fprintf(stderr, "parse: %u:%u: %s\n", err.line, err.col, err.msg);
    CHECK(r == 0);
    return s;
}

typedef struct io_log {
    uint64_t n;
    size_t cmd[256];
} io_log;

static void log_io(void *opaque, uint64_t n, size_t cmd)
{
    io_log *l = opaque;
    CHECK_EQ(n, l->n + 1);
    if (l->n < 256)
        l->cmd[l->n] = cmd;
    l->n = n;
}

typedef struct out_text {
    char text[8192];
    size_t used;
} out_text;

static void collect(void *opaque, const char *line)
{
    out_text *o = opaque;
    int n =
        snprintf(o->text + o->used, sizeof(o->text) - o->used, "%s\n", line);
    if (n > 0 && o->used + (size_t)n < sizeof(o->text))
        o->used += (size_t)n;
}

/* Run text; the verdict, with the result in *r (caller's). */
static script_verdict run(const char *text, uint64_t mutants, exec_result *r)
{
    script *s = parse(text);
    exec_opts o = {.mutants = mutants};

    if (!s)
        return SCRIPT_V_COUNT;
    CHECK_EQ(exec_run(s, &o, r), 0);
    script_free(s);
    if (r->verdict != SCRIPT_V_OK && getenv("VERBOSE"))
        fprintf(stderr, "verdict %s line %u: %s\n%s\n",
                script_verdict_name(r->verdict), r->line, r->msg, r->detail);
    return r->verdict;
}

static void regress_path(const char *name, char *buf, size_t len)
{
    const char *slash = strrchr(__FILE__, '/');
    snprintf(buf, len, "%.*s/../regress/%s",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".", name);
}

static script *load_regress(const char *name)
{
    char path[1024];
    script *s = NULL;
    script_error err;

    regress_path(name, path, sizeof(path));
    int r = script_load(path, &s, &err);
    if (r < 0)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    CHECK(r == 0);
    return s;
}

/* A mutant's bit, or 0 with a printed reason when it does not exist. */
static uint64_t mutant_or_skip(const char *name, const char *test)
{
    int m = eng_mutant_by_name(name);
    if (m < 0) {
        printf("skip %s: mutant %s does not exist in this engine\n", test,
               name);
        return 0;
    }
    return ENG_MUTANT_BIT(m);
}

/* ---- the language -------------------------------------------------------- */

static void test_parse_crash_after(void)
{
    script *s = parse("image create size=1M\n"
                      "crash after=3\n"
                      "crash after=0x10 drop=random 5\n"
                      "crash drop=random 7 after=2\n"
                      "crash drop=all after=9\n");
    if (!s)
        return;
    CHECK_EQ(s->cmds[1].crash.after, 3);
    CHECK_EQ(s->cmds[1].crash.drop, SCRIPT_DROP_ALL);
    CHECK_EQ(s->cmds[2].crash.after, 16);
    CHECK_EQ(s->cmds[2].crash.seed, 5);
    CHECK_EQ(s->cmds[3].crash.after, 2);
    CHECK_EQ(s->cmds[3].crash.drop, SCRIPT_DROP_RANDOM);
    CHECK_EQ(s->cmds[3].crash.seed, 7);
    CHECK_EQ(s->cmds[4].crash.after, 9);
    CHECK(!script_cmd_equal(&s->cmds[1], &s->cmds[4]));
    char *text = script_print(s, NULL);
    CHECK(text && strstr(text, "crash after=3\n"
                               "crash after=16 drop=random 5\n"
                               "crash after=2 drop=random 7\n"
                               "crash after=9\n"));
    script *t = text ? parse(text) : NULL;
    CHECK(t && script_equal(s, t));
    free(text);
    script_free(t);
    script_free(s);
}

static void bad(const char *text, unsigned col, const char *msg)
{
    script *s = NULL;
    script_error err;
    int r = script_parse("bad.io", text, strlen(text), &s, &err);

    CHECK_EQ(r, -EINVAL);
    if (r == 0) {
        script_free(s);
        return;
    }
    if (err.col != col || !strstr(err.msg, msg))
        fprintf(stderr, "'%s': got %u: %s; want %u: %s\n", text, err.col,
                err.msg, col, msg);
    CHECK_EQ(err.col, col);
    CHECK(strstr(err.msg, msg) != NULL);
}

static void test_parse_crash_errors(void)
{
    bad("crash after=0", 13, "after= counts host writes and flushes from 1");
    bad("crash after=x", 13, "'x'");
    bad("crash after=1 after=2", 15, "after= given twice");
    bad("crash drop=random after=3", 19, "expected a seed after 'drop=random'");
    bad("crash after=2 drop=random", 26, "expected a seed after 'drop=random'");
    bad("crash after=2 7", 15, "unexpected argument '7'");
    bad("crash drop=all 5", 16, "unexpected argument '5'");
    bad("crash when=3", 7, "unknown option 'when' for crash");
}

/* ---- the executor -------------------------------------------------------- */

static const char three_cmds[] = "image create size=4M cluster_size=64k\n"
                                 "write -P 0x11 0 128k\n"
                                 "flush\n"
                                 "write -P 0x22 1M 64k\n"
                                 "check\n";

/* Arm after each of the counted writes and flushes of the trace in turn:
 * the power goes during the command the hook saw it in. */
static void test_cut_exact(void)
{
    exec_result *r = calloc(1, sizeof(*r));
    io_log *l = calloc(1, sizeof(*l));
    script *s = parse(three_cmds);
    exec_opts o = {.hostio = log_io, .hostio_opaque = l};

    if (!r || !l || !s)
        goto out;
    CHECK_EQ(exec_run(s, &o, r), 0);
    CHECK_EQ(r->verdict, SCRIPT_V_OK);
    CHECK(!r->cut_fired);
    CHECK(l->n >= 6);
    CHECK_EQ(r->host_ios, l->n);
    uint64_t first = 0; /* the first write or flush after image create */
    while (first < l->n && l->cmd[first] == 0)
        first++;
    for (uint64_t k = first + 1; k <= l->n && k < 256; k++) {
        if (l->cmd[k - 1] == SIZE_MAX)
            break; /* the end of the trace: the harness's */
        char text[512];
        snprintf(text, sizeof(text),
                 "image create size=4M cluster_size=64k\n"
                 "crash after=%llu\n"
                 "write -P 0x11 0 128k\nflush\nwrite -P 0x22 1M 64k\ncheck\n",
                 (unsigned long long)(k - first));
        CHECK_EQ(run(text, 0, r), SCRIPT_V_OK);
        CHECK(r->cut_fired);
        /* the crash command shifts the others by one */
        CHECK_EQ(r->cut_cmd, l->cmd[k - 1] + 1);
    }
out:
    script_free(s);
    free(l);
    free(r);
}

static void test_cut_never(void)
{
    exec_result *r = calloc(1, sizeof(*r));
    out_text *out = calloc(1, sizeof(*out));
    script *s = parse("image create size=4M\ncrash after=1000\n"
                      "write -P 0x11 0 64k\nread -P 0x11 0 64k\n");
    exec_opts o = {.print = collect, .print_opaque = out};

    if (r && out && s) {
        CHECK_EQ(exec_run(s, &o, r), 0);
        CHECK_EQ(r->verdict, SCRIPT_V_OK);
        CHECK(!r->cut_fired);
        CHECK(strstr(out->text, "crash after=1000 (line 2): the script ended "
                                "after ") != NULL);
        CHECK(strstr(out->text, "the power stayed on") != NULL);
    }
    script_free(s);
    free(out);
    free(r);
}

/* The in-place rewrite is one host write; the power goes right after it,
 * before any flush, so drop=all loses it and the old data reads back. */
static void test_cut_loses_unflushed(void)
{
    exec_result *r = calloc(1, sizeof(*r));
    const char *head = "image create size=4M cluster_size=64k\n"
                       "write -P 0x11 0 64k\n"
                       "flush\n"
                       "crash after=1\n"
                       "write -P 0x22 0 64k\n";
    char text[512];

    if (!r)
        return;
    snprintf(text, sizeof(text), "%sread -P 0x11 0 64k\ncheck\n", head);
    CHECK_EQ(run(text, 0, r), SCRIPT_V_OK);
    CHECK(r->cut_fired);
    CHECK(r->cut_volatile > 0);
    snprintf(text, sizeof(text), "%sread -P 0x22 0 64k\n", head);
    CHECK_EQ(run(text, 0, r), SCRIPT_V_DATA_MISMATCH);
    /* right after the host flush that follows it, the rewrite survives */
    CHECK_EQ(run("image create size=4M cluster_size=64k\n"
                 "write -P 0x11 0 64k\n"
                 "flush\n"
                 "crash after=2\n"
                 "write -P 0x22 0 64k\nflush\nwrite -P 0x33 1M 64k\n"
                 "read -P 0x22 0 64k\ncheck\n",
                 0, r),
             SCRIPT_V_OK);
    CHECK(r->cut_fired);
    free(r);
}

/* text runs ok, and its armed power loss happened. */
static void expect_cut_ok(const char *text)
{
    exec_result *r = calloc(1, sizeof(*r));

    if (!r)
        return;
    CHECK_EQ(run(text, 0, r), SCRIPT_V_OK);
    CHECK(r->cut_fired);
    free(r);
}

/* Requests in flight are lost: their EIO is expected, the models forget
 * them, and held ones are released. */
static void test_cut_inflight(void)
{
    expect_cut_ok("image create size=8M cluster_size=64k\n"
                  "write -P 0x11 0 64k\n"
                  "flush\n"
                  "break cow_write A\n"
                  "aio_write -P 0x33 200k 8k\n"
                  "wait_break A\n"
                  "crash after=2 drop=random 3\n"
                  "aio_write 1M 512k\n"
                  "aio_write -P 0x44 3M 64k\n"
                  "aio_flush\n"
                  "read -P 0x11 0 64k\n"
                  "read 200k 8k\n"
                  "read 1M 512k\n"
                  "read 3M 64k\n"
                  "check\n");
}

/* A close cut short by the power: the image comes back open. */
static void test_cut_during_close(void)
{
    expect_cut_ok("image create size=4M cluster_size=4k\n"
                  "write -P 0x11 0 256k\n"
                  "crash after=1\n"
                  "close\n"
                  "read 0 256k\n"
                  "check\n");
}

static int drive(const script *s, uint64_t mutants, unsigned seeds,
                 const char *dir, crashpt_report *rep);

/* ---- truncate, image create, the end --------------------------------------
 */

/* The power inside a growing truncate: before the header's new size is
 * durable the old size comes back, after it the new one; either way the
 * run is ok. A write past the old size tells which. */
static void test_cut_truncate(void)
{
    exec_result *r = calloc(1, sizeof(*r));
    bool old_seen = false, new_seen = false;

    for (unsigned n = 1; r && n <= 12; n++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "image create size=1M cluster_size=64k\n"
                 "write -P 0x11 0 64k\nflush\n"
                 "crash after=%u\ntruncate 4M\nread -P 0x11 0 64k\n"
                 "write -P 0x22 3M 64k\nread -P 0x22 3M 64k\n",
                 n);
        script_verdict got = run(text, 0, r);
        if (!r->cut_fired || r->cut_cmd != 4)
            break; /* past the truncate */
        CHECK(got == SCRIPT_V_OK || got == SCRIPT_V_UNEXPECTED_ERROR);
        if (got == SCRIPT_V_UNEXPECTED_ERROR)
            CHECK(strstr(r->msg, "write failed: Invalid argument") != NULL);
        old_seen |= got == SCRIPT_V_UNEXPECTED_ERROR;
        new_seen |= got == SCRIPT_V_OK;
    }
    CHECK(old_seen && new_seen);
    free(r);
}

/* Points inside truncate are counted and tried (grow); a shrink, which
 * the engine refuses before any host I/O, has none. */
static void test_truncate_points(void)
{
    crashpt_report *rep = calloc(1, sizeof(*rep));
    io_log *l = calloc(1, sizeof(*l));
    exec_result *r = calloc(1, sizeof(*r));
    script *s = parse("image create size=2M cluster_size=4k\n"
                      "write -P 0x11 1M 64k\n"
                      "expect_error ENOTSUP\ntruncate 1M\n"
                      "truncate 3M\nwrite -P 0x22 2M 8k\n"
                      "expect_error ENOTSUP\ntruncate 512k\n");
    exec_opts o = {.hostio = log_io, .hostio_opaque = l};
    size_t in_grow = 0, in_shrink = 0;

    if (rep && l && r && s) {
        CHECK_EQ(exec_run(s, &o, r), 0);
        CHECK_EQ(r->verdict, SCRIPT_V_OK);
        for (uint64_t i = 0; i < l->n && i < 256; i++) {
            in_grow += l->cmd[i] == 4;
            in_shrink += l->cmd[i] == 3 || l->cmd[i] == 7;
        }
        CHECK(in_grow > 0);
        CHECK_EQ(in_shrink, 0);
        CHECK_EQ(drive(s, 0, 3, NULL, rep), 0);
        CHECK_EQ(rep->tried, rep->points);
        CHECK_EQ(rep->failures, 0);
        CHECK_EQ(rep->misfires, 0);
    }
    script_free(s);
    free(r);
    free(l);
    free(rep);
}

/* ---- variants ------------------------------------------------------------ */

static void check_variant(const char *text, size_t c, uint64_t m,
                          const char *want)
{
    script *s = parse(text), *v = NULL;
    size_t arm = 0;

    if (!s)
        return;
    CHECK_EQ(crashpt_variant(s, 0, c, m, SIZE_MAX, &v, &arm), 0);
    char *got = v ? script_print(v, NULL) : NULL;
    CHECK(got && strcmp(got, want) == 0);
    if (got && strcmp(got, want) != 0)
        fprintf(stderr, "variant:\n%s\nwanted:\n%s\n", got, want);
    CHECK(v && v->cmds[arm].kind == SCRIPT_CRASH &&
          v->cmds[arm].crash.after == m);
    free(got);
    script_free(v);
    script_free(s);
}

static const char variant_src[] = "image create size=3M cluster_size=64k\n"
                                  "write -P 0x11 100k 8k\n"
                                  "aio_write 1M 1536k\n"
                                  "host limit 4M\n"
                                  "expect_error ENOSPC\n"
                                  "write 2900k 200k\n"
                                  "flush\n"
                                  "write 0 4k\n";

static void test_variant_shape(void)
{
    check_variant(variant_src, 6, 2,
                  "image create name=cp1 size=3M cluster_size=64k\n"
                  "write -P 0x11 100k 8k\n"
                  "aio_write 1M 1536k\n"
                  "host limit 4M\n"
                  "expect_error ENOSPC\n"
                  "write 2900k 200k\n"
                  "crash after=2\n"
                  "flush\n"
                  "image use cp1\n"
                  "host limit 0\n"
                  "read 64k 64k\n"
                  "read 1M 1M\n"
                  "read 2M 512k\n"
                  "check\n");
    /* the arm goes before the command's expect_error */
    check_variant(variant_src, 5, 1,
                  "image create name=cp1 size=3M cluster_size=64k\n"
                  "write -P 0x11 100k 8k\n"
                  "aio_write 1M 1536k\n"
                  "host limit 4M\n"
                  "crash after=1\n"
                  "expect_error ENOSPC\n"
                  "write 2900k 200k\n"
                  "image use cp1\n"
                  "host limit 0\n"
                  "read 64k 64k\n"
                  "read 1M 1M\n"
                  "read 2M 512k\n"
                  "check\n");
    /* an inject rule could fail the reads: no read-back */
    check_variant("image create size=1M\ninject read_aio errno=EIO once\n"
                  "write 0 4k\n",
                  2, 1,
                  "image create name=cp1 size=1M\n"
                  "inject read_aio errno=EIO once\n"
                  "crash after=1\nwrite 0 4k\n");
    /* a closed image is read back too (image use opens it again); a name
     * the script holds is not given twice */
    check_variant("image create name=cp1 size=1M\nwrite 0 4k\nclose\n"
                  "image create size=1M\nflush\n",
                  4, 1,
                  "image create name=cp1 size=1M\nwrite 0 4k\nclose\n"
                  "image create name=cp2 size=1M\ncrash after=1\nflush\n"
                  "image use cp1\nread 0 64k\ncheck\n");
    /* every image is read back: the backing image's writes, the
     * overlay's */
    check_variant("image create name=b size=1M\nwrite 0 4k\n"
                  "image create size=2M backing=b\nwrite 1M 4k\n",
                  3, 1,
                  "image create name=b size=1M\nwrite 0 4k\n"
                  "image create name=cp2 size=2M backing=b\ncrash after=1\n"
                  "write 1M 4k\nimage use b\nread 0 64k\nimage use cp2\n"
                  "read 1M 64k\ncheck\n");
}

/* The power inside image create: the image is not read back (the
 * executor judges it), the others are; inside truncate: the read-back
 * stops at the smaller of the two sizes. */
static void test_variant_create_truncate(void)
{
    check_variant("image create name=b size=1M\nwrite 0 4k\n"
                  "image create size=2M backing=b\n",
                  2, 3,
                  "image create name=b size=1M\nwrite 0 4k\ncrash after=3\n"
                  "image create name=cp2 size=2M backing=b\n"
                  "image use b\nread 0 64k\ncheck\n");
    check_variant("image create size=1M\nwrite 896k 64k\ntruncate 2M\n", 2, 1,
                  "image create name=cp1 size=1M\nwrite 896k 64k\n"
                  "crash after=1\ntruncate 2M\n"
                  "image use cp1\nread 896k 64k\ncheck\n");
    check_variant("image create size=1M\ntruncate 2M\nwrite 960k 128k\n"
                  "truncate 4M\n",
                  3, 2,
                  "image create name=cp1 size=1M\ntruncate 2M\n"
                  "write 960k 128k\ncrash after=2\ntruncate 4M\n"
                  "image use cp1\nread 960k 64k\nread 1M 64k\ncheck\n");
    /* a shrink that may fail: the read-back stops at the smaller size */
    check_variant("image create size=2M\nwrite 960k 128k\n"
                  "expect_error ENOTSUP\ntruncate 1M\nflush\n",
                  4, 1,
                  "image create name=cp1 size=2M\nwrite 960k 128k\n"
                  "expect_error ENOTSUP\ntruncate 1M\ncrash after=1\nflush\n"
                  "image use cp1\nread 960k 64k\ncheck\n");
}

/* The end-of-trace close written out: every image open at the end
 * closed, in creation order, after the arm; then the read-back. */
static void test_variant_end(void)
{
    check_variant("image create name=b size=1M\nwrite 0 4k\n"
                  "image create size=2M backing=b\nwrite 1M 4k\n"
                  "image create size=1M\nwrite 4k 4k\nclose\n"
                  "image create size=1M\n",
                  CRASHPT_END, 2,
                  "image create name=b size=1M\nwrite 0 4k\n"
                  "image create name=cp2 size=2M backing=b\nwrite 1M 4k\n"
                  "image create name=cp3 size=1M\nwrite 4k 4k\nclose\n"
                  "image create name=cp4 size=1M\ncrash after=2\n"
                  "image use cp2\nclose\nimage use cp4\nclose\n"
                  "image use b\nread 0 64k\nimage use cp2\nread 1M 64k\n"
                  "image use cp3\nread 0 64k\ncheck\n");
    script *s = parse("image create size=1M\nbreak write_aio A\n"
                      "aio_write 0 4k\nwait_break A\nresume A\n");
    CHECK(s && crashpt_end_ok(s));
    script_free(s);
    s = parse("image create size=1M\nbreak write_aio A\nwrite 0 4k\n"
              "break l2_update B\nremove_break B\nbreak cow_read A\n"
              "wait_break A\nresume A\n");
    CHECK(s && !crashpt_end_ok(s)); /* one rule of A never fired */
    script_free(s);
    s = parse("image create size=1M\ninject write errno=EIO once nth=99\n");
    CHECK(s && !crashpt_end_ok(s));
    script_free(s);
}

/* ---- the driver ---------------------------------------------------------- */

static const char *const clean_traces[] = {
    "crash_after_flush.io",
    "crash_inflight.io",
    "crash_after_torn_write.io",
    "cow_read_overlay.io",
    "cow_write_overlay.io",
    "discard_realloc.io",
    "l1_growth.io",
    "overlap_aio_writes.io",
    "reopen_close.io",
    "write_zeroes_partial.io",
    "write_zeroes_unmap.io",
    "v2_discard_backing.io",
    "enospc_report.io",
    "fault_eio_flush.io",
    "fault_eio_l2_update.io",
    "fault_eio_refblock_update.io",
    "fault_eio_write_aio_alloc.io",
    "fault_enospc_l2.io",
    "fault_enospc_refblock.io",
    "fault_werror_stop_resume.io",
    "truncate_grow_overlay.io",
    "crash_truncate_grow.io",
    "crash_image_create.io",
    "crash_end_close.io",
    "l2_update_overlay.io",
    "crash_after_close.io",
};

static int drive(const script *s, uint64_t mutants, unsigned seeds,
                 const char *dir, crashpt_report *rep)
{
    crashpt_opts o = {
        .seeds = seeds, .in_process = true, .out_dir = dir, .source = s->name};
    o.exec.mutants = mutants;
    return crashpt_run(s, &o, rep);
}

static void test_driver_no_false_alarm(void)
{
    crashpt_report *rep = calloc(1, sizeof(*rep));
    uint64_t points = 0, runs = 0;

    for (size_t i = 0; rep && i < sizeof(clean_traces) / sizeof(*clean_traces);
         i++) {
        script *s = load_regress(clean_traces[i]);
        if (!s)
            continue;
        CHECK_EQ(drive(s, 0, 3, NULL, rep), 0);
        CHECK_EQ(rep->clean.verdict, SCRIPT_V_OK);
        CHECK(rep->tried > 0);
        CHECK_EQ(rep->tried + rep->skipped, rep->points);
        CHECK(rep->runs >= rep->tried);
        CHECK_EQ(rep->misfires, 0);
        CHECK_EQ(rep->failures, 0);
        if (rep->failures)
            fprintf(stderr, "%s: point %llu: %s: %s\n", clean_traces[i],
                    (unsigned long long)rep->first_failure.k,
                    script_verdict_name(rep->first_failure.run.verdict),
                    rep->first_failure.run.msg);
        points += rep->tried;
        runs += rep->runs;
        script_free(s);
    }
    printf("%llu crash points in %llu runs over %zu traces\n",
           (unsigned long long)points, (unsigned long long)runs,
           sizeof(clean_traces) / sizeof(*clean_traces));
    free(rep);
}

static void test_driver_same_twice(void)
{
    crashpt_report *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    script *s = load_regress("crash_inflight.io");

    if (a && b && s) {
        CHECK_EQ(drive(s, 0, 3, NULL, a), 0);
        CHECK_EQ(drive(s, 0, 3, NULL, b), 0);
        CHECK_EQ(a->points, b->points);
        CHECK_EQ(a->runs, b->runs);
        CHECK(exec_result_same(&a->clean, &b->clean));
    }
    script_free(s);
    free(a);
    free(b);
}

/* A trace that does not run clean: nothing is tried. */
static void test_driver_unclean(void)
{
    crashpt_report *rep = calloc(1, sizeof(*rep));
    script *s = parse("image create size=1M\nwrite -P 0x11 0 4k\n"
                      "read -P 0x22 0 4k\n");

    if (rep && s) {
        CHECK_EQ(drive(s, 0, 3, NULL, rep), 0);
        CHECK_EQ(rep->clean.verdict, SCRIPT_V_DATA_MISMATCH);
        CHECK_EQ(rep->tried, 0);
        CHECK_EQ(rep->runs, 0);
    }
    script_free(s);
    free(rep);
}

/* Remove dir and the files in it. */
static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];

    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* Run the driver with a mutant; some point must fail with one of the
 * verdicts allowed, and every reproducer must replay to its verdict. */
static void expect_found(const char *trace, const char *mutant,
                         script_verdict v1, script_verdict v2)
{
    uint64_t bit = mutant_or_skip(mutant, "expect_found");
    char tmpl[] = "/tmp/cowpoke-crashpt-XXXXXX";
    crashpt_report *rep = calloc(1, sizeof(*rep));
    replay_result *rr = calloc(1, sizeof(*rr));
    script *s = load_regress(trace);
    char *dir = bit ? mkdtemp(tmpl) : NULL;

    if (!bit || !rep || !rr || !s || !dir)
        goto out;
    char sub[1200];
    snprintf(sub, sizeof(sub), "%s/out", dir);
    CHECK_EQ(drive(s, bit, 3, sub, rep), 0);
    CHECK_EQ(rep->clean.verdict, SCRIPT_V_OK);
    CHECK(rep->failures > 0);
    CHECK_EQ(rep->misfires, 0);
    CHECK_EQ(rep->written, rep->failures);
    CHECK_EQ(rep->unconfirmed, 0);
    script_verdict got = rep->first_failure.run.verdict;
    CHECK(got == v1 || got == v2);
    /* the reproducer replays on its own (its mutant line included) */
    replay_opts ro = {.in_process = true};
    CHECK_EQ(replay_file(rep->first_failure.path, &ro, rr), 0);
    CHECK(rr->parsed);
    CHECK_EQ(rr->run.verdict, got);
    CHECK_EQ(rr->exit_code, 0);
    printf("%s with %s: %llu of %llu runs fail (%s)\n", trace, mutant,
           (unsigned long long)rep->failures, (unsigned long long)rep->runs,
           script_verdict_name(got));
    rm_dir(sub);
    rmdir(dir);
out:
    script_free(s);
    free(rr);
    free(rep);
}

static void test_found_flush_no_host_flush(void)
{
    expect_found("fault_eio_l2_update.io", "flush_no_host_flush",
                 SCRIPT_V_DATA_MISMATCH, SCRIPT_V_METADATA_CORRUPT);
}

static void test_found_refcount_after_l2(void)
{
    expect_found("discard_realloc.io", "refcount_after_l2",
                 SCRIPT_V_METADATA_CORRUPT, SCRIPT_V_DATA_MISMATCH);
}

/* The points of the end-of-trace close find a mutant the trace's own
 * commands never reach: the close writes the L2 table before the refcount
 * block. The failing point is in the close; its reproducer replays. */
static void test_found_in_end_close(void)
{
    expect_found("crash_end_close.io", "refcount_after_l2",
                 SCRIPT_V_METADATA_CORRUPT, SCRIPT_V_DATA_MISMATCH);
}

/* The forked worker: a run that aborts kills it; the point is tried again
 * with a child per run (engine-abort, attributed), a new worker goes on,
 * and the report equals that of a child per run. abort_at hits every
 * variant with a read-back (longer than the trace) but not the trace
 * itself, nor the variants of the points inside image create. */
static void test_worker_restart(void)
{
    crashpt_report *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    script *s = parse("image create size=4M cluster_size=64k\n"
                      "write -P 0x11 0 3M\n");
    crashpt_opts o = {.seeds = 1};

    o.exec.abort_at = 6;
    if (a && b && s) {
        CHECK_EQ(crashpt_run(s, &o, a), 0);
        o.child_per_run = true;
        CHECK_EQ(crashpt_run(s, &o, b), 0);
        CHECK_EQ(a->clean.verdict, SCRIPT_V_OK);
        CHECK(a->tried > 2);
        CHECK_EQ(a->tried, a->points);
        CHECK(a->failures > 0);       /* not the points inside image create: */
        CHECK(a->failures < a->runs); /* their variants are short */
        CHECK_EQ(a->first_failure.run.verdict, SCRIPT_V_ENGINE_ABORT);
        CHECK_EQ(a->runs, b->runs);
        CHECK_EQ(a->failures, b->failures);
        CHECK_EQ(a->failed_points, b->failed_points);
        CHECK_EQ(a->first_failure.k, b->first_failure.k);
    }
    o.exec.abort_at = 0; /* no abort: one worker does it all, no failure */
    o.child_per_run = false;
    if (a && s) {
        CHECK_EQ(crashpt_run(s, &o, a), 0);
        CHECK_EQ(a->failures, 0);
        CHECK_EQ(a->tried, a->points);
    }
    script_free(s);
    free(a);
    free(b);
}

/* swallow_enospc: the write past the host limit "succeeds"; with no
 * expect_error only the shadow model can tell. Without the mutant the
 * same trace is an unexpected-error (the write fails, as it must). */
static void test_model_catches_swallow_enospc(void)
{
    uint64_t bit = mutant_or_skip("swallow_enospc", __func__);
    exec_result *r = calloc(1, sizeof(*r));
    const char *text = "image create size=16M cluster_size=512\n"
                       "write -P 0x11 0 4k\n"
                       "flush\n"
                       "host limit 10240\n"
                       "write -P 0x22 4k 512\n"
                       "read -P 0x11 0 4k\n"
                       "read 4k 512\n";

    if (bit && r) {
        CHECK_EQ(run(text, bit, r), SCRIPT_V_DATA_MISMATCH);
        CHECK_EQ(run(text, 0, r), SCRIPT_V_UNEXPECTED_ERROR);
    }
    free(r);
}

static const unit_test tests[] = {
    UNIT(test_parse_crash_after),
    UNIT(test_parse_crash_errors),
    UNIT(test_cut_exact),
    UNIT(test_cut_never),
    UNIT(test_cut_loses_unflushed),
    UNIT(test_cut_inflight),
    UNIT(test_cut_during_close),
    UNIT(test_cut_truncate),
    UNIT(test_truncate_points),
    UNIT(test_variant_shape),
    UNIT(test_variant_create_truncate),
    UNIT(test_variant_end),
    UNIT(test_driver_no_false_alarm),
    UNIT(test_driver_same_twice),
    UNIT(test_driver_unclean),
    UNIT(test_found_flush_no_host_flush),
    UNIT(test_found_refcount_after_l2),
    UNIT(test_found_in_end_close),
    UNIT(test_worker_restart),
    UNIT(test_model_catches_swallow_enospc),
};

UNIT_MAIN(tests)
