/*
 * exec_io.c - the executor's requests (see exec_int.h): making them, their
 * coroutine bodies, and what happens when they complete.
 *
 * The life of a request:
 *   exec_req_new     numbered (x->next_id) and tied to the running command;
 *                    it inherits that command's expect_error;
 *   exec_req_start   begun in the shadow model (a modifying request from
 *                    here may or may not have taken effect; a read's window
 *                    opens here), then spawned as a scheduler request;
 *   body             calls the engine (retrying while werror=stop holds it
 *                    after an error), then completes: ends the model's
 *                    request (judging a read's bytes, and -P), prints the
 *                    qemu-io-style line and judges the error against the
 *                    expectation; all inside the coroutine, at the exact
 *                    moment the engine returned, so the model's time is the
 *                    engine's;
 *   exec_reap        frees it once its body returned.
 *
 * Data: a write with -P writes the pattern; a write without -P writes
 * datagen's seeded data for (data seed, request id, offset), so data that
 * lands at the wrong offset or comes from the wrong write is caught (qemu-io
 * would write 0xcd: docs/language.md, "How scripts run").
 *
 * Invariant: a request is on x->reqs from exec_req_start until reaped; its
 * buffer and record stay valid while its coroutine can run.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_int.h"

exec_req *exec_req_new(exec *x, exec_op op, exec_image *img)
{
    exec_req *q = calloc(1, sizeof(*q));

    if (!q) {
        exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR, "out of memory");
        return NULL;
    }
    q->x = x;
    q->id = ++x->next_id;
    q->cmd = x->cmd;
    q->line = x->line;
    q->op = op;
    q->img = img;
    q->expect_err = x->pending_expect;
    return q;
}

void exec_req_free(exec_req *q)
{
    if (!q)
        return;
    free(q->buf);
    free(q);
}

exec_req *exec_req_of(exec *x, sched_req *sr)
{
    for (exec_req *q = x->reqs; q; q = q->next)
        if (q->sr == sr)
            return q;
    return NULL;
}

const char *exec_op_name(const exec_req *q)
{
    switch (q->op) {
    case XOP_READ:
        return q->aio ? "aio_read" : "read";
    case XOP_WRITE:
    case XOP_ZERO:
        return q->aio ? "aio_write" : "write";
    case XOP_DISCARD:
        return "discard";
    case XOP_FLUSH:
        return "flush";
    case XOP_TRUNCATE:
        return "truncate";
    case XOP_CREATE:
        return "create";
    case XOP_OPEN:
        return "open";
    case XOP_CLOSE:
        return "close";
    case XOP_PROBE:
        return "probe";
    }
    return "?";
}

/* ---- the model ----------------------------------------------------------- */

static bool exec_model_refused(exec *x, exec_req *q, int r)
{
    if (r == -EINVAL) {
        q->oor = true; /* out of range: the engine must refuse it too */
        return true;
    }
    exec_fail(x, q, SCRIPT_V_SCRIPT_ERROR,
              "the shadow model cannot follow this request: %s%s", strerror(-r),
              r == -EBUSY ? " (more than 64 modifying requests in flight)"
                          : "");
    return false;
}

/* Begin q in its image's model (or mark an opened file's bytes touched). */
static bool exec_model_begin(exec *x, exec_req *q)
{
    exec_image *im = q->img;
    bool mod = q->op == XOP_WRITE || q->op == XOP_ZERO || q->op == XOP_DISCARD;
    int r = 0;

    if (!im)
        return true;
    if (!im->model) {
        eng_info info;
        if (im->e && (mod || q->op == XOP_READ)) {
            eng_get_info(im->e, &info);
            q->oor = q->off > info.virtual_size ||
                     q->len > info.virtual_size - q->off;
        }
        if (mod && im->sticky && !q->oor)
            r = exec_sticky_touch(im->sticky, q->off, q->len);
        return r == 0 || exec_model_refused(x, q, r);
    }
    shadow *m = im->model;
    switch (q->op) {
    case XOP_WRITE:
        r = shadow_write_begin(m, q->id, q->line, q->off, q->len, &q->src);
        break;
    case XOP_ZERO:
        r = shadow_zeroes_begin(m, q->id, q->line, q->off, q->len,
                                q->flags & SCRIPT_F_UNMAP);
        break;
    case XOP_DISCARD:
        r = shadow_discard_begin(m, q->id, q->line, q->off, q->len);
        break;
    case XOP_READ:
        r = shadow_read_begin(m, q->id, q->off, q->len);
        break;
    case XOP_FLUSH:
    case XOP_CLOSE:
        r = shadow_flush_begin(m, q->id);
        break;
    default:
        return true;
    }
    q->modeled = r == 0;
    return r == 0 || exec_model_refused(x, q, r);
}

