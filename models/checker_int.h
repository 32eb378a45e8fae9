/*
 * checker_int.h - internals shared by the checker's files (not a public
 * interface: only models/checker*.c include it).
 *
 *   checker.c        entry point, findings, bounded reads, the reference list
 *   checker_header.c header fields, feature bits, header extensions
 *   checker_refs.c   walks L1/L2 tables and the refcount table, recording
 *                    one chk_ref per reference found
 *   checker_count.c  stored refcounts; compares them with the references,
 *                    checks OFLAG_COPIED and overlaps, finds leaks
 *
 * Invariants of a chk_ctx between the phases:
 *   - after chk_header() returned 0 the geometry fields are valid:
 *     9 <= cluster_bits <= 21, refcount_order <= 6, l1_size and
 *     rt_entries within QEMU's limits, offsets cluster aligned;
 *   - rt[] holds the refcount table entries up to the last non-zero one
 *     inside the file (rt_loaded <= rt_entries); every entry past it is
 *     zero (those past EOF read as zero);
 *   - every counted chk_ref has cluster < limit, and limit covers the file;
 *   - cbuf holds cbuf_len >= cs bytes from the end of chk_header's phase:
 *     the one buffer every later phase reads tables into (L1 chunks, L2
 *     tables, the refcount table, then refcount blocks).
 * The context owns rt, refs and cbuf; chk_image() releases them.
 *
 * Speed: entries are decoded with a byteswap of a memcpy'd word
 * (chk_be64), and tables, which are mostly zero, are walked with
 * chk_next_entry, which skips zero entries 8 at a time.
 */
#ifndef COWPOKE_CHECKER_INT_H
#define COWPOKE_CHECKER_INT_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "checker.h"

/* Entry layouts (docs/interop/qcow2.txt). */
#define CHK_E_COPIED (1ULL << 63)
#define CHK_E_COMPRESSED (1ULL << 62)
#define CHK_E_ZERO 1ULL
#define CHK_L1E_OFFSET_MASK 0x00fffffffffffe00ULL
#define CHK_L1E_RESERVED_MASK 0x7f000000000001ffULL
#define CHK_L2E_OFFSET_MASK 0x00fffffffffffe00ULL
#define CHK_L2E_STD_RESERVED_MASK 0x3f000000000001feULL
#define CHK_REFT_OFFSET_MASK 0xfffffffffffffe00ULL
#define CHK_REFT_RESERVED_MASK 0x1ffULL

/* QEMU's implementation limits, which it enforces at open. */
#define CHK_MAX_L1_BYTES (32ULL << 20)
#define CHK_MAX_REFTABLE_BYTES (8ULL << 20)

/* What a reference is; the order is the order of a cluster's records. */
typedef enum chk_what {
    CHK_REF_HEADER,
    CHK_REF_L1,         /* a cluster of the L1 table */
    CHK_REF_L2,         /* an L2 table, referenced by the L1 entry at where */
    CHK_REF_DATA,       /* a data cluster, from the L2 entry at where */
    CHK_REF_COMPRESSED, /* a cluster touched by a compressed cluster */
    CHK_REF_REFTABLE,   /* a cluster of the refcount table */
    CHK_REF_REFBLOCK,   /* a refcount block, from the reftable entry at where */
} chk_what;

#define CHK_RF_COUNTED 1u /* counts as a reference (does not lie past EOF) */
#define CHK_RF_COPIED 2u  /* the referencing entry has OFLAG_COPIED */
#define CHK_RF_OFLAG 4u   /* OFLAG_COPIED is checked against this cluster */

typedef struct chk_ref {
    uint64_t cluster; /* host cluster index */
    uint64_t where;   /* file offset of the referencing entry (0: header) */
    uint32_t mult;    /* references this record stands for (a shared L2) */
    uint8_t what;     /* chk_what */
    uint8_t flags;    /* CHK_RF_* */
} chk_ref;

typedef struct chk_ctx {
    host_backend *b;
    chk_report *r;
    uint64_t flen; /* file size in bytes */

    /* Geometry, from the header. */
    unsigned version, cluster_bits, refcount_order;
    uint64_t cs; /* cluster size */
    uint64_t size;
    uint64_t l1_offset, l1_size;
    uint64_t rt_offset, rt_entries;
    uint64_t backing_offset, backing_size;
    uint64_t rb_entries; /* refcounts per refcount block */

    /* The refcount table entries inside the file. */
    uint64_t *rt;
    uint64_t rt_loaded;

    /* The table buffer; in the compare phase it caches one refcount
     * block (index rb_index, valid if rb_valid). */
    uint8_t *cbuf;
    size_t cbuf_len;
    uint64_t rb_index;
    bool rb_valid;

    /* Every reference found. */
    chk_ref *refs;
    size_t n_refs, cap_refs;
    uint64_t limit;       /* clusters compared: the file, grown by references */
    uint64_t end_cluster; /* 1 + the highest cluster in use (compare) */
} chk_ctx;

/* checker.c */
void chk_found(chk_ctx *c, chk_kind kind, uint64_t count, uint64_t offset,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int chk_read(chk_ctx *c, uint64_t off, void *buf, size_t len);
size_t chk_next_entry(const uint8_t *buf, size_t i, size_t n);

/* Big-endian fields: a memcpy'd word, byteswapped (no alignment needed). */
static inline uint64_t chk_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return be64toh(v);
}

static inline uint64_t chk_be(const uint8_t *p, unsigned bytes)
{
    uint32_t v32;
    uint16_t v16;

    switch (bytes) {
    case 8:
        return chk_be64(p);
    case 4:
        memcpy(&v32, p, sizeof(v32));
        return be32toh(v32);
    case 2:
        memcpy(&v16, p, sizeof(v16));
        return be16toh(v16);
    default:
        return p[0]; /* refcounts are 1, 2, 4 or 8 bytes wide */
    }
}
bool chk_past_eof(const chk_ctx *c, uint64_t off, uint64_t size);
int chk_ref_add(chk_ctx *c, chk_what what, uint64_t where, uint64_t cluster,
                uint32_t mult, unsigned flags);
int chk_ref_region(chk_ctx *c, chk_what what, uint64_t where, uint64_t off,
                   uint64_t size, uint32_t mult, unsigned flags);
const char *chk_what_name(chk_what w);

/* checker_header.c: 0 = go on, 1 = stop (reported, incomplete), -errno. */
int chk_header(chk_ctx *c);

/* checker_refs.c */
int chk_walk_l1(chk_ctx *c);
int chk_load_reftable(chk_ctx *c);
int chk_walk_reftable(chk_ctx *c);

/* checker_count.c */
int chk_compare(chk_ctx *c);

#endif
