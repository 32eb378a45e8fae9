/*
 * cmd_emit_qemu.c - `cowpoke emit-qemu-io FILE [-o OUT]`: print a script
 * as a shell snippet of qemu-img and qemu-io commands (replay/emit_qemu.c
 * does the translation); `cowpoke replay --emit qemu-io FILE` is the same
 * through cli_emit_qemu_file().
 *
 * Exit 0 when the snippet was written; 2 when the script does not parse,
 * uses a command qemu-io lacks (the message names it and its line), or
 * the command line is wrong.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "emit_qemu.h"

static const char emit_usage[] =
    "usage: cowpoke emit-qemu-io FILE.io [-o OUT.sh]\n\n"
    "Print a script that uses only qemu-io's commands (and image create /\n"
    "image open) as a shell snippet: qemu-img create lines and qemu-io\n"
    "runs with one -c per command (on blkdebug:: when it has breakpoints).\n"
    "A script with cowpoke's extensions (sched, crash, inject, host, check,\n"
    "mutant, expect_error, policy, resume_errors) is refused, naming the\n"
    "first such command and its line.\n";

static int emit_write(const char *cmd, const char *path, const script *s)
{
    char err[512];
    FILE *f = path ? fopen(path, "w") : stdout;

    if (!f) {
        cli_err(cmd, "%s: %s", path, strerror(errno));
        return CLI_USAGE;
    }
    int ret = emit_qemu_io(s, f, err, sizeof(err));
    if (f != stdout && fclose(f) != 0 && ret == 0) {
        snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
        ret = -EIO;
    }
    if (ret < 0) {
        cli_err(cmd, "%s", err);
        if (path)
            remove(path);
        return CLI_USAGE;
    }
    return 0;
}

int cli_emit_qemu_file(const char *cmd, const char *in, const char *out)
{
    script_error perr;
    script *s = NULL;

    if (script_load(in, &s, &perr) < 0) {
        char msg[600];
        script_error_format(&perr, msg, sizeof(msg));
        cli_err(cmd, "%s", msg);
        return CLI_USAGE;
    }
    int ret = emit_write(cmd, out, s);
    script_free(s);
    return ret;
}

int cmd_emit_qemu_io(int argc, char **argv)
{
    const char *out = NULL;
    int ch;

    if (cli_wants_help(argc, argv)) {
        fputs(emit_usage, stdout);
        return 0;
    }
    optind = 1;
    while ((ch = getopt(argc, argv, "o:")) != -1) {
        if (ch != 'o') {
            fputs(emit_usage, stderr);
            return CLI_USAGE;
        }
        out = optarg;
    }
    if (optind + 1 != argc) {
        cli_err("emit-qemu-io", "give one script");
        fputs(emit_usage, stderr);
        return CLI_USAGE;
    }
    return cli_emit_qemu_file("emit-qemu-io", argv[optind], out);
}
