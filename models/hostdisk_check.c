/*
 * hostdisk_check.c - hostdisk_check(): the simulated host disk's
 * representation invariants (I1-I9 in hostdisk_int.h), checked by a walk
 * of the whole tree, for tests. It only reads the disk.
 *
 * Each check names its invariant; the first broken one is returned, so a
 * test failure says which rule a change broke.
 */
#include "hostdisk_int.h"

#include <string.h>

/* What the walk counts, to compare with the disk's totals at the end. */
typedef struct hd_tally {
    size_t pages, bufs, nodes, vol_sectors, volatile_pages;
    uint64_t max_index;
    int broken; /* first invariant found broken, 0 while none */
} hd_tally;

static void hd_broken(hd_tally *t, int inv)
{
    if (!t->broken)
        t->broken = inv;
}

static bool hd_range_zero(const unsigned char *p, size_t a, size_t b)
{
    return !p || a >= b || hd_first_nz(p + a, b - a) == b - a;
}

/* I2: sectors outside volmask equal the durable ones. */
static bool hd_vol_matches(const hd_page *p)
{
    for (unsigned s = 0; s < HD_SECTORS; s++) {
        size_t at = (size_t)s << HD_SECTOR_SHIFT;
        if (p->volmask & (1u << s))
            continue;
        if (p->durable ? memcmp(p->vol + at, p->durable + at,
                                HOSTDISK_SECTOR_SIZE) != 0
                       : !hd_range_zero(p->vol, at, at + HOSTDISK_SECTOR_SIZE))
            return false;
    }
    return true;
}

/* I4 on one page: nothing at or past size (current) / dsize (durable). */
static bool hd_tail_zero(const hostdisk *d, const hd_page *p)
{
    uint64_t start = p->index << HD_PAGE_SHIFT;
    size_t cur_end = d->size <= start ? 0 : hd_min(HD_PAGE, d->size - start);
    size_t dur_end = d->dsize <= start ? 0 : hd_min(HD_PAGE, d->dsize - start);

    if (cur_end == 0)
        return false; /* a page wholly past size */
    return hd_range_zero(hd_cur(p), cur_end, HD_PAGE) &&
           hd_range_zero(p->durable, dur_end, HD_PAGE);
}

static void hd_check_page(const hostdisk *d, const hd_page *p, uint64_t idx,
                          hd_tally *t)
{
    t->pages++;
    t->bufs += (p->vol != NULL) + (p->durable != NULL);
    t->vol_sectors += (size_t)__builtin_popcount(p->volmask);
    t->volatile_pages += p->volmask != 0;
    t->max_index = idx > t->max_index ? idx : t->max_index;
    if (p->index != idx)
        hd_broken(t, 6);
    if (p->vol && !p->volmask)
        hd_broken(t, 1);
    if (p->vol && !hd_vol_matches(p))
        hd_broken(t, 2);
    if ((!p->vol && !p->durable && !p->volmask) ||
        (p->durable && hd_range_zero(p->durable, 0, HD_PAGE)))
        hd_broken(t, 3);
    if (!hd_tail_zero(d, p))
        hd_broken(t, 4);
    if (p->vol && p->vnz == HD_NZ_NONE && !hd_range_zero(p->vol, 0, HD_PAGE))
        hd_broken(t, 8);
    if (p->fresh)
        hd_broken(t, 9);
}

static void hd_check_node(const hostdisk *d, const hd_node *n, unsigned level,
                          uint64_t prefix, hd_tally *t)
{
    unsigned used = 0;

    t->nodes++;
    for (unsigned i = 0; i < HD_FAN; i++) {
        uint64_t idx = prefix << HD_FAN_SHIFT | i;
        if (!n->slot[i])
            continue;
        used++;
        if (level > 1)
            hd_check_node(d, n->slot[i], level - 1, idx, t);
        else
            hd_check_page(d, n->slot[i], idx, t);
    }
    if (used != n->used || used == 0)
        hd_broken(t, 6);
}

int hostdisk_check(host_backend *b)
{
    hostdisk *d = hd_of(b);
    hd_tally t = {0};
    size_t listed = 0;

    if (d->root)
        hd_check_node(d, d->root, d->height, 0, &t);
    if ((d->root == NULL) != (d->height == 0) ||
        (d->height > 1 && !(t.max_index >> (HD_FAN_SHIFT * (d->height - 1)))))
        hd_broken(&t, 6);
    for (const hd_page *p = d->dirty; p; p = p->dirty_next) {
        listed++;
        if (!p->volmask || (p->dirty_next && p->dirty_next->dirty_prev != p) ||
            listed > t.pages) {
            hd_broken(&t, 1);
            break;
        }
    }
    if (listed != t.volatile_pages)
        hd_broken(&t, 1);
    if (d->dsize > d->size)
        hd_broken(&t, 4);
    if (t.vol_sectors != d->vol_sectors)
        hd_broken(&t, 5);
    if (d->mem != sizeof(*d) + t.pages * sizeof(hd_page) + t.bufs * HD_PAGE +
                      t.nodes * sizeof(hd_node) ||
        d->mem - sizeof(*d) > d->slab_bytes)
        hd_broken(&t, 7);
    return t.broken;
}
