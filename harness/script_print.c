/*
 * script_print.c - the canonical text of a script.
 *
 * Canonical form: the `# expect:` line first, then the header comments, a
 * blank line, then one command per line, each under its comment lines and
 * with its trailing comment after two spaces; the footer comments last.
 * Commands use their full names (never qemu-io's one-letter aliases), flags
 * one per word in a fixed order (-P -s -l -z -u -f -q -v), patterns as
 * 0xNN, sizes with the largest exact suffix (64k, 1M, 3G; 1536 stays), key
 * options in a fixed order and defaults left out (`crash drop=all` prints
 * as `crash`).
 *
 * The printer is total: every script prints. A script built in code with
 * fields outside the language's range (see script.h) prints, but need not
 * parse back; for every script the parser returns, parse(print(s)) equals s.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng_event.h"
#include "eng_mutant.h"
#include "script_int.h"

/* snprintf-like output: into a fixed buffer (truncating) or a growing one. */
typedef struct sink {
    char *buf;
    size_t cap;
    size_t n; /* bytes produced, written or not */
    bool grow;
    bool oom;
} sink;

static void put(sink *k, const char *s, size_t n)
{
    if (k->grow && !k->oom && k->n + n + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 256;
        while (cap < k->n + n + 1)
            cap *= 2;
        char *b = realloc(k->buf, cap);
        if (b) {
            k->buf = b;
            k->cap = cap;
        } else {
            k->oom = true;
        }
    }
    if (k->n < k->cap) {
        size_t room = k->cap - 1 - k->n;
        size_t m = n < room ? n : room;
        memcpy(k->buf + k->n, s, m);
        k->buf[k->n + m] = '\0';
    }
    k->n += n;
}

static void puts_(sink *k, const char *s)
{
    put(k, s, strlen(s));
}

