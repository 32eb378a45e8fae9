/*
 * test_campaign.c - the built-in campaign runner (replay/campaign*.c):
 * the structural-deadlock rule, mutations, the dictionary, and whole
 * campaigns in temporary folders: a test-only host fault is found and its
 * trace replays to the same verdict; a zoo mutant is found within a bounded
 * campaign and the correct engine gives nothing in a campaign of the same
 * length; an engine abort costs a worker, not the campaign; the same seed
 * gives the same campaign; a kill -9 leaves whole files and --resume goes
 * on. Campaigns are bounded by executions, never by time.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "campaign_int.h"
#include "eng_mutant.h"
#include "replay.h"
#include "unit.h"

/* ---- helpers ------------------------------------------------------------- */

static char corpus_dir[PATH_MAX];

static const char *test_corpus(void)
{
    char src[PATH_MAX];
    struct stat sb;
    snprintf(src, sizeof(src), "%s", __FILE__);
    snprintf(corpus_dir, sizeof(corpus_dir), "%s/../../corpus", dirname(src));
    return stat(corpus_dir, &sb) == 0 ? corpus_dir : NULL;
}

static double test_clock(void *opaque)
{
    (void)opaque;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *test_tmpdir(void)
{
    char tmpl[] = "/tmp/test_campaign-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void test_rmrf(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static campaign_opts test_opts(const char *dir, uint64_t seed, uint64_t runs)
{
    campaign_opts o = {
        .dir = dir,
        .corpus_dir = test_corpus(),
        .seed = seed,
        .runs = runs,
        .no_shrink = true,
        .shrink_runs = 400,
        .shrink_time = 120,
        .now = test_clock,
        .wait_shrinks = true,
    };
    o.exec.no_files = true;
    return o;
}

/* Parse text as a script. */
static script *test_parse(const char *text)
{
    script *s = NULL;
    script_error err;
    if (script_parse("t.io", text, strlen(text), &s, &err) < 0)
        fprintf(stderr, "%s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
    return s;
}

/* Run file dir/hex/name with opts; true when its signature is hex's. */
static bool test_replays(const char *dir, const char *hex, const char *name,
                         const exec_opts *opts, bool isolated)
{
    char path[PATH_MAX];
    script *s = NULL;
    script_error err;
    exec_result *r = malloc(sizeof(*r));
    snprintf(path, sizeof(path), "%s/%s/%s", dir, hex, name);
    bool ok = r && script_load(path, &s, &err) == 0;
    if (ok)
        ok = (isolated ? replay_isolated(s, opts, r) : exec_run(s, opts, r)) ==
             0;
    if (ok) {
        signature sig;
        char got[17];
        signature_of(s, r, &sig);
        signature_hex(&sig, got);
        ok = strcmp(got, hex) == 0 && s->has_expect && s->expect == r->verdict;
        if (!ok)
            fprintf(stderr, "%s replays to %s (%s), expected %s\n", path,
                    sig.text, got, hex);
    }
    script_free(s);
    free(r);
    return ok;
}

/* ---- the finding rule ---------------------------------------------------- */

static bool test_rule(const char *text, script_verdict v, size_t cmd)
{
    script *s = test_parse(text);
    exec_result r = {.verdict = v, .cmd = cmd};
    bool f = s && campaign_is_finding(s, &r);
    script_free(s);
    return f;
}

/* campaign_write_file: a path's bytes replaced whole, in a folder or the
 * current one, with no temporary name left behind; a missing folder is an
 * error, not a file somewhere else. */
static void test_write_file(void)
{
    char *dir = test_tmpdir();
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    CHECK(dir != NULL);
    if (!dir)
        return;
    snprintf(path, sizeof(path), "%s/repro.io", dir);
    CHECK_EQ(campaign_write_file(path, "first\n", 6, true), 0);
    CHECK_EQ(campaign_write_file(path, "second\n", 7, false), 0);
    CHECK_EQ(campaign_read_file(path, &text, &len), 0);
    CHECK_EQ(len, 7);
    CHECK(text && memcmp(text, "second\n", 7) == 0);
    free(text);
    DIR *d = opendir(dir);
    unsigned entries = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        entries += e->d_name[0] != '.' || strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    CHECK_EQ(entries, 1); /* repro.io, and no .repro.io.tmp.PID */
    snprintf(path, sizeof(path), "%s/no/such/folder/x.io", dir);
    CHECK(campaign_write_file(path, "x", 1, false) == -ENOENT);
    test_rmrf(dir);
    free(dir);
}

static void test_finding_rule(void)
{
    const char *bp = "image create size=1M\n"
                     "break write_aio A\n"
                     "aio_write 0 4k\n"
                     "wait_break A\n"
                     "aio_flush\n"
                     "resume A\n"
                     "aio_flush\n";
    CHECK(!test_rule(bp, SCRIPT_V_OK, SIZE_MAX));
    CHECK(test_rule(bp, SCRIPT_V_DATA_MISMATCH, 4));
    CHECK(test_rule(bp, SCRIPT_V_ENGINE_ABORT, 2));
    CHECK(!test_rule(bp, SCRIPT_V_DEADLOCK, 3)); /* at the wait_break */
    CHECK(!test_rule(bp, SCRIPT_V_DEADLOCK, 4)); /* A still holds */
    CHECK(test_rule(bp, SCRIPT_V_DEADLOCK, 6));  /* after resume A */
    CHECK(test_rule(bp, SCRIPT_V_DEADLOCK, SIZE_MAX));
    const char *rm = "image create size=1M\n"
                     "break write_aio A\n"
                     "remove_break A\n"
                     "aio_write 0 4k\n"
                     "aio_flush\n";
    CHECK(test_rule(rm, SCRIPT_V_DEADLOCK, 4));
    const char *crash = "image create size=1M\n"
                        "break l2_update A\n"
                        "crash\n"
                        "aio_write 0 4k\n"
                        "aio_flush\n";
    CHECK(!test_rule(crash, SCRIPT_V_DEADLOCK, 2));
    CHECK(test_rule(crash, SCRIPT_V_DEADLOCK, 4));
    const char *stop = "image create size=1M\n"
                       "policy werror=stop\n"
                       "aio_write 0 4k\n"
                       "policy werror=report\n"
                       "aio_flush\n";
    CHECK(!test_rule(stop, SCRIPT_V_DEADLOCK, 3));
    CHECK(test_rule(stop, SCRIPT_V_DEADLOCK, 4));
}

/* ---- mutations and the dictionary ---------------------------------------- */

static void test_mutate(void)
{
    campaign_input tok = {.data = (uint8_t *)"\xae\x05", .len = 2};
    campaign_dict d = {.tok = &tok, .n = 1};
    uint8_t in[64], other[32], a[CAMPAIGN_MAX_LEN], b[CAMPAIGN_MAX_LEN];
    prng p = prng_seeded(3), q = prng_seeded(3);
    bool token_seen = false, grew = false, shrank = false;

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)i;
    memset(other, 0x77, sizeof(other));
    for (int i = 0; i < 20000; i++) {
        size_t len = 1 + (size_t)(i % 64);
        size_t na = campaign_mutate(&p, in, len, other, sizeof(other), &d, a,
                                    i % 7 ? sizeof(a) : 80);
        size_t nb = campaign_mutate(&q, in, len, other, sizeof(other), &d, b,
                                    i % 7 ? sizeof(b) : 80);
        CHECK(na >= 1 && na <= (i % 7 ? sizeof(a) : 80));
        CHECK_EQ(na, nb);
        CHECK_MEM(a, b, na);
        grew |= na > len;
        shrank |= na < len;
        for (size_t k = 0; k + 1 < na && !token_seen; k++)
            token_seen = a[k] == 0xae && a[k + 1] == 0x05;
    }
    CHECK(token_seen);
    CHECK(grew);
    CHECK(shrank);
}

static void test_dict(void)
{
    char path[] = "/tmp/test_campaign_dict-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "# a comment\n\nop_break=\"\\xae\"\nkw=\"l2_update\"\n"
                       "\"\\\\q\\\"\"\n";
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    campaign_dict *d = NULL;
    unsigned line;
    CHECK_EQ(campaign_dict_load(path, &d, &line), 0);
    if (d) {
        CHECK_EQ(d->n, 3);
        CHECK(d->tok[0].len == 1 && d->tok[0].data[0] == 0xae);
        CHECK(d->tok[1].len == 9 &&
              memcmp(d->tok[1].data, "l2_update", 9) == 0);
        CHECK(d->tok[2].len == 3 && memcmp(d->tok[2].data, "\\q\"", 3) == 0);
    }
    campaign_dict_free(d);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("ok=\"a\"\nbad=\"\\z\"\n", f);
        fclose(f);
    }
    d = NULL;
    CHECK_EQ(campaign_dict_load(path, &d, &line), -EINVAL);
    CHECK_EQ(line, 2);
    CHECK(d == NULL);
    unlink(path);
}

/* ---- features ------------------------------------------------------------ */

/* Run text through the collector; the count of new features in map. */
static size_t test_feat_run(campaign_feat *f, const char *text, uint8_t *map)
{
    script *s = test_parse(text);
    exec_result *r = malloc(sizeof(*r));
    exec_opts eo = {0};
    volatile size_t last = 0;
    size_t fresh = 0;
    if (s && r) {
        campaign_feat_begin(f, s, &eo);
        f->progress_out = &last;
        exec_run(s, &eo, r);
        campaign_feat_end(f, r);
        CHECK_EQ(last, s->ncmds - 1); /* the supervisor's view of progress */
        fresh = campaign_feat_merge(f, map, true);
    }
    script_free(s);
    free(r);
    return fresh;
}

static void test_features(void)
{
    uint8_t *map = calloc(1, CAMPAIGN_MAP_BITS / 8);
    campaign_feat f = {0};
    const char *a = "image create size=1M\nwrite -P 1 0 64k\nread 0 64k\n";
    const char *b = "image create size=1M\nwrite -P 1 0 64k\ndiscard 0 64k\n"
                    "read 0 64k\n";
    CHECK(test_feat_run(&f, a, map) >= 6);
    CHECK_EQ(test_feat_run(&f, a, map), 0); /* nothing new the second time */
    CHECK(test_feat_run(&f, b, map) >= 1);  /* a discard is new */
    CHECK_EQ(test_feat_run(&f, b, map), 0);

    /* event pairs: the same events in another order are new features */
    script *s = test_parse(a);
    exec_opts eo = {0};
    campaign_feat_begin(&f, s, &eo);
    campaign_feat_event(&f, 1, ENG_EV_L2_LOAD);
    campaign_feat_event(&f, 1, ENG_EV_WRITE_AIO);
    size_t first = campaign_feat_merge(&f, map, true);
    campaign_feat_begin(&f, s, &eo);
    campaign_feat_event(&f, 7, ENG_EV_L2_LOAD);
    campaign_feat_event(&f, 7, ENG_EV_WRITE_AIO);
    CHECK_EQ(campaign_feat_merge(&f, map, true), 0); /* same pairs */
    campaign_feat_begin(&f, s, &eo);
    campaign_feat_event(&f, 300, ENG_EV_WRITE_AIO);
    campaign_feat_event(&f, 300, ENG_EV_L2_LOAD);
    CHECK(first >= 3);
    CHECK(campaign_feat_merge(&f, map, true) >= 2); /* (-,write) (write,l2) */
    script_free(s);
    campaign_feat_free(&f);
    free(map);
}

/* ---- whole campaigns ----------------------------------------------------- */

/* The test-only read fault is found, and trace.io and repro.io replay. */
static void test_flip_read(void)
{
    char *dir = test_tmpdir();
    campaign_opts o = test_opts(dir, 1, 120);
    o.exec.flip_read = 1;
    o.no_shrink = false;
    campaign_stats st;
    CHECK_EQ(campaign_run(&o, &st), 0);
    CHECK_EQ(st.execs, 120);
    CHECK(st.unique >= 1);
    campaign_finding *f = NULL;
    size_t n = 0;
    CHECK_EQ(campaign_list_findings(dir, &f, &n), 0);
    CHECK_EQ(n, st.unique);
    bool mismatch = false;
    for (size_t i = 0; i < n; i++) {
        mismatch |= strncmp(f[i].sig, "data-mismatch/", 14) == 0;
        CHECK(test_replays(dir, f[i].hex, "trace.io", &o.exec, false));
        CHECK(f[i].repro_cmds > 0 && f[i].repro_cmds <= f[i].trace_cmds);
        if (f[i].repro_cmds)
            CHECK(test_replays(dir, f[i].hex, "repro.io", &o.exec, false));
    }
    CHECK(mismatch);
    free(f);
    test_rmrf(dir);
    free(dir);
}

/* A mutant is found in a bounded campaign; the correct engine, in a
 * campaign of the same length, gives nothing. */
static void test_mutant_and_correct(void)
{
    char *dir = test_tmpdir(), *dir2 = test_tmpdir();
    campaign_opts o = test_opts(dir, 1, 400);
    o.exec.mutants = ENG_MUTANT_BIT(ENG_MUT_AVAIL_SECTORS);
    campaign_stats st;
    CHECK_EQ(campaign_run(&o, &st), 0);
    CHECK(st.unique >= 1);
    CHECK(st.first_exec >= 1 && st.first_exec <= 400);
    campaign_finding *f = NULL;
    size_t n = 0;
    CHECK_EQ(campaign_list_findings(dir, &f, &n), 0);
    for (size_t i = 0; i < n; i++) /* mutant lines make it replay alone */
        CHECK(test_replays(dir, f[i].hex, "trace.io",
                           &(exec_opts){.no_files = true}, true));
    free(f);

    campaign_opts c = test_opts(dir2, 1, 400);
    CHECK_EQ(campaign_run(&c, &st), 0);
    CHECK_EQ(st.execs, 400);
    CHECK_EQ(st.unique, 0);
    if (st.unique) {
        fprintf(stderr, "false alarms of the correct engine kept in %s\n",
                dir2);
    } else {
        test_rmrf(dir2);
    }
    test_rmrf(dir);
    free(dir);
    free(dir2);
}

/* attribute_mutants: a failure that does not need the mutant (here the
 * test-only read fault, which stays on without the mutant) is set aside in
 * DIR/other/, without mutant lines, and is not a finding. */
static void test_attribution(void)
{
    char *dir = test_tmpdir();
    campaign_opts o = test_opts(dir, 5, 80);
    o.exec.mutants = ENG_MUTANT_BIT(ENG_MUT_V2_DISCARD_BACKING);
    o.exec.flip_read = 1;
    o.attribute_mutants = true;
    campaign_stats st;
    CHECK_EQ(campaign_run(&o, &st), 0);
    CHECK(st.unattributed >= 1);
    char other[PATH_MAX];
    snprintf(other, sizeof(other), "%s/other", dir);
    campaign_finding *f = NULL;
    size_t n = 0;
    CHECK_EQ(campaign_list_findings(other, &f, &n), 0);
    CHECK(n >= 1);
    exec_opts plain = {.no_files = true, .flip_read = 1};
    for (size_t i = 0; i < n; i++) /* fails without any mutant line */
        CHECK(test_replays(other, f[i].hex, "trace.io", &plain, false));
    free(f);
    test_rmrf(dir);
    free(dir);
}

/* An engine abort kills a worker; the campaign records it and goes on. */
static void test_engine_abort(void)
{
    char *dir = test_tmpdir();
    campaign_opts o = test_opts(dir, 2, 60);
    o.exec.abort_at = 3; /* abort() as the third command starts */
    campaign_stats st;
    CHECK_EQ(campaign_run(&o, &st), 0);
    CHECK_EQ(st.execs, 60);
    CHECK(st.restarts >= 1);
    CHECK(st.unique >= 1);
    campaign_finding *f = NULL;
    size_t n = 0;
    CHECK_EQ(campaign_list_findings(dir, &f, &n), 0);
    bool abort_seen = false;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(f[i].sig, "engine-abort/", 13) != 0)
            continue;
        abort_seen = true;
        CHECK(test_replays(dir, f[i].hex, "trace.io", &o.exec, true));
    }
    CHECK(abort_seen);
    free(f);
    test_rmrf(dir);
    free(dir);
}

