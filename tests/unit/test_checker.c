/*
 * test_checker.c - unit tests of the qcow2 metadata checker (models/checker).
 *
 * Every image is built byte by byte with qcow2_build.h, broken on purpose in
 * one way, and checked through an in-memory backend; each test asserts the
 * counts (corruptions, leaks, incomplete) and the kind of the first finding.
 * test_one_word_edits holds the cases that change one header field or one
 * table entry. The last tests are hostile: an L1 table built to make the
 * work quadratic, and random byte flips of valid images (seeded, so
 * reproducible) that the checker must survive deterministically.
 * The expectations were checked by hand against qemu-img check 7.2 where
 * the checker means to agree with it (see models/checker.h).
 */
#include "checker.h"
#include "qcow2_build.h"
#include "unit.h"

#define MiB (1ULL << 20)
#define TiB (1ULL << 40)

/* Check the bytes of im; returns chk_image's result. */
static int check(const qb_image *im, chk_report *r)
{
    qb_mem *m = qb_mem_open(im->buf, im->len);
    int ret = chk_image(&m->base, r);
    host_destroy(&m->base);
    return ret;
}

static bool has_kind(const chk_report *r, chk_kind k)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (r->findings[i].kind == k)
            return true;
    return false;
}

/* Print the findings when a test fails (they say why). */
static void dump(const chk_report *r)
{
    char text[8192];
    chk_format(r, text, sizeof(text));
    fprintf(stderr, "%s", text);
}

#define EXPECT(r, corr, leak, inc)                                             \
    do {                                                                       \
        int before_ = unit_failures;                                           \
        CHECK_EQ((r)->corruptions, corr);                                      \
        CHECK_EQ((r)->leaks, leak);                                            \
        CHECK_EQ((r)->incomplete, inc);                                        \
        if (unit_failures != before_)                                          \
            dump(r);                                                           \
    } while (0)

/*
 * Check im; expect the counts, and the kind of the first finding unless
 * `first` is CHK_KIND_COUNT.
 */
#define VERDICT(im, r, corr, leak, inc, first)                                 \
    do {                                                                       \
        CHECK_EQ(check((im), (r)), 0);                                         \
        EXPECT((r), corr, leak, inc);                                          \
        if ((first) != CHK_KIND_COUNT) {                                       \
            CHECK((r)->n_findings > 0);                                        \
            CHECK_EQ((r)->findings[0].kind, first);                            \
        }                                                                      \
    } while (0)

/* Sets bits in the 64-bit big-endian word at off. */
static void or64(qb_image *im, uint64_t off, uint64_t bits)
{
    qb_put(im, off, qb_get(im, off, 8) | bits, 8);
}

/* A small consistent image: 3 data clusters in two L2 tables (one, for
 * clusters of 256 KiB and more); guest cluster 5 is unmapped. */
static void build_small(qb_image *im, unsigned cluster_bits)
{
    qb_create(im, &(qb_opts){.size = 1ULL << 30, .cluster_bits = cluster_bits});
    uint64_t per_l2 = im->cs * (im->cs / 8);
    qb_map(im, 0);
    qb_map(im, im->cs);
    qb_map(im, per_l2 < im->size ? per_l2 : 2 * im->cs);
}

static uint64_t l2_of(const qb_image *im, uint64_t guest)
{
    return qb_get(im, qb_l1e(im, guest), 8) & 0x00fffffffffffe00ULL;
}

static uint64_t l2e_of(const qb_image *im, uint64_t guest)
{
    return l2_of(im, guest) +
           ((guest >> im->cluster_bits) & (im->cs / 8 - 1)) * 8;
}

static uint64_t host_of(const qb_image *im, uint64_t guest)
{
    return qb_get(im, l2e_of(im, guest), 8) & 0x00fffffffffffe00ULL;
}

static void test_clean(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
    CHECK_EQ(r.n_findings, 0);
    CHECK_EQ(r.allocated_clusters, 3);
    CHECK_EQ(r.virtual_clusters, im.size / im.cs);
    CHECK_EQ(r.image_end, im.len);
    CHECK_EQ(r.version, 3);
    CHECK_EQ(r.refcount_bits, 16);
    CHECK_EQ(chk_exit_code(&r), 0);
    qb_free(&im);
}

