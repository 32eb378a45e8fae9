/*
 * crashpoints_int.h - internals of the crash-point driver, shared by
 *   crashpoints.c         the procedure: the counting run, the loop over
 *                         points and seeds, runs, reproducers;
 *   crashpoints_script.c  the variant scripts: which commands, where the
 *                         power loss is armed, the read-back after it;
 *   crashpoints_worker.c  the forked worker that runs many points.
 * Nothing outside replay/crashpoints*.c includes it.
 *
 * Ownership: a variant script borrows every string (tags, names, tapes,
 * comments) from the original script it was built from, and must be
 * freed before it; its own header lines live in its arena.
 */
#ifndef COWPOKE_CRASHPOINTS_INT_H
#define COWPOKE_CRASHPOINTS_INT_H

#include "crashpoints.h"

/* The driver's state (crashpoints.c). */
typedef struct crashpt_ctx {
    const script *s;
    const crashpt_opts *o;
    crashpt_report *rep;
    size_t *cmd_of; /* cmd_of[k - 1]: the command of point k */
    uint64_t n, cap;
    bool oom;
    bool end_ok;        /* the end-of-trace close's points can be tried */
    bool isolate;       /* each run in a child process of its own */
    size_t own_cut;     /* the command the script's own `crash after=` cut
                           short in the counting run (its last), or SIZE_MAX */
    crashpt_failure *f; /* scratch: the run being judged */
} crashpt_ctx;

/* Try point k (or count it skipped), then report progress. 0 or -errno. */
int crashpt_one(crashpt_ctx *x, uint64_t k);

/* Try points first..last in a forked worker that runs them in process; a
 * worker that dies is replaced, and the point it died on is tried again
 * with a child process per run, to attribute the death
 * (crashpoints_worker.c). 0 or -errno. */
int crashpt_loop_forked(crashpt_ctx *x, uint64_t first, uint64_t last);

/* The "command" of the points inside the end-of-trace close. */
#define CRASHPT_END SIZE_MAX

/* Whether the points of the end-of-trace close can be tried: no inject
 * rule, no breakpoint left armed (crashpoints_script.c). */
bool crashpt_end_ok(const script *s);

/*
 * The variant of s for a power loss right after the m-th host write or
 * flush completed from the start of command c (m >= 1): `mutant` lines
 * for the bits of mutants, s's commands before c, `crash after=m`
 * (before c's expect_error, if it has one), command c, the read-back.
 * For c == CRASHPT_END: every command of s, `crash after=m`, the
 * end-of-trace close as commands, the read-back. Unnamed images get
 * names. own_cut: the command the script's own `crash after=` cut short
 * (SIZE_MAX: none); when it comes before c, the images are followed as
 * the power loss left them (an image create it cut short is dropped, a
 * close it cut short leaves the image open). *arm receives the index of
 * the crash command (its drop= is the caller's to set). 0 or -ENOMEM.
 */
int crashpt_variant(const script *s, uint64_t mutants, size_t c, uint64_t m,
                    size_t own_cut, script **out, size_t *arm);

/* Give variant v the header of a reproducer of failure f, found in the
 * trace named source with n points. 0 or -ENOMEM. */
int crashpt_variant_header(script *v, const crashpt_failure *f,
                           const char *source, uint64_t n);

#endif
