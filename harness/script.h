/*
 * script.h - the .io script language: its syntax tree, parser and printer.
 *
 * A script is what a person writes, what a fuzzer finding becomes and what
 * the regression suite holds (docs/language.md is the specification). This
 * module turns text into a `script` (a list of typed `script_cmd`s plus the
 * header metadata) and back into canonical text; it executes nothing.
 *
 * Ownership: one `script` owns everything reachable from it. Strings, tapes
 * and comment arrays live in the script's arena; the command array is one
 * growable allocation. script_free() releases all of it; pointers into a
 * script are valid until then. Nothing is global.
 *
 * Invariants of a script that script_parse() returns (and that the printer
 * relies on):
 *   - every offset, length and size is <= INT64_MAX (qemu-io's limit);
 *   - I/O lengths are <= SCRIPT_MAX_IO_LEN; -u only with -z; -P not with -z;
 *     read -s/-l only with -P and inside the read;
 *   - names, tags and file names are non-empty printable ASCII without
 *     spaces, and do not start with '#';
 *   - events and mutants are valid ids of engine/eng_event.h / eng_mutant.h;
 *   - comment texts hold no NUL and no newline, and do not end in '\r'.
 * The round trip holds: script_equal(parse(print(s)), s), and printing the
 * reparsed script gives the same text.
 *
 * Errors are negative errno values; parse errors also fill a script_error
 * whose text is "FILE:LINE:COL: what was expected". The parser stops at the
 * first error.
 */
#ifndef COWPOKE_SCRIPT_H
#define COWPOKE_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ------------------------------------------------------------ */

#define SCRIPT_MAX_LINE 4096       /* bytes in one physical line */
#define SCRIPT_MAX_CMD_TEXT 2048   /* bytes of a command without its comment */
#define SCRIPT_MAX_COMMENT 1024    /* bytes of one comment's text */
#define SCRIPT_MAX_WORDS 32        /* words in one command */
#define SCRIPT_MAX_NAME 64         /* bytes of an image name or a tag */
#define SCRIPT_MAX_CMDS 100000     /* commands in one script */
#define SCRIPT_MAX_COMMENTS 100000 /* comments in one script */
#define SCRIPT_MAX_IMAGES 256      /* image create commands in one script */
/* qemu-io's BDRV_REQUEST_MAX_BYTES: the longest read/write/discard. */
#define SCRIPT_MAX_IO_LEN UINT64_C(2147483136)

/* ---- vocabulary -------------------------------------------------------- */

typedef enum script_kind {
    /* qemu-io's data commands */
    SCRIPT_WRITE,
    SCRIPT_READ,
    SCRIPT_AIO_WRITE,
    SCRIPT_AIO_READ,
    SCRIPT_AIO_FLUSH,
    SCRIPT_FLUSH,
    SCRIPT_DISCARD,
    SCRIPT_BREAK,
    SCRIPT_WAIT_BREAK,
    SCRIPT_RESUME,
    SCRIPT_REMOVE_BREAK,
    SCRIPT_CLOSE,
    SCRIPT_REOPEN,
    SCRIPT_TRUNCATE,
    /* cowpoke's extensions */
    SCRIPT_IMAGE_CREATE,
    SCRIPT_IMAGE_OPEN,
    SCRIPT_SCHED,
    SCRIPT_CHECK,
    SCRIPT_MUTANT,
    SCRIPT_EXPECT_ERROR,
    SCRIPT_POLICY,
    SCRIPT_RESUME_ERRORS,
    SCRIPT_HOST_LIMIT,
    SCRIPT_HOST_GROW,
    SCRIPT_INJECT,
    SCRIPT_CRASH,
    SCRIPT_IMAGE_USE,
    SCRIPT_KIND_COUNT
} script_kind;

/* The verdict kinds a `# expect:` header may name. */
typedef enum script_verdict {
    SCRIPT_V_OK,
    SCRIPT_V_DATA_MISMATCH,
    SCRIPT_V_METADATA_CORRUPT,
    SCRIPT_V_ERROR_SWALLOWED,
    SCRIPT_V_UNEXPECTED_ERROR,
    SCRIPT_V_ENGINE_ABORT,
    SCRIPT_V_DEADLOCK,
    SCRIPT_V_BUDGET,
    SCRIPT_V_SCRIPT_ERROR,
    SCRIPT_V_COUNT
} script_verdict;

