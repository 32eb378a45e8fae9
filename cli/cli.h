/*
 * cli.h - shared pieces of the `cowpoke` command-line program.
 *
 * Each subcommand is a function `int cmd_X(int argc, char **argv)` whose
 * argv[0] is the subcommand's name; it returns the process exit code.
 * Exit codes: 0 success, 1 failure found (or a check that found damage),
 * 2 usage or input error — except where a subcommand documents QEMU's codes
 * (img check). Messages go to stderr prefixed with "cowpoke CMD: ".
 */
#ifndef COWPOKE_CLI_H
#define COWPOKE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eng.h"
#include "imgset.h"
#include "sched.h"

#define CLI_USAGE 2

/* A size or offset in qemu-io's syntax (script_parse_size): decimal with a
 * k/M/G/T/P/E suffix (powers of 1024), or 0x hex. Returns false (and prints
 * why) on bad input. */
bool cli_parse_size(const char *cmd, const char *what, const char *s,
                    uint64_t *out);

/* An unsigned number with no suffix, same error reporting. */
bool cli_parse_u64(const char *cmd, const char *what, const char *s,
                   uint64_t *out);

/* Monotonic seconds: only for time limits and progress lines, never for
 * anything that decides what a run does. */
double cli_now(void);

/* Print "cowpoke CMD: message" to stderr. */
void cli_err(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True if argv has -h or --help before any "--". */
bool cli_wants_help(int argc, char **argv);

/* Parse "--mutant NAME" values into a bit set; false on unknown name. */
bool cli_add_mutant(const char *cmd, const char *name, uint64_t *set);

/* An image file opened through the engine, with its scheduler and images. */
typedef struct cli_image {
    sched *s;
    imgset *set;
    host_backend *b;
    eng *e;
} cli_image;

/* Open FILE read-write (or read-only), resolving backing files next to it. */
int cli_image_open(const char *cmd, const char *path, bool writable,
                   uint64_t mutants, cli_image *img);
/* Close (flushing) and free; returns the close error. */
int cli_image_close(cli_image *img);

/* Subcommands. */
int cmd_img(int argc, char **argv);
int cmd_stress(int argc, char **argv);
int cmd_zoo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_shrink(int argc, char **argv);
int cmd_regress(int argc, char **argv);
int cmd_emit_qemu_io(int argc, char **argv);

/* Print script file `in` as qemu-img/qemu-io commands to `out` (NULL:
 * stdout); 0, or CLI_USAGE after saying why (cmd names the command). */
int cli_emit_qemu_file(const char *cmd, const char *in, const char *out);
int cmd_fuzz(int argc, char **argv);
/* Campaign defaults shared by fuzz and zoo --score (cmd_fuzz.c). */
struct campaign_opts;
void fuzz_opts_defaults(struct campaign_opts *o, char *corpus_buf, char *dict_buf, size_t len);
void fuzz_catch_sigint(void);
void fuzz_print_findings(const char *dir);

#endif
