/*
 * trace_int.h - internals of the trace codec (trace_codec.h), shared by
 *   trace_map.c     byte reader and writer; range maps (sorted runs);
 *   trace_state.c   the decoder's model of each image: what its bytes hold,
 *                   which clusters and L2 tables are allocated, what a crash
 *                   may lose; which events a request is certain to announce
 *                   and which injected faults it is certain to meet;
 *   trace_legal.c   the legalizer: every command goes through it, which
 *                   drains, resumes or closes a fault window first when the
 *                   command needs it, adds the expect_error it knows about,
 *                   emits the command and updates the model;
 *   trace_decode.c  bytes -> operations (set-up, operand forms, composites);
 *   trace_encode.c  script -> bytes, checked by decoding.
 * Nothing outside harness/trace_*.c includes it.
 *
 * The decoder (trace_dec) owns the script it builds until trace_decode
 * hands it out, and the images' maps. Invariants it keeps between
 * commands (the legalizer's job):
 *   - at most one request is held at a breakpoint, and only after its
 *     wait_break; while it is held, only commands that cannot wait for it
 *     run (aio requests; sync reads, flushes and writes elsewhere when the
 *     held request does not hold the metadata lock);
 *   - a fault window (a full host disk) is open only with nothing held and
 *     admits only writes whose outcome is known (ENOSPC under
 *     werror=report; parked and retried under werror=stop);
 *   - every injected fault is spent by the command right after it;
 *   - d->fl lists every request that may still be in flight (until the
 *     next drain), with the range it touches.
 */
#ifndef COWPOKE_TRACE_INT_H
#define COWPOKE_TRACE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eng_event.h"
#include "script.h"
#include "trace_codec.h"

#define TRACE_MAX_IMAGES 8
#define TRACE_MAX_FLIGHT 40 /* requests tracked in flight */
#define TRACE_MAX_OVERLAP 3 /* racing writes over one sector */
/* The shadow model keeps every legal value of a sector (at most
 * SHADOW_MAX_CANDS = 4096): a failed or racing write over part of a sector
 * can double them. The decoder keeps a sector below 2^TRACE_FUZZY_MAX. */
#define TRACE_FUZZY_MAX 9
#define TRACE_HUGE (UINT64_C(1) << 40) /* a host limit never reached */
#define TRACE_TAPE_MAX 256
#define TRACE_SWEEP_MAX 64
#define TRACE_SETUP_EXTRA 16 /* operations a set-up by hand may take */

/* x rounded down / up to a multiple of a (a power of two). */
static inline uint64_t trace_dn(uint64_t x, uint64_t a)
{
    return x & ~(a - 1);
}

static inline uint64_t trace_up(uint64_t x, uint64_t a)
{
    return x > UINT64_MAX - a ? UINT64_MAX : (x + a - 1) & ~(a - 1);
}

/* ---- bytes in, bytes out (trace_map.c) ----------------------------------- */

typedef struct trace_rd {
    const uint8_t *p;
    size_t n, pos;
} trace_rd;

static inline bool trace_rd_more(const trace_rd *r)
{
    return r->pos < r->n;
}
uint8_t trace_rd_u8(trace_rd *r);      /* 0 past the end */
uint64_t trace_rd_varint(trace_rd *r); /* LEB128, at most 10 bytes */

typedef struct trace_wr {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} trace_wr;

void trace_wr_u8(trace_wr *w, uint8_t b);
void trace_wr_varint(trace_wr *w, uint64_t v);
void trace_wr_bytes(trace_wr *w, const uint8_t *b, size_t n);

/* ---- range maps (trace_map.c) -------------------------------------------- */

/* A value for every offset in [0, 2^64): runs sorted by start, the first
 * starting at 0, neighbours with different values. */
typedef struct trace_run {
    uint64_t start;
    uint16_t val;
} trace_run;

typedef struct trace_map {
    trace_run *r;
    size_t n, cap;
    bool oom; /* an allocation failed: the map is no longer exact */
} trace_map;

int trace_map_init(trace_map *m, uint16_t v);
void trace_map_free(trace_map *m);
int trace_map_copy(trace_map *dst, const trace_map *src);
void trace_map_set(trace_map *m, uint64_t a, uint64_t b, uint16_t v);
/* The value at x and the end of its run (UINT64_MAX for the last one). */
uint16_t trace_map_run(const trace_map *m, uint64_t x, uint64_t *end);
/* The value at x. */
uint16_t trace_map_get(const trace_map *m, uint64_t x);
/* True when [a, b) (non-empty) holds one value; it goes to *v. */
bool trace_map_uniform(const trace_map *m, uint64_t a, uint64_t b, uint16_t *v);
/* True when some value in [a, b) is v with bit (1 << v) set in mask. */
bool trace_map_any(const trace_map *m, uint64_t a, uint64_t b, unsigned mask);
/* The largest value in [a, b) (0 when empty). */
uint16_t trace_map_max(const trace_map *m, uint64_t a, uint64_t b);
/* Replace every value v in [a, b) by to[v] (values < nto; others stay). */
void trace_map_remap(trace_map *m, uint64_t a, uint64_t b, const uint16_t *to,
                     size_t nto);

