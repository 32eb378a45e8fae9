/*
 * mix.c - seeded random request mixes checked against a flat reference
 * (see mix.h).
 *
 * A batch is generated first (disjoint ranges), then every request of it is
 * spawned, then the scheduler runs them all; only then are reads compared
 * and the reference updated. Buffers belong to the batch and are freed with
 * it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engsync.h"
#include "mix.h"
#include "prng.h"
#include "shadow.h"

#define MIX_BATCH_MAX 16

typedef enum mix_kind { MIX_READ, MIX_WRITE, MIX_ZERO, MIX_DISCARD, MIX_FLUSH } mix_kind;

typedef struct mix_req {
    mix_kind kind;
    uint64_t off, len;
    unsigned flags;
    uint8_t *buf;
    eng *e;
    int ret;
} mix_req;

static void mix_body(void *arg)
{
    mix_req *q = arg;
    switch (q->kind) {
    case MIX_READ: q->ret = eng_co_read(q->e, q->off, q->buf, q->len); break;
    case MIX_WRITE: q->ret = eng_co_write(q->e, q->off, q->buf, q->len); break;
    case MIX_ZERO: q->ret = eng_co_write_zeroes(q->e, q->off, q->len, q->flags); break;
    case MIX_DISCARD: q->ret = eng_co_discard(q->e, q->off, q->len); break;
    case MIX_FLUSH: q->ret = eng_co_flush(q->e); break;
    }
}

/* An offset biased to interesting places: cluster starts, sector starts,
 * and a hot area of a few clusters where requests collide. */
static uint64_t mix_offset(prng *p, uint64_t size, uint64_t cs)
{
    uint64_t area = size;
    if (prng_chance(p, 1, 2) && size > 8 * cs)
        area = 8 * cs;
    uint64_t off = prng_below(p, area);
    switch (prng_below(p, 4)) {
    case 0: return off - off % cs;
    case 1: return off - off % 512;
    case 2: return off - off % cs + cs / 2;
    default: return off;
    }
}

static uint64_t mix_length(prng *p, uint64_t cs)
{
    switch (prng_below(p, 6)) {
    case 0: return 1 + prng_below(p, 512);
    case 1: return cs;
    case 2: return cs - 512 + prng_below(p, 1025);
    case 3: return (1 + prng_below(p, 3)) * cs + prng_below(p, cs);
    case 4: return 512 * (1 + prng_below(p, 16));
    default: return 1 + prng_below(p, 2 * cs);
    }
}

static bool mix_overlaps(const mix_req *b, unsigned n, uint64_t off, uint64_t len)
{
    for (unsigned i = 0; i < n; i++)
        if (b[i].kind != MIX_FLUSH && off < b[i].off + b[i].len &&
            b[i].off < off + len)
            return true;
    return false;
}

static mix_kind mix_pick_kind(prng *p, const mix_opts *o)
{
    unsigned r = prng_below(p, 100);
    if (r < 35)
        return MIX_READ;
    if (r < 75)
        return MIX_WRITE;
    if (r < 85)
        return o->no_zeroes ? MIX_WRITE : MIX_ZERO;
    if (r < 95)
        return o->no_discard ? MIX_WRITE : MIX_DISCARD;
    return MIX_FLUSH;
}

/* Fill one request; false when no disjoint range was found. */
static bool mix_gen(prng *p, const mix_opts *o, mix_req *b, unsigned n,
                    uint64_t size, uint64_t cs, mix_req *q)
{
    q->kind = mix_pick_kind(p, o);
    if (q->kind == MIX_FLUSH)
        return true;
    for (int tries = 0; tries < 8; tries++) {
        uint64_t off = mix_offset(p, size, cs) % size;
        uint64_t len = mix_length(p, cs);
        if (len > size - off)
            len = size - off;
        if (!mix_overlaps(b, n, off, len)) {
            q->off = off;
            q->len = len;
            q->flags = prng_chance(p, 1, 2) ? ENG_ZERO_MAY_UNMAP : 0;
            return true;
        }
    }
    return false;
}

static int mix_alloc_buf(prng *p, mix_req *q)
{
    if (q->kind != MIX_READ && q->kind != MIX_WRITE)
        return 0;
    q->buf = malloc(q->len ? q->len : 1);
    if (!q->buf)
        return -ENOMEM;
    if (q->kind == MIX_WRITE)
        for (uint64_t i = 0; i < q->len; i++)
            q->buf[i] = (uint8_t)prng_next(p);
    return 0;
}

