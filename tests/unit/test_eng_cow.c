/*
 * test_eng_cow.c - copy-on-write written with the guest data: an unaligned
 * allocating write whose COW regions border its data reaches the host as
 * ONE write (QEMU's merge of COW and guest data, since 2.10), with the
 * events in QEMU's order (cow_read, write_aio, cow_write); where they do
 * not border it (data starting in a cluster written in place), data and
 * COW stay separate writes. The image under test sits on a counting host
 * backend that records every host write; the data is checked against a
 * flat reference and the image by the independent checker. The same
 * backend shows that creating an image writes only the metadata sectors
 * that are not zero.
 */
#include "hostdisk.h"
#include "test_eng_util.h"

#define MAX_LOG 64

/* A host_backend that forwards to a hostdisk and logs writes. */
typedef struct counting {
    host_backend b; /* first: a host_backend * is a counting * */
    host_backend *in;
    unsigned writes, truncates;
    uint64_t bytes; /* written */
    uint64_t off[MAX_LOG], len[MAX_LOG];
} counting;

static counting *cnt_of(host_backend *b) { return (counting *)b; }

static int c_pread(host_backend *b, uint64_t off, void *buf, size_t len)
{
    return host_pread(cnt_of(b)->in, off, buf, len);
}

static int c_pwrite(host_backend *b, uint64_t off, const void *buf, size_t len)
{
    counting *c = cnt_of(b);
    if (c->writes < MAX_LOG) {
        c->off[c->writes] = off;
        c->len[c->writes] = len;
    }
    c->writes++;
    c->bytes += len;
    return host_pwrite(c->in, off, buf, len);
}

static int c_flush(host_backend *b) { return host_flush(cnt_of(b)->in); }
static int c_truncate(host_backend *b, uint64_t size)
{
    cnt_of(b)->truncates++;
    return host_truncate(cnt_of(b)->in, size);
}
static uint64_t c_size(host_backend *b) { return host_size(cnt_of(b)->in); }
static void c_destroy(host_backend *b) { host_destroy(cnt_of(b)->in); }

static const host_backend_ops c_ops = {c_pread,    c_pwrite, c_flush,
                                       c_truncate, c_size,   c_destroy};

/* The data and COW events announced, in order. */
typedef struct evlog {
    unsigned n;
    eng_event ev[MAX_LOG];
} evlog;

static int log_hook(void *opaque, sched *s, sched_req *r, eng_event ev)
{
    evlog *l = opaque;
    (void)s;
    (void)r;
    bool io = ev == ENG_EV_WRITE_AIO || ev == ENG_EV_COW_READ ||
              ev == ENG_EV_COW_WRITE;
    if (io && l->n < MAX_LOG)
        l->ev[l->n++] = ev;
    return 0;
}

typedef struct cowenv {
    tenv t;
    counting c;
    evlog log;
    uint8_t *ref;
    uint64_t size, cs;
} cowenv;

/* Image of `size` with 2^bits clusters on the counting backend (backing
 * "base" when with_base: a raw image of seeded data). */
static void cow_start(cowenv *w, unsigned bits, uint64_t size, bool with_base)
{
    memset(w, 0, sizeof(*w));
    tenv_init(&w->t);
    w->size = size;
    w->cs = UINT64_C(1) << bits;
    w->ref = calloc(1, size);
    w->c.b.ops = &c_ops;
    w->c.in = hostdisk_create();
    eng_create_opts co = {.size = size, .cluster_bits = bits};
    if (with_base) {
        tfill(w->ref, size, 99);
        CHECK(tenv_raw(&w->t, "base", w->ref, size) != NULL);
        co.backing = "base";
        co.backing_fmt = "raw";
    }
    eng_file *f = sched_file(w->t.s, &w->c.b, "img");
    CHECK_EQ(engsync_create(w->t.s, f, &co, &w->t.err), 0);
    CHECK_EQ(engsync_open(w->t.s, f, &w->t.oo, &w->t.e, &w->t.err), 0);
    sched_set_event_hook(w->t.s, log_hook, &w->log);
}

static void cow_finish(cowenv *w)
{
    tverify(&w->t, w->ref, w->size);
    CHECK_EQ(tenv_close(&w->t), 0);
    tcheck_image(&w->c.b, false);
    tenv_fini(&w->t);
    host_destroy(&w->c.b);
    free(w->ref);
}

/* Write seeded data to [off, off + len) (and the reference); returns the
 * number of host writes the request made (events logged afresh). */
