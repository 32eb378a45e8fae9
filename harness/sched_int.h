/*
 * sched_int.h - internals shared by sched.c (requests, policies, running)
 * and sched_io.c (the eng_file adapter that queues host I/O). Not for use
 * outside those two files.
 *
 * Invariants:
 *   - Every live request is on s->all (spawn order) and in exactly one
 *     state; a READY request is on s->ready, an IO request on s->io, and
 *     no other request is on either queue.
 *   - Queues are FIFO: requests join at the tail, so their order is the
 *     order in which they became ready / submitted I/O. Nothing is ever
 *     ordered by address.
 *   - A request has at most one I/O in flight (it waits for it), so the
 *     I/O record lives inside the request: queuing I/O allocates nothing.
 *   - s->running is the request whose coroutine runs right now, NULL in
 *     the main context.
 *
 * Ownership: the sched owns its requests (and their coroutines) and its
 * files (sched_hfile); the host_backend behind a file stays the caller's.
 */
#ifndef COWPOKE_SCHED_INT_H
#define COWPOKE_SCHED_INT_H

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

typedef struct sched_io {
    sched_io_kind kind;
    sched_hfile *file;
    uint64_t off;     /* the new size for SIO_TRUNCATE */
    void *buf;        /* SIO_READ: filled at completion */
    const void *cbuf; /* SIO_WRITE: read at completion */
    size_t len;
    int result; /* 0 or -errno, set at completion */
} sched_io;

struct sched_req {
    sched *s;
    uint64_t id;
    char label[SCHED_LABEL_MAX];
    sched_fn *fn;
    void *arg;
    coro *co; /* NULL once done */
    sched_req_state state;
    const char *why;  /* what a PARKED or IO request waits on */
    char why_buf[96]; /* formatted reason of the I/O wait */
    sched_io io;
    eng_event trail[SCHED_TRAIL]; /* ring: trail_n % SCHED_TRAIL is next */
    uint64_t trail_n;
    sched_req *q_next; /* link on s->ready or s->io */
    sched_req *all_prev, *all_next;
};

typedef struct sched_queue {
    sched_req *head, *tail;
    size_t n;
} sched_queue;

struct sched {
    sched_policy policy;
    prng rng;
    uint8_t *tape;
    size_t tape_len, tape_pos;
    uint64_t budget, steps, next_id;
    sched_queue ready, io;
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

/* sched_io.c: perform r's queued I/O on its backend, record the result and
 * make r ready. r has already been taken off s->io. */
void sched_io_complete(sched *s, sched_req *r);

/* sched_io.c: free every eng_file made by sched_file. */
void sched_files_free(sched *s);

#endif
