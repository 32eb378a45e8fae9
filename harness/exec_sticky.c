/*
 * exec_sticky.c - the judge of an opened file's reads (`image open FILE`).
 *
 * The content a file brings with it is unknown to the shadow model, which
 * describes data by how it was generated. The sound rule used instead:
 *   - a byte that no modifying request of this trace has touched (written,
 *     zeroed, discarded, or cut off and regrown by truncate) must read the
 *     same every time: its first observation sticks;
 *   - a byte some request touched is not judged by the model (its legal
 *     values would need the unknown old content: a partial-sector write, a
 *     failed or in-flight write, a crash can all expose it); -P still
 *     checks it.
 * It never reports a correct engine (no false alarm) and catches reads
 * that change under the guest's feet, misdirected writes into untouched
 * areas, and lost metadata.
 *
 * Data structures: `touched` is a sorted array of disjoint byte ranges,
 * merged on insert; observations are kept per 512-byte sector (the bytes
 * and a bitmap of which were seen) in an array sorted by sector. Memory
 * grows with what the trace touched and read, never with the file's size.
 *
 * Ownership: the sticky record is its image's (exec_image.sticky).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec_int.h"

#define STICKY_SECTOR 512u

typedef struct sticky_range {
    uint64_t start, end;
} sticky_range;

typedef struct sticky_obs {
    uint64_t sector;
    uint8_t seen[STICKY_SECTOR / 8];
    uint8_t data[STICKY_SECTOR];
} sticky_obs;

struct exec_sticky {
    sticky_range *t;
    size_t nt, capt;
    sticky_obs **o; /* sorted by sector; each allocated alone */
    size_t no, capo;
};

int exec_sticky_create(exec_sticky **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

void exec_sticky_destroy(exec_sticky *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->no; i++)
        free(st->o[i]);
    free(st->o);
    free(st->t);
    free(st);
}

static int sticky_grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*v, n * elem);
    if (!p)
        return -ENOMEM;
    *v = p;
    *cap = n;
    return 0;
}

int exec_sticky_touch(exec_sticky *st, uint64_t off, uint64_t len)
{
    uint64_t a = off, b = off + len < off ? UINT64_MAX : off + len;
    size_t i = 0, j;

    if (!len)
        return 0;
    while (i < st->nt && st->t[i].end < a)
        i++;
    /* ranges [i, j) overlap or touch [a, b): merge them into one */
    for (j = i; j < st->nt && st->t[j].start <= b; j++) {
        a = st->t[j].start < a ? st->t[j].start : a;
        b = st->t[j].end > b ? st->t[j].end : b;
    }
    if (j == i) {
        int r =
            sticky_grow((void **)&st->t, &st->capt, st->nt + 1, sizeof(*st->t));
        if (r < 0)
            return r;
        memmove(st->t + i + 1, st->t + i, (st->nt - i) * sizeof(*st->t));
        st->nt++;
    } else {
        memmove(st->t + i + 1, st->t + j, (st->nt - j) * sizeof(*st->t));
        st->nt -= j - i - 1;
    }
    st->t[i].start = a;
    st->t[i].end = b;
    return 0;
}

/* Whether byte off was touched; *next: where that answer may change. */
static bool sticky_touched(const exec_sticky *st, uint64_t off, uint64_t *next)
{
    size_t lo = 0, hi = st->nt;
    while (lo < hi) { /* first range ending after off */
        size_t mid = (lo + hi) / 2;
        if (st->t[mid].end <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < st->nt && st->t[lo].start <= off) {
        *next = st->t[lo].end;
        return true;
    }
    *next = lo < st->nt ? st->t[lo].start : UINT64_MAX;
    return false;
}

/* The observation record of a sector, created empty when missing. */
static sticky_obs *sticky_obs_get(exec_sticky *st, uint64_t sector)
{
    size_t lo = 0, hi = st->no;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (st->o[mid]->sector < sector)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < st->no && st->o[lo]->sector == sector)
        return st->o[lo];
    if (sticky_grow((void **)&st->o, &st->capo, st->no + 1, sizeof(*st->o)))
        return NULL;
    sticky_obs *ob = calloc(1, sizeof(*ob));
    if (!ob)
        return NULL;
    ob->sector = sector;
    memmove(st->o + lo + 1, st->o + lo, (st->no - lo) * sizeof(*st->o));
    st->o[lo] = ob;
    st->no++;
    return ob;
}

/* Check (or record) the untouched bytes [a, b) against observations. */
static int sticky_span(exec_sticky *st, uint64_t a, uint64_t b, uint64_t off,
                       const uint8_t *buf, uint64_t *bad, uint8_t *want)
{
    while (a < b) {
        sticky_obs *ob = sticky_obs_get(st, a / STICKY_SECTOR);
        if (!ob)
            return -ENOMEM;
        uint64_t end = (a / STICKY_SECTOR + 1) * STICKY_SECTOR;
        if (end > b)
            end = b;
        for (; a < end; a++) {
            unsigned k = (unsigned)(a % STICKY_SECTOR);
            uint8_t got = buf[a - off];
            if (!(ob->seen[k / 8] & (1u << (k % 8)))) {
                ob->seen[k / 8] |= (uint8_t)(1u << (k % 8));
                ob->data[k] = got;
            } else if (ob->data[k] != got && *bad == UINT64_MAX) {
                *bad = a;
                *want = ob->data[k];
            }
        }
    }
    return 0;
}

int exec_sticky_check(exec_sticky *st, uint64_t off, uint64_t len,
                      const uint8_t *buf, uint64_t *bad, uint8_t *want)
{
    uint64_t a = off, end = off + len;

    *bad = UINT64_MAX;
    *want = 0;
    while (a < end) {
        uint64_t next;
        bool t = sticky_touched(st, a, &next);
        if (next > end)
            next = end;
        if (!t) {
            int r = sticky_span(st, a, next, off, buf, bad, want);
            if (r < 0)
                return r;
        }
        a = next;
    }
    return 0;
}
