/*
 * script_int.h - internals shared by the script_*.c files (not for users of
 * the module: include script.h).
 *
 *   script_lex.c   splits text into lines and words, and reads numbers
 *                  (sizes in qemu's syntax, plain integers, pattern bytes);
 *   script_parse.c drives the parse: comments, header, qemu-io commands;
 *   script_parse_ext.c  cowpoke's extension commands;
 *   script_print.c canonical text;
 *   script_ast.c   arena, building, freeing, equality, name tables.
 *
 * A script_line owns a copy of one physical line in which every word and the
 * comment are NUL-terminated; its pointers are valid until the next
 * script_lex_line() on it.
 */
#ifndef COWPOKE_SCRIPT_INT_H
#define COWPOKE_SCRIPT_INT_H

#include <stdarg.h>

#include "script.h"

/* ---- lexer --------------------------------------------------------------- */

typedef struct script_tok {
    const char *s; /* NUL-terminated */
    unsigned col;  /* 1-based byte column of its first byte */
    unsigned len;
} script_tok;

typedef struct script_line {
    unsigned lineno;
    unsigned ntok;
    script_tok tok[SCRIPT_MAX_WORDS];
    const char *comment; /* text after '#', or NULL when the line has none */
    unsigned end_col;    /* column just past the last word (1 if none) */
    char buf[SCRIPT_MAX_LINE + 2];
} script_line;

typedef struct script_lexer {
    const char *name;
    const char *text;
    size_t len, pos;
    unsigned lineno;
} script_lexer;

void script_lex_init(script_lexer *lx, const char *name, const char *text,
                     size_t len);
/* The next line: 1 and *ln filled, 0 at the end of the text, or -EINVAL
 * with *err filled (NUL byte, non-ASCII outside a comment, a line, command
 * or comment over its limit, too many words). */
int script_lex_line(script_lexer *lx, script_line *ln, script_error *err);

/*
 * Numbers besides sizes (script_parse_size, in script.h). Each returns 0
 * and *out, or -EINVAL/-ERANGE with a message naming the token in msg.
 *   uint:    decimal or 0x hex, no suffix, any uint64_t.
 *   pattern: strtol(s, 0)'s syntax (decimal, 0x hex, 0 octal), 0..255.
 */
int script_lex_uint(const char *s, uint64_t *out, char *msg, size_t msglen);
int script_lex_pattern(const char *s, uint8_t *out, char *msg, size_t msglen);

/* Fill err (file, line, col, formatted message); returns -EINVAL. */
int script_fail(script_error *err, const char *file, unsigned line,
                unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- parser state, shared by script_parse.c and script_parse_ext.c ------- */

typedef struct script_pstate {
    script *s;
    script_error *err;
    const script_line *ln;
    unsigned nimages;                      /* names of image create */
    const char *images[SCRIPT_MAX_IMAGES]; /* NULL: unnamed */
    unsigned nfiles;                       /* files of image open */
    const char *files[SCRIPT_MAX_IMAGES];  /* (past the limit: not kept) */
} script_pstate;

/* An error at column col of the current line; returns -EINVAL. */
int script_perr(script_pstate *p, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse the arguments args[0..n) of a command whose words end at column
 * after (for "expected X" errors) into c. */
typedef int script_args_fn(script_pstate *p, script_cmd *c,
                           const script_tok *args, unsigned n);

/* Extension parsers (script_parse_ext.c), keyed by their first word. */
script_args_fn script_parse_image, script_parse_sched, script_parse_mutant,
    script_parse_expect_error, script_parse_policy, script_parse_host,
    script_parse_inject, script_parse_crash;

/* Helpers for both parser files. */
int script_need_none(script_pstate *p, const char *cmd, const script_tok *args,
                     unsigned n);
int script_arg_size(script_pstate *p, const script_tok *t, uint64_t *out);
int script_arg_uint(script_pstate *p, const script_tok *t, uint64_t *out);
/* A name or tag: [A-Za-z0-9_.-], 1..SCRIPT_MAX_NAME bytes. what: "tag". */
int script_arg_name(script_pstate *p, const script_tok *t, const char *what);

#endif
