/*
 * cmd_stress.c - `cowpoke stress`: seeded stress runs (harness/stress.c)
 * one after another until a time or run limit, with a progress line, a
 * summary, and the seed of every failure so it can be repeated exactly.
 *
 * The clock is read only to stop after --time and to pace the progress
 * line; it never influences what a run does, so results are deterministic.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "prng.h"
#include "stress.h"

static const char stress_usage[] =
    "usage: cowpoke stress [--time SECONDS] [--runs N] [--seed N]\n"
    "                      [--run-seed N] [--mutant NAME]... [--quiet]\n\n"
    "Run seeded stress runs until --time seconds (default 10) or --runs runs.\n"
    "Each run builds in-memory images (cluster size 512 B to 2 MiB, qcow2 v2\n"
    "or v3, with or without a backing file), runs a concurrent mix of reads,\n"
    "writes, write-zeroes, discards and flushes whose requests interleave in\n"
    "a seeded order, checks every read against a flat reference, closes the\n"
    "image, checks its metadata with the independent checker, reopens it and\n"
    "verifies every byte. Run i uses a seed derived from --seed and i; a\n"
    "failure prints that run seed, and --run-seed repeats exactly that run.\n"
    "Exit 0 when no run failed, 1 otherwise.\n";

typedef struct stress_cli {
    double time_limit;
    uint64_t runs, seed, run_seed, mutants;
    bool have_run_seed, quiet;
} stress_cli;

static int stress_parse(int argc, char **argv, stress_cli *a)
{
    static const struct option longopts[] = {
        {"time", required_argument, NULL, 't'},
        {"runs", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},
        {"run-seed", required_argument, NULL, 'R'},
        {"mutant", required_argument, NULL, 'm'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 't': if (!cli_parse_u64("stress", "time", optarg, &v)) return -1; a->time_limit = (double)v; break;
        case 'r': if (!cli_parse_u64("stress", "runs", optarg, &a->runs)) return -1; break;
        case 's': if (!cli_parse_u64("stress", "seed", optarg, &a->seed)) return -1; break;
        case 'R': if (!cli_parse_u64("stress", "run-seed", optarg, &a->run_seed)) return -1; a->have_run_seed = true; break;
        case 'm': if (!cli_add_mutant("stress", optarg, &a->mutants)) return -1; break;
        case 'q': a->quiet = true; break;
        default: return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

static void stress_print_failure(uint64_t run_seed, const stress_result *r)
{
    printf("FAIL run-seed %llu (cluster %llu, v%u, %s, size %llu, l2 cache %u, "
           "%u ops, batch %u): %s\n", (unsigned long long)run_seed,
           1ull << r->cfg.cluster_bits, r->cfg.version,
           r->cfg.backing ? "backing" : "no backing",
           (unsigned long long)r->cfg.size, r->cfg.l2_cache, r->cfg.ops,
           r->cfg.batch, r->what);
    printf("  repeat: cowpoke stress --run-seed %llu\n", (unsigned long long)run_seed);
    fflush(stdout);
}

int cmd_stress(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(stress_usage, stdout);
        return 0;
    }
    stress_cli a = {.time_limit = 10, .seed = 1};
    if (stress_parse(argc, argv, &a) < 0) {
        fputs(stress_usage, stderr);
        return CLI_USAGE;
    }
    if (a.have_run_seed)
        a.runs = 1;
    printf("cowpoke stress: seeded request mixes against the engine, every read "
           "checked, metadata checked after each run (seed %llu)\n",
           (unsigned long long)a.seed);
    double start = cli_now(), last = start;
    uint64_t runs = 0, fails = 0, requests = 0;
    prng seeds = prng_seeded(a.seed);
    while (a.runs ? runs < a.runs : cli_now() - start < a.time_limit) {
        uint64_t run_seed = a.have_run_seed ? a.run_seed : prng_next(&seeds);
        stress_result r;
        if (stress_run(run_seed, a.mutants, &r) < 0) {
            cli_err("stress", "out of memory");
            return 1;
        }
        runs++;
        requests += r.requests;
        if (r.failed) {
            fails++;
            stress_print_failure(run_seed, &r);
        }
        double t = cli_now();
        if (!a.quiet && t - last >= 1.0) {
            fprintf(stderr, "\r[%5.0fs] %llu runs, %llu requests, %.0f runs/s, %llu failed ",
                    t - start, (unsigned long long)runs, (unsigned long long)requests,
                    runs / (t - start), (unsigned long long)fails);
            last = t;
        }
    }
    double el = cli_now() - start;
    if (!a.quiet)
        fprintf(stderr, "\n");
    printf("summary: %llu runs, %llu requests in %.1f s (%.0f runs/s), %llu failed\n",
           (unsigned long long)runs, (unsigned long long)requests, el,
           el > 0 ? runs / el : 0.0, (unsigned long long)fails);
    return fails ? 1 : 0;
}
