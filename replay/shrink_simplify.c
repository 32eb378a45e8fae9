/*
 * shrink_simplify.c - making each remaining command simpler, and the
 * script's names canonical.
 *
 * Per command, variants are tried in a fixed order and the first that keeps
 * the signature is taken, again and again until none does:
 *   - I/O (write, read, aio_*, discard): the head or the tail half of the
 *     range, split at a cluster, 4 KiB or sector boundary; the length
 *     rounded down to sectors; fewer flags (-q -v -f -s -l -u, then a
 *     read's -P, then -z); the offset at 0, or rounded down to the
 *     cluster, to the sector, or halved. A write keeps its -P (its value
 *     becomes small below): a pattern says what the data is, and qemu-io
 *     would write 0xcd without one;
 *   - image create: a smaller size (one cluster, or half), smaller clusters
 *     (512, 4k, half), default version, refcount width and backing format;
 *   - truncate, host limit/grow: half the size; inject: no range, no nth;
 *     crash: drop=all; sched tape: a shorter tape.
 * Every variant is smaller in one field and larger in none before it (the
 * order flags, length, offset, size), so the loop ends.
 * Then, over the whole script: pattern values renumbered 0x01, 0x02, ...
 * by first use (0x00 stays: zeroes mean something), and tags renamed
 * A, B, ... by first use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shrink_int.h"

#define SIMP_MAX 32
#define SIMP_SECTOR UINT64_C(512)
#define SIMP_DEFAULT_CLUSTER UINT64_C(65536)

typedef struct simp_list {
    script_cmd v[SIMP_MAX];
    size_t n;
} simp_list;

static void simp_add(simp_list *l, const script_cmd *orig,
                     const script_cmd *v)
{
    if (l->n >= SIMP_MAX || script_cmd_equal(orig, v))
        return;
    for (size_t i = 0; i < l->n; i++)
        if (script_cmd_equal(&l->v[i], v))
            return;
    l->v[l->n++] = *v;
}

static uint64_t simp_down(uint64_t x, uint64_t u)
{
    return x / u * u;
}

static uint64_t simp_up(uint64_t x, uint64_t u)
{
    return (x + u - 1) / u * u;
}

static void simp_range(simp_list *l, const script_cmd *x, uint64_t off,
                       uint64_t len)
{
    script_cmd v = *x;

    v.io.off = off;
    v.io.len = len;
    v.io.flags &= ~(SCRIPT_F_PAT_OFF | SCRIPT_F_PAT_LEN);
    v.io.pat_off = v.io.pat_len = 0;
    simp_add(l, x, &v);
}

/* Head and tail halves, split on u boundaries. */
static void simp_io_halves(simp_list *l, const script_cmd *x, uint64_t cs)
{
    const uint64_t units[3] = {cs, 4096, SIMP_SECTOR};
    uint64_t off = x->io.off, len = x->io.len, end = off + len;

    for (size_t k = 0; k < 3 && len > 1; k++) {
        uint64_t mid = off + len / 2, p = simp_down(mid, units[k]);
        if (p <= off)
            p = simp_up(mid, units[k]);
        if (p <= off || p >= end)
            continue;
        simp_range(l, x, off, p - off);
        simp_range(l, x, p, end - p);
    }
    if (len > SIMP_SECTOR && len % SIMP_SECTOR)
        simp_range(l, x, off, simp_down(len, SIMP_SECTOR));
}

static void simp_io_flags(simp_list *l, const script_cmd *x)
{
    static const unsigned order[] = {
        SCRIPT_F_QUIET,   SCRIPT_F_VERBOSE, SCRIPT_F_FUA,     SCRIPT_F_PAT_OFF,
        SCRIPT_F_PAT_LEN, SCRIPT_F_UNMAP,   SCRIPT_F_PATTERN, SCRIPT_F_ZERO,
    };

    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        unsigned f = order[k];
        bool write = x->kind == SCRIPT_WRITE || x->kind == SCRIPT_AIO_WRITE;
        if (!(x->io.flags & f) || (f == SCRIPT_F_PATTERN && write))
            continue;
        script_cmd v = *x;
        v.io.flags &= ~f;
        if (f == SCRIPT_F_PATTERN) {
            v.io.flags &= ~(SCRIPT_F_PAT_OFF | SCRIPT_F_PAT_LEN);
            v.io.pattern = 0;
        }
        if (f == SCRIPT_F_ZERO)
            v.io.flags &= ~SCRIPT_F_UNMAP;
        if (!(v.io.flags & SCRIPT_F_PAT_OFF))
            v.io.pat_off = 0;
        if (!(v.io.flags & SCRIPT_F_PAT_LEN))
            v.io.pat_len = 0;
        simp_add(l, x, &v);
    }
}

