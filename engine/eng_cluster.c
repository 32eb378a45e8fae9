/*
 * eng_cluster.c - the guest-to-host mapping: L1 and L2 entries, looking a
 * guest range up, allocating (or un-sharing) L2 tables, growing L1 (after
 * the facts of QEMU's qcow2-cluster.c).
 *
 * Invariants:
 *   - Every L1/L2 entry is validated before its offset is used: reserved
 *     bits, misalignment, or an offset the refcount table cannot cover
 *     fail the request with -EIO (message in e->last_err). Compressed
 *     clusters fail with -ENOTSUP.
 *   - A new L2 table is counted (refcount cache flushed) and written
 *     (L2 cache flushed) before the L1 entry points at it; the L1 entry is
 *     written with a host flush (QEMU's order).
 *   - A grown L1 table is written and flushed before the header switches
 *     to it; the old one is freed only afterwards.
 *   - Called with the engine lock held; tables handed out are pinned.
 */
#include <stdlib.h>

#include "eng_internal.h"

static unsigned l1_bits(const eng *e)
{
    return e->cluster_bits + e->l2_bits;
}

/* Classify without a message: -1 when invalid. */
static int classify_quiet(const eng *e, uint64_t entry, eng_ctype *type)
{
    if (entry & QCOW_OFLAG_COMPRESSED) {
        *type = ENG_C_COMPRESSED;
        return 0;
    }
    uint64_t reserved = L2E_RESERVED | (e->version < 3 ? QCOW_OFLAG_ZERO : 0);
    uint64_t off = entry & L2E_OFFSET_MASK;
    if ((entry & reserved) || off % e->cluster_size ||
        (off >> e->cluster_bits) >= eng_refcount_coverage(e))
        return -1;
    if (entry & QCOW_OFLAG_ZERO)
        *type = off ? ENG_C_ZERO_ALLOC : ENG_C_ZERO_PLAIN;
    else
        *type = off ? ENG_C_NORMAL : ENG_C_UNALLOC;
    return 0;
}

int eng_l2_classify(eng *e, uint64_t entry, uint64_t guest_off,
                    eng_ctype *type)
{
    if (classify_quiet(e, entry, type) < 0) {
        eng_set_err(e, "L2 entry 0x%016llx for guest offset 0x%llx is "
                    "invalid (reserved bits, misaligned or out of range)",
                    (unsigned long long)entry, (unsigned long long)guest_off);
        return -EIO;
    }
    if (*type == ENG_C_COMPRESSED) {
        eng_set_err(e, "compressed cluster at guest offset 0x%llx: "
                    "compression is not supported",
                    (unsigned long long)guest_off);
        return -ENOTSUP;
    }
    return 0;
}

/* The L2 table offset of L1 entry l1i (0: none). */
static int l1_entry(eng *e, uint64_t l1i, uint64_t *l2off, bool *copied)
{
    uint64_t ent = e->l1[l1i], off = ent & L1E_OFFSET_MASK;
    if ((ent & L1E_RESERVED) || off % e->cluster_size ||
        (off >> e->cluster_bits) >= eng_refcount_coverage(e)) {
        eng_set_err(e, "L1 entry %llu: 0x%016llx is invalid (reserved bits, "
                    "misaligned or out of range)", (unsigned long long)l1i,
                    (unsigned long long)ent);
        return -EIO;
    }
    *l2off = off;
    *copied = (ent & QCOW_OFLAG_COPIED) != 0;
    return 0;
}

static uint64_t entry_host(uint64_t entry)
{
    return entry & L2E_OFFSET_MASK;
}

/* How many entries from t[i] on continue the run that t[i] starts. */
static uint64_t run_length(const eng *e, const uint8_t *t, unsigned i,
                           uint64_t max, eng_ctype type)
{
    uint64_t first = entry_host(eng_l2_get(t, i)), n = 1;
    bool hosted = type == ENG_C_NORMAL || type == ENG_C_ZERO_ALLOC;
    unsigned l2n = 1u << e->l2_bits;
    for (; n < max && i + n < l2n; n++) {
        uint64_t ent = eng_l2_get(t, (unsigned)(i + n));
        eng_ctype t2;
        if (classify_quiet(e, ent, &t2) < 0 || t2 != type)
            break;
        if (hosted && entry_host(ent) != first + n * e->cluster_size)
            break;
    }
    return n;
}

