/*
 * trace_encode.c - script -> bytes (trace_codec.h), the inverse of the
 * decoder on its fragment.
 *
 * The bytes start with 0xff (no set-up) and the number of operations the
 * set-up by hand may take beyond max_cmds; then, command by command, the
 * encoder writes operations in their literal forms (exact operands). It
 * does not re-implement the decoder's rules: for each position it tries a
 * few candidate operations (the command itself; a later command whose
 * repairs the decoder writes first, such as the aio_flush before a close or
 * the expect_error before a request past the end; a breakpoint with its
 * trigger; an injected fault with its trigger; a sweep, punch or overlap
 * the decoder expands), decodes the bytes so far plus the candidate, and
 * keeps the candidate that reproduces the most commands exactly. A script
 * whose next command no candidate reproduces is outside the fragment:
 * -ENOTSUP, naming the command.
 *
 * Cost: every candidate decodes the whole prefix again; scripts are tens
 * of commands, so this stays far below a millisecond per command.
 * Ownership: the byte string is the caller's (free).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

#define OFF_LITERAL 7
#define LEN_LITERAL 5
#define SIZE_LITERAL 3
#define TRUNC_LITERAL 6
#define HOST_LITERAL 5
#define STRIDE_LITERAL (3u << 2)

static const char alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/* ---- one command in literal form ----------------------------------------- */

static void lit_range(trace_wr *w, uint64_t off, uint64_t len)
{
    trace_wr_u8(w, OFF_LITERAL);
    trace_wr_varint(w, off);
    trace_wr_u8(w, LEN_LITERAL);
    trace_wr_varint(w, len);
}

static bool lit_write(trace_wr *w, const script_io *io)
{
    unsigned f = io->flags, b;
    if (f & ~(SCRIPT_F_PATTERN | SCRIPT_F_ZERO | SCRIPT_F_UNMAP | SCRIPT_F_FUA |
              SCRIPT_F_QUIET))
        return false;
    b = f & SCRIPT_F_ZERO ? (f & SCRIPT_F_UNMAP ? 6 : 4)
                          : (f & SCRIPT_F_PATTERN ? 1 : 0);
    b |= (f & SCRIPT_F_FUA ? 0x18 : 0) | (f & SCRIPT_F_QUIET ? 0x20 : 0);
    trace_wr_u8(w, (uint8_t)b);
    if (f & SCRIPT_F_PATTERN)
        trace_wr_u8(w, io->pattern);
    lit_range(w, io->off, io->len);
    return true;
}

static void lit_read(trace_wr *w, const script_io *io)
{
    unsigned f = io->flags;
    trace_wr_u8(w, (uint8_t)((f & SCRIPT_F_PATTERN ? 3 : 0) |
                             (f & SCRIPT_F_PAT_OFF ? 4 : 0) |
                             (f & SCRIPT_F_PAT_LEN ? 8 : 0) |
                             (f & SCRIPT_F_QUIET ? 16 : 0) |
                             (f & SCRIPT_F_VERBOSE ? 32 : 0)));
    if (f & SCRIPT_F_PATTERN)
        trace_wr_u8(w, io->pattern);
    if (f & SCRIPT_F_PAT_OFF)
        trace_wr_varint(w, io->pat_off);
    if (f & SCRIPT_F_PAT_LEN)
        trace_wr_varint(w, io->pat_len);
    lit_range(w, io->off, io->len);
}

static bool lit_io(trace_wr *w, const script_cmd *c)
{
    switch (c->kind) {
    case SCRIPT_WRITE:
    case SCRIPT_AIO_WRITE:
        trace_wr_u8(w, c->kind == SCRIPT_WRITE ? TRACE_OP_WRITE
                                               : TRACE_OP_AIO_WRITE);
        return lit_write(w, &c->io);
    case SCRIPT_READ:
    case SCRIPT_AIO_READ:
        trace_wr_u8(w,
                    c->kind == SCRIPT_READ ? TRACE_OP_READ : TRACE_OP_AIO_READ);
        lit_read(w, &c->io);
        return true;
    case SCRIPT_DISCARD:
        trace_wr_u8(w, TRACE_OP_DISCARD);
        trace_wr_u8(w, c->io.flags & SCRIPT_F_QUIET ? 1 : 0);
        lit_range(w, c->io.off, c->io.len);
        return true;
    default:
        return false;
    }
}

