/*
 * checker_header.c - the header phase of the qcow2 checker: fields, feature
 * bits and header extensions (docs/interop/qcow2.txt, "Header").
 *
 * It refuses what QEMU refuses at open (qcow2_do_open, qcow2_read_extensions):
 * such a finding is a CHK_HEADER corruption and stops the check with
 * incomplete set, since nothing past a bad header can be trusted. Features
 * the checker cannot judge stop it as CHK_UNSUPPORTED. A few problems QEMU
 * tolerates are reported and the check goes on (header_length not a multiple
 * of 8, the corrupt bit, a backing file name overlapping the header).
 *
 * Invariant on return 0: the geometry in the context is valid (see
 * checker_int.h) and within QEMU's limits, so later phases may size buffers
 * from it.
 */
#include "checker_int.h"

#include <limits.h>
#include <stdint.h>

#define CHK_MAGIC 0x514649fbULL /* "QFI\xfb" */
#define CHK_HDR_READ 112        /* v3 header + compression type, padded */

#define CHK_INCOMPAT_DIRTY (1ULL << 0)
#define CHK_INCOMPAT_CORRUPT (1ULL << 1)
#define CHK_INCOMPAT_DATA_FILE (1ULL << 2)
#define CHK_INCOMPAT_COMPRESSION (1ULL << 3)
#define CHK_INCOMPAT_EXTL2 (1ULL << 4)
#define CHK_INCOMPAT_KNOWN 0x1fULL
#define CHK_AUTOCLEAR_BITMAPS (1ULL << 0)
#define CHK_AUTOCLEAR_DATA_FILE_RAW (1ULL << 1)

#define CHK_EXT_END 0x00000000u
#define CHK_EXT_BACKING_FORMAT 0xe2792acau
#define CHK_EXT_CRYPTO 0x0537be77u
#define CHK_EXT_BITMAPS 0x23852875u

/* Report a header finding that stops the check; evaluates to 1. */
#define CHK_STOP(c, kind, off, ...)                                            \
    (chk_found((c), (kind), 1, (off), __VA_ARGS__), (c)->r->incomplete = true, \
     1)

/* The header fields the phase needs besides the context's geometry. */
typedef struct chk_hdr {
    uint64_t header_length, incompat, autoclear, snapshots_offset;
    uint32_t crypt, nb_snapshots, rt_clusters;
    unsigned compression_type;
} chk_hdr;

static int chk_basics(chk_ctx *c, const uint8_t *h)
{
    uint64_t magic = chk_be(h, 4);
    if (magic != CHK_MAGIC)
        return CHK_STOP(c, CHK_HEADER, 0,
                        "magic: 0x%08llx is not QFI\\xfb (0x514649fb)",
                        (unsigned long long)magic);
    uint64_t version = chk_be(h + 4, 4);
    if (version != 2 && version != 3)
        return CHK_STOP(c, CHK_HEADER, 4, "version: %llu is not 2 or 3",
                        (unsigned long long)version);
    uint64_t bits = chk_be(h + 20, 4);
    if (bits < 9 || bits > 21)
        return CHK_STOP(c, CHK_HEADER, 20,
                        "cluster_bits: %llu is outside 9..21",
                        (unsigned long long)bits);
    c->version = (unsigned)version;
    c->cluster_bits = (unsigned)bits;
    c->cs = 1ULL << bits;
    c->r->version = c->version;
    c->r->cluster_bits = c->cluster_bits;
    return 0;
}

static int chk_v3_fields(chk_ctx *c, const uint8_t *h, chk_hdr *f)
{
    if (c->version == 2) {
        f->header_length = 72;
        c->refcount_order = 4;
        return 0;
    }
    f->incompat = chk_be(h + 72, 8);
    f->autoclear = chk_be(h + 88, 8);
    uint64_t order = chk_be(h + 96, 4);
    f->header_length = chk_be(h + 100, 4);
    if (f->header_length < 104)
        return CHK_STOP(c, CHK_HEADER, 100,
                        "header_length: %llu is below 104 for version 3",
                        (unsigned long long)f->header_length);
    if (f->header_length > c->cs)
        return CHK_STOP(c, CHK_HEADER, 100,
                        "header_length: %llu exceeds the cluster size %llu",
                        (unsigned long long)f->header_length,
                        (unsigned long long)c->cs);
    if (f->header_length % 8)
        chk_found(c, CHK_HEADER, 1, 100,
                  "header_length: %llu is not a multiple of 8",
                  (unsigned long long)f->header_length);
    if (order > 6)
        return CHK_STOP(c, CHK_HEADER, 96, "refcount_order: %llu exceeds 6",
                        (unsigned long long)order);
    c->refcount_order = (unsigned)order;
    if (f->header_length > 104)
        f->compression_type = h[104];
    return 0;
}

