/*
 * trace_certain.c - which events a request is certain to announce, and
 * which injected faults it is certain to meet (see trace_int.h).
 *
 * A `wait_break` after `break EVENT` deadlocks unless some request
 * announces EVENT; an `expect_error` after `inject ... once` fails the
 * verdict unless the next request fails with it. The decoder writes either
 * only where these functions say "certain", from the model of
 * trace_state.c and the engine's code paths:
 *   - a data write announces write_aio for its data; when a cluster it
 *     touches needs a new host cluster (unallocated or zero), cluster_alloc;
 *     when it begins or ends inside such a cluster, cow_read and cow_write
 *     (and read_backing_aio on an overlay whose cluster is unallocated);
 *     when it reaches an L2 table that does not exist yet, the table's
 *     allocation (cluster_alloc, l2_alloc_write, l2_update, l1_update);
 *     when it reaches an existing L2 table nothing touched since the image
 *     was opened, l2_load; when it allocates while no refcount block was
 *     loaded since the open, refblock_load; when it allocates an L2 table
 *     (or allocates with -f), refblock_update_part (the refcount blocks
 *     are written back first); with -f, flush_to_os and flush_to_disk;
 *   - a read announces read_aio for data clusters, read_backing_aio for
 *     unallocated clusters of an overlay, l2_load as above;
 *   - flush announces flush_to_os and flush_to_disk; a truncate that needs
 *     a larger L1 table announces the L1 growth events.
 * Faults are stricter: the first matching host I/O must be one whose error
 * reaches the request. The engine ignores errors while freeing clusters
 * (a leak at worst, as QEMU), so host flushes and L2 write-backs count only
 * where they come before any freeing (the first L2 table allocated).
 * Requests in flight could change the image under the trigger, so only
 * image-independent events are offered then.
 */
#include "trace_int.h"

#define EV(x) (UINT64_C(1) << ENG_EV_##x)
#define TG(x) (UINT64_C(1) << (x))

/* The events the engine announces with its metadata lock dropped: those
 * of guest data I/O, copy-on-write and flush (eng_rw.c, eng_alloc.c). */
#define UNLOCKED                                                               \
    (EV(WRITE_AIO) | EV(READ_AIO) | EV(READ_BACKING_AIO) | EV(COW_READ) |      \
     EV(COW_WRITE) | EV(FLUSH_TO_OS) | EV(FLUSH_TO_DISK))

bool trace_ev_locked(eng_event ev)
{
    return !((UNLOCKED >> ev) & 1);
}

bool trace_ev_image_free(eng_event ev)
{
    return ev == ENG_EV_WRITE_AIO || ev == ENG_EV_FLUSH_TO_OS ||
           ev == ENG_EV_FLUSH_TO_DISK;
}

/* What one request over [off, end) of the current image will meet. */
typedef struct trace_reach {
    bool nondata;     /* a cluster that needs allocating */
    bool fresh;       /* ... one without a host cluster to reuse */
    bool data;        /* a data cluster */
    bool unalloc;     /* an unallocated cluster over the backing file */
    bool no_l2;       /* an L2 table to allocate */
    bool first_no_l2; /* ... the first table it reaches */
    bool load;        /* an existing L2 table not in the cache */
    bool cow;         /* begins or ends inside a cluster to allocate */
    bool cow_backing; /* ... an unallocated one, on an overlay */
    bool rb_cold;     /* no refcount block in the cache yet */
} trace_reach;

static bool needs_alloc(uint16_t v)
{
    return v < 32 && (TA_NEEDS_ALLOC & (1u << v));
}

/* True when some L2 table in [a, b) exists and has not been loaded. */
static bool st_uncached(const trace_img *im, uint64_t a, uint64_t b)
{
    for (uint64_t x = trace_dn(a, im->span); x < b; x += im->span)
        if (trace_map_get(&im->l2, x) == TL_EXISTS &&
            trace_map_get(&im->cached, x) == 0)
            return true;
    return false;
}

