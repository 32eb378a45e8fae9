/*
 * test_script.c - the .io language: every command's fields, numbers and
 * their suffixes, errors with their exact position, comments, limits, the
 * canonical printer and the round trip, the seed scripts in scripts/, and
 * a seeded random run through parse + print + reparse.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eng_event.h"
#include "eng_mutant.h"
#include "script.h"
#include "unit.h"

/* ---- helpers ------------------------------------------------------------- */

static script *parse_named(const char *name, const char *text, size_t len,
                           script_error *e)
{
    script *s = NULL;
    int r = script_parse(name, text, len, &s, e);

    CHECK((r == 0) == (s != NULL));
    return s;
}

static script *parse_ok(const char *text)
{
    script_error e;
    script *s = parse_named("t.io", text, strlen(text), &e);

    if (!s) {
        char b[600];
        script_error_format(&e, b, sizeof(b));
        fprintf(stderr, "unexpected parse error: %s\n  in: %.200s\n", b, text);
    }
    CHECK(s != NULL);
    return s;
}

/* One command, parsed alone. The caller frees *owner. */
static const script_cmd *one(const char *text, script **owner)
{
    *owner = parse_ok(text);
    if (!*owner || (*owner)->ncmds != 1) {
        CHECK(*owner && (*owner)->ncmds == 1);
        return NULL;
    }
    return &(*owner)->cmds[0];
}

static void expect_error(const char *text, size_t len, unsigned line,
                         unsigned col, const char *sub)
{
    script_error e;
    script *s = parse_named("bad.io", text, len, &e);

    if (s || e.line != line || e.col != col || !strstr(e.msg, sub) ||
        strcmp(e.file, "bad.io") != 0) {
        char b[600];
        script_error_format(&e, b, sizeof(b));
        fprintf(stderr, "for %.60s: got '%s', want %u:%u '%s'\n", text,
                s ? "(parsed)" : b, line, col, sub);
        unit_failures++;
    }
    script_free(s);
}

#define BAD(text, line, col, sub)                                              \
    expect_error(text, strlen(text), line, col, sub)

/* parse(print(s)) equals s, and printing is a fixed point. */
static void check_round_trip(const script *a)
{
    char *p1 = script_print(a, NULL);
    script *b = p1 ? parse_ok(p1) : NULL;

    CHECK(p1 != NULL);
    if (b) {
        char *p2 = script_print(b, NULL);
        if (!script_equal(a, b) || !p2 || strcmp(p1, p2) != 0) {
            fprintf(stderr, "round trip differs for:\n%.2000s\n", p1);
            unit_failures++;
        }
        free(p2);
    }
    script_free(b);
    free(p1);
}

static void check_prints_as(const char *in, const char *want)
{
    script *s = parse_ok(in);
    char *out = s ? script_print(s, NULL) : NULL;

    if (!out || strcmp(out, want) != 0) {
        fprintf(stderr, "printed:\n%s\nwanted:\n%s\n", out ? out : "(null)",
                want);
        unit_failures++;
    }
    free(out);
    script_free(s);
}

/* ---- every command ------------------------------------------------------- */

static void test_data_commands(void)
{
    static const struct {
        const char *text;
        script_kind kind;
        unsigned flags, pattern;
        uint64_t off, len, pat_off, pat_len;
    } t[] = {
        {"write -P 0x11 0 128k", SCRIPT_WRITE, SCRIPT_F_PATTERN, 0x11, 0,
         128 << 10, 0, 0},
        {"  write -z -u -f -q 64k 4k", SCRIPT_WRITE,
         SCRIPT_F_ZERO | SCRIPT_F_UNMAP | SCRIPT_F_FUA | SCRIPT_F_QUIET, 0,
         65536, 4096, 0, 0},
        {"read -P 0x22 -s 512 -l 1k -q -v 32k 8k", SCRIPT_READ,
         SCRIPT_F_PATTERN | SCRIPT_F_PAT_OFF | SCRIPT_F_PAT_LEN |
             SCRIPT_F_QUIET | SCRIPT_F_VERBOSE,
         0x22, 32768, 8192, 512, 1024},
        {"aio_write -P 7 1M 512", SCRIPT_AIO_WRITE, SCRIPT_F_PATTERN, 7,
         1 << 20, 512, 0, 0},
        {"aio_write -z 0 1", SCRIPT_AIO_WRITE, SCRIPT_F_ZERO, 0, 0, 1, 0, 0},
        {"aio_read -qv -P0x33 4k 4k", SCRIPT_AIO_READ,
         SCRIPT_F_PATTERN | SCRIPT_F_QUIET | SCRIPT_F_VERBOSE, 0x33, 4096, 4096,
         0, 0},
        {"discard -q 0 1M", SCRIPT_DISCARD, SCRIPT_F_QUIET, 0, 0, 1 << 20, 0,
         0},
        /* glibc getopt: flags after the operands, "--"; -p is ignored */
        {"write 4k 512 -zu -p", SCRIPT_WRITE, SCRIPT_F_ZERO | SCRIPT_F_UNMAP, 0,
         4096, 512, 0, 0},
        {"w -- 0 1", SCRIPT_WRITE, 0, 0, 0, 1, 0, 0},
        {"r -p 7 0", SCRIPT_READ, 0, 0, 7, 0, 0, 0},
    };
    script *s;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const script_cmd *c = one(t[i].text, &s);
        const script_io *io = c ? &c->io : NULL;
        if (!io || c->kind != t[i].kind || io->flags != t[i].flags ||
            io->off != t[i].off || io->len != t[i].len ||
            ((io->flags & SCRIPT_F_PATTERN) && io->pattern != t[i].pattern) ||
            ((io->flags & SCRIPT_F_PAT_OFF) && io->pat_off != t[i].pat_off) ||
            ((io->flags & SCRIPT_F_PAT_LEN) && io->pat_len != t[i].pat_len)) {
            fprintf(stderr, "fields of '%s' differ\n", t[i].text);
            unit_failures++;
        }
        script_free(s);
    }
    s = parse_ok("flush\n\n  write 0 1");
    CHECK(s && s->ncmds == 2);
    if (s && s->ncmds == 2) {
        CHECK_EQ(s->cmds[1].line, 3);
        CHECK_EQ(s->cmds[1].col, 3);
    }
    script_free(s);
}

