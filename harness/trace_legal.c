/*
 * trace_legal.c - the legalizer of the trace decoder (see trace_int.h):
 * every command the decoder writes goes through one of these functions.
 *
 * Each function first brings the trace into the state its command needs
 * (trace_norm: an open image, no fault window, nothing held at a
 * breakpoint, nothing in flight), writing the repairs it takes (`reopen`,
 * `host limit 0` + `resume_errors`, `resume TAG`, `aio_flush`); then it
 * fixes what the bytes asked for (drops a -P the model cannot vouch for,
 * clamps a size, adds the expect_error it knows will be met); then it
 * writes the command and tells the model (trace_state.c). The rules are
 * the executor's (docs/language.md, "How scripts run") and the engine's:
 *   - close, reopen, truncate, check, aio_flush and image create wait for
 *     every request: nothing may be held, no request may be parked by
 *     werror=stop;
 *   - a request held at an event that keeps the metadata lock blocks every
 *     synchronous request; one held elsewhere blocks synchronous writes and
 *     discards over clusters of in-flight allocations (QEMU's dependency
 *     list), never reads or flushes;
 *   - a request past the end of the disk fails with EINVAL;
 *   - under a host limit below every data cluster, every data write fails
 *     with ENOSPC (werror=report); under werror=stop any limit is fine for
 *     aio writes, which park and are retried by resume_errors.
 * Invariant: a command written here never makes a script error or a
 * deadlock on a correct engine.
 */
#include <errno.h>
#include <string.h>

#include "trace_int.h"

const int trace_errnos[] = {EIO, ENOSPC, EPERM, EDQUOT, ETIMEDOUT};
const size_t trace_nerrnos = sizeof(trace_errnos) / sizeof(trace_errnos[0]);

#define DEFAULT_SIZE (UINT64_C(1) << 20)

script_cmd *trace_emit(trace_dec *d, script_kind k)
{
    script_cmd *c = d->err ? NULL : script_append(d->s, k);
    if (!c) {
        d->err = -ENOMEM;
        memset(&d->scratch, 0, sizeof(d->scratch));
        return &d->scratch;
    }
    return c;
}

const char *trace_dup(trace_dec *d, const char *s)
{
    const char *p = d->err ? NULL : script_strdup(d->s, s);
    if (!p)
        d->err = -ENOMEM;
    return p ? p : "A";
}

void trace_emit_expect(trace_dec *d, int err)
{
    trace_emit(d, SCRIPT_EXPECT_ERROR)->err = err;
}

void trace_emit_aio_flush(trace_dec *d)
{
    trace_emit(d, SCRIPT_AIO_FLUSH);
    trace_st_drained(d);
}

void trace_emit_resume(trace_dec *d, bool remove)
{
    script_cmd *c = trace_emit(d, remove ? SCRIPT_REMOVE_BREAK : SCRIPT_RESUME);
    c->bp.event = -1;
    c->bp.tag = trace_dup(d, d->tag);
    d->held = false;
}

void trace_emit_host(trace_dec *d, script_kind k, uint64_t size)
{
    trace_emit(d, k)->size = size;
}

/* Set the host limit to `size` (0, or beyond any host file: `limit` is
 * what it becomes) with `host limit` or `host grow`, which closes a fault
 * window: the failing writes fail before the lift; under werror=stop,
 * what the window parked is retried. */
void trace_lift(trace_dec *d, script_kind k, uint64_t size, uint64_t limit)
{
    if (d->mode == TRACE_WIN_REPORT && d->nfl)
        trace_emit_aio_flush(d);
    trace_emit_host(d, k, size);
    if (d->mode == TRACE_WIN_STOP)
        trace_emit(d, SCRIPT_RESUME_ERRORS);
    d->limit = limit;
    d->mode = TRACE_NORMAL;
}

void trace_close_window(trace_dec *d)
{
    trace_lift(d, SCRIPT_HOST_LIMIT, 0, 0);
}

static void default_image(trace_dec *d)
{
    trace_imgreq r = {.backing = -1};
    r.size = d->o.max_size < DEFAULT_SIZE ? d->o.max_size : DEFAULT_SIZE;
    trace_do_image(d, &r);
}

