/*
 * sched_io.c - the eng_file adapter of the scheduler: host I/O becomes a
 * queued record that the scheduler completes when its policy says so.
 *
 * co_pread / co_pwrite / co_flush / co_truncate, called from inside a
 * request, fill the request's I/O record, append it to s->io (the request
 * in state IO; a description such as "host read NAME 0x10000+0x1000" is
 * formatted from the record only when a deadlock report asks, never per
 * I/O) and yield. sched_io_complete() later performs the operation on the backend
 * (a read copies the data at completion time, a write applies at completion
 * time), stores the result and makes the request ready; the submitter then
 * returns that result. size() is immediate and never yields.
 *
 * aio_pread submits a detached read: a record of its own on s->io, and the
 * submitter (a request, or the main context) goes on at once. The record
 * may outlive its submitter's request; at completion the scheduler reads
 * the data into the buffer and calls aio->done(aio, result) from the main
 * context, then frees the record. sched_destroy cancels detached reads
 * still pending: done(aio, -ECANCELED), buffer untouched.
 *
 * Invariants: a request waits for one I/O at a time; the buffers it passed
 * stay valid because the request is suspended until completion (for a
 * detached read the submitter keeps the buffer until done()). Called
 * outside a request (main context) the waiting I/O calls fail with -EINVAL
 * rather than block: there is nobody to suspend.
 *
 * Ownership: the sched owns every sched_hfile (freed by sched_files_free)
 * and every detached record; the host_backend stays the caller's.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

struct sched_hfile {
    eng_file f; /* first: an eng_file * is a sched_hfile * */
    sched *s;
    host_backend *b;
    char *name;
    sched_hfile *next; /* s->files */
};

static sched_hfile *hfile_of(eng_file *f)
{
    return (sched_hfile *)f;
}

static const char *io_verb(sched_io_kind k)
{
    switch (k) {
    case SIO_READ:
        return "read";
    case SIO_WRITE:
        return "write";
    case SIO_FLUSH:
        return "flush";
    case SIO_TRUNCATE:
        return "truncate";
    }
    return "?";
}

static void ioq_push(sched_ioq *q, sched_io *io)
{
    sched_fifo_push(&q->f, &io->q_link);
    if (!io->req)
        q->detached++;
}

sched_io *sched_io_take(sched *s, size_t k)
{
    sched_io *io = SCHED_OF(sched_fifo_take(&s->io.f, k), sched_io, q_link);
    if (!io->req)
        s->io.detached--;
    return io;
}

void sched_io_what(const sched_io *io, char *buf, size_t len)
{
    const char *name = io->file->name ? io->file->name : "?";

    if (io->kind == SIO_READ || io->kind == SIO_WRITE)
        snprintf(buf, len, "host %s %s 0x%" PRIx64 "+0x%zx", io_verb(io->kind),
                 name, io->off, io->len);
    else if (io->kind == SIO_TRUNCATE)
        snprintf(buf, len, "host truncate %s 0x%" PRIx64, name, io->off);
    else
        snprintf(buf, len, "host flush %s", name);
}

/* Queue io for the running request and suspend it until completion. */
static int sio_co_submit(eng_file *f, const sched_io *io)
{
    sched_hfile *hf = hfile_of(f);
    sched *s = hf->s;
    sched_req *r = s->running;

    if (!r)
        return -EINVAL;
    r->io = *io;
    r->io.file = hf;
    r->io.result = -EIO;
    r->io.req = r;
    r->state = REQ_IO; /* what it waits on is r->io (sched_io_what) */
    r->why = NULL;
    ioq_push(&s->io, &r->io);
    coro_yield();
    return r->io.result;
}

static int sio_co_pread(eng_file *f, uint64_t off, void *buf, size_t len)
{
    sched_io io = {.kind = SIO_READ, .off = off, .buf = buf, .len = len};
    return sio_co_submit(f, &io);
}

static int sio_co_pwrite(eng_file *f, uint64_t off, const void *buf, size_t len)
{
    sched_io io = {.kind = SIO_WRITE, .off = off, .cbuf = buf, .len = len};
    return sio_co_submit(f, &io);
}

static int sio_co_flush(eng_file *f)
{
    sched_io io = {.kind = SIO_FLUSH};
    return sio_co_submit(f, &io);
}

static int sio_co_truncate(eng_file *f, uint64_t size)
{
    sched_io io = {.kind = SIO_TRUNCATE, .off = size};
    return sio_co_submit(f, &io);
}

/* A detached read: queued, and the caller goes on (see the top). */
static int sio_aio_pread(eng_file *f, uint64_t off, void *buf, size_t len,
                         eng_aio *aio)
{
    sched_hfile *hf = hfile_of(f);
    sched *s = hf->s;
    sched_io *io = calloc(1, sizeof(*io));

    if (!io)
        return -ENOMEM;
    io->kind = SIO_READ;
    io->file = hf;
    io->off = off;
    io->buf = buf;
    io->len = len;
    io->result = -EIO;
    io->aio = aio;
    io->owner = s->running ? s->running->id : 0;
    ioq_push(&s->io, io);
    return 0;
}

static uint64_t sio_size(eng_file *f)
{
    return host_size(hfile_of(f)->b);
}

static const eng_file_ops sio_ops = {
    .co_pread = sio_co_pread,
    .co_pwrite = sio_co_pwrite,
    .co_flush = sio_co_flush,
    .co_truncate = sio_co_truncate,
    .size = sio_size,
    .aio_pread = sio_aio_pread,
};

void sched_io_complete(sched *s, sched_io *io)
{
    host_backend *b = io->file->b;

    switch (io->kind) {
    case SIO_READ:
        io->result = host_pread(b, io->off, io->buf, io->len);
        break;
    case SIO_WRITE:
        io->result = host_pwrite(b, io->off, io->cbuf, io->len);
        break;
    case SIO_FLUSH:
        io->result = host_flush(b);
        break;
    case SIO_TRUNCATE:
        io->result = host_truncate(b, io->off);
        break;
    }
    if (io->req) {
        sched_make_ready(s, io->req);
        return;
    }
    /* main context: done() may wake requests, never yields */
    io->aio->done(io->aio, io->result);
    free(io);
}

void sched_io_cancel_detached(sched *s)
{
    while (s->io.detached) {
        size_t k = 0;
        for (const sched_link *l = s->io.f.head;
             SCHED_OF(l, const sched_io, q_link)->req; l = l->next)
            k++; /* the oldest detached one: there is one */
        sched_io *io = sched_io_take(s, k);
        io->aio->done(io->aio, -ECANCELED); /* may submit more: loop */
        free(io);
    }
}

eng_file *sched_file(sched *s, host_backend *b, const char *name)
{
    sched_hfile *hf = calloc(1, sizeof(*hf));

    if (!hf)
        return NULL;
    if (name && !(hf->name = strdup(name))) {
        free(hf);
        return NULL;
    }
    hf->f.ops = &sio_ops;
    hf->f.name = hf->name;
    hf->s = s;
    hf->b = b;
    hf->next = s->files;
    s->files = hf;
    return &hf->f;
}

void sched_files_free(sched *s)
{
    while (s->files) {
        sched_hfile *hf = s->files;
        s->files = hf->next;
        free(hf->name);
        free(hf);
    }
}
