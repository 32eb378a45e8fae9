/*
 * test_eng_zoo.c - the zoo's mutants at engine level (the .io reproducers
 * in tests/regress/zoo_*.io show the same through the executor). For each
 * mutant, a scenario in its historical circumstances that is exact with
 * the mutant off and goes wrong with it on; host errors are injected
 * through the scheduler's event hook, power loss through the simulated
 * host disk. Also: every mutant leaves a plain workload alone, and the
 * in-place reuse of zero clusters that alloc_abort_frees_live needs is
 * correct with the mutant off.
 *
 * Each scenario builds its own scheduler and images (tenv) and frees them.
 */
#include "hostdisk.h"
#include "test_eng_util.h"

#define CS (UINT64_C(64) * 1024)
#define KB(n) ((uint64_t)(n) * 1024)
#define MB(n) ((uint64_t)(n) << 20)
#define ON(m) ENG_MUTANT_BIT(ENG_MUT_##m)

/* ---- scaffolding ----------------------------------------------------------- */

static void zstart(tenv *t, uint64_t mutants, const eng_create_opts *o)
{
    tenv_init(t);
    t->oo.mutants = mutants;
    tenv_start(t, "img", o);
}

/* An overlay "img" over a raw "base" of base_len bytes of pattern 0x11. */
static void zstart_overlay(tenv *t, uint64_t mutants, uint64_t size,
                           uint64_t base_len, unsigned version)
{
    tenv_init(t);
    t->oo.mutants = mutants;
    uint8_t *b = malloc(base_len);
    memset(b, 0x11, base_len);
    CHECK(tenv_raw(t, "base", b, base_len) != NULL);
    free(b);
    eng_create_opts o = {.size = size, .version = version, .backing = "base"};
    tenv_start(t, "img", &o);
}

static void zfinish(tenv *t)
{
    if (t->e)
        (void)tenv_close(t);
    tenv_fini(t);
}

static int wr(tenv *t, uint64_t off, uint64_t len, uint8_t pat)
{
    uint8_t *buf = malloc(len);
    memset(buf, pat, len);
    int ret = engsync_write(t->s, t->e, off, buf, len);
    free(buf);
    return ret;
}

/* True when [off, off + len) reads back as pat everywhere. */
static bool reads(tenv *t, uint64_t off, uint64_t len, uint8_t pat)
{
    uint8_t *buf = malloc(len);
    bool ok = engsync_read(t->s, t->e, off, buf, len) == 0;
    for (uint64_t i = 0; ok && i < len; i++)
        ok = buf[i] == pat;
    free(buf);
    return ok;
}

/* Corruptions the independent checker finds (leaks do not count; an image
 * it cannot even read counts as one). */
static uint64_t corruptions(host_backend *b)
{
    chk_report r;
    if (chk_image(b, &r) < 0)
        return 1;
    return r.corruptions + (r.incomplete ? 1 : 0);
}

static bool keep_all(void *opaque, uint64_t sector)
{
    (void)opaque;
    (void)sector;
    return true;
}

/* Power loss: keep every unflushed sector, or none; the engine is gone. */
static void power_loss(tenv *t, bool keep)
{
    hostdisk_power_loss(t->img, keep ? keep_all : NULL, NULL);
    eng_destroy(t->e);
    t->e = NULL;
}

/* The event hook: fail, or park, the nth announcement of ev. */
typedef struct hook {
    eng_event ev;
    unsigned nth, seen;
    int err;           /* > 0: fail with -err */
    bool park;         /* park the request there until woken */
    sched_req *parked;
    bool done;
} hook;

static int hook_fn(void *opaque, sched *s, sched_req *r, eng_event ev)
{
    hook *h = opaque;
    if (h->done || ev != h->ev || ++h->seen < h->nth)
        return 0;
    h->done = true;
    if (h->park) {
        h->parked = r;
        sched_co_park(s, "zoo test hook");
        return 0;
    }
    return -h->err;
}

static bool hook_parked(void *h)
{
    return ((hook *)h)->parked != NULL;
}

static void arm(tenv *t, hook *h)
{
    sched_set_event_hook(t->s, hook_fn, h);
}

