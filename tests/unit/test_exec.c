/*
 * test_exec.c - the script executor and replay: every command kind runs;
 * a test-only fault that flips one byte of one read is caught with a
 * precise report; each kind of deadlock ends with a deadlock verdict that
 * names the requests; budgets; expectations of errors; scripts that do not
 * parse; determinism (same script, same verdict and image hashes); replay's
 * isolation of a run that dies; opened files are judged and left unchanged;
 * the model's rule for a truncate that did not complete; a power loss
 * inside image create (the half-created image refused or opened, then
 * dropped); `image use` (another image current, a closed one opened again,
 * a backing image read-only).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "engsync.h"
#include "exec.h"
#include "imgset.h"
#include "replay.h"
#include "shadow.h"
#include "unit.h"

/* ---- helpers ------------------------------------------------------------- */

typedef struct out_lines {
    char text[16384];
    size_t used;
} out_lines;

static void collect(void *opaque, const char *line)
{
    out_lines *o = opaque;
    int n =
        snprintf(o->text + o->used, sizeof(o->text) - o->used, "%s\n", line);
    if (n > 0 && o->used + (size_t)n < sizeof(o->text))
        o->used += (size_t)n;
}

/* Parse and run text; the verdict. */
static script_verdict run(const char *text, const exec_opts *o, exec_result *r)
{
    script *s = NULL;
    script_error err;
    int ret = script_parse("t.io", text, strlen(text), &s, &err);
    if (ret < 0) {
        fprintf(stderr, "parse: %s:%u:%u: %s\n", err.file, err.line, err.col,
                err.msg);
        CHECK(!"script parses");
        return SCRIPT_V_COUNT;
    }
    CHECK_EQ(exec_run(s, o, r), 0);
    script_free(s);
    if (r->verdict != SCRIPT_V_OK && getenv("TEST_EXEC_VERBOSE"))
        fprintf(stderr, "verdict %s line %u: %s\n%s\n",
                script_verdict_name(r->verdict), r->line, r->msg, r->detail);
    return r->verdict;
}

static exec_result *result(void)
{
    exec_result *r = calloc(1, sizeof(*r));
    CHECK(r != NULL);
    return r;
}

static bool has(const char *hay, const char *needle)
{
    bool ok = strstr(hay, needle) != NULL;
    if (!ok)
        fprintf(stderr, "expected to find \"%s\" in:\n%s\n", needle, hay);
    return ok;
}

/* ---- every command kind -------------------------------------------------- */

static const char all_data_cmds[] =
    "image create name=base size=2M cluster_size=64k\n"
    "write -P 0x11 0 1M\n"
    "write 1M 64k\n"
    "image create size=4M backing=base\n"
    "sched fifo\n"
    "break cow_read A\n"
    "aio_write -P 0x22 32k 8k\n"
    "wait_break A\n"
    "aio_read 64k 64k\n"
    "resume A\n"
    "break write_aio B\n"
    "remove_break B\n"
    "aio_flush\n"
    "read -P 0x22 32k 8k\n"
    "read -P 0x11 -s 4k -l 4k 0 32k\n"
    "read -q 1M 64k\n"
    "write -z 128k 64k\n"
    "write -z -u 192k 64k\n"
    "write -f -P 0x33 256k 4k\n"
    "discard 320k 128k\n"
    "flush\n"
    "truncate 8M\n"
    "read -P 0x00 4M 4M\n"
    "sched random 3\n"
    "aio_write 5M 100k\n"
    "aio_write 5M 10k\n"
    "aio_flush\n"
    "sched tape 0102\n"
    "read 5M 100k\n"
    "check\n"
    "close\n"
    "reopen\n"
    "read -P 0x22 32k 8k\n"
    "check\n";

