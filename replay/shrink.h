/*
 * shrink.h - the minimizer: turn a failing .io script into the smallest
 * script that fails the same way (DESIGN.md, "Minimized reproducers").
 *
 * "The same way" is the finding's signature (harness/signature.h) over
 * exec_run: every candidate the shrinker keeps gives the signature of the
 * input. The work, repeated to a fixed point:
 *   - delta debugging over commands (chunks, then single commands), where
 *     the unit of removal keeps dependencies whole: an aio request with the
 *     break, wait_break and resume of its tag, an expect_error with its
 *     command, an overlay with its base;
 *   - the schedule: a `sched random`/`sched tape` policy is replaced by
 *     fifo alone, or by fifo plus one explicit break/wait_break/resume
 *     around one aio request, where the failure survives that;
 *   - per-command simplification: shorter, aligned, rounder ranges, fewer
 *     flags, small pattern values, smaller images and clusters;
 *   - canonical tags A, B, ...
 * The output carries a header: `# expect: VERDICT`, the signature, the
 * mutants on, the command counts before and after, and the work done.
 *
 * Determinism: the result depends only on the input and the options. The
 * library never reads a clock: a caller that wants a time bound passes one
 * (o->now), and a bound that cuts the work short is reported (stats and
 * header), never hidden. Nothing is global; the library never prints.
 *
 * Ownership: *out is a new script the caller frees with script_free(); the
 * input is only read.
 */
#ifndef COWPOKE_SHRINK_H
#define COWPOKE_SHRINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec.h"
#include "script.h"
#include "signature.h"

typedef struct shrink_stats shrink_stats;

/* Called on each improvement and every few dozen runs; phase names the
 * work ("ddmin", "schedule", "simplify"). */
typedef void shrink_progress_fn(void *opaque, const shrink_stats *st,
                                const char *phase);

typedef struct shrink_opts {
    /* Options of every run. exec.mutants become `mutant` lines at the top
     * of the output (so it replays on its own); print/progress are
     * ignored. */
    exec_opts exec;
    bool in_process;   /* run candidates without a child process (faster;
                          an engine abort would end the caller) */
    uint64_t max_runs; /* a bound on runs; 0: none */
    double time_limit; /* a bound in seconds; 0: none (needs now) */
    double (*now)(void *opaque); /* a monotonic clock, or NULL */
    void *now_opaque;
    shrink_progress_fn *progress; /* NULL: none */
    void *progress_opaque;
} shrink_opts;

struct shrink_stats {
    signature sig;          /* the signature kept */
    script_verdict verdict; /* the input's verdict */
    size_t cmds_before;     /* commands of the input (with --mutant lines) */
    size_t cmds_after;      /* commands now (of the output at the end) */
    uint64_t runs;          /* exec runs made */
    uint64_t rejected;      /* candidates rejected without a run */
    unsigned passes;        /* rounds of the fixed-point loop */
    double seconds;         /* by o->now; 0 without a clock */
    bool cut_short;         /* a bound stopped the work early */
    const char *cut_by;     /* "time" or "run" when cut_short */
    bool kept_policy;       /* a seeded or taped policy could not be
                               replaced by fifo (with breakpoints) */
    bool needs_mutants;     /* the input fails this way only with its
                               mutants on, and so must every candidate */
    uint64_t unfaithful;    /* candidates that failed the same way without
                               the mutants too, refused */
};

/*
 * Shrink `in` keeping the signature of its run. 0 and *out on success,
 * with st filled (st may not be NULL). -EINVAL when there is nothing to
 * keep: the input's verdict is ok or script-error (st->verdict and st->sig
 * say which). -ENOMEM; other -errno from the runs (fork, mmap).
 */
int shrink_script(const script *in, const shrink_opts *o, script **out,
                  shrink_stats *st);

#endif
