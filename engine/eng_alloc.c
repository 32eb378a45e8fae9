/*
 * eng_alloc.c - host clusters for guest writes: in-place runs, new
 * allocations with their copy-on-write regions, the list of in-flight
 * allocations that overlapping requests wait on, and linking the new
 * clusters into L2 once the data is written (after the facts of QEMU's
 * qcow2_alloc_host_offset, handle_dependencies, handle_copied,
 * handle_alloc and qcow2_alloc_cluster_link_l2).
 *
 * Invariants:
 *   - Every new allocation is an eng_l2meta on e->allocs from the moment
 *     its clusters are counted until its L2 entries are linked (or the
 *     allocation is undone); a request whose range or COW regions overlap
 *     one on the list waits for it (unless the alloc_no_serialize mutant
 *     is on), and a request that already holds allocations never waits.
 *   - COW (eng_cow.c) is done before the L2 entries change; the guest
 *     data goes to the host first on its own, or with the COW regions in
 *     one write when it borders them (eng_cow_merge_data).
 *   - An L2 entry is linked only after the data it maps was written; the
 *     L2 cache then depends on the refcount cache (new counts first) and
 *     on a host flush (the data first), so a crash never exposes a
 *     cluster whose data or count did not reach the host.
 *   - Old clusters an L2 entry dropped are freed after the entry changed.
 *   - A zero cluster that keeps a host cluster of refcount 1 (write-zeroes
 *     without unmap) is reused in place, as QEMU does (keep_old_clusters):
 *     nothing is counted for it, and undoing the allocation leaves it
 *     alone, since its L2 entry still references it.
 *   - Metas belong to the request that made them (a chain on its stack
 *     frame's pointer); eng_alloc_co_finish frees them.
 */
#include <stdlib.h>

#include "eng_internal.h"

#define INV_OFFSET UINT64_MAX

static uint64_t meta_end(const eng_l2meta *m)
{
    return m->guest_off + m->cow_end.offset + m->cow_end.len;
}

static void allocs_insert(eng *e, eng_l2meta *m)
{
    m->in_prev = NULL;
    m->in_next = e->allocs;
    if (e->allocs)
        e->allocs->in_prev = m;
    e->allocs = m;
}

static void allocs_remove(eng *e, eng_l2meta *m)
{
    if (m->in_prev)
        m->in_prev->in_next = m->in_next;
    else
        e->allocs = m->in_next;
    if (m->in_next)
        m->in_next->in_prev = m->in_prev;
    eng_coqueue_wake_all(&e->rt, &m->waiters);
}

/*
 * QEMU's handle_dependencies: shorten [start, start + *bytes) so that it
 * ends where an in-flight allocation begins; if it begins inside one,
 * wait for that one (-EAGAIN: look everything up again) unless this
 * request already holds allocations (then *bytes = 0: stop here).
 */
static int dependencies_co(eng *e, uint64_t start, uint64_t *bytes,
                           bool have_metas)
{
    uint64_t end = start + *bytes;
    for (eng_l2meta *m = e->allocs; m; m = m->in_next) {
        uint64_t ms = m->guest_off + m->cow_start.offset, me = meta_end(m);
        if (end <= ms || start >= me)
            continue;
        if (start < ms) {
            *bytes = ms - start;
            end = ms;
            continue;
        }
        *bytes = 0;
        if (have_metas)
            return 0;
        eng_coqueue_co_wait(&e->rt, &m->waiters, &e->lock,
                            "in-flight cluster allocation");
        return -EAGAIN;
    }
    return 0;
}

void eng_alloc_co_wait_range(eng *e, uint64_t start, uint64_t end)
{
    eng_l2meta *m = e->allocs;
    while (m) {
        if (start < meta_end(m) && m->guest_off < end) {
            eng_coqueue_co_wait(&e->rt, &m->waiters, &e->lock,
                                "in-flight cluster allocation");
            m = e->allocs; /* the list changed: look again */
        } else {
            m = m->in_next;
        }
    }
}

/* Entries from t[idx] on whose flags are exactly `flags` (of COPIED,
 * ZERO; no compressed or reserved bits), with host clusters contiguous
 * from t[idx]'s; at most max. COPIED alone: normal clusters with refcount
 * 1 (written in place); COPIED | ZERO: zero clusters that keep a host
 * cluster of refcount 1 (reused in place). */