static void test_leak_refcount_two(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    qb_rc_set(&im, host_of(&im, 0) >> 16, 2);
    /* OFLAG_COPIED must follow the refcount, or that is a corruption too. */
    qb_put(&im, l2e_of(&im, 0), host_of(&im, 0), 8);
    VERDICT(&im, &r, 0, 1, false, CHK_KIND_COUNT);
    CHECK(has_kind(&r, CHK_LEAK));
    CHECK_EQ(r.findings[0].offset, host_of(&im, 0));
    CHECK_EQ(chk_exit_code(&r), 3);
    qb_free(&im);
}

static void test_leak_unreferenced(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    qb_alloc(&im); /* refcount 1, referenced by nothing */
    VERDICT(&im, &r, 0, 1, false, CHK_KIND_COUNT);
    CHECK(has_kind(&r, CHK_LEAK));
    CHECK_EQ(r.image_end, im.len);
    qb_free(&im);
}

static void test_refcount_too_low(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    qb_rc_set(&im, host_of(&im, im.cs) >> 16, 0);
    CHECK_EQ(check(&im, &r), 0);
    /* refcount 0 < 1 reference, and OFLAG_COPIED set with refcount 0 */
    EXPECT(&r, 2, 0, false);
    CHECK(has_kind(&r, CHK_REFCOUNT_LOW));
    CHECK(has_kind(&r, CHK_OFLAG_COPIED));
    CHECK_EQ(chk_exit_code(&r), 2);
    qb_free(&im);
}

static void test_cluster_used_twice(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    uint64_t host = host_of(&im, 0);
    qb_put(&im, l2e_of(&im, 5 * im.cs), host | QB_COPIED, 8);
    VERDICT(&im, &r, 1, 0, false, CHK_KIND_COUNT);
    CHECK(has_kind(&r, CHK_REFCOUNT_LOW));
    CHECK_EQ(r.findings[0].offset, host);
    qb_free(&im);
}

static void test_l2_overlaps_refblock(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    /* The second L2 table is dropped; its L1 entry points at the refcount
     * block instead (refcounts 1 read as L2 entries: reserved bits). */
    uint64_t l1e = qb_l1e(&im, im.cs * (im.cs / 8));
    qb_put(&im, l1e, im.rb_offset | QB_COPIED, 8);
    CHECK_EQ(check(&im, &r), 0);
    CHECK(r.corruptions >= 2);
    CHECK(has_kind(&r, CHK_OVERLAP));
    CHECK(has_kind(&r, CHK_REFCOUNT_LOW));
    CHECK(!r.incomplete);
    qb_free(&im);
}

/* ---- one-word edits of the image build_small() makes -------------------- */

typedef enum edit_at { AT_HDR, AT_L1E, AT_L2E, AT_RTE } edit_at;
typedef enum edit_op { SET, OR, ADD, XOR } edit_op;

typedef struct edit {
    const char *name;
    edit_at at;   /* which word: header field, L1 / L2 / reftable entry */
    uint64_t arg; /* header offset, guest offset, reftable index */
    unsigned bytes;
    edit_op op;
    uint64_t v;
    uint64_t corruptions, leaks;
    bool incomplete;
    chk_kind first;    /* kind of the first finding */
    uint64_t first_at; /* its offset; UINT64_MAX: the edited word's */
} edit;

#define HERE UINT64_MAX

