/*
 * test_eng_open.c - open refuses corrupt, hostile or unsupported images
 * with an error naming the field or feature; run-time checks of L1, L2 and
 * refcount table entries fail the request (-EIO, -ENOTSUP for compressed
 * clusters) instead of crashing; randomly damaged metadata never crashes.
 */
#include "test_eng_util.h"

static void put_be(host_backend *b, uint64_t off, uint64_t v, unsigned n)
{
    uint8_t buf[8];
    for (unsigned i = 0; i < n; i++)
        buf[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    host_pwrite(b, off, buf, n);
}

static uint64_t get_be64(host_backend *b, uint64_t off)
{
    uint8_t buf[8];
    host_pread(b, off, buf, 8);
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v = v << 8 | buf[i];
    return v;
}

/* A fresh 1 MiB image "img" (64 KiB clusters) with data in cluster 0. */
static host_backend *fresh(tenv *t, unsigned version, const char *backing)
{
    eng_create_opts o = {.size = 1 << 20, .version = version,
                         .backing = backing};
    CHECK_EQ(tenv_create(t, "img", &o), 0);
    if (!backing) {
        CHECK_EQ(tenv_open(t, "img"), 0);
        uint8_t buf[512] = {1, 2, 3};
        CHECK_EQ(engsync_write(t->s, t->e, 0, buf, sizeof(buf)), 0);
        CHECK_EQ(tenv_close(t), 0);
    }
    return imgset_find(t->set, "img");
}

typedef struct bad_field {
    uint64_t off;
    unsigned width;
    uint64_t value;
    const char *expect; /* in the error message */
} bad_field;

static void expect_refused(tenv *t, const char *what, const char *expect)
{
    int ret = tenv_open(t, "img");
    CHECK(ret < 0);
    if (ret == 0) {
        fprintf(stderr, "%s: opened\n", what);
        CHECK_EQ(tenv_close(t), 0);
    } else if (!strstr(t->err.msg, expect)) {
        fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", what, t->err.msg,
                expect);
        CHECK(0);
    }
}

