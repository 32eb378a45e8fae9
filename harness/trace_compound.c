/*
 * trace_compound.c - the legalizer's commands with rules of their own (see
 * trace_legal.c for the common ones): truncate, the host limit and its
 * fault windows, image create, breakpoints with their trigger, injected
 * faults with their trigger, and the repairs at the end of the trace.
 *
 * Breakpoints: `break EVENT TAG`, an aio request certain to announce
 * EVENT (trace_certain.c), `wait_break TAG`, written together; the request
 * stays held until a `resume`/`remove_break` (or a repair before a command
 * that would wait for it, or the end of the trace). Injected faults:
 * `inject TARGET errno=E once`, `expect_error E` and a trigger certain to
 * meet the fault first, written together with nothing else in flight, and
 * an aio trigger is drained right away, so the rule is spent by the
 * trigger and nothing else. Fault windows: see trace_int.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "trace_int.h"

/* ---- truncate ------------------------------------------------------------ */

void trace_do_truncate(trace_dec *d, uint64_t size)
{
    trace_norm(d, TN_OPEN | TN_NORMAL | TN_FREE);
    trace_img *im = trace_cur(d);
    if (size > d->o.max_size)
        size = trace_dn(d->o.max_size, 512);
    int expect = size % 512 ? EINVAL : size < im->size ? ENOTSUP : 0;
    if (expect)
        trace_emit_expect(d, expect);
    trace_emit(d, SCRIPT_TRUNCATE)->size = size;
    trace_st_drained(d);
    if (expect)
        return;
    if (size == im->size)
        return; /* the engine changes nothing, and flushes nothing */
    trace_st_truncate(d, size);
    trace_st_flushed(d); /* growing flushes: the zeroes before the size */
}

/* ---- host limit and fault windows ---------------------------------------- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void host_limit(trace_dec *d, uint64_t size)
{
    if (d->cur < 0)
        trace_norm(d, TN_OPEN);
    if (size == 0 || size >= TRACE_HUGE) {
        trace_lift(d, SCRIPT_HOST_LIMIT, size, size);
        return;
    }
    if (d->mode == TRACE_NORMAL) {
        trace_norm(d, TN_OPEN | TN_DRAINED);
        d->mode = d->werror_stop ? TRACE_WIN_STOP : TRACE_WIN_REPORT;
    }
    uint64_t cs = trace_cur(d)->cs;
    if (d->mode == TRACE_WIN_REPORT && size > cs)
        size = cs; /* below every data cluster: every data write fails */
    trace_emit_host(d, SCRIPT_HOST_LIMIT, size);
    d->limit = size;
}

static void host_grow(trace_dec *d, uint64_t size)
{
    if (d->cur < 0)
        trace_norm(d, TN_OPEN);
    uint64_t now = d->limit ? sat_add(d->limit, size) : 0;
    if (d->mode == TRACE_WIN_REPORT && now < TRACE_HUGE &&
        now > trace_cur(d)->cs) {
        size = TRACE_HUGE; /* no half-full disk under werror=report */
        now = sat_add(d->limit, size);
    }
    if (d->mode != TRACE_NORMAL && now >= TRACE_HUGE) {
        trace_lift(d, SCRIPT_HOST_GROW, size, now);
        return;
    }
    trace_emit_host(d, SCRIPT_HOST_GROW, size);
    d->limit = now;
}

void trace_do_host(trace_dec *d, bool grow, uint64_t size)
{
    if (grow)
        host_grow(d, size);
    else
        host_limit(d, size);
}

/* ---- image create -------------------------------------------------------- */

int trace_named(const trace_dec *d, size_t i, size_t *count)
{
    int found = -1;
    size_t n = 0;
    for (size_t k = 0; k < d->nimg; k++) {
        if (!d->img[k].named)
            continue;
        if (n == i)
            found = (int)k;
        n++;
    }
    *count = n;
    return found;
}

static bool name_taken(const trace_dec *d, const char *name)
{
    for (size_t k = 0; k < d->nimg; k++)
        if (d->img[k].named && strcmp(d->img[k].name, name) == 0)
            return true;
    return false;
}

