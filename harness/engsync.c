/*
 * engsync.c - synchronous wrappers around the engine's coroutine calls
 * (see engsync.h). One call record describes the operation; one coroutine
 * body performs it; sched_call() runs it to completion.
 */
#include <errno.h>

#include "engsync.h"

typedef enum engsync_op {
    OP_CREATE, OP_OPEN, OP_CLOSE, OP_READ, OP_WRITE, OP_ZERO, OP_DISCARD,
    OP_FLUSH, OP_TRUNCATE, OP_MAP,
} engsync_op;

typedef struct engsync_call {
    engsync_op op;
    eng *e;
    eng_file *file;
    const eng_runtime *rt;
    const eng_create_opts *create;
    const eng_open_opts *open;
    eng **out;
    eng_error *err;
    uint64_t off, len;
    void *buf;
    const void *cbuf;
    unsigned flags;
    eng_map_extent *map;
    int ret;
} engsync_call;

static void engsync_body(void *arg)
{
    engsync_call *c = arg;

    switch (c->op) {
    case OP_CREATE: c->ret = eng_co_create(c->rt, c->file, c->create, c->err); break;
    case OP_OPEN: c->ret = eng_co_open(c->rt, c->file, c->open, c->out, c->err); break;
    case OP_CLOSE: c->ret = eng_co_close(c->e); break;
    case OP_READ: c->ret = eng_co_read(c->e, c->off, c->buf, c->len); break;
    case OP_WRITE: c->ret = eng_co_write(c->e, c->off, c->cbuf, c->len); break;
    case OP_ZERO: c->ret = eng_co_write_zeroes(c->e, c->off, c->len, c->flags); break;
    case OP_DISCARD: c->ret = eng_co_discard(c->e, c->off, c->len); break;
    case OP_FLUSH: c->ret = eng_co_flush(c->e); break;
    case OP_TRUNCATE: c->ret = eng_co_truncate(c->e, c->len); break;
    case OP_MAP: c->ret = eng_co_map(c->e, c->off, c->len, c->map); break;
    }
}

static int engsync_run(sched *s, engsync_call *c)
{
    c->rt = sched_runtime(s);
    c->ret = -EDEADLK;
    if (sched_call(s, engsync_body, c) != SCHED_OK)
        return -EDEADLK;
    return c->ret;
}

int engsync_create(sched *s, eng_file *f, const eng_create_opts *o,
                   eng_error *err)
{
    engsync_call c = {.op = OP_CREATE, .file = f, .create = o, .err = err};
    return engsync_run(s, &c);
}

int engsync_open(sched *s, eng_file *f, const eng_open_opts *o, eng **out,
                 eng_error *err)
{
    engsync_call c = {.op = OP_OPEN, .file = f, .open = o, .out = out, .err = err};
    return engsync_run(s, &c);
}

int engsync_close(sched *s, eng *e)
{
    engsync_call c = {.op = OP_CLOSE, .e = e};
    return engsync_run(s, &c);
}

int engsync_read(sched *s, eng *e, uint64_t off, void *buf, uint64_t len)
{
    engsync_call c = {.op = OP_READ, .e = e, .off = off, .buf = buf, .len = len};
    return engsync_run(s, &c);
}

int engsync_write(sched *s, eng *e, uint64_t off, const void *buf, uint64_t len)
{
    engsync_call c = {.op = OP_WRITE, .e = e, .off = off, .cbuf = buf, .len = len};
    return engsync_run(s, &c);
}

int engsync_write_zeroes(sched *s, eng *e, uint64_t off, uint64_t len,
                         unsigned flags)
{
    engsync_call c = {.op = OP_ZERO, .e = e, .off = off, .len = len, .flags = flags};
    return engsync_run(s, &c);
}

int engsync_discard(sched *s, eng *e, uint64_t off, uint64_t len)
{
    engsync_call c = {.op = OP_DISCARD, .e = e, .off = off, .len = len};
    return engsync_run(s, &c);
}

int engsync_flush(sched *s, eng *e)
{
    engsync_call c = {.op = OP_FLUSH, .e = e};
    return engsync_run(s, &c);
}

int engsync_truncate(sched *s, eng *e, uint64_t size)
{
    engsync_call c = {.op = OP_TRUNCATE, .e = e, .len = size};
    return engsync_run(s, &c);
}

int engsync_map(sched *s, eng *e, uint64_t off, uint64_t len,
                eng_map_extent *out)
{
    engsync_call c = {.op = OP_MAP, .e = e, .off = off, .len = len, .map = out};
    return engsync_run(s, &c);
}
