/*
 * hostdisk.c - the simulated host disk: a sparse in-memory file with a
 * volatile write cache (the rules are in hostdisk.h).
 *
 * Representation:
 *   - The file is cut into 4 KiB pages, found through a radix tree keyed
 *     by page index (64-way nodes; the tree grows taller as indices grow).
 *     A radix tree rather than a hash table because walking it in index
 *     order is natural: every enumeration is in offset order.
 *   - A page holds `durable`, its durable content (NULL: all zeroes), and,
 *     while any of its 8 sectors is volatile, `vol`: the page's whole
 *     current content. `volmask` marks the volatile sectors. So reads of
 *     the current view take vol, else durable; flush is a pointer move.
 *   - Pages with volatile sectors are also on a dirty list, so flush costs
 *     what was written since the last one, not the size of the disk.
 *
 * Invariants (between calls):
 *   I1 vol != NULL  <=>  volmask != 0  <=>  the page is on the dirty list.
 *   I2 in vol, every sector outside volmask equals the durable sector.
 *   I3 no page holds neither buffer; no durable buffer is all zero.
 *   I4 dsize <= size; current bytes at or past size are zero, and so are
 *      durable bytes at or past dsize (so no page lies wholly past size).
 *   I5 vol_sectors is the total of the volmask bits.
 *   I6 every tree node has `used` non-NULL slots, and used > 0; the
 *      height is the least that holds the largest page index.
 *   I7 mem counts every byte this disk holds allocated (hd_alloc).
 * Ownership: the disk owns its tree nodes, pages and page buffers.
 */
#define XXH_STATIC_LINKING_ONLY /* for a XXH3_state_t on the stack */
#include "hostdisk.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "hostfile.h"

#define HD_PAGE_SHIFT 12
#define HD_PAGE ((size_t)1 << HD_PAGE_SHIFT)
#define HD_SECTOR_SHIFT 9
#define HD_SECTORS (HD_PAGE >> HD_SECTOR_SHIFT)
#define HD_FAN_SHIFT 6
#define HD_FAN (1u << HD_FAN_SHIFT)
#define HD_MAX_HEIGHT 9
#define HD_ZERO_BLOCK ((size_t)64 << 10) /* zero pages compare against this */
#define HD_LOAD_CHUNK ((size_t)64 << 10) /* load reads by this */

_Static_assert(HD_SECTORS == 8, "volmask is one byte");
_Static_assert(HOSTDISK_SECTOR_SIZE == 1u << HD_SECTOR_SHIFT, "sector size");
_Static_assert((HD_FAN_SHIFT * HD_MAX_HEIGHT) >= 62 - HD_PAGE_SHIFT,
               "the tree must reach HOSTDISK_MAX_SIZE");
_Static_assert(HD_LOAD_CHUNK % HD_PAGE == 0, "load chunks hold whole pages");

typedef struct hd_node {
    void *slot[HD_FAN]; /* hd_node * above level 1, hd_page * at level 1 */
    unsigned used;      /* non-NULL slots */
} hd_node;

typedef struct hd_page {
    uint64_t index;         /* offset >> HD_PAGE_SHIFT */
    unsigned char *durable; /* durable content; NULL: zeroes */
    unsigned char *vol;     /* current content while volmask != 0 */
    uint8_t volmask;        /* bit s: sector s is volatile */
    struct hd_page *dirty_prev, *dirty_next;
} hd_page;

typedef struct hostdisk {
    host_backend base;
    hd_node *root;      /* NULL when there is no page */
    unsigned height;    /* levels of nodes: indices < 2^(6 * height) fit */
    uint64_t size;      /* current length */
    uint64_t dsize;     /* durable length */
    size_t vol_sectors; /* volatile sectors, all pages */
    size_t mem;         /* bytes allocated, this object included */
    long alloc_budget;  /* allocations left before failing; < 0: no limit */
    hd_page *dirty;     /* pages with volatile sectors, in no order */
} hostdisk;

static const unsigned char hd_zeroes[HD_ZERO_BLOCK];
static const host_backend_ops hd_ops;

static hostdisk *hd_of(host_backend *b)
{
    assert(hostdisk_is(b));
    return (hostdisk *)b;
}

bool hostdisk_is(const host_backend *b)
{
    return b && b->ops == &hd_ops;
}

static size_t hd_min(uint64_t a, uint64_t b)
{
    return (size_t)(a < b ? a : b);
}

static bool hd_is_zero(const unsigned char *p, size_t n)
{
    assert(n <= HD_ZERO_BLOCK);
    return memcmp(p, hd_zeroes, n) == 0;
}