static void disarm(tenv *t)
{
    sched_set_event_hook(t->s, NULL, NULL);
}

/* A request in flight. */
typedef enum aop { A_WRITE, A_ZERO, A_FLUSH } aop;

typedef struct areq {
    eng *e;
    aop op;
    uint64_t off, len;
    uint8_t pat;
    int ret;
    bool done;
} areq;

static void areq_body(void *arg)
{
    areq *q = arg;
    if (q->op == A_WRITE) {
        uint8_t *buf = malloc(q->len);
        memset(buf, q->pat, q->len);
        q->ret = eng_co_write(q->e, q->off, buf, q->len);
        free(buf);
    } else if (q->op == A_ZERO) {
        q->ret = eng_co_write_zeroes(q->e, q->off, q->len, 0);
    } else {
        q->ret = eng_co_flush(q->e);
    }
    q->done = true;
}

static bool areq_done(void *q)
{
    return ((areq *)q)->done;
}

/* ---- the table ------------------------------------------------------------- */

static void test_table(void)
{
    CHECK(ENG_MUT_COUNT <= 64); /* a bit set in a uint64_t */
    for (int m = 0; m < ENG_MUT_COUNT; m++) {
        const eng_mutant_info *in = eng_mutant_get((eng_mutant)m);
        CHECK(in && in->name && in->origin && in->mechanism);
        CHECK(in && strlen(in->origin) > 20 && strlen(in->mechanism) > 20);
        CHECK_EQ(eng_mutant_by_name(in->name), m);
    }
    CHECK_EQ(eng_mutant_by_name("flush_no_host_flush"),
             ENG_MUT_FLUSH_NO_HOST_FLUSH);
    CHECK_EQ(eng_mutant_by_name("alloc_abort_frees_live"),
             ENG_MUT_ALLOC_ABORT_FREES_LIVE);
}

/* ---- flush_no_host_flush -------------------------------------------------- */

static bool flush_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = MB(1)};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, CS, 0x11), 0);
    CHECK_EQ(engsync_flush(t.s, t.e), 0);
    CHECK_EQ(wr(&t, 0, CS, 0x22), 0); /* in place: data only */
    CHECK_EQ(engsync_flush(t.s, t.e), 0);
    power_loss(&t, false);
    bool ok = tenv_open(&t, "img") == 0 && reads(&t, 0, CS, 0x22);
    zfinish(&t);
    return ok;
}

static void test_flush_no_host_flush(void)
{
    CHECK(flush_scenario(0));
    CHECK(!flush_scenario(ON(FLUSH_NO_HOST_FLUSH)));
}

/* ---- swallow_enospc -------------------------------------------------------- */

static bool swallow_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = MB(16)};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, CS, 0x11), 0);
    hook h = {.ev = ENG_EV_WRITE_AIO, .nth = 1, .err = ENOSPC};
    arm(&t, &h);
    int ret = wr(&t, CS, CS, 0x22);
    disarm(&t);
    CHECK(h.done);
    if (ret == 0) /* "written", yet something else reads back */
        CHECK(!reads(&t, CS, CS, 0x22));
    bool ok = ret == -ENOSPC && reads(&t, 0, CS, 0x11);
    zfinish(&t);
    return ok;
}

static void test_swallow_enospc(void)
{
    CHECK(swallow_scenario(0));
    CHECK(!swallow_scenario(ON(SWALLOW_ENOSPC)));
}

/* ---- refcount_after_l2 ------------------------------------------------------ */

/* A guest flush held at its first refcount block write; the power fails
 * and every sector written so far survives. */
static bool refcount_after_l2_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = MB(1), .cluster_bits = 9};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, 512, 0x11), 0);
    CHECK_EQ(engsync_flush(t.s, t.e), 0);
    CHECK_EQ(wr(&t, KB(4), 512, 0x22), 0); /* a new cluster: L2 + refcount */
    hook h = {.ev = ENG_EV_REFBLOCK_UPDATE_PART, .nth = 1, .park = true};
    arm(&t, &h);
    areq f = {.e = t.e, .op = A_FLUSH};
    CHECK(sched_spawn(t.s, areq_body, &f, "flush") != NULL);
    CHECK_EQ(sched_run_until(t.s, hook_parked, &h), SCHED_OK);
    power_loss(&t, true);
    disarm(&t);
    bool ok = corruptions(t.img) == 0;
    zfinish(&t);
    return ok;
}

