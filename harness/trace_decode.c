/*
 * trace_decode.c - bytes -> script (trace_codec.h): the set-up, the
 * operations and their operand forms. Every command goes through the
 * legalizer (trace_legal.c, trace_compound.c), so this file only decides
 * what the bytes ask for.
 *
 * Set-up (first byte not 0xff): cluster size (64k most often, then 512
 * and 4k, then every other power of two), version 2 or 3, refcount width,
 * scheduler policy (fifo; random SEED; tape of bytes), virtual size (a few
 * clusters, clusters plus sectors, a fraction of the cap, or exact), and a
 * backing chain: none; a qcow2 base with a few writes and an overlay
 * (shorter, equal or longer than it); base -> mid -> top.
 *
 * Operands (one form byte, then its payload):
 *   offset  (form & 31) 0 aligned cluster, 1 sector, 2 byte, 3 cluster
 *           boundary -1/+1/0/-512/+512, 4 fraction of the size, 5 last
 *           cluster, 6 hot area, 7 literal, 8 wild (past the end), 9 from
 *           the end, 10 an L2 table boundary, 11-31 repeat the biased ones;
 *   length  (form & 31) 0 a cluster +-0/512/1, 1 clusters, 2 sectors,
 *           3 bytes, 4 to the end, 5 literal, 6 across the next boundary,
 *           7 half a cluster, 8-31 repeat the biased ones.
 * Biased forms stay inside the disk; literal and wild ones may not (then
 * the legalizer expects EINVAL).
 *
 * Invariant: decoding reads only data[0..len) and is a pure function of
 * (data, len, opts).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

/* The operations, in opcode order (trace_codec.h gives the first bytes). */
typedef enum trace_opk {
    K_WRITE,
    K_AIO_WRITE,
    K_READ,
    K_AIO_READ,
    K_DISCARD,
    K_FLUSH,
    K_AIO_FLUSH,
    K_TRUNCATE,
    K_CLOSE,
    K_REOPEN,
    K_CHECK,
    K_BREAK,
    K_RESUME,
    K_HOST,
    K_POLICY,
    K_RESUME_ERRORS,
    K_INJECT,
    K_CRASH,
    K_SCHED,
    K_SWEEP,
    K_PUNCH,
    K_OVERLAP,
    K_IMAGE,
    K_N
} trace_opk;

static const uint8_t op_first[K_N + 1] = {
    TRACE_OP_WRITE,         TRACE_OP_AIO_WRITE, TRACE_OP_READ,
    TRACE_OP_AIO_READ,      TRACE_OP_DISCARD,   TRACE_OP_FLUSH,
    TRACE_OP_AIO_FLUSH,     TRACE_OP_TRUNCATE,  TRACE_OP_CLOSE,
    TRACE_OP_REOPEN,        TRACE_OP_CHECK,     TRACE_OP_BREAK,
    TRACE_OP_RESUME,        TRACE_OP_HOST,      TRACE_OP_POLICY,
    TRACE_OP_RESUME_ERRORS, TRACE_OP_INJECT,    TRACE_OP_CRASH,
    TRACE_OP_SCHED,         TRACE_OP_SWEEP,     TRACE_OP_PUNCH,
    TRACE_OP_OVERLAP,       TRACE_OP_IMAGE,     TRACE_OP_WRITE2,
};

static trace_opk op_kind(uint8_t b)
{
    for (int k = K_N - 1; k >= 0; k--)
        if (b >= op_first[k])
            return b >= TRACE_OP_WRITE2 ? K_WRITE : (trace_opk)k;
    return K_WRITE;
}

static const char alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/* ---- geometry ------------------------------------------------------------ */

typedef struct geo {
    uint64_t size, cs, span, max_io;
} geo;

/* The current image's geometry (the default image's before the first). */
static geo geo_of(const trace_dec *d)
{
    geo g = {UINT64_C(1) << 20, UINT64_C(65536), UINT64_C(1) << 29,
             d->o.max_io};
    if (g.size > d->o.max_size)
        g.size = d->o.max_size;
    if (d->cur >= 0) {
        g.size = d->img[d->cur].size;
        g.cs = d->img[d->cur].cs;
        g.span = d->img[d->cur].span;
    }
    return g;
}

