/*
 * hostdisk.c - the simulated host disk: a sparse in-memory file with a
 * volatile write cache (the rules are in hostdisk.h; the representation and
 * its invariants I1-I9 in hostdisk_int.h). This file holds the pages' life
 * cycle, reads, writes, flush, truncate and power loss.
 *
 * A write runs in two passes so that a failed allocation changes nothing:
 * hd_prepare gives every page it touches what the write will need (a page
 * struct; a buffer only where the write changes a byte), undoing all of it
 * on -ENOMEM; hd_copy_in then copies and marks sectors volatile, and cannot
 * fail. A fresh buffer is not zeroed: the copy fills the written bytes and
 * hd_fill_around only the rest of the page.
 *
 * Ownership: the disk owns its pages and buffers (through its pools).
 */
#include "hostdisk_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

_Static_assert(HD_SECTORS == 8, "volmask is one byte");
_Static_assert(HOSTDISK_SECTOR_SIZE == 1u << HD_SECTOR_SHIFT, "sector size");
_Static_assert(HD_PAGE < HD_NZ_NONE, "a page offset is never HD_NZ_NONE");

static const host_backend_ops hd_ops;

hostdisk *hd_of(host_backend *b)
{
    assert(hostdisk_is(b));
    return (hostdisk *)b;
}

bool hostdisk_is(const host_backend *b)
{
    return b && b->ops == &hd_ops;
}

size_t hd_min(uint64_t a, uint64_t b)
{
    return (size_t)(a < b ? a : b);
}

static inline uint64_t hd_word(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The offset of the first non-zero byte of p[0..n), or n. With AVX-512,
 * 256 bytes a step up to the first block that is not all zero (the scan of
 * zero COW areas is a large share of a trace); then 64 bytes at a time,
 * written out so that it compiles to eight loads and a tree of ORs (a loop
 * over an array is copied to the stack first by gcc -O2: 3.5 times slower
 * on an all-zero page), and bytes last. */
#ifdef SIMD_X86
/* The start of the first 256-byte block of p[0..n) holding a non-zero
 * byte, or the start of the tail shorter than 256 bytes. */
SIMD_AVX512 static size_t hd_nz_block_avx512(const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        __m512i v = _mm512_or_si512(
            _mm512_or_si512(_mm512_loadu_si512(p + i),
                            _mm512_loadu_si512(p + i + 64)),
            _mm512_or_si512(_mm512_loadu_si512(p + i + 128),
                            _mm512_loadu_si512(p + i + 192)));
        if (_mm512_test_epi64_mask(v, v))
            break;
    }
    return i;
}
#endif

size_t hd_first_nz(const unsigned char *p, size_t n)
{
    size_t i = 0;

#ifdef SIMD_X86
    if (n >= 256 && simd_avx512())
        i = hd_nz_block_avx512(p, n);
#endif
    for (; i + 64 <= n; i += 64) {
        const unsigned char *q = p + i;
        if ((hd_word(q) | hd_word(q + 8) | hd_word(q + 16) | hd_word(q + 24)) |
            (hd_word(q + 32) | hd_word(q + 40) | hd_word(q + 48) |
             hd_word(q + 56)))
            break;
    }
    for (; i < n; i++)
        if (p[i])
            return i;
    return n;
}

/* Is the page buffer all zero? *hint is a position that may hold a
 * non-zero byte (HD_NZ_NONE: no idea); it is checked first, and updated
 * when a scan finds one. */
static bool hd_buf_is_zero(const unsigned char *buf, uint16_t *hint)
{
    size_t at;

    if (*hint != HD_NZ_NONE && buf[*hint])
        return false;
    at = hd_first_nz(buf, HD_PAGE);
    if (at == HD_PAGE)
        return true;
    *hint = (uint16_t)at;
    return false;
}