/* -P: qemu-io's pattern check of a read. */
static bool exec_pattern_check(exec *x, exec_req *q)
{
    uint64_t a = q->flags & SCRIPT_F_PAT_OFF ? q->pat_off : 0;
    uint64_t n = q->flags & SCRIPT_F_PAT_LEN ? q->pat_len : q->len - a;

    datagen_src want = datagen_pattern(q->pattern);
    uint64_t i = a + datagen_mismatch(&want, 0, q->buf + a, n);
    if (i < a + n) {
        if (!x->over) /* only when this verdict is the one kept */
            x->r->by_pattern = true;
        exec_printf(x,
                    "Pattern verification failed at offset %" PRIu64
                    ", %" PRIu64 " bytes",
                    q->off + a, n);
        exec_fail(x, q, SCRIPT_V_DATA_MISMATCH,
                  "%s -P 0x%02x: byte at offset 0x%" PRIx64
                  " is 0x%02x, not the pattern",
                  exec_op_name(q), q->pattern, q->off + i, q->buf[i]);
        exec_take_trail(x, q, q->sr);
        exec_describe_inflight(x);
        return false;
    }
    return true;
}

/* Judge a completed read's bytes against the model. */
static bool exec_read_check(exec *x, exec_req *q)
{
    exec_image *im = q->img;
    shadow_verdict v;

    if (q->oor)
        return true; /* exec_judge fails it */
    if (!q->modeled && im->sticky) {
        uint64_t bad;
        uint8_t want;
        int r =
            exec_sticky_check(im->sticky, q->off, q->len, q->buf, &bad, &want);
        if (r < 0)
            return exec_model_refused(x, q, r);
        if (bad == UINT64_MAX)
            return true;
        exec_fail(x, q, SCRIPT_V_DATA_MISMATCH,
                  "%s: byte at offset 0x%" PRIx64 " is 0x%02x; an earlier read "
                  "saw 0x%02x there and nothing has written it since",
                  exec_op_name(q), bad, q->buf[bad - q->off], want);
        exec_take_trail(x, q, q->sr);
        return false;
    }
    if (!q->modeled)
        return true;
    int r = shadow_read_check(im->model, q->id, q->off, q->len, q->buf, &v);
    q->modeled = false;
    if (r < 0)
        return exec_model_refused(x, q, r);
    if (v.ok)
        return true;
    exec_fail(x, q, SCRIPT_V_DATA_MISMATCH,
              "%s: data mismatch at offset 0x%" PRIx64
              ": the bytes read are none of the %u legal values",
              exec_op_name(q), v.off, v.ncands);
    exec_take_trail(x, q, q->sr);
    exec_detail_shadow(x, &v);
    exec_describe_inflight(x);
    return false;
}

/* End q in the model; for a read, judge it. false: a verdict was found. */
static bool exec_model_end(exec *x, exec_req *q)
{
    exec_image *im = q->img;
    bool ok = q->ret == 0;
    int r = 0;

    if (q->op == XOP_READ && ok)
        return exec_read_check(x, q) &&
               (!(q->flags & SCRIPT_F_PATTERN) || exec_pattern_check(x, q));
    if (!q->modeled)
        return true;
    q->modeled = false;
    switch (q->op) {
    case XOP_READ:
        r = shadow_read_end(im->model, q->id);
        break;
    case XOP_WRITE:
    case XOP_ZERO:
    case XOP_DISCARD:
        r = shadow_write_end(im->model, q->id, ok);
        break;
    case XOP_FLUSH:
    case XOP_CLOSE:
        r = shadow_flush_end(im->model, q->id, ok);
        break;
    default:
        break;
    }
    return r == 0 || exec_model_refused(x, q, r);
}

