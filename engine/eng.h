/*
 * eng.h - public interface of cowpoke's qcow2-compatible copy-on-write engine.
 *
 * The engine is the system under test. It knows nothing of scripts, models,
 * schedulers or fuzzers: it talks to the world only through
 *   - eng_file:    a host file (the image, a backing file), whose I/O calls
 *                  may yield the calling coroutine;
 *   - eng_runtime: coroutine primitives (self/park/wake) and the event hook.
 *
 * Invariants and contracts:
 *   - Every function named *_co_* may yield and must be called from inside a
 *     coroutine of the runtime passed at create/open time.
 *   - Errors are negative errno values; where a message helps, it is written
 *     into an eng_error (never printed). The engine never exits or aborts on
 *     bad input; assert() guards only internal invariants.
 *   - Several guest requests may be in flight on one eng at once (each in its
 *     own coroutine); they interleave only at yield points.
 *   - One eng owns its caches and its backing chain (opened through
 *     eng_open_opts.open_backing, closed through close_backing). It does not
 *     own the eng_file of the image itself.
 *   - Mutants (zoo bugs) are off unless set in eng_open_opts.mutants / create.
 */
#ifndef COWPOKE_ENG_H
#define COWPOKE_ENG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eng_event.h"
#include "eng_mutant.h"

typedef struct eng eng;
typedef struct eng_file eng_file;

/* ---- host files -------------------------------------------------------- */

/*
 * Operations on one host file. All may yield (they are where the scheduler
 * interleaves requests). Reads past the end of the file return zeroes.
 * Return 0 on success (the whole range was transferred) or -errno.
 */
/*
 * A detached host read (eng_file_ops.aio_pread): the submitter does not wait
 * for it. The file's owner calls done() exactly once for every submission
 * that returned 0, outside every coroutine (it may wake coroutines through
 * the runtime, it must not yield): with the read's result once the data is
 * in buf, or with -ECANCELED, buf untouched, when the owner goes away with
 * the read still pending. buf and the eng_aio stay valid until then.
 */
typedef struct eng_aio eng_aio;
struct eng_aio {
    void (*done)(eng_aio *aio, int ret);
};

typedef struct eng_file_ops {
    int (*co_pread)(eng_file *f, uint64_t off, void *buf, size_t len);
    int (*co_pwrite)(eng_file *f, uint64_t off, const void *buf, size_t len);
    int (*co_flush)(eng_file *f);
    int (*co_truncate)(eng_file *f, uint64_t size);
    uint64_t (*size)(eng_file *f); /* current length in bytes; never yields */
    /* Optional (NULL: not offered). Start a read into buf and return at
     * once, never yielding: 0 when submitted (aio->done follows), or
     * -errno. Only the early_completion mutant's read path uses it. */
    int (*aio_pread)(eng_file *f, uint64_t off, void *buf, size_t len,
                     eng_aio *aio);
} eng_file_ops;

struct eng_file {
    const eng_file_ops *ops;
    const char *name; /* for messages; may be NULL */
};

/* ---- coroutine runtime ------------------------------------------------- */

typedef struct eng_co eng_co; /* opaque handle of one coroutine */

typedef struct eng_runtime {
    void *opaque;
    /* The calling coroutine. */
    eng_co *(*self)(void *opaque);
    /* Suspend the calling coroutine until someone calls wake() on it.
     * `why` says what it waits on (for deadlock reports); static string. */
    void (*co_park)(void *opaque, const char *why);
    /* Make a parked coroutine runnable again (does not switch to it). */
    void (*wake)(void *opaque, eng_co *co);
    /*
     * Announce a named event (blkdebug's points). May yield (breakpoints).
     * A negative return is an injected error: the engine treats it as the
     * result of the host I/O that the event precedes, exactly as if that I/O
     * had failed with it. NULL means no hook.
     */
    int (*co_event)(void *opaque, eng_event ev);
} eng_runtime;

