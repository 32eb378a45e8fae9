/*
 * checker_count.c - the comparison phase of the qcow2 checker: stored
 * refcounts against the references chk_refs found (qemu-img check's
 * compare_refcounts and check_oflag_copied), plus overlaps of fixed-place
 * metadata.
 *
 * The references are sorted by cluster; the refcount blocks are walked in
 * refcount-table order, which is also ascending cluster order, and the two
 * are merged. So each refcount block is read once (ctx.cbuf caches the
 * last one), findings come out in cluster order, and the work is bounded by
 * the references plus the refcount blocks that cover the file (ctx.limit).
 *
 * Per cluster below ctx.limit: stored < references -> CHK_REFCOUNT_LOW
 * (corruption), stored > references -> CHK_LEAK. A refcount block whose
 * offset is unaligned cannot be read (QEMU: "Can't get refcount"): the
 * clusters it covers are skipped and the report is marked incomplete.
 */
#include "checker_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int chk_cmp_ref(const void *pa, const void *pb)
{
    const chk_ref *a = pa, *b = pb;
    if (a->cluster != b->cluster)
        return a->cluster < b->cluster ? -1 : 1;
    if (a->what != b->what)
        return a->what < b->what ? -1 : 1;
    if (a->where != b->where)
        return a->where < b->where ? -1 : 1;
    if (a->mult != b->mult)
        return a->mult < b->mult ? -1 : 1;
    return (a->flags > b->flags) - (a->flags < b->flags);
}

