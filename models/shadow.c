/*
 * shadow.c - the shadow model's lifecycle and the requests that change
 * legal values: writes, write-zeroes, discards, flushes, crash, truncate
 * (and the sizes a reopen may find after a truncate that did not
 * complete).
 * The contract is in shadow.h; the data structures and invariants in
 * shadow_int.h; reads are judged in shadow_read.c.
 *
 * Each public call advances the model's logical time by one (I5), so
 * "removed after the read began" and "removed after the durable point"
 * are plain comparisons. Every heap allocation goes through sh_alloc /
 * sh_reserve, which count the bytes the model holds (shadow_get_stats).
 */
#include "shadow_int.h"

/* ---- memory ------------------------------------------------------------- */

void *sh_alloc(shadow *s, size_t n)
{
    void *p = malloc(n);
    if (p)
        s->bytes += n;
    return p;
}

void sh_free(shadow *s, void *p, size_t n)
{
    if (!p)
        return;
    assert(s->bytes >= n);
    s->bytes -= n;
    free(p);
}

int sh_reserve(shadow *s, void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -ENOMEM;
    s->bytes += (ncap - *cap) * elem;
    *arr = p;
    *cap = ncap;
    return 0;
}

static void sh_release(shadow *s, void **arr, size_t *cap, size_t elem)
{
    if (*arr) {
        s->bytes -= *cap * elem;
        free(*arr);
    }
    *arr = NULL;
    *cap = 0;
}

static uint64_t sh_nsectors(const shadow *s)
{
    return s->size / SH_SECTOR;
}

/* A new one-candidate set holding the whole-sector value of piece p. */
static int sh_cset_single(shadow *s, const sh_piece *p, sh_cset **out)
{
    sh_val *v = sh_val_whole(s, p);
    bool added;

    if (!v)
        return -ENOMEM;
    int r = sh_build_cur(s, v, 0, &added);
    sh_val_unref(s, v);
    if (r < 0) {
        sh_build_reset(s);
        return r;
    }
    return sh_build_finish(s, s->now, out);
}

/* ---- create / destroy --------------------------------------------------- */

static int sh_check_opts(const shadow_opts *o, uint32_t cluster)
{
    const shadow_backing *b = &o->backing;

    if (o->size % SH_SECTOR || (o->version != 2 && o->version != 3))
        return -EINVAL;
    if (cluster < 512 || cluster > (2u << 20) || (cluster & (cluster - 1)))
        return -EINVAL;
    if (b->kind == SHADOW_BACKING_MODEL && !b->model)
        return -EINVAL;
    if (b->kind == SHADOW_BACKING_MODEL && b->model->active)
        return -EBUSY; /* a backing file's data must be settled */
    if (b->kind == SHADOW_BACKING_RANGES && b->nranges && !b->ranges)
        return -EINVAL;
    for (size_t i = 0; b->kind == SHADOW_BACKING_RANGES && i < b->nranges;
         i++) {
        const shadow_backing_range *r = &b->ranges[i];
        if (r->off + r->len < r->off)
            return -EINVAL;
        if (i > 0 && r->off < b->ranges[i - 1].off + b->ranges[i - 1].len)
            return -EINVAL; /* unsorted or overlapping */
    }
    return 0;
}

static int sh_init(shadow *s, const shadow_opts *o)
{
    const shadow_backing *b = &o->backing;
    sh_piece p = {0};
    sh_cset *cs;
    int r;

    if (b->kind == SHADOW_BACKING_RANGES && b->nranges) {
        size_t n = b->nranges * sizeof(*s->ranges);
        if (!(s->ranges = sh_alloc(s, n)))
            return -ENOMEM;
        memcpy(s->ranges, b->ranges, n);
        s->nranges = b->nranges;
    }
    if (s->size == 0)
        return 0;
    p.backing = b->kind != SHADOW_BACKING_NONE;
    p.origin = SHADOW_ORIGIN_INITIAL;
    p.src = datagen_zero();
    if ((r = sh_cset_single(s, &p, &cs)) < 0)
        return r;
    r = sh_reserve(s, (void **)&s->ext, &s->capext, 1, sizeof(*s->ext));
    if (r < 0) {
        sh_cset_unref(s, cs);
        return r;
    }
    s->ext[0].start = 0;
    s->ext[0].cs = cs;
    s->next = 1;
    return 0;
}