/* The names and bytes of every queue file of dir, as one string. */
static char *test_queue_digest(const char *dir)
{
    char q[PATH_MAX], cmd[PATH_MAX * 2];
    snprintf(q, sizeof(q), "%s/queue", dir);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && ls | sort && cat $(ls | sort) | md5sum; "
             "cd '%s' && ls -d [0-9a-f]*[0-9a-f] 2>/dev/null | sort",
             q, dir);
    FILE *p = popen(cmd, "r");
    char *buf = calloc(1, 1 << 20);
    if (p && buf)
        fread(buf, 1, (1 << 20) - 1, p);
    if (p)
        pclose(p);
    return buf;
}

static void test_determinism(void)
{
    char *a = test_tmpdir(), *b = test_tmpdir();
    campaign_opts oa = test_opts(a, 9, 150), ob = test_opts(b, 9, 150);
    oa.exec.flip_read = ob.exec.flip_read = 3;
    campaign_stats sa, sb;
    CHECK_EQ(campaign_run(&oa, &sa), 0);
    CHECK_EQ(campaign_run(&ob, &sb), 0);
    CHECK_EQ(sa.queue, sb.queue);
    CHECK_EQ(sa.features, sb.features);
    CHECK_EQ(sa.finding_execs, sb.finding_execs);
    CHECK_EQ(sa.first_exec, sb.first_exec);
    char *da = test_queue_digest(a), *db = test_queue_digest(b);
    CHECK(da && db && strcmp(da, db) == 0);
    CHECK(da && strlen(da) > 40);
    free(da);
    free(db);
    test_rmrf(a);
    test_rmrf(b);
    free(a);
    free(b);
}

