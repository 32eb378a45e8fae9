/*
 * script_lex.c - lines, words and numbers of the .io language.
 *
 * Lines end at '\n'; any '\r's before it are dropped (CRLF files). A line
 * holds words separated by spaces and tabs; a '#' that starts a word starts
 * a comment running to the end of the line. Words are printable ASCII
 * (0x21..0x7e); a comment may hold any byte but NUL, so UTF-8 (valid or not)
 * lives there unharmed.
 *
 * Numbers follow qemu-io: sizes use QEMU's size syntax (util/cutils.c
 * qemu_strtosz as of QEMU 8/9, which cvtnum caps at INT64_MAX), patterns
 * strtol(s, 0)'s. Overflow is an error, never a wrap. The implementation is
 * cowpoke's own, in integers (QEMU goes through double for fractions).
 *
 * Invariant: nothing here reads past text + len or past a word's NUL; the
 * lexer copies a line into the caller's script_line before splitting it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "script_int.h"

int script_fail(script_error *err, const char *file, unsigned line,
                unsigned col, const char *fmt, ...)
{
    va_list ap;

    snprintf(err->file, sizeof(err->file), "%s", file ? file : "<script>");
    err->line = line;
    err->col = col;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int script_error_format(const script_error *err, char *buf, size_t len)
{
    return snprintf(buf, len, "%s:%u:%u: %s", err->file, err->line, err->col,
                    err->msg);
}

void script_lex_init(script_lexer *lx, const char *name, const char *text,
                     size_t len)
{
    lx->name = name;
    lx->text = text;
    lx->len = len;
    lx->pos = 0;
    lx->lineno = 0;
}

/* Split ln->buf (n bytes, NUL-terminated) into words and a comment. */
static int split_words(script_lexer *lx, script_line *ln, size_t n,
                       script_error *err)
{
    char *b = ln->buf;
    size_t i = 0;

    while (i < n) {
        if (b[i] == ' ' || b[i] == '\t') {
            i++;
            continue;
        }
        if (b[i] == '#') {
            if (n - i - 1 > SCRIPT_MAX_COMMENT)
                return script_fail(err, lx->name, ln->lineno,
                                   (unsigned)i + 2 + SCRIPT_MAX_COMMENT,
                                   "comment longer than %d bytes",
                                   SCRIPT_MAX_COMMENT);
            ln->comment = b + i + 1;
            break;
        }
        size_t start = i;
        for (; i < n && b[i] != ' ' && b[i] != '\t'; i++) {
            unsigned char c = (unsigned char)b[i];
            if (c < 0x21 || c > 0x7e)
                return script_fail(err, lx->name, ln->lineno, (unsigned)i + 1,
                                   "unexpected byte 0x%02x: commands are "
                                   "printable ASCII (other bytes only in "
                                   "comments)",
                                   c);
        }
        if (ln->ntok == SCRIPT_MAX_WORDS)
            return script_fail(err, lx->name, ln->lineno, (unsigned)start + 1,
                               "more than %d words in one command",
                               SCRIPT_MAX_WORDS);
        script_tok *t = &ln->tok[ln->ntok++];
        t->s = b + start;
        t->col = (unsigned)start + 1;
        t->len = (unsigned)(i - start);
        ln->end_col = (unsigned)i + 1;
        if (i - (ln->tok[0].col - 1) > SCRIPT_MAX_CMD_TEXT)
            return script_fail(
                err, lx->name, ln->lineno, ln->tok[0].col + SCRIPT_MAX_CMD_TEXT,
                "command longer than %d bytes", SCRIPT_MAX_CMD_TEXT);
        if (i < n)
            b[i++] = '\0';
    }
    return 1;
}

int script_lex_line(script_lexer *lx, script_line *ln, script_error *err)
{
    if (lx->pos >= lx->len)
        return 0;
    const char *start = lx->text + lx->pos;
    size_t rest = lx->len - lx->pos;
    const char *nl = memchr(start, '\n', rest);
    size_t n = nl ? (size_t)(nl - start) : rest;

    lx->pos += nl ? n + 1 : n;
    ln->lineno = ++lx->lineno;
    ln->ntok = 0;
    ln->comment = NULL;
    ln->end_col = 1;
    while (n > 0 && start[n - 1] == '\r')
        n--;
    if (n > SCRIPT_MAX_LINE)
        return script_fail(err, lx->name, ln->lineno, SCRIPT_MAX_LINE + 1,
                           "line longer than %d bytes", SCRIPT_MAX_LINE);
    const char *nul = memchr(start, '\0', n);
    if (nul)
        return script_fail(err, lx->name, ln->lineno,
                           (unsigned)(nul - start) + 1,
                           "NUL byte in the script");
    memcpy(ln->buf, start, n);
    ln->buf[n] = '\0';
    return split_words(lx, ln, n, err);
}

/* ---- numbers ------------------------------------------------------------- */

static int digit_value(char c, unsigned base)
{
    int v = -1;

    if (c >= '0' && c <= '9')
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    return v >= 0 && (unsigned)v < base ? v : -1;
}

/* Read digits of `base` at s into *v, saturating at UINT64_MAX (then *big).
 * Returns the first byte after them; *ndig counts them. */
