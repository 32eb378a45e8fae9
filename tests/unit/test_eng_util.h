/*
 * test_eng_util.h - shared scaffolding of the engine's unit tests
 * (test_eng_*.c): one scheduler, a set of in-memory images, create/open/
 * close of the image under test, seeded data, a flat reference, and the
 * independent metadata checker over the image bytes.
 *
 * A tenv owns its scheduler and image set; tenv_fini() closes the engine
 * if it is still open and frees everything. Everything is deterministic.
 */
#ifndef COWPOKE_TEST_ENG_UTIL_H
#define COWPOKE_TEST_ENG_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "coro.h"
#include "engsync.h"
#include "imgset.h"
#include "prng.h"
#include "sched.h"
#include "unit.h"

typedef struct tenv {
    sched *s;
    imgset *set;
    eng *e;
    host_backend *img; /* the image under test */
    eng_open_opts oo;
    eng_error err;
} tenv;

static inline void tenv_init(tenv *t)
{
    memset(t, 0, sizeof(*t));
    t->s = sched_create();
    t->set = imgset_create(t->s, NULL);
    imgset_open_opts(t->set, &t->oo);
}

static inline void tenv_fini(tenv *t)
{
    if (t->e)
        CHECK_EQ(engsync_close(t->s, t->e), 0);
    t->e = NULL;
    sched_destroy(t->s);
    imgset_destroy(t->set);
    coro_pool_drain();
}

/* A new in-memory image `name` holding a fresh qcow2 image. */
static inline int tenv_create(tenv *t, const char *name,
                              const eng_create_opts *o)
{
    host_backend *b = imgset_find(t->set, name);
    if (!b) {
        int ret = imgset_add_memory(t->set, name, &b);
        if (ret < 0)
            return ret;
    }
    int ret = engsync_create(t->s, imgset_file(t->set, b), o, &t->err);
    if (ret < 0)
        fprintf(stderr, "create %s: %s\n", name, t->err.msg);
    return ret;
}

/* A new in-memory raw image `name` with len bytes of data. */
static inline host_backend *tenv_raw(tenv *t, const char *name,
                                     const uint8_t *data, size_t len)
{
    host_backend *b = NULL;
    if (imgset_add_memory(t->set, name, &b) == 0 && len)
        host_pwrite(b, 0, data, len);
    return b;
}

/* Open `name` as the image under test (t->e). */
static inline int tenv_open(tenv *t, const char *name);

/* Create image `name` and open it as the image under test. */
static inline void tenv_start(tenv *t, const char *name,
                              const eng_create_opts *o)
{
    CHECK_EQ(tenv_create(t, name, o), 0);
    CHECK_EQ(tenv_open(t, name), 0);
}


static inline int tenv_open(tenv *t, const char *name)
{
    t->img = imgset_find(t->set, name);
    if (!t->img)
        return -ENOENT;
    int ret = engsync_open(t->s, imgset_file(t->set, t->img), &t->oo, &t->e,
                           &t->err);
    if (ret < 0)
        t->e = NULL;
    return ret;
}

static inline int tenv_close(tenv *t)
{
    int ret = engsync_close(t->s, t->e);
    t->e = NULL;
    return ret;
}

static inline int tenv_reopen(tenv *t, const char *name)
{
    int ret = tenv_close(t);
    return ret < 0 ? ret : tenv_open(t, name);
}

static inline void tfill(uint8_t *buf, size_t len, uint64_t seed)
{
    prng p = prng_seeded(seed);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = prng_next(&p);
        memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
    }
}

/* Read the whole disk and compare with ref. */
static inline void tverify(tenv *t, const uint8_t *ref, uint64_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    CHECK_EQ(engsync_read(t->s, t->e, 0, buf, size), 0);
    CHECK_MEM(buf, ref, size);
    free(buf);
}

static inline void tcheck_image(host_backend *b, bool allow_leaks);

/* Reopen `name`, read it all again, close, and have the checker find it
 * clean (the end of most tests). */
static inline void tenv_close_verified(tenv *t, const char *name,
                                       const uint8_t *ref, uint64_t size)
{
    CHECK_EQ(tenv_reopen(t, name), 0);
    tverify(t, ref, size);
    CHECK_EQ(tenv_close(t), 0);
    tcheck_image(t->img, false);
}

/* The independent checker finds no corruption (and no leak unless
 * allowed) in image b. */
static inline void tcheck_image(host_backend *b, bool allow_leaks)
{
    chk_report r;
    CHECK_EQ(chk_image(b, &r), 0);
    if (r.corruptions || r.incomplete || (!allow_leaks && r.leaks)) {
        char buf[4096];
        chk_format(&r, buf, sizeof(buf));
        fprintf(stderr, "checker: %s\n", buf);
    }
    CHECK_EQ(r.corruptions, 0);
    CHECK(!r.incomplete);
    if (!allow_leaks)
        CHECK_EQ(r.leaks, 0);
}

#endif
