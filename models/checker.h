/*
 * checker.h - the independent qcow2 metadata checker: cowpoke's second
 * oracle.
 *
 * chk_image() reads an image's bytes through a host_backend, never through
 * the engine, and judges its metadata the way `qemu-img check` does:
 * corruptions (metadata that can lose or mix up guest data) and leaks
 * (clusters whose refcount is higher than their references: wasted space,
 * no harm) are counted separately, and `incomplete` says that some part
 * could not be checked (an unsupported feature, a header QEMU would refuse to
 * open, refcounts that cannot be read).
 *
 * What it counts, as qemu-img check (block/qcow2-refcount.c) does:
 *   - one reference for the header cluster, each cluster of the L1 table and
 *     of the refcount table, each L2 table (per L1 entry), each data cluster
 *     (per L2 entry, including preallocated zero clusters), each cluster a
 *     compressed cluster's bytes touch, and each refcount block;
 *   - per host cluster: stored refcount < references -> corruption,
 *     stored refcount > references -> leak;
 *   - OFLAG_COPIED on an L1 / standard L2 entry must equal
 *     (stored refcount == 1), else corruption;
 *   - reserved bits, unaligned table and cluster offsets, regions ending one
 *     cluster or more past the end of the file: corruption.
 * Where it is stricter than QEMU (documented at each check): the zero flag in
 * a version 2 image, the corrupt bit, a cluster shared between fixed-place
 * metadata (header, L1 table, refcount table, refcount block) and anything
 * else (CHK_OVERLAP; QEMU only reports this for refcount blocks), an L1
 * entry with flags but no offset, a backing file name overlapping the
 * header. The verdict (qemu-img's exit status) matches QEMU 7.2's on
 * QEMU-written images and on bit-flipped ones; the counts can differ where
 * the checker is stricter, where a 1-bit refcount saturates (QEMU counts an
 * "overflow"), and because an unaligned L2 table is reported but not walked.
 *
 * Not supported (CHK_UNSUPPORTED, incomplete = true, nothing else checked):
 * internal snapshots, encryption, external data files, non-zlib compression
 * types, extended L2 entries, persistent bitmaps.
 *
 * Resources: memory grows with the number of references found (allocated
 * clusters and metadata), never with the virtual size; every size read from
 * the image is bounded by the file size or by QEMU's own limits before
 * anything is allocated from it. Nothing read from the image can cause an
 * out-of-bounds access. Deterministic: the same bytes give the same report.
 *
 * Ownership: the caller owns the backend and the report; chk_image allocates
 * only internally and frees everything before it returns.
 */
#ifndef COWPOKE_CHECKER_H
#define COWPOKE_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"

typedef enum chk_kind {
    CHK_HEADER,         /* header field or header extension invalid */
    CHK_L1_ENTRY,       /* L1 entry: reserved bits, flags without offset */
    CHK_L2_ENTRY,       /* L2 entry: reserved bits, zero flag in v2, ... */
    CHK_REFTABLE_ENTRY, /* refcount table entry: reserved bits */
    CHK_REFCOUNT_LOW,   /* stored refcount < references: corruption */
    CHK_LEAK,           /* stored refcount > references: leak */
    CHK_OFLAG_COPIED,   /* OFLAG_COPIED differs from (refcount == 1) */
    CHK_OUT_OF_BOUNDS,  /* a region ends a cluster or more past EOF */
    CHK_MISALIGNED,     /* a table or cluster offset not cluster aligned */
    CHK_OVERLAP,        /* fixed-place metadata shares a cluster */
    CHK_UNSUPPORTED,    /* a feature the checker cannot judge */
    CHK_KIND_COUNT
} chk_kind;

#define CHK_MAX_FINDINGS 32

typedef struct chk_finding {
    chk_kind kind;
    bool corruption; /* false: a leak, or an unsupported feature */
    uint64_t offset; /* file offset of the field or cluster concerned */
    char msg[160];   /* names the field and its value */
} chk_finding;

typedef struct chk_report {
    uint64_t corruptions; /* as qemu-img's "errors were found" */
    uint64_t leaks;       /* as qemu-img's "leaked clusters" */
    bool incomplete;      /* part of the image could not be checked */
    bool dirty;           /* incompatible feature bit 0 (dirty) is set */
    size_t n_findings;    /* entries used in findings[] */
    chk_finding findings[CHK_MAX_FINDINGS];        /* the first ones found */
    unsigned version, cluster_bits, refcount_bits; /* from the header */
    uint64_t virtual_clusters;   /* guest clusters of the virtual size */
    uint64_t allocated_clusters; /* mapped guest clusters (data, compressed,
                                    preallocated zero) */
    uint64_t image_end; /* end of the last cluster in use, as qemu-img's
                           "Image end offset" */
} chk_report;

/*
 * Check the image in b. Fills *r (which needs no initialisation).
 * Returns 0 when the check ran (look at r for its outcome; an image that is
 * not qcow2 at all is reported as a CHK_HEADER corruption with incomplete),
 * or -errno when the backend failed a read (-EIO, ...) or memory ran out
 * (-ENOMEM); then r holds what was found so far and incomplete is set.
 */
int chk_image(host_backend *b, chk_report *r);

/* Short stable name of a kind ("refcount-low", "leak", ...). */
const char *chk_kind_name(chk_kind k);

/*
 * A human summary like qemu-img check's: one line per recorded finding,
 * then the totals. snprintf's contract: writes at most len bytes including
 * the terminating NUL, returns the length the whole text needs.
 */
int chk_format(const chk_report *r, char *buf, size_t len);

/* qemu-img check's exit status for this report: 0 clean, 1 check not
 * completed, 2 corruptions, 3 leaks only. */
int chk_exit_code(const chk_report *r);

#endif
