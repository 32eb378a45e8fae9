/*
 * signature.h - the bucket of a finding: what makes two failing traces
 * "the same bug" for campaigns (one folder per signature, the shortest
 * trace kept) and for the shrinker (a smaller trace must keep it).
 *
 * A signature is the XXH3-64 of three parts, also kept as readable text:
 *   - the verdict kind (data-mismatch, deadlock, ...);
 *   - the kind of the command where it was found ("end" for the
 *     end-of-trace checks);
 *   - the engine location: the last event the request at fault announced
 *     ("-" when there is none), which names the engine code path it was on.
 * It never depends on offsets, lengths, seeds, line numbers or addresses,
 * so a shrunk or re-based trace of the same failure keeps its signature.
 */
#ifndef COWPOKE_SIGNATURE_H
#define COWPOKE_SIGNATURE_H

#include <stdint.h>

#include "exec.h"
#include "script.h"

typedef struct signature {
    uint64_t hash;
    char text[96]; /* "data-mismatch/read/read_aio" */
} signature;

/* The signature of result r of running script s. An ok verdict has one too
 * ("ok/end/-"); callers decide what counts as a finding. */
void signature_of(const script *s, const exec_result *r, signature *out);

/* hash as 16 lower-case hex digits plus NUL: a folder name. */
void signature_hex(const signature *sig, char out[17]);

#endif
