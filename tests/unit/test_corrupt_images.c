/*
 * test_corrupt_images.c - hostile images never crash the engine.
 *
 * The engine writes a few valid images itself (512 B and 64 KiB clusters,
 * qcow2 v2 and v3, data spread over several L2 tables and, with 512 B
 * clusters, several refcount blocks; two backing chains). This file parses
 * their metadata on its own (qcow2's big-endian header, L1, L2, refcount
 * table and blocks, after QEMU's docs/interop/qcow2.txt) to know where each
 * field lies. Then, for every seed, a copy of one image gets one to three
 * corruptions chosen by structure - a header field, an L1 / L2 / refcount
 * table entry, a refcount block entry, random byte flips, a truncation -
 * and goes to open and, when open accepts it, to reads over the disk,
 * writes, write-zeroes, discards, a flush and a close; after a clean close
 * it is opened and read once more (what the engine wrote must be safe too).
 *
 * What is asserted, per seed:
 *   - nothing crashes (ASan/UBSan make memory errors crashes) and nothing
 *     hangs: engsync's -EDEADLK (deadlock or step budget) is a failure;
 *   - an open refusal carries a message that names a qcow2 field or
 *     structure, or the value written into the changed field;
 *   - every request returns 0 or a negative errno.
 * Over all seeds: each outcome (refused at open / opened and some I/O
 * failed / opened and all I/O succeeded) happens at least once. Printed,
 * not asserted: outcomes per corruption target, errnos, how many refusals
 * name the very field changed, and how many successful writes read back
 * other data (legitimate on these images: see ci_read_back).
 *
 * COWPOKE_CORRUPT_SEEDS=N and COWPOKE_CORRUPT_FIRST=S select seeds
 * [S, S + N) (default 0 and 3000); COWPOKE_CORRUPT_VERBOSE=1 prints every
 * seed's corruption before it runs and its outcome after (to find the
 * seed of a crash; progress is printed every 500 seeds).
 *
 * Ownership: ci_ctx owns the pristine images, their layouts and the I/O
 * buffers; each seed makes and frees its own scheduler, image set and copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coro.h"
#include "engsync.h"
#include "imgset.h"
#include "prng.h"
#include "sched.h"
#include "unit.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define CI_BUF (256 * KiB)          /* largest single request */
#define CI_WHOLE_DISK (4 * MiB)     /* read disks up to this size fully */
#define CI_CALL_BUDGET 4000000      /* scheduler steps per engine call */
#define CI_COPIED (UINT64_C(1) << 63)
#define CI_COMPRESSED (UINT64_C(1) << 62)
#define CI_L1_RESERVED UINT64_C(0x7f000000000001ff)
#define CI_L2_RESERVED UINT64_C(0x3f000000000001fe)
#define CI_RT_RESERVED UINT64_C(0x1ff)
#define CI_L12_OFFSET UINT64_C(0x00fffffffffffe00)
#define CI_RT_OFFSET UINT64_C(0xfffffffffffffe00)

/* ---- small helpers ----------------------------------------------------- */

static uint64_t ci_get(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v = v << 8 | p[i];
    return v;
}

static void ci_put(uint8_t *p, unsigned width, uint64_t v)
{
    for (unsigned i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static uint64_t ci_align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* A growable vector of 64-bit values; aborts the test when memory runs
 * out (the vectors are small). */
typedef struct ci_vec {
    uint64_t *v;
    size_t n, cap;
} ci_vec;

static void ci_push(ci_vec *x, uint64_t val)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->v = realloc(x->v, x->cap * sizeof(*x->v));
        if (!x->v)
            abort();
    }
    x->v[x->n++] = val;
}

static uint64_t ci_pick(prng *p, const ci_vec *x)
{
    return x->n ? x->v[prng_below(p, x->n)] : 0;
}

/* ---- layout of a valid image ------------------------------------------- */

/* Where one pristine image keeps its metadata. File offsets ("@") are of
 * the entry itself; host offsets are where an entry points. */
typedef struct ci_layout {
    uint8_t *buf; /* the image bytes (owned) */
    size_t len;
    unsigned version, cluster_bits, rb_bits;
    uint64_t cs, size, l1_off, l1_size, rt_off, rt_entries;
    uint64_t hdr_len;  /* header plus extensions and backing name */
    ci_vec l2_tables;  /* host offsets of L2 tables */
    ci_vec l2_used;    /* @ of nonzero L2 entries */
    ci_vec rt_used;    /* @ of nonzero refcount table entries */
    ci_vec refblocks;  /* host offsets of refcount blocks */
    ci_vec rb_used;    /* @ of nonzero refcount block entries */
    ci_vec data;       /* host offsets of data clusters */
    ci_vec mapped;     /* guest offsets of mapped clusters */
} ci_layout;

static void ci_layout_free(ci_layout *L)
{
    free(L->buf);
    free(L->l2_tables.v);
    free(L->l2_used.v);
    free(L->rt_used.v);
    free(L->refblocks.v);
    free(L->rb_used.v);
    free(L->data.v);
    free(L->mapped.v);
    memset(L, 0, sizeof(*L));
}

