/*
 * shadow_map.c - the extent map of a shadow model: a sorted array of runs
 * of sectors, each with one (shared, immutable) candidate set.
 *
 * A sorted array with binary search keeps lookups O(log n), iteration in
 * offset order, and memory proportional to the number of runs the trace
 * created, whatever the virtual size. Updates go through sh_map_apply():
 * split at the range's ends, compute every new set first, and only then
 * swap them in, so a failure (ENOMEM, E2BIG) leaves every legal value as it
 * was. Neighbours with equal sets are merged again afterwards, except at a
 * boundary an in-flight op still needs (invariant I2 of shadow_int.h).
 */
#include "shadow_int.h"

static uint64_t sh_nsectors(const shadow *s)
{
    return s->size / SH_SECTOR;
}

/* The extent holding `sector` (which must be below the virtual size). */
size_t sh_map_find(const shadow *s, uint64_t sector)
{
    size_t lo = 0, hi = s->next;

    assert(sector < sh_nsectors(s) && s->next > 0);
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ext[mid].start <= sector)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

uint64_t sh_ext_end(const shadow *s, size_t i)
{
    return i + 1 < s->next ? s->ext[i + 1].start : sh_nsectors(s);
}

/* Make an extent start at `sector` (no-op at 0, at the end, or already). */
int sh_map_split(shadow *s, uint64_t sector)
{
    if (sector == 0 || sector >= sh_nsectors(s))
        return 0;
    size_t i = sh_map_find(s, sector);
    if (s->ext[i].start == sector)
        return 0;
    int r = sh_reserve(s, (void **)&s->ext, &s->capext, s->next + 1,
                       sizeof(*s->ext));
    if (r < 0)
        return r;
    memmove(&s->ext[i + 2], &s->ext[i + 1],
            (s->next - i - 1) * sizeof(*s->ext));
    s->ext[i + 1].start = sector;
    s->ext[i + 1].cs = s->ext[i].cs;
    s->ext[i].cs->refs++;
    s->next++;
    return 0;
}

/* Active ops covering extent [e0, e1), as a mask. */
static uint64_t sh_cover(const shadow *s, uint64_t e0, uint64_t e1)
{
    uint64_t m = 0;
    unsigned a, b;

    for (unsigned j = 0; j < SHADOW_MAX_INFLIGHT; j++)
        if ((s->active >> j & 1) && sh_op_span(&s->ops[j], e0, e1, &a, &b))
            m |= 1ull << j;
    return m;
}

typedef struct sh_memo {
    sh_cset *in, *out;
    uint64_t cover;
} sh_memo;

#define SH_MEMO 8

/* New set of extent i: from the memo when an equal input was transformed
 * already in an equal context (multi-sector extents only: their ops all
 * cover them wholly, I2), else from fn. */
static int sh_apply_one(shadow *s, size_t i, sh_xform *fn, void *ctx,
                        sh_memo *memo, unsigned *nmemo, sh_cset **out)
{
    uint64_t e0 = s->ext[i].start, e1 = sh_ext_end(s, i);
    sh_cset *in = s->ext[i].cs;
    uint64_t cover = 0;

    if (e1 - e0 > 1) {
        cover = sh_cover(s, e0, e1);
        for (unsigned m = 0; m < SH_MEMO && m < *nmemo; m++) {
            if (memo[m].in == in && memo[m].cover == cover) {
                memo[m].out->refs++;
                *out = memo[m].out;
                return 0;
            }
        }
    }
    int r = fn(s, in, e0, e1, ctx, out);
    if (r == 0 && e1 - e0 > 1) {
        sh_memo *slot = &memo[*nmemo % SH_MEMO];
        slot->in = in;
        slot->out = *out;
        slot->cover = cover;
        (*nmemo)++;
    }
    return r;
}

int sh_map_apply(shadow *s, uint64_t s0, uint64_t s1, sh_xform *fn, void *ctx)
{
    sh_memo memo[SH_MEMO];
    unsigned nmemo = 0;
    int r;

    if (s1 > sh_nsectors(s))
        s1 = sh_nsectors(s);
    if (s0 >= s1)
        return 0;
    if ((r = sh_map_split(s, s0)) < 0 || (r = sh_map_split(s, s1)) < 0)
        return r;
    size_t i0 = sh_map_find(s, s0);
    size_t i1 = s1 >= sh_nsectors(s) ? s->next : sh_map_find(s, s1);
    r = sh_reserve(s, (void **)&s->tmp, &s->captmp, i1 - i0, sizeof(*s->tmp));
    if (r < 0)
        return r;
    for (size_t i = i0; i < i1; i++) {
        r = sh_apply_one(s, i, fn, ctx, memo, &nmemo, &s->tmp[i - i0]);
        if (r < 0) {
            while (i-- > i0)
                sh_cset_unref(s, s->tmp[i - i0]);
            return r;
        }
    }
    for (size_t i = i0; i < i1; i++) {
        sh_cset_unref(s, s->ext[i].cs);
        s->ext[i].cs = s->tmp[i - i0];
    }
    sh_map_coalesce(s, s0, s1);
    return 0;
}

/* The sector boundaries op needs (I2): its first and end sector, and the
 * inside edges of a partial head or tail sector. Returns how many. */
