/*
 * crashpoints_script.c - the variant scripts of the crash-point driver
 * (see crashpoints.h and crashpoints_int.h): the original commands up to
 * the one during which the power goes, the armed `crash after=M` before
 * it, and the read-back after it.
 *
 * The read-back is worked out from the script text alone, following what
 * the executor does with the current image (docs/language.md, "How
 * scripts run"): `image create` and `image open` make a new current image
 * (an overlay's backing image is closed from then on), `close` closes it,
 * `reopen` opens it, and a power loss reopens every live image, including
 * one whose `close` or `reopen` it cut short. The ranges that write,
 * aio_write, write -z and discard commands of the current image touched
 * (not those with an expect_error: they may be refused) are merged,
 * rounded out to whole clusters (so copy-on-write neighbours are read
 * too), clipped to the image's size, and read in chunks of at most
 * CRASHPT_READ_CHUNK bytes; then `check`. No read-back when the current
 * image is closed at that point, or when an `inject` rule may still fail
 * the reads.
 *
 * Invariant: every command a variant holds is a copy of the original's
 * (strings borrowed) or one this file makes, so printing a variant gives
 * a script that parses back to it.
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
    const char *name; /* name= of image create, or the file of image open */
    bool from_file;
    uint64_t size;    /* UINT64_MAX: not known from the text (image open) */
    uint64_t cluster; /* 0: not known */
    bool open;
    track_range *r;
    size_t n, cap;
} track_img;

typedef struct track {
    track_img *img;
    size_t n, cap;
    size_t curi; /* the current image, when has_cur */
    bool has_cur;
    bool injected; /* an inject rule was given */
    bool limited;  /* a host limit was set */
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
        if (t->img[i].name && t->img[i].from_file == from_file &&
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

/* A new current image. */
static int track_add(track *t, const track_img *im)
{
    if (track_grow((void **)&t->img, &t->cap, t->n, sizeof(*t->img)) < 0)
        return -ENOMEM;
    t->img[t->n] = *im;
    t->curi = t->n++;
    t->has_cur = true;
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
    track_img n = {.name = c->open.file, .from_file = true,
                   .size = UINT64_MAX, .open = true};
    return track_add(t, &n);
}

static int track_image_create(track *t, const script_cmd *c)
{
    const script_create *cc = &c->create;
    track_img *b = track_find(t, cc->backing, false);

    if (b)
        b->open = false; /* an overlay's backing image is closed */
    track_img n = {.name = cc->name,
                   .size = cc->size,
                   .cluster = cc->cluster_size ? cc->cluster_size : 65536,
                   .open = true};
    return track_add(t, &n);
}

/* Follow command i of s; at_cut: the power goes during it. */
static int track_cmd(track *t, const script *s, size_t i, bool at_cut)
{
    const script_cmd *c = &s->cmds[i];
    bool expected = i > 0 && s->cmds[i - 1].kind == SCRIPT_EXPECT_ERROR;
    track_img *cur = track_cur(t);

    switch (c->kind) {
    case SCRIPT_IMAGE_CREATE:
        return track_image_create(t, c);
    case SCRIPT_IMAGE_OPEN:
        return track_image_open(t, c, expected);
    case SCRIPT_WRITE:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_DISCARD:
        return cur && !expected ? track_touch(cur, c->io.off, c->io.len) : 0;
    case SCRIPT_TRUNCATE:
        if (cur && !expected)
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
        t->limited = true;
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

static int append_readback(script *v, track *t)
{
    track_img *im = track_cur(t);

    if (!im || !im->open || t->injected)
        return 0;
    if (t->limited) {
        script_cmd *c = script_append(v, SCRIPT_HOST_LIMIT);
        if (!c)
            return -ENOMEM;
        c->size = 0; /* lifts the limit */
    }
    readback_ranges(im);
    for (size_t i = 0; i < im->n; i++) {
        int r = append_reads(v, im->r[i].off, im->r[i].end);
        if (r < 0)
            return r;
    }
    return script_append(v, SCRIPT_CHECK) ? 0 : -ENOMEM;
}

/* ---- the variant --------------------------------------------------------- */

bool crashpt_skip_cmd(const script_cmd *c)
{
    return c->kind == SCRIPT_IMAGE_CREATE || c->kind == SCRIPT_IMAGE_OPEN ||
           c->kind == SCRIPT_TRUNCATE;
}

static int copy_cmd(script *v, const script_cmd *c)
{
    script_cmd *d = script_append(v, c->kind);
    if (!d)
        return -ENOMEM;
    *d = *c; /* strings borrowed from the original */
    return 0;
}

static int variant_cmds(script *v, const script *s, uint64_t mutants,
                        size_t c, uint64_t m, size_t *arm)
{
    size_t a = c > 0 && s->cmds[c - 1].kind == SCRIPT_EXPECT_ERROR ? c - 1 : c;
    int r = 0;

    for (int b = 0; b < ENG_MUT_COUNT && r == 0; b++) {
        if (!(mutants & ENG_MUTANT_BIT(b)))
            continue;
        script_cmd *mc = script_append(v, SCRIPT_MUTANT);
        if (!mc)
            return -ENOMEM;
        mc->mutant = b;
    }
    for (size_t i = 0; i < a && r == 0; i++)
        r = copy_cmd(v, &s->cmds[i]);
    script_cmd *cc = r == 0 ? script_append(v, SCRIPT_CRASH) : NULL;
    if (!cc)
        return -ENOMEM;
    cc->crash.after = m;
    *arm = v->ncmds - 1;
    for (size_t i = a; i <= c && r == 0; i++)
        r = copy_cmd(v, &s->cmds[i]);
    return r;
}

int crashpt_variant(const script *s, uint64_t mutants, size_t c, uint64_t m,
                    script **out, size_t *arm)
{
    script *v = script_new(s->name);
    track t = {0};
    int r = v ? 0 : -ENOMEM;

    for (size_t i = 0; i <= c && r == 0; i++)
        r = track_cmd(&t, s, i, i == c);
    if (r == 0)
        r = variant_cmds(v, s, mutants, c, m, arm);
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
    char drop[48];

    if (f->random)
        snprintf(drop, sizeof(drop), "drop=random %" PRIu64, f->seed);
    else
        snprintf(drop, sizeof(drop), "drop=all");
    if (header_line(v, lines, &k,
                    " crash point %" PRIu64 " of %" PRIu64 " (%s) of %s:", f->k,
                    n, drop, source ? source : "the trace") < 0 ||
        header_line(v, lines, &k,
                    " the power goes right after its host write or flush %"
                    PRIu64 ", during line %u;",
                    f->k, f->line) < 0 ||
        header_line(v, lines, &k,
                    " then every cluster the trace wrote is read back and "
                    "checked.") < 0 ||
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
