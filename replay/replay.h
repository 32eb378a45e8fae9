/*
 * replay.h - replaying .io scripts: parse, run (isolated in a child
 * process, so an engine assertion becomes the verdict engine-abort instead
 * of killing the caller), repeat and compare, and report in text or JSON.
 *
 * The runs are deterministic: a child runs exactly what an in-process
 * exec_run would, and hands the result back through shared memory, with
 * the index of the command it was running (so a death names its command).
 * `repeat` runs demand the same verdict, command and image hashes from
 * every run.
 *
 * Ownership: a replay_result is the caller's (large: allocate it on the
 * heap); replay_* allocate only internally. The library never prints:
 * formatting functions write into caller buffers.
 */
#ifndef COWPOKE_REPLAY_H
#define COWPOKE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "exec.h"
#include "script.h"

typedef struct replay_opts {
    exec_opts exec;  /* print goes to the first run only */
    unsigned repeat; /* runs; 0 means 1 */
    bool in_process; /* run without a child (tests; no abort isolation) */
} replay_opts;

typedef struct replay_result {
    bool parsed; /* false: perr says why (exit 2) */
    script_error perr;
    script_verdict expect; /* the `# expect:` header (ok without one) */
    exec_result run;       /* the first run */
    unsigned runs;         /* runs made */
    bool repeat_ok;        /* every run gave the same result */
    unsigned repeat_bad;   /* first run (1-based) that differed */
    exec_result other;     /* that run's result */
    char cmd_text[256];    /* canonical text of the command at fault */
    bool match;            /* verdict == expect and repeat_ok */
    int exit_code;         /* 0 match, 1 no match, 2 parse error */
} replay_result;

/* Run one parsed script o->repeat times and fill r. 0 or -errno (could
 * not fork or map memory; r then says script-error). */
int replay_script(const script *s, const replay_opts *o, replay_result *r);

/* Read, parse and run the file at path. A file that does not parse gives
 * exit code 2 unless its header says `# expect: script-error` (then 0). */
int replay_file(const char *path, const replay_opts *o, replay_result *r);

/* One run of s in a child process; its death becomes engine-abort. */
int replay_isolated(const script *s, const exec_opts *o, exec_result *r);

/* The verdict report for a person (snprintf conventions): a verdict line,
 * and for anything but a matching ok, where and why. */
int replay_format_text(const char *file, const replay_result *r, char *buf,
                       size_t len);

/* The same as one line of JSON (with a trailing newline). */
int replay_format_json(const char *file, const replay_result *r, char *buf,
                       size_t len);

/* The verdict named by a `# expect:` comment line in the header of text
 * (before the first command), or -1. Works on text that does not parse. */
int replay_header_expect(const char *text, size_t len);

#endif