static void test_data_commands(void)
{
    exec_result *r = result();
    out_lines o = {.used = 0};
    exec_opts opts = {.print = collect, .print_opaque = &o};

    CHECK_EQ(run(all_data_cmds, &opts, r), SCRIPT_V_OK);
    CHECK(has(o.text, "wrote 1048576/1048576 bytes at offset 0\n"));
    CHECK(has(o.text, "wrote 8192/8192 bytes at offset 32768\n"));
    CHECK(has(o.text, "read 65536/65536 bytes at offset 65536\n"));
    CHECK(has(o.text, "discard 131072/131072 bytes at offset 327680\n"));
    CHECK(strstr(o.text, "read 65536/65536 bytes at offset 1048576") ==
          NULL); /* -q */
    CHECK_EQ(r->nhashes, 2);
    CHECK(strcmp(r->hashes[0].name, "base") == 0);
    CHECK(strcmp(r->hashes[1].name, "#2") == 0);
    CHECK(r->steps > 0);
    CHECK(r->requests > 20);
    free(r);
}

static const char fault_cmds[] = "mutant avail_sectors\n"
                                 "image create size=16M cluster_size=64k\n"
                                 "write -P 0x11 0 64k\n"
                                 "host limit 1M\n"
                                 "policy werror=stop\n"
                                 "aio_write -P 0x5a 1M 2M\n"
                                 "host grow 64M\n"
                                 "resume_errors\n"
                                 "aio_flush\n"
                                 "policy werror=report\n"
                                 "read -P 0x5a 1M 2M\n"
                                 "inject write_aio errno=EIO once\n"
                                 "expect_error EIO\n"
                                 "write -P 0x22 0 4k\n"
                                 "inject flush errno=ENOSPC once\n"
                                 "expect_error ENOSPC\n"
                                 "flush\n"
                                 "inject read errno=EIO once nth=1\n"
                                 "expect_error EIO\n"
                                 "read 1M 4k\n"
                                 "write -P 0x33 8M 64k\n"
                                 "crash\n"
                                 "read 8M 64k\n"
                                 "write -P 0x44 8M 4k\n"
                                 "flush\n"
                                 "crash drop=random 9\n"
                                 "read -P 0x44 8M 4k\n"
                                 "check\n";

static void test_fault_commands(void)
{
    exec_result *r = result();

    CHECK_EQ(run(fault_cmds, NULL, r), SCRIPT_V_OK);
    free(r);
}

/* ---- the test-only read fault -------------------------------------------- */

static void test_flip_one_byte(void)
{
    exec_result *r = result();
    exec_opts o = {.flip_read = 2, .flip_byte = 5};
    const char *text = "image create size=1M cluster_size=64k\n"
                       "write 0 128k\n"
                       "read 0 4k\n"
                       "read 64k 4k\n"
                       "read 0 4k\n";

    CHECK_EQ(run(text, NULL, r), SCRIPT_V_OK); /* without the fault */
    CHECK_EQ(run(text, &o, r), SCRIPT_V_DATA_MISMATCH);
    CHECK_EQ(r->cmd, 3);
    CHECK_EQ(r->line, 4);
    CHECK(has(r->msg, "offset 0x10005"));
    CHECK(has(r->detail, "actual   0x00010000:"));
    CHECK(has(r->detail, "1 legal value"));
    CHECK(has(r->detail, "expected bytes written by t.io:2: write 0 128k"));
    CHECK(r->ntrail > 0 && r->trail[r->ntrail - 1] == ENG_EV_READ_AIO);
    CHECK(has(r->trail_req, "read line 4"));
    /* -P catches it too when the model is fooled no more than qemu-io */
    o.flip_read = 1;
    o.flip_byte = 100;
    CHECK_EQ(run("image create size=1M\nwrite -P 0x11 0 64k\n"
                 "read -P 0x11 0 4k\n",
                 &o, r),
             SCRIPT_V_DATA_MISMATCH);
    CHECK(has(r->msg, "offset 0x64"));
    free(r);
}

/* ---- deadlocks, budget ----------------------------------------------------
 */

