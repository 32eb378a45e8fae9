/*
 * eng_cache.c - a fixed-size write-back cache of cluster-sized metadata
 * tables (L2 tables, refcount blocks), after QEMU's qcow2-cache.c.
 *
 * Invariants:
 *   - An entry is either free (!used) or holds the table at `offset`;
 *     no two entries hold the same offset. (Offset 0, the header, is
 *     never a table; only the l2_at_zero mutant puts one there.)
 *   - A pinned entry (ref > 0) is never evicted or discarded; callers pin
 *     only while holding the engine lock and unpin before dropping it.
 *   - A dirty entry reaches the host only after what the cache depends on:
 *     `depends` (another cache, flushed first: write + host flush) or
 *     `depends_on_flush` (a host flush first). Dependencies never form a
 *     cycle: setting one flushes the other side's dependency first.
 *   - Victims are chosen by the smallest LRU stamp (a counter, never an
 *     address), so eviction order is deterministic.
 *   - The cache owns its table memory. A slot's buffer is allocated on
 *     the slot's first use (opening an image costs no table memory) and
 *     not zeroed: a slot is filled by a whole-table read, or by the
 *     caller of eng_cache_co_get_empty, before anyone reads it.
 */
#include <stdlib.h>

#include "eng_internal.h"

typedef struct cache_entry {
    uint8_t *table; /* cluster-sized; NULL until the slot is first used */
    bool used;
    uint64_t offset;
    uint64_t lru;
    unsigned ref;
    bool dirty;
} cache_entry;

struct eng_cache {
    eng *e;
    eng_cache_kind kind;
    unsigned n;
    cache_entry *ent;
    eng_cache *depends;
    bool depends_on_flush;
    uint64_t lru_clock;
};

eng_cache *eng_cache_create(eng *e, eng_cache_kind kind, unsigned entries)
{
    eng_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->e = e;
    c->kind = kind;
    c->n = entries < ENG_MIN_CACHE ? ENG_MIN_CACHE : entries;
    c->ent = calloc(c->n, sizeof(*c->ent));
    if (!c->ent) {
        eng_cache_destroy(c);
        return NULL;
    }
    return c;
}

void eng_cache_destroy(eng_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; c->ent && i < c->n; i++)
        free(c->ent[i].table);
    free(c->ent);
    free(c);
}

static uint8_t *entry_table(eng_cache *c, unsigned i)
{
    return c->ent[i].table;
}

/* Give slot i its buffer if it has none yet (contents undefined). */
static int slot_memory(eng_cache *c, unsigned i)
{
    if (!c->ent[i].table)
        c->ent[i].table = malloc(c->e->cluster_size);
    return c->ent[i].table ? 0 : -ENOMEM;
}

/* The slot holding table (which a get handed out). */
static unsigned table_index(const eng_cache *c, const uint8_t *table)
{
    unsigned i = 0;
    while (i < c->n && c->ent[i].table != table)
        i++;
    assert(i < c->n);
    return i;
}

unsigned eng_cache_refs(const eng_cache *c)
{
    unsigned r = 0;
    for (unsigned i = 0; i < c->n; i++)
        r += c->ent[i].ref;
    return r;
}

bool eng_cache_has_dependency(const eng_cache *c)
{
    return c->depends != NULL;
}

int eng_cache_co_flush_dependency(eng_cache *c)
{
    if (!c->depends)
        return 0;
    int ret = eng_cache_co_flush(c->depends);
    if (ret < 0)
        return ret;
    c->depends = NULL;
    c->depends_on_flush = false;
    return 0;
}

/* Write one dirty entry back, honouring the cache's dependencies. */
static int entry_co_flush(eng_cache *c, unsigned i)
{
    cache_entry *en = &c->ent[i];
    if (!en->dirty || !en->used)
        return 0;
    int ret = 0;
    if (c->depends) {
        ret = eng_cache_co_flush_dependency(c);
    } else if (c->depends_on_flush) {
        ret = eng_co_hflush(c->e);
        if (ret == 0)
            c->depends_on_flush = false;
    }
    if (ret < 0)
        return ret;
    /* the flush above may have yielded into an eviction of this entry's
     * neighbours, never of this one: the lock is held and we did not let
     * go of anything, so the entry is unchanged */
    if (!en->dirty)
        return 0;
    eng_event ev = c->kind == ENG_CACHE_L2 ? ENG_EV_L2_UPDATE
                                           : ENG_EV_REFBLOCK_UPDATE_PART;
    ret = eng_co_hwrite(c->e, ev, en->offset, entry_table(c, i),
                        c->e->cluster_size);
    if (ret == 0)
        en->dirty = false;
    return ret;
}

int eng_cache_co_write(eng_cache *c)
{
    int result = 0;
    for (unsigned i = 0; i < c->n; i++) {
        int ret = entry_co_flush(c, i);
        if (ret < 0 && result == 0)
            result = ret; /* keep going: write what can be written */
    }
    return result;
}

int eng_cache_co_flush(eng_cache *c)
{
    int ret = eng_cache_co_write(c);
    if (ret == 0)
        ret = eng_co_hflush(c->e);
    return ret;
}

