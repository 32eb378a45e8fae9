/*
 * eng_mutant.h - the bug zoo's switches (see ../shared/ZOO.md).
 *
 * Each mutant re-creates one historical bug at the exact code point where it
 * lived; all are off by default. A set of mutants is a uint64_t bit set
 * (bit i = mutant i). The table in eng_mutant.c carries each one's name,
 * history and mechanism; `cowpoke zoo --list` prints it.
 */
#ifndef COWPOKE_ENG_MUTANT_H
#define COWPOKE_ENG_MUTANT_H

#include <stdint.h>

#define ENG_MUTANTS(X)                                                         \
    X(AVAIL_SECTORS, "avail_sectors")                                          \
    X(ALLOC_NO_SERIALIZE, "alloc_no_serialize")                                \
    X(FLUSH_NO_HOST_FLUSH, "flush_no_host_flush")                              \
    X(SWALLOW_ENOSPC, "swallow_enospc")                                        \
    X(REFCOUNT_AFTER_L2, "refcount_after_l2")                                  \
    X(L2_EVICT_DIRTY, "l2_evict_dirty")                                        \
    X(L2_AT_ZERO, "l2_at_zero")                                                \
    X(REFBLOCK_NOREF, "refblock_noref")                                        \
    X(DISCARD_INFLIGHT, "discard_inflight")                                    \
    X(BACKING_TAIL_GARBAGE, "backing_tail_garbage")                            \
    X(ZERO_CLUSTER_COW_BACKING, "zero_cluster_cow_backing")                    \
    X(TRUNCATE_BACKING_VISIBLE, "truncate_backing_visible")                    \
    X(V2_DISCARD_BACKING, "v2_discard_backing")                                \
    X(ENOSPC_PUBLISH_L2, "enospc_publish_l2")                                  \
    X(ZERO_UNMAP_STALE_L2, "zero_unmap_stale_l2")                              \
    X(ALLOC_ABORT_FREES_LIVE, "alloc_abort_frees_live")                        \
    X(REFCOUNT_READ_UNPINNED, "refcount_read_unpinned")                        \
    X(EARLY_COMPLETION, "early_completion")

typedef enum eng_mutant {
#define ENG_MUT_ENUM(id, name) ENG_MUT_##id,
    ENG_MUTANTS(ENG_MUT_ENUM)
#undef ENG_MUT_ENUM
    ENG_MUT_COUNT
} eng_mutant;

typedef struct eng_mutant_info {
    const char *name;      /* "avail_sectors" */
    const char *origin;    /* project and commit/bug, e.g. "QEMU 1.1, fixed by b7ab0fea" */
    const char *mechanism; /* one sentence */
} eng_mutant_info;

const eng_mutant_info *eng_mutant_get(eng_mutant m);
int eng_mutant_by_name(const char *name); /* -1 when unknown */

#define ENG_MUTANT_BIT(m) (UINT64_C(1) << (m))

#endif
