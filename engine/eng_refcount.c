/*
 * eng_refcount.c - refcounts: reading and updating them, allocating and
 * freeing clusters, creating refcount blocks and growing the refcount
 * table (after the facts of QEMU's qcow2-refcount.c).
 *
 * Invariants:
 *   - A cluster is handed out only when its refcount is 0, no guest I/O
 *     is using it (e->busy), and every refcount block that will count it
 *     exists: coverage is ensured before counting, so counting never
 *     needs to allocate.
 *   - A refcount block is on the host before the refcount table points at
 *     it; a new block counts itself when it lies in its own range,
 *     otherwise it is counted (and that count flushed) before hookup.
 *   - A grown refcount table, with the new blocks that cover it, is
 *     written and flushed before the header switches to it; the old table
 *     is freed only after the switch.
 *   - A cluster freed since the last L2 write-back is not handed out
 *     before the L2 tables that dropped it are on the host (the refcount
 *     cache's dependency on the L2 cache is flushed first), so a crash can
 *     never leave an old L2 entry pointing at a reused cluster.
 *   - Clusters beyond the refcount table's coverage have refcount 0 and
 *     nothing in use lies there (growth places its area there).
 */
#include <stdlib.h>

#include "eng_internal.h"

#define MAX_HOST_CLUSTER_BITS 56 /* offsets fit in the entries' bits 9..55 */

static uint64_t max_cluster(const eng *e)
{
    return (UINT64_C(1) << MAX_HOST_CLUSTER_BITS) >> e->cluster_bits;
}

uint64_t eng_refcount_coverage(const eng *e)
{
    return e->rt_entries << e->rb_bits;
}

static uint64_t rb_get(const eng *e, const uint8_t *blk, uint64_t i)
{
    unsigned order = e->refcount_order;
    if (order < 3) {
        unsigned bits = 1u << order, per = 8u / bits;
        return (uint64_t)(blk[i / per] >> ((i % per) * bits)) &
               ((1u << bits) - 1);
    }
    switch (order) {
    case 3: return blk[i];
    case 4: return eng_be16(blk + i * 2);
    case 5: return eng_be32(blk + i * 4);
    default: return eng_be64(blk + i * 8);
    }
}

void eng_rb_set(unsigned order, uint8_t *blk, uint64_t i, uint64_t v)
{
    if (order < 3) {
        unsigned bits = 1u << order, per = 8u / bits;
        unsigned shift = (unsigned)(i % per) * bits;
        uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);
        blk[i / per] = (uint8_t)((blk[i / per] & ~mask) | ((v << shift) & mask));
        return;
    }
    switch (order) {
    case 3: blk[i] = (uint8_t)v; break;
    case 4: eng_put16(blk + i * 2, (uint16_t)v); break;
    case 5: eng_put32(blk + i * 4, (uint32_t)v); break;
    default: eng_put64(blk + i * 8, v); break;
    }
}

