/*
 * exec_int.h - internals of the script executor, shared by
 *   exec.c          the run: command dispatch, run loops, end of trace;
 *   exec_io.c       guest requests: spawning, coroutine bodies, completion
 *                   (shadow model, -P check, output, error expectations);
 *   exec_image.c    images: create/open/use/close/reopen/truncate,
 *                   backing resolution, metadata checks, hashes, teardown;
 *   exec_crash.c    power loss: `crash` now, `crash after=N` armed on the
 *                   count of host writes and flushes (the host wrapper
 *                   that counts them), reopening afterwards (images whose
 *                   creation it cut short included);
 *   exec_bp.c       the event hook: breakpoints, event fault rules, the
 *                   test-only read fault (eng_file wrapper), werror=stop;
 *   exec_verdict.c  verdicts: recording the first one, describing
 *                   requests, provenance of expected bytes;
 *   exec_sticky.c   first-observation (sticky) checks of opened files.
 * Nothing outside harness/exec*.c includes it.
 *
 * Objects and ownership (all owned by one `exec`, freed by exec_run):
 *   exec_image  one image of the trace: its hostfault wrapper (which owns
 *               the in-memory hostdisk), its eng_file wrapper, its engine
 *               while open, its shadow model. Array x->imgs, creation order.
 *   exec_req    one request the executor made (a script I/O command, or a
 *               create/open/close/flush/truncate it issues): a coroutine
 *               body, its buffer, its outcome. On list x->reqs from spawn
 *               until reaped after it finished.
 *   exec_bp     one breakpoint; list x->bps (newest first, as blkdebug).
 *
 * Invariants:
 *   - Request ids (x->next_id) grow by one per request; the id is the
 *     request's shadow id and its datagen write id, so data depends only
 *     on the script.
 *   - The first verdict wins: exec_fail() records it and sets x->over;
 *     from then on commands stop, request completions are not judged.
 *   - x->s is the only scheduler of the run; every engine's runtime is it.
 */
#ifndef COWPOKE_EXEC_INT_H
#define COWPOKE_EXEC_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "eng.h"
#include "exec.h"
#include "faultrules.h"
#include "host.h"
#include "sched.h"
#include "script.h"
#include "shadow.h"

/* What a guest read's buffer holds before the engine fills it (exec_io.c):
 * fixed, so bytes a faulty engine leaves untouched are the same in every
 * run, and not zero, so they differ from the zeroes of unwritten data. */
#define EXEC_READ_FILL 0xa5

typedef struct exec exec;
typedef struct exec_sticky exec_sticky;

typedef enum exec_op {
    XOP_READ,
    XOP_WRITE,
    XOP_ZERO,
    XOP_DISCARD,
    XOP_FLUSH,
    XOP_TRUNCATE,
    XOP_CREATE,
    XOP_OPEN,
    XOP_CLOSE,
    XOP_PROBE, /* a half-created image after a crash: find mapped data */
} exec_op;

/* The executor's host backend of an image: forwards to the image's
 * hostfault wrapper (the scheduler's file performs I/O on it), counting
 * the host writes and flushes that succeed, at the moment they complete
 * (`crash after=N` cuts the power right there). Not owned: it is part of
 * its exec_image. */
typedef struct exec_host {
    host_backend b; /* first: a host_backend * is an exec_host * */
    host_backend *inner;
    exec *x;
} exec_host;

/* The executor's eng_file: forwards to the scheduler's file, and applies
 * the test-only read fault. */
typedef struct exec_file {
    eng_file f; /* first: an eng_file * is an exec_file * */
    eng_file *inner;
    exec *x;
} exec_file;

typedef struct exec_image {
    unsigned index; /* creation order, from 0 */
    char name[EXEC_NAME_MAX]; /* for messages and results (may be cut) */
    char *key;           /* the name or path as the script gives it, whole:
                            what lookups compare (NULL for "#N") */
    bool named;          /* name= given (backing= can refer to it) */
    bool from_file;      /* image open: a file loaded into memory */
    bool is_backing;     /* some overlay uses it: read-only from now on */
    char *path;          /* from_file: the resolved path */
    char *dir;           /* from_file: its directory (relative backings) */
    host_backend *hb;    /* hostfault wrapper; owns disk */
    host_backend *disk;  /* the hostdisk inside hb (borrowed) */
    exec_host xh;        /* counts host writes and flushes, over hb */
    exec_file xf;        /* the engine's file */
    eng *e;              /* open engine, or NULL */
    shadow *model;       /* NULL for opened files (see exec_sticky.c) */
    exec_sticky *sticky; /* opened files: first observations */
    struct exec_image *backing; /* the image its model reads through */
    uint32_t cluster_size;
    unsigned version;
    /* Open as far as the script is concerned: set when a command opens it
     * (image create/open, reopen: from its start), cleared when `close`
     * completes or an overlay makes it a backing file. A power loss
     * reopens the live images, so one cut short while closing or
     * reopening comes back open. */
    bool live;
    bool ever_open; /* an engine was opened on it once */
    bool ro;        /* its engine is open read-only (a backing image
                       made current by `image use`) */
    bool creating;  /* image create has not completed: a power loss
                       leaves it half-created (exec_crash.c) */
    bool abandoned; /* half-created, tried after the crash and dropped:
                       not used, not checked at the end */
    int dead[4];    /* ids of the crash's fail-everything rules, or -1 */
} exec_image;