static bool mix_compare(const uint8_t *want, const uint8_t *got, uint64_t off,
                        uint64_t len, mix_result *r)
{
    if (memcmp(want, got, len) == 0)
        return true;
    uint64_t i = 0;
    while (want[i] == got[i])
        i++;
    r->mismatch = true;
    r->bad_off = off + i;
    r->expected = want[i];
    r->actual = got[i];
    snprintf(r->msg, sizeof(r->msg),
             "read mismatch at guest offset 0x%llx: expected 0x%02x, got 0x%02x",
             (unsigned long long)(off + i), want[i], got[i]);
    return false;
}

/* Apply a finished request to the reference (or check a read against it). */
static bool mix_apply(const mix_req *q, const mix_opts *o, uint8_t *ref,
                      uint64_t size, uint64_t cs, mix_result *r)
{
    switch (q->kind) {
    case MIX_READ:
        r->reads++;
        return mix_compare(ref + q->off, q->buf, q->off, q->len, r);
    case MIX_WRITE:
        r->writes++;
        memcpy(ref + q->off, q->buf, q->len);
        break;
    case MIX_ZERO:
        r->zeroes++;
        memset(ref + q->off, 0, q->len);
        break;
    case MIX_DISCARD: {
        r->discards++;
        uint64_t zoff, zlen = shadow_discard_zeroed(o->version, o->has_backing,
                                                    size, (uint32_t)cs, q->off,
                                                    q->len, &zoff);
        memset(ref + zoff, 0, zlen);
        break;
    }
    case MIX_FLUSH:
        r->flushes++;
        break;
    }
    r->bytes += q->len;
    return true;
}

static int mix_batch(sched *s, eng *e, uint8_t *ref, uint64_t size,
                     uint64_t cs, const mix_opts *o, prng *p, mix_result *r)
{
    mix_req b[MIX_BATCH_MAX];
    unsigned want = 1 + (unsigned)prng_below(p, o->max_batch);
    unsigned n = 0;
    int ret = 0;

    while (n < want && mix_gen(p, o, b, n, size, cs, &b[n])) {
        b[n].e = e;
        b[n].buf = NULL;
        if ((ret = mix_alloc_buf(p, &b[n])) < 0)
            goto out;
        n++;
    }
    for (unsigned i = 0; i < n; i++)
        sched_spawn(s, mix_body, &b[i], "mix");
    if (sched_run_all(s) != SCHED_IDLE) {
        snprintf(r->msg, sizeof(r->msg), "scheduler did not drain the batch");
        ret = -EDEADLK;
        goto out;
    }
    r->batches++;
    for (unsigned i = 0; i < n && ret == 0; i++) {
        if (b[i].ret < 0) {
            snprintf(r->msg, sizeof(r->msg), "request failed: %s",
                     strerror(-b[i].ret));
            ret = r->error = b[i].ret;
        } else if (!mix_apply(&b[i], o, ref, size, cs, r)) {
            ret = -EIO;
        }
    }
out:
    for (unsigned i = 0; i < n; i++)
        free(b[i].buf);
    return ret;
}

int mix_run(sched *s, eng *e, uint8_t *ref, uint64_t size,
            uint64_t cluster_size, const mix_opts *o, mix_result *r)
{
    memset(r, 0, sizeof(*r));
    mix_opts opts = *o;
    if (opts.max_batch == 0)
        opts.max_batch = 1;
    if (opts.max_batch > MIX_BATCH_MAX)
        opts.max_batch = MIX_BATCH_MAX;
    prng p = prng_seeded(o->seed);
    uint64_t done = 0;
    while (done < opts.ops) {
        uint64_t before = r->reads + r->writes + r->zeroes + r->discards + r->flushes;
        int ret = mix_batch(s, e, ref, size, cluster_size, &opts, &p, r);
        if (ret < 0)
            return ret;
        done += r->reads + r->writes + r->zeroes + r->discards + r->flushes - before;
        if (r->reads + r->writes + r->zeroes + r->discards + r->flushes == before)
            done++; /* an empty batch still counts, so the loop ends */
    }
    return 0;
}

int mix_verify(sched *s, eng *e, const uint8_t *ref, uint64_t size,
               mix_result *r)
{
    const uint64_t chunk = 1 << 20;
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return -ENOMEM;
    int ret = 0;
    for (uint64_t off = 0; off < size && ret == 0; off += chunk) {
        uint64_t len = size - off < chunk ? size - off : chunk;
        ret = engsync_read(s, e, off, buf, len);
        if (ret < 0) {
            r->error = ret;
            snprintf(r->msg, sizeof(r->msg), "verify read at 0x%llx failed: %s",
                     (unsigned long long)off, strerror(-ret));
        } else if (!mix_compare(ref + off, buf, off, len, r)) {
            ret = -EIO;
        }
    }
    free(buf);
    return ret;
}