static void test_bad_header_fields(void)
{
    static const bad_field bad[] = {
        {0, 4, 0x514649fa, "magic"},
        {4, 4, 4, "version"},
        {4, 4, 1, "version"},
        {20, 4, 8, "cluster_bits"},
        {20, 4, 22, "cluster_bits"},
        {32, 4, 1, "encryption"},
        {36, 4, 0xffffffff, "l1_size"},
        {36, 4, 0, "l1_size"},
        {24, 8, UINT64_C(1) << 62, "l1_size"},
        {40, 8, 0x30001, "l1_table_offset"},
        {40, 8, UINT64_C(1) << 50, "l1_table_offset"},
        {48, 8, 0x10200, "refcount_table_offset"},
        {48, 8, UINT64_C(1) << 45, "refcount_table_offset"},
        {56, 4, 0, "refcount_table_clusters"},
        {56, 4, 0x10000, "refcount_table_clusters"},
        {60, 4, 1, "snapshots"},
        {64, 8, 0x10200, "snapshots_offset: 0x10200"}, /* as QEMU refuses */
        {72, 8, 1, "dirty"},
        {72, 8, 2, "corrupt"},
        {72, 8, 4, "external data file"},
        {72, 8, 8, "compression type"},
        {72, 8, 16, "extended L2"},
        {72, 8, UINT64_C(1) << 40, "bit 40"},
        {96, 4, 7, "refcount_order"},
        {100, 4, 96, "header_length"},
        {100, 4, 108, "header_length"},
        {100, 4, 0x20000, "header_length"},
        {104, 1, 1, "compression_type"},
        {8, 8, 0x20000, "backing_file_offset"},
        {16, 4, 2000, "backing_file"},
        {112, 8, UINT64_C(0xe2792aca00010000), "length"},
        {112, 8, UINT64_C(0x0537be7700000000), "encryption"},
        {112, 8, UINT64_C(0x4441544100000000), "external data file"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tenv t;
        tenv_init(&t);
        host_backend *b = fresh(&t, 3, NULL);
        if (bad[i].off == 16) /* a name too long needs an offset too */
            put_be(b, 8, 0x200, 8);
        put_be(b, bad[i].off, bad[i].value, bad[i].width);
        char what[64];
        snprintf(what, sizeof(what), "case %zu (offset %llu)", i,
                 (unsigned long long)bad[i].off);
        expect_refused(&t, what, bad[i].expect);
        tenv_fini(&t);
    }
}

static void test_short_and_foreign_files(void)
{
    tenv t;
    tenv_init(&t);
    host_backend *b = fresh(&t, 3, NULL);
    host_truncate(b, 50);
    expect_refused(&t, "50-byte file", "too short");
    host_truncate(b, 0);
    expect_refused(&t, "empty file", "too short");
    uint8_t junk[4096];
    tfill(junk, sizeof(junk), 3);
    host_pwrite(b, 0, junk, sizeof(junk));
    expect_refused(&t, "junk", "magic");
    tenv_fini(&t);
    /* a v2 header followed by nothing else */
    tenv_init(&t);
    b = fresh(&t, 2, NULL);
    put_be(b, 36, 100000, 4);
    expect_refused(&t, "v2 l1 past the end", "l1_table");
    tenv_fini(&t);
}

/* Damage one table entry of a good image; the request fails cleanly. */
static void runtime_entry(uint64_t (*where)(host_backend *), uint64_t value,
                          int expect_read, int expect_write, int expect_far,
                          const char *msg)
{
    tenv t;
    tenv_init(&t);
    host_backend *b = fresh(&t, 3, NULL);
    put_be(b, where(b), value, 8);
    CHECK_EQ(tenv_open(&t, "img"), 0);
    uint8_t buf[512];
    CHECK_EQ(engsync_read(t.s, t.e, 0, buf, sizeof(buf)), expect_read);
    if (expect_read < 0)
        CHECK(strstr(eng_last_error(t.e), msg) != NULL);
    CHECK_EQ(engsync_write(t.s, t.e, 100, buf, sizeof(buf)), expect_write);
    CHECK_EQ(engsync_write(t.s, t.e, 5 << 16, buf, sizeof(buf)), expect_far);
    if (expect_write < 0 || expect_far < 0)
        CHECK(eng_last_error(t.e)[0] != 0);
    engsync_close(t.s, t.e);
    t.e = NULL;
    tenv_fini(&t);
}

static uint64_t l1_entry_at(host_backend *b)
{
    return get_be64(b, 40);
}

static uint64_t l2_entry_at(host_backend *b)
{
    return get_be64(b, get_be64(b, 40)) & UINT64_C(0x00fffffffffffe00);
}

static uint64_t reftable_entry_at(host_backend *b)
{
    return get_be64(b, 48);
}

static void test_runtime_entry_checks(void)
{
    uint64_t l2 = 0x40000 | (UINT64_C(1) << 63);
    /* L1: reserved bits, misaligned, out of range */
    runtime_entry(l1_entry_at, l2 | 2, -EIO, -EIO, -EIO, "L1 entry");
    runtime_entry(l1_entry_at, l2 | 0x1000, -EIO, -EIO, -EIO, "L1 entry");
    runtime_entry(l1_entry_at, (UINT64_C(1) << 55) | (UINT64_C(1) << 63),
                  -EIO, -EIO, -EIO, "L1 entry");
    /* L2: reserved bits, misaligned, out of range, compressed */
    uint64_t d = 0x50000 | (UINT64_C(1) << 63);
    runtime_entry(l2_entry_at, d | 4, -EIO, -EIO, 0, "L2 entry");
    runtime_entry(l2_entry_at, d | 0x800, -EIO, -EIO, 0, "L2 entry");
    runtime_entry(l2_entry_at, (UINT64_C(1) << 54) | (UINT64_C(1) << 63),
                  -EIO, -EIO, 0, "L2 entry");
    runtime_entry(l2_entry_at, UINT64_C(1) << 62 | 0x50000, -ENOTSUP,
                  -ENOTSUP, 0, "compress");
    /* refcount table: a bad entry fails allocations, not reads */
    runtime_entry(reftable_entry_at, 0x20001, 0, 0, -EIO, "refcount");
}

/* Entries without OFLAG_COPIED (a table or cluster not known to be
 * exclusively ours) are copied before they are written. */
static void uncopied(uint64_t (*where)(host_backend *))
{
    tenv t;
    tenv_init(&t);
    host_backend *b = fresh(&t, 3, NULL);
    uint64_t at = where(b);
    uint64_t before = get_be64(b, at);
    put_be(b, at, before & ~(UINT64_C(1) << 63), 8);
    CHECK_EQ(tenv_open(&t, "img"), 0);
    uint8_t want[512] = {1, 2, 3}, buf[512];
    tfill(want + 100, 50, 1);
    CHECK_EQ(engsync_write(t.s, t.e, 100, want + 100, 50), 0);
    CHECK_EQ(engsync_write(t.s, t.e, 5 << 16, want, sizeof(want)), 0);
    CHECK_EQ(engsync_read(t.s, t.e, 0, buf, sizeof(buf)), 0);
    CHECK_MEM(buf, want, sizeof(want));
    CHECK_EQ(tenv_close(&t), 0);
    uint64_t after = get_be64(b, at);
    CHECK(after & (UINT64_C(1) << 63));
    CHECK((after & UINT64_C(0x00fffffffffffe00)) !=
          (before & UINT64_C(0x00fffffffffffe00)));
    tcheck_image(b, false);
    tenv_fini(&t);
}

static void test_uncopied_entries_are_copied(void)
{
    uncopied(l1_entry_at);
    uncopied(l2_entry_at);
}

/* Random damage to the metadata of a small image never crashes. */
static void test_random_damage(void)
{
    for (unsigned seed = 1; seed <= 300; seed++) {
        tenv t;
        tenv_init(&t);
        eng_create_opts o = {.size = 1 << 20, .cluster_bits = 9,
                             .backing = seed % 3 ? NULL : "base"};
        uint8_t base[4096];
        tfill(base, sizeof(base), seed);
        tenv_raw(&t, "base", base, sizeof(base));
        CHECK_EQ(tenv_create(&t, "img", &o), 0);
        host_backend *b = imgset_find(t.set, "img");
        if (tenv_open(&t, "img") == 0) {
            uint8_t buf[3000];
            tfill(buf, sizeof(buf), seed);
            for (unsigned i = 0; i < 6; i++)
                engsync_write(t.s, t.e, i * 9000, buf, sizeof(buf));
            engsync_close(t.s, t.e);
            t.e = NULL;
        }
        prng p = prng_seeded(seed);
        uint64_t len = host_size(b);
        for (unsigned k = 0; k < 1 + seed % 8; k++) {
            uint8_t byte = (uint8_t)prng_next(&p);
            host_pwrite(b, prng_below(&p, len), &byte, 1);
        }
        if (tenv_open(&t, "img") == 0) {
            uint8_t buf[1 << 14];
            for (uint64_t off = 0; off < (1 << 20); off += sizeof(buf))
                engsync_read(t.s, t.e, off, buf, sizeof(buf));
            tfill(buf, sizeof(buf), seed + 1);
            engsync_write(t.s, t.e, prng_below(&p, 1 << 19), buf, sizeof(buf));
            engsync_discard(t.s, t.e, 0, 1 << 16);
            engsync_write_zeroes(t.s, t.e, 1 << 18, 1 << 16, 0);
            engsync_close(t.s, t.e);
            t.e = NULL;
        }
        tenv_fini(&t);
    }
}

static const unit_test tests[] = {
    UNIT(test_bad_header_fields),
    UNIT(test_short_and_foreign_files),
    UNIT(test_runtime_entry_checks),
    UNIT(test_uncopied_entries_are_copied),
    UNIT(test_random_damage),
};

UNIT_MAIN(tests)
