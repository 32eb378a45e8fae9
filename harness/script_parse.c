/*
 * script_parse.c - the parser's driver (lines, comments, the `# expect:`
 * header, dispatch) and qemu-io's data commands.
 *
 * qemu-io's commands take qemu-io's flags with getopt's rules: flags may be
 * grouped (-zu), an argument may be attached (-P0x11) or follow (-P 0x11),
 * flags and operands may come in any order (glibc permutes), and "--" ends
 * the flags. Flags qemu-io knows and cowpoke does not support are refused by
 * name; the checks qemu-io makes (-u needs -z, -z excludes -P, ...) are made
 * in qemu-io's order.
 *
 * Comments: every comment line before the first command is a header line
 * (the `# expect:` line among them becomes metadata); later comment lines
 * attach to the command below them, or to the script's footer after the
 * last command; a comment ending a command's line is that command's
 * trailing comment. The parse stops at the first error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng_event.h"
#include "script_int.h"

int script_perr(script_pstate *p, unsigned col, const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof(p->err->msg)];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return script_fail(p->err, p->s->name, p->ln->lineno, col, "%s", msg);
}

/* ---- argument helpers ---------------------------------------------------- */

int script_arg_size(script_pstate *p, const script_tok *t, uint64_t *out)
{
    char msg[200];

    if (script_parse_size(t->s, out, msg, sizeof(msg)) < 0)
        return script_perr(p, t->col, "%s", msg);
    return 0;
}

int script_arg_uint(script_pstate *p, const script_tok *t, uint64_t *out)
{
    char msg[200];

    if (script_lex_uint(t->s, out, msg, sizeof(msg)) < 0)
        return script_perr(p, t->col, "%s", msg);
    return 0;
}

int script_arg_name(script_pstate *p, const script_tok *t, const char *what)
{
    bool ok = t->len >= 1 && t->len <= SCRIPT_MAX_NAME;

    for (unsigned i = 0; ok && i < t->len; i++) {
        char c = t->s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    }
    if (!ok)
        return script_perr(p, t->col,
                           "'%.64s' is not a valid %s (letters, digits, "
                           "'_', '.', '-'; at most %d)",
                           t->s, what, SCRIPT_MAX_NAME);
    return 0;
}

int script_need_none(script_pstate *p, const char *cmd, const script_tok *args,
                     unsigned n)
{
    if (n > 0)
        return script_perr(p, args[0].col,
                           "unexpected argument '%.64s': '%s' takes none",
                           args[0].s, cmd);
    return 0;
}

/* ---- qemu-io flags ------------------------------------------------------- */

typedef struct refused_flag {
    char letter;
    const char *what;
} refused_flag;

typedef struct flag_spec {
    const char *takes;           /* getopt string of supported flags */
    const char *ignored;         /* accepted and dropped */
    const refused_flag *refused; /* qemu-io's, not cowpoke's; ends {0} */
} flag_spec;

typedef struct flag_val {
    bool set;
    unsigned col, argcol;
    const char *arg;
} flag_val;

typedef struct flag_set {
    flag_val f[128];
    script_tok ops[SCRIPT_MAX_WORDS];
    unsigned nops;
} flag_set;

static int refuse_flag(script_pstate *p, const char *cmd, const flag_spec *sp,
                       char ch, unsigned col)
{
    for (const refused_flag *r = sp->refused; r && r->letter; r++)
        if (r->letter == ch)
            return script_perr(p, col,
                               "%s -%c (%s) is not supported by cowpoke", cmd,
                               ch, r->what);
    return script_perr(p, col, "unknown flag -%c for %s", ch, cmd);
}

/* One word of grouped flags; *i advances past an argument taken from the
 * next word. */
static int flag_word(script_pstate *p, const char *cmd, const flag_spec *sp,
                     const script_tok *args, unsigned n, unsigned *i,
                     flag_set *fs)
{
    const script_tok *t = &args[*i];

    for (unsigned j = 1; j < t->len; j++) {
        char ch = t->s[j];
        unsigned col = t->col + j;
        if (strchr(sp->ignored, ch))
            continue;
        const char *q = ch != ':' ? strchr(sp->takes, ch) : NULL;
        if (!q)
            return refuse_flag(p, cmd, sp, ch, col);
        flag_val *v = &fs->f[(unsigned char)ch];
        v->set = true;
        v->col = col;
        if (q[1] != ':')
            continue;
        if (j + 1 < t->len) {
            v->arg = t->s + j + 1;
            v->argcol = col + 1;
        } else if (*i + 1 < n) {
            ++*i;
            v->arg = args[*i].s;
            v->argcol = args[*i].col;
        } else {
            return script_perr(p, p->ln->end_col,
                               "expected an argument after -%c", ch);
        }
        return 0;
    }
    return 0;
}

