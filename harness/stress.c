/*
 * stress.c - one seeded stress run (see stress.h).
 *
 * Owns everything it creates: scheduler, image set, engines, reference
 * buffer; all are freed before stress_run returns, pass or fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "engsync.h"
#include "imgset.h"
#include "mix.h"
#include "prng.h"
#include "stress.h"

void stress_pick(uint64_t seed, stress_config *cfg)
{
    static const unsigned bits[] = {9, 12, 16, 16, 16, 21};
    prng p = prng_seeded(seed ^ UINT64_C(0x5eed));
    cfg->cluster_bits = bits[prng_below(&p, 6)];
    cfg->version = prng_chance(&p, 1, 4) ? 2 : 3;
    cfg->backing = prng_chance(&p, 1, 3);
    uint64_t cs = UINT64_C(1) << cfg->cluster_bits;
    cfg->size = cs * (8 + prng_below(&p, 56));
    if (cfg->size > (UINT64_C(16) << 20))
        cfg->size = UINT64_C(16) << 20;
    cfg->l2_cache = prng_chance(&p, 1, 2) ? 2 : 16;
    cfg->ops = 40 + (unsigned)prng_below(&p, 120);
    cfg->batch = 1 + (unsigned)prng_below(&p, 8);
}

typedef struct stress_ctx {
    sched *s;
    imgset *set;
    host_backend *top;
    eng *e;
    uint8_t *ref;
    stress_result *r;
} stress_ctx;

static int stress_fail(stress_ctx *c, const char *fmt, const char *detail)
{
    c->r->failed = true;
    snprintf(c->r->what, sizeof(c->r->what), fmt, detail);
    return 0;
}

static int stress_open(stress_ctx *c, uint64_t mutants)
{
    eng_open_opts o = {.mutants = mutants, .l2_cache_tables = c->r->cfg.l2_cache};
    imgset_open_opts(c->set, &o);
    eng_error err = {{0}};
    int ret = engsync_open(c->s, imgset_file(c->set, c->top), &o, &c->e, &err);
    if (ret < 0) {
        c->e = NULL;
        return stress_fail(c, "open failed: %s", err.msg[0] ? err.msg : strerror(-ret)) - 1;
    }
    return 0;
}

/* A backing file "base" with seeded data in its first half. */
static int stress_make_base(stress_ctx *c, uint64_t seed)
{
    const stress_config *cfg = &c->r->cfg;
    host_backend *b;
    int ret = imgset_add_memory(c->set, "base", &b);
    eng_create_opts co = {.size = cfg->size, .cluster_bits = cfg->cluster_bits,
                          .version = cfg->version};
    eng_error err = {{0}};
    if (ret == 0)
        ret = engsync_create(c->s, imgset_file(c->set, b), &co, &err);
    eng_open_opts o = {0};
    eng *base = NULL;
    if (ret == 0)
        ret = engsync_open(c->s, imgset_file(c->set, b), &o, &base, &err);
    prng p = prng_seeded(seed ^ UINT64_C(0xba5e));
    for (uint64_t i = 0; i < cfg->size / 2; i++)
        c->ref[i] = (uint8_t)prng_next(&p);
    if (ret == 0)
        ret = engsync_write(c->s, base, 0, c->ref, cfg->size / 2);
    if (base) {
        int cret = engsync_close(c->s, base);
        ret = ret ? ret : cret;
    }
    if (ret < 0)
        stress_fail(c, "building the backing file failed: %s",
                    err.msg[0] ? err.msg : strerror(-ret));
    return ret;
}

static int stress_make_top(stress_ctx *c)
{
    const stress_config *cfg = &c->r->cfg;
    int ret = imgset_add_memory(c->set, "top", &c->top);
    eng_create_opts co = {.size = cfg->size, .cluster_bits = cfg->cluster_bits,
                          .version = cfg->version,
                          .backing = cfg->backing ? "base" : NULL,
                          .backing_fmt = cfg->backing ? "qcow2" : NULL};
    eng_error err = {{0}};
    if (ret == 0)
        ret = engsync_create(c->s, imgset_file(c->set, c->top), &co, &err);
    if (ret < 0)
        stress_fail(c, "creating the image failed: %s",
                    err.msg[0] ? err.msg : strerror(-ret));
    return ret;
}

static void stress_check_metadata(stress_ctx *c)
{
    chk_report rep;
    if (chk_image(c->top, &rep) < 0 || rep.incomplete || rep.corruptions ||
        rep.leaks) {
        char text[400];
        chk_format(&rep, text, sizeof(text));
        stress_fail(c, "metadata check failed after close: %s", text);
    }
}

static void stress_body(stress_ctx *c, uint64_t seed, uint64_t mutants)
{
    const stress_config *cfg = &c->r->cfg;
    if ((cfg->backing && stress_make_base(c, seed) < 0) ||
        stress_make_top(c) < 0 || stress_open(c, mutants) < 0)
        return;
    mix_opts mo = {.seed = seed, .ops = cfg->ops, .max_batch = cfg->batch,
                   .version = cfg->version, .has_backing = cfg->backing};
    mix_result mr;
    sched_set_policy(c->s, SCHED_RANDOM, seed);
    int ret = mix_run(c->s, c->e, c->ref, cfg->size,
                      UINT64_C(1) << cfg->cluster_bits, &mo, &mr);
    c->r->requests = mr.reads + mr.writes + mr.zeroes + mr.discards + mr.flushes;
    if (ret < 0) {
        stress_fail(c, "%s", mr.msg);
        return;
    }
    ret = engsync_close(c->s, c->e);
    c->e = NULL;
    if (ret < 0) {
        stress_fail(c, "close failed: %s", strerror(-ret));
        return;
    }
    stress_check_metadata(c);
    if (c->r->failed || stress_open(c, mutants) < 0)
        return;
    if (mix_verify(c->s, c->e, c->ref, cfg->size, &mr) < 0)
        stress_fail(c, "after reopen: %s", mr.msg);
}

int stress_run(uint64_t seed, uint64_t mutants, stress_result *r)
{
    memset(r, 0, sizeof(*r));
    stress_pick(seed, &r->cfg);
    stress_ctx c = {.r = r};
    c.s = sched_create();
    c.set = c.s ? imgset_create(c.s, NULL) : NULL;
    c.ref = calloc(1, r->cfg.size);
    if (!c.set || !c.ref) {
        imgset_destroy(c.set);
        sched_destroy(c.s);
        free(c.ref);
        return -ENOMEM;
    }
    stress_body(&c, seed, mutants);
    if (c.e && !r->failed)
        engsync_close(c.s, c.e);
    else if (c.e)
        eng_destroy(c.e);
    sched_destroy(c.s);
    imgset_destroy(c.set);
    free(c.ref);
    return 0;
}
