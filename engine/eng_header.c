/*
 * eng_header.c - the qcow2 header: parse and validate it (open), build it
 * (create). Field layout and limits follow QEMU's docs/interop/qcow2.txt
 * and the checks of QEMU's qcow2_do_open.
 *
 * Invariants:
 *   - Parsing reads only inside buf[0, buf_len); every offset is checked
 *     before use, with overflow-safe arithmetic.
 *   - A table the engine will load (L1, refcount table) is bounded by the
 *     file size and by QEMU's limits, so no allocation is sized by an
 *     unchecked field.
 *   - Every refusal names the field (or feature) and its value.
 */
#include <stdarg.h>
#include <stdio.h>

#include "eng_internal.h"

uint64_t eng_size_to_l1(uint64_t size, unsigned cluster_bits)
{
    unsigned shift = cluster_bits + (cluster_bits - 3);
    uint64_t per = UINT64_C(1) << shift;
    return size / per + (size % per != 0);
}

/* Name of an incompatible feature bit from the feature name table, or
 * NULL. The table lies inside buf (checked by the caller). */
static const char *feature_name(const uint8_t *tab, uint32_t len, unsigned bit,
                                char *out, size_t out_len)
{
    for (uint32_t i = 0; tab && i + 48 <= len; i += 48) {
        if (tab[i] == 0 && tab[i + 1] == bit) {
            size_t n = strnlen((const char *)tab + i + 2, 46);
            if (n >= out_len)
                n = out_len - 1;
            memcpy(out, tab + i + 2, n);
            out[n] = 0;
            return out;
        }
    }
    return NULL;
}

static int check_incompat(uint64_t bits, const uint8_t *tab, uint32_t tab_len,
                          eng_error *err)
{
    static const struct { uint64_t bit; const char *what; } known[] = {
        {QCOW_INCOMPAT_DIRTY, "dirty bit set (refcounts need repair)"},
        {QCOW_INCOMPAT_CORRUPT, "corrupt bit set"},
        {QCOW_INCOMPAT_DATA_FILE, "external data file"},
        {QCOW_INCOMPAT_COMPRESSION, "compression type other than zlib"},
        {QCOW_INCOMPAT_EXTL2, "extended L2 entries"},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (bits & known[i].bit) {
            eng_err_set(err, "incompatible feature not supported: %s "
                        "(incompatible_features 0x%llx)", known[i].what,
                        (unsigned long long)bits);
            return -ENOTSUP;
        }
    }
    for (unsigned b = 0; b < 64; b++) {
        if (!(bits >> b & 1))
            continue;
        char name[48];
        const char *n = feature_name(tab, tab_len, b, name, sizeof(name));
        eng_err_set(err, "unknown incompatible feature bit %u (%s)", b,
                    n ? n : "unnamed");
        return -ENOTSUP;
    }
    return 0;
}

/* Header extensions in buf[start, end). Records the backing format and
 * the feature name table; refuses encryption and external data files. */
static int parse_extensions(const uint8_t *buf, size_t start, size_t end,
                            eng_header *h, const uint8_t **tab,
                            uint32_t *tab_len, eng_error *err)
{
    size_t off = start;
    while (off < end && end - off >= 8) {
        uint32_t type = eng_be32(buf + off);
        uint32_t len = eng_be32(buf + off + 4);
        off += 8;
        if (type == QCOW_EXT_END)
            return 0;
        if (len > end - off) {
            eng_err_set(err, "header extension 0x%08x: length %u exceeds the "
                        "header area", type, len);
            return -EINVAL;
        }
        switch (type) {
        case QCOW_EXT_BACKING_FMT:
            if (len >= sizeof(h->backing_fmt)) {
                eng_err_set(err, "backing format extension: length %u too "
                            "large", len);
                return -EINVAL;
            }
            memcpy(h->backing_fmt, buf + off, len);
            h->backing_fmt[len] = 0;
            break;
        case QCOW_EXT_FEATURES:
            *tab = buf + off;
            *tab_len = len;
            break;
        case QCOW_EXT_CRYPTO:
            eng_err_set(err, "encryption not supported (full disk encryption "
                        "header extension)");
            return -ENOTSUP;
        case QCOW_EXT_DATA_FILE:
            eng_err_set(err, "external data file not supported (data file "
                        "name extension)");
            return -ENOTSUP;
        default:
            break; /* bitmaps (autoclear) and unknown ones: ignored */
        }
        uint64_t step = eng_align_up(len, 8);
        if (step > end - off)
            return 0;
        off += (size_t)step;
    }
    return 0;
}

