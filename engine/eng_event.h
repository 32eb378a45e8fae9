/*
 * eng_event.h - the named events the engine announces, with QEMU blkdebug's
 * names wherever the meaning is the same (so scripts carry over to qemu-io).
 *
 * Invariant: ENG_EV_COUNT is last; eng_event_name() and eng_event_by_name()
 * are inverse over [0, ENG_EV_COUNT).
 */
#ifndef COWPOKE_ENG_EVENT_H
#define COWPOKE_ENG_EVENT_H

#define ENG_EVENTS(X)                                                          \
    X(L1_UPDATE, "l1_update")                                                  \
    X(L1_GROW_ALLOC_TABLE, "l1_grow_alloc_table")                              \
    X(L1_GROW_WRITE_TABLE, "l1_grow_write_table")                              \
    X(L1_GROW_ACTIVATE_TABLE, "l1_grow_activate_table")                        \
    X(L2_LOAD, "l2_load")                                                      \
    X(L2_UPDATE, "l2_update")                                                  \
    X(L2_ALLOC_COW_READ, "l2_alloc_cow_read")                                  \
    X(L2_ALLOC_WRITE, "l2_alloc_write")                                        \
    X(READ_AIO, "read_aio")                                                    \
    X(READ_BACKING_AIO, "read_backing_aio")                                    \
    X(WRITE_AIO, "write_aio")                                                  \
    X(COW_READ, "cow_read")                                                    \
    X(COW_WRITE, "cow_write")                                                  \
    X(REFTABLE_LOAD, "reftable_load")                                          \
    X(REFTABLE_GROW, "reftable_grow")                                          \
    X(REFTABLE_UPDATE, "reftable_update")                                      \
    X(REFBLOCK_LOAD, "refblock_load")                                          \
    X(REFBLOCK_UPDATE, "refblock_update")                                      \
    X(REFBLOCK_UPDATE_PART, "refblock_update_part")                            \
    X(REFBLOCK_ALLOC, "refblock_alloc")                                        \
    X(REFBLOCK_ALLOC_HOOKUP, "refblock_alloc_hookup")                          \
    X(REFBLOCK_ALLOC_WRITE, "refblock_alloc_write")                            \
    X(REFBLOCK_ALLOC_WRITE_BLOCKS, "refblock_alloc_write_blocks")              \
    X(REFBLOCK_ALLOC_WRITE_TABLE, "refblock_alloc_write_table")                \
    X(REFBLOCK_ALLOC_SWITCH_TABLE, "refblock_alloc_switch_table")              \
    X(CLUSTER_ALLOC, "cluster_alloc")                                          \
    X(CLUSTER_ALLOC_BYTES, "cluster_alloc_bytes")                              \
    X(CLUSTER_FREE, "cluster_free")                                            \
    X(FLUSH_TO_OS, "flush_to_os")                                              \
    X(FLUSH_TO_DISK, "flush_to_disk")                                          \
    X(EMPTY_IMAGE_PREPARE, "empty_image_prepare")

typedef enum eng_event {
#define ENG_EV_ENUM(id, name) ENG_EV_##id,
    ENG_EVENTS(ENG_EV_ENUM)
#undef ENG_EV_ENUM
    ENG_EV_COUNT
} eng_event;

/* "l2_update" for ENG_EV_L2_UPDATE; "?" when out of range. */
const char *eng_event_name(eng_event ev);

/* The event with this name, or -1. */
int eng_event_by_name(const char *name);

#endif
