/*
 * exec_crash.c - power loss in the executor (see exec_int.h):
 *   - `crash [drop=...]`: the power goes now;
 *   - `crash after=N [drop=...]`: the power goes right after the N-th host
 *     write or flush that completes successfully from this command on,
 *     whichever request of whichever image makes it. The command running
 *     at that moment is cut short, and the script goes on with the next
 *     command once the images are reopened.
 *
 * The moment of a power loss is exact: every image's host file goes
 * through an exec_host, which counts successful writes and flushes as
 * the scheduler completes them (sched_io_complete, main context); the
 * armed cut happens inside that completion, before any other request runs
 * or any other I/O completes, under every scheduling policy.
 *
 * A power loss, in two halves:
 *   off     (the instant) every request not finished is lost; each disk
 *           keeps or loses its unflushed sectors (hostdisk power loss:
 *           drop=all loses all, drop=random SEED keeps each by a seeded
 *           coin, so writes tear at 512-byte sectors); every host I/O
 *           from now on fails with EIO and changes nothing (rules added
 *           to each image's hostfault set, which keeps room for them); no
 *           breakpoint, injected event or werror stop applies (quiesce);
 *           held requests are released;
 *   finish  (main context, between commands) the lost requests unwind
 *           (their failures are not judged: the models forget them), the
 *           engines are freed without I/O, the models apply their crash
 *           rule, and every live image is opened again (the model learns
 *           the size it finds: a truncate may have been cut short).
 * An image whose creation the power cut short (half-created) is tried
 * once, read-only: the engine may refuse it with an error, or open it;
 * then it must map no data (a fresh image reads zeroes or its backing
 * file) and have the size it was created with. An abort or a hang of the
 * engine on it is a verdict as anywhere else. Either way the image is
 * then dropped (abandoned: `image use` refuses it, the end does not check
 * it): creating an image is not crash-atomic (QEMU's qcow2_co_create
 * writes the header and the refcount structures it points at without an
 * ordering flush either), so the metadata checker's findings on it are
 * printed, not judged.
 *
 * Invariants: at most one armed power loss (a later `crash after=`
 * replaces it); it fires once and is then disarmed, as it is at the end
 * of the script; no verdict is recorded by the cut itself.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "checker.h"
#include "exec_int.h"
#include "hostdisk.h"
#include "hostfault.h"
#include "prng.h"

/* ---- power off, power on ------------------------------------------------- */

static bool exec_keep_random(void *opaque, uint64_t sector)
{
    (void)sector;
    return prng_next((prng *)opaque) & 1;
}

/* Make every host I/O of im fail (add=true) or stop that (add=false). */
static void exec_dead_rules(exec_image *im, bool add)
{
    static const fault_target t[4] = {FAULT_READ, FAULT_WRITE, FAULT_FLUSH,
                                      FAULT_TRUNCATE};
    fault_rules *set = hostfault_rules(im->hb);

    for (int i = 0; i < 4; i++) {
        if (add) {
            fault_rule fr = {.target = t[i], .err = EIO, .mode = FAULT_ALWAYS};
            im->dead[i] = fault_rules_add(set, &fr);
        } else if (im->dead[i] >= 0) {
            (void)fault_rules_remove(set, im->dead[i]);
            im->dead[i] = -1;
        }
    }
}

/* The instant of a power loss (see the top of the file). */
static void exec_power_off(exec *x, const script_crash *cc)
{
    x->quiesce = true;
    for (exec_req *q = x->reqs; q; q = q->next)
        q->lost = !q->done;
    for (size_t i = 0; i < x->nimgs; i++) {
        prng p =
            prng_seeded(cc->seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (i + 1)));
        hostdisk_power_loss(
            x->imgs[i]->disk,
            cc->drop == SCRIPT_DROP_RANDOM ? exec_keep_random : NULL, &p);
        exec_dead_rules(x->imgs[i], true);
    }
    exec_bp_release_all(x);
}

