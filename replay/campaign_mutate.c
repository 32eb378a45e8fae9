/*
 * campaign_mutate.c - byte mutations of the campaign runner (see
 * campaign_int.h) and the fuzzers' dictionary format.
 *
 * A mutant is a stack of 1 to 16 havoc operations, AFL-style: bit flips,
 * random bytes, small additions, "interesting" 8/16/32-bit values,
 * deleted, inserted, duplicated and overwritten chunks, dictionary tokens
 * inserted or written over, and (one time in eight, when a partner is
 * given) a splice of the input's head with the partner's tail first. The
 * trace decoder reads opcodes and varints, so chunk operations move whole
 * operations around and tokens drop in opcodes the dictionary names.
 *
 * Invariants: the result is 1..cap bytes; everything is drawn from the
 * caller's generator, so the same generator state gives the same mutant.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_int.h"

static const int8_t interesting8[] = {-128, -1, 0, 1, 16, 32, 64, 100, 127};
static const int16_t interesting16[] = {-32768, -129, 128,  255,  256,
                                        512,    1000, 1024, 4096, 32767};
static const int32_t interesting32[] = {-2147483647 - 1, -100663046, -32769,
                                        32768,           65535,      65536,
                                        100663045,       2147483647};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- havoc operations ---------------------------------------------------- */

typedef struct mbuf {
    uint8_t *p;
    size_t n, cap;
} mbuf;

static size_t mut_pos(prng *r, size_t n)
{
    return n ? (size_t)prng_below(r, n) : 0;
}

/* A chunk length for a buffer of n bytes: mostly short. */
static size_t mut_chunk(prng *r, size_t n)
{
    size_t max = n < 4 ? n : prng_chance(r, 3, 4) ? 8 : n / 2 + 1;
    if (max > n)
        max = n;
    return max ? 1 + (size_t)prng_below(r, max) : 0;
}

static void mut_put(mbuf *b, size_t at, uint64_t v, unsigned width, bool be)
{
    if (b->n < width)
        return;
    at %= b->n - width + 1;
    for (unsigned i = 0; i < width; i++) {
        unsigned shift = be ? 8 * (width - 1 - i) : 8 * i;
        b->p[at + i] = (uint8_t)(v >> shift);
    }
}

static void mut_interesting(prng *r, mbuf *b)
{
    size_t at = mut_pos(r, b->n);
    bool be = prng_chance(r, 1, 2);
    switch (prng_below(r, 3)) {
    case 0:
        mut_put(b, at,
                (uint8_t)interesting8[prng_below(r, NELEM(interesting8))], 1,
                false);
        break;
    case 1:
        mut_put(b, at,
                (uint16_t)interesting16[prng_below(r, NELEM(interesting16))], 2,
                be);
        break;
    default:
        mut_put(b, at,
                (uint32_t)interesting32[prng_below(r, NELEM(interesting32))], 4,
                be);
        break;
    }
}

/* Make room for k bytes at `at` (clamped to the capacity); returns the
 * number of bytes actually opened. */
static size_t mut_open(mbuf *b, size_t at, size_t k)
{
    if (k > b->cap - b->n)
        k = b->cap - b->n;
    memmove(b->p + at + k, b->p + at, b->n - at);
    b->n += k;
    return k;
}

static void mut_delete(prng *r, mbuf *b)
{
    if (b->n < 2)
        return;
    size_t k = mut_chunk(r, b->n - 1);
    size_t at = mut_pos(r, b->n - k + 1);
    memmove(b->p + at, b->p + at + k, b->n - at - k);
    b->n -= k;
}

static void mut_insert(prng *r, mbuf *b, bool clone)
{
    size_t k = mut_chunk(r, b->n ? b->n : 8);
    size_t at = mut_pos(r, b->n + 1);
    size_t from = clone && b->n ? mut_pos(r, b->n) : 0;
    if (clone && from + k > b->n)
        k = b->n - from;
    uint8_t tmp[CAMPAIGN_MAX_LEN];
    if (clone)
        memcpy(tmp, b->p + from, k);
    k = mut_open(b, at, k);
    for (size_t i = 0; i < k; i++)
        b->p[at + i] = clone ? tmp[i] : (uint8_t)prng_next(r);
}

static void mut_overwrite(prng *r, mbuf *b)
{
    if (b->n < 2)
        return;
    size_t k = mut_chunk(r, b->n - 1);
    size_t from = mut_pos(r, b->n - k + 1), to = mut_pos(r, b->n - k + 1);
    memmove(b->p + to, b->p + from, k);
}

