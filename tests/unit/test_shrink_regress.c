/*
 * test_shrink_regress.c - the regression-suite tooling (replay/regress.c):
 * name rules, the file regress_add writes (canonical text, `# expect:` set
 * to the verdict seen now, `mutant` lines for mutants given as options),
 * refusals (existing file, bad name, missing folder, a script that does
 * not parse), and the sorted listing `regress run` walks. Everything
 * happens in a fresh temporary folder, removed at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eng_mutant.h"
#include "regress.h"
#include "replay.h"
#include "unit.h"

static char tmp[64];

static void put_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static char *get_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    if (buf)
        fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

static regress_add_opts opts_in(const char *dir)
{
    regress_add_opts o = {.dir = dir, .in_process = true};
    return o;
}

static void test_names(void)
{
    char why[256], buf[128];
    static const char *const good[] = {"a", "zoo_avail_sectors", "x-1", "_9",
                                       "ABC"};
    static const char *const bad[] = {"", "a.b", "-x", "a b", "a/b", "é"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK_EQ(regress_name_check(good[i], why, sizeof(why)), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(regress_name_check(bad[i], why, sizeof(why)), -EINVAL);
    memset(buf, 'a', 65);
    buf[65] = '\0';
    CHECK_EQ(regress_name_check(buf, why, sizeof(why)), -EINVAL);
    buf[64] = '\0';
    CHECK_EQ(regress_name_check(buf, why, sizeof(why)), 0);
    regress_default_name("/x/y/repro.io", buf, sizeof(buf));
    CHECK(strcmp(buf, "repro") == 0);
    regress_default_name("plain", buf, sizeof(buf));
    CHECK(strcmp(buf, "plain") == 0);
}

static const char race[] = "image create size=256k cluster_size=64k\n"
                           "write -P 0x01 192k 512\n"
                           "aio_write -P 0x07 64k 4k\n"
                           "aio_write -P 0x08 72k 4k\n"
                           "aio_flush\n"
                           "read -P 0x07 64k 4k\n";

/* The verdict seen now becomes the header; a mutant option becomes a
 * line of the file; the file replays to its header. */
static void test_add(void)
{
    char dir[128], err[512];
    regress_add_result r;
    regress_add_opts o;

    snprintf(dir, sizeof(dir), "%s/suite", tmp);
    o = opts_in(dir);
    put_file("race.io", race);
    char in[128];
    snprintf(in, sizeof(in), "%s/race.io", tmp);

    /* No folder yet. */
    CHECK_EQ(regress_add(in, &o, &r, err, sizeof(err)), -ENOENT);
    CHECK(mkdir(dir, 0755) == 0);

    /* Without the mutant the engine is right: expect ok. */
    CHECK_EQ(regress_add(in, &o, &r, err, sizeof(err)), 0);
    CHECK_EQ(r.verdict, SCRIPT_V_OK);
    CHECK(!r.mutant && !r.real_bug && !r.had_expect);
    CHECK(strcmp(r.name, "race") == 0);
    char *text = get_file(r.path);
    CHECK(text && strncmp(text, "# expect: ok\n", 13) == 0);
    CHECK(text && !strstr(text, "mutant"));
    free(text);

    /* The same name again is refused, the file kept. */
    CHECK_EQ(regress_add(in, &o, &r, err, sizeof(err)), -EEXIST);
    CHECK(strstr(err, "exists already") != NULL);

    /* With the mutant: its failing verdict, and the line in the file. */
    o.name = "race_on";
    o.mutants = ENG_MUTANT_BIT(ENG_MUT_ALLOC_NO_SERIALIZE);
    CHECK_EQ(regress_add(in, &o, &r, err, sizeof(err)), 0);
    CHECK_EQ(r.verdict, SCRIPT_V_DATA_MISMATCH);
    CHECK(r.mutant && !r.real_bug);
    text = get_file(r.path);
    CHECK(text && strncmp(text, "# expect: data-mismatch\n", 24) == 0);
    CHECK(text && strstr(text, "\nmutant alloc_no_serialize\n"));
    free(text);
    replay_opts ro = {.in_process = true, .repeat = 2};
    replay_result *rr = calloc(1, sizeof(*rr));
    CHECK_EQ(replay_file(r.path, &ro, rr), 0);
    CHECK(rr->match && rr->expect == SCRIPT_V_DATA_MISMATCH);
    free(rr);
}

/* A failing verdict with no mutant: a real bug (here a person's wrong -P
 * stands in for one), expected as it is; an old header is replaced. */
static void test_add_real_bug_and_refusals(void)
{
    char dir[128], in[128], err[512];
    regress_add_result r;
    regress_add_opts o;

    snprintf(dir, sizeof(dir), "%s/suite", tmp);
    o = opts_in(dir);
    put_file("bug.io", "# expect: ok\n# a comment kept\n"
                       "image create size=1M\nwrite -P 0x11 0 4k\n"
                       "read -P 0x12 0 4k\n");
    snprintf(in, sizeof(in), "%s/bug.io", tmp);
    CHECK_EQ(regress_add(in, &o, &r, err, sizeof(err)), 0);
    CHECK(r.real_bug && r.had_expect && r.old == SCRIPT_V_OK);
    CHECK_EQ(r.verdict, SCRIPT_V_DATA_MISMATCH);
    char *text = get_file(r.path);
    CHECK(text && strcmp(text, "# expect: data-mismatch\n# a comment kept\n\n"
                               "image create size=1M\n"
                               "write -P 0x11 0 4k\n"
                               "read -P 0x12 0 4k\n") == 0);
    free(text);

    o.name = "bad.name";
    CHECK_EQ(regress_add(in, &o, &r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "'.'") != NULL);

    put_file("broken.io", "image create size=1M\nwrite 0\n");
    snprintf(in, sizeof(in), "%s/broken.io", tmp);
    o.name = NULL;
    CHECK_EQ(regress_add(in, &o, &r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "broken.io:2:") != NULL);
    snprintf(in, sizeof(in), "%s/suite/broken.io", tmp);
    CHECK(access(in, F_OK) != 0);
}

static void test_list(void)
{
    char dir[128];
    char **names;
    size_t n;

    snprintf(dir, sizeof(dir), "%s/suite", tmp);
    put_file("suite/notes.txt", "not a script\n");
    CHECK_EQ(regress_list(dir, &names, &n), 0);
    CHECK_EQ(n, 3);
    if (n == 3) {
        CHECK(strcmp(names[0], "bug.io") == 0);
        CHECK(strcmp(names[1], "race.io") == 0);
        CHECK(strcmp(names[2], "race_on.io") == 0);
    }
    regress_list_free(names, n);
    snprintf(dir, sizeof(dir), "%s/nope", tmp);
    CHECK_EQ(regress_list(dir, &names, &n), -ENOENT);
}

static void cleanup(void)
{
    static const char *const files[] = {
        "race.io", "bug.io", "broken.io", "suite/race.io",
        "suite/race_on.io", "suite/bug.io", "suite/notes.txt",
    };
    char path[256];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmp, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/suite", tmp);
    rmdir(path);
    rmdir(tmp);
}

static void test_all(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/cowpoke-regress.XXXXXX");
    CHECK(mkdtemp(tmp) != NULL);
    test_names();
    test_add();
    test_add_real_bug_and_refusals();
    test_list();
    cleanup();
}

static const unit_test tests[] = {
    UNIT(test_all),
};

UNIT_MAIN(tests)