/* The sectors of a page that bytes [a, b) touch; a < b <= HD_PAGE. */
static uint8_t hd_sector_mask(size_t a, size_t b)
{
    unsigned s0 = (unsigned)(a >> HD_SECTOR_SHIFT);
    unsigned s1 = (unsigned)((b - 1) >> HD_SECTOR_SHIFT);
    return (uint8_t)((0xffu << s0) & (0xffu >> (HD_SECTORS - 1 - s1)));
}

/* Set bits of a sector mask. Not __builtin_popcount: without -mpopcnt
 * that is a call into libgcc, on every page a write or flush touches. */
static unsigned hd_popcount(uint8_t m)
{
    unsigned v = m;
    v = v - ((v >> 1) & 0x55u);
    v = (v & 0x33u) + ((v >> 2) & 0x33u);
    return (v + (v >> 4)) & 0x0fu;
}

/* ---- pages -------------------------------------------------------------- */

const unsigned char *hd_cur(const hd_page *p)
{
    return p->vol ? p->vol : p->durable;
}

/* Is the page's current content all zero? Cheap unless vol holds a byte
 * that was non-zero once and may have been overwritten by zeroes. */
bool hd_cur_is_zero(hd_page *p)
{
    if (!p->vol)
        return !p->durable; /* I3: a durable buffer is never all zero */
    if (p->vnz == HD_NZ_NONE)
        return true; /* I8 */
    if (!hd_buf_is_zero(p->vol, &p->vnz))
        return false;
    p->vnz = HD_NZ_NONE;
    return true;
}

static void hd_dirty_link(hostdisk *d, hd_page *p)
{
    p->dirty_prev = NULL;
    p->dirty_next = d->dirty;
    if (d->dirty)
        d->dirty->dirty_prev = p;
    d->dirty = p;
}

static void hd_dirty_unlink(hostdisk *d, hd_page *p)
{
    if (p->dirty_prev)
        p->dirty_prev->dirty_next = p->dirty_next;
    else
        d->dirty = p->dirty_next;
    if (p->dirty_next)
        p->dirty_next->dirty_prev = p->dirty_prev;
    p->dirty_prev = p->dirty_next = NULL;
}

/* A new page with neither buffer, linked into the tree; NULL on ENOMEM. */
static hd_page *hd_page_new(hostdisk *d, uint64_t idx)
{
    hd_page *p = hd_page_take(d);

    if (!p)
        return NULL;
    p->index = idx;
    if (hd_insert(d, p) < 0) {
        hd_page_give(d, p);
        return NULL;
    }
    return p;
}

/* Frees page p and all it holds, forgetting its volatile sectors. */
static void hd_page_drop(hostdisk *d, hd_page *p)
{
    if (p->volmask) {
        hd_dirty_unlink(d, p);
        d->vol_sectors -= hd_popcount(p->volmask);
    }
    hd_buf_give(d, &p->vol);
    hd_buf_give(d, &p->durable);
    hd_unlink(d, p->index);
    hd_page_give(d, p);
}

/* Restores I1 and I3 for page p after a change that left durable non-zero
 * or NULL: drops a volatile copy without volatile sectors (equal to
 * durable by I2), frees the page when nothing is left. May free p. */
static void hd_page_settle(hostdisk *d, hd_page *p)
{
    if (p->vol && !p->volmask)
        hd_buf_give(d, &p->vol);
    if (!p->vol && !p->durable && !p->volmask)
        hd_page_drop(d, p);
}

/* Frees p's durable buffer if it became all zero (restores I3). */
static void hd_durable_recheck(hostdisk *d, hd_page *p)
{
    if (p->durable && hd_buf_is_zero(p->durable, &p->dnz))
        hd_buf_give(d, &p->durable);
}

/* Makes page p's current content durable. May free p. */
static void hd_page_commit(hostdisk *d, hd_page *p)
{
    assert(p->volmask);
    if (p->vol) {
        hd_buf_give(d, &p->durable);
        p->durable = p->vol;
        p->dnz = p->vnz;
        p->vol = NULL;
        if (p->dnz == HD_NZ_NONE) /* I8: known all zero, no scan */
            hd_buf_give(d, &p->durable);
        else
            hd_durable_recheck(d, p);
    }
    hd_dirty_unlink(d, p);
    d->vol_sectors -= hd_popcount(p->volmask);
    p->volmask = 0;
    hd_page_settle(d, p);
}

