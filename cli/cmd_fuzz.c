/*
 * cmd_fuzz.c - `cowpoke fuzz`: the built-in campaign (replay/campaign.c
 * does the work; this file is options, the Ctrl-C flag, the progress line
 * and the summary), and the campaign set-up `cowpoke zoo --score` shares.
 *
 * Ctrl-C: the first one sets the stop flag (the one piece of mutable
 * static state here, as a signal handler needs); the campaign then stops
 * its workers, writes its stats and keeps its queue and findings, and
 * `--resume` goes on from there. A second Ctrl-C kills at once.
 *
 * Exit: 0 when the campaign found nothing, 1 when it has findings (listed
 * in the summary), 2 on usage errors or when it could not set up.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "cli.h"

static const char fuzz_usage[] =
    "usage: cowpoke fuzz [-o DIR] [--time S] [--runs N] [--seed N] [--jobs N]\n"
    "                    [--mutant NAME]... [--resume] [--corpus DIR]\n"
    "                    [--dict FILE] [--no-shrink] [--shrink-time S]\n"
    "                    [--budget STEPS] [--quiet]\n"
    "       cowpoke fuzz --export-seeds DIR [--corpus DIR]\n\n"
    "Fuzz the engine with traces decoded from mutated bytes, no external\n"
    "fuzzer needed. Seeds are the corpus scripts (encoded to bytes) plus\n"
    "random strings; inputs showing a new feature (event pairs, command\n"
    "outcomes, host-I/O counts, verdicts) are kept. Every verdict but ok is a\n"
    "finding (deadlocks the trace's own breakpoints cause excepted), written\n"
    "at once to DIR/<signature>/trace.io and log.txt, then shrunk in a child\n"
    "process to DIR/<signature>/repro.io. An engine crash costs only a\n"
    "worker, which restarts; the input is recorded as engine-abort.\n\n"
    "  -o DIR            output folder (default fuzz-out)\n"
    "  --time S          stop after S seconds\n"
    "  --runs N          stop after N executions per job (deterministic)\n"
    "  --seed N          seed of job 0 (job j uses N+j; default 1)\n"
    "  --jobs N          worker processes, one per core (default 1)\n"
    "  --mutant NAME     switch on a zoo mutant (written into findings)\n"
    "  --resume          continue the campaign in DIR (queue, findings)\n"
    "  --corpus DIR      seed scripts (default ./corpus, or the source "
    "tree's)\n"
    "  --dict FILE       dictionary (default CORPUS/cowpoke.dict)\n"
    "  --no-shrink       do not shrink findings\n"
    "  --shrink-time S   seconds per shrink (default 30)\n"
    "  --budget STEPS    scheduler steps per trace (default 1000000)\n"
    "  --quiet           no progress line\n"
    "  --export-seeds DIR  write the corpus scripts, encoded, as seed files\n"
    "                    for libFuzzer and AFL++ (then exit)\n\n"
    "Ctrl-C stops and keeps everything. Exit 0: no finding; 1: findings;\n"
    "2: usage or set-up error.\n";

static volatile sig_atomic_t fuzz_stop_flag;

static void fuzz_on_sigint(int sig)
{
    (void)sig;
    fuzz_stop_flag = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends it at once */
}

static double fuzz_clock(void *opaque)
{
    (void)opaque;
    return cli_now();
}

/* ---- defaults shared with `zoo --score` ---------------------------------- */

static bool fuzz_is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ./corpus, else the source tree's corpus next to the build folder
 * (build/NAME/cowpoke -> ../../corpus). NULL when there is none. */
const char *fuzz_default_corpus(char *buf, size_t len)
{
    if (fuzz_is_dir("corpus"))
        return "corpus";
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    snprintf(buf, len, "%s/../../corpus", dirname(exe));
    return fuzz_is_dir(buf) ? buf : NULL;
}

void fuzz_opts_defaults(campaign_opts *o, char *corpus_buf, char *dict_buf,
                        size_t len)
{
    o->now = fuzz_clock;
    o->wall_start = (uint64_t)time(NULL);
    o->stop = &fuzz_stop_flag;
    o->wait_shrinks = true;
    if (!o->corpus_dir)
        o->corpus_dir = fuzz_default_corpus(corpus_buf, len);
    if (!o->dict_path && o->corpus_dir) {
        snprintf(dict_buf, len, "%s/cowpoke.dict", o->corpus_dir);
        if (access(dict_buf, R_OK) == 0)
            o->dict_path = dict_buf;
    }
    o->exec.no_files = true;
}

