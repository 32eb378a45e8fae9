/*
 * exec_image.c - the images of a trace (see exec_int.h): creating and
 * opening them, making one current (`image use`), closing and reopening,
 * truncating, the metadata checks, and the hashes of their bytes (power
 * loss: exec_crash.c).
 *
 * Every image lives in memory: a hostdisk (volatile cache, power loss)
 * inside a hostfault wrapper (capacity limit, injected errors), seen by
 * the engine through the scheduler's asynchronous file and the executor's
 * eng_file wrapper. `image open FILE` loads the file into such a disk, so
 * a replay never changes the file and every run starts from the same
 * bytes. Backing names resolve first to the script's named images, then to
 * files (loaded once), relative to the directory of the image that names
 * them.
 *
 * Models: a created image has a shadow model; an overlay's model reads
 * through its backing image's model (SHADOW_BACKING_MODEL), and the
 * backing image is read-only from then on (its engine is drained, flushed
 * and closed when the overlay is created; `image use` opens it again
 * read-only, beside the overlays that read through it). An opened file's
 * initial content is unknown to the model: it is judged by first observation
 * (exec_sticky.c).
 *
 * Ownership: x->imgs owns each exec_image; an image owns its wrapper (which
 * owns the disk), its engine while open, its model and its sticky record.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "exec_int.h"
#include "hostdisk.h"
#include "hostfault.h"

/* ---- the image table ----------------------------------------------------- */

/* Add an image over disk (taken over, destroyed on failure). */
static exec_image *exec_image_add(exec *x, host_backend *disk, const char *name,
                                  bool named)
{
    exec_image *im = NULL;

    if (x->nimgs == x->capimgs) {
        size_t cap = x->capimgs ? 2 * x->capimgs : 8;
        exec_image **v = realloc(x->imgs, cap * sizeof(*v));
        if (!v)
            goto fail;
        x->imgs = v;
        x->capimgs = cap;
    }
    im = calloc(1, sizeof(*im));
    if (!im || (name && !(im->key = strdup(name))) ||
        hostfault_wrap(disk, &im->hb) < 0)
        goto fail;
    im->disk = disk;
    im->index = (unsigned)x->nimgs;
    for (int i = 0; i < 4; i++)
        im->dead[i] = -1;
    exec_host_init(x, im);
    im->named = named;
    if (named)
        snprintf(im->name, sizeof(im->name), "%s", name);
    else if (name)
        snprintf(im->name, sizeof(im->name), "%s", name);
    else
        snprintf(im->name, sizeof(im->name), "#%u", im->index + 1);
    eng_file *f = sched_file(x->s, &im->xh.b, im->name);
    if (!f) {
        host_destroy(im->hb);
        free(im->key);
        free(im);
        exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR, "out of memory");
        return NULL;
    }
    exec_file_init(x, &im->xf, f);
    x->imgs[x->nimgs++] = im;
    return im;
fail:
    if (im)
        free(im->key);
    free(im);
    host_destroy(disk);
    exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR, "out of memory");
    return NULL;
}

static exec_image *exec_image_named(exec *x, const char *name)
{
    for (size_t i = 0; i < x->nimgs; i++)
        if (x->imgs[i]->named && strcmp(x->imgs[i]->key, name) == 0)
            return x->imgs[i];
    return NULL;
}

/* The image of file path (relative to dir), loaded into memory once. */
static int exec_image_load(exec *x, const char *path, const char *dir,
                           exec_image **out)
{
    char full[4096];
    int n = path[0] == '/' || !dir
                ? snprintf(full, sizeof(full), "%s", path)
                : snprintf(full, sizeof(full), "%s/%s", dir, path);

    if (n < 0 || (size_t)n >= sizeof(full))
        return -ENAMETOOLONG;
    for (size_t i = 0; i < x->nimgs; i++) {
        exec_image *im = x->imgs[i];
        if (im->from_file && strcmp(im->path, full) == 0) {
            *out = im;
            return 0;
        }
    }
    if (x->o.no_files)
        return -EPERM;
    host_backend *disk = hostdisk_create();
    if (!disk)
        return -ENOMEM;
    int r = hostdisk_load(disk, full);
    if (r < 0) {
        host_destroy(disk);
        return r;
    }
    exec_image *im = exec_image_add(x, disk, path, false);
    if (!im)
        return -ENOMEM;
    char *copy = strdup(full);
    im->path = strdup(full);
    im->dir = copy ? strdup(dirname(copy)) : NULL;
    free(copy);
    if (!im->path || !im->dir)
        return -ENOMEM;
    im->from_file = true;
    *out = im;
    return 0;
}

