/*
 * shrink_ddmin.c - delta debugging over commands (Zeller's ddmin, reduced
 * to complements): remove chunks of the script, halving the chunk size
 * while nothing can go, down to single units, until no single unit can be
 * removed (1-minimal).
 *
 * The unit of removal is dependency-closed, so candidates stay meaningful:
 *   - the commands of one breakpoint tag (break, wait_break, resume,
 *     remove_break), with the aio requests issued between its `break` and
 *     its `wait_break` (the request the breakpoint is there to catch);
 *   - an expect_error with the command it is about;
 * and removing a unit removes what depends on it: an overlay's `image
 * create` goes with its base's. Everything else (a current image for each
 * command, tags armed before use) is left to the static check, which
 * rejects a bad candidate without running it.
 *
 * Invariant: units are numbered by their first command, so the chunks, and
 * with them the whole search, depend only on the script.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shrink_int.h"

typedef struct ddmin_units {
    size_t *of;    /* command -> unit */
    size_t nunits;
    bool *gone;    /* unit -> removed in this candidate */
    size_t *uf;    /* union-find parents over commands */
} ddmin_units;

static size_t uf_find(size_t *uf, size_t i)
{
    while (uf[i] != i) {
        uf[i] = uf[uf[i]];
        i = uf[i];
    }
    return i;
}

static void uf_union(size_t *uf, size_t a, size_t b)
{
    a = uf_find(uf, a);
    b = uf_find(uf, b);
    if (a < b)
        uf[b] = a;
    else if (b < a)
        uf[a] = b;
}

static bool ddmin_is_bp(const script_cmd *x)
{
    return x->kind == SCRIPT_BREAK || x->kind == SCRIPT_WAIT_BREAK ||
           x->kind == SCRIPT_RESUME || x->kind == SCRIPT_REMOVE_BREAK;
}

/* The aio requests between `break * tag` (the last one before w) and the
 * `wait_break tag` at w join the tag's unit. */
static void ddmin_join_caught(const script_cmd *cmds, size_t w, size_t *uf)
{
    const char *tag = cmds[w].bp.tag;

    for (size_t b = w; b-- > 0;) {
        if (cmds[b].kind == SCRIPT_BREAK && strcmp(cmds[b].bp.tag, tag) == 0) {
            for (size_t i = b + 1; i < w; i++)
                if (cmds[i].kind == SCRIPT_AIO_WRITE ||
                    cmds[i].kind == SCRIPT_AIO_READ)
                    uf_union(uf, b, i);
            return;
        }
    }
}

static void ddmin_link(const script_cmd *cmds, size_t n, size_t *uf)
{
    for (size_t i = 0; i < n; i++)
        uf[i] = i;
    for (size_t i = 0; i < n; i++) {
        const script_cmd *x = &cmds[i];
        if (x->kind == SCRIPT_EXPECT_ERROR && i + 1 < n)
            uf_union(uf, i, i + 1);
        if (!ddmin_is_bp(x))
            continue;
        for (size_t j = 0; j < i; j++)
            if (ddmin_is_bp(&cmds[j]) && strcmp(cmds[j].bp.tag, x->bp.tag) == 0)
                uf_union(uf, j, i);
        if (x->kind == SCRIPT_WAIT_BREAK)
            ddmin_join_caught(cmds, i, uf);
    }
}

static int ddmin_units_make(const script_cmd *cmds, size_t n, ddmin_units *u)
{
    u->of = malloc(n * sizeof(*u->of));
    u->uf = malloc(n * sizeof(*u->uf));
    u->gone = malloc(n * sizeof(*u->gone));
    if (!u->of || !u->uf || !u->gone)
        return -1;
    ddmin_link(cmds, n, u->uf);
    u->nunits = 0;
    for (size_t i = 0; i < n; i++) {
        size_t root = uf_find(u->uf, i);
        u->of[i] = root == i ? u->nunits++ : u->of[root];
    }
    return 0;
}

