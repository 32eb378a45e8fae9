/*
 * shadow_val.c - the algebra on one sector's legal values: values (piece
 * lists), candidate sets, and the transforms a request applies to the
 * candidate set of one extent.
 *
 * Invariants kept here (see shadow_int.h): values are canonical (pieces in
 * order, covering [0, 512), no two adjacent pieces identical); a candidate
 * set holds no duplicate (value, mask) and no past value equal to a current
 * one; past values removed at or before sh_threshold() are dropped, as no
 * read or crash can return them any more; a set of more than
 * SH_SOFT_CANDS current candidates degrades soundly (sh_build_degrade).
 * Builders dedup through value marks, in O(1) per value. Transforms never
 * modify their input: they build a new set (sh_build_*), so an extent map can be updated
 * in two phases and left untouched on error.
 */
#include "shadow_int.h"

/* ---- values ------------------------------------------------------------- */

sh_val *sh_val_whole(shadow *s, const sh_piece *p)
{
    sh_piece w = *p;
    w.start = 0;
    w.end = SH_SECTOR;
    return sh_val_new(s, &w, 1);
}

/* v with bytes [a, b) replaced by piece p: a new reference or NULL. */
sh_val *sh_val_overlay(shadow *s, const sh_val *v, unsigned a, unsigned b,
                       const sh_piece *p)
{
    sh_piece *t = sh_aux_tmp(s, v->n + 2u);
    size_t n = 0;
    bool placed = false;

    if (!t)
        return NULL;
    s->work += v->n;
    for (unsigned i = 0; i < v->n; i++) {
        sh_piece q = v->p[i];
        if (q.start < a) { /* the part before the new bytes */
            t[n] = q;
            t[n].end = q.end < a ? q.end : (uint16_t)a;
            n++;
        }
        if (!placed && q.end > a) {
            t[n] = *p;
            t[n].start = (uint16_t)a;
            t[n].end = (uint16_t)b;
            n++;
            placed = true;
        }
        if (q.end > b) { /* the part after them */
            t[n] = q;
            t[n].start = q.start > b ? q.start : (uint16_t)b;
            n++;
        }
    }
    return sh_val_new(s, t, n);
}

/* ---- candidate sets ----------------------------------------------------- */

static size_t sh_cset_bytes(size_t ncur, size_t npast)
{
    return sizeof(sh_cset) + ncur * sizeof(sh_cand) + npast * sizeof(sh_past);
}

void sh_cset_unref(shadow *s, sh_cset *cs)
{
    if (!cs || --cs->refs > 0)
        return;
    for (uint32_t i = 0; i < cs->ncur; i++)
        sh_val_unref(s, cs->cur[i].v);
    for (uint32_t i = 0; i < cs->npast; i++)
        sh_val_unref(s, cs->past[i].v);
    sh_free(s, cs, sh_cset_bytes(cs->ncur, cs->npast));
}

bool sh_cset_undetermined(const sh_cset *cs)
{
    for (uint32_t i = 1; i < cs->ncur; i++)
        if (!sh_val_eq(cs->cur[i].v, cs->cur[0].v))
            return true;
    return false;
}

/* The builder's mark generations change whenever it is emptied. */
static void sh_build_new_gen(shadow *s)
{
    if (s->aux) {
        sh_mark_gen(s, SH_MK_CUR);
        sh_mark_gen(s, SH_MK_PAST);
    }
}

void sh_build_reset(shadow *s)
{
    sh_build *b = &s->bld;
    for (size_t i = 0; i < b->ncur; i++)
        sh_val_unref(s, b->cur[i].v);
    for (size_t i = 0; i < b->npast; i++)
        sh_val_unref(s, b->past[i].v);
    b->ncur = b->npast = 0;
    sh_build_new_gen(s);
}

/* Add (v, mask) unless present; the builder takes its own reference.
 * Candidates with the same value are chained (aux cnext) from the value's
 * CUR mark, so a lookup costs the masks that value has, not the set. */
