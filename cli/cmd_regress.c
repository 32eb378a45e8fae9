/*
 * cmd_regress.c - `cowpoke regress add FILE [--name NAME] [--dir DIR]
 * [--mutant NAME]...` and `cowpoke regress run [DIR]`: the regression
 * suite's tooling (the library part is replay/regress.c).
 *
 * add: replays FILE, writes it to DIR/NAME.io with the verdict it shows
 * now as `# expect:` (and the mutants' lines), refuses to overwrite, and
 * says which ctest test it becomes. Exit 0 when written, 2 otherwise.
 *
 * run: replays every .io file of DIR (each in a child process, like replay) and
 * prints one row per script (name, expected, got, ok/FAIL, time) and a
 * summary. Exit 0 when every verdict matches its header, 1 when one does
 * not, 2 on usage errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eng_mutant.h"
#include "regress.h"
#include "replay.h"

static const char regress_usage[] =
    "usage: cowpoke regress add FILE.io [--name NAME] [--dir DIR]\n"
    "                           [--mutant NAME]...\n"
    "       cowpoke regress run [--repeat N] [--quiet] [DIR]\n\n"
    "add: replay FILE and write it to DIR/NAME.io (DIR: tests/regress, NAME:\n"
    "     FILE's name) in canonical form, with `# expect:` set to the verdict\n"
    "     it shows now and `mutant` lines for --mutant; never overwrites. A\n"
    "     failing verdict without a mutant is a real engine bug: the test\n"
    "     expects it until the fix lands, then its header becomes ok.\n"
    "run: replay every DIR/*.io (DIR: tests/regress) and print a table:\n"
    "     name, expected, got, ok/FAIL, time. Exit 1 on any mismatch.\n";

static void regress_mutant_names(uint64_t set, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int m = 0; m < ENG_MUT_COUNT; m++) {
        if (!(set & ENG_MUTANT_BIT(m)))
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                         eng_mutant_get((eng_mutant)m)->name);
        if (w > 0 && (size_t)w < len - used)
            used += (size_t)w;
    }
}

static void regress_added(const regress_add_result *r, uint64_t mutants)
{
    char names[256];

    printf("added %s: # expect: %s\n", r->path,
           script_verdict_name(r->verdict));
    if (r->had_expect && r->old != r->verdict)
        printf("note: its header said %s; the file expects %s, the verdict "
               "it shows now\n",
               script_verdict_name(r->old), script_verdict_name(r->verdict));
    if (mutants) {
        regress_mutant_names(mutants, names, sizeof(names));
        printf("mutants on (written into the file): %s\n", names);
    }
    if (r->real_bug)
        printf("note: no mutant is on, so %s is a real engine bug: the test\n"
               "expects it until the fix lands; then change its header to\n"
               "`# expect: ok`\n",
               script_verdict_name(r->verdict));
    printf("ctest test: regress/%s (re-run cmake, e.g. `cmake -S . -B "
           "build`, so its glob picks the new file up)\n",
           r->name);
}

static int regress_cmd_add(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"name", required_argument, NULL, 'n'},
        {"dir", required_argument, NULL, 'd'},
        {"mutant", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    regress_add_opts o = {0};
    regress_add_result r;
    char err[1024];
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'n')
            o.name = optarg;
        else if (ch == 'd')
            o.dir = optarg;
        else if (ch != 'm' || !cli_add_mutant("regress", optarg, &o.mutants))
            return CLI_USAGE;
    }
    if (optind + 1 != argc) {
        cli_err("regress", "add takes one script");
        return CLI_USAGE;
    }
    if (regress_add(argv[optind], &o, &r, err, sizeof(err)) < 0) {
        cli_err("regress", "add %s: %s", argv[optind], err);
        return CLI_USAGE;
    }
    regress_added(&r, o.mutants);
    return 0;
}

typedef struct regress_tally {
    unsigned ok, bad;
    double seconds;
} regress_tally;

static void regress_row(const char *dir, const char *file, unsigned repeat,
                        bool quiet, replay_result *r, regress_tally *t)
{
    char path[2048], name[256];
    replay_opts o = {.repeat = repeat};

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    regress_default_name(file, name, sizeof(name));
    double t0 = cli_now();
    int ret = replay_file(path, &o, r);
    double dt = cli_now() - t0;
    bool ok = ret == 0 && r->exit_code == 0;
    const char *got = r->parsed ? script_verdict_name(r->run.verdict)
                                : "script-error";
    t->seconds += dt;
    if (ok)
        t->ok++;
    else
        t->bad++;
    if (!quiet || !ok)
        printf("%-36s %-17s %-17s %-4s %7.3f s\n", name,
               script_verdict_name(r->expect), got, ok ? "ok" : "FAIL", dt);
    fflush(stdout);
}

static int regress_cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"repeat", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    uint64_t repeat = 1;
    bool quiet = false;
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'q')
            quiet = true;
        else if (ch != 'r' ||
                 !cli_parse_u64("regress", "repeat count", optarg, &repeat) ||
                 repeat == 0 || repeat > 1000)
            return CLI_USAGE;
    }
    if (argc - optind > 1) {
        cli_err("regress", "run takes one folder");
        return CLI_USAGE;
    }
    const char *dir = optind < argc ? argv[optind] : REGRESS_DEFAULT_DIR;
    char **names;
    size_t n;
    int ret = regress_list(dir, &names, &n);
    if (ret < 0 || n == 0) {
        cli_err("regress", "%s: %s", dir,
                ret < 0 ? strerror(-ret) : "no .io scripts");
        return CLI_USAGE;
    }
    replay_result *r = malloc(sizeof(*r));
    regress_tally t = {0};
    if (!quiet)
        printf("%-36s %-17s %-17s %-4s %9s\n", "name", "expected", "got",
               "", "time");
    for (size_t i = 0; r && i < n; i++)
        regress_row(dir, names[i], (unsigned)repeat, quiet, r, &t);
    printf("%u scripts: %u ok, %u FAIL, %.2f s\n", t.ok + t.bad, t.ok, t.bad,
           t.seconds);
    bool oom = !r;
    free(r);
    regress_list_free(names, n);
    if (oom)
        cli_err("regress", "out of memory");
    return oom ? CLI_USAGE : t.bad ? 1 : 0;
}

int cmd_regress(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        fputs(regress_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : 0;
    }
    if (strcmp(argv[1], "add") == 0)
        return regress_cmd_add(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0)
        return regress_cmd_run(argc - 1, argv + 1);
    cli_err("regress", "unknown subcommand '%s' (add or run)", argv[1]);
    fputs(regress_usage, stderr);
    return CLI_USAGE;
}