static bool ci_inside(const ci_layout *L, uint64_t off, uint64_t len)
{
    return off <= L->len && len <= L->len - off;
}

static void ci_parse_l2(ci_layout *L, uint64_t l2, uint64_t l1_index)
{
    uint64_t n = L->cs / 8;
    ci_push(&L->l2_tables, l2);
    for (uint64_t j = 0; j < n; j++) {
        uint64_t e = ci_get(L->buf + l2 + j * 8, 8);
        if (!e)
            continue;
        ci_push(&L->l2_used, l2 + j * 8);
        ci_push(&L->mapped, ((l1_index * n) + j) << L->cluster_bits);
        if (e & CI_L12_OFFSET)
            ci_push(&L->data, e & CI_L12_OFFSET);
    }
}

static void ci_parse_refcounts(ci_layout *L)
{
    uint64_t per = UINT64_C(1) << L->rb_bits;
    for (uint64_t i = 0; i < L->rt_entries; i++) {
        uint64_t at = L->rt_off + i * 8, rb = ci_get(L->buf + at, 8);
        if (!rb)
            continue;
        CHECK(ci_inside(L, rb, L->cs));
        ci_push(&L->rt_used, at);
        ci_push(&L->refblocks, rb);
        for (uint64_t j = 0; j < per; j++)
            if (ci_get(L->buf + rb + j * 2, 2))
                ci_push(&L->rb_used, rb + j * 2);
    }
}

/* Parse an image the engine wrote (so valid: only sanity is checked). */
static void ci_parse(ci_layout *L)
{
    const uint8_t *b = L->buf;
    CHECK(L->len >= 512 && ci_get(b, 4) == 0x514649fb);
    L->version = (unsigned)ci_get(b + 4, 4);
    L->cluster_bits = (unsigned)ci_get(b + 20, 4);
    L->cs = UINT64_C(1) << L->cluster_bits;
    L->size = ci_get(b + 24, 8);
    L->l1_size = ci_get(b + 36, 4);
    L->l1_off = ci_get(b + 40, 8);
    L->rt_off = ci_get(b + 48, 8);
    L->rt_entries = ci_get(b + 56, 4) * L->cs / 8;
    unsigned order = L->version >= 3 ? (unsigned)ci_get(b + 96, 4) : 4;
    CHECK_EQ(order, 4); /* the fixtures use 16-bit refcounts */
    L->rb_bits = L->cluster_bits + 3 - order;
    uint64_t boff = ci_get(b + 8, 8), blen = ci_get(b + 16, 4);
    L->hdr_len = boff ? boff + blen : (L->version >= 3 ? 112 + 8 + 8 * 48 : 80);
    CHECK(ci_inside(L, L->l1_off, L->l1_size * 8));
    CHECK(ci_inside(L, L->rt_off, L->rt_entries * 8));
    for (uint64_t i = 0; i < L->l1_size; i++) {
        uint64_t l2 = ci_get(b + L->l1_off + i * 8, 8) & CI_L12_OFFSET;
        if (l2 && ci_inside(L, l2, L->cs))
            ci_parse_l2(L, l2, i);
    }
    ci_parse_refcounts(L);
}

/* @ of the refcount entry of host cluster c, or 0 when it has none. */
static uint64_t ci_refentry(const ci_layout *L, uint64_t c)
{
    uint64_t i = c >> L->rb_bits;
    if (i >= L->rt_entries)
        return 0;
    uint64_t rb = ci_get(L->buf + L->rt_off + i * 8, 8);
    return rb ? rb + (c & ((UINT64_C(1) << L->rb_bits) - 1)) * 2 : 0;
}

/* ---- fixtures: valid images written by the engine ---------------------- */

typedef struct ci_spec {
    unsigned cluster_bits, version;
    uint64_t size;
    unsigned writes;    /* data writes */
    uint64_t max_write; /* bytes per write, at most */
} ci_spec;

typedef struct ci_fixture {
    const char *name;
    ci_layout top, base; /* base.buf NULL: no backing file */
} ci_fixture;

/* The fixtures: each top spec, and the base spec of the chains. */
static const struct {
    const char *name;
    ci_spec top, base; /* base.size 0: none */
} ci_fixture_specs[] = {
    {"512B-v3", {9, 3, 1 * MiB, 64, 12 * KiB}, {0}},
    {"512B-v2", {9, 2, 1 * MiB, 64, 12 * KiB}, {0}},
    {"64K-v3", {16, 3, 1536 * MiB, 14, 192 * KiB}, {0}},
    {"64K-v2", {16, 2, 1536 * MiB, 14, 192 * KiB}, {0}},
    {"64K-v3-over-512B-v2", {16, 3, 1024 * MiB, 8, 96 * KiB},
     {9, 2, 1 * MiB, 40, 12 * KiB}},
    {"512B-v2-over-64K-v3", {9, 2, 2 * MiB, 40, 12 * KiB},
     {16, 3, 2 * MiB, 6, 96 * KiB}},
};
#define CI_NFIX (sizeof(ci_fixture_specs) / sizeof(ci_fixture_specs[0]))

