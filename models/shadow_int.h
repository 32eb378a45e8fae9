/*
 * shadow_int.h - internals of the shadow model, shared by
 *   shadow_val.c   values and candidate sets (the algebra on one sector),
 *   shadow_map.c   the extent map (sorted array of runs of sectors),
 *   shadow.c       the public requests: create, writes, flush, crash, truncate,
 *   shadow_read.c  judging reads: backing expansion, collapse, verdicts.
 * Nothing outside models/shadow*.c includes it.
 *
 * Objects and ownership:
 *   sh_val   one legal value of a sector: pieces covering [0, 512) in order,
 *            adjacent pieces never identical (canonical, so two values are
 *            equal iff their pieces are). Immutable, reference counted.
 *   sh_cset  the candidate set of a run of sectors: current candidates
 *            (value, mask of in-flight ops already applied) and past values
 *            (value, time it stopped being current). Immutable, reference
 *            counted; one allocation. Each candidate holds a value reference.
 *   sh_ext   one run of sectors [start, next start) and its cset reference.
 *   sh_op    one in-flight modifying request, in slot i of shadow.ops; bit i
 *            of a candidate's mask says the op has taken effect in it.
 *
 * Invariants (shadow_check_invariants tests them):
 *   I1 extents are sorted, the first starts at 0 and they cover exactly
 *      [0, size / 512); every cset has at least one current candidate.
 *   I2 no extent straddles a sector boundary of an active op (its first and
 *      end sector, and the inside edge of a partial head or tail sector): so
 *      each active op covers an extent wholly, partly (a single-sector
 *      extent) or not at all, and an op's effect is uniform on an extent.
 *   I3 closure: for every current candidate (v, m) and every active op j
 *      covering the extent with bit j not in m, (op_j(v), m | j) is also a
 *      current candidate. So a read may see any current value.
 *   I4 a mask bit is set only for active ops covering the extent.
 *   I5 time (shadow.now) grows by one per public call; past values keep the
 *      time they were removed; a read begun at t may see past values removed
 *      after t; a crash may restore past values removed after `durable`.
 *      A set's `touched` is the last time a request (or a crash) changed it:
 *      since then its sectors' true values have not changed, so values a
 *      sticky read rules out were never visible after `touched`.
 */
#ifndef COWPOKE_SHADOW_INT_H
#define COWPOKE_SHADOW_INT_H

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shadow.h"

#define SH_SECTOR SHADOW_SECTOR

typedef struct sh_piece {
    uint16_t start, end; /* byte range within the sector */
    uint8_t backing;     /* 1: the backing file's bytes (symbolic) */
    uint8_t origin;      /* shadow_origin (unused when backing) */
    uint8_t depth;       /* in expanded values: 0 this image, 1 backing... */
    datagen_src src;
    uint64_t req, tag;
} sh_piece;

typedef struct sh_val {
    uint32_t refs;
    uint16_t n;  /* pieces */
    bool backed; /* some piece is symbolic backing */
    sh_piece p[];
} sh_val;

typedef struct sh_cand {
    sh_val *v;
    uint64_t mask;
} sh_cand;

typedef struct sh_past {
    sh_val *v;
    uint64_t removed;
} sh_past;

typedef struct sh_cset {
    uint32_t refs;
    uint32_t ncur, npast;
    uint64_t touched; /* last time a request changed these sectors' values */
    sh_cand *cur;
    sh_past *past;
} sh_cset;

/* A growable scratch list used to build one cset at a time. */
typedef struct sh_build {
    sh_cand *cur;
    size_t ncur, capcur;
    sh_past *past;
    size_t npast, cappast;
} sh_build;

typedef struct sh_ext {
    uint64_t start; /* first sector */
    sh_cset *cs;
} sh_ext;

enum { SH_OP_WRITE, SH_OP_ZEROES, SH_OP_DISCARD };

typedef struct sh_op {
    bool active;
    uint8_t kind;
    uint64_t req;
    uint64_t off, len; /* bytes it changes (a discard's zeroed range) */
    sh_val *whole;     /* its value for a wholly covered sector */
    sh_piece piece;    /* its piece, range to be set per sector */
} sh_op;

typedef struct sh_read {
    uint64_t req, off, len, since;
} sh_read;

typedef struct sh_flush {
    uint64_t req, since;
} sh_flush;

/* Expanded (concrete) values of one sector while a read is judged. */
typedef struct sh_conc {
    uint32_t first, n; /* pieces in sh_scratch.pc */
    uint32_t legal;    /* index of the legal value it expands */
    bool match;
} sh_conc;