/* ---- engines ------------------------------------------------------------- */

static int exec_open_backing(void *opaque, const char *name, eng_file **out)
{
    exec *x = opaque;
    const char *ov = x->backing_override;
    exec_image *b;

    x->backing_override = NULL; /* only the top image's backing */
    if (ov)
        name = ov;
    b = exec_image_named(x, name);
    if (!b) {
        int r = exec_image_load(x, name, x->open_dir, &b);
        if (r < 0)
            return r;
    }
    if (b->e && !b->ro)
        return -EBUSY; /* open for writing elsewhere in this script */
    b->is_backing = true;
    *out = &b->xf.f;
    return 0;
}

static void exec_close_backing(void *opaque, eng_file *f)
{
    (void)opaque; /* images stay loaded until the run ends */
    (void)f;
}

void exec_image_open_opts(exec *x, eng_open_opts *o)
{
    o->open_backing = exec_open_backing;
    o->close_backing = exec_close_backing;
    o->backing_opaque = x;
}

/* A request of op on im that carries the command's expect_error only when
 * met is given (as for exec_judge; NULL: no expectation). */
static exec_req *exec_engine_req(exec *x, exec_op op, exec_image *im,
                                 const bool *met)
{
    exec_req *q = exec_req_new(x, op, im);

    if (q && !met)
        q->expect_err = 0;
    return q;
}

/* The model learns the size the engine found in the header (shadow.h,
 * "Truncate"): a size no truncate made is a verdict. */
static bool exec_learn_size(exec *x, exec_image *im, const exec_req *q)
{
    eng_info info;
    uint64_t pend[SHADOW_MAX_PENDING_SIZES];

    if (!im->model || !im->e)
        return true;
    eng_get_info(im->e, &info);
    int r = shadow_reopened(im->model, info.virtual_size);
    if (r == 0)
        return true;
    if (r != -ERANGE)
        return exec_fail(x, q, SCRIPT_V_SCRIPT_ERROR,
                         "the shadow model cannot follow the open: %s",
                         strerror(-r));
    unsigned n =
        shadow_pending_sizes(im->model, pend, SHADOW_MAX_PENDING_SIZES);
    exec_fail(x, q, SCRIPT_V_METADATA_CORRUPT,
              "image %s opened with virtual size %" PRIu64 ", which no "
              "truncate made: the size is %" PRIu64 "%s",
              im->name, info.virtual_size, shadow_size(im->model),
              n ? " or that of a truncate that did not complete" : "");
    for (unsigned i = 0; i < n && i < SHADOW_MAX_PENDING_SIZES; i++)
        exec_detail(x, "pending truncate to %" PRIu64 " bytes\n", pend[i]);
    return false;
}

bool exec_open_engine(exec *x, exec_image *im, bool *met)
{
    exec_req *q = exec_engine_req(x, XOP_OPEN, im, met);

    if (!q)
        return false;
    x->open_dir = im->dir ? im->dir : x->o.dir;
    bool ok = exec_req_sync(x, q);
    x->open_dir = NULL;
    x->backing_override = NULL;
    if (!ok)
        return false;
    if (exec_judge(x, q, met))
        return exec_learn_size(x, im, q);
    if (q->err.msg[0])
        exec_detail(x, "engine: %s\n", q->err.msg);
    return false;
}

/* Flush and close im's engine (a flush in the model). */
static bool exec_close_engine(exec *x, exec_image *im, bool *met)
{
    exec_req *q = exec_engine_req(x, XOP_CLOSE, im, met);

    return q && exec_req_sync(x, q) && exec_judge(x, q, met);
}