int eng_cluster_co_lookup(eng *e, uint64_t off, uint64_t *bytes,
                          eng_ctype *type, uint64_t *host)
{
    uint64_t cs = e->cluster_size, span = UINT64_C(1) << l1_bits(e);
    uint64_t in = off & (cs - 1), l1i = off >> l1_bits(e), l2off;
    bool copied;
    *bytes = eng_min(*bytes, span - (off & (span - 1)));
    *type = ENG_C_UNALLOC;
    *host = 0;
    if (l1i >= e->l1_size)
        return 0;
    int ret = l1_entry(e, l1i, &l2off, &copied);
    if (ret < 0 || l2off == 0)
        return ret;
    uint8_t *t;
    ret = eng_cache_co_get(e->l2_cache, l2off, &t);
    if (ret < 0)
        return ret;
    unsigned idx = (unsigned)((off >> e->cluster_bits) &
                              ((UINT64_C(1) << e->l2_bits) - 1));
    uint64_t ent = eng_l2_get(t, idx);
    ret = eng_l2_classify(e, ent, off, type);
    if (ret == 0) {
        uint64_t want = (in + *bytes + cs - 1) / cs;
        uint64_t n = run_length(e, t, idx, want, *type);
        *bytes = eng_min(*bytes, n * cs - in);
        if (*type == ENG_C_NORMAL || *type == ENG_C_ZERO_ALLOC)
            *host = entry_host(ent) + in;
    }
    eng_cache_put(e->l2_cache, &t);
    return ret;
}

/* Write the 512-byte sector of the L1 table holding entry l1i. */
static int write_l1_entry_co(eng *e, uint64_t l1i)
{
    uint8_t buf[512] = {0};
    uint64_t start = l1i & ~UINT64_C(63);
    for (uint64_t i = 0; i < 64 && start + i < e->l1_size; i++)
        eng_put64(buf + i * 8, e->l1[start + i]);
    return eng_co_hwrite_sync(e, ENG_EV_L1_UPDATE, e->l1_offset + start * 8,
                              buf, sizeof(buf));
}

/*
 * Mutant enospc_publish_l2 (cloud-hypervisor's qcow2 before pull 8721,
 * 2026): the refcount of a new L2 table was applied at the end of the
 * whole mapping operation, after the L1 entry already pointed at the
 * table; when the operation failed (ENOSPC on the data write), the
 * pending refcount was dropped while the L1 entry stayed. Here a new
 * table's count is undone when the request that made it fails
 * (eng_cluster_co_settle_l2), and the L1 entry keeps pointing at it.
 */
static void note_new_l2(eng *e, uint64_t off)
{
    if (!eng_mutant_on(e, ENG_MUT_ENOSPC_PUBLISH_L2) || !off ||
        e->n_new_l2 == ENG_MAX_NEW_L2)
        return;
    e->new_l2[e->n_new_l2].owner = e->rt.self(e->rt.opaque);
    e->new_l2[e->n_new_l2].off = off;
    e->n_new_l2++;
}

void eng_cluster_co_settle_l2(eng *e, bool ok)
{
    eng_co *self = e->rt.self(e->rt.opaque);
    unsigned i = 0;
    while (i < e->n_new_l2) {
        if (e->new_l2[i].owner != self) {
            i++;
            continue;
        }
        uint64_t off = e->new_l2[i].off;
        e->new_l2[i] = e->new_l2[--e->n_new_l2];
        if (!ok)
            (void)eng_refcount_co_free(e, off, e->cluster_size);
    }
}

/* QEMU's l2_allocate: a new table (a copy of old_off's, if any). */
static int l2_allocate_co(eng *e, uint64_t l1i, uint64_t old_off,
                          uint8_t **table)
{
    uint64_t new_off = 0, old_ent = e->l1[l1i];
    uint8_t *t = NULL, *ot;
    int ret = eng_refcount_co_alloc(e, 1, &new_off);
    /*
     * Mutant l2_at_zero (KVM-era qcow2, reported on qemu-devel in 2009):
     * l2_allocate did not check whether the allocation had failed and used
     * the offset it got, 0; the new table went to host offset 0, over the
     * header, and the L1 entry pointed there.
     */
    if (ret < 0 && eng_mutant_on(e, ENG_MUT_L2_AT_ZERO)) {
        new_off = 0;
        ret = 0;
    }
    if (ret == 0)
        ret = eng_cache_co_flush(e->rb_cache);
    if (ret == 0)
        ret = eng_cache_co_get_empty(e->l2_cache, new_off, &t);
    if (ret < 0)
        goto fail;
    if (!old_off) {
        memset(t, 0, e->cluster_size);
    } else {
        ret = eng_co_ev(e, ENG_EV_L2_ALLOC_COW_READ);
        if (ret == 0)
            ret = eng_cache_co_get(e->l2_cache, old_off, &ot);
        if (ret < 0)
            goto fail;
        memcpy(t, ot, e->cluster_size);
        eng_cache_put(e->l2_cache, &ot);
    }
    eng_cache_mark_dirty(e->l2_cache, t);
    ret = eng_co_ev(e, ENG_EV_L2_ALLOC_WRITE);
    if (ret == 0)
        ret = eng_cache_co_flush(e->l2_cache);
    if (ret < 0)
        goto fail;
    e->l1[l1i] = new_off | QCOW_OFLAG_COPIED;
    ret = write_l1_entry_co(e, l1i);
    if (ret < 0)
        goto fail;
    if (old_off)
        (void)eng_refcount_co_free(e, old_off, e->cluster_size); /* leak */
    note_new_l2(e, new_off);
    *table = t;
    return 0;
fail:
    e->l1[l1i] = old_ent;
    if (t)
        eng_cache_put(e->l2_cache, &t);
    if (new_off) {
        eng_cache_discard(e->l2_cache, new_off);
        (void)eng_refcount_co_free(e, new_off, e->cluster_size);
    }
    return ret;
}