static uint64_t clamp_max(uint64_t v, uint64_t max)
{
    return v > max ? max : v;
}

/* ---- operand forms ------------------------------------------------------- */

static uint64_t rd_off(trace_rd *rd, const geo *g)
{
    static const uint8_t remap[32] = {0, 1,  2, 3, 4, 5, 6, 7, 8, 9, 10,
                                      0, 6,  3, 1, 0, 0, 1, 2, 3, 4, 5,
                                      6, 10, 3, 6, 0, 1, 9, 6, 3, 0};
    static const int64_t delta[5] = {-1, 1, 0, -512, 512};
    uint64_t nclu = (g->size + g->cs - 1) / g->cs, v;
    uint64_t hot = g->cs * (nclu / 3);
    unsigned f = remap[trace_rd_u8(rd) & 31];

    switch (f) {
    case 0:
        return trace_rd_u8(rd) % nclu * g->cs;
    case 1:
        return trace_rd_varint(rd) % (g->size / 512) * 512;
    case 2:
        return trace_rd_varint(rd) % g->size;
    case 3: {
        uint64_t c = (trace_rd_u8(rd) % (nclu + 1)) * g->cs;
        int64_t dl = delta[trace_rd_u8(rd) % 5];
        v = dl < 0 && c < (uint64_t)-dl ? 0 : c + (uint64_t)dl;
        return v >= g->size ? g->size - 1 : v;
    }
    case 4:
        return trace_dn(g->size * trace_rd_u8(rd) / 256, 512);
    case 5:
        v = trace_dn(g->size - 1, g->cs);
        return v + trace_rd_u8(rd) * UINT64_C(512) % (g->size - v);
    case 6:
        v = hot + trace_rd_u8(rd) % (2 * g->cs / 512) * 512;
        return v >= g->size ? hot : v;
    case 7:
        return clamp_max(trace_rd_varint(rd), (UINT64_C(1) << 62));
    case 8:
        return g->size + clamp_max(trace_rd_varint(rd), UINT64_C(1) << 40);
    case 9:
        v = (trace_rd_u8(rd) + UINT64_C(1)) * 512;
        return v >= g->size ? 0 : g->size - v;
    default:
        v = trace_rd_u8(rd) * g->span;
        return v >= g->size ? 0 : v;
    }
}

static uint64_t rd_len(trace_rd *rd, const geo *g, uint64_t off, bool *lit)
{
    static const uint8_t remap[32] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 2, 1,
                                      6, 3, 0, 2, 4, 0, 1, 2, 3, 4, 6,
                                      7, 0, 2, 1, 6, 3, 0, 2, 4, 1};
    static const int64_t delta[5] = {0, -512, 512, -1, 1};
    unsigned f = remap[trace_rd_u8(rd) & 31];
    uint64_t v;

    *lit = f == 5;
    switch (f) {
    case 0:
        v = g->cs + (uint64_t)delta[trace_rd_u8(rd) % 5];
        break;
    case 1:
        v = (1 + trace_rd_u8(rd) % 8) * g->cs;
        break;
    case 2:
        v = (1 + trace_rd_u8(rd)) * UINT64_C(512);
        break;
    case 3:
        v = 1 + trace_rd_u8(rd);
        break;
    case 4:
        v = off < g->size ? g->size - off : 512;
        break;
    case 5:
        v = trace_rd_varint(rd);
        break;
    case 6:
        v = g->cs - off % g->cs + (1 + trace_rd_u8(rd) % 4) * UINT64_C(512);
        break;
    default:
        v = g->cs / 2;
        break;
    }
    v = clamp_max(v ? v : 1, g->max_io);
    if (!*lit && off < g->size && v > g->size - off)
        v = g->size - off;
    return v;
}

static void rd_range(trace_rd *rd, const geo *g, trace_io *io)
{
    bool lit;
    io->off = rd_off(rd, g);
    io->len = rd_len(rd, g, io->off, &lit);
}

/* Data of a write: seeded, -P, -z, -z -u (biased towards data). */
static const unsigned data_tab[8] = {0,
                                     SCRIPT_F_PATTERN,
                                     SCRIPT_F_PATTERN,
                                     0,
                                     SCRIPT_F_ZERO,
                                     SCRIPT_F_PATTERN,
                                     SCRIPT_F_ZERO | SCRIPT_F_UNMAP,
                                     0};