/* Every file a reader can see in dir is whole: finding folders hold a
 * trace.io that parses with its header, a log.txt, and a repro.io that
 * parses when present; queue files are not empty. */
static size_t test_check_whole(const char *dir, size_t *queue)
{
    campaign_finding *f = NULL;
    size_t n = 0;
    char path[PATH_MAX];
    struct stat sb;
    CHECK_EQ(campaign_list_findings(dir, &f, &n), 0);
    for (size_t i = 0; i < n; i++) {
        CHECK(f[i].trace_cmds > 0);
        CHECK(f[i].sig[0] != '\0');
        snprintf(path, sizeof(path), "%s/%s/log.txt", dir, f[i].hex);
        CHECK(stat(path, &sb) == 0 && sb.st_size > 0);
        snprintf(path, sizeof(path), "%s/%s/repro.io", dir, f[i].hex);
        if (stat(path, &sb) == 0)
            CHECK(f[i].repro_cmds > 0);
    }
    free(f);
    snprintf(path, sizeof(path), "%s/queue", dir);
    DIR *d = opendir(path);
    struct dirent *e;
    *queue = 0;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, "id:", 3) != 0)
            continue;
        char qp[PATH_MAX + 300];
        snprintf(qp, sizeof(qp), "%s/%s", path, e->d_name);
        CHECK(stat(qp, &sb) == 0 && sb.st_size > 0);
        ++*queue;
    }
    if (d)
        closedir(d);
    return n;
}

