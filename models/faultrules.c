/*
 * faultrules.c - the error-injection rule set (the rules are in
 * faultrules.h).
 *
 * Representation: a fixed array of FAULT_RULES_MAX slots, the first
 * `count` in insertion order. Removal shifts the later slots down, so
 * order is the array order and a check is one pass over it.
 *
 * Invariants (between calls):
 *   F1 count <= FAULT_RULES_MAX.
 *   F2 every held rule passed fr_valid, with n == 0 for ONCE/ALWAYS and
 *      has_range false unless the target is READ, WRITE or TRUNCATE.
 *   F3 ids of held rules are distinct, increase along the array, and are
 *      all below next_id.
 *   F4 fired + shadowed <= matches for every rule.
 *   F5 last_fired is -1 or the id of a held rule.
 * Ownership: the set owns its one allocation (itself).
 */
#include "faultrules.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fr_slot {
    int id;
    fault_rule rule;
    fault_rule_stats st;
} fr_slot;

struct fault_rules {
    size_t count;
    int next_id;
    int last_fired;
    fr_slot slot[FAULT_RULES_MAX];
};

fault_rules *fault_rules_create(void)
{
    fault_rules *r = calloc(1, sizeof(*r));

    if (r)
        r->last_fired = -1;
    return r;
}

void fault_rules_destroy(fault_rules *r)
{
    free(r);
}

static bool fr_ranged(fault_target t)
{
    return t == FAULT_READ || t == FAULT_WRITE || t == FAULT_TRUNCATE;
}

static bool fr_counted(fault_mode m)
{
    return m == FAULT_NTH || m == FAULT_AFTER;
}

static bool fr_valid(const fault_rule *u)
{
    if ((unsigned)u->target > FAULT_EVENT || (unsigned)u->mode > FAULT_AFTER)
        return false;
    if (u->err <= 0 || u->err > FAULT_ERRNO_MAX)
        return false;
    if (fr_counted(u->mode) && u->n == 0)
        return false;
    if (u->has_range && fr_ranged(u->target))
        return u->len > 0 && u->len <= UINT64_MAX - u->off;
    return true;
}

/* The slot holding id, or NULL. Ids increase along the array (F3). */
static const fr_slot *fr_find(const fault_rules *r, int id)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->slot[i].id == id)
            return &r->slot[i];
    return NULL;
}

int fault_rules_add(fault_rules *r, const fault_rule *rule)
{
    if (!fr_valid(rule))
        return -EINVAL;
    if (r->count == FAULT_RULES_MAX || r->next_id == INT_MAX)
        return -E2BIG;
    fr_slot *s = &r->slot[r->count++];
    memset(s, 0, sizeof(*s));
    s->id = r->next_id++;
    s->rule = *rule;
    if (!fr_counted(rule->mode))
        s->rule.n = 0;
    if (!fr_ranged(rule->target) || !rule->has_range) {
        s->rule.has_range = false;
        s->rule.off = s->rule.len = 0;
    }
    if (rule->target != FAULT_EVENT)
        s->rule.event = 0;
    return s->id;
}

int fault_rules_remove(fault_rules *r, int id)
{
    const fr_slot *s = fr_find(r, id);

    if (!s)
        return -ENOENT;
    size_t i = (size_t)(s - r->slot);
    memmove(&r->slot[i], &r->slot[i + 1],
            (r->count - i - 1) * sizeof(r->slot[0]));
    r->count--;
    if (r->last_fired == id)
        r->last_fired = -1;
    return 0;
}

void fault_rules_clear(fault_rules *r)
{
    r->count = 0;
    r->last_fired = -1;
}

size_t fault_rules_count(const fault_rules *r)
{
    return r->count;
}

int fault_rules_id_at(const fault_rules *r, size_t i)
{
    assert(i < r->count);
    return r->slot[i].id;
}

int fault_rules_get(const fault_rules *r, int id, fault_rule *rule,
                    fault_rule_stats *stats)
{
    const fr_slot *s = fr_find(r, id);

    if (!s)
        return -ENOENT;
    if (rule)
        *rule = s->rule;
    if (stats)
        *stats = s->st;
    return 0;
}

/* True when [a, a + alen) and [b, b + blen) share a byte; b + blen must
 * not overflow, a + alen may (it is clipped at UINT64_MAX, which changes
 * nothing since b + blen <= UINT64_MAX). */
static bool fr_intersects(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    if (alen == 0 || blen == 0)
        return false;
    return a <= b ? b - a < alen : a - b < blen;
}

static bool fr_matches(const fault_rule *u, fault_target target, int event,
                       uint64_t off, uint64_t len)
{
    if (u->target != target)
        return false;
    if (target == FAULT_EVENT)
        return u->event == event;
    if (u->has_range)
        return fr_intersects(off, len, u->off, u->len);
    return true;
}

/* Rule 3 of faultrules.h: is a rule whose count just became c due? */
static bool fr_due(const fault_rule *u, uint64_t c)
{
    switch (u->mode) {
    case FAULT_ONCE:
        return c == 1;
    case FAULT_NTH:
        return c == u->n;
    case FAULT_ALWAYS:
        return true;
    case FAULT_AFTER:
        return c >= u->n;
    }
    assert(!"unknown fault_mode");
    return false;
}