static unsigned cow_write(cowenv *w, uint64_t off, uint64_t len, uint64_t seed)
{
    uint8_t *buf = malloc(len);
    tfill(buf, len, seed);
    memcpy(w->ref + off, buf, len);
    w->c.writes = 0;
    w->log.n = 0;
    CHECK_EQ(engsync_write(w->t.s, w->t.e, off, buf, len), 0);
    free(buf);
    return w->c.writes;
}

/* Flush, so that later requests find metadata on the host and cached. */
static void cow_settle(cowenv *w)
{
    CHECK_EQ(engsync_flush(w->t.s, w->t.e), 0);
}

/* cow_start, then a first write of [0, first) so that the L2 table
 * exists, settled on the host. */
static void cow_ready(cowenv *w, unsigned bits, uint64_t size, bool with_base,
                      uint64_t first)
{
    cow_start(w, bits, size, with_base);
    cow_write(w, 0, first, 1);
    cow_settle(w);
}

static void check_events(const evlog *l, const eng_event *want, unsigned n)
{
    CHECK_EQ(l->n, n);
    for (unsigned i = 0; i < n && i < l->n; i++)
        CHECK_EQ(l->ev[i], want[i]);
}

/* An unaligned write into an unallocated cluster: head, data and tail
 * COW in one host write covering the whole new cluster (512 B, 4 KiB and
 * 64 KiB clusters). */
static void test_one_write_head_and_tail(void)
{
    static const unsigned bits[] = {9, 12, 16};
    for (unsigned i = 0; i < 3; i++) {
        cowenv w;
        uint64_t cs0 = UINT64_C(1) << bits[i];
        cow_ready(&w, bits[i], 64 * cs0, false, cs0);
        uint64_t cs = w.cs, off = 5 * cs + cs / 4 + 7, len = cs / 3;
        CHECK_EQ(cow_write(&w, off, len, 2), 1);
        CHECK_EQ(w.c.len[0], cs); /* the whole cluster, at its start */
        CHECK_EQ(w.c.off[0] % cs, 0);
        /* head, middle and tail in one read while the middle is small */
        const eng_event one[] = {ENG_EV_COW_READ, ENG_EV_WRITE_AIO,
                                 ENG_EV_COW_WRITE};
        const eng_event two[] = {ENG_EV_COW_READ, ENG_EV_COW_READ,
                                 ENG_EV_WRITE_AIO, ENG_EV_COW_WRITE};
        if (len <= 16384)
            check_events(&w.log, one, 3);
        else
            check_events(&w.log, two, 4);
        cow_finish(&w);
    }
}

/* A write over two new clusters, starting and ending unaligned: one host
 * write of both clusters; the middle is over 16 KiB with 64 KiB clusters,
 * so QEMU reads head and tail separately (two cow_read events). */
static void test_one_write_two_clusters(void)
{
    cowenv w;
    cow_ready(&w, 16, 4 << 20, false, 4096);
    uint64_t cs = w.cs;
    CHECK_EQ(cow_write(&w, 2 * cs + 100, cs + 50, 3), 1);
    CHECK_EQ(w.c.len[0], 2 * cs);
    const eng_event ev[] = {ENG_EV_COW_READ, ENG_EV_COW_READ,
                            ENG_EV_WRITE_AIO, ENG_EV_COW_WRITE};
    check_events(&w.log, ev, 4);
    cow_finish(&w);
}

/* The fuzz finding: a zero cluster that keeps its host cluster is reused
 * in place; the 434-byte write and its 78-byte tail go out as one. */
static void test_one_write_zero_cluster_reuse(void)
{
    cowenv w;
    cow_ready(&w, 9, 4096, false, 512);
    CHECK_EQ(engsync_write_zeroes(w.t.s, w.t.e, 0, 512, 0), 0);
    memset(w.ref, 0, 512);
    cow_settle(&w);
    CHECK_EQ(cow_write(&w, 0, 434, 2), 1);
    CHECK_EQ(w.c.len[0], 512);
    const eng_event ev[] = {ENG_EV_COW_READ, ENG_EV_WRITE_AIO,
                            ENG_EV_COW_WRITE};
    check_events(&w.log, ev, 3);
    cow_finish(&w);
}

/* COW from a backing file: the head and tail come from the backing data,
 * still in one host write. */
