/*
 * faultrules.h - a deterministic set of error-injection rules, after
 * blkdebug's inject-error: "fail the 3rd host write that touches these
 * bytes with EIO", "fail every flush with ENOSPC", "fail the first
 * l2_update event with EIO".
 *
 * The host wrapper (models/hostfault.h) consults a rule set before every
 * host read, write, flush and truncate; the harness consults one for
 * engine events. Event numbers are plain ints whose meaning the caller
 * owns (this module includes no engine header).
 *
 * A rule has a target (READ, WRITE, FLUSH, TRUNCATE, or EVENT with an event
 * number), an errno, a mode, and optionally a host byte range. A check
 * (fault_rules_check) is one host operation or one event. The exact rule:
 *
 *   1. A rule MATCHES a check when the targets are equal, the event numbers
 *      are equal (EVENT only), and, when the rule has a range [off,
 *      off+len) and the target is READ, WRITE or TRUNCATE, the checked
 *      bytes intersect it. An empty checked range intersects nothing, so a
 *      zero-length I/O never matches a rule with a range. Ranges are
 *      ignored for FLUSH and EVENT.
 *   2. Every matching rule counts the check: its `matches` counter goes up
 *      by one, whichever rule fires, before or after it. So a rule's
 *      counter is the number of checks it matched, independent of the
 *      other rules.
 *   3. A matching rule is DUE when its new count c satisfies its mode:
 *        ONCE     c == 1           (the first match only; same as NTH 1)
 *        NTH n    c == n           (only the n-th match)
 *        ALWAYS   always           (every match; same as AFTER 1)
 *        AFTER n  c >= n           (every match from the n-th on)
 *   4. The first due rule in insertion order FIRES: the check returns
 *      -errno of that rule and the rule's `fired` counter goes up. Later
 *      due rules count the check as `shadowed` and do not fire; a ONCE or
 *      NTH rule shadowed at its one chance never fires (its counter has
 *      moved on). No due rule: the check returns 0.
 *
 * The script language maps onto the modes as: `once` -> ONCE, `once
 * nth=N` -> NTH N, `nth=N` -> AFTER N, neither -> ALWAYS.
 *
 * Capacity: at most FAULT_RULES_MAX rules at once; adding one more fails
 * with -E2BIG (not -ENOSPC, which would read like an injected error).
 * Rules are named by an id that fault_rules_add returns: ids start at 0,
 * grow by one per add, and are never reused within one rule set.
 *
 * Ownership: fault_rules_create returns a set the caller owns and frees
 * with fault_rules_destroy. The set copies rules in; it keeps no pointer
 * to the caller's memory. No clock, no randomness: the same checks in the
 * same order give the same answers.
 */
#ifndef COWPOKE_FAULTRULES_H
#define COWPOKE_FAULTRULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most rules one set holds at once. */
#define FAULT_RULES_MAX 32

/* The largest errno a rule accepts (Linux's MAX_ERRNO). */
#define FAULT_ERRNO_MAX 4095

typedef enum fault_target {
    FAULT_READ,
    FAULT_WRITE,
    FAULT_FLUSH,
    FAULT_TRUNCATE,
    FAULT_EVENT,
} fault_target;

typedef enum fault_mode {
    FAULT_ONCE,   /* the first match */
    FAULT_NTH,    /* the n-th match only */
    FAULT_ALWAYS, /* every match */
    FAULT_AFTER,  /* every match from the n-th on */
} fault_mode;

typedef struct fault_rule {
    fault_target target;
    /* FAULT_EVENT: the event number; ignored (stored as 0) otherwise. */
    int event;
    /* The errno to fail with: positive, 1..FAULT_ERRNO_MAX. */
    int err;
    fault_mode mode;
    /* NTH and AFTER: 1-based; ignored (stored as 0) otherwise. */
    uint64_t n;
    /* READ/WRITE/TRUNCATE: only I/O intersecting [off, off + len) matches;
     * len >= 1 and off + len <= UINT64_MAX. Not stored for other targets. */
    bool has_range;
    uint64_t off, len;
} fault_rule;

typedef struct fault_rule_stats {
    uint64_t matches;   /* checks this rule matched (rule 2 above) */
    uint64_t fired;     /* checks it failed */
    uint64_t shadowed;  /* checks where it was due but an earlier rule fired */
    uint64_t first_off; /* offset checked at the first firing (fired > 0) */
    uint64_t last_off;  /* offset checked at the latest firing (fired > 0) */
} fault_rule_stats;

typedef struct fault_rules fault_rules;

/* A new empty rule set, or NULL when out of memory. */
fault_rules *fault_rules_create(void);

/* Frees the set; NULL is fine. */
void fault_rules_destroy(fault_rules *r);

/*
 * Appends a copy of *rule (last in order) with zeroed counters and returns
 * its id (>= 0). -EINVAL when the rule is malformed (unknown target or
 * mode, errno out of range, n == 0 for NTH/AFTER, an empty or overflowing
 * range on a ranged target), -E2BIG when FAULT_RULES_MAX rules are held.
 * A range on FLUSH or EVENT is accepted and ignored (not stored).
 */
int fault_rules_add(fault_rules *r, const fault_rule *rule);

/* Removes rule `id`; the others keep their order, ids and counters.
 * 0 or -ENOENT. */
int fault_rules_remove(fault_rules *r, int id);

/* Removes every rule. Ids keep growing: none is reused. */
void fault_rules_clear(fault_rules *r);

/* Number of rules held. */
size_t fault_rules_count(const fault_rules *r);

/* The id of the rule at position i in insertion order (i < count). */
int fault_rules_id_at(const fault_rules *r, size_t i);

/* Copies rule `id` and its counters out; either pointer may be NULL.
 * 0 or -ENOENT. */
int fault_rules_get(const fault_rules *r, int id, fault_rule *rule,
                    fault_rule_stats *stats);

/*
 * One check, as described at the top: target, the event number (EVENT
 * only), and the host bytes [off, off + len) touched (READ, WRITE and
 * TRUNCATE; a range that would pass UINT64_MAX is clipped there). Returns
 * 0, or the negative errno of the rule that fired. Updates counters.
 */
int fault_rules_check(fault_rules *r, fault_target target, int event,
                      uint64_t off, uint64_t len);

/* The id of the rule that fired at the latest check that fired, or -1
 * when none has fired yet (or that rule was removed since). */
int fault_rules_last_fired(const fault_rules *r);

/* Names an event for describe; returning NULL prints "event#N". */
typedef const char *(*fault_event_name_fn)(void *opaque, int event);

/*
 * Writes rule `id` as one line of script syntax followed by its counters
 * as a comment, e.g.
 *   inject write errno=EIO once nth=3 off=0x30000 len=0x10000 # 5 matches,
 * fired once at host offset 0x30000 with no newline. name (may be NULL) names
 * events. Like snprintf: writes at most size bytes including the NUL (buf may
 * be NULL when size is 0) and returns the length the whole text needs, or
 * -ENOENT.
 */
int fault_rules_describe_rule(const fault_rules *r, int id,
                              fault_event_name_fn name, void *opaque, char *buf,
                              size_t size);

/* Every rule as above, in insertion order, each line ending in '\n'
 * (empty text for an empty set). Returns the length needed. */
int fault_rules_describe(const fault_rules *r, fault_event_name_fn name,
                         void *opaque, char *buf, size_t size);

#endif
