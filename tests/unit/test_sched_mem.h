/*
 * test_sched_mem.h - the scheduler tests' host backend (test_sched.c,
 * test_sched_detached.c): a tiny in-memory file that logs every operation
 * in the order the scheduler performs it ("W0+200 R1000+10 F T3000 ", hex),
 * and fails an access that starts at fail_off with fail_err when set.
 */
#ifndef COWPOKE_TEST_SCHED_MEM_H
#define COWPOKE_TEST_SCHED_MEM_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

/* ---- in-memory backend with an operation log --------------------------- */

typedef struct membk {
    host_backend b;
    uint8_t *data;
    size_t size;
    char log[8192];
    size_t nops;
    uint64_t fail_off; /* an access starting here fails with fail_err */
    int fail_err;
} membk;

/* Appends "<op>", "<op><a>" or "<op><a>+<b>" (hex) and a space. */
static void mem_log(membk *m, char op, int nargs, uint64_t a, uint64_t b)
{
    size_t n = strlen(m->log), room = sizeof(m->log) - n;
    m->nops++;
    if (room < 64)
        return;
    if (nargs == 2)
        snprintf(m->log + n, room, "%c%" PRIx64 "+%" PRIx64 " ", op, a, b);
    else if (nargs == 1)
        snprintf(m->log + n, room, "%c%" PRIx64 " ", op, a);
    else
        snprintf(m->log + n, room, "%c ", op);
}

static int mem_grow(membk *m, uint64_t size)
{
    if (size <= m->size)
        return 0;
    uint8_t *p = realloc(m->data, size);
    if (!p)
        return -ENOMEM;
    memset(p + m->size, 0, size - m->size);
    m->data = p;
    m->size = size;
    return 0;
}

static int mem_pread(host_backend *b, uint64_t off, void *buf, size_t len)
{
    membk *m = (membk *)b;
    mem_log(m, 'R', 2, off, len);
    if (m->fail_err && off == m->fail_off)
        return -m->fail_err;
    memset(buf, 0, len);
    if (off < m->size)
        memcpy(buf, m->data + off, off + len <= m->size ? len : m->size - off);
    return 0;
}

static int mem_pwrite(host_backend *b, uint64_t off, const void *buf,
                      size_t len)
{
    membk *m = (membk *)b;
    mem_log(m, 'W', 2, off, len);
    if (m->fail_err && off == m->fail_off)
        return -m->fail_err;
    int ret = mem_grow(m, off + len);
    if (ret == 0)
        memcpy(m->data + off, buf, len);
    return ret;
}

static int mem_flush(host_backend *b)
{
    mem_log((membk *)b, 'F', 0, 0, 0);
    return 0;
}

static int mem_truncate(host_backend *b, uint64_t size)
{
    membk *m = (membk *)b;
    mem_log(m, 'T', 1, size, 0);
    int ret = mem_grow(m, size);
    if (ret == 0)
        m->size = size;
    return ret;
}

static uint64_t mem_size(host_backend *b)
{
    return ((membk *)b)->size;
}

static void mem_destroy(host_backend *b)
{
    free(((membk *)b)->data);
    free(b);
}

static const host_backend_ops mem_ops = {mem_pread,    mem_pwrite, mem_flush,
                                         mem_truncate, mem_size,   mem_destroy};

static membk *mem_new(void)
{
    membk *m = calloc(1, sizeof(*m));
    m->b.ops = &mem_ops;
    return m;
}

#endif