static void check_deadlock(const char *text, unsigned line, const char *who)
{
    exec_result *r = result();

    CHECK_EQ(run(text, NULL, r), SCRIPT_V_DEADLOCK);
    CHECK_EQ(r->line, line);
    CHECK(has(r->msg, "deadlock"));
    if (who)
        CHECK(has(r->detail, who));
    free(r);
}

#define OVERLAY                                                                \
    "image create name=base size=1M cluster_size=64k\n"                        \
    "write -P 0x11 0 1M\n"                                                     \
    "image create size=1M backing=base\n"

static void test_deadlocks(void)
{
    /* wait_break that nothing will satisfy (whole-cluster write: no COW) */
    check_deadlock("image create size=1M\nbreak cow_read A\n"
                   "aio_write 0 64k\nwait_break A\n",
                   4, "breakpoint cow_read A is still armed");
    /* wait_break on an event the engine never announces */
    check_deadlock("image create size=1M\nbreak empty_image_prepare A\n"
                   "aio_write 4k 4k\nwait_break A\n",
                   4, "no request in flight announced empty_image_prepare");
    /* wait_break with no breakpoint at all */
    check_deadlock("image create size=1M\nwait_break Z\n", 2,
                   "no breakpoint was ever set with tag Z");
    /* a synchronous write overlapping a suspended one */
    check_deadlock(OVERLAY "break cow_read A\naio_write -P 0x22 4k 4k\n"
                           "wait_break A\nwrite -P 0x33 0 8k\n",
                   7,
                   "request 7 (t.io:5: aio_write -P 0x22 4k 4k): suspended "
                   "at breakpoint cow_read A");
    check_deadlock(OVERLAY "break cow_read A\naio_write -P 0x22 4k 4k\n"
                           "wait_break A\nwrite -P 0x33 0 8k\n",
                   7, "request 8 (t.io:7: write -P 0x33 0 8k): in the engine");
    /* aio_flush behind a held request; the end of the script too */
    check_deadlock(OVERLAY "break write_aio A\naio_write 0 4k\nwait_break A\n"
                           "aio_flush\n",
                   7, "suspended at breakpoint write_aio A");
    check_deadlock(OVERLAY "break write_aio A\naio_write 0 4k\nwait_break A\n",
                   0, "suspended at breakpoint write_aio A");
    /* a request stopped by werror=stop that nobody resumes */
    check_deadlock("image create size=16M\nhost limit 256k\n"
                   "policy werror=stop\naio_write 0 2M\naio_flush\n",
                   5, "stopped on a host error");
}

static void test_budget(void)
{
    exec_result *r = result();
    exec_opts o = {.budget = 30};
    const char *text = "image create size=16M cluster_size=4k\n"
                       "write 0 4k\nwrite 1M 4k\nwrite 2M 4k\nwrite 3M 4k\n"
                       "write 4M 4k\nwrite 5M 4k\nwrite 6M 4k\n";

    CHECK_EQ(run(text, &o, r), SCRIPT_V_BUDGET);
    CHECK(r->line >= 2);
    CHECK(has(r->msg, "30 scheduler steps"));
    o.budget = 0;
    CHECK_EQ(run(text, &o, r), SCRIPT_V_OK);
    CHECK(r->steps > 30);
    free(r);
}

/* ---- errors and expectations ----------------------------------------------
 */

static void test_error_expectations(void)
{
    exec_result *r = result();

    CHECK_EQ(run("image create size=1M\nwrite 1020k 8k\n", NULL, r),
             SCRIPT_V_UNEXPECTED_ERROR);
    CHECK(has(r->msg, "write failed: Invalid argument"));
    CHECK_EQ(run("image create size=1M\nexpect_error EINVAL\n"
                 "write 1020k 8k\n",
                 NULL, r),
             SCRIPT_V_OK);
    CHECK_EQ(
        run("image create size=1M\nexpect_error EIO\nwrite 0 8k\n", NULL, r),
        SCRIPT_V_UNEXPECTED_ERROR);
    CHECK(has(r->msg, "expected it to fail with EIO"));
    CHECK_EQ(run("image create size=1M\nexpect_error ENOSPC\n"
                 "write 1020k 8k\n",
                 NULL, r),
             SCRIPT_V_UNEXPECTED_ERROR);
    CHECK_EQ(run("image create size=1M\nexpect_error EIO\nbreak cow_read A\n",
                 NULL, r),
             SCRIPT_V_SCRIPT_ERROR);
    CHECK_EQ(run("image create size=1M\nexpect_error EIO\n", NULL, r),
             SCRIPT_V_SCRIPT_ERROR);
    /* an aio request's error is judged when it completes */
    CHECK_EQ(run("image create size=1M\nexpect_error EINVAL\n"
                 "aio_write 1M 512\naio_flush\n",
                 NULL, r),
             SCRIPT_V_OK);
    free(r);
}