/* A tag or an image name: one letter from `first`, or a literal string. */
static bool lit_name(trace_wr *w, const char *name, char first)
{
    size_t n = strlen(name);
    if (n == 1 && name[0] >= first && name[0] < first + 26) {
        trace_wr_u8(w, (uint8_t)(name[0] - first));
        return true;
    }
    if (n == 0 || n > SCRIPT_MAX_NAME)
        return false;
    trace_wr_u8(w, 0xff);
    trace_wr_u8(w, (uint8_t)(n - 1));
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(alphabet, name[i], sizeof(alphabet));
        if (!p)
            return false;
        trace_wr_u8(w, (uint8_t)(p - alphabet));
    }
    return true;
}

/* The index of `name` among the images named before command i. */
static int named_index(const script *s, size_t i, const char *name)
{
    int n = 0;
    for (size_t k = 0; k < i; k++) {
        const script_cmd *c = &s->cmds[k];
        if (c->kind != SCRIPT_IMAGE_CREATE || !c->create.name)
            continue;
        if (strcmp(c->create.name, name) == 0)
            return n;
        n++;
    }
    return -1;
}

static bool lit_image(trace_wr *w, const script *s, size_t i)
{
    const script_create *c = &s->cmds[i].create;
    int bi = c->backing ? named_index(s, i, c->backing) : -1;
    if (c->backing_fmt == SCRIPT_FMT_RAW ||
        (c->backing && (bi < 0 || bi > 255)))
        return false;
    trace_wr_u8(w, TRACE_OP_IMAGE);
    trace_wr_u8(w, (uint8_t)((c->name ? 1 : 0) | (c->backing ? 2 : 0) |
                             (c->cluster_size ? 4 : 0) | (c->version ? 8 : 0) |
                             (c->refcount_bits ? 16 : 0) |
                             (c->backing_fmt == SCRIPT_FMT_QCOW2 ? 32 : 0)));
    if (c->name && !lit_name(w, c->name, 'a'))
        return false;
    if (c->backing)
        trace_wr_u8(w, (uint8_t)bi);
    if (c->cluster_size)
        trace_wr_u8(w, (uint8_t)(__builtin_ctzll(c->cluster_size) - 9));
    if (c->version)
        trace_wr_u8(w, c->version == 2 ? 1 : 0);
    if (c->refcount_bits)
        trace_wr_u8(w, (uint8_t)__builtin_ctz(c->refcount_bits));
    trace_wr_u8(w, SIZE_LITERAL);
    trace_wr_varint(w, c->size);
    return true;
}

static bool lit_sched(trace_wr *w, const script_sched *sc)
{
    trace_wr_u8(w, TRACE_OP_SCHED);
    switch (sc->policy) {
    case SCRIPT_SCHED_FIFO:
        trace_wr_u8(w, 0);
        return true;
    case SCRIPT_SCHED_RANDOM:
        trace_wr_u8(w, 1);
        trace_wr_varint(w, sc->seed);
        return true;
    default:
        if (sc->tape_len < 1 || sc->tape_len > TRACE_TAPE_MAX)
            return false;
        trace_wr_u8(w, 3);
        trace_wr_u8(w, (uint8_t)(sc->tape_len - 1));
        trace_wr_bytes(w, sc->tape, sc->tape_len);
        return true;
    }
}

