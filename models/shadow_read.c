/*
 * shadow_read.c - judging reads against the shadow model.
 *
 * For each sector a read covers: list the legal values (current values,
 * plus values overwritten since the read began), expand each into concrete
 * values (piece lists of datagen sources only: symbolic backing pieces are
 * replaced by every value the backing file may hold there, recursively
 * down a chain, with zeroes past the backing file's end), and compare the
 * XXH3-64 of the bytes read with the hash of each concrete value's bytes.
 *
 * A sector no concrete value explains ends the check with a verdict naming
 * the closest value (the one whose first differing byte is latest), the
 * provenance of the expected bytes and a hex window. A sector explained
 * while several values were legal and no request modifies it collapses to
 * the values that explain it (sticky observation, shadow.h); when what
 * remains is "the backing file's bytes", the backing model collapses too.
 *
 * Scratch lists (legal values, concrete values, their pieces) live in the
 * model judging the read and are reused from sector to sector.
 */
#include "shadow_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include <xxhash.h>

/* ---- concrete values under construction --------------------------------- */

static void sc_reset(shadow *o)
{
    o->sc.npc = o->sc.ncc = o->sc.nlg = 0;
}

static void sc_open(shadow *o)
{
    o->sc.open = (uint32_t)o->sc.npc;
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
        sh_piece_same(&sc->pc[sc->npc - 1], p)) {
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

    if (sc->ncc >= SHADOW_MAX_CANDS)
        return -E2BIG;
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

/* Bytes of sector x that model m's backing file holds: [0, return). */
static unsigned sh_backing_limit(const shadow *m, uint64_t x)
{
    uint64_t limit = m->blength, base = x * SH_SECTOR;

    if (m->bkind == SHADOW_BACKING_NONE)
        return 0;
    if (m->bkind == SHADOW_BACKING_MODEL && m->bmodel->size < limit)
        limit = m->bmodel->size;
    if (base >= limit)
        return 0;
    return limit - base >= SH_SECTOR ? SH_SECTOR : (unsigned)(limit - base);
}

/* The one concrete value of a RANGES backing file (or of no data at all). */
static int sh_ranges_alt(shadow *o, const shadow *m, uint64_t x, unsigned lim,
                         unsigned depth, uint32_t legal)
{
    uint64_t base = x * SH_SECTOR;
    sh_piece zero = sh_zero_piece(depth);
    size_t lo = 0, hi = m->nranges;
    unsigned pos = 0;
    int r = 0;

    while (lo < hi) { /* the first range ending after base */
        size_t mid = lo + (hi - lo) / 2;
        if (m->ranges[mid].off + m->ranges[mid].len <= base)
            lo = mid + 1;
        else
            hi = mid;
    }
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

/* ---- legal values ------------------------------------------------------- */

static int sh_legal_add(shadow *o, sh_val *v, bool current, bool in_flight)
{
    sh_scratch *sc = &o->sc;

    for (size_t i = 0; i < sc->nlg; i++) {
        if (sh_val_eq(sc->lg[i].v, v)) {
            sc->lg[i].in_flight &= in_flight;
            return 0;
        }
    }
    int r = sh_reserve(o, (void **)&sc->lg, &sc->caplg, sc->nlg + 1,
                       sizeof(*sc->lg));
    if (r < 0)
        return r;
    sh_legal *l = &sc->lg[sc->nlg++];
    l->v = v;
    l->current = current;
    l->earlier = !current;
    l->in_flight = in_flight;
    l->match = false;
    return 0;
}

/* Legal values of a sector whose set is cs, for a read begun at `since`. */
static int sh_legal_build(shadow *s, const sh_cset *cs, uint64_t since)
{
    int r = 0;

    for (uint32_t i = 0; i < cs->ncur && r == 0; i++)
        r = sh_legal_add(s, cs->cur[i].v, true, cs->cur[i].mask != 0);
    for (uint32_t i = 0; i < cs->npast && r == 0; i++)
        if (cs->past[i].removed > since)
            r = sh_legal_add(s, cs->past[i].v, false, false);
    return r;
}

/* ---- bytes and hashes --------------------------------------------------- */

static void sh_render(const shadow *s, const sh_conc *c, uint64_t x,
                      uint8_t out[SH_SECTOR])
{
    for (uint32_t k = 0; k < c->n; k++) {
        const sh_piece *p = &s->sc.pc[c->first + k];
        datagen_fill(&p->src, x * SH_SECTOR + p->start, out + p->start,
                     p->end - p->start);
    }
}

static uint64_t sh_conc_hash(shadow *s, const sh_conc *c, uint64_t x,
                             unsigned a, unsigned b)
{
    const sh_piece *p = &s->sc.pc[c->first];
    uint8_t buf[SH_SECTOR];

    if (c->n == 1 && a == 0 && b == SH_SECTOR &&
        p->src.kind != DATAGEN_SEEDED) { /* the same bytes at any offset */
        unsigned pat = p->src.kind == DATAGEN_PATTERN ? p->src.pattern : 0;
        if (!(s->phash_ok[pat / 64] >> (pat % 64) & 1)) {
            s->phash[pat] = datagen_sector_hash(&p->src, 0);
            s->phash_ok[pat / 64] |= 1ull << (pat % 64);
        }
        return s->phash[pat];
    }
    sh_render(s, c, x, buf);
    return XXH3_64bits(buf + a, b - a);
}

/* ---- verdicts ----------------------------------------------------------- */

static unsigned sh_first_diff(const shadow *s, const sh_conc *c, uint64_t x,
                              unsigned a, unsigned b, const uint8_t *actual,
                              uint8_t out[SH_SECTOR])
{
    sh_render(s, c, x, out);
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

static void sh_verdict_fill(shadow *s, uint64_t x, unsigned a, unsigned b,
                            const uint8_t *actual, shadow_verdict *v)
{
    uint8_t buf[SH_SECTOR];
    unsigned best_at = 0;
    size_t best = 0;

    memset(v, 0, sizeof(*v));
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
}

/* ---- judging one sector ------------------------------------------------- */

static int sh_judge_sector(shadow *s, uint64_t x, unsigned a, unsigned b,
                           const uint8_t *actual, uint64_t since,
                           shadow_verdict *v);

/*
 * Collapse model s's sector x to what the read saw (sticky observation), for
 * a read begun at `since`. Only when the sector's values stood still for the
 * whole read: if a request modifies it now, or changed it while the read was
 * in flight, the read may have seen a moment that is already past, and what
 * it saw says nothing about the sector's value now.
 */
static int sh_collapse(shadow *s, uint64_t x, unsigned a, unsigned b,
                       const uint8_t *actual, uint64_t since)
{
    sh_cset *cs = s->ext[sh_map_find(s, x)].cs, *ncs;
    bool keep[SHADOW_MAX_CANDS], any = false, all = true;
    int r;

    if (cs->touched > since)
        return 0; /* changed while the read was in flight */
    for (uint32_t i = 0; i < cs->ncur; i++)
        if (cs->cur[i].mask)
            return 0; /* a request is still modifying it */
    for (uint32_t i = 0; i < cs->ncur; i++) {
        keep[i] = false;
        for (size_t l = 0; l < s->sc.nlg; l++)
            if (sh_val_eq(s->sc.lg[l].v, cs->cur[i].v))
                keep[i] = s->sc.lg[l].match;
        any |= keep[i];
        all &= keep[i];
    }
    if (any && !all) {
        if ((r = sh_map_split(s, x)) < 0 || (r = sh_map_split(s, x + 1)) < 0)
            return r;
        size_t i = sh_map_find(s, x);
        if ((r = sh_cset_keep(s, s->ext[i].cs, keep, &ncs)) < 0)
            return r;
        sh_cset_unref(s, s->ext[i].cs);
        s->ext[i].cs = ncs;
        sh_map_coalesce(s, x, x + 1); /* may merge ncs into a neighbour */
        cs = s->ext[sh_map_find(s, x)].cs;
    }
    const sh_val *only = cs->cur[0].v;
    if (cs->ncur == 1 && only->n == 1 && only->p[0].backing &&
        s->bkind == SHADOW_BACKING_MODEL &&
        sh_backing_limit(s, x) == SH_SECTOR) {
        shadow_verdict ignored; /* explained above, so explained there */
        r = sh_judge_sector(s->bmodel, x, a, b, actual, s->bmodel->now,
                            &ignored);
        return r < 0 ? r : 0;
    }
    return 0;
}

/* Judge bytes [a, b) of sector x (actual holds them). 1: explained; 0: not,
 * v says why; <0: could not judge. */
static int sh_judge_sector(shadow *s, uint64_t x, unsigned a, unsigned b,
                           const uint8_t *actual, uint64_t since,
                           shadow_verdict *v)
{
    const sh_cset *cs = s->ext[sh_map_find(s, x)].cs;
    uint64_t h = XXH3_64bits(actual, b - a);
    bool any = false;
    int r;

    sc_reset(s);
    if ((r = sh_legal_build(s, cs, since)) < 0)
        return r;
    for (size_t l = 0; l < s->sc.nlg; l++)
        if ((r = sh_expand(s, s, x, s->sc.lg[l].v, 0, (uint32_t)l)) < 0)
            return r;
    for (size_t c = 0; c < s->sc.ncc; c++) {
        sh_conc *cc = &s->sc.cc[c];
        cc->match = sh_conc_hash(s, cc, x, a, b) == h;
        s->sc.lg[cc->legal].match |= cc->match;
        any |= cc->match;
    }
    if (!any) {
        sh_verdict_fill(s, x, a, b, actual, v);
        return 0;
    }
    r = sh_collapse(s, x, a, b, actual, since);
    return r < 0 ? r : 1;
}

/* ---- the public read calls ---------------------------------------------- */

static size_t sh_find_read(const shadow *s, uint64_t req)
{
    size_t i = 0;
    while (i < s->nreads && s->reads[i].req != req)
        i++;
    return i;
}

int shadow_read_begin(shadow *s, uint64_t req, uint64_t off, uint64_t len)
{
    s->now++;
    if (off > s->size || len > s->size - off)
        return -EINVAL;
    if (sh_find_read(s, req) < s->nreads)
        return -EEXIST;
    int r = sh_reserve(s, (void **)&s->reads, &s->capreads, s->nreads + 1,
                       sizeof(*s->reads));
    if (r < 0)
        return r;
    sh_read *rd = &s->reads[s->nreads++];
    rd->req = req;
    rd->off = off;
    rd->len = len;
    rd->since = s->now;
    return 0;
}

int shadow_read_end(shadow *s, uint64_t req)
{
    s->now++;
    size_t i = sh_find_read(s, req);
    if (i == s->nreads)
        return -ENOENT;
    s->reads[i] = s->reads[--s->nreads];
    return 0;
}

int shadow_read_check(shadow *s, uint64_t req, uint64_t off, uint64_t len,
                      const void *buf, shadow_verdict *v)
{
    uint64_t since = ++s->now;
    size_t i = sh_find_read(s, req);
    int r;

    if (off > s->size || len > s->size - off)
        return -EINVAL;
    if (i < s->nreads) {
        if (s->reads[i].off != off || s->reads[i].len != len)
            return -EINVAL;
        since = s->reads[i].since;
        s->reads[i] = s->reads[--s->nreads];
    }
    memset(v, 0, sizeof(*v));
    v->ok = true;
    uint64_t x0 = off / SH_SECTOR, x1 = (off + len + SH_SECTOR - 1) / SH_SECTOR;
    for (uint64_t x = x0; x < x1; x++) {
        uint64_t base = x * SH_SECTOR;
        unsigned a = x == x0 ? (unsigned)(off - base) : 0;
        unsigned b = x + 1 == x1 ? (unsigned)(off + len - base) : SH_SECTOR;
        r = sh_judge_sector(s, x, a, b, (const uint8_t *)buf + (base + a - off),
                            since, v);
        if (r < 0)
            return r;
        if (r == 0) {
            v->ok = false;
            break;
        }
    }
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