static void test_script_errors(void)
{
    exec_result *r = result();

    CHECK_EQ(run("write 0 4k\n", NULL, r), SCRIPT_V_SCRIPT_ERROR);
    CHECK_EQ(r->line, 1);
    CHECK_EQ(run("image create size=1M\nresume A\n", NULL, r),
             SCRIPT_V_SCRIPT_ERROR);
    CHECK(has(r->msg, "no request is suspended under tag A"));
    CHECK_EQ(run("image create size=1M\nremove_break A\n", NULL, r),
             SCRIPT_V_SCRIPT_ERROR);
    CHECK_EQ(run("image create size=1M\nclose\nread 0 4k\n", NULL, r),
             SCRIPT_V_SCRIPT_ERROR);
    CHECK_EQ(r->line, 3);
    exec_opts o = {.max_image_size = 1 << 20, .no_files = true};
    CHECK_EQ(run("image create size=2M\n", &o, r), SCRIPT_V_SCRIPT_ERROR);
    CHECK_EQ(run("image open /etc/passwd\n", &o, r), SCRIPT_V_SCRIPT_ERROR);
    o.max_io = 4096;
    CHECK_EQ(run("image create size=1M\nwrite 0 8k\n", &o, r),
             SCRIPT_V_SCRIPT_ERROR);
    free(r);
}

/* Scripts that do not parse: file:line:col, exit 2, unless expected. */
static void test_parse_errors(void)
{
    char path[] = "/tmp/test_exec_XXXXXX";
    int fd = mkstemp(path);
    replay_result *rr = calloc(1, sizeof(*rr));
    replay_opts o = {.in_process = true};
    const char bad[] = "image create size=1M\naio_write 32k\n";
    char text[4096];

    CHECK(fd >= 0 && rr);
    CHECK_EQ(write(fd, bad, sizeof(bad) - 1), sizeof(bad) - 1);
    close(fd);
    CHECK_EQ(replay_file(path, &o, rr), 0);
    CHECK(!rr->parsed);
    CHECK_EQ(rr->exit_code, 2);
    CHECK_EQ(rr->perr.line, 2);
    CHECK_EQ(rr->perr.col, 14);
    replay_format_text(path, rr, text, sizeof(text));
    CHECK(has(text, ":2:14: expected a length after the offset"));
    fd = open(path, O_WRONLY | O_TRUNC);
    const char bad2[] = "# expect: script-error\n\nwrite -u 0 4k\n";
    CHECK_EQ(write(fd, bad2, sizeof(bad2) - 1), sizeof(bad2) - 1);
    close(fd);
    CHECK_EQ(replay_file(path, &o, rr), 0);
    CHECK(!rr->parsed && rr->match);
    CHECK_EQ(rr->exit_code, 0);
    CHECK_EQ(
        replay_header_expect("# hello\n#expect: deadlock\nwrite 0 1\n", 36),
        SCRIPT_V_DEADLOCK);
    CHECK_EQ(replay_header_expect("write 0 1\n# expect: deadlock\n", 29), -1);
    unlink(path);
    free(rr);
}

/* ---- determinism -----------------------------------------------------------
 */