/* The sectors of a page that bytes [a, b) touch; a < b <= HD_PAGE. */
static uint8_t hd_sector_mask(size_t a, size_t b)
{
    unsigned s0 = (unsigned)(a >> HD_SECTOR_SHIFT);
    unsigned s1 = (unsigned)((b - 1) >> HD_SECTOR_SHIFT);
    return (uint8_t)((0xffu << s0) & (0xffu >> (HD_SECTORS - 1 - s1)));
}

static unsigned hd_popcount(uint8_t m)
{
    return (unsigned)__builtin_popcount(m);
}

/* ---- the radix tree ----------------------------------------------------- */

/* The child index of page idx inside a node at `level` (1 = lowest). */
static unsigned hd_digit(uint64_t idx, unsigned level)
{
    return (unsigned)(idx >> (HD_FAN_SHIFT * (level - 1))) & (HD_FAN - 1);
}

static bool hd_fits(const hostdisk *d, uint64_t idx)
{
    return d->root && (idx >> (HD_FAN_SHIFT * d->height)) == 0;
}

static hd_page *hd_lookup(hostdisk *d, uint64_t idx)
{
    hd_node *n = d->root;

    if (!hd_fits(d, idx))
        return NULL;
    for (unsigned level = d->height; level > 1 && n; level--)
        n = n->slot[hd_digit(idx, level)];
    return n ? n->slot[hd_digit(idx, 1)] : NULL;
}

static hd_page *hd_next_in(hd_node *n, unsigned level, uint64_t idx)
{
    for (unsigned i = hd_digit(idx, level); i < HD_FAN; i++) {
        void *c = n->slot[i];
        if (c && level == 1)
            return c;
        if (c) {
            hd_page *p = hd_next_in(c, level - 1, idx);
            if (p)
                return p;
        }
        idx = 0; /* the children after the first are searched whole */
    }
    return NULL;
}

/* The page with the smallest index >= idx, or NULL. */
static hd_page *hd_next(hostdisk *d, uint64_t idx)
{
    return hd_fits(d, idx) ? hd_next_in(d->root, d->height, idx) : NULL;
}

/* Every allocation of the disk goes through here: zeroed memory, counted
 * in mem, subject to the failure-injection budget. NULL on failure. */
static void *hd_alloc(hostdisk *d, size_t n)
{
    void *p;

    if (d->alloc_budget == 0)
        return NULL;
    if (d->alloc_budget > 0)
        d->alloc_budget--;
    p = calloc(1, n);
    if (p)
        d->mem += n;
    return p;
}

static void hd_release(hostdisk *d, void *p, size_t n)
{
    if (p) {
        d->mem -= n;
        free(p);
    }
}

static hd_node *hd_node_new(hostdisk *d)
{
    return hd_alloc(d, sizeof(hd_node));
}

static void hd_node_free(hostdisk *d, hd_node *n)
{
    hd_release(d, n, sizeof(*n));
}

/* Clears idx's leaf slot under n; frees the nodes below n that this
 * empties. Returns true when n itself is left empty. */
static bool hd_unlink_in(hostdisk *d, hd_node *n, unsigned level, uint64_t idx)
{
    unsigned i = hd_digit(idx, level);

    if (n->slot[i] &&
        (level == 1 || hd_unlink_in(d, n->slot[i], level - 1, idx))) {
        if (level > 1)
            hd_node_free(d, n->slot[i]);
        n->slot[i] = NULL;
        n->used--;
    }
    return n->used == 0;
}

/* Keeps the height minimal: drops roots whose only child is the first. */
static void hd_shrink(hostdisk *d)
{
    while (d->height > 1 && d->root->used == 1 && d->root->slot[0]) {
        hd_node *top = d->root;
        d->root = top->slot[0];
        d->height--;
        hd_node_free(d, top);
    }
}

/* Removes page idx from the tree (not freeing the page) together with
 * every node left empty, empty chains left by a failed insert included. */
static void hd_unlink(hostdisk *d, uint64_t idx)
{
    if (hd_fits(d, idx) && hd_unlink_in(d, d->root, d->height, idx)) {
        hd_node_free(d, d->root);
        d->root = NULL;
        d->height = 0;
    }
    if (d->root)
        hd_shrink(d);
}

