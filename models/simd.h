/*
 * simd.h - whether this processor runs the AVX-512 paths of the models.
 *
 * A few hot loops of the models (the seeded data generator, the host
 * disk's zero scan) have an AVX-512 version beside the portable one. Each
 * vector path computes exactly what its scalar twin computes, so the
 * choice, made at run time per call, never changes a result: the same
 * trace gives the same bytes on every machine.
 *
 * SIMD_X86 is defined where the vector paths can be compiled (x86-64 with
 * gcc or clang); simd_avx512() says whether they can run here.
 */
#ifndef COWPOKE_SIMD_H
#define COWPOKE_SIMD_H

#include <stdbool.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SIMD_X86 1
#include <immintrin.h>
#define SIMD_AVX512 __attribute__((target("avx512f,avx512dq")))
#endif

static inline bool simd_avx512(void)
{
#ifdef SIMD_X86
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512dq");
#else
    return false;
#endif
}

#endif
