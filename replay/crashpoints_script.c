/*
 * crashpoints_script.c - the variant scripts of the crash-point driver
 * (see crashpoints.h and crashpoints_int.h): the original commands up to
 * the one during which the power goes, the armed `crash after=M` before
 * it, and the read-back after it.
 *
 * The images are followed from the script text alone, as the executor
 * treats them (docs/language.md, "How scripts run"): `image create`,
 * `image open` and `image use` make an image current (an overlay's backing
 * image is closed from then on), `close` closes it, `reopen` opens it, and
 * a power loss reopens every live image, one whose `close` or `reopen` it
 * cut short included. An image whose `image create` the power cuts short
 * is not current afterwards and is not read back (the executor tries to
 * open it and judges it itself). Unnamed images are named in the variant
 * (`image create name=cpN ...`, N its number, or the next free one), so
 * that `image use` can name every image.
 *
 * The read-back: for every image in creation order, the ranges that
 * write, aio_write, write -z and discard commands made on it (not those
 * with an expect_error: they may be refused) are merged, rounded out to
 * whole clusters (so copy-on-write neighbours are read too), clipped to
 * its size (the smaller of the old and the new one after a truncate that
 * was cut short or failed), and read in chunks of at most
 * CRASHPT_READ_CHUNK bytes after `image use NAME` (which opens a closed
 * image again, a backing image read-only) and `host limit 0` when a limit
 * was set on it; then `check`. No read-back when an `inject` rule may still
 * fail the reads.
 *
 * The end-of-trace close (point command CRASHPT_END) is written out as
 * commands: the whole script, the arm, then `image use NAME` and `close`
 * for every image open at the end, in creation order, as the executor's
 * end does; then the read-back. It can be written so only when the end
 * would do nothing else: no `inject` rule (the end lifts them) and no
 * breakpoint left armed (the end disarms them): crashpt_end_ok.
 *
 * The script's own `crash after=` (the last one that fired in the
 * driver's counting run) is followed too: a command it cut short before
 * the driver's point is treated as cut (see crashpt_variant). Its earlier
 * ones, and ones the driver's arm replaces, are not (such variants may
 * misfire: crashpoints.h).
 *
 * Invariant: every command a variant holds is a copy of the original's
 * (strings borrowed, but for assigned names, which live in the variant's
 * arena) or one this file makes, so printing a variant gives a script
 * that parses back to it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crashpoints_int.h"
#include "eng_mutant.h"

/* ---- following the images through the script ------------------------- */

typedef struct track_range {
    uint64_t off, end;
} track_range;

typedef struct track_img {
    const char *name; /* how `image use` names it (assigned when unnamed) */
    bool from_file;   /* image open FILE */
    uint64_t size;    /* UINT64_MAX: not known from the text (image open) */
    uint64_t cluster; /* 0: not known */
    bool open;        /* open at this point (a backing image is closed) */
    bool limited;     /* a host limit was set on it */
    bool cut;         /* the power goes inside its image create */
    track_range *r;
    size_t n, cap;
} track_img;

typedef struct track {
    const script *s;
    script *v; /* the variant: assigned names live in its arena */
    track_img *img;
    size_t n, cap;
    size_t curi; /* the current image, when has_cur */
    bool has_cur;
    bool injected; /* an inject rule was given */
} track;

static void track_free(track *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->img[i].r);
    free(t->img);
}

static track_img *track_cur(track *t)
{
    return t->has_cur ? &t->img[t->curi] : NULL;
}

static track_img *track_find(track *t, const char *name, bool from_file)
{
    for (size_t i = 0; name && i < t->n; i++)
        if (t->img[i].from_file == from_file &&
            strcmp(t->img[i].name, name) == 0)
            return &t->img[i];
    return NULL;
}

/* Room for one more element of size elem in *v (n used of *cap). */
static int track_grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 16;
    void *p = realloc(*v, c * elem);
    if (!p)
        return -ENOMEM;
    *v = p;
    *cap = c;
    return 0;
}

/* Whether name is taken: by an image create or image open of the script,
 * or by a name assigned already. */
static bool track_name_taken(const track *t, const char *name)
{
    for (size_t i = 0; i < t->s->ncmds; i++) {
        const script_cmd *c = &t->s->cmds[i];
        const char *n = c->kind == SCRIPT_IMAGE_CREATE ? c->create.name
                        : c->kind == SCRIPT_IMAGE_OPEN ? c->open.file
                                                       : NULL;
        if (n && strcmp(n, name) == 0)
            return true;
    }
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->img[i].name, name) == 0)
            return true;
    return false;
}

