/*
 * shadow_int.h - internals of the shadow model, shared by
 *   shadow_val.c   values and candidate sets (the algebra on one sector),
 *   shadow_map.c   the extent map (sorted array of runs of sectors),
 *   shadow.c       the public requests: create, writes, flush, crash, truncate,
 *   shadow_intern.c  the value intern table (hash-consing) and its scratch,
 *   shadow_read.c  judging reads: whole runs at once, byte-match bitmaps,
 *                  sticky collapse,
 *   shadow_verdict.c  a mismatch's verdict (concrete expansion) and its text.
 * Nothing outside models/shadow*.c includes it.
 *
 * Objects and ownership:
 *   sh_val   one legal value of a sector: pieces covering [0, 512) in order,
 *            adjacent pieces never identical (canonical). Immutable,
 *            reference counted and interned: a model holds at most one
 *            sh_val per piece list, so two values are equal iff they are
 *            the same object (sh_val_eq is a pointer compare). A piece may
 *            be wild (any bytes): a degraded value, see sh_build_finish.
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
    uint8_t wild;        /* 1: any bytes (a degraded value's disagreement) */
    uint8_t origin;      /* shadow_origin (unused when backing) */
    uint8_t depth;       /* in expanded values: 0 this image, 1 backing... */
    datagen_src src;
    uint64_t req, tag;
} sh_piece;

/* Marks let one scan at a time per slot find a value in a list in O(1):
 * mark[k] == the slot's current generation means idx[k] is valid. */
enum { SH_MK_CUR, SH_MK_PAST, SH_MK_SCAN, SH_MK_N };

typedef struct sh_val {
    uint32_t refs;
    uint16_t n;           /* pieces */
    bool backed;          /* some piece is symbolic backing */
    bool wild;            /* some piece is wild */
    uint64_t hash;        /* of the piece list: the intern table's key */
    struct sh_val *chain; /* next value in the same intern bucket */
    uint64_t mark[SH_MK_N];
    uint32_t idx[SH_MK_N];
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

/* A set of bytes of one sector, bit k = byte k. */
typedef struct sh_bits {
    uint64_t w[SH_SECTOR / 64];
} sh_bits;

/* A growable scratch list used to build one cset at a time. */
/* Beyond SH_SOFT_CANDS current candidates a finished set degrades (those
 * with equal masks merge into one value, wild where they disagree); a set
 * that would exceed SH_HARD_CANDS even so is refused (-E2BIG). */
#define SH_SOFT_CANDS SHADOW_MAX_CANDS
#define SH_HARD_CANDS (16 * SHADOW_MAX_CANDS)

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

/* Expanded (concrete) values of one sector, for a mismatch's verdict. */
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
    uint32_t open;  /* first piece of the concrete value being built */
    uint64_t lgen;  /* SH_MK_SCAN generation of the legal list lg */
    bool capped;    /* the expansion stopped at SHADOW_MAX_CANDS values */
} sh_scratch;

/*
 * Side state of the value algebra, created with the first value and freed
 * with the last one (so shadow_destroy, which frees every value, frees it
 * too): the intern table, mark generations, and scratch arrays.
 */
typedef struct sh_aux {
    sh_val **bucket;
    size_t nbucket, nvals;
    uint64_t gen[SH_MK_N];
    uint32_t *cnext; /* builder: next current candidate with the same value */
    size_t capcnext;
    sh_piece *tmp, *canon; /* overlay output, canonical piece lists */
    size_t captmp, capcanon;
    struct sh_bits *fam; /* byte-match sets of backing values (reads) */
    size_t capfam;
} sh_aux;

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

    /* Sizes a reopen may find in the header besides `size`: truncates that
     * began and did not complete (shadow.c, "truncate"). */
    struct {
        uint64_t size, req, tag;
    } tr_pend[SHADOW_MAX_PENDING_SIZES];
    unsigned ntr_pend;

    uint64_t now;     /* logical time, I5 */
    uint64_t durable; /* begin time of the last completed flush */
    size_t bytes;     /* heap bytes held */

    sh_build bld;
    sh_scratch sc;
    sh_cset **tmp; /* sh_map_apply's outputs */
    size_t captmp;
    sh_aux *aux;   /* see sh_aux */
    uint64_t work; /* elementary steps of the algebra (tests bound it) */
};

/* ---- memory (shadow.c) -------------------------------------------------- */
void *sh_alloc(shadow *s, size_t n);
void sh_free(shadow *s, void *p, size_t n);
/* Make *arr hold at least `need` elements of `elem` bytes. */
int sh_reserve(shadow *s, void **arr, size_t *cap, size_t need, size_t elem);

/* ---- interned values (shadow_intern.c) ---------------------------------- */
/* Same bytes: backing, wild and source (not range, not provenance). */
bool sh_piece_same(const sh_piece *a, const sh_piece *b);
/* The interned value of pieces p[0..n) (covering [0, 512) in order; equal
 * neighbours are merged): a new reference, or NULL (ENOMEM). */
sh_val *sh_val_new(shadow *s, const sh_piece *p, size_t n);
void sh_val_unref(shadow *s, sh_val *v);
static inline bool sh_val_eq(const sh_val *a, const sh_val *b)
{
    return a == b; /* interned */
}
/* A fresh generation of mark slot k: no value carries it yet. */
uint64_t sh_mark_gen(shadow *s, unsigned k);
/* Scratch arrays of the aux state (valid until the next call). */
uint32_t *sh_aux_cnext(shadow *s, size_t need);
sh_piece *sh_aux_tmp(shadow *s, size_t need);
sh_bits *sh_aux_fam(shadow *s, size_t need);

/* ---- values and candidate sets (shadow_val.c) --------------------------- */
sh_val *sh_val_whole(shadow *s, const sh_piece *p); /* p over [0, 512) */
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

/* ---- reads (shadow_read.c) and verdicts (shadow_verdict.c) ---------------- */
/* Bytes of sector x that model m's backing file holds: [0, return). */
unsigned sh_backing_limit(const shadow *m, uint64_t x);
/* Index of the first range of m's RANGES backing file ending after off. */
size_t sh_range_after(const shadow *m, uint64_t off);
/* Fill v for bytes [a, b) of sector x that no legal value in s->sc.lg
 * explains: the closest concrete value, its provenance, a hex window. */
int sh_verdict_build(shadow *s, uint64_t x, unsigned a, unsigned b,
                     const uint8_t *actual, shadow_verdict *v);

#endif
