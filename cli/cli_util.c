/*
 * cli_util.c - argument parsing, error printing and image opening shared
 * by the subcommands (see cli.h).
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "engsync.h"
#include "script.h"

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void cli_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cowpoke %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

bool cli_parse_size(const char *cmd, const char *what, const char *s,
                    uint64_t *out)
{
    char msg[160];
    if (script_parse_size(s, out, msg, sizeof(msg)) < 0) {
        cli_err(cmd, "bad %s: %s", what, msg);
        return false;
    }
    return true;
}

bool cli_parse_u64(const char *cmd, const char *what, const char *s,
                   uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 0) : 0;
    if (!s || *s < '0' || *s > '9' || *end || errno == ERANGE) {
        cli_err(cmd, "bad %s '%s': expected a plain number", what, s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

bool cli_add_mutant(const char *cmd, const char *name, uint64_t *set)
{
    int m = eng_mutant_by_name(name);
    if (m < 0) {
        cli_err(cmd, "unknown mutant '%s' (see `cowpoke zoo --list`)", name);
        return false;
    }
    *set |= ENG_MUTANT_BIT(m);
    return true;
}

int cli_image_open(const char *cmd, const char *path, bool writable,
                   uint64_t mutants, cli_image *img)
{
    memset(img, 0, sizeof(*img));
    char *copy = strdup(path);
    img->s = sched_create();
    img->set = copy && img->s ? imgset_create(img->s, dirname(copy)) : NULL;
    free(copy);
    if (!img->set) {
        cli_image_close(img);
        return -ENOMEM;
    }
    int ret = imgset_open_file(img->set, path, false, writable, &img->b);
    if (ret < 0) {
        cli_err(cmd, "cannot open %s: %s", path, strerror(-ret));
        cli_image_close(img);
        return ret;
    }
    eng_open_opts o = {.mutants = mutants, .read_only = !writable};
    imgset_open_opts(img->set, &o);
    eng_error err = {{0}};
    ret = engsync_open(img->s, imgset_file(img->set, img->b), &o, &img->e, &err);
    if (ret < 0) {
        cli_err(cmd, "%s: %s", path, err.msg[0] ? err.msg : strerror(-ret));
        img->e = NULL;
        cli_image_close(img);
    }
    return ret;
}

int cli_image_close(cli_image *img)
{
    int ret = 0;
    if (img->e)
        ret = engsync_close(img->s, img->e);
    imgset_destroy(img->set);
    sched_destroy(img->s);
    memset(img, 0, sizeof(*img));
    return ret;
}