static unsigned sh_op_bounds(const sh_op *op, uint64_t b[4])
{
    unsigned n = 0;

    if (op->len == 0)
        return 0;
    uint64_t end = op->off + op->len;
    uint64_t first = op->off / SH_SECTOR;
    uint64_t last = (end + SH_SECTOR - 1) / SH_SECTOR;
    b[n++] = first;
    b[n++] = last;
    if (op->off % SH_SECTOR)
        b[n++] = first + 1;
    if (end % SH_SECTOR)
        b[n++] = last - 1;
    return n;
}

/* Every boundary the active ops need, into b; returns how many. */
static unsigned sh_active_bounds(const shadow *s,
                                 uint64_t b[4 * SHADOW_MAX_INFLIGHT])
{
    unsigned n = 0;

    for (unsigned j = 0; j < SHADOW_MAX_INFLIGHT; j++)
        if (s->active >> j & 1)
            n += sh_op_bounds(&s->ops[j], b + n);
    return n;
}

/* Is `sector` a boundary that an active op needs? */
static bool sh_protected(const shadow *s, uint64_t sector)
{
    uint64_t b[4 * SHADOW_MAX_INFLIGHT];
    unsigned n = sh_active_bounds(s, b);

    for (unsigned k = 0; k < n; k++)
        if (b[k] == sector)
            return true;
    return false;
}

int sh_map_split_op(shadow *s, const sh_op *op)
{
    uint64_t b[4];
    unsigned n = sh_op_bounds(op, b);

    for (unsigned k = 0; k < n; k++) {
        int r = sh_map_split(s, b[k]);
        if (r < 0)
            return r;
    }
    return 0;
}

static bool sh_cset_eq(const sh_cset *a, const sh_cset *b)
{
    if (a == b)
        return true;
    if (a->ncur != b->ncur || a->npast != b->npast || a->touched != b->touched)
        return false;
    for (uint32_t i = 0; i < a->ncur; i++)
        if (a->cur[i].mask != b->cur[i].mask ||
            !sh_val_eq(a->cur[i].v, b->cur[i].v))
            return false;
    for (uint32_t i = 0; i < a->npast; i++)
        if (a->past[i].removed != b->past[i].removed ||
            !sh_val_eq(a->past[i].v, b->past[i].v))
            return false;
    return true;
}

/* Merge equal neighbours around sectors [s0, s1] where allowed. */
void sh_map_coalesce(shadow *s, uint64_t s0, uint64_t s1)
{
    if (s->next < 2)
        return;
    size_t i0 = s0 >= sh_nsectors(s) ? s->next - 1 : sh_map_find(s, s0);
    size_t i1 = s1 >= sh_nsectors(s) ? s->next - 1 : sh_map_find(s, s1);
    size_t w = i0 > 0 ? i0 - 1 : 0; /* last kept extent */

    for (size_t i = w + 1; i <= i1 + 1 && i < s->next; i++) {
        sh_ext e = s->ext[i];
        if (sh_cset_eq(s->ext[w].cs, e.cs) && !sh_protected(s, e.start)) {
            sh_cset_unref(s, e.cs);
            continue;
        }
        s->ext[++w] = e;
    }
    size_t tail = i1 + 2 < s->next ? i1 + 2 : s->next;
    memmove(&s->ext[w + 1], &s->ext[tail], (s->next - tail) * sizeof(*s->ext));
    s->next = w + 1 + (s->next - tail);
}

/* ---- invariants --------------------------------------------------------- */

static bool sh_val_ok(const sh_val *v)
{
    if (v->refs == 0 || v->n == 0 || v->p[0].start != 0 ||
        v->p[v->n - 1].end != SH_SECTOR)
        return false;
    for (unsigned i = 0; i < v->n; i++) {
        if (v->p[i].start >= v->p[i].end)
            return false;
        if (i > 0 && (v->p[i].start != v->p[i - 1].end ||
                      sh_piece_same(&v->p[i], &v->p[i - 1])))
            return false;
    }
    return true;
}

static bool sh_ext_ok(const shadow *s, size_t i)
{
    const sh_cset *cs = s->ext[i].cs;
    uint64_t e0 = s->ext[i].start, e1 = sh_ext_end(s, i);
    uint64_t cover = sh_cover(s, e0, e1);

    if (!cs || cs->refs == 0 || cs->ncur == 0 || e0 >= e1)
        return false;
    for (uint32_t c = 0; c < cs->ncur; c++)
        if ((cs->cur[c].mask & ~cover) || !sh_val_ok(cs->cur[c].v))
            return false; /* I4 */
    for (uint32_t c = 0; c < cs->npast; c++)
        if (!sh_val_ok(cs->past[c].v))
            return false;
    return true;
}

/* I2: every boundary an active op needs starts an extent. */
static bool sh_bounds_ok(const shadow *s)
{
    uint64_t b[4 * SHADOW_MAX_INFLIGHT];
    unsigned n = sh_active_bounds(s, b);

    for (unsigned k = 0; k < n; k++)
        if (b[k] > 0 && b[k] < sh_nsectors(s) &&
            s->ext[sh_map_find(s, b[k])].start != b[k])
            return false;
    return true;
}

int sh_map_check(shadow *s)
{
    if (s->size == 0)
        return s->next == 0 ? 0 : -EFAULT;
    if (s->next == 0 || s->ext[0].start != 0 || !sh_bounds_ok(s))
        return -EFAULT;
    for (size_t i = 0; i < s->next; i++)
        if (!sh_ext_ok(s, i) ||
            !sh_cset_closed(s, s->ext[i].cs, s->ext[i].start, sh_ext_end(s, i)))
            return -EFAULT;
    return 0;
}
