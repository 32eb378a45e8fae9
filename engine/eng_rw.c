/*
 * eng_rw.c - the guest request paths for read, write, flush and map
 * (after the facts of QEMU's qcow2_co_preadv_part, qcow2_co_pwritev_part
 * and bdrv_co_flush).
 *
 * Invariants:
 *   - The metadata lock is held for lookups and allocation and dropped
 *     around guest data I/O; the host range of that I/O is registered in
 *     e->busy meanwhile, so its clusters are not handed out again even if
 *     a concurrent discard frees them.
 *   - A write's L2 entries change only after its data write succeeded; a
 *     failed data write undoes its allocations (leaks at worst).
 *   - Flush writes the caches in dependency order, then flushes the host.
 */
#include "eng_internal.h"

int eng_rw_check(eng *e, uint64_t off, uint64_t len, bool write)
{
    if (write && e->read_only)
        return -EROFS;
    if (off > e->size || len > e->size - off)
        return -EINVAL;
    return 0;
}

/* Whether a copy-on-write read of a zero cluster goes to the backing file
 * (only the zero_cluster_cow_backing mutant does that). */
static bool zero_reads_backing(const eng *e, eng_ctype type, bool cow)
{
    /*
     * Mutant zero_cluster_cow_backing (the bug class QEMU fixed in qcow2's
     * is_allocated with iotest 050: zero clusters taken for
     * unallocated ones, so the backing file's data was copied over them):
     * the copy-on-write read of a zero-flagged cluster falls through to
     * the backing file instead of producing zeroes.
     */
    return cow && e->backing_file &&
           (type == ENG_C_ZERO_PLAIN || type == ENG_C_ZERO_ALLOC) &&
           eng_mutant_on(e, ENG_MUT_ZERO_CLUSTER_COW_BACKING);
}

/* Whether a guest read of a data cluster takes the bounced, detached path
 * (only the early_completion mutant does that). */
static bool early_completion(const eng *e, bool cow)
{
    /*
     * Mutant early_completion (the class of QEMU launchpad bug 1745312:
     * intermittent "General failure reading drive" under MS-DOS on the
     * isapc machine's IDE, a transfer completed before its data was in):
     * a guest read of a data cluster goes through an engine-owned bounce
     * buffer with a detached host read, and completes at the next
     * completion of any of the engine's reads instead of its own
     * (eng_bounce.c). With another read's host I/O completed first, the
     * guest gets the bounce buffer's stale bytes. The correct engine
     * reads into the guest buffer and waits for that very read.
     */
    return !cow && eng_mutant_on(e, ENG_MUT_EARLY_COMPLETION);
}

/* One run of one cluster type (cow: a copy-on-write read). */
static int read_run_co(eng *e, uint64_t off, uint8_t *buf, uint64_t *len,
                       bool cow)
{
    eng_ctype type;
    uint64_t host;
    eng_busy b = {0};
    eng_co_lock(e);
    int ret = eng_cluster_co_lookup(e, off, len, &type, &host);
    if (ret == 0 && type == ENG_C_NORMAL)
        eng_busy_begin(e, &b, host, *len);
    eng_unlock(e);
    if (ret < 0)
        return ret;
    if (zero_reads_backing(e, type, cow))
        type = ENG_C_UNALLOC;
    switch (type) {
    case ENG_C_UNALLOC:
        if (e->backing_file) {
            ret = eng_co_ev(e, ENG_EV_READ_BACKING_AIO);
            if (ret == 0)
                ret = eng_backing_co_read(e, off, buf, *len);
        } else {
            memset(buf, 0, *len);
        }
        break;
    case ENG_C_NORMAL:
        if (early_completion(e, cow))
            ret = eng_bounce_co_read(e, host, buf, *len);
        else
            ret = eng_co_hread(e, ENG_EV_READ_AIO, host, buf, *len);
        eng_busy_end(e, &b);
        break;
    default:
        memset(buf, 0, *len);
        break;
    }
    return ret;
}

static int read_co(eng *e, uint64_t off, void *buf, uint64_t len, bool cow)
{
    uint8_t *p = buf;
    while (len) {
        uint64_t cur = len;
        int ret = read_run_co(e, off, p, &cur, cow);
        if (ret < 0)
            return ret;
        off += cur;
        p += cur;
        len -= cur;
    }
    return 0;
}