static void rd_write(trace_rd *rd, const geo *g, script_kind k, trace_io *io)
{
    uint8_t f = trace_rd_u8(rd);
    memset(io, 0, sizeof(*io));
    io->kind = k;
    io->flags = data_tab[f & 7];
    if (((f >> 3) & 3) == 3)
        io->flags |= SCRIPT_F_FUA;
    if (f & 0x20)
        io->flags |= SCRIPT_F_QUIET;
    if (io->flags & SCRIPT_F_PATTERN)
        io->pattern = trace_rd_u8(rd);
    rd_range(rd, g, io);
}

static void rd_read(trace_rd *rd, const geo *g, script_kind k, trace_io *io)
{
    uint8_t f = trace_rd_u8(rd);
    memset(io, 0, sizeof(*io));
    io->kind = k;
    io->auto_pattern = (f & 3) == 1 || (f & 3) == 2;
    if ((f & 3) == 3) {
        io->flags |= SCRIPT_F_PATTERN;
        io->pattern = trace_rd_u8(rd);
    }
    if (f & 4) {
        io->flags |= SCRIPT_F_PAT_OFF;
        io->pat_off = trace_rd_varint(rd);
    }
    if (f & 8) {
        io->flags |= SCRIPT_F_PAT_LEN;
        io->pat_len = trace_rd_varint(rd);
    }
    if (f & 16)
        io->flags |= SCRIPT_F_QUIET;
    if (f & 32)
        io->flags |= SCRIPT_F_VERBOSE;
    rd_range(rd, g, io);
}

static void rd_discard(trace_rd *rd, const geo *g, trace_io *io)
{
    memset(io, 0, sizeof(*io));
    io->kind = SCRIPT_DISCARD;
    io->flags = trace_rd_u8(rd) & 1 ? SCRIPT_F_QUIET : 0;
    rd_range(rd, g, io);
}

/* A basic I/O operation of kind k into *io; false for other kinds. */
static bool rd_io(trace_rd *rd, const geo *g, trace_opk k, trace_io *io)
{
    switch (k) {
    case K_WRITE:
        rd_write(rd, g, SCRIPT_WRITE, io);
        return true;
    case K_AIO_WRITE:
        rd_write(rd, g, SCRIPT_AIO_WRITE, io);
        return true;
    case K_READ:
        rd_read(rd, g, SCRIPT_READ, io);
        return true;
    case K_AIO_READ:
        rd_read(rd, g, SCRIPT_AIO_READ, io);
        return true;
    case K_DISCARD:
        rd_discard(rd, g, io);
        return true;
    default:
        return false;
    }
}

/* A tag or image name: one letter, or 0xff and a literal string. */
static void rd_name(trace_rd *rd, char out[SCRIPT_MAX_NAME + 1], char first)
{
    uint8_t b = trace_rd_u8(rd);
    if (b != 0xff) {
        out[0] = (char)(first + b % 26);
        out[1] = '\0';
        return;
    }
    unsigned n = 1 + trace_rd_u8(rd) % SCRIPT_MAX_NAME;
    for (unsigned i = 0; i < n; i++)
        out[i] = alphabet[trace_rd_u8(rd) & 63];
    out[n] = '\0';
}

/* An image size: clusters; clusters and sectors; a fraction; literal. */
static uint64_t rd_img_size(trace_rd *rd, const trace_dec *d, uint64_t cs)
{
    uint64_t v, k;
    switch (trace_rd_u8(rd) & 3) {
    case 0:
        v = (1 + trace_rd_u8(rd) % 64) * cs;
        break;
    case 1:
        k = 1 + trace_rd_u8(rd) % 16;
        v = k * cs +
            (cs > 512 ? 512 * (1 + trace_rd_u8(rd) % (cs / 512 - 1)) : 0);
        break;
    case 2:
        v = (1 + trace_rd_u8(rd)) * (d->o.max_size / 256);
        break;
    default:
        v = trace_rd_varint(rd);
        break;
    }
    return v; /* the legalizer rounds and caps it */
}

/* ---- operations ---------------------------------------------------------- */

