/*
 * cmd_bench_trace.c - the trace and crash-point phases of `cowpoke bench`.
 *
 * Both phases run fixed, seeded workloads, so every run does the same work
 * and only the clock varies. Figures go to the README and issue notes; no
 * test asserts a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_bench.h"
#include "prng.h"

/* ---- traces: the executor against qemu-img + qemu-io (fuzz campaigns) ----
 *
 * A fixed, seeded set of traces: each creates a 16 MiB image with 64 KiB
 * clusters and makes 30 qemu-io requests (writes with -P, reads, aio
 * writes and reads, aio_flush, flush, discard, write -z) at cluster- and
 * sector-aligned offsets. All of them run through the in-process executor
 * (every read checked, metadata checked at the end, as fuzz campaigns run
 * them: the images' bytes are not hashed); the first few also
 * run as `qemu-img create` + one `qemu-io -c ... -c ...` process each.
 * Reported: traces/s and requests/s of both, and the ratio per trace.
 */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "script.h"

#define BENCH_TRACES 1000
#define BENCH_QEMU_TRACES 20
#define BENCH_TRACE_CMDS 30

static void bench_trace_io(script_cmd *c, prng *p, bool pattern)
{
    uint64_t size = UINT64_C(16) << 20;
    uint64_t len = prng_chance(p, 1, 2) ? (1 + prng_below(p, 4)) * 65536
                                        : (1 + prng_below(p, 64)) * 512;
    uint64_t off = prng_chance(p, 1, 2) ? prng_below(p, size / 65536) * 65536
                                        : prng_below(p, size / 512) * 512;
    if (off + len > size)
        off = size - len;
    c->io.off = off;
    c->io.len = len;
    if (pattern) {
        c->io.flags |= SCRIPT_F_PATTERN;
        c->io.pattern = (uint8_t)(1 + prng_below(p, 254));
    }
}

static script *bench_trace_make(uint64_t seed)
{
    static const script_kind kinds[] = {
        SCRIPT_WRITE,     SCRIPT_WRITE,     SCRIPT_WRITE,  SCRIPT_READ,
        SCRIPT_READ,      SCRIPT_AIO_WRITE, SCRIPT_AIO_READ, SCRIPT_AIO_FLUSH,
        SCRIPT_FLUSH,     SCRIPT_DISCARD,   SCRIPT_WRITE,
    };
    prng p = prng_seeded(seed);
    script *s = script_new("bench.io");
    script_cmd *c = s ? script_append(s, SCRIPT_IMAGE_CREATE) : NULL;
    if (!c) {
        script_free(s);
        return NULL;
    }
    c->create.size = UINT64_C(16) << 20;
    c->create.cluster_size = 65536;
    for (int i = 0; i < BENCH_TRACE_CMDS; i++) {
        size_t k = prng_below(&p, sizeof(kinds) / sizeof(kinds[0]));
        if (!(c = script_append(s, kinds[k]))) {
            script_free(s);
            return NULL;
        }
        if (kinds[k] == SCRIPT_AIO_FLUSH || kinds[k] == SCRIPT_FLUSH)
            continue;
        bench_trace_io(c, &p, kinds[k] == SCRIPT_WRITE ||
                                  kinds[k] == SCRIPT_AIO_WRITE);
        if (k == 10) { /* the last `write`: write -z */
            c->io.flags = SCRIPT_F_ZERO;
        }
    }
    return s;
}

/* Runs argv with stdout and stderr on /dev/null; its exit status, or -1.
 * vfork, not fork: the cost of starting a qemu tool must not depend on how
 * large this process is (the child only redirects, execs or exits). */
static int bench_spawn(char **argv)
{
    int status = 0;

    fflush(NULL);
    pid_t pid = vfork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One trace through qemu-img create + qemu-io; 0 when both exited 0. */
static int bench_trace_qemu(const script *s, const char *img)
{
    char *args[2 * BENCH_TRACE_CMDS + 4];
    char text[BENCH_TRACE_CMDS][96];
    char *create[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-o",
                      "cluster_size=64k", (char *)img, "16M", NULL};
    if (bench_spawn(create) != 0)
        return -1;
    int n = 0;
    args[n++] = "qemu-io";
    for (size_t i = 1; i < s->ncmds && i <= BENCH_TRACE_CMDS; i++) {
        script_cmd_format(&s->cmds[i], text[i - 1], sizeof(text[i - 1]));
        args[n++] = "-c";
        args[n++] = text[i - 1];
    }
    args[n++] = (char *)img;
    args[n] = NULL;
    return bench_spawn(args) == 0 ? 0 : -1;
}

static void bench_traces_qemu(script **set, double per_trace)
{
    char dir[] = "/tmp/cowpoke-bench-XXXXXX", img[64];
    if (bench_spawn((char *[]){"qemu-io", "--version", NULL}) != 0 ||
        !mkdtemp(dir)) {
        printf("%-34s skipped (qemu-img/qemu-io not found)\n",
               "traces via qemu-img + qemu-io");
        return;
    }
    snprintf(img, sizeof(img), "%s/t.qcow2", dir);
    double t0 = cli_now();
    int bad = 0;
    for (int i = 0; i < BENCH_QEMU_TRACES; i++)
        bad += bench_trace_qemu(set[i], img) != 0;
    double el = cli_now() - t0;
    unlink(img);
    rmdir(dir);
    printf("%-34s %10.1f traces/s (%.0f requests/s; %d traces, %d failed)\n",
           "traces via qemu-img + qemu-io", BENCH_QEMU_TRACES / el,
           BENCH_QEMU_TRACES * BENCH_TRACE_CMDS / el, BENCH_QEMU_TRACES, bad);
    printf("%-34s %10.0fx faster per trace in-process\n", "ratio",
           (el / BENCH_QEMU_TRACES) / per_trace);
}

void bench_traces(void)
{
    script **set = calloc(BENCH_TRACES, sizeof(*set));
    exec_result *r = malloc(sizeof(*r));
    int ok = set && r;
    for (int i = 0; ok && i < BENCH_TRACES; i++)
        ok = (set[i] = bench_trace_make(1000 + (uint64_t)i)) != NULL;
    unsigned failed = 0;
    exec_opts eo = {.no_hashes = true}; /* as fuzz campaigns run traces */
    double t0 = cli_now();
    for (int i = 0; ok && i < BENCH_TRACES; i++) {
        exec_run(set[i], &eo, r);
        failed += r->verdict != SCRIPT_V_OK;
    }
    double el = cli_now() - t0;
    if (ok) {
        printf("%-34s %10.0f traces/s (%.0f requests/s; %d traces of %d "
               "requests, 16 MiB, 64 KiB clusters; %u not ok)\n",
               "traces, in-process executor", BENCH_TRACES / el,
               BENCH_TRACES * BENCH_TRACE_CMDS / el, BENCH_TRACES,
               BENCH_TRACE_CMDS, failed);
        bench_traces_qemu(set, el / BENCH_TRACES);
    }
    for (int i = 0; set && i < BENCH_TRACES; i++)
        script_free(set[i]);
    free(set);
    free(r);
}

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
