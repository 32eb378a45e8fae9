/*
 * shadow_verdict.c - the report of a read that no legal value explains, and
 * its text.
 *
 * Judging (shadow_read.c) never materializes the values a sector may hold;
 * only when a sector is not explained does this file expand each legal
 * value into concrete values (piece lists of datagen sources: symbolic
 * backing pieces replaced by every value the backing file may hold there,
 * recursively down a chain, zeroes past the backing file's end), to name
 * the closest one (the one whose first differing byte is latest), the
 * provenance of the expected bytes and a hex window. The expansion stops
 * at SHADOW_MAX_CANDS concrete values (a chain of undetermined sectors
 * multiplies them): the verdict then names the closest of those.
 *
 * Scratch lists (concrete values and their pieces) live in the model
 * judging the read (s->sc) and are reused from sector to sector.
 */
#include "shadow_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* ---- concrete values under construction --------------------------------- */

static void sc_reset(shadow *o)
{
    o->sc.npc = o->sc.ncc = 0;
    o->sc.capped = false;
}

static void sc_open(shadow *o)
{
    o->sc.open = (uint32_t)o->sc.npc;
}

/* Same bytes and same provenance (a concrete value names its sources). */
static bool sc_same(const sh_piece *a, const sh_piece *b)
{
    return sh_piece_same(a, b) && a->origin == b->origin &&
           a->depth == b->depth && a->req == b->req && a->tag == b->tag;
}

/* Append piece p clipped to [a, b) to the value being built. */
static int sc_add(shadow *o, const sh_piece *p, unsigned a, unsigned b)
{
    sh_scratch *sc = &o->sc;
    unsigned lo = p->start > a ? p->start : a;
    unsigned hi = p->end < b ? p->end : b;

    if (lo >= hi)
        return 0;
    if (sc->npc > sc->open && sc->pc[sc->npc - 1].end == lo &&
        sc_same(&sc->pc[sc->npc - 1], p)) {
        sc->pc[sc->npc - 1].end = (uint16_t)hi;
        return 0;
    }
    int r = sh_reserve(o, (void **)&sc->pc, &sc->cappc, sc->npc + 1,
                       sizeof(*sc->pc));
    if (r < 0)
        return r;
    sc->pc[sc->npc] = *p;
    sc->pc[sc->npc].start = (uint16_t)lo;
    sc->pc[sc->npc].end = (uint16_t)hi;
    sc->npc++;
    return 0;
}

static int sc_close(shadow *o, uint32_t legal)
{
    sh_scratch *sc = &o->sc;

    if (sc->ncc >= SHADOW_MAX_CANDS) { /* enough to name the closest */
        sc->npc = sc->open;
        sc->capped = true;
        return 0;
    }
    int r = sh_reserve(o, (void **)&sc->cc, &sc->capcc, sc->ncc + 1,
                       sizeof(*sc->cc));
    if (r < 0)
        return r;
    assert(sc->npc > sc->open && sc->pc[sc->npc - 1].end == SH_SECTOR);
    sc->cc[sc->ncc].first = sc->open;
    sc->cc[sc->ncc].n = (uint32_t)sc->npc - sc->open;
    sc->cc[sc->ncc].legal = legal;
    sc->cc[sc->ncc].match = false;
    sc->ncc++;
    return 0;
}

/* Drop concrete values [from, to) (helpers the later ones were built from). */
static void sc_drop(shadow *o, size_t from, size_t to)
{
    sh_scratch *sc = &o->sc;
    memmove(&sc->cc[from], &sc->cc[to], (sc->ncc - to) * sizeof(*sc->cc));
    sc->ncc -= to - from;
}

static sh_piece sh_zero_piece(unsigned depth)
{
    sh_piece p = {0};
    p.origin = SHADOW_ORIGIN_BACKING_ZERO;
    p.depth = (uint8_t)(depth > 255 ? 255 : depth);
    p.src = datagen_zero();
    p.start = 0;
    p.end = SH_SECTOR;
    return p;
}