typedef struct exec_bp exec_bp;

typedef struct exec_req {
    exec *x;
    uint64_t id;
    size_t cmd; /* script command index (SIZE_MAX: end of trace) */
    unsigned line;
    exec_op op;
    bool aio; /* aio_read / aio_write: reported as such */
    exec_image *img;
    uint64_t off, len;
    unsigned flags; /* SCRIPT_F_* */
    uint8_t pattern;
    uint64_t pat_off, pat_len;
    datagen_src src;
    uint8_t *buf;
    eng_create_opts create; /* XOP_CREATE */
    eng_error err;          /* XOP_CREATE / XOP_OPEN */
    eng *opened;            /* XOP_OPEN: the result */
    sched_req *sr;
    int ret;
    int expect_err;  /* positive errno the script expects, or 0 */
    bool modeled;    /* begun in the shadow model */
    bool entered;    /* its coroutine has run */
    bool done;       /* the body returned */
    bool lost;       /* power loss: its outcome is forgotten */
    bool stopped;    /* parked by werror=stop */
    bool woken;      /* woken, has not run since */
    bool injected;   /* an event fault rule failed one of its data I/Os */
    bool flip_armed; /* the test-only read fault hits its next read */
    bool oor;        /* past the end of the virtual disk: must fail */
    struct exec_req *next;
} exec_req;

struct exec_bp {
    int event;
    char tag[SCRIPT_MAX_NAME + 1];
    char why[SCRIPT_MAX_NAME + 48]; /* "breakpoint cow_read A": park reason */
    enum { BP_ARMED, BP_SUSPENDED, BP_DONE } state;
    sched_req *sr; /* BP_SUSPENDED: the request held */
    exec_req *q;   /* its exec request, or NULL */
    bool ran;      /* resumed and has run since */
    uint64_t seq;  /* arm order */
    uint64_t susp; /* suspension order (resume takes the newest) */
    exec_bp *next;
};

struct exec {
    const script *scr;
    exec_opts o;
    exec_result *r;
    sched *s;
    exec_image **imgs;
    size_t nimgs, capimgs;
    exec_image *cur; /* current image, or NULL */
    exec_req *reqs;  /* live requests, newest first */
    exec_bp *bps;
    fault_rules *ev_rules; /* `inject EVENT ...` rules, for every image */
    uint64_t next_id;
    uint64_t mutants; /* script's mutant commands | opts */
    size_t cmd;       /* index of the command running */
    unsigned line;
    int pending_expect; /* expect_error waiting for its command */
    bool werror_stop;
    bool over;            /* a verdict was found: stop */
    bool quiesce;         /* tearing down or crashing: no breakpoints, no
                             injected events, no werror stops */
    uint64_t guest_reads; /* read_aio events of guest reads (flip fault) */
    const char *open_dir; /* where the image being opened resolves names */
    const char *backing_override; /* image open FILE backing=...: used for
                                     the backing name the image records */
    uint32_t *req_cmd; /* request id -> command index + 1 (0: none) */
    size_t nreq_cmd;
    uint64_t bp_seq, susp_seq;
    /* crash after=N: host writes and flushes so far; the armed count */
    uint64_t host_ios;
    bool cut_armed;
    uint64_t cut_at;      /* host_ios at which the power goes */
    uint64_t cut_after;   /* the N of the arming command */
    unsigned cut_line;    /* its line */
    script_crash cut_how; /* its drop= */
    bool cut; /* the armed power loss happened: the running command stops
                 (as on a verdict, but without one); exec_step then
                 reopens and the script goes on */
};

/* ---- exec.c -------------------------------------------------------------- */
/* Run until pred(arg) holds. false when it cannot (a verdict was recorded:
 * deadlock, budget, or a failure found meanwhile). `what` names the wait. */
bool exec_run_until(exec *x, bool (*pred)(void *), void *arg, const char *what);
/* Run until every request finished (aio_flush). false as above. */
bool exec_drain(exec *x, const char *what);
void exec_reap(exec *x);
/* write, read, aio_write, aio_read, flush, discard: qemu-io's data
 * commands that print a line per request. */