static uint64_t count_contiguous(const eng *e, const uint8_t *t, unsigned idx,
                                 uint64_t max, uint64_t flags)
{
    uint64_t first = eng_l2_get(t, idx) & L2E_OFFSET_MASK, n = 0;
    unsigned l2n = 1u << e->l2_bits;
    for (; first && n < max && idx + n < l2n; n++) {
        uint64_t ent = eng_l2_get(t, (unsigned)(idx + n));
        if ((ent & (QCOW_OFLAG_COPIED | QCOW_OFLAG_COMPRESSED | L2E_RESERVED |
                    QCOW_OFLAG_ZERO)) != flags ||
            (ent & L2E_OFFSET_MASK) != first + n * e->cluster_size)
            break;
    }
    return n;
}

/* QEMU's handle_copied: clusters at `start` that are written in place.
 * 1: *bytes shortened to them, *cursor their host offset; 0: none (or
 * not contiguous with *cursor: then *bytes = 0). */
static int handle_copied_co(eng *e, uint64_t start, uint64_t *cursor,
                            uint64_t *bytes, uint64_t *kept)
{
    uint8_t *t;
    unsigned idx;
    eng_ctype type;
    int ret = eng_cluster_co_get_l2(e, start, &t, &idx);
    if (ret < 0)
        return ret;
    uint64_t ent = eng_l2_get(t, idx), cs = e->cluster_size;
    uint64_t in = start & (cs - 1), host = ent & L2E_OFFSET_MASK;
    ret = eng_l2_classify(e, ent, start, &type);
    if (ret == 0 && type == ENG_C_NORMAL && (ent & QCOW_OFLAG_COPIED)) {
        if (*cursor != INV_OFFSET && host != eng_align_down(*cursor, cs)) {
            *bytes = 0;
        } else {
            uint64_t n = count_contiguous(e, t, idx, (in + *bytes + cs - 1) / cs,
                                          QCOW_OFLAG_COPIED);
            *bytes = eng_min(*bytes, n * cs - in);
            *cursor = host + in;
            *kept = n;
            ret = 1;
        }
    }
    eng_cache_put(e->l2_cache, &t);
    return ret;
}

/* Entries from t[idx] on that need a new cluster (anything but a normal
 * cluster with refcount 1); at most max. -errno on an invalid entry. */
static int count_needing_alloc(eng *e, const uint8_t *t, unsigned idx,
                               uint64_t start, uint64_t max, uint64_t *n)
{
    unsigned l2n = 1u << e->l2_bits;
    for (*n = 0; *n < max && idx + *n < l2n; (*n)++) {
        uint64_t ent = eng_l2_get(t, (unsigned)(idx + *n));
        eng_ctype type;
        int ret = eng_l2_classify(e, ent, start + *n * e->cluster_size, &type);
        if (ret < 0)
            return *n ? 0 : ret; /* stop before it; fail on the first */
        if (type == ENG_C_NORMAL && (ent & QCOW_OFLAG_COPIED))
            break;
    }
    return 0;
}

static int new_meta(eng *e, uint64_t start, uint64_t alloc, uint64_t n,
                    bool keep_old, uint64_t nb_bytes, eng_l2meta **metas)
{
    uint64_t cs = e->cluster_size, in = start & (cs - 1);
    eng_l2meta *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->guest_off = start - in;
    m->alloc_off = alloc;
    m->nb_clusters = n;
    m->keep_old = keep_old;
    m->cow_start.offset = 0;
    m->cow_start.len = in;
    /* the tail of the cluster the data ends in (QEMU 1.1 aligned
     * nb_available up the same way) */
    m->cow_end.offset = nb_bytes;
    m->cow_end.len = eng_align_up(nb_bytes, cs) - nb_bytes;
    allocs_insert(e, m);
    eng_l2meta **tail = metas;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    return 0;
}

/* QEMU's reuse of preallocated zero clusters: the run from t[idx] of
 * zero clusters that keep a host cluster of refcount 1, when it can
 * continue the host run at cursor; 0 when t[idx] is not one. */
static uint64_t reusable_zero(const eng *e, const uint8_t *t, unsigned idx,
                              uint64_t cursor, uint64_t max)
{
    uint64_t ent = eng_l2_get(t, idx), host = ent & L2E_OFFSET_MASK;
    if (cursor != INV_OFFSET && eng_align_down(cursor, e->cluster_size) != host)
        return 0;
    return count_contiguous(e, t, idx, max,
                            QCOW_OFLAG_COPIED | QCOW_OFLAG_ZERO);
}