static void op_truncate(trace_dec *d, trace_rd *rd, const geo *g)
{
    uint64_t v = g->size;
    switch (trace_rd_u8(rd) & 7) {
    case 0:
        v += (1 + trace_rd_u8(rd) % 16) * g->cs;
        break;
    case 1:
        v += (1 + trace_rd_u8(rd) % 8) * g->cs + (g->cs > 512 ? 512 : 0);
        break;
    case 2:
        v *= 2;
        break;
    case 3:
        break;
    case 4:
        v = trace_dn(v / 2, 512);
        break;
    case 5:
        v += 1 + trace_rd_u8(rd);
        break;
    case 6:
        v = trace_rd_varint(rd);
        break;
    default:
        v += g->span;
        break;
    }
    trace_do_truncate(d, v);
}

/* A host limit or growth: below a cluster, some clusters, never reached,
 * none, literal. */
static uint64_t rd_host_size(trace_rd *rd, const geo *g)
{
    switch (trace_rd_u8(rd) & 7) {
    case 0:
    case 6:
        return (1 + trace_rd_u8(rd) % (g->cs / 512)) * UINT64_C(512);
    case 1:
    case 7:
        return (1 + trace_rd_u8(rd)) * UINT64_C(65536);
    case 2:
        return TRACE_HUGE;
    case 3:
        return 0;
    default:
        return clamp_max(trace_rd_varint(rd), INT64_MAX);
    }
}

static void op_host(trace_dec *d, trace_rd *rd, const geo *g)
{
    bool grow = trace_rd_u8(rd) & 1;
    trace_do_host(d, grow, rd_host_size(rd, g));
}

static void op_sched(trace_dec *d, trace_rd *rd)
{
    uint8_t tape[TRACE_TAPE_MAX];
    switch (trace_rd_u8(rd) & 3) {
    case 0:
        trace_do_sched(d, SCRIPT_SCHED_FIFO, 0, NULL, 0);
        return;
    case 3: {
        size_t n = 1 + (size_t)trace_rd_u8(rd);
        for (size_t i = 0; i < n; i++)
            tape[i] = trace_rd_u8(rd);
        trace_do_sched(d, SCRIPT_SCHED_TAPE, 0, tape, n);
        return;
    }
    default:
        trace_do_sched(d, SCRIPT_SCHED_RANDOM, trace_rd_varint(rd), NULL, 0);
        return;
    }
}

static void op_crash(trace_dec *d, trace_rd *rd)
{
    bool random = trace_rd_u8(rd) & 1;
    trace_do_crash(d, random, random ? trace_rd_varint(rd) : 0);
}

static void op_image(trace_dec *d, trace_rd *rd)
{
    char name[SCRIPT_MAX_NAME + 1];
    uint8_t f = trace_rd_u8(rd);
    trace_imgreq r = {.backing = -1};

    if (f & 1) {
        rd_name(rd, name, 'a');
        r.name = name;
    }
    if (f & 2)
        r.backing = trace_rd_u8(rd);
    if (f & 4)
        r.cluster_size = UINT64_C(512) << (trace_rd_u8(rd) % 13);
    if (f & 8)
        r.version = trace_rd_u8(rd) & 1 ? 2 : 3;
    if (f & 16)
        r.refcount_bits = 1u << (trace_rd_u8(rd) % 7);
    r.backing_fmt = f & 32;
    r.size = rd_img_size(rd, d, r.cluster_size ? r.cluster_size : 65536);
    trace_do_image(d, &r);
}

/* One sector written in each of many L2 tables (or clusters): overflows
 * the L2 cache (cloud-hypervisor's sweep). */
static void op_sweep(trace_dec *d, trace_rd *rd, const geo *g)
{
    uint8_t f = trace_rd_u8(rd);
    trace_io io = {.kind = f & 2 ? SCRIPT_AIO_WRITE : SCRIPT_WRITE};
    if (f & 1) {
        io.flags = SCRIPT_F_PATTERN;
        io.pattern = trace_rd_u8(rd);
    }
    uint64_t stride = (f >> 2) & 3;
    unsigned n = 1 + trace_rd_u8(rd) % TRACE_SWEEP_MAX;
    stride = stride == 0   ? g->span
             : stride == 1 ? g->cs
             : stride == 2 ? g->span + g->cs
                           : clamp_max(trace_rd_varint(rd), g->size);
    if (stride == 0)
        stride = 512;
    uint64_t start = rd_off(rd, g);
    io.len = (1 + trace_rd_u8(rd) % 8) * UINT64_C(512);
    for (unsigned i = 0; i < n && !d->err; i++) {
        io.off = start + i * stride;
        if (io.off >= g->size)
            break;
        if (io.len > g->size - io.off)
            io.len = g->size - io.off;
        trace_do_io(d, &io);
    }
}