typedef struct ci_ctx {
    ci_fixture fx[CI_NFIX];
    uint8_t *data, *rbuf; /* CI_BUF bytes each */
    unsigned long outcome[3];       /* refused, I/O failed, all ok */
    unsigned long by_target[8][3];  /* the same per corruption target */
    unsigned long err_count[160];   /* failing requests by errno */
    unsigned long refusals;         /* open refusals (reopens included) */
    unsigned long refusals_exact;   /* of which name the changed field */
    unsigned long requests, failures_reported;
    unsigned long readback_differs; /* writes that read back otherwise */
    bool verbose;
} ci_ctx;

/* Writes, write-zeroes and discards that leave data spread over the disk
 * (and zero clusters, allocated or not, in v3). */
static void ci_fill(sched *s, eng *e, const ci_spec *sp, const uint8_t *data,
                    prng *p)
{
    for (unsigned k = 0; k < sp->writes; k++) {
        uint64_t len = 1 + prng_below(p, sp->max_write);
        uint64_t off = prng_below(p, sp->size - len);
        CHECK_EQ(engsync_write(s, e, off, data, len), 0);
    }
    for (unsigned k = 0; k < 4; k++) {
        uint64_t len = 1 + prng_below(p, 8u << sp->cluster_bits);
        uint64_t off = prng_below(p, sp->size - len);
        int ret = k < 2 ? engsync_write_zeroes(s, e, off, len, k)
                        : engsync_discard(s, e, off, len);
        CHECK_EQ(ret, 0);
    }
}

/* Create, fill and close image `name` in set; copy its bytes into L. */
static void ci_build_image(sched *s, imgset *set, const char *name,
                           const ci_spec *sp, const char *backing,
                           const uint8_t *data, prng *p, ci_layout *L)
{
    host_backend *b = NULL;
    CHECK_EQ(imgset_add_memory(set, name, &b), 0);
    eng_file *f = imgset_file(set, b);
    eng_create_opts co = {.size = sp->size, .cluster_bits = sp->cluster_bits,
                          .version = sp->version, .backing = backing,
                          .backing_fmt = backing ? "qcow2" : NULL};
    eng_error err = {{0}};
    eng_open_opts oo = {0};
    imgset_open_opts(set, &oo);
    eng *e = NULL;
    int ret = engsync_create(s, f, &co, &err);
    if (ret == 0)
        ret = engsync_open(s, f, &oo, &e, &err);
    if (ret < 0) {
        fprintf(stderr, "fixture %s: %d %s\n", name, ret, err.msg);
        CHECK(!"fixture image could not be made");
        return;
    }
    ci_fill(s, e, sp, data, p);
    CHECK_EQ(engsync_close(s, e), 0);
    L->len = (size_t)host_size(b);
    L->buf = malloc(L->len);
    if (!L->buf || host_pread(b, 0, L->buf, L->len) < 0)
        abort();
    ci_parse(L);
}

static void ci_build_fixtures(ci_ctx *cx)
{
    prng p = prng_seeded(0xc0ffee);
    for (size_t i = 0; i < CI_BUF; i++)
        cx->data[i] = (uint8_t)(prng_next(&p) | 1); /* never all zero */
    for (size_t i = 0; i < CI_NFIX; i++) {
        sched *s = sched_create();
        imgset *set = imgset_create(s, NULL);
        ci_fixture *fx = &cx->fx[i];
        fx->name = ci_fixture_specs[i].name;
        const ci_spec *base = &ci_fixture_specs[i].base;
        if (base->size)
            ci_build_image(s, set, "base", base, NULL, cx->data, &p, &fx->base);
        ci_build_image(s, set, "top", &ci_fixture_specs[i].top,
                       base->size ? "base" : NULL, cx->data, &p, &fx->top);
        /* what the corruptions aim at exists: several L2 tables, and
         * several refcount blocks with 512 B clusters */
        CHECK(fx->top.l2_tables.n >= 2 && fx->top.data.n >= 4);
        CHECK(fx->top.cluster_bits > 9 || fx->top.refblocks.n >= 2);
        imgset_destroy(set);
        sched_destroy(s);
    }
}

/* ---- corruptions --------------------------------------------------------- */

typedef enum ci_target {
    CI_T_HEADER, CI_T_L1, CI_T_L2, CI_T_REFTABLE, CI_T_REFBLOCK, CI_T_FLIP,
    CI_T_TRUNCATE, CI_T_COUNT
} ci_target;

static const char *const ci_target_names[CI_T_COUNT] = {
    "header", "L1", "L2", "reftable", "refblock", "flips", "truncate",
};

/* One seed's run: the corrupted copy, what was done to it, the outcome. */
typedef struct ci_run {
    ci_ctx *cx;
    uint64_t seed;
    const ci_fixture *fx;
    prng p;
    ci_target first; /* the first corruption's target (for statistics) */
    char what[768];  /* human description of every change */
    const char *fields[4]; /* names of changed fields (NULL: anonymous) */
    uint64_t values[4];    /* and the values written */
    unsigned nchanges;
    bool io_failed;
    sched *s;
    imgset *set;
} ci_run;