static void parse_fields(const uint8_t *b, eng_header *h)
{
    memset(h, 0, sizeof(*h));
    h->version = eng_be32(b + 4);
    h->backing_offset = eng_be64(b + 8);
    h->backing_len = eng_be32(b + 16);
    h->cluster_bits = eng_be32(b + 20);
    h->size = eng_be64(b + 24);
    h->crypt_method = eng_be32(b + 32);
    h->l1_size = eng_be32(b + 36);
    h->l1_offset = eng_be64(b + 40);
    h->rt_offset = eng_be64(b + 48);
    h->rt_clusters = eng_be32(b + 56);
    h->nb_snapshots = eng_be32(b + 60);
    h->snapshots_offset = eng_be64(b + 64);
    h->refcount_order = 4;
    h->header_length = QCOW_V2_HEADER_LEN;
}

static int parse_v3(const uint8_t *b, size_t buf_len, eng_header *h,
                    eng_error *err)
{
    uint64_t cs = UINT64_C(1) << h->cluster_bits;
    if (buf_len < QCOW_V3_HEADER_MIN) {
        eng_err_set(err, "file too short for a version 3 header (%zu bytes)",
                    buf_len);
        return -EINVAL;
    }
    h->incompat = eng_be64(b + 72);
    h->compat = eng_be64(b + 80);
    h->autoclear = eng_be64(b + 88);
    h->refcount_order = eng_be32(b + 96);
    h->header_length = eng_be32(b + 100);
    if (h->header_length < QCOW_V3_HEADER_MIN || h->header_length > cs ||
        h->header_length % 8 || h->header_length > buf_len) {
        eng_err_set(err, "header field header_length: %u invalid (must be a "
                    "multiple of 8 in [104, cluster size] within the file)",
                    h->header_length);
        return -EINVAL;
    }
    if (h->header_length > 104)
        h->compression_type = b[104];
    if (h->refcount_order > 6) {
        eng_err_set(err, "header field refcount_order: %u exceeds 6",
                    h->refcount_order);
        return -EINVAL;
    }
    if (h->compression_type != 0 &&
        !(h->incompat & QCOW_INCOMPAT_COMPRESSION)) {
        eng_err_set(err, "header field compression_type: %u without the "
                    "compression type feature bit", h->compression_type);
        return -EINVAL;
    }
    return 0;
}

static int check_table(const char *what, uint64_t off, uint64_t bytes,
                       uint64_t cs, uint64_t file_size, eng_error *err)
{
    if (off % cs) {
        eng_err_set(err, "header field %s_offset: 0x%llx not cluster aligned",
                    what, (unsigned long long)off);
        return -EINVAL;
    }
    if (bytes && (off == 0 || off > file_size || bytes > file_size - off)) {
        eng_err_set(err, "header field %s_offset: table at 0x%llx (%llu "
                    "bytes) lies outside the file (%llu bytes)", what,
                    (unsigned long long)off, (unsigned long long)bytes,
                    (unsigned long long)file_size);
        return -EINVAL;
    }
    return 0;
}