bool exec_is_data_cmd(script_kind k);
void exec_printf(exec *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- exec_io.c ----------------------------------------------------------- */
/* A new request for command c (x->cmd) of op on img, not yet spawned. */
exec_req *exec_req_new(exec *x, exec_op op, exec_image *img);
/* Begin it in the model and spawn it. false: a verdict was recorded. */
bool exec_req_start(exec *x, exec_req *q);
/* Start and run until it finished. false: a verdict was recorded. */
bool exec_req_sync(exec *x, exec_req *q);
/* The script's I/O commands. */
bool exec_cmd_io(exec *x, const script_cmd *c);
exec_req *exec_req_of(exec *x, sched_req *sr);
/* Judge q's outcome against its expect_error (and injected faults). met:
 * NULL for a request that must fail when an error is expected; else set
 * when it failed as expected, and success is left to the caller. */
bool exec_judge(exec *x, exec_req *q, bool *met);
void exec_req_free(exec_req *q);
const char *exec_op_name(const exec_req *q);

/* ---- exec_image.c -------------------------------------------------------- */
bool exec_cmd_image_create(exec *x, const script_cmd *c);
bool exec_cmd_image_open(exec *x, const script_cmd *c);
bool exec_cmd_image_use(exec *x, const script_cmd *c);
bool exec_cmd_close(exec *x, bool reopen);
bool exec_cmd_truncate(exec *x, const script_cmd *c);
bool exec_cmd_check(exec *x);
bool exec_cmd_host(exec *x, const script_cmd *c);
/* Open im's engine (a request of the running command); met as for
 * exec_judge. false: a verdict was recorded (or the power went). */
bool exec_open_engine(exec *x, exec_image *im, bool *met);
/* End of trace: close every open image, check every image. */
void exec_images_finish(exec *x);
/* Free every image (engines first, without I/O). */
void exec_images_free(exec *x);
void exec_images_hash(exec *x);
exec_image *exec_need_image(exec *x, const char *what);
/* Open options for an engine of this run: mutants, backing resolution. */
void exec_image_open_opts(exec *x, eng_open_opts *o);

/* ---- exec_crash.c -------------------------------------------------------- */
/* Power loss now, or armed: `crash [after=N] [drop=...]`. */
bool exec_cmd_crash(exec *x, const script_cmd *c);
/* After a command the armed power loss cut short (x->cut): unwind the
 * lost requests, reopen the live images; the script goes on. */
bool exec_cut_resume(exec *x);
/* The end of the script: an armed power loss that did not happen is
 * disarmed (the end of the trace is the harness's). */
void exec_cut_disarm(exec *x);
/* After a power loss: open an image whose creation it cut short, once,
 * read-only. A refusal (a clean error) is fine; an image that opens must
 * map no data (a fresh image reads zeroes, or its backing file) at its
 * created size. Then the image is abandoned either way. false: a verdict
 * was recorded. */
bool exec_open_half_created(exec *x, exec_image *im);
/* Put im's counting host backend over im->hb. */
void exec_host_init(exec *x, exec_image *im);
/* A verdict was found or the power went: the running command stops. */
static inline bool exec_halted(const exec *x)
{
    return x->over || x->cut;
}

/* ---- exec_bp.c ----------------------------------------------------------- */
int exec_co_event_hook(void *opaque, sched *s, sched_req *r, eng_event ev);
bool exec_cmd_bp(exec *x, const script_cmd *c);
bool exec_cmd_inject(exec *x, const script_cmd *c);
bool exec_cmd_resume_errors(exec *x);
/* Release every suspended or stopped request; disarm every breakpoint. */
void exec_bp_release_all(exec *x);
void exec_bp_free(exec *x);
void exec_file_init(exec *x, exec_file *xf, eng_file *inner);
/* Inside a request body: park while werror=stop holds it. true: retry. */
bool exec_co_werror_stop(exec *x, exec_req *q);

/* ---- exec_verdict.c ------------------------------------------------------ */
/* Record verdict v at command x->cmd (or q's command when q is given),
 * with a message; the first verdict wins. Always returns false. */
bool exec_fail(exec *x, const exec_req *q, script_verdict v, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));
/* Before an exec_fail of unexpected-error: the error the request got (0:
 * none) and the one expected (0: none), kept with the verdict when that
 * exec_fail is the one that records it (exec_result.err_*). */
void exec_fail_class(exec *x, int got, int expected);

/* Append a line to the verdict's detail text. */
void exec_detail(exec *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The trail of q's scheduler request into the result. */
void exec_take_trail(exec *x, const exec_req *q, sched_req *sr);
/* Describe every live request (script line, what it waits on) and the
 * scheduler's account into the detail text. */
void exec_describe_inflight(exec *x);
/* "write -P 0x11 0 64k" for command index i. */
void exec_cmd_text(const exec *x, size_t i, char *buf, size_t len);
/* Remember which command request q belongs to (for provenance). */
void exec_note_req(exec *x, const exec_req *q);
/* Add a shadow verdict and the provenance of its expected bytes. */
void exec_detail_shadow(exec *x, const shadow_verdict *v);

/* ---- exec_sticky.c ------------------------------------------------------- */
int exec_sticky_create(exec_sticky **out);
void exec_sticky_destroy(exec_sticky *st);
/* A modifying request touches [off, off + len): no longer checked. */
int exec_sticky_touch(exec_sticky *st, uint64_t off, uint64_t len);
/* Check a read's bytes: untouched bytes must equal their first
 * observation (recorded now if there is none). 0 and *bad = UINT64_MAX when
 * they do, else *bad = the first differing offset and *want its byte. */
int exec_sticky_check(exec_sticky *st, uint64_t off, uint64_t len,
                      const uint8_t *buf, uint64_t *bad, uint8_t *want);

#endif