static void do_rw(trace_dec *d, script_kind k, uint64_t off, uint64_t len,
                  int pattern)
{
    trace_io io = {.kind = k, .off = off, .len = len};
    if (pattern >= 0) {
        io.flags = SCRIPT_F_PATTERN;
        io.pattern = (uint8_t)pattern;
    }
    io.auto_pattern = k == SCRIPT_READ;
    trace_do_io(d, &io);
}

/* The host layout avail_sectors needs: a kept cluster, a hole right after
 * its host cluster (discard), a write over kept + new + a partial one. */
static void op_punch(trace_dec *d, trace_rd *rd, const geo *g)
{
    uint64_t n = g->size / g->cs, c = g->cs;
    uint8_t k = trace_rd_u8(rd), p = trace_rd_u8(rd);
    if (n < 8)
        return;
    uint64_t b = k % (n - 7) * c;
    do_rw(d, SCRIPT_WRITE, b, c, p);
    do_rw(d, SCRIPT_WRITE, b + 5 * c, c, (uint8_t)(p + 1));
    do_rw(d, SCRIPT_WRITE, b + 6 * c, c, (uint8_t)(p + 2));
    do_rw(d, SCRIPT_DISCARD, b + 5 * c, c, -1);
    do_rw(d, SCRIPT_WRITE, b + c / 2, 2 * c, (uint8_t)(p + 3));
    do_rw(d, SCRIPT_READ, b, 3 * c, -1);
    do_rw(d, SCRIPT_READ, b + 6 * c, c, -1);
}

/* Several aio writes into one area (alloc_no_serialize), maybe a read. */
static void op_overlap(trace_dec *d, trace_rd *rd, const geo *g)
{
    uint8_t f = trace_rd_u8(rd);
    unsigned n = 2 + trace_rd_u8(rd) % 3;
    uint64_t base = trace_dn(rd_off(rd, g), g->cs);
    for (unsigned i = 0; i < n; i++) {
        uint64_t off = base + trace_rd_u8(rd) % (2 * g->cs / 512) * 512;
        uint64_t len = (1 + trace_rd_u8(rd) % 16) * UINT64_C(512);
        int p = trace_rd_u8(rd);
        if (off >= g->size)
            off = base;
        do_rw(d, SCRIPT_AIO_WRITE, off, clamp_max(len, g->size - off),
              f & 4 ? -1 : p);
    }
    if (f & 1)
        do_rw(d, SCRIPT_AIO_READ, base, clamp_max(2 * g->cs, g->size - base),
              -1);
    if (f & 2)
        trace_do_simple(d, SCRIPT_AIO_FLUSH);
}

static void op_dispatch(trace_dec *d, trace_rd *rd, trace_opk k, bool nested);

static void op_break(trace_dec *d, trace_rd *rd)
{
    char tag[SCRIPT_MAX_NAME + 1];
    unsigned ev = trace_rd_u8(rd);
    rd_name(rd, tag, 'A');
    trace_opk k = op_kind(trace_rd_u8(rd));
    geo g = geo_of(d);
    trace_io io;
    if (k == K_AIO_WRITE || k == K_AIO_READ) {
        rd_io(rd, &g, k, &io);
        trace_do_break(d, ev, tag, &io);
    } else {
        op_dispatch(d, rd, k, true);
    }
}

static void op_inject(trace_dec *d, trace_rd *rd)
{
    unsigned target = trace_rd_u8(rd);
    int err = trace_errnos[trace_rd_u8(rd) % trace_nerrnos];
    trace_opk k = op_kind(trace_rd_u8(rd));
    geo g = geo_of(d);
    trace_trig t = {0};
    if (k == K_FLUSH) {
        t.kind = SCRIPT_FLUSH;
    } else if (k == K_TRUNCATE) {
        t.kind = SCRIPT_TRUNCATE;
        t.size = trace_rd_varint(rd);
    } else if (k != K_DISCARD && rd_io(rd, &g, k, &t.io)) {
        t.kind = t.io.kind;
    } else {
        op_dispatch(d, rd, k, true);
        return;
    }
    trace_do_inject(d, target, err, &t);
}

