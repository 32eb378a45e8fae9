/*
 * trace_map.c - the trace codec's small tools (see trace_int.h): a byte
 * reader that never fails (past the end it reads zeroes, which is what
 * makes the decoder total), a growable byte writer, and range maps.
 *
 * A range map gives a 16-bit value to every offset of [0, 2^64) as a
 * sorted array of runs. Invariants: r[0].start == 0; starts strictly grow;
 * neighbouring runs hold different values (set() merges them). The maps of
 * one trace hold a few hundred runs at most, so updates just move memory.
 * Ownership: a map owns its array (trace_map_free).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

/* ---- reader and writer --------------------------------------------------- */

uint8_t trace_rd_u8(trace_rd *r)
{
    return r->pos < r->n ? r->p[r->pos++] : 0;
}

uint64_t trace_rd_varint(trace_rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = trace_rd_u8(r);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    return v;
}

static bool wr_room(trace_wr *w, size_t more)
{
    if (w->oom)
        return false;
    if (w->n + more <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < w->n + more)
        cap *= 2;
    uint8_t *p = realloc(w->p, cap);
    if (!p) {
        w->oom = true;
        return false;
    }
    w->p = p;
    w->cap = cap;
    return true;
}

void trace_wr_u8(trace_wr *w, uint8_t b)
{
    if (wr_room(w, 1))
        w->p[w->n++] = b;
}

void trace_wr_varint(trace_wr *w, uint64_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        trace_wr_u8(w, (uint8_t)(v ? b | 0x80 : b));
    } while (v);
}

void trace_wr_bytes(trace_wr *w, const uint8_t *b, size_t n)
{
    if (n && wr_room(w, n)) {
        memcpy(w->p + w->n, b, n);
        w->n += n;
    }
}

/* ---- range maps ---------------------------------------------------------- */

int trace_map_init(trace_map *m, uint16_t v)
{
    m->r = malloc(8 * sizeof(*m->r));
    m->n = 1;
    m->cap = 8;
    m->oom = m->r == NULL;
    if (m->oom)
        return -ENOMEM;
    m->r[0] = (trace_run){0, v};
    return 0;
}

void trace_map_free(trace_map *m)
{
    free(m->r);
    m->r = NULL;
    m->n = m->cap = 0;
}

int trace_map_copy(trace_map *dst, const trace_map *src)
{
    dst->r = malloc(src->cap * sizeof(*dst->r));
    dst->oom = dst->r == NULL || src->oom;
    if (!dst->r)
        return -ENOMEM;
    memcpy(dst->r, src->r, src->n * sizeof(*dst->r));
    dst->n = src->n;
    dst->cap = src->cap;
    return 0;
}

/* Index of the run containing x. */
static size_t map_find(const trace_map *m, uint64_t x)
{
    size_t lo = 0, hi = m->n; /* r[lo].start <= x < r[hi].start */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->r[mid].start <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

uint16_t trace_map_run(const trace_map *m, uint64_t x, uint64_t *end)
{
    size_t i = map_find(m, x);
    *end = i + 1 < m->n ? m->r[i + 1].start : UINT64_MAX;
    return m->r[i].val;
}

uint16_t trace_map_get(const trace_map *m, uint64_t x)
{
    return m->r[map_find(m, x)].val;
}

/* Make a run start exactly at x (x > 0); the index of that run. */
static size_t map_split(trace_map *m, uint64_t x)
{
    size_t i = map_find(m, x);
    if (m->r[i].start == x)
        return i;
    if (m->n == m->cap) {
        trace_run *r = realloc(m->r, 2 * m->cap * sizeof(*r));
        if (!r) {
            m->oom = true;
            return SIZE_MAX;
        }
        m->r = r;
        m->cap *= 2;
    }
    memmove(&m->r[i + 2], &m->r[i + 1], (m->n - i - 1) * sizeof(*m->r));
    m->r[i + 1] = (trace_run){x, m->r[i].val};
    m->n++;
    return i + 1;
}

/* Drop run i when it repeats the value of run i - 1. */
static void map_merge(trace_map *m, size_t i)
{
    if (i == 0 || i >= m->n || m->r[i].val != m->r[i - 1].val)
        return;
    memmove(&m->r[i], &m->r[i + 1], (m->n - i - 1) * sizeof(*m->r));
    m->n--;
}

void trace_map_set(trace_map *m, uint64_t a, uint64_t b, uint16_t v)
{
    if (a >= b || m->oom)
        return;
    size_t i = a ? map_split(m, a) : 0;
    size_t j = b != UINT64_MAX ? map_split(m, b) : m->n;
    if (i == SIZE_MAX || j == SIZE_MAX)
        return;
    i = map_find(m, a); /* the second split may have moved nothing before */
    j = b != UINT64_MAX ? map_find(m, b) : m->n;
    m->r[i].val = v;
    memmove(&m->r[i + 1], &m->r[j], (m->n - j) * sizeof(*m->r));
    m->n -= j - (i + 1);
    map_merge(m, i + 1);
    map_merge(m, i);
}

bool trace_map_uniform(const trace_map *m, uint64_t a, uint64_t b, uint16_t *v)
{
    uint64_t end;
    if (a >= b)
        return false;
    *v = trace_map_run(m, a, &end);
    return end >= b;
}

bool trace_map_any(const trace_map *m, uint64_t a, uint64_t b, unsigned mask)
{
    while (a < b) {
        uint64_t end;
        uint16_t v = trace_map_run(m, a, &end);
        if (v < 32 && (mask & (1u << v)))
            return true;
        a = end;
    }
    return false;
}

uint16_t trace_map_max(const trace_map *m, uint64_t a, uint64_t b)
{
    uint16_t max = 0;
    while (a < b) {
        uint64_t end;
        uint16_t v = trace_map_run(m, a, &end);
        if (v > max)
            max = v;
        a = end;
    }
    return max;
}

void trace_map_remap(trace_map *m, uint64_t a, uint64_t b, const uint16_t *to,
                     size_t nto)
{
    while (a < b && !m->oom) {
        uint64_t end;
        uint16_t v = trace_map_run(m, a, &end);
        uint64_t e = end < b ? end : b;
        if (v < nto && to[v] != v)
            trace_map_set(m, a, e, to[v]);
        a = e;
    }
}
