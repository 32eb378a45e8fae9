/*
 * shadow_intern.c - hash-consing of the shadow model's values.
 *
 * Every sh_val of a model lives in one intern table keyed by a hash of its
 * canonical piece list, so a piece list has at most one sh_val: equality is
 * a pointer compare, and candidate sets, legal-value lists and the past
 * history dedup in O(1) per value with marks (sh_mark_gen) instead of
 * comparing piece lists pairwise. This is what keeps long histories of
 * overlapping sub-sector writes linear (a sector's past may hold hundreds
 * of composite values of dozens of pieces each).
 *
 * Ownership: the table and the scratch arrays form the model's sh_aux,
 * created with its first value and freed when its last value goes (every
 * value is owned by references from candidate sets, ops and builders; a
 * model with no value needs no table). All memory goes through
 * sh_alloc/sh_free so shadow_get_stats counts it.
 *
 * Values are compared by their bytes, not their provenance: two pieces are
 * the same when they are both the backing file's bytes, both wild, or come
 * from equal datagen sources (a source's byte depends on its absolute
 * offset only, so equal sources give equal bytes in the same place). The
 * request and tag of a piece are kept for reports only, and a value made
 * again by another request keeps the provenance of its first maker: the
 * same pattern written by ten racing requests is one value, not 10! orders
 * of them (the fuzzer's slow trace: 64 writes of one pattern 3 bytes
 * apart, three in flight at a time, multiplied a sector's values by 6 per
 * batch before this).
 *
 * Determinism: buckets are chosen by a content hash, never by address, and
 * nothing iterates over the table.
 */
#include "shadow_int.h"

#define SH_MIX1 0xbf58476d1ce4e5b9ull
#define SH_MIX2 0x94d049bb133111ebull

static uint64_t sh_mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= SH_MIX1;
    h ^= h >> 27;
    h *= SH_MIX2;
    return h ^ (h >> 31);
}

bool sh_piece_same(const sh_piece *a, const sh_piece *b)
{
    return a->backing == b->backing && a->wild == b->wild &&
           datagen_equal(&a->src, &b->src);
}

/* Hash of what sh_piece_same and the range compare look at (only the
 * meaningful fields of the source, as datagen_equal). */
static uint64_t sh_piece_hash(uint64_t h, const sh_piece *p)
{
    uint64_t src = p->src.kind;

    if (p->src.kind == DATAGEN_PATTERN)
        src |= (uint64_t)p->src.pattern << 8;
    h = sh_mix(h, (uint64_t)p->start | (uint64_t)p->end << 16 |
                      (uint64_t)p->backing << 32 | (uint64_t)p->wild << 40);
    h = sh_mix(h, src);
    if (p->src.kind == DATAGEN_SEEDED)
        h = sh_mix(sh_mix(h, p->src.seed), p->src.id);
    return h;
}

static size_t sh_val_bytes(size_t n)
{
    return sizeof(sh_val) + n * sizeof(sh_piece);
}

/* ---- the aux state -------------------------------------------------------- */

static sh_aux *sh_aux_get(shadow *s)
{
    if (s->aux)
        return s->aux;
    sh_aux *a = sh_alloc(s, sizeof(*a));
    if (!a)
        return NULL;
    memset(a, 0, sizeof(*a));
    for (unsigned k = 0; k < SH_MK_N; k++)
        a->gen[k] = 1;
    s->aux = a;
    return a;
}

static void sh_aux_free(shadow *s)
{
    sh_aux *a = s->aux;

    assert(a->nvals == 0);
    sh_free(s, a->bucket, a->nbucket * sizeof(*a->bucket));
    sh_free(s, a->cnext, a->capcnext * sizeof(*a->cnext));
    sh_free(s, a->tmp, a->captmp * sizeof(*a->tmp));
    sh_free(s, a->canon, a->capcanon * sizeof(*a->canon));
    sh_free(s, a->fam, a->capfam * sizeof(*a->fam));
    sh_free(s, a, sizeof(*a));
    s->aux = NULL;
}

uint64_t sh_mark_gen(shadow *s, unsigned k)
{
    assert(s->aux && k < SH_MK_N);
    return ++s->aux->gen[k];
}

uint32_t *sh_aux_cnext(shadow *s, size_t need)
{
    sh_aux *a = s->aux;
    if (sh_reserve(s, (void **)&a->cnext, &a->capcnext, need,
                   sizeof(*a->cnext)) < 0)
        return NULL;
    return a->cnext;
}

