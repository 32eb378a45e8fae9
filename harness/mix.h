/*
 * mix.h - a seeded random mix of guest requests against one open engine,
 * checked exactly against a flat reference of the guest-visible bytes.
 *
 * Requests go in batches of up to max_batch in flight at once, interleaved
 * by the scheduler's policy. Requests of one batch touch pairwise disjoint
 * byte ranges (they may share clusters: that is where allocation races
 * live), so the correct result does not depend on the interleaving and the
 * reference stays exact. Offsets and lengths are biased to cluster and
 * sector boundaries and to a small hot area, so requests collide in clusters.
 *
 * Discard semantics are the shadow model's (shadow_discard_zeroed, QEMU
 * 7.2's rule): whole clusters covered read back zeroes, partial clusters
 * keep their data; on a version 2 image with a backing file discard changes
 * nothing.
 *
 * The reference (ref, size bytes) is owned by the caller and starts as the
 * guest-visible content before the mix (zeroes, or the backing file's).
 */
#ifndef COWPOKE_MIX_H
#define COWPOKE_MIX_H

#include <stdbool.h>
#include <stdint.h>

#include "eng.h"
#include "sched.h"

typedef struct mix_opts {
    uint64_t seed;
    unsigned ops;        /* requests to issue */
    unsigned max_batch;  /* requests in flight together; 1: sequential */
    unsigned version;    /* image version (discard semantics) */
    bool has_backing;
    bool no_discard;     /* leave out discard */
    bool no_zeroes;      /* leave out write-zeroes */
} mix_opts;

typedef struct mix_result {
    uint64_t reads, writes, zeroes, discards, flushes, batches;
    uint64_t bytes;
    int error;           /* first request error (negative errno), or 0 */
    bool mismatch;       /* a read returned other bytes than the reference */
    uint64_t bad_off;    /* first differing guest offset */
    uint8_t expected, actual;
    char msg[256];       /* what went wrong, for a person */
} mix_result;

/* Run the mix; returns 0 when every request succeeded and every read
 * matched, -EIO on a mismatch, the request's error otherwise. */
int mix_run(sched *s, eng *e, uint8_t *ref, uint64_t size,
            uint64_t cluster_size, const mix_opts *o, mix_result *r);

/* Read the whole disk and compare with ref (same report as mix_run). */
int mix_verify(sched *s, eng *e, const uint8_t *ref, uint64_t size,
               mix_result *r);

#endif