int shadow_create(const shadow_opts *o, shadow **out)
{
    shadow_opts d = *o;
    int r;

    if (d.cluster_size == 0)
        d.cluster_size = 65536;
    if (d.version == 0)
        d.version = 3;
    if ((r = sh_check_opts(&d, d.cluster_size)) < 0)
        return r;
    shadow *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->bytes = sizeof(*s);
    s->size = d.size;
    s->cluster_size = d.cluster_size;
    s->version = d.version;
    s->bkind = d.backing.kind;
    s->blength = d.backing.length;
    if ((r = sh_init(s, &d)) < 0) {
        shadow_destroy(s);
        return r;
    }
    if (s->bkind == SHADOW_BACKING_MODEL) {
        s->bmodel = d.backing.model;
        s->bmodel->users++;
    }
    *out = s;
    return 0;
}

void shadow_destroy(shadow *s)
{
    if (!s)
        return;
    assert(s->users == 0); /* no overlay may outlive its backing model */
    for (size_t i = 0; i < s->next; i++)
        sh_cset_unref(s, s->ext[i].cs);
    for (unsigned j = 0; j < SHADOW_MAX_INFLIGHT; j++)
        if (s->active >> j & 1)
            sh_val_unref(s, s->ops[j].whole);
    sh_build_reset(s);
    sh_release(s, (void **)&s->ext, &s->capext, sizeof(*s->ext));
    sh_release(s, (void **)&s->reads, &s->capreads, sizeof(*s->reads));
    sh_release(s, (void **)&s->flushes, &s->capflushes, sizeof(*s->flushes));
    sh_release(s, (void **)&s->bld.cur, &s->bld.capcur, sizeof(sh_cand));
    sh_release(s, (void **)&s->bld.past, &s->bld.cappast, sizeof(sh_past));
    sh_release(s, (void **)&s->sc.pc, &s->sc.cappc, sizeof(sh_piece));
    sh_release(s, (void **)&s->sc.cc, &s->sc.capcc, sizeof(sh_conc));
    sh_release(s, (void **)&s->sc.lg, &s->sc.caplg, sizeof(sh_legal));
    sh_release(s, (void **)&s->tmp, &s->captmp, sizeof(*s->tmp));
    sh_free(s, s->ranges, s->nranges * sizeof(*s->ranges));
    if (s->bmodel)
        s->bmodel->users--;
    assert(s->bytes == sizeof(*s));
    free(s);
}

uint64_t shadow_size(const shadow *s)
{
    return s->size;
}

/* ---- modifying requests ------------------------------------------------- */

static int sh_find_op(const shadow *s, uint64_t req)
{
    for (unsigned j = 0; j < SHADOW_MAX_INFLIGHT; j++)
        if ((s->active >> j & 1) && s->ops[j].req == req)
            return (int)j;
    return -1;
}

static bool sh_range_ok(const shadow *s, uint64_t off, uint64_t len)
{
    return off <= s->size && len <= s->size - off;
}

/* The sectors [*s0, *s1) an op touches. */
static void sh_op_sectors(const sh_op *op, uint64_t *s0, uint64_t *s1)
{
    *s0 = op->off / SH_SECTOR;
    *s1 = op->len ? (op->off + op->len + SH_SECTOR - 1) / SH_SECTOR : *s0;
}

/*
 * Start a modifying request that makes bytes [off, off+len) read as src
 * (for a discard, the range its rule zeroes; possibly empty).
 */
static int sh_begin(shadow *s, uint8_t kind, uint64_t req, uint64_t tag,
                    uint64_t off, uint64_t len, const datagen_src *src)
{
    uint64_t s0, s1;
    int slot = -1, r;

    s->now++;
    if (s->users)
        return -EPERM;
    if (sh_find_op(s, req) >= 0)
        return -EEXIST;
    for (unsigned j = 0; j < SHADOW_MAX_INFLIGHT && slot < 0; j++)
        if (!(s->active >> j & 1))
            slot = (int)j;
    if (slot < 0)
        return -EBUSY;
    sh_op *op = &s->ops[slot];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->req = req;
    op->off = off;
    op->len = len;
    op->piece.origin = SHADOW_ORIGIN_REQUEST;
    op->piece.src = *src;
    op->piece.req = req;
    op->piece.tag = tag;
    if (!(op->whole = sh_val_whole(s, &op->piece)))
        return -ENOMEM;
    op->active = true;
    s->active |= 1ull << slot;
    sh_op_sectors(op, &s0, &s1);
    if ((r = sh_map_split_op(s, op)) < 0 ||
        (r = sh_map_apply(s, s0, s1, sh_x_begin, op)) < 0) {
        op->active = false;
        s->active &= ~(1ull << slot);
        sh_val_unref(s, op->whole);
        sh_map_coalesce(s, s0, s1);
        return r;
    }
    return 0;
}