/* ---- errors ------------------------------------------------------------ */

typedef struct eng_error {
    char msg[256]; /* e.g. "header field l1_size: 4294967295 exceeds ..." */
} eng_error;

/* ---- create / open / close -------------------------------------------- */

typedef struct eng_create_opts {
    uint64_t size;          /* virtual size in bytes (multiple of 512) */
    unsigned cluster_bits;  /* 9..21; 0 means 16 (64 KiB) */
    unsigned version;       /* 2 or 3; 0 means 3 */
    unsigned refcount_bits; /* 16 by default (0 means 16) */
    const char *backing;    /* backing file name, or NULL */
    const char *backing_fmt;/* "qcow2", "raw" or NULL */
} eng_create_opts;

typedef struct eng_open_opts {
    uint64_t mutants;          /* bit set of eng_mutant */
    bool read_only;
    unsigned l2_cache_tables;  /* 0: default */
    unsigned refblock_cache_blocks; /* 0: default */
    /* Resolve a backing file name; NULL: images with backing files are
     * refused. `out` is owned by the opener until close_backing. */
    int (*open_backing)(void *opaque, const char *name, eng_file **out);
    void (*close_backing)(void *opaque, eng_file *f);
    void *backing_opaque;
} eng_open_opts;

/* Write a fresh, empty image into f (truncating it). */
int eng_co_create(const eng_runtime *rt, eng_file *f,
                  const eng_create_opts *o, eng_error *err);

/* Open an image (qcow2 v2/v3; refuses unsupported features by name). */
int eng_co_open(const eng_runtime *rt, eng_file *f, const eng_open_opts *o,
                eng **out, eng_error *err);

/* Flush everything and free. Returns the flush's error, but frees anyway. */
int eng_co_close(eng *e);

/* Free without any I/O (after a simulated power loss). */
void eng_destroy(eng *e);

/* ---- guest requests (byte-granular) ------------------------------------ */

#define ENG_ZERO_MAY_UNMAP 1u

int eng_co_read(eng *e, uint64_t off, void *buf, uint64_t len);
int eng_co_write(eng *e, uint64_t off, const void *buf, uint64_t len);
int eng_co_write_zeroes(eng *e, uint64_t off, uint64_t len, unsigned flags);
int eng_co_discard(eng *e, uint64_t off, uint64_t len);
int eng_co_flush(eng *e);
int eng_co_truncate(eng *e, uint64_t new_size);

/* ---- introspection ----------------------------------------------------- */

typedef struct eng_info {
    uint64_t virtual_size;
    unsigned version;
    unsigned cluster_bits;
    unsigned refcount_bits;
    uint64_t l1_size;
    uint64_t l1_offset;
    uint64_t refcount_table_offset;
    uint64_t refcount_table_clusters;
    char backing[1024]; /* empty when none */
    char backing_fmt[32];
} eng_info;

void eng_get_info(const eng *e, eng_info *out);

/* What the last failed request found wrong (an invalid L1/L2/refcount
 * entry, a compressed cluster, ...); "" when nothing was recorded. */
const char *eng_last_error(const eng *e);

typedef enum eng_map_kind {
    ENG_MAP_UNALLOCATED, /* reads from the backing file, or zeroes */
    ENG_MAP_ZERO,        /* zero flag set (may still have a host cluster) */
    ENG_MAP_DATA,        /* data at host_off */
} eng_map_kind;

typedef struct eng_map_extent {
    uint64_t off, len;   /* guest range */
    eng_map_kind kind;
    uint64_t host_off;   /* for ENG_MAP_DATA (and allocated zero clusters) */
} eng_map_extent;

/* Describe the mapping at `off`: fills one extent of uniform kind starting
 * at off, at most `len` long. May yield (L2 loads). */
int eng_co_map(eng *e, uint64_t off, uint64_t len, eng_map_extent *out);

#endif
