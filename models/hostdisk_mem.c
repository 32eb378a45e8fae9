/*
 * hostdisk_mem.c - the simulated host disk's memory: per-disk pools of
 * pages, page buffers and tree nodes, and the radix tree that finds pages
 * by index (the representation is described in hostdisk_int.h).
 *
 * Why pools: a fuzz campaign runs thousands of short traces a second, each
 * writing and flushing a few hundred pages; malloc and free per page (and
 * calloc's zeroing of buffers that are overwritten at once) cost more than
 * the copying. A pool carves items from slabs of a few dozen KiB (below
 * malloc's mmap threshold) and keeps released items on a free list; the
 * slabs go back to malloc only when the disk is destroyed (or cleared).
 *
 * Invariants:
 *   - every item handed out lies in a slab on d->slabs; a pool's free list
 *     and its bump region hold only items not in use;
 *   - taking an item counts as one allocation for hostdisk_fail_allocs_after,
 *     whether it comes from the free list, the bump region or a new slab;
 *     mem counts items in use (I7 in hostdisk_int.h);
 *   - taken memory is not zeroed, except tree nodes (whose slots must start
 *     NULL) and pages (whose fields are set here);
 *   - under AddressSanitizer, items not in use are poisoned, so a use after
 *     release is still caught although the memory stays allocated.
 * Ownership: the disk owns the slabs; callers own what they take until
 * they give it back.
 */
#include "hostdisk_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define HD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HD_ASAN 1
#endif
#endif
#ifdef HD_ASAN
#include <sanitizer/asan_interface.h>
#define HD_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define HD_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define HD_POISON(p, n) ((void)(p), (void)(n))
#define HD_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

_Static_assert((HD_FAN_SHIFT * HD_MAX_HEIGHT) >= 62 - HD_PAGE_SHIFT,
               "the tree must reach HOSTDISK_MAX_SIZE");

/* A slab: this header, then per_slab items, 16-byte aligned. */
typedef struct hd_slab {
    struct hd_slab *next;
    void *pad;
    unsigned char items[];
} hd_slab;

_Static_assert(sizeof(hd_slab) == 16, "items stay 16-byte aligned");

/* Items per slab: 32 KiB of buffers, about 3 KiB of pages or 4 KiB of
 * nodes, so a slab never reaches malloc's mmap threshold. */
#define HD_BUFS_PER_SLAB 8
#define HD_PAGES_PER_SLAB 64
#define HD_NODES_PER_SLAB 8

static void hd_pool_init(hd_pool *pl, size_t item, size_t per_slab)
{
    *pl = (hd_pool){.item = item, .per_slab = per_slab};
}

void hd_init(hostdisk *d, const host_backend_ops *ops)
{
    memset(d, 0, sizeof(*d));
    d->base.ops = ops;
    d->mem = sizeof(*d);
    d->alloc_budget = -1;
    hd_pool_init(&d->pages, sizeof(hd_page), HD_PAGES_PER_SLAB);
    hd_pool_init(&d->bufs, HD_PAGE, HD_BUFS_PER_SLAB);
    hd_pool_init(&d->nodes, sizeof(hd_node), HD_NODES_PER_SLAB);
}

void hd_clear(hostdisk *d)
{
    hd_slab *s = d->slabs;

    while (s) {
        hd_slab *next = s->next;
        free(s);
        s = next;
    }
    hd_init(d, d->base.ops);
}

/* One allocation against the failure-injection budget: false when spent. */
static bool hd_budget(hostdisk *d)
{
    if (d->alloc_budget == 0)
        return false;
    if (d->alloc_budget > 0)
        d->alloc_budget--;
    return true;
}

/* An item of pl, uninitialised; NULL on (injected) failure. */
static void *hd_take(hostdisk *d, hd_pool *pl)
{
    unsigned char *p;

    if (!hd_budget(d))
        return NULL;
    if (pl->free) {
        p = pl->free;
        HD_UNPOISON(p, pl->item);
        pl->free = *(void **)p;
    } else {
        if (pl->left == 0) {
            hd_slab *s = malloc(sizeof(*s) + pl->per_slab * pl->item);
            if (!s)
                return NULL;
            s->next = d->slabs;
            d->slabs = s;
            d->slab_bytes += sizeof(*s) + pl->per_slab * pl->item;
            pl->bump = s->items;
            pl->left = pl->per_slab;
            HD_POISON(s->items, pl->per_slab * pl->item);
        }
        p = pl->bump;
        pl->bump += pl->item;
        pl->left--;
        HD_UNPOISON(p, pl->item);
    }
    d->mem += pl->item;
    return p;
}

static void hd_give(hostdisk *d, hd_pool *pl, void *p)
{
    if (!p)
        return;
    d->mem -= pl->item;
    *(void **)p = pl->free;
    pl->free = p;
    HD_POISON(p, pl->item);
}

hd_page *hd_page_take(hostdisk *d)
{
    hd_page *p = hd_take(d, &d->pages);

    if (p)
        *p = (hd_page){.vnz = HD_NZ_NONE, .dnz = HD_NZ_NONE};
    return p;
}

void hd_page_give(hostdisk *d, hd_page *p)
{
    hd_give(d, &d->pages, p);
}

unsigned char *hd_buf_take(hostdisk *d)
{
    return hd_take(d, &d->bufs);
}

void hd_buf_give(hostdisk *d, unsigned char **buf)
{
    hd_give(d, &d->bufs, *buf);
    *buf = NULL;
}

size_t hostdisk_pool_bytes(host_backend *b)
{
    return hd_of(b)->slab_bytes;
}

/* A transient buffer outside the pools, counted like them. */
void *hd_alloc(hostdisk *d, size_t n)
{
    void *p = hd_budget(d) ? malloc(n) : NULL;

    if (p)
        d->mem += n;
    return p;
}

void hd_release(hostdisk *d, void *p, size_t n)
{
    if (p) {
        d->mem -= n;
        free(p);
    }
}

/* ---- the radix tree ----------------------------------------------------- */

static hd_node *hd_node_new(hostdisk *d)
{
    hd_node *n = hd_take(d, &d->nodes);

    if (n)
        memset(n, 0, sizeof(*n));
    return n;
}

static void hd_node_free(hostdisk *d, hd_node *n)
{
    hd_give(d, &d->nodes, n);
}

/* The child index of page idx inside a node at `level` (1 = lowest). */
static unsigned hd_digit(uint64_t idx, unsigned level)
{
    return (unsigned)(idx >> (HD_FAN_SHIFT * (level - 1))) & (HD_FAN - 1);
}

static bool hd_fits(const hostdisk *d, uint64_t idx)
{
    return d->root && (idx >> (HD_FAN_SHIFT * d->height)) == 0;
}

hd_page *hd_lookup(hostdisk *d, uint64_t idx)
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
hd_page *hd_next(hostdisk *d, uint64_t idx)
{
    return hd_fits(d, idx) ? hd_next_in(d->root, d->height, idx) : NULL;
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
void hd_unlink(hostdisk *d, uint64_t idx)
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
int hd_insert(hostdisk *d, hd_page *p)
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