int shadow_write_begin(shadow *s, uint64_t req, uint64_t tag, uint64_t off,
                       uint64_t len, const datagen_src *src)
{
    if (!sh_range_ok(s, off, len) || src->kind > DATAGEN_SEEDED) {
        s->now++;
        return -EINVAL;
    }
    return sh_begin(s, SH_OP_WRITE, req, tag, off, len, src);
}

int shadow_zeroes_begin(shadow *s, uint64_t req, uint64_t tag, uint64_t off,
                        uint64_t len, bool unmap)
{
    datagen_src zero = datagen_zero();

    (void)unmap; /* reads back zeroes either way */
    if (!sh_range_ok(s, off, len)) {
        s->now++;
        return -EINVAL;
    }
    return sh_begin(s, SH_OP_ZEROES, req, tag, off, len, &zero);
}

uint64_t shadow_discard_zeroed(unsigned version, bool has_backing,
                               uint64_t size, uint32_t cluster_size,
                               uint64_t off, uint64_t len, uint64_t *zoff)
{
    uint64_t c = cluster_size, end = off + len;
    uint64_t a = (off + c - 1) / c * c, b = end / c * c;

    *zoff = off;
    if ((version < 3 && has_backing) || len == 0)
        return 0; /* qcow2_co_pdiscard: -ENOTSUP, ignored by the block layer */
    /* the partial last cluster of an unaligned image, covered from its start */
    if (end == size && size % c && off <= size / c * c)
        b = size;
    if (a >= b)
        return 0;
    *zoff = a;
    return b - a;
}

int shadow_discard_begin(shadow *s, uint64_t req, uint64_t tag, uint64_t off,
                         uint64_t len)
{
    datagen_src zero = datagen_zero();
    uint64_t zoff, zlen;

    if (!sh_range_ok(s, off, len)) {
        s->now++;
        return -EINVAL;
    }
    zlen = shadow_discard_zeroed(s->version, s->bkind != SHADOW_BACKING_NONE,
                                 s->size, s->cluster_size, off, len, &zoff);
    return sh_begin(s, SH_OP_DISCARD, req, tag, zoff, zlen, &zero);
}

int shadow_write_end(shadow *s, uint64_t req, bool ok)
{
    uint64_t s0, s1;

    s->now++;
    int slot = sh_find_op(s, req);
    if (slot < 0)
        return -ENOENT;
    sh_op *op = &s->ops[slot];
    sh_end_ctx ctx = {(unsigned)slot, ok};
    sh_op_sectors(op, &s0, &s1);
    int r = sh_map_apply(s, s0, s1, sh_x_end, &ctx);
    if (r < 0)
        return r;
    op->active = false;
    s->active &= ~(1ull << slot);
    sh_val_unref(s, op->whole);
    op->whole = NULL;
    sh_map_coalesce(s, s0, s1);
    return 0;
}

/* ---- truncate ----------------------------------------------------------- */

/* Grow or shrink the model to new_size: growth reads zeroes (written by
 * request req, line tag), shrinking forgets the cut-off sectors. */
static int sh_resize(shadow *s, uint64_t req, uint64_t tag, uint64_t new_size)
{
    uint64_t oldn = sh_nsectors(s), newn = new_size / SH_SECTOR;
    sh_piece p = {0};
    sh_cset *cs;
    int r;

    if (newn <= oldn) {
        while (s->next > 0 && s->ext[s->next - 1].start >= newn)
            sh_cset_unref(s, s->ext[--s->next].cs);
        s->size = new_size;
        return 0;
    }
    p.origin = SHADOW_ORIGIN_REQUEST;
    p.src = datagen_zero();
    p.req = req;
    p.tag = tag;
    r = sh_reserve(s, (void **)&s->ext, &s->capext, s->next + 1,
                   sizeof(*s->ext));
    if (r < 0 || (r = sh_cset_single(s, &p, &cs)) < 0)
        return r;
    s->ext[s->next].start = oldn;
    s->ext[s->next].cs = cs;
    s->next++;
    s->size = new_size;
    sh_map_coalesce(s, oldn, oldn);
    return 0;
}

/* What a truncate may do, on any model: no overlay reads through it, the
 * size is whole sectors, nothing is in flight. */
static int sh_truncate_ok(const shadow *s, uint64_t new_size)
{
    if (s->users)
        return -EPERM;
    if (new_size % SH_SECTOR)
        return -EINVAL;
    if (s->active || s->nreads)
        return -EBUSY;
    return 0;
}

