/*
 * shadow.h - the shadow reference model of guest-visible data: the oracle
 * that judges every read a trace makes against what the guest may legally
 * see. It knows nothing of the engine; the executor calls it once when a
 * request starts and once when it completes.
 *
 * What it holds. For every 512-byte sector of the virtual disk, the set of
 * values the sector may legally hold. A value is a description, never
 * bytes: an ordered list of pieces, each a byte range of the sector with
 * its source (a datagen source, or "whatever the backing file holds here")
 * and its provenance (request id and user tag). A sector written whole has
 * one piece; a sub-sector write makes a composite (the old value with the
 * written bytes laid over it). State is kept per extent (runs of sectors
 * that share one candidate set) in a sorted array, so memory grows with
 * what the trace touched, not with the virtual size.
 *
 * The rules it enforces (the sector is the atomic unit):
 *   - A modifying request (write, write-zeroes, discard) in flight may have
 *     taken effect on each covered sector or not; overlapping requests in
 *     flight may take effect in any order. After success, only outcomes in
 *     which the request took effect remain; after failure, both remain.
 *   - A read may see each sector's value as of any moment between its
 *     shadow_read_begin() and shadow_read_check().
 *   - Sticky observation: when a read sees one of several legal values of a
 *     sector that no request is modifying, the sector keeps only the values
 *     the read could have seen, until the next write.
 *   - Write-zeroes (with or without unmap) reads back zeroes.
 *   - Discard follows QEMU 7.2 (block/io.c splits a discard at cluster
 *     boundaries and ignores the -ENOTSUP of the pieces; qcow2_co_pdiscard
 *     refuses partial clusters, and refuses everything on a version 2 image
 *     with a backing file, because without the zero flag a discarded
 *     cluster would expose the backing file: iotest 290). So:
 *       version 2 with a backing file: discard changes nothing;
 *       otherwise: every cluster the request covers completely reads back
 *       zeroes (v3: zero flag; v2: deallocated, no backing file), and so
 *       does the last, partial cluster of an image whose size is not a
 *       multiple of the cluster size when the request covers it from its
 *       start to the end of the image; partly covered clusters keep their
 *       data. shadow_discard_zeroed() is that rule as a pure function.
 *   - Unallocated areas read from the backing file, and zeroes past the
 *     backing file's length (or everywhere, without one).
 *   - Truncate: growth reads zeroes (QEMU zero-fills or leaves the area
 *     over a shorter backing file); shrinking forgets the cut-off sectors.
 *     It requires that no request is in flight. The new size is written
 *     into the header last, synchronously (QEMU's qcow2_co_truncate:
 *     bdrv_pwrite_sync of the size field; the engine's eng_co_truncate:
 *     the grown area's zeroes are written and flushed first, then the
 *     header's size is written and flushed), so a truncate that completed
 *     is durable at once: shadow_truncate. One that began
 *     (shadow_truncate_begin) and did not complete, because it failed or
 *     a power loss cut it short, leaves the header holding the old size or
 *     the new one (its header write may sit in the volatile cache, to be
 *     made durable by any later flush). The model learns which when the
 *     engine opens the image again (after a crash, or a reopen):
 *     shadow_reopened adopts the size the engine reports if it is the
 *     current one or a pending one, applying a pending one as a completed
 *     truncate would (the grown area reads zeroes: they were durable
 *     before the size was), and refuses any other size (-ERANGE: the
 *     engine shows a size no truncate made). A shrink that did not
 *     complete and comes back with the old size keeps every sector's
 *     values: the engine refuses to shrink (-ENOTSUP) before any host
 *     I/O. (QEMU discards the cut-off clusters before it writes the size,
 *     so there they could read as discarded; the model does not follow
 *     that.) At most SHADOW_MAX_PENDING_SIZES truncates may be pending.
 *   - Durability: shadow_crash() (power loss and reopen) leaves each sector
 *     holding its durable value (as of the begin of the last completed
 *     flush) or any value it held since; values overwritten before that
 *     flush began can never come back.
 *
 * Ownership: a shadow owns all its state. A backing model given at create
 * time is borrowed: it must outlive the overlay, and while any overlay
 * uses it, its own modifying requests are refused (-EPERM); an overlay's
 * read may narrow (collapse) the backing model's undetermined sectors, as
 * the backing file's bytes are one fixed reality (this happens when the
 * overlay's sector is wholly "the backing file's bytes").
 *
 * How the executor calls it, per guest request:
 *   write     shadow_write_begin(req, tag, off, len, &src) when it starts,
 *             shadow_write_end(req, ok) when it completes; the buffer it
 *             hands the engine is datagen_fill(&src, off, buf, len);
 *   write -z  shadow_zeroes_begin / shadow_write_end;
 *   discard   shadow_discard_begin / shadow_write_end;
 *   read      shadow_read_begin at the start, then shadow_read_check with
 *             the bytes on success or shadow_read_end on failure;
 *   flush     shadow_flush_begin / shadow_flush_end(ok);
 *   truncate  shadow_truncate_begin when it starts, shadow_truncate on
 *             success; power loss: shadow_crash; every open of the image
 *             after the first (reopen, or after a crash): shadow_reopened.
 *
 * Request ids: each in-flight request needs an id unique among requests of
 * its class in flight (modifying, read, flush). Errors are negative errno
 * values: -EINVAL (range past the virtual size, bad options), -EEXIST (id
 * already in flight), -ENOENT (no such request in flight), -EBUSY (more
 * than SHADOW_MAX_INFLIGHT modifying requests, truncate with requests in
 * flight, or a backing model with requests in flight), -E2BIG (more than
 * 16 * SHADOW_MAX_CANDS candidates in one sector before degrading: past
 * SHADOW_MAX_CANDS a set degrades, values with equal masks merging into one
 * that accepts any bytes where they disagree), -EPERM (the model is another
 * model's backing file), -ENOMEM. A call that fails changes no legal value.
 */