int eng_cache_co_set_dependency(eng_cache *c, eng_cache *dep)
{
    int ret;
    if (dep->depends) {
        ret = eng_cache_co_flush_dependency(dep);
        if (ret < 0)
            return ret;
    }
    if (c->depends && c->depends != dep) {
        ret = eng_cache_co_flush_dependency(c);
        if (ret < 0)
            return ret;
    }
    c->depends = dep;
    return 0;
}

void eng_cache_depends_on_flush(eng_cache *c)
{
    c->depends_on_flush = true;
}

static int find_entry(const eng_cache *c, uint64_t off)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->ent[i].used && c->ent[i].offset == off)
            return (int)i;
    return -1;
}

/* Whether evicting entry i may drop it unwritten. */
static bool may_drop(const eng_cache *c, unsigned i)
{
    /*
     * Mutant l2_evict_dirty (the write-back contract of L2 caches, as
     * kvmtool's qcow driver stated it in commit 4a69b1c93fcd: a table is
     * written "when [it] is thrown out of LRU cache or ... flush"): a
     * dirty L2 table chosen for eviction is dropped without being written
     * back.
     */
    return !c->ent[i].dirty ||
           (c->kind == ENG_CACHE_L2 &&
            eng_mutant_on(c->e, ENG_MUT_L2_EVICT_DIRTY));
}

/* A slot for a new table: a free one, else the least recently used
 * unpinned one (written back first if dirty). */
static int cache_co_victim(eng_cache *c, unsigned *out)
{
    for (;;) {
        int best = -1;
        for (unsigned i = 0; i < c->n; i++) {
            if (c->ent[i].ref)
                continue;
            if (!c->ent[i].used) {
                best = (int)i;
                break;
            }
            if (best < 0 || c->ent[i].lru < c->ent[best].lru)
                best = (int)i;
        }
        if (best < 0) {
            eng_set_err(c->e, "%s cache: every entry is in use",
                        c->kind == ENG_CACHE_L2 ? "L2" : "refcount block");
            return -ENOMEM;
        }
        if (may_drop(c, (unsigned)best)) {
            c->ent[best].used = false;
            c->ent[best].dirty = false;
            *out = (unsigned)best;
            return 0;
        }
        int ret = entry_co_flush(c, (unsigned)best);
        if (ret < 0)
            return ret;
        /* writing back may have yielded; re-check the choice */
    }
}

static int cache_co_do_get(eng_cache *c, uint64_t off, uint8_t **table,
                           bool read)
{
    assert(off % c->e->cluster_size == 0);
    assert(off != 0 || eng_mutant_on(c->e, ENG_MUT_L2_AT_ZERO));
    int i = find_entry(c, off);
    if (i < 0) {
        unsigned v;
        int ret = cache_co_victim(c, &v);
        if (ret == 0)
            ret = slot_memory(c, v);
        if (ret < 0)
            return ret;
        if (read) {
            eng_event ev = c->kind == ENG_CACHE_L2 ? ENG_EV_L2_LOAD
                                                   : ENG_EV_REFBLOCK_LOAD;
            ret = eng_co_hread(c->e, ev, off, entry_table(c, v),
                               c->e->cluster_size);
            if (ret < 0)
                return ret;
        }
        /* nobody else can have loaded off meanwhile: the lock is held
         * (except by the refcount_read_unpinned mutant, whose unlocked
         * reads break exactly this, as QEMU's did: no check caught it) */
        assert(find_entry(c, off) < 0 ||
               eng_mutant_on(c->e, ENG_MUT_REFCOUNT_READ_UNPINNED));
        c->ent[v].used = true;
        c->ent[v].offset = off;
        c->ent[v].dirty = false;
        i = (int)v;
    }
    c->ent[i].ref++;
    c->ent[i].lru = ++c->lru_clock;
    *table = entry_table(c, (unsigned)i);
    return 0;
}

int eng_cache_co_get(eng_cache *c, uint64_t off, uint8_t **table)
{
    return cache_co_do_get(c, off, table, true);
}

int eng_cache_co_get_empty(eng_cache *c, uint64_t off, uint8_t **table)
{
    return cache_co_do_get(c, off, table, false);
}

void eng_cache_put(eng_cache *c, uint8_t **table)
{
    unsigned i = table_index(c, *table);
    assert(c->ent[i].ref > 0);
    c->ent[i].ref--;
    *table = NULL;
}

void eng_cache_mark_dirty(eng_cache *c, const uint8_t *table)
{
    unsigned i = table_index(c, table);
    assert(c->ent[i].used && c->ent[i].ref > 0);
    c->ent[i].dirty = true;
}

void eng_cache_discard(eng_cache *c, uint64_t off)
{
    int i = find_entry(c, off);
    if (i < 0)
        return;
    /* pinned only when a corrupt image made one cluster two things at
     * once; keep the entry then (the image is broken either way) */
    if (c->ent[i].ref)
        return;
    c->ent[i].used = false;
    c->ent[i].dirty = false;
}
