/*
 * cmd_bench_trace.c - the trace phase of `cowpoke bench`.
 *
 * It runs fixed, seeded workloads, so every run does the same work and
 * only the clock varies. Figures go to the README and issue notes; no test
 * asserts a time (interop/bench_traces.sh checks that every trace runs ok
 * and every line prints).
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
 * The same generator with small requests, and fuzz-shaped traces (further
 * down), run in process too. Each set is followed by its data floor.
 * Reported: traces/s and requests/s, the floors, and the ratio per trace.
 */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "script.h"

#define BENCH_TRACES 1000
#define BENCH_QEMU_TRACES 20
#define BENCH_TRACE_CMDS 30

/* max_len 0: half the requests 64 to 256 KiB, half 512 B to 32 KiB;
 * otherwise 512 B to max_len in sectors. */
static void bench_trace_io(script_cmd *c, prng *p, bool pattern,
                           uint64_t max_len)
{
    uint64_t size = UINT64_C(16) << 20;
    uint64_t len = max_len ? (1 + prng_below(p, max_len / 512)) * 512
                   : prng_chance(p, 1, 2) ? (1 + prng_below(p, 4)) * 65536
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

static script *bench_trace_make(uint64_t seed, uint64_t max_len)
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
        bench_trace_io(c, &p,
                       kinds[k] == SCRIPT_WRITE || kinds[k] == SCRIPT_AIO_WRITE,
                       max_len);
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

/* per_trace and floor: the executor's and the data floor's seconds per
 * trace of the same set (floor < 0: not measured). */
static void bench_traces_qemu(script **set, double per_trace, double floor)
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
    double q = el / BENCH_QEMU_TRACES;
    printf("%-34s %10.0fx faster per trace in-process", "ratio", q / per_trace);
    if (floor > 0)
        printf(" (at the data floor it would be %.0fx)", q / floor);
    printf("\n");
}

/* ---- fuzz-shaped traces: what campaigns run ----------------------------
 *
 * The image create line encoded into the decoder's bytes, then seeded
 * random bytes: trace_decode turns them into up to 30 operations on that
 * 16 MiB image with 64 KiB clusters, with the decoder's mix of commands
 * (breakpoints, crashes, host limits, faults, reopen, ...) and its request
 * sizes, decoded as campaigns decode their inputs (campaign_decode).
 */
#include "campaign.h"
#include "trace_codec.h"

#define BENCH_FUZZ_BODY 256 /* random bytes after the set-up */

static script *bench_fuzz_trace(uint64_t seed)
{
    script *head = script_new("head.io"), *s = NULL;
    script_cmd *c = head ? script_append(head, SCRIPT_IMAGE_CREATE) : NULL;
    uint8_t *pre = NULL, buf[512];
    size_t n = 0;

    if (c) {
        c->create.size = UINT64_C(16) << 20;
        c->create.cluster_size = 65536;
    }
    if (c && trace_encode(head, &pre, &n) == 0 &&
        n + BENCH_FUZZ_BODY <= sizeof(buf)) {
        prng p = prng_seeded(seed);
        memcpy(buf, pre, n);
        for (size_t i = 0; i < BENCH_FUZZ_BODY; i++)
            buf[n + i] = (uint8_t)prng_next(&p);
        if (campaign_decode(buf, n + BENCH_FUZZ_BODY, &s) < 0)
            s = NULL;
    }
    free(pre);
    script_free(head);
    return s;
}

/* ---- the data floor --------------------------------------------------------
 *
 * What any executor that keeps the guest's bytes must at least do with a
 * set of traces: each write's bytes filled once and copied into a flat
 * disk, each read's bytes copied out and compared once. No engine, no
 * metadata, no model: a bound on traces/s, not an estimate of it.
 */
#define FLOOR_DISK (UINT64_C(64) << 20) /* the decoder's images fit */

typedef struct bench_floor {
    uint8_t *disk, *buf;
    uint64_t wbytes, rbytes; /* over the whole set */
    volatile unsigned sink;  /* compare results, so no pass is elided */
} bench_floor;

static void bench_floor_cmd(bench_floor *f, const script_cmd *c)
{
    const script_io *io = &c->io;
    bool w = c->kind == SCRIPT_WRITE || c->kind == SCRIPT_AIO_WRITE;
    bool r = c->kind == SCRIPT_READ || c->kind == SCRIPT_AIO_READ;

    if ((!w && !r) || (w && (io->flags & SCRIPT_F_ZERO)) ||
        io->off > FLOOR_DISK || io->len > FLOOR_DISK - io->off)
        return;
    if (w) {
        memset(f->buf, io->pattern, io->len);
        memcpy(f->disk + io->off, f->buf, io->len);
        f->wbytes += io->len;
    } else {
        memcpy(f->buf, f->disk + io->off, io->len);
        f->sink += memcmp(f->buf, f->disk + io->off, io->len) != 0;
        f->rbytes += io->len;
    }
}