static void test_refcount_after_l2(void)
{
    CHECK(refcount_after_l2_scenario(0));
    CHECK(!refcount_after_l2_scenario(ON(REFCOUNT_AFTER_L2)));
}

/* ---- l2_evict_dirty ---------------------------------------------------------- */

static bool evict_scenario(uint64_t m)
{
    tenv t;
    tenv_init(&t);
    t.oo.mutants = m;
    t.oo.l2_cache_tables = 2;
    eng_create_opts o = {.size = MB(1), .cluster_bits = 9};
    tenv_start(&t, "img", &o);
    CHECK_EQ(wr(&t, 0, KB(96), 0x11), 0); /* three L2 tables, two cached */
    bool ok = reads(&t, 0, KB(96), 0x11);
    CHECK_EQ(tenv_reopen(&t, "img"), 0);
    ok = ok && reads(&t, 0, KB(96), 0x11);
    zfinish(&t);
    return ok;
}

static void test_l2_evict_dirty(void)
{
    CHECK(evict_scenario(0));
    CHECK(!evict_scenario(ON(L2_EVICT_DIRTY)));
}

/* ---- l2_at_zero -------------------------------------------------------------- */

static bool l2_at_zero_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = UINT64_C(1) << 30};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, CS, 0x11), 0);
    hook h = {.ev = ENG_EV_CLUSTER_ALLOC, .nth = 1, .err = EIO};
    arm(&t, &h);
    int ret = wr(&t, MB(512), CS, 0x22); /* needs a new L2 table */
    disarm(&t);
    bool ok = ret == -EIO;
    CHECK_EQ(tenv_close(&t), 0);
    ok = ok && corruptions(t.img) == 0;
    ok = ok && tenv_open(&t, "img") == 0 && reads(&t, 0, CS, 0x11);
    zfinish(&t);
    return ok;
}

static void test_l2_at_zero(void)
{
    CHECK(l2_at_zero_scenario(0));
    CHECK(!l2_at_zero_scenario(ON(L2_AT_ZERO)));
}

/* ---- refblock_noref ---------------------------------------------------------- */

/* 512-byte clusters: one refcount block counts 128k of host file; the
 * second write needs the second block, then the power fails. */
static bool refblock_noref_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = MB(1), .cluster_bits = 9};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, KB(120), 0x11), 0);
    CHECK_EQ(engsync_flush(t.s, t.e), 0);
    CHECK_EQ(wr(&t, KB(120), KB(8), 0x22), 0);
    power_loss(&t, false);
    bool ok = corruptions(t.img) == 0;
    ok = ok && tenv_open(&t, "img") == 0 && reads(&t, 0, KB(120), 0x11);
    zfinish(&t);
    return ok;
}

static void test_refblock_noref(void)
{
    CHECK(refblock_noref_scenario(0));
    CHECK(!refblock_noref_scenario(ON(REFBLOCK_NOREF)));
}

/* ---- discard_inflight -------------------------------------------------------- */

static bool discard_inflight_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = MB(1)};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, CS, 0x11), 0);
    hook h = {.ev = ENG_EV_WRITE_AIO, .nth = 1, .park = true};
    arm(&t, &h);
    areq w = {.e = t.e, .op = A_WRITE, .off = 0, .len = CS, .pat = 0x22};
    CHECK(sched_spawn(t.s, areq_body, &w, "rewrite") != NULL);
    CHECK_EQ(sched_run_until(t.s, hook_parked, &h), SCHED_OK);
    CHECK_EQ(engsync_discard(t.s, t.e, 0, CS), 0); /* frees the cluster */
    CHECK_EQ(wr(&t, 2 * CS, CS, 0x33), 0);         /* allocates */
    sched_wake(t.s, h.parked);
    CHECK_EQ(sched_run_until(t.s, areq_done, &w), SCHED_OK);
    disarm(&t);
    bool ok = w.ret == 0 && reads(&t, 2 * CS, CS, 0x33);
    CHECK_EQ(tenv_close(&t), 0);
    CHECK_EQ(corruptions(t.img), 0); /* only the data shows it */
    zfinish(&t);
    return ok;
}

