/*
 * datagen.c - regenerated write data (see datagen.h for the contract).
 *
 * The seeded generator is a counter-based stream: a key mixed from
 * (seed, id), then one splitmix64 output (prng.h) per 8-byte word, indexed
 * by the word's guest offset / 8. Filling costs one multiply-xorshift mix
 * per word, so regenerating a sector is far cheaper than storing it.
 *
 * Invariant: the byte at guest offset off is byte (off % 8) of the
 * little-endian encoding of word(key, off / 8), whatever the alignment of
 * the caller's offset, length or buffer.
 */
#include "datagen.h"

#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "prng.h"
#include "simd.h"

#define DG_GOLDEN 0x9e3779b97f4a7c15ull

/* The stream key of one (seed, id): order-sensitive, so (a, b) != (b, a). */
static inline uint64_t dg_key(uint64_t seed, uint64_t id)
{
    prng p = prng_seeded(seed ^ 0x243f6a8885a308d3ull);
    p = prng_seeded(prng_next(&p) + id * DG_GOLDEN);
    return prng_next(&p);
}

/* The word stream of `key` from word w on: each prng_next() step is one
 * splitmix64 output, word(key, w) = mix(key + (w + 1) * golden), so word w
 * can be had without generating the words before it. */
static inline prng dg_stream(uint64_t key, uint64_t w)
{
    return prng_seeded(key + w * DG_GOLDEN);
}

bool datagen_equal(const datagen_src *a, const datagen_src *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case DATAGEN_PATTERN:
        return a->pattern == b->pattern;
    case DATAGEN_SEEDED:
        return a->seed == b->seed && a->id == b->id;
    default:
        return true;
    }
}

/* Words [0, n) of the stream starting at state z0 (the state before the
 * first word) into p, little-endian; returns how many it wrote (a multiple
 * of 8, the rest is the caller's). AVX-512 computes eight words at once,
 * the same arithmetic on each lane, so the bytes are those of the scalar
 * loop; without AVX-512 at run time it writes nothing. Filling write data
 * is the largest single cost of a fuzz campaign, hence the vector path. */
#ifdef SIMD_X86
SIMD_AVX512 static size_t dg_words_avx512(uint64_t z0, uint8_t *p, size_t n)
{
    const __m512i gold = _mm512_set1_epi64((long long)DG_GOLDEN);
    const __m512i step = _mm512_set1_epi64((long long)(8 * DG_GOLDEN));
    const __m512i m1 = _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ull);
    const __m512i m2 = _mm512_set1_epi64((long long)0x94d049bb133111ebull);
    __m512i lane = _mm512_set_epi64(8, 7, 6, 5, 4, 3, 2, 1);
    __m512i z = _mm512_add_epi64(_mm512_set1_epi64((long long)z0),
                                 _mm512_mullo_epi64(lane, gold));
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        __m512i v = _mm512_xor_si512(z, _mm512_srli_epi64(z, 30));
        v = _mm512_mullo_epi64(v, m1);
        v = _mm512_mullo_epi64(_mm512_xor_si512(v, _mm512_srli_epi64(v, 27)),
                               m2);
        v = _mm512_xor_si512(v, _mm512_srli_epi64(v, 31));
        _mm512_storeu_si512(p + 8 * i, v);
        z = _mm512_add_epi64(z, step);
    }
    return i;
}
#endif

static size_t dg_words_fast(uint64_t z0, uint8_t *p, size_t n)
{
#ifdef SIMD_X86
    if (n >= 8 && simd_avx512())
        return dg_words_avx512(z0, p, n);
#endif
    (void)z0;
    (void)p;
    (void)n;
    return 0;
}

static void dg_fill_seeded(uint64_t key, uint64_t off, uint8_t *p, size_t len)
{
    prng g = dg_stream(key, off >> 3);
    size_t skip = off & 7;
    uint64_t word;

    if (skip) {
        size_t n = 8 - skip < len ? 8 - skip : len;
        word = htole64(prng_next(&g));
        memcpy(p, (const uint8_t *)&word + skip, n);
        p += n;
        len -= n;
    }
    size_t fast = dg_words_fast(g.state, p, len >> 3);
    g.state += fast * DG_GOLDEN;
    p += fast * 8;
    len -= fast * 8;
    while (len >= 8) {
        word = htole64(prng_next(&g));
        memcpy(p, &word, 8);
        p += 8;
        len -= 8;
    }
    if (len) {
        word = htole64(prng_next(&g));
        memcpy(p, &word, len);
    }
}

void datagen_fill(const datagen_src *src, uint64_t off, void *buf, size_t len)
{
    switch (src->kind) {
    case DATAGEN_PATTERN:
        memset(buf, src->pattern, len);
        break;
    case DATAGEN_SEEDED:
        dg_fill_seeded(dg_key(src->seed, src->id), off, buf, len);
        break;
    default:
        memset(buf, 0, len);
        break;
    }
}

uint64_t datagen_sector_hash(const datagen_src *src, uint64_t off)
{
    uint8_t sector[DATAGEN_SECTOR];

    datagen_fill(src, off, sector, sizeof(sector));
    return XXH3_64bits(sector, sizeof(sector));
}

size_t datagen_mismatch(const datagen_src *src, uint64_t off, const void *buf,
                        size_t len)
{
    const uint8_t *p = buf;
    uint8_t chunk[DATAGEN_SECTOR];
    size_t done = 0;
    bool same = src->kind != DATAGEN_SEEDED; /* the same bytes everywhere */

    if (same)
        datagen_fill(src, off, chunk, sizeof(chunk));
    while (done < len) {
        size_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
        if (!same)
            datagen_fill(src, off + done, chunk, n);
        if (memcmp(chunk, p + done, n) != 0) {
            size_t i = 0;
            while (chunk[i] == p[done + i])
                i++;
            return done + i;
        }
        done += n;
    }
    return len;
}

int datagen_describe(const datagen_src *src, char *buf, size_t size)
{
    switch (src->kind) {
    case DATAGEN_PATTERN:
        return snprintf(buf, size, "pattern 0x%02x", src->pattern);
    case DATAGEN_SEEDED:
        return snprintf(buf, size, "seed 0x%" PRIx64 " id %" PRIu64, src->seed,
                        src->id);
    default:
        return snprintf(buf, size, "zero");
    }
}
