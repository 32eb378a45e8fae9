/*
 * eng_internal.h - what the engine's files share: struct eng, the on-disk
 * constants of qcow2, big-endian helpers, and the internal interfaces
 * between the engine's modules.
 *
 * Module map (one concern per file):
 *   eng_header.c   parse/validate/build the header and its extensions
 *   eng_create.c   eng_co_create
 *   eng_open.c     open/close/destroy/info; host I/O and event helpers
 *   eng_backing.c  the backing chain (qcow2 nested read-only, or raw)
 *   eng_lock.c     co-mutex and co-queue on eng_runtime park/wake
 *   eng_cache.c    the L2 / refcount-block table caches
 *   eng_refcount.c refcounts, cluster allocation, refcount table growth
 *   eng_cluster.c  L1/L2 lookup, L2 allocation, L1 growth
 *   eng_alloc.c    allocation for writes: in-flight dependencies, L2 link
 *   eng_cow.c      copy-on-write, merged with the guest data when contiguous
 *   eng_rw.c       read/write/flush/map request paths
 *   eng_bounce.c   bounced, detached guest reads (early_completion only)
 *   eng_zero.c     write-zeroes, discard, truncate
 *   eng_status.c   block status, the preallocation probe, is_zero
 *   eng_mutant.c   the zoo table
 *
 * Invariants every module keeps:
 *   - All metadata (L1, reftable, both caches, the in-flight allocation
 *     list, the free-cluster hint) is touched only while e->lock is held.
 *     The lock is dropped only around guest data I/O and COW, and at that
 *     point no cache entry is referenced (asserted in eng_unlock).
 *   - In-memory L1 and refcount tables are host-endian; cached tables are
 *     kept as on disk (big-endian).
 *   - Every host offset taken from an L1/L2/reftable entry is validated
 *     before use (eng_cluster.c, eng_refcount.c): misaligned, reserved bits
 *     or beyond the refcount table's coverage -> -EIO with e->last_err set.
 *   - A cluster with refcount 0 that guest I/O is using (e->busy) is never
 *     handed out again until that I/O has finished.
 *   - Mutants (eng_mutant.h) change behaviour only at their own code
 *     points, each behind eng_mutant_on(); with none on, none of their
 *     bookkeeping (new_l2[] below) is used.
 */
#ifndef COWPOKE_ENG_INTERNAL_H
#define COWPOKE_ENG_INTERNAL_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "eng.h"

/* ---- on-disk constants (docs/interop/qcow2.txt) ----------------------- */

#define QCOW_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW_V2_HEADER_LEN 72u
#define QCOW_V3_HEADER_MIN 104u
#define QCOW_V3_HEADER_LEN 112u /* what QEMU writes (compression type + pad) */

#define HDR_BACKING_OFF 8
#define HDR_SIZE_OFF 24
#define HDR_L1_SIZE_OFF 36 /* l1_size (4) then l1_table_offset (8) */
#define HDR_REFT_OFF 48    /* refcount_table_offset (8) then clusters (4) */
#define HDR_AUTOCLEAR_OFF 88

#define ENG_MIN_CLUSTER_BITS 9
#define ENG_MAX_CLUSTER_BITS 21
#define ENG_MAX_L1_BYTES (UINT64_C(32) << 20)      /* QEMU's QCOW_MAX_L1_SIZE */
#define ENG_MAX_REFTABLE_BYTES (UINT64_C(8) << 20) /* QCOW_MAX_REFTABLE_SIZE */
#define ENG_MAX_BACKING_NAME 1023u
#define ENG_MAX_BACKING_DEPTH 16
#define ENG_DEFAULT_L2_CACHE 16u
#define ENG_DEFAULT_RB_CACHE 4u
#define ENG_MIN_CACHE 2u
#define ENG_MAX_NEW_L2 8u
#define ENG_COW_POOL 4u /* COW buffers an engine keeps for reuse */
#define ENG_COW_MERGE_READ_MAX 16384u /* QEMU reads head, middle and tail
                                        in one go up to this middle */ /* the enospc_publish_l2 mutant's bookkeeping */