void trace_norm(trace_dec *d, unsigned need)
{
    if (need & (TN_DRAINED | TN_NOPREAD))
        need |= TN_NORMAL | TN_FREE;
    if ((need & TN_NORMAL) && d->mode != TRACE_NORMAL)
        trace_close_window(d);
    if ((need & TN_FREE) && d->held)
        trace_emit_resume(d, false);
    if (((need & TN_DRAINED) && d->nfl) ||
        ((need & TN_NOPREAD) && d->cur >= 0 &&
         trace_st_fl_overlap(d, 0, UINT64_MAX / 2, false, false, true)))
        trace_emit_aio_flush(d);
    if (!(need & TN_OPEN))
        return;
    if (d->cur < 0) {
        default_image(d);
    } else if (!d->img[d->cur].open) {
        /* a closed image has nothing in flight, held or parked */
        trace_emit(d, SCRIPT_REOPEN);
        trace_st_drained(d);
        d->img[d->cur].open = true;
        trace_st_opened(&d->img[d->cur]);
    }
}

/* ---- I/O commands -------------------------------------------------------- */

static bool is_aio(script_kind k)
{
    return k == SCRIPT_AIO_WRITE || k == SCRIPT_AIO_READ;
}

static bool is_read(script_kind k)
{
    return k == SCRIPT_READ || k == SCRIPT_AIO_READ;
}

/* Keep only the flags the command takes, in combinations the parser
 * accepts. */
static void io_fix_flags(trace_dec *d, trace_io *io)
{
    unsigned f = io->flags;
    if (io->len == 0)
        io->len = 1;
    if (io->len > d->o.max_io)
        io->len = d->o.max_io;
    if (is_read(io->kind)) {
        f &= SCRIPT_F_PATTERN | SCRIPT_F_QUIET | SCRIPT_F_VERBOSE |
             SCRIPT_F_PAT_OFF | SCRIPT_F_PAT_LEN;
        if (!(f & SCRIPT_F_PATTERN) || io->kind == SCRIPT_AIO_READ)
            f &= ~(SCRIPT_F_PAT_OFF | SCRIPT_F_PAT_LEN);
        if (io->len > 4096)
            f &= ~SCRIPT_F_VERBOSE; /* a hex dump of a big read is only cost */
    } else if (io->kind == SCRIPT_DISCARD) {
        f &= SCRIPT_F_QUIET;
    } else {
        f &= SCRIPT_F_PATTERN | SCRIPT_F_ZERO | SCRIPT_F_UNMAP | SCRIPT_F_FUA |
             SCRIPT_F_QUIET;
        if (f & SCRIPT_F_ZERO)
            f &= ~SCRIPT_F_PATTERN;
        else
            f &= ~SCRIPT_F_UNMAP;
    }
    io->flags = f;
}

/* A read's -P: kept only where every checked byte is known to be it. */
void trace_io_fix_pattern(trace_dec *d, trace_io *io)
{
    if (!is_read(io->kind))
        return;
    unsigned pf = SCRIPT_F_PATTERN | SCRIPT_F_PAT_OFF | SCRIPT_F_PAT_LEN;
    bool want = io->auto_pattern || (io->flags & SCRIPT_F_PATTERN);
    uint64_t a = io->off, b = io->off + io->len;
    if (io->flags & SCRIPT_F_PAT_OFF) {
        if (io->pat_off > io->len)
            want = false;
        else
            a += io->pat_off;
    }
    if (io->flags & SCRIPT_F_PAT_LEN) {
        if (io->pat_len > b - a)
            want = false;
        else
            b = a + io->pat_len;
    }
    if (want && is_aio(io->kind) && d->held)
        want = false; /* it could not be drained before a racing write */
    int known = want ? trace_st_uniform(d, a, b) : -1;
    if (known >= 0 && io->auto_pattern && !(io->flags & SCRIPT_F_PATTERN))
        io->pattern = (uint8_t)known;
    if (known < 0 || known != io->pattern) {
        io->flags &= ~pf;
        return;
    }
    io->flags |= SCRIPT_F_PATTERN;
}

/* Can a synchronous command run while a request is held? */
static bool held_ok(trace_dec *d, const trace_io *io)
{
    if (!d->held || is_aio(io->kind))
        return true;
    if (d->held_locked)
        return false;
    if (is_read(io->kind))
        return true;
    return !trace_st_fl_overlap(d, io->off, io->len, true, true, false);
}