static const edit edits[] = {
    {"L1 reserved bit", AT_L1E, 0, 8, OR, 1ULL << 60, 1, 0, 0, CHK_L1_ENTRY,
     HERE},
    {"L2 reserved bit", AT_L2E, 0, 8, OR, 1ULL << 57, 1, 0, 0, CHK_L2_ENTRY,
     HERE},
    /* not walked: its data clusters leak, but the first is still counted */
    {"L2 table unaligned", AT_L1E, 0, 8, ADD, 512, 1, 1, 0, CHK_MISALIGNED,
     HERE},
    /* also touches the next cluster, which then has 2 references */
    {"data unaligned", AT_L2E, 0, 8, ADD, 4096, 2, 0, 0, CHK_MISALIGNED, HERE},
    {"L2 OFLAG_COPIED", AT_L2E, 0, 8, XOR, QB_COPIED, 1, 0, 0, CHK_OFLAG_COPIED,
     HERE},
    {"L1 OFLAG_COPIED", AT_L1E, 0, 8, XOR, QB_COPIED, 1, 0, 0, CHK_OFLAG_COPIED,
     HERE},
    {"refblock past EOF", AT_RTE, 1, 8, SET, 1ULL << 40, 1, 0, 0,
     CHK_OUT_OF_BOUNDS, HERE},
    /* the block is no longer counted, so it leaks */
    {"reftable reserved bit", AT_RTE, 0, 8, OR, 1, 1, 1, 0, CHK_REFTABLE_ENTRY,
     HERE},
    {"refblock unaligned", AT_RTE, 0, 8, ADD, 512, 1, 0, 1, CHK_MISALIGNED,
     HERE},
    {"magic", AT_HDR, 0, 4, XOR, 1, 1, 0, 1, CHK_HEADER, HERE},
    {"version 1", AT_HDR, 4, 4, SET, 1, 1, 0, 1, CHK_HEADER, HERE},
    {"version 4", AT_HDR, 4, 4, SET, 4, 1, 0, 1, CHK_HEADER, HERE},
    {"cluster_bits 0", AT_HDR, 20, 4, SET, 0, 1, 0, 1, CHK_HEADER, HERE},
    {"cluster_bits 8", AT_HDR, 20, 4, SET, 8, 1, 0, 1, CHK_HEADER, HERE},
    {"cluster_bits 22", AT_HDR, 20, 4, SET, 22, 1, 0, 1, CHK_HEADER, HERE},
    {"cluster_bits ~0", AT_HDR, 20, 4, SET, 0xffffffff, 1, 0, 1, CHK_HEADER,
     HERE},
    {"size needs 4096 L1 entries", AT_HDR, 24, 8, SET, 2 * TiB, 1, 0, 1,
     CHK_HEADER, 36},
    {"l1_size over QEMU's limit", AT_HDR, 36, 4, SET, 0x7fffffff, 1, 0, 1,
     CHK_HEADER, HERE},
    {"l1_table_offset unaligned", AT_HDR, 40, 8, ADD, 0x200, 1, 0, 1,
     CHK_HEADER, HERE},
    {"refcount_table_offset unaligned", AT_HDR, 48, 8, ADD, 1, 1, 0, 1,
     CHK_HEADER, HERE},
    {"refcount table over 8 MiB", AT_HDR, 56, 4, SET, 1000, 1, 0, 1, CHK_HEADER,
     HERE},
    {"refcount_order 7", AT_HDR, 96, 4, SET, 7, 1, 0, 1, CHK_HEADER, HERE},
    {"header_length < 104", AT_HDR, 100, 4, SET, 96, 1, 0, 1, CHK_HEADER, HERE},
    {"header_length > cluster", AT_HDR, 100, 4, SET, 0x20000, 1, 0, 1,
     CHK_HEADER, HERE},
    {"unknown incompatible bit", AT_HDR, 72, 8, SET, 1 << 5, 1, 0, 1,
     CHK_HEADER, HERE},
    {"raw data file bit", AT_HDR, 88, 8, SET, 2, 1, 0, 1, CHK_HEADER, HERE},
    {"crypt_method 3", AT_HDR, 32, 4, SET, 3, 1, 0, 1, CHK_HEADER, HERE},
    {"snapshots_offset unaligned", AT_HDR, 64, 8, SET, 0x200, 1, 0, 1,
     CHK_HEADER, HERE},
    {"backing_file_offset", AT_HDR, 8, 8, SET, 0x20000, 1, 0, 1, CHK_HEADER,
     HERE},
    {"external data file", AT_HDR, 72, 8, SET, 1 << 2, 0, 0, 1, CHK_UNSUPPORTED,
     HERE},
    {"compression type", AT_HDR, 72, 8, SET, 1 << 3, 0, 0, 1, CHK_UNSUPPORTED,
     HERE},
    {"extended L2", AT_HDR, 72, 8, SET, 1 << 4, 0, 0, 1, CHK_UNSUPPORTED, HERE},
    {"AES", AT_HDR, 32, 4, SET, 1, 0, 0, 1, CHK_UNSUPPORTED, HERE},
    {"LUKS", AT_HDR, 32, 4, SET, 2, 0, 0, 1, CHK_UNSUPPORTED, HERE},
    {"snapshots", AT_HDR, 60, 4, SET, 1, 0, 0, 1, CHK_UNSUPPORTED, HERE},
};