/* ---- output and errors --------------------------------------------------- */

/* qemu-io's -v: offset, 16 bytes in hex, the same in ASCII. */
static void exec_dump(exec *x, const exec_req *q)
{
    if (!x->o.print)
        return; /* nobody reads it: formatting a 1 MiB dump costs seconds */
    for (uint64_t i = 0; i < q->len; i += 16) {
        char line[128];
        int n = snprintf(line, sizeof(line), "%08" PRIx64 ":  ", q->off + i);
        uint64_t k = q->len - i < 16 ? q->len - i : 16;
        for (uint64_t j = 0; j < k; j++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x ",
                          q->buf[i + j]);
        n += snprintf(line + n, sizeof(line) - (size_t)n, " ");
        for (uint64_t j = 0; j < k; j++) {
            uint8_t ch = q->buf[i + j];
            line[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '.';
        }
        line[n] = '\0';
        exec_printf(x, "%s", line);
    }
}

static void exec_report(exec *x, const exec_req *q)
{
    const char *verb = NULL;

    if (q->ret < 0) {
        exec_printf(x, "%s failed: %s", exec_op_name(q), strerror(-q->ret));
        return;
    }
    if (q->cmd == SIZE_MAX || (q->flags & SCRIPT_F_QUIET))
        return;
    if (q->op == XOP_READ) {
        if (q->flags & SCRIPT_F_VERBOSE)
            exec_dump(x, q);
        verb = "read";
    } else if (q->op == XOP_WRITE || q->op == XOP_ZERO) {
        verb = "wrote";
    } else if (q->op == XOP_DISCARD) {
        verb = "discard";
    }
    if (verb)
        exec_printf(x, "%s %" PRIu64 "/%" PRIu64 " bytes at offset %" PRIu64,
                    verb, q->len, q->len, q->off);
}

bool exec_judge(exec *x, exec_req *q, bool *met)
{
    if (q->oor && q->ret == 0) {
        exec_fail_class(x, 0, EINVAL); /* it must be refused */
        return exec_fail(x, q, SCRIPT_V_UNEXPECTED_ERROR,
                         "%s past the end of the virtual disk succeeded; the "
                         "engine must refuse it",
                         exec_op_name(q));
    }
    if (q->injected && q->ret == 0)
        return exec_fail(x, q, SCRIPT_V_ERROR_SWALLOWED,
                         "%s succeeded although an injected error failed "
                         "one of its host I/Os",
                         exec_op_name(q));
    if (q->ret < 0 && q->expect_err && -q->ret == q->expect_err) {
        if (met)
            *met = true;
        return true;
    }
    if (q->ret < 0) {
        exec_fail_class(x, -q->ret, q->expect_err);
        exec_fail(x, q, SCRIPT_V_UNEXPECTED_ERROR, "%s failed: %s%s%s",
                  exec_op_name(q), strerror(-q->ret),
                  q->expect_err ? ", expected " : "",
                  q->expect_err ? script_errno_name(q->expect_err) : "");
        exec_take_trail(x, q, q->sr); /* where the error came from */
        return false;
    }
    if (q->expect_err && !met) {
        exec_fail_class(x, 0, q->expect_err);
        return exec_fail(x, q, SCRIPT_V_UNEXPECTED_ERROR,
                         "%s succeeded, expected it to fail with %s",
                         exec_op_name(q), script_errno_name(q->expect_err));
    }
    return true;
}

/* ---- the coroutine body -------------------------------------------------- */

/* Whether q is the request of a data command (it prints a qemu-io line). */
static bool exec_of_data_cmd(const exec *x, const exec_req *q)
{
    return q->cmd < x->scr->ncmds &&
           exec_is_data_cmd(x->scr->cmds[q->cmd].kind);
}

/* -f: the write is durable when it completes: a flush inside the request,
 * begun in the model only once the write took effect. */
static int exec_co_fua(exec_req *q, eng *e)
{
    shadow *m = q->lost ? NULL : q->img->model;
    bool flushing = false;

    if (m && q->modeled) {
        (void)shadow_write_end(m, q->id, true);
        q->modeled = false;
        flushing = shadow_flush_begin(m, q->id) == 0;
    }
    int ret = eng_co_flush(e);
    if (flushing && !q->lost)
        (void)shadow_flush_end(m, q->id, ret == 0);
    return ret;
}

/* A half-created image: the first guest offset at which it maps data into
 * q->off (UINT64_MAX: none). */
static int exec_co_probe(exec_req *q, eng *e)
{
    eng_info info;
    eng_map_extent m;

    eng_get_info(e, &info);
    q->off = UINT64_MAX;
    for (uint64_t off = 0; off < info.virtual_size; off += m.len) {
        int r = eng_co_map(e, off, info.virtual_size - off, &m);
        if (r < 0)
            return r;
        if (m.kind == ENG_MAP_DATA) {
            q->off = m.off;
            return 0;
        }
        if (m.len == 0)
            return -EIO; /* no progress: the engine's map is broken */
    }
    return 0;
}

static int exec_co_issue(exec *x, exec_req *q)
{
    eng *e = q->img->e;
    const eng_runtime *rt = sched_runtime(x->s);
    eng_open_opts oo = {.mutants = x->mutants,
                        .read_only = q->img->is_backing || q->img->creating};
    int ret;

    switch (q->op) {
    case XOP_READ:
        return eng_co_read(e, q->off, q->buf, q->len);
    case XOP_WRITE:
    case XOP_ZERO:
        ret = q->op == XOP_WRITE
                  ? eng_co_write(e, q->off, q->buf, q->len)
                  : eng_co_write_zeroes(
                        e, q->off, q->len,
                        q->flags & SCRIPT_F_UNMAP ? ENG_ZERO_MAY_UNMAP : 0);
        if (ret == 0 && (q->flags & SCRIPT_F_FUA))
            ret = exec_co_fua(q, e);
        return ret;
    case XOP_DISCARD:
        return eng_co_discard(e, q->off, q->len);
    case XOP_FLUSH:
        return eng_co_flush(e);
    case XOP_TRUNCATE:
        return eng_co_truncate(e, q->off);
    case XOP_CREATE:
        return eng_co_create(rt, &q->img->xf.f, &q->create, &q->err);
    case XOP_OPEN:
        exec_image_open_opts(x, &oo);
        ret = eng_co_open(rt, &q->img->xf.f, &oo, &q->opened, &q->err);
        if (ret == 0) {
            q->img->e = q->opened; /* from now on the image's to close */
            q->img->ever_open = true;
            q->img->ro = oo.read_only;
        }
        return ret;
    case XOP_PROBE:
        return exec_co_probe(q, e);
    case XOP_CLOSE:
        q->img->e = NULL; /* closed and freed, even when the flush fails */
        return eng_co_close(e);
    }
    return -EINVAL;
}

static void exec_co_req_body(void *arg)
{
    exec_req *q = arg;
    exec *x = q->x;

    q->entered = true;
    do
        q->ret = exec_co_issue(x, q);
    while (q->ret < 0 && exec_co_werror_stop(x, q));
    if (!q->lost && !x->over && exec_model_end(x, q) && !x->over) {
        if (exec_of_data_cmd(x, q))
            exec_report(x, q);
        if (q->aio)
            exec_judge(x, q, NULL);
    }
    q->done = true;
}

bool exec_req_start(exec *x, exec_req *q)
{
    char label[64];

    q->next = x->reqs;
    x->reqs = q;
    if (q->cmd < x->scr->ncmds)
        exec_note_req(x, q);
    if (!exec_model_begin(x, q)) {
        q->done = true;
        return false;
    }
    if (q->cmd < x->scr->ncmds)
        snprintf(label, sizeof(label), "%s line %u", exec_op_name(q), q->line);
    else
        snprintf(label, sizeof(label), "%s at the end", exec_op_name(q));
    q->sr = sched_spawn(x->s, exec_co_req_body, q, label);
    if (!q->sr) {
        q->done = true;
        return exec_fail(x, q, SCRIPT_V_SCRIPT_ERROR, "out of memory");
    }
    return true;
}

static bool exec_req_is_done(void *q)
{
    return ((exec_req *)q)->done;
}

static bool exec_req_has_run(void *q)
{
    return ((exec_req *)q)->entered;
}

bool exec_req_sync(exec *x, exec_req *q)
{
    char what[160];

    if (!exec_req_start(x, q))
        return false;
    snprintf(what, sizeof(what), "%s (line %u) to complete", exec_op_name(q),
             q->line);
    return exec_run_until(x, exec_req_is_done, q, what);
}

/* ---- the script's I/O commands ------------------------------------------- */

static exec_op exec_io_op(const script_cmd *c)
{
    switch (c->kind) {
    case SCRIPT_WRITE:
    case SCRIPT_AIO_WRITE:
        return c->io.flags & SCRIPT_F_ZERO ? XOP_ZERO : XOP_WRITE;
    case SCRIPT_READ:
    case SCRIPT_AIO_READ:
        return XOP_READ;
    case SCRIPT_DISCARD:
        return XOP_DISCARD;
    default:
        return XOP_FLUSH;
    }
}

/* The request's buffer: the data of a write, room for a read. A read's
 * buffer is filled with EXEC_READ_FILL before the read is issued, so bytes
 * an engine leaves untouched read the same in every run (never malloc's
 * garbage), and are not zeroes that a correct read might return. */
static bool exec_io_buffer(exec *x, exec_req *q)
{
    if (q->op != XOP_READ && q->op != XOP_WRITE)
        return true;
    q->buf = malloc(q->len ? q->len : 1);
    if (!q->buf)
        return exec_fail(x, q, SCRIPT_V_SCRIPT_ERROR,
                         "out of memory for a %" PRIu64 "-byte buffer", q->len);
    if (q->op == XOP_READ)
        memset(q->buf, EXEC_READ_FILL, q->len);
    if (q->op == XOP_WRITE) {
        q->src = q->flags & SCRIPT_F_PATTERN
                     ? datagen_pattern(q->pattern)
                     : datagen_seeded(x->o.data_seed, q->id);
        datagen_fill(&q->src, q->off, q->buf, q->len);
    }
    return true;
}

bool exec_cmd_io(exec *x, const script_cmd *c)
{
    exec_image *im = exec_need_image(x, script_kind_name(c->kind));
    bool aio = c->kind == SCRIPT_AIO_WRITE || c->kind == SCRIPT_AIO_READ;

    if (!im)
        return false;
    exec_op op = exec_io_op(c);
    if (op != XOP_FLUSH && c->io.len > x->o.max_io)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "a request of %" PRIu64 " bytes is larger than the "
                         "executor allows (%" PRIu64 ")",
                         c->io.len, x->o.max_io);
    exec_req *q = exec_req_new(x, op, im);
    if (!q)
        return false;
    q->aio = aio;
    if (op != XOP_FLUSH) {
        q->off = c->io.off;
        q->len = c->io.len;
        q->flags = c->io.flags;
        q->pattern = c->io.pattern;
        q->pat_off = c->io.pat_off;
        q->pat_len = c->io.pat_len;
    }
    if (!exec_io_buffer(x, q)) {
        exec_req_free(q);
        return false;
    }
    if (aio)
        return exec_req_start(x, q) &&
               exec_run_until(x, exec_req_has_run, q, "the request to start");
    return exec_req_sync(x, q) && exec_judge(x, q, NULL);
}
