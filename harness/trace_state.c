/*
 * trace_state.c - the decoder's model of its images (see trace_int.h).
 *
 * The decoder must know, without running anything, which events a request
 * is certain to announce (so that a wait_break is always met), which
 * injected faults it is certain to meet (so that an expect_error is always
 * met), and which bytes a read is certain to return (so that a -P always
 * holds). It keeps, per image, range maps of:
 *   content  the byte every guest offset holds, or unknown (seeded data,
 *            failed writes, racing requests, what a crash may have lost);
 *   alloc    per cluster: unallocated, zero (no host cluster), zero that
 *            may keep its host cluster, data (written in place), unknown;
 *   l2       per L2 table: none, exists, unknown;
 *   cached   per L2 table: may be in the engine's cache (0 only when
 *            nothing touched it since the image was opened);
 *   touched  per sector: how many values it held since the last flush
 *            (about; 0: none, a crash loses nothing there);
 *   fuzzy    per sector: about log2 of the values it may hold now.
 * The rules follow the engine's contract and QEMU's facts (engine/eng_rw.c,
 * eng_alloc.c, eng_zero.c): a data write maps its clusters; write-zeroes
 * sets the zero flag on whole clusters of version 3 (freeing them with
 * unmap) and writes buffers elsewhere; discard zeroes whole clusters
 * (unallocates on version 2, does nothing on version 2 with a backing
 * file); truncate grows only and the new area reads zeroes.
 *
 * Invariant: every "known" the model claims holds on a correct engine;
 * where the outcome depends on an interleaving or on a failure, the model
 * says unknown. Effects of requests are applied when they are issued;
 * requests in flight together over the same bytes make them unknown.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shadow.h"
#include "trace_int.h"

/* An L2 table that may have been allocated (or not): unknown, unless it is
 * known to exist (tables are never freed). */
static const uint16_t l2_unsure[TL_N] = {TL_UNKNOWN, TL_EXISTS, TL_UNKNOWN};

uint64_t trace_l1_entries(uint64_t size, uint64_t cs)
{
    uint64_t per = cs * (cs / 8);
    return size / per + (size % per != 0);
}

trace_img *trace_cur(trace_dec *d)
{
    return d->cur < 0 ? NULL : &d->img[d->cur];
}

bool trace_io_oor(const trace_img *im, uint64_t off, uint64_t len)
{
    return off > im->size || len > im->size - off;
}

/* ---- images -------------------------------------------------------------- */

int trace_img_init(trace_img *im, const script_create *c, const trace_img *b,
                   uint64_t default_cs)
{
    memset(im, 0, sizeof(*im));
    im->backing = -1;
    if (c->name) {
        snprintf(im->name, sizeof(im->name), "%s", c->name);
        im->named = true;
    }
    im->size = c->size;
    im->cs = c->cluster_size ? c->cluster_size : default_cs;
    im->span = im->cs * (im->cs / 8);
    im->version = c->version ? c->version : 3;
    im->open = true;
    im->l1_size = trace_l1_entries(im->size, im->cs);
    im->l1_known = true;
    im->rb_cold = true;
    int r = b ? trace_map_copy(&im->content, &b->content)
              : trace_map_init(&im->content, 0);
    if (r == 0 && b)
        trace_map_set(&im->content, b->size, UINT64_MAX, 0);
    if (r == 0)
        r = trace_map_init(&im->alloc, TA_UNALLOC);
    if (r == 0)
        r = trace_map_init(&im->l2, TL_NONE);
    if (r == 0)
        r = trace_map_init(&im->cached, 0);
    if (r == 0)
        r = trace_map_init(&im->touched, 0);
    if (r == 0)
        r = b ? trace_map_copy(&im->fuzzy, &b->fuzzy)
              : trace_map_init(&im->fuzzy, 0);
    if (r == 0 && b)
        trace_map_set(&im->fuzzy, b->size, UINT64_MAX, 0);
    if (b)
        im->bsize = b->size;
    return r;
}