#ifndef COWPOKE_SHADOW_H
#define COWPOKE_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datagen.h"

#define SHADOW_SECTOR 512u
#define SHADOW_MAX_INFLIGHT 64 /* modifying requests in flight at once */
#define SHADOW_MAX_CANDS 4096  /* legal values of one sector */
#define SHADOW_VERDICT_CANDS 8 /* candidates listed in a verdict */
#define SHADOW_WINDOW 16       /* bytes of hex window in a verdict */
#define SHADOW_MAX_PENDING_SIZES 4 /* truncates that did not complete */

typedef struct shadow shadow;

/* ---- creation ----------------------------------------------------------- */

typedef enum shadow_backing_kind {
    SHADOW_BACKING_NONE,   /* no backing file: unallocated reads zeroes */
    SHADOW_BACKING_RANGES, /* a backing file described by datagen ranges */
    SHADOW_BACKING_MODEL,  /* a backing image with a shadow model of its own */
} shadow_backing_kind;

/* One range of a RANGES backing file; gaps between ranges read zeroes. */
typedef struct shadow_backing_range {
    uint64_t off, len;
    datagen_src src;
    uint64_t tag; /* reported as the provenance of its bytes */
} shadow_backing_range;

typedef struct shadow_backing {
    shadow_backing_kind kind;
    uint64_t length; /* the backing file's length in bytes: zeroes past it
                        (for MODEL, also past the model's virtual size) */
    shadow *model;   /* MODEL: borrowed, see above */
    const shadow_backing_range *ranges; /* RANGES: sorted, disjoint; copied */
    size_t nranges;
} shadow_backing;

typedef struct shadow_opts {
    uint64_t size;         /* virtual size: a multiple of 512 */
    uint32_t cluster_size; /* a power of two, 512 .. 2 MiB; 0 means 64 KiB */
    unsigned version;      /* 2 or 3; 0 means 3 */
    shadow_backing backing;
} shadow_opts;

int shadow_create(const shadow_opts *o, shadow **out);
void shadow_destroy(shadow *s); /* NULL is fine */

uint64_t shadow_size(const shadow *s);

/* ---- modifying requests ------------------------------------------------- */

/* A write of [off, off+len) whose bytes come from src. */
int shadow_write_begin(shadow *s, uint64_t req, uint64_t tag, uint64_t off,
                       uint64_t len, const datagen_src *src);
/* Write-zeroes; `unmap` changes nothing guest-visible. */
int shadow_zeroes_begin(shadow *s, uint64_t req, uint64_t tag, uint64_t off,
                        uint64_t len, bool unmap);
/* Discard, with the rule above applied to the size at this moment. */
int shadow_discard_begin(shadow *s, uint64_t req, uint64_t tag, uint64_t off,
                         uint64_t len);
/* The end of any of the three: ok says whether the request succeeded. */
int shadow_write_end(shadow *s, uint64_t req, bool ok);

/*
 * The discard rule: the range a discard of [off, off+len) makes read zeroes
 * is [*zoff, *zoff + return value); 0 when nothing changes.
 */
uint64_t shadow_discard_zeroed(unsigned version, bool has_backing,
                               uint64_t size, uint32_t cluster_size,
                               uint64_t off, uint64_t len, uint64_t *zoff);

