/*
 * test_eng_mix.c - seeded random request mixes (write, write-zeroes,
 * discard, read, flush; batches in flight together under SCHED_RANDOM;
 * a reopen every 250 requests), 2,000 requests per configuration, checked
 * against a flat reference: cluster sizes 512 B, 64 KiB and 2 MiB,
 * versions 2 and 3, with and without a backing file; images end up clean
 * for the independent checker.
 */
#include "mix.h"
#include "test_eng_util.h"

#define OPS 2000
#define CHUNK 250

static void run_mix(unsigned cluster_bits, unsigned version, bool backing,
                    uint64_t seed)
{
    tenv t;
    tenv_init(&t);
    uint64_t cs = UINT64_C(1) << cluster_bits;
    uint64_t size = cs >= (1 << 20) ? 16 * cs : 128 * cs;
    uint8_t *ref = calloc(1, size);
    if (backing) {
        tfill(ref, size - cs - 512, seed);
        tenv_raw(&t, "base", ref, size - cs - 512);
    }
    eng_create_opts o = {.size = size, .cluster_bits = cluster_bits,
                         .version = version,
                         .backing = backing ? "base" : NULL};
    tenv_start(&t, "img", &o);
    sched_set_policy(t.s, SCHED_RANDOM, seed);
    mix_opts mo = {.seed = seed, .ops = CHUNK, .max_batch = 6,
                   .version = version, .has_backing = backing};
    for (unsigned done = 0; done < OPS && t.e; done += CHUNK) {
        mix_result r;
        mo.seed = seed * 1000 + done;
        int ret = mix_run(t.s, t.e, ref, size, cs, &mo, &r);
        if (ret < 0)
            fprintf(stderr, "mix cb=%u v=%u backing=%d seed=%llu: %s (%d)\n",
                    cluster_bits, version, backing, (unsigned long long)seed,
                    r.msg, ret);
        CHECK_EQ(ret, 0);
        if (ret < 0)
            break;
        CHECK_EQ(tenv_reopen(&t, "img"), 0);
        ret = mix_verify(t.s, t.e, ref, size, &r);
        if (ret < 0)
            fprintf(stderr, "after reopen: %s\n", r.msg);
        CHECK_EQ(ret, 0);
    }
    if (t.e)
        CHECK_EQ(tenv_close(&t), 0);
    tcheck_image(t.img, false);
    free(ref);
    tenv_fini(&t);
}

static void test_mix_512(void)
{
    run_mix(9, 3, false, 1);
    run_mix(9, 2, false, 2);
    run_mix(9, 3, true, 3);
}

static void test_mix_64k(void)
{
    run_mix(16, 3, false, 4);
    run_mix(16, 2, false, 5);
    run_mix(16, 3, true, 6);
    run_mix(16, 2, true, 7);
}

static void test_mix_2m(void)
{
    run_mix(21, 3, false, 8);
    run_mix(21, 2, false, 9);
    run_mix(21, 3, true, 10);
}

static const unit_test tests[] = {
    UNIT(test_mix_512),
    UNIT(test_mix_64k),
    UNIT(test_mix_2m),
};

UNIT_MAIN(tests)