/* Links page p into the tree. 0 or -ENOMEM (then the tree is as before). */
static int hd_insert(hostdisk *d, hd_page *p)
{
    unsigned need = 1, level;
    hd_node *n;

    while (p->index >> (HD_FAN_SHIFT * need))
        need++;
    if (!d->root) {
        if (!(d->root = hd_node_new(d)))
            return -ENOMEM;
        d->height = need;
    }
    while (d->height < need) {
        hd_node *top = hd_node_new(d);
        if (!top) {
            hd_shrink(d);
            return -ENOMEM;
        }
        top->slot[0] = d->root;
        top->used = 1;
        d->root = top;
        d->height++;
    }
    n = d->root;
    for (level = d->height; level > 1; level--) {
        unsigned i = hd_digit(p->index, level);
        if (!n->slot[i]) {
            if (!(n->slot[i] = hd_node_new(d))) {
                hd_unlink(d, p->index);
                return -ENOMEM;
            }
            n->used++;
        }
        n = n->slot[i];
    }
    assert(!n->slot[hd_digit(p->index, 1)]);
    n->slot[hd_digit(p->index, 1)] = p;
    n->used++;
    return 0;
}

/* ---- pages -------------------------------------------------------------- */

static unsigned char *hd_buf_dup(hostdisk *d, const unsigned char *src)
{
    unsigned char *buf = hd_alloc(d, HD_PAGE);

    if (buf && src)
        memcpy(buf, src, HD_PAGE);
    return buf;
}

static void hd_buf_free(hostdisk *d, unsigned char **buf)
{
    hd_release(d, *buf, HD_PAGE);
    *buf = NULL;
}

