/*
 * engsync.h - synchronous calls into the engine for ordinary code.
 *
 * Each function wraps one eng_co_* call in a scheduler request and runs the
 * scheduler until that request finishes (other requests in flight make
 * progress meanwhile, in policy order). Used by the CLI, the tests and the
 * request mix; the script executor drives requests itself.
 *
 * Contract: same return values as the eng_co_* call; -EDEADLK when the
 * scheduler could not finish the call (deadlock or step budget), in which
 * case the engine may hold a suspended request and must be destroyed with
 * the scheduler, not closed.
 */
#ifndef COWPOKE_ENGSYNC_H
#define COWPOKE_ENGSYNC_H

#include "eng.h"
#include "sched.h"

int engsync_create(sched *s, eng_file *f, const eng_create_opts *o,
                   eng_error *err);
int engsync_open(sched *s, eng_file *f, const eng_open_opts *o, eng **out,
                 eng_error *err);
int engsync_close(sched *s, eng *e);
int engsync_read(sched *s, eng *e, uint64_t off, void *buf, uint64_t len);
int engsync_write(sched *s, eng *e, uint64_t off, const void *buf,
                  uint64_t len);
int engsync_write_zeroes(sched *s, eng *e, uint64_t off, uint64_t len,
                         unsigned flags);
int engsync_discard(sched *s, eng *e, uint64_t off, uint64_t len);
int engsync_flush(sched *s, eng *e);
int engsync_truncate(sched *s, eng *e, uint64_t size);
int engsync_map(sched *s, eng *e, uint64_t off, uint64_t len,
                eng_map_extent *out);

#endif
