/*
 * checker_refs.c - the reference-collecting phase of the qcow2 checker: it
 * walks the active L1 table, each L2 table it points to, and the refcount
 * table, checks each entry's layout, and records one chk_ref per reference
 * (qemu-img check's check_refcounts_l1/l2 and check_refblocks).
 *
 * Bounds: only the parts of a table that lie inside the file are read (the
 * rest reads as zeroes, as in QEMU, and holds no entries), so the work and
 * memory are bounded by the file, whatever the header says. An L2 table that
 * several L1 entries share is read once and its references are recorded
 * with that multiplicity, so a hostile L1 table cannot multiply the work.
 *
 * Tables are read into the context's one table buffer (ctx.cbuf), the L1
 * and refcount tables a buffer at a time, and walked with chk_next_entry,
 * which skips their zero entries (most of them) 8 at a time.
 *
 * Ownership: the L2 offset list is local to chk_walk_l1(); the refcount
 * table (ctx.rt) and the buffer belong to the context.
 */
#include "checker_int.h"

#include <errno.h>
#include <stdlib.h>

/* Entries of a table of n 8-byte entries at off that lie inside the file. */
static uint64_t chk_entries_in_file(const chk_ctx *c, uint64_t off, uint64_t n)
{
    if (off >= c->flen)
        return 0;
    uint64_t in = (c->flen - off + 7) / 8;
    return in < n ? in : n;
}

/* Makes rt's capacity *cap at least need (<= max) entries. */
static int chk_rt_reserve(chk_ctx *c, uint64_t need, uint64_t max,
                          uint64_t *cap)
{
    uint64_t want = *cap ? *cap : 64;

    if (need <= *cap)
        return 0;
    while (want < need)
        want *= 2;
    if (want > max)
        want = max; /* max * 8 <= 8 MiB: checked by chk_header */
    uint64_t *n = realloc(c->rt, want * 8);
    if (!n)
        return -ENOMEM;
    c->rt = n;
    *cap = want;
    return 0;
}

/*
 * Reads the refcount table's entries inside the file, a buffer at a time,
 * and keeps them up to the last non-zero one (usually a handful, though
 * the table spans a cluster or more). rt grows by doubling.
 */