static void test_discard_inflight(void)
{
    CHECK(discard_inflight_scenario(0));
    CHECK(!discard_inflight_scenario(ON(DISCARD_INFLIGHT)));
}

/* ---- backing files ------------------------------------------------------------ */

static bool backing_tail_scenario(uint64_t m)
{
    tenv t;
    zstart_overlay(&t, m, MB(1), KB(100), 3);
    /* a COW of cluster 0 leaves base's bytes in the pooled COW buffer,
     * which the next COW reuses */
    CHECK_EQ(wr(&t, KB(1), KB(1), 0x22), 0);
    CHECK_EQ(wr(&t, KB(99), KB(1), 0x22), 0); /* COW across base's end */
    bool ok = reads(&t, KB(64), KB(35), 0x11) && reads(&t, KB(99), KB(1), 0x22) &&
              reads(&t, KB(100), KB(28), 0);
    zfinish(&t);
    return ok;
}

static void test_backing_tail_garbage(void)
{
    CHECK(backing_tail_scenario(0));
    CHECK(!backing_tail_scenario(ON(BACKING_TAIL_GARBAGE)));
}

static bool zero_cow_scenario(uint64_t m)
{
    tenv t;
    zstart_overlay(&t, m, MB(1), MB(1), 3);
    CHECK_EQ(engsync_write_zeroes(t.s, t.e, 0, CS, 0), 0);
    CHECK_EQ(wr(&t, KB(4), KB(4), 0x22), 0);
    bool ok = reads(&t, 0, KB(4), 0) && reads(&t, KB(4), KB(4), 0x22) &&
              reads(&t, KB(8), KB(56), 0) && reads(&t, CS, CS, 0x11);
    zfinish(&t);
    return ok;
}

static void test_zero_cluster_cow_backing(void)
{
    CHECK(zero_cow_scenario(0));
    CHECK(!zero_cow_scenario(ON(ZERO_CLUSTER_COW_BACKING)));
}

static bool truncate_scenario(uint64_t m)
{
    tenv t;
    zstart_overlay(&t, m, MB(1), MB(2), 3);
    CHECK_EQ(engsync_truncate(t.s, t.e, MB(2)), 0);
    bool ok = reads(&t, 0, MB(1), 0x11) && reads(&t, MB(1), MB(1), 0);
    zfinish(&t);
    return ok;
}

static void test_truncate_backing_visible(void)
{
    CHECK(truncate_scenario(0));
    CHECK(!truncate_scenario(ON(TRUNCATE_BACKING_VISIBLE)));
}

static bool v2_discard_scenario(uint64_t m)
{
    tenv t;
    zstart_overlay(&t, m, MB(1), MB(1), 2);
    CHECK_EQ(wr(&t, 0, KB(256), 0x22), 0);
    CHECK_EQ(engsync_discard(t.s, t.e, 0, KB(256)), 0);
    bool ok = reads(&t, 0, KB(256), 0x22);
    zfinish(&t);
    return ok;
}

static void test_v2_discard_backing(void)
{
    CHECK(v2_discard_scenario(0));
    CHECK(!v2_discard_scenario(ON(V2_DISCARD_BACKING)));
}

/* ---- enospc_publish_l2 ------------------------------------------------------- */

static bool publish_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = UINT64_C(1) << 30};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, CS, 0x11), 0);
    hook h = {.ev = ENG_EV_WRITE_AIO, .nth = 1, .err = ENOSPC};
    arm(&t, &h);
    CHECK_EQ(wr(&t, MB(512), CS, 0x22), -ENOSPC); /* after its L2 table */
    disarm(&t);
    CHECK_EQ(tenv_reopen(&t, "img"), 0);
    CHECK_EQ(wr(&t, CS, CS, 0x33), 0);
    bool ok = reads(&t, CS, CS, 0x33) && reads(&t, 0, CS, 0x11);
    CHECK_EQ(tenv_close(&t), 0);
    ok = ok && corruptions(t.img) == 0;
    zfinish(&t);
    return ok;
}

