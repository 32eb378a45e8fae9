/*
 * checker.c - entry point of the qcow2 metadata checker, and the pieces every
 * phase shares: findings, reads bounded by the file, the reference list.
 *
 * chk_image() runs the phases in qemu-img check's order: header, header
 * cluster, L1 table and its L2 tables and data clusters, refcount table,
 * refcount blocks; then compares the references with the stored refcounts.
 *
 * Invariants:
 *   - every read of the image goes through chk_read(), which never asks the
 *     backend for a byte at or past EOF and fills those with zeroes (QEMU
 *     reads them as zeroes too);
 *   - a reference whose region ends one cluster or more past EOF is reported
 *     (CHK_OUT_OF_BOUNDS) and not counted, as QEMU does; only then can a
 *     cluster index be beyond the file, so ctx.limit stays within
 *     file clusters + 1 and every per-cluster loop is bounded by the file.
 * Ownership: the report belongs to the caller; the context's buffers are
 * freed before chk_image() returns.
 */
#include "checker_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void chk_found(chk_ctx *c, chk_kind kind, uint64_t count, uint64_t offset,
               const char *fmt, ...)
{
    chk_report *r = c->r;
    bool corruption = kind != CHK_LEAK && kind != CHK_UNSUPPORTED;

    if (kind == CHK_LEAK)
        r->leaks += count;
    else if (corruption)
        r->corruptions += count;
    else
        r->incomplete = true;
    if (r->n_findings >= CHK_MAX_FINDINGS)
        return;
    chk_finding *f = &r->findings[r->n_findings++];
    f->kind = kind;
    f->corruption = corruption;
    f->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
    va_end(ap);
}

int chk_read(chk_ctx *c, uint64_t off, void *buf, size_t len)
{
    size_t in = 0;

    if (off < c->flen)
        in = c->flen - off < len ? (size_t)(c->flen - off) : len;
    if (in) {
        int ret = host_pread(c->b, off, buf, in);
        if (ret < 0)
            return ret;
    }
    memset((uint8_t *)buf + in, 0, len - in);
    return 0;
}

/*
 * The index of the first non-zero 8-byte entry among buf's entries
 * [i, n), or n. Tables are mostly zero: whole groups of 8 zero entries
 * (64 bytes, a few vector loads) are skipped at once.
 */
