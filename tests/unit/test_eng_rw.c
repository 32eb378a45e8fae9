/*
 * test_eng_rw.c - the engine's basic requests against a flat reference:
 * create/open/info, read/write/write-zeroes/discard on aligned and
 * unaligned ranges, flush, reopen, for 512 B, 64 KiB and 2 MiB clusters and
 * versions 2 and 3; every image is checked by the independent checker.
 */
#include "test_eng_util.h"

typedef enum top { T_WRITE, T_ZERO, T_ZERO_UNMAP, T_DISCARD } top;

typedef struct tcase {
    unsigned cluster_bits, version;
    uint64_t size;
} tcase;

static const tcase cases[] = {
    {9, 3, 1 << 20},  {9, 2, 1 << 20},   {16, 3, 8 << 20},
    {16, 2, 8 << 20}, {21, 3, 16 << 20}, {21, 2, 16 << 20},
};

/* Apply one request to the engine and to the reference. */
static void apply(tenv *t, uint8_t *ref, uint64_t cs, top op, uint64_t off,
                  uint64_t len, uint64_t seed, unsigned version)
{
    uint8_t *buf = malloc(len);
    int ret = 0;
    switch (op) {
    case T_WRITE:
        tfill(buf, len, seed);
        ret = engsync_write(t->s, t->e, off, buf, len);
        memcpy(ref + off, buf, len);
        break;
    case T_ZERO:
    case T_ZERO_UNMAP:
        ret = engsync_write_zeroes(t->s, t->e, off, len,
                                   op == T_ZERO_UNMAP ? ENG_ZERO_MAY_UNMAP : 0);
        memset(ref + off, 0, len);
        break;
    case T_DISCARD: {
        /* whole clusters only (no backing here: v2 discards too) */
        uint64_t a = (off + cs - 1) / cs * cs, b = (off + len) / cs * cs;
        ret = engsync_discard(t->s, t->e, off, len);
        if (a < b)
            memset(ref + a, 0, b - a);
        (void)version;
        break;
    }
    }
    CHECK_EQ(ret, 0);
    free(buf);
}

static void run_case(const tcase *c)
{
    tenv t;
    tenv_init(&t);
    uint64_t cs = UINT64_C(1) << c->cluster_bits, size = c->size;
    eng_create_opts co = {.size = size, .cluster_bits = c->cluster_bits,
                          .version = c->version};
    tenv_start(&t, "img", &co);
    uint8_t *ref = calloc(1, size);
    tverify(&t, ref, size);
    /* aligned, unaligned, spanning clusters, tiny, at the end */
    const struct { top op; uint64_t off, len; } ops[] = {
        {T_WRITE, 0, cs},
        {T_WRITE, cs + 100, 3 * cs},
        {T_WRITE, 7, 5},
        {T_WRITE, size - 1000, 1000},
        {T_WRITE, 10 * cs - 512, 1024},
        {T_ZERO, cs / 2, 2 * cs},
        {T_ZERO_UNMAP, 2 * cs, 2 * cs},
        {T_WRITE, 3 * cs + 1, cs - 2},
        {T_DISCARD, cs + 1, 3 * cs},
        {T_WRITE, 2 * cs, 17},
        {T_DISCARD, 0, cs},
        {T_ZERO, 9 * cs + 3, 10},
        {T_WRITE, 20 * cs, 4 * cs + 512},
        {T_ZERO_UNMAP, 20 * cs + 512, cs},
        {T_DISCARD, 21 * cs, 2 * cs},
        {T_WRITE, 21 * cs + cs / 2, cs},
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (ops[i].off + ops[i].len > size)
            continue;
        apply(&t, ref, cs, ops[i].op, ops[i].off, ops[i].len, i + 1,
              c->version);
        tverify(&t, ref, size);
    }
    CHECK_EQ(engsync_flush(t.s, t.e), 0);
    tcheck_image(t.img, false);
    tenv_close_verified(&t, "img", ref, size);
    free(ref);
    tenv_fini(&t);
}

static void test_requests_all_geometries(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

static void test_create_info(void)
{
    tenv t;
    tenv_init(&t);
    eng_create_opts co = {.size = UINT64_C(2) << 40};
    tenv_start(&t, "big", &co);
    eng_info in;
    eng_get_info(t.e, &in);
    CHECK_EQ(in.virtual_size, UINT64_C(2) << 40);
    CHECK_EQ(in.version, 3);
    CHECK_EQ(in.cluster_bits, 16);
    CHECK_EQ(in.refcount_bits, 16);
    CHECK_EQ(in.l1_size, 4096);
    CHECK_EQ(in.l1_offset, 3 << 16);
    CHECK_EQ(in.refcount_table_offset, 1 << 16);
    CHECK(in.backing[0] == 0);
    /* far apart writes in a 2 TiB disk */
    uint8_t a[4096], b[4096];
    tfill(a, sizeof(a), 1);
    CHECK_EQ(engsync_write(t.s, t.e, (UINT64_C(2) << 40) - 4096, a, 4096), 0);
    CHECK_EQ(engsync_write(t.s, t.e, UINT64_C(1) << 40, a, 4096), 0);
    CHECK_EQ(engsync_read(t.s, t.e, (UINT64_C(2) << 40) - 4096, b, 4096), 0);
    CHECK_MEM(a, b, 4096);
    /* out of range */
    CHECK_EQ(engsync_read(t.s, t.e, UINT64_C(2) << 40, b, 1), -EINVAL);
    CHECK_EQ(engsync_write(t.s, t.e, (UINT64_C(2) << 40) - 1, a, 2), -EINVAL);
    eng_map_extent m;
    CHECK_EQ(engsync_map(t.s, t.e, 0, 1 << 20, &m), 0);
    CHECK_EQ(m.kind, ENG_MAP_UNALLOCATED);
    CHECK_EQ(engsync_map(t.s, t.e, UINT64_C(1) << 40, 1 << 20, &m), 0);
    CHECK_EQ(m.kind, ENG_MAP_DATA);
    CHECK_EQ(m.len, 1 << 16);
    CHECK_EQ(tenv_close(&t), 0);
    tcheck_image(t.img, false);
    tenv_fini(&t);
}

static void test_refcount_widths(void)
{
    static const unsigned widths[] = {1, 2, 4, 8, 32, 64};
    for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        tenv t;
        tenv_init(&t);
        eng_create_opts co = {.size = 4 << 20, .cluster_bits = 12,
                              .refcount_bits = widths[i]};
        tenv_start(&t, "img", &co);
        uint8_t *ref = calloc(1, 4 << 20), buf[10000];
        for (unsigned k = 0; k < 40; k++) {
            uint64_t off = (k * 104729u) % ((4 << 20) - sizeof(buf));
            tfill(buf, sizeof(buf), k);
            CHECK_EQ(engsync_write(t.s, t.e, off, buf, sizeof(buf)), 0);
            memcpy(ref + off, buf, sizeof(buf));
            if (k % 5 == 4)
                CHECK_EQ(engsync_discard(t.s, t.e, off, 3 << 12), 0);
            if (k % 5 == 4)
                memset(ref + (off + 4095) / 4096 * 4096, 0,
                       (off + (3 << 12)) / 4096 * 4096 -
                           (off + 4095) / 4096 * 4096);
        }
        tenv_close_verified(&t, "img", ref, 4 << 20);
        free(ref);
        tenv_fini(&t);
    }
}

static const unit_test tests[] = {
    UNIT(test_create_info),
    UNIT(test_requests_all_geometries),
    UNIT(test_refcount_widths),
};

UNIT_MAIN(tests)
