/*
 * cmd_zoo.c - `cowpoke zoo`: the bug zoo's mutants with their history
 * (--list), and scoring campaigns against them (--score).
 *
 * Scoring, per mutant: N campaigns (seeds S, S+1, ...) of one job each,
 * each ending at its first finding or its bound (--time or --runs); then
 * found/N, the median time and executions to the first finding (a
 * campaign that found nothing counts as "never", so a median needs more
 * than half of the campaigns to find), and the command count of the
 * shrunk reproducer of the first campaign that found. Only findings the
 * mutant causes count: one whose trace fails the same way without the
 * mutant is set aside (column "other": bugs of the correct engine or false
 * alarms, which the last campaign should show too). Last, one campaign
 * of the same bound on the correct engine, which must find nothing: a
 * finding there is a false alarm, a bug in cowpoke (exit 1).
 *
 * Campaign folders go to -o DIR (kept), or to a temporary folder that is
 * removed at the end.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "cli.h"

static const char zoo_usage[] =
    "usage: cowpoke zoo --list\n"
    "       cowpoke zoo --score [--campaigns N] [--time S | --runs N]\n"
    "                   [--mutant NAME]... [--seed N] [--corpus DIR]\n"
    "                   [-o DIR]\n\n"
    "--list prints the mutants: historical bugs of qcow2 engines re-created\n"
    "at the code point where they lived, each off unless switched on with\n"
    "`--mutant NAME` (or `mutant NAME` in a script).\n\n"
    "--score runs, for each mutant (or each --mutant given), N built-in\n"
    "fuzz campaigns with seeds S, S+1, ... on one core, each until its first\n"
    "finding or its bound, and reports found/N, the median time and\n"
    "executions to the first finding and the shrunk reproducer's command\n"
    "count; then a campaign of the same bound on the correct engine, which\n"
    "must find nothing.\n\n"
    "  --campaigns N   campaigns per mutant (default 5)\n"
    "  --time S        seconds per campaign (default 10)\n"
    "  --runs N        executions per campaign instead (deterministic)\n"
    "  --seed S        first seed (default 1)\n"
    "  --corpus DIR    seed scripts (default: as cowpoke fuzz; an empty\n"
    "                  folder leaves random seeds only)\n"
    "  -o DIR          keep the campaigns in DIR/<mutant>/<seed>/\n\n"
    "Exit 0; 1 when the correct engine's campaign found something.\n";

typedef struct zoo_cli {
    bool list, score;
    uint64_t campaigns, seed, runs, mutants;
    double time;
    const char *dir;
    const char *corpus;
} zoo_cli;

typedef struct zoo_score {
    unsigned found, n;
    double time[64];
    uint64_t execs[64];
    size_t repro;   /* commands of the first shrunk reproducer; 0: none */
    uint64_t other; /* findings that fail without the mutant too */
    char sig[96];
} zoo_score;

static void zoo_list(void)
{
    for (int m = 0; m < ENG_MUT_COUNT; m++) {
        const eng_mutant_info *i = eng_mutant_get((eng_mutant)m);
        printf("%s\n  origin:    %s\n  mechanism: %s\n", i->name, i->origin,
               i->mechanism);
    }
}

static bool zoo_opt(zoo_cli *a, int c)
{
    uint64_t v;
    switch (c) {
    case 'l':
        a->list = true;
        return true;
    case 's':
        a->score = true;
        return true;
    case 'c':
        return cli_parse_u64("zoo", "campaigns", optarg, &a->campaigns) &&
               a->campaigns >= 1 && a->campaigns <= 64;
    case 't':
        if (!cli_parse_u64("zoo", "time", optarg, &v) || !v)
            return false;
        a->time = (double)v;
        return true;
    case 'n':
        return cli_parse_u64("zoo", "runs", optarg, &a->runs) && a->runs;
    case 'S':
        return cli_parse_u64("zoo", "seed", optarg, &a->seed);
    case 'm':
        return cli_add_mutant("zoo", optarg, &a->mutants);
    case 'o':
        a->dir = optarg;
        return true;
    case 'C':
        a->corpus = optarg;
        return true;
    default:
        return false;
    }
}