/* QEMU's handle_alloc: new clusters for `start`, contiguous with *cursor
 * when there is one, or zero clusters reused in place. 1: allocated
 * (meta appended); 0: nothing (*bytes = 0: cannot extend the contiguous
 * run). kept: clusters kept in place right before, in this run. */
static int handle_alloc_co(eng *e, uint64_t start, uint64_t *cursor,
                           uint64_t *bytes, uint64_t kept, eng_l2meta **metas)
{
    uint64_t cs = e->cluster_size, in = start & (cs - 1), n, alloc, reuse = 0;
    uint8_t *t;
    unsigned idx;
    int ret = eng_cluster_co_get_l2(e, start, &t, &idx);
    if (ret < 0)
        return ret;
    ret = count_needing_alloc(e, t, idx, start, (in + *bytes + cs - 1) / cs,
                              &n);
    if (ret == 0)
        reuse = reusable_zero(e, t, idx, *cursor, n);
    alloc = eng_l2_get(t, idx) & L2E_OFFSET_MASK;
    eng_cache_put(e->l2_cache, &t);
    if (ret < 0)
        return ret;
    assert(n > 0);
    if (reuse) {
        n = reuse; /* keeps its host clusters: nothing to count */
    } else if (*cursor != INV_OFFSET) {
        alloc = eng_align_down(*cursor, cs);
        ret = eng_refcount_co_alloc_at(e, alloc, n, &n);
        if (ret == 0 && n == 0) {
            *bytes = 0;
            return 0;
        }
    } else {
        ret = eng_refcount_co_alloc(e, n, &alloc);
    }
    if (ret < 0)
        return ret;
    uint64_t requested = *bytes + in, avail = n << e->cluster_bits;
    /*
     * Mutant avail_sectors (QEMU 1.1, fixed by commit b7ab0fea "qcow2: Fix
     * avail_sectors in cluster allocation code"): the bytes available in
     * the new allocation were computed as (keep_clusters + nb_clusters)
     * clusters, counting the clusters kept in place before it too. When
     * the allocation is shorter than the rest of the request, the write
     * and its tail COW then run past the allocated clusters into host
     * clusters that belong to nobody (or to someone else), while the
     * guest clusters beyond are never linked.
     */
    if (eng_mutant_on(e, ENG_MUT_AVAIL_SECTORS))
        avail = (kept + n) << e->cluster_bits;
    uint64_t nb_bytes = eng_min(requested, avail);
    ret = new_meta(e, start, alloc, n, reuse != 0, nb_bytes, metas);
    if (ret < 0) {
        if (!reuse)
            (void)eng_refcount_co_free(e, alloc, n << e->cluster_bits);
        return ret;
    }
    *cursor = alloc + in;
    *bytes = eng_min(*bytes, nb_bytes - in);
    assert(*bytes > 0);
    return 1;
}

int eng_alloc_co_host(eng *e, uint64_t off, uint64_t *bytes, uint64_t *host,
                      eng_l2meta **metas)
{
    uint64_t start, remaining, cursor, cur, kept;
    int ret;
again:
    start = off;
    remaining = *bytes;
    cursor = *host = INV_OFFSET;
    cur = kept = 0;
    for (;;) {
        if (*host == INV_OFFSET && cursor != INV_OFFSET)
            *host = cursor;
        start += cur;
        remaining -= cur;
        if (cursor != INV_OFFSET)
            cursor += cur;
        if (remaining == 0)
            break;
        cur = remaining;
        /*
         * Mutant alloc_no_serialize (QEMU before commit f214978a427e,
         * 2009, "Order concurrent AIO requests on the same unallocated
         * cluster"): there was no list of in-flight allocations, so two
         * writes into one unallocated cluster each allocated a host
         * cluster, and the later L2 update dropped the other's data.
         */
        if (!eng_mutant_on(e, ENG_MUT_ALLOC_NO_SERIALIZE)) {
            ret = dependencies_co(e, start, &cur, *metas != NULL);
            if (ret == -EAGAIN) {
                assert(*metas == NULL);
                goto again;
            }
            if (cur == 0)
                break;
        }
        uint64_t k = 0;
        ret = handle_copied_co(e, start, &cursor, &cur, &k);
        if (ret < 0)
            return ret;
        if (ret) {
            kept = k;
            continue;
        }
        if (cur == 0)
            break;
        ret = handle_alloc_co(e, start, &cursor, &cur, kept, metas);
        kept = 0;
        if (ret < 0)
            return ret;
        if (!ret)
            break;
    }
    *bytes -= remaining;
    assert(*bytes > 0 && *host != INV_OFFSET);
    return 0;
}