static bool io_may_alloc(trace_dec *d, const trace_io *io)
{
    trace_img *im = trace_cur(d);
    if (io->kind == SCRIPT_DISCARD)
        return false;
    uint64_t c0 = trace_dn(io->off, im->cs);
    uint64_t c1 = trace_up(io->off + io->len, im->cs);
    if (io->flags & SCRIPT_F_ZERO && im->version >= 3 &&
        trace_up(io->off, im->cs) == io->off &&
        trace_dn(io->off + io->len, im->cs) == io->off + io->len)
        return false; /* whole clusters: flags only */
    uint16_t v;
    return !(trace_map_uniform(&im->alloc, c0, c1, &v) && v == TA_DATA);
}

static void add_flight(trace_dec *d, const trace_io *io, bool may_alloc)
{
    trace_flight *f = &d->fl[d->nfl++];
    trace_img *im = trace_cur(d);
    f->off = io->off;
    f->len = io->len;
    f->pread = is_read(io->kind) && (io->flags & SCRIPT_F_PATTERN);
    f->may_alloc = may_alloc;
    if (is_read(io->kind))
        f->kind = TW_READ;
    else
        f->kind = trace_pure_data(im, io) ? TW_DATA : TW_OTHER;
}

/* Write io (already legal) with its expect_error (0: none) and tell the
 * model what it does: takes effect, fails, or fails at once (past the end
 * of the disk: nothing changes, nothing stays in flight). */
void trace_io_emit(trace_dec *d, const trace_io *io, int expect,
                   trace_outcome out)
{
    if (expect)
        trace_emit_expect(d, expect);
    script_cmd *c = trace_emit(d, io->kind);
    c->io.off = io->off;
    c->io.len = io->len;
    c->io.flags = io->flags;
    c->io.pattern = io->flags & SCRIPT_F_PATTERN ? io->pattern : 0;
    c->io.pat_off = io->flags & SCRIPT_F_PAT_OFF ? io->pat_off : 0;
    c->io.pat_len = io->flags & SCRIPT_F_PAT_LEN ? io->pat_len : 0;
    if (out == TRACE_IO_OOR)
        return;
    bool may_alloc = false;
    if (is_read(io->kind)) {
        trace_st_read(d, io);
    } else {
        may_alloc = io_may_alloc(d, io);
        trace_st_modify(d, io, out == TRACE_IO_FAILS);
    }
    if (is_aio(io->kind))
        add_flight(d, io, may_alloc);
    else if ((io->flags & SCRIPT_F_FUA) && out == TRACE_IO_OK)
        trace_st_flushed(d);
}

static bool window_ok(trace_dec *d, const trace_io *io)
{
    if (d->mode == TRACE_WIN_REPORT)
        return (io->kind == SCRIPT_WRITE || io->kind == SCRIPT_AIO_WRITE) &&
               !(io->flags & SCRIPT_F_ZERO);
    return io->kind == SCRIPT_AIO_WRITE;
}

/* Fix the flags, make sure an image is open; true when io is past the
 * end of the disk (it fails at once with EINVAL, legal anywhere). */
bool trace_io_prepare(trace_dec *d, trace_io *io)
{
    io_fix_flags(d, io);
    trace_norm(d, TN_OPEN);
    if (!trace_io_oor(trace_cur(d), io->off, io->len))
        return false;
    io->flags &= ~(SCRIPT_F_PAT_OFF | SCRIPT_F_PAT_LEN);
    return true;
}

/* Room for one more request: at most TRACE_MAX_FLIGHT in flight, and at
 * most TRACE_MAX_OVERLAP modifying ones over any sector (the shadow model
 * keeps every combination of racing writes as a legal value). */
void trace_io_room(trace_dec *d, const trace_io *io)
{
    size_t over = 0;
    uint64_t a = trace_dn(io->off, 512), b = trace_up(io->off + io->len, 512);
    for (size_t i = 0; i < d->nfl; i++)
        over += d->fl[i].kind != TW_READ && d->fl[i].off < b &&
                a < d->fl[i].off + d->fl[i].len;
    bool racing = !is_read(io->kind) && over > 0;
    if ((is_aio(io->kind) && d->nfl >= TRACE_MAX_FLIGHT - 1) ||
        (racing && (over >= TRACE_MAX_OVERLAP ||
                    !trace_st_fuzzy_ok(d, io->off, io->len, 1))))
        trace_norm(d, TN_DRAINED);
}