#define QCOW_OFLAG_COPIED (UINT64_C(1) << 63)
#define QCOW_OFLAG_COMPRESSED (UINT64_C(1) << 62)
#define QCOW_OFLAG_ZERO UINT64_C(1)
#define L1E_OFFSET_MASK UINT64_C(0x00fffffffffffe00)
#define L1E_RESERVED UINT64_C(0x7f000000000001ff)
#define L2E_OFFSET_MASK UINT64_C(0x00fffffffffffe00)
#define L2E_RESERVED UINT64_C(0x3f000000000001fe)
#define REFT_OFFSET_MASK UINT64_C(0xfffffffffffffe00)
#define REFT_RESERVED UINT64_C(0x1ff)

/* incompatible feature bits */
#define QCOW_INCOMPAT_DIRTY (UINT64_C(1) << 0)
#define QCOW_INCOMPAT_CORRUPT (UINT64_C(1) << 1)
#define QCOW_INCOMPAT_DATA_FILE (UINT64_C(1) << 2)
#define QCOW_INCOMPAT_COMPRESSION (UINT64_C(1) << 3)
#define QCOW_INCOMPAT_EXTL2 (UINT64_C(1) << 4)

/* header extension types */
#define QCOW_EXT_END 0u
#define QCOW_EXT_BACKING_FMT 0xe2792acau
#define QCOW_EXT_FEATURES 0x6803f857u
#define QCOW_EXT_BITMAPS 0x23852875u
#define QCOW_EXT_CRYPTO 0x0537be77u
#define QCOW_EXT_DATA_FILE 0x44415441u

/* ---- big-endian helpers ------------------------------------------------ */

static inline uint16_t eng_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t eng_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t eng_be64(const uint8_t *p)
{
    return ((uint64_t)eng_be32(p) << 32) | eng_be32(p + 4);
}
static inline void eng_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void eng_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void eng_put64(uint8_t *p, uint64_t v)
{
    eng_put32(p, (uint32_t)(v >> 32));
    eng_put32(p + 4, (uint32_t)v);
}