static void simp_io_offsets(simp_list *l, const script_cmd *x, uint64_t cs)
{
    uint64_t off = x->io.off;
    const uint64_t to[4] = {0, simp_down(off, cs), simp_down(off, SIMP_SECTOR),
                            simp_down(off / 2, SIMP_SECTOR)};

    for (size_t k = 0; k < 4; k++) {
        if (to[k] >= off)
            continue;
        script_cmd v = *x;
        v.io.off = to[k];
        simp_add(l, x, &v);
    }
}

static void simp_create(simp_list *l, const script_cmd *x)
{
    const script_create *cr = &x->create;
    uint64_t cs = cr->cluster_size ? cr->cluster_size : SIMP_DEFAULT_CLUSTER;
    const uint64_t sizes[2] = {cs, simp_up(cr->size / 2, cs)};
    const uint64_t clusters[3] = {512, 4096, cs / 2};
    script_cmd v;

    for (size_t k = 0; k < 2; k++) {
        v = *x;
        v.create.size = sizes[k];
        if (sizes[k] && sizes[k] < cr->size)
            simp_add(l, x, &v);
    }
    for (size_t k = 0; k < 3; k++) {
        v = *x;
        v.create.cluster_size = clusters[k];
        if (clusters[k] >= 512 && clusters[k] < cs)
            simp_add(l, x, &v);
    }
    v = *x;
    v.create.version = 0;
    simp_add(l, x, &v);
    v = *x;
    v.create.refcount_bits = 0;
    simp_add(l, x, &v);
    v = *x;
    v.create.backing_fmt = SCRIPT_FMT_NONE;
    simp_add(l, x, &v);
}

static void simp_other(simp_list *l, const script_cmd *x)
{
    script_cmd v = *x;

    switch (x->kind) {
    case SCRIPT_TRUNCATE:
    case SCRIPT_HOST_LIMIT:
    case SCRIPT_HOST_GROW:
        v.size = simp_down(x->size / 2, SIMP_SECTOR);
        if (v.size)
            simp_add(l, x, &v);
        break;
    case SCRIPT_INJECT:
        v.inject.has_range = false;
        v.inject.off = v.inject.len = 0;
        simp_add(l, x, &v);
        v = *x;
        v.inject.nth = 0;
        simp_add(l, x, &v);
        break;
    case SCRIPT_CRASH:
        v.crash.drop = SCRIPT_DROP_ALL;
        v.crash.seed = 0;
        simp_add(l, x, &v);
        break;
    case SCRIPT_SCHED:
        if (x->sched.policy != SCRIPT_SCHED_TAPE || x->sched.tape_len < 2)
            break;
        v.sched.tape_len = 1;
        simp_add(l, x, &v);
        v.sched.tape_len = x->sched.tape_len / 2;
        simp_add(l, x, &v);
        break;
    default:
        break;
    }
}

static void simp_variants(const script_cmd *x, uint64_t cs, simp_list *l)
{
    l->n = 0;
    switch (x->kind) {
    case SCRIPT_WRITE:
    case SCRIPT_READ:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_AIO_READ:
    case SCRIPT_DISCARD:
        simp_io_halves(l, x, cs);
        simp_io_flags(l, x);
        simp_io_offsets(l, x, cs);
        break;
    case SCRIPT_IMAGE_CREATE:
        simp_create(l, x);
        break;
    default:
        simp_other(l, x);
        break;
    }
}

/* The cluster size of the image command i works on. */
static uint64_t simp_cluster_at(const script_cmd *cmds, size_t i)
{
    while (i-- > 0) {
        if (cmds[i].kind == SCRIPT_IMAGE_CREATE)
            return cmds[i].create.cluster_size ? cmds[i].create.cluster_size
                                               : SIMP_DEFAULT_CLUSTER;
        if (cmds[i].kind == SCRIPT_IMAGE_OPEN)
            break;
    }
    return SIMP_DEFAULT_CLUSTER;
}

