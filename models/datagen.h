/*
 * datagen.h - data that is regenerated, never stored.
 *
 * A data source describes the bytes of a guest write without holding them:
 *
 *   DATAGEN_ZERO     every byte is 0;
 *   DATAGEN_PATTERN  every byte is `pattern` (qemu-io's -P);
 *   DATAGEN_SEEDED   the byte at guest offset `off` is a function of
 *                    (seed, id, off) only: a 64-bit mix of (seed, id, off/8)
 *                    gives the 8 bytes of the aligned word holding off, in
 *                    little-endian order on every host.
 *
 * Because a seeded byte depends on its absolute guest offset and on the
 * write id, data that lands at the wrong offset, or that comes from the
 * wrong write, does not match what the source regenerates.
 *
 * Invariants: every function here is pure (no state, no allocation); the
 * same source and offset give the same bytes on every run and every build.
 * Fields a kind does not use are ignored (datagen_equal too), so a source
 * may be built with the helpers below or by hand.
 */
#ifndef COWPOKE_DATAGEN_H
#define COWPOKE_DATAGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DATAGEN_SECTOR 512u

typedef enum datagen_kind {
    DATAGEN_ZERO = 0,
    DATAGEN_PATTERN = 1,
    DATAGEN_SEEDED = 2,
} datagen_kind;

typedef struct datagen_src {
    uint8_t kind;    /* datagen_kind */
    uint8_t pattern; /* DATAGEN_PATTERN: the byte */
    uint64_t seed;   /* DATAGEN_SEEDED: the trace's data seed */
    uint64_t id;     /* DATAGEN_SEEDED: the write id */
} datagen_src;

static inline datagen_src datagen_zero(void)
{
    datagen_src s = {DATAGEN_ZERO, 0, 0, 0};
    return s;
}

static inline datagen_src datagen_pattern(uint8_t pattern)
{
    datagen_src s = {DATAGEN_PATTERN, pattern, 0, 0};
    return s;
}

static inline datagen_src datagen_seeded(uint64_t seed, uint64_t id)
{
    datagen_src s = {DATAGEN_SEEDED, 0, seed, id};
    return s;
}

/* Same kind and same meaningful fields. A pattern of 0x00 and a zero source
 * give equal bytes but are different sources. */
bool datagen_equal(const datagen_src *a, const datagen_src *b);

/* Write the len bytes of src that belong at guest offsets [off, off+len). */
void datagen_fill(const datagen_src *src, uint64_t off, void *buf, size_t len);

/* XXH3-64 of the DATAGEN_SECTOR bytes of src at [off, off+512), computed
 * without a caller buffer. off need not be sector aligned. */
uint64_t datagen_sector_hash(const datagen_src *src, uint64_t off);

/* Index of the first byte of buf[0..len) that differs from src at guest
 * offset off, or len when all agree. */
size_t datagen_mismatch(const datagen_src *src, uint64_t off, const void *buf,
                        size_t len);

/* A short description ("zero", "pattern 0x2a", "seed 0x5 id 3") written into
 * buf like snprintf: returns the length it wanted. */
int datagen_describe(const datagen_src *src, char *buf, size_t size);

#endif