static void putf(sink *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(sink *k, const char *fmt, ...)
{
    char b[96];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(k, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

void script_format_size(uint64_t v, char buf[32])
{
    static const char suffix[] = "kMGTPE";

    for (int i = 5; i >= 0 && v; i--) {
        unsigned shift = 10u * (unsigned)(i + 1);
        if ((v & ((UINT64_C(1) << shift) - 1)) == 0) {
            snprintf(buf, 32, "%llu%c", (unsigned long long)(v >> shift),
                     suffix[i]);
            return;
        }
    }
    snprintf(buf, 32, "%llu", (unsigned long long)v);
}

/* " KEY" then the size: " 64k", " off=1M". */
static void put_size(sink *k, const char *key, uint64_t v)
{
    char b[32];

    script_format_size(v, b);
    putf(k, " %s%s", key, b);
}

static void put_str(sink *k, const char *key, const char *v)
{
    puts_(k, " ");
    puts_(k, key);
    puts_(k, v ? v : "?");
}

/* ---- commands ------------------------------------------------------------ */

static void fmt_io(sink *k, const script_io *io)
{
    static const struct {
        unsigned bit;
        const char *word;
    } plain[] = {{SCRIPT_F_ZERO, " -z"},
                 {SCRIPT_F_UNMAP, " -u"},
                 {SCRIPT_F_FUA, " -f"},
                 {SCRIPT_F_QUIET, " -q"},
                 {SCRIPT_F_VERBOSE, " -v"}};

    if (io->flags & SCRIPT_F_PATTERN)
        putf(k, " -P 0x%02x", io->pattern);
    if (io->flags & SCRIPT_F_PAT_OFF)
        put_size(k, "-s ", io->pat_off);
    if (io->flags & SCRIPT_F_PAT_LEN)
        put_size(k, "-l ", io->pat_len);
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (io->flags & plain[i].bit)
            puts_(k, plain[i].word);
    put_size(k, "", io->off);
    put_size(k, "", io->len);
}

static void fmt_create(sink *k, const script_create *cr)
{
    static const char *const fmts[] = {"?", "raw", "qcow2"};

    if (cr->name)
        put_str(k, "name=", cr->name);
    put_size(k, "size=", cr->size);
    if (cr->cluster_size)
        put_size(k, "cluster_size=", cr->cluster_size);
    if (cr->version)
        putf(k, " version=%u", cr->version);
    if (cr->backing)
        put_str(k, "backing=", cr->backing);
    if (cr->backing_fmt != SCRIPT_FMT_NONE)
        put_str(k, "backing_fmt=",
                (unsigned)cr->backing_fmt < 3 ? fmts[cr->backing_fmt] : "?");
    if (cr->refcount_bits)
        putf(k, " refcount_bits=%u", cr->refcount_bits);
}

static void fmt_sched(sink *k, const script_sched *sc)
{
    switch (sc->policy) {
    case SCRIPT_SCHED_FIFO:
        puts_(k, " fifo");
        break;
    case SCRIPT_SCHED_RANDOM:
        putf(k, " random %llu", (unsigned long long)sc->seed);
        break;
    case SCRIPT_SCHED_TAPE:
        puts_(k, " tape ");
        for (size_t i = 0; i < sc->tape_len; i++)
            putf(k, "%02x", sc->tape[i]);
        break;
    }
}

static void fmt_inject(sink *k, const script_inject *in)
{
    static const char *const io[] = {"?", "read", "write", "flush"};

    if (in->target == SCRIPT_INJ_EVENT)
        put_str(k, "", eng_event_name((eng_event)in->event));
    else
        put_str(k, "", (unsigned)in->target < 4 ? io[in->target] : "?");
    put_str(k, "errno=", script_errno_name(in->err));
    if (in->once)
        puts_(k, " once");
    if (in->nth)
        putf(k, " nth=%llu", (unsigned long long)in->nth);
    if (in->has_range) {
        put_size(k, "off=", in->off);
        put_size(k, "len=", in->len);
    }
}

static const char *mutant_name(int m)
{
    const eng_mutant_info *mi = eng_mutant_get((eng_mutant)m);

    return mi ? mi->name : NULL;
}

static void fmt_cmd(sink *k, const script_cmd *c)
{
    puts_(k, script_kind_name(c->kind));
    switch (c->kind) {
    case SCRIPT_WRITE:
    case SCRIPT_READ:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_AIO_READ:
    case SCRIPT_DISCARD:
        fmt_io(k, &c->io);
        break;
    case SCRIPT_BREAK:
        put_str(k, "", eng_event_name((eng_event)c->bp.event));
        /* fall through */
    case SCRIPT_WAIT_BREAK:
    case SCRIPT_RESUME:
    case SCRIPT_REMOVE_BREAK:
        put_str(k, "", c->bp.tag);
        break;
    case SCRIPT_TRUNCATE:
    case SCRIPT_HOST_LIMIT:
    case SCRIPT_HOST_GROW:
        put_size(k, "", c->size);
        break;
    case SCRIPT_IMAGE_CREATE:
        fmt_create(k, &c->create);
        break;
    case SCRIPT_IMAGE_OPEN:
        put_str(k, "", c->open.file);
        if (c->open.backing)
            put_str(k, "backing=", c->open.backing);
        break;
    case SCRIPT_IMAGE_USE:
        put_str(k, "", c->use);
        break;
    case SCRIPT_SCHED:
        fmt_sched(k, &c->sched);
        break;
    case SCRIPT_MUTANT:
        put_str(k, "", mutant_name(c->mutant));
        break;
    case SCRIPT_EXPECT_ERROR:
        put_str(k, "", script_errno_name(c->err));
        break;
    case SCRIPT_POLICY:
        puts_(k, c->werror == SCRIPT_WERROR_STOP ? " werror=stop"
                                                 : " werror=report");
        break;
    case SCRIPT_INJECT:
        fmt_inject(k, &c->inject);
        break;
    case SCRIPT_CRASH:
        if (c->crash.after)
            putf(k, " after=%llu", (unsigned long long)c->crash.after);
        if (c->crash.drop == SCRIPT_DROP_RANDOM)
            putf(k, " drop=random %llu", (unsigned long long)c->crash.seed);
        break;
    default: /* no arguments */
        break;
    }
}

int script_cmd_format(const script_cmd *c, char *buf, size_t len)
{
    sink k = {buf, len, 0, false, false};

    if (buf && len)
        buf[0] = '\0';
    fmt_cmd(&k, c);
    return (int)k.n;
}

/* ---- whole scripts ------------------------------------------------------- */

static void put_comments(sink *k, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        puts_(k, "#");
        puts_(k, lines[i]);
        puts_(k, "\n");
    }
}

char *script_print(const script *s, size_t *len)
{
    sink k = {NULL, 0, 0, true, false};

    put(&k, "", 0);
    if (s->has_expect)
        putf(&k, "# expect: %s\n", script_verdict_name(s->expect));
    put_comments(&k, s->header, s->nheader);
    if ((s->has_expect || s->nheader) && s->ncmds)
        puts_(&k, "\n");
    for (size_t i = 0; i < s->ncmds; i++) {
        const script_cmd *c = &s->cmds[i];
        put_comments(&k, c->comments, c->ncomments);
        fmt_cmd(&k, c);
        if (c->trailing) {
            puts_(&k, "  #");
            puts_(&k, c->trailing);
        }
        puts_(&k, "\n");
    }
    put_comments(&k, s->footer, s->nfooter);
    if (k.oom || !k.buf) {
        free(k.buf);
        return NULL;
    }
    if (len)
        *len = k.n;
    return k.buf;
}