static const char racy[] = "image create size=4M cluster_size=4k\n"
                           "sched random 11\n"
                           "aio_write 0 20k\n"
                           "aio_write 10k 20k\n"
                           "aio_read 0 40k\n"
                           "aio_write 100k 300k\n"
                           "aio_flush\n"
                           "read 0 400k\n";

static void test_determinism(void)
{
    exec_result *a = result(), *b = result();
    exec_opts o = {.data_seed = 99};

    CHECK_EQ(run(racy, NULL, a), SCRIPT_V_OK);
    CHECK_EQ(run(racy, NULL, b), SCRIPT_V_OK);
    CHECK(exec_result_same(a, b));
    CHECK_EQ(a->steps, b->steps);
    CHECK_EQ(run(racy, &o, b), SCRIPT_V_OK); /* other data, other bytes */
    CHECK(!exec_result_same(a, b));
    free(a);
    free(b);
}

/* The mutants: found with the switch on, silent with it off. */
static void test_mutants(void)
{
    exec_result *r = result();
    exec_opts on = {.mutants = ENG_MUTANT_BIT(ENG_MUT_ALLOC_NO_SERIALIZE)};
    const char *text = "image create size=256k cluster_size=64k\n"
                       "write -P 0x01 192k 512\n"
                       "aio_write 64k 4k\naio_write 72k 4k\naio_flush\n"
                       "read 64k 16k\n";

    CHECK_EQ(run(text, NULL, r), SCRIPT_V_OK);
    CHECK_EQ(run(text, &on, r), SCRIPT_V_DATA_MISMATCH);
    CHECK_EQ(r->line, 6);
    CHECK(has(r->detail, "expected bytes written by t.io:3: aio_write 64k 4k"));
    free(r);
}

/* ---- replay: isolation, repeat, formats ------------------------------------
 */

static void test_replay_isolation(void)
{
    script *s = NULL;
    script_error err;
    exec_result *r = result();
    exec_opts o = {.abort_at = 3};
    const char *text = "image create size=1M\nwrite 0 4k\nread 0 4k\n";

    CHECK_EQ(script_parse("t.io", text, strlen(text), &s, &err), 0);
    CHECK_EQ(replay_isolated(s, &o, r), 0);
    CHECK_EQ(r->verdict, SCRIPT_V_ENGINE_ABORT);
    CHECK_EQ(r->cmd, 2);
    CHECK_EQ(r->line, 3);
    CHECK(has(r->msg, "signal"));
    o.abort_at = 0;
    CHECK_EQ(replay_isolated(s, &o, r), 0);
    CHECK_EQ(r->verdict, SCRIPT_V_OK);
    CHECK_EQ(r->nhashes, 1);

    replay_result *rr = calloc(1, sizeof(*rr));
    replay_opts ro = {.repeat = 3};
    char *buf = malloc(65536);
    CHECK_EQ(replay_script(s, &ro, rr), 0);
    CHECK(rr->match && rr->repeat_ok);
    CHECK_EQ(rr->runs, 3);
    CHECK_EQ(rr->exit_code, 0);
    replay_format_json("t.io", rr, buf, 65536);
    CHECK(has(buf, "\"verdict\":\"ok\""));
    CHECK(has(buf, "\"repeatable\":true"));
    replay_format_text("t.io", rr, buf, 65536);
    CHECK(strcmp(buf, "verdict: ok\n") == 0);
    free(buf);
    free(rr);
    script_free(s);
    free(r);
}

/* ---- image open ------------------------------------------------------------
 */

static void make_file_image(const char *path)
{
    sched *s = sched_create();
    imgset *set = imgset_create(s, NULL);
    host_backend *b = NULL;
    eng_create_opts co = {.size = 1 << 20};
    eng_open_opts oo = {0};
    eng_error err;
    eng *e = NULL;
    uint8_t buf[8192];

    memset(buf, 0x6b, sizeof(buf));
    CHECK_EQ(imgset_open_file(set, path, true, true, &b), 0);
    CHECK_EQ(engsync_create(s, imgset_file(set, b), &co, &err), 0);
    imgset_open_opts(set, &oo);
    CHECK_EQ(engsync_open(s, imgset_file(set, b), &oo, &e, &err), 0);
    CHECK_EQ(engsync_write(s, e, 4096, buf, sizeof(buf)), 0);
    CHECK_EQ(engsync_close(s, e), 0);
    imgset_destroy(set);
    sched_destroy(s);
}