void trace_img_free(trace_img *im)
{
    trace_map_free(&im->content);
    trace_map_free(&im->alloc);
    trace_map_free(&im->l2);
    trace_map_free(&im->cached);
    trace_map_free(&im->touched);
    trace_map_free(&im->fuzzy);
}

bool trace_img_oom(const trace_img *im)
{
    return im->content.oom || im->alloc.oom || im->l2.oom || im->cached.oom ||
           im->touched.oom || im->fuzzy.oom;
}

void trace_st_opened(trace_img *im)
{
    im->rb_cold = true;
    trace_map_set(&im->cached, 0, UINT64_MAX, 0);
}

/* ---- requests in flight -------------------------------------------------- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

bool trace_st_fl_overlap(const trace_dec *d, uint64_t off, uint64_t len,
                         bool clusters, bool alloc_only, bool pread_only)
{
    const trace_img *im = &d->img[d->cur];
    for (size_t i = 0; i < d->nfl; i++) {
        const trace_flight *f = &d->fl[i];
        if (pread_only ? !f->pread : f->kind == TW_READ)
            continue;
        if (alloc_only && !f->may_alloc)
            continue;
        uint64_t a = off, al = len, b = f->off, bl = f->len;
        if (clusters) {
            a = trace_dn(off, im->cs);
            al = trace_up(off + len, im->cs) - a;
            b = trace_dn(f->off, im->cs);
            bl = trace_up(f->off + f->len, im->cs) - b;
        }
        if (overlaps(a, al, b, bl))
            return true;
    }
    return false;
}

/* ---- modifying requests -------------------------------------------------- */

static void st_cached(trace_img *im, uint64_t off, uint64_t end)
{
    trace_map_set(&im->cached, trace_dn(off, im->span), trace_up(end, im->span),
                  1);
}

/* A write through the data path: its clusters hold data, its L2 tables
 * exist. */
static void st_data(trace_img *im, uint64_t off, uint64_t end)
{
    if (off >= end)
        return;
    trace_map_set(&im->alloc, trace_dn(off, im->cs), trace_up(end, im->cs),
                  TA_DATA);
    trace_map_set(&im->l2, trace_dn(off, im->span), trace_up(end, im->span),
                  TL_EXISTS);
}

/* Whole clusters [a, b) zeroed (unmap) or discarded (discard): the
 * engine's zero_in_l2_co, one L2 table at a time. */
static void st_zero_clusters(trace_img *im, uint64_t a, uint64_t b, bool unmap,
                             bool discard)
{
    static const uint16_t keep[TA_N] = {TA_ZERO, TA_ZERO, TA_ZALLOC, TA_ZALLOC,
                                        TA_ZALLOC};
    static const uint16_t all_zero[TA_N] = {TA_ZERO, TA_ZERO, TA_ZERO, TA_ZERO,
                                            TA_ZERO};
    static const uint16_t all_unalloc[TA_N] = {
        TA_UNALLOC, TA_UNALLOC, TA_UNALLOC, TA_UNALLOC, TA_UNALLOC};
    while (a < b) {
        uint64_t e = trace_dn(a, im->span) + im->span;
        if (e > b)
            e = b;
        uint16_t l2 = trace_map_get(&im->l2, a);
        if (!(l2 == TL_NONE && im->backing < 0)) {
            const uint16_t *to = discard && im->version < 3 ? all_unalloc
                                 : discard || unmap         ? all_zero
                                                            : keep;
            trace_map_remap(&im->alloc, a, e, to, TA_N);
            if (im->backing >= 0)
                trace_map_set(&im->l2, trace_dn(a, im->span),
                              trace_dn(a, im->span) + im->span, TL_EXISTS);
        }
        a = e;
    }
}

