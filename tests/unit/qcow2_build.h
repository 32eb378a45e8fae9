/*
 * qcow2_build.h - a tiny qcow2 image builder and an in-memory host_backend,
 * for unit tests only (header-only; every function is static inline).
 *
 * qb_create() lays out a valid, empty image byte by byte:
 *   cluster 0 header, cluster 1 refcount table (one cluster), cluster 2
 *   refcount block 0, clusters 3.. the L1 table; all with refcount 1.
 * qb_map() then allocates data clusters (and L2 tables on demand) at the end
 * of the file, with refcount 1 and OFLAG_COPIED set, so the image stays
 * consistent; tests break it on purpose with qb_put() / qb_rc_set().
 * Refcount blocks are added on demand (the refcount table stays one
 * cluster). Every refcount_order 0..6 is supported.
 *
 * Ownership: a qb_image owns buf (qb_free); a qb_mem backend owns its copy of
 * the bytes (qb_mem_open / host_destroy). Allocation failures abort the test.
 */
#ifndef COWPOKE_QCOW2_BUILD_H
#define COWPOKE_QCOW2_BUILD_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#define QB_COPIED (1ULL << 63)
#define QB_COMPRESSED (1ULL << 62)
#define QB_ZERO 1ULL

typedef struct qb_opts {
    uint64_t size;           /* virtual size */
    unsigned cluster_bits;   /* 0: 16 */
    unsigned version;        /* 0: 3 */
    unsigned refcount_order; /* 0: 4 (use refcount_order_set for order 0) */
    bool refcount_order_set;
    unsigned l1_extra; /* L1 entries beyond what size needs */
} qb_opts;

typedef struct qb_image {
    uint8_t *buf;
    size_t len, cap;
    unsigned cluster_bits, version, refcount_order;
    uint64_t cs, size;
    uint64_t l1_offset, l1_size;
    uint64_t rt_offset, rb_offset; /* refcount table, refcount block 0 */
} qb_image;

static inline void qb_reserve(qb_image *im, size_t end)
{
    if (end <= im->cap)
        return;
    size_t cap = im->cap ? im->cap : 4096;
    while (cap < end)
        cap *= 2;
    uint8_t *n = realloc(im->buf, cap);
    assert(n);
    memset(n + im->cap, 0, cap - im->cap);
    im->buf = n;
    im->cap = cap;
}