static int parse_flags(script_pstate *p, const char *cmd, const flag_spec *sp,
                       const script_tok *args, unsigned n, flag_set *fs)
{
    bool operands_only = false;

    memset(fs, 0, sizeof(*fs));
    for (unsigned i = 0; i < n; i++) {
        const script_tok *t = &args[i];
        if (operands_only || t->s[0] != '-' || t->len == 1) {
            fs->ops[fs->nops++] = *t;
        } else if (strcmp(t->s, "--") == 0) {
            operands_only = true;
        } else {
            int r = flag_word(p, cmd, sp, args, n, &i, fs);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* The flags every I/O command shares, and -P's byte. */
static int io_flags(script_pstate *p, const flag_set *fs, script_io *io)
{
    static const struct {
        char letter;
        unsigned bit;
    } bits[] = {{'z', SCRIPT_F_ZERO},
                {'u', SCRIPT_F_UNMAP},
                {'q', SCRIPT_F_QUIET},
                {'f', SCRIPT_F_FUA},
                {'v', SCRIPT_F_VERBOSE}};
    char msg[200];

    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (fs->f[(unsigned char)bits[i].letter].set)
            io->flags |= bits[i].bit;
    const flag_val *pv = &fs->f['P'];
    if (pv->set) {
        io->flags |= SCRIPT_F_PATTERN;
        if (script_lex_pattern(pv->arg, &io->pattern, msg, sizeof(msg)) < 0)
            return script_perr(p, pv->argcol, "%s", msg);
    }
    return 0;
}

/* Exactly OFF LEN among the operands (aio: a vector is refused by name). */
static int io_count(script_pstate *p, const char *cmd, const flag_set *fs,
                    bool aio)
{
    if (fs->nops == 0)
        return script_perr(p, p->ln->end_col, "expected an offset after '%s'",
                           cmd);
    if (fs->nops == 1)
        return script_perr(p, p->ln->end_col,
                           "expected a length after the offset");
    if (fs->nops > 2 && aio)
        return script_perr(p, fs->ops[2].col,
                           "%s with several lengths (vectored I/O) is not "
                           "supported by cowpoke; give one length",
                           cmd);
    if (fs->nops > 2)
        return script_perr(p, fs->ops[2].col,
                           "unexpected argument '%.64s' after the length",
                           fs->ops[2].s);
    return 0;
}

static int io_numbers(script_pstate *p, const flag_set *fs, script_io *io)
{
    int r = script_arg_size(p, &fs->ops[0], &io->off);

    if (r < 0)
        return r;
    r = script_arg_size(p, &fs->ops[1], &io->len);
    if (r < 0)
        return r;
    if (io->len > SCRIPT_MAX_IO_LEN)
        return script_perr(p, fs->ops[1].col,
                           "length cannot exceed %llu (qemu-io's limit), "
                           "given '%.64s'",
                           (unsigned long long)SCRIPT_MAX_IO_LEN, fs->ops[1].s);
    return 0;
}

/* The steps every I/O command starts with, in qemu-io's order: flags (and
 * -P's byte), then the operand count. aio: vectors are refused by name. */
static int io_begin(script_pstate *p, script_cmd *c, const flag_spec *sp,
                    bool aio, const script_tok *args, unsigned n, flag_set *fs)
{
    const char *cmd = script_kind_name(c->kind);
    int r = parse_flags(p, cmd, sp, args, n, fs);

    if (r == 0)
        r = io_flags(p, fs, &c->io);
    return r < 0 ? r : io_count(p, cmd, fs, aio);
}

/* ---- qemu-io's commands -------------------------------------------------- */

static const refused_flag write_refused[] = {
    {'b', "VM state"},
    {'c', "compressed writes"},
    {'C', "statistics"},
    {'n', "zero writes without fallback"},
    {'r', "registered buffers"},
    {'s', "pattern source files"},
    {0, NULL}};
static const refused_flag aio_refused[] = {{'C', "statistics"},
                                           {'i', "invalid requests"},
                                           {'r', "registered buffers"},
                                           {0, NULL}};
static const refused_flag read_refused[] = {{'b', "VM state"},
                                            {'C', "statistics"},
                                            {'r', "registered buffers"},
                                            {0, NULL}};

/* write and aio_write */
static int parse_write(script_pstate *p, script_cmd *c, const script_tok *args,
                       unsigned n)
{
    static const flag_spec wspec = {"fP:quz", "p", write_refused};
    static const flag_spec aspec = {"fP:quz", "", aio_refused};
    bool aio = c->kind == SCRIPT_AIO_WRITE;
    flag_set fs;
    int r = io_begin(p, c, aio ? &aspec : &wspec, aio, args, n, &fs);

    if (r < 0)
        return r;
    if (fs.f['u'].set && !fs.f['z'].set)
        return script_perr(p, fs.f['u'].col, "-u requires -z");
    if (fs.f['z'].set && fs.f['P'].set)
        return script_perr(p, fs.f['P'].col,
                           "-z and -P cannot be specified at the same time");
    return io_numbers(p, &fs, &c->io);
}

/* read -s/-l: narrow the pattern check to a part of the read. */
static int read_pattern_range(script_pstate *p, const flag_set *fs,
                              script_io *io)
{
    static const struct {
        char letter;
        unsigned bit;
    } sub[] = {{'s', SCRIPT_F_PAT_OFF}, {'l', SCRIPT_F_PAT_LEN}};

    for (size_t i = 0; i < 2; i++) {
        const flag_val *v = &fs->f[(unsigned char)sub[i].letter];
        if (!v->set)
            continue;
        if (!fs->f['P'].set)
            return script_perr(p, v->col, "-%c needs -P", sub[i].letter);
        script_tok t = {v->arg, v->argcol, (unsigned)strlen(v->arg)};
        int r = script_arg_size(p, &t, i ? &io->pat_len : &io->pat_off);
        if (r < 0)
            return r;
        io->flags |= sub[i].bit;
    }
    return 0;
}

/* read and aio_read */
static int parse_read(script_pstate *p, script_cmd *c, const script_tok *args,
                      unsigned n)
{
    static const flag_spec rspec = {"l:P:qs:v", "p", read_refused};
    static const flag_spec aspec = {"P:qv", "", aio_refused};
    bool aio = c->kind == SCRIPT_AIO_READ;
    script_io *io = &c->io;
    flag_set fs;
    int r = io_begin(p, c, aio ? &aspec : &rspec, aio, args, n, &fs);

    if (r == 0)
        r = read_pattern_range(p, &fs, io);
    if (r == 0)
        r = io_numbers(p, &fs, io);
    if (r < 0)
        return r;
    uint64_t off = io->flags & SCRIPT_F_PAT_OFF ? io->pat_off : 0;
    uint64_t len = io->flags & SCRIPT_F_PAT_LEN ? io->pat_len : io->len - off;
    if (off > io->len || len > io->len - off)
        return script_perr(p, fs.f[fs.f['l'].set ? 'l' : 's'].col,
                           "pattern verification range exceeds end of read "
                           "data");
    return 0;
}

static int parse_discard(script_pstate *p, script_cmd *c,
                         const script_tok *args, unsigned n)
{
    static const refused_flag refused[] = {{'C', "statistics"}, {0, NULL}};
    static const flag_spec spec = {"q", "", refused};
    flag_set fs;
    int r = io_begin(p, c, &spec, false, args, n, &fs);

    return r < 0 ? r : io_numbers(p, &fs, &c->io);
}

static int parse_truncate(script_pstate *p, script_cmd *c,
                          const script_tok *args, unsigned n)
{
    static const refused_flag refused[] = {{'m', "preallocation modes"},
                                           {0, NULL}};
    static const flag_spec spec = {"", "", refused};
    flag_set fs;
    int r = parse_flags(p, "truncate", &spec, args, n, &fs);

    if (r < 0)
        return r;
    if (fs.nops == 0)
        return script_perr(p, p->ln->end_col,
                           "expected a size after 'truncate'");
    if (fs.nops > 1)
        return script_perr(p, fs.ops[1].col,
                           "unexpected argument '%.64s' after the size",
                           fs.ops[1].s);
    return script_arg_size(p, &fs.ops[0], &c->size);
}

static int parse_reopen(script_pstate *p, script_cmd *c, const script_tok *args,
                        unsigned n)
{
    static const refused_flag refused[] = {{'r', "read-only reopen"},
                                           {'w', "read-write reopen"},
                                           {'c', "cache modes"},
                                           {'o', "driver options"},
                                           {0, NULL}};
    static const flag_spec spec = {"", "", refused};
    flag_set fs;
    int r = parse_flags(p, "reopen", &spec, args, n, &fs);

    (void)c;
    return r < 0 ? r : script_need_none(p, "reopen", fs.ops, fs.nops);
}

static int parse_none(script_pstate *p, script_cmd *c, const script_tok *args,
                      unsigned n)
{
    return script_need_none(p, script_kind_name(c->kind), args, n);
}

static int parse_break(script_pstate *p, script_cmd *c, const script_tok *args,
                       unsigned n)
{
    if (n == 0)
        return script_perr(p, p->ln->end_col,
                           "expected an event name after 'break'");
    if (n == 1)
        return script_perr(p, p->ln->end_col, "expected a tag after the event");
    if (n > 2)
        return script_perr(p, args[2].col,
                           "unexpected argument '%.64s' after the tag",
                           args[2].s);
    c->bp.event = eng_event_by_name(args[0].s);
    if (c->bp.event < 0)
        return script_perr(p, args[0].col, "unknown event '%.64s'", args[0].s);
    int r = script_arg_name(p, &args[1], "tag");
    if (r < 0)
        return r;
    c->bp.tag = script_strdup(p->s, args[1].s);
    return c->bp.tag ? 0 : -ENOMEM;
}

/* wait_break, resume, remove_break */
static int parse_tag(script_pstate *p, script_cmd *c, const script_tok *args,
                     unsigned n)
{
    const char *cmd = script_kind_name(c->kind);

    if (n == 0)
        return script_perr(p, p->ln->end_col, "expected a tag after '%s'", cmd);
    if (n > 1)
        return script_perr(p, args[1].col,
                           "unexpected argument '%.64s' after the tag",
                           args[1].s);
    int r = script_arg_name(p, &args[0], "tag");
    if (r < 0)
        return r;
    c->bp.tag = script_strdup(p->s, args[0].s);
    return c->bp.tag ? 0 : -ENOMEM;
}

/* ---- dispatch ------------------------------------------------------------ */

static const struct {
    const char *word;
    script_kind kind;
    script_args_fn *fn;
} commands[] = {
    {"write", SCRIPT_WRITE, parse_write},
    {"w", SCRIPT_WRITE, parse_write},
    {"read", SCRIPT_READ, parse_read},
    {"r", SCRIPT_READ, parse_read},
    {"aio_write", SCRIPT_AIO_WRITE, parse_write},
    {"aio_read", SCRIPT_AIO_READ, parse_read},
    {"aio_flush", SCRIPT_AIO_FLUSH, parse_none},
    {"flush", SCRIPT_FLUSH, parse_none},
    {"f", SCRIPT_FLUSH, parse_none},
    {"discard", SCRIPT_DISCARD, parse_discard},
    {"d", SCRIPT_DISCARD, parse_discard},
    {"break", SCRIPT_BREAK, parse_break},
    {"wait_break", SCRIPT_WAIT_BREAK, parse_tag},
    {"resume", SCRIPT_RESUME, parse_tag},
    {"remove_break", SCRIPT_REMOVE_BREAK, parse_tag},
    {"close", SCRIPT_CLOSE, parse_none},
    {"reopen", SCRIPT_REOPEN, parse_reopen},
    {"truncate", SCRIPT_TRUNCATE, parse_truncate},
    {"t", SCRIPT_TRUNCATE, parse_truncate},
    {"image", SCRIPT_IMAGE_CREATE, script_parse_image},
    {"sched", SCRIPT_SCHED, script_parse_sched},
    {"check", SCRIPT_CHECK, parse_none},
    {"mutant", SCRIPT_MUTANT, script_parse_mutant},
    {"expect_error", SCRIPT_EXPECT_ERROR, script_parse_expect_error},
    {"policy", SCRIPT_POLICY, script_parse_policy},
    {"resume_errors", SCRIPT_RESUME_ERRORS, parse_none},
    {"host", SCRIPT_HOST_LIMIT, script_parse_host},
    {"inject", SCRIPT_INJECT, script_parse_inject},
    {"crash", SCRIPT_CRASH, script_parse_crash},
};

/* qemu-io commands cowpoke does not take. */
static const char *const qemu_io_only[] = {
    "readv",       "writev",     "multiwrite",  "length",    "l",
    "info",        "i",          "alloc",       "a",         "map",
    "sleep",       "abort",      "sigraise",    "help",      "?",
    "quit",        "q",          "zone_report", "zone_open", "zone_close",
    "zone_finish", "zone_reset", "zone_append", "zrp",       "zo",
    "zc",          "zf",         "zrs",         "zap"};

static int unknown_command(script_pstate *p, const script_tok *w)
{
    if (strcmp(w->s, "open") == 0)
        return script_perr(p, w->col,
                           "qemu-io's 'open' is not supported: "
                           "use 'image open FILE'");
    for (size_t i = 0; i < sizeof(qemu_io_only) / sizeof(qemu_io_only[0]); i++)
        if (strcmp(w->s, qemu_io_only[i]) == 0)
            return script_perr(p, w->col,
                               "qemu-io command '%s' is not "
                               "supported by cowpoke",
                               w->s);
    return script_perr(p, w->col, "unknown command '%.64s'", w->s);
}

/* ---- the driver ---------------------------------------------------------- */

typedef struct parser {
    script_pstate ps;
    const char **pending; /* comment lines waiting for their command */
    size_t npending, cap;
    size_t ncomments;
} parser;

static int no_memory(parser *P)
{
    script_fail(P->ps.err, P->ps.s->name, P->ps.ln ? P->ps.ln->lineno : 0, 0,
                "out of memory");
    return -ENOMEM;
}

static int keep_comment(parser *P, const char *text, const char **out)
{
    if (++P->ncomments > SCRIPT_MAX_COMMENTS)
        return script_perr(&P->ps, (unsigned)(text - P->ps.ln->buf),
                           "more than %d comments", SCRIPT_MAX_COMMENTS);
    *out = script_strdup(P->ps.s, text);
    return *out ? 0 : no_memory(P);
}

/* Move the pending comment lines into the arena: *lines, *n. */
static int flush_pending(parser *P, const char ***lines, size_t *n)
{
    *n = P->npending;
    *lines = NULL;
    if (P->npending == 0)
        return 0;
    *lines =
        script_memdup(P->ps.s, P->pending, P->npending * sizeof(P->pending[0]));
    P->npending = 0;
    return *lines ? 0 : no_memory(P);
}

static unsigned col_of(const parser *P, const char *at)
{
    return (unsigned)(at - P->ps.ln->buf) + 1;
}

static const char *skip_blank(const char *t)
{
    while (*t == ' ' || *t == '\t')
        t++;
    return t;
}

/* A `# expect: VERDICT` line: 1 when it was one (and is now metadata), 0
 * when the comment is something else, or -EINVAL. */
static int expect_line(parser *P, const char *text)
{
    script *s = P->ps.s;
    const char *t = skip_blank(text);

    if (strncmp(t, "expect:", 7) != 0)
        return 0;
    if (s->ncmds > 0)
        return script_perr(&P->ps, col_of(P, text) - 1,
                           "'# expect:' belongs "
                           "in the header, before the first command");
    if (s->has_expect)
        return script_perr(&P->ps, col_of(P, text) - 1,
                           "a second '# expect:' line");
    const char *w = skip_blank(t + 7), *e = w;
    while (*e && *e != ' ' && *e != '\t')
        e++;
    if (e == w)
        return script_perr(&P->ps, col_of(P, w),
                           "expected a verdict after '# expect:'");
    if (*skip_blank(e))
        return script_perr(&P->ps, col_of(P, skip_blank(e)),
                           "unexpected text after the verdict");
    char word[24] = "";
    if ((size_t)(e - w) < sizeof(word))
        memcpy(word, w, (size_t)(e - w));
    int v = script_verdict_by_name(word);
    if (v < 0)
        return script_perr(&P->ps, col_of(P, w),
                           "unknown verdict '%.*s' (ok, data-mismatch, "
                           "metadata-corrupt, error-swallowed, unexpected-"
                           "error, engine-abort, deadlock, budget, "
                           "script-error)",
                           (int)(e - w > 32 ? 32 : e - w), w);
    s->has_expect = true;
    s->expect = (script_verdict)v;
    return 1;
}

static int comment_line(parser *P, const char *text)
{
    int r = expect_line(P, text);

    if (r != 0)
        return r < 0 ? r : 0;
    if (P->npending == P->cap) {
        size_t cap = P->cap ? P->cap * 2 : 16;
        const char **n = realloc(P->pending, cap * sizeof(*n));
        if (!n)
            return no_memory(P);
        P->pending = n;
        P->cap = cap;
    }
    return keep_comment(P, text, &P->pending[P->npending++]);
}

static int command_line(parser *P)
{
    script_pstate *p = &P->ps;
    const script_line *ln = p->ln;
    const script_tok *w = &ln->tok[0];
    size_t i = 0, n = sizeof(commands) / sizeof(commands[0]);

    while (i < n && strcmp(commands[i].word, w->s) != 0)
        i++;
    if (i == n)
        return unknown_command(p, w);
    if (p->s->ncmds >= SCRIPT_MAX_CMDS)
        return script_perr(p, w->col, "more than %d commands", SCRIPT_MAX_CMDS);
    script_cmd *c = script_append(p->s, commands[i].kind);
    if (!c)
        return no_memory(P);
    c->line = ln->lineno;
    c->col = w->col;
    int r = commands[i].fn(p, c, ln->tok + 1, ln->ntok - 1);
    if (r == 0 && p->s->ncmds == 1)
        r = flush_pending(P, &p->s->header, &p->s->nheader);
    else if (r == 0)
        r = flush_pending(P, &c->comments, &c->ncomments);
    if (r == 0 && ln->comment)
        r = keep_comment(P, ln->comment, &c->trailing);
    return r == -ENOMEM ? no_memory(P) : r;
}

static int parse_lines(parser *P, const char *name, const char *text,
                       size_t len)
{
    script_lexer lx;
    script_line *ln = malloc(sizeof(*ln));
    int r;

    if (!ln)
        return no_memory(P);
    P->ps.ln = ln;
    script_lex_init(&lx, name, text, len);
    while ((r = script_lex_line(&lx, ln, P->ps.err)) > 0) {
        if (ln->ntok > 0)
            r = command_line(P);
        else if (ln->comment)
            r = comment_line(P, ln->comment);
        if (r < 0)
            break;
    }
    if (r == 0 && P->ps.s->ncmds == 0)
        r = flush_pending(P, &P->ps.s->header, &P->ps.s->nheader);
    else if (r == 0)
        r = flush_pending(P, &P->ps.s->footer, &P->ps.s->nfooter);
    P->ps.ln = NULL;
    free(ln);
    return r;
}

int script_parse(const char *name, const char *text, size_t len, script **out,
                 script_error *err)
{
    parser *P = calloc(1, sizeof(*P));
    int r;

    *out = NULL;
    memset(err, 0, sizeof(*err));
    if (!P) {
        script_fail(err, name, 0, 0, "out of memory");
        return -ENOMEM;
    }
    P->ps.err = err;
    P->ps.s = script_new(name);
    if (!P->ps.s) {
        free(P);
        script_fail(err, name, 0, 0, "out of memory");
        return -ENOMEM;
    }
    r = parse_lines(P, name, text, len);
    if (r < 0)
        script_free(P->ps.s);
    else
        *out = P->ps.s;
    free(P->pending);
    free(P);
    return r;
}

int script_load(const char *path, script **out, script_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int r = 0;

    *out = NULL;
    memset(err, 0, sizeof(*err));
    if (!f) {
        r = -errno;
        script_fail(err, path, 0, 0, "cannot open: %s", strerror(-r));
        return r;
    }
    for (;;) {
        if (len == cap) {
            char *n = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (!n) {
                r = -ENOMEM;
                script_fail(err, path, 0, 0, "out of memory");
                break;
            }
            buf = n;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                r = -EIO;
                script_fail(err, path, 0, 0, "read error");
            }
            break;
        }
    }
    fclose(f);
    if (r == 0)
        r = script_parse(path, buf, len, out, err);
    free(buf);
    return r;
}