/* Incompatible and autoclear feature bits. */
static int chk_features(chk_ctx *c, const chk_hdr *f)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } unsupported[] = {
        {CHK_INCOMPAT_DATA_FILE, "external data file"},
        {CHK_INCOMPAT_COMPRESSION, "compression type"},
        {CHK_INCOMPAT_EXTL2, "extended L2 entries"},
    };
    int stop = 0;

    c->r->dirty = (f->incompat & CHK_INCOMPAT_DIRTY) != 0;
    /* Stricter than qemu-img check: an image that says it is corrupt is. */
    if (f->incompat & CHK_INCOMPAT_CORRUPT)
        chk_found(c, CHK_HEADER, 1, 72,
                  "incompatible_features: 0x%llx has the corrupt bit set",
                  (unsigned long long)f->incompat);
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (f->incompat & unsupported[i].bit)
            stop = CHK_STOP(
                c, CHK_UNSUPPORTED, 72, "incompatible_features: 0x%llx: %s",
                (unsigned long long)f->incompat, unsupported[i].name);
    if (f->incompat & ~CHK_INCOMPAT_KNOWN)
        stop =
            CHK_STOP(c, CHK_HEADER, 72,
                     "incompatible_features: 0x%llx has unknown bits 0x%llx",
                     (unsigned long long)f->incompat,
                     (unsigned long long)(f->incompat & ~CHK_INCOMPAT_KNOWN));
    if (stop)
        return stop;
    if ((f->autoclear & CHK_AUTOCLEAR_DATA_FILE_RAW))
        return CHK_STOP(c, CHK_HEADER, 88,
                        "autoclear_features: 0x%llx: raw data file bit "
                        "without an external data file",
                        (unsigned long long)f->autoclear);
    if (f->compression_type != 0)
        return CHK_STOP(c, CHK_HEADER, 104,
                        "compression_type: %u without the compression type "
                        "feature bit",
                        f->compression_type);
    return 0;
}

/* crypt_method, nb_snapshots, backing file name. */
static int chk_misc_fields(chk_ctx *c, const chk_hdr *f)
{
    if (f->crypt > 2)
        return CHK_STOP(c, CHK_HEADER, 32, "crypt_method: %u is not 0, 1 or 2",
                        (unsigned)f->crypt);
    if (f->crypt)
        return CHK_STOP(c, CHK_UNSUPPORTED, 32, "crypt_method: %u: encryption",
                        (unsigned)f->crypt);
    if (f->nb_snapshots)
        return CHK_STOP(c, CHK_UNSUPPORTED, 60,
                        "nb_snapshots: %u: internal snapshots",
                        (unsigned)f->nb_snapshots);
    if (c->backing_offset > c->cs)
        return CHK_STOP(c, CHK_HEADER, 8,
                        "backing_file_offset: 0x%llx is past the first cluster",
                        (unsigned long long)c->backing_offset);
    if (!c->backing_offset)
        return 0;
    uint64_t room = c->cs - c->backing_offset;
    if (c->backing_size > 1023 || c->backing_size > room)
        return CHK_STOP(c, CHK_HEADER, 16,
                        "backing_file_size: %llu at offset 0x%llx does not "
                        "fit (1023 bytes and the first cluster at most)",
                        (unsigned long long)c->backing_size,
                        (unsigned long long)c->backing_offset);
    /* Stricter than QEMU: the name must not overwrite header fields. */
    if (c->backing_size && c->backing_offset < f->header_length)
        chk_found(c, CHK_HEADER, 1, 8,
                  "backing_file_offset: 0x%llx lies inside the header "
                  "(header_length %llu)",
                  (unsigned long long)c->backing_offset,
                  (unsigned long long)f->header_length);
    return 0;
}

/* QEMU's qcow2_validate_table: cluster aligned, and ending below 2^63. */
static bool chk_table_ok(const chk_ctx *c, uint64_t off, uint64_t bytes)
{
    return !(off & (c->cs - 1)) && off <= (uint64_t)INT64_MAX - bytes;
}

/* size, l1_size, l1_table_offset, refcount table: QEMU's limits at open. */
static int chk_tables(chk_ctx *c, const chk_hdr *f)
{
    uint64_t per_l1 = 1ULL << (2 * c->cluster_bits - 3); /* guest bytes */
    uint64_t need = c->size / per_l1 + (c->size % per_l1 != 0);

    c->r->virtual_clusters =
        (c->size >> c->cluster_bits) + ((c->size & (c->cs - 1)) != 0);
    if (c->l1_size > CHK_MAX_L1_BYTES / 8)
        return CHK_STOP(c, CHK_HEADER, 36,
                        "l1_size: %llu exceeds QEMU's limit of %llu entries",
                        (unsigned long long)c->l1_size, CHK_MAX_L1_BYTES / 8);
    if (need > INT_MAX)
        return CHK_STOP(c, CHK_HEADER, 24, "size: %llu is too big",
                        (unsigned long long)c->size);
    if (c->l1_size < need)
        return CHK_STOP(c, CHK_HEADER, 36,
                        "l1_size: %llu is too small for size %llu (needs %llu)",
                        (unsigned long long)c->l1_size,
                        (unsigned long long)c->size, (unsigned long long)need);
    if (!chk_table_ok(c, c->l1_offset, c->l1_size * 8))
        return CHK_STOP(c, CHK_HEADER, 40,
                        "l1_table_offset: 0x%llx is not a valid cluster "
                        "offset",
                        (unsigned long long)c->l1_offset);
    /* refcount_table_clusters 0 is accepted, as QEMU does: then every
     * referenced cluster has refcount 0 and is reported as such. */
    if (f->rt_clusters > CHK_MAX_REFTABLE_BYTES >> c->cluster_bits)
        return CHK_STOP(c, CHK_HEADER, 56,
                        "refcount_table_clusters: %u exceeds QEMU's limit of "
                        "%llu bytes",
                        (unsigned)f->rt_clusters, CHK_MAX_REFTABLE_BYTES);
    c->rt_entries = (uint64_t)f->rt_clusters << (c->cluster_bits - 3);
    if (!chk_table_ok(c, c->rt_offset, c->rt_entries * 8))
        return CHK_STOP(c, CHK_HEADER, 48,
                        "refcount_table_offset: 0x%llx is not a valid "
                        "cluster offset",
                        (unsigned long long)c->rt_offset);
    /* QEMU validates it even without snapshots (nb_snapshots is 0 here). */
    if (!chk_table_ok(c, f->snapshots_offset, 0))
        return CHK_STOP(c, CHK_HEADER, 64,
                        "snapshots_offset: 0x%llx is not a valid cluster "
                        "offset",
                        (unsigned long long)f->snapshots_offset);
    return 0;
}