int eng_cluster_co_get_l2(eng *e, uint64_t off, uint8_t **table,
                          unsigned *index)
{
    uint64_t l1i = off >> l1_bits(e), l2off;
    bool copied;
    int ret = 0;
    if (l1i >= e->l1_size)
        ret = eng_cluster_co_grow_l1(e, l1i + 1, false);
    if (ret == 0)
        ret = l1_entry(e, l1i, &l2off, &copied);
    if (ret < 0)
        return ret;
    if (l2off && copied)
        ret = eng_cache_co_get(e->l2_cache, l2off, table);
    else
        ret = l2_allocate_co(e, l1i, l2off, table);
    *index = (unsigned)((off >> e->cluster_bits) &
                        ((UINT64_C(1) << e->l2_bits) - 1));
    return ret;
}

/* ---- L1 growth --------------------------------------------------------- */

static uint64_t grown_l1_size(const eng *e, uint64_t min, bool exact)
{
    uint64_t n = e->l1_size ? e->l1_size : 1;
    if (exact)
        return min;
    while (n < min)
        n = (n * 3 + 1) / 2;
    return eng_min(n, ENG_MAX_L1_BYTES / 8);
}

static int write_new_l1_co(eng *e, uint64_t off, uint64_t n, uint64_t bytes)
{
    uint8_t *buf = calloc(1, bytes);
    if (!buf)
        return -ENOMEM;
    for (uint64_t i = 0; i < e->l1_size; i++)
        eng_put64(buf + i * 8, e->l1[i]);
    int ret = eng_co_hwrite_sync(e, ENG_EV_L1_GROW_WRITE_TABLE, off, buf,
                                 bytes);
    free(buf);
    if (ret < 0)
        return ret;
    uint8_t hdr[12];
    eng_put32(hdr, (uint32_t)n);
    eng_put64(hdr + 4, off);
    return eng_co_hwrite_sync(e, ENG_EV_L1_GROW_ACTIVATE_TABLE,
                              HDR_L1_SIZE_OFF, hdr, sizeof(hdr));
}

int eng_cluster_co_grow_l1(eng *e, uint64_t min_size, bool exact)
{
    if (min_size <= e->l1_size)
        return 0;
    if (min_size > ENG_MAX_L1_BYTES / 8) {
        eng_set_err(e, "L1 table cannot grow to %llu entries",
                    (unsigned long long)min_size);
        return -EFBIG;
    }
    uint64_t n = grown_l1_size(e, min_size, exact);
    uint64_t bytes = eng_align_up(n * 8, e->cluster_size), off;
    uint64_t *l1 = calloc(n, sizeof(uint64_t));
    if (!l1)
        return -ENOMEM;
    int ret = eng_co_ev(e, ENG_EV_L1_GROW_ALLOC_TABLE);
    if (ret == 0)
        ret = eng_refcount_co_alloc(e, bytes / e->cluster_size, &off);
    if (ret < 0) {
        free(l1);
        return ret;
    }
    ret = eng_cache_co_flush(e->rb_cache);
    if (ret == 0)
        ret = write_new_l1_co(e, off, n, bytes);
    if (ret < 0) {
        free(l1);
        (void)eng_refcount_co_free(e, off, bytes);
        return ret;
    }
    memcpy(l1, e->l1, e->l1_size * 8);
    uint64_t old_off = e->l1_offset, old_bytes = e->l1_size * 8;
    free(e->l1);
    e->l1 = l1;
    e->l1_size = n;
    e->l1_offset = off;
    if (old_bytes)
        (void)eng_refcount_co_free(e, old_off, old_bytes);
    return 0;
}