/* After the instant: unwind, free the engines, crash the models, reopen
 * the live images and try the half-created ones, in creation order (a
 * backing image before its overlays). */
static bool exec_power_on(exec *x)
{
    bool ok = exec_drain(x, "crash: the requests in flight to unwind");

    for (size_t i = 0; i < x->nimgs; i++) {
        exec_image *im = x->imgs[i];
        exec_dead_rules(im, false);
        eng_destroy(im->e);
        im->e = NULL;
    }
    x->quiesce = false;
    for (size_t i = 0; ok && i < x->nimgs; i++) {
        exec_image *im = x->imgs[i];
        int r = im->model ? shadow_crash(im->model) : 0;
        if (r < 0)
            ok = exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                           "the shadow model cannot follow the crash: %s",
                           strerror(-r));
    }
    for (size_t i = 0; ok && i < x->nimgs; i++) {
        exec_image *im = x->imgs[i];
        if (im->creating)
            ok = exec_open_half_created(x, im);
        else if (im->live)
            ok = exec_open_engine(x, im, NULL);
    }
    return ok;
}

/* ---- half-created images ------------------------------------------------- */

/* Run a request of op on im that expects no error; false: a verdict. */
static exec_req *exec_crash_req(exec *x, exec_op op, exec_image *im)
{
    exec_req *q = exec_req_new(x, op, im);

    if (!q)
        return NULL;
    q->expect_err = 0;
    return exec_req_sync(x, q) ? q : NULL;
}

/* The metadata checker's word on a half-created image: output only. */
static void exec_half_created_check(exec *x, exec_image *im)
{
    chk_report rep;
    int r = chk_image(im->disk, &rep);

    if (r < 0)
        exec_printf(x, "image %s: the metadata checker could not finish: %s",
                    im->name, strerror(-r));
    else if (rep.corruptions)
        exec_printf(x,
                    "image %s: the metadata checker finds %" PRIu64
                    " corruption%s (not a verdict: a half-created image is "
                    "dropped)",
                    im->name, rep.corruptions, rep.corruptions == 1 ? "" : "s");
}

/* im opened read-only: it must map no data and have its created size. */
static bool exec_half_created_probe(exec *x, exec_image *im)
{
    exec_req *p = exec_crash_req(x, XOP_PROBE, im);
    eng_info info;

    if (!p)
        return false;
    if (p->ret < 0)
        return exec_fail(x, p, SCRIPT_V_UNEXPECTED_ERROR,
                         "image %s, whose creation the power cut short, "
                         "opens, but mapping it fails: %s",
                         im->name, strerror(-p->ret));
    if (p->off != UINT64_MAX)
        return exec_fail(x, p, SCRIPT_V_DATA_MISMATCH,
                         "image %s, whose creation the power cut short, maps "
                         "data at offset 0x%" PRIx64 ": a fresh image reads "
                         "zeroes (or its backing file)",
                         im->name, p->off);
    eng_get_info(im->e, &info);
    if (info.virtual_size != shadow_size(im->model))
        return exec_fail(x, p, SCRIPT_V_METADATA_CORRUPT,
                         "image %s, whose creation the power cut short, opens "
                         "with virtual size %" PRIu64 ", not %" PRIu64,
                         im->name, info.virtual_size, shadow_size(im->model));
    return true;
}

bool exec_open_half_created(exec *x, exec_image *im)
{
    exec_req *q = exec_crash_req(x, XOP_OPEN, im); /* read-only: creating */

    if (!q)
        return false;
    im->creating = false;
    im->abandoned = true; /* dropped, whatever the engine makes of it */
    im->live = false;
    if (q->ret < 0) {
        exec_printf(x,
                    "image %s: the power cut its creation short; the engine "
                    "refuses it: %s",
                    im->name, q->err.msg[0] ? q->err.msg : strerror(-q->ret));
        return true;
    }
    bool ok = exec_half_created_probe(x, im);
    eng_destroy(im->e); /* read-only: nothing to write */
    im->e = NULL;
    if (!ok)
        return false;
    exec_printf(x,
                "image %s: the power cut its creation short; the engine "
                "opens it, at its size, mapping no data",
                im->name);
    exec_half_created_check(x, im);
    return true;
}