/* Wait (bounded) until dir holds a finding folder and 20 queue entries. */
static bool test_wait_progress(const char *dir)
{
    for (int i = 0; i < 1200; i++) {
        size_t queue = 0, found = test_check_whole(dir, &queue);
        if (found >= 1 && queue >= 20)
            return true;
        usleep(50000);
    }
    return false;
}

/* Waits (up to 60 s) until no process of group pgid is left. */
static bool test_wait_group_gone(pid_t pgid)
{
    for (int i = 0; i < 6000; i++) {
        if (kill(-pgid, 0) < 0 && errno == ESRCH)
            return true;
        usleep(10000);
    }
    return false;
}

static void test_kill9_resume(void)
{
    char *dir = test_tmpdir();
    campaign_opts o = test_opts(dir, 4, 0); /* no bound: killed */
    o.exec.flip_read = 2;
    o.no_shrink = false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        campaign_stats st;
        setpgid(0, 0); /* the campaign and its workers, one group */
        _exit(campaign_run(&o, &st) == 0 ? 0 : 1);
    }
    CHECK(pid > 0);
    setpgid(pid, pid); /* either side may win the race; both ask the same */
    CHECK(test_wait_progress(dir));
    kill(-pid, SIGKILL); /* as a kill -9 of everything at once */
    waitpid(pid, NULL, 0);
    CHECK(test_wait_group_gone(pid)); /* no worker still writing */
    size_t q1 = 0, f1 = test_check_whole(dir, &q1);
    CHECK(f1 >= 1 && q1 >= 20);

    campaign_opts r = test_opts(dir, 4, 0);
    r.exec.flip_read = 2;
    campaign_stats st;
    CHECK_EQ(campaign_run(&r, &st), -EEXIST); /* not without --resume */
    r.resume = true;
    r.runs = 40; /* already reached: only the map is rebuilt */
    CHECK_EQ(campaign_run(&r, &st), 0);
    CHECK(st.execs >= 40);
    CHECK(st.queue >= q1);
    CHECK(st.unique >= f1);
    uint64_t before = st.execs;
    r.runs = before + 60;
    CHECK_EQ(campaign_run(&r, &st), 0);
    CHECK_EQ(st.execs, before + 60);
    size_t q2 = 0, f2 = test_check_whole(dir, &q2);
    CHECK(q2 >= q1 && f2 >= f1);
    test_rmrf(dir);
    free(dir);
}

static const unit_test tests[] = {
    UNIT(test_write_file),   UNIT(test_finding_rule), UNIT(test_mutate),
    UNIT(test_dict),         UNIT(test_features),
    UNIT(test_flip_read),    UNIT(test_mutant_and_correct),
    UNIT(test_attribution),  UNIT(test_engine_abort),
    UNIT(test_determinism),  UNIT(test_kill9_resume),
};

UNIT_MAIN(tests)
