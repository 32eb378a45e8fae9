/*
 * cmd_zoo.c - `cowpoke zoo --list`: the bug zoo's mutants with their
 * history. (Scoring campaigns per mutant arrives with the fuzzer.)
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char zoo_usage[] =
    "usage: cowpoke zoo --list\n\n"
    "List the mutants: historical bugs of qcow2 engines re-created at the\n"
    "code point where they lived, each off unless switched on with\n"
    "`--mutant NAME` (or `mutant NAME` in a script).\n";

int cmd_zoo(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(zoo_usage, stdout);
        return 0;
    }
    if (argc != 2 || strcmp(argv[1], "--list") != 0) {
        fputs(zoo_usage, stderr);
        return CLI_USAGE;
    }
    for (int m = 0; m < ENG_MUT_COUNT; m++) {
        const eng_mutant_info *i = eng_mutant_get((eng_mutant)m);
        printf("%s\n  origin:    %s\n  mechanism: %s\n", i->name, i->origin,
               i->mechanism);
    }
    return 0;
}