typedef struct sh_legal {
    sh_val *v;
    bool in_flight, earlier, current, match;
} sh_legal;

typedef struct sh_scratch {
    sh_piece *pc;
    size_t npc, cappc;
    sh_conc *cc;
    size_t ncc, capcc;
    sh_legal *lg;
    size_t nlg, caplg;
    uint32_t open; /* first piece of the concrete value being built */
} sh_scratch;

struct shadow {
    uint64_t size; /* bytes, a multiple of 512 */
    uint32_t cluster_size;
    unsigned version;
    shadow_backing_kind bkind;
    uint64_t blength;
    shadow *bmodel;
    shadow_backing_range *ranges;
    size_t nranges;
    unsigned users; /* overlays using this model as their backing */

    sh_ext *ext;
    size_t next, capext;

    sh_op ops[SHADOW_MAX_INFLIGHT];
    uint64_t active; /* bit i: ops[i].active */
    sh_read *reads;
    size_t nreads, capreads;
    sh_flush *flushes;
    size_t nflushes, capflushes;

    uint64_t now;     /* logical time, I5 */
    uint64_t durable; /* begin time of the last completed flush */
    size_t bytes;     /* heap bytes held */

    sh_build bld;
    sh_scratch sc;
    sh_cset **tmp; /* sh_map_apply's outputs */
    size_t captmp;
    uint64_t phash[256]; /* XXH3 of a whole sector of pattern i */
    uint64_t phash_ok[4];
};

/* ---- memory (shadow.c) -------------------------------------------------- */
void *sh_alloc(shadow *s, size_t n);
void sh_free(shadow *s, void *p, size_t n);
/* Make *arr hold at least `need` elements of `elem` bytes. */
int sh_reserve(shadow *s, void **arr, size_t *cap, size_t need, size_t elem);

/* ---- values and candidate sets (shadow_val.c) --------------------------- */
bool sh_piece_same(const sh_piece *a, const sh_piece *b); /* all but range */
sh_val *sh_val_new(shadow *s, const sh_piece *p, size_t n);
sh_val *sh_val_whole(shadow *s, const sh_piece *p); /* p over [0, 512) */
void sh_val_unref(shadow *s, sh_val *v);
bool sh_val_eq(const sh_val *a, const sh_val *b);
sh_val *sh_val_overlay(shadow *s, const sh_val *v, unsigned a, unsigned b,
                       const sh_piece *p);

void sh_cset_unref(shadow *s, sh_cset *cs);
bool sh_cset_undetermined(const sh_cset *cs); /* >1 distinct current values */
bool sh_cset_closed(shadow *s, const sh_cset *cs, uint64_t e0, uint64_t e1);
void sh_build_reset(shadow *s);
int sh_build_cur(shadow *s, sh_val *v, uint64_t mask, bool *added);
int sh_build_past(shadow *s, sh_val *v, uint64_t removed);
int sh_build_finish(shadow *s, uint64_t touched, sh_cset **out);

uint64_t sh_threshold(const shadow *s);
/* The in-sector byte range [*a, *b) that op covers on every sector of the
 * extent [e0, e1); false when it covers none of it. */
bool sh_op_span(const sh_op *op, uint64_t e0, uint64_t e1, unsigned *a,
                unsigned *b);

/* ---- the extent map (shadow_map.c) -------------------------------------- */
typedef int sh_xform(shadow *s, sh_cset *in, uint64_t e0, uint64_t e1,
                     void *ctx, sh_cset **out);
size_t sh_map_find(const shadow *s, uint64_t sector);
uint64_t sh_ext_end(const shadow *s, size_t i);
int sh_map_split(shadow *s, uint64_t sector);
int sh_map_split_op(shadow *s, const sh_op *op); /* at its I2 boundaries */
int sh_map_apply(shadow *s, uint64_t s0, uint64_t s1, sh_xform *fn, void *ctx);
void sh_map_coalesce(shadow *s, uint64_t s0, uint64_t s1);
int sh_map_check(shadow *s);

/* transforms (shadow_val.c) usable with sh_map_apply */
sh_xform sh_x_begin; /* ctx: sh_op * (the op that begins) */
sh_xform sh_x_end;   /* ctx: sh_end_ctx * */
sh_xform sh_x_crash; /* ctx: NULL */
sh_xform sh_x_prune; /* ctx: NULL */

typedef struct sh_end_ctx {
    unsigned slot;
    bool ok;
} sh_end_ctx;

/* Keep only the current values flagged in keep[] (collapse); the others
 * become past values removed now. */
int sh_cset_keep(shadow *s, sh_cset *in, const bool *keep, sh_cset **out);

#endif