static void test_control_commands(void)
{
    static const struct {
        const char *text;
        script_kind kind;
    } bare[] = {{"aio_flush", SCRIPT_AIO_FLUSH},
                {"flush", SCRIPT_FLUSH},
                {"f", SCRIPT_FLUSH},
                {"close", SCRIPT_CLOSE},
                {"reopen", SCRIPT_REOPEN},
                {"check", SCRIPT_CHECK},
                {"resume_errors", SCRIPT_RESUME_ERRORS},
                {"crash", SCRIPT_CRASH}};
    script *s;
    const script_cmd *c;

    for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
        c = one(bare[i].text, &s);
        if (c)
            CHECK_EQ(c->kind, bare[i].kind);
        script_free(s);
    }
    c = one("break cow_read A", &s);
    if (c) {
        CHECK_EQ(c->kind, SCRIPT_BREAK);
        CHECK_EQ(c->bp.event, ENG_EV_COW_READ);
        CHECK(strcmp(c->bp.tag, "A") == 0);
    }
    script_free(s);
    static const char *const tagged[] = {"wait_break", "resume",
                                         "remove_break"};
    static const script_kind tkind[] = {SCRIPT_WAIT_BREAK, SCRIPT_RESUME,
                                        SCRIPT_REMOVE_BREAK};
    for (int i = 0; i < 3; i++) {
        char b[64];
        snprintf(b, sizeof(b), "%s tag-1.x", tagged[i]);
        c = one(b, &s);
        if (c) {
            CHECK_EQ(c->kind, tkind[i]);
            CHECK(strcmp(c->bp.tag, "tag-1.x") == 0);
        }
        script_free(s);
    }
    c = one("truncate 8M", &s);
    if (c) {
        CHECK_EQ(c->kind, SCRIPT_TRUNCATE);
        CHECK_EQ(c->size, 8 << 20);
    }
    script_free(s);
}

static void test_image_commands(void)
{
    script *s = parse_ok("image create name=base size=4M cluster_size=64k "
                         "version=3 refcount_bits=16\n"
                         "image create size=2M backing=base backing_fmt=qcow2\n"
                         "image open /tmp/x.qcow2 backing=/tmp/b.raw\n"
                         "image open rel.qcow2\n");

    if (!s || s->ncmds != 4) {
        CHECK(s && s->ncmds == 4);
        script_free(s);
        return;
    }
    const script_create *a = &s->cmds[0].create, *b = &s->cmds[1].create;
    CHECK_EQ(s->cmds[0].kind, SCRIPT_IMAGE_CREATE);
    CHECK(strcmp(a->name, "base") == 0);
    CHECK_EQ(a->size, 4 << 20);
    CHECK_EQ(a->cluster_size, 65536);
    CHECK_EQ(a->version, 3);
    CHECK_EQ(a->refcount_bits, 16);
    CHECK(a->backing == NULL);
    CHECK(b->name == NULL);
    CHECK(strcmp(b->backing, "base") == 0);
    CHECK_EQ(b->backing_fmt, SCRIPT_FMT_QCOW2);
    CHECK_EQ(b->cluster_size, 0);
    CHECK_EQ(b->version, 0);
    CHECK_EQ(s->cmds[2].kind, SCRIPT_IMAGE_OPEN);
    CHECK(strcmp(s->cmds[2].open.file, "/tmp/x.qcow2") == 0);
    CHECK(strcmp(s->cmds[2].open.backing, "/tmp/b.raw") == 0);
    CHECK(s->cmds[3].open.backing == NULL);
    script_free(s);
}

/* image use NAME: a name of image create, or the FILE of image open; it
 * prints back as written and compares by name. */
static void test_image_use(void)
{
    script *s = parse_ok("image create name=base size=4M\n"
                         "image open rel.qcow2\n"
                         "image use base\n"
                         "image use rel.qcow2\n"
                         "image use base\n");

    if (!s || s->ncmds != 5) {
        CHECK(s && s->ncmds == 5);
        script_free(s);
        return;
    }
    CHECK_EQ(s->cmds[2].kind, SCRIPT_IMAGE_USE);
    CHECK(strcmp(s->cmds[2].use, "base") == 0);
    CHECK(strcmp(s->cmds[3].use, "rel.qcow2") == 0);
    CHECK(strcmp(script_kind_name(SCRIPT_IMAGE_USE), "image use") == 0);
    CHECK(script_cmd_equal(&s->cmds[2], &s->cmds[4]));
    CHECK(!script_cmd_equal(&s->cmds[2], &s->cmds[3]));
    char *text = script_print(s, NULL);
    CHECK(text && strstr(text, "image use base\nimage use rel.qcow2\n"));
    free(text);
    script_free(s);
}

