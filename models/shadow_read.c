/*
 * shadow_read.c - judging reads against the shadow model.
 *
 * Fast path. A run of sectors whose extent has one legal value for the
 * whole read (every current candidate the same value, nothing overwritten
 * since the read began) is judged at once: one datagen_mismatch scan over
 * the run's bytes for a whole-sector source, per piece for a composite,
 * and for "the backing file's bytes" the same, recursively, over the
 * backing file's ranges or its model's extents (zeroes past its end). No
 * lookup per sector, no allocation. Any sector the fast path cannot
 * settle goes to the slow path, which decides.
 *
 * Slow path, one sector. The legal values are the current values plus
 * those overwritten since the read began. A value explains the bytes read
 * when its own pieces match them byte for byte (wild pieces match any
 * byte) and one single value of the backing file matches its symbolic
 * backing bytes. Matches are 512-bit byte sets: for the backing file, the
 * family of byte sets its possible values explain is computed once per
 * sector (deduplicated, recursively down the chain), so the cost is a sum
 * over the chain's values, never their product, and nothing overflows.
 * A sector explained while several values were legal and no request
 * modifies it collapses to the values that explain it (sticky observation,
 * shadow.h); when what remains is "the backing file's bytes", the backing
 * model collapses too. A sector no value explains ends the check with a
 * verdict (shadow_verdict.c).
 */
#include <endian.h>

#include "shadow_int.h"

/* ---- byte sets ------------------------------------------------------------ */

static void bits_add(sh_bits *m, unsigned lo, unsigned hi)
{
    while (lo < hi && lo % 64) {
        m->w[lo / 64] |= 1ull << (lo % 64);
        lo++;
    }
    while (lo + 64 <= hi) {
        m->w[lo / 64] = ~0ull;
        lo += 64;
    }
    while (lo < hi) {
        m->w[lo / 64] |= 1ull << (lo % 64);
        lo++;
    }
}

static bool bits_subset(const sh_bits *a, const sh_bits *b)
{
    uint64_t d = 0;
    for (unsigned i = 0; i < SH_SECTOR / 64; i++)
        d |= a->w[i] & ~b->w[i];
    return d == 0;
}

static bool bits_empty(const sh_bits *a)
{
    uint64_t d = 0;
    for (unsigned i = 0; i < SH_SECTOR / 64; i++)
        d |= a->w[i];
    return d == 0;
}

/* The bytes outside [a, b): a read of [a, b) says nothing about them. */
static sh_bits bits_outside(unsigned a, unsigned b)
{
    sh_bits m = {{0}};
    bits_add(&m, 0, a);
    bits_add(&m, b, SH_SECTOR);
    return m;
}

/* Add to ok the bytes of [lo, hi) ∩ [a, b) where src at sector x gives the
 * byte read (actual holds bytes [a, b) of the sector). */
/* Bit i: byte i of the two little-endian words is equal (no carries
 * cross bytes: the multiply gathers each byte's top bit into bits 56-63). */
