/*
 * shrink_int.h - internals of the minimizer (see shrink.h), shared by
 *   shrink.c           the driver: runs, bounds, the fixed-point loop, the
 *                      static validity check, building the output;
 *   shrink_ddmin.c     delta debugging over dependency-closed units;
 *   shrink_sched.c     replacing seeded/taped policies by fifo plus
 *                      explicit breakpoints;
 *   shrink_simplify.c  per-command simplification, pattern values, tags.
 * Nothing outside replay/shrink*.c includes it.
 *
 * The working script is a plain array of script_cmd (c->cur): shallow
 * copies whose strings point into the input script or into c->pool (an
 * empty script used as an arena for the tags and names the shrinker
 * makes). Candidates are built in c->cand and run through a stack `script`
 * that borrows the array; nothing is copied per run but the commands.
 *
 * Invariants: c->cur always gives the target signature (it did when it was
 * accepted, and runs are deterministic) and, when the input needs its
 * mutants to fail (st->needs_mutants), does not give it without them; every accepted change makes the
 * script strictly smaller in commands or in a command's (flags, length,
 * offset, size) measure, so every phase ends.
 */
#ifndef COWPOKE_SHRINK_INT_H
#define COWPOKE_SHRINK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "shrink.h"

typedef struct shrink_ctx {
    const shrink_opts *o;
    exec_opts eo;      /* the options of every run */
    shrink_stats *st;
    const char *name;  /* the input's name, for messages */
    script *pool;      /* arena for strings the shrinker makes */
    exec_result *r;    /* the last run's result */
    uint64_t target;   /* the signature hash to keep */
    double t0;         /* o->now at the start */
    bool stop;         /* a bound was reached, or an error: stop working */
    int err;           /* first -errno of a run, or 0 */
    script_cmd *cur;   /* the current best */
    size_t n, cap;
    size_t fault;      /* command where cur's verdict is found */
    script_cmd *cand;  /* scratch: the candidate being built */
    size_t ncand, capcand;
    script_cmd *bare;  /* scratch: a candidate without its mutant lines */
    size_t capbare;
    exec_result *r_bare; /* its run's result (c->r stays the candidate's) */
} shrink_ctx;

/* ---- shrink.c ------------------------------------------------------------ */
/* Make room for n candidate commands; NULL (and c->stop) on ENOMEM. */
script_cmd *shrink_cand(shrink_ctx *c, size_t n);
/* Run cmds once (bounds first): 0 with c->r filled, or -1 when a bound
 * stopped the work or the run failed (c->stop set). */
int shrink_run(shrink_ctx *c, const script_cmd *cmds, size_t n);
/* True when cmds are valid (statically and through the printer and
 * parser) and their run keeps the target signature. */
bool shrink_try(shrink_ctx *c, const script_cmd *cmds, size_t n);
/* Make cmds the current best (after shrink_try said yes). */
void shrink_accept(shrink_ctx *c, const script_cmd *cmds, size_t n);
/* Static validity: an image exists (and is open) for the commands that need
 * one, overlays name earlier images, tags were armed by an earlier break,
 * expect_error stands before a request. */
bool shrink_valid(const script_cmd *cmds, size_t n);
void shrink_note(shrink_ctx *c, const char *phase);

/* ---- shrink_ddmin.c ------------------------------------------------------ */
/* Delta debugging over units of cur. True when it removed something. */
bool shrink_ddmin(shrink_ctx *c);

/* ---- shrink_sched.c ------------------------------------------------------ */
/* True when cur has a `sched` command with another policy than fifo. */
bool shrink_has_policy(const script_cmd *cmds, size_t n);
/* Try fifo alone (every sched command dropped). True when accepted. */
bool shrink_sched_fifo(shrink_ctx *c);
/* fifo alone, then fifo plus one break/wait_break/resume around one aio
 * request. True when a policy was replaced. */
bool shrink_sched(shrink_ctx *c);
/* A tag no command of cmds uses, made in c->pool ("A", "B", ...). */
const char *shrink_fresh_tag(shrink_ctx *c, const script_cmd *cmds,
                             size_t n);
/* The k-th canonical tag name: A..Z, AA..ZZ, ... into buf. */
void shrink_tag_name(size_t k, char buf[8]);

/* ---- shrink_simplify.c --------------------------------------------------- */
/* Simpler variants of each command, to a fixed point. True on a change. */
bool shrink_simplify(shrink_ctx *c);
/* Pattern values renumbered 0x01, 0x02, ... by first use. */
bool shrink_patterns(shrink_ctx *c);
/* Tags renamed A, B, ... by first use. */
bool shrink_tags(shrink_ctx *c);

#endif