/* Apply one edit; returns the edited word's file offset. */
static uint64_t apply_edit(qb_image *im, const edit *e)
{
    uint64_t at = e->at == AT_HDR   ? e->arg
                  : e->at == AT_L1E ? qb_l1e(im, e->arg)
                  : e->at == AT_L2E ? l2e_of(im, e->arg)
                                    : im->rt_offset + e->arg * 8;
    uint64_t v = qb_get(im, at, e->bytes);
    v = e->op == SET   ? e->v
        : e->op == OR  ? v | e->v
        : e->op == ADD ? v + e->v
                       : v ^ e->v;
    qb_put(im, at, v, e->bytes);
    return at;
}

static void test_one_word_edits(void)
{
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        const edit *e = &edits[i];
        qb_image im;
        chk_report r;
        int before = unit_failures;
        build_small(&im, 16);
        uint64_t at = apply_edit(&im, e);
        VERDICT(&im, &r, e->corruptions, e->leaks, e->incomplete, e->first);
        CHECK_EQ(r.findings[0].offset, e->first_at == HERE ? at : e->first_at);
        CHECK_EQ(chk_exit_code(&r), e->incomplete    ? 1
                                    : e->corruptions ? 2
                                    : e->leaks       ? 3
                                                     : 0);
        if (unit_failures != before)
            fprintf(stderr, "  in edit \"%s\"\n", e->name);
        qb_free(&im);
    }
}

static void test_cluster_sizes(void)
{
    for (unsigned bits = 9; bits <= 21; bits++) {
        qb_image im;
        chk_report r;
        build_small(&im, bits);
        VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
        CHECK_EQ(r.allocated_clusters, 3);
        qb_free(&im);
    }
}

static void test_header_extensions(void)
{
    qb_image im;
    chk_report r;

    /* A valid backing format extension, an unknown one, then the end. */
    build_small(&im, 16);
    qb_put(&im, 104, 0xe2792aca, 4);
    qb_put(&im, 108, 5, 4);
    memcpy(im.buf + 112, "qcow2", 5);
    qb_put(&im, 120, 0x12345678, 4);
    qb_put(&im, 124, 3, 4);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);

    /* The unknown one claims more than the cluster holds. */
    qb_put(&im, 124, 0x10000, 4);
    VERDICT(&im, &r, 1, 0, true, CHK_HEADER);
    CHECK_EQ(r.findings[0].offset, 120);

    /* A backing format name of 16 bytes is too long. */
    qb_put(&im, 124, 0, 4);
    qb_put(&im, 108, 16, 4);
    VERDICT(&im, &r, 1, 0, true, CHK_KIND_COUNT);
    CHECK_EQ(r.findings[0].offset, 104);

    /* Persistent bitmaps in use: unsupported. */
    qb_put(&im, 104, 0x23852875, 4);
    qb_put(&im, 108, 24, 4);
    qb_put(&im, 88, 1, 8);
    VERDICT(&im, &r, 0, 0, true, CHK_UNSUPPORTED);
    qb_free(&im);
}

