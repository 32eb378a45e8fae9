/*
 * eng_cow.c - copy-on-write for allocating writes: the parts of new
 * clusters that the guest does not write are copied from where they read
 * now (backing file, zeroes, the old cluster), and, when the guest data
 * sits exactly between them, written together with it in ONE host write
 * (after the facts of QEMU's perform_cow and merge_cow since QEMU 2.10,
 * "merge the writing of the COW regions with the guest data").
 *
 * Invariants:
 *   - Both COW regions are read before anything is written; the reads go
 *     through the guest read path while the L2 entries still describe the
 *     old content. Events follow QEMU: cow_read per read (one read for
 *     head, middle and tail when both regions exist and the middle is at
 *     most ENG_COW_MERGE_READ_MAX), then write_aio and cow_write for a
 *     merged write, or cow_write per region.
 *   - A merged write covers COW head + guest data + COW tail, so a reader
 *     racing it sees each 512-byte sector all old or all new.
 *   - COW buffers come from a small per-engine pool and go back to it
 *     with their bytes (as memory from an allocator does), so a mutant
 *     that leaves part of a buffer unread sees earlier COW bytes, the
 *     same on every run: a fresh buffer is zeroed, pooled ones are reused
 *     newest first, the oldest dropped when the pool is full. The pool is the engine's; eng_cow_pool_free()
 *     empties it at close.
 *   - Called with the lock held; the lock is dropped around the I/O.
 */
#include <stdlib.h>

#include "eng_internal.h"

/* ---- the buffer pool ----------------------------------------------------- */

/* A buffer of at least len bytes: the newest pooled one that is big
 * enough, else a new zeroed one. */
static int take_buf(eng *e, size_t len, eng_cow_buf *out)
{
    for (unsigned i = e->n_cow_pool; i-- > 0;) {
        if (e->cow_pool[i].cap < len)
            continue;
        *out = e->cow_pool[i];
        for (unsigned j = i; j + 1 < e->n_cow_pool; j++)
            e->cow_pool[j] = e->cow_pool[j + 1];
        e->n_cow_pool--;
        return 0;
    }
    out->buf = calloc(1, len ? len : 1);
    out->cap = len;
    return out->buf ? 0 : -ENOMEM;
}

static void give_buf(eng *e, eng_cow_buf b)
{
    if (e->n_cow_pool == ENG_COW_POOL) {
        free(e->cow_pool[0].buf); /* the oldest goes */
        for (unsigned i = 0; i + 1 < ENG_COW_POOL; i++)
            e->cow_pool[i] = e->cow_pool[i + 1];
        e->n_cow_pool--;
    }
    e->cow_pool[e->n_cow_pool++] = b;
}

void eng_cow_pool_free(eng *e)
{
    for (unsigned i = 0; i < e->n_cow_pool; i++)
        free(e->cow_pool[i].buf);
    e->n_cow_pool = 0;
}

/* ---- copy-on-write -------------------------------------------------------- */

/* The guest data write and how it failed: the swallow_enospc mutant's code
 * point, for a separate data write (eng_rw.c) and a merged one (below). */
int eng_cow_data_result(const eng *e, int ret)
{
    /*
     * Mutant swallow_enospc (Xen's qemu-dm and blktap, Red Hat bug 217859,
     * 2006): a host write that failed was logged and the guest was told it
     * succeeded. Here the failed data write counts as done: the request
     * succeeds and its new clusters are linked over bytes never written.
     */
    if (ret == -ENOSPC && eng_mutant_on(e, ENG_MUT_SWALLOW_ENOSPC))
        return 0;
    return ret;
}

/* QEMU's merge_cow: hand guest data [off, off + len) at buf to the meta
 * whose COW regions it sits exactly between, so that COW head, data and
 * COW tail reach the host in one write. False when there is none (the
 * caller writes the data itself). */