/* The content a discard of [off, off + len) makes read zeroes. */
static void st_discard(trace_img *im, uint64_t off, uint64_t len)
{
    uint64_t end = off + len, a = trace_up(off, im->cs),
             b = trace_dn(end, im->cs);
    if (end == im->size && end != b && off <= b)
        b = trace_up(end, im->cs);
    if (a >= b || (im->version < 3 && im->backing >= 0))
        return;
    st_zero_clusters(im, a, b, false, true);
    uint64_t zoff = 0;
    uint64_t n = shadow_discard_zeroed(im->version, im->backing >= 0, im->size,
                                       (uint32_t)im->cs, off, len, &zoff);
    trace_map_set(&im->content, zoff, zoff + n, 0);
}

/* A cluster written partly by write-zeroes (version 3): it gets zero
 * buffers through the data path, or, when the rest of it reads zeroes,
 * the zero flag as a whole (QEMU's head and tail handling). */
static void st_zero_partial(trace_img *im, uint64_t c)
{
    trace_map_set(&im->alloc, c, c + im->cs, TA_UNKNOWN);
    trace_map_remap(&im->l2, trace_dn(c, im->span),
                    trace_dn(c, im->span) + im->span, l2_unsure, TL_N);
}

/* Write-zeroes: whole clusters by flag (version 3), the rest by buffers
 * (or by flag). */
static void st_zeroes(trace_img *im, uint64_t off, uint64_t end, bool unmap)
{
    uint64_t a = trace_up(off, im->cs), b = trace_dn(end, im->cs);
    if (im->version < 3) {
        st_data(im, off, end);
    } else {
        if (off < a)
            st_zero_partial(im, trace_dn(off, im->cs));
        if (a < b)
            st_zero_clusters(im, a, b, unmap, false);
        if (b < end && b >= a)
            st_zero_partial(im, b);
    }
    trace_map_set(&im->content, off, end, 0);
}

bool trace_pure_data(const trace_img *im, const trace_io *io)
{
    if (io->kind == SCRIPT_DISCARD)
        return false;
    return !(io->flags & SCRIPT_F_ZERO) || im->version < 3;
}

/* Requests in flight over the same bytes: who lands last is not known. */
static void st_races(trace_dec *d, trace_img *im, const trace_io *io)
{
    uint64_t off = io->off, end = io->off + io->len;
    bool data = trace_pure_data(im, io);
    for (size_t i = 0; i < d->nfl; i++) {
        const trace_flight *f = &d->fl[i];
        if (f->kind == TW_READ)
            continue;
        uint64_t fe = f->off + f->len;
        if (overlaps(off, io->len, f->off, f->len))
            trace_map_set(&im->content, off > f->off ? off : f->off,
                          end < fe ? end : fe, TC_UNKNOWN);
        uint64_t a0 = trace_dn(off, im->cs), a1 = trace_up(end, im->cs);
        uint64_t b0 = trace_dn(f->off, im->cs), b1 = trace_up(fe, im->cs);
        if (a1 <= b0 || b1 <= a0 || (data && f->kind == TW_DATA))
            continue;
        uint64_t a = a0 > b0 ? a0 : b0, b = a1 < b1 ? a1 : b1;
        trace_map_set(&im->alloc, a, b, TA_UNKNOWN);
        trace_map_remap(&im->l2, trace_dn(a, im->span), trace_up(b, im->span),
                        l2_unsure, TL_N);
    }
}

/* k more doublings of the legal values of the sectors of [a, b). */
static void fuzzy_add(trace_img *im, uint64_t a, uint64_t b, unsigned k)
{
    uint16_t to[16];
    for (unsigned v = 0; v < 16; v++)
        to[v] = (uint16_t)(v + k < 15 ? v + k : 15);
    trace_map_remap(&im->fuzzy, trace_dn(a, 512), trace_up(b, 512), to, 16);
}

