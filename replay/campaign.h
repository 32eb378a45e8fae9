/*
 * campaign.h - the built-in fuzz campaign runner (`cowpoke fuzz`, `cowpoke
 * zoo --score`): coverage-less feedback fuzzing of byte strings that
 * trace_decode() turns into traces, with findings bucketed by signature,
 * written to disk before the campaign goes on, and shrunk in child
 * processes.
 *
 * Processes. campaign_run() is the supervisor. It forks one worker per job;
 * a worker loops over many inputs (pick a queue entry, mutate, write the
 * input to JOBDIR/.cur, decode, exec_run, collect features, keep or record)
 * until told to stop. Everything a worker decides with lives in a shared
 * mapping (the generator's state, the execution count, the feature map) or
 * on disk (the queue), so when the engine kills a worker the supervisor
 * records an engine-abort finding from .cur, starts a new worker, and the
 * campaign goes on exactly as if nothing had happened. Each new finding is
 * shrunk in its own child (shrink_script); a crash while shrinking costs
 * only that child. Workers and shrinkers die with the supervisor
 * (PR_SET_PDEATHSIG) and ignore SIGINT: the caller's stop flag ends them.
 *
 * Determinism: a job's inputs, queue and findings depend only on its seed
 * (seed + job index), the corpus, the dictionary and the options. The
 * clock (o->now) only bounds the work and feeds progress lines; every
 * decision counts executions.
 *
 * Feedback (what makes an input "interesting", kept in the queue): a new
 * feature among
 *   - (event, next event) pairs of one request: from the trail of the
 *     request at fault, and (with (command kind, event) pairs) from every
 *     request once exec_opts gets an event observer (campaign_feat_event is
 *     ready for it; today the executor has none);
 *   - (command kind, flags, log2 bucket of the host writes and flushes it
 *     completed) per command;
 *   - the outcome lines the executor prints (qemu-io's "wrote", "read",
 *     "write failed: No space left on device", ...) with the running
 *     command's kind;
 *   - (verdict, command kind), and log2 buckets of the trace's scheduler
 *     steps and host I/Os.
 * Features are hashed into a 2^20-bit map.
 *
 * Findings: every verdict but ok, except a deadlock the trace's own
 * structure causes (campaign_is_finding: the deadlock is reported at a
 * wait_break, or while a breakpoint armed by the trace is not yet resumed
 * or removed, or while a werror=stop policy may hold a request that no
 * resume_errors followed). The decoder avoids those; the filter is the
 * safety net. A finding is DIR/<signature hex>/ with trace.io (it replays
 * to the finding's verdict with `cowpoke replay`: the campaign's mutants
 * are written into it, and `# expect:` names the verdict), log.txt (the
 * verdict report) and, once shrunk, repro.io (the smallest reproducer of
 * that signature). A later input of the same signature replaces trace.io
 * only when it has fewer commands. Every file is written to a temporary
 * name and renamed: a kill -9 at any moment leaves whole files only.
 *
 * Layout of DIR (one job): queue/id:NNNNNN (inputs kept, raw bytes),
 * fuzzer_stats and plot_data (AFL++ 4.x names), .cur (the input running),
 * .state (counters for --resume), .stderr (the worker's error output),
 * .lock, and the findings' folders. With several jobs, each job's files
 * are in DIR/jobN/ and the findings are shared in DIR (under .lock).
 *
 * Ownership: the caller owns options and stats; nothing is global. The
 * library never prints: progress goes to o->progress.
 */
#ifndef COWPOKE_CAMPAIGN_H
#define COWPOKE_CAMPAIGN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec.h"
#include "script.h"
#include "signature.h"

#define CAMPAIGN_MAX_LEN 4096 /* bytes of one input */
#define CAMPAIGN_MAX_JOBS 64
#define CAMPAIGN_RANDOM_SEEDS 16 /* random inputs added to the corpus */

typedef struct campaign_stats {
    uint64_t execs;         /* inputs executed, all jobs */
    uint64_t queue;         /* inputs kept */
    uint64_t features;      /* distinct features seen */
    uint64_t finding_execs; /* executions that gave a finding */
    uint64_t unique;        /* distinct signatures found */
    uint64_t restarts;      /* workers restarted after dying */
    uint64_t shrunk;        /* findings shrunk (repro.io written) */
    uint64_t seeds;         /* seed inputs loaded (corpus + random) */
    uint64_t seeds_skipped; /* corpus scripts trace_encode refused */
    uint64_t filtered;      /* structural deadlocks not reported */
    uint64_t unattributed;  /* attribute_mutants: findings set aside */
    double elapsed;         /* seconds, by o->now */
    /* The first finding: executions of its job until then (1-based), and
     * the time; 0 when there is none. */
    uint64_t first_exec;
    double first_time;
    signature first_sig;
    bool stopped; /* ended by the stop flag (not a bound) */
} campaign_stats;

typedef void campaign_progress_fn(void *opaque, const campaign_stats *st);

