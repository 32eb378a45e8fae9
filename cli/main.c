/*
 * main.c - the `cowpoke` program: dispatch to subcommands.
 *
 * The only global state of cowpoke lives here (none, so far): every
 * subcommand builds its own objects and frees them before returning.
 */
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "cli.h"

typedef struct cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} cli_cmd;

static const cli_cmd commands[] = {
    {"img", cmd_img, "create, inspect, check, read and write qcow2 images"},
    {"replay", cmd_replay, "run .io scripts and report their verdicts"},
    {"shrink", cmd_shrink, "minimize a failing script, keeping its signature"},
    {"regress", cmd_regress, "add to and run the regression suite (tests/regress)"},
    {"emit-qemu-io", cmd_emit_qemu_io, "print a script as qemu-img/qemu-io commands"},
    {"fuzz", cmd_fuzz, "fuzz campaign: mutated traces, findings shrunk (no external fuzzer)"},
    {"stress", cmd_stress, "seeded random request mixes against the engine, checked"},
    {"zoo", cmd_zoo, "list the bug zoo's mutants; score campaigns against them"},
    {"bench", cmd_bench, "measure the engine's speed on the in-memory host"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cowpoke COMMAND [ARGS...]\n\n"
               "cowpoke is a deterministic fuzz-and-replay tester for copy-on-write\n"
               "image engines. Commands:\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`cowpoke COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    campaign_tune_malloc();
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "cowpoke: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