/* The command's expect_error, when no request failed as it expected. */
static bool exec_expect_met(exec *x, bool met)
{
    if (!x->pending_expect || met)
        return true;
    exec_fail_class(x, 0, x->pending_expect);
    return exec_fail(x, NULL, SCRIPT_V_UNEXPECTED_ERROR,
                     "the command succeeded, expected it to fail with %s",
                     script_errno_name(x->pending_expect));
}

exec_image *exec_need_image(exec *x, const char *what)
{
    if (x->cur && x->cur->e)
        return x->cur;
    exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
              "%s needs an open image (image create or image open first%s)",
              what, x->cur ? "; this one was closed: reopen it" : "");
    return NULL;
}

/* ---- image create / image open ------------------------------------------- */

static unsigned exec_log2(uint64_t v)
{
    unsigned b = 0;
    while ((UINT64_C(1) << b) < v)
        b++;
    return b;
}

/* The backing image of an overlay: drained, flushed, closed, read-only. */
static exec_image *exec_backing_for(exec *x, const char *name)
{
    exec_image *b = exec_image_named(x, name);

    if (!b || !b->model) {
        exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR, "no earlier image named '%s'",
                  name);
        return NULL;
    }
    if (b->e && (!exec_drain(x, "image create: the backing image's requests "
                                "to complete") ||
                 !exec_close_engine(x, b, NULL)))
        return NULL;
    b->live = false;
    return b;
}

static bool exec_create_model(exec *x, exec_image *im, const script_create *cc)
{
    shadow_opts so = {.size = cc->size,
                      .cluster_size = im->cluster_size,
                      .version = im->version};
    if (im->backing) {
        so.backing.kind = SHADOW_BACKING_MODEL;
        so.backing.model = im->backing->model;
        so.backing.length = shadow_size(im->backing->model);
    }
    int r = shadow_create(&so, &im->model);
    if (r < 0)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "the shadow model refuses this image: %s",
                         strerror(-r));
    return true;
}

bool exec_cmd_image_create(exec *x, const script_cmd *c)
{
    const script_create *cc = &c->create;
    exec_image *b = NULL;

    if (x->o.max_image_size && cc->size > x->o.max_image_size)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "image size %" PRIu64 " is over this run's cap of "
                         "%" PRIu64 " bytes",
                         cc->size, x->o.max_image_size);
    if (cc->backing_fmt == SCRIPT_FMT_RAW)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "backing_fmt=raw is not supported by the executor: "
                         "its images are qcow2");
    if (cc->name && exec_image_named(x, cc->name))
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "an image named '%s' exists already", cc->name);
    if (cc->backing && !(b = exec_backing_for(x, cc->backing)))
        return false;
    host_backend *disk = hostdisk_create();
    exec_image *im =
        disk ? exec_image_add(x, disk, cc->name, cc->name != NULL) : NULL;
    if (!im)
        return disk
                   ? false
                   : exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR, "out of memory");
    im->cluster_size = cc->cluster_size ? (uint32_t)cc->cluster_size : 65536;
    im->version = cc->version ? cc->version : 3;
    im->backing = b;
    if (b)
        b->is_backing = true;
    if (!exec_create_model(x, im, cc))
        return false;
    exec_req *q = exec_req_new(x, XOP_CREATE, im);
    if (!q)
        return false;
    im->creating = true; /* until it is open: see exec_open_half_created */
    q->create = (eng_create_opts){
        .size = cc->size,
        .cluster_bits = exec_log2(im->cluster_size),
        .version = im->version,
        .refcount_bits = cc->refcount_bits,
        .backing = b ? b->name : NULL,
        .backing_fmt = cc->backing_fmt == SCRIPT_FMT_QCOW2 ? "qcow2" : NULL,
    };
    if (!exec_req_sync(x, q) || !exec_judge(x, q, NULL)) {
        if (q->err.msg[0])
            exec_detail(x, "engine: %s\n", q->err.msg);
        return false;
    }
    im->creating = false; /* complete and flushed: a fresh image */
    im->live = true;      /* a power loss from here on opens it again */
    if (!exec_open_engine(x, im, NULL))
        return false;
    x->cur = im;
    return true;
}