static const char *scan_digits(const char *s, unsigned base, uint64_t *v,
                               bool *big, unsigned *ndig)
{
    int d;

    *v = 0;
    *big = false;
    *ndig = 0;
    for (; (d = digit_value(*s, base)) >= 0; s++, (*ndig)++) {
        if (*v > (UINT64_MAX - (unsigned)d) / base)
            *big = true;
        else
            *v = *v * base + (unsigned)d;
    }
    return s;
}

/* The power of two of a size suffix (b k m g t p e, either case), or -1. */
static int suffix_shift(char c)
{
    static const char letters[] = "bkmgtpe";
    const char *q = c ? strchr(letters, c | 0x20) : NULL;

    return q ? (int)(q - letters) * 10 : -1;
}

static int too_large(const char *s, uint64_t max, char *msg, size_t ml)
{
    snprintf(msg, ml, "'%s' is too large (at most %llu)", s,
             (unsigned long long)max);
    return -ERANGE;
}

static int bad_size(const char *s, const char *why, char *msg, size_t ml)
{
    snprintf(msg, ml, "'%s' is not a size: %s", s, why);
    return -EINVAL;
}

static int lex_hex_size(const char *s, uint64_t *out, char *msg, size_t ml)
{
    uint64_t v;
    bool big;
    unsigned nd;
    const char *e = scan_digits(s + 2, 16, &v, &big, &nd);

    if (nd == 0)
        return bad_size(s, "expected hex digits after 0x", msg, ml);
    if (*e == '.')
        return bad_size(s, "hex sizes take no fraction", msg, ml);
    if (*e && suffix_shift(*e) > 0)
        return bad_size(s,
                        "hex sizes take no suffix (write 32M or "
                        "0x2000000, not 0x20M)",
                        msg, ml);
    if (*e) {
        char why[48];
        snprintf(why, sizeof(why), "unexpected '%c'", *e);
        return bad_size(s, why, msg, ml);
    }
    if (big || v > INT64_MAX)
        return too_large(s, INT64_MAX, msg, ml);
    *out = v;
    return 0;
}

/* The fraction digits after '.', truncated to 18 digits: num / den. */
static const char *scan_fraction(const char *s, uint64_t *num, uint64_t *den,
                                 bool *nonzero, unsigned *ndig)
{
    *num = 0;
    *den = 1;
    *nonzero = false;
    *ndig = 0;
    for (; *s >= '0' && *s <= '9'; s++, (*ndig)++) {
        if (*s != '0')
            *nonzero = true;
        if (*ndig < 18) {
            *num = *num * 10 + (uint64_t)(*s - '0');
            *den *= 10;
        }
    }
    return s;
}

int script_parse_size(const char *s, uint64_t *out, char *msg, size_t ml)
{
    uint64_t ip, fnum = 0, fden = 1;
    bool big, fnz = false;
    unsigned nd, fd = 0;
    int shift = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return lex_hex_size(s, out, msg, ml);
    const char *e = scan_digits(s, 10, &ip, &big, &nd);
    if (*e == '.')
        e = scan_fraction(e + 1, &fnum, &fden, &fnz, &fd);
    if (nd == 0 && fd == 0)
        return bad_size(s, "expected a decimal number or 0x hex", msg, ml);
    if (*e && (shift = suffix_shift(*e)) >= 0)
        e++;
    else
        shift = 0;
    if (*e) {
        char why[48];
        snprintf(why, sizeof(why), "unexpected '%c' after the number", *e);
        return bad_size(s, why, msg, ml);
    }
    if (fnz && shift == 0)
        return bad_size(s,
                        "a fraction needs a suffix larger than bytes "
                        "(k, M, G, T, P or E)",
                        msg, ml);
    if (big || ip > ((uint64_t)INT64_MAX >> shift))
        return too_large(s, INT64_MAX, msg, ml);
    unsigned __int128 frac = ((unsigned __int128)fnum << shift) / fden;
    uint64_t v = (ip << shift) + (uint64_t)frac;
    if (v > INT64_MAX)
        return too_large(s, INT64_MAX, msg, ml);
    *out = v;
    return 0;
}

int script_lex_uint(const char *s, uint64_t *out, char *msg, size_t ml)
{
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    uint64_t v;
    bool big;
    unsigned nd;
    const char *e = scan_digits(hex ? s + 2 : s, hex ? 16 : 10, &v, &big, &nd);

    if (nd == 0 || *e) {
        snprintf(msg, ml,
                 "'%s' is not a number (decimal or 0x hex, without suffix)", s);
        return -EINVAL;
    }
    if (big)
        return too_large(s, UINT64_MAX, msg, ml);
    *out = v;
    return 0;
}

int script_lex_pattern(const char *s, uint8_t *out, char *msg, size_t ml)
{
    unsigned base = 10;
    const char *d = s;
    uint64_t v;
    bool big;
    unsigned nd;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        d = s + 2;
    } else if (s[0] == '0' && s[1]) {
        base = 8;
        d = s + 1;
    }
    const char *e = scan_digits(d, base, &v, &big, &nd);
    if (nd == 0 || *e || big || v > 255) {
        snprintf(msg, ml,
                 "'%s' is not a valid pattern byte (0..255, "
                 "decimal, 0x hex or 0 octal)",
                 s);
        return -EINVAL;
    }
    *out = (uint8_t)v;
    return 0;
}