static int check_geometry(const eng_header *h, uint64_t file_size,
                          eng_error *err)
{
    uint64_t cs = UINT64_C(1) << h->cluster_bits;
    uint64_t need = eng_size_to_l1(h->size, h->cluster_bits);
    if ((uint64_t)h->l1_size * 8 > ENG_MAX_L1_BYTES) {
        eng_err_set(err, "header field l1_size: %u exceeds the limit of %llu "
                    "entries", h->l1_size,
                    (unsigned long long)(ENG_MAX_L1_BYTES / 8));
        return -EFBIG;
    }
    if (need > h->l1_size) {
        eng_err_set(err, "header field l1_size: %u too small for virtual size "
                    "%llu (needs %llu)", h->l1_size,
                    (unsigned long long)h->size, (unsigned long long)need);
        return -EINVAL;
    }
    int ret = check_table("l1_table", h->l1_offset, (uint64_t)h->l1_size * 8,
                          cs, file_size, err);
    if (ret < 0)
        return ret;
    if (h->rt_clusters == 0 ||
        (uint64_t)h->rt_clusters * cs > ENG_MAX_REFTABLE_BYTES) {
        eng_err_set(err, "header field refcount_table_clusters: %u invalid "
                    "(must be 1..%llu)", h->rt_clusters,
                    (unsigned long long)(ENG_MAX_REFTABLE_BYTES / cs));
        return -EINVAL;
    }
    return check_table("refcount_table", h->rt_offset,
                       (uint64_t)h->rt_clusters * cs, cs, file_size, err);
}

static int parse_backing(const uint8_t *buf, size_t buf_len, eng_header *h,
                         eng_error *err)
{
    if (h->backing_offset == 0)
        return 0;
    uint64_t limit = eng_min(buf_len, UINT64_C(1) << h->cluster_bits);
    if (h->backing_len > ENG_MAX_BACKING_NAME || h->backing_offset > limit ||
        h->backing_len > limit - h->backing_offset) {
        eng_err_set(err, "header field backing_file_offset/size: 0x%llx/%u "
                    "outside the header cluster or name too long",
                    (unsigned long long)h->backing_offset, h->backing_len);
        return -EINVAL;
    }
    memcpy(h->backing, buf + h->backing_offset, h->backing_len);
    h->backing[h->backing_len] = 0;
    if (strlen(h->backing) != h->backing_len) {
        eng_err_set(err, "header field backing_file_size: name contains a NUL "
                    "byte");
        return -EINVAL;
    }
    return 0;
}

static int check_basics(const uint8_t *buf, size_t buf_len, eng_header *h,
                        eng_error *err)
{
    if (buf_len < QCOW_V2_HEADER_LEN) {
        eng_err_set(err, "file too short for a qcow2 header (%zu bytes)",
                    buf_len);
        return -EINVAL;
    }
    if (eng_be32(buf) != QCOW_MAGIC) {
        eng_err_set(err, "header field magic: 0x%08x is not qcow2's",
                    eng_be32(buf));
        return -EINVAL;
    }
    parse_fields(buf, h);
    if (h->version != 2 && h->version != 3) {
        eng_err_set(err, "header field version: %u unsupported (2 or 3)",
                    h->version);
        return -ENOTSUP;
    }
    if (h->cluster_bits < ENG_MIN_CLUSTER_BITS ||
        h->cluster_bits > ENG_MAX_CLUSTER_BITS) {
        eng_err_set(err, "header field cluster_bits: %u outside 9..21",
                    h->cluster_bits);
        return -EINVAL;
    }
    return 0;
}

static int check_unsupported(const eng_header *h, eng_error *err)
{
    if (h->crypt_method) {
        eng_err_set(err, "encryption not supported (header field crypt_method "
                    "%u)", h->crypt_method);
        return -ENOTSUP;
    }
    /* QEMU validates the snapshot table's offset like every table's
     * (validate_table_offset), even when there are no snapshots */
    if (h->snapshots_offset & ((UINT64_C(1) << h->cluster_bits) - 1)) {
        eng_err_set(err, "header field snapshots_offset: 0x%llx is not "
                    "aligned to the cluster size",
                    (unsigned long long)h->snapshots_offset);
        return -EINVAL;
    }
    if (h->nb_snapshots) {
        eng_err_set(err, "internal snapshots not supported (header field "
                    "nb_snapshots %u)", h->nb_snapshots);
        return -ENOTSUP;
    }
    return 0;
}

