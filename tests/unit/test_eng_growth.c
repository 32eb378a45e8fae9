/*
 * test_eng_growth.c - metadata growth and eviction: L1 growth (truncate to
 * a large virtual size, writes far apart), refcount table growth (512-byte
 * clusters, many allocations; refcount blocks that count themselves),
 * tiny caches that evict all the time; each image reopened and checked.
 */
#include "test_eng_util.h"

#define MIB (UINT64_C(1) << 20)

static void test_l1_growth(void)
{
    tenv t;
    tenv_init(&t);
    eng_create_opts o = {.size = MIB};
    tenv_start(&t, "img", &o);
    eng_info in;
    eng_get_info(t.e, &in);
    CHECK_EQ(in.l1_size, 1);
    uint8_t a[8192], b[8192];
    tfill(a, sizeof(a), 1);
    CHECK_EQ(engsync_write(t.s, t.e, 4096, a, sizeof(a)), 0);
    const uint64_t sizes[] = {UINT64_C(3) << 30, UINT64_C(600) << 30,
                              UINT64_C(1) << 40};
    for (size_t i = 0; i < 3; i++) {
        CHECK_EQ(engsync_truncate(t.s, t.e, sizes[i]), 0);
        uint64_t off = sizes[i] - sizeof(a) - 512 * i;
        tfill(b, sizeof(b), 10 + i);
        CHECK_EQ(engsync_write(t.s, t.e, off, b, sizeof(b)), 0);
    }
    eng_get_info(t.e, &in);
    CHECK_EQ(in.l1_size, 2048);
    CHECK_EQ(tenv_reopen(&t, "img"), 0);
    eng_get_info(t.e, &in);
    CHECK_EQ(in.virtual_size, UINT64_C(1) << 40);
    CHECK_EQ(engsync_read(t.s, t.e, 4096, b, sizeof(b)), 0);
    CHECK_MEM(a, b, sizeof(a));
    for (size_t i = 0; i < 3; i++) {
        uint64_t off = sizes[i] - sizeof(a) - 512 * i;
        tfill(a, sizeof(a), 10 + i);
        CHECK_EQ(engsync_read(t.s, t.e, off, b, sizeof(b)), 0);
        CHECK_MEM(a, b, sizeof(a));
    }
    CHECK_EQ(tenv_close(&t), 0);
    tcheck_image(t.img, false);
    tenv_fini(&t);
}

/* Fill most of a 512-byte-cluster image so the refcount table grows. */
static void grow_reftable(unsigned refcount_bits, uint64_t size)
{
    tenv t;
    tenv_init(&t);
    eng_create_opts o = {.size = size, .cluster_bits = 9,
                         .refcount_bits = refcount_bits};
    tenv_start(&t, "img", &o);
    uint8_t *ref = calloc(1, size);
    const uint64_t chunk = 48 * 1024;
    /* two passes with holes between: allocations interleave with frees */
    for (uint64_t off = 0; off + chunk <= size; off += 2 * chunk) {
        tfill(ref + off, chunk, off);
        CHECK_EQ(engsync_write(t.s, t.e, off, ref + off, chunk), 0);
    }
    CHECK_EQ(engsync_discard(t.s, t.e, 0, size / 4), 0);
    memset(ref, 0, size / 4);
    for (uint64_t off = chunk + 100; off + chunk <= size; off += 2 * chunk) {
        tfill(ref + off, chunk, off + 1);
        CHECK_EQ(engsync_write(t.s, t.e, off, ref + off, chunk), 0);
    }
    eng_info in;
    eng_get_info(t.e, &in);
    CHECK(in.refcount_table_clusters > 1);
    tverify(&t, ref, size);
    tenv_close_verified(&t, "img", ref, size);
    free(ref);
    tenv_fini(&t);
}

static void test_refcount_table_growth(void)
{
    grow_reftable(16, 24 * MIB);
}

static void test_refcount_table_growth_wide(void)
{
    grow_reftable(64, 6 * MIB);
}

static void test_tiny_caches(void)
{
    tenv t;
    tenv_init(&t);
    t.oo.l2_cache_tables = 2;
    t.oo.refblock_cache_blocks = 2;
    uint64_t size = 8 * MIB;
    eng_create_opts o = {.size = size, .cluster_bits = 10};
    tenv_start(&t, "img", &o);
    uint8_t *ref = calloc(1, size), buf[3000];
    /* one sector in many L2 tables, round and round */
    for (unsigned i = 0; i < 300; i++) {
        uint64_t off = (uint64_t)(i * 37 % 64) * (128 * 1024) + i * 7;
        tfill(buf, sizeof(buf), i);
        CHECK_EQ(engsync_write(t.s, t.e, off, buf, sizeof(buf)), 0);
        memcpy(ref + off, buf, sizeof(buf));
        if (i % 7 == 0) {
            CHECK_EQ(engsync_write_zeroes(t.s, t.e, off & ~UINT64_C(1023), 2048,
                                          ENG_ZERO_MAY_UNMAP), 0);
            memset(ref + (off & ~UINT64_C(1023)), 0, 2048);
        }
    }
    tverify(&t, ref, size);
    tenv_close_verified(&t, "img", ref, size);
    free(ref);
    tenv_fini(&t);
}

static const unit_test tests[] = {
    UNIT(test_l1_growth),
    UNIT(test_refcount_table_growth),
    UNIT(test_refcount_table_growth_wide),
    UNIT(test_tiny_caches),
};

UNIT_MAIN(tests)