static void test_enospc_publish_l2(void)
{
    CHECK(publish_scenario(0));
    CHECK(!publish_scenario(ON(ENOSPC_PUBLISH_L2)));
}

/* ---- zero_unmap_stale_l2 ----------------------------------------------------- */

/* Four discards after a flush fill the refcount cache (four blocks) with
 * dirty blocks that depend on the L2 cache; the write-zeroes then needs a
 * fifth block. */
static bool zero_unmap_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = MB(4), .cluster_bits = 9};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, MB(1), 0x11), 0);
    CHECK_EQ(engsync_flush(t.s, t.e), 0);
    const uint64_t at[] = {KB(256), KB(512), KB(768), KB(1023)};
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ(engsync_discard(t.s, t.e, at[i], 512), 0);
    CHECK_EQ(engsync_write_zeroes(t.s, t.e, KB(100), 512, ENG_ZERO_MAY_UNMAP),
             0);
    CHECK_EQ(tenv_reopen(&t, "img"), 0);
    bool ok = reads(&t, KB(100), 512, 0) && reads(&t, KB(101), KB(155), 0x11);
    CHECK_EQ(tenv_close(&t), 0);
    ok = ok && corruptions(t.img) == 0;
    zfinish(&t);
    return ok;
}

static void test_zero_unmap_stale_l2(void)
{
    CHECK(zero_unmap_scenario(0));
    CHECK(!zero_unmap_scenario(ON(ZERO_UNMAP_STALE_L2)));
}

/* ---- zero clusters reused in place, alloc_abort_frees_live ------------------- */

static uint64_t host_of(tenv *t, uint64_t off, eng_map_kind *kind)
{
    eng_map_extent x;
    CHECK_EQ(engsync_map(t->s, t->e, off, CS, &x), 0);
    *kind = x.kind;
    return x.host_off;
}

/* With the mutant off: a write into a zero cluster that keeps its host
 * cluster reuses that cluster in place; a failed write leaves it a zero
 * cluster, still counted; neither leaks nor corrupts. */
static void test_zero_cluster_reuse(void)
{
    tenv t;
    eng_create_opts o = {.size = MB(1)};
    eng_map_kind k;
    zstart(&t, 0, &o);
    CHECK_EQ(wr(&t, 0, 2 * CS, 0x11), 0);
    uint64_t h0 = host_of(&t, 0, &k), h1 = host_of(&t, CS, &k);
    CHECK_EQ(engsync_write_zeroes(t.s, t.e, 0, 2 * CS, 0), 0);
    CHECK_EQ(host_of(&t, 0, &k), h0);
    CHECK_EQ(k, ENG_MAP_ZERO);
    hook h = {.ev = ENG_EV_WRITE_AIO, .nth = 1, .err = EIO};
    arm(&t, &h);
    CHECK_EQ(wr(&t, KB(4), KB(4), 0x22), -EIO);
    disarm(&t);
    CHECK_EQ(host_of(&t, 0, &k), h0);
    CHECK_EQ(k, ENG_MAP_ZERO);
    CHECK(reads(&t, 0, 2 * CS, 0));
    /* across both: one host run, reused in place */
    CHECK_EQ(wr(&t, KB(60), KB(8), 0x33), 0);
    CHECK_EQ(host_of(&t, 0, &k), h0);
    CHECK_EQ(k, ENG_MAP_DATA);
    CHECK_EQ(host_of(&t, CS, &k), h1);
    CHECK_EQ(k, ENG_MAP_DATA);
    CHECK(reads(&t, 0, KB(60), 0) && reads(&t, KB(60), KB(8), 0x33) &&
          reads(&t, KB(68), KB(60), 0));
    CHECK_EQ(tenv_close(&t), 0);
    tcheck_image(t.img, false);
    zfinish(&t);
}

static bool abort_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = MB(1)};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, CS, 0x11), 0);
    CHECK_EQ(engsync_write_zeroes(t.s, t.e, 0, CS, 0), 0);
    hook h = {.ev = ENG_EV_WRITE_AIO, .nth = 1, .err = EIO};
    arm(&t, &h);
    CHECK_EQ(wr(&t, 0, CS, 0x22), -EIO);
    disarm(&t);
    CHECK_EQ(wr(&t, CS, CS, 0x33), 0);
    CHECK_EQ(wr(&t, 0, KB(4), 0x44), 0);
    bool ok = reads(&t, CS, CS, 0x33) && reads(&t, 0, KB(4), 0x44) &&
              reads(&t, KB(4), KB(60), 0);
    CHECK_EQ(tenv_close(&t), 0);
    ok = ok && corruptions(t.img) == 0;
    zfinish(&t);
    return ok;
}