/* Problems QEMU tolerates are reported without stopping the check. */
static void test_header_soft(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    qb_put(&im, 100, 108, 4); /* header_length not a multiple of 8 */
    VERDICT(&im, &r, 1, 0, false, CHK_KIND_COUNT);
    CHECK_EQ(r.findings[0].offset, 100);

    qb_put(&im, 100, 112, 4); /* compression type without its bit */
    qb_put(&im, 104, 1, 1);
    VERDICT(&im, &r, 1, 0, true, CHK_KIND_COUNT);
    CHECK_EQ(r.findings[0].offset, 104);
    qb_put(&im, 104, 0, 1);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);

    /* No refcount table at all: every used cluster has refcount 0. */
    qb_put(&im, 56, 0, 4);
    CHECK_EQ(check(&im, &r), 0);
    CHECK(r.corruptions >= 8);
    CHECK(!r.incomplete);
    CHECK_EQ(r.findings[0].kind, CHK_REFCOUNT_LOW);
    CHECK(strstr(r.findings[0].msg, "beyond the refcount table") != NULL);
    qb_free(&im);
}

static void test_backing_name(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    qb_put(&im, 8, 0x200, 8);
    qb_put(&im, 16, 8, 4);
    memcpy(im.buf + 0x200, "base.img", 8);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
    qb_put(&im, 16, 1024, 4); /* longer than 1023 */
    VERDICT(&im, &r, 1, 0, true, CHK_KIND_COUNT);
    qb_put(&im, 16, 8, 4);
    qb_put(&im, 8, 0x10000 - 4, 8); /* runs past the first cluster */
    VERDICT(&im, &r, 1, 0, true, CHK_KIND_COUNT);
    qb_put(&im, 8, 0x40, 8); /* overwrites header fields */
    VERDICT(&im, &r, 1, 0, false, CHK_HEADER);
    qb_free(&im);
}

static void test_not_covered_by_reftable(void)
{
    qb_image im;
    chk_report r;
    /* 512-byte clusters, 16-bit refcounts: a block covers 256 clusters. */
    qb_create(&im, &(qb_opts){.size = 1 * MiB, .cluster_bits = 9});
    for (uint64_t g = 0; g < 300 * 512; g += 512)
        qb_map(&im, g);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
    qb_put(&im, im.rt_offset + 8, 0, 8); /* drop the second block */
    CHECK_EQ(check(&im, &r), 0);
    CHECK(r.corruptions > 40);
    CHECK_EQ(r.findings[0].kind, CHK_REFCOUNT_LOW);
    CHECK(strstr(r.findings[0].msg, "no refcount block") != NULL);
    qb_free(&im);

    /* 512-byte clusters, 64-bit refcounts: the one-cluster table covers
     * 64 blocks of 64 clusters, 2 MiB; a data cluster past that has none. */
    qb_create(
        &im,
        &(qb_opts){.size = 1 * MiB, .cluster_bits = 9, .refcount_order = 6});
    qb_map(&im, 0);
    uint64_t far = 2 * MiB + 4 * 512;
    qb_put(&im, far + 511, 0, 1);
    qb_put(&im, l2e_of(&im, 512), far | QB_COPIED, 8);
    VERDICT(&im, &r, 2, 0, false,
            CHK_KIND_COUNT); /* refcount 0 < 1, and OFLAG_COPIED */
    CHECK_EQ(r.findings[0].kind, CHK_REFCOUNT_LOW);
    CHECK(strstr(r.findings[0].msg, "beyond the refcount table") != NULL);
    qb_free(&im);
}

static void test_shared_cluster_consistent(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    /* Two guest clusters share a host cluster with refcount 2 and no
     * OFLAG_COPIED: valid qcow2 (a write copies it first). */
    uint64_t host = host_of(&im, 0);
    qb_put(&im, l2e_of(&im, 0), host, 8);
    qb_put(&im, l2e_of(&im, 5 * im.cs), host, 8);
    qb_rc_set(&im, host >> 16, 2);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
    qb_free(&im);
}

