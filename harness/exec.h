/*
 * exec.h - the script executor: runs a parsed .io script against the
 * engine through the deterministic scheduler, checks every read against the
 * shadow model and every image against the metadata checker, and returns a
 * verdict (docs/language.md, "How scripts run", is the contract).
 *
 * One call of exec_run() is one trace. It builds everything it needs (a
 * scheduler, in-memory host disks, engines, shadow models), runs the
 * commands in order, and frees all of it before it returns, whatever the
 * verdict: nothing is global, nothing outlives the call, and the same
 * script with the same options gives the same verdict and the same image
 * bytes on every run and every build.
 *
 * Output: per-command lines in qemu-io's style ("wrote 65536/65536 bytes
 * at offset 0") go to opts->print, if set; the executor itself never
 * prints. Progress (the index of the command about to run) goes to
 * opts->progress, so a parent process can name the command at which a
 * child died (replay's fork isolation).
 *
 * Errors: exec_run returns 0 when it produced a verdict (any verdict, ok
 * or not), -ENOMEM when it could not even start. A verdict is never an
 * error of exec_run.
 */
#ifndef COWPOKE_EXEC_H
#define COWPOKE_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eng_event.h"
#include "script.h"

#define EXEC_DEFAULT_BUDGET UINT64_C(1000000) /* scheduler steps per trace */
#define EXEC_DEFAULT_DATA_SEED                                                 \
    UINT64_C(0xc0ffee)                          /* datagen seed of writes      \
                                                   without -P */
#define EXEC_DEFAULT_MAX_IO (UINT64_C(1) << 30) /* bytes of one request */
#define EXEC_MAX_HASHES 64 /* images whose hashes a result lists */
#define EXEC_NAME_MAX (SCRIPT_MAX_NAME + 1) /* an image name in a result */
#define EXEC_TRAIL_MAX 16  /* events of the request at fault */
#define EXEC_MSG_MAX 512
#define EXEC_DETAIL_MAX 8192

typedef void exec_print_fn(void *opaque, const char *text);
typedef void exec_progress_fn(void *opaque, size_t cmd_index);
/* Host write or flush number n (1, 2, ... from the start of the run) has
 * just completed successfully, while command cmd_index ran (SIZE_MAX: at
 * the end of the trace). These are what `crash after=N` counts. */
typedef void exec_hostio_fn(void *opaque, uint64_t n, size_t cmd_index);
/* Engine event ev was announced by request req_id (0: none of the
 * script's, e.g. the end-of-trace close) while command cmd_index ran
 * (SIZE_MAX: the end of the trace). Called for every event, before
 * breakpoints and injected faults apply, also while the executor quiesces
 * (coverage feedback for fuzz campaigns). */
typedef void exec_event_fn(void *opaque, uint64_t req_id, size_t cmd_index,
                           eng_event ev);

typedef struct exec_opts {
    uint64_t budget;    /* scheduler steps per trace; 0: the default */
    uint64_t mutants;   /* added to the script's `mutant` commands */
    uint64_t data_seed; /* seed of the data of writes without -P; 0: default */
    uint64_t max_image_size; /* larger images: script-error; 0: no cap */
    uint64_t max_io;         /* larger requests: script-error; 0: the default */
    bool no_files;           /* `image open` is a script-error (fuzzing) */
    const char *dir;         /* where `image open` resolves relative names;
                                NULL: the current directory */
    /*
     * Test-only host fault: when flip_read > 0, the flip_read-th host
     * read that a guest read (read/aio_read) makes right after announcing
     * read_aio gets byte flip_byte (clamped to the read) inverted on its
     * way back to the engine, as a faulty disk would. Implemented by the
     * executor's eng_file wrapper, never in the engine.
     */
    uint64_t flip_read;
    uint64_t flip_byte;
    /* Test-only: abort() as the command with this 1-based index starts
     * (0: never), to test replay's isolation without a broken engine. */
    uint64_t abort_at;
    exec_print_fn *print; /* qemu-io-style output; NULL: none */
    void *print_opaque;
    exec_progress_fn *progress; /* NULL: none */
    void *progress_opaque;
    exec_hostio_fn *hostio; /* NULL: none (crash-point counting) */
    void *hostio_opaque;
    exec_event_fn *event; /* NULL: none (campaign coverage feedback) */
    void *event_opaque;
    /* Leave exec_result.hashes empty: the images' bytes are not hashed at
     * the end (fuzz campaigns judge verdicts, not bytes; `replay --repeat`
     * and the determinism tests need the hashes). */
    bool no_hashes;
} exec_opts;

typedef struct exec_image_hash {
    char name[EXEC_NAME_MAX]; /* the script's name, "#N" if unnamed, or the
                                 file name of `image open` */
    uint64_t hash;            /* XXH3-64 of the host file's bytes */
    uint64_t size;            /* host file length */
} exec_image_hash;

typedef struct exec_result {
    script_verdict verdict;
    /* The command where the verdict was found: its index in the script
     * (SIZE_MAX: after the last command, at the end-of-trace checks) and
     * its line and column (0 when none). */
    size_t cmd;
    unsigned line, col;
    char msg[EXEC_MSG_MAX];       /* one line: what went wrong */
    char detail[EXEC_DETAIL_MAX]; /* several lines: hex window, provenance,
                                     checker findings, requests in flight */
    /* The event trail of the request at fault (oldest first). */
    eng_event trail[EXEC_TRAIL_MAX];
    size_t ntrail;
    char trail_req[64]; /* that request, e.g. "aio_write line 7" */
    /* The failure's class within its verdict, for tools that must not
     * trade one failure for another (the shrinker): a data-mismatch that
     * the -P check alone found (the model accepted the bytes); for an
     * unexpected-error, the error the request failed with (0: it
     * succeeded) and the one the script expected (0: none). */
    bool by_pattern;
    int err_got, err_expected;
    /* Every image's bytes at the end (after the trace's close and check,
     * or as left by the failure), in creation order. */
    exec_image_hash hashes[EXEC_MAX_HASHES];
    size_t nhashes;
    uint64_t steps;    /* scheduler steps taken */
    uint64_t requests; /* requests the script made */
    /* Host writes and flushes that completed successfully (what `crash
     * after=N` counts), the end of the trace included. */
    uint64_t host_ios;
    /* A `crash after=N` power loss happened: at command cut_cmd, with
     * cut_volatile unflushed 512-byte sectors on the disks (0: a random
     * subset could lose nothing drop=all does not). */
    bool cut_fired;
    size_t cut_cmd;
    uint64_t cut_volatile;
} exec_result;

/* Run script s with options o (NULL: defaults) and fill *r. 0, or -ENOMEM
 * (then r says script-error "out of memory"). */
int exec_run(const script *s, const exec_opts *o, exec_result *r);

/* True when a and b name the same verdict at the same command with the
 * same image hashes (what `replay --repeat` demands of every run). */
bool exec_result_same(const exec_result *a, const exec_result *b);

#endif