bool exec_cmd_image_open(exec *x, const script_cmd *c)
{
    exec_image *im;
    bool met = false;
    eng_info info;

    if (x->o.no_files)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "image open: files are not allowed in this run");
    int r = exec_image_load(x, c->open.file, x->o.dir, &im);
    if (r < 0)
        return x->over
                   ? false
                   : exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                               "image open %s: %s", c->open.file, strerror(-r));
    if (im->e || im->is_backing)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "image open %s: the file is %s in this script",
                         c->open.file,
                         im->e ? "open already" : "a backing file");
    if (!im->sticky && exec_sticky_create(&im->sticky) < 0)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR, "out of memory");
    x->backing_override = c->open.backing;
    im->live = true; /* a power loss from here on opens it again */
    if (!exec_open_engine(x, im, &met))
        return false;
    im->live = im->e != NULL;
    if (!im->e)
        return true; /* failed as expected */
    eng_get_info(im->e, &info);
    if (x->o.max_image_size && info.virtual_size > x->o.max_image_size)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "image open %s: its size is over this run's cap",
                         c->open.file);
    x->cur = im;
    return exec_expect_met(x, met);
}

/* The image `image use` names: a created image's name=, or an opened
 * file as the script names it. */
static exec_image *exec_image_used(exec *x, const char *name)
{
    exec_image *im = exec_image_named(x, name);

    for (size_t i = 0; !im && i < x->nimgs; i++)
        if (x->imgs[i]->from_file && strcmp(x->imgs[i]->key, name) == 0)
            im = x->imgs[i];
    return im;
}

bool exec_cmd_image_use(exec *x, const script_cmd *c)
{
    exec_image *im = exec_image_used(x, c->use);

    if (!im)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "image use: no image named '%s' in this run", c->use);
    if (im->abandoned || im->creating)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "image use %s: a power loss cut its creation short "
                         "and the engine refused it",
                         c->use);
    if (!im->e) {
        im->live = true; /* a power loss from here on opens it again */
        if (!exec_open_engine(x, im, NULL))
            return false;
    }
    x->cur = im;
    return true;
}

/* ---- close, reopen, truncate --------------------------------------------- */

bool exec_cmd_close(exec *x, bool reopen)
{
    exec_image *im = x->cur;
    bool met = false;

    if (!im || (!im->e && !reopen))
        return exec_need_image(x, reopen ? "reopen" : "close") != NULL;
    if (!exec_drain(x, reopen ? "reopen: every request in flight to complete"
                              : "close: every request in flight to complete"))
        return false;
    im->live |= reopen; /* a power loss from here on reopens it */
    if (im->e && !exec_close_engine(x, im, &met))
        return false;
    if (!reopen || met) {
        im->live = false;
        return exec_expect_met(x, met);
    }
    bool ok = exec_open_engine(x, im, &met);
    if (ok)
        im->live = im->e != NULL;
    return ok && exec_expect_met(x, met);
}

bool exec_cmd_truncate(exec *x, const script_cmd *c)
{
    exec_image *im = exec_need_image(x, "truncate");
    eng_info info;

    if (!im)
        return false;
    if (x->o.max_image_size && c->size > x->o.max_image_size)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "truncate: %" PRIu64 " bytes is over this run's cap",
                         c->size);
    if (!exec_drain(x, "truncate: every request in flight to complete"))
        return false;
    eng_get_info(im->e, &info);
    exec_req *q = exec_req_new(x, XOP_TRUNCATE, im);
    if (!q)
        return false;
    q->off = c->size;
    int r = im->model
                ? shadow_truncate_begin(im->model, q->id, q->line, c->size)
                : 0;
    if (r == -EINVAL)
        r = 0; /* not whole sectors: the engine must refuse it */
    if (r < 0) {
        exec_req_free(q);
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "the shadow model cannot follow the truncate: %s",
                         strerror(-r));
    }
    if (!exec_req_sync(x, q) || !exec_judge(x, q, NULL) || q->ret < 0)
        return !x->over;
    if (im->model)
        r = shadow_truncate(im->model, q->id, q->line, c->size);
    else if (im->sticky && c->size != info.virtual_size)
        r = exec_sticky_touch(
            im->sticky,
            info.virtual_size < c->size ? info.virtual_size : c->size,
            c->size > info.virtual_size ? c->size - info.virtual_size
                                        : info.virtual_size - c->size);
    if (r < 0)
        return exec_fail(x, q, SCRIPT_V_SCRIPT_ERROR,
                         "the shadow model cannot follow the truncate: %s",
                         strerror(-r));
    return true;
}