/* Record one change: `label` for people, `match` (NULL: none) for the
 * check of open's message, which may name it or the value. */
static void ci_note(ci_run *r, const char *label, const char *match,
                    uint64_t at, uint64_t value, const char *kind)
{
    size_t used = strlen(r->what);
    snprintf(r->what + used, sizeof(r->what) - used,
             "%s%s@0x%llx := 0x%llx (%s)", used ? "; " : "", label,
             (unsigned long long)at, (unsigned long long)value, kind);
    if (r->nchanges < 4) {
        r->fields[r->nchanges] = match;
        r->values[r->nchanges] = value;
    }
    r->nchanges++;
}

typedef struct ci_hfield {
    const char *name;
    unsigned off, width, min_version;
} ci_hfield;

static const ci_hfield ci_hfields[] = {
    {"magic", 0, 4, 2}, {"version", 4, 4, 2},
    {"backing_file_offset", 8, 8, 2}, {"backing_file_size", 16, 4, 2},
    {"cluster_bits", 20, 4, 2}, {"size", 24, 8, 2},
    {"crypt_method", 32, 4, 2}, {"l1_size", 36, 4, 2},
    {"l1_table_offset", 40, 8, 2}, {"refcount_table_offset", 48, 8, 2},
    {"refcount_table_clusters", 56, 4, 2}, {"nb_snapshots", 60, 4, 2},
    {"snapshots_offset", 64, 8, 2}, {"incompatible_features", 72, 8, 3},
    {"compatible_features", 80, 8, 3}, {"autoclear_features", 88, 8, 3},
    {"refcount_order", 96, 4, 3}, {"header_length", 100, 4, 3},
    {"compression_type", 104, 1, 3},
};
#define CI_NHFIELDS (sizeof(ci_hfields) / sizeof(ci_hfields[0]))

static void ci_corrupt_header(ci_run *r, const ci_layout *L, uint8_t *buf,
                              size_t len)
{
    const ci_hfield *f;
    do
        f = &ci_hfields[prng_below(&r->p, CI_NHFIELDS)];
    while (f->min_version > L->version);
    uint64_t ones = f->width == 8 ? UINT64_MAX
                                  : (UINT64_C(1) << (8 * f->width)) - 1;
    uint64_t old = ci_get(buf + f->off, f->width), v;
    static const char *const kinds[] = {"zero", "all-ones", "huge",
        "plus one", "minus one", "misaligned", "random", "past EOF"};
    unsigned k = (unsigned)prng_below(&r->p, 8);
    switch (k) {
    case 0: v = 0; break;
    case 1: v = ones; break;
    case 2: v = (ones >> 1) + 1 + prng_below(&r->p, 4) * L->cs; break;
    case 3: v = old + 1; break;
    case 4: v = old - 1; break;
    case 5: v = old + L->cs / 2; break;
    case 6: v = prng_next(&r->p); break;
    default: v = ci_align_up(len, L->cs) + prng_below(&r->p, 4) * L->cs; break;
    }
    v &= ones;
    ci_put(buf + f->off, f->width, v);
    ci_note(r, f->name, f->name, f->off, v, kinds[k]);
}

/* A hostile value for an L1, L2 or refcount table entry `old`. */
static uint64_t ci_entry_value(ci_run *r, const ci_layout *L, size_t len,
                               ci_target t, uint64_t old, const char **kind)
{
    uint64_t omask = t == CI_T_REFTABLE ? CI_RT_OFFSET : CI_L12_OFFSET;
    uint64_t rmask = t == CI_T_L1 ? CI_L1_RESERVED
                   : t == CI_T_L2 ? CI_L2_RESERVED : CI_RT_RESERVED;
    uint64_t flags = t == CI_T_REFTABLE ? 0 : CI_COPIED;
    const ci_vec *same = t == CI_T_L2 ? &L->data
                       : t == CI_T_L1 ? &L->l2_tables : &L->refblocks;
    unsigned bit;
    switch (prng_below(&r->p, 14)) {
    case 0: *kind = "zero"; return 0;
    case 1: *kind = "misaligned"; return old + L->cs / 2;
    case 2: *kind = "past EOF";
        return flags | (ci_align_up(len, L->cs) +
                        L->cs * (1 + prng_below(&r->p, 64)));
    case 3: *kind = "far past EOF"; return flags | (omask & ~(L->cs - 1));
    case 4: *kind = "at the header"; return flags;
    case 5: *kind = "at the L1 table"; return flags | L->l1_off;
    case 6: *kind = "at the refcount table"; return flags | L->rt_off;
    case 7: *kind = "at other metadata";
        return flags | ci_pick(&r->p, prng_chance(&r->p, 1, 2) ? &L->refblocks
                                                               : &L->l2_tables);
    case 8: *kind = "reserved bit";
        do
            bit = (unsigned)prng_below(&r->p, 64);
        while (!(rmask >> bit & 1));
        return old | UINT64_C(1) << bit;
    case 9: *kind = "compressed bit"; return old | CI_COMPRESSED;
    case 10: *kind = L->version == 2 ? "zero flag on v2" : "zero flag";
        return old | 1;
    case 11: *kind = "OFLAG_COPIED flipped"; return old ^ CI_COPIED;
    case 12: *kind = "random"; return prng_next(&r->p);
    default: *kind = "duplicate"; return flags | ci_pick(&r->p, same);
    }
}