/* Try cur with command i replaced by x. True when accepted. */
static bool simp_try_one(shrink_ctx *c, size_t i, const script_cmd *x)
{
    script_cmd *cand = shrink_cand(c, c->n);

    if (!cand)
        return false;
    memcpy(cand, c->cur, c->n * sizeof(*cand));
    cand[i] = *x;
    if (!shrink_try(c, cand, c->n))
        return false;
    shrink_accept(c, cand, c->n);
    shrink_note(c, "simplify");
    return true;
}

bool shrink_simplify(shrink_ctx *c)
{
    simp_list l;
    bool changed = false;

    for (size_t i = 0; i < c->n && !c->stop; i++) {
        bool again = true;
        while (again && !c->stop) {
            again = false;
            simp_variants(&c->cur[i], simp_cluster_at(c->cur, i), &l);
            for (size_t k = 0; k < l.n && !again && !c->stop; k++)
                again = simp_try_one(c, i, &l.v[k]);
            changed |= again;
        }
    }
    return changed;
}

static bool simp_has_pattern(const script_cmd *x)
{
    switch (x->kind) {
    case SCRIPT_WRITE:
    case SCRIPT_READ:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_AIO_READ:
        return (x->io.flags & SCRIPT_F_PATTERN) != 0;
    default:
        return false;
    }
}

/* Try the whole candidate c->cand (n commands) when it differs. */
static bool simp_try_all(shrink_ctx *c, size_t n, bool differs)
{
    if (!differs || !shrink_try(c, c->cand, n))
        return false;
    shrink_accept(c, c->cand, n);
    shrink_note(c, "simplify");
    return true;
}

bool shrink_patterns(shrink_ctx *c)
{
    uint8_t map[256] = {0};
    unsigned next = 1;
    bool differs = false;
    script_cmd *cand = shrink_cand(c, c->n);

    if (!cand)
        return false;
    memcpy(cand, c->cur, c->n * sizeof(*cand));
    for (size_t i = 0; i < c->n; i++) {
        if (!simp_has_pattern(&cand[i]))
            continue;
        uint8_t p = cand[i].io.pattern;
        if (p && !map[p])
            map[p] = (uint8_t)next++;
        uint8_t q = p ? map[p] : 0;
        differs |= q != p;
        cand[i].io.pattern = q;
    }
    return simp_try_all(c, c->n, differs);
}

static bool simp_is_bp(const script_cmd *x)
{
    return x->kind == SCRIPT_BREAK || x->kind == SCRIPT_WAIT_BREAK ||
           x->kind == SCRIPT_RESUME || x->kind == SCRIPT_REMOVE_BREAK;
}

/* The index of tag t in the distinct tags seen so far, added when new. */
static size_t simp_tag_index(const char **seen, size_t *nseen, const char *t)
{
    for (size_t k = 0; k < *nseen; k++)
        if (strcmp(seen[k], t) == 0)
            return k;
    seen[*nseen] = t;
    return (*nseen)++;
}

bool shrink_tags(shrink_ctx *c)
{
    bool differs = false;
    char name[8];
    script_cmd *cand = shrink_cand(c, c->n);
    const char **seen = malloc((c->n ? c->n : 1) * sizeof(*seen));
    size_t nseen = 0;

    if (!cand || !seen) {
        free(seen);
        c->err = -ENOMEM;
        c->stop = true;
        return false;
    }
    memcpy(cand, c->cur, c->n * sizeof(*cand));
    for (size_t i = 0; i < c->n && !c->stop; i++) {
        if (!simp_is_bp(&cand[i]))
            continue;
        shrink_tag_name(simp_tag_index(seen, &nseen, c->cur[i].bp.tag), name);
        if (strcmp(name, cand[i].bp.tag) == 0)
            continue;
        differs = true;
        if (!(cand[i].bp.tag = script_strdup(c->pool, name))) {
            c->err = -ENOMEM;
            c->stop = true;
        }
    }
    free(seen);
    return !c->stop && simp_try_all(c, c->n, differs);
}