/* ---- the model of one image (trace_state.c) ------------------------------ */

enum { TC_UNKNOWN = 256 }; /* content: 0..255 a known byte */
/* allocation state of a cluster */
enum { TA_UNALLOC, TA_ZERO, TA_ZALLOC, TA_DATA, TA_UNKNOWN, TA_N };
#define TA_NEEDS_ALLOC                                                         \
    ((1u << TA_UNALLOC) | (1u << TA_ZERO) | (1u << TA_ZALLOC))
/* an L2 table */
enum { TL_NONE, TL_EXISTS, TL_UNKNOWN, TL_N };

typedef struct trace_img {
    char name[SCRIPT_MAX_NAME + 1];
    bool named;
    uint64_t size;
    uint64_t cs;   /* cluster size */
    uint64_t span; /* guest bytes one L2 table maps */
    unsigned version;
    int backing;    /* index of the backing image, or -1 */
    uint64_t bsize; /* the backing image's size */
    bool open;      /* its engine is open */
    bool frozen;    /* some overlay reads through it: read-only */
    uint64_t l1_size;
    bool l1_known;
    bool rb_cold;      /* no refcount block loaded since the image was opened */
    trace_map content; /* per byte: TC_* */
    trace_map alloc;   /* per cluster: TA_* */
    trace_map l2;      /* per L2 span: TL_* */
    trace_map cached;  /* per L2 span: 1 = may be in the cache */
    trace_map touched; /* per sector: 1 = written since the last flush */
    trace_map fuzzy;   /* per sector: about log2 of its legal values */
} trace_img;

/* A request that may still be in flight. */
typedef enum trace_wkind {
    TW_READ,  /* a read (pread: its -P must keep holding) */
    TW_DATA,  /* a write through the data path only */
    TW_OTHER, /* write-zeroes on whole clusters, discard */
} trace_wkind;

typedef struct trace_flight {
    uint64_t off, len;
    trace_wkind kind;
    bool pread;     /* an aio_read with -P */
    bool may_alloc; /* may hold in-flight allocations (others wait) */
} trace_flight;

typedef enum trace_mode {
    TRACE_NORMAL,
    TRACE_WIN_REPORT, /* host limit below every data cluster, werror=report */
    TRACE_WIN_STOP,   /* host limit, werror=stop: failing writes park */
} trace_mode;

typedef struct trace_dec {
    trace_decode_opts o;
    script *s;
    int err; /* -ENOMEM once something failed */
    trace_img img[TRACE_MAX_IMAGES];
    size_t nimg;
    int cur; /* current image, -1 before the first */
    trace_mode mode;
    uint64_t limit; /* host limit of the current image, 0: none */
    bool werror_stop;
    bool held, held_locked;
    char tag[SCRIPT_MAX_NAME + 1];
    trace_flight fl[TRACE_MAX_FLIGHT];
    size_t nfl;
    size_t ops;         /* body operations decoded */
    size_t extra;       /* operations allowed beyond max_cmds (no set-up) */
    size_t body;        /* commands emitted before the end-of-trace repairs */
    script_cmd scratch; /* what trace_emit hands out once memory ran out */
} trace_dec;

/* An I/O command as the bytes ask for it, before the legalizer. */
typedef struct trace_io {
    script_kind kind; /* WRITE READ AIO_WRITE AIO_READ DISCARD */
    unsigned flags;   /* SCRIPT_F_* */
    uint8_t pattern;
    uint64_t off, len, pat_off, pat_len;
    bool auto_pattern; /* read: -P with whatever is known there */
} trace_io;

/* A trigger of an injected fault: an I/O command, flush or truncate. */
typedef struct trace_trig {
    script_kind kind;
    trace_io io;
    uint64_t size; /* truncate */
} trace_trig;

/* An image create as the bytes ask for it. */
typedef struct trace_imgreq {
    const char *name; /* NULL: unnamed */
    int backing;      /* index into the named images, -1: none */
    uint64_t size, cluster_size;
    unsigned version, refcount_bits;
    bool backing_fmt;
} trace_imgreq;

/* trace_state.c */
int trace_img_init(trace_img *im, const script_create *c, const trace_img *b,
                   uint64_t default_cs);
void trace_img_free(trace_img *im);
bool trace_img_oom(const trace_img *im);
uint64_t trace_l1_entries(uint64_t size, uint64_t cs);
trace_img *trace_cur(trace_dec *d);
bool trace_io_oor(const trace_img *im, uint64_t off, uint64_t len);
/* Does io write through the data path only (no zero flags, no discard)? */
bool trace_pure_data(const trace_img *im, const trace_io *io);
/* Apply a modifying request to the model: ok, failed, or in flight. */
void trace_st_modify(trace_dec *d, const trace_io *io, bool failed);
void trace_st_read(trace_dec *d, const trace_io *io);
void trace_st_truncate(trace_dec *d, uint64_t size);
void trace_st_flushed(trace_dec *d);
void trace_st_drained(trace_dec *d);
void trace_st_crash(trace_dec *d);
void trace_st_opened(trace_img *im);
/* Is every byte of [a, b) known to be p, and no request in flight over
 * it? */
