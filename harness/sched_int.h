/*
 * sched_int.h - internals shared by sched.c (requests, policies, running)
 * and sched_io.c (the eng_file adapter that queues host I/O). Not for use
 * outside those two files.
 *
 * Invariants:
 *   - Every live request is on s->all (spawn order) and in exactly one
 *     state; a READY request is on s->ready, an IO request has its own
 *     I/O record (r->io) on s->io, and no other request is on s->ready.
 *   - s->io holds I/O records, not requests: a waited-for I/O (io->req is
 *     its suspended submitter) or a detached one (io->req NULL, io->aio
 *     set), which its submitter does not wait for and which may outlive
 *     it; at completion a waited-for I/O makes its request ready, a
 *     detached one calls io->aio->done() (main context) and is freed.
 *   - Queues are FIFO: records join at the tail, so their order is the
 *     order in which requests became ready / I/O was submitted. Nothing is
 *     ever ordered by address.
 *   - A request waits for at most one I/O at a time, so that record lives
 *     inside the request: queuing a waited-for I/O allocates nothing. A
 *     detached I/O is allocated at submission and freed at completion, or
 *     cancelled (done(-ECANCELED), backend untouched) by sched_destroy;
 *     either way its done() runs exactly once.
 *   - s->running is the request whose coroutine runs right now, NULL in
 *     the main context.
 *
 * Ownership: the sched owns its requests (and their coroutines) and its
 * files (sched_hfile); the host_backend behind a file stays the caller's.
 */
#ifndef COWPOKE_SCHED_INT_H
#define COWPOKE_SCHED_INT_H

#include <stddef.h>

#include "coro.h"
#include "prng.h"
#include "sched.h"

#define SCHED_TRAIL 16     /* events kept per request */
#define SCHED_LABEL_MAX 48 /* label bytes kept, including the NUL */

typedef enum sched_req_state {
    REQ_READY,   /* on s->ready */
    REQ_RUNNING, /* its coroutine is the one running */
    REQ_PARKED,  /* sched_co_park'ed, until sched_wake */
    REQ_IO,      /* waiting for its host I/O, on s->io */
    REQ_DONE,    /* fn returned; coroutine released */
} sched_req_state;

typedef enum sched_io_kind {
    SIO_READ,
    SIO_WRITE,
    SIO_FLUSH,
    SIO_TRUNCATE,
} sched_io_kind;

typedef struct sched_hfile sched_hfile;

typedef struct sched_io sched_io;
/* An intrusive FIFO: records carry a sched_link and join at the tail;
 * sched_fifo_take removes the k-th (the policies pick by position). */
typedef struct sched_link {
    struct sched_link *next;
} sched_link;

typedef struct sched_fifo {
    sched_link *head, *tail;
    size_t n;
} sched_fifo;

void sched_fifo_push(sched_fifo *q, sched_link *l);
sched_link *sched_fifo_take(sched_fifo *q, size_t k);

#define SCHED_OF(ptr, type, member)                                            \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct sched_io {
    sched_io_kind kind;
    sched_hfile *file;
    uint64_t off;     /* the new size for SIO_TRUNCATE */
    void *buf;        /* SIO_READ: filled at completion */
    const void *cbuf; /* SIO_WRITE: read at completion */
    size_t len;
    int result; /* 0 or -errno, set at completion */
    sched_req *req; /* the suspended submitter; NULL: detached */
    eng_aio *aio;   /* detached: told at completion */
    uint64_t owner; /* detached: id of the submitting request, 0: main */
    sched_link q_link; /* on s->io */
};

struct sched_req {
    sched *s;
    uint64_t id;
    char label[SCHED_LABEL_MAX];
    sched_fn *fn;
    void *arg;
    coro *co; /* NULL once done */
    sched_req_state state;
    const char *why;  /* what a PARKED request waits on (an IO one: io) */
    sched_io io;
    eng_event trail[SCHED_TRAIL]; /* ring: trail_n % SCHED_TRAIL is next */
    uint64_t trail_n;
    sched_link q_link; /* on s->ready */
    sched_req *all_prev, *all_next;
};

typedef struct sched_queue {
    sched_fifo f; /* of sched_req, by q_link */
} sched_queue;

typedef struct sched_ioq {
    sched_fifo f;    /* of sched_io, by q_link: every pending I/O */
    size_t detached; /* how many of them are detached */
} sched_ioq;

struct sched {
    sched_policy policy;
    prng rng;
    uint8_t *tape;
    size_t tape_len, tape_pos;
    uint64_t budget, steps, next_id;
    sched_queue ready;
    sched_ioq io;
    sched_req *all_head, *all_tail;
    size_t nparked;
    sched_req *running;
    sched_event_hook *hook;
    void *hook_opaque;
    eng_runtime rt;
    sched_hfile *files;
};

/* Append r at the tail of q. */
void sched_queue_push(sched_queue *q, sched_req *r);

/* Append r to the ready queue (state READY). */
void sched_make_ready(sched *s, sched_req *r);

/* sched_io.c: perform a queued I/O on its backend and record the result;
 * then make its request ready, or (detached) call its done() and free it.
 * io has already been taken off s->io. */
void sched_io_complete(sched *s, sched_io *io);

/* sched_io.c: take the k-th (0-based) pending I/O off s->io. */
sched_io *sched_io_take(sched *s, size_t k);

/* sched_io.c: cancel every pending detached I/O (done(-ECANCELED), no
 * backend access), in submission order; waited-for ones stay queued. */
void sched_io_cancel_detached(sched *s);

/* sched_io.c: what io does, e.g. "host read NAME 0x10000+0x1000". */
void sched_io_what(const sched_io *io, char *buf, size_t len);

/* sched_io.c: free every eng_file made by sched_file. */
void sched_files_free(sched *s);

#endif