/* @ of an L1, L2 or refcount table entry to corrupt: mostly one in use. */
static uint64_t ci_entry_at(ci_run *r, const ci_layout *L, ci_target t)
{
    bool any = prng_chance(&r->p, 1, 4);
    switch (t) {
    case CI_T_L1:
        return L->l1_off + 8 * prng_below(&r->p, L->l1_size ? L->l1_size : 1);
    case CI_T_L2:
        if (any || !L->l2_used.n)
            return ci_pick(&r->p, &L->l2_tables) +
                   8 * prng_below(&r->p, L->cs / 8);
        return ci_pick(&r->p, &L->l2_used);
    default:
        if (any || !L->rt_used.n)
            return L->rt_off + 8 * prng_below(&r->p, L->rt_entries);
        return ci_pick(&r->p, &L->rt_used);
    }
}

static void ci_corrupt_entry(ci_run *r, const ci_layout *L, uint8_t *buf,
                             size_t len, ci_target t)
{
    uint64_t at = ci_entry_at(r, L, t);
    if (at + 8 > len || (t == CI_T_L2 && !L->l2_tables.n))
        at = L->l1_off, t = CI_T_L1; /* no L2 table: hit L1 instead */
    const char *kind;
    uint64_t v = ci_entry_value(r, L, len, t, ci_get(buf + at, 8), &kind);
    ci_put(buf + at, 8, v);
    static const char *const labels[] = {"", "L1 entry", "L2 entry",
                                         "refcount table entry"};
    ci_note(r, labels[t], t == CI_T_REFTABLE ? "refcount" : ci_target_names[t],
            at, v, kind);
}

static void ci_corrupt_refblock(ci_run *r, const ci_layout *L, uint8_t *buf)
{
    /* a third of the time: the count of metadata, or of a cluster past
     * the end of the file */
    uint64_t meta[] = {0, L->l1_off, L->rt_off,
                       ci_pick(&r->p, &L->l2_tables),
                       ci_pick(&r->p, &L->refblocks),
                       ci_align_up(L->len, L->cs)};
    uint64_t at = 0;
    if (prng_chance(&r->p, 1, 3))
        at = ci_refentry(L, meta[prng_below(&r->p, 6)] >> L->cluster_bits);
    if (!at)
        at = ci_pick(&r->p, &L->rb_used);
    uint64_t old = ci_get(buf + at, 2), v;
    static const char *const kinds[] = {"zero", "0xffff", "plus one",
                                        "minus one", "random"};
    unsigned k = (unsigned)prng_below(&r->p, 5);
    uint64_t vals[] = {0, 0xffff, old + 1, old - 1, prng_next(&r->p)};
    v = vals[k] & 0xffff;
    ci_put(buf + at, 2, v);
    ci_note(r, "refcount block entry", "refcount", at, v, kinds[k]);
}

/* Flip one to four bytes in metadata (or anywhere, sometimes). */
static void ci_corrupt_flips(ci_run *r, const ci_layout *L, uint8_t *buf,
                             size_t len)
{
    unsigned n = 1 + (unsigned)prng_below(&r->p, 4);
    for (unsigned i = 0; i < n; i++) {
        uint64_t start = 0, span = L->hdr_len;
        switch (prng_below(&r->p, 6)) {
        case 0: break;
        case 1: start = L->l1_off; span = L->l1_size * 8; break;
        case 2: start = ci_pick(&r->p, &L->l2_tables); span = L->cs; break;
        case 3: start = L->rt_off; span = L->rt_used.n * 8; break;
        case 4: start = ci_pick(&r->p, &L->refblocks); span = L->cs; break;
        default: span = len; break;
        }
        if (!span || start >= len)
            continue;
        span = span < len - start ? span : len - start;
        uint64_t at = start + prng_below(&r->p, span);
        uint8_t v = prng_chance(&r->p, 1, 2)
                        ? (uint8_t)(buf[at] ^ (1u << prng_below(&r->p, 8)))
                        : (uint8_t)prng_next(&r->p);
        buf[at] = v;
        ci_note(r, "byte", NULL, at, v, "flip");
    }
}

static void ci_corrupt_truncate(ci_run *r, const ci_layout *L, size_t *len)
{
    uint64_t n = prng_below(&r->p, *len);
    if (prng_chance(&r->p, 1, 2))
        n &= ~(L->cs - 1);
    *len = (size_t)n;
    ci_note(r, "file length", NULL, 0, n, "truncated");
}