int chk_load_reftable(chk_ctx *c)
{
    uint64_t n = chk_entries_in_file(c, c->rt_offset, c->rt_entries);
    uint64_t per = c->cbuf_len / 8, cap = 0;

    for (uint64_t i = 0; i < n; i += per) {
        size_t k = (size_t)(n - i < per ? n - i : per);
        int ret = chk_read(c, c->rt_offset + i * 8, c->cbuf, k * 8);
        for (size_t j = chk_next_entry(c->cbuf, 0, k); ret == 0 && j < k;
             j = chk_next_entry(c->cbuf, j + 1, k)) {
            ret = chk_rt_reserve(c, i + j + 1, n, &cap);
            while (ret == 0 && c->rt_loaded < i + j) /* zeroes before */
                c->rt[c->rt_loaded++] = 0;
            if (ret == 0)
                c->rt[c->rt_loaded++] = chk_be64(c->cbuf + j * 8);
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* A compressed cluster descriptor (L2 entry e at where). */
static int chk_compressed(chk_ctx *c, uint64_t where, uint64_t e, uint32_t mult)
{
    unsigned shift = 62 - (c->cluster_bits - 8);
    uint64_t sectors_mask = (1ULL << (c->cluster_bits - 8)) - 1;
    uint64_t coff = e & ((1ULL << shift) - 1);
    uint64_t sectors = ((e >> shift) & sectors_mask) + 1;

    if (e & CHK_E_COPIED)
        chk_found(c, CHK_L2_ENTRY, mult, where,
                  "L2 entry 0x%016llx: OFLAG_COPIED on a compressed cluster",
                  (unsigned long long)e);
    c->r->allocated_clusters += mult;
    return chk_ref_region(c, CHK_REF_COMPRESSED, where, coff,
                          sectors * 512 - (coff & 511), mult, 0);
}

/* One non-zero L2 entry e at where, of a table referenced mult times. */
static int chk_l2_entry(chk_ctx *c, uint64_t where, uint64_t e, uint32_t mult)
{
    if (e & CHK_E_COMPRESSED)
        return chk_compressed(c, where, e, mult);
    if (e & CHK_L2E_STD_RESERVED_MASK)
        chk_found(c, CHK_L2_ENTRY, mult, where,
                  "L2 entry 0x%016llx has reserved bits set (0x%llx)",
                  (unsigned long long)e,
                  (unsigned long long)(e & CHK_L2E_STD_RESERVED_MASK));
    /* Stricter than qemu-img check; QEMU refuses to read such a cluster. */
    if ((e & CHK_E_ZERO) && c->version < 3)
        chk_found(c, CHK_L2_ENTRY, mult, where,
                  "L2 entry 0x%016llx: zero flag in a version 2 image",
                  (unsigned long long)e);
    uint64_t off = e & CHK_L2E_OFFSET_MASK;
    if (off == 0)
        return 0; /* unallocated, or a plain zero cluster */
    if (off & (c->cs - 1))
        chk_found(c, CHK_MISALIGNED, mult, where,
                  "L2 entry 0x%016llx: data cluster offset 0x%llx is not "
                  "cluster aligned",
                  (unsigned long long)e, (unsigned long long)off);
    c->r->allocated_clusters += mult;
    unsigned flags = CHK_RF_OFLAG | (e & CHK_E_COPIED ? CHK_RF_COPIED : 0);
    return chk_ref_region(c, CHK_REF_DATA, where, off, c->cs, mult, flags);
}

/*
 * The L2 table at l2_off, which mult L1 entries reference. Only its entries
 * inside the file are read (the rest are zero). An unaligned table is not
 * walked (QEMU walks it): it is already a corruption, and walking tables at
 * every 512-byte offset would make the work grow with file size squared.
 */
static int chk_walk_l2(chk_ctx *c, uint64_t l2_off, uint32_t mult)
{
    size_t n = (size_t)chk_entries_in_file(c, l2_off, c->cs / 8);
    if (l2_off & (c->cs - 1))
        return 0;
    int ret = chk_read(c, l2_off, c->cbuf, n * 8);
    for (size_t i = chk_next_entry(c->cbuf, 0, n); ret == 0 && i < n;
         i = chk_next_entry(c->cbuf, i + 1, n))
        ret = chk_l2_entry(c, l2_off + i * 8, chk_be64(c->cbuf + i * 8), mult);
    return ret;
}

/* One non-zero L1 entry e at where; appends its L2 offset to l2s. */
static int chk_l1_entry(chk_ctx *c, uint64_t where, uint64_t e, uint64_t *l2s,
                        size_t *n_l2s)
{
    if (e & CHK_L1E_RESERVED_MASK)
        chk_found(c, CHK_L1_ENTRY, 1, where,
                  "L1 entry 0x%016llx has reserved bits set (0x%llx)",
                  (unsigned long long)e,
                  (unsigned long long)(e & CHK_L1E_RESERVED_MASK));
    uint64_t off = e & CHK_L1E_OFFSET_MASK;
    if (off == 0) {
        /* Stricter than QEMU, which would read the header as an L2 table. */
        if (e & CHK_E_COPIED)
            chk_found(c, CHK_L1_ENTRY, 1, where,
                      "L1 entry 0x%016llx: OFLAG_COPIED without an L2 table",
                      (unsigned long long)e);
        return 0;
    }
    if (off & (c->cs - 1))
        chk_found(c, CHK_MISALIGNED, 1, where,
                  "L1 entry 0x%016llx: L2 table offset 0x%llx is not cluster "
                  "aligned",
                  (unsigned long long)e, (unsigned long long)off);
    l2s[(*n_l2s)++] = off;
    unsigned flags = CHK_RF_OFLAG | (e & CHK_E_COPIED ? CHK_RF_COPIED : 0);
    return chk_ref_region(c, CHK_REF_L2, where, off, c->cs, 1, flags);
}

static int chk_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Reads the L1 entries inside the file; fills l2s with their L2 offsets. */
static int chk_read_l1(chk_ctx *c, uint64_t n, uint64_t *l2s, size_t *n_l2s)
{
    uint64_t per = c->cbuf_len / 8;

    for (uint64_t i = 0; i < n; i += per) {
        size_t k = (size_t)(n - i < per ? n - i : per);
        int ret = chk_read(c, c->l1_offset + i * 8, c->cbuf, k * 8);
        for (size_t j = chk_next_entry(c->cbuf, 0, k); ret == 0 && j < k;
             j = chk_next_entry(c->cbuf, j + 1, k))
            ret = chk_l1_entry(c, c->l1_offset + (i + j) * 8,
                               chk_be64(c->cbuf + j * 8), l2s, n_l2s);
        if (ret < 0)
            return ret;
    }
    return 0;
}

int chk_walk_l1(chk_ctx *c)
{
    if (c->l1_size == 0)
        return 0;
    int ret =
        chk_ref_region(c, CHK_REF_L1, 40, c->l1_offset, c->l1_size * 8, 1, 0);
    uint64_t n = chk_entries_in_file(c, c->l1_offset, c->l1_size);
    if (ret < 0 || n == 0)
        return ret;
    uint64_t *l2s = malloc(n * sizeof(uint64_t)); /* n <= 4Mi: chk_header */
    size_t n_l2s = 0;
    ret = l2s ? chk_read_l1(c, n, l2s, &n_l2s) : -ENOMEM;
    if (ret == 0)
        qsort(l2s, n_l2s, sizeof(uint64_t), chk_cmp_u64);
    for (size_t i = 0; ret == 0 && i < n_l2s;) {
        size_t j = i + 1;
        while (j < n_l2s && l2s[j] == l2s[i])
            j++;
        ret = chk_walk_l2(c, l2s[i], (uint32_t)(j - i));
        i = j;
    }
    free(l2s);
    return ret;
}

int chk_walk_reftable(chk_ctx *c)
{
    for (uint64_t i = 0; i < c->rt_loaded; i++) {
        uint64_t e = c->rt[i], where = c->rt_offset + i * 8;
        if (e == 0)
            continue;
        if (e & CHK_REFT_RESERVED_MASK) {
            chk_found(c, CHK_REFTABLE_ENTRY, 1, where,
                      "refcount table entry %llu: 0x%016llx has reserved "
                      "bits set",
                      (unsigned long long)i, (unsigned long long)e);
            continue;
        }
        if (e & (c->cs - 1)) {
            chk_found(c, CHK_MISALIGNED, 1, where,
                      "refcount table entry %llu: refcount block offset "
                      "0x%llx is not cluster aligned",
                      (unsigned long long)i, (unsigned long long)e);
            continue;
        }
        if (e >> c->cluster_bits >= c->limit) {
            chk_found(c, CHK_OUT_OF_BOUNDS, 1, where,
                      "refcount table entry %llu: refcount block 0x%llx is "
                      "outside the image (0x%llx bytes)",
                      (unsigned long long)i, (unsigned long long)e,
                      (unsigned long long)c->flen);
            continue;
        }
        int ret = chk_ref_add(c, CHK_REF_REFBLOCK, where, e >> c->cluster_bits,
                              1, CHK_RF_COUNTED);
        if (ret < 0)
            return ret;
    }
    return 0;
}