static uint64_t refcount_max(const eng *e)
{
    unsigned bits = 1u << e->refcount_order;
    return bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

/* The refcount block offset for table index rti (0: none). */
static int block_offset(eng *e, uint64_t rti, uint64_t *out)
{
    *out = 0;
    if (rti >= e->rt_entries)
        return 0;
    uint64_t ent = e->rt_table[rti];
    uint64_t off = ent & REFT_OFFSET_MASK;
    if ((ent & REFT_RESERVED) || off % e->cluster_size ||
        (off >> e->cluster_bits) >= eng_refcount_coverage(e)) {
        eng_set_err(e, "refcount table entry %llu: 0x%llx is misaligned, "
                    "has reserved bits or lies out of range",
                    (unsigned long long)rti, (unsigned long long)ent);
        return -EIO;
    }
    *out = off;
    return 0;
}

int eng_refcount_co_get(eng *e, uint64_t cluster, uint64_t *out)
{
    uint64_t rbo;
    int ret = block_offset(e, cluster >> e->rb_bits, &rbo);
    *out = 0;
    if (ret < 0 || rbo == 0)
        return ret;
    uint8_t *blk;
    ret = eng_cache_co_get(e->rb_cache, rbo, &blk);
    if (ret < 0)
        return ret;
    *out = rb_get(e, blk, cluster & ((UINT64_C(1) << e->rb_bits) - 1));
    eng_cache_put(e->rb_cache, &blk);
    return 0;
}

/* ---- guest I/O in flight ----------------------------------------------- */

void eng_busy_begin(eng *e, eng_busy *b, uint64_t off, uint64_t len)
{
    b->start = off;
    b->end = off + len;
    b->prev = NULL;
    b->next = e->busy;
    if (e->busy)
        e->busy->prev = b;
    e->busy = b;
}

void eng_busy_end(eng *e, eng_busy *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        e->busy = b->next;
    if (b->next)
        b->next->prev = b->prev;
}

static bool busy_cluster(const eng *e, uint64_t idx)
{
    /*
     * Mutant discard_inflight (QEMU qcow2 until the 2021 qemu-devel series
     * "qcow2: fix parallel rewrite and discard", Vladimir
     * Sementsov-Ogievskiy, iotest qcow2-discard-during-rewrite): nothing
     * counted in-flight guest I/O per host cluster, so a cluster a discard
     * had freed under a rewrite still in flight was handed out again.
     */
    if (eng_mutant_on(e, ENG_MUT_DISCARD_INFLIGHT))
        return false;
    uint64_t lo = idx << e->cluster_bits, hi = lo + e->cluster_size;
    for (const eng_busy *b = e->busy; b; b = b->next)
        if (b->start < hi && lo < b->end)
            return true;
    return false;
}

/* ---- counting ------------------------------------------------------------ */

/* Add addend to the refcount of clusters [idx0, idx0 + n), whose blocks
 * exist. On failure the part already done is undone (best effort). */
static int update_co(eng *e, uint64_t idx0, uint64_t n, int addend)
{
    int ret = 0;
    uint64_t done = 0, mask = (UINT64_C(1) << e->rb_bits) - 1;
    if (addend < 0)
        ret = eng_cache_co_set_dependency(e->rb_cache, e->l2_cache);
    for (; ret == 0 && done < n; done++) {
        uint64_t idx = idx0 + done, rbo;
        uint8_t *blk;
        ret = block_offset(e, idx >> e->rb_bits, &rbo);
        if (ret == 0 && rbo == 0) {
            eng_set_err(e, "cluster 0x%llx has no refcount block",
                        (unsigned long long)(idx << e->cluster_bits));
            ret = -EIO;
        }
        if (ret == 0)
            ret = eng_cache_co_get(e->rb_cache, rbo, &blk);
        if (ret < 0)
            break;
        uint64_t v = rb_get(e, blk, idx & mask);
        if ((addend < 0 && v == 0) || (addend > 0 && v == refcount_max(e))) {
            eng_cache_put(e->rb_cache, &blk);
            eng_set_err(e, "refcount of cluster 0x%llx would %s",
                        (unsigned long long)(idx << e->cluster_bits),
                        addend < 0 ? "drop below 0" : "overflow");
            ret = addend < 0 ? -EIO : -ERANGE;
            break;
        }
        v = addend < 0 ? v - 1 : v + 1;
        eng_rb_set(e->refcount_order, blk, idx & mask, v);
        eng_cache_mark_dirty(e->rb_cache, blk);
        eng_cache_put(e->rb_cache, &blk);
        if (v == 0) {
            if (idx < e->free_hint)
                e->free_hint = idx;
            eng_cache_discard(e->l2_cache, idx << e->cluster_bits);
            eng_cache_discard(e->rb_cache, idx << e->cluster_bits);
        }
    }
    if (ret < 0 && done > 0 && addend > 0)
        (void)update_co(e, idx0, done, -addend);
    return ret;
}

/* ---- finding free clusters ---------------------------------------------- */

/* The header, L1 table and refcount table are never handed out, whatever
 * a (corrupt) refcount says: QEMU refuses such allocations too. */
static bool fixed_metadata(const eng *e, uint64_t idx)
{
    uint64_t l1 = e->l1_offset >> e->cluster_bits;
    uint64_t l1n = (e->l1_size * 8 + e->cluster_size - 1) >> e->cluster_bits;
    uint64_t rt = e->rt_offset >> e->cluster_bits;
    return idx == 0 || (idx >= l1 && idx - l1 < l1n) ||
           (idx >= rt && idx - rt < e->rt_clusters);
}

static bool cluster_free(const eng *e, uint64_t idx, uint64_t rc)
{
    return rc == 0 && !fixed_metadata(e, idx) && !busy_cluster(e, idx);
}

/* Refcounts of ascending clusters, the current refcount block held
 * between calls: the free-cluster search reads one entry after another,
 * and a cache lookup per entry was the search's whole cost. Only the
 * lookup of a new block may yield, and the held block is put back before
 * it, so which blocks the cache keeps is what one lookup per entry keeps. */
typedef struct rc_cursor {
    uint64_t rti; /* table index of blk (valid while have) */
    uint8_t *blk; /* NULL: no block there, every refcount is 0 */
    bool have;
} rc_cursor;

static int cursor_co_get(eng *e, rc_cursor *k, uint64_t cluster,
                         uint64_t *out)
{
    uint64_t rti = cluster >> e->rb_bits, rbo;

    if (!k->have || k->rti != rti) {
        if (k->blk)
            eng_cache_put(e->rb_cache, &k->blk);
        k->have = false;
        int ret = block_offset(e, rti, &rbo);
        if (ret == 0 && rbo)
            ret = eng_cache_co_get(e->rb_cache, rbo, &k->blk);
        if (ret < 0)
            return ret;
        k->rti = rti;
        k->have = true;
    }
    *out = k->blk ? rb_get(e, k->blk,
                           cluster & ((UINT64_C(1) << e->rb_bits) - 1))
                  : 0;
    return 0;
}

static void cursor_put(eng *e, rc_cursor *k)
{
    if (k->blk)
        eng_cache_put(e->rb_cache, &k->blk);
}

static int find_free_co(eng *e, uint64_t n, uint64_t *out)
{
    /* freed clusters may be handed out only once the L2 tables that
     * dropped them are on the host */
    int ret = eng_cache_co_flush_dependency(e->rb_cache);
    if (ret < 0)
        return ret;
    uint64_t idx = e->free_hint, start = 0, run = 0, first_free = UINT64_MAX;
    uint64_t first_busy = UINT64_MAX;
    rc_cursor k = {0};
    while (run < n) {
        if (idx >= max_cluster(e)) {
            cursor_put(e, &k);
            eng_set_err(e, "no free host cluster below 2^56");
            return -ENOSPC;
        }
        uint64_t rc;
        ret = cursor_co_get(e, &k, idx, &rc);
        if (ret < 0)
            return ret;
        bool busy = rc == 0 && busy_cluster(e, idx);
        if (cluster_free(e, idx, rc)) {
            if (run++ == 0)
                start = idx;
            if (first_free == UINT64_MAX)
                first_free = idx;
        } else {
            run = 0;
            if (busy && first_busy == UINT64_MAX)
                first_busy = idx;
        }
        idx++;
    }
    cursor_put(e, &k);
    /* the caller may not use the run; busy clusters free up later */
    e->free_hint = eng_min(first_free, first_busy);
    *out = start;
    return 0;
}

static int grow_table_co(eng *e, uint64_t min_entries);

/* Refcount block for table index rti exists afterwards (QEMU's
 * alloc_refcount_block). */
static int ensure_block_co(eng *e, uint64_t rti, int depth);

static int hookup_co(eng *e, uint64_t rti, uint64_t b)
{
    uint8_t ent[8];
    eng_put64(ent, b << e->cluster_bits);
    int ret = eng_co_hwrite_sync(e, ENG_EV_REFBLOCK_ALLOC_HOOKUP,
                                 e->rt_offset + rti * 8, ent, 8);
    if (ret == 0)
        e->rt_table[rti] = b << e->cluster_bits;
    return ret;
}

/*
 * Mutant refblock_noref (QEMU before commit 92dcb59f, "qcow2: Rewrite
 * alloc_refcount_block/grow_refcount_table", 2010): a new refcount block
 * was allocated without a reference (alloc_clusters_noref), written, hooked
 * into the refcount table, and only then counted; an error or a crash in
 * between left a used refcount block at refcount 0.
 */
static bool block_noref(const eng *e)
{
    return eng_mutant_on(e, ENG_MUT_REFBLOCK_NOREF);
}

/* Write a new refcount block at cluster b for table index rti; self: b
 * lies in the range it counts (otherwise b is counted already). */
static int create_block_co(eng *e, uint64_t rti, uint64_t b, bool self)
{
    uint64_t off = b << e->cluster_bits;
    uint8_t *blk;
    int ret = 0;
    if (!self && !block_noref(e))
        ret = eng_cache_co_flush(e->rb_cache); /* b's own count first */
    if (ret == 0)
        ret = eng_cache_co_get_empty(e->rb_cache, off, &blk);
    if (ret < 0)
        return ret;
    memset(blk, 0, e->cluster_size);
    if (self && !block_noref(e))
        eng_rb_set(e->refcount_order, blk, b & ((UINT64_C(1) << e->rb_bits) - 1), 1);
    eng_cache_mark_dirty(e->rb_cache, blk);
    eng_cache_put(e->rb_cache, &blk);
    ret = eng_co_ev(e, ENG_EV_REFBLOCK_ALLOC_WRITE);
    if (ret == 0)
        ret = eng_cache_co_flush(e->rb_cache);
    if (ret == 0)
        ret = hookup_co(e, rti, b);
    if (ret < 0) {
        eng_cache_discard(e->rb_cache, off); /* leaked if counted elsewhere */
        return ret;
    }
    return block_noref(e) ? update_co(e, b, 1, +1) : 0;
}

static int ensure_block_co(eng *e, uint64_t rti, int depth)
{
    if (depth > 8) {
        eng_set_err(e, "refcount block allocation does not converge");
        return -EIO;
    }
    int ret = eng_co_ev(e, ENG_EV_REFBLOCK_ALLOC);
    while (ret == 0) {
        uint64_t rbo, b, bb;
        if (rti >= e->rt_entries) {
            ret = grow_table_co(e, rti + 1);
            continue;
        }
        ret = block_offset(e, rti, &rbo);
        if (ret < 0 || rbo)
            return ret;
        ret = find_free_co(e, 1, &b);
        if (ret < 0)
            return ret;
        uint64_t bti = b >> e->rb_bits;
        if (bti == rti)
            return create_block_co(e, rti, b, true);
        ret = block_offset(e, bti, &bb);
        if (ret < 0)
            return ret;
        if (bb == 0) {
            /* b's own block is missing too: make it, then look again */
            ret = ensure_block_co(e, bti, depth + 1);
            continue;
        }
        if (!block_noref(e))
            ret = update_co(e, b, 1, +1);
        if (ret == 0)
            ret = create_block_co(e, rti, b, false);
        return ret;
    }
    return ret;
}

/* Make every block that counts [idx, idx + n) exist; *changed tells
 * whether anything was allocated (the caller then looks again). */
static int ensure_covered_co(eng *e, uint64_t idx, uint64_t n, bool *changed)
{
    *changed = false;
    uint64_t last = (idx + n - 1) >> e->rb_bits;
    for (uint64_t rti = idx >> e->rb_bits; rti <= last; rti++) {
        uint64_t rbo;
        int ret = block_offset(e, rti, &rbo);
        if (ret < 0)
            return ret;
        if (rbo == 0) {
            *changed = true;
            return ensure_block_co(e, rti, 0);
        }
    }
    return 0;
}

/* ---- refcount table growth ---------------------------------------------- */

/* Sizes of the growth area: nb new blocks then tc table clusters, placed
 * at the first cluster the old table cannot cover. */
static int plan_growth(eng *e, uint64_t min_entries, uint64_t *entries,
                       uint64_t *nb, uint64_t *tc)
{
    uint64_t cpe = e->cluster_size / 8, rbe = UINT64_C(1) << e->rb_bits;
    uint64_t n = eng_max(min_entries, e->rt_entries + e->rt_entries / 2);
    n = eng_align_up(n, cpe);
    for (;;) {
        *tc = n / cpe;
        *nb = 1;
        while (*nb * rbe < *nb + *tc)
            (*nb)++;
        if (e->rt_entries + *nb <= n)
            break;
        n = eng_align_up(e->rt_entries + *nb, cpe);
    }
    if (n * 8 > ENG_MAX_REFTABLE_BYTES ||
        eng_refcount_coverage(e) + *nb + *tc > max_cluster(e)) {
        eng_set_err(e, "refcount table cannot grow to %llu entries",
                    (unsigned long long)n);
        return -EFBIG;
    }
    *entries = n;
    return 0;
}

static int write_growth_co(eng *e, uint64_t area, uint64_t entries,
                           uint64_t nb, uint64_t tc, uint64_t *table)
{
    uint64_t cs = e->cluster_size, rbmask = (UINT64_C(1) << e->rb_bits) - 1;
    uint8_t *blocks = calloc(nb, cs), *tab = calloc(tc, cs);
    int ret = -ENOMEM;
    if (!blocks || !tab)
        goto out;
    for (uint64_t c = 0; c < nb + tc; c++)
        eng_rb_set(e->refcount_order, blocks + (c >> e->rb_bits) * cs, c & rbmask, 1);
    for (uint64_t i = 0; i < entries; i++)
        eng_put64(tab + i * 8, table[i]);
    ret = eng_co_hwrite(e, ENG_EV_REFBLOCK_ALLOC_WRITE_BLOCKS,
                        area << e->cluster_bits, blocks, nb * cs);
    if (ret == 0)
        ret = eng_co_hwrite_sync(e, ENG_EV_REFBLOCK_ALLOC_WRITE_TABLE,
                                 (area + nb) << e->cluster_bits, tab, tc * cs);
    if (ret == 0) {
        uint8_t hdr[12];
        eng_put64(hdr, (area + nb) << e->cluster_bits);
        eng_put32(hdr + 8, (uint32_t)tc);
        ret = eng_co_hwrite_sync(e, ENG_EV_REFBLOCK_ALLOC_SWITCH_TABLE,
                                 HDR_REFT_OFF, hdr, sizeof(hdr));
    }
out:
    free(blocks);
    free(tab);
    return ret;
}

static int grow_table_co(eng *e, uint64_t min_entries)
{
    uint64_t entries = 0, nb = 0, tc = 0;
    int ret = eng_co_ev(e, ENG_EV_REFTABLE_GROW);
    if (ret == 0)
        ret = plan_growth(e, min_entries, &entries, &nb, &tc);
    if (ret < 0)
        return ret;
    uint64_t area = eng_refcount_coverage(e);
    uint64_t *table = calloc(entries, sizeof(uint64_t));
    if (!table)
        return -ENOMEM;
    memcpy(table, e->rt_table, e->rt_entries * 8);
    for (uint64_t i = 0; i < nb; i++)
        table[e->rt_entries + i] = (area + i) << e->cluster_bits;
    ret = write_growth_co(e, area, entries, nb, tc, table);
    if (ret < 0) {
        free(table); /* nothing points at the area: nothing to undo */
        return ret;
    }
    uint64_t old_off = e->rt_offset, old_clusters = e->rt_clusters;
    free(e->rt_table);
    e->rt_table = table;
    e->rt_entries = entries;
    e->rt_offset = (area + nb) << e->cluster_bits;
    e->rt_clusters = tc;
    /* a failure here only leaks the old table */
    (void)update_co(e, old_off >> e->cluster_bits, old_clusters, -1);
    return 0;
}

/* ---- allocation interface ------------------------------------------------ */

static int count_free_at_co(eng *e, uint64_t idx, uint64_t n, uint64_t *got)
{
    int ret = eng_cache_co_flush_dependency(e->rb_cache);
    uint64_t k = 0;
    for (; ret == 0 && k < n && idx + k < max_cluster(e); k++) {
        uint64_t rc;
        ret = eng_refcount_co_get(e, idx + k, &rc);
        if (ret < 0 || !cluster_free(e, idx + k, rc))
            break;
    }
    *got = k;
    return ret;
}

/* Count up to n free clusters: a run anywhere (at == UINT64_MAX), or the
 * free ones starting exactly at cluster `at`. Finding, then making sure
 * blocks cover the run, starts over whenever covering allocated. */
static int alloc_co(eng *e, uint64_t at, uint64_t n, uint64_t *idx,
                    uint64_t *got)
{
    int ret = eng_co_ev(e, ENG_EV_CLUSTER_ALLOC);
    *got = 0;
    while (ret == 0) {
        bool changed = false;
        uint64_t k = n;
        *idx = at;
        if (at == UINT64_MAX)
            ret = find_free_co(e, n, idx);
        else
            ret = count_free_at_co(e, at, n, &k);
        if (ret < 0 || k == 0)
            return ret;
        ret = ensure_covered_co(e, *idx, k, &changed);
        if (ret < 0 || changed)
            continue;
        ret = update_co(e, *idx, k, +1);
        if (ret == 0)
            *got = k;
        return ret;
    }
    return ret;
}

int eng_refcount_co_alloc(eng *e, uint64_t n, uint64_t *off)
{
    uint64_t idx, got;
    assert(n > 0);
    int ret = alloc_co(e, UINT64_MAX, n, &idx, &got);
    if (ret == 0)
        *off = idx << e->cluster_bits;
    return ret;
}

int eng_refcount_co_alloc_at(eng *e, uint64_t off, uint64_t n, uint64_t *got)
{
    uint64_t idx;
    assert(off % e->cluster_size == 0);
    return alloc_co(e, off >> e->cluster_bits, n, &idx, got);
}

int eng_refcount_co_free(eng *e, uint64_t off, uint64_t len)
{
    if (len == 0)
        return 0;
    int ret = eng_co_ev(e, ENG_EV_CLUSTER_FREE);
    if (ret < 0)
        return ret;
    uint64_t first = off >> e->cluster_bits;
    uint64_t last = (off + len - 1) >> e->cluster_bits;
    return update_co(e, first, last - first + 1, -1);
}