static const unsigned char *hd_cur(const hd_page *p)
{
    return p->vol ? p->vol : p->durable;
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
    hd_page *p = hd_alloc(d, sizeof(*p));

    if (!p)
        return NULL;
    p->index = idx;
    if (hd_insert(d, p) < 0) {
        hd_release(d, p, sizeof(*p));
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
    hd_buf_free(d, &p->vol);
    hd_buf_free(d, &p->durable);
    hd_unlink(d, p->index);
    hd_release(d, p, sizeof(*p));
}

/* Restores I1 and I3 for page p after a change: drops a volatile copy
 * without volatile sectors (equal to durable by I2), forgets an all-zero
 * durable buffer, frees the page when nothing is left. May free p. */
static void hd_page_settle(hostdisk *d, hd_page *p)
{
    if (p->vol && !p->volmask)
        hd_buf_free(d, &p->vol);
    if (p->durable && hd_is_zero(p->durable, HD_PAGE))
        hd_buf_free(d, &p->durable);
    if (!p->vol && !p->durable)
        hd_page_drop(d, p);
}

/* Makes page p's current content durable. May free p. */
static void hd_page_commit(hostdisk *d, hd_page *p)
{
    assert(p->vol && p->volmask);
    hd_buf_free(d, &p->durable);
    p->durable = p->vol;
    p->vol = NULL;
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
        memset(p->vol + in, 0, HD_PAGE - in);
    if (p->durable)
        memset(p->durable + in, 0, HD_PAGE - in);
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

/* Gives every page in [first, last] a volatile copy. On -ENOMEM it undoes
 * what it added: the disk is as before. */
static int hd_prepare(hostdisk *d, uint64_t first, uint64_t last)
{
    for (uint64_t i = first; i <= last; i++) {
        hd_page *p = hd_lookup(d, i);
        if (!p && !(p = hd_page_new(d, i)))
            goto fail;
        if (!p->vol && !(p->vol = hd_buf_dup(d, p->durable)))
            goto fail;
    }
    return 0;
fail:
    for (uint64_t i = first; i <= last; i++) {
        hd_page *p = hd_lookup(d, i);
        if (p)
            hd_page_settle(d, p);
    }
    return -ENOMEM;
}

/* Copies src into pages that hd_prepare readied; marks sectors volatile. */
static void hd_copy_in(hostdisk *d, uint64_t off, const unsigned char *src,
                       size_t len)
{
    while (len > 0) {
        size_t in = (size_t)(off & (HD_PAGE - 1));
        size_t n = hd_min(HD_PAGE - in, len);
        hd_page *p = hd_lookup(d, off >> HD_PAGE_SHIFT);
        uint8_t add;

        assert(p && p->vol);
        add = hd_sector_mask(in, in + n) & (uint8_t)~p->volmask;
        memcpy(p->vol + in, src, n);
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
static int hd_write(hostdisk *d, uint64_t off, const void *buf, size_t len)
{
    int rc;

    if (off > HOSTDISK_MAX_SIZE || len > HOSTDISK_MAX_SIZE - off)
        return -EFBIG;
    if (len == 0)
        return 0;
    rc = hd_prepare(d, off >> HD_PAGE_SHIFT, (off + len - 1) >> HD_PAGE_SHIFT);
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
static void hd_commit_all(hostdisk *d)
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

static void hd_free_tree(hd_node *n, unsigned level)
{
    for (unsigned i = 0; i < HD_FAN; i++) {
        hd_page *p = n->slot[i];
        if (!p)
            continue;
        if (level > 1) {
            hd_free_tree(n->slot[i], level - 1);
            continue;
        }
        free(p->vol);
        free(p->durable);
        free(p);
    }
    free(n);
}

static void hd_init(hostdisk *d)
{
    memset(d, 0, sizeof(*d));
    d->base.ops = &hd_ops;
    d->mem = sizeof(*d);
    d->alloc_budget = -1;
}

/* Frees every page: d is left empty, as after hd_init. */
static void hd_clear(hostdisk *d)
{
    if (d->root)
        hd_free_tree(d->root, d->height);
    hd_init(d);
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
    hd_init(d);
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
 * May free p. */
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
        if (p->durable)
            memcpy(p->vol + at, p->durable + at, HOSTDISK_SECTOR_SIZE);
        else
            memset(p->vol + at, 0, HOSTDISK_SECTOR_SIZE);
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

static void hd_hash_u64(XXH3_state_t *st, uint64_t v)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    XXH3_64bits_update(st, le, sizeof(le));
}

uint64_t hostdisk_hash(host_backend *b)
{
    hostdisk *d = hd_of(b);
    XXH3_state_t st;

    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    for (hd_page *p = hd_next(d, 0); p; p = hd_next(d, p->index + 1)) {
        uint64_t start = p->index << HD_PAGE_SHIFT;
        if (start >= d->size)
            break;
        size_t n = hd_min(HD_PAGE, d->size - start);
        const unsigned char *bytes = hd_cur(p);
        if (hd_is_zero(bytes, n))
            continue;
        hd_hash_u64(&st, p->index);
        XXH3_64bits_update(&st, bytes, n);
    }
    hd_hash_u64(&st, d->size);
    return XXH3_64bits_digest(&st);
}

int hostdisk_save(host_backend *b, const char *path)
{
    hostdisk *d = hd_of(b);
    host_backend *f;
    int rc = hostfile_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);

    for (hd_page *p = hd_next(d, 0); rc == 0 && p;
         p = hd_next(d, p->index + 1)) {
        uint64_t start = p->index << HD_PAGE_SHIFT;
        size_t n;

        if (start >= d->size)
            break;
        n = hd_min(HD_PAGE, d->size - start);
        if (!hd_is_zero(hd_cur(p), n))
            rc = host_pwrite(f, start, hd_cur(p), n);
    }
    if (rc == 0)
        rc = host_truncate(f, d->size); /* the holes, and the length */
    host_destroy(f);
    return rc;
}

/* Copies the file's bytes [from, to) into d as volatile writes, skipping
 * all-zero pages; from is page-aligned; buf holds HD_LOAD_CHUNK bytes. */
static int hd_load_range(hostdisk *d, host_backend *f, uint64_t from,
                         uint64_t to, unsigned char *buf)
{
    assert(from % HD_PAGE == 0);
    while (from < to) {
        size_t n = hd_min(HD_LOAD_CHUNK, to - from);
        int rc = host_pread(f, from, buf, n);

        for (size_t at = 0; rc == 0 && at < n; at += HD_PAGE) {
            size_t k = hd_min(HD_PAGE, n - at);
            if (!hd_is_zero(buf + at, k))
                rc = hd_write(d, from + at, buf + at, k);
        }
        if (rc < 0)
            return rc;
        from += n;
    }
    return 0;
}

/* Fills the empty disk d with file f's content, all durable. */
static int hd_load_from(hostdisk *d, host_backend *f)
{
    uint64_t size = host_size(f), off = 0, start, end;
    unsigned char *buf;
    int rc = 0;

    if (size > HOSTDISK_MAX_SIZE)
        return -EFBIG;
    if (!(buf = hd_alloc(d, HD_LOAD_CHUNK)))
        return -ENOMEM;
    while (rc == 0 && off < size) {
        rc = hostfile_next_data(f, off, &start, &end);
        if (rc < 0 || start >= end)
            break;
        rc = hd_load_range(d, f, start & ~(uint64_t)(HD_PAGE - 1), end, buf);
        off = end;
    }
    hd_release(d, buf, HD_LOAD_CHUNK);
    hd_commit_all(d);
    d->size = d->dsize = size;
    return rc;
}

int hostdisk_load(host_backend *b, const char *path)
{
    hostdisk *d = hd_of(b), fresh;
    host_backend *f;
    int rc = hostfile_open(path, O_RDONLY, 0, &f);

    if (rc < 0)
        return rc;
    hd_init(&fresh);
    fresh.alloc_budget = d->alloc_budget;
    rc = hd_load_from(&fresh, f);
    host_destroy(f);
    if (rc < 0) {
        hd_clear(&fresh);
        return rc;
    }
    hd_clear(d);
    *d = fresh; /* pages point at each other, never at the hostdisk */
    return 0;
}