static trace_reach st_reach(const trace_img *im, uint64_t off, uint64_t end)
{
    trace_reach r;
    uint64_t c0 = trace_dn(off, im->cs), c1 = trace_up(end, im->cs);
    uint64_t s0 = trace_dn(off, im->span), s1 = trace_up(end, im->span);
    uint16_t head = trace_map_get(&im->alloc, c0);
    uint16_t tail = trace_map_get(&im->alloc, trace_dn(end - 1, im->cs));
    bool cut_head = off % im->cs != 0, cut_tail = end % im->cs != 0;

    r.nondata = trace_map_any(&im->alloc, c0, c1, TA_NEEDS_ALLOC);
    r.fresh =
        trace_map_any(&im->alloc, c0, c1, (1u << TA_UNALLOC) | (1u << TA_ZERO));
    r.data = trace_map_any(&im->alloc, c0, c1, 1u << TA_DATA);
    uint64_t bend = trace_up(im->bsize, im->cs);
    r.unalloc =
        im->backing >= 0 && off < im->bsize &&
        trace_map_any(&im->alloc, c0, c1 < bend ? c1 : bend, 1u << TA_UNALLOC);
    r.no_l2 = trace_map_any(&im->l2, s0, s1, 1u << TL_NONE);
    r.first_no_l2 = trace_map_get(&im->l2, s0) == TL_NONE;
    r.load = st_uncached(im, off, end);
    r.rb_cold = im->rb_cold;
    r.cow = (cut_head && needs_alloc(head)) || (cut_tail && needs_alloc(tail));
    r.cow_backing = im->backing >= 0 &&
                    ((cut_head && head == TA_UNALLOC && c0 < im->bsize) ||
                     (cut_tail && tail == TA_UNALLOC && end < im->bsize));
    return r;
}

/* Events of a data write (not write-zeroes). */
static uint64_t ev_write(const trace_reach *r, bool fua)
{
    uint64_t m = EV(WRITE_AIO);
    if (fua)
        m |= EV(FLUSH_TO_OS) | EV(FLUSH_TO_DISK);
    if (r->fresh || r->no_l2)
        m |= EV(CLUSTER_ALLOC);
    if ((r->fresh || r->no_l2) && r->rb_cold)
        m |= EV(REFBLOCK_LOAD);
    if (r->no_l2 || (fua && r->fresh))
        m |= EV(REFBLOCK_UPDATE_PART);
    if (r->no_l2)
        m |= EV(L2_ALLOC_WRITE) | EV(L1_UPDATE) | EV(L2_UPDATE);
    if (fua && r->nondata)
        m |= EV(L2_UPDATE);
    if (r->cow)
        m |= EV(COW_READ) | EV(COW_WRITE);
    if (r->cow_backing)
        m |= EV(READ_BACKING_AIO);
    if (r->load)
        m |= EV(L2_LOAD);
    return m;
}

static uint64_t ev_read(const trace_reach *r)
{
    uint64_t m = 0;
    if (r->data)
        m |= EV(READ_AIO);
    if (r->unalloc)
        m |= EV(READ_BACKING_AIO);
    if (r->load)
        m |= EV(L2_LOAD);
    return m;
}

/* Write-zeroes: buffers on version 2; on version 3 whole clusters get
 * the zero flag (freeing data clusters with unmap), and partial ones may
 * get it too, so no data write is certain there. */
static uint64_t ev_zeroes(const trace_img *im, const trace_io *io)
{
    uint64_t end = io->off + io->len;
    uint64_t a = trace_up(io->off, im->cs), b = trace_dn(end, im->cs);
    uint64_t m =
        io->flags & SCRIPT_F_FUA ? EV(FLUSH_TO_OS) | EV(FLUSH_TO_DISK) : 0;
    if (im->version < 3)
        m |= EV(WRITE_AIO);
    else if (a < b && (io->flags & SCRIPT_F_UNMAP) &&
             trace_map_any(&im->alloc, a, b, 1u << TA_DATA))
        m |= EV(CLUSTER_FREE);
    return m;
}