/* Seconds the floor of set[0..n) takes; -1 without memory. */
static double bench_floor_run(script **set, size_t n, bench_floor *f)
{
    memset(f, 0, sizeof(*f));
    f->disk = calloc(1, FLOOR_DISK);
    f->buf = malloc(SCRIPT_MAX_IO_LEN);
    if (!f->disk || !f->buf) {
        free(f->disk);
        free(f->buf);
        return -1;
    }
    memset(f->disk, 1, FLOOR_DISK); /* touched: no page faults timed */
    double t0 = cli_now();
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < set[i]->ncmds; k++)
            bench_floor_cmd(f, &set[i]->cmds[k]);
    double el = cli_now() - t0;
    free(f->disk);
    free(f->buf);
    return el;
}

/* ---- the phase ------------------------------------------------------------- */

/* Seconds set[0..n) takes through the executor, as campaigns run traces. */
static double bench_exec_set(script **set, size_t n, exec_result *r,
                             unsigned *failed)
{
    exec_opts eo = {.no_hashes = true}; /* as fuzz campaigns run traces */
    double t0 = cli_now();
    *failed = 0;
    for (size_t i = 0; i < n; i++) {
        exec_run(set[i], &eo, r);
        *failed += r->verdict != SCRIPT_V_OK;
    }
    return cli_now() - t0;
}

/* Prints the floor of set[0..n) against the executor's seconds per trace;
 * returns the floor's seconds per trace (-1 when it could not run). */
static double bench_floor_line(const char *what, script **set, size_t n,
                               double per_trace)
{
    bench_floor f;
    double el = bench_floor_run(set, n, &f);
    if (el < 0)
        return -1;
    printf("%-34s %10.0f traces/s (%.0f KiB written, %.0f KiB read per "
           "trace, each byte moved once, no engine); the executor is %.1fx "
           "it\n",
           what, n / el, f.wbytes / 1024.0 / n, f.rbytes / 1024.0 / n,
           per_trace / (el / n));
    return el / n;
}

static void bench_fuzz_set(exec_result *r)
{
    script **set = calloc(BENCH_TRACES, sizeof(*set));
    size_t cmds = 0, n = 0;
    unsigned failed;

    while (set && n < BENCH_TRACES && (set[n] = bench_fuzz_trace(n + 1)))
        cmds += set[n++]->ncmds;
    if (n == BENCH_TRACES) {
        double el = bench_exec_set(set, n, r, &failed);
        printf("%-34s %10.0f traces/s (%zu traces decoded from seeded bytes "
               "as campaigns decode them, 16 MiB, 64 KiB clusters, %.1f "
               "commands each; %u not ok)\n",
               "fuzz-shaped traces, in-process", n / el, n,
               (double)cmds / n, failed);
        bench_floor_line("fuzz-shaped traces, data floor", set, n, el / n);
    }
    for (size_t i = 0; i < n; i++)
        script_free(set[i]);
    free(set);
}

/* The same generator with requests of 512 B to 4 KiB: how fast traces run
 * when they move little data (a speed curve, not a different target). */
static void bench_small_set(exec_result *r)
{
    script **set = calloc(BENCH_TRACES, sizeof(*set));
    size_t n = 0;
    unsigned failed;

    while (set && n < BENCH_TRACES &&
           (set[n] = bench_trace_make(1000 + n, 4096)))
        n++;
    if (n == BENCH_TRACES) {
        double el = bench_exec_set(set, n, r, &failed);
        printf("%-34s %10.0f traces/s (%.0f requests/s; the same generator, "
               "requests of 512 B to 4 KiB; %u not ok)\n",
               "small-request traces, in-process", n / el,
               n * BENCH_TRACE_CMDS / el, failed);
        bench_floor_line("small-request traces, data floor", set, n, el / n);
    }
    for (size_t i = 0; i < n; i++)
        script_free(set[i]);
    free(set);
}

void bench_traces(void)
{
    script **set = calloc(BENCH_TRACES, sizeof(*set));
    exec_result *r = malloc(sizeof(*r));
    int ok = set && r;
    for (int i = 0; ok && i < BENCH_TRACES; i++)
        ok = (set[i] = bench_trace_make(1000 + (uint64_t)i, 0)) != NULL;
    unsigned failed = 0;
    if (ok) {
        double el = bench_exec_set(set, BENCH_TRACES, r, &failed);
        printf("%-34s %10.0f traces/s (%.0f requests/s; %d traces of %d "
               "requests, 16 MiB, 64 KiB clusters; %u not ok)\n",
               "traces, in-process executor", BENCH_TRACES / el,
               BENCH_TRACES * BENCH_TRACE_CMDS / el, BENCH_TRACES,
               BENCH_TRACE_CMDS, failed);
        double floor = bench_floor_line("traces, data floor", set,
                                        BENCH_TRACES, el / BENCH_TRACES);
        bench_small_set(r);
        bench_fuzz_set(r);
        bench_traces_qemu(set, el / BENCH_TRACES, floor);
    }
    for (int i = 0; set && i < BENCH_TRACES; i++)
        script_free(set[i]);
    free(set);
    free(r);
}