/* Commands that are one operation of their own. */
static bool lit_cmd(trace_wr *w, const script *s, size_t i)
{
    static const uint8_t simple[SCRIPT_KIND_COUNT] = {
        [SCRIPT_FLUSH] = TRACE_OP_FLUSH,
        [SCRIPT_AIO_FLUSH] = TRACE_OP_AIO_FLUSH,
        [SCRIPT_CLOSE] = TRACE_OP_CLOSE,
        [SCRIPT_REOPEN] = TRACE_OP_REOPEN,
        [SCRIPT_CHECK] = TRACE_OP_CHECK,
        [SCRIPT_RESUME_ERRORS] = TRACE_OP_RESUME_ERRORS};
    const script_cmd *c = &s->cmds[i];

    if (lit_io(w, c))
        return true;
    if (simple[c->kind]) {
        trace_wr_u8(w, simple[c->kind]);
        return true;
    }
    switch (c->kind) {
    case SCRIPT_TRUNCATE:
        trace_wr_u8(w, TRACE_OP_TRUNCATE);
        trace_wr_u8(w, TRUNC_LITERAL);
        trace_wr_varint(w, c->size);
        return true;
    case SCRIPT_RESUME:
    case SCRIPT_REMOVE_BREAK:
        trace_wr_u8(w, TRACE_OP_RESUME);
        trace_wr_u8(w, c->kind == SCRIPT_REMOVE_BREAK);
        return true;
    case SCRIPT_HOST_LIMIT:
    case SCRIPT_HOST_GROW:
        trace_wr_u8(w, TRACE_OP_HOST);
        trace_wr_u8(w, c->kind == SCRIPT_HOST_GROW);
        trace_wr_u8(w, HOST_LITERAL);
        trace_wr_varint(w, c->size);
        return true;
    case SCRIPT_POLICY:
        trace_wr_u8(w, TRACE_OP_POLICY);
        trace_wr_u8(w, c->werror == SCRIPT_WERROR_STOP);
        return true;
    case SCRIPT_CRASH:
        trace_wr_u8(w, TRACE_OP_CRASH);
        trace_wr_u8(w, c->crash.drop == SCRIPT_DROP_RANDOM);
        if (c->crash.drop == SCRIPT_DROP_RANDOM)
            trace_wr_varint(w, c->crash.seed);
        return true;
    case SCRIPT_SCHED:
        return lit_sched(w, &c->sched);
    case SCRIPT_IMAGE_CREATE:
        return lit_image(w, s, i);
    default:
        return false;
    }
}

/* ---- operations the decoder expands into several commands ---------------- */

/* break EVENT TAG; its aio trigger; wait_break TAG. */
static bool lit_break(trace_wr *w, const script *s, size_t i)
{
    const script_cmd *c = &s->cmds[i], *t = &s->cmds[i + 1];
    if (i + 2 >= s->ncmds ||
        (t->kind != SCRIPT_AIO_WRITE && t->kind != SCRIPT_AIO_READ))
        return false;
    trace_wr_u8(w, TRACE_OP_BREAK);
    trace_wr_u8(w, (uint8_t)c->bp.event);
    return lit_name(w, c->bp.tag, 'A') && lit_io(w, t);
}

/* inject TARGET errno=E once; expect_error E; its trigger. */
static bool lit_inject(trace_wr *w, const script *s, size_t i)
{
    const script_inject *in = &s->cmds[i].inject;
    size_t e = 0;
    while (e < trace_nerrnos && trace_errnos[e] != in->err)
        e++;
    if (i + 2 >= s->ncmds || !in->once || in->nth || in->has_range ||
        e == trace_nerrnos)
        return false;
    unsigned target = in->target == SCRIPT_INJ_EVENT   ? (unsigned)in->event
                      : in->target == SCRIPT_INJ_READ  ? TRACE_T_READ
                      : in->target == SCRIPT_INJ_WRITE ? TRACE_T_WRITE
                                                       : TRACE_T_FLUSH;
    trace_wr_u8(w, TRACE_OP_INJECT);
    trace_wr_u8(w, (uint8_t)target);
    trace_wr_u8(w, (uint8_t)e);
    const script_cmd *t = &s->cmds[i + 2];
    if (t->kind == SCRIPT_FLUSH) {
        trace_wr_u8(w, TRACE_OP_FLUSH);
        return true;
    }
    if (t->kind == SCRIPT_TRUNCATE) {
        trace_wr_u8(w, TRACE_OP_TRUNCATE);
        trace_wr_varint(w, t->size);
        return true;
    }
    return t->kind != SCRIPT_DISCARD && lit_io(w, t);
}