void fuzz_catch_sigint(void)
{
    struct sigaction sa = {.sa_handler = fuzz_on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll() wakes up */
}

/* ---- options ------------------------------------------------------------- */

typedef struct fuzz_cli {
    campaign_opts o;
    bool quiet;
    const char *export_dir;
} fuzz_cli;

static bool fuzz_opt(fuzz_cli *a, int c)
{
    uint64_t v;
    switch (c) {
    case 'o':
        a->o.dir = optarg;
        return true;
    case 't':
        if (!cli_parse_u64("fuzz", "time", optarg, &v) || !v)
            return false;
        a->o.time_limit = (double)v;
        return true;
    case 'n':
        return cli_parse_u64("fuzz", "runs", optarg, &a->o.runs);
    case 's':
        return cli_parse_u64("fuzz", "seed", optarg, &a->o.seed);
    case 'j':
        if (!cli_parse_u64("fuzz", "jobs", optarg, &v) || !v ||
            v > CAMPAIGN_MAX_JOBS)
            return false;
        a->o.jobs = (unsigned)v;
        return true;
    case 'm':
        return cli_add_mutant("fuzz", optarg, &a->o.exec.mutants);
    case 'r':
        a->o.resume = true;
        return true;
    case 'c':
        a->o.corpus_dir = optarg;
        return true;
    case 'd':
        a->o.dict_path = optarg;
        return true;
    case 'N':
        a->o.no_shrink = true;
        return true;
    case 'S':
        if (!cli_parse_u64("fuzz", "shrink time", optarg, &v) || !v)
            return false;
        a->o.shrink_time = (double)v;
        return true;
    case 'b':
        return cli_parse_u64("fuzz", "budget", optarg, &a->o.exec.budget);
    case 'q':
        a->quiet = true;
        return true;
    case 'x':
        a->export_dir = optarg;
        return true;
    default:
        return false;
    }
}

static int fuzz_parse_args(int argc, char **argv, fuzz_cli *a)
{
    static const struct option longopts[] = {
        {"time", required_argument, NULL, 't'},
        {"runs", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'},
        {"mutant", required_argument, NULL, 'm'},
        {"resume", no_argument, NULL, 'r'},
        {"corpus", required_argument, NULL, 'c'},
        {"dict", required_argument, NULL, 'd'},
        {"no-shrink", no_argument, NULL, 'N'},
        {"shrink-time", required_argument, NULL, 'S'},
        {"budget", required_argument, NULL, 'b'},
        {"quiet", no_argument, NULL, 'q'},
        {"export-seeds", required_argument, NULL, 'x'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1)
        if (!fuzz_opt(a, c))
            return -1;
    if (optind != argc) {
        cli_err("fuzz", "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

/* ---- output -------------------------------------------------------------- */

static void fuzz_progress(void *opaque, const campaign_stats *st)
{
    bool tty = *(bool *)opaque;
    static const char *const spin = "|/-\\";
    if (!tty && ((uint64_t)st->elapsed % 10 != 0))
        return; /* a log file gets a line every ten seconds */
    fprintf(stderr,
            "%scowpoke fuzz %c %6.0fs  execs %" PRIu64
            " (%.0f/s)  queue %" PRIu64 "  features %" PRIu64
            "  findings %" PRIu64 " (%" PRIu64 " unique, %" PRIu64
            " shrunk)  restarts %" PRIu64 "%s",
            tty ? "\r" : "", spin[(uint64_t)st->elapsed % 4], st->elapsed,
            st->execs, st->elapsed > 0 ? st->execs / st->elapsed : 0.0,
            st->queue, st->features, st->finding_execs, st->unique, st->shrunk,
            st->restarts, tty ? "\033[K" : "\n");
}

/* The findings of dir, one line each. */
void fuzz_print_findings(const char *dir)
{
    campaign_finding *f = NULL;
    size_t n = 0;
    if (campaign_list_findings(dir, &f, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        printf("  %s  %-44s trace %zu commands", f[i].hex, f[i].sig,
               f[i].trace_cmds);
        if (f[i].repro_cmds)
            printf(", repro %zu: %s/%s/repro.io\n", f[i].repro_cmds, dir,
                   f[i].hex);
        else
            printf(" (not shrunk): %s/%s/trace.io\n", dir, f[i].hex);
    }
    free(f);
}

static void fuzz_summary(const fuzz_cli *a, const campaign_stats *st)
{
    printf("cowpoke fuzz: %s after %.1f s: %" PRIu64 " executions (%.0f/s), "
           "%" PRIu64 " seeds (%" PRIu64 " corpus scripts not encodable), "
           "queue %" PRIu64 ", features %" PRIu64 ", worker restarts %" PRIu64
           "\n",
           st->stopped ? "stopped (Ctrl-C)" : "done", st->elapsed, st->execs,
           st->elapsed > 0 ? st->execs / st->elapsed : 0.0, st->seeds,
           st->seeds_skipped, st->queue, st->features, st->restarts);
    if (!st->unique) {
        printf("findings: none (%" PRIu64 " structural deadlocks not "
               "reported)\n",
               st->filtered);
        return;
    }
    printf("findings: %" PRIu64 " failing executions, %" PRIu64
           " signatures; the first after %" PRIu64 " executions (%.1f s)\n",
           st->finding_execs, st->unique, st->first_exec, st->first_time);
    fuzz_print_findings(a->o.dir);
    printf("replay one with: cowpoke replay %s/<signature>/repro.io\n",
           a->o.dir);
}

static int fuzz_export(const fuzz_cli *a)
{
    size_t n;
    uint64_t skipped;
    if (!a->o.corpus_dir) {
        cli_err("fuzz", "no corpus folder (give --corpus DIR)");
        return CLI_USAGE;
    }
    int ret =
        campaign_export_seeds(a->o.corpus_dir, a->export_dir, &n, &skipped);
    if (ret < 0) {
        cli_err("fuzz", "exporting seeds to %s: %s", a->export_dir,
                strerror(-ret));
        return 1;
    }
    printf("cowpoke fuzz: %zu seeds from %s written to %s (%" PRIu64
           " scripts outside the decoder's fragment skipped)\n",
           n, a->o.corpus_dir, a->export_dir, skipped);
    return 0;
}

int cmd_fuzz(int argc, char **argv)
{
    fuzz_cli a = {.o = {.dir = "fuzz-out", .seed = 1}};
    char corpus[PATH_MAX], dict[PATH_MAX + 32], cmdline[1024] = "";

    if (cli_wants_help(argc, argv)) {
        fputs(fuzz_usage, stdout);
        return 0;
    }
    if (fuzz_parse_args(argc, argv, &a) < 0) {
        fputs(fuzz_usage, stderr);
        return CLI_USAGE;
    }
    for (int i = 0, n = 0; i < argc && n < (int)sizeof(cmdline) - 1; i++)
        n += snprintf(cmdline + n, sizeof(cmdline) - (size_t)n, "%s%s",
                      i ? " " : "cowpoke ", argv[i]);
    fuzz_opts_defaults(&a.o, corpus, dict, sizeof(corpus));
    a.o.command_line = cmdline;
    if (a.export_dir)
        return fuzz_export(&a);
    bool tty = isatty(STDERR_FILENO);
    if (!a.quiet) {
        a.o.progress = fuzz_progress;
        a.o.progress_opaque = &tty;
    }
    if (!a.o.corpus_dir)
        cli_err("fuzz", "no corpus folder found: random seeds only");
    fuzz_catch_sigint();
    campaign_stats st;
    int ret = campaign_run(&a.o, &st);
    if (!a.quiet && tty)
        fputc('\n', stderr);
    if (ret < 0) {
        cli_err("fuzz", "%s: %s%s", a.o.dir, strerror(-ret),
                ret == -EEXIST ? " (it holds a campaign: --resume, or "
                                 "another -o DIR)"
                               : "");
        return CLI_USAGE;
    }
    fuzz_summary(&a, &st);
    return st.unique ? 1 : 0;
}
