/*
 * test_shadow_util.h - read helpers shared by the shadow model's unit tests
 * (test_shadow.c, test_shadow_scale.c). Header-only, every function static inline;
 * the CHECK macros come from unit.h.
 *
 * Invariant: each read gets an id of its own (test_shadow_read_ids counts
 * up from 2^20, far from the tests' write ids), so reads never collide
 * with requests in flight.
 */
#ifndef COWPOKE_TEST_SHADOW_UTIL_H
#define COWPOKE_TEST_SHADOW_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "shadow.h"
#include "unit.h"

static uint64_t test_shadow_read_ids = 1u << 20;

/* Judges buf as the bytes read at [off, off + len); the verdict in *v. */
static inline bool looks_v(shadow *s, uint64_t off, uint64_t len, const void *buf,
                           shadow_verdict *v)
{
    CHECK_EQ(shadow_read_check(s, test_shadow_read_ids++, off, len, buf, v),
             0);
    return v->ok;
}

static inline bool looks(shadow *s, uint64_t off, uint64_t len, const void *buf)
{
    shadow_verdict v;
    return looks_v(s, off, len, buf, &v);
}

#endif