static void test_zero_flag(void)
{
    qb_image im;
    chk_report r;
    /* v3: plain zero clusters and preallocated zero clusters are fine. */
    build_small(&im, 16);
    qb_put(&im, l2e_of(&im, 5 * im.cs), QB_ZERO, 8);
    uint64_t e = l2e_of(&im, 0);
    or64(&im, e, QB_ZERO);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
    qb_free(&im);

    /* v2: the zero flag does not exist. */
    qb_create(&im, &(qb_opts){.size = 64 * MiB, .version = 2});
    qb_map(&im, 0);
    qb_put(&im, l2e_of(&im, im.cs), QB_ZERO, 8);
    VERDICT(&im, &r, 1, 0, false, CHK_KIND_COUNT);
    CHECK_EQ(r.version, 2);
    CHECK_EQ(r.findings[0].kind, CHK_L2_ENTRY);
    qb_free(&im);
}

static void test_v2_clean(void)
{
    qb_image im;
    chk_report r;
    qb_create(&im, &(qb_opts){.size = 64 * MiB, .version = 2});
    qb_map(&im, 0);
    qb_map(&im, 5 * im.cs);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
    CHECK_EQ(r.refcount_bits, 16);
    qb_free(&im);
}

static void test_data_past_eof(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    uint64_t e = l2e_of(&im, 0);
    uint64_t past = (im.len + im.cs) & ~(im.cs - 1);
    qb_put(&im, e, past | QB_COPIED, 8);
    CHECK_EQ(check(&im, &r), 0);
    /* past EOF, the old cluster leaked, OFLAG_COPIED with refcount 0 */
    EXPECT(&r, 2, 1, false);
    CHECK_EQ(r.findings[0].kind, CHK_OUT_OF_BOUNDS);
    CHECK_EQ(r.findings[0].offset, e);
    qb_free(&im);
}

static void test_compressed(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    /* A compressed cluster of 3 sectors at 0x200 inside a new cluster. */
    uint64_t host = qb_alloc(&im);
    unsigned shift = 62 - (16 - 8);
    uint64_t desc = QB_COMPRESSED | 2ULL << shift | (host + 0x200);
    qb_put(&im, l2e_of(&im, 3 * im.cs), desc, 8);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
    CHECK_EQ(r.allocated_clusters, 4);
    qb_put(&im, l2e_of(&im, 3 * im.cs), desc | QB_COPIED, 8);
    VERDICT(&im, &r, 1, 0, false, CHK_L2_ENTRY);
    qb_free(&im);
}

static void test_refcount_orders(void)
{
    for (unsigned order = 0; order <= 6; order++) {
        qb_image im;
        chk_report r;
        qb_create(&im, &(qb_opts){.size = 64 * MiB,
                                  .cluster_bits = 12,
                                  .refcount_order = order,
                                  .refcount_order_set = true});
        for (uint64_t g = 0; g < 40 * im.cs; g += 3 * im.cs)
            qb_map(&im, g);
        VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
        CHECK_EQ(r.refcount_bits, 1u << order);
        uint64_t spare = qb_alloc(&im);
        VERDICT(&im, &r, 0, 1, false, CHK_KIND_COUNT);
        qb_rc_set(&im, spare >> 12, 0);
        qb_rc_set(&im, host_of(&im, 3 * im.cs) >> 12, 0);
        VERDICT(&im, &r, 2, 0, false,
                CHK_KIND_COUNT); /* refcount 0, and OFLAG_COPIED */
        qb_free(&im);
    }
}

static void test_corrupt_and_dirty_bits(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    qb_put(&im, 72, 1, 8);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
    CHECK(r.dirty);
    qb_put(&im, 72, 2, 8);
    VERDICT(&im, &r, 1, 0, false, CHK_KIND_COUNT);
    CHECK(!r.dirty);
    CHECK_EQ(r.findings[0].kind, CHK_HEADER);
    qb_free(&im);
}