int sh_build_cur(shadow *s, sh_val *v, uint64_t mask, bool *added)
{
    sh_build *b = &s->bld;
    uint64_t gen = s->aux->gen[SH_MK_CUR];
    uint32_t head = UINT32_MAX;

    *added = false;
    s->work++;
    if (v->mark[SH_MK_CUR] == gen) {
        uint32_t *next = s->aux->cnext;
        for (uint32_t i = v->idx[SH_MK_CUR]; i != UINT32_MAX; i = next[i]) {
            s->work++;
            if (b->cur[i].mask == mask)
                return 0;
        }
        head = v->idx[SH_MK_CUR];
    }
    if (b->ncur >= SH_HARD_CANDS)
        return -E2BIG;
    int r = sh_reserve(s, (void **)&b->cur, &b->capcur, b->ncur + 1,
                       sizeof(*b->cur));
    uint32_t *next = r < 0 ? NULL : sh_aux_cnext(s, b->ncur + 1);
    if (!next)
        return -ENOMEM;
    next[b->ncur] = head;
    v->mark[SH_MK_CUR] = gen;
    v->idx[SH_MK_CUR] = (uint32_t)b->ncur;
    v->refs++;
    b->cur[b->ncur].v = v;
    b->cur[b->ncur].mask = mask;
    b->ncur++;
    *added = true;
    return 0;
}

/* Add a past value; a value already there keeps the later removal time. */
int sh_build_past(shadow *s, sh_val *v, uint64_t removed)
{
    sh_build *b = &s->bld;
    uint64_t gen = s->aux->gen[SH_MK_PAST];

    s->work++;
    if (v->mark[SH_MK_PAST] == gen) {
        sh_past *p = &b->past[v->idx[SH_MK_PAST]];
        if (p->removed < removed)
            p->removed = removed;
        return 0;
    }
    int r = sh_reserve(s, (void **)&b->past, &b->cappast, b->npast + 1,
                       sizeof(*b->past));
    if (r < 0)
        return r;
    v->mark[SH_MK_PAST] = gen;
    v->idx[SH_MK_PAST] = (uint32_t)b->npast;
    v->refs++;
    b->past[b->npast].v = v;
    b->past[b->npast].removed = removed;
    b->npast++;
    return 0;
}

static bool sh_build_has_value(const shadow *s, const sh_val *v)
{
    return v->mark[SH_MK_CUR] == s->aux->gen[SH_MK_CUR];
}

/* ---- degrading an oversized set ------------------------------------------ */

/* Bytes [lo, hi) of the sector, as bits. */
static void sh_bits_set(sh_bits *m, unsigned lo, unsigned hi)
{
    for (unsigned k = lo; k < hi; k++)
        m->w[k / 64] |= 1ull << (k % 64);
}

/* Mark in *m the bytes where value w's pieces differ from v's. */
static void sh_val_disagree(const sh_val *v, const sh_val *w, sh_bits *m)
{
    unsigned i = 0, j = 0;

    while (i < v->n && j < w->n) {
        const sh_piece *p = &v->p[i], *q = &w->p[j];
        unsigned lo = p->start > q->start ? p->start : q->start;
        unsigned hi = p->end < q->end ? p->end : q->end;
        if (!sh_piece_same(p, q))
            sh_bits_set(m, lo, hi);
        if (p->end == hi)
            i++;
        if (q->end == hi)
            j++;
    }
}

/* v with the bytes in m made wild: a new reference or NULL. */
static sh_val *sh_val_widen(shadow *s, const sh_val *v, const sh_bits *m)
{
    sh_piece *t = sh_aux_tmp(s, SH_SECTOR);
    size_t n = 0;

    if (!t)
        return NULL;
    for (unsigned k = 0; k < SH_SECTOR; k++) {
        bool wild = m->w[k / 64] >> (k % 64) & 1;
        const sh_piece *p = &v->p[0];
        for (unsigned i = 1; i < v->n && p->end <= k; i++)
            p = &v->p[i];
        sh_piece q = *p;
        if (wild) {
            memset(&q, 0, sizeof(q));
            q.wild = 1;
            q.src = datagen_zero();
        }
        if (n > 0 && t[n - 1].end == k && sh_piece_same(&t[n - 1], &q)) {
            t[n - 1].end = (uint16_t)(k + 1);
            continue;
        }
        q.start = (uint16_t)k;
        q.end = (uint16_t)(k + 1);
        t[n++] = q;
    }
    return sh_val_new(s, t, n);
}

typedef struct sh_order {
    uint64_t mask;
    uint32_t pos;
} sh_order;