/* A name for the unnamed image that becomes number t->n + 1: "cpN". */
static const char *track_fresh_name(track *t)
{
    char name[32];
    size_t k = t->n + 1;

    do
        snprintf(name, sizeof(name), "cp%zu", k++);
    while (track_name_taken(t, name));
    return script_strdup(t->v, name);
}

/* A new image, current unless the power goes inside its creation. */
static int track_add(track *t, const track_img *im)
{
    if (track_grow((void **)&t->img, &t->cap, t->n, sizeof(*t->img)) < 0)
        return -ENOMEM;
    t->img[t->n] = *im;
    if (!im->cut) {
        t->curi = t->n;
        t->has_cur = true;
    }
    t->n++;
    return 0;
}

static int track_touch(track_img *im, uint64_t off, uint64_t len)
{
    if (!len)
        return 0;
    if (track_grow((void **)&im->r, &im->cap, im->n, sizeof(*im->r)) < 0)
        return -ENOMEM;
    im->r[im->n++] = (track_range){off, off + len};
    return 0;
}

static int track_image_open(track *t, const script_cmd *c, bool expected)
{
    track_img *im = track_find(t, c->open.file, true);

    if (expected)
        return 0; /* meant to fail: the current image stays */
    if (im) {
        t->curi = (size_t)(im - t->img);
        t->has_cur = true;
        im->open = true;
        return 0;
    }
    track_img n = {.name = c->open.file,
                   .from_file = true,
                   .size = UINT64_MAX,
                   .open = true};
    return track_add(t, &n);
}

static int track_image_create(track *t, const script_cmd *c, bool at_cut)
{
    const script_create *cc = &c->create;
    track_img *b = track_find(t, cc->backing, false);

    if (b)
        b->open = false; /* an overlay's backing image is closed */
    track_img n = {.name = cc->name ? cc->name : track_fresh_name(t),
                   .size = cc->size,
                   .cluster = cc->cluster_size ? cc->cluster_size : 65536,
                   .open = !at_cut,
                   .cut = at_cut};
    return n.name ? track_add(t, &n) : -ENOMEM;
}

static void track_image_use(track *t, const script_cmd *c)
{
    track_img *im = track_find(t, c->use, false);

    if (!im)
        im = track_find(t, c->use, true);
    if (im) {
        t->curi = (size_t)(im - t->img);
        t->has_cur = true;
        im->open = true;
    }
}

/* Follow command i of s; at_cut: the power goes during it. */
static int track_cmd(track *t, size_t i, bool at_cut)
{
    const script_cmd *c = &t->s->cmds[i];
    bool expected = i > 0 && t->s->cmds[i - 1].kind == SCRIPT_EXPECT_ERROR;
    track_img *cur = track_cur(t);

    switch (c->kind) {
    case SCRIPT_IMAGE_CREATE:
        return track_image_create(t, c, at_cut);
    case SCRIPT_IMAGE_OPEN:
        return track_image_open(t, c, expected);
    case SCRIPT_IMAGE_USE:
        track_image_use(t, c);
        return 0;
    case SCRIPT_WRITE:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_DISCARD:
        return cur && !expected ? track_touch(cur, c->io.off, c->io.len) : 0;
    case SCRIPT_TRUNCATE:
        /* cut short or failed: the old size or the new one comes back */
        if (cur && (at_cut || expected))
            cur->size = c->size < cur->size ? c->size : cur->size;
        else if (cur)
            cur->size = c->size;
        return 0;
    case SCRIPT_CLOSE:
        if (cur && !at_cut)
            cur->open = false; /* cut short: the power loss reopens it */
        return 0;
    case SCRIPT_REOPEN:
        if (cur)
            cur->open = at_cut || !expected;
        return 0;
    case SCRIPT_INJECT:
        t->injected = true;
        return 0;
    case SCRIPT_HOST_LIMIT:
        if (cur)
            cur->limited = true;
        return 0;
    default:
        return 0;
    }
}

/* ---- the read-back ------------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
    const track_range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int append_read(script *v, uint64_t off, uint64_t len)
{
    script_cmd *c = script_append(v, SCRIPT_READ);
    if (!c)
        return -ENOMEM;
    c->io.off = off;
    c->io.len = len;
    return 0;
}

/* Reads of [a, b) in chunks that do not cross a CRASHPT_READ_CHUNK
 * boundary. */