static void test_sparse_2tib(void)
{
    qb_image im;
    chk_report r;
    qb_create(&im, &(qb_opts){.size = 2 * TiB});
    qb_map(&im, 0);
    qb_map(&im, 2 * TiB - im.cs);
    CHECK_EQ(im.l1_size, 4096);
    CHECK(im.len < 1 * MiB);
    VERDICT(&im, &r, 0, 0, false, CHK_KIND_COUNT);
    CHECK_EQ(r.allocated_clusters, 2);
    CHECK_EQ(r.virtual_clusters, 2 * TiB / im.cs);
    /* The last guest cluster's data cluster leaks once unmapped. */
    qb_put(&im, l2e_of(&im, 2 * TiB - im.cs), 0, 8);
    VERDICT(&im, &r, 0, 1, false, CHK_KIND_COUNT);
    qb_free(&im);
}

static void test_read_error(void)
{
    qb_image im;
    chk_report r;
    build_small(&im, 16);
    for (int n = 0; n < 6; n++) {
        qb_mem *m = qb_mem_open(im.buf, im.len);
        m->fail_reads_after = n;
        CHECK_EQ(chk_image(&m->base, &r), -EIO);
        CHECK(r.incomplete);
        CHECK_EQ(chk_exit_code(&r), 1);
        host_destroy(&m->base);
    }
    qb_free(&im);
}

static void test_empty_and_tiny_files(void)
{
    chk_report r;
    static const uint8_t magic[] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
    for (size_t len = 0; len <= sizeof(magic); len++) {
        qb_mem *m = qb_mem_open(magic, len);
        CHECK_EQ(chk_image(&m->base, &r), 0);
        CHECK(r.incomplete);
        CHECK(r.corruptions >= 1);
        host_destroy(&m->base);
    }
}

static void test_format(void)
{
    qb_image im;
    chk_report r;
    char text[4096];
    build_small(&im, 16);
    check(&im, &r);
    CHECK(chk_format(&r, text, sizeof(text)) > 0);
    CHECK(strstr(text, "No errors were found") != NULL);
    qb_alloc(&im);
    check(&im, &r);
    int n = chk_format(&r, text, sizeof(text));
    CHECK_EQ((size_t)n, strlen(text));
    CHECK(strstr(text, "Leaked cluster ") != NULL);
    CHECK(strstr(text, "1 leaked clusters were found") != NULL);
    char small[16];
    CHECK_EQ(chk_format(&r, small, sizeof(small)), n);
    CHECK_EQ(strlen(small), sizeof(small) - 1);
    CHECK_EQ(chk_format(&r, NULL, 0), n);
    CHECK(strcmp(chk_kind_name(CHK_REFCOUNT_LOW), "refcount-low") == 0);
    CHECK(strcmp(chk_kind_name(CHK_KIND_COUNT), "?") == 0);
    qb_free(&im);
}

static void test_findings_cap(void)
{
    qb_image im;
    chk_report r;
    qb_create(&im, &(qb_opts){.size = 1 * MiB, .cluster_bits = 9});
    for (uint64_t g = 0; g < 100 * 512; g += 512)
        qb_map(&im, g);
    for (uint64_t k = 10; k < 110; k++) /* 100 leaks */
        qb_rc_set(&im, k, 3);
    CHECK_EQ(check(&im, &r), 0);
    CHECK_EQ(r.n_findings, CHK_MAX_FINDINGS);
    CHECK(r.leaks + r.corruptions >= 100);
    qb_free(&im);
}