int eng_rw_co_read(eng *e, uint64_t off, void *buf, uint64_t len)
{
    return read_co(e, off, buf, len, false);
}

int eng_rw_co_read_cow(eng *e, uint64_t off, void *buf, uint64_t len)
{
    return read_co(e, off, buf, len, true);
}

int eng_co_read(eng *e, uint64_t off, void *buf, uint64_t len)
{
    int ret = eng_rw_check(e, off, len, false);
    if (ret < 0 || len == 0)
        return ret;
    return eng_rw_co_read(e, off, buf, len);
}

/* One host-contiguous part of a write. Lock held on entry and exit. When
 * the data sits exactly between the COW regions of a new allocation, it
 * goes to the host with them in one write (eng_alloc_co_finish), so no
 * reader sees a sector half written; else it is written here first. */
static int write_part_co(eng *e, uint64_t off, const uint8_t *buf,
                         uint64_t *len)
{
    uint64_t host;
    eng_l2meta *metas = NULL;
    eng_busy b;
    int ret = eng_alloc_co_host(e, off, len, &host, &metas);
    if (ret < 0) {
        (void)eng_alloc_co_finish(e, &metas, false);
        return ret;
    }
    eng_busy_begin(e, &b, host, *len);
    if (!eng_cow_merge_data(metas, off, buf, *len)) {
        eng_unlock(e);
        ret = eng_co_hwrite(e, ENG_EV_WRITE_AIO, host, buf, *len);
        ret = eng_cow_data_result(e, ret);
        eng_co_lock(e);
    }
    int fin = eng_alloc_co_finish(e, &metas, ret == 0);
    eng_busy_end(e, &b);
    return ret < 0 ? ret : fin;
}

int eng_rw_co_write(eng *e, uint64_t off, const void *buf, uint64_t len)
{
    const uint8_t *p = buf;
    int ret = 0;
    eng_co_lock(e);
    while (len && ret == 0) {
        uint64_t cur = len;
        ret = write_part_co(e, off, p, &cur);
        off += cur;
        p += cur;
        len -= cur;
    }
    eng_cluster_co_settle_l2(e, ret == 0);
    eng_unlock(e);
    return ret;
}

int eng_co_write(eng *e, uint64_t off, const void *buf, uint64_t len)
{
    int ret = eng_rw_check(e, off, len, true);
    if (ret < 0 || len == 0)
        return ret;
    return eng_rw_co_write(e, off, buf, len);
}

int eng_co_flush(eng *e)
{
    if (e->read_only)
        return 0;
    int ret = eng_co_ev(e, ENG_EV_FLUSH_TO_OS);
    if (ret == 0) {
        eng_co_lock(e);
        ret = eng_co_write_caches(e);
        eng_unlock(e);
    }
    if (ret == 0)
        ret = eng_co_ev(e, ENG_EV_FLUSH_TO_DISK);
    /*
     * Mutant flush_no_host_flush (ocaml-qcow before pull request 23, 2016,
     * which first made its flush call the flush of the device beneath):
     * the caches are written, but the host is never told to make them, or
     * the data written before, durable.
     */
    if (ret == 0 && !eng_mutant_on(e, ENG_MUT_FLUSH_NO_HOST_FLUSH))
        ret = eng_co_hflush(e);
    return ret;
}

int eng_co_map(eng *e, uint64_t off, uint64_t len, eng_map_extent *out)
{
    int ret = eng_rw_check(e, off, len, false);
    if (ret == 0 && len == 0)
        ret = -EINVAL;
    if (ret < 0)
        return ret;
    eng_ctype type;
    uint64_t host;
    bool zero;
    ret = eng_status_co(e, off, &len, &type, &host, &zero);
    if (ret < 0)
        return ret;
    out->off = off;
    out->len = len;
    out->host_off = host;
    switch (type) {
    case ENG_C_UNALLOC: out->kind = ENG_MAP_UNALLOCATED; break;
    case ENG_C_NORMAL: out->kind = zero ? ENG_MAP_ZERO : ENG_MAP_DATA; break;
    default: out->kind = ENG_MAP_ZERO; break;
    }
    return 0;
}
