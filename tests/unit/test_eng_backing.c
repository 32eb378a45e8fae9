/*
 * test_eng_backing.c - backing chains two deep (qcow2 over qcow2 over raw):
 * reads through the chain, zeroes past a backing file's end, copy-on-write
 * of partial clusters, discard and write-zeroes over backing data, the
 * version 2 discard rule, truncate growth over a longer backing file, and
 * reopen; every qcow2 image is checked by the independent checker.
 */
#include "test_eng_util.h"

#define MIB (UINT64_C(1) << 20)

typedef struct chain {
    tenv t;
    uint64_t raw_size, mid_size, top_size, cs;
    uint8_t *ref; /* the top image's guest view */
} chain;

/* raw base (shorter than mid), mid qcow2 with some data, top qcow2. */
static void chain_build(chain *c, unsigned top_version, uint64_t top_size,
                        unsigned cluster_bits)
{
    tenv_init(&c->t);
    tenv *t = &c->t;
    c->cs = UINT64_C(1) << cluster_bits;
    c->raw_size = 3 * MIB + 4096 + 100;
    c->mid_size = 4 * MIB;
    c->top_size = top_size;
    uint8_t *raw = malloc(c->raw_size);
    tfill(raw, c->raw_size, 11);
    CHECK(tenv_raw(t, "base.raw", raw, c->raw_size) != NULL);
    eng_create_opts mo = {.size = c->mid_size, .cluster_bits = cluster_bits,
                          .backing = "base.raw", .backing_fmt = "raw"};
    tenv_start(t, "mid", &mo);
    uint8_t *mid = calloc(1, c->mid_size), buf[5000];
    memcpy(mid, raw, c->raw_size);
    for (unsigned i = 0; i < 6; i++) {
        uint64_t off = i * 700001u % (c->mid_size - sizeof(buf));
        tfill(buf, sizeof(buf), 100 + i);
        CHECK_EQ(engsync_write(t->s, t->e, off, buf, sizeof(buf)), 0);
        memcpy(mid + off, buf, sizeof(buf));
    }
    tverify(t, mid, c->mid_size);
    CHECK_EQ(tenv_close(t), 0);
    tcheck_image(imgset_find(t->set, "mid"), false);
    eng_create_opts to = {.size = top_size, .cluster_bits = cluster_bits,
                          .version = top_version, .backing = "mid"};
    tenv_start(t, "top", &to);
    c->ref = calloc(1, top_size > c->mid_size ? top_size : c->mid_size);
    memcpy(c->ref, mid, c->mid_size);
    if (top_size < c->mid_size)
        memset(c->ref + top_size, 0, c->mid_size - top_size);
    free(mid);
    free(raw);
}

static void chain_free(chain *c)
{
    free(c->ref);
    tenv_fini(&c->t);
}

static void test_read_through_chain(void)
{
    chain c;
    chain_build(&c, 3, 6 * MIB, 16);
    eng_info in;
    eng_get_info(c.t.e, &in);
    CHECK(strcmp(in.backing, "mid") == 0);
    tverify(&c.t, c.ref, c.top_size); /* incl. zeroes past both ends */
    chain_free(&c);
}

static void cow_writes(chain *c)
{
    tenv *t = &c->t;
    uint8_t buf[3000];
    /* partial clusters over backing data, over raw's end, past mid's end */
    const uint64_t offs[] = {100, c->cs * 3 + 17, c->raw_size - 1000,
                             c->mid_size - 1500, c->mid_size + 5};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        if (offs[i] + sizeof(buf) > c->top_size)
            continue;
        tfill(buf, sizeof(buf), 200 + i);
        CHECK_EQ(engsync_write(t->s, t->e, offs[i], buf, sizeof(buf)), 0);
        memcpy(c->ref + offs[i], buf, sizeof(buf));
    }
}

static void test_cow_partial_clusters(void)
{
    static const unsigned bits[] = {9, 16};
    for (size_t b = 0; b < 2; b++) {
        chain c;
        chain_build(&c, 3, 6 * MIB, bits[b]);
        cow_writes(&c);
        tverify(&c.t, c.ref, c.top_size);
        tenv_close_verified(&c.t, "top", c.ref, c.top_size);
        chain_free(&c);
    }
}