/* ---- hostile bytes ------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Flip random bytes of a valid image n times; returns corrupt verdicts. */
static unsigned fuzz_image(const qb_image *im, uint64_t seed, unsigned n,
                           unsigned *clean)
{
    unsigned corrupt = 0;
    uint8_t *bytes = malloc(im->len);
    for (unsigned i = 0; i < n; i++) {
        memcpy(bytes, im->buf, im->len);
        unsigned flips = 1 + (unsigned)(rng_next(&seed) % 4);
        for (unsigned f = 0; f < flips; f++) {
            /* Mostly metadata (the first clusters), sometimes anywhere. */
            uint64_t span = rng_next(&seed) % 2 ? 6 * im->cs : im->len;
            uint64_t at = rng_next(&seed) % (span < im->len ? span : im->len);
            bytes[at] ^= (uint8_t)(1 + rng_next(&seed) % 255);
        }
        chk_report r1, r2;
        qb_mem *m = qb_mem_open(bytes, im->len);
        int ret1 = chk_image(&m->base, &r1);
        int ret2 = chk_image(&m->base, &r2);
        host_destroy(&m->base);
        CHECK_EQ(ret1, 0);
        CHECK_EQ(ret2, 0);
        CHECK(r1.n_findings <= CHK_MAX_FINDINGS);
        CHECK(memcmp(&r1, &r2, sizeof(r1)) == 0); /* deterministic */
        CHECK(r1.n_findings > 0 ||
              (!r1.corruptions && !r1.leaks && !r1.incomplete));
        char text[2048];
        CHECK(chk_format(&r1, text, sizeof(text)) > 0);
        corrupt += r1.corruptions > 0;
        *clean += chk_exit_code(&r1) == 0;
    }
    free(bytes);
    return corrupt;
}

static void test_fuzz_bit_flips(void)
{
    qb_image im;
    unsigned clean = 0, corrupt = 0;

    qb_create(&im, &(qb_opts){.size = 8 * MiB, .cluster_bits = 12});
    for (uint64_t g = 0; g < 8 * MiB; g += 37 * im.cs)
        qb_map(&im, g);
    corrupt += fuzz_image(&im, 0x9e3779b97f4a7c15ULL, 1000, &clean);
    qb_free(&im);

    qb_create(
        &im,
        &(qb_opts){.size = 2 * MiB, .cluster_bits = 9, .refcount_order = 2});
    for (uint64_t g = 0; g < 2 * MiB; g += 11 * 512)
        qb_map(&im, g);
    corrupt += fuzz_image(&im, 12345, 1000, &clean);
    qb_free(&im);
    /* Flips in guest data are harmless; flips in metadata are found. */
    CHECK(clean > 100);
    CHECK(corrupt > 500);
}

/* 2 MiB clusters and an L1 table whose 256Ki entries point at every
 * 512-byte offset of the file: the work must stay linear in the file. */
static void test_hostile_l1(void)
{
    qb_image im;
    chk_report r;
    qb_create(&im, &(qb_opts){.size = 1ULL << 30,
                              .cluster_bits = 21,
                              .l1_extra = (1u << 18) - 1});
    CHECK_EQ(im.len, 4 * im.cs);
    for (uint64_t i = 0; i < im.l1_size; i++)
        qb_put(&im, im.l1_offset + i * 8, (i * 512) % im.len | QB_COPIED, 8);
    CHECK_EQ(check(&im, &r), 0);
    CHECK(r.corruptions > im.l1_size);
    CHECK(!r.incomplete);
    CHECK_EQ(r.findings[0].kind, CHK_L1_ENTRY); /* entry 0: offset 0 */
    CHECK_EQ(r.findings[1].kind, CHK_MISALIGNED);
    qb_free(&im);
}

static const unit_test tests[] = {
    UNIT(test_clean),
    UNIT(test_leak_refcount_two),
    UNIT(test_leak_unreferenced),
    UNIT(test_refcount_too_low),
    UNIT(test_cluster_used_twice),
    UNIT(test_l2_overlaps_refblock),
    UNIT(test_one_word_edits),
    UNIT(test_cluster_sizes),
    UNIT(test_header_extensions),
    UNIT(test_header_soft),
    UNIT(test_backing_name),
    UNIT(test_not_covered_by_reftable),
    UNIT(test_shared_cluster_consistent),
    UNIT(test_zero_flag),
    UNIT(test_v2_clean),
    UNIT(test_data_past_eof),
    UNIT(test_compressed),
    UNIT(test_refcount_orders),
    UNIT(test_corrupt_and_dirty_bits),
    UNIT(test_sparse_2tib),
    UNIT(test_read_error),
    UNIT(test_empty_and_tiny_files),
    UNIT(test_format),
    UNIT(test_findings_cap),
    UNIT(test_hostile_l1),
    UNIT(test_fuzz_bit_flips),
};

UNIT_MAIN(tests)