bool trace_st_fuzzy_ok(trace_dec *d, uint64_t off, uint64_t len, unsigned add)
{
    trace_img *im = trace_cur(d);
    return trace_map_max(&im->fuzzy, trace_dn(off, 512),
                         trace_up(off + len, 512)) +
               add <=
           TRACE_FUZZY_MAX;
}

/* The values the sectors of [off, end) held until now become values a
 * crash may bring back (the shadow model's past values). */
static void st_touch(trace_img *im, uint64_t off, uint64_t end)
{
    uint64_t x = trace_dn(off, 512), b = trace_up(end, 512);
    while (x < b) {
        uint64_t e1, e2;
        uint16_t f = trace_map_run(&im->fuzzy, x, &e1);
        uint32_t t = trace_map_run(&im->touched, x, &e2);
        uint64_t e = e1 < e2 ? e1 : e2;
        t += (2u << f) + 1;
        trace_map_set(&im->touched, x, e < b ? e : b,
                      (uint16_t)(t < 65535 ? t : 65535));
        x = e;
    }
}

/* How a modifying request changes the number of legal values: whole
 * sectors written by a lone request have one; failing or racing ones
 * may double them. */
static void st_fuzzy(trace_dec *d, trace_img *im, const trace_io *io,
                     bool failed)
{
    uint64_t off = io->off, end = off + io->len;
    if (failed || trace_st_fl_overlap(d, trace_dn(off, 512),
                                      trace_up(end, 512) - trace_dn(off, 512),
                                      false, false, false)) {
        fuzzy_add(im, off, end, 1);
        return;
    }
    if (io->kind == SCRIPT_DISCARD)
        return; /* what it zeroes is whole clusters, done below */
    if (trace_up(off, 512) < trace_dn(end, 512))
        trace_map_set(&im->fuzzy, trace_up(off, 512), trace_dn(end, 512), 0);
}

void trace_st_modify(trace_dec *d, const trace_io *io, bool failed)
{
    trace_img *im = trace_cur(d);
    uint64_t off = io->off, end = io->off + io->len;

    st_touch(im, off, end);
    st_cached(im, off, end);
    im->rb_cold = false;
    st_fuzzy(d, im, io, failed);
    if (failed) {
        trace_map_set(&im->content, off, end, TC_UNKNOWN);
        trace_map_set(&im->alloc, trace_dn(off, im->cs), trace_up(end, im->cs),
                      TA_UNKNOWN);
        trace_map_remap(&im->l2, trace_dn(off, im->span),
                        trace_up(end, im->span), l2_unsure, TL_N);
        return;
    }
    if (io->kind == SCRIPT_DISCARD) {
        st_discard(im, off, io->len);
    } else if (io->flags & SCRIPT_F_ZERO) {
        st_zeroes(im, off, end, io->flags & SCRIPT_F_UNMAP);
    } else {
        st_data(im, off, end);
        trace_map_set(&im->content, off, end,
                      io->flags & SCRIPT_F_PATTERN ? io->pattern : TC_UNKNOWN);
    }
    st_races(d, im, io);
}

void trace_st_read(trace_dec *d, const trace_io *io)
{
    st_cached(trace_cur(d), io->off, io->off + io->len);
}

void trace_st_truncate(trace_dec *d, uint64_t size)
{
    trace_img *im = trace_cur(d);
    uint64_t old = im->size;

    if (im->backing >= 0 && im->bsize > old) { /* the engine zeroes it */
        trace_map_set(&im->alloc, trace_dn(old, im->cs), trace_up(size, im->cs),
                      TA_UNKNOWN);
        trace_map_remap(&im->l2, trace_dn(old, im->span),
                        trace_up(size, im->span), l2_unsure, TL_N);
    } else {
        trace_map_set(&im->alloc, trace_up(old, im->cs), UINT64_MAX,
                      TA_UNALLOC);
        trace_map_set(&im->l2, trace_up(old, im->span), UINT64_MAX, TL_NONE);
    }
    trace_map_set(&im->content, old, UINT64_MAX, 0);
    trace_map_set(&im->fuzzy, trace_up(old, 512), UINT64_MAX, 0);
    trace_map_set(&im->cached, 0, UINT64_MAX, 1);
    im->rb_cold = false;
    im->size = size;
    uint64_t l1 = trace_l1_entries(size, im->cs);
    if (l1 > im->l1_size)
        im->l1_size = l1;
}