sh_piece *sh_aux_tmp(shadow *s, size_t need)
{
    sh_aux *a = sh_aux_get(s);
    if (!a ||
        sh_reserve(s, (void **)&a->tmp, &a->captmp, need, sizeof(*a->tmp)) < 0)
        return NULL;
    return a->tmp;
}

sh_bits *sh_aux_fam(shadow *s, size_t need)
{
    sh_aux *a = sh_aux_get(s);
    if (!a ||
        sh_reserve(s, (void **)&a->fam, &a->capfam, need, sizeof(*a->fam)) < 0)
        return NULL;
    return a->fam;
}

/* ---- the table ------------------------------------------------------------ */

static int sh_table_grow(shadow *s, sh_aux *a)
{
    size_t n = a->nbucket ? a->nbucket * 2 : 64;
    sh_val **b = sh_alloc(s, n * sizeof(*b));

    if (!b)
        return -ENOMEM;
    memset(b, 0, n * sizeof(*b));
    for (size_t i = 0; i < a->nbucket; i++) {
        sh_val *v = a->bucket[i];
        while (v) { /* chains keep their relative order */
            sh_val *next = v->chain, **t = &b[v->hash & (n - 1)];
            while (*t)
                t = &(*t)->chain;
            v->chain = NULL;
            *t = v;
            v = next;
        }
    }
    sh_free(s, a->bucket, a->nbucket * sizeof(*a->bucket));
    a->bucket = b;
    a->nbucket = n;
    return 0;
}

static bool sh_val_is(const sh_val *v, uint64_t h, const sh_piece *p,
                      size_t n)
{
    if (v->hash != h || v->n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v->p[i].start != p[i].start || v->p[i].end != p[i].end ||
            !sh_piece_same(&v->p[i], &p[i]))
            return false;
    return true;
}

/* Merge equal neighbours of p[0..n) into the aux canon array: its length. */
static size_t sh_canon(sh_aux *a, const sh_piece *p, size_t n, uint64_t *h)
{
    size_t m = 0;

    for (size_t i = 0; i < n; i++) {
        assert(p[i].start < p[i].end && p[i].end <= SH_SECTOR);
        assert(i == 0 ? p[i].start == 0 : p[i].start == p[i - 1].end);
        if (m > 0 && sh_piece_same(&a->canon[m - 1], &p[i]))
            a->canon[m - 1].end = p[i].end;
        else
            a->canon[m++] = p[i];
    }
    assert(m > 0 && a->canon[m - 1].end == SH_SECTOR);
    *h = 0x5348u;
    for (size_t i = 0; i < m; i++)
        *h = sh_piece_hash(*h, &a->canon[i]);
    return m;
}

sh_val *sh_val_new(shadow *s, const sh_piece *p, size_t n)
{
    sh_aux *a = sh_aux_get(s);
    uint64_t h;

    if (!a || sh_reserve(s, (void **)&a->canon, &a->capcanon, n,
                         sizeof(*a->canon)) < 0)
        goto nomem;
    size_t m = sh_canon(a, p, n, &h);
    s->work += m;
    if (a->nvals >= a->nbucket && sh_table_grow(s, a) < 0)
        goto nomem;
    sh_val **t = &a->bucket[h & (a->nbucket - 1)];
    for (; *t; t = &(*t)->chain) {
        s->work++;
        if (sh_val_is(*t, h, a->canon, m)) {
            (*t)->refs++;
            return *t;
        }
    }
    sh_val *v = sh_alloc(s, sh_val_bytes(m));
    if (!v)
        goto nomem;
    memset(v, 0, sizeof(*v));
    v->refs = 1;
    v->n = (uint16_t)m;
    v->hash = h;
    memcpy(v->p, a->canon, m * sizeof(*v->p));
    for (size_t i = 0; i < m; i++) {
        v->backed |= v->p[i].backing != 0;
        v->wild |= v->p[i].wild != 0;
    }
    *t = v;
    a->nvals++;
    return v;
nomem:
    if (a && a->nvals == 0)
        sh_aux_free(s);
    return NULL;
}

void sh_val_unref(shadow *s, sh_val *v)
{
    if (!v || --v->refs > 0)
        return;
    sh_aux *a = s->aux;
    sh_val **t = &a->bucket[v->hash & (a->nbucket - 1)];
    while (*t != v)
        t = &(*t)->chain;
    *t = v->chain;
    sh_free(s, v, sh_val_bytes(v->n));
    if (--a->nvals == 0)
        sh_aux_free(s);
}