int fault_rules_check(fault_rules *r, fault_target target, int event,
                      uint64_t off, uint64_t len)
{
    int rc = 0;

    for (size_t i = 0; i < r->count; i++) {
        fr_slot *s = &r->slot[i];
        if (!fr_matches(&s->rule, target, event, off, len))
            continue;
        s->st.matches++;
        if (!fr_due(&s->rule, s->st.matches))
            continue;
        if (rc) {
            s->st.shadowed++;
            continue;
        }
        rc = -s->rule.err;
        if (s->st.fired++ == 0)
            s->st.first_off = off;
        s->st.last_off = off;
        r->last_fired = s->id;
    }
    return rc;
}

int fault_rules_last_fired(const fault_rules *r)
{
    return r->last_fired;
}

/* ---- describe -------------------------------------------------------- */

/* An snprintf-style appender: writes what fits, counts what is needed. */
typedef struct fr_out {
    char *buf;
    size_t size;
    size_t need;
} fr_out;

static void fr_put(fr_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fr_put(fr_out *o, const char *fmt, ...)
{
    size_t at = o->need < o->size ? o->need : o->size;
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(o->buf ? o->buf + at : NULL, o->size - at, fmt, ap);
    va_end(ap);
    assert(n >= 0);
    o->need += (size_t)n;
}

static void fr_put_target(fr_out *o, const fault_rule *u,
                          fault_event_name_fn name, void *opaque)
{
    static const char *const words[] = {"read", "write", "flush", "truncate"};
    const char *ev = NULL;

    if (u->target != FAULT_EVENT) {
        fr_put(o, "%s", words[u->target]);
        return;
    }
    if (name)
        ev = name(opaque, u->event);
    if (ev)
        fr_put(o, "%s", ev);
    else
        fr_put(o, "event#%d", u->event);
}

static void fr_put_rule(fr_out *o, const fault_rule *u,
                        fault_event_name_fn name, void *opaque)
{
    const char *en = strerrorname_np(u->err);

    fr_put(o, "inject ");
    fr_put_target(o, u, name, opaque);
    if (en)
        fr_put(o, " errno=%s", en);
    else
        fr_put(o, " errno=%d", u->err);
    if (u->mode == FAULT_ONCE || u->mode == FAULT_NTH)
        fr_put(o, " once");
    if (fr_counted(u->mode))
        fr_put(o, " nth=%" PRIu64, u->n);
    if (u->has_range)
        fr_put(o, " off=0x%" PRIx64 " len=0x%" PRIx64, u->off, u->len);
}

static void fr_put_times(fr_out *o, const char *what, uint64_t n)
{
    if (n == 1)
        fr_put(o, "%s once", what);
    else
        fr_put(o, "%s %" PRIu64 " times", what, n);
}

static void fr_put_stats(fr_out *o, const fault_rule *u,
                         const fault_rule_stats *st)
{
    bool at = fr_ranged(u->target);

    fr_put(o, " # %" PRIu64 " match%s, ", st->matches,
           st->matches == 1 ? "" : "es");
    if (st->fired == 0)
        fr_put(o, "never fired");
    else
        fr_put_times(o, "fired", st->fired);
    if (at && st->fired == 1)
        fr_put(o, " at host offset 0x%" PRIx64, st->first_off);
    else if (at && st->fired > 1)
        fr_put(o, ", first at host offset 0x%" PRIx64 ", last at 0x%" PRIx64,
               st->first_off, st->last_off);
    if (st->shadowed) {
        fr_put(o, ", ");
        fr_put_times(o, "shadowed", st->shadowed);
    }
}

static int fr_done(const fr_out *o)
{
    if (o->size > 0 && o->need >= o->size)
        o->buf[o->size - 1] = '\0';
    assert(o->need <= INT_MAX);
    return (int)o->need;
}

int fault_rules_describe_rule(const fault_rules *r, int id,
                              fault_event_name_fn name, void *opaque, char *buf,
                              size_t size)
{
    const fr_slot *s = fr_find(r, id);
    fr_out o = {buf, buf ? size : 0, 0};

    if (!s)
        return -ENOENT;
    if (o.size)
        o.buf[0] = '\0';
    fr_put_rule(&o, &s->rule, name, opaque);
    fr_put_stats(&o, &s->rule, &s->st);
    return fr_done(&o);
}

int fault_rules_describe(const fault_rules *r, fault_event_name_fn name,
                         void *opaque, char *buf, size_t size)
{
    fr_out o = {buf, buf ? size : 0, 0};

    if (o.size)
        o.buf[0] = '\0';
    for (size_t i = 0; i < r->count; i++) {
        fr_put_rule(&o, &r->slot[i].rule, name, opaque);
        fr_put_stats(&o, &r->slot[i].rule, &r->slot[i].st);
        fr_put(&o, "\n");
    }
    return fr_done(&o);
}