static void ddmin_units_free(ddmin_units *u)
{
    free(u->of);
    free(u->uf);
    free(u->gone);
}

/* The latest `image create name=NAME` before i, or SIZE_MAX. */
static size_t ddmin_creator(const script_cmd *cmds, size_t i, const char *name)
{
    while (i-- > 0)
        if (cmds[i].kind == SCRIPT_IMAGE_CREATE && cmds[i].create.name &&
            strcmp(cmds[i].create.name, name) == 0)
            return i;
    return SIZE_MAX;
}

/* Close the removal over dependencies: an overlay goes with its base. */
static void ddmin_close(const script_cmd *cmds, size_t n, ddmin_units *u)
{
    bool more = true;

    while (more) {
        more = false;
        for (size_t i = 0; i < n; i++) {
            if (u->gone[u->of[i]] || cmds[i].kind != SCRIPT_IMAGE_CREATE ||
                !cmds[i].create.backing)
                continue;
            size_t b = ddmin_creator(cmds, i, cmds[i].create.backing);
            if (b != SIZE_MAX && u->gone[u->of[b]]) {
                u->gone[u->of[i]] = true;
                more = true;
            }
        }
    }
}

/* Build the candidate without the gone units; its length. */
static size_t ddmin_build(shrink_ctx *c, const ddmin_units *u, script_cmd *out)
{
    size_t k = 0;

    for (size_t i = 0; i < c->n; i++)
        if (!u->gone[u->of[i]])
            out[k++] = c->cur[i];
    return k;
}

/* Try removing units [lo, hi). True when accepted. */
static bool ddmin_try_range(shrink_ctx *c, ddmin_units *u, size_t lo,
                            size_t hi)
{
    script_cmd *cand = shrink_cand(c, c->n);

    if (!cand)
        return false;
    for (size_t k = 0; k < u->nunits; k++)
        u->gone[k] = k >= lo && k < hi;
    ddmin_close(c->cur, c->n, u);
    size_t m = ddmin_build(c, u, cand);
    if (m == c->n || !shrink_try(c, cand, m))
        return false;
    shrink_accept(c, cand, m);
    shrink_note(c, "ddmin");
    return true;
}

/* Commands after the one where the verdict is found rarely matter: try
 * cutting them all first. */
static bool ddmin_cut_tail(shrink_ctx *c)
{
    if (c->fault >= c->n || c->fault + 1 == c->n)
        return false;
    script_cmd *cand = shrink_cand(c, c->n);
    if (!cand)
        return false;
    memcpy(cand, c->cur, (c->fault + 1) * sizeof(*cand));
    if (!shrink_try(c, cand, c->fault + 1))
        return false;
    shrink_accept(c, cand, c->fault + 1);
    shrink_note(c, "ddmin");
    return true;
}

/* One round at granularity *gran: true when a chunk went. */
static bool ddmin_round(shrink_ctx *c, size_t *gran, bool *done)
{
    ddmin_units u = {0};
    bool hit = false;

    *done = true;
    if (ddmin_units_make(c->cur, c->n, &u) < 0) {
        c->err = -ENOMEM;
        c->stop = true;
        ddmin_units_free(&u);
        return false;
    }
    size_t nu = u.nunits;
    if (nu >= 2) {
        size_t g = *gran < nu ? *gran : nu;
        for (size_t k = 0; k < g && !hit && !c->stop; k++)
            hit = ddmin_try_range(c, &u, k * nu / g, (k + 1) * nu / g);
        if (hit)
            *gran = g > 2 ? g - 1 : 2;
        else if (g < nu)
            *gran = 2 * g < nu ? 2 * g : nu;
        *done = !hit && g >= nu;
    }
    ddmin_units_free(&u);
    return hit;
}

bool shrink_ddmin(shrink_ctx *c)
{
    size_t gran = 2;
    bool changed = ddmin_cut_tail(c), done = false;

    while (!done && !c->stop)
        changed |= ddmin_round(c, &gran, &done);
    return changed;
}