int shadow_truncate_begin(shadow *s, uint64_t req, uint64_t tag,
                          uint64_t new_size)
{
    s->now++;
    int r = sh_truncate_ok(s, new_size);
    if (r < 0)
        return r;
    if (new_size == s->size)
        return 0;
    for (unsigned i = 0; i < s->ntr_pend; i++)
        if (s->tr_pend[i].size == new_size)
            return 0;
    if (s->ntr_pend == SHADOW_MAX_PENDING_SIZES)
        return -EBUSY;
    s->tr_pend[s->ntr_pend].size = new_size;
    s->tr_pend[s->ntr_pend].req = req;
    s->tr_pend[s->ntr_pend].tag = tag;
    s->ntr_pend++;
    return 0;
}

int shadow_truncate(shadow *s, uint64_t req, uint64_t tag, uint64_t new_size)
{
    s->now++;
    int r = sh_truncate_ok(s, new_size);
    if (r < 0)
        return r;
    r = sh_resize(s, req, tag, new_size);
    if (r == 0)
        s->ntr_pend = 0; /* the new size is durable: nothing else comes back */
    return r;
}

int shadow_reopened(shadow *s, uint64_t size)
{
    s->now++;
    if (size == s->size) {
        s->ntr_pend = 0;
        return 0;
    }
    for (unsigned i = 0; i < s->ntr_pend; i++) {
        if (s->tr_pend[i].size != size)
            continue;
        int r = sh_truncate_ok(s, size);
        if (r == 0)
            r = sh_resize(s, s->tr_pend[i].req, s->tr_pend[i].tag, size);
        if (r == 0)
            s->ntr_pend = 0;
        return r;
    }
    return -ERANGE;
}

unsigned shadow_pending_sizes(const shadow *s, uint64_t *sizes, unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < s->ntr_pend && n < max; i++)
        sizes[n++] = s->tr_pend[i].size;
    return s->ntr_pend;
}

/* ---- flush and crash ---------------------------------------------------- */

int shadow_flush_begin(shadow *s, uint64_t req)
{
    s->now++;
    for (size_t i = 0; i < s->nflushes; i++)
        if (s->flushes[i].req == req)
            return -EEXIST;
    int r = sh_reserve(s, (void **)&s->flushes, &s->capflushes, s->nflushes + 1,
                       sizeof(*s->flushes));
    if (r < 0)
        return r;
    s->flushes[s->nflushes].req = req;
    s->flushes[s->nflushes].since = s->now;
    s->nflushes++;
    return 0;
}

int shadow_flush_end(shadow *s, uint64_t req, bool ok)
{
    size_t i = 0;

    s->now++;
    while (i < s->nflushes && s->flushes[i].req != req)
        i++;
    if (i == s->nflushes)
        return -ENOENT;
    /* everything current when it began is durable now */
    if (ok && s->flushes[i].since > s->durable)
        s->durable = s->flushes[i].since;
    s->flushes[i] = s->flushes[--s->nflushes];
    if (ok) /* frees memory only: crash and reads filter by time anyway */
        (void)sh_map_apply(s, 0, sh_nsectors(s), sh_x_prune, NULL);
    return 0;
}

int shadow_crash(shadow *s)
{
    s->now++;
    int r = sh_map_apply(s, 0, sh_nsectors(s), sh_x_crash, NULL);
    if (r < 0)
        return r;
    for (unsigned j = 0; j < SHADOW_MAX_INFLIGHT; j++) {
        if (s->active >> j & 1) {
            sh_val_unref(s, s->ops[j].whole);
            s->ops[j].active = false;
        }
    }
    s->active = 0;
    s->nreads = 0;
    s->nflushes = 0;
    s->durable = s->now; /* what is on the disk now is all there is */
    sh_map_coalesce(s, 0, sh_nsectors(s));
    return 0;
}

/* ---- introspection ------------------------------------------------------ */

void shadow_get_stats(const shadow *s, shadow_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->extents = s->next;
    st->bytes = s->bytes;
    for (size_t i = 0; i < s->next; i++) {
        const sh_cset *cs = s->ext[i].cs;
        if (cs->ncur > st->max_cands)
            st->max_cands = cs->ncur;
        if (sh_cset_undetermined(cs))
            st->undetermined += sh_ext_end(s, i) - s->ext[i].start;
    }
}

int shadow_check_invariants(shadow *s)
{
    return sh_map_check(s);
}