int eng_header_parse(const uint8_t *buf, size_t buf_len, uint64_t file_size,
                     eng_header *h, eng_error *err)
{
    int ret = check_basics(buf, buf_len, h, err);
    if (ret == 0 && h->version == 3)
        ret = parse_v3(buf, buf_len, h, err);
    if (ret == 0)
        ret = check_unsupported(h, err);
    if (ret == 0)
        ret = parse_backing(buf, buf_len, h, err);
    if (ret < 0)
        return ret;
    const uint8_t *tab = NULL;
    uint32_t tab_len = 0;
    size_t ext_end = (size_t)eng_min(buf_len, UINT64_C(1) << h->cluster_bits);
    if (h->backing_offset && h->backing_offset > h->header_length)
        ext_end = (size_t)eng_min(ext_end, h->backing_offset);
    ret = parse_extensions(buf, h->header_length, ext_end, h, &tab, &tab_len,
                           err);
    if (ret == 0)
        ret = check_incompat(h->incompat, tab, tab_len, err);
    if (ret == 0)
        ret = check_geometry(h, file_size, err);
    return ret;
}

/* ---- building (create) ------------------------------------------------- */

static size_t put_ext(uint8_t *buf, size_t off, uint32_t type,
                      const void *data, uint32_t len)
{
    eng_put32(buf + off, type);
    eng_put32(buf + off + 4, len);
    memcpy(buf + off + 8, data, len);
    return off + 8 + (size_t)eng_align_up(len, 8);
}

/* QEMU's feature name table: type, bit, name (48 bytes each). */
static uint32_t build_features(uint8_t *t)
{
    static const struct { uint8_t type, bit; const char *name; } f[] = {
        {0, 0, "dirty bit"},         {0, 1, "corrupt bit"},
        {0, 2, "external data file"}, {0, 3, "compression type"},
        {0, 4, "extended L2 entries"}, {1, 0, "lazy refcounts"},
        {2, 0, "bitmaps"},           {2, 1, "raw external data"},
    };
    uint32_t n = sizeof(f) / sizeof(f[0]);
    for (uint32_t i = 0; i < n; i++) {
        t[i * 48] = f[i].type;
        t[i * 48 + 1] = f[i].bit;
        memcpy(t + i * 48 + 2, f[i].name, strlen(f[i].name));
    }
    return n * 48;
}

int eng_header_build(uint8_t *buf, size_t len, const eng_header *h)
{
    uint32_t hl = h->version == 3 ? QCOW_V3_HEADER_LEN : QCOW_V2_HEADER_LEN;
    size_t blen = strlen(h->backing), flen = strlen(h->backing_fmt);
    uint8_t feat[8 * 48] = {0};
    uint32_t feat_len = h->version == 3 ? build_features(feat) : 0;
    size_t need = hl + (flen ? 8 + eng_align_up(flen, 8) : 0) + 8 + blen;
    if (need + 8 + feat_len > len)
        feat_len = 0; /* the name table is optional: leave it out */
    if (need + (feat_len ? 8 + feat_len : 0) > len ||
        blen > ENG_MAX_BACKING_NAME)
        return -EINVAL;
    eng_put32(buf, QCOW_MAGIC);
    eng_put32(buf + 4, h->version);
    eng_put32(buf + 20, h->cluster_bits);
    eng_put64(buf + 24, h->size);
    eng_put32(buf + 36, h->l1_size);
    eng_put64(buf + 40, h->l1_offset);
    eng_put64(buf + 48, h->rt_offset);
    eng_put32(buf + 56, h->rt_clusters);
    if (h->version == 3) {
        eng_put32(buf + 96, h->refcount_order);
        eng_put32(buf + 100, hl);
    }
    size_t off = hl;
    if (blen && flen)
        off = put_ext(buf, off, QCOW_EXT_BACKING_FMT, h->backing_fmt,
                      (uint32_t)flen);
    if (feat_len)
        off = put_ext(buf, off, QCOW_EXT_FEATURES, feat, feat_len);
    off += 8; /* end-of-extensions marker: type 0, length 0 */
    if (blen) {
        memcpy(buf + off, h->backing, blen);
        eng_put64(buf + HDR_BACKING_OFF, off);
        eng_put32(buf + 16, (uint32_t)blen);
    }
    return 0;
}