/* One operation of kind k. Nested (a trigger that is not one): the
 * composite operations are skipped, so decoding never recurses twice. */
static void op_dispatch(trace_dec *d, trace_rd *rd, trace_opk k, bool nested)
{
    static const script_kind simple[K_N] = {
        [K_FLUSH] = SCRIPT_FLUSH, [K_AIO_FLUSH] = SCRIPT_AIO_FLUSH,
        [K_CLOSE] = SCRIPT_CLOSE, [K_REOPEN] = SCRIPT_REOPEN,
        [K_CHECK] = SCRIPT_CHECK, [K_RESUME_ERRORS] = SCRIPT_RESUME_ERRORS,
    };
    geo g = geo_of(d);
    trace_io io;

    if (rd_io(rd, &g, k, &io)) {
        trace_do_io(d, &io);
        return;
    }
    switch (k) {
    case K_FLUSH:
    case K_AIO_FLUSH:
    case K_CLOSE:
    case K_REOPEN:
    case K_CHECK:
    case K_RESUME_ERRORS:
        trace_do_simple(d, simple[k]);
        return;
    case K_TRUNCATE:
        op_truncate(d, rd, &g);
        return;
    case K_RESUME:
        trace_do_resume(d, trace_rd_u8(rd) & 1);
        return;
    case K_HOST:
        op_host(d, rd, &g);
        return;
    case K_POLICY:
        trace_do_policy(d, trace_rd_u8(rd) & 1);
        return;
    case K_CRASH:
        op_crash(d, rd);
        return;
    case K_SCHED:
        op_sched(d, rd);
        return;
    default:
        break;
    }
    if (nested)
        return;
    switch (k) {
    case K_BREAK:
        op_break(d, rd);
        return;
    case K_INJECT:
        op_inject(d, rd);
        return;
    case K_SWEEP:
        op_sweep(d, rd, &g);
        return;
    case K_PUNCH:
        op_punch(d, rd, &g);
        return;
    case K_OVERLAP:
        op_overlap(d, rd, &g);
        return;
    case K_IMAGE:
        op_image(d, rd);
        return;
    default:
        return;
    }
}

/* ---- set-up -------------------------------------------------------------- */

static const uint64_t cs_tab[16] = {65536, 65536,  65536,  65536,  512,  512,
                                    4096,  4096,   1024,   2048,   8192, 16384,
                                    32768, 131072, 262144, 2097152};

/* A few writes into the image just created (a backing file's data). */
static void setup_writes(trace_dec *d, trace_rd *rd)
{
    unsigned n = trace_rd_u8(rd) % 5;
    for (unsigned i = 0; i < n && !d->err; i++) {
        geo g = geo_of(d);
        trace_io io;
        rd_write(rd, &g, SCRIPT_WRITE, &io);
        trace_do_io(d, &io);
    }
}

static void setup_sched(trace_dec *d, trace_rd *rd, unsigned how)
{
    uint8_t tape[32];
    if (how == 5 || how == 6) {
        trace_do_sched(d, SCRIPT_SCHED_RANDOM, trace_rd_varint(rd), NULL, 0);
    } else if (how == 7) {
        size_t n = 1 + trace_rd_u8(rd) % sizeof(tape);
        for (size_t i = 0; i < n; i++)
            tape[i] = trace_rd_u8(rd);
        trace_do_sched(d, SCRIPT_SCHED_TAPE, 0, tape, n);
    }
}

