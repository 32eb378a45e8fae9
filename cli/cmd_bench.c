/*
 * cmd_bench.c - `cowpoke bench`: options, and the engine and stress phases.
 *
 * The engine phase measures 4 KiB random writes (allocating and overwriting)
 * and 4 KiB random reads on a 64 KiB-cluster image, one request at a time
 * through the scheduler; the stress phase, stress runs per second. The trace
 * and crash-point phases are in cmd_bench_trace.c. Figures go to the README and issue
 * notes; no test asserts a time.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_bench.h"
#include "engsync.h"
#include "prng.h"
#include "stress.h"

static const char bench_usage[] =
    "usage: cowpoke bench [--ops N] [--size SIZE] [--phase NAME]...\n\n"
    "Measure, on the in-memory host, with deterministic workloads (only the\n"
    "clock varies):\n"
    "  engine  ops/s of 4 KiB random writes and reads on a qcow2 image\n"
    "          (64 KiB clusters, --size default 1G, --ops default 200000)\n"
    "  stress  stress runs/s for 3 seconds\n"
    "  traces  traces/s in the executor of three sets of 1000 traces\n"
    "          (16 MiB images, 64 KiB clusters): 30 requests up to 256 KiB,\n"
    "          30 requests of 512 B to 4 KiB, and traces decoded from\n"
    "          seeded bytes as campaigns decode them; each set's data\n"
    "          floor (its bytes moved once, no engine); the first set's\n"
    "          first 20 traces through qemu-img create + qemu-io\n"
    "          processes, and the ratio per trace\n"
    "  crash   crash points/s of `replay --crash-points` on a 50-command\n"
    "          trace, in process and with a child process per run\n"
    "--phase picks phases (repeatable); without it all four run in order.\n";

enum { BENCH_PH_ENGINE = 1, BENCH_PH_STRESS = 2, BENCH_PH_TRACES = 4,
       BENCH_PH_CRASH = 8, BENCH_PH_ALL = 15 };

/* The bit of a --phase name, or 0 when there is no such phase. */
static int bench_phase_bit(const char *name)
{
    static const char *names[] = {"engine", "stress", "traces", "crash"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return 1 << i;
    return 0;
}

typedef enum bench_kind { BENCH_WRITE, BENCH_READ } bench_kind;

static int bench_phase(cli_image *img, const char *name, bench_kind k,
                       uint64_t ops, uint64_t size, uint64_t seed)
{
    uint8_t buf[4096];
    memset(buf, 0x5a, sizeof(buf));
    prng p = prng_seeded(seed);
    double t0 = cli_now();
    for (uint64_t i = 0; i < ops; i++) {
        uint64_t off = prng_below(&p, size / 4096) * 4096;
        int ret = k == BENCH_WRITE ? engsync_write(img->s, img->e, off, buf, 4096)
                                   : engsync_read(img->s, img->e, off, buf, 4096);
        if (ret < 0) {
            cli_err("bench", "%s failed: %s", name, strerror(-ret));
            return ret;
        }
    }
    double el = cli_now() - t0;
    printf("%-34s %10.0f ops/s  (%llu ops in %.2f s)\n", name, ops / el,
           (unsigned long long)ops, el);
    return 0;
}

static int bench_engine(uint64_t ops, uint64_t size)
{
    cli_image img = {0};
    img.s = sched_create();
    img.set = imgset_create(img.s, NULL);
    eng_create_opts co = {.size = size};
    eng_open_opts oo = {0};
    eng_error err = {{0}};
    int ret = imgset_add_memory(img.set, "bench", &img.b);
    if (ret == 0)
        ret = engsync_create(img.s, imgset_file(img.set, img.b), &co, &err);
    if (ret == 0)
        ret = engsync_open(img.s, imgset_file(img.set, img.b), &oo, &img.e, &err);
    if (ret < 0) {
        cli_err("bench", "setting up: %s", err.msg[0] ? err.msg : strerror(-ret));
        img.e = NULL;
    }
    if (ret == 0)
        ret = bench_phase(&img, "4 KiB random writes (allocating)", BENCH_WRITE, ops, size, 1);
    if (ret == 0)
        ret = bench_phase(&img, "4 KiB random writes (rewriting)", BENCH_WRITE, ops, size, 1);
    if (ret == 0)
        ret = bench_phase(&img, "4 KiB random reads", BENCH_READ, ops, size, 2);
    int cret = cli_image_close(&img);
    return ret < 0 ? ret : cret;
}

static void bench_stress(void)
{
    double t0 = cli_now();
    uint64_t runs = 0, reqs = 0;
    prng p = prng_seeded(7);
    while (cli_now() - t0 < 3.0) {
        stress_result r;
        if (stress_run(prng_next(&p), 0, &r) < 0)
            return;
        runs++;
        reqs += r.requests;
    }
    double el = cli_now() - t0;
    printf("%-34s %10.0f runs/s  (%.0f requests/s)\n", "stress runs", runs / el,
           reqs / el);
}


int cmd_bench(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ops", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"phase", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(bench_usage, stdout);
        return 0;
    }
    uint64_t ops = 200000, size = UINT64_C(1) << 30;
    int c, phases = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'n' && cli_parse_u64("bench", "ops", optarg, &ops))
            continue;
        if (c == 's' && cli_parse_size("bench", "size", optarg, &size))
            continue;
        if (c == 'p' && bench_phase_bit(optarg)) {
            phases |= bench_phase_bit(optarg);
            continue;
        }
        if (c == 'p')
            cli_err("bench", "--phase: no phase '%s' (engine, stress, "
                    "traces, crash)", optarg);
        fputs(bench_usage, stderr);
        return CLI_USAGE;
    }
    if (size < 4096) {
        cli_err("bench", "size must be at least 4k");
        return CLI_USAGE;
    }
    phases = phases ? phases : BENCH_PH_ALL;
    if (phases & BENCH_PH_ENGINE)
        printf("cowpoke bench: in-memory host, 64 KiB clusters, %llu MiB "
               "image\n", (unsigned long long)(size >> 20));
    if ((phases & BENCH_PH_ENGINE) && bench_engine(ops, size) < 0)
        return 1;
    if (phases & BENCH_PH_STRESS)
        bench_stress();
    if (phases & BENCH_PH_TRACES)
        bench_traces();
    if (phases & BENCH_PH_CRASH)
        bench_crash_points();
    return 0;
}