bool eng_cow_merge_data(eng_l2meta *metas, uint64_t off, const void *buf,
                        uint64_t len)
{
    for (eng_l2meta *m = metas; m; m = m->next) {
        if (!m->cow_start.len && !m->cow_end.len)
            continue;
        if (m->guest_off + m->cow_start.offset + m->cow_start.len != off ||
            m->guest_off + m->cow_end.offset != off + len)
            continue;
        m->data = buf;
        return true;
    }
    return false;
}

/* Read the COW regions of m into buf, laid out as [head | gap | tail]
 * (gap: the middle's length when buf holds it, else 0): in one read of
 * head, middle and tail when one_read (QEMU's merge_reads), else one
 * read per non-empty region. */
static int cow_read_co(eng *e, const eng_l2meta *m, uint8_t *buf,
                       uint64_t gap, bool one_read)
{
    eng_cow_region h = m->cow_start, t = m->cow_end;
    uint64_t g = m->guest_off;
    int ret = 0;
    if (one_read) {
        ret = eng_co_ev(e, ENG_EV_COW_READ);
        return ret ? ret : eng_rw_co_read_cow(e, g + h.offset, buf,
                                              h.len + gap + t.len);
    }
    if (h.len) {
        ret = eng_co_ev(e, ENG_EV_COW_READ);
        if (ret == 0)
            ret = eng_rw_co_read_cow(e, g + h.offset, buf, h.len);
    }
    if (ret == 0 && t.len) {
        ret = eng_co_ev(e, ENG_EV_COW_READ);
        if (ret == 0)
            ret = eng_rw_co_read_cow(e, g + t.offset, buf + h.len + gap,
                                     t.len);
    }
    return ret;
}

/* Write what cow_read_co read (with the guest data in the middle when
 * merged: one host write, announced as write_aio then cow_write, as QEMU
 * does), else each non-empty region on its own. */
static int cow_write_co(eng *e, const eng_l2meta *m, uint8_t *buf,
                        uint64_t gap)
{
    eng_cow_region h = m->cow_start, t = m->cow_end;
    uint64_t host = m->alloc_off;
    int ret = 0;
    if (m->data) {
        memcpy(buf + h.len, m->data, gap);
        ret = eng_co_ev(e, ENG_EV_WRITE_AIO);
        if (ret == 0)
            ret = eng_co_hwrite(e, ENG_EV_COW_WRITE, host + h.offset, buf,
                                h.len + gap + t.len);
        return eng_cow_data_result(e, ret);
    }
    if (h.len)
        ret = eng_co_hwrite(e, ENG_EV_COW_WRITE, host + h.offset, buf, h.len);
    if (ret == 0 && t.len)
        ret = eng_co_hwrite(e, ENG_EV_COW_WRITE, host + t.offset,
                            buf + h.len + gap, t.len);
    return ret;
}

/* QEMU's perform_cow (since 2.10): read both COW regions from where they
 * read now, then write them into the new clusters, together with the
 * guest data when it was merged (eng_cow_merge_data). The buffer holds
 * head, middle and tail when the middle is read or written, else head and
 * tail back to back. Drops the lock around the I/O. */
int eng_cow_co_perform(eng *e, eng_l2meta *m)
{
    eng_cow_region h = m->cow_start, t = m->cow_end;
    if (!h.len && !t.len)
        return 0;
    uint64_t middle = t.offset - (h.offset + h.len);
    bool one_read = h.len && t.len && middle <= ENG_COW_MERGE_READ_MAX;
    uint64_t gap = m->data || one_read ? middle : 0;
    eng_cow_buf b;
    if (take_buf(e, h.len + gap + t.len, &b) < 0)
        return -ENOMEM;
    eng_unlock(e);
    int ret = cow_read_co(e, m, b.buf, gap, one_read);
    if (ret == 0)
        ret = cow_write_co(e, m, b.buf, gap);
    eng_co_lock(e);
    give_buf(e, b);
    return ret;
}