static int sh_order_cmp(const void *a, const void *b)
{
    const sh_order *x = a, *y = b;
    if (x->mask != y->mask)
        return x->mask < y->mask ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * Too many current candidates: replace the candidates of each mask by one
 * value that keeps the bytes they all agree on and is wild elsewhere. It
 * admits every outcome they did (and more), so the model stays sound (it
 * never accuses a correct engine) and still checks the agreed bytes; the
 * set stays closed (I3), as an op applied to the merged value is covered
 * by the merged value of the op applied to each. The new order is by mask,
 * then by position: numbers, never addresses.
 */
static int sh_build_degrade(shadow *s)
{
    sh_build *b = &s->bld;
    size_t n = b->ncur, w = 0;
    sh_order *o = sh_alloc(s, n * sizeof(*o));
    sh_cand *c = sh_alloc(s, n * sizeof(*c));
    int r = 0;

    if (!o || !c) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        o[i] = (sh_order){b->cur[i].mask, (uint32_t)i};
    qsort(o, n, sizeof(*o), sh_order_cmp);
    for (size_t i = 0; i < n; i++)
        c[i] = b->cur[o[i].pos];
    memcpy(b->cur, c, n * sizeof(*c));
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        sh_bits m = {{0}};
        while (j < n && b->cur[j].mask == b->cur[i].mask)
            sh_val_disagree(b->cur[i].v, b->cur[j++].v, &m);
        s->work += j - i;
        sh_val *nv = j - i > 1 ? sh_val_widen(s, b->cur[i].v, &m) : NULL;
        if (j - i > 1 && !nv) { /* keep the rest as they are */
            memmove(&b->cur[w], &b->cur[i], (n - i) * sizeof(*c));
            w += n - i;
            r = -ENOMEM;
            break;
        }
        if (nv) {
            for (size_t k = i; k < j; k++)
                sh_val_unref(s, b->cur[k].v);
            b->cur[i].v = nv;
        }
        b->cur[w++] = b->cur[i];
        i = j;
    }
    b->ncur = w;
    sh_build_new_gen(s); /* the chains describe the old list */
out:
    sh_free(s, o, n * sizeof(*o));
    sh_free(s, c, n * sizeof(*c));
    return r;
}

/* Turn the builder into a new set (moving its references) and reset it. */
int sh_build_finish(shadow *s, uint64_t touched, sh_cset **out)
{
    sh_build *b = &s->bld;
    uint64_t threshold = sh_threshold(s);
    size_t npast = 0;

    assert(b->ncur > 0);
    for (size_t i = 0; i < b->npast; i++) {
        sh_past p = b->past[i];
        if (p.removed <= threshold || sh_build_has_value(s, p.v))
            sh_val_unref(s, p.v); /* nobody can see it any more */
        else
            b->past[npast++] = p;
    }
    b->npast = npast;
    int r = b->ncur > SH_SOFT_CANDS ? sh_build_degrade(s) : 0;
    sh_cset *cs = r < 0 ? NULL : sh_alloc(s, sh_cset_bytes(b->ncur, npast));
    if (!cs) {
        sh_build_reset(s);
        return -ENOMEM;
    }
    cs->refs = 1;
    cs->touched = touched;
    cs->ncur = (uint32_t)b->ncur;
    cs->npast = (uint32_t)npast;
    cs->cur = (sh_cand *)(cs + 1);
    cs->past = (sh_past *)(cs->cur + cs->ncur);
    memcpy(cs->cur, b->cur, b->ncur * sizeof(*b->cur));
    if (npast)
        memcpy(cs->past, b->past, npast * sizeof(*b->past));
    b->ncur = b->npast = 0;
    sh_build_new_gen(s);
    *out = cs;
    return 0;
}

/* ---- ops on values ------------------------------------------------------ */

uint64_t sh_threshold(const shadow *s)
{
    uint64_t t = s->durable;
    for (size_t i = 0; i < s->nreads; i++)
        if (s->reads[i].since < t)
            t = s->reads[i].since;
    return t;
}

