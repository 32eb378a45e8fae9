/*
 * campaign_int.h - internals of the campaign runner (campaign.h), shared by
 *   campaign.c         the supervisor: jobs, workers, restarts, the stop,
 *                      engine-abort findings, shrink children, stats;
 *   campaign_worker.c  a worker's loop: pick, mutate, run, keep, record;
 *   campaign_mutate.c  byte mutations and the dictionary;
 *   campaign_feat.c    features of one run and the feature map;
 *   campaign_find.c    findings: the structural-deadlock rule, trace.io and
 *                      log.txt, the keep-the-shortest rule, repro.io;
 *   campaign_store.c   files: atomic writes, the queue, .state, seeds,
 *                      fuzzer_stats and plot_data.
 * Nothing outside replay/campaign*.c includes it.
 *
 * Ownership: the supervisor owns every campaign_job (its shared mapping,
 * paths and file descriptors), the seeds and the dictionary; a worker
 * inherits them at fork and owns only its queue copy and its findings
 * index. The shared mapping (campaign_shm) is the only memory two
 * processes write: the worker writes its counters and state, the
 * supervisor writes `stop` and reads the rest.
 */
#ifndef COWPOKE_CAMPAIGN_INT_H
#define COWPOKE_CAMPAIGN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "campaign.h"
#include "prng.h"

#define CAMPAIGN_MAP_BITS (UINT32_C(1) << 20)
#define CAMPAIGN_PATH_MAX 4096

/* ---- byte strings ------------------------------------------------------- */

typedef struct campaign_input {
    uint8_t *data;
    size_t len;
    char name[64]; /* seeds: where it came from ("corpus/x.io", "random 3") */
} campaign_input;

typedef struct campaign_inputs {
    campaign_input *v;
    size_t n, cap;
} campaign_inputs;

int campaign_inputs_add(campaign_inputs *q, const uint8_t *data, size_t len,
                        const char *name);
void campaign_inputs_free(campaign_inputs *q);

/* ---- the shared state of one job ---------------------------------------- */

typedef struct campaign_shm {
    volatile sig_atomic_t stop; /* supervisor -> worker: end now */
    volatile int in_exec;       /* the worker is inside one execution */
    volatile size_t cur_cmd;    /* the command it runs (progress hook) */
    volatile int done;          /* the worker reached its bound */
    volatile uint64_t exec_no;  /* number of the execution under way */
    volatile uint64_t run_seq;  /* runs started, counted or not (hangs) */
    /* Decision state: survives a worker's death. */
    prng rng;
    uint64_t execs;       /* executions counted (seeds included) */
    uint64_t seeds_done;  /* seeds executed (the first phase) */
    uint64_t rebuild_pos; /* resume: queue entries re-run for the map */
    bool map_ready;       /* the map reflects the queue */
    uint64_t next_id;     /* the next queue file's id */
    /* Counters for stats. */
    uint64_t queue, features, finding_execs, filtered, unattributed;
    uint64_t first_exec;
    signature first_sig;
    uint64_t last_find_exec;
    uint8_t map[CAMPAIGN_MAP_BITS / 8];
} campaign_shm;

typedef struct campaign_job {
    unsigned index;
    char dir[CAMPAIGN_PATH_MAX]; /* its own files */
    char top[CAMPAIGN_PATH_MAX]; /* findings (DIR) */
    uint64_t seed;
    campaign_shm *shm;
    pid_t pid;           /* worker, or 0 */
    bool finished;       /* exited (bound, stop) or given up */
    bool hung;           /* killed by the hang watch */
    bool stop_killed;    /* killed because it did not stop in time */
    unsigned bad_deaths; /* deaths outside an execution */
    uint64_t watch_exec; /* hang watch: run_seq seen ... */
    double watch_since;  /* ... since this time */
    uint64_t restarts;
} campaign_job;

/* Everything a worker needs, inherited at fork. */
typedef struct campaign_ctx {
    const campaign_opts *o;
    const campaign_inputs *seeds;
    const struct campaign_dict *dict;
    int notify_fd; /* write end of the supervisor's pipe */
    int lock_fd;   /* DIR/.lock, opened by each process for itself (flock
                      locks belong to an open file, which fork shares) */
    pid_t parent;  /* the supervisor */
} campaign_ctx;

