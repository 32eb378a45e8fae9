/*
 * eng_zero.c - write-zeroes, discard and truncate (after the facts of
 * QEMU's qcow2_co_pwrite_zeroes, qcow2_co_pdiscard, zero_in_l2_slice,
 * discard_in_l2_slice and qcow2_co_truncate).
 *
 * Semantics (what QEMU 7.2 does):
 *   - write-zeroes: whole clusters get the zero flag (version 3); with
 *     ENG_ZERO_MAY_UNMAP their host clusters are freed, otherwise kept.
 *     A partial cluster whose other bytes already read as zeroes (block
 *     status, eng_status.c) becomes a zero cluster as a whole, provided it
 *     still reads as zeroes once the lock is taken (QEMU re-checks too);
 *     other partial clusters, those the image's end cuts, and everything
 *     on version 2 are written with zero-filled buffers through the
 *     normal write path.
 *   - discard: only whole clusters (and the final partial cluster when the
 *     request reaches the image's end); they read back as zeroes (zero
 *     flag on v3 when there is a backing file or the cluster was
 *     allocated; unallocated on v2). Partial clusters are ignored. On a
 *     version 2 image with a backing file discard does nothing (QEMU
 *     refuses it there: iotest 290).
 *   - truncate grows only; the new area reads zeroes even where a longer
 *     backing file lies below (it is zeroed, then the caches are flushed,
 *     then the header's size changes).
 *
 * Invariants:
 *   - L2 entries change before the clusters they dropped are freed (the
 *     refcount cache then depends on the L2 cache).
 *   - Zeroing waits for in-flight allocations that overlap its clusters,
 *     so an allocation never links over a newer zero or discard.
 */
#include <stdlib.h>

#include "eng_internal.h"

typedef enum zop { ZOP_ZERO, ZOP_ZERO_UNMAP, ZOP_DISCARD } zop;

#define ZERO_BUF_MAX (UINT64_C(1) << 20)

static uint64_t new_entry(const eng *e, zop op, uint64_t old, eng_ctype t,
                          bool *free_old)
{
    bool allocated = t == ENG_C_NORMAL || t == ENG_C_ZERO_ALLOC;
    *free_old = false;
    switch (op) {
    case ZOP_ZERO:
        return old | QCOW_OFLAG_ZERO;
    case ZOP_ZERO_UNMAP:
        *free_old = allocated;
        return allocated ? QCOW_OFLAG_ZERO : old | QCOW_OFLAG_ZERO;
    default:
        if (!e->backing_file && !allocated)
            return old;
        *free_old = allocated;
        return e->version >= 3 ? QCOW_OFLAG_ZERO : 0;
    }
}