static void mut_token(prng *r, mbuf *b, const campaign_dict *d)
{
    if (!d || !d->n)
        return;
    const campaign_input *t = &d->tok[prng_below(r, d->n)];
    size_t at = mut_pos(r, b->n + 1);
    size_t k = t->len;
    if (prng_chance(r, 1, 2) || at == b->n)
        k = mut_open(b, at, k); /* insert */
    else if (at + k > b->n)
        k = b->n - at; /* overwrite, up to the end */
    memcpy(b->p + at, t->data, k);
}

static void mut_one(prng *r, mbuf *b, const campaign_dict *d)
{
    size_t at = mut_pos(r, b->n);
    switch (prng_below(r, 12)) {
    case 0:
        if (b->n)
            b->p[at] ^= (uint8_t)(1u << prng_below(r, 8));
        break;
    case 1:
        if (b->n)
            b->p[at] = (uint8_t)prng_next(r);
        break;
    case 2:
        if (b->n)
            b->p[at] += (uint8_t)(1 + prng_below(r, 35));
        break;
    case 3:
        if (b->n)
            b->p[at] -= (uint8_t)(1 + prng_below(r, 35));
        break;
    case 4:
        mut_interesting(r, b);
        break;
    case 5:
    case 6:
        mut_delete(r, b);
        break;
    case 7:
        mut_insert(r, b, false);
        break;
    case 8:
        mut_insert(r, b, true);
        break;
    case 9:
        mut_overwrite(r, b);
        break;
    default:
        mut_token(r, b, d);
        break;
    }
}

size_t campaign_mutate(prng *p, const uint8_t *in, size_t len,
                       const uint8_t *other, size_t olen,
                       const campaign_dict *d, uint8_t *out, size_t cap)
{
    mbuf b = {out, len < cap ? len : cap, cap};

    memcpy(out, in, b.n);
    if (other && olen > 1 && b.n > 1 && prng_chance(p, 1, 8)) {
        size_t cut = 1 + (size_t)prng_below(p, b.n - 1);
        size_t from = (size_t)prng_below(p, olen);
        size_t k = olen - from < cap - cut ? olen - from : cap - cut;
        memcpy(out + cut, other + from, k);
        b.n = cut + k;
    }
    unsigned ops = 1u << prng_below(p, 5);
    for (unsigned i = 0; i < ops; i++)
        mut_one(p, &b, d);
    if (b.n == 0)
        out[b.n++] = (uint8_t)prng_next(p);
    return b.n;
}

/* ---- the dictionary ------------------------------------------------------ */

static int dict_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The quoted value of one line into out; its length, or -1 if malformed,
 * -2 for a line with no value (blank or comment). */
static long dict_parse_line(const char *s, uint8_t *out, size_t cap)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s || *s == '#' || *s == '\n' || *s == '\r')
        return -2;
    const char *q = strchr(s, '"');
    if (!q)
        return -1;
    size_t n = 0;
    for (q++; *q && *q != '"'; q++) {
        int c = (unsigned char)*q;
        if (c == '\\') {
            q++;
            if (*q == 'x' && dict_hex(q[1]) >= 0 && dict_hex(q[2]) >= 0) {
                c = dict_hex(q[1]) * 16 + dict_hex(q[2]);
                q += 2;
            } else if (*q == '\\' || *q == '"') {
                c = (unsigned char)*q;
            } else {
                return -1;
            }
        }
        if (n == cap)
            return -1;
        out[n++] = (uint8_t)c;
    }
    if (*q != '"' || n == 0)
        return -1;
    return (long)n;
}

int campaign_dict_load(const char *path, campaign_dict **out, unsigned *line)
{
    FILE *f = fopen(path, "r");
    campaign_inputs toks = {0};
    char text[1024];
    uint8_t val[256];
    int ret = 0;

    *line = 0;
    if (!f)
        return -errno;
    while (ret == 0 && fgets(text, sizeof(text), f)) {
        ++*line;
        long n = dict_parse_line(text, val, sizeof(val));
        if (n == -1)
            ret = -EINVAL;
        else if (n > 0)
            ret = campaign_inputs_add(&toks, val, (size_t)n, "");
    }
    fclose(f);
    campaign_dict *d = ret == 0 ? calloc(1, sizeof(*d)) : NULL;
    if (!d) {
        campaign_inputs_free(&toks);
        return ret ? ret : -ENOMEM;
    }
    d->tok = toks.v;
    d->n = toks.n;
    *out = d;
    return 0;
}

void campaign_dict_free(campaign_dict *d)
{
    if (!d)
        return;
    campaign_inputs q = {d->tok, d->n, d->n};
    campaign_inputs_free(&q);
    free(d);
}
