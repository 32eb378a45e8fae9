/*
 * cmd_shrink.c - `cowpoke shrink IN.io [-o OUT.io] [--time S] [--mutant
 * NAME]...`: minimize a failing script, keeping its signature (the work is
 * replay/shrink.c's; this file is options, progress and output).
 *
 * Output: the shrunk script to OUT.io (refusing to overwrite IN.io) or to
 * stdout; progress lines on stderr every few seconds of long work, and a
 * summary line at the end. --time bounds the work; when it cuts the work
 * short, the summary and the script's header say so. Exit 0 when a script
 * was written, 1 when there is nothing to shrink (the verdict is ok or
 * script-error), 2 on usage or input errors.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "shrink.h"

static const char shrink_usage[] =
    "usage: cowpoke shrink IN.io [-o OUT.io] [--time S] [--runs N]\n"
    "                      [--mutant NAME]... [--budget STEPS] [--in-process]\n\n"
    "Shrink a failing script to the smallest script that fails the same way\n"
    "(the same signature: verdict, kind of command, engine location):\n"
    "delta debugging over commands, a seeded or taped schedule replaced by\n"
    "fifo with explicit break/wait_break/resume, simpler ranges, flags,\n"
    "patterns and images, tags A, B, ... The result replays with\n"
    "`cowpoke replay` and carries a header: expect, signature, mutants,\n"
    "command counts, work done. The same input gives the same output.\n\n"
    "  -o OUT.io        write the result there (default: stdout)\n"
    "  --time S         stop after S seconds (the result says it was cut)\n"
    "  --runs N         stop after N runs (a deterministic bound)\n"
    "  --mutant NAME    switch on a zoo mutant (written into the result)\n"
    "  --budget STEPS   scheduler steps per run (default 1000000)\n"
    "  --in-process     run candidates without a child process (faster; an\n"
    "                   engine abort would end cowpoke)\n";

typedef struct shrink_cli {
    const char *in, *out;
    double time;
    uint64_t runs, mutants, budget;
    bool in_process;
} shrink_cli;

static int shrink_parse_args(int argc, char **argv, shrink_cli *a)
{
    static const struct option longopts[] = {
        {"time", required_argument, NULL, 't'},
        {"runs", required_argument, NULL, 'n'},
        {"mutant", required_argument, NULL, 'm'},
        {"budget", required_argument, NULL, 'b'},
        {"in-process", no_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            a->out = optarg;
            break;
        case 't':
            a->time = strtod(optarg, &end);
            if (end == optarg || *end || !(a->time > 0 && a->time < 1e9)) {
                cli_err("shrink", "bad time '%s': give seconds > 0", optarg);
                return -1;
            }
            break;
        case 'n':
            if (!cli_parse_u64("shrink", "run bound", optarg, &a->runs))
                return -1;
            break;
        case 'm':
            if (!cli_add_mutant("shrink", optarg, &a->mutants))
                return -1;
            break;
        case 'b':
            if (!cli_parse_u64("shrink", "budget", optarg, &a->budget))
                return -1;
            break;
        case 'i':
            a->in_process = true;
            break;
        default:
            return -1;
        }
    }
    if (optind + 1 != argc) {
        cli_err("shrink", optind == argc ? "no script given"
                                         : "one script at a time");
        return -1;
    }
    a->in = argv[optind];
    return 0;
}

static double shrink_clock(void *opaque)
{
    (void)opaque;
    return cli_now();
}

typedef struct shrink_progress_state {
    double last;
} shrink_progress_state;

/* A progress line at most every 2 seconds. */
static void shrink_progress(void *opaque, const shrink_stats *st,
                            const char *phase)
{
    shrink_progress_state *p = opaque;
    double now = cli_now();

    if (now - p->last < 2.0)
        return;
    p->last = now;
    fprintf(stderr,
            "cowpoke shrink: %.0f s, %" PRIu64 " runs, %zu -> %zu commands "
            "(%s)\n",
            st->seconds, st->runs, st->cmds_before, st->cmds_after, phase);
}

static int shrink_write(const shrink_cli *a, const script *s)
{
    size_t len;
    char *text = script_print(s, &len);
    FILE *f = a->out ? fopen(a->out, "w") : stdout;
    int ret = 0;

    if (!text || !f) {
        cli_err("shrink", "%s: %s", a->out ? a->out : "stdout",
                text ? "cannot open for writing" : "out of memory");
        ret = CLI_USAGE;
    } else if (fwrite(text, 1, len, f) != len || fflush(f) != 0) {
        cli_err("shrink", "%s: write failed", a->out ? a->out : "stdout");
        ret = CLI_USAGE;
    }
    if (f && f != stdout)
        fclose(f);
    free(text);
    return ret;
}

static void shrink_summary(const shrink_cli *a, const shrink_stats *st)
{
    fprintf(stderr,
            "cowpoke shrink: %s: %zu -> %zu commands, signature %s, "
            "%" PRIu64 " runs, %.2f s%s%s%s\n",
            a->in, st->cmds_before, st->cmds_after, st->sig.text, st->runs,
            st->seconds, st->cut_short ? "; cut short by the " : "",
            st->cut_short ? st->cut_by : "",
            st->cut_short ? " bound: not a fixed point" : "");
    if (st->kept_policy)
        fprintf(stderr, "cowpoke shrink: the seeded policy is kept: fifo "
                        "with one breakpoint does not reproduce it\n");
}

static int shrink_go(const shrink_cli *a, const script *in)
{
    shrink_progress_state ps = {cli_now()};
    shrink_opts o = {
        .in_process = a->in_process,
        .max_runs = a->runs,
        .time_limit = a->time,
        .now = shrink_clock,
        .progress = shrink_progress,
        .progress_opaque = &ps,
    };
    shrink_stats st;
    script *out = NULL;

    o.exec.mutants = a->mutants;
    o.exec.budget = a->budget;
    int ret = shrink_script(in, &o, &out, &st);
    if (ret == -EINVAL) {
        cli_err("shrink", "%s: nothing to shrink: its verdict is %s", a->in,
                script_verdict_name(st.verdict));
        return 1;
    }
    if (ret < 0) {
        cli_err("shrink", "%s: %s", a->in, strerror(-ret));
        return CLI_USAGE;
    }
    ret = shrink_write(a, out);
    script_free(out);
    if (ret == 0)
        shrink_summary(a, &st);
    return ret;
}

int cmd_shrink(int argc, char **argv)
{
    shrink_cli a = {0};
    script_error err;
    script *in = NULL;

    if (cli_wants_help(argc, argv)) {
        fputs(shrink_usage, stdout);
        return 0;
    }
    if (shrink_parse_args(argc, argv, &a) < 0) {
        fputs(shrink_usage, stderr);
        return CLI_USAGE;
    }
    if (a.out && strcmp(a.out, a.in) == 0) {
        cli_err("shrink", "-o names the input: write the result elsewhere");
        return CLI_USAGE;
    }
    if (script_load(a.in, &in, &err) < 0) {
        char msg[600];
        script_error_format(&err, msg, sizeof(msg));
        cli_err("shrink", "%s", msg);
        return CLI_USAGE;
    }
    int ret = shrink_go(&a, in);
    script_free(in);
    return ret;
}