bool sh_op_span(const sh_op *op, uint64_t e0, uint64_t e1, unsigned *a,
                unsigned *b)
{
    uint64_t lo = e0 * SH_SECTOR, hi = e1 * SH_SECTOR;
    uint64_t o0 = op->off > lo ? op->off : lo;
    uint64_t o1 = op->off + op->len < hi ? op->off + op->len : hi;

    if (op->len == 0 || o0 >= o1)
        return false;
    if (e1 - e0 > 1) {
        /* I2: a multi-sector extent is covered wholly or not at all */
        assert(o0 == lo && o1 == hi);
        *a = 0;
        *b = SH_SECTOR;
        return true;
    }
    *a = (unsigned)(o0 - lo);
    *b = (unsigned)(o1 - lo);
    return true;
}

/* The value op leaves in a sector that held v, for in-sector range [a, b). */
static sh_val *sh_op_apply(shadow *s, const sh_op *op, sh_val *v, unsigned a,
                           unsigned b)
{
    if (a == 0 && b == SH_SECTOR) {
        op->whole->refs++;
        return op->whole;
    }
    return sh_val_overlay(s, v, a, b, &op->piece);
}

/* Add (op(v), mask | bit) to the builder. */
static int sh_build_applied(shadow *s, unsigned slot, sh_val *v, uint64_t mask,
                            uint64_t e0, uint64_t e1)
{
    const sh_op *op = &s->ops[slot];
    unsigned a, b;
    bool added;

    if (!sh_op_span(op, e0, e1, &a, &b))
        return 0;
    sh_val *nv = sh_op_apply(s, op, v, a, b);
    if (!nv)
        return -ENOMEM;
    int r = sh_build_cur(s, nv, mask | (1ull << slot), &added);
    sh_val_unref(s, nv);
    return r;
}

/* Does w admit every byte string v does (equal, or wild where they differ)? */
static bool sh_val_covers(const sh_val *w, const sh_val *v)
{
    unsigned i = 0, j = 0;

    if (w == v)
        return true;
    if (!w->wild)
        return false;
    while (i < w->n && j < v->n) {
        const sh_piece *p = &w->p[i], *q = &v->p[j];
        unsigned hi = p->end < q->end ? p->end : q->end;
        if (!p->wild && !sh_piece_same(p, q))
            return false;
        i += p->end == hi;
        j += q->end == hi;
    }
    return true;
}

/* I3 for the set of extent [e0, e1) (a check for tests; true on ENOMEM).
 * A degraded set is closed up to coverage: some candidate with the right
 * mask admits every outcome (see sh_build_degrade). */
bool sh_cset_closed(shadow *s, const sh_cset *cs, uint64_t e0, uint64_t e1)
{
    unsigned a, b;

    for (uint32_t i = 0; i < cs->ncur; i++) {
        for (unsigned j = 0; j < SHADOW_MAX_INFLIGHT; j++) {
            uint64_t bit = 1ull << j;
            if (!(s->active & bit) || (cs->cur[i].mask & bit) ||
                !sh_op_span(&s->ops[j], e0, e1, &a, &b))
                continue;
            sh_val *nv = sh_op_apply(s, &s->ops[j], cs->cur[i].v, a, b);
            if (!nv)
                return true;
            bool found = false;
            for (uint32_t k = 0; k < cs->ncur && !found; k++)
                found = cs->cur[k].mask == (cs->cur[i].mask | bit) &&
                        sh_val_covers(cs->cur[k].v, nv);
            sh_val_unref(s, nv);
            if (!found)
                return false;
        }
    }
    return true;
}

/* ---- transforms --------------------------------------------------------- */

static int sh_build_copy_past(shadow *s, const sh_cset *in)
{
    for (uint32_t i = 0; i < in->npast; i++) {
        int r = sh_build_past(s, in->past[i].v, in->past[i].removed);
        if (r < 0)
            return r;
    }
    return 0;
}

static int sh_done(shadow *s, int r, uint64_t touched, sh_cset **out)
{
    if (r < 0) {
        sh_build_reset(s);
        return r;
    }
    return sh_build_finish(s, touched, out);
}

/*
 * Op ctx begins: keep every candidate, add each with the op
 * applied, then close the new ones under the other active ops (I3). The
 * input is closed already, so only candidates containing the new op need it.
 */