static int append_reads(script *v, uint64_t a, uint64_t b)
{
    while (a < b) {
        uint64_t next = (a / CRASHPT_READ_CHUNK + 1) * CRASHPT_READ_CHUNK;
        if (next > b)
            next = b;
        int r = append_read(v, a, next - a);
        if (r < 0)
            return r;
        a = next;
    }
    return 0;
}

/* Round im's ranges out to clusters, clip them to its size, merge them. */
static void readback_ranges(track_img *im)
{
    uint64_t cl = im->cluster ? im->cluster : 1;
    size_t out = 0;

    if (im->n == 0)
        return; /* im->r may be NULL: qsort must not see it */
    for (size_t i = 0; i < im->n; i++) {
        track_range *r = &im->r[i];
        r->off -= r->off % cl;
        if (r->end % cl && r->end <= UINT64_MAX - cl)
            r->end += cl - r->end % cl;
        if (r->end > im->size)
            r->end = im->size;
    }
    qsort(im->r, im->n, sizeof(*im->r), range_cmp);
    for (size_t i = 0; i < im->n; i++) {
        track_range r = im->r[i];
        if (r.off >= r.end)
            continue;
        if (out && r.off <= im->r[out - 1].end) {
            if (r.end > im->r[out - 1].end)
                im->r[out - 1].end = r.end;
        } else {
            im->r[out++] = r;
        }
    }
    im->n = out;
}

/* `image use NAME`, then `host limit 0` when a limit was set on it. */
static int append_use(script *v, const track_img *im)
{
    script_cmd *c = script_append(v, SCRIPT_IMAGE_USE);
    if (!c)
        return -ENOMEM;
    c->use = im->name;
    if (!im->limited)
        return 0;
    if (!(c = script_append(v, SCRIPT_HOST_LIMIT)))
        return -ENOMEM;
    c->size = 0; /* lifts the limit */
    return 0;
}

/* Every image the trace wrote (but one whose creation the power cut
 * short), in creation order: made current (opened again if closed), its
 * written clusters read; then `check`. */
static int append_readback(script *v, track *t)
{
    bool any = false;
    int r = 0;

    if (t->injected)
        return 0;
    for (size_t i = 0; i < t->n && r == 0; i++) {
        track_img *im = &t->img[i];
        if (im->cut)
            continue;
        readback_ranges(im);
        if (im->n == 0)
            continue;
        r = append_use(v, im);
        for (size_t j = 0; j < im->n && r == 0; j++)
            r = append_reads(v, im->r[j].off, im->r[j].end);
        any = true;
    }
    if (r == 0 && any && !script_append(v, SCRIPT_CHECK))
        r = -ENOMEM;
    return r;
}

/* The end of the trace as commands: every open image, in creation order,
 * made current and closed (what the executor's end-of-trace close does). */
static int append_end(script *v, track *t)
{
    int r = 0;

    for (size_t i = 0; i < t->n && r == 0; i++) {
        if (!t->img[i].open)
            continue;
        r = append_use(v, &t->img[i]);
        if (r == 0 && !script_append(v, SCRIPT_CLOSE))
            r = -ENOMEM;
        t->img[i].open = false;
    }
    return r;
}

/* ---- the variant --------------------------------------------------------- */

/* One armed rule with tag fired (wait_break), or every one was disarmed
 * (remove_break): drop them from armed[0..n); the new n. */
static size_t track_disarm(const char **armed, size_t n, const char *tag,
                           bool one)
{
    for (size_t j = n; j-- > 0;) {
        if (strcmp(armed[j], tag) != 0)
            continue;
        armed[j] = armed[--n];
        if (one)
            break;
    }
    return n;
}

bool crashpt_end_ok(const script *s)
{
    const char **armed = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;

    for (size_t i = 0; i < s->ncmds && ok; i++) {
        const script_cmd *c = &s->cmds[i];
        if (c->kind == SCRIPT_INJECT) {
            ok = false; /* the end lifts it; a script cannot */
        } else if (c->kind == SCRIPT_BREAK) {
            ok = track_grow((void **)&armed, &cap, n, sizeof(*armed)) == 0;
            if (ok)
                armed[n++] = c->bp.tag;
        } else if (c->kind == SCRIPT_WAIT_BREAK ||
                   c->kind == SCRIPT_REMOVE_BREAK) {
            n = track_disarm(armed, n, c->bp.tag, c->kind == SCRIPT_WAIT_BREAK);
        }
    }
    free(armed);
    return ok && n == 0;
}

