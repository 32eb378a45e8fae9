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