/* Big-endian store of `bytes` bytes at off; grows the file. */
static inline void qb_put(qb_image *im, uint64_t off, uint64_t v,
                          unsigned bytes)
{
    qb_reserve(im, off + bytes);
    for (unsigned i = 0; i < bytes; i++)
        im->buf[off + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    if (off + bytes > im->len)
        im->len = off + bytes;
}

static inline uint64_t qb_get(const qb_image *im, uint64_t off, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | (off + i < im->len ? im->buf[off + i] : 0);
    return v;
}

static inline uint64_t qb_rb_entries(const qb_image *im)
{
    return im->cs * 8 >> im->refcount_order;
}

/* Store refcount v in the refcount block at rb, entry j. */
static inline void qb_rb_store(qb_image *im, uint64_t rb, uint64_t j,
                               uint64_t v)
{
    unsigned order = im->refcount_order;
    if (order >= 3) {
        qb_put(im, rb + (j << (order - 3)), v, 1u << (order - 3));
        return;
    }
    uint64_t bit = j << order;
    unsigned width = 1u << order, mask = ((1u << width) - 1) << (bit & 7);
    qb_reserve(im, rb + im->cs);
    uint8_t *p = &im->buf[rb + (bit >> 3)];
    *p = (uint8_t)((*p & ~mask) | ((v << (bit & 7)) & mask));
}

static inline uint64_t qb_alloc(qb_image *im);

/* Set the refcount of a host cluster, adding a refcount block if needed. */
static inline void qb_rc_set(qb_image *im, uint64_t cluster, uint64_t v)
{
    uint64_t idx = cluster / qb_rb_entries(im);
    assert(idx < im->cs / 8);
    uint64_t rb = qb_get(im, im->rt_offset + idx * 8, 8);
    if (rb == 0) {
        rb = (im->len + im->cs - 1) & ~(im->cs - 1);
        qb_put(im, rb + im->cs - 1, 0, 1); /* the block's cluster */
        qb_put(im, im->rt_offset + idx * 8, rb, 8);
        qb_rc_set(im, rb >> im->cluster_bits, 1);
    }
    qb_rb_store(im, rb, cluster % qb_rb_entries(im), v);
}

/* Append a zeroed cluster with refcount 1; returns its offset. */
static inline uint64_t qb_alloc(qb_image *im)
{
    uint64_t off = (im->len + im->cs - 1) & ~(im->cs - 1);
    qb_put(im, off + im->cs - 1, 0, 1);
    qb_rc_set(im, off >> im->cluster_bits, 1);
    return off;
}

static inline void qb_header(qb_image *im)
{
    qb_put(im, 0, 0x514649fb, 4);
    qb_put(im, 4, im->version, 4);
    qb_put(im, 20, im->cluster_bits, 4);
    qb_put(im, 24, im->size, 8);
    qb_put(im, 36, im->l1_size, 4);
    qb_put(im, 40, im->l1_offset, 8);
    qb_put(im, 48, im->rt_offset, 8);
    qb_put(im, 56, 1, 4);
    if (im->version >= 3) {
        qb_put(im, 96, im->refcount_order, 4);
        qb_put(im, 100, 104, 4);
    }
}

static inline void qb_create(qb_image *im, const qb_opts *o)
{
    memset(im, 0, sizeof(*im));
    im->cluster_bits = o->cluster_bits ? o->cluster_bits : 16;
    im->version = o->version ? o->version : 3;
    im->refcount_order =
        o->refcount_order_set || o->refcount_order ? o->refcount_order : 4;
    assert(im->version == 3 || im->refcount_order == 4);
    im->cs = 1ULL << im->cluster_bits;
    im->size = o->size;
    uint64_t per_l1 = im->cs * (im->cs / 8);
    im->l1_size = (o->size + per_l1 - 1) / per_l1 + o->l1_extra;
    im->rt_offset = im->cs;
    im->rb_offset = 2 * im->cs;
    im->l1_offset = 3 * im->cs;
    qb_header(im);
    qb_put(im, im->rt_offset, im->rb_offset, 8);
    uint64_t l1_clusters = (im->l1_size * 8 + im->cs - 1) / im->cs;
    if (l1_clusters == 0)
        l1_clusters = 1;
    qb_put(im, im->l1_offset + l1_clusters * im->cs - 1, 0, 1);
    for (uint64_t k = 0; k < 3 + l1_clusters; k++)
        qb_rc_set(im, k, 1);
}

static inline void qb_free(qb_image *im)
{
    free(im->buf);
    memset(im, 0, sizeof(*im));
}

/* File offset of the L1 entry for a guest offset. */
static inline uint64_t qb_l1e(const qb_image *im, uint64_t guest)
{
    return im->l1_offset + (guest >> (2 * im->cluster_bits - 3)) * 8;
}

/* File offset of the L2 entry for a guest offset (allocates the L2 table). */
static inline uint64_t qb_l2e(qb_image *im, uint64_t guest)
{
    uint64_t l1e = qb_l1e(im, guest);
    assert(guest < im->size);
    uint64_t l2 = qb_get(im, l1e, 8) & 0x00fffffffffffe00ULL;
    if (!l2) {
        l2 = qb_alloc(im);
        qb_put(im, l1e, l2 | QB_COPIED, 8);
    }
    uint64_t idx = (guest >> im->cluster_bits) & (im->cs / 8 - 1);
    return l2 + idx * 8;
}

/* Map a guest cluster to a new data cluster; returns its host offset. */
static inline uint64_t qb_map(qb_image *im, uint64_t guest)
{
    uint64_t l2e = qb_l2e(im, guest);
    uint64_t host = qb_alloc(im);
    qb_put(im, l2e, host | QB_COPIED, 8);
    memset(im->buf + host, 0xa5, im->cs); /* some guest data */
    return host;
}

/* ---- an in-memory host_backend over a copy of the bytes ---------------- */

typedef struct qb_mem {
    host_backend base;
    uint8_t *buf;
    size_t len;
    int fail_reads_after; /* < 0: never; else reads that succeed first */
} qb_mem;

static inline int qb_mem_pread(host_backend *b, uint64_t off, void *buf,
                               size_t len)
{
    qb_mem *m = (qb_mem *)b;
    if (m->fail_reads_after == 0)
        return -EIO;
    if (m->fail_reads_after > 0)
        m->fail_reads_after--;
    memset(buf, 0, len);
    if (off < m->len) {
        size_t n = m->len - off < len ? m->len - off : len;
        memcpy(buf, m->buf + off, n);
    }
    return 0;
}

static inline int qb_mem_pwrite(host_backend *b, uint64_t off, const void *buf,
                                size_t len)
{
    (void)b, (void)off, (void)buf, (void)len;
    return -EROFS; /* the checker never writes */
}

static inline int qb_mem_flush(host_backend *b)
{
    (void)b;
    return 0;
}

static inline int qb_mem_truncate(host_backend *b, uint64_t size)
{
    (void)b, (void)size;
    return -EROFS;
}

static inline uint64_t qb_mem_size(host_backend *b)
{
    return ((qb_mem *)b)->len;
}

static inline void qb_mem_destroy(host_backend *b)
{
    qb_mem *m = (qb_mem *)b;
    free(m->buf);
    free(m);
}

static const host_backend_ops qb_mem_ops = {
    qb_mem_pread,    qb_mem_pwrite, qb_mem_flush,
    qb_mem_truncate, qb_mem_size,   qb_mem_destroy,
};

/* A backend over a copy of buf[0, len). */
static inline qb_mem *qb_mem_open(const uint8_t *buf, size_t len)
{
    qb_mem *m = calloc(1, sizeof(*m));
    assert(m);
    m->base.ops = &qb_mem_ops;
    m->buf = malloc(len ? len : 1);
    assert(m->buf);
    if (len)
        memcpy(m->buf, buf, len);
    m->len = len;
    m->fail_reads_after = -1;
    return m;
}

#endif