/* One header extension: 0 = go on, 1 = stop. */
static int chk_one_ext(chk_ctx *c, const chk_hdr *f, uint64_t at, uint32_t type,
                       uint32_t len)
{
    switch (type) {
    case CHK_EXT_BACKING_FORMAT:
        if (len >= 16)
            return CHK_STOP(c, CHK_HEADER, at,
                            "backing format extension: length %u exceeds 15",
                            (unsigned)len);
        return 0;
    case CHK_EXT_CRYPTO:
        /* The header has crypt_method 0 here (encryption stopped earlier). */
        return CHK_STOP(c, CHK_HEADER, at,
                        "encryption header extension without LUKS "
                        "encryption (length %u)",
                        (unsigned)len);
    case CHK_EXT_BITMAPS:
        if (len != 24)
            return CHK_STOP(c, CHK_HEADER, at,
                            "bitmaps extension: length %u is not 24",
                            (unsigned)len);
        if (f->autoclear & CHK_AUTOCLEAR_BITMAPS)
            return CHK_STOP(c, CHK_UNSUPPORTED, at,
                            "bitmaps extension: persistent bitmaps");
        return 0; /* inconsistent bitmaps: QEMU ignores them */
    default:
        return 0; /* feature names, data file name, unknown: ignored */
    }
}

/* The header extensions between the header and the backing file name. */
static int chk_extensions(chk_ctx *c, const chk_hdr *f)
{
    uint64_t end = c->backing_offset ? c->backing_offset : c->cs;
    uint64_t off = f->header_length;

    while (off < end) {
        uint8_t e[8];
        int ret = chk_read(c, off, e, sizeof(e));
        if (ret < 0)
            return ret;
        uint32_t type = (uint32_t)chk_be(e, 4);
        uint32_t len = (uint32_t)chk_be(e + 4, 4);
        uint64_t at = off;
        off += 8;
        if (off > end || len > end - off)
            return CHK_STOP(c, CHK_HEADER, at,
                            "header extension 0x%08x at 0x%llx: length %u "
                            "runs past 0x%llx",
                            (unsigned)type, (unsigned long long)at,
                            (unsigned)len, (unsigned long long)end);
        if (type == CHK_EXT_END)
            return 0;
        ret = chk_one_ext(c, f, at, type, len);
        if (ret != 0)
            return ret;
        off += ((uint64_t)len + 7) & ~7ULL;
    }
    return 0;
}

int chk_header(chk_ctx *c)
{
    uint8_t h[CHK_HDR_READ];
    chk_hdr f = {0};

    int ret = chk_read(c, 0, h, sizeof(h));
    if (ret == 0)
        ret = chk_basics(c, h);
    if (ret != 0)
        return ret;
    c->backing_offset = chk_be(h + 8, 8);
    c->backing_size = chk_be(h + 16, 4);
    c->size = chk_be(h + 24, 8);
    f.crypt = (uint32_t)chk_be(h + 32, 4);
    c->l1_size = chk_be(h + 36, 4);
    c->l1_offset = chk_be(h + 40, 8);
    c->rt_offset = chk_be(h + 48, 8);
    f.rt_clusters = (uint32_t)chk_be(h + 56, 4);
    f.nb_snapshots = (uint32_t)chk_be(h + 60, 4);
    f.snapshots_offset = chk_be(h + 64, 8);

    ret = chk_v3_fields(c, h, &f);
    if (ret == 0)
        ret = chk_features(c, &f);
    if (ret == 0)
        ret = chk_misc_fields(c, &f);
    if (ret == 0)
        ret = chk_tables(c, &f);
    if (ret == 0)
        ret = chk_extensions(c, &f);
    if (ret != 0)
        return ret;
    c->r->refcount_bits = 1u << c->refcount_order;
    c->rb_entries = c->cs * 8 >> c->refcount_order;
    return 0;
}