/* ---- after the data write ---------------------------------------------- */

/* QEMU's qcow2_alloc_cluster_link_l2: point the L2 entries at the new
 * clusters, then drop the clusters they pointed at before. */
static int link_l2_co(eng *e, eng_l2meta *m)
{
    uint64_t *old = calloc(m->nb_clusters, sizeof(uint64_t)), nold = 0;
    uint8_t *t;
    unsigned idx;
    if (!old)
        return -ENOMEM;
    int ret = 0;
    /*
     * Mutant refcount_after_l2 (QEMU sets this dependency in
     * qcow2_alloc_cluster_link_l2; commit bfe8043e9214, 2012, skips it
     * only for lazy refcounts, whose dirty bit forces a repair): without
     * it the L2 table may reach the disk before the refcount block that
     * counts its new clusters, and a crash in between leaves an entry
     * pointing at a cluster of refcount 0.
     */
    if (!eng_mutant_on(e, ENG_MUT_REFCOUNT_AFTER_L2))
        ret = eng_cache_co_set_dependency(e->l2_cache, e->rb_cache);
    if (ret == 0)
        ret = eng_cluster_co_get_l2(e, m->guest_off, &t, &idx);
    if (ret < 0) {
        free(old);
        return ret;
    }
    assert(idx + m->nb_clusters <= (UINT64_C(1) << e->l2_bits));
    for (uint64_t i = 0; i < m->nb_clusters; i++) {
        uint64_t ent = eng_l2_get(t, (unsigned)(idx + i));
        uint64_t now = m->alloc_off + i * e->cluster_size;
        eng_ctype type;
        if (eng_l2_classify(e, ent, m->guest_off, &type) == 0 &&
            (type == ENG_C_NORMAL || type == ENG_C_ZERO_ALLOC) &&
            (ent & L2E_OFFSET_MASK) != now)
            old[nold++] = ent & L2E_OFFSET_MASK;
        eng_l2_set(t, (unsigned)(idx + i), now | QCOW_OFLAG_COPIED);
    }
    eng_cache_mark_dirty(e->l2_cache, t);
    eng_cache_depends_on_flush(e->l2_cache); /* the data first */
    eng_cache_put(e->l2_cache, &t);
    for (uint64_t i = 0; i < nold; i++)
        (void)eng_refcount_co_free(e, old[i], e->cluster_size); /* leak */
    free(old);
    return 0;
}

/* Whether undoing m frees its clusters: not those reused in place, which
 * the L2 table still references. */
static bool abort_frees(const eng *e, const eng_l2meta *m)
{
    /*
     * Mutant alloc_abort_frees_live (QEMU before "qcow2: Fix
     * alloc_cluster_abort() for pre-existing clusters", February 2020):
     * the abort path freed the clusters of every allocation, those of a
     * preallocated zero cluster reused in place too, while its L2 entry
     * still pointed at them.
     */
    return !m->keep_old || eng_mutant_on(e, ENG_MUT_ALLOC_ABORT_FREES_LIVE);
}

int eng_alloc_co_finish(eng *e, eng_l2meta **metas, bool link)
{
    int ret = 0;
    eng_l2meta *m = *metas;
    while (m) {
        bool linked = false;
        if (link && ret == 0) {
            ret = eng_cow_co_perform(e, m);
            if (ret == 0)
                ret = link_l2_co(e, m);
            linked = ret == 0;
        }
        if (!linked && abort_frees(e, m)) /* QEMU's qcow2_alloc_cluster_abort */
            (void)eng_refcount_co_free(e, m->alloc_off,
                                       m->nb_clusters << e->cluster_bits);
        allocs_remove(e, m);
        eng_l2meta *next = m->next;
        free(m);
        m = next;
    }
    *metas = NULL;
    return ret;
}
