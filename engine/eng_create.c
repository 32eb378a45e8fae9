/*
 * eng_create.c - writing a fresh, empty image (QEMU's layout: header in
 * cluster 0, then the refcount table, the refcount blocks, the L1 table).
 *
 * Invariants:
 *   - Every metadata cluster the image starts with is counted exactly once
 *     and nothing else is: a new image is clean for `qemu-img check`.
 *   - The file's length covers the L1 table (zeroes), so that it lies
 *     inside the file; only the sectors of metadata that are not zero are
 *     written (QEMU's create, too, writes just what it must).
 *   - Nothing is allocated from an unchecked option: the L1 size is bounded
 *     by QEMU's limit before anything is built.
 */
#include <stdlib.h>

#include "eng_internal.h"

typedef struct layout {
    unsigned cb;
    uint64_t cs, l1_size, l1c, rtc, nrb, total;
} layout;

static int check_opts(const eng_create_opts *o, unsigned *cb, unsigned *ver,
                      unsigned *order, eng_error *err)
{
    *cb = o->cluster_bits ? o->cluster_bits : 16;
    *ver = o->version ? o->version : 3;
    unsigned bits = o->refcount_bits ? o->refcount_bits : 16;
    *order = 0;
    while (*order < 7 && (1u << *order) != bits)
        (*order)++;
    if (*cb < ENG_MIN_CLUSTER_BITS || *cb > ENG_MAX_CLUSTER_BITS) {
        eng_err_set(err, "cluster_bits %u outside 9..21", *cb);
        return -EINVAL;
    }
    if (*ver != 2 && *ver != 3) {
        eng_err_set(err, "version %u unsupported (2 or 3)", *ver);
        return -EINVAL;
    }
    if (*order > 6 || (*ver == 2 && bits != 16)) {
        eng_err_set(err, "refcount_bits %u invalid for version %u", bits, *ver);
        return -EINVAL;
    }
    if (o->size % 512) {
        eng_err_set(err, "size %llu is not a multiple of 512",
                    (unsigned long long)o->size);
        return -EINVAL;
    }
    if (eng_size_to_l1(o->size, *cb) * 8 > ENG_MAX_L1_BYTES) {
        eng_err_set(err, "size %llu too large for %u-byte clusters",
                    (unsigned long long)o->size, 1u << *cb);
        return -EFBIG;
    }
    return 0;
}

static int check_backing(const eng_create_opts *o, eng_error *err)
{
    const char *fmt = o->backing_fmt;
    if (o->backing && strlen(o->backing) > ENG_MAX_BACKING_NAME) {
        eng_err_set(err, "backing file name longer than %u bytes",
                    ENG_MAX_BACKING_NAME);
        return -EINVAL;
    }
    if (fmt && (!o->backing || (strcmp(fmt, "qcow2") && strcmp(fmt, "raw")))) {
        eng_err_set(err, "backing format %s invalid (qcow2 or raw, with a "
                    "backing file)", fmt);
        return -EINVAL;
    }
    return 0;
}

/* Refcount table and blocks sized to count everything, themselves too. */
static void plan(layout *l, uint64_t size, unsigned order)
{
    l->cs = UINT64_C(1) << l->cb;
    l->l1_size = eng_size_to_l1(size, l->cb);
    l->l1c = (l->l1_size * 8 + l->cs - 1) / l->cs;
    uint64_t rbe = l->cs * 8 >> order;
    l->nrb = l->rtc = 1;
    for (;;) {
        l->total = 1 + l->rtc + l->nrb + l->l1c;
        uint64_t nrb = (l->total + rbe - 1) / rbe;
        uint64_t rtc = (nrb * 8 + l->cs - 1) / l->cs;
        if (nrb == l->nrb && rtc == l->rtc)
            break;
        l->nrb = nrb;
        l->rtc = rtc;
    }
}

/* The metadata of a new image, only as far as it is not zero: the start
 * of the header cluster, of the refcount table and of the refcount
 * blocks, each a whole number of 512-byte sectors. One allocation (buf)
 * owns all three. */
