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
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "replay.h"

static const char replay_usage[] =
    "usage: cowpoke replay [--quiet] [--json] [--repeat N] [--mutant NAME]...\n"
    "                      [--budget STEPS] FILE.io...\n\n"
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
    "by default), 1 when one does not, 2 when a script does not parse.\n";

typedef struct replay_cli {
    bool quiet, json;
    uint64_t repeat, mutants, budget;
} replay_cli;

static int replay_parse_args(int argc, char **argv, replay_cli *a)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, 'j'},
        {"repeat", required_argument, NULL, 'r'},
        {"mutant", required_argument, NULL, 'm'},
        {"budget", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
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
        default:
            return -1;
        }
    }
    if (optind == argc) {
        cli_err("replay", "no script given");
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
    replay_result *r = malloc(sizeof(*r));
    if (!r) {
        cli_err("replay", "out of memory");
        return CLI_USAGE;
    }
    int worst = 0;
    for (int i = optind; i < argc; i++) {
        if (argc - optind > 1 && !a.quiet && !a.json)
            printf("== %s\n", argv[i]);
        int code = replay_one(argv[i], &a, r);
        worst = code > worst ? code : worst;
    }
    free(r);
    return worst;
}