/* Append every piece of concrete value c clipped to [a, b). */
static int sc_add_conc(shadow *o, size_t c, unsigned a, unsigned b)
{
    uint32_t first = o->sc.cc[c].first, n = o->sc.cc[c].n;
    int r = 0;

    for (uint32_t k = 0; k < n && r == 0; k++) {
        sh_piece q = o->sc.pc[first + k]; /* a copy: sc_add may move pc */
        r = sc_add(o, &q, a, b);
    }
    return r;
}

/* ---- expansion ---------------------------------------------------------- */

static int sh_expand(shadow *o, const shadow *m, uint64_t x, const sh_val *v,
                     unsigned depth, uint32_t legal);

/* The one concrete value of a RANGES backing file (or of no data at all). */
static int sh_ranges_alt(shadow *o, const shadow *m, uint64_t x, unsigned lim,
                         unsigned depth, uint32_t legal)
{
    uint64_t base = x * SH_SECTOR;
    sh_piece zero = sh_zero_piece(depth);
    size_t lo = sh_range_after(m, base);
    unsigned pos = 0;
    int r = 0;

    sc_open(o);
    for (size_t i = lo; i < m->nranges && r == 0; i++) {
        const shadow_backing_range *rg = &m->ranges[i];
        if (rg->off >= base + lim)
            break;
        sh_piece p = {0};
        p.origin = SHADOW_ORIGIN_BACKING_DATA;
        p.depth = zero.depth;
        p.src = rg->src;
        p.tag = rg->tag;
        p.start = (uint16_t)(rg->off > base ? rg->off - base : 0);
        p.end =
            (uint16_t)(rg->off + rg->len - base < lim ? rg->off + rg->len - base
                                                      : lim);
        if ((r = sc_add(o, &zero, pos, p.start)) == 0)
            r = sc_add(o, &p, p.start, p.end);
        pos = p.end;
    }
    if (r == 0)
        r = sc_add(o, &zero, pos, SH_SECTOR);
    return r ? r : sc_close(o, legal);
}

/* Append the concrete values model m's backing file may hold at sector x. */
static int sh_backing_alts(shadow *o, const shadow *m, uint64_t x,
                           unsigned depth, uint32_t legal)
{
    unsigned lim = sh_backing_limit(m, x);
    int r = 0;

    if (m->bkind != SHADOW_BACKING_MODEL || lim == 0)
        return sh_ranges_alt(o, m, x, lim, depth, legal);
    const shadow *bm = m->bmodel;
    const sh_cset *cs = bm->ext[sh_map_find(bm, x)].cs;
    size_t c0 = o->sc.ncc;
    for (uint32_t i = 0; i < cs->ncur && r == 0; i++) {
        bool seen = false;
        for (uint32_t k = 0; k < i && !seen; k++)
            seen = sh_val_eq(cs->cur[k].v, cs->cur[i].v);
        if (!seen)
            r = sh_expand(o, bm, x, cs->cur[i].v, depth, legal);
    }
    if (r < 0 || lim == SH_SECTOR)
        return r;
    size_t c1 = o->sc.ncc; /* the backing file ends inside this sector */
    sh_piece zero = sh_zero_piece(depth);
    for (size_t c = c0; c < c1 && r == 0; c++) {
        sc_open(o);
        if ((r = sc_add_conc(o, c, 0, lim)) == 0 &&
            (r = sc_add(o, &zero, lim, SH_SECTOR)) == 0)
            r = sc_close(o, legal);
    }
    if (r == 0)
        sc_drop(o, c0, c1);
    return r;
}