/* Commands the decoder may write on its own between the commands of one
 * operation (repairs, expected errors). */
static bool is_repair(script_kind k)
{
    return k == SCRIPT_EXPECT_ERROR || k == SCRIPT_AIO_FLUSH ||
           k == SCRIPT_HOST_LIMIT || k == SCRIPT_HOST_GROW ||
           k == SCRIPT_RESUME_ERRORS || k == SCRIPT_RESUME ||
           k == SCRIPT_REOPEN;
}

/* The first command from k on that is not a repair (ncmds: none). */
static size_t skip_repairs(const script *s, size_t k)
{
    while (k < s->ncmds && is_repair(s->cmds[k].kind))
        k++;
    return k;
}

/* The writes of a sweep from command i: same kind, a constant stride,
 * maybe aio_flush repairs between them. Their number (0: not a sweep). */
static size_t sweep_len(const script *s, size_t i)
{
    const script_cmd *a = &s->cmds[i];
    size_t n = 1, k = i + 1;
    uint64_t stride = 0;
    for (; k < s->ncmds && n < TRACE_SWEEP_MAX; k++) {
        const script_cmd *c = &s->cmds[k];
        if (is_repair(c->kind))
            continue; /* repairs and expectations the decoder adds */
        if (c->kind != a->kind || c->io.flags != a->io.flags ||
            c->io.pattern != a->io.pattern || c->io.off <= a->io.off)
            break;
        if (n == 1)
            stride = c->io.off - a->io.off;
        if (c->io.off != a->io.off + n * stride)
            break;
        n++;
    }
    return n >= 2 ? n : 0;
}

/* n writes at a constant stride: one sweep. */
static bool lit_sweep(trace_wr *w, const script *s, size_t i, size_t n,
                      unsigned len)
{
    const script_io *a = &s->cmds[i].io;
    script_kind k = s->cmds[i].kind;
    size_t j = skip_repairs(s, i + 1);
    if (n < 2 || j >= s->ncmds ||
        (k != SCRIPT_WRITE && k != SCRIPT_AIO_WRITE) ||
        (a->flags & ~SCRIPT_F_PATTERN) || a->len > len)
        return false;
    trace_wr_u8(w, TRACE_OP_SWEEP);
    trace_wr_u8(w, (uint8_t)((a->flags & SCRIPT_F_PATTERN ? 1 : 0) |
                             (k == SCRIPT_AIO_WRITE ? 2 : 0) | STRIDE_LITERAL));
    if (a->flags & SCRIPT_F_PATTERN)
        trace_wr_u8(w, a->pattern);
    trace_wr_u8(w, (uint8_t)(n - 1));
    trace_wr_varint(w, s->cmds[j].io.off - a->off);
    trace_wr_u8(w, OFF_LITERAL);
    trace_wr_varint(w, a->off);
    trace_wr_u8(w, (uint8_t)(len / 512 - 1));
    return true;
}

/* The avail_sectors layout: its first write names the cluster. */
static bool lit_punch(trace_wr *w, const script *s, size_t i, uint64_t cs)
{
    const script_io *a = &s->cmds[i].io;
    if (s->cmds[i].kind != SCRIPT_WRITE || !(a->flags & SCRIPT_F_PATTERN) ||
        a->off % cs || a->off / cs > 255)
        return false;
    trace_wr_u8(w, TRACE_OP_PUNCH);
    trace_wr_u8(w, (uint8_t)(a->off / cs));
    trace_wr_u8(w, a->pattern);
    return true;
}