static void test_extension_commands(void)
{
    char text[1024];
    const char *mname = eng_mutant_get((eng_mutant)0)->name;
    snprintf(text, sizeof(text),
             "sched fifo\nsched random 42\nsched tape 00ff10\nmutant %s\n"
             "expect_error ENOSPC\npolicy werror=stop\npolicy werror=report\n"
             "host limit 1M\nhost grow 8M\n"
             "inject l2_update errno=EIO once nth=2 off=64k len=4k\n"
             "inject write errno=ENOSPC\ninject read errno=EIO nth=3\n"
             "inject flush once errno=EOPNOTSUPP\n"
             "crash drop=all\ncrash drop=random 7\n",
             mname);
    script *s = parse_ok(text);
    if (!s || s->ncmds != 15) {
        CHECK(s && s->ncmds == 15);
        script_free(s);
        return;
    }
    const script_cmd *c = s->cmds;
    CHECK_EQ(c[0].sched.policy, SCRIPT_SCHED_FIFO);
    CHECK_EQ(c[1].sched.policy, SCRIPT_SCHED_RANDOM);
    CHECK_EQ(c[1].sched.seed, 42);
    CHECK_EQ(c[2].sched.policy, SCRIPT_SCHED_TAPE);
    CHECK_EQ(c[2].sched.tape_len, 3);
    CHECK_MEM(c[2].sched.tape, "\x00\xff\x10", 3);
    CHECK_EQ(c[3].mutant, 0);
    CHECK_EQ(c[4].err, ENOSPC);
    CHECK_EQ(c[5].werror, SCRIPT_WERROR_STOP);
    CHECK_EQ(c[6].werror, SCRIPT_WERROR_REPORT);
    CHECK_EQ(c[7].kind, SCRIPT_HOST_LIMIT);
    CHECK_EQ(c[7].size, 1 << 20);
    CHECK_EQ(c[8].kind, SCRIPT_HOST_GROW);
    CHECK_EQ(c[8].size, 8 << 20);
    const script_inject *in = &c[9].inject;
    CHECK_EQ(in->target, SCRIPT_INJ_EVENT);
    CHECK_EQ(in->event, ENG_EV_L2_UPDATE);
    CHECK_EQ(in->err, EIO);
    CHECK(in->once && in->has_range);
    CHECK_EQ(in->nth, 2);
    CHECK_EQ(in->off, 65536);
    CHECK_EQ(in->len, 4096);
    CHECK_EQ(c[10].inject.target, SCRIPT_INJ_WRITE);
    CHECK_EQ(c[10].inject.event, -1);
    CHECK(!c[10].inject.once && !c[10].inject.has_range);
    CHECK_EQ(c[10].inject.nth, 0);
    CHECK_EQ(c[11].inject.target, SCRIPT_INJ_READ);
    CHECK_EQ(c[11].inject.nth, 3);
    CHECK_EQ(c[12].inject.target, SCRIPT_INJ_FLUSH);
    CHECK_EQ(c[12].inject.err, EOPNOTSUPP);
    CHECK_EQ(c[13].crash.drop, SCRIPT_DROP_ALL);
    CHECK_EQ(c[14].crash.drop, SCRIPT_DROP_RANDOM);
    CHECK_EQ(c[14].crash.seed, 7);
    for (size_t i = 0; i < s->ncmds; i++)
        CHECK_EQ(c[i].line, i + 1);
    check_round_trip(s);
    script_free(s);
}

/* ---- numbers ------------------------------------------------------------- */

static void check_size(const char *tok, int want_r, uint64_t want)
{
    char text[96];
    script *s;

    snprintf(text, sizeof(text), "host limit %s", tok);
    script_error e;
    s = parse_named("n.io", text, strlen(text), &e);
    int r = s ? 0 : -1;
    if (r != want_r || (s && s->cmds[0].size != want)) {
        fprintf(stderr, "size %s: got %s %llu (%s), want %d %llu\n", tok,
                s ? "ok" : "error", s ? (unsigned long long)s->cmds[0].size : 0,
                s ? "" : e.msg, want_r, (unsigned long long)want);
        unit_failures++;
    }
    if (!s)
        CHECK_EQ(e.col, 12); /* the number's column */
    script_free(s);
}

static void test_sizes(void)
{
    /* clang-format off */
    static const struct {
        const char *tok;
        int r;
        uint64_t v;
    } t[] = {
        {"0", 0, 0}, {"512", 0, 512}, {"08", 0, 8}, {"1b", 0, 1}, {"1B", 0, 1},
        {"1k", 0, 1024}, {"1K", 0, 1024}, {"64k", 0, 65536},
        {"1m", 0, 1 << 20}, {"1M", 0, 1 << 20}, {"3g", 0, 3ull << 30},
        {"1T", 0, 1ull << 40}, {"2p", 0, 2ull << 50}, {"1E", 0, 1ull << 60},
        {"7e", 0, 7ull << 60}, {"0x10", 0, 16}, {"0X1f", 0, 31},
        {"0x1b", 0, 27}, {"0x1E", 0, 30}, {"1.5k", 0, 1536}, {"1.k", 0, 1024},
        {".5k", 0, 512}, {"1.0", 0, 1}, {"0.3333k", 0, 341},
        {"1.5E", 0, 3ull << 59}, {"9223372036854775807", 0, INT64_MAX},
        {"0x7fffffffffffffff", 0, INT64_MAX}, {"9223372036854775808", -1, 0},
        {"8E", -1, 0}, {"8.5E", -1, 0}, {"8796093022208P", -1, 0},
        {"0x8000000000000000", -1, 0}, {"99999999999999999999999999", -1, 0},
        {"0x20M", -1, 0}, {"0x1.8", -1, 0}, {"0x", -1, 0}, {"1.5", -1, 0},
        {"1.5b", -1, 0}, {"1e3", -1, 0}, {"k", -1, 0}, {"-1", -1, 0},
        {"+1", -1, 0}, {"1kk", -1, 0}, {"1KiB", -1, 0}, {".", -1, 0},
        {"12q", -1, 0},
    };
    /* clang-format on */

    static const struct {
        uint64_t v;
        const char *text;
    } f[] = {{0, "0"},           {512, "512"},
             {1024, "1k"},       {65536, "64k"},
             {1536, "1536"},     {3ull << 30, "3G"},
             {1ull << 60, "1E"}, {7ull << 60, "7E"},
             {1049600, "1025k"}, {INT64_MAX, "9223372036854775807"}};
    char b[32], msg[200];
    uint64_t v;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        check_size(t[i].tok, t[i].r, t[i].v);
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        script_format_size(f[i].v, b);
        CHECK(strcmp(b, f[i].text) == 0);
        CHECK(script_parse_size(b, &v, msg, sizeof(msg)) == 0 && v == f[i].v);
    }
    CHECK_EQ(script_parse_size("8E", &v, msg, sizeof(msg)), -ERANGE);
    CHECK(strstr(msg, "'8E' is too large"));
    CHECK_EQ(script_parse_size("4q", &v, msg, sizeof(msg)), -EINVAL);
    CHECK(strstr(msg, "'4q' is not a size"));
}