static inline uint64_t eng_align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}
static inline uint64_t eng_align_down(uint64_t v, uint64_t a)
{
    return v & ~(a - 1);
}
static inline uint64_t eng_min(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t eng_max(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* ---- header (eng_header.c) --------------------------------------------- */

typedef struct eng_header {
    uint32_t version;
    uint64_t backing_offset;
    uint32_t backing_len;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_offset;
    uint64_t rt_offset;
    uint32_t rt_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompat, compat, autoclear;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
    char backing[ENG_MAX_BACKING_NAME + 1];
    char backing_fmt[32];
} eng_header;

/* Parse and validate the header cluster buf (buf_len bytes, the whole first
 * cluster or as much of the file as there is). Every field the engine relies
 * on is checked, tables against file_size. Unsupported features are refused
 * naming the feature. 0 or -errno with err->msg set. */
int eng_header_parse(const uint8_t *buf, size_t buf_len, uint64_t file_size,
                     eng_header *h, eng_error *err);

/* Serialize h (plus extensions and backing name) into buf, which is
 * cluster-sized and zeroed. Returns 0 or -EINVAL when it does not fit. */
int eng_header_build(uint8_t *buf, size_t len, const eng_header *h);

/* Number of L1 entries needed for a virtual size (no overflow). */
uint64_t eng_size_to_l1(uint64_t size, unsigned cluster_bits);

/* ---- coroutine lock and queue (eng_lock.c) ----------------------------- */

typedef struct eng_waiter {
    eng_co *co;
    bool woken;
    struct eng_waiter *next;
} eng_waiter;

typedef struct eng_coqueue {
    eng_waiter *head, *tail;
} eng_coqueue;

typedef struct eng_comutex {
    bool locked;
    eng_coqueue waiters;
} eng_comutex;

void eng_comutex_co_lock(const eng_runtime *rt, eng_comutex *m);
void eng_comutex_unlock(const eng_runtime *rt, eng_comutex *m);
/* Wait on q: enqueue, release m, park until woken, take m again. */
void eng_coqueue_co_wait(const eng_runtime *rt, eng_coqueue *q, eng_comutex *m,
                         const char *why);
/* Wait on q without a mutex (the caller holds none): enqueue, park until
 * woken. */
void eng_coqueue_co_wait_unlocked(const eng_runtime *rt, eng_coqueue *q,
                                  const char *why);
void eng_coqueue_wake_all(const eng_runtime *rt, eng_coqueue *q);

/* ---- table caches (eng_cache.c) ---------------------------------------- */

typedef struct eng_cache eng_cache;
typedef enum eng_cache_kind { ENG_CACHE_L2, ENG_CACHE_REFBLOCK } eng_cache_kind;

eng_cache *eng_cache_create(eng *e, eng_cache_kind kind, unsigned entries);
void eng_cache_destroy(eng_cache *c);
/* Pin the table at host offset off (read from disk on a miss). */
int eng_cache_co_get(eng_cache *c, uint64_t off, uint8_t **table);
/* Pin a table for off without reading it (contents undefined). */
int eng_cache_co_get_empty(eng_cache *c, uint64_t off, uint8_t **table);
void eng_cache_put(eng_cache *c, uint8_t **table);
void eng_cache_mark_dirty(eng_cache *c, const uint8_t *table);
/* Write every dirty entry (dependencies first). */
int eng_cache_co_write(eng_cache *c);
/* Write every dirty entry, then flush the host. */
int eng_cache_co_flush(eng_cache *c);
/* Entries of c must not reach the host before dep has been flushed. */
int eng_cache_co_set_dependency(eng_cache *c, eng_cache *dep);
/* Flush what c depends on now (if anything). */
int eng_cache_co_flush_dependency(eng_cache *c);
bool eng_cache_has_dependency(const eng_cache *c);
/* Entries of c must not reach the host before the next host flush. */
void eng_cache_depends_on_flush(eng_cache *c);
/* Forget the (unpinned) entry for off, dirty or not: its cluster is free. */
void eng_cache_discard(eng_cache *c, uint64_t off);
/* Number of pinned references (0 whenever the lock is free). */
unsigned eng_cache_refs(const eng_cache *c);

/* ---- in-flight allocations (eng_alloc.c) ------------------------------- */

typedef struct eng_cow_region {
    uint64_t offset; /* relative to eng_l2meta.guest_off */
    uint64_t len;
} eng_cow_region;

typedef struct eng_l2meta {
    uint64_t guest_off;   /* guest offset of the first cluster (aligned) */
    uint64_t alloc_off;   /* host offset of the first new cluster */
    uint64_t nb_clusters; /* clusters whose L2 entries this links */
    bool keep_old;        /* zero clusters reused in place: not counted */
    eng_cow_region cow_start, cow_end;
    /* the guest data between the COW regions, written with them in one
     * host write (QEMU's data_qiov); NULL: written before, on its own.
     * Owned by the request, valid until eng_alloc_co_finish returns. */
    const uint8_t *data;
    eng_coqueue waiters;  /* requests that depend on this allocation */
    struct eng_l2meta *next;              /* the owning request's chain */
    struct eng_l2meta *in_prev, *in_next; /* e->allocs */
} eng_l2meta;

/* Host byte ranges that guest I/O is using right now. */
typedef struct eng_busy {
    uint64_t start, end;
    struct eng_busy *prev, *next;
} eng_busy;

/* A bounce buffer with its detached host read (eng_bounce.c). */
typedef struct eng_bounce eng_bounce;

/* A pooled copy-on-write buffer (eng_cow.c). */
typedef struct eng_cow_buf {
    uint8_t *buf;
    size_t cap;
} eng_cow_buf;

/* ---- the engine object ------------------------------------------------- */

struct eng {
    eng_runtime rt;     /* copy; co_event NULL for backing images */
    eng_file *file;
    uint64_t mutants;
    bool read_only;

    unsigned version, cluster_bits, l2_bits, refcount_order, rb_bits;
    uint64_t cluster_size;
    uint64_t size;
    uint64_t incompat, compat, autoclear;

    uint64_t *l1;
    uint64_t l1_size, l1_offset;

    uint64_t *rt_table;
    uint64_t rt_entries, rt_offset, rt_clusters;
    uint64_t free_hint; /* no free cluster below this index (a hint) */
    bool prealloc_checked, prealloc; /* eng_status.c's probe and result */

    eng_cache *l2_cache, *rb_cache;
    eng_comutex lock;
    eng_l2meta *allocs;
    eng_busy *busy;

    char backing[ENG_MAX_BACKING_NAME + 1];
    char backing_fmt[32];
    eng_file *backing_file;  /* owned by the opener (close_backing) */
    eng *backing_eng;        /* qcow2 backing, or NULL for raw */
    uint64_t backing_size;   /* virtual size of the backing image */
    eng_open_opts opts;

    /* the enospc_publish_l2 mutant's new L2 tables, per request */
    struct {
        eng_co *owner;
        uint64_t off;
    } new_l2[ENG_MAX_NEW_L2];
    unsigned n_new_l2;

    eng_cow_buf cow_pool[ENG_COW_POOL]; /* oldest first; eng_cow.c */
    unsigned n_cow_pool;

    /* the early_completion mutant's bounced reads (eng_bounce.c): all
     * buffers, the idle ones, those with a detached read in flight, and
     * the requests waiting for a completion */
    eng_bounce *bounce_all, *bounce_idle, *bounce_pending;
    eng_coqueue bounce_waiters;

    char last_err[256];
};

/* ---- helpers (eng_open.c) ---------------------------------------------- */

void eng_set_err(eng *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void eng_err_set(eng_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int eng_co_ev(eng *e, eng_event ev);
int eng_co_hread(eng *e, eng_event ev, uint64_t off, void *buf, size_t len);
int eng_co_hwrite(eng *e, eng_event ev, uint64_t off, const void *buf,
                  size_t len);
/* Write then flush the host (QEMU's bdrv_pwrite_sync). */
int eng_co_hwrite_sync(eng *e, eng_event ev, uint64_t off, const void *buf,
                       size_t len);
int eng_co_hflush(eng *e);
void eng_co_lock(eng *e);
void eng_unlock(eng *e);
bool eng_mutant_on(const eng *e, eng_mutant m);
/* Write both caches in dependency order (QEMU's qcow2_write_caches). */
int eng_co_write_caches(eng *e);

/* ---- backing (eng_backing.c) ------------------------------------------- */

int eng_backing_co_open(eng *e, int depth, eng_error *err);
void eng_backing_close(eng *e);
/* Read guest bytes of the backing image; zeroes past its end. */
int eng_backing_co_read(eng *e, uint64_t off, void *buf, uint64_t len);
/* Open an image (the public eng_co_open with a chain depth). */
int eng_open_depth_co(const eng_runtime *rt, eng_file *f,
                      const eng_open_opts *o, int depth, eng **out,
                      eng_error *err);

/* ---- refcounts (eng_refcount.c) ---------------------------------------- */

int eng_refcount_co_get(eng *e, uint64_t cluster, uint64_t *out);
/* Store refcount v as entry i of a refcount block of width 2^order. */
void eng_rb_set(unsigned order, uint8_t *blk, uint64_t i, uint64_t v);
/* Allocate n contiguous clusters anywhere; *off is the host offset. */
int eng_refcount_co_alloc(eng *e, uint64_t n, uint64_t *off);
/* Allocate up to n free clusters starting exactly at host offset off;
 * *got may be 0. */
int eng_refcount_co_alloc_at(eng *e, uint64_t off, uint64_t n, uint64_t *got);
/* Drop one reference on each cluster of [off, off + len). */
int eng_refcount_co_free(eng *e, uint64_t off, uint64_t len);
/* Host clusters below this index can be counted (reftable coverage). */
uint64_t eng_refcount_coverage(const eng *e);
void eng_busy_begin(eng *e, eng_busy *b, uint64_t off, uint64_t len);
void eng_busy_end(eng *e, eng_busy *b);

/* ---- clusters (eng_cluster.c) ------------------------------------------ */

typedef enum eng_ctype {
    ENG_C_UNALLOC,
    ENG_C_ZERO_PLAIN,
    ENG_C_ZERO_ALLOC,
    ENG_C_NORMAL,
    ENG_C_COMPRESSED,
} eng_ctype;

/* Classify an L2 entry; -EIO (message set) when it is invalid. */
int eng_l2_classify(eng *e, uint64_t entry, uint64_t guest_off,
                    eng_ctype *type);
/* Look up [off, off + *bytes): the type of the first cluster, its host
 * offset (of off itself, for NORMAL / ZERO_ALLOC), and *bytes shortened to
 * the run of the same type (contiguous on the host). Lock held. */
int eng_cluster_co_lookup(eng *e, uint64_t off, uint64_t *bytes,
                          eng_ctype *type, uint64_t *host);
/* The L2 table for guest offset off, allocating it (or un-sharing it) when
 * needed; *index is the entry's index. Pinned: eng_cache_put() it. */
int eng_cluster_co_get_l2(eng *e, uint64_t off, uint8_t **table,
                          unsigned *index);
/* Grow the L1 table to at least min_size entries. */
int eng_cluster_co_grow_l1(eng *e, uint64_t min_size, bool exact);
/* At the end of a request that may have allocated L2 tables (lock held):
 * ok says whether it succeeded (only the enospc_publish_l2 mutant acts). */
void eng_cluster_co_settle_l2(eng *e, bool ok);

static inline uint64_t eng_l2_get(const uint8_t *t, unsigned i)
{
    return eng_be64(t + (size_t)i * 8);
}
static inline void eng_l2_set(uint8_t *t, unsigned i, uint64_t v)
{
    eng_put64(t + (size_t)i * 8, v);
}

/* ---- allocation for writes (eng_alloc.c) ------------------------------- */

/* Find or allocate host clusters for guest [off, off + *bytes): shortens
 * *bytes to one host-contiguous run, returns its host offset and appends
 * the new allocations to *metas. May wait on in-flight allocations. */
int eng_alloc_co_host(eng *e, uint64_t off, uint64_t *bytes, uint64_t *host,
                      eng_l2meta **metas);
/* After the data write: COW and L2 linking for every meta (or, when
 * link is false or a step fails, undo the allocations). Frees the chain. */
int eng_alloc_co_finish(eng *e, eng_l2meta **metas, bool link);
/* Wait until no in-flight allocation overlaps guest [start, end). */
void eng_alloc_co_wait_range(eng *e, uint64_t start, uint64_t end);

/* ---- copy-on-write (eng_cow.c) ----------------------------------------- */

/* QEMU's merge_cow: let the meta of metas whose COW regions guest
 * [off, off + len) sits exactly between write buf with them (one host
 * write, in eng_alloc_co_finish). False: the caller writes the data. */
bool eng_cow_merge_data(eng_l2meta *metas, uint64_t off, const void *buf,
                        uint64_t len);
/* The result of a guest data write as the request sees it (where the
 * swallow_enospc mutant lies). */
int eng_cow_data_result(const eng *e, int ret);
/* QEMU's perform_cow: copy m's COW regions (with its merged guest data).
 * Lock held; dropped around the I/O. */
int eng_cow_co_perform(eng *e, eng_l2meta *m);
/* Free the engine's pooled COW buffers. */
void eng_cow_pool_free(eng *e);

/* ---- request internals (eng_rw.c) -------------------------------------- */

/* Guest read without bounds check (COW reads past the size are fine). */
int eng_rw_co_read(eng *e, uint64_t off, void *buf, uint64_t len);
/* The same for a copy-on-write read (where a mutant may differ). */
int eng_rw_co_read_cow(eng *e, uint64_t off, void *buf, uint64_t len);
/* Guest write without bounds check (zeroing past the old size). */
int eng_rw_co_write(eng *e, uint64_t off, const void *buf, uint64_t len);
/* Checks common to every guest request. */
int eng_rw_check(eng *e, uint64_t off, uint64_t len, bool write);

/* ---- bounced reads (eng_bounce.c) ------------------------------------- */

/* Read host [host, host + len) into buf through a bounce buffer and a
 * detached host read (announcing read_aio first); the early_completion
 * mutant's path, which may return before the host read finished. */
int eng_bounce_co_read(eng *e, uint64_t host, uint8_t *buf, size_t len);
/* Wait until no detached read of e is in flight (close). */
void eng_bounce_co_drain(eng *e);
/* Free idle bounce buffers; orphan those still in flight (destroy). */
void eng_bounce_release(eng *e);

/* ---- block status (eng_status.c) -------------------------------------- */

/* What guest [off, off + *len) reads as: *len shortened to a run of one
 * kind, its cluster type and host offset as eng_cluster_co_lookup gives
 * them, and whether it certainly reads as zeroes. Takes the lock itself
 * (call without it); the first call on an image runs the preallocation
 * probe. */
int eng_status_co(eng *e, uint64_t off, uint64_t *len, eng_ctype *type,
                  uint64_t *host, bool *zero);
/* Whether all of guest [off, off + len) certainly reads as zeroes. */
int eng_status_co_is_zero(eng *e, uint64_t off, uint64_t len, bool *zero);

/* ---- zeroes (eng_zero.c) ----------------------------------------------- */

/* Write-zeroes without bounds check. */
int eng_zero_co_range(eng *e, uint64_t off, uint64_t len, unsigned flags);

#endif