uint64_t trace_st_events(trace_dec *d, const trace_io *io)
{
    trace_img *im = trace_cur(d);
    uint64_t m;

    if (!im || !im->open || io->len == 0 || trace_io_oor(im, io->off, io->len))
        return 0;
    trace_reach r = st_reach(im, io->off, io->off + io->len);
    if (io->kind == SCRIPT_AIO_READ)
        m = ev_read(&r);
    else if (io->kind != SCRIPT_AIO_WRITE)
        m = 0;
    else if (io->flags & SCRIPT_F_ZERO)
        m = ev_zeroes(im, io);
    else
        m = ev_write(&r, io->flags & SCRIPT_F_FUA);
    if (d->nfl) {
        uint64_t indep = 0;
        for (int ev = 0; ev < ENG_EV_COUNT; ev++)
            if (trace_ev_image_free((eng_event)ev))
                indep |= TG(ev);
        m &= indep;
    }
    return m;
}

/* ---- injected faults ----------------------------------------------------- */

static uint64_t faults_write(const trace_reach *r, bool fua)
{
    uint64_t m = EV(WRITE_AIO) | TG(TRACE_T_WRITE);
    if (r->fresh || r->no_l2)
        m |= EV(CLUSTER_ALLOC);
    if ((r->fresh || r->no_l2) && r->rb_cold)
        m |= EV(REFBLOCK_LOAD) | TG(TRACE_T_READ);
    if (r->no_l2)
        m |= EV(L2_ALLOC_WRITE) | EV(L1_UPDATE);
    if (r->first_no_l2)
        m |= EV(L2_UPDATE) | EV(REFBLOCK_UPDATE_PART) | TG(TRACE_T_FLUSH);
    if (r->cow)
        m |= EV(COW_READ) | EV(COW_WRITE);
    if (r->cow_backing)
        m |= EV(READ_BACKING_AIO);
    if (r->load)
        m |= EV(L2_LOAD) | TG(TRACE_T_READ);
    if (fua)
        m |= EV(FLUSH_TO_OS) | EV(FLUSH_TO_DISK);
    return m;
}

static uint64_t faults_read(const trace_reach *r)
{
    uint64_t m = ev_read(r);
    if (r->data || r->load)
        m |= TG(TRACE_T_READ);
    return m;
}

static uint64_t faults_truncate(const trace_img *im, uint64_t size)
{
    if (size <= im->size || size % 512 ||
        (im->backing >= 0 && im->bsize > im->size))
        return 0;
    uint64_t m = TG(TRACE_T_WRITE) | TG(TRACE_T_FLUSH);
    if (im->l1_known && trace_l1_entries(size, im->cs) > im->l1_size)
        m |= EV(L1_GROW_ALLOC_TABLE) | EV(L1_GROW_WRITE_TABLE) |
             EV(L1_GROW_ACTIVATE_TABLE) | EV(CLUSTER_ALLOC);
    return m;
}

uint64_t trace_st_faults(trace_dec *d, const trace_trig *t)
{
    trace_img *im = trace_cur(d);
    const trace_io *io = &t->io;

    if (!im || !im->open || d->nfl)
        return 0;
    switch (t->kind) {
    case SCRIPT_FLUSH:
        return EV(FLUSH_TO_OS) | EV(FLUSH_TO_DISK) | TG(TRACE_T_FLUSH);
    case SCRIPT_TRUNCATE:
        return faults_truncate(im, t->size);
    case SCRIPT_WRITE:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_READ:
    case SCRIPT_AIO_READ:
        break;
    default:
        return 0;
    }
    if (io->len == 0 || trace_io_oor(im, io->off, io->len) ||
        (io->flags & SCRIPT_F_ZERO))
        return 0;
    trace_reach r = st_reach(im, io->off, io->off + io->len);
    if (t->kind == SCRIPT_READ || t->kind == SCRIPT_AIO_READ)
        return faults_read(&r);
    return faults_write(&r, io->flags & SCRIPT_F_FUA);
}
