/*
 * trace_fuzzer.c - libFuzzer target: bytes -> campaign_decode -> exec_run;
 * a finding (every verdict but ok, except the deadlocks a trace's own
 * breakpoints cause: campaign_is_finding) prints its report and the trace
 * to stderr and calls abort(), so libFuzzer saves the input as a crash.
 *
 *   trace_fuzzer -dict=corpus/cowpoke.dict -max_len=4096 OUT SEEDS
 *   trace_fuzzer -fork=2 ... / -jobs=4 -workers=2 ...   (several cores)
 *   COWPOKE_MUTANTS=avail_sectors trace_fuzzer ...       (a zoo mutant)
 *
 * SEEDS are encoded corpus scripts (`cowpoke fuzz --export-seeds DIR`);
 * raw .io text works too (the decoder takes any bytes). A saved crash
 * replays with `trace_fuzzer CRASH` (it aborts again and prints the .io
 * trace, which `cowpoke replay` runs).
 *
 * State: the mutant set is read once from COWPOKE_MUTANTS (comma
 * separated names) in LLVMFuzzerInitialize, which is this program's
 * main; every input builds and frees everything else (the executor owns
 * its whole run), so LeakSanitizer sees a clean state after each input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "campaign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t trace_fuzzer_mutants; /* set once, before any input */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    campaign_tune_malloc();
    char bad[128];
    (void)argc;
    (void)argv;
    if (campaign_mutants_parse(getenv("COWPOKE_MUTANTS"), &trace_fuzzer_mutants,
                               bad, sizeof(bad)) < 0) {
        fprintf(stderr, "trace_fuzzer: unknown mutant '%s'\n", bad);
        exit(2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    exec_result *r = malloc(sizeof(*r));
    char *report = NULL;
    if (r && campaign_judge_input(data, size, trace_fuzzer_mutants, r,
                                  &report) == 1) {
        fprintf(stderr, "cowpoke trace_fuzzer: %s", report);
        abort();
    }
    free(r);
    return 0;
}