static void ci_corrupt_one(ci_run *r, const ci_layout *L, uint8_t *buf,
                           size_t *len)
{
    static const unsigned weights[CI_T_COUNT] = {6, 3, 5, 3, 4, 3, 1};
    unsigned total = 0, pick;
    for (int t = 0; t < CI_T_COUNT; t++)
        total += weights[t];
    pick = (unsigned)prng_below(&r->p, total);
    ci_target t = CI_T_HEADER;
    while (pick >= weights[t])
        pick -= weights[t++];
    if (r->nchanges == 0)
        r->first = t;
    switch (t) {
    case CI_T_HEADER: ci_corrupt_header(r, L, buf, *len); break;
    case CI_T_REFBLOCK: ci_corrupt_refblock(r, L, buf); break;
    case CI_T_FLIP: ci_corrupt_flips(r, L, buf, *len); break;
    case CI_T_TRUNCATE: ci_corrupt_truncate(r, L, len); break;
    default: ci_corrupt_entry(r, L, buf, *len, t); break;
    }
}

/* ---- one seed ---------------------------------------------------------- */

/* Report a broken promise of the engine for this seed. */
static void ci_fail(ci_run *r, const char *what, long detail)
{
    unit_failures++;
    if (r->cx->failures_reported++ >= 30)
        return;
    fprintf(stderr, "seed %llu (%s; %s): %s (%ld)\n",
            (unsigned long long)r->seed, r->fx->name, r->what, what, detail);
}

/* Give the next engine call its own step budget: past it, engsync returns
 * -EDEADLK instead of hanging. */
static void ci_budget(ci_run *r)
{
    sched_set_budget(r->s, sched_steps(r->s) + CI_CALL_BUDGET);
}

/* Judge one request's result; true when the run may go on. */
static bool ci_ret(ci_run *r, const char *op, int ret)
{
    r->cx->requests++;
    if (ret == -EDEADLK) {
        char desc[2048];
        sched_describe(r->s, desc, sizeof(desc));
        ci_fail(r, op, ret);
        fprintf(stderr, "  %s returned -EDEADLK (hang); scheduler: %s\n", op,
                desc);
        return false;
    }
    if (ret > 0 || ret < -4095) {
        ci_fail(r, "result is not 0 or a negative errno", ret);
        return true;
    }
    if (ret < 0) {
        r->io_failed = true;
        r->cx->err_count[-ret < 160 ? -ret : 0]++;
    }
    return true;
}

/* The message of an open refusal: non-empty, and it names a qcow2 field
 * or structure, or the value written into a changed field. Sets *exact
 * when it names the changed field or its value. */
static bool ci_msg_ok(const ci_run *r, const char *msg, bool *exact)
{
    static const char *const words[] = {"L1", "L2", "refcount", "header",
        "feature", "backing", "encrypt", "snapshot", "cluster", "compress",
        "extension", "version", "magic"};
    *exact = false;
    if (!msg[0])
        return false;
    for (unsigned i = 0; i < r->nchanges && i < 4; i++) {
        char dec[32], hex[32];
        snprintf(dec, sizeof(dec), "%llu", (unsigned long long)r->values[i]);
        snprintf(hex, sizeof(hex), "%llx", (unsigned long long)r->values[i]);
        if ((r->fields[i] && strcasestr(msg, r->fields[i])) ||
            (r->values[i] > 9 && (strstr(msg, dec) || strcasestr(msg, hex))))
            *exact = true;
    }
    for (size_t i = 0; i < CI_NHFIELDS; i++)
        if (strstr(msg, ci_hfields[i].name))
            return true;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasestr(msg, words[i]))
            return true;
    return *exact;
}

/* A guest offset to hit: often a cluster the pristine image maps. */
static uint64_t ci_guest_off(ci_run *r, uint64_t vsize)
{
    uint64_t off = prng_below(&r->p, vsize);
    const ci_vec *m = prng_chance(&r->p, 1, 2) ? &r->fx->top.mapped
                                               : &r->fx->base.mapped;
    if (m->n && prng_chance(&r->p, 2, 3))
        off = ci_pick(&r->p, m) + prng_below(&r->p, 4096);
    return off < vsize ? off : vsize - 1;
}

static bool ci_read(ci_run *r, eng *e, uint64_t off, uint64_t len,
                    uint64_t vsize)
{
    if (off >= vsize)
        return true;
    if (len > vsize - off)
        len = vsize - off;
    for (uint64_t done = 0; done < len; done += CI_BUF) {
        uint64_t n = len - done < CI_BUF ? len - done : CI_BUF;
        ci_budget(r);
        int ret = engsync_read(r->s, e, off + done, r->cx->rbuf, n);
        if (!ci_ret(r, "read", ret))
            return false;
    }
    return true;
}

/* Read the whole disk when small; else every cluster either layer of the
 * pristine image maps, the start of each of the first L2 ranges and the
 * end of the disk. */