/* ---- metadata checks ----------------------------------------------------- */

static bool exec_check_image(exec *x, exec_image *im)
{
    chk_report rep;
    char *text;
    int r = chk_image(im->disk, &rep);

    if (r == 0 && rep.corruptions == 0)
        return true;
    if (r < 0)
        exec_fail(x, NULL, SCRIPT_V_METADATA_CORRUPT,
                  "image %s: the metadata checker could not finish: %s",
                  im->name, strerror(-r));
    else
        exec_fail(x, NULL, SCRIPT_V_METADATA_CORRUPT,
                  "image %s: the metadata checker found %" PRIu64
                  " corruption%s",
                  im->name, rep.corruptions, rep.corruptions == 1 ? "" : "s");
    text = malloc(4096);
    if (text) {
        chk_format(&rep, text, 4096);
        exec_detail(x, "%s", text);
        free(text);
    }
    return false;
}

bool exec_cmd_check(exec *x)
{
    exec_image *im = exec_need_image(x, "check");

    if (!im || !exec_drain(x, "check: every request in flight to complete"))
        return false;
    exec_req *q = exec_req_new(x, XOP_FLUSH, im);
    if (!q)
        return false;
    return exec_req_sync(x, q) && exec_judge(x, q, NULL) &&
           exec_check_image(x, im);
}

/* Lift every fault: the end of the trace is the harness's, not the
 * script's. */
static void exec_lift_faults(exec *x)
{
    fault_rules_clear(x->ev_rules);
    for (size_t i = 0; i < x->nimgs; i++) {
        fault_rules_clear(hostfault_rules(x->imgs[i]->hb));
        hostfault_set_limit(x->imgs[i]->hb, 0);
    }
}

void exec_images_finish(exec *x)
{
    exec_lift_faults(x);
    x->werror_stop = false;
    for (size_t i = 0; i < x->nimgs; i++)
        if (x->imgs[i]->e && !exec_close_engine(x, x->imgs[i], NULL))
            return;
    for (size_t i = 0; i < x->nimgs; i++)
        if (!x->imgs[i]->abandoned && !exec_check_image(x, x->imgs[i]))
            return;
}

/* ---- host limits --------------------------------------------------------- */

bool exec_cmd_host(exec *x, const script_cmd *c)
{
    if (!x->cur)
        return exec_fail(x, NULL, SCRIPT_V_SCRIPT_ERROR,
                         "%s needs an image (image create or image open "
                         "first)",
                         script_kind_name(c->kind));
    if (c->kind == SCRIPT_HOST_LIMIT)
        hostfault_set_limit(x->cur->hb, c->size);
    else
        hostfault_grow(x->cur->hb, c->size);
    return true;
}

/* ---- hashes and teardown ------------------------------------------------- */

void exec_images_hash(exec *x)
{
    exec_result *r = x->r;

    r->nhashes = 0;
    for (size_t i = 0;
         !x->o.no_hashes && i < x->nimgs && r->nhashes < EXEC_MAX_HASHES; i++) {
        exec_image_hash *h = &r->hashes[r->nhashes++];
        snprintf(h->name, sizeof(h->name), "%s", x->imgs[i]->name);
        h->hash = hostdisk_hash(x->imgs[i]->disk);
        h->size = host_size(x->imgs[i]->disk);
    }
}

void exec_images_free(exec *x)
{
    for (size_t i = 0; i < x->nimgs; i++) {
        eng_destroy(x->imgs[i]->e);
        x->imgs[i]->e = NULL;
    }
    /* overlays before the models they read through */
    for (size_t i = x->nimgs; i-- > 0;) {
        exec_image *im = x->imgs[i];
        shadow_destroy(im->model);
        exec_sticky_destroy(im->sticky);
        host_destroy(im->hb);
        free(im->path);
        free(im->dir);
        free(im->key);
        free(im);
    }
    free(x->imgs);
    x->imgs = NULL;
    x->nimgs = x->capimgs = 0;
}