static void fix_create(trace_dec *d, const trace_imgreq *r, script_create *c)
{
    uint64_t cs = r->cluster_size;
    memset(c, 0, sizeof(*c));
    c->size = trace_up(r->size, 512);
    if (c->size > d->o.max_size)
        c->size = trace_dn(d->o.max_size, 512);
    if (c->size < 512)
        c->size = 512;
    if (cs >= 512 && cs <= (UINT64_C(2) << 20) && !(cs & (cs - 1)))
        c->cluster_size = cs;
    c->version = r->version == 2 || r->version == 3 ? r->version : 0;
    unsigned rb = r->refcount_bits;
    if (rb >= 1 && rb <= 64 && !(rb & (rb - 1)) &&
        (c->version != 2 || rb == 16))
        c->refcount_bits = rb;
}

void trace_do_image(trace_dec *d, const trace_imgreq *r)
{
    script_create c;
    size_t n;

    trace_norm(d, TN_DRAINED);
    if (d->nimg == TRACE_MAX_IMAGES)
        return;
    fix_create(d, r, &c);
    int bi = -1;
    if (r->backing >= 0 && trace_named(d, 0, &n) >= 0)
        bi = trace_named(d, (size_t)r->backing % n, &n);
    if (r->name && !name_taken(d, r->name))
        c.name = r->name;
    if (bi >= 0) {
        c.backing = d->img[bi].name;
        c.backing_fmt = r->backing_fmt ? SCRIPT_FMT_QCOW2 : SCRIPT_FMT_NONE;
    }
    trace_img *im = &d->img[d->nimg];
    trace_img *b = bi >= 0 ? &d->img[bi] : NULL;
    if (trace_img_init(im, &c, b, UINT64_C(65536)) < 0) {
        trace_img_free(im);
        d->err = -ENOMEM;
        return;
    }
    script_cmd *cmd = trace_emit(d, SCRIPT_IMAGE_CREATE);
    cmd->create = c;
    cmd->create.name = c.name ? trace_dup(d, c.name) : NULL;
    cmd->create.backing = c.backing ? trace_dup(d, c.backing) : NULL;
    if (b) {
        im->backing = bi;
        b->open = false; /* the executor flushes and closes it */
        b->frozen = true;
        trace_map_set(&b->touched, 0, UINT64_MAX, 0);
    }
    d->cur = (int)d->nimg++;
    d->limit = 0; /* a new host file has no limit */
}

/* ---- breakpoints --------------------------------------------------------- */

/* The k-th (mod their number) set bit of m; m != 0. */
static unsigned nth_bit(uint64_t m, unsigned k)
{
    unsigned n = (unsigned)__builtin_popcountll(m);
    k %= n;
    for (unsigned b = 0;; b++)
        if ((m >> b) & 1 && k-- == 0)
            return b;
}

/* The requested choice when it is allowed, else one of the allowed ones;
 * -1 when none is. */
static int choose(uint64_t allowed, unsigned byte, unsigned count)
{
    if (!allowed)
        return -1;
    if (byte < count && ((allowed >> byte) & 1))
        return (int)byte;
    return (int)nth_bit(allowed, byte < count ? byte : byte - count);
}

void trace_do_break(trace_dec *d, unsigned ev_byte, const char *tag,
                    const trace_io *trig)
{
    trace_io t = *trig;

    if (t.kind == SCRIPT_AIO_READ) { /* it may be held: no -P to keep */
        t.flags &= ~(SCRIPT_F_PATTERN | SCRIPT_F_PAT_OFF | SCRIPT_F_PAT_LEN);
        t.auto_pattern = false;
    }
    trace_norm(d, TN_OPEN | TN_NORMAL | TN_FREE | TN_NOPREAD);
    if (trace_io_prepare(d, &t)) {
        trace_io_emit(d, &t, EINVAL, TRACE_IO_OOR);
        return;
    }
    trace_io_room(d, &t);
    bool image_free =
        ev_byte < ENG_EV_COUNT && trace_ev_image_free((eng_event)ev_byte);
    if (!image_free && d->nfl)
        trace_emit_aio_flush(d);
    int ev = choose(trace_st_events(d, &t), ev_byte, ENG_EV_COUNT);
    if (ev < 0) {
        trace_io_emit(d, &t, 0, TRACE_IO_OK);
        return;
    }
    script_cmd *c = trace_emit(d, SCRIPT_BREAK);
    c->bp.event = ev;
    c->bp.tag = trace_dup(d, tag);
    trace_io_emit(d, &t, 0, TRACE_IO_OK);
    c = trace_emit(d, SCRIPT_WAIT_BREAK);
    c->bp.event = -1;
    c->bp.tag = trace_dup(d, tag);
    d->held = true;
    d->held_locked = trace_ev_locked((eng_event)ev);
    snprintf(d->tag, sizeof(d->tag), "%s", tag);
}