/* Flags of the I/O commands (qemu-io's letters). */
#define SCRIPT_F_PATTERN                                                       \
    0x01u                    /* -P: fill (write) or check (read) with pattern */
#define SCRIPT_F_ZERO 0x02u  /* -z: write zeroes */
#define SCRIPT_F_UNMAP 0x04u /* -u: with -z, may unmap */
#define SCRIPT_F_QUIET 0x08u /* -q: no report line */
#define SCRIPT_F_FUA 0x10u   /* -f: force unit access */
#define SCRIPT_F_VERBOSE 0x20u /* -v: dump the data read */
#define SCRIPT_F_PAT_OFF 0x40u /* -s: pattern check starts at pat_off */
#define SCRIPT_F_PAT_LEN 0x80u /* -l: pattern check covers pat_len bytes */

typedef struct script_io { /* write read aio_write aio_read discard */
    uint64_t off, len;
    unsigned flags;   /* SCRIPT_F_* */
    uint8_t pattern;  /* with SCRIPT_F_PATTERN */
    uint64_t pat_off; /* with SCRIPT_F_PAT_OFF (read only) */
    uint64_t pat_len; /* with SCRIPT_F_PAT_LEN (read only) */
} script_io;

typedef struct script_bp { /* break wait_break resume remove_break */
    int event;             /* eng_event for break; -1 otherwise */
    const char *tag;
} script_bp;

typedef enum script_fmt {
    SCRIPT_FMT_NONE,
    SCRIPT_FMT_RAW,
    SCRIPT_FMT_QCOW2
} script_fmt;

typedef struct script_create { /* image create; 0/NULL: not given */
    const char *name;
    uint64_t size; /* always given */
    uint64_t cluster_size;
    unsigned version;
    const char *backing; /* name of an earlier `image create name=` */
    script_fmt backing_fmt;
    unsigned refcount_bits;
} script_create;

typedef struct script_open { /* image open */
    const char *file;
    const char *backing; /* NULL: as recorded in the image */
} script_open;

typedef enum script_policy_kind {
    SCRIPT_SCHED_FIFO,
    SCRIPT_SCHED_RANDOM,
    SCRIPT_SCHED_TAPE
} script_policy_kind;

typedef struct script_sched {
    script_policy_kind policy;
    uint64_t seed;       /* random */
    const uint8_t *tape; /* tape; tape_len >= 1 */
    size_t tape_len;
} script_sched;

typedef enum script_werror {
    SCRIPT_WERROR_REPORT,
    SCRIPT_WERROR_STOP
} script_werror;

typedef enum script_target {
    SCRIPT_INJ_EVENT, /* before the host I/O that follows an engine event */
    SCRIPT_INJ_READ,  /* host reads */
    SCRIPT_INJ_WRITE, /* host writes */
    SCRIPT_INJ_FLUSH, /* host flushes */
} script_target;

typedef struct script_inject {
    script_target target;
    int event; /* eng_event with SCRIPT_INJ_EVENT; -1 otherwise */
    int err;   /* positive errno */
    bool once;
    uint64_t nth; /* fire from the nth match on (1-based); 0: from the first */
    bool has_range; /* only host I/O overlapping [off, off+len) */
    uint64_t off, len;
} script_inject;

typedef enum script_drop { SCRIPT_DROP_ALL, SCRIPT_DROP_RANDOM } script_drop;

typedef struct script_crash {
    script_drop drop;
    uint64_t seed;  /* SCRIPT_DROP_RANDOM */
    uint64_t after; /* 0: now; N: right after the N-th host write or flush
                       that completes from this command on */
} script_crash;