/* base (and mid) below the top image; shorter, equal or longer. */
static void setup_chain(trace_dec *d, trace_rd *rd, unsigned chain,
                        trace_imgreq *top)
{
    uint8_t b = trace_rd_u8(rd);
    trace_imgreq base = {
        .name = "base", .backing = -1, .version = top->version};
    base.cluster_size = b & 0x10 ? cs_tab[b & 15] : top->cluster_size;
    switch (chain == 7 ? 1 : trace_rd_u8(rd) & 3) {
    case 1: /* shorter: the overlay reads zeroes past its end */
        base.size = trace_dn(top->size * (1 + trace_rd_u8(rd) % 7) / 8, 512);
        break;
    case 2:
        base.size = 2 * top->size;
        break;
    default:
        base.size = top->size;
        break;
    }
    trace_do_image(d, &base);
    setup_writes(d, rd);
    top->backing = 0;
    if (chain == 6) {
        trace_imgreq mid = {.name = "mid",
                            .backing = 0,
                            .size = top->size,
                            .cluster_size = top->cluster_size,
                            .version = top->version};
        trace_do_image(d, &mid);
        setup_writes(d, rd);
        top->backing = 1;
    }
}

static void setup(trace_dec *d, trace_rd *rd)
{
    uint8_t b0 = trace_rd_u8(rd);
    if (b0 == TRACE_SETUP_NONE) {
        /* no set-up: the body makes the images, with up to 16 more
         * operations than max_cmds to do it */
        d->extra = trace_rd_u8(rd) % (TRACE_SETUP_EXTRA + 1);
        return;
    }
    uint8_t b1 = trace_rd_u8(rd);
    trace_imgreq top = {.backing = -1, .cluster_size = cs_tab[b0 & 15]};
    top.version = ((b0 >> 4) & 3) == 3 ? 2 : 3;
    if ((b0 >> 6) == 3 && top.version == 3)
        top.refcount_bits = 1u << (trace_rd_u8(rd) % 7);
    setup_sched(d, rd, (b1 >> 3) & 7);
    top.size = rd_img_size(rd, d, top.cluster_size);
    if ((b1 & 7) >= 4)
        setup_chain(d, rd, b1 & 7, &top);
    top.backing_fmt = b1 & 0x40;
    trace_do_image(d, &top);
}

/* ---- entry --------------------------------------------------------------- */

#define TRACE_MAX_OUT 20000 /* commands in one decoded script */

static trace_decode_opts fix_opts(const trace_decode_opts *o)
{
    trace_decode_opts r = o ? *o : (trace_decode_opts){0};
    if (!r.max_size)
        r.max_size = TRACE_DEFAULT_MAX_SIZE;
    r.max_size = trace_dn(clamp_max(r.max_size, UINT64_C(1) << 50), 512);
    if (r.max_size < 512)
        r.max_size = 512;
    if (!r.max_io)
        r.max_io = TRACE_DEFAULT_MAX_IO;
    r.max_io = clamp_max(r.max_io, SCRIPT_MAX_IO_LEN);
    if (!r.max_cmds)
        r.max_cmds = TRACE_DEFAULT_MAX_CMDS;
    return r;
}

int trace_decode_body(const uint8_t *data, size_t len,
                      const trace_decode_opts *o, script **out, trace_end *end)
{
    trace_dec *d = calloc(1, sizeof(*d));
    trace_rd rd = {data, data ? len : 0, 0};
    int err = 0;

    *out = NULL;
    if (!d || !(d->s = script_new("trace.io"))) {
        free(d);
        return -ENOMEM;
    }
    d->o = fix_opts(o);
    d->cur = -1;
    setup(d, &rd);
    while (trace_rd_more(&rd) && d->ops < d->o.max_cmds + d->extra && !d->err &&
           d->s->ncmds < TRACE_MAX_OUT) {
        d->ops++;
        op_dispatch(d, &rd, op_kind(trace_rd_u8(&rd)), false);
    }
    d->body = d->s->ncmds;
    geo g = geo_of(d);
    trace_finish(d);
    for (size_t i = 0; i < d->nimg; i++) {
        if (trace_img_oom(&d->img[i]))
            d->err = -ENOMEM;
        trace_img_free(&d->img[i]);
    }
    err = d->err;
    if (err < 0) {
        script_free(d->s);
    } else {
        *out = d->s;
        *end = (trace_end){d->body, g.size, g.cs, d->ops};
    }
    free(d);
    return err;
}

int trace_decode(const uint8_t *data, size_t len, const trace_decode_opts *o,
                 script **out)
{
    trace_end end;
    return trace_decode_body(data, len, o, out, &end);
}