static bool ci_read_disk(ci_run *r, eng *e, uint64_t vsize)
{
    if (vsize <= CI_WHOLE_DISK)
        return ci_read(r, e, 0, vsize, vsize);
    const ci_layout *ls[2] = {&r->fx->top, &r->fx->base};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < ls[k]->mapped.n; i++)
            if (!ci_read(r, e, ls[k]->mapped.v[i], ls[k]->cs, vsize))
                return false;
    uint64_t l2_range = r->fx->top.cs / 8 * r->fx->top.cs;
    for (uint64_t i = 0; i < 64 && i * l2_range < vsize; i++)
        if (!ci_read(r, e, i * l2_range, 4096, vsize))
            return false;
    return ci_read(r, e, vsize - (vsize < 65536 ? vsize : 65536), 65536, vsize);
}

/* Read a written range back at once. Counted, not asserted: with a
 * refcount lowered to 0, an engine may hand out a cluster still mapped by
 * another part of the same write (QEMU would too), so the data can differ
 * without any bug. The count goes into the statistics. */
static bool ci_read_back(ci_run *r, eng *e, uint64_t off, uint64_t len)
{
    ci_budget(r);
    int ret = engsync_read(r->s, e, off, r->cx->rbuf, len);
    if (!ci_ret(r, "read back", ret))
        return false;
    if (ret == 0 && memcmp(r->cx->rbuf, r->cx->data, len) != 0) {
        r->cx->readback_differs++;
        if (r->cx->verbose)
            printf("(write at %llu reads back other data) ",
                   (unsigned long long)off);
    }
    return true;
}

/* Close e after I/O that went well (ok), else free it without I/O: a
 * request may still be suspended. True when it closed without error. */
static bool ci_close(ci_run *r, eng *e, bool ok)
{
    if (!ok) {
        eng_destroy(e);
        return false;
    }
    ci_budget(r);
    int ret = engsync_close(r->s, e);
    return ci_ret(r, "close", ret) && ret == 0;
}

/* Guest I/O on an opened hostile image, then close; true when every step
 * up to the close returned (errors included) and the close succeeded. */
static bool ci_io(ci_run *r, eng *e)
{
    eng_info info;
    eng_get_info(e, &info);
    uint64_t vs = info.virtual_size;
    bool ok = ci_read_disk(r, e, vs);
    for (unsigned k = 0; ok && vs && k < 8; k++) {
        uint64_t off = ci_guest_off(r, vs);
        uint64_t len = 1 + prng_below(&r->p, 3 * r->fx->top.cs + 700);
        len = len < CI_BUF ? len : CI_BUF;
        len = len < vs - off ? len : vs - off;
        int ret;
        ci_budget(r);
        if (k < 4)
            ret = engsync_write(r->s, e, off, r->cx->data, len);
        else if (k < 6)
            ret = engsync_write_zeroes(r->s, e, off, len,
                                       k == 5 ? ENG_ZERO_MAY_UNMAP : 0);
        else
            ret = engsync_discard(r->s, e, off, len);
        ok = ci_ret(r, k < 4 ? "write" : k < 6 ? "zeroes" : "discard", ret);
        if (ok && ret == 0 && k < 4)
            ok = ci_read_back(r, e, off, len);
    }
    if (ok) {
        ci_budget(r);
        ok = ci_ret(r, "flush", engsync_flush(r->s, e));
    }
    for (unsigned k = 0; ok && vs && k < 4; k++)
        ok = ci_read(r, e, ci_guest_off(r, vs), 2 * r->fx->top.cs, vs);
    return ci_close(r, e, ok);
}

/* Open the top image; a refusal must explain itself. */
static int ci_open(ci_run *r, host_backend *top, const eng_open_opts *oo,
                   eng **e, eng_error *err)
{
    ci_budget(r);
    int ret = engsync_open(r->s, imgset_file(r->set, top), oo, e, err);
    if (!ci_ret(r, "open", ret) || ret == 0)
        return ret;
    bool exact;
    r->cx->refusals++;
    if (!ci_msg_ok(r, err->msg, &exact))
        ci_fail(r, "open refusal without a message naming a field", ret);
    r->cx->refusals_exact += exact;
    return ret;
}

/* The engine wrote to the hostile image and closed it: open it again and
 * read the disk once more. */
static void ci_reopen(ci_run *r, host_backend *top, const eng_open_opts *oo)
{
    eng *e = NULL;
    eng_error err = {{0}};
    if (ci_open(r, top, oo, &e, &err) < 0)
        return;
    eng_info info;
    eng_get_info(e, &info);
    ci_close(r, e, ci_read_disk(r, e, info.virtual_size));
}

/* Put a corrupted copy of layout L into the set as image `name`. */
static host_backend *ci_add_copy(ci_run *r, imgset *set, const char *name,
                                 const ci_layout *L, bool corrupt)
{
    size_t len = L->len;
    uint8_t *buf = malloc(len);
    host_backend *b = NULL;
    if (!buf || imgset_add_memory(set, name, &b) < 0)
        abort();
    memcpy(buf, L->buf, len);
    if (corrupt) {
        uint64_t n = prng_chance(&r->p, 1, 4) ? 2 + prng_below(&r->p, 2) : 1;
        for (uint64_t i = 0; i < n; i++)
            ci_corrupt_one(r, L, buf, &len);
    }
    if ((len && host_pwrite(b, 0, buf, len) < 0) || host_flush(b) < 0)
        abort();
    free(buf);
    return b;
}