void trace_do_io(trace_dec *d, const trace_io *in)
{
    trace_io io = *in;

    if (trace_io_prepare(d, &io)) {
        trace_io_emit(d, &io, EINVAL, TRACE_IO_OOR);
        return;
    }
    trace_io_room(d, &io);
    if (d->mode != TRACE_NORMAL &&
        (!window_ok(d, &io) || (d->mode == TRACE_WIN_REPORT &&
                                !trace_st_fuzzy_ok(d, io.off, io.len, 1))))
        trace_close_window(d);
    if (!held_ok(d, &io))
        trace_emit_resume(d, false);
    if (!is_read(io.kind) &&
        trace_st_fl_overlap(d, io.off, io.len, false, false, true))
        trace_norm(d, TN_DRAINED); /* a racing write would break a -P */
    trace_io_fix_pattern(d, &io);
    bool fails = d->mode == TRACE_WIN_REPORT;
    trace_io_emit(d, &io, fails ? ENOSPC : 0,
                  fails ? TRACE_IO_FAILS : TRACE_IO_OK);
}

/* ---- commands without operands ------------------------------------------- */

void trace_do_simple(trace_dec *d, script_kind k)
{
    trace_img *im = trace_cur(d);

    switch (k) {
    case SCRIPT_FLUSH:
        trace_norm(d, TN_OPEN | TN_NORMAL);
        if (d->held && d->held_locked)
            trace_emit_resume(d, false);
        trace_emit(d, k);
        trace_st_flushed(d);
        return;
    case SCRIPT_AIO_FLUSH:
        trace_norm(d, TN_NORMAL | TN_FREE);
        trace_emit_aio_flush(d);
        return;
    case SCRIPT_CHECK:
        trace_norm(d, TN_OPEN | TN_NORMAL | TN_FREE);
        break;
    case SCRIPT_CLOSE:
    case SCRIPT_REOPEN:
        if (!im || (k == SCRIPT_CLOSE && !im->open))
            return;
        trace_norm(d, TN_NORMAL | TN_FREE);
        break;
    default: /* resume_errors: harmless in every state */
        trace_emit(d, k);
        return;
    }
    trace_emit(d, k);
    trace_st_drained(d);
    trace_st_flushed(d);
    im = trace_cur(d);
    if (k == SCRIPT_CLOSE)
        im->open = false;
    if (k == SCRIPT_REOPEN) {
        im->open = true;
        trace_st_opened(im);
    }
}

void trace_do_resume(trace_dec *d, bool remove)
{
    if (d->held)
        trace_emit_resume(d, remove);
}

void trace_do_policy(trace_dec *d, bool stop)
{
    trace_norm(d, TN_NORMAL);
    trace_emit(d, SCRIPT_POLICY)->werror =
        stop ? SCRIPT_WERROR_STOP : SCRIPT_WERROR_REPORT;
    d->werror_stop = stop;
}

void trace_do_sched(trace_dec *d, script_policy_kind p, uint64_t seed,
                    const uint8_t *tape, size_t tape_len)
{
    script_cmd *c = trace_emit(d, SCRIPT_SCHED);
    c->sched.policy = p;
    c->sched.seed = p == SCRIPT_SCHED_RANDOM ? seed : 0;
    if (p == SCRIPT_SCHED_TAPE) {
        c->sched.tape = d->err ? NULL : script_memdup(d->s, tape, tape_len);
        c->sched.tape_len = tape_len;
        if (!c->sched.tape)
            d->err = -ENOMEM;
    }
}

void trace_do_crash(trace_dec *d, bool random, uint64_t seed)
{
    if (d->nimg == 0)
        trace_norm(d, TN_OPEN);
    if (!trace_st_crash_ok(d))
        return; /* the model could not hold what it may have lost */
    trace_norm(d, TN_NORMAL);
    script_cmd *c = trace_emit(d, SCRIPT_CRASH);
    c->crash.drop = random ? SCRIPT_DROP_RANDOM : SCRIPT_DROP_ALL;
    c->crash.seed = random ? seed : 0;
    trace_st_crash(d);
}