static void test_alloc_abort_frees_live(void)
{
    CHECK(abort_scenario(0));
    CHECK(!abort_scenario(ON(ALLOC_ABORT_FREES_LIVE)));
}

/* ---- partial write-zeroes, refcount_read_unpinned ----------------------------- */

/* With the mutants off: a partial write-zeroes into a cluster that reads
 * as zeroes otherwise makes it a zero cluster (no allocation); into a
 * cluster with data it writes zeroes; the data is right either way. */
static void test_partial_write_zeroes(void)
{
    tenv t;
    eng_create_opts o = {.size = MB(1)};
    eng_map_kind k;
    zstart(&t, 0, &o);
    CHECK_EQ(wr(&t, 0, CS, 0x11), 0);
    CHECK_EQ(engsync_write_zeroes(t.s, t.e, CS + KB(4), KB(4), 0), 0);
    (void)host_of(&t, CS, &k);
    CHECK_EQ(k, ENG_MAP_ZERO); /* was unallocated: now a zero cluster */
    CHECK_EQ(engsync_write_zeroes(t.s, t.e, KB(4), KB(4), 0), 0);
    (void)host_of(&t, 0, &k);
    CHECK_EQ(k, ENG_MAP_DATA); /* the rest holds data: zeroes written */
    CHECK(reads(&t, 0, KB(4), 0x11) && reads(&t, KB(4), KB(4), 0) &&
          reads(&t, KB(8), KB(56), 0x11) && reads(&t, CS, CS, 0));
    /* head and tail in two clusters around a whole one */
    CHECK_EQ(wr(&t, 3 * CS, 3 * CS, 0x22), 0);
    CHECK_EQ(engsync_write_zeroes(t.s, t.e, 3 * CS + 100, 2 * CS, 0), 0);
    CHECK(reads(&t, 3 * CS, 100, 0x22) && reads(&t, 3 * CS + 100, 2 * CS, 0) &&
          reads(&t, 5 * CS + 100, CS - 100, 0x22));
    CHECK_EQ(tenv_close(&t), 0);
    tcheck_image(t.img, false);
    zfinish(&t);
}

/* A partial write-zeroes runs the preallocation probe (the first block
 * status of this open), held at its first refcount block load; an
 * allocating write meanwhile loads another refcount block. 512-byte
 * clusters: one refcount block counts 128k of host file. */
static bool unpinned_scenario(uint64_t m)
{
    tenv t;
    eng_create_opts o = {.size = MB(2), .cluster_bits = 9};
    zstart(&t, m, &o);
    CHECK_EQ(wr(&t, 0, MB(1), 0x11), 0);
    CHECK_EQ(tenv_reopen(&t, "img"), 0);
    CHECK_EQ(wr(&t, KB(1600), 512, 0x33), 0); /* the free-cluster hint */
    /* a hole in one block, then four other blocks fill the cache */
    const uint64_t at[] = {KB(300), KB(450), KB(600), KB(700), KB(800)};
    for (unsigned i = 0; i < 5; i++)
        CHECK_EQ(engsync_discard(t.s, t.e, at[i], 512), 0);
    hook h = {.ev = ENG_EV_REFBLOCK_LOAD, .nth = 1, .park = true};
    arm(&t, &h);
    areq z = {.e = t.e, .op = A_ZERO, .off = KB(1536) + 256, .len = 256};
    CHECK(sched_spawn(t.s, areq_body, &z, "write-zeroes") != NULL);
    CHECK_EQ(sched_run_until(t.s, hook_parked, &h), SCHED_OK);
    areq w = {.e = t.e, .op = A_WRITE, .off = KB(300), .len = 512, .pat = 0x22};
    CHECK(sched_spawn(t.s, areq_body, &w, "write") != NULL);
    (void)sched_run_until(t.s, areq_done, &w); /* off: waits for the lock */
    sched_wake(t.s, h.parked);
    CHECK_EQ(sched_run_all(t.s), SCHED_IDLE);
    disarm(&t);
    CHECK(z.done && w.done && z.ret == 0 && w.ret == 0);
    bool ok = reads(&t, KB(300), 512, 0x22);
    CHECK_EQ(tenv_close(&t), 0);
    ok = ok && corruptions(t.img) == 0;
    zfinish(&t);
    return ok;
}