static void ci_seed(ci_ctx *cx, uint64_t seed)
{
    prng mix = prng_seeded(seed); /* neighbouring seeds: unrelated runs */
    ci_run r = {.cx = cx, .seed = seed, .fx = &cx->fx[seed % CI_NFIX],
                .p = prng_seeded(prng_next(&mix))};
    r.s = sched_create();
    imgset *set = r.set = imgset_create(r.s, NULL);
    if (!r.s || !set)
        abort();
    bool chain = r.fx->base.buf != NULL;
    bool hit_base = chain && prng_chance(&r.p, 1, 4);
    if (chain)
        ci_add_copy(&r, set, "base", &r.fx->base, hit_base);
    host_backend *top = ci_add_copy(&r, set, "top", &r.fx->top, !hit_base);
    eng_open_opts oo = {0};
    imgset_open_opts(set, &oo);
    if (prng_chance(&r.p, 1, 2)) { /* small caches: eviction paths */
        oo.l2_cache_tables = 2;
        oo.refblock_cache_blocks = 2;
    }
    eng_error err = {{0}};
    eng *e = NULL;
    if (cx->verbose) {
        printf("seed %llu %s [%s]: ", (unsigned long long)seed, r.fx->name,
               r.what);
        fflush(stdout);
    }
    int outcome = 0;
    if (ci_open(&r, top, &oo, &e, &err) == 0) {
        if (ci_io(&r, e))
            ci_reopen(&r, top, &oo);
        outcome = r.io_failed ? 1 : 2;
    }
    cx->outcome[outcome]++;
    cx->by_target[r.first][outcome]++;
    if (cx->verbose)
        printf("%s%s\n", outcome == 0 ? "refused: " : outcome == 1
                                      ? "I/O failed" : "ok",
               outcome == 0 ? err.msg : "");
    imgset_destroy(set);
    sched_destroy(r.s);
}

/* ---- the test ---------------------------------------------------------- */

static uint64_t ci_env(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static void ci_print_stats(const ci_ctx *cx, uint64_t n)
{
    printf("%llu hostile images: refused at open %lu, opened and I/O failed "
           "%lu, opened and all I/O ok %lu (%lu requests)\n",
           (unsigned long long)n, cx->outcome[0], cx->outcome[1],
           cx->outcome[2], cx->requests);
    for (int t = 0; t < CI_T_COUNT; t++)
        printf("  first corruption %-9s refused %4lu  I/O failed %4lu  ok "
               "%4lu\n", ci_target_names[t], cx->by_target[t][0],
               cx->by_target[t][1], cx->by_target[t][2]);
    printf("  open refusals naming the changed field or its value: %lu of "
           "%lu\n", cx->refusals_exact, cx->refusals);
    printf("  successful writes that read back other data: %lu\n",
           cx->readback_differs);
    printf("  failing requests by errno:");
    for (int i = 0; i < 160; i++)
        if (cx->err_count[i])
            printf(" %s=%lu", i ? strerrorname_np(i) : "other",
                   cx->err_count[i]);
    printf("\n");
}

static void test_hostile_images(void)
{
    ci_ctx *cx = calloc(1, sizeof(*cx));
    if (!cx)
        abort();
    cx->data = malloc(CI_BUF);
    cx->rbuf = malloc(CI_BUF);
    if (!cx->data || !cx->rbuf)
        abort();
    cx->verbose = ci_env("COWPOKE_CORRUPT_VERBOSE", 0) != 0;
    uint64_t first = ci_env("COWPOKE_CORRUPT_FIRST", 0);
    uint64_t n = ci_env("COWPOKE_CORRUPT_SEEDS", 3000);
    int before = unit_failures;
    ci_build_fixtures(cx);
    if (unit_failures == before) {
        for (uint64_t i = 0; i < n; i++) {
            ci_seed(cx, first + i);
            if ((i + 1) % 500 == 0 && !cx->verbose)
                fprintf(stderr, "  seeds %llu..%llu done\n",
                        (unsigned long long)(first + i - 499),
                        (unsigned long long)(first + i));
        }
        ci_print_stats(cx, n);
        if (n >= 200) { /* the test is not vacuous */
            CHECK(cx->outcome[0] > 0);
            CHECK(cx->outcome[1] > 0);
            CHECK(cx->outcome[2] > 0);
        }
    }
    for (size_t i = 0; i < CI_NFIX; i++) {
        ci_layout_free(&cx->fx[i].top);
        ci_layout_free(&cx->fx[i].base);
    }
    free(cx->data);
    free(cx->rbuf);
    free(cx);
    coro_pool_drain();
}

static const unit_test tests[] = {
    UNIT(test_hostile_images),
};

UNIT_MAIN(tests)