typedef struct script_cmd {
    script_kind kind;
    unsigned line, col;    /* of the command word, 1-based; 0 if built */
    const char **comments; /* whole-line comments just above (text after '#') */
    size_t ncomments;
    const char *trailing; /* comment at the end of the line, or NULL */
    union {
        script_io io;
        script_bp bp;
        uint64_t size; /* truncate, host limit, host grow */
        script_create create;
        script_open open;
        script_sched sched;
        int mutant; /* eng_mutant */
        int err;    /* expect_error: positive errno */
        script_werror werror;
        script_inject inject;
        script_crash crash;
        const char *use; /* image use: an image name, or an opened FILE */
    };
} script_cmd;

typedef struct script_arena script_arena;

typedef struct script {
    const char *name; /* file name, for messages */
    script_cmd *cmds;
    size_t ncmds;
    bool has_expect;       /* a `# expect:` header was given */
    script_verdict expect; /* SCRIPT_V_OK when not given */
    const char **header;   /* comment lines before the first command */
    size_t nheader;
    const char **footer; /* comment lines after the last command */
    size_t nfooter;
    /* private */
    size_t cap;
    script_arena *arena;
} script;

typedef struct script_error {
    char file[256];
    unsigned line, col; /* 1-based; col counts bytes */
    char msg[256];
} script_error;

/* ---- parse, print, compare --------------------------------------------- */

/*
 * Parse `len` bytes of `text` (any bytes; NUL is an error) named `name`.
 * 0 and *out on success (free with script_free); -EINVAL and *err filled on
 * a script error; -ENOMEM.
 */
int script_parse(const char *name, const char *text, size_t len, script **out,
                 script_error *err);

/* Read the file at path and parse it. -errno of the read, with err filled. */
int script_load(const char *path, script **out, script_error *err);

void script_free(script *s);

/* "FILE:LINE:COL: msg" into buf (snprintf rules; returns its result). */
int script_error_format(const script_error *err, char *buf, size_t len);

/* The canonical text of s: a malloc'd NUL-terminated string (free()). NULL
 * on ENOMEM. *len (if not NULL) receives its length. */
char *script_print(const script *s, size_t *len);

/* The canonical text of one command, without comments and newline, into buf
 * (snprintf rules; returns the length it needs). */
int script_cmd_format(const script_cmd *c, char *buf, size_t len);

/* Structural equality: header, expectation, commands, their fields and
 * comments. Ignores names and positions. */
bool script_equal(const script *a, const script *b);
bool script_cmd_equal(const script_cmd *a, const script_cmd *b);

/* ---- building scripts in code (generators, the minimizer) -------------- */

/* An empty script. NULL on ENOMEM. */
script *script_new(const char *name);
/* Append a zeroed command of `kind` (bp.event, inject.event = -1); NULL on
 * ENOMEM or past SCRIPT_MAX_CMDS. The pointer is valid until the next
 * append. Comments of the first command print as header lines. */
script_cmd *script_append(script *s, script_kind kind);
/* Copy n bytes (+ a NUL) into the script's arena. NULL on ENOMEM. */
void *script_memdup(script *s, const void *p, size_t n);
const char *script_strdup(script *s, const char *str);

/* ---- sizes ------------------------------------------------------------- */

/*
 * A size in qemu-io's syntax (QEMU's qemu_strtosz, capped at INT64_MAX like
 * qemu-io's cvtnum): decimal with an optional fraction and one suffix of
 * b k m g t p e in either case (powers of 1024), or 0x hex without suffix.
 * 0 and *out, or -EINVAL / -ERANGE with a message naming s in msg.
 */
int script_parse_size(const char *s, uint64_t *out, char *msg, size_t msglen);
/* "64k", "1M", "1536": the largest power-of-1024 suffix that is exact. */
void script_format_size(uint64_t v, char buf[32]);

/* ---- names ------------------------------------------------------------- */

const char *script_kind_name(script_kind k); /* "aio_write", "image create" */
const char *script_verdict_name(script_verdict v); /* "data-mismatch"; "?" */
int script_verdict_by_name(const char *name);      /* -1 when unknown */
const char *script_errno_name(int err);     /* "ENOSPC"; NULL if unknown */
int script_errno_by_name(const char *name); /* positive errno; -1 */

#endif