static void test_one_write_from_backing(void)
{
    cowenv w;
    cow_ready(&w, 12, 256 * 1024, true, 4096);
    CHECK_EQ(cow_write(&w, 3 * 4096 + 1000, 2000, 4), 1);
    CHECK_EQ(w.c.len[0], 4096);
    cow_finish(&w);
}

/* Data that starts in a cluster written in place and runs into a new one
 * does not border the new cluster's COW head: data and tail COW are
 * separate host writes (write_aio, then cow_read/cow_write). */
static void test_separate_when_not_bordering(void)
{
    cowenv w;
    cow_ready(&w, 12, 256 * 1024, false, 4096);
    CHECK_EQ(cow_write(&w, 2048, 4096, 5), 2);
    CHECK_EQ(w.c.len[0], 4096);      /* the data, over both clusters */
    CHECK_EQ(w.c.len[1], 2048);      /* the tail of the new cluster */
    const eng_event ev[] = {ENG_EV_WRITE_AIO, ENG_EV_COW_READ,
                            ENG_EV_COW_WRITE};
    check_events(&w.log, ev, 3);
    cow_finish(&w);
}

/* An aligned write needs no COW: one write, no COW events. */
static void test_aligned_no_cow(void)
{
    cowenv w;
    cow_ready(&w, 12, 256 * 1024, false, 4096);
    CHECK_EQ(cow_write(&w, 8192, 8192, 6), 1);
    const eng_event ev[] = {ENG_EV_WRITE_AIO};
    check_events(&w.log, ev, 1);
    cow_finish(&w);
}

/* Creating an image writes only the sectors of metadata that are not
 * zero (header, refcount table, refcount block: one sector each here),
 * yet the file's length covers the L1 table and every byte reads as a
 * full write would have made it: the checker finds the image clean and
 * the engine opens it, reads zeroes, writes and reads back. */
static void test_create_writes_little(void)
{
    static const struct { unsigned bits; uint64_t size, l1_end; } c[] = {
        {16, 16 << 20, 4 << 16}, /* header, reftable, refblock, L1 */
        {9, 1 << 20, 4 << 9},    /* 512-byte clusters */
        {21, UINT64_C(1) << 40, 4 << 21},
    };
    for (unsigned i = 0; i < 3; i++) {
        cowenv w;
        memset(&w, 0, sizeof(w));
        tenv_init(&w.t);
        w.c.b.ops = &c_ops;
        w.c.in = hostdisk_create();
        CHECK_EQ(host_pwrite(w.c.in, 0, "junk", 4), 0); /* truncated away */
        eng_create_opts co = {.size = c[i].size, .cluster_bits = c[i].bits};
        eng_file *f = sched_file(w.t.s, &w.c.b, "img");
        CHECK_EQ(engsync_create(w.t.s, f, &co, &w.t.err), 0);
        CHECK_EQ(w.c.writes, 3);
        CHECK_EQ(w.c.bytes, 3 * 512);
        CHECK_EQ(host_size(&w.c.b), c[i].l1_end);
        tcheck_image(&w.c.b, false);
        CHECK_EQ(engsync_open(w.t.s, f, &w.t.oo, &w.t.e, &w.t.err), 0);
        uint8_t buf[4096], zero[4096] = {0};
        CHECK_EQ(engsync_read(w.t.s, w.t.e, c[i].size - 4096, buf, 4096), 0);
        CHECK_MEM(buf, zero, 4096);
        tfill(buf, sizeof(buf), i);
        CHECK_EQ(engsync_write(w.t.s, w.t.e, 512, buf, 4096), 0);
        CHECK_EQ(tenv_close(&w.t), 0);
        CHECK_EQ(engsync_open(w.t.s, f, &w.t.oo, &w.t.e, &w.t.err), 0);
        uint8_t back[4096];
        CHECK_EQ(engsync_read(w.t.s, w.t.e, 512, back, 4096), 0);
        CHECK_MEM(back, buf, 4096);
        CHECK_EQ(tenv_close(&w.t), 0);
        tcheck_image(&w.c.b, false);
        tenv_fini(&w.t);
        host_destroy(&w.c.b);
    }
}

static const unit_test tests[] = {
    UNIT(test_one_write_head_and_tail),
    UNIT(test_one_write_two_clusters),
    UNIT(test_one_write_zero_cluster_reuse),
    UNIT(test_one_write_from_backing),
    UNIT(test_separate_when_not_bordering),
    UNIT(test_aligned_no_cow),
    UNIT(test_create_writes_little),
};

UNIT_MAIN(tests)