/* A message from a worker: a finding to shrink. Fixed size, so one write()
 * is atomic on a pipe. */
typedef struct campaign_note {
    char hex[17];
    uint8_t job;
    uint8_t first; /* the job's first finding */
} campaign_note;

/* The findings already on disk: signature hash -> fewest commands. */
typedef struct campaign_index {
    uint64_t *hash;
    size_t *cmds;
    size_t n, cap;
} campaign_index;

/* The supervisor's state (campaign.c, campaign_kids.c). */
typedef struct campaign_sup {
    const campaign_opts *o;
    campaign_ctx ctx;
    campaign_job *jobs;
    unsigned njobs;
    campaign_inputs seeds;
    struct campaign_dict *dict;
    campaign_index ix; /* findings, for engine-abort records */
    int pipe_rd;
    char (*pending)[17]; /* findings waiting to be shrunk */
    size_t npending, cap_pending;
    pid_t shrink_pid;
    bool stopping;
    uint64_t errors; /* findings that could not be written */
    campaign_stats st;
    double t0, last_progress, last_plot;
} campaign_sup;

/* ---- campaign.c / campaign_kids.c (the supervisor) ----------------------- */

int campaign_lock_open(const char *dir);
int campaign_spawn_worker(campaign_sup *s, campaign_job *j);
int campaign_spawn_shrink(campaign_sup *s, const char *hex);
/* Worker j ended with status: finished, or died (an engine-abort finding
 * when inside an execution) and restarted unless stopping. */
void campaign_worker_ended(campaign_sup *s, campaign_job *j, int status);
/* Kill a worker whose execution has not finished for hang_time seconds. */
void campaign_hang_watch(campaign_sup *s, double now);
/* Queue finding hex for shrinking: once while it waits, and again when
 * its shrink is running (its trace.io was replaced by a shorter one). */
void campaign_sup_pending(campaign_sup *s, const char *hex);
/* Job j has just made the campaign's first finding (if none was before). */
void campaign_sup_first(campaign_sup *s, const campaign_job *j);

/* ---- campaign_worker.c -------------------------------------------------- */

/* The worker process's body; never returns. */
void campaign_worker_main(const campaign_ctx *c, campaign_job *j)
    __attribute__((noreturn));

/* ---- campaign_mutate.c -------------------------------------------------- */

typedef struct campaign_dict {
    campaign_input *tok;
    size_t n;
} campaign_dict;

/* Load an AFL/libFuzzer dictionary (lines `name="bytes"` or `"bytes"`,
 * escapes \\ \" \xNN, # comments). 0 or -errno; -EINVAL with *line set on
 * a malformed line. */
int campaign_dict_load(const char *path, campaign_dict **out, unsigned *line);
void campaign_dict_free(campaign_dict *d);

/* A mutant of in (and, for splices, other) into out (cap bytes); returns
 * its length (>= 1). */
size_t campaign_mutate(prng *p, const uint8_t *in, size_t len,
                       const uint8_t *other, size_t olen,
                       const campaign_dict *d, uint8_t *out, size_t cap);

/* ---- campaign_feat.c ---------------------------------------------------- */

typedef struct campaign_feat {
    const script *s;
    uint32_t *v; /* feature hashes of this run */
    size_t n, cap;
    size_t cmd;          /* command running */
    uint64_t cmd_hostio; /* host writes/flushes during it */
    uint64_t *req_last;  /* per request id: its last event + 1 (0: none) */
    size_t nreq;         /* entries of req_last */
    volatile size_t *progress_out; /* where the command index goes */
    bool oom;
} campaign_feat;

/* Hook the collector into opts for one run of s. */
void campaign_feat_begin(campaign_feat *f, const script *s, exec_opts *opts);
/* Request req announced event ev while f->cmd ran: (previous event of req,
 * ev) and (command kind, ev). For the executor's event observer: exec_opts
 * has none yet (requested), so today event pairs come only from the trail
 * of a failing request (campaign_feat_end). */