/* Zeroes bytes [in, HD_PAGE) of page p in both views and forgets the
 * volatile sectors that lie wholly in that range. May free p. */
static void hd_page_trim(hostdisk *d, hd_page *p, size_t in)
{
    unsigned first =
        (unsigned)((in + HOSTDISK_SECTOR_SIZE - 1) >> HD_SECTOR_SHIFT);
    uint8_t gone = (uint8_t)(0xffu << first) & p->volmask;

    if (p->vol)
        memset(p->vol + in, 0, HD_PAGE - in); /* vnz stays true (I8) */
    if (p->durable) {
        memset(p->durable + in, 0, HD_PAGE - in);
        hd_durable_recheck(d, p);
    }
    if (gone) {
        p->volmask &= (uint8_t)~gone;
        d->vol_sectors -= hd_popcount(gone);
        if (!p->volmask)
            hd_dirty_unlink(d, p);
    }
    hd_page_settle(d, p);
}

/* ---- reading, writing, cutting ------------------------------------------ */

/* Reads the current view, or the durable one. 0 or -EINVAL. */
static int hd_read(hostdisk *d, uint64_t off, void *buf, size_t len,
                   bool durable)
{
    unsigned char *out = buf;

    if (len > UINT64_MAX - off)
        return -EINVAL;
    while (len > 0) {
        size_t in = (size_t)(off & (HD_PAGE - 1));
        size_t n = hd_min(HD_PAGE - in, len);
        hd_page *p = hd_lookup(d, off >> HD_PAGE_SHIFT);
        const unsigned char *src = !p ? NULL : durable ? p->durable : hd_cur(p);
        if (src)
            memcpy(out, src + in, n);
        else
            memset(out, 0, n);
        out += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* Page p has no vol; writing src[0..n) at in: takes a fresh vol if that
 * changes a byte, and sets its vnz (I8) for what the page will hold. */
static int hd_page_ready(hostdisk *d, hd_page *p, size_t in,
                         const unsigned char *src, size_t n)
{
    uint16_t vnz;

    if (p->durable) {
        if (memcmp(p->durable + in, src, n) == 0)
            return 0;
        vnz = p->dnz; /* a hint at a byte kept from durable, if outside */
        if (n == HD_PAGE)
            vnz = HD_NZ_NONE; /* nothing kept: hd_copy_in looks at src */
        else if (vnz == HD_NZ_NONE || (vnz >= in && vnz < in + n))
            vnz = (uint16_t)(in ? 0 : n);
    } else {
        size_t at = hd_first_nz(src, n);
        if (at == n)
            return 0; /* zeroes over zeroes */
        vnz = (uint16_t)(in + at);
    }
    if (!(p->vol = hd_buf_take(d)))
        return -ENOMEM;
    p->fresh = 1;
    p->vnz = vnz;
    return 0;
}

/* Pass 1 of a write of src[0..len) at off: a page for every page index it
 * touches and a fresh vol where it changes bytes. On -ENOMEM it undoes
 * what it added: the disk is as before. */
static int hd_prepare(hostdisk *d, uint64_t off, const unsigned char *src,
                      size_t len)
{
    uint64_t first = off >> HD_PAGE_SHIFT;
    uint64_t last = (off + len - 1) >> HD_PAGE_SHIFT;

    for (uint64_t i = first; i <= last; i++) {
        size_t in = (size_t)(off & (HD_PAGE - 1));
        size_t n = hd_min(HD_PAGE - in, len);
        hd_page *p = hd_lookup(d, i);
        if (!p && !(p = hd_page_new(d, i)))
            goto fail;
        if (!p->vol && hd_page_ready(d, p, in, src, n) < 0)
            goto fail;
        src += n;
        off += n;
        len -= n;
    }
    return 0;
fail:
    for (uint64_t i = first; i <= last; i++) {
        hd_page *p = hd_lookup(d, i);
        if (!p)
            continue;
        if (p->fresh) {
            hd_buf_give(d, &p->vol);
            p->fresh = 0;
        }
        hd_page_settle(d, p);
    }
    return -ENOMEM;
}

/* A fresh vol about to receive bytes [in, in + n): the rest of the page
 * comes from the current content, which is the durable one (I2). */
static void hd_fill_around(hd_page *p, size_t in, size_t n)
{
    size_t end = in + n;

    if (p->durable) {
        memcpy(p->vol, p->durable, in);
        memcpy(p->vol + end, p->durable + end, HD_PAGE - end);
    } else {
        memset(p->vol, 0, in);
        memset(p->vol + end, 0, HD_PAGE - end);
    }
    p->fresh = 0;
}

/* Pass 2: copies src into the pages hd_prepare readied and marks the
 * sectors volatile. Pages left without vol are those whose bytes the
 * write does not change. */
static void hd_copy_in(hostdisk *d, uint64_t off, const unsigned char *src,
                       size_t len)
{
    while (len > 0) {
        size_t in = (size_t)(off & (HD_PAGE - 1));
        size_t n = hd_min(HD_PAGE - in, len);
        hd_page *p = hd_lookup(d, off >> HD_PAGE_SHIFT);
        uint8_t add;

        assert(p);
        if (p->vol) {
            if (p->fresh)
                hd_fill_around(p, in, n);
            memcpy(p->vol + in, src, n);
            if (p->vnz == HD_NZ_NONE) {
                size_t at = hd_first_nz(src, n);
                if (at < n)
                    p->vnz = (uint16_t)(in + at);
            }
        }
        add = hd_sector_mask(in, in + n) & (uint8_t)~p->volmask;
        if (!p->volmask)
            hd_dirty_link(d, p);
        p->volmask |= add;
        d->vol_sectors += hd_popcount(add);
        src += n;
        off += n;
        len -= n;
    }
}

/* A volatile write. 0, -EFBIG past HOSTDISK_MAX_SIZE, or -ENOMEM (then
 * nothing changed). */
int hd_write(hostdisk *d, uint64_t off, const void *buf, size_t len)
{
    int rc;

    if (off > HOSTDISK_MAX_SIZE || len > HOSTDISK_MAX_SIZE - off)
        return -EFBIG;
    if (len == 0)
        return 0;
    rc = hd_prepare(d, off, buf, len);
    if (rc < 0)
        return rc;
    hd_copy_in(d, off, buf, len);
    if (off + len > d->size)
        d->size = off + len;
    return 0;
}

/* Zeroes both views at and past `at`: trims the page holding it and frees
 * every page after. Lengths are the caller's business. */
static void hd_cut(hostdisk *d, uint64_t at)
{
    size_t in = (size_t)(at & (HD_PAGE - 1));
    uint64_t idx = at >> HD_PAGE_SHIFT;
    hd_page *p;

    if (in) {
        p = hd_lookup(d, idx);
        if (p)
            hd_page_trim(d, p, in);
        idx++;
    }
    while ((p = hd_next(d, idx)))
        hd_page_drop(d, p);
}

/* Makes every page durable; the lengths are the caller's business. */
void hd_commit_all(hostdisk *d)
{
    while (d->dirty)
        hd_page_commit(d, d->dirty);
    assert(d->vol_sectors == 0);
}
/* ---- the host_backend operations ---------------------------------------- */

static int hd_pread(host_backend *b, uint64_t off, void *buf, size_t len)
{
    return hd_read(hd_of(b), off, buf, len, false);
}

static int hd_pwrite(host_backend *b, uint64_t off, const void *buf, size_t len)
{
    return hd_write(hd_of(b), off, buf, len);
}

static int hd_flush(host_backend *b)
{
    hostdisk *d = hd_of(b);

    hd_commit_all(d);
    d->dsize = d->size;
    return 0;
}

/* Synchronous: both lengths change at once (see hostdisk.h). */
static int hd_truncate(host_backend *b, uint64_t size)
{
    hostdisk *d = hd_of(b);

    if (size > HOSTDISK_MAX_SIZE)
        return -EFBIG;
    if (size < d->size)
        hd_cut(d, size);
    d->size = d->dsize = size;
    return 0;
}

static uint64_t hd_size(host_backend *b)
{
    return hd_of(b)->size;
}

static void hd_destroy(host_backend *b)
{
    hostdisk *d = hd_of(b);

    hd_clear(d);
    free(d);
}

static const host_backend_ops hd_ops = {
    .pread = hd_pread,
    .pwrite = hd_pwrite,
    .flush = hd_flush,
    .truncate = hd_truncate,
    .size = hd_size,
    .destroy = hd_destroy,
};

/* ---- the hostdisk-specific interface ------------------------------------ */

host_backend *hostdisk_create(void)
{
    hostdisk *d = malloc(sizeof(*d));

    if (!d)
        return NULL;
    hd_init(d, &hd_ops);
    return &d->base;
}

size_t hostdisk_mem_bytes(host_backend *b)
{
    return hd_of(b)->mem;
}

void hostdisk_fail_allocs_after(host_backend *b, long n)
{
    hd_of(b)->alloc_budget = n < 0 ? -1 : n;
}

uint64_t hostdisk_durable_size(host_backend *b)
{
    return hd_of(b)->dsize;
}

size_t hostdisk_volatile_sectors(host_backend *b)
{
    return hd_of(b)->vol_sectors;
}

int hostdisk_pread_durable(host_backend *b, uint64_t off, void *buf, size_t len)
{
    return hd_read(hd_of(b), off, buf, len, true);
}

/* Decides the fate of page p's volatile sectors (in order) and makes the
 * result durable. Returns the end offset of the last kept sector, or 0.
 * A page without vol reads the same either way: keep is still asked, so
 * that its answers (and the surviving length) follow the rules. May free
 * p. */
static uint64_t hd_page_crash(hostdisk *d, hd_page *p, hostdisk_keep_fn keep,
                              void *opaque)
{
    uint64_t kept_end = 0;

    for (unsigned s = 0; s < HD_SECTORS; s++) {
        uint64_t sector = p->index * HD_SECTORS + s;
        size_t at = (size_t)s << HD_SECTOR_SHIFT;

        if (!(p->volmask & (1u << s)))
            continue;
        if (keep && keep(opaque, sector)) {
            kept_end = (sector + 1) << HD_SECTOR_SHIFT;
            continue;
        }
        if (!p->vol)
            continue;
        if (p->durable) {
            memcpy(p->vol + at, p->durable + at, HOSTDISK_SECTOR_SIZE);
            if (p->vnz == HD_NZ_NONE)
                p->vnz = (uint16_t)at; /* may be non-zero now */
        } else {
            memset(p->vol + at, 0, HOSTDISK_SECTOR_SIZE);
        }
    }
    hd_page_commit(d, p);
    return kept_end;
}

void hostdisk_power_loss(host_backend *b, hostdisk_keep_fn keep, void *opaque)
{
    hostdisk *d = hd_of(b);
    uint64_t end = d->dsize, idx = 0;
    hd_page *p;

    /* Walk the tree, not the dirty list, for offset order. */
    while (d->dirty && (p = hd_next(d, idx))) {
        idx = p->index + 1;
        if (p->volmask) {
            uint64_t kept = hd_page_crash(d, p, keep, opaque);
            if (kept > end)
                end = kept < d->size ? kept : d->size;
        }
    }
    assert(!d->dirty && d->vol_sectors == 0);
    /* By I4 nothing but zeroes lies past `end`; cut frees what is left. */
    hd_cut(d, end);
    d->size = d->dsize = end;
}