static size_t file_bytes(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f)
        fclose(f);
    return n;
}

static void test_image_open(void)
{
    char path[] = "/tmp/test_exec_img_XXXXXX";
    int fd = mkstemp(path);
    exec_result *r = result();
    char text[512];
    uint8_t *before = malloc(1 << 20), *after = malloc(1 << 20);

    CHECK(fd >= 0);
    close(fd);
    make_file_image(path);
    size_t n = file_bytes(path, before, 1 << 20);
    snprintf(text, sizeof(text),
             "image open %s\n"
             "read -P 0x6b 4k 8k\nread 0 64k\nread 0 64k\n"
             "write -P 0x22 6k 100\nread 0 64k\nread -P 0x22 6k 100\n"
             "aio_write 512k 8k\naio_read 500k 24k\naio_flush\n"
             "reopen\nread 0 1M\ncheck\n",
             path);
    CHECK_EQ(run(text, NULL, r), SCRIPT_V_OK);
    CHECK_EQ(r->nhashes, 1);
    CHECK_EQ(file_bytes(path, after, 1 << 20), n);
    CHECK(memcmp(before, after, n) == 0); /* replay leaves files alone */
    snprintf(text, sizeof(text), "image open %s.missing\n", path);
    CHECK_EQ(run(text, NULL, r), SCRIPT_V_SCRIPT_ERROR);
    unlink(path);
    free(before);
    free(after);
    free(r);
}

/* ---- power loss: truncate, image create; image use --------------------- */

/* The model's rule for a truncate that did not complete: a reopen may show
 * the old size or the new one, nothing else; the new one grows zeroes. */
static void test_shadow_pending_size(void)
{
    shadow_opts so = {.size = 1 << 20, .cluster_size = 65536};
    shadow *m = NULL;
    uint64_t pend[SHADOW_MAX_PENDING_SIZES];
    shadow_verdict v;
    static uint8_t zero[65536];

    CHECK_EQ(shadow_create(&so, &m), 0);
    if (!m)
        return;
    CHECK_EQ(shadow_truncate_begin(m, 7, 7, 4 << 20), 0);
    CHECK_EQ(shadow_pending_sizes(m, pend, SHADOW_MAX_PENDING_SIZES), 1);
    CHECK_EQ(pend[0], 4 << 20);
    CHECK_EQ(shadow_crash(m), 0);
    CHECK_EQ(shadow_reopened(m, 3 << 20), -ERANGE); /* no truncate made it */
    CHECK_EQ(shadow_reopened(m, 1 << 20), 0);       /* the old size */
    CHECK_EQ(shadow_size(m), 1 << 20);
    CHECK_EQ(shadow_pending_sizes(m, pend, 0), 0); /* settled */
    CHECK_EQ(shadow_reopened(m, 4 << 20), -ERANGE);
    CHECK_EQ(shadow_truncate_begin(m, 8, 8, 2 << 20), 0);
    CHECK_EQ(shadow_crash(m), 0);
    CHECK_EQ(shadow_reopened(m, 2 << 20), 0); /* the new size */
    CHECK_EQ(shadow_size(m), 2 << 20);
    CHECK_EQ(shadow_read_check(m, 9, 1536 << 10, sizeof(zero), zero, &v), 0);
    CHECK(v.ok);
    /* a completed truncate leaves nothing pending */
    CHECK_EQ(shadow_truncate_begin(m, 10, 10, 3 << 20), 0);
    CHECK_EQ(shadow_truncate(m, 10, 10, 3 << 20), 0);
    CHECK_EQ(shadow_pending_sizes(m, pend, 0), 0);
    CHECK_EQ(shadow_reopened(m, 2 << 20), -ERANGE);
    CHECK_EQ(shadow_check_invariants(m), 0);
    shadow_destroy(m);
}