void campaign_feat_event(campaign_feat *f, uint64_t req, int ev);
/* After the run: the result's features. */
void campaign_feat_end(campaign_feat *f, const exec_result *r);
/* Features of f not in map; set them in map when `set`. */
size_t campaign_feat_merge(const campaign_feat *f, uint8_t *map, bool set);
void campaign_feat_free(campaign_feat *f);

/* ---- campaign_find.c ---------------------------------------------------- */

/* A finding folder's name: 16 lower-case hex digits. */
bool campaign_is_hex_name(const char *name);
int campaign_index_load(campaign_index *ix, const char *top);
void campaign_index_free(campaign_index *ix);

/* Where a finding came from, for trace.io's header and log.txt. */
typedef struct campaign_origin {
    unsigned job;
    uint64_t seed;
    uint64_t exec_no;
    const char *top;  /* where its folder goes: DIR, or DIR/other */
    uint64_t mutants; /* written into trace.io as `mutant` lines */
} campaign_origin;

/*
 * Record finding (s, r, sig) in from->top under the lock, unless a trace
 * of that signature with no more commands is there (*wrote false). Writes
 * TOP/<hex>/trace.io and log.txt atomically. 0 or -errno.
 */
int campaign_record(const campaign_ctx *c, const script *s,
                    const exec_result *r, const signature *sig,
                    const campaign_origin *from, campaign_index *ix,
                    bool *wrote);

/* The shrink child's body: shrink DIR/<hex>/trace.io into repro.io (kept
 * only if smaller than an existing one). Returns an exit code. */
int campaign_shrink_main(const campaign_ctx *c, const char *hex);

/* ---- campaign_files.c --------------------------------------------------- */

/* snprintf into a CAMPAIGN_PATH_MAX buffer; false when it does not fit. */
bool campaign_path(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* mkdir -p. 0 or -errno. */
int campaign_mkdirs(const char *path);
/* write() all of it, across EINTR and short writes. 0 or -errno. */
int campaign_write_all(int fd, const void *data, size_t len);
/* Write data to dir/name through dir/.name.tmp.PID and rename. 0/-errno. */
int campaign_write_atomic(const char *dir, const char *name, const void *data,
                          size_t len, bool sync);
/* Read a whole file (malloc'd, NUL-terminated). 0 or -errno. */
int campaign_read_file(const char *path, char **out, size_t *len);
/* The same for dir/name. */
int campaign_read_in(const char *dir, const char *name, char **out,
                     size_t *len);

typedef bool campaign_name_fn(const char *name);
/* The names in dir that keep() accepts, sorted by cmp over char * elements
 * (NULL: strcmp). *out: malloc'd strings (campaign_names_free). A missing
 * folder lists empty. 0 or -errno. */
int campaign_dir_list(const char *dir, campaign_name_fn *keep,
                      int (*cmp)(const void *, const void *), char ***out,
                      size_t *n);
void campaign_names_free(char **v, size_t n);
/* Remove leftover temporary files (.*.tmp.*) of dir, and temporary
 * finding folders with their files. */
void campaign_clean_tmp(const char *dir);

/* ---- campaign_store.c --------------------------------------------------- */

/* The queue of job j: files queue/id:NNNNNN[,orig:NAME] in id order. */
int campaign_queue_load(const campaign_job *j, campaign_inputs *q,
                        uint64_t *next_id);
int campaign_queue_add(const campaign_job *j, uint64_t id, const uint8_t *data,
                       size_t len, const char *orig);

/* Seeds: every corpus .io trace_encode accepts, then random strings. */
int campaign_seeds_load(const campaign_opts *o, campaign_inputs *seeds,
                        uint64_t *skipped);

/* .state: the decision state and counters of j (without the map). */
int campaign_state_save(const campaign_job *j);
int campaign_state_load(campaign_job *j);

/* fuzzer_stats (rewritten) and a plot_data row (appended). */
int campaign_stats_write(const campaign_opts *o, const campaign_job *j,
                         const campaign_stats *st, double elapsed,
                         uint64_t restarts);
int campaign_plot_append(const campaign_job *j, double elapsed,
                         double execs_per_sec, uint64_t unique);

#endif
