/*
 * crashpoints.h - exhaustive crash points: re-run a trace with the power
 * going right after each of its host writes and flushes in turn, and judge
 * what survives (`cowpoke replay --crash-points FILE`).
 *
 * The procedure, for a trace that runs clean (verdict ok):
 *   1. a first run counts the host writes and flushes the trace completes
 *      (N of them, the end-of-trace close's included) and notes the
 *      command of each;
 *   2. for k = 1..N, a variant script: the commands before the one during
 *      which the k-th write or flush completes, `crash after=M` (the power
 *      goes right after the M-th host write or flush from there, so
 *      exactly at the k-th of the trace), that command, then the
 *      read-back: a `read` of every cluster the trace wrote, on every
 *      image, and a `check`. It runs with drop=all, then, when the disks
 *      held unflushed sectors at that moment, with `seeds` random subsets
 *      of them kept (drop=random 1..seeds: writes torn at 512-byte
 *      sectors);
 *   3. any verdict but ok is a failure. The shadow model judges every read
 *      (each sector its durable value or one written since; flushed data
 *      never lost), the metadata checker every image (leaks allowed);
 *      requests in flight when the power went are lost, and their errors
 *      are expected. A failing variant is written out as a reproducer
 *      (header `# expect: VERDICT`), named by k and seed, and replayed
 *      once more from its text to confirm it fails the same way.
 *
 * Every point is tried: inside `image create` (the half-created image is
 * the executor's to judge: refused cleanly, or opened as an empty image of
 * its size, then dropped), `truncate` (the reopened size must be the old
 * or the new one) and the end-of-trace close (the variant writes the close
 * out as `image use NAME` + `close` commands), except the end-of-trace
 * close's when the script has an `inject` rule or may leave a breakpoint
 * armed (counted in `skipped`). The read-back covers every image the
 * trace wrote, through `image use NAME`.
 * A `crash after=` of the script itself that is still armed when the
 * driver arms its own is replaced by it, so from there the variant can
 * take another way than the counting run: its power loss then happens at
 * another moment (still a crash point), or not at all (a misfire,
 * counted, not judged).
 * When an `inject` rule was given before the point, the read-back is left
 * out (a rule could fail the reads); the end of the trace still lifts the
 * faults and checks every image's metadata. A `host limit` is lifted
 * (`host limit 0`) before the read-back.
 *
 * Determinism: variants depend only on the script and the options; the
 * library never prints and reads no clock (progress goes to a callback).
 * Ownership: the caller owns the script and the report; everything else
 * lives inside crashpt_run.
 */
#ifndef COWPOKE_CRASHPOINTS_H
#define COWPOKE_CRASHPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec.h"
#include "script.h"

#define CRASHPT_MAX_SEEDS 1000
#define CRASHPT_READ_CHUNK (UINT64_C(1) << 20) /* bytes per read-back read */

typedef struct crashpt_report crashpt_report;

/* One failing variant. */
typedef struct crashpt_failure {
    uint64_t k;      /* the crash point: the k-th host write or flush */
    bool random;     /* drop=random seed, else drop=all */
    uint64_t seed;   /* 1..seeds with random */
    size_t cmd;      /* the original command during which the power went */
    unsigned line;   /* its line */
    exec_result run; /* the variant's result */
    char path[4096]; /* the reproducer written ("" when none) */
    bool confirmed;  /* its text replayed to the same verdict */
} crashpt_failure;

typedef void crashpt_progress_fn(void *opaque, const crashpt_report *sofar);
typedef void crashpt_found_fn(void *opaque, const crashpt_failure *f);

typedef struct crashpt_opts {
    /* Options of every run (budget, data seed, mutants: the mutants also
     * become `mutant` lines of each reproducer). print, progress and
     * hostio are the driver's. */
    exec_opts exec;
    unsigned seeds;       /* random subsets per point besides drop=all */
    bool in_process;      /* runs without a child process (faster; an engine
                             abort would end the caller) */
    bool child_per_run;   /* without in_process: a child process per run
                             (slow; the default is a forked worker that
                             runs points in process and is replaced when
                             it dies) */
    const char *out_dir;  /* reproducers go here (created if missing);
                             NULL: none are written */
    const char *source;   /* the trace's name, for reproducer headers */
    uint64_t first, last; /* only points first..last (0: from 1 / to N) */
    crashpt_progress_fn *progress; /* after every point; NULL: none */
    void *progress_opaque;
    crashpt_found_fn *found; /* on every failure; NULL: none */
    void *found_opaque;
} crashpt_opts;

struct crashpt_report {
    exec_result clean;      /* the first run (must be ok to go on) */
    uint64_t points;        /* N: host writes and flushes of the commands */
    uint64_t skipped;       /* points inside image create/open, truncate */
    uint64_t tried;         /* points tried (so far) */
    uint64_t runs;          /* variant runs (so far) */
    uint64_t failures;      /* failing runs */
    uint64_t failed_points; /* points with at least one failing run */
    uint64_t misfires;      /* variants whose power loss did not happen (only
                               where the script's own `crash after=` was
                               pending: the driver's arm replaces it, and the
                               trace goes another way); not failures */
    uint64_t written;       /* reproducers written */
    uint64_t unconfirmed;   /* reproducers that did not fail the same way */
    crashpt_failure first_failure; /* valid when failures > 0 */
};

/*
 * Run the procedure above on s. 0 with *rep filled (rep->clean.verdict
 * other than ok: the trace itself fails, nothing was tried), or -errno:
 * -ENOMEM, a reproducer folder or file that could not be written, a run
 * that could not be made (fork).
 */
int crashpt_run(const script *s, const crashpt_opts *o, crashpt_report *rep);

/* "crashpoints-NAME" for a trace file path (directory and .io dropped)
 * into buf (snprintf rules). */
int crashpt_default_dir(const char *path, char *buf, size_t len);

#endif