/* Insertion sort: the groups a counting sort leaves are of one or two. */
static void chk_isort(chk_ref *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        chk_ref x = v[i];
        size_t j = i;
        for (; j > 0 && chk_cmp_ref(&v[j - 1], &x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/*
 * Sorts c->refs into chk_cmp_ref's order. Cluster indices of a sane image
 * are dense (below the file's cluster count), so a counting sort on the
 * cluster, then an insertion sort of each cluster's few records, does in
 * linear time what qsort does in n log n (the sort was a fuzz campaign's
 * largest checker cost). A hostile image with far-flung indices falls back
 * to qsort. Either way the order is the total order of chk_cmp_ref, so the
 * reports are the same. -ENOMEM leaves refs as they were.
 */
static int chk_sort_refs(chk_ctx *c)
{
    size_t n = c->n_refs;
    uint64_t top = 0;

    for (size_t i = 0; i < n; i++)
        top = c->refs[i].cluster > top ? c->refs[i].cluster : top;
    if (n < 2 || top > 4 * (uint64_t)n + 4096) {
        qsort(c->refs, n, sizeof(chk_ref), chk_cmp_ref);
        return 0;
    }
    size_t *at = calloc((size_t)top + 2, sizeof(*at));
    chk_ref *out = malloc(n * sizeof(*out));
    if (!at || !out) {
        free(at);
        free(out);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        at[c->refs[i].cluster + 1]++;
    for (uint64_t k = 1; k <= top + 1; k++)
        at[k] += at[k - 1];
    for (size_t i = 0; i < n; i++)
        out[at[c->refs[i].cluster]++] = c->refs[i];
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && out[j].cluster == out[i].cluster; j++)
            ;
        chk_isort(out + i, j - i);
    }
    memcpy(c->refs, out, n * sizeof(*out));
    free(out);
    free(at);
    return 0;
}

/* Refcount j of a refcount block (refcount_order 0..6, big endian). */
static uint64_t chk_rc_get(const chk_ctx *c, uint64_t j)
{
    unsigned order = c->refcount_order;
    if (order < 3) {
        uint64_t bit = j << order;
        unsigned mask = (1u << (1u << order)) - 1;
        return (uint64_t)(c->cbuf[bit >> 3] >> (bit & 7)) & mask;
    }
    unsigned bytes = 1u << (order - 3);
    return chk_be(c->cbuf + j * bytes, bytes);
}

/* The refcount table entry's block offset, or 0 when there is none. */
static uint64_t chk_rt_block(const chk_ctx *c, uint64_t idx)
{
    return idx < c->rt_loaded ? c->rt[idx] & CHK_REFT_OFFSET_MASK : 0;
}

/* A block QEMU cannot read: unaligned, or past what a file offset can be. */
static bool chk_unreadable(const chk_ctx *c, uint64_t off)
{
    return (off & (c->cs - 1)) || off > (uint64_t)INT64_MAX - c->cs;
}

/* Make cbuf hold refcount block idx, whose offset off is aligned. */
static int chk_load_block(chk_ctx *c, uint64_t idx, uint64_t off)
{
    if (c->rb_valid && c->rb_index == idx)
        return 0;
    c->rb_valid = false;
    int ret = chk_read(c, off, c->cbuf, c->cs);
    if (ret < 0)
        return ret;
    c->rb_index = idx;
    c->rb_valid = true;
    return 0;
}

/* The stored refcount of a cluster: 0 and *v, 1 unreadable, or -errno. */
static int chk_stored(chk_ctx *c, uint64_t cluster, uint64_t *v)
{
    unsigned shift = c->cluster_bits + 3 - c->refcount_order;
    uint64_t idx = cluster >> shift;
    uint64_t off = chk_rt_block(c, idx);

    *v = 0;
    if (off == 0)
        return 0;
    if (chk_unreadable(c, off))
        return 1;
    int ret = chk_load_block(c, idx, off);
    if (ret < 0)
        return ret;
    *v = chk_rc_get(c, cluster & (c->rb_entries - 1));
    return 0;
}

static void chk_mark_used(chk_ctx *c, uint64_t cluster)
{
    if (cluster + 1 > c->end_cluster)
        c->end_cluster = cluster + 1;
}

/* One cluster's records and what is known of it. */
typedef struct chk_grp {
    const chk_ref *g; /* the records, sorted */
    size_t n;
    uint64_t refs;   /* counted references */
    uint64_t stored; /* stored refcount, when known */
    bool known;      /* false: its refcount block is unreadable */
    bool fixed;      /* a counted record of fixed-place metadata */
    bool refblock;   /* a counted record of a refcount block */
} chk_grp;

/* Text naming a group's first two counted users, for messages only. */
typedef struct chk_users {
    char s[72];
} chk_users;

static bool chk_fixed_place(const chk_ref *x)
{
    return x->what == CHK_REF_HEADER || x->what == CHK_REF_L1 ||
           x->what == CHK_REF_REFTABLE || x->what == CHK_REF_REFBLOCK;
}

/* Sums the group's references. */
static void chk_grp_scan(chk_grp *gr)
{
    for (size_t i = 0; i < gr->n; i++) {
        const chk_ref *x = &gr->g[i];
        if (!(x->flags & CHK_RF_COUNTED))
            continue;
        gr->refs += x->mult;
        gr->fixed |= chk_fixed_place(x);
        gr->refblock |= x->what == CHK_REF_REFBLOCK;
    }
}

/* Names the group's first two counted users (the first record when none
 * is counted). Called only when a finding is reported: formatting text
 * for every cluster of every checked image is a fuzz campaign's cost. */
static const char *chk_grp_users(const chk_grp *gr, chk_users *u)
{
    size_t named = 0, at = 0;

    for (size_t i = 0; i < gr->n && named < 2 && at < sizeof(u->s); i++) {
        const chk_ref *x = &gr->g[i];
        if (!(x->flags & CHK_RF_COUNTED))
            continue;
        at += (size_t)snprintf(u->s + at, sizeof(u->s) - at, "%s%s (0x%llx)",
                               named++ ? ", " : "", chk_what_name(x->what),
                               (unsigned long long)x->where);
    }
    if (!named)
        snprintf(u->s, sizeof(u->s), "%s (0x%llx)", chk_what_name(gr->g->what),
                 (unsigned long long)gr->g->where);
    return u->s;
}

/*
 * Fixed-place metadata (header, L1 table, refcount table and blocks) is
 * written in place, never copied on write, so it can share its cluster with
 * nothing. QEMU reports this for refcount blocks only; the checker for all,
 * but where the refcount comparison already reports the cluster it adds
 * nothing (so the counts stay QEMU's).
 */
static void chk_overlap(chk_ctx *c, const chk_grp *gr)
{
    if (!gr->fixed || gr->refs < 2)
        return;
    if (!gr->refblock && gr->known && gr->stored < gr->refs)
        return;
    uint64_t k = gr->g->cluster;
    chk_users u;
    chk_found(c, CHK_OVERLAP, gr->refs - 1, k << c->cluster_bits,
              "cluster %llu (0x%llx) has %llu users: %s", (unsigned long long)k,
              (unsigned long long)(k << c->cluster_bits),
              (unsigned long long)gr->refs, chk_grp_users(gr, &u));
}

/* OFLAG_COPIED of the L1 / L2 entries referencing one cluster. */
static void chk_oflag(chk_ctx *c, const chk_grp *gr)
{
    for (size_t i = 0; i < gr->n; i++) {
        const chk_ref *x = &gr->g[i];
        if (!(x->flags & CHK_RF_OFLAG))
            continue;
        bool copied = (x->flags & CHK_RF_COPIED) != 0;
        if (copied == (gr->stored == 1))
            continue;
        chk_found(c, CHK_OFLAG_COPIED, x->mult, x->where,
                  "%s entry at 0x%llx: OFLAG_COPIED is %s but the %s at "
                  "0x%llx has refcount %llu",
                  x->what == CHK_REF_L2 ? "L1" : "L2",
                  (unsigned long long)x->where, copied ? "set" : "clear",
                  chk_what_name(x->what),
                  (unsigned long long)(x->cluster << c->cluster_bits),
                  (unsigned long long)gr->stored);
    }
}

/* Why a referenced cluster has a low refcount, when the table says so. */
static const char *chk_low_why(const chk_ctx *c, uint64_t cluster)
{
    uint64_t idx = cluster >> (c->cluster_bits + 3 - c->refcount_order);
    if (idx >= c->rt_entries)
        return "; beyond the refcount table";
    return chk_rt_block(c, idx) ? "" : "; in no refcount block";
}

/* Stored refcount against references, for a cluster below ctx.limit. */
static void chk_judge(chk_ctx *c, const chk_grp *gr)
{
    uint64_t k = gr->g->cluster, off = k << c->cluster_bits;
    unsigned long long st = gr->stored, refs = gr->refs;
    chk_users u;

    if (st || refs)
        chk_mark_used(c, k);
    if (st < refs)
        chk_found(c, CHK_REFCOUNT_LOW, 1, off,
                  "cluster %llu (0x%llx): refcount %llu < %llu references: "
                  "%s%s",
                  (unsigned long long)k, (unsigned long long)off, st, refs,
                  chk_grp_users(gr, &u), chk_low_why(c, k));
    else if (st > refs)
        chk_found(c, CHK_LEAK, 1, off,
                  "cluster %llu (0x%llx): refcount %llu > %llu references: "
                  "%s",
                  (unsigned long long)k, (unsigned long long)off, st, refs,
                  chk_grp_users(gr, &u));
}

/* All records of the cluster refs[*pr] points at; advances *pr past them. */
static int chk_group(chk_ctx *c, size_t *pr)
{
    chk_grp gr = {.g = &c->refs[*pr]};

    while (*pr + gr.n < c->n_refs && gr.g[gr.n].cluster == gr.g->cluster)
        gr.n++;
    *pr += gr.n;
    chk_grp_scan(&gr);
    int ret = chk_stored(c, gr.g->cluster, &gr.stored);
    if (ret < 0)
        return ret;
    gr.known = ret == 0;
    chk_overlap(c, &gr);
    if (!gr.known) {
        c->r->incomplete = true;
        return 0;
    }
    if (gr.g->cluster < c->limit)
        chk_judge(c, &gr);
    chk_oflag(c, &gr);
    return 0;
}

/* Refcount block idx (aligned, inside the file): merge with references. */
static int chk_scan_block(chk_ctx *c, uint64_t idx, uint64_t off, size_t *pr)
{
    uint64_t base = idx * c->rb_entries;
    uint64_t end =
        c->limit - base < c->rb_entries ? c->limit : base + c->rb_entries;
    int ret = chk_load_block(c, idx, off);

    for (uint64_t k = base; ret == 0 && k < end; k++) {
        if (*pr < c->n_refs && c->refs[*pr].cluster == k) {
            ret = chk_group(c, pr);
            continue;
        }
        uint64_t v = chk_rc_get(c, k - base);
        if (v == 0)
            continue;
        chk_mark_used(c, k);
        chk_found(c, CHK_LEAK, 1, k << c->cluster_bits,
                  "cluster %llu (0x%llx): refcount %llu > 0 references",
                  (unsigned long long)k,
                  (unsigned long long)(k << c->cluster_bits),
                  (unsigned long long)v);
    }
    return ret;
}

int chk_compare(chk_ctx *c)
{
    size_t r = 0;
    int ret = 0;

    if (chk_sort_refs(c) < 0)
        return -ENOMEM;
    c->rb_valid = false; /* cbuf held tables until now */
    uint64_t blocks = (c->limit + c->rb_entries - 1) / c->rb_entries;
    if (blocks > c->rt_loaded)
        blocks = c->rt_loaded;
    for (uint64_t i = 0; ret == 0 && i < blocks; i++) {
        while (ret == 0 && r < c->n_refs &&
               c->refs[r].cluster < i * c->rb_entries)
            ret = chk_group(c, &r);
        uint64_t off = chk_rt_block(c, i);
        if (ret < 0 || off == 0)
            continue;
        if (chk_unreadable(c, off))
            c->r->incomplete = true; /* unreadable refcounts */
        else if (off < c->flen)      /* past EOF, a block reads as zeroes */
            ret = chk_scan_block(c, i, off, &r);
    }
    while (ret == 0 && r < c->n_refs)
        ret = chk_group(c, &r);
    c->r->image_end = (c->end_cluster ? c->end_cluster : 1) << c->cluster_bits;
    return ret;
}