bool trace_st_known(trace_dec *d, uint64_t a, uint64_t b, uint8_t p);
/* The byte [a, b) is known to hold, or -1. */
int trace_st_uniform(trace_dec *d, uint64_t a, uint64_t b);
/* Can [off, off + len) take `add` more doublings of its legal values? */
bool trace_st_fuzzy_ok(trace_dec *d, uint64_t off, uint64_t len, unsigned add);
/* Can every image take the legal values a crash adds? */
bool trace_st_crash_ok(trace_dec *d);
bool trace_st_fl_overlap(const trace_dec *d, uint64_t off, uint64_t len,
                         bool clusters, bool alloc_only, bool pread_only);
/* Events request io certainly announces (bit per eng_event); with
 * requests in flight, only those that do not depend on the image. */
uint64_t trace_st_events(trace_dec *d, const trace_io *io);
/* Fault targets that certainly fail trigger t, drained: bits 0..EV_COUNT-1
 * events, then host read, write, flush. */
uint64_t trace_st_faults(trace_dec *d, const trace_trig *t);
bool trace_ev_locked(eng_event ev);
bool trace_ev_image_free(eng_event ev); /* does not depend on the image */

#define TRACE_T_READ ENG_EV_COUNT
#define TRACE_T_WRITE (ENG_EV_COUNT + 1)
#define TRACE_T_FLUSH (ENG_EV_COUNT + 2)
#define TRACE_T_COUNT (ENG_EV_COUNT + 3)

/* trace_legal.c: every command goes through these. */
enum {
    TN_OPEN = 1u,     /* an image exists and is open */
    TN_NORMAL = 2u,   /* no fault window */
    TN_FREE = 4u,     /* nothing held */
    TN_DRAINED = 8u,  /* nothing in flight */
    TN_NOPREAD = 16u, /* no aio_read -P in flight */
};
typedef enum trace_outcome {
    TRACE_IO_OK,    /* takes effect */
    TRACE_IO_FAILS, /* fails as expected, having done anything or nothing */
    TRACE_IO_OOR,   /* past the end of the disk: fails at once */
} trace_outcome;
script_cmd *trace_emit(trace_dec *d, script_kind k);
const char *trace_dup(trace_dec *d, const char *s);
void trace_emit_expect(trace_dec *d, int err);
void trace_emit_aio_flush(trace_dec *d);
void trace_emit_resume(trace_dec *d, bool remove);
void trace_emit_host(trace_dec *d, script_kind k, uint64_t size);
void trace_lift(trace_dec *d, script_kind k, uint64_t size, uint64_t limit);
void trace_close_window(trace_dec *d);
void trace_norm(trace_dec *d, unsigned need);
bool trace_io_prepare(trace_dec *d, trace_io *io);
void trace_io_room(trace_dec *d, const trace_io *io);
void trace_io_fix_pattern(trace_dec *d, trace_io *io);
void trace_io_emit(trace_dec *d, const trace_io *io, int expect,
                   trace_outcome out);
void trace_do_io(trace_dec *d, const trace_io *io);
void trace_do_simple(trace_dec *d, script_kind k);
void trace_do_truncate(trace_dec *d, uint64_t size);
void trace_do_resume(trace_dec *d, bool remove);
void trace_do_host(trace_dec *d, bool grow, uint64_t size);
void trace_do_policy(trace_dec *d, bool stop);
void trace_do_crash(trace_dec *d, bool random, uint64_t seed);
void trace_do_sched(trace_dec *d, script_policy_kind p, uint64_t seed,
                    const uint8_t *tape, size_t tape_len);
void trace_do_image(trace_dec *d, const trace_imgreq *r);
void trace_do_break(trace_dec *d, unsigned ev_byte, const char *tag,
                    const trace_io *trig);
void trace_do_inject(trace_dec *d, unsigned target_byte, int err,
                     const trace_trig *trig);
void trace_finish(trace_dec *d);
/* The named images, in creation order: index i -> image index, or -1. */
int trace_named(const trace_dec *d, size_t i, size_t *count);

/* The errnos an injected fault may carry. */
extern const int trace_errnos[];
extern const size_t trace_nerrnos;

/* trace_decode.c: the decoder behind trace_decode, for the encoder, which
 * also learns where the body ended (before the end-of-trace repairs), the
 * current image's geometry there, and the operations it took. */
typedef struct trace_end {
    size_t body;
    uint64_t size, cs;
    size_t ops;
} trace_end;
int trace_decode_body(const uint8_t *data, size_t len,
                      const trace_decode_opts *o, script **out, trace_end *end);

#endif
