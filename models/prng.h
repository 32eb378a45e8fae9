/*
 * prng.h - the one seeded pseudo-random generator of cowpoke (splitmix64).
 *
 * Deterministic from its seed on every platform; never seeded from a clock.
 * Header-only so every module (models, harness, tests) draws from the same
 * generator without a link dependency.
 */
#ifndef COWPOKE_PRNG_H
#define COWPOKE_PRNG_H

#include <stdint.h>

typedef struct prng {
    uint64_t state;
} prng;

static inline prng prng_seeded(uint64_t seed)
{
    prng p = {seed};
    return p;
}

static inline uint64_t prng_next(prng *p)
{
    uint64_t z = (p->state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. (Modulo bias is irrelevant at 64 bits.) */
static inline uint64_t prng_below(prng *p, uint64_t n)
{
    return prng_next(p) % n;
}

/* True with probability num/den. */
static inline int prng_chance(prng *p, unsigned num, unsigned den)
{
    return prng_below(p, den) < num;
}

#endif