/* n aio writes into one area, maybe an aio_read and an aio_flush after. */
static bool lit_overlap(trace_wr *w, const script *s, size_t i, size_t n,
                        unsigned f, uint64_t cs)
{
    uint64_t base = trace_dn(s->cmds[i].io.off, cs);
    bool seeded = !(s->cmds[i].io.flags & SCRIPT_F_PATTERN);
    trace_wr_u8(w, TRACE_OP_OVERLAP);
    trace_wr_u8(w, (uint8_t)(f | (seeded ? 4 : 0)));
    trace_wr_u8(w, (uint8_t)(n - 2));
    trace_wr_u8(w, OFF_LITERAL);
    trace_wr_varint(w, base);
    for (size_t k = 0, at = i; k < n; k++, at = skip_repairs(s, at + 1)) {
        const script_io *a = &s->cmds[at].io;
        if (at >= s->ncmds || s->cmds[at].kind != SCRIPT_AIO_WRITE ||
            a->off < base || (a->off - base) % 512 ||
            (a->off - base) / 512 > 255)
            return false;
        trace_wr_u8(w, (uint8_t)((a->off - base) / 512));
        trace_wr_u8(w, (uint8_t)((a->len + 511) / 512 - 1));
        trace_wr_u8(w, a->pattern);
    }
    return true;
}

/* ---- the search ---------------------------------------------------------- */

typedef struct enc {
    const script *s;
    trace_wr w;    /* accepted bytes */
    size_t done;   /* commands they reproduce */
    trace_end end; /* the decoder's state after them */
    trace_wr best; /* the best candidate so far */
    size_t best_done;
    int err;
} enc;

static bool cmd_same(const script_cmd *a, const script_cmd *b)
{
    script_cmd x = *a, y = *b;
    x.comments = y.comments = NULL;
    x.ncomments = y.ncomments = 0;
    x.trailing = y.trailing = NULL;
    return script_cmd_equal(&x, &y);
}

/* Decode the accepted bytes plus `more`; the commands it reproduces exactly
 * (0 when it goes wrong before them). */
static size_t enc_check(enc *e, const trace_wr *more, trace_end *end,
                        size_t *total)
{
    trace_wr all = {0};
    script *t = NULL;
    size_t ok = 0;

    trace_wr_bytes(&all, e->w.p, e->w.n);
    trace_wr_bytes(&all, more->p, more->n);
    if (all.oom || trace_decode_body(all.p, all.n, NULL, &t, end) < 0) {
        e->err = -ENOMEM;
        free(all.p);
        return 0;
    }
    while (ok < end->body && ok < e->s->ncmds &&
           cmd_same(&t->cmds[ok], &e->s->cmds[ok]))
        ok++;
    if (ok < end->body)
        ok = 0; /* it wrote something the script does not have */
    if (total)
        *total = t->ncmds;
    script_free(t);
    free(all.p);
    return ok;
}

/* Keep candidate c if it gets further than the best so far. */
static void enc_try(enc *e, trace_wr *c, bool built)
{
    trace_end end;
    size_t ok = built && !c->oom ? enc_check(e, c, &end, NULL) : 0;
    if (c->oom)
        e->err = -ENOMEM;
    if (ok > e->best_done) {
        free(e->best.p);
        e->best = *c;
        e->best_done = ok;
    } else {
        free(c->p);
    }
    *c = (trace_wr){0};
}

/* Does command i start what op_punch writes (repairs between)? */
static bool punch_shape(const script *s, size_t i)
{
    static const script_kind shape[7] = {
        SCRIPT_WRITE, SCRIPT_WRITE, SCRIPT_WRITE, SCRIPT_DISCARD,
        SCRIPT_WRITE, SCRIPT_READ,  SCRIPT_READ};
    for (size_t k = 0; k < 7; k++, i = skip_repairs(s, i + 1))
        if (i >= s->ncmds || s->cmds[i].kind != shape[k])
            return false;
    return true;
}

/* Candidates for the command at i + j (the decoder writing i .. i+j-1 as
 * its repairs). */