typedef struct meta_parts {
    uint8_t *buf, *hdr, *rt, *rb;
    uint64_t hdr_len, rt_len, rb_len;
} meta_parts;

/* Build the parts. The header gets at most 4 KiB: all it can hold (with
 * a 1023-byte backing name and every extension) fits well below that, so
 * it fits in a cluster exactly when it fits there. */
static int build_meta(const layout *l, const eng_header *h, unsigned order,
                      meta_parts *p)
{
    p->hdr_len = eng_min(l->cs, 4096);
    p->rt_len = eng_align_up(l->nrb * 8, 512);
    p->rb_len = eng_align_up(((l->total << order) + 7) / 8, 512);
    p->buf = calloc(1, p->hdr_len + p->rt_len + p->rb_len);
    if (!p->buf)
        return -ENOMEM;
    p->hdr = p->buf;
    p->rt = p->hdr + p->hdr_len;
    p->rb = p->rt + p->rt_len;
    int ret = eng_header_build(p->hdr, p->hdr_len, h);
    if (ret < 0)
        return ret;
    for (uint64_t i = 0; i < l->nrb; i++)
        eng_put64(p->rt + i * 8, (1 + l->rtc + i) << l->cb);
    for (uint64_t c = 0; c < l->total; c++)
        eng_rb_set(order, p->rb, c, 1); /* blocks are contiguous */
    return 0;
}

/* Bytes of buf[0, len) up to its last non-zero byte, rounded up to whole
 * 512-byte sectors. */
static uint64_t used_sectors(const uint8_t *buf, uint64_t len)
{
    while (len && !buf[len - 1])
        len--;
    return eng_align_up(len, 512);
}

/*
 * Write the new image over f: first the file gets its final length
 * (growing it by truncation adds zeroes, as a fresh file reads zeroes
 * past its end), then only the sectors of metadata that hold something.
 * The L1 table is all zeroes and is not written at all. The bytes are
 * those of writing every metadata cluster in full.
 */
static int write_meta_co(eng_file *f, const layout *l, const meta_parts *p)
{
    uint64_t l1_off = (1 + l->rtc + l->nrb) * l->cs;
    int ret = f->ops->co_truncate(f, 0);
    if (ret == 0)
        ret = f->ops->co_truncate(f, l1_off + l->l1c * l->cs);
    if (ret == 0)
        ret = f->ops->co_pwrite(f, 0, p->hdr, used_sectors(p->hdr, p->hdr_len));
    if (ret == 0)
        ret = f->ops->co_pwrite(f, l->cs, p->rt, p->rt_len);
    if (ret == 0)
        ret = f->ops->co_pwrite(f, (1 + l->rtc) * l->cs, p->rb, p->rb_len);
    return ret;
}

int eng_co_create(const eng_runtime *rt, eng_file *f,
                  const eng_create_opts *o, eng_error *err)
{
    (void)rt; /* creation announces no events */
    layout l;
    unsigned ver, order;
    if (err)
        err->msg[0] = 0;
    int ret = check_opts(o, &l.cb, &ver, &order, err);
    if (ret == 0)
        ret = check_backing(o, err);
    if (ret < 0)
        return ret;
    plan(&l, o->size, order);
    eng_header h = {
        .version = ver, .cluster_bits = l.cb, .size = o->size,
        .l1_size = (uint32_t)l.l1_size,
        .l1_offset = (1 + l.rtc + l.nrb) << l.cb,
        .rt_offset = l.cs, .rt_clusters = (uint32_t)l.rtc,
        .refcount_order = order,
    };
    if (o->backing)
        strcpy(h.backing, o->backing);
    if (o->backing && o->backing_fmt)
        strcpy(h.backing_fmt, o->backing_fmt);
    meta_parts p = {0};
    ret = build_meta(&l, &h, order, &p);
    if (ret == -EINVAL)
        eng_err_set(err, "header and backing name do not fit in a cluster");
    if (ret == 0)
        ret = write_meta_co(f, &l, &p);
    if (ret == 0)
        ret = f->ops->co_flush(f);
    if (ret < 0 && !err->msg[0])
        eng_err_set(err, "writing the new image: error %d", ret);
    free(p.buf);
    return ret;
}
