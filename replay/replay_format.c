/*
 * replay_format.c - the reports of `cowpoke replay` (see replay.h): text
 * for a person, one JSON object per script for machines.
 *
 * Both are pure functions of the result with snprintf's contract (they
 * write at most len bytes including the NUL and return the length the
 * whole text needs); nothing here prints or allocates.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "replay.h"

typedef struct rout {
    char *buf;
    size_t len, used;
} rout;

__attribute__((format(printf, 2, 3))) static void rput(rout *o, const char *fmt,
                                                       ...)
{
    size_t room = o->used < o->len ? o->len - o->used : 0;
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->used += (size_t)n;
}

static void rput_trail(rout *o, const exec_result *x, const char *sep)
{
    for (size_t i = 0; i < x->ntrail; i++)
        rput(o, "%s%s", i ? sep : "", eng_event_name(x->trail[i]));
}

static void rput_where(rout *o, const char *file, const replay_result *r)
{
    const exec_result *x = &r->run;

    if (x->line)
        rput(o, "at %s:%u: %s\n", file, x->line, r->cmd_text);
    else if (x->verdict != SCRIPT_V_OK)
        rput(o, "at the end of %s\n", file);
}

int replay_format_text(const char *file, const replay_result *r, char *buf,
                       size_t len)
{
    rout o = {buf, len, 0};
    const exec_result *x = &r->run;

    if (len)
        buf[0] = '\0';
    if (!r->parsed) {
        rput(&o, "%s:%u:%u: %s\n", r->perr.file[0] ? r->perr.file : file,
             r->perr.line, r->perr.col, r->perr.msg);
        rput(&o, "verdict: script-error (%s)\n",
             r->match ? "as expected" : "the script does not parse");
        return (int)o.used;
    }
    rput(&o, "verdict: %s", script_verdict_name(x->verdict));
    if (x->verdict != r->expect)
        rput(&o, " (expected: %s)", script_verdict_name(r->expect));
    rput(&o, "\n");
    if (x->verdict != SCRIPT_V_OK || !r->match) {
        rput_where(&o, file, r);
        if (x->msg[0])
            rput(&o, "%s\n", x->msg);
        if (x->detail[0])
            rput(&o, "%s%s", x->detail,
                 x->detail[strlen(x->detail) - 1] == '\n' ? "" : "\n");
        if (x->ntrail) {
            rput(&o, "event trail of \"%s\": ", x->trail_req);
            rput_trail(&o, x, " ");
            rput(&o, "\n");
        }
    }
    if (!r->repeat_ok)
        rput(&o,
             "not repeatable: run %u gave %s (line %u: %s), run 1 gave %s "
             "(line %u); or different image bytes\n",
             r->repeat_bad, script_verdict_name(r->other.verdict),
             r->other.line, r->other.msg, script_verdict_name(x->verdict),
             x->line);
    return (int)o.used;
}

/* A JSON string literal. */
static void rput_json_str(rout *o, const char *s)
{
    rput(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            rput(o, "\\%c", *p);
        else if (*p == '\n')
            rput(o, "\\n");
        else if (*p < 0x20 || *p >= 0x7f)
            rput(o, "\\u%04x", *p);
        else
            rput(o, "%c", *p);
    }
    rput(o, "\"");
}

static void rput_json_images(rout *o, const exec_result *x)
{
    rput(o, ",\"images\":[");
    for (size_t i = 0; i < x->nhashes; i++) {
        rput(o, "%s{\"name\":", i ? "," : "");
        rput_json_str(o, x->hashes[i].name);
        rput(o, ",\"xxh3\":\"%016" PRIx64 "\",\"size\":%" PRIu64 "}",
             x->hashes[i].hash, x->hashes[i].size);
    }
    rput(o, "]");
}

int replay_format_json(const char *file, const replay_result *r, char *buf,
                       size_t len)
{
    rout o = {buf, len, 0};
    const exec_result *x = &r->run;
    char perr[600];

    if (len)
        buf[0] = '\0';
    rput(&o, "{\"file\":");
    rput_json_str(&o, file);
    rput(&o, ",\"verdict\":\"%s\",\"expect\":\"%s\",\"match\":%s,\"exit\":%d",
         script_verdict_name(r->parsed ? x->verdict : SCRIPT_V_SCRIPT_ERROR),
         script_verdict_name(r->expect), r->match ? "true" : "false",
         r->exit_code);
    if (!r->parsed) {
        snprintf(perr, sizeof(perr), "%s:%u:%u: %s", r->perr.file, r->perr.line,
                 r->perr.col, r->perr.msg);
        rput(&o, ",\"parse_error\":");
        rput_json_str(&o, perr);
        rput(&o, "}\n");
        return (int)o.used;
    }
    if (x->line)
        rput(&o, ",\"line\":%u,\"col\":%u,\"command\":", x->line, x->col);
    else
        rput(&o, ",\"line\":null,\"col\":null,\"command\":");
    rput_json_str(&o, r->cmd_text);
    rput(&o, ",\"message\":");
    rput_json_str(&o, x->msg);
    rput(&o, ",\"detail\":");
    rput_json_str(&o, x->detail);
    rput(&o, ",\"trail_request\":");
    rput_json_str(&o, x->trail_req);
    rput(&o, ",\"trail\":[");
    for (size_t i = 0; i < x->ntrail; i++)
        rput(&o, "%s\"%s\"", i ? "," : "", eng_event_name(x->trail[i]));
    rput(&o, "]");
    rput_json_images(&o, x);
    rput(&o,
         ",\"steps\":%" PRIu64 ",\"requests\":%" PRIu64
         ",\"runs\":%u,\"repeatable\":%s}\n",
         x->steps, x->requests, r->runs, r->repeat_ok ? "true" : "false");
    return (int)o.used;
}