void trace_st_flushed(trace_dec *d)
{
    trace_img *im = trace_cur(d);
    if (im && d->nfl == 0)
        trace_map_set(&im->touched, 0, UINT64_MAX, 0);
}

void trace_st_drained(trace_dec *d)
{
    d->nfl = 0;
}

/* Calls fn on every run of [0, 2^64) where both the touched count and
 * the fuzziness of im are constant and something was touched. */
static bool st_touched_runs(trace_img *im,
                            bool (*fn)(trace_img *, uint64_t, uint64_t,
                                       unsigned, unsigned))
{
    uint64_t x = 0;
    while (x != UINT64_MAX) {
        uint64_t e1, e2;
        unsigned t = trace_map_run(&im->touched, x, &e1);
        unsigned f = trace_map_run(&im->fuzzy, x, &e2);
        uint64_t e = e1 < e2 ? e1 : e2;
        if (t && e != UINT64_MAX && !fn(im, x, e, t, f))
            return false;
        x = e;
    }
    return true;
}

/* The legal values of a sector after a crash: the current ones and every
 * one it held since the last flush. */
static unsigned crash_values(unsigned touched, unsigned fuzzy)
{
    return (1u << fuzzy) + touched;
}

static bool crash_fits(trace_img *im, uint64_t a, uint64_t b, unsigned t,
                       unsigned f)
{
    (void)im, (void)a, (void)b;
    return crash_values(t, f) <= (1u << TRACE_FUZZY_MAX);
}

bool trace_st_crash_ok(trace_dec *d)
{
    for (size_t i = 0; i < d->nimg; i++)
        if (!st_touched_runs(&d->img[i], crash_fits))
            return false;
    return true;
}

/* Whatever a run of sectors held since the last flush may come back. */
static bool crash_run(trace_img *im, uint64_t a, uint64_t b, unsigned t,
                      unsigned f)
{
    unsigned n = crash_values(t, f), bits = 0;
    while ((1u << bits) < n && bits < 15)
        bits++;
    trace_map_set(&im->fuzzy, a, b, (uint16_t)bits);
    trace_map_set(&im->content, a, b, TC_UNKNOWN);
    trace_map_set(&im->alloc, trace_dn(a, im->cs), trace_up(b, im->cs),
                  TA_UNKNOWN);
    trace_map_set(&im->l2, trace_dn(a, im->span), trace_up(b, im->span),
                  TL_UNKNOWN);
    return true;
}

/* Power loss: whatever was written since the last flush is unknown. */
void trace_st_crash(trace_dec *d)
{
    for (size_t i = 0; i < d->nimg; i++) {
        trace_img *im = &d->img[i];
        st_touched_runs(im, crash_run);
        trace_map_set(&im->touched, 0, UINT64_MAX, 0);
        trace_st_opened(im);
    }
    d->nfl = 0;
    d->held = false;
}

/* ---- what is known ------------------------------------------------------- */

int trace_st_uniform(trace_dec *d, uint64_t a, uint64_t b)
{
    uint16_t v;
    trace_img *im = trace_cur(d);
    if (!trace_map_uniform(&im->content, a, b, &v) || v == TC_UNKNOWN ||
        trace_st_fl_overlap(d, a, b - a, false, false, false))
        return -1;
    return v;
}

bool trace_st_known(trace_dec *d, uint64_t a, uint64_t b, uint8_t p)
{
    return a < b && trace_st_uniform(d, a, b) == p;
}