typedef struct campaign_opts {
    const char *dir;             /* output folder (created) */
    const char *corpus_dir;      /* seed .io scripts, or NULL */
    const char *dict_path;       /* AFL/libFuzzer dictionary, or NULL */
    uint64_t seed;               /* job j uses seed + j */
    unsigned jobs;               /* worker processes; 0 means 1 */
    uint64_t runs;               /* executions per job; 0: no bound */
    double time_limit;           /* seconds; 0: none (needs now) */
    double (*now)(void *opaque); /* monotonic seconds, or NULL */
    void *now_opaque;
    uint64_t wall_start;  /* Unix time of the start, for fuzzer_stats */
    bool resume;          /* reload the queue and findings of DIR */
    bool stop_on_finding; /* end the campaign at its first finding */
    /* Only findings the mutants cause count (zoo scoring): a finding whose
     * trace, run without the mutants, fails with the same signature is a
     * bug of the correct engine (or a false alarm), not the mutant's; it
     * is counted in stats.unattributed and recorded in DIR/other/ (without
     * mutant lines), not with the findings. */
    bool attribute_mutants;
    bool no_shrink;       /* do not shrink findings */
    double shrink_time;   /* seconds per shrink; 0: 30 */
    uint64_t shrink_runs; /* runs per shrink; 0: no bound but the time */
    bool wait_shrinks;    /* at the end (not on stop), let shrinks finish */
    double hang_time;     /* seconds one execution may take; 0: 60 */
    /* Options of every run: mutants (written into findings), budget, the
     * test-only faults. print/progress/hostio are the runner's. */
    exec_opts exec;
    volatile sig_atomic_t *stop;    /* set (by a signal handler) to stop */
    campaign_progress_fn *progress; /* about once a second; NULL: none */
    void *progress_opaque;
    const char *command_line; /* for fuzzer_stats; NULL: none */
} campaign_opts;

/*
 * Run a campaign. 0 when it ran to its bound, its stop flag or its first
 * finding (st says which and what it found); -errno when it could not set
 * up (DIR not writable, fork failed, -EEXIST: DIR holds a campaign and
 * resume is off). st is filled in either case.
 */
int campaign_run(const campaign_opts *o, campaign_stats *st);

/* Tunes the C library's allocator for many short traces in one process:
 * the engine's 64 KiB-2 MiB buffers (COW, caches) come and go with every
 * trace, and with glibc's default thresholds each would be an mmap or a
 * heap trim, paid for in page faults. Call once, first thing, in programs
 * that run traces (cowpoke, the fuzz targets). Changes no result. */
void campaign_tune_malloc(void);

/*
 * True when result r of script s is a finding: every verdict but ok,
 * except a deadlock the script's structure causes (see above).
 */
bool campaign_is_finding(const script *s, const exec_result *r);

/*
 * The .io text of a finding: `# expect: V`, the header lines given (each
 * ending in a newline; NULL: none), a `mutant NAME` line per mutant of the
 * set, then s's commands (s's own header is left out). malloc'd (free);
 * NULL on ENOMEM. It replays on its own to the finding.
 */
char *campaign_trace_text(const script *s, script_verdict v, uint64_t mutants,
                          const char *header);

/*
 * Replace the file at path whole, atomically: the bytes go to a temporary
 * name in the same folder (".NAME.tmp.PID"), then are renamed over path,
 * so a reader or a kill -9 sees the old file or the new one, never a torn
 * one; with sync, fsync before the rename. 0 or -errno. Every file a user
 * keeps (findings, reproducers, reference images) is written this way.
 */
int campaign_write_file(const char *path, const void *data, size_t len,
                        bool sync);

/*
 * The trace of a fuzzer input: trace_decode with default options, with
 * qemu-io's -v (dump the data read) dropped from reads: fuzz runs never
 * print, -v changes nothing else, and formatting dumps of reads up to
 * 1 MiB would cost most of the time. 0 and *out (script_free), or -ENOMEM.
 */
int campaign_decode(const uint8_t *data, size_t len, script **out);

/*
 * One input as the external fuzz targets run it: campaign_decode, exec_run
 * with these mutants and no files, campaign_is_finding.
 * 0: no finding; 1: a finding, *report its text (what went wrong, then the
 * trace as .io text; free it); -ENOMEM.
 */
int campaign_judge_input(const uint8_t *data, size_t len, uint64_t mutants,
                         exec_result *r, char **report);

/* Comma-separated mutant names (NULL: none) into *set. 0, or -EINVAL with
 * the unknown name in bad. */
int campaign_mutants_parse(const char *list, uint64_t *set, char *bad,
                           size_t badlen);

/* Encode every corpus_dir/NAME.io that trace_encode accepts into
 * out_dir/NAME (raw bytes: seeds for libFuzzer and AFL++). *n files
 * written, *skipped scripts refused. 0 or -errno. */
int campaign_export_seeds(const char *corpus_dir, const char *out_dir,
                          size_t *n, uint64_t *skipped);

/* One finding folder of DIR, as campaign_list_findings reports it. */
typedef struct campaign_finding {
    char hex[17];
    char sig[96];      /* signature text, from trace.io's header */
    size_t trace_cmds; /* commands of trace.io */
    size_t repro_cmds; /* commands of repro.io; 0: not shrunk */
} campaign_finding;

/* The findings in DIR, sorted by signature hex. *out is malloc'd (free).
 * 0 or -errno. */
int campaign_list_findings(const char *dir, campaign_finding **out, size_t *n);

#endif