int sh_x_begin(shadow *s, sh_cset *in, uint64_t e0, uint64_t e1, void *ctx,
               sh_cset **out)
{
    unsigned k = (unsigned)((sh_op *)ctx - s->ops);
    int r = 0;
    bool added;

    /* k is active already (so coalescing keeps its boundaries); candidates
     * that contain k are never given k again */
    for (uint32_t i = 0; i < in->ncur && r == 0; i++)
        r = sh_build_cur(s, in->cur[i].v, in->cur[i].mask, &added);
    if (r == 0)
        r = sh_build_copy_past(s, in);
    for (uint32_t i = 0; i < in->ncur && r == 0; i++)
        r = sh_build_applied(s, k, in->cur[i].v, in->cur[i].mask, e0, e1);
    for (size_t i = in->ncur; i < s->bld.ncur && r == 0; i++) {
        for (unsigned j = 0; j < SHADOW_MAX_INFLIGHT && r == 0; j++) {
            uint64_t bit = 1ull << j;
            sh_cand c = s->bld.cur[i];
            if ((s->active & bit) && !(c.mask & bit))
                r = sh_build_applied(s, j, c.v, c.mask, e0, e1);
        }
    }
    return sh_done(s, r, s->now, out);
}

/* Op slot ends: on success only candidates it took effect in remain. */
int sh_x_end(shadow *s, sh_cset *in, uint64_t e0, uint64_t e1, void *ctx,
             sh_cset **out)
{
    const sh_end_ctx *e = ctx;
    uint64_t bit = 1ull << e->slot;
    int r = sh_build_copy_past(s, in);
    bool added;

    (void)e0;
    (void)e1;
    for (uint32_t i = 0; i < in->ncur && r == 0; i++) {
        sh_cand c = in->cur[i];
        if (e->ok && !(c.mask & bit))
            r = sh_build_past(s, c.v, s->now);
        else
            r = sh_build_cur(s, c.v, c.mask & ~bit, &added);
    }
    return sh_done(s, r, s->now, out);
}

/* Power loss: every current value, and every value held since the durable
 * point, becomes a current candidate; nothing is in flight any more. */
int sh_x_crash(shadow *s, sh_cset *in, uint64_t e0, uint64_t e1, void *ctx,
               sh_cset **out)
{
    int r = 0;
    bool added;

    (void)e0;
    (void)e1;
    (void)ctx;
    for (uint32_t i = 0; i < in->ncur && r == 0; i++)
        r = sh_build_cur(s, in->cur[i].v, 0, &added);
    for (uint32_t i = 0; i < in->npast && r == 0; i++)
        if (in->past[i].removed > s->durable)
            r = sh_build_cur(s, in->past[i].v, 0, &added);
    return sh_done(s, r, s->now, out);
}

/* Drop past values nobody can see any more (memory only). */
int sh_x_prune(shadow *s, sh_cset *in, uint64_t e0, uint64_t e1, void *ctx,
               sh_cset **out)
{
    uint64_t threshold = sh_threshold(s);
    bool stale = false;
    int r = 0;
    bool added;

    (void)e0;
    (void)e1;
    (void)ctx;
    for (uint32_t i = 0; i < in->npast; i++)
        stale |= in->past[i].removed <= threshold;
    if (!stale) {
        in->refs++;
        *out = in;
        return 0;
    }
    for (uint32_t i = 0; i < in->ncur && r == 0; i++)
        r = sh_build_cur(s, in->cur[i].v, in->cur[i].mask, &added);
    if (r == 0)
        r = sh_build_copy_past(s, in);
    return sh_done(s, r, in->touched, out);
}

/*
 * Sticky observation: keep the current values flagged in keep[]. A value
 * ruled out stays visible to crashes and open reads as a past value only
 * if the set changed after their horizon (it may have been the true value
 * for a while); otherwise it never was the value anyone could see.
 */
int sh_cset_keep(shadow *s, sh_cset *in, const bool *keep, sh_cset **out)
{
    bool visible = in->touched > sh_threshold(s);
    int r = sh_build_copy_past(s, in);
    bool added;

    for (uint32_t i = 0; i < in->ncur && r == 0; i++) {
        if (keep[i])
            r = sh_build_cur(s, in->cur[i].v, in->cur[i].mask, &added);
        else if (visible)
            r = sh_build_past(s, in->cur[i].v, s->now);
    }
    return sh_done(s, r, in->touched, out);
}