/* A truncate to new_size (a multiple of 512) by request req (tag: its
 * provenance) begins: until it completes or a reopen settles it, the
 * header may hold new_size. -EBUSY past SHADOW_MAX_PENDING_SIZES pending
 * sizes, or with requests in flight. */
int shadow_truncate_begin(shadow *s, uint64_t req, uint64_t tag,
                          uint64_t new_size);
/* The truncate completed: grow or shrink the virtual disk now; it is
 * durable (no pending size remains). */
int shadow_truncate(shadow *s, uint64_t req, uint64_t tag, uint64_t new_size);
/* The engine opened the image again (after shadow_crash, or a reopen) and
 * reports virtual size `size`: 0 when it is legal (the current size, or a
 * pending truncate's, which is then applied), -ERANGE when it is not. */
int shadow_reopened(shadow *s, uint64_t size);
/* The pending sizes (up to max of them into sizes); returns how many
 * there are. */
unsigned shadow_pending_sizes(const shadow *s, uint64_t *sizes, unsigned max);

/* ---- reads -------------------------------------------------------------- */

typedef enum shadow_origin {
    SHADOW_ORIGIN_REQUEST,      /* written, zeroed or grown by request req */
    SHADOW_ORIGIN_INITIAL,      /* never written, no backing file: zeroes */
    SHADOW_ORIGIN_BACKING_DATA, /* a backing range's data (tag: its tag) */
    SHADOW_ORIGIN_BACKING_ZERO, /* the backing file has no data here */
} shadow_origin;

/* One legal value of the sector a verdict is about, described by the piece
 * that covers the verdict's offset. */
typedef struct shadow_cand_info {
    shadow_origin origin;
    datagen_src src;     /* source of the bytes there */
    uint64_t req, tag;   /* SHADOW_ORIGIN_REQUEST: who wrote them */
    unsigned depth;      /* 0: this image; 1: its backing image; ... */
    bool composite;      /* the sector mixes several pieces */
    bool in_flight;      /* the outcome of a request still in flight */
    bool earlier;        /* held earlier during the read (overwritten since) */
    uint64_t first_diff; /* guest offset of its first byte unlike the read */
} shadow_cand_info;

typedef struct shadow_verdict {
    bool ok;
    uint64_t off;        /* the first byte that no legal value explains */
    uint64_t window_off; /* guest offset of actual[0] and expected[0] */
    unsigned window_len;
    uint8_t actual[SHADOW_WINDOW];
    uint8_t expected[SHADOW_WINDOW]; /* of cands[0], the closest value */
    unsigned ncands;                 /* legal values of that sector */
    unsigned nlisted;                /* entries used in cands */
    shadow_cand_info cands[SHADOW_VERDICT_CANDS]; /* closest first */
} shadow_verdict;

/* Open a read's window (optional: a read checked without one is judged
 * against the values legal at the moment of the check). */
int shadow_read_begin(shadow *s, uint64_t req, uint64_t off, uint64_t len);
/*
 * Judge the bytes a read of [off, off+len) returned and end the read. Returns
 * 0 when judged (v->ok says the verdict; on a mismatch, v describes the
 * first sector no legal value explains) or -errno when it could not judge.
 * A begun read must be checked with the same off and len.
 */
int shadow_read_check(shadow *s, uint64_t req, uint64_t off, uint64_t len,
                      const void *buf, shadow_verdict *v);
/* End a begun read without judging it (the read failed). */
int shadow_read_end(shadow *s, uint64_t req);

/* Describe a verdict in a few lines of text (snprintf conventions). */
int shadow_verdict_format(const shadow_verdict *v, char *buf, size_t size);

/* ---- durability --------------------------------------------------------- */

int shadow_flush_begin(shadow *s, uint64_t req);
int shadow_flush_end(shadow *s, uint64_t req, bool ok);
/* Power loss and reopen: every request in flight is forgotten. */
int shadow_crash(shadow *s);

/* ---- introspection ------------------------------------------------------ */

typedef struct shadow_stats {
    size_t extents;      /* runs of sectors sharing one candidate set */
    size_t bytes;        /* heap bytes the model holds now */
    size_t max_cands;    /* most current legal values of any sector */
    size_t undetermined; /* sectors with more than one current value */
} shadow_stats;

void shadow_get_stats(const shadow *s, shadow_stats *st);

/* 0, or -EFAULT when an internal invariant is broken (tests call it). */
int shadow_check_invariants(shadow *s);

#endif