static inline unsigned eq_bytes8(const uint8_t *x, const uint8_t *y)
{
    uint64_t u, v;
    memcpy(&u, x, 8);
    memcpy(&v, y, 8);
    uint64_t d = le64toh(u ^ v);
    uint64_t nz = ((d & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | d;
    uint64_t eq = ~nz & 0x8080808080808080ull;
    return (unsigned)(((eq >> 7) * 0x0102040810204080ull) >> 56);
}

/* Sets bit k of ok for each k in [lo, hi) where want[k - lo] equals
 * got[k - lo]; eight bytes a step once k is a multiple of 8. */
static void bits_equal(const uint8_t *want, const uint8_t *got, unsigned lo,
                       unsigned hi, sh_bits *ok)
{
    unsigned k = lo;

    for (; k < hi && (k & 7); k++)
        if (want[k - lo] == got[k - lo])
            ok->w[k / 64] |= 1ull << (k % 64);
    for (; k + 8 <= hi; k += 8)
        ok->w[k / 64] |= (uint64_t)eq_bytes8(want + (k - lo), got + (k - lo))
                         << (k % 64);
    for (; k < hi; k++)
        if (want[k - lo] == got[k - lo])
            ok->w[k / 64] |= 1ull << (k % 64);
}

static void bits_match(const datagen_src *src, uint64_t x, unsigned lo,
                       unsigned hi, unsigned a, unsigned b,
                       const uint8_t *actual, sh_bits *ok)
{
    uint8_t buf[SH_SECTOR];

    lo = lo > a ? lo : a;
    hi = hi < b ? hi : b;
    if (lo >= hi)
        return;
    datagen_fill(src, x * SH_SECTOR + lo, buf, hi - lo);
    if (memcmp(buf, actual + (lo - a), hi - lo) == 0) {
        bits_add(ok, lo, hi);
        return;
    }
    bits_equal(buf, actual + (lo - a), lo, hi, ok);
}

/* ---- the bytes one value explains ----------------------------------------- */

typedef struct sh_rd {
    uint64_t x;
    unsigned a, b;
    const uint8_t *actual;
} sh_rd;

/* ok: bytes value v's own pieces explain (or that the read does not
 * cover); bk: covered bytes that are the backing file's. */
static void sh_val_bits(const sh_rd *rd, const sh_val *v, sh_bits *ok,
                        sh_bits *bk)
{
    *ok = bits_outside(rd->a, rd->b);
    memset(bk, 0, sizeof(*bk));
    for (unsigned i = 0; i < v->n; i++) {
        const sh_piece *p = &v->p[i];
        unsigned lo = p->start > rd->a ? p->start : rd->a;
        unsigned hi = p->end < rd->b ? p->end : rd->b;
        if (lo >= hi)
            continue;
        if (p->wild)
            bits_add(ok, lo, hi);
        else if (p->backing)
            bits_add(bk, lo, hi);
        else
            bits_match(&p->src, rd->x, lo, hi, rd->a, rd->b, rd->actual, ok);
    }
}

unsigned sh_backing_limit(const shadow *m, uint64_t x)
{
    uint64_t limit = m->blength, base = x * SH_SECTOR;

    if (m->bkind == SHADOW_BACKING_NONE)
        return 0;
    if (m->bkind == SHADOW_BACKING_MODEL && m->bmodel->size < limit)
        limit = m->bmodel->size;
    if (base >= limit)
        return 0;
    return limit - base >= SH_SECTOR ? SH_SECTOR : (unsigned)(limit - base);
}

size_t sh_range_after(const shadow *m, uint64_t off)
{
    size_t lo = 0, hi = m->nranges;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->ranges[mid].off + m->ranges[mid].len <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The bytes the one value of a RANGES backing file (or of no data at all,
 * past lim) explains at sector x. */
static sh_bits sh_ranges_bits(const shadow *m, const sh_rd *rd, unsigned lim)
{
    uint64_t base = rd->x * SH_SECTOR;
    datagen_src zero = datagen_zero();
    sh_bits ok = bits_outside(rd->a, rd->b);
    size_t lo = sh_range_after(m, base);
    unsigned pos = 0;

    for (size_t i = lo; i < m->nranges && m->ranges[i].off < base + lim; i++) {
        const shadow_backing_range *rg = &m->ranges[i];
        unsigned p0 = rg->off > base ? (unsigned)(rg->off - base) : 0;
        uint64_t e = rg->off + rg->len - base;
        unsigned p1 = e < lim ? (unsigned)e : lim;
        bits_match(&zero, rd->x, pos, p0, rd->a, rd->b, rd->actual, &ok);
        bits_match(&rg->src, rd->x, p0, p1, rd->a, rd->b, rd->actual, &ok);
        pos = p1;
    }
    bits_match(&zero, rd->x, pos, SH_SECTOR, rd->a, rd->b, rd->actual, &ok);
    return ok;
}

/* Append e to the family [f0, *nf) in o's scratch unless an entry covers
 * it already; past SH_SOFT_CANDS entries, merge into the last one (a sound
 * over-approximation: it only admits more). */
static int sh_fam_add(shadow *o, size_t f0, size_t *nf, const sh_bits *e)
{
    sh_bits *f = o->aux->fam;

    for (size_t i = f0; i < *nf; i++) {
        o->work++;
        if (bits_subset(e, &f[i]))
            return 0;
    }
    if (*nf - f0 >= SH_SOFT_CANDS) {
        for (unsigned w = 0; w < SH_SECTOR / 64; w++)
            f[*nf - 1].w[w] |= e->w[w];
        return 0;
    }
    if (!(f = sh_aux_fam(o, *nf + 1)))
        return -ENOMEM;
    f[(*nf)++] = *e;
    return 0;
}

/*
 * The family of byte sets that one value of model m's backing file explains
 * at the read's sector, appended at [f0, *nf) of o's scratch (o is the model
 * judging the read; recursion appends below).
 */
static int sh_family(shadow *o, const shadow *m, const sh_rd *rd, size_t f0,
                     size_t *nf)
{
    unsigned lim = sh_backing_limit(m, rd->x);
    sh_bits zero_ok = bits_outside(rd->a, rd->b), lim_mask = {{0}};
    datagen_src zero = datagen_zero();
    int r = 0;

    *nf = f0;
    if (m->bkind != SHADOW_BACKING_MODEL || lim == 0) {
        sh_bits e = sh_ranges_bits(m, rd, lim);
        return sh_fam_add(o, f0, nf, &e);
    }
    shadow *bm = m->bmodel;
    const sh_cset *cs = bm->ext[sh_map_find(bm, rd->x)].cs;
    bits_match(&zero, rd->x, lim, SH_SECTOR, rd->a, rd->b, rd->actual,
               &zero_ok);
    bits_add(&lim_mask, 0, lim);
    size_t base = f0; /* entries go after the family of bm's backing */
    for (uint32_t i = 0; i < cs->ncur; i++) {
        if (cs->cur[i].v->backed) {
            if ((r = sh_family(o, bm, rd, f0, &base)) < 0)
                return r;
            break;
        }
    }
    *nf = base;
    uint64_t gen = sh_mark_gen(bm, SH_MK_SCAN);
    for (uint32_t i = 0; i < cs->ncur && r == 0; i++) {
        sh_val *w = cs->cur[i].v;
        sh_bits ok, bk, e;
        if (w->mark[SH_MK_SCAN] == gen)
            continue; /* seen */
        w->mark[SH_MK_SCAN] = gen;
        sh_val_bits(rd, w, &ok, &bk);
        bool own = bits_empty(&bk);
        size_t nsub = own ? 1 : base - f0;
        for (size_t k = 0; k < nsub && r == 0; k++) {
            const sh_bits *B = own ? NULL : &o->aux->fam[f0 + k];
            for (unsigned q = 0; q < SH_SECTOR / 64; q++) {
                uint64_t got = ok.w[q] | (B ? bk.w[q] & B->w[q] : 0);
                e.w[q] = (got & lim_mask.w[q]) | (zero_ok.w[q] & ~lim_mask.w[q]);
            }
            r = sh_fam_add(o, base, nf, &e);
        }
    }
    if (r == 0 && base > f0) { /* drop the sub-family */
        memmove(&o->aux->fam[f0], &o->aux->fam[base],
                (*nf - base) * sizeof(sh_bits));
        *nf -= base - f0;
    }
    return r;
}

/* ---- legal values --------------------------------------------------------- */

static int sh_legal_add(shadow *s, sh_val *v, bool current, bool in_flight)
{
    sh_scratch *sc = &s->sc;

    if (v->mark[SH_MK_SCAN] == sc->lgen) {
        sc->lg[v->idx[SH_MK_SCAN]].in_flight &= in_flight;
        return 0;
    }
    int r = sh_reserve(s, (void **)&sc->lg, &sc->caplg, sc->nlg + 1,
                       sizeof(*sc->lg));
    if (r < 0)
        return r;
    v->mark[SH_MK_SCAN] = sc->lgen;
    v->idx[SH_MK_SCAN] = (uint32_t)sc->nlg;
    sh_legal *l = &sc->lg[sc->nlg++];
    l->v = v;
    l->current = current;
    l->earlier = !current;
    l->in_flight = in_flight;
    l->match = false;
    return 0;
}

/* Legal values of a sector whose set is cs, for a read begun at `since`. */
static int sh_legal_build(shadow *s, const sh_cset *cs, uint64_t since)
{
    int r = 0;

    s->sc.nlg = 0;
    s->sc.lgen = sh_mark_gen(s, SH_MK_SCAN);
    for (uint32_t i = 0; i < cs->ncur && r == 0; i++)
        r = sh_legal_add(s, cs->cur[i].v, true, cs->cur[i].mask != 0);
    for (uint32_t i = 0; i < cs->npast && r == 0; i++)
        if (cs->past[i].removed > since)
            r = sh_legal_add(s, cs->past[i].v, false, false);
    s->work += cs->ncur + cs->npast;
    return r;
}

/* ---- judging one sector --------------------------------------------------- */

static int sh_judge_sector(shadow *s, uint64_t x, unsigned a, unsigned b,
                           const uint8_t *actual, uint64_t since,
                           shadow_verdict *v);

/* keep[i]: current value i of cs explained the read. */
static bool *sh_keep_list(shadow *s, const sh_cset *cs, bool *any, bool *all)
{
    bool *keep = sh_alloc(s, cs->ncur * sizeof(*keep));

    *any = false;
    *all = true;
    for (uint32_t i = 0; keep && i < cs->ncur; i++) {
        const sh_val *v = cs->cur[i].v;
        keep[i] = v->mark[SH_MK_SCAN] == s->sc.lgen &&
                  s->sc.lg[v->idx[SH_MK_SCAN]].match;
        *any |= keep[i];
        *all &= keep[i];
    }
    return keep;
}

/*
 * Collapse model s's sector x to what the read saw (sticky observation), for
 * a read begun at `since`. Only when the sector's values stood still for the
 * whole read: if a request modifies it now, or changed it while the read was
 * in flight, the read may have seen a moment that is already past, and what
 * it saw says nothing about the sector's value now.
 */
static int sh_collapse(shadow *s, uint64_t x, unsigned a, unsigned b,
                       const uint8_t *actual, uint64_t since)
{
    sh_cset *cs = s->ext[sh_map_find(s, x)].cs, *ncs;
    bool any, all;
    int r = 0;

    if (cs->touched > since)
        return 0; /* changed while the read was in flight */
    for (uint32_t i = 0; i < cs->ncur; i++)
        if (cs->cur[i].mask)
            return 0; /* a request is still modifying it */
    if (sh_cset_undetermined(cs)) {
        size_t n = cs->ncur;
        bool *keep = sh_keep_list(s, cs, &any, &all);
        if (!keep)
            return -ENOMEM;
        if (any && !all && (r = sh_map_split(s, x)) == 0 &&
            (r = sh_map_split(s, x + 1)) == 0) {
            size_t i = sh_map_find(s, x);
            if ((r = sh_cset_keep(s, s->ext[i].cs, keep, &ncs)) == 0) {
                sh_cset_unref(s, s->ext[i].cs);
                s->ext[i].cs = ncs;
                sh_map_coalesce(s, x, x + 1); /* may merge into a neighbour */
            }
        }
        sh_free(s, keep, n * sizeof(*keep));
        if (r < 0)
            return r;
        cs = s->ext[sh_map_find(s, x)].cs;
    }
    const sh_val *only = cs->cur[0].v;
    if (!sh_cset_undetermined(cs) && only->n == 1 && only->p[0].backing &&
        s->bkind == SHADOW_BACKING_MODEL &&
        sh_backing_limit(s, x) == SH_SECTOR) {
        shadow_verdict ignored; /* explained above, so explained there */
        r = sh_judge_sector(s->bmodel, x, a, b, actual, s->bmodel->now,
                            &ignored);
        return r < 0 ? r : 0;
    }
    return 0;
}

/* Does legal value l explain the read? fam: the backing family, computed
 * on first need into [0, *nf) (*nf == SIZE_MAX: not yet). */
static int sh_legal_match(shadow *s, const sh_rd *rd, size_t l, size_t *nf)
{
    sh_bits ok, bk, all;
    int r;

    sh_val_bits(rd, s->sc.lg[l].v, &ok, &bk);
    for (unsigned q = 0; q < SH_SECTOR / 64; q++)
        all.w[q] = ~(ok.w[q] | bk.w[q]);
    if (!bits_empty(&all))
        return 0;
    if (bits_empty(&bk))
        return 1;
    if (*nf == SIZE_MAX && (r = sh_family(s, s, rd, 0, nf)) < 0)
        return r;
    for (size_t i = 0; i < *nf; i++)
        if (bits_subset(&bk, &s->aux->fam[i]))
            return 1;
    return 0;
}

/* Judge bytes [a, b) of sector x (actual holds them). 1: explained; 0: not,
 * v says why; <0: could not judge. */
static int sh_judge_sector(shadow *s, uint64_t x, unsigned a, unsigned b,
                           const uint8_t *actual, uint64_t since,
                           shadow_verdict *v)
{
    const sh_cset *cs = s->ext[sh_map_find(s, x)].cs;
    sh_rd rd = {x, a, b, actual};
    size_t nf = SIZE_MAX;
    bool any = false;
    int r;

    if ((r = sh_legal_build(s, cs, since)) < 0)
        return r;
    for (size_t l = 0; l < s->sc.nlg; l++) {
        if ((r = sh_legal_match(s, &rd, l, &nf)) < 0)
            return r;
        s->sc.lg[l].match = r == 1;
        any |= r == 1;
    }
    if (!any)
        return sh_verdict_build(s, x, a, b, actual, v);
    r = sh_collapse(s, x, a, b, actual, since);
    return r < 0 ? r : 1;
}

/* ---- whole runs ----------------------------------------------------------- */

static int sh_run(shadow *s, uint64_t lo, uint64_t hi, const uint8_t *buf,
                  uint64_t since, shadow_verdict *v, uint64_t *stop);

/* The one legal value of set cs for a read begun at since, or NULL. */
static const sh_val *sh_determined(const sh_cset *cs, uint64_t since)
{
    for (uint32_t i = 1; i < cs->ncur; i++)
        if (cs->cur[i].v != cs->cur[0].v)
            return NULL;
    for (uint32_t i = 0; i < cs->npast; i++)
        if (cs->past[i].removed > since)
            return NULL;
    return cs->cur[0].v;
}

/* Bytes [lo, hi) of model m's backing file against buf: the first byte
 * from which the slow path must decide (hi: all explained), or -errno. */
static int64_t sh_fast_backing(shadow *m, uint64_t lo, uint64_t hi,
                               const uint8_t *buf)
{
    datagen_src zero = datagen_zero();
    uint64_t lim = m->blength, at = lo;

    if (m->bkind == SHADOW_BACKING_MODEL) {
        lim = lim < m->bmodel->size ? lim : m->bmodel->size;
        uint64_t mid = lim / SH_SECTOR * SH_SECTOR; /* whole sectors */
        mid = mid < hi ? mid : hi;
        if (lo < mid) {
            shadow_verdict ignored;
            uint64_t stop;
            int r = sh_run(m->bmodel, lo, mid, buf, m->bmodel->now, &ignored,
                           &stop);
            if (r <= 0) /* the slow path decides from that sector */
                return r < 0 ? r : (int64_t)stop;
            at = mid;
        }
        if (at < hi && at < lim)
            return (int64_t)at; /* the sector the backing file ends in */
    } else {
        uint64_t top = lim < hi ? lim : hi; /* data ends there */
        for (size_t i = sh_range_after(m, lo); i < m->nranges && at < top;
             i++) {
            const shadow_backing_range *rg = &m->ranges[i];
            uint64_t r0 = rg->off > at ? rg->off : at;
            uint64_t r1 = rg->off + rg->len;
            r0 = r0 < top ? r0 : top;
            r1 = r1 < top ? r1 : top;
            uint64_t n = datagen_mismatch(&zero, at, buf + (at - lo), r0 - at);
            if (at + n < r0)
                return (int64_t)(at + n);
            at = r0;
            if (r0 < r1) {
                n = datagen_mismatch(&rg->src, r0, buf + (r0 - lo), r1 - r0);
                if (r0 + n < r1)
                    return (int64_t)(r0 + n);
                at = r1;
            }
        }
    }
    return (int64_t)(at + datagen_mismatch(&zero, at, buf + (at - lo), hi - at));
}

/* Bytes [lo, hi) of model s, all of whose sectors hold only value d: the
 * first byte from which the slow path must decide (hi: all explained). */
static int64_t sh_fast(shadow *s, const sh_val *d, uint64_t lo, uint64_t hi,
                       const uint8_t *buf)
{
    if (d->wild || (d->backed && d->n > 1))
        return (int64_t)lo;
    if (d->backed)
        return sh_fast_backing(s, lo, hi, buf);
    if (d->n == 1) /* the same source on every sector of the run */
        return (int64_t)(lo + datagen_mismatch(&d->p[0].src, lo, buf, hi - lo));
    for (uint64_t at = lo; at < hi;) {
        uint64_t base = at / SH_SECTOR * SH_SECTOR;
        for (unsigned i = 0; i < d->n; i++) {
            uint64_t p0 = base + d->p[i].start, p1 = base + d->p[i].end;
            p0 = p0 > at ? p0 : at;
            p1 = p1 < hi ? p1 : hi;
            if (p0 < p1 && datagen_mismatch(&d->p[i].src, p0, buf + (p0 - lo),
                                            p1 - p0) < p1 - p0)
                return (int64_t)base;
        }
        at = base + SH_SECTOR;
    }
    return (int64_t)hi;
}

/* Judge bytes [lo, hi) of model s (buf[0] is byte lo) for a read begun at
 * since: 1 explained, 0 not (v says why, *stop is the first byte of the
 * sector that is not), <0 could not judge. */
static int sh_run(shadow *s, uint64_t lo, uint64_t hi, const uint8_t *buf,
                  uint64_t since, shadow_verdict *v, uint64_t *stop)
{
    while (lo < hi) {
        uint64_t x = lo / SH_SECTOR;
        size_t i = sh_map_find(s, x);
        uint64_t end = sh_ext_end(s, i) * SH_SECTOR;
        const sh_val *d = sh_determined(s->ext[i].cs, since);
        end = end < hi ? end : hi;
        s->work++;
        if (d) {
            int64_t at = sh_fast(s, d, lo, end, buf);
            if (at < 0)
                return (int)at;
            if ((uint64_t)at >= end) {
                buf += end - lo;
                lo = end;
                continue;
            }
            x = (uint64_t)at / SH_SECTOR;
            if (x * SH_SECTOR > lo) {
                buf += x * SH_SECTOR - lo;
                lo = x * SH_SECTOR;
            }
        }
        /* one sector the slow way (it may change the extent map) */
        uint64_t send = (x + 1) * SH_SECTOR < hi ? (x + 1) * SH_SECTOR : hi;
        int r = sh_judge_sector(s, x, (unsigned)(lo - x * SH_SECTOR),
                                (unsigned)(send - x * SH_SECTOR), buf, since,
                                v);
        if (r <= 0) {
            *stop = lo;
            return r;
        }
        buf += send - lo;
        lo = send;
    }
    return 1;
}

/* ---- the public read calls ---------------------------------------------- */

static size_t sh_find_read(const shadow *s, uint64_t req)
{
    size_t i = 0;
    while (i < s->nreads && s->reads[i].req != req)
        i++;
    return i;
}

int shadow_read_begin(shadow *s, uint64_t req, uint64_t off, uint64_t len)
{
    s->now++;
    if (off > s->size || len > s->size - off)
        return -EINVAL;
    if (sh_find_read(s, req) < s->nreads)
        return -EEXIST;
    int r = sh_reserve(s, (void **)&s->reads, &s->capreads, s->nreads + 1,
                       sizeof(*s->reads));
    if (r < 0)
        return r;
    sh_read *rd = &s->reads[s->nreads++];
    rd->req = req;
    rd->off = off;
    rd->len = len;
    rd->since = s->now;
    return 0;
}

int shadow_read_end(shadow *s, uint64_t req)
{
    s->now++;
    size_t i = sh_find_read(s, req);
    if (i == s->nreads)
        return -ENOENT;
    s->reads[i] = s->reads[--s->nreads];
    return 0;
}

int shadow_read_check(shadow *s, uint64_t req, uint64_t off, uint64_t len,
                      const void *buf, shadow_verdict *v)
{
    uint64_t since = ++s->now;
    size_t i = sh_find_read(s, req);

    if (off > s->size || len > s->size - off)
        return -EINVAL;
    if (i < s->nreads) {
        if (s->reads[i].off != off || s->reads[i].len != len)
            return -EINVAL;
        since = s->reads[i].since;
        s->reads[i] = s->reads[--s->nreads];
    }
    memset(v, 0, sizeof(*v));
    v->ok = true;
    uint64_t stop;
    int r = sh_run(s, off, off + len, buf, since, v, &stop);
    if (r < 0)
        return r;
    v->ok = r == 1;
    return 0;
}