static void test_discard_and_zero_over_backing(void)
{
    static const unsigned versions[] = {3, 2};
    for (size_t v = 0; v < 2; v++) {
        chain c;
        chain_build(&c, versions[v], 6 * MIB, 16);
        tenv *t = &c.t;
        uint64_t cs = c.cs;
        cow_writes(&c);
        /* discard: whole clusters read zeroes on v3; nothing on v2 */
        CHECK_EQ(engsync_discard(t->s, t->e, cs / 2, 4 * cs), 0);
        if (versions[v] == 3)
            memset(c.ref + cs, 0, 3 * cs);
        tverify(t, c.ref, c.top_size);
        /* write-zeroes always reads zeroes */
        CHECK_EQ(engsync_write_zeroes(t->s, t->e, 10 * cs + 5, 2 * cs, 0), 0);
        memset(c.ref + 10 * cs + 5, 0, 2 * cs);
        CHECK_EQ(engsync_write_zeroes(t->s, t->e, 20 * cs, 2 * cs,
                                      ENG_ZERO_MAY_UNMAP), 0);
        memset(c.ref + 20 * cs, 0, 2 * cs);
        /* a partial write into a zeroed cluster keeps the rest zero */
        uint8_t buf[100];
        tfill(buf, sizeof(buf), 5);
        CHECK_EQ(engsync_write(t->s, t->e, 20 * cs + 50, buf, sizeof(buf)), 0);
        memcpy(c.ref + 20 * cs + 50, buf, sizeof(buf));
        tverify(t, c.ref, c.top_size);
        tenv_close_verified(t, "top", c.ref, c.top_size);
        chain_free(&c);
    }
}

static void test_truncate_hides_backing(void)
{
    static const unsigned versions[] = {3, 2};
    for (size_t v = 0; v < 2; v++) {
        chain c;
        uint64_t small = 2 * MIB + 512 * 3; /* not cluster aligned */
        chain_build(&c, versions[v], small, 16);
        tenv *t = &c.t;
        uint8_t buf[700];
        tfill(buf, sizeof(buf), 9);
        CHECK_EQ(engsync_write(t->s, t->e, small - 700, buf, 700), 0);
        memcpy(c.ref + small - 700, buf, 700);
        tverify(t, c.ref, small);
        uint64_t big = 5 * MIB;
        uint8_t *ref = calloc(1, big);
        memcpy(ref, c.ref, small); /* the new area reads zeroes */
        CHECK_EQ(engsync_truncate(t->s, t->e, big), 0);
        tverify(t, ref, big);
        CHECK_EQ(engsync_truncate(t->s, t->e, MIB), -ENOTSUP);
        CHECK_EQ(tenv_reopen(t, "top"), 0);
        eng_info in;
        eng_get_info(t->e, &in);
        CHECK_EQ(in.virtual_size, big);
        tverify(t, ref, big);
        CHECK_EQ(tenv_close(t), 0);
        tcheck_image(t->img, false);
        free(ref);
        chain_free(&c);
    }
}

static void test_backing_errors(void)
{
    tenv t;
    tenv_init(&t);
    eng_create_opts o = {.size = MIB, .backing = "missing"};
    CHECK_EQ(tenv_create(&t, "top", &o), 0);
    CHECK(tenv_open(&t, "top") < 0);
    CHECK(strstr(t.err.msg, "missing") != NULL);
    /* a chain that loops on itself is refused, not followed forever */
    eng_create_opts l = {.size = MIB, .backing = "loop", .backing_fmt = "qcow2"};
    CHECK_EQ(tenv_create(&t, "loop", &l), 0);
    CHECK_EQ(tenv_open(&t, "loop"), -ELOOP);
    CHECK(strstr(t.err.msg, "chain") != NULL);
    /* without a resolver, images with backing files are refused */
    t.oo.open_backing = NULL;
    CHECK_EQ(tenv_open(&t, "top"), -ENOTSUP);
    tenv_fini(&t);
}

static const unit_test tests[] = {
    UNIT(test_read_through_chain),
    UNIT(test_cow_partial_clusters),
    UNIT(test_discard_and_zero_over_backing),
    UNIT(test_truncate_hides_backing),
    UNIT(test_backing_errors),
};

UNIT_MAIN(tests)