/* Validate entries [idx, idx + n) before changing any of them. */
static int check_entries(eng *e, const uint8_t *t, unsigned idx, uint64_t n,
                         uint64_t off)
{
    for (uint64_t i = 0; i < n; i++) {
        eng_ctype type;
        int ret = eng_l2_classify(e, eng_l2_get(t, (unsigned)(idx + i)),
                                  off + i * e->cluster_size, &type);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/*
 * Whether a dropped cluster is freed before its L2 entry changes. Mutant
 * zero_unmap_stale_l2 (QEMU 5.2-rc3, fixed by commit c8bf9a9169, November
 * 2020): zero_in_l2_slice marked the slice dirty, freed the old cluster,
 * then set the new entry; freeing could evict a dirty refcount block whose
 * dependency flushed the L2 cache, which wrote the slice and marked it
 * clean before the entry changed, so the new entry never reached the disk.
 */
static bool free_before_set(const eng *e, zop op)
{
    return op == ZOP_ZERO_UNMAP &&
           eng_mutant_on(e, ENG_MUT_ZERO_UNMAP_STALE_L2);
}

/* Zero or discard up to n whole clusters from off inside one L2 table;
 * *done says how many were handled. Lock held. */
static int zero_in_l2_co(eng *e, uint64_t off, uint64_t n, zop op,
                         uint64_t *done)
{
    unsigned l1b = e->cluster_bits + e->l2_bits, idx;
    uint64_t l1i = off >> l1b, span = UINT64_C(1) << l1b;
    *done = eng_min(n, (span - (off & (span - 1))) >> e->cluster_bits);
    bool no_l2 = l1i >= e->l1_size || !(e->l1[l1i] & L1E_OFFSET_MASK);
    if (no_l2 && !e->backing_file)
        return 0; /* reads zeroes already, and stays so */
    uint8_t *t = NULL;
    uint64_t *old = calloc(*done, sizeof(uint64_t)), nold = 0;
    if (!old)
        return -ENOMEM;
    int ret = eng_cluster_co_get_l2(e, off, &t, &idx);
    if (ret == 0)
        ret = check_entries(e, t, idx, *done, off);
    bool early = free_before_set(e, op);
    for (uint64_t i = 0; ret == 0 && i < *done; i++) {
        uint64_t ent = eng_l2_get(t, (unsigned)(idx + i));
        eng_ctype type;
        bool free_old;
        (void)eng_l2_classify(e, ent, off, &type); /* checked above */
        uint64_t ne = new_entry(e, op, ent, type, &free_old);
        if (ne == ent)
            continue;
        eng_cache_mark_dirty(e->l2_cache, t);
        if (free_old && early)
            ret = eng_refcount_co_free(e, ent & L2E_OFFSET_MASK,
                                       e->cluster_size);
        else if (free_old)
            old[nold++] = ent & L2E_OFFSET_MASK;
        if (ret == 0)
            eng_l2_set(t, (unsigned)(idx + i), ne);
    }
    if (t)
        eng_cache_put(e->l2_cache, &t);
    for (uint64_t i = 0; ret == 0 && i < nold; i++)
        ret = eng_refcount_co_free(e, old[i], e->cluster_size);
    free(old);
    return ret;
}

/* Whether the cluster at off reads as zeroes by its mapping alone (zero
 * flag, or unallocated with nothing below). Lock held. */
static int cluster_reads_zero_co(eng *e, uint64_t off, bool *zero)
{
    uint64_t len = e->cluster_size, host;
    eng_ctype type;
    int ret = eng_cluster_co_lookup(e, off, &len, &type, &host);
    *zero = ret == 0 && (type == ENG_C_ZERO_PLAIN || type == ENG_C_ZERO_ALLOC ||
                         (type == ENG_C_UNALLOC &&
                          (!e->backing_file || off >= e->backing_size)));
    return ret;
}

/* Zero or discard the whole clusters of [start, end); recheck: only if
 * the (single) cluster still reads as zeroes, else *done = false. */
static int zero_clusters_co(eng *e, uint64_t start, uint64_t end, zop op,
                            bool recheck, bool *done)
{
    int ret = 0;
    eng_co_lock(e);
    eng_alloc_co_wait_range(e, start, end);
    *done = true;
    if (recheck)
        ret = cluster_reads_zero_co(e, start, done);
    while (*done && start < end && ret == 0) {
        uint64_t n;
        ret = zero_in_l2_co(e, start, (end - start) >> e->cluster_bits, op,
                            &n);
        start += n << e->cluster_bits;
    }
    eng_cluster_co_settle_l2(e, ret == 0);
    eng_unlock(e);
    return ret;
}

/* Write zero-filled buffers over [off, off + len). */
static int write_zero_bufs_co(eng *e, uint64_t off, uint64_t len)
{
    if (len == 0)
        return 0;
    uint64_t chunk = eng_min(len, ZERO_BUF_MAX);
    uint8_t *z = calloc(1, chunk);
    if (!z)
        return -ENOMEM;
    int ret = 0;
    while (len && ret == 0) {
        uint64_t cur = eng_min(len, chunk);
        ret = eng_rw_co_write(e, off, z, cur);
        off += cur;
        len -= cur;
    }
    free(z);
    return ret;
}

/* Zero [off, off + len), a part of one cluster (QEMU's head and tail
 * handling in qcow2_co_pwrite_zeroes): the whole cluster becomes a zero
 * cluster if the rest of it reads as zeroes, else zeroes are written. */
static int zero_partial_co(eng *e, uint64_t off, uint64_t len, zop op)
{
    uint64_t cs = e->cluster_size, c0 = eng_align_down(off, cs), c1 = c0 + cs;
    bool zero = false, done = false;
    int ret = 0;
    if (c1 <= e->size) {
        ret = eng_status_co_is_zero(e, c0, off - c0, &zero);
        if (ret == 0 && zero)
            ret = eng_status_co_is_zero(e, off + len, c1 - off - len, &zero);
    }
    if (ret == 0 && zero)
        ret = zero_clusters_co(e, c0, c1, op, true, &done);
    if (ret == 0 && !done)
        ret = write_zero_bufs_co(e, off, len);
    return ret;
}

int eng_zero_co_range(eng *e, uint64_t off, uint64_t len, unsigned flags)
{
    uint64_t cs = e->cluster_size, end = off + len;
    uint64_t a = eng_align_up(off, cs), b = eng_align_down(end, cs);
    if (e->version < 3)
        return write_zero_bufs_co(e, off, len);
    zop op = (flags & ENG_ZERO_MAY_UNMAP) ? ZOP_ZERO_UNMAP : ZOP_ZERO;
    bool done;
    int ret = 0;
    if (off < a) /* the head cluster, which may hold the whole request */
        ret = zero_partial_co(e, off, eng_min(a, end) - off, op);
    if (ret == 0 && a < b)
        ret = zero_clusters_co(e, a, b, op, false, &done);
    if (ret == 0 && b < end && b >= a) /* the tail cluster */
        ret = zero_partial_co(e, b, end - b, op);
    return ret;
}

int eng_co_write_zeroes(eng *e, uint64_t off, uint64_t len, unsigned flags)
{
    int ret = eng_rw_check(e, off, len, true);
    if (ret < 0 || len == 0)
        return ret;
    if (flags & ~ENG_ZERO_MAY_UNMAP)
        return -EINVAL;
    return eng_zero_co_range(e, off, len, flags);
}

int eng_co_discard(eng *e, uint64_t off, uint64_t len)
{
    int ret = eng_rw_check(e, off, len, true);
    if (ret < 0 || len == 0)
        return ret;
    uint64_t cs = e->cluster_size, end = off + len;
    uint64_t a = eng_align_up(off, cs), b = eng_align_down(end, cs);
    if (end == e->size && end != b && off <= b)
        b = eng_align_up(end, cs); /* the final partial cluster, whole */
    if (a >= b)
        return 0;
    /*
     * Mutant v2_discard_backing (QEMU before "qcow2: Forbid discard in
     * qcow2 v2 images with backing files", Alberto Garcia, March 2020,
     * iotest 290): a version 2 image has no zero flag, so discard
     * deallocated the clusters and the backing file's stale data showed.
     */
    if (e->version < 3 && e->backing_file &&
        !eng_mutant_on(e, ENG_MUT_V2_DISCARD_BACKING))
        return 0; /* would expose the backing file: QEMU refuses */
    bool done;
    return zero_clusters_co(e, a, b, ZOP_DISCARD, false, &done);
}

int eng_co_truncate(eng *e, uint64_t new_size)
{
    if (e->read_only)
        return -EROFS;
    if (new_size % 512)
        return -EINVAL;
    if (new_size < e->size) {
        eng_set_err(e, "shrinking an image is not supported");
        return -ENOTSUP;
    }
    if (new_size == e->size)
        return 0;
    uint64_t old = e->size, l1 = eng_size_to_l1(new_size, e->cluster_bits);
    eng_co_lock(e);
    int ret = eng_cluster_co_grow_l1(e, l1, true);
    eng_unlock(e);
    /*
     * Mutant truncate_backing_visible (QEMU before the fix of April 2020,
     * "block: truncate: Don't make backing file data visible"):
     * the grown area was left unallocated, so where the backing file is
     * longer than the old size its data showed through instead of zeroes.
     */
    if (ret == 0 && e->backing_file && e->backing_size > old &&
        !eng_mutant_on(e, ENG_MUT_TRUNCATE_BACKING_VISIBLE))
        ret = eng_zero_co_range(e, old, eng_min(new_size, e->backing_size) - old,
                                0);
    if (ret == 0) {
        eng_co_lock(e);
        ret = eng_co_write_caches(e);
        eng_unlock(e);
    }
    if (ret == 0) /* the zeroes are durable before the new size is */
        ret = eng_co_hflush(e);
    if (ret == 0) {
        uint8_t sz[8];
        eng_put64(sz, new_size);
        ret = eng_co_hwrite_sync(e, ENG_EV_COUNT, HDR_SIZE_OFF, sz, 8);
    }
    if (ret == 0)
        e->size = new_size;
    return ret;
}