/* ---- injected faults ----------------------------------------------------- */

static void emit_inject(trace_dec *d, int target, int err)
{
    script_cmd *c = trace_emit(d, SCRIPT_INJECT);
    c->inject.event = -1;
    c->inject.err = err;
    c->inject.once = true;
    if (target < ENG_EV_COUNT) {
        c->inject.target = SCRIPT_INJ_EVENT;
        c->inject.event = target;
    } else {
        c->inject.target = target == TRACE_T_READ    ? SCRIPT_INJ_READ
                           : target == TRACE_T_WRITE ? SCRIPT_INJ_WRITE
                                                     : SCRIPT_INJ_FLUSH;
    }
    trace_emit_expect(d, err);
}

/* The trigger, failing with the error just expected. */
static void emit_failing(trace_dec *d, const trace_trig *t)
{
    if (t->kind == SCRIPT_FLUSH) {
        trace_emit(d, SCRIPT_FLUSH);
        return;
    }
    if (t->kind == SCRIPT_TRUNCATE) {
        trace_emit(d, SCRIPT_TRUNCATE)->size = t->size;
        trace_cur(d)->l1_known = false; /* it may have grown */
        trace_cur(d)->rb_cold = false;
        return;
    }
    trace_io_emit(d, &t->io, 0, TRACE_IO_FAILS);
    if (t->kind == SCRIPT_AIO_WRITE || t->kind == SCRIPT_AIO_READ)
        trace_emit_aio_flush(d); /* spent before anything else runs */
}

/* The trigger as an ordinary command (no fault fits it). */
static void run_plain(trace_dec *d, const trace_trig *t)
{
    if (t->kind == SCRIPT_FLUSH)
        trace_do_simple(d, SCRIPT_FLUSH);
    else if (t->kind == SCRIPT_TRUNCATE)
        trace_do_truncate(d, t->size);
    else
        trace_do_io(d, &t->io);
}

void trace_do_inject(trace_dec *d, unsigned target_byte, int err,
                     const trace_trig *trig)
{
    trace_trig t = *trig;

    trace_norm(d, TN_OPEN | TN_DRAINED);
    if (t.kind == SCRIPT_TRUNCATE && t.size > d->o.max_size) {
        run_plain(d, &t);
        return;
    }
    if (t.kind != SCRIPT_FLUSH && t.kind != SCRIPT_TRUNCATE) {
        if (trace_io_prepare(d, &t.io)) {
            trace_io_emit(d, &t.io, EINVAL, TRACE_IO_OOR);
            return;
        }
        trace_io_fix_pattern(d, &t.io);
        if (!trace_st_fuzzy_ok(d, t.io.off, t.io.len, 1)) {
            run_plain(d, &t);
            return;
        }
    }
    int target = choose(trace_st_faults(d, &t), target_byte, TRACE_T_COUNT);
    if (target < 0) {
        run_plain(d, &t);
        return;
    }
    emit_inject(d, target, err);
    emit_failing(d, &t);
}

/* ---- the end ------------------------------------------------------------- */

void trace_finish(trace_dec *d)
{
    if (d->held)
        trace_emit_resume(d, false);
    if (d->mode == TRACE_WIN_STOP)
        trace_close_window(d);
}
