/*
 * cmd_replay.c - `cowpoke replay FILE...`: run .io scripts, echo each
 * command's outcome in qemu-io's style, and print a verdict.
 *
 * Each script runs in a child process (replay/replay.c), so an engine
 * assertion is reported as the verdict engine-abort. Exit status: 0 when
 * every script's verdict matches its `# expect:` header (ok without one)
 * and, with --repeat, every run gave the same verdict and image bytes; 1
 * when one does not; 2 when a script does not parse or the command line
 * is wrong. The worst status of all scripts wins.
 *
 * With --crash-points, each script is instead re-run crashing after each
 * of its host writes and flushes in turn (replay/crashpoints.h): progress
 * on stderr, a summary per script on stdout, failing points written as
 * reproducers into a folder; exit 1 when a point fails (or the script
 * itself does not run clean).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crashpoints.h"
#include "replay.h"

static const char replay_usage[] =
    "usage: cowpoke replay [--quiet] [--json] [--repeat N] [--mutant NAME]...\n"
    "                      [--budget STEPS] FILE.io...\n"
    "       cowpoke replay --crash-points [--crash-seeds N] [-o DIR]\n"
    "                      [--mutant NAME]... [--budget STEPS] FILE.io...\n"
    "       cowpoke replay --emit qemu-io FILE.io\n\n"
    "Run each script against cowpoke's engine under the deterministic\n"
    "scheduler, checking every read against the shadow model and every image\n"
    "with the metadata checker, and print each command's outcome as qemu-io\n"
    "would (without timings), then the verdict: ok, data-mismatch,\n"
    "metadata-corrupt, error-swallowed, unexpected-error, engine-abort,\n"
    "deadlock, budget or script-error.\n\n"
    "  --quiet         print nothing for a script whose verdict is expected\n"
    "  --json          one JSON object per script instead of text\n"
    "  --repeat N      run each script N times; all runs must agree\n"
    "  --mutant NAME   switch on a zoo mutant (as `mutant NAME` would)\n"
    "  --budget STEPS  scheduler steps per run (default 1000000)\n\n"
    "Exit 0 when every verdict matches the script's `# expect:` header (ok\n"
    "by default), 1 when one does not, 2 when a script does not parse.\n\n"
    "  --crash-points  re-run the script with the power going right after\n"
    "                  each of its host writes and flushes in turn (drop=all,\n"
    "                  and random subsets of the unflushed sectors kept),\n"
    "                  then read back what it wrote and check the metadata;\n"
    "                  each failing point becomes a reproducer script\n"
    "  --crash-seeds N random subsets per point (default 3)\n"
    "  -o DIR          where reproducers go (default ./crashpoints-NAME;\n"
    "                  with several scripts, DIR/crashpoints-NAME)\n"
    "With --crash-points, exit 0 when no point fails, 1 when one does (or\n"
    "the script itself does not run clean), 2 as above.\n\n"
    "  --emit qemu-io  print, instead of running it, a script that uses only\n"
    "                  qemu-io's commands as qemu-img create lines plus a\n"
    "                  qemu-io command list (as `cowpoke emit-qemu-io`);\n"
    "                  exit 2 naming the first command qemu-io lacks.\n";

typedef struct replay_cli {
    bool quiet, json, crash_points, emit;
    uint64_t repeat, mutants, budget, crash_seeds;
    const char *out_dir;
} replay_cli;

static int replay_parse_args(int argc, char **argv, replay_cli *a)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, 'j'},
        {"repeat", required_argument, NULL, 'r'},
        {"mutant", required_argument, NULL, 'm'},
        {"budget", required_argument, NULL, 'b'},
        {"crash-points", no_argument, NULL, 'C'},
        {"crash-seeds", required_argument, NULL, 'S'},
        {"emit", required_argument, NULL, 'E'},
        {NULL, 0, NULL, 0},
    };
    int c;

    a->crash_seeds = 3;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'q':
            a->quiet = true;
            break;
        case 'j':
            a->json = true;
            break;
        case 'r':
            if (!cli_parse_u64("replay", "repeat count", optarg, &a->repeat))
                return -1;
            if (a->repeat == 0 || a->repeat > 1000000) {
                cli_err("replay", "--repeat takes 1 to 1000000");
                return -1;
            }
            break;
        case 'm':
            if (!cli_add_mutant("replay", optarg, &a->mutants))
                return -1;
            break;
        case 'b':
            if (!cli_parse_u64("replay", "budget", optarg, &a->budget))
                return -1;
            break;
        case 'C':
            a->crash_points = true;
            break;
        case 'S':
            if (!cli_parse_u64("replay", "seed count", optarg, &a->crash_seeds))
                return -1;
            if (a->crash_seeds > CRASHPT_MAX_SEEDS) {
                cli_err("replay", "--crash-seeds takes 0 to %d",
                        CRASHPT_MAX_SEEDS);
                return -1;
            }
            break;
        case 'o':
            a->out_dir = optarg;
            break;
        case 'E':
            if (strcmp(optarg, "qemu-io") != 0) {
                cli_err("replay", "--emit %s: the only form is qemu-io",
                        optarg);
                return -1;
            }
            a->emit = true;
            break;
        default:
            return -1;
        }
    }
    if (optind == argc) {
        cli_err("replay", "no script given");
        return -1;
    }
    if (!a->crash_points && (a->out_dir || a->crash_seeds != 3)) {
        cli_err("replay", "-o and --crash-seeds go with --crash-points");
        return -1;
    }
    if (a->emit && (a->crash_points || a->json || a->repeat || a->quiet)) {
        cli_err("replay",
                "--emit qemu-io prints scripts; it takes no other mode");
        return -1;
    }
    if (a->crash_points && (a->json || a->repeat)) {
        cli_err("replay", "--crash-points takes neither --json nor --repeat");
        return -1;
    }
    return 0;
}

/* The executor's output: one line, flushed at once (a child may die). */
static void replay_print(void *opaque, const char *text)
{
    (void)opaque;
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static int replay_one(const char *path, const replay_cli *a, replay_result *r)
{
    replay_opts o = {.repeat = (unsigned)(a->repeat ? a->repeat : 1)};
    char *text = malloc(EXEC_DETAIL_MAX + 8192);

    o.exec.mutants = a->mutants;
    o.exec.budget = a->budget;
    if (!a->quiet && !a->json)
        o.exec.print = replay_print;
    if (!text) {
        cli_err("replay", "out of memory");
        return 2;
    }
    int ret = replay_file(path, &o, r);
    if (ret < 0)
        cli_err("replay", "%s: %s", path, strerror(-ret));
    if (a->json) {
        replay_format_json(path, r, text, EXEC_DETAIL_MAX + 8192);
        fputs(text, stdout);
    } else if (!a->quiet || r->exit_code != 0) {
        replay_format_text(path, r, text, EXEC_DETAIL_MAX + 8192);
        fputs(text, r->parsed ? stdout : stderr);
    }
    fflush(stdout);
    free(text);
    return ret < 0 && r->exit_code == 0 ? 1 : r->exit_code;
}

/* ---- --crash-points ------------------------------------------------------ */

typedef struct crash_cli {
    const char *path;
    double t0, last;
    bool tty;
} crash_cli;

static void crash_progress(void *opaque, const crashpt_report *rep)
{
    crash_cli *c = opaque;
    double now = cli_now();

    if (now - c->last < (c->tty ? 0.2 : 5.0))
        return;
    c->last = now;
    fprintf(stderr,
            "%s%s: crash points %" PRIu64 "/%" PRIu64 " tried, %" PRIu64
            " runs, %" PRIu64 " failing%s",
            c->tty ? "\r" : "", c->path, rep->tried + rep->skipped, rep->points,
            rep->runs, rep->failures, c->tty ? "  " : "\n");
}

static void crash_found(void *opaque, const crashpt_failure *f)
{
    crash_cli *c = opaque;
    char drop[48], where[48];

    if (f->random)
        snprintf(drop, sizeof(drop), "drop=random %" PRIu64, f->seed);
    else
        snprintf(drop, sizeof(drop), "drop=all");
    if (f->cmd == SIZE_MAX)
        snprintf(where, sizeof(where), "in the end-of-trace close");
    else
        snprintf(where, sizeof(where), "during line %u", f->line);
    if (c->tty)
        fputs("\r", stderr);
    printf("%s: crash point %" PRIu64 " (%s, %s): %s: %s\n", c->path, f->k,
           drop, where, script_verdict_name(f->run.verdict), f->run.msg);
    if (f->path[0])
        printf("  reproducer %s%s\n", f->path,
               f->confirmed ? "" : " (does NOT replay to the same verdict)");
    fflush(stdout);
}

static void crash_summary(const crash_cli *c, const crashpt_report *rep,
                          const crashpt_opts *o)
{
    double el = cli_now() - c->t0;

    if (c->tty)
        fputs("\r", stderr);
    printf("%s: %" PRIu64 " crash points (host writes and flushes), %" PRIu64
           " skipped (end-of-trace close after inject or break), %" PRIu64
           " tried in %" PRIu64
           " runs (drop=all + up to %u random subsets): %" PRIu64
           " failing runs at %" PRIu64 " points; %.1f points/s, %.1f runs/s\n",
           c->path, rep->points, rep->skipped, rep->tried, rep->runs, o->seeds,
           rep->failures, rep->failed_points, el > 0 ? rep->tried / el : 0.0,
           el > 0 ? rep->runs / el : 0.0);
    if (rep->misfires)
        printf("%s: %" PRIu64 " runs lost their crash point (the script's "
               "own crash after= was pending there)\n",
               c->path, rep->misfires);
    if (rep->written)
        printf("%s: %" PRIu64 " reproducers in %s/\n", c->path, rep->written,
               o->out_dir);
}

/* The crash points of one script; its exit code. */
static int replay_crash_points(const char *path, const replay_cli *a,
                               bool several)
{
    char dir[4096], def[1024];
    script *s = NULL;
    script_error err;
    crash_cli c = {.path = path, .tty = isatty(STDERR_FILENO) == 1};
    crashpt_opts o = {.seeds = (unsigned)a->crash_seeds, .source = path};

    if (script_load(path, &s, &err) < 0) {
        char msg[1024];
        script_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "%s\n", msg);
        return 2;
    }
    crashpt_default_dir(path, def, sizeof(def));
    if (a->out_dir && several)
        snprintf(dir, sizeof(dir), "%s/%s", a->out_dir, def);
    else
        snprintf(dir, sizeof(dir), "%s", a->out_dir ? a->out_dir : def);
    o.exec.mutants = a->mutants;
    o.exec.budget = a->budget;
    o.out_dir = dir;
    o.progress = crash_progress;
    o.progress_opaque = &c;
    o.found = crash_found;
    o.found_opaque = &c;
    crashpt_report *rep = malloc(sizeof(*rep));
    if (!rep) {
        script_free(s);
        cli_err("replay", "out of memory");
        return 2;
    }
    if (a->out_dir && several)
        (void)mkdir(a->out_dir, 0777); /* crashpt_run reports a failure */
    c.t0 = c.last = cli_now();
    int ret = crashpt_run(s, &o, rep);
    int code = 0;
    if (ret < 0) {
        cli_err("replay", "%s: crash points: %s", path, strerror(-ret));
        code = 2;
    } else if (rep->clean.verdict != SCRIPT_V_OK) {
        printf("%s: the trace does not run clean (%s: %s); crash points need "
               "a trace whose verdict is ok\n",
               path, script_verdict_name(rep->clean.verdict), rep->clean.msg);
        code = 1;
    } else {
        crash_summary(&c, rep, &o);
        code = rep->failures ? 1 : 0;
    }
    free(rep);
    script_free(s);
    return code;
}

int cmd_replay(int argc, char **argv)
{
    replay_cli a = {0};

    if (cli_wants_help(argc, argv)) {
        fputs(replay_usage, stdout);
        return 0;
    }
    if (replay_parse_args(argc, argv, &a) < 0) {
        fputs(replay_usage, stderr);
        return CLI_USAGE;
    }
    if (a.emit) {
        for (int i = optind; i < argc; i++) {
            int code = cli_emit_qemu_file("replay", argv[i], NULL);
            if (code)
                return code;
        }
        return 0;
    }
    replay_result *r = malloc(sizeof(*r));
    if (!r) {
        cli_err("replay", "out of memory");
        return CLI_USAGE;
    }
    int worst = 0;
    if (a.crash_points) {
        free(r);
        for (int i = optind; i < argc; i++) {
            int code = replay_crash_points(argv[i], &a, argc - optind > 1);
            worst = code > worst ? code : worst;
        }
        return worst;
    }
    for (int i = optind; i < argc; i++) {
        if (argc - optind > 1 && !a.quiet && !a.json)
            printf("== %s\n", argv[i]);
        int code = replay_one(argv[i], &a, r);
        worst = code > worst ? code : worst;
    }
    free(r);
    return worst;
}