/* Append the concrete values of v, a value of model m at sector x. */
static int sh_expand(shadow *o, const shadow *m, uint64_t x, const sh_val *v,
                     unsigned depth, uint32_t legal)
{
    int r = 0;

    if (!v->backed) {
        sc_open(o);
        for (unsigned i = 0; i < v->n && r == 0; i++) {
            sh_piece p = v->p[i];
            p.depth = (uint8_t)(depth > 255 ? 255 : depth);
            r = sc_add(o, &p, p.start, p.end);
        }
        return r ? r : sc_close(o, legal);
    }
    size_t c0 = o->sc.ncc;
    if ((r = sh_backing_alts(o, m, x, depth + 1, legal)) < 0)
        return r;
    size_t c1 = o->sc.ncc;
    for (size_t c = c0; c < c1 && r == 0; c++) {
        sc_open(o);
        for (unsigned i = 0; i < v->n && r == 0; i++) {
            sh_piece p = v->p[i];
            p.depth = (uint8_t)(depth > 255 ? 255 : depth);
            r = p.backing ? sc_add_conc(o, c, p.start, p.end)
                          : sc_add(o, &p, p.start, p.end);
        }
        if (r == 0)
            r = sc_close(o, legal);
    }
    if (r == 0)
        sc_drop(o, c0, c1);
    return r;
}

/* The bytes of concrete value c; a wild piece's bytes are the read's own
 * (actual holds bytes [a, b)), as any bytes are legal there. */
static void sh_render(const shadow *s, const sh_conc *c, uint64_t x,
                      unsigned a, unsigned b, const uint8_t *actual,
                      uint8_t out[SH_SECTOR])
{
    for (uint32_t k = 0; k < c->n; k++) {
        const sh_piece *p = &s->sc.pc[c->first + k];
        datagen_fill(&p->src, x * SH_SECTOR + p->start, out + p->start,
                     p->end - p->start);
        unsigned lo = p->start > a ? p->start : a;
        unsigned hi = p->end < b ? p->end : b;
        if (p->wild && lo < hi)
            memcpy(out + lo, actual + (lo - a), hi - lo);
    }
}

/* ---- verdicts ----------------------------------------------------------- */

static unsigned sh_first_diff(const shadow *s, const sh_conc *c, uint64_t x,
                              unsigned a, unsigned b, const uint8_t *actual,
                              uint8_t out[SH_SECTOR])
{
    sh_render(s, c, x, a, b, actual, out);
    for (unsigned k = a; k < b; k++)
        if (out[k] != actual[k - a])
            return k;
    return b - 1; /* equal bytes, different hash: cannot happen */
}

static void sh_describe(const shadow *s, const sh_conc *c, unsigned at,
                        shadow_cand_info *ci)
{
    const sh_piece *p = &s->sc.pc[c->first];
    for (uint32_t k = 0; k < c->n; k++)
        if (s->sc.pc[c->first + k].start <= at &&
            at < s->sc.pc[c->first + k].end)
            p = &s->sc.pc[c->first + k];
    ci->origin = (shadow_origin)p->origin;
    ci->src = p->src;
    ci->req = p->req;
    ci->tag = p->tag;
    ci->depth = p->depth;
    ci->composite = c->n > 1;
    ci->in_flight = s->sc.lg[c->legal].in_flight;
    ci->earlier = s->sc.lg[c->legal].earlier;
}

