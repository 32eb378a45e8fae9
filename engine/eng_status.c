/*
 * eng_status.c - block status: what a guest range reads as (after QEMU's
 * qcow2_co_block_status), the probe for metadata preallocation that QEMU
 * 4.1 ran before the first status (qcow2_detect_metadata_preallocation),
 * and the is_zero test the write-zeroes path asks before it turns a
 * partial cluster into a zero cluster.
 *
 * Invariants:
 *   - The probe reads the refcount of every host cluster of the image
 *     file, with the metadata lock held (the refcount_read_unpinned mutant
 *     drops it), once per open image; its result only widens what status
 *     calls zero, never what the guest reads.
 *   - "Zero" is never a guess: zero clusters, unallocated clusters with
 *     nothing below them, and (on a preallocated image) data clusters
 *     whose host bytes were read as zeroes just now.
 *   - Host bytes read for a status are registered as busy meanwhile, as
 *     guest reads are.
 */
#include <stdlib.h>

#include "eng_internal.h"

/*
 * The preallocation probe: an image looks preallocated (preallocation=
 * metadata or full) when its refcounts claim at least as many host
 * clusters as the virtual disk has clusters. Status then looks at the
 * data of allocated clusters to tell zeroes (QEMU's BDRV_BLOCK_RECURSE).
 */
static int probe_co(eng *e)
{
    /*
     * Mutant refcount_read_unpinned (QEMU 4.1.0, fixed in 4.1.1 by commit
     * 5e97855052, "qcow2: Fix corruption bug in
     * qcow2_detect_metadata_preallocation()", LP#1846427, 2019): the probe
     * read refcounts without taking the metadata lock, so while it waited
     * for a refcount block to load, an allocating request could take the
     * same cache entry for another block, and one entry then served two
     * tables: one table's update was lost or written to the other's
     * cluster.
     */
    bool lock = !eng_mutant_on(e, ENG_MUT_REFCOUNT_READ_UNPINNED);
    uint64_t cs = e->cluster_size, used = 0;
    uint64_t want = eng_align_up(e->size, cs) >> e->cluster_bits;
    int ret = 0;
    if (lock)
        eng_co_lock(e);
    uint64_t n = eng_align_up(e->file->ops->size(e->file), cs) >> e->cluster_bits;
    for (uint64_t i = 0; ret == 0 && i < n && used < want; i++) {
        uint64_t rc;
        ret = eng_refcount_co_get(e, i, &rc);
        used += rc != 0;
    }
    if (ret == 0) {
        e->prealloc = used >= want;
        e->prealloc_checked = true;
    }
    if (lock)
        eng_unlock(e);
    return ret;
}

/* Whether host bytes [host, host + len) are all zero (read them). */
static int host_zero_co(eng *e, uint64_t host, uint64_t len, bool *zero)
{
    uint8_t *buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    int ret = eng_co_hread(e, ENG_EV_READ_AIO, host, buf, len);
    *zero = ret == 0;
    for (uint64_t i = 0; *zero && i < len; i++)
        *zero = buf[i] == 0;
    free(buf);
    return ret;
}

int eng_status_co(eng *e, uint64_t off, uint64_t *len, eng_ctype *type,
                  uint64_t *host, bool *zero)
{
    int ret = e->prealloc_checked ? 0 : probe_co(e);
    if (ret < 0)
        return ret;
    uint64_t cs = e->cluster_size;
    eng_busy b = {0};
    eng_co_lock(e);
    ret = eng_cluster_co_lookup(e, off, len, type, host);
    bool look = ret == 0 && *type == ENG_C_NORMAL && e->prealloc;
    if (look) {
        *len = eng_min(*len, cs - (off & (cs - 1)));
        eng_busy_begin(e, &b, *host, *len);
    }
    eng_unlock(e);
    if (ret < 0)
        return ret;
    switch (*type) {
    case ENG_C_UNALLOC: /* zeroes when nothing lies below */
        *zero = !e->backing_file || off >= e->backing_size;
        if (e->backing_file && off < e->backing_size)
            *len = eng_min(*len, e->backing_size - off);
        break;
    case ENG_C_NORMAL:
        *zero = false;
        if (look) {
            ret = host_zero_co(e, *host, *len, zero);
            eng_busy_end(e, &b);
        }
        break;
    default:
        *zero = true;
        break;
    }
    return ret;
}

int eng_status_co_is_zero(eng *e, uint64_t off, uint64_t len, bool *zero)
{
    *zero = true;
    while (len && *zero) {
        uint64_t cur = len, host;
        eng_ctype type;
        int ret = eng_status_co(e, off, &cur, &type, &host, zero);
        if (ret < 0)
            return ret;
        off += cur;
        len -= cur;
    }
    return 0;
}