/* A copy of c (strings borrowed), named as the track names its image. */
static int copy_cmd(script *v, const script_cmd *c, const track *t)
{
    script_cmd *d = script_append(v, c->kind);
    if (!d)
        return -ENOMEM;
    *d = *c;
    if (c->kind == SCRIPT_IMAGE_CREATE && !c->create.name)
        d->create.name = t->img[t->n - 1].name;
    return 0;
}

static int append_arm(script *v, uint64_t m, size_t *arm)
{
    script_cmd *cc = script_append(v, SCRIPT_CRASH);
    if (!cc)
        return -ENOMEM;
    cc->crash.after = m;
    *arm = v->ncmds - 1;
    return 0;
}

static int append_mutants(script *v, uint64_t mutants)
{
    for (int b = 0; b < ENG_MUT_COUNT; b++) {
        if (!(mutants & ENG_MUTANT_BIT(b)))
            continue;
        script_cmd *mc = script_append(v, SCRIPT_MUTANT);
        if (!mc)
            return -ENOMEM;
        mc->mutant = b;
    }
    return 0;
}

/* The commands of the variant, with t following them. */
static int variant_cmds(track *t, uint64_t mutants, size_t c, uint64_t m,
                        size_t own_cut, size_t *arm)
{
    const script *s = t->s;
    bool end = c == CRASHPT_END;
    size_t last = end ? s->ncmds : c + 1;
    size_t a = end                                                   ? s->ncmds
               : c > 0 && s->cmds[c - 1].kind == SCRIPT_EXPECT_ERROR ? c - 1
                                                                     : c;
    int r = append_mutants(t->v, mutants);

    for (size_t i = 0; i < last && r == 0; i++) {
        if (i == a)
            r = append_arm(t->v, m, arm);
        if (r == 0)
            r = track_cmd(t, i, i == c || (i == own_cut && own_cut < c));
        if (r == 0)
            r = copy_cmd(t->v, &s->cmds[i], t);
    }
    if (r == 0 && end)
        r = append_arm(t->v, m, arm);
    if (r == 0 && end)
        r = append_end(t->v, t);
    return r;
}

int crashpt_variant(const script *s, uint64_t mutants, size_t c, uint64_t m,
                    size_t own_cut, script **out, size_t *arm)
{
    script *v = script_new(s->name);
    track t = {.s = s, .v = v};
    int r = v ? variant_cmds(&t, mutants, c, m, own_cut, arm) : -ENOMEM;

    if (r == 0)
        r = append_readback(v, &t);
    track_free(&t);
    if (r < 0) {
        script_free(v);
        return r;
    }
    *out = v;
    return 0;
}

/* ---- the reproducer's header --------------------------------------------- */

static int header_line(script *v, const char **lines, size_t *n,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int header_line(script *v, const char **lines, size_t *n,
                       const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    lines[*n] = script_strdup(v, buf);
    return lines[(*n)++] ? 0 : -ENOMEM;
}

int crashpt_variant_header(script *v, const crashpt_failure *f,
                           const char *source, uint64_t n)
{
    const char *lines[6];
    size_t k = 0;
    char drop[48], where[48];

    if (f->random)
        snprintf(drop, sizeof(drop), "drop=random %" PRIu64, f->seed);
    else
        snprintf(drop, sizeof(drop), "drop=all");
    if (f->cmd == CRASHPT_END)
        snprintf(where, sizeof(where), "in the end-of-trace close");
    else
        snprintf(where, sizeof(where), "during line %u", f->line);
    if (header_line(v, lines, &k,
                    " crash point %" PRIu64 " of %" PRIu64 " (%s) of %s:", f->k,
                    n, drop, source ? source : "the trace") < 0 ||
        header_line(
            v, lines, &k,
            " the power goes right after its host write or flush %" PRIu64
            ", %s;",
            f->k, where) < 0 ||
        header_line(v, lines, &k,
                    " then every cluster the trace wrote, on every image, is "
                    "read back and checked.") < 0 ||
        header_line(v, lines, &k,
                    " Found by cowpoke replay --crash-points; the verdict:") <
            0 ||
        header_line(v, lines, &k, " %s: %.400s",
                    script_verdict_name(f->run.verdict), f->run.msg) < 0)
        return -ENOMEM;
    const char **h = script_memdup(v, lines, k * sizeof(*lines));
    if (!h)
        return -ENOMEM;
    v->header = h;
    v->nheader = k;
    v->has_expect = true;
    v->expect = f->run.verdict;
    return 0;
}
