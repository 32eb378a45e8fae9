/*
 * crashpoints_int.h - internals of the crash-point driver, shared by
 *   crashpoints.c         the procedure: the counting run, the loop over
 *                         points and seeds, runs, reproducers;
 *   crashpoints_script.c  the variant scripts: which commands, where the
 *                         power loss is armed, the read-back after it.
 * Nothing outside replay/crashpoints*.c includes it.
 *
 * Ownership: a variant script borrows every string (tags, names, tapes,
 * comments) from the original script it was built from, and must be
 * freed before it; its own header lines live in its arena.
 */
#ifndef COWPOKE_CRASHPOINTS_INT_H
#define COWPOKE_CRASHPOINTS_INT_H

#include "crashpoints.h"

/* Whether a power loss inside command c is skipped (image create, image
 * open, truncate). */
bool crashpt_skip_cmd(const script_cmd *c);

/*
 * The variant of s for a power loss right after the m-th host write or
 * flush completed from the start of command c (m >= 1): `mutant` lines
 * for the bits of mutants, s's commands before c, `crash after=m`
 * (before c's expect_error, if it has one), command c, the read-back.
 * *arm receives the index of the crash command (its drop= is the
 * caller's to set). 0 or -ENOMEM.
 */
int crashpt_variant(const script *s, uint64_t mutants, size_t c, uint64_t m,
                    script **out, size_t *arm);

/* Give variant v the header of a reproducer of failure f, found in the
 * trace named source with n points. 0 or -ENOMEM. */
int crashpt_variant_header(script *v, const crashpt_failure *f,
                           const char *source, uint64_t n);

#endif