static void test_other_numbers(void)
{
    script *s;
    const script_cmd *c;

    c = one("sched random 18446744073709551615", &s);
    if (c)
        CHECK_EQ(c->sched.seed, UINT64_MAX);
    script_free(s);
    c = one("sched random 0xffffffffffffffff", &s);
    if (c)
        CHECK_EQ(c->sched.seed, UINT64_MAX);
    script_free(s);
    BAD("sched random 18446744073709551616", 1, 14, "too large");
    BAD("sched random 1k", 1, 14, "not a number");
    static const struct {
        const char *p;
        int ok;
        unsigned v;
    } pat[] = {{"0x11", 1, 0x11}, {"255", 1, 255}, {"0377", 1, 255},
               {"010", 1, 8},     {"0", 1, 0},     {"0XaB", 1, 0xab},
               {"08", 0, 0},      {"256", 0, 0},   {"-1", 0, 0},
               {"0x", 0, 0},      {"0x100", 0, 0}, {"1k", 0, 0}};
    for (size_t i = 0; i < sizeof(pat) / sizeof(pat[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "read -P %s 0 512", pat[i].p);
        if (pat[i].ok) {
            c = one(text, &s);
            if (c)
                CHECK_EQ(c->io.pattern, pat[i].v);
            script_free(s);
        } else {
            BAD(text, 1, 9, "not a valid pattern byte");
        }
    }
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors(void)
{
    script_error e;
    script *s = parse_named("repro.io",
                            "flush\nflush\n\n# c\nflush\nflush\n"
                            "aio_write 32k\n",
                            47, &e);
    char b[600];
    script_error_format(&e, b, sizeof(b));
    CHECK(s == NULL);
    CHECK(strcmp(b, "repro.io:7:14: expected a length after the offset") == 0);
    script_free(s);

    BAD("write 0\n", 1, 8, "expected a length after the offset");
    BAD("write\n", 1, 6, "expected an offset after 'write'");
    BAD("flush\nfrobnicate 1\n", 2, 1, "unknown command 'frobnicate'");
    BAD("write -c 0 4k", 1, 8, "write -c (compressed writes) is not supported");
    BAD("read -b 0 4k", 1, 7, "read -b (VM state) is not supported");
    BAD("aio_write -i 0 4k", 1, 12, "not supported by cowpoke");
    BAD("write -x 0 4k", 1, 8, "unknown flag -x for write");
    BAD("write -u 0 4k", 1, 8, "-u requires -z");
    BAD("aio_write -qu 0 4k", 1, 13, "-u requires -z");
    BAD("write -z -P 0x11 0 4k", 1, 11, "-z and -P cannot be specified");
    BAD("read -P 256 0 4k", 1, 9, "not a valid pattern byte");
    BAD("write -P", 1, 9, "expected an argument after -P");
    BAD("write 0 0x20M", 1, 9, "hex sizes take no suffix");
    BAD("write 1.5 4k", 1, 7, "a fraction needs a suffix");
    BAD("write 0 3G", 1, 9, "length cannot exceed 2147483136");
    BAD("write 0 4k 4k", 1, 12, "unexpected argument '4k' after the length");
    BAD("aio_write 0 4k 4k", 1, 16, "several lengths (vectored I/O)");
    BAD("truncate 9223372036854775808", 1, 10, "too large");
    BAD("truncate -m full 1M", 1, 11, "preallocation modes");
    BAD("read -s 512 0 4k", 1, 7, "-s needs -P");
    BAD("read -P 1 -l 8k 0 4k", 1, 12, "pattern verification range exceeds");
    BAD("read -P 1 -s 5k 0 4k", 1, 12, "pattern verification range exceeds");
    BAD("reopen -r", 1, 9, "read-only reopen");
    BAD("flush now", 1, 7, "unexpected argument 'now'");
    BAD("break no_such_event A", 1, 7, "unknown event 'no_such_event'");
    BAD("break cow_read", 1, 15, "expected a tag after the event");
    BAD("break cow_read A/B", 1, 16, "not a valid tag");
    BAD("resume", 1, 7, "expected a tag after 'resume'");
    BAD("open foo.qcow2", 1, 1, "use 'image open FILE'");
    BAD("readv 0 512", 1, 1, "qemu-io command 'readv' is not supported");
}

static void test_extension_errors(void)
{
    BAD("image", 1, 6, "expected 'create', 'open' or 'use' after 'image'");
    BAD("image create size=4M backing=nope", 1, 30,
        "no earlier image named 'nope'");
    BAD("image create size=1000", 1, 19, "multiple of 512");
    BAD("image create cluster_size=64k", 1, 30, "needs size=SIZE");
    BAD("image create size=1M cluster_size=3k", 1, 35, "power of two");
    BAD("image create size=1M version=4", 1, 30, "version must be 2 or 3");
    BAD("image create size=1M size=2M", 1, 22, "size= given twice");
    BAD("image create size=1M colour=red", 1, 22, "unknown option 'colour'");
    BAD("image create size=", 1, 19, "expected a value after 'size='");
    BAD("image create size=1M version=2 refcount_bits=8", 1, 32,
        "need version=3");
    BAD("image create size=1M backing_fmt=raw", 1, 22, "needs backing=");
    BAD("image create name=a size=1M\nimage create name=a size=1M", 2, 19,
        "exists already");
    BAD("image create name=a:b size=1M", 1, 19, "not a valid image name");
    BAD("image open", 1, 11, "expected a file name");
    BAD("image use", 1, 10, "expected an image name after 'image use'");
    BAD("image create name=a size=1M\nimage use b", 2, 11,
        "no earlier image named 'b'");
    BAD("image use a\nimage create name=a size=1M", 1, 11,
        "no earlier image named 'a'");
    BAD("image create name=a size=1M\nimage use a b", 2, 13,
        "unexpected argument 'b'");
    BAD("image create size=1M\nimage use #1", 2, 10,
        "expected an image name after 'image use'");
    BAD("sched", 1, 6, "expected fifo, random SEED or tape HEX");
    BAD("sched lifo", 1, 7, "unknown policy 'lifo'");
    BAD("sched tape 0g", 1, 13, "unexpected 'g' in the tape");
    BAD("sched tape 012", 1, 14, "pairs of hex digits");
    BAD("sched fifo 1", 1, 12, "unexpected argument");
    BAD("mutant nope", 1, 8, "unknown mutant 'nope'");
    BAD("expect_error EWHAT", 1, 14, "unknown errno name 'EWHAT'");
    BAD("policy werror=ignore", 1, 15, "werror must be report or stop");
    BAD("policy rerror=stop", 1, 8, "unknown option 'rerror'");
    BAD("host shrink 1M", 1, 6, "expected 'limit' or 'grow'");
    BAD("host limit", 1, 11, "expected a size after 'host limit'");
    BAD("inject write once", 1, 18, "inject needs errno=E");
    BAD("inject nowhere errno=EIO", 1, 8, "unknown inject target 'nowhere'");
    BAD("inject write errno=EIO off=4k", 1, 24, "off= and len= go together");
    BAD("inject write errno=EIO nth=0", 1, 28, "nth counts from 1");
    BAD("inject write errno=EIO off=0 len=0", 1, 34, "len must be at least 1");
    BAD("inject write errno=EIO once once", 1, 29, "once given twice");
    BAD("crash drop=random", 1, 18, "expected a seed after 'drop=random'");
    BAD("crash drop=some", 1, 12, "drop must be all or random SEED");
    BAD("crash drop=all 5", 1, 16, "unexpected argument '5'");
}

static void test_header_errors(void)
{
    BAD("flush\n# expect: ok\n", 2, 1, "belongs in the header");
    BAD("# expect: maybe\n", 1, 11, "unknown verdict 'maybe'");
    BAD("# expect:\n", 1, 10, "expected a verdict");
    BAD("# expect: ok\n#expect: ok\n", 2, 1, "a second '# expect:'");
    BAD("# expect: ok now\n", 1, 14, "unexpected text after the verdict");
}

static void test_bytes_and_limits(void)
{
    expect_error("flush\0", 6, 1, 6, "NUL byte");
    expect_error("# c\0mment\n", 10, 1, 4, "NUL byte");
    BAD("write \xff 0", 1, 7, "unexpected byte 0xff");
    BAD("write\x0b 0 1", 1, 6, "unexpected byte 0x0b");
    BAD("wr\xc3\xa9te 0 1", 1, 3, "unexpected byte 0xc3");

    char *big = malloc(200000);
    if (!big)
        return;
    memset(big, 'a', 5000);
    big[0] = '#';
    expect_error(big, 5000, 1, 4097, "line longer than 4096 bytes");
    memcpy(big, "image open ", 11);
    expect_error(big, 3000, 1, 2049, "command longer than 2048 bytes");
    memcpy(big, "# ", 2);
    expect_error(big, 1200, 1, 1026, "comment longer than 1024 bytes");
    size_t n = (size_t)snprintf(big, 200000, "write");
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(big + n, 200000 - n, " 0");
    expect_error(big, n, 1, 69, "more than 32 words");
    free(big);

    size_t len = 6 * (SCRIPT_MAX_CMDS + 1);
    char *many = malloc(len);
    if (!many)
        return;
    for (size_t i = 0; i < SCRIPT_MAX_CMDS + 1; i++)
        memcpy(many + 6 * i, "flush\n", 6);
    expect_error(many, len, SCRIPT_MAX_CMDS + 1, 1,
                 "more than 100000 commands");
    script_error e;
    script *s = parse_named("m.io", many, len - 6, &e);
    CHECK(s && s->ncmds == SCRIPT_MAX_CMDS);
    script_free(s);
    free(many);
}

/* ---- comments, canonical text, round trip ---------------------------------
 */

static void test_comments(void)
{
    const char *text = "# expect: data-mismatch\n"
                       "# first header line\n"
                       "#second\n"
                       "\n"
                       "write 0 4k  # trailing one\n"
                       "\n"
                       "   # above read\n"
                       "# above read 2\n"
                       "read 0 4k\n"
                       "# footer \xff\xfe h\xc3\xa9\n";
    script *s = parse_ok(text);

    if (!s || s->ncmds != 2) {
        CHECK(s && s->ncmds == 2);
        script_free(s);
        return;
    }
    CHECK(s->has_expect);
    CHECK_EQ(s->expect, SCRIPT_V_DATA_MISMATCH);
    CHECK_EQ(s->nheader, 2);
    CHECK(strcmp(s->header[0], " first header line") == 0);
    CHECK(strcmp(s->header[1], "second") == 0);
    CHECK(strcmp(s->cmds[0].trailing, " trailing one") == 0);
    CHECK_EQ(s->cmds[0].ncomments, 0);
    CHECK_EQ(s->cmds[1].ncomments, 2);
    CHECK(strcmp(s->cmds[1].comments[0], " above read") == 0);
    CHECK(s->cmds[1].trailing == NULL);
    CHECK_EQ(s->cmds[1].line, 9);
    CHECK_EQ(s->nfooter, 1);
    CHECK(strcmp(s->footer[0], " footer \xff\xfe h\xc3\xa9") == 0);
    script_free(s);
    check_prints_as(text, "# expect: data-mismatch\n"
                          "# first header line\n"
                          "#second\n"
                          "\n"
                          "write 0 4k  # trailing one\n"
                          "# above read\n"
                          "# above read 2\n"
                          "read 0 4k\n"
                          "# footer \xff\xfe h\xc3\xa9\n");
    /* without commands every comment is a header line */
    s = parse_ok("#a\n# expect: budget\n#b\n");
    if (s) {
        CHECK_EQ(s->nheader, 2);
        CHECK_EQ(s->nfooter, 0);
        CHECK_EQ(s->expect, SCRIPT_V_BUDGET);
    }
    script_free(s);
    /* no header: ok by default, and nothing printed for it */
    s = parse_ok("");
    if (s) {
        CHECK(!s->has_expect);
        CHECK_EQ(s->expect, SCRIPT_V_OK);
        CHECK_EQ(s->ncmds, 0);
    }
    script_free(s);
    check_prints_as("write 0 1\r\nflush\r\n", "write 0 1\nflush\n");
    check_prints_as("#\tx\r\r\nflush  #\n", "#\tx\n\nflush  #\n");
}

static void test_canonical_text(void)
{
    check_prints_as("w -zuq 0x10000 0x100000\nr -P1 -v 0 1536\n",
                    "write -z -u -q 64k 1M\nread -P 0x01 -v 0 1536\n");
    check_prints_as("d 1024k 1572864k\nt 3221225472\nf\n",
                    "discard 1M 1536M\ntruncate 3G\nflush\n");
    check_prints_as("read -l 1k -P 0377 -s 0 0 4k",
                    "read -P 0xff -s 0 -l 1k 0 4k\n");
    check_prints_as("crash drop=all\ncrash drop=random 0x10\n",
                    "crash\ncrash drop=random 16\n");
    check_prints_as("sched tape 0A0b\nsched random 0x20\n",
                    "sched tape 0a0b\nsched random 32\n");
    check_prints_as("image create version=2 refcount_bits=16 size=1048576 "
                    "name=b cluster_size=0x200\n",
                    "image create name=b size=1M cluster_size=512 version=2 "
                    "refcount_bits=16\n");
    check_prints_as(
        "inject cow_write len=1k off=0x400 nth=2 once "
        "errno=EOPNOTSUPP\n",
        "inject cow_write errno=ENOTSUP once nth=2 off=1k len=1k\n");
}

static const char *const round_trip_set[] = {
    "# expect: ok\n# mutants: none\nimage create name=base size=4M\n"
    "write -P 0x11 0 128k\nimage create size=4M backing=base backing_fmt=qcow2 "
    "cluster_size=4k version=3 refcount_bits=64\nbreak cow_read A  # here\n"
    "aio_write -P 0x22 32k 8k\nwait_break A\nread -P 0x11 -q 64k 64k\n"
    "resume A\naio_flush\nremove_break A\nread -P 0x22 -s 1k -l 1k 32k 8k\n"
    "check\n# done\n",
    "image open a.qcow2 backing=b.raw\naio_read -q -v 0 512\nflush\nclose\n"
    "image open a.qcow2\nreopen\ntruncate 1536\ndiscard -q 3E 2147483136\n"
    "image use a.qcow2\n",
    "# expect: error-swallowed\nimage create size=1G\nsched random 99\n"
    "sched tape 0102ff\nsched fifo\n"
    "expect_error ENOSPC\npolicy werror=stop\nhost limit 1M\n"
    "write -z -u -f 0 2M\nhost grow 8M\nresume_errors\npolicy werror=report\n"
    "inject l2_update errno=EIO once nth=3 off=64k len=1\n"
    "inject flush errno=EROFS\ninject read errno=EIO off=0 "
    "len=9223372036854775807\n"
    "crash\ncrash drop=random 18446744073709551615\n#footer 1\n#footer 2\n",
    "# expect: deadlock\n#\n#\t\n\n\nwrite 0 0\n#\n",
    "",
    "# only a comment\n",
};

static void test_round_trip(void)
{
    for (size_t i = 0; i < sizeof(round_trip_set) / sizeof(round_trip_set[0]);
         i++) {
        script *s = parse_ok(round_trip_set[i]);
        if (s)
            check_round_trip(s);
        script_free(s);
    }
}

/* ---- building in code ---------------------------------------------------- */

static void test_builder(void)
{
    script *s = script_new("built.io");
    script_cmd *c;

    if (!s) {
        CHECK(s != NULL);
        return;
    }
    s->has_expect = true;
    s->expect = SCRIPT_V_ENGINE_ABORT;
    c = script_append(s, SCRIPT_IMAGE_CREATE);
    c->create.size = 64 << 20;
    c = script_append(s, SCRIPT_BREAK);
    c->bp.event = ENG_EV_L2_ALLOC_WRITE;
    c->bp.tag = script_strdup(s, "A");
    c = script_append(s, SCRIPT_AIO_WRITE);
    c->io.flags = SCRIPT_F_PATTERN;
    c->io.pattern = 0xab;
    c->io.off = 3 << 20;
    c->io.len = 65536 + 512;
    const char **lines =
        script_memdup(s, (const char *[]){" why"}, sizeof(char *));
    c->comments = lines;
    c->ncomments = 1;
    c = script_append(s, SCRIPT_SCHED);
    c->sched.policy = SCRIPT_SCHED_TAPE;
    c->sched.tape = script_memdup(s, "\x01\x02", 2);
    c->sched.tape_len = 2;
    c = script_append(s, SCRIPT_INJECT);
    CHECK_EQ(c->inject.event, -1);
    c->inject.target = SCRIPT_INJ_WRITE;
    c->inject.err = ENOSPC;

    char *text = script_print(s, NULL);
    CHECK(text && strcmp(text, "# expect: engine-abort\n\n"
                               "image create size=64M\n"
                               "break l2_alloc_write A\n"
                               "# why\n"
                               "aio_write -P 0xab 3M 66048\n"
                               "sched tape 0102\n"
                               "inject write errno=ENOSPC\n") == 0);
    check_round_trip(s);
    char small[8];
    int need = script_cmd_format(&s->cmds[2], small, sizeof(small));
    CHECK_EQ(need, strlen("aio_write -P 0xab 3M 66048"));
    CHECK(strcmp(small, "aio_wri") == 0);
    CHECK_EQ(script_cmd_format(&s->cmds[2], NULL, 0), need);
    free(text);
    script_free(s);
}

/* ---- names --------------------------------------------------------------- */

static void test_names(void)
{
    for (int v = 0; v < SCRIPT_V_COUNT; v++)
        CHECK_EQ(script_verdict_by_name(script_verdict_name(v)), v);
    CHECK_EQ(script_verdict_by_name("fine"), -1);
    CHECK(strcmp(script_verdict_name(SCRIPT_V_METADATA_CORRUPT),
                 "metadata-corrupt") == 0);
    CHECK_EQ(script_errno_by_name("ENOSPC"), ENOSPC);
    CHECK_EQ(script_errno_by_name("EOPNOTSUPP"), EOPNOTSUPP);
    CHECK(strcmp(script_errno_name(EIO), "EIO") == 0);
    CHECK(script_errno_name(-1) == NULL);
    CHECK(strcmp(script_kind_name(SCRIPT_HOST_GROW), "host grow") == 0);
    CHECK(strcmp(script_kind_name(SCRIPT_KIND_COUNT), "?") == 0);
}

/* ---- the draft's example and the seed scripts ---------------------------- */

static const char language_md_example[] =
    "# expect: ok\n"
    "image create name=base size=2M cluster_size=64k\n"
    "write -P 0x11 0 128k\n"
    "image create size=2M backing=base  # overlay: its clusters start "
    "unallocated\n"
    "break cow_read A\n"
    "aio_write -P 0x22 32k 8k           # partial cluster: copy-on-write from "
    "base\n"
    "wait_break A\n"
    "read -P 0x11 64k 64k               # a read in another cluster, mid-COW\n"
    "resume A\n"
    "aio_flush\n"
    "read -P 0x11 0 32k\n"
    "read -P 0x22 32k 8k\n"
    "read -P 0x11 40k 88k\n"
    "check\n";

static void test_language_example(void)
{
    script *s = parse_ok(language_md_example);

    if (!s)
        return;
    CHECK_EQ(s->ncmds, 13);
    CHECK(s->has_expect && s->expect == SCRIPT_V_OK);
    CHECK_EQ(s->cmds[2].kind, SCRIPT_IMAGE_CREATE);
    CHECK(strcmp(s->cmds[2].create.backing, "base") == 0);
    CHECK(strcmp(s->cmds[2].trailing,
                 " overlay: its clusters start unallocated") == 0);
    CHECK_EQ(s->cmds[4].io.off, 32768);
    CHECK_EQ(s->cmds[12].kind, SCRIPT_CHECK);
    check_round_trip(s);
    script_free(s);
}

static void test_seed_scripts(void)
{
    char dir[1024];
    const char *slash = strrchr(__FILE__, '/');
    int n = 0;

    snprintf(dir, sizeof(dir), "%.*s/scripts",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".io") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        script *s = NULL;
        script_error e;
        int r = script_load(path, &s, &e);
        if (r) {
            char b[600];
            script_error_format(&e, b, sizeof(b));
            fprintf(stderr, "seed %s: %s\n", de->d_name, b);
        }
        CHECK(r == 0);
        if (s) {
            CHECK(s->has_expect);
            check_round_trip(s);
            n++;
        }
        script_free(s);
    }
    closedir(d);
    CHECK(n >= 3);
    script *s = NULL;
    script_error e;
    CHECK_EQ(script_load("/nonexistent/x.io", &s, &e), -ENOENT);
    CHECK(s == NULL && strstr(e.msg, "cannot open"));
}

/* ---- seeded random inputs ------------------------------------------------ */

static uint64_t mix_next(uint64_t *st) /* splitmix64 */
{
    uint64_t z = (*st += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* clang-format off */
static const char *const soup[] = {
    "write", "read", "aio_write", "aio_read", "aio_flush", "flush", "discard",
    "break", "wait_break", "resume", "remove_break", "close", "reopen",
    "truncate", "image create", "image open f.qcow2", "sched fifo",
    "sched random", "sched tape", "check", "mutant avail_sectors",
    "expect_error", "policy", "resume_errors", "host limit", "host grow",
    "inject", "crash", "w", "r", "f", "d", "t", "-P", "-z", "-u", "-q", "-f",
    "-v", "-s", "-l", "-zu", "-P0x11", "-c", "--", "-", "0", "1", "512", "4k",
    "64k", "1M", "2M", "0x10", "1.5k", "9223372036854775807",
    "9223372036854775808", "1E", "8E", "0x20M", "08", "255", "256", "0377",
    "cow_read", "l2_update", "write_aio", "A", "B", "tag-1", "name=base",
    "size=4M", "size=1000", "cluster_size=64k", "cluster_size=3k", "version=2",
    "version=3", "backing=base", "backing_fmt=raw", "backing_fmt=qcow2",
    "refcount_bits=16", "refcount_bits=8", "werror=stop", "werror=report",
    "errno=EIO", "errno=ENOSPC", "once", "nth=2", "nth=0", "off=4k", "len=4k",
    "len=0", "drop=all", "drop=random", "00ff", "0g", "ENOSPC", "EIO", "#",
    "# expect: ok", "# expect: deadlock", "#x", "# expect:", "\xff", "\t", "é",
};
/* clang-format on */

#define SOUP_N (sizeof(soup) / sizeof(soup[0]))

static size_t gen_soup(uint64_t *st, char *buf, size_t cap)
{
    size_t n = 0;
    unsigned lines = 1 + (unsigned)(mix_next(st) % 4);

    for (unsigned l = 0; l < lines; l++) {
        unsigned words = 1 + (unsigned)(mix_next(st) % 6);
        for (unsigned w = 0; w < words && n + 64 < cap; w++) {
            const char *t = soup[mix_next(st) % SOUP_N];
            if (w)
                buf[n++] = ' ';
            memcpy(buf + n, t, strlen(t));
            n += strlen(t);
        }
        if (mix_next(st) % 16 == 0)
            buf[n++] = '\r';
        buf[n++] = '\n';
    }
    return n;
}

static size_t gen_bytes(uint64_t *st, char *buf, size_t cap)
{
    size_t n = (size_t)(mix_next(st) % 200);
    static const char common[] = "aeiorstwz0124kM -#\n=_";

    for (size_t i = 0; i < n && i < cap; i++) {
        uint64_t x = mix_next(st);
        buf[i] =
            x % 3 ? common[(x >> 8) % (sizeof(common) - 1)] : (char)(x >> 16);
    }
    return n < cap ? n : cap;
}

static size_t gen_mutation(uint64_t *st, char *buf, size_t cap)
{
    const char *base = round_trip_set[mix_next(st) % 3];
    size_t n = strlen(base);

    if (n > cap - 16)
        n = cap - 16;
    memcpy(buf, base, n);
    unsigned edits = 1 + (unsigned)(mix_next(st) % 3);
    for (unsigned e = 0; e < edits && n > 0; e++) {
        size_t at = (size_t)(mix_next(st) % n);
        uint64_t x = mix_next(st);
        if (x % 3 == 0)
            buf[at] = (char)(x >> 8);
        else if (x % 3 == 1)
            memmove(buf + at, buf + at + 1, --n - at);
        else if (n + 1 < cap) {
            memmove(buf + at + 1, buf + at, n++ - at);
            buf[at] = soup[(x >> 8) % SOUP_N][0];
        }
    }
    return n;
}

static void check_parsed(const script *s)
{
    char small[5];
    char big[SCRIPT_MAX_LINE];

    check_round_trip(s);
    for (size_t i = 0; i < s->ncmds; i++) {
        int need = script_cmd_format(&s->cmds[i], big, sizeof(big));
        CHECK(need > 0 && (size_t)need < sizeof(big));
        CHECK_EQ(script_cmd_format(&s->cmds[i], small, sizeof(small)), need);
        CHECK(strncmp(small, big, sizeof(small) - 1) == 0);
    }
}

static void test_random_inputs(void)
{
    uint64_t st = 20240611;
    unsigned parsed[3] = {0, 0, 0};
    enum { RUNS = 10000, CAP = 4096 };
    char *buf = malloc(CAP);

    if (!buf)
        return;
    for (unsigned i = 0; i < 3 * RUNS; i++) {
        unsigned mode = i % 3;
        size_t n = mode == 0   ? gen_bytes(&st, buf, CAP)
                   : mode == 1 ? gen_soup(&st, buf, CAP)
                               : gen_mutation(&st, buf, CAP);
        script_error e;
        script *s = NULL;
        int r = script_parse("fuzz.io", buf, n, &s, &e);
        if (r == 0) {
            parsed[mode]++;
            check_parsed(s);
        } else {
            CHECK_EQ(r, -EINVAL);
            CHECK(e.line >= 1 && e.col >= 1 && e.msg[0] != '\0');
            CHECK(s == NULL);
        }
        script_free(s);
    }
    free(buf);
    printf("random inputs parsed: bytes %u, soup %u, mutations %u of %d each\n",
           parsed[0], parsed[1], parsed[2], RUNS);
    /* the round-trip half must have run on a fair share of each kind */
    CHECK(parsed[0] > 50 && parsed[1] > 50 && parsed[2] > 300);
}

static const unit_test tests[] = {
    UNIT(test_data_commands),  UNIT(test_control_commands),
    UNIT(test_image_commands), UNIT(test_image_use),
    UNIT(test_extension_commands),
    UNIT(test_sizes),          UNIT(test_other_numbers),
    UNIT(test_errors),         UNIT(test_extension_errors),
    UNIT(test_header_errors),  UNIT(test_bytes_and_limits),
    UNIT(test_comments),       UNIT(test_canonical_text),
    UNIT(test_round_trip),     UNIT(test_builder),
    UNIT(test_names),          UNIT(test_language_example),
    UNIT(test_seed_scripts),   UNIT(test_random_inputs),
};

UNIT_MAIN(tests)
