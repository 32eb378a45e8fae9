/*
 * afl_trace.c - AFL++ target in persistent mode: test cases arrive in
 * shared memory (__AFL_FUZZ_TESTCASE_BUF/LEN) and one process runs up to
 * 10000 of them (__AFL_LOOP) before AFL++ starts a fresh one. Each input is
 * decoded (campaign_decode) and run (exec_run); a finding (campaign_is_finding)
 * prints its report and trace to stderr and ends the process: with
 * exit(N) when AFL_CRASH_EXITCODE=N is set (AFL++ then counts that exit as
 * a crash; afl-tmin honours it too), otherwise with abort().
 *
 * Built by scripts/build-afl.sh with afl-clang-fast into build/afl/. Run
 * outside afl-fuzz (or built with another compiler), it runs one input
 * from stdin, or from the file named by its first argument: the way to
 * replay a crash AFL++ saved, `build/afl/afl_trace out/main/crashes/id:...`.
 *
 * State: every iteration builds and frees all of its state (the executor
 * owns its whole run), so AFL++'s stability stays at 100%. The mutant set
 * comes from COWPOKE_MUTANTS (comma-separated names), read once in main.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "campaign.h"

#define AFL_TRACE_MAX (1u << 20)

#ifndef __AFL_FUZZ_TESTCASE_LEN
/* Not built by afl-clang-fast: one input from stdin or a file. */
static unsigned char afl_trace_buf[AFL_TRACE_MAX];
static ssize_t afl_trace_len;
static int afl_trace_done;
#define __AFL_FUZZ_INIT() int afl_trace_unused
#define __AFL_FUZZ_TESTCASE_BUF afl_trace_buf
#define __AFL_FUZZ_TESTCASE_LEN ((size_t)afl_trace_len)
#define __AFL_LOOP(n) (!afl_trace_done++ && afl_trace_read() > 0)
static ssize_t afl_trace_read(void)
{
    afl_trace_len = read(0, afl_trace_buf, sizeof(afl_trace_buf));
    return afl_trace_len < 0 ? 0 : afl_trace_len + 1;
}
#endif

__AFL_FUZZ_INIT();

static uint64_t afl_trace_mutants(void)
{
    char bad[128];
    uint64_t set = 0;
    if (campaign_mutants_parse(getenv("COWPOKE_MUTANTS"), &set, bad,
                               sizeof(bad)) < 0) {
        fprintf(stderr, "afl_trace: unknown mutant '%s'\n", bad);
        exit(2);
    }
    return set;
}

/* A finding ends the process: exit(AFL_CRASH_EXITCODE) or abort(). */
static void afl_trace_finding(const char *report)
{
    fprintf(stderr, "afl_trace: %s", report);
    const char *code = getenv("AFL_CRASH_EXITCODE");
    if (code && atoi(code) > 0)
        exit(atoi(code));
    abort();
}

int main(int argc, char **argv)
{
    campaign_tune_malloc();
    uint64_t mutants = afl_trace_mutants();
    exec_result *r = malloc(sizeof(*r));
    if (!r)
        return 1;
    /* Outside afl-fuzz the test case comes from stdin: a file argument
     * (a saved crash) becomes stdin. afl-fuzz passes none (shared memory). */
    if (argc > 1 && !freopen(argv[1], "rb", stdin)) {
        perror(argv[1]);
        return 2;
    }
#ifdef __AFL_HAVE_MANUAL_CONTROL
    __AFL_INIT();
#endif
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF; /* after __AFL_INIT */
    while (__AFL_LOOP(10000)) {
        size_t len = __AFL_FUZZ_TESTCASE_LEN;
        char *report = NULL;
        if (campaign_judge_input(buf, len > AFL_TRACE_MAX ? AFL_TRACE_MAX : len,
                                 mutants, r, &report) == 1)
            afl_trace_finding(report);
    }
    free(r);
    return 0;
}
