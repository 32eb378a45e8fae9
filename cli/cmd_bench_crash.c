/*
 * cmd_bench_crash.c - the crash-point phase of `cowpoke bench`.
 *
 * A fixed, seeded workload, so every run does the same work and only the
 * clock varies. Figures go to the README and issue notes; no test asserts
 * a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_bench.h"
#include "prng.h"
#include "script.h"

/* ---- crash points: `replay --crash-points` on a 50-command trace ---------
 *
 * One seeded trace of 50 commands on an 8 MiB image with 4 KiB clusters
 * (so metadata writes are many): allocating writes and rewrites with -P,
 * aio writes, discards, flushes, reads. Every crash point of it is tried
 * with drop=all and 3 random subsets (replay/crashpoints.h): in process,
 * in a forked worker that runs many points (what the CLI does), and with
 * a child process per run (what the CLI did before the worker).
 * Reported: crash points and runs per second.
 */
#include "crashpoints.h"

#define BENCH_CP_CMDS 50

static script *bench_cp_trace(void)
{
    static const script_kind kinds[] = {
        SCRIPT_WRITE, SCRIPT_WRITE, SCRIPT_WRITE,     SCRIPT_WRITE,
        SCRIPT_READ,  SCRIPT_FLUSH, SCRIPT_AIO_WRITE, SCRIPT_DISCARD,
    };
    prng p = prng_seeded(50);
    script *s = script_new("bench-crash.io");
    script_cmd *c = s ? script_append(s, SCRIPT_IMAGE_CREATE) : NULL;

    if (c) {
        c->create.size = UINT64_C(8) << 20;
        c->create.cluster_size = 4096;
    }
    for (int i = 1; c && i < BENCH_CP_CMDS; i++) {
        script_kind k = kinds[prng_below(&p, sizeof(kinds) / sizeof(*kinds))];
        if (!(c = script_append(s, k)) || k == SCRIPT_FLUSH)
            continue;
        c->io.off = prng_below(&p, 2048) * 1024; /* the first 2 MiB */
        c->io.len = (1 + prng_below(&p, 32)) * 1024;
        if (k == SCRIPT_WRITE || k == SCRIPT_AIO_WRITE) {
            c->io.flags = SCRIPT_F_PATTERN;
            c->io.pattern = (uint8_t)(1 + prng_below(&p, 254));
        }
    }
    if (!c) {
        script_free(s);
        return NULL;
    }
    return s;
}

static void bench_cp_run(const script *s, bool in_process, bool per_run,
                         const char *what)
{
    crashpt_opts o = {.seeds = 3, .in_process = in_process,
                      .child_per_run = per_run};
    crashpt_report *rep = malloc(sizeof(*rep));
    if (!rep)
        return;
    double t0 = cli_now();
    int r = crashpt_run(s, &o, rep);
    double el = cli_now() - t0;
    if (r < 0 || rep->clean.verdict != SCRIPT_V_OK)
        printf("%-34s failed: %s\n", what,
               r < 0 ? strerror(-r) : script_verdict_name(rep->clean.verdict));
    else
        printf("%-34s %10.1f points/s (%.0f runs/s; %llu points, %llu runs, "
               "%llu failing)\n",
               what, rep->tried / el, rep->runs / el,
               (unsigned long long)rep->tried, (unsigned long long)rep->runs,
               (unsigned long long)rep->failures);
    free(rep);
}

void bench_crash_points(void)
{
    script *s = bench_cp_trace();
    if (!s)
        return;
    bench_cp_run(s, true, false, "crash points, in process");
    bench_cp_run(s, false, false, "crash points, forked worker (CLI)");
    bench_cp_run(s, false, true, "crash points, a child per run");
    script_free(s);
}
