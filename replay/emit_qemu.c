/*
 * emit_qemu.c - scripts as qemu-img/qemu-io shell snippets (see
 * emit_qemu.h).
 *
 * Two passes: the first checks every command and refuses the script at
 * the first one qemu-io cannot run (so nothing is half written); the
 * second prints. Commands are printed in cowpoke's canonical form, which
 * is qemu-io's syntax (sizes with k/M suffixes, patterns as 0xNN).
 *
 * Invariant: image file names are unique within a snippet: a named image
 * is NAME.qcow2 (names are unique in a script), an unnamed one the first
 * free imgK.qcow2 that no named image of the script uses.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_qemu.h"

#define EMIT_FILE_MAX 600

typedef struct emit {
    const script *s;
    FILE *out;
    char cur[EMIT_FILE_MAX]; /* the current image's file, "" if none */
    bool open;
    size_t seg;     /* first command of the pending qemu-io run */
    unsigned unnamed;
} emit;

/* ---- checking ------------------------------------------------------------ */

static bool emit_is_qemu_io(script_kind k)
{
    return k <= SCRIPT_TRUNCATE;
}

static int emit_refuse(const script *s, size_t i, char *err, size_t errlen,
                       const char *why)
{
    char text[256], where[32];
    const script_cmd *c = &s->cmds[i];

    script_cmd_format(c, text, sizeof(text));
    if (c->line)
        snprintf(where, sizeof(where), "%u", c->line);
    else
        snprintf(where, sizeof(where), "command %zu", i + 1);
    snprintf(err, errlen, "%s:%s: '%s' %s", s->name ? s->name : "script",
             where, text, why);
    return -EINVAL;
}

static int emit_check(const script *s, char *err, size_t errlen)
{
    bool image = false, open = false;

    for (size_t i = 0; i < s->ncmds; i++) {
        const script_cmd *c = &s->cmds[i];
        if (c->kind == SCRIPT_IMAGE_CREATE) {
            if (c->create.backing_fmt == SCRIPT_FMT_RAW)
                return emit_refuse(s, i, err, errlen,
                                   "has a raw backing file, which cowpoke's "
                                   "images never are");
            image = open = true;
        } else if (c->kind == SCRIPT_IMAGE_OPEN) {
            if (c->open.backing)
                return emit_refuse(s, i, err, errlen,
                                   "overrides the backing file, which has "
                                   "no qemu-io form here");
            image = open = true;
        } else if (!emit_is_qemu_io(c->kind)) {
            return emit_refuse(s, i, err, errlen,
                               "is a cowpoke extension that qemu-io lacks: "
                               "only qemu-io's commands and image "
                               "create/open can be emitted");
        } else if (!image) {
            return emit_refuse(s, i, err, errlen, "comes before any image");
        } else if (c->kind == SCRIPT_CLOSE || c->kind == SCRIPT_REOPEN) {
            open = c->kind == SCRIPT_REOPEN;
        } else if (!open) {
            return emit_refuse(s, i, err, errlen, "runs on a closed image");
        }
    }
    return 0;
}

/* ---- file names ---------------------------------------------------------- */

static bool emit_name_taken(const script *s, const char *file)
{
    char own[EMIT_FILE_MAX];

    for (size_t i = 0; i < s->ncmds; i++) {
        const script_cmd *c = &s->cmds[i];
        if (c->kind != SCRIPT_IMAGE_CREATE || !c->create.name)
            continue;
        snprintf(own, sizeof(own), "%s.qcow2", c->create.name);
        if (strcmp(own, file) == 0)
            return true;
    }
    return false;
}

static void emit_file_of(emit *e, const script_cmd *c, char *buf, size_t len)
{
    if (c->create.name) {
        snprintf(buf, len, "%s.qcow2", c->create.name);
        return;
    }
    do
        snprintf(buf, len, "img%u.qcow2", ++e->unnamed);
    while (emit_name_taken(e->s, buf));
}

/* ---- printing ------------------------------------------------------------ */

/* A shell word: as is when it is plain, else single-quoted. */
static void emit_word(FILE *out, const char *w)
{
    bool plain = *w != '\0';

    for (const char *p = w; *p && plain; p++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789_./:+,=-",
                       *p) != NULL;
    if (plain) {
        fputs(w, out);
        return;
    }
    fputc('\'', out);
    for (const char *p = w; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", out);
        else
            fputc(*p, out);
    }
    fputc('\'', out);
}