static void enc_candidates_at(enc *e, size_t at)
{
    const script *s = e->s;
    script_kind k = s->cmds[at].kind;
    trace_wr c = {0};

    enc_try(e, &c, lit_cmd(&c, s, at));
    if (k == SCRIPT_BREAK)
        enc_try(e, &c, lit_break(&c, s, at));
    if (k == SCRIPT_INJECT)
        enc_try(e, &c, lit_inject(&c, s, at));
    size_t n = sweep_len(s, at);
    for (unsigned len = 512; n && len <= 4096; len += 512)
        enc_try(e, &c, lit_sweep(&c, s, at, n, len));
    if (punch_shape(s, at))
        enc_try(e, &c, lit_punch(&c, s, at, e->end.cs));
    size_t next = skip_repairs(s, at + 1);
    if (k == SCRIPT_AIO_WRITE && next < s->ncmds &&
        s->cmds[next].kind == SCRIPT_AIO_WRITE)
        for (size_t m = 2; m <= 4; m++)
            for (unsigned f = 0; f < 4; f++)
                enc_try(e, &c, lit_overlap(&c, s, at, m, f, e->end.cs));
}

static void enc_candidates(enc *e)
{
    for (size_t j = 0; j < 4 && e->done + j < e->s->ncmds; j++)
        enc_candidates_at(e, e->done + j);
}

static int enc_fail(const enc *e, char *msg, size_t msglen)
{
    char text[256];
    const script_cmd *c = &e->s->cmds[e->done];
    script_cmd_format(c, text, sizeof(text));
    if (msg)
        snprintf(msg, msglen,
                 "command %zu (line %u) '%s' is outside the decoder's "
                 "fragment: %s",
                 e->done + 1, c->line, text,
                 c->kind == SCRIPT_IMAGE_OPEN || c->kind == SCRIPT_MUTANT
                     ? "the fuzzer makes its own images and sets no mutants"
                 : e->end.ops >= TRACE_DEFAULT_MAX_CMDS + TRACE_SETUP_EXTRA
                     ? "the script needs more operations than the decoder "
                       "takes"
                     : "the decoder would not write it there (its rules for "
                       "breakpoints, faults, expected errors, -P checks and "
                       "sizes are in harness/trace_legal.c)");
    return -ENOTSUP;
}

int trace_encode_msg(const script *s, uint8_t **out, size_t *len, char *msg,
                     size_t msglen)
{
    enc e = {.s = s};
    trace_wr none = {0};

    *out = NULL;
    *len = 0;
    trace_wr_u8(&e.w, TRACE_SETUP_NONE);
    trace_wr_u8(&e.w, TRACE_SETUP_EXTRA);
    enc_check(&e, &none, &e.end, NULL);
    while (e.done < s->ncmds && !e.err) {
        e.best_done = e.done;
        enc_candidates(&e);
        if (e.best_done == e.done)
            break;
        trace_wr_bytes(&e.w, e.best.p, e.best.n);
        free(e.best.p);
        e.best = (trace_wr){0};
        e.done = e.best_done;
        enc_check(&e, &none, &e.end, NULL);
    }
    trace_end end;
    size_t total = 0;
    size_t ok = e.err ? 0 : enc_check(&e, &none, &end, &total);
    if (e.err || e.w.oom) {
        free(e.w.p);
        return -ENOMEM;
    }
    if (e.done < s->ncmds || ok != s->ncmds || total != s->ncmds) {
        int r = e.done < s->ncmds ? enc_fail(&e, msg, msglen) : -ENOTSUP;
        if (e.done == s->ncmds && msg)
            snprintf(msg, msglen,
                     "the script ends in a state the decoder repairs (a "
                     "request held at a breakpoint or parked by "
                     "werror=stop)");
        free(e.w.p);
        return r;
    }
    *out = e.w.p;
    *len = e.w.n;
    return 0;
}

int trace_encode(const script *s, uint8_t **out, size_t *len)
{
    return trace_encode_msg(s, out, len, NULL, 0);
}
