/*
 * eng_open.c - opening, closing and describing an image, plus the small
 * helpers every module uses for host I/O, events, the lock and errors.
 *
 * Invariants:
 *   - An eng owns its L1 and refcount tables, its caches and its backing
 *     engine; it does not own its image eng_file, and hands backing files
 *     back through opts.close_backing.
 *   - Open reads nothing whose size comes from an unchecked field: the
 *     header parser bounds both tables by the file size first.
 *   - Every event precedes the host I/O it names; an error the event hook
 *     returns is that I/O's result (the I/O is then not performed).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "eng_internal.h"

/* ---- helpers ----------------------------------------------------------- */

void eng_set_err(eng *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->last_err, sizeof(e->last_err), fmt, ap);
    va_end(ap);
}

void eng_err_set(eng_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

int eng_co_ev(eng *e, eng_event ev)
{
    if (ev == ENG_EV_COUNT || !e->rt.co_event)
        return 0;
    int ret = e->rt.co_event(e->rt.opaque, ev);
    return ret < 0 ? ret : 0;
}

int eng_co_hread(eng *e, eng_event ev, uint64_t off, void *buf, size_t len)
{
    int ret = eng_co_ev(e, ev);
    if (ret == 0)
        ret = e->file->ops->co_pread(e->file, off, buf, len);
    return ret;
}

int eng_co_hwrite(eng *e, eng_event ev, uint64_t off, const void *buf,
                  size_t len)
{
    int ret = eng_co_ev(e, ev);
    if (ret == 0)
        ret = e->file->ops->co_pwrite(e->file, off, buf, len);
    return ret;
}

int eng_co_hflush(eng *e)
{
    return e->file->ops->co_flush(e->file);
}

int eng_co_hwrite_sync(eng *e, eng_event ev, uint64_t off, const void *buf,
                       size_t len)
{
    int ret = eng_co_hwrite(e, ev, off, buf, len);
    if (ret == 0)
        ret = eng_co_hflush(e);
    return ret;
}

void eng_co_lock(eng *e)
{
    eng_comutex_co_lock(&e->rt, &e->lock);
}

void eng_unlock(eng *e)
{
    /* nothing pinned survives the lock: others may evict anything */
    assert(eng_cache_refs(e->l2_cache) == 0);
    assert(eng_cache_refs(e->rb_cache) == 0);
    eng_comutex_unlock(&e->rt, &e->lock);
}

bool eng_mutant_on(const eng *e, eng_mutant m)
{
    return (e->mutants & ENG_MUTANT_BIT(m)) != 0;
}

int eng_co_write_caches(eng *e)
{
    /* L2 first: a dependency on the refcount cache flushes that first */
    int ret = eng_cache_co_write(e->l2_cache);
    if (ret == 0)
        ret = eng_cache_co_write(e->rb_cache);
    return ret;
}

const char *eng_last_error(const eng *e)
{
    return e->last_err;
}

/* ---- open -------------------------------------------------------------- */

static int read_table(eng *e, eng_event ev, uint64_t off, uint64_t n,
                      uint64_t **out)
{
    uint64_t *t = calloc(n ? n : 1, sizeof(uint64_t));
    if (!t)
        return -ENOMEM;
    int ret = n ? eng_co_hread(e, ev, off, t, n * 8) : 0;
    if (ret < 0) {
        free(t);
        return ret;
    }
    for (uint64_t i = 0; i < n; i++)
        t[i] = eng_be64((const uint8_t *)&t[i]);
    *out = t;
    return 0;
}

static int read_header_co(eng *e, eng_header *h, eng_error *err)
{
    uint64_t fsize = e->file->ops->size(e->file);
    uint8_t first[512];
    int ret = eng_co_hread(e, ENG_EV_COUNT, 0, first, sizeof(first));
    if (ret < 0) {
        eng_err_set(err, "reading the header: error %d", ret);
        return ret;
    }
    size_t len = (size_t)eng_min(fsize, sizeof(first));
    unsigned cb = len >= 24 ? eng_be32(first + 20) : 0;
    if (len < QCOW_V2_HEADER_LEN || cb < ENG_MIN_CLUSTER_BITS ||
        cb > ENG_MAX_CLUSTER_BITS)
        return eng_header_parse(first, len, fsize, h, err); /* names it */
    len = (size_t)eng_min(fsize, UINT64_C(1) << cb);
    uint8_t *buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    ret = eng_co_hread(e, ENG_EV_COUNT, 0, buf, len);
    if (ret == 0)
        ret = eng_header_parse(buf, len, fsize, h, err);
    else
        eng_err_set(err, "reading the header: error %d", ret);
    free(buf);
    return ret;
}

static void apply_header(eng *e, const eng_header *h)
{
    e->version = h->version;
    e->cluster_bits = h->cluster_bits;
    e->cluster_size = UINT64_C(1) << h->cluster_bits;
    e->l2_bits = h->cluster_bits - 3;
    e->refcount_order = h->refcount_order;
    e->rb_bits = h->cluster_bits + 3 - h->refcount_order;
    e->size = h->size;
    e->incompat = h->incompat;
    e->compat = h->compat;
    e->autoclear = h->autoclear;
    e->l1_size = h->l1_size;
    e->l1_offset = h->l1_offset;
    e->rt_offset = h->rt_offset;
    e->rt_clusters = h->rt_clusters;
    e->rt_entries = (uint64_t)h->rt_clusters * e->cluster_size / 8;
    memcpy(e->backing, h->backing, sizeof(e->backing));
    memcpy(e->backing_fmt, h->backing_fmt, sizeof(e->backing_fmt));
}

/* Tables, caches, the autoclear bits. */
static int load_co(eng *e, const eng_open_opts *o, eng_error *err)
{
    int ret = read_table(e, ENG_EV_COUNT, e->l1_offset, e->l1_size, &e->l1);
    if (ret == 0)
        ret = read_table(e, ENG_EV_REFTABLE_LOAD, e->rt_offset, e->rt_entries,
                         &e->rt_table);
    if (ret < 0) {
        eng_err_set(err, "reading the L1 or refcount table: error %d", ret);
        return ret;
    }
    unsigned l2n = o->l2_cache_tables ? o->l2_cache_tables : ENG_DEFAULT_L2_CACHE;
    unsigned rbn = o->refblock_cache_blocks ? o->refblock_cache_blocks
                                            : ENG_DEFAULT_RB_CACHE;
    e->l2_cache = eng_cache_create(e, ENG_CACHE_L2, l2n);
    e->rb_cache = eng_cache_create(e, ENG_CACHE_REFBLOCK, rbn);
    if (!e->l2_cache || !e->rb_cache)
        return -ENOMEM;
    if (!e->read_only && e->autoclear) {
        /* features we do not maintain must be cleared when we write */
        uint8_t zero[8] = {0};
        ret = eng_co_hwrite_sync(e, ENG_EV_COUNT, HDR_AUTOCLEAR_OFF, zero, 8);
        if (ret < 0) {
            eng_err_set(err, "clearing autoclear features: error %d", ret);
            return ret;
        }
        e->autoclear = 0;
    }
    return 0;
}

static void free_eng(eng *e)
{
    eng_cache_destroy(e->l2_cache);
    eng_cache_destroy(e->rb_cache);
    eng_cow_pool_free(e);
    eng_bounce_release(e);
    free(e->l1);
    free(e->rt_table);
    free(e);
}

int eng_open_depth_co(const eng_runtime *rt, eng_file *f,
                      const eng_open_opts *o, int depth, eng **out,
                      eng_error *err)
{
    static const eng_open_opts none;
    *out = NULL;
    if (!o)
        o = &none;
    eng *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->rt = *rt;
    if (depth > 0)
        e->rt.co_event = NULL; /* the image under test announces, not its
                                  backing files */
    e->file = f;
    e->opts = *o;
    e->mutants = depth > 0 ? 0 : o->mutants;
    e->read_only = o->read_only || depth > 0;
    eng_header h;
    int ret = read_header_co(e, &h, err);
    if (ret == 0) {
        apply_header(e, &h);
        ret = load_co(e, o, err);
    }
    if (ret == 0)
        ret = eng_backing_co_open(e, depth, err);
    if (ret < 0) {
        free_eng(e);
        return ret;
    }
    *out = e;
    return 0;
}

int eng_co_open(const eng_runtime *rt, eng_file *f, const eng_open_opts *o,
                eng **out, eng_error *err)
{
    if (err)
        err->msg[0] = 0;
    return eng_open_depth_co(rt, f, o, 0, out, err);
}

int eng_co_close(eng *e)
{
    int ret = 0;
    eng_bounce_co_drain(e); /* detached reads write into our buffers */
    if (!e->read_only)
        ret = eng_co_flush(e);
    assert(!e->allocs && !e->busy && !e->lock.locked);
    eng_backing_close(e);
    free_eng(e);
    return ret;
}

void eng_destroy(eng *e)
{
    if (!e)
        return;
    eng_backing_close(e);
    free_eng(e);
}

void eng_get_info(const eng *e, eng_info *out)
{
    memset(out, 0, sizeof(*out));
    out->virtual_size = e->size;
    out->version = e->version;
    out->cluster_bits = e->cluster_bits;
    out->refcount_bits = 1u << e->refcount_order;
    out->l1_size = e->l1_size;
    out->l1_offset = e->l1_offset;
    out->refcount_table_offset = e->rt_offset;
    out->refcount_table_clusters = e->rt_clusters;
    snprintf(out->backing, sizeof(out->backing), "%s", e->backing);
    snprintf(out->backing_fmt, sizeof(out->backing_fmt), "%s", e->backing_fmt);
}