/* The power inside image create: the half-created image is refused or
 * opens (mapping no data); the run is ok either way, the image is gone
 * for `image use`, and the other image reads back. */
static void test_cut_image_create(void)
{
    exec_result *r = calloc(1, sizeof(*r));
    out_lines *out = calloc(1, sizeof(*out));
    unsigned refused = 0, opened = 0;

    for (unsigned n = 1; r && out && n <= 4; n++) {
        for (unsigned seed = 0; seed <= 6; seed++) {
            char text[512], drop[32] = "";
            if (seed)
                snprintf(drop, sizeof(drop), " drop=random %u", seed);
            snprintf(text, sizeof(text),
                     "image create name=a size=4M\nwrite -P 0x11 0 64k\n"
                     "flush\ncrash after=%u%s\n"
                     "image create name=b size=4M cluster_size=4k\n"
                     "image use a\nread -P 0x11 0 64k\ncheck\n",
                     n, drop);
            exec_opts o = {.print = collect, .print_opaque = out};
            out->used = 0;
            out->text[0] = '\0';
            CHECK_EQ(run(text, &o, r), SCRIPT_V_OK);
            CHECK(r->cut_fired);
            refused += strstr(out->text, "image b: the power cut its "
                                         "creation short; the engine "
                                         "refuses it") != NULL;
            opened += strstr(out->text, "the engine opens it, at its size, "
                                        "mapping no data") != NULL;
        }
    }
    CHECK(refused > 0 && opened > 0);
    printf("half-created images: %u refused, %u opened\n", refused, opened);
    if (r)
        CHECK_EQ(run("image create name=a size=4M\ncrash after=1\n"
                     "image create name=b size=4M\nimage use b\n",
                     NULL, r),
                 SCRIPT_V_SCRIPT_ERROR);
    free(out);
    free(r);
}

/* `image use`: another image becomes current; a closed one opens again;
 * a backing image opens read-only beside its overlay. */
static void test_image_use_cmd(void)
{
    exec_result *r = calloc(1, sizeof(*r));

    if (!r)
        return;
    CHECK_EQ(run("image create name=base size=2M\nwrite -P 0x11 0 64k\n"
                 "image create name=top size=2M backing=base\n"
                 "write -P 0x22 64k 64k\n"
                 "image use base\nread -P 0x11 0 64k\nread -P 0 64k 64k\n"
                 "image use top\nread -P 0x11 0 64k\nread -P 0x22 64k 64k\n"
                 "crash\nimage use base\nread -P 0x11 0 64k\n"
                 "image use top\nread -P 0x11 0 64k\ncheck\n",
                 NULL, r),
             SCRIPT_V_OK);
    CHECK_EQ(run("image create name=a size=1M\nwrite -P 0x11 0 4k\nclose\n"
                 "image create name=b size=1M\nimage use a\n"
                 "read -P 0x11 0 4k\nwrite -P 0x33 4k 4k\n",
                 NULL, r),
             SCRIPT_V_OK);
    /* a backing image is read-only: the model refuses to follow a write */
    CHECK(run("image create name=base size=2M\n"
              "image create size=2M backing=base\n"
              "image use base\nwrite 0 4k\n",
              NULL, r) != SCRIPT_V_OK);
    free(r);
}

static const unit_test tests[] = {
    UNIT(test_data_commands),
    UNIT(test_fault_commands),
    UNIT(test_flip_one_byte),
    UNIT(test_deadlocks),
    UNIT(test_budget),
    UNIT(test_error_expectations),
    UNIT(test_script_errors),
    UNIT(test_parse_errors),
    UNIT(test_determinism),
    UNIT(test_mutants),
    UNIT(test_shadow_pending_size),
    UNIT(test_cut_image_create),
    UNIT(test_image_use_cmd),
    UNIT(test_replay_isolation),
    UNIT(test_image_open),
};

UNIT_MAIN(tests)
