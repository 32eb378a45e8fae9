/*
 * hostdisk_int.h - internals shared by the simulated host disk's files (not
 * a public interface: only models/hostdisk*.c include it).
 *
 *   hostdisk.c      pages, reads, writes, flush, truncate, power loss
 *   hostdisk_mem.c  memory: the per-disk pools and the radix tree of pages
 *   hostdisk_file.c the content hash, saving to and loading from real files
 *   hostdisk_check.c the invariants below, checked for tests
 *
 * Representation:
 *   - The file is cut into 4 KiB pages, found through a radix tree keyed
 *     by page index (64-way nodes; the tree grows taller as indices grow).
 *     A radix tree rather than a hash table because walking it in index
 *     order is natural: every enumeration is in offset order.
 *   - A page holds `durable`, its durable content (NULL: all zeroes), and,
 *     while its current content differs (or may differ) from the durable
 *     one, `vol`: the page's whole current content. `volmask` marks the
 *     volatile sectors: those written since the last flush. Reads of the
 *     current view take vol, else durable; flush is a pointer move.
 *     A write that changes no byte (zeroes over a hole, say) marks its
 *     sectors volatile, as the rules in hostdisk.h demand, but takes no
 *     buffer: a page may be volatile with vol == NULL.
 *   - Pages with volatile sectors are also on a dirty list, so flush costs
 *     what was written since the last one, not the size of the disk.
 *   - Zero tracking: vnz says where vol may hold a non-zero byte, dnz the
 *     same for durable. HD_NZ_NONE is a promise (all zero); any other value
 *     is only a hint, checked before it is trusted; so that finding out
 *     whether a page is all zero rarely needs a scan of 4 KiB.
 *   - Memory comes from per-disk pools (hostdisk_mem.c): pages, page
 *     buffers and tree nodes are carved from slabs, and released ones go
 *     to a free list for reuse; the slabs are freed only by destroy.
 *
 * Invariants (between calls):
 *   I1 volmask != 0 <=> the page is on the dirty list; vol != NULL =>
 *      volmask != 0.
 *   I2 in vol, every sector outside volmask equals the durable sector;
 *      with vol == NULL the current content is the durable content.
 *   I3 no page holds neither buffer nor volatile sector; no durable buffer
 *      is all zero.
 *   I4 dsize <= size; current bytes at or past size are zero, and so are
 *      durable bytes at or past dsize (so no page lies wholly past size).
 *   I5 vol_sectors is the total of the volmask bits.
 *   I6 every tree node has `used` non-NULL slots, and used > 0; the
 *      height is the least that holds the largest page index.
 *   I7 mem counts every byte in use: the object, the pages, buffers and
 *      nodes taken from the pools, transient buffers (hd_alloc); the
 *      pools' free items and unused slab space are not counted (they hold
 *      at most the high-water mark, until destroy).
 *   I8 vnz == HD_NZ_NONE => vol is all zero; dnz is a hint only (I3 says
 *      durable holds a non-zero byte).
 *   I9 `fresh` is 0 except inside hd_write, on pages whose vol it took.
 * Ownership: the disk owns its slabs, hence its pages, buffers and nodes.
 */
#ifndef COWPOKE_HOSTDISK_INT_H
#define COWPOKE_HOSTDISK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostdisk.h"

#define HD_PAGE_SHIFT 12
#define HD_PAGE ((size_t)1 << HD_PAGE_SHIFT)
#define HD_SECTOR_SHIFT 9
#define HD_SECTORS (HD_PAGE >> HD_SECTOR_SHIFT)
#define HD_FAN_SHIFT 6
#define HD_FAN (1u << HD_FAN_SHIFT)
#define HD_MAX_HEIGHT 9
#define HD_NZ_NONE UINT16_MAX /* vnz: the buffer is all zero */

typedef struct hd_node {
    void *slot[HD_FAN]; /* hd_node * above level 1, hd_page * at level 1 */
    unsigned used;      /* non-NULL slots */
} hd_node;

typedef struct hd_page {
    uint64_t index;         /* offset >> HD_PAGE_SHIFT */
    unsigned char *durable; /* durable content; NULL: zeroes */
    unsigned char *vol;     /* current content; NULL: same as durable */
    struct hd_page *dirty_prev, *dirty_next;
    uint16_t vnz, dnz; /* zero tracking (I8) */
    uint8_t volmask;   /* bit s: sector s is volatile */
    uint8_t fresh;     /* vol taken by the write in progress (I9) */
} hd_page;

/* One kind of item, carved from slabs and recycled through a free list. */
typedef struct hd_pool {
    void *free;          /* released items, linked through their first word */
    unsigned char *bump; /* the next unused item of the newest slab */
    size_t left;         /* unused items there */
    size_t item;         /* item size in bytes */
    size_t per_slab;     /* items per slab */
} hd_pool;

typedef struct hostdisk {
    host_backend base;
    hd_node *root;      /* NULL when there is no page */
    unsigned height;    /* levels of nodes: indices < 2^(6 * height) fit */
    uint64_t size;      /* current length */
    uint64_t dsize;     /* durable length */
    size_t vol_sectors; /* volatile sectors, all pages */
    size_t mem;         /* bytes in use, this object included (I7) */
    long alloc_budget;  /* allocations left before failing; < 0: no limit */
    hd_page *dirty;     /* pages with volatile sectors, in no order */
    void *slabs;        /* every slab of the pools, newest first */
    size_t slab_bytes;  /* bytes of those slabs */
    hd_pool pages, bufs, nodes;
} hostdisk;

/* hostdisk.c */
hostdisk *hd_of(host_backend *b);
int hd_write(hostdisk *d, uint64_t off, const void *buf, size_t len);
void hd_commit_all(hostdisk *d);
size_t hd_min(uint64_t a, uint64_t b);
const unsigned char *hd_cur(const hd_page *p);
bool hd_cur_is_zero(hd_page *p);
size_t hd_first_nz(const unsigned char *p, size_t n);

/* hostdisk_mem.c: the pools. Every take counts against alloc_budget and
 * in mem; NULL when the budget is spent or malloc fails. */
/* An empty disk with these ops, as after create; hd_clear frees every
 * slab and leaves d so (its ops kept). */
void hd_init(hostdisk *d, const host_backend_ops *ops);
void hd_clear(hostdisk *d);
hd_page *hd_page_take(hostdisk *d);
void hd_page_give(hostdisk *d, hd_page *p);
unsigned char *hd_buf_take(hostdisk *d);
void hd_buf_give(hostdisk *d, unsigned char **buf);
void *hd_alloc(hostdisk *d, size_t n);
void hd_release(hostdisk *d, void *p, size_t n);

/* hostdisk_mem.c: the radix tree. */
hd_page *hd_lookup(hostdisk *d, uint64_t idx);
hd_page *hd_next(hostdisk *d, uint64_t idx);
int hd_insert(hostdisk *d, hd_page *p);
void hd_unlink(hostdisk *d, uint64_t idx);

#endif