int sh_verdict_build(shadow *s, uint64_t x, unsigned a, unsigned b,
                     const uint8_t *actual, shadow_verdict *v)
{
    uint8_t buf[SH_SECTOR];
    unsigned best_at = 0;
    size_t best = 0;
    int r = 0;

    memset(v, 0, sizeof(*v));
    sc_reset(s);
    for (size_t l = 0; l < s->sc.nlg && r == 0; l++)
        r = sh_expand(s, s, x, s->sc.lg[l].v, 0, (uint32_t)l);
    if (r < 0)
        return r;
    if (s->sc.ncc == 0) { /* cannot happen: a legal value always expands */
        v->off = x * SH_SECTOR + a;
        return 0;
    }
    for (size_t c = 0; c < s->sc.ncc; c++) {
        unsigned d = sh_first_diff(s, &s->sc.cc[c], x, a, b, actual, buf);
        if (c == 0 || d > best_at) {
            best = c;
            best_at = d;
        }
    }
    v->off = x * SH_SECTOR + best_at;
    unsigned w0 = best_at & ~(SHADOW_WINDOW - 1u);
    w0 = w0 < a ? a : w0;
    v->window_off = x * SH_SECTOR + w0;
    v->window_len = b - w0 < SHADOW_WINDOW ? b - w0 : SHADOW_WINDOW;
    v->ncands = (unsigned)s->sc.ncc;
    for (size_t k = 0; k < s->sc.ncc && v->nlisted < SHADOW_VERDICT_CANDS;
         k++) {
        size_t c = k == 0 ? best : (k <= best ? k - 1 : k);
        shadow_cand_info *ci = &v->cands[v->nlisted++];
        sh_describe(s, &s->sc.cc[c], best_at, ci);
        ci->first_diff = x * SH_SECTOR +
                         sh_first_diff(s, &s->sc.cc[c], x, a, b, actual, buf);
    }
    sh_first_diff(s, &s->sc.cc[best], x, a, b, actual, buf);
    memcpy(v->expected, buf + w0, v->window_len);
    memcpy(v->actual, actual + (w0 - a), v->window_len);
    return 0;
}

/* ---- formatting --------------------------------------------------------- */

typedef struct sh_out {
    char *buf;
    size_t size, len;
} sh_out;

static void sh_put(sh_out *o, const char *fmt, ...)
{
    va_list ap;
    size_t room = o->len < o->size ? o->size - o->len : 0;

    va_start(ap, fmt);
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void sh_put_cand(sh_out *o, const shadow_cand_info *c)
{
    char src[64];

    datagen_describe(&c->src, src, sizeof(src));
    switch (c->origin) {
    case SHADOW_ORIGIN_REQUEST:
        sh_put(o, "%s written by request %" PRIu64 " (tag %" PRIu64 ")", src,
               c->req, c->tag);
        break;
    case SHADOW_ORIGIN_INITIAL:
        sh_put(o, "zeroes, never written");
        break;
    case SHADOW_ORIGIN_BACKING_DATA:
        sh_put(o, "%s of the backing range tagged %" PRIu64, src, c->tag);
        break;
    default:
        sh_put(o, "zeroes, no backing data here");
        break;
    }
    if (c->depth)
        sh_put(o, " in backing image %u", c->depth);
    sh_put(o, "%s%s%s; first differs at 0x%" PRIx64,
           c->composite ? ", partial sector" : "",
           c->in_flight ? ", still in flight" : "",
           c->earlier ? ", overwritten during the read" : "", c->first_diff);
}

static void sh_put_hex(sh_out *o, const char *what, uint64_t at,
                       const uint8_t *p, unsigned n)
{
    sh_put(o, "  %-8s 0x%08" PRIx64 ":", what, at);
    for (unsigned i = 0; i < n; i++)
        sh_put(o, " %02x", p[i]);
    sh_put(o, "\n");
}

int shadow_verdict_format(const shadow_verdict *v, char *buf, size_t size)
{
    sh_out o = {buf, size, 0};

    if (size)
        buf[0] = '\0';
    if (v->ok) {
        sh_put(&o, "ok\n");
        return (int)o.len;
    }
    sh_put(&o, "data mismatch at offset 0x%" PRIx64 ": %u legal value%s\n",
           v->off, v->ncands, v->ncands == 1 ? "" : "s");
    for (unsigned i = 0; i < v->nlisted; i++) {
        sh_put(&o, "  %s ", i == 0 ? "expected" : "or      ");
        sh_put_cand(&o, &v->cands[i]);
        sh_put(&o, "\n");
    }
    if (v->ncands > v->nlisted)
        sh_put(&o, "  (and %u more)\n", v->ncands - v->nlisted);
    sh_put_hex(&o, "actual", v->window_off, v->actual, v->window_len);
    sh_put_hex(&o, "expected", v->window_off, v->expected, v->window_len);
    return (int)o.len;
}