static void test_refcount_read_unpinned(void)
{
    CHECK(unpinned_scenario(0));
    CHECK(!unpinned_scenario(ON(REFCOUNT_READ_UNPINNED)));
}

/* ---- a plain workload is the same under every mutant ------------------------- */

/* No backing file, no fault, no crash, no concurrency, few L2 tables, no
 * refcount block growth, no zero clusters: nothing any mutant needs. */
static void plain_run(uint64_t m, uint8_t *img_bytes, uint64_t *img_len)
{
    tenv t;
    eng_create_opts o = {.size = MB(8)};
    zstart(&t, m, &o);
    uint8_t *ref = calloc(1, MB(8));
    prng p = prng_seeded(42);
    for (unsigned i = 0; i < 40; i++) {
        uint64_t len = (1 + prng_below(&p, 64)) * 1024;
        uint64_t off = prng_below(&p, (MB(8) - len) / 512) * 512;
        uint8_t *buf = ref + off;
        if (prng_below(&p, 5) == 0) {
            CHECK_EQ(engsync_discard(t.s, t.e, off, len), 0);
            uint64_t a = (off + CS - 1) / CS * CS, b = (off + len) / CS * CS;
            if (a < b)
                memset(ref + a, 0, b - a);
        } else {
            tfill(buf, len, i);
            CHECK_EQ(engsync_write(t.s, t.e, off, buf, len), 0);
        }
        if (i % 10 == 9)
            CHECK_EQ(engsync_flush(t.s, t.e), 0);
    }
    tverify(&t, ref, MB(8));
    CHECK_EQ(tenv_reopen(&t, "img"), 0);
    tverify(&t, ref, MB(8));
    CHECK_EQ(tenv_close(&t), 0);
    tcheck_image(t.img, false);
    *img_len = host_size(t.img);
    CHECK(*img_len <= MB(16));
    CHECK_EQ(host_pread(t.img, 0, img_bytes, *img_len), 0);
    free(ref);
    zfinish(&t);
}

static void test_plain_workload_unchanged(void)
{
    uint8_t *want = malloc(MB(16)), *got = malloc(MB(16));
    uint64_t want_len = 0, got_len = 0;
    plain_run(0, want, &want_len);
    for (int m = 0; m < ENG_MUT_COUNT; m++) {
        plain_run(ENG_MUTANT_BIT(m), got, &got_len);
        /* the same image, byte for byte */
        CHECK_EQ(got_len, want_len);
        if (got_len == want_len && memcmp(got, want, got_len) != 0) {
            fprintf(stderr, "mutant %s changes a plain workload's image\n",
                    eng_mutant_get((eng_mutant)m)->name);
            CHECK(0);
        }
    }
    free(want);
    free(got);
}

static const unit_test tests[] = {
    UNIT(test_table),
    UNIT(test_flush_no_host_flush),
    UNIT(test_swallow_enospc),
    UNIT(test_refcount_after_l2),
    UNIT(test_l2_evict_dirty),
    UNIT(test_l2_at_zero),
    UNIT(test_refblock_noref),
    UNIT(test_discard_inflight),
    UNIT(test_backing_tail_garbage),
    UNIT(test_zero_cluster_cow_backing),
    UNIT(test_truncate_backing_visible),
    UNIT(test_v2_discard_backing),
    UNIT(test_enospc_publish_l2),
    UNIT(test_zero_unmap_stale_l2),
    UNIT(test_zero_cluster_reuse),
    UNIT(test_alloc_abort_frees_live),
    UNIT(test_partial_write_zeroes),
    UNIT(test_refcount_read_unpinned),
    UNIT(test_plain_workload_unchanged),
};

UNIT_MAIN(tests)