static bool emit_is_bp(script_kind k)
{
    return k == SCRIPT_BREAK || k == SCRIPT_WAIT_BREAK ||
           k == SCRIPT_RESUME || k == SCRIPT_REMOVE_BREAK;
}

/* One qemu-io run for commands [e->seg, end) on the current image. */
static void emit_run(emit *e, size_t end)
{
    char text[SCRIPT_MAX_CMD_TEXT + 1], target[EMIT_FILE_MAX + 16];
    bool bp = false;

    if (e->seg >= end || !e->cur[0]) {
        e->seg = end;
        return;
    }
    fputs("qemu-io -f qcow2 \\\n", e->out);
    for (size_t i = e->seg; i < end; i++) {
        const script_cmd *c = &e->s->cmds[i];
        bp |= emit_is_bp(c->kind);
        script_cmd_format(c, text, sizeof(text));
        fprintf(e->out, "    -c '%s' \\\n", text);
    }
    snprintf(target, sizeof(target), "%s%s", bp ? "blkdebug::" : "", e->cur);
    fputs("    ", e->out);
    emit_word(e->out, target);
    fputc('\n', e->out);
    e->seg = end;
}

static void emit_create(emit *e, const script_cmd *c)
{
    char size[32], cs[32], backing[EMIT_FILE_MAX];
    const script_create *cr = &c->create;

    script_format_size(cr->size, size);
    script_format_size(cr->cluster_size ? cr->cluster_size : 65536, cs);
    emit_file_of(e, c, e->cur, sizeof(e->cur));
    fprintf(e->out, "qemu-img create -f qcow2 -o cluster_size=%s,compat=%s",
            cs, cr->version == 2 ? "0.10" : "1.1");
    if (cr->refcount_bits)
        fprintf(e->out, ",refcount_bits=%u", cr->refcount_bits);
    if (cr->backing) {
        snprintf(backing, sizeof(backing), "%s.qcow2", cr->backing);
        fputs(" -b ", e->out);
        emit_word(e->out, backing);
        fputs(" -F qcow2", e->out);
    }
    fputc(' ', e->out);
    emit_word(e->out, e->cur);
    fprintf(e->out, " %s\n", size);
}

static void emit_header(const emit *e)
{
    const script *s = e->s;

    fputs("#!/bin/sh\n", e->out);
    fprintf(e->out, "# %s as qemu-img and qemu-io commands (cowpoke "
                    "emit-qemu-io).\n",
            s->name ? s->name : "script");
    if (s->has_expect)
        fprintf(e->out, "# cowpoke's verdict for it: %s.\n",
                script_verdict_name(s->expect));
    fputs("# Run it in a scratch folder: it creates its images there. "
          "qemu-io checks\n"
          "# only reads with -P, and writes 0xcd where a write has no -P "
          "(cowpoke\n"
          "# writes seeded data and checks every read).\n"
          "set -e\n",
          e->out);
}

static void emit_all(emit *e)
{
    const script *s = e->s;

    emit_header(e);
    for (size_t i = 0; i < s->ncmds; i++) {
        const script_cmd *c = &s->cmds[i];
        switch (c->kind) {
        case SCRIPT_IMAGE_CREATE:
            emit_run(e, i);
            emit_create(e, c);
            e->seg = i + 1;
            e->open = true;
            break;
        case SCRIPT_IMAGE_OPEN:
            emit_run(e, i);
            snprintf(e->cur, sizeof(e->cur), "%s", c->open.file);
            e->seg = i + 1;
            e->open = true;
            break;
        case SCRIPT_CLOSE: /* qemu-io closes when it ends */
            emit_run(e, i);
            e->seg = i + 1;
            e->open = false;
            break;
        case SCRIPT_REOPEN: /* after close: a new qemu-io run opens it */
            if (!e->open)
                e->seg = i + 1;
            e->open = true;
            break;
        default:
            break;
        }
    }
    emit_run(e, s->ncmds);
}

int emit_qemu_io(const script *s, FILE *out, char *err, size_t errlen)
{
    emit e = {.s = s, .out = out};

    if (errlen)
        err[0] = '\0';
    int ret = emit_check(s, err, errlen);
    if (ret < 0)
        return ret;
    emit_all(&e);
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "writing the snippet failed");
        return -EIO;
    }
    return 0;
}