/* ---- the commands -------------------------------------------------------- */

bool exec_cmd_crash(exec *x, const script_cmd *c)
{
    if (!x->nimgs && !c->crash.after) /* an arm may precede image create */
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "crash needs an image (image create first)");
    if (c->crash.after) {
        x->cut_armed = true;
        x->cut_after = c->crash.after;
        x->cut_at = x->host_ios + c->crash.after;
        x->cut_line = c->line;
        x->cut_how = c->crash;
        return true;
    }
    exec_power_off(x, &c->crash);
    return exec_power_on(x);
}

bool exec_cut_resume(exec *x)
{
    assert(x->cut && !x->over);
    x->cut = false;
    x->r->detail[0] = '\0'; /* whatever the cut-short command noted */
    exec_printf(x,
                "crash after=%" PRIu64 " (line %u): the power went; "
                "reopening",
                x->cut_after, x->cut_line);
    return exec_power_on(x);
}

void exec_cut_disarm(exec *x)
{
    if (!x->cut_armed)
        return;
    x->cut_armed = false;
    exec_printf(x,
                "crash after=%" PRIu64 " (line %u): the script ended after "
                "%" PRIu64 " host writes and flushes; the power stayed on",
                x->cut_after, x->cut_line,
                x->host_ios - (x->cut_at - x->cut_after));
}

/* ---- the counting host backend ------------------------------------------- */

/* The armed power loss, now: inside the completion of a host I/O. */
static void exec_cut_now(exec *x)
{
    uint64_t vol = 0;

    for (size_t i = 0; i < x->nimgs; i++)
        vol += hostdisk_volatile_sectors(x->imgs[i]->disk);
    x->cut_armed = false;
    x->cut = true;
    x->r->cut_fired = true;
    x->r->cut_cmd = x->cmd;
    x->r->cut_volatile = vol;
    exec_power_off(x, &x->cut_how);
}

/* One host write or flush succeeded. */
static void exec_host_counted(exec *x)
{
    x->host_ios++;
    if (x->o.hostio)
        x->o.hostio(x->o.hostio_opaque, x->host_ios, x->cmd);
    if (x->cut_armed && !x->over && !x->quiesce && x->host_ios == x->cut_at)
        exec_cut_now(x);
}

static exec_host *exec_host_of(host_backend *b)
{
    return (exec_host *)b;
}

static int exec_host_pread(host_backend *b, uint64_t off, void *buf, size_t len)
{
    return host_pread(exec_host_of(b)->inner, off, buf, len);
}

static int exec_host_pwrite(host_backend *b, uint64_t off, const void *buf,
                            size_t len)
{
    exec_host *h = exec_host_of(b);
    int r = host_pwrite(h->inner, off, buf, len);

    if (r == 0)
        exec_host_counted(h->x);
    return r;
}

static int exec_host_flush(host_backend *b)
{
    exec_host *h = exec_host_of(b);
    int r = host_flush(h->inner);

    if (r == 0)
        exec_host_counted(h->x);
    return r;
}

static int exec_host_truncate(host_backend *b, uint64_t size)
{
    return host_truncate(exec_host_of(b)->inner, size);
}

static uint64_t exec_host_size(host_backend *b)
{
    return host_size(exec_host_of(b)->inner);
}

static void exec_host_destroy(host_backend *b)
{
    (void)b; /* part of its exec_image; the image frees what it wraps */
}

static const host_backend_ops exec_host_ops = {
    .pread = exec_host_pread,
    .pwrite = exec_host_pwrite,
    .flush = exec_host_flush,
    .truncate = exec_host_truncate,
    .size = exec_host_size,
    .destroy = exec_host_destroy,
};

void exec_host_init(exec *x, exec_image *im)
{
    im->xh.b.ops = &exec_host_ops;
    im->xh.inner = im->hb;
    im->xh.x = x;
}