static int zoo_parse_args(int argc, char **argv, zoo_cli *a)
{
    static const struct option longopts[] = {
        {"list", no_argument, NULL, 'l'},
        {"score", no_argument, NULL, 's'},
        {"campaigns", required_argument, NULL, 'c'},
        {"time", required_argument, NULL, 't'},
        {"runs", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 'S'},
        {"mutant", required_argument, NULL, 'm'},
        {"corpus", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1)
        if (!zoo_opt(a, c))
            return -1;
    if (optind != argc || a->list == a->score)
        return -1;
    return 0;
}

/* ---- one campaign -------------------------------------------------------- */

static int zoo_campaign(const zoo_cli *a, const char *dir, uint64_t mutants,
                        uint64_t seed, bool stop_on_finding, campaign_stats *st)
{
    char corpus[PATH_MAX], dict[PATH_MAX + 32];
    campaign_opts o = {
        .dir = dir,
        .seed = seed,
        .runs = a->runs,
        .time_limit = a->runs ? 0 : a->time,
        .stop_on_finding = stop_on_finding,
        .attribute_mutants = true,
        .shrink_time = 20,
        .corpus_dir = a->corpus,
    };
    o.exec.mutants = mutants;
    fuzz_opts_defaults(&o, corpus, dict, sizeof(corpus));
    int ret = campaign_run(&o, st);
    if (ret < 0)
        cli_err("zoo", "campaign in %s: %s", dir, strerror(-ret));
    return ret;
}

static size_t zoo_repro_cmds(const char *dir)
{
    campaign_finding *f = NULL;
    size_t n = 0, best = 0;
    if (campaign_list_findings(dir, &f, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].repro_cmds && (!best || f[i].repro_cmds < best))
            best = f[i].repro_cmds;
    free(f);
    return best;
}

static int zoo_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static int zoo_cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* ---- scoring ------------------------------------------------------------- */

static int zoo_score_one(const zoo_cli *a, const char *root, int m,
                         zoo_score *z, bool *stopped)
{
    const char *name = eng_mutant_get((eng_mutant)m)->name;
    memset(z, 0, sizeof(*z));
    for (unsigned i = 0; i < a->campaigns && !*stopped; i++) {
        char dir[PATH_MAX];
        campaign_stats st;
        snprintf(dir, sizeof(dir), "%s/%s/%" PRIu64, root, name, a->seed + i);
        if (zoo_campaign(a, dir, ENG_MUTANT_BIT(m), a->seed + i, true, &st) < 0)
            return -1;
        *stopped = st.stopped;
        z->n++;
        z->other += st.unattributed;
        z->time[i] = st.unique ? st.first_time : 1e300;
        z->execs[i] = st.unique ? st.first_exec : UINT64_MAX;
        if (!st.unique)
            continue;
        z->found++;
        if (!z->repro && (z->repro = zoo_repro_cmds(dir)))
            snprintf(z->sig, sizeof(z->sig), "%s", st.first_sig.text);
        if (!z->sig[0])
            snprintf(z->sig, sizeof(z->sig), "%s", st.first_sig.text);
    }
    return 0;
}

static void zoo_print_row(const char *name, zoo_score *z)
{
    char t[32] = "-", e[32] = "-", r[32] = "-";
    if (z->n && 2 * z->found > z->n) {
        qsort(z->time, z->n, sizeof(double), zoo_cmp_double);
        qsort(z->execs, z->n, sizeof(uint64_t), zoo_cmp_u64);
        snprintf(t, sizeof(t), "%.2f s", z->time[z->n / 2]);
        snprintf(e, sizeof(e), "%" PRIu64, z->execs[z->n / 2]);
    }
    if (z->repro)
        snprintf(r, sizeof(r), "%zu", z->repro);
    printf("%-26s %2u/%-2u %10s %12s %7s %6" PRIu64 "  %s\n", name, z->found,
           z->n, t, e, r, z->other, z->sig[0] ? z->sig : "");
    fflush(stdout);
}

static int zoo_false_alarm(const zoo_cli *a, const char *root)
{
    char dir[PATH_MAX];
    campaign_stats st;
    snprintf(dir, sizeof(dir), "%s/correct-engine", root);
    if (zoo_campaign(a, dir, 0, a->seed, false, &st) < 0)
        return -1;
    printf("correct engine: one campaign of the same bound, %" PRIu64
           " executions in %.1f s: ",
           st.execs, st.elapsed);
    if (!st.unique) {
        printf("no finding (as it must be)\n");
        return 0;
    }
    printf("%" PRIu64 " FINDINGS - a false alarm is a bug in cowpoke:\n",
           st.unique);
    fuzz_print_findings(dir);
    return 1;
}

static int zoo_rm(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

static int zoo_score_all(const zoo_cli *a)
{
    char tmp[] = "/tmp/cowpoke-zoo-XXXXXX";
    const char *root = a->dir ? a->dir : mkdtemp(tmp);
    bool stopped = false;
    int ret = 0;

    if (!root) {
        cli_err("zoo", "cannot make a temporary folder: %s", strerror(errno));
        return CLI_USAGE;
    }
    fuzz_catch_sigint();
    printf("cowpoke zoo --score: %" PRIu64 " campaigns per mutant, %" PRIu64
           " %s each, seeds from %" PRIu64 "\n",
           a->campaigns, a->runs ? a->runs : (uint64_t)a->time,
           a->runs ? "executions" : "s", a->seed);
    printf("%-26s %5s %10s %12s %7s %6s  %s\n", "mutant", "found", "median t",
           "median execs", "repro", "other", "signature");
    for (int m = 0; m < ENG_MUT_COUNT && !stopped && ret == 0; m++) {
        if (a->mutants && !(a->mutants & ENG_MUTANT_BIT(m)))
            continue;
        zoo_score z;
        ret = zoo_score_one(a, root, m, &z, &stopped);
        if (ret == 0)
            zoo_print_row(eng_mutant_get((eng_mutant)m)->name, &z);
    }
    if (ret == 0 && !stopped)
        ret = zoo_false_alarm(a, root);
    if (!a->dir)
        nftw(root, zoo_rm, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("campaigns kept in %s/\n", root);
    if (stopped)
        printf("stopped by Ctrl-C: the table is partial\n");
    return ret < 0 ? 1 : ret;
}

int cmd_zoo(int argc, char **argv)
{
    zoo_cli a = {.campaigns = 5, .seed = 1, .time = 10};
    if (cli_wants_help(argc, argv)) {
        fputs(zoo_usage, stdout);
        return 0;
    }
    if (zoo_parse_args(argc, argv, &a) < 0) {
        fputs(zoo_usage, stderr);
        return CLI_USAGE;
    }
    if (a.list) {
        zoo_list();
        return 0;
    }
    return zoo_score_all(&a);
}