static inline uint64_t chk_word(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

size_t chk_next_entry(const uint8_t *buf, size_t i, size_t n)
{
    for (; i + 8 <= n; i += 8) {
        const uint8_t *q = buf + i * 8; /* written out: see hd_first_nz */
        if ((chk_word(q) | chk_word(q + 8) | chk_word(q + 16) |
             chk_word(q + 24)) |
            (chk_word(q + 32) | chk_word(q + 40) | chk_word(q + 48) |
             chk_word(q + 56)))
            break;
    }
    for (; i < n; i++)
        if (chk_word(buf + i * 8))
            return i;
    return n;
}

/*
 * QEMU's rule (qcow2_inc_refcounts_imrt): the last cluster may be partly
 * past EOF, so a region is out of bounds only when it ends a whole cluster
 * or more past the end of the file.
 */
bool chk_past_eof(const chk_ctx *c, uint64_t off, uint64_t size)
{
    if (off > UINT64_MAX - size)
        return true;
    uint64_t end = off + size;
    return end >= c->flen && end - c->flen >= c->cs;
}

int chk_ref_add(chk_ctx *c, chk_what what, uint64_t where, uint64_t cluster,
                uint32_t mult, unsigned flags)
{
    if (c->n_refs == c->cap_refs) {
        size_t cap = c->cap_refs ? c->cap_refs * 2 : 256;
        if (cap > SIZE_MAX / sizeof(chk_ref))
            return -ENOMEM;
        chk_ref *n = realloc(c->refs, cap * sizeof(chk_ref));
        if (!n)
            return -ENOMEM;
        c->refs = n;
        c->cap_refs = cap;
    }
    c->refs[c->n_refs++] = (chk_ref){.cluster = cluster,
                                     .where = where,
                                     .mult = mult,
                                     .what = (uint8_t)what,
                                     .flags = (uint8_t)flags};
    if ((flags & CHK_RF_COUNTED) && cluster >= c->limit)
        c->limit = cluster + 1;
    return 0;
}

const char *chk_what_name(chk_what w)
{
    static const char *const names[] = {
        [CHK_REF_HEADER] = "header",
        [CHK_REF_L1] = "L1 table",
        [CHK_REF_L2] = "L2 table",
        [CHK_REF_DATA] = "data cluster",
        [CHK_REF_COMPRESSED] = "compressed cluster",
        [CHK_REF_REFTABLE] = "refcount table",
        [CHK_REF_REFBLOCK] = "refcount block",
    };
    return (unsigned)w < sizeof(names) / sizeof(names[0]) ? names[w] : "?";
}

/*
 * Count one reference to every cluster [off, off + size) touches, as QEMU
 * does (an unaligned cluster-sized region touches two). A region that ends a
 * cluster or more past EOF is reported and not counted; if it carries
 * CHK_RF_OFLAG, one uncounted record keeps it in the OFLAG_COPIED check.
 */
int chk_ref_region(chk_ctx *c, chk_what what, uint64_t where, uint64_t off,
                   uint64_t size, uint32_t mult, unsigned flags)
{
    if (size == 0)
        return 0;
    if (chk_past_eof(c, off, size)) {
        chk_found(c, CHK_OUT_OF_BOUNDS, mult, where,
                  "%s at 0x%llx (0x%llx bytes) lies past the end of the file "
                  "(0x%llx)",
                  chk_what_name(what), (unsigned long long)off,
                  (unsigned long long)size, (unsigned long long)c->flen);
        if (flags & CHK_RF_OFLAG)
            return chk_ref_add(c, what, where, off >> c->cluster_bits, mult,
                               flags & ~CHK_RF_COUNTED);
        return 0;
    }
    uint64_t first = off >> c->cluster_bits;
    uint64_t last = (off + size - 1) >> c->cluster_bits;
    for (uint64_t k = first; k <= last; k++) {
        int ret = chk_ref_add(c, what, where, k, mult, flags | CHK_RF_COUNTED);
        if (ret < 0)
            return ret;
        flags &= ~CHK_RF_OFLAG;
    }
    return 0;
}

/*
 * The per-run buffers, allocated once the header gave the geometry: the
 * table buffer (a cluster, and at least CHK_MIN_BUF so that tables of small
 * clusters are read in few calls) and the reference list, sized for one
 * reference per cluster of the file (it grows past that only on images
 * whose clusters are referenced several times: corrupt ones).
 */
#define CHK_MIN_BUF ((size_t)64 << 10)
#define CHK_MAX_FIRST_REFS ((size_t)1 << 16)

static int chk_alloc(chk_ctx *c)
{
    c->cbuf_len = c->cs > CHK_MIN_BUF ? (size_t)c->cs : CHK_MIN_BUF;
    c->cbuf = malloc(c->cbuf_len);
    c->cap_refs = c->limit < CHK_MAX_FIRST_REFS - 64 ? (size_t)c->limit + 64
                                                     : CHK_MAX_FIRST_REFS;
    c->refs = malloc(c->cap_refs * sizeof(chk_ref));
    if (!c->refs)
        c->cap_refs = 0;
    return c->cbuf && c->refs ? 0 : -ENOMEM;
}

static int chk_run(chk_ctx *c)
{
    int ret = chk_header(c);
    if (ret != 0)
        return ret;
    c->limit = (c->flen >> c->cluster_bits) + ((c->flen & (c->cs - 1)) != 0);
    ret = chk_alloc(c);
    if (ret == 0)
        ret = chk_load_reftable(c);
    if (ret == 0)
        ret = chk_ref_region(c, CHK_REF_HEADER, 0, 0, c->cs, 1, 0);
    if (ret == 0)
        ret = chk_walk_l1(c);
    if (ret == 0)
        ret = chk_ref_region(c, CHK_REF_REFTABLE, 48, c->rt_offset,
                             c->rt_entries * 8, 1, 0);
    if (ret == 0)
        ret = chk_walk_reftable(c);
    if (ret == 0)
        ret = chk_compare(c);
    return ret;
}

int chk_image(host_backend *b, chk_report *r)
{
    chk_ctx c;

    memset(r, 0, sizeof(*r));
    memset(&c, 0, sizeof(c));
    c.b = b;
    c.r = r;
    c.flen = host_size(b);

    int ret = chk_run(&c);
    if (ret < 0)
        r->incomplete = true;
    free(c.rt);
    free(c.cbuf);
    free(c.refs);
    return ret < 0 ? ret : 0;
}

const char *chk_kind_name(chk_kind k)
{
    static const char *const names[CHK_KIND_COUNT] = {
        [CHK_HEADER] = "header",
        [CHK_L1_ENTRY] = "l1-entry",
        [CHK_L2_ENTRY] = "l2-entry",
        [CHK_REFTABLE_ENTRY] = "reftable-entry",
        [CHK_REFCOUNT_LOW] = "refcount-low",
        [CHK_LEAK] = "leak",
        [CHK_OFLAG_COPIED] = "oflag-copied",
        [CHK_OUT_OF_BOUNDS] = "out-of-bounds",
        [CHK_MISALIGNED] = "misaligned",
        [CHK_OVERLAP] = "overlap",
        [CHK_UNSUPPORTED] = "unsupported",
    };
    return (unsigned)k < CHK_KIND_COUNT ? names[k] : "?";
}

/* An snprintf-style appender: pos counts what the whole text needs. */
typedef struct chk_out {
    char *buf;
    size_t len, pos;
} chk_out;

static void __attribute__((format(printf, 2, 3)))
chk_put(chk_out *o, const char *fmt, ...)
{
    char dummy[1];
    char *at = o->pos < o->len ? o->buf + o->pos : dummy;
    size_t room = o->pos < o->len ? o->len - o->pos : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(at, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->pos += (size_t)n;
}

int chk_format(const chk_report *r, char *buf, size_t len)
{
    chk_out o = {buf, buf ? len : 0, 0};

    if (o.len)
        buf[0] = '\0';
    for (size_t i = 0; i < r->n_findings && i < CHK_MAX_FINDINGS; i++) {
        const chk_finding *f = &r->findings[i];
        if (f->kind == CHK_LEAK) /* the message starts "cluster N" */
            chk_put(&o, "Leaked %s\n", f->msg);
        else if (!f->corruption)
            chk_put(&o, "Unsupported: %s\n", f->msg);
        else
            chk_put(&o, "ERROR %s: %s\n", chk_kind_name(f->kind), f->msg);
    }
    if (!r->corruptions && !r->leaks && !r->incomplete)
        chk_put(&o, "No errors were found on the image.\n");
    if (r->corruptions)
        chk_put(&o,
                "\n%llu errors were found on the image.\n"
                "Data may be corrupted, or further writes to the image may "
                "corrupt it.\n",
                (unsigned long long)r->corruptions);
    if (r->leaks)
        chk_put(&o,
                "\n%llu leaked clusters were found on the image.\n"
                "This means waste of disk space, but no harm to data.\n",
                (unsigned long long)r->leaks);
    if (r->incomplete)
        chk_put(&o, "\nThe check could not be completed.\n");
    if (r->virtual_clusters)
        chk_put(&o, "%llu/%llu = %.2f%% allocated clusters\n",
                (unsigned long long)r->allocated_clusters,
                (unsigned long long)r->virtual_clusters,
                100.0 * (double)r->allocated_clusters /
                    (double)r->virtual_clusters);
    if (r->image_end)
        chk_put(&o, "Image end offset: %llu\n",
                (unsigned long long)r->image_end);
    return o.pos > (size_t)INT_MAX ? INT_MAX : (int)o.pos;
}

int chk_exit_code(const chk_report *r)
{
    if (r->incomplete)
        return 1;
    if (r->corruptions)
        return 2;
    return r->leaks ? 3 : 0;
}
