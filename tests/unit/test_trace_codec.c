/*
 * test_trace_codec.c - the fuzzer's trace codec (harness/trace_codec.h):
 *   - totality and the round trip: every byte string (empty, single bytes,
 *     all-zero, all-0xff, long, and 20,000 seeded random ones) decodes to a
 *     script that prints, parses back script_equal and prints the same;
 *   - determinism: the same bytes decode to the same script;
 *   - legality: a sample of decoded scripts (random and mutated corpus
 *     bytes) runs with exec_run without a script-error, deadlock or budget
 *     verdict;
 *   - options: sizes, request lengths and operations stay under the caps;
 *   - the encoder: decode(encode(s)) has s's commands for every corpus
 *     file (read from corpus/ next to this source) and for decoded random
 *     scripts; scripts outside the fragment get -ENOTSUP and a message;
 *   - the corpus replays ok, and the dictionary's opcodes are the header's;
 *   - the distribution of command kinds over 10,000 random inputs
 *     (printed, and every kind the decoder writes must appear).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#include "exec.h"
#include "prng.h"
#include "script.h"
#include "trace_codec.h"
#include "unit.h"

#define RANDOM_INPUTS 20000
#define EXEC_SAMPLE 500
#define INPUT_LEN 400

/* ---- helpers ------------------------------------------------------------- */

static size_t random_input(uint64_t seed, uint8_t *buf, size_t cap)
{
    prng p = prng_seeded(seed);
    size_t len = prng_next(&p) % cap;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)prng_next(&p);
    return len;
}

/* Decode data and check the round trip and determinism; the script, or
 * NULL after a failed check. */
static script *decode_checked(const uint8_t *data, size_t len,
                              const trace_decode_opts *o)
{
    script *s = NULL, *again = NULL, *back = NULL;
    script_error err;
    size_t n1, n2;

    if (trace_decode(data, len, o, &s) < 0) {
        CHECK(!"trace_decode succeeds");
        return NULL;
    }
    CHECK(trace_decode(data, len, o, &again) == 0);
    CHECK(again && script_equal(s, again));
    char *text = script_print(s, &n1);
    CHECK(text != NULL);
    int r = text ? script_parse("rt.io", text, n1, &back, &err) : -1;
    if (r < 0 && text)
        fprintf(stderr, "does not parse: %s\n%s\n", err.msg, text);
    CHECK(r == 0);
    if (r == 0) {
        CHECK(script_equal(s, back));
        char *text2 = script_print(back, &n2);
        CHECK(text2 && n1 == n2 && memcmp(text, text2, n1) == 0);
        free(text2);
    }
    free(text);
    script_free(again);
    script_free(back);
    return s;
}

/* Commands equal, comments aside (the codec does not keep comments). */
static bool same_commands(const script *a, const script *b)
{
    if (a->ncmds != b->ncmds)
        return false;
    for (size_t i = 0; i < a->ncmds; i++) {
        script_cmd x = a->cmds[i], y = b->cmds[i];
        x.comments = y.comments = NULL;
        x.ncomments = y.ncomments = 0;
        x.trailing = y.trailing = NULL;
        if (!script_cmd_equal(&x, &y))
            return false;
    }
    return true;
}

/* The options the fuzz targets run decoded scripts with. */
static exec_opts fuzz_exec_opts(void)
{
    exec_opts o = {.max_image_size = UINT64_C(64) << 20,
                   .max_io = UINT64_C(1) << 20,
                   .no_files = true};
    return o;
}

static bool bad_verdict(script_verdict v)
{
    return v == SCRIPT_V_SCRIPT_ERROR || v == SCRIPT_V_DEADLOCK ||
           v == SCRIPT_V_BUDGET;
}

/* Run s; count its verdict; report one that the decoder's structure must
 * never cause. */
static void exec_checked(const script *s, exec_result *r,
                         unsigned counts[SCRIPT_V_COUNT], const char *what)
{
    exec_opts o = fuzz_exec_opts();
    CHECK_EQ(exec_run(s, &o, r), 0);
    counts[r->verdict]++;
    if (bad_verdict(r->verdict)) {
        char *text = script_print(s, NULL);
        fprintf(stderr, "%s: verdict %s at command %zu: %s\n%s\n%s\n", what,
                script_verdict_name(r->verdict), r->cmd, r->msg, r->detail,
                text ? text : "");
        free(text);
    }
    CHECK(!bad_verdict(r->verdict));
}

static void print_verdicts(const char *what, const unsigned *counts)
{
    printf("%s:", what);
    for (int v = 0; v < SCRIPT_V_COUNT; v++)
        if (counts[v])
            printf(" %s %u", script_verdict_name((script_verdict)v), counts[v]);
    printf("\n");
}

/* ---- the corpus folder -----------------------------------------------------
 */

typedef struct corpus {
    char dir[4096];
    char **names;
    size_t n;
} corpus;

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* corpus/ relative to this source file (tests/unit/../../corpus). */
static void corpus_open(corpus *c)
{
    const char *file = __FILE__, *slash = strrchr(file, '/');
    int len = slash ? (int)(slash - file) : 1;
    snprintf(c->dir, sizeof(c->dir), "%.*s/../../corpus", len,
             slash ? file : ".");
    c->names = NULL;
    c->n = 0;
    DIR *dir = opendir(c->dir);
    CHECK(dir != NULL);
    if (!dir)
        return;
    struct dirent *de;
    while ((de = readdir(dir))) {
        size_t l = strlen(de->d_name);
        if (l < 4 || strcmp(de->d_name + l - 3, ".io") != 0)
            continue;
        c->names = realloc(c->names, (c->n + 1) * sizeof(*c->names));
        c->names[c->n++] = strdup(de->d_name);
    }
    closedir(dir);
    qsort(c->names, c->n, sizeof(*c->names), name_cmp);
}

static void corpus_close(corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->names[i]);
    free(c->names);
}

static script *corpus_load(const corpus *c, size_t i)
{
    char path[8192];
    script *s = NULL;
    script_error err;
    snprintf(path, sizeof(path), "%s/%s", c->dir, c->names[i]);
    int r = script_load(path, &s, &err);
    if (r < 0)
        fprintf(stderr, "%s:%u:%u: %s\n", c->names[i], err.line, err.col,
                err.msg);
    CHECK(r == 0);
    return s;
}

/* ---- decoding ------------------------------------------------------------ */

static void test_special_inputs(void)
{
    uint8_t buf[4096];
    script_free(decode_checked(NULL, 0, NULL));
    for (unsigned b = 0; b < 256; b++) {
        buf[0] = (uint8_t)b;
        script_free(decode_checked(buf, 1, NULL));
    }
    for (size_t len = 1; len <= sizeof(buf); len = len * 2 + 1) {
        memset(buf, 0, len);
        script_free(decode_checked(buf, len, NULL));
        memset(buf, 0xff, len);
        script_free(decode_checked(buf, len, NULL));
    }
    size_t big = 100000;
    uint8_t *p = malloc(big);
    CHECK(p != NULL);
    prng g = prng_seeded(4242);
    for (size_t i = 0; i < big; i++)
        p[i] = (uint8_t)prng_next(&g);
    script *s = decode_checked(p, big, NULL);
    CHECK(s && s->ncmds > 0);
    script_free(s);
    free(p);
}

static void test_random_inputs(void)
{
    uint8_t buf[INPUT_LEN];
    size_t cmds = 0;
    for (uint64_t i = 0; i < RANDOM_INPUTS; i++) {
        size_t len = random_input(i + 1, buf, sizeof(buf));
        script *s = decode_checked(buf, len, NULL);
        if (s)
            cmds += s->ncmds;
        script_free(s);
    }
    printf("%d random inputs: %zu commands\n", RANDOM_INPUTS, cmds);
    CHECK(cmds > RANDOM_INPUTS); /* not everything decodes to nothing */
}

/* Every size, length and operation count stays under the caps. */
static void test_options(void)
{
    trace_decode_opts o = {
        .max_size = UINT64_C(1) << 20, .max_io = 8192, .max_cmds = 5};
    uint8_t buf[INPUT_LEN];
    for (uint64_t i = 0; i < 2000; i++) {
        size_t len = random_input(i + 500000, buf, sizeof(buf));
        script *s = decode_checked(buf, len, &o);
        for (size_t k = 0; s && k < s->ncmds; k++) {
            const script_cmd *c = &s->cmds[k];
            if (c->kind == SCRIPT_IMAGE_CREATE)
                CHECK(c->create.size <= o.max_size);
            if (c->kind == SCRIPT_TRUNCATE)
                CHECK(c->size <= o.max_size);
            if (c->kind <= SCRIPT_DISCARD && c->kind != SCRIPT_AIO_FLUSH &&
                c->kind != SCRIPT_FLUSH)
                CHECK(c->io.len <= o.max_io);
        }
        script_free(s);
    }
    /* operations: no set-up, so the first read makes the default image;
     * five reads, not six */
    uint8_t ops[2 + 6 * 6] = {TRACE_SETUP_NONE, 0x00};
    for (int k = 0; k < 6; k++) {
        uint8_t *op = &ops[2 + 6 * k];
        op[0] = TRACE_OP_READ;
        op[1] = 0; /* no -P */
        op[2] = 0; /* offset: cluster 0 */
        op[3] = 0;
        op[4] = 2; /* length: one sector */
        op[5] = 0;
    }
    script *s = decode_checked(ops, sizeof(ops), &o);
    size_t reads = 0;
    for (size_t k = 0; s && k < s->ncmds; k++)
        reads += s->cmds[k].kind == SCRIPT_READ;
    CHECK_EQ(reads, 5);
    script_free(s);
}

/* ---- running decoded scripts --------------------------------------------- */

static void test_exec_sample(void)
{
    uint8_t buf[INPUT_LEN];
    unsigned counts[SCRIPT_V_COUNT] = {0};
    exec_result *r = malloc(sizeof(*r));
    CHECK(r != NULL);
    uint64_t max_steps = 0, over = 0;
    for (uint64_t i = 0; r && i < EXEC_SAMPLE; i++) {
        size_t len = random_input(i + 1000000, buf, sizeof(buf));
        script *s = decode_checked(buf, len, NULL);
        if (s) {
            exec_checked(s, r, counts, "random input");
            max_steps = r->steps > max_steps ? r->steps : max_steps;
            over += r->steps > 20000;
        }
        script_free(s);
    }
    print_verdicts("exec of random inputs", counts);
    printf("scheduler steps: at most %" PRIu64 "; %" PRIu64
           " of %d runs over 20000\n",
           max_steps, over, EXEC_SAMPLE);
    /* on the correct engine almost everything must be ok */
    CHECK(counts[SCRIPT_V_OK] >= EXEC_SAMPLE * 95 / 100);
    free(r);
}

/* Encoded corpus files with bytes flipped, inserted and cut: the literal
 * forms, mutated, must stay legal too. */
static void test_exec_mutated_corpus(void)
{
    corpus c;
    unsigned counts[SCRIPT_V_COUNT] = {0};
    exec_result *r = malloc(sizeof(*r));
    prng g = prng_seeded(77);
    corpus_open(&c);
    for (size_t i = 0; r && i < c.n; i++) {
        script *s = corpus_load(&c, i);
        uint8_t *enc = NULL;
        size_t len = 0;
        if (!s || trace_encode(s, &enc, &len) < 0) {
            script_free(s);
            continue;
        }
        for (int m = 0; m < 6; m++) {
            uint8_t *b = malloc(len + 8);
            memcpy(b, enc, len);
            size_t n = len, at = prng_next(&g) % len;
            if (m % 3 == 0)
                b[at] ^= (uint8_t)(1u << (prng_next(&g) % 8));
            else if (m % 3 == 1)
                b[at] = (uint8_t)prng_next(&g);
            else
                n = at + 1;
            script *t = decode_checked(b, n, NULL);
            if (t)
                exec_checked(t, r, counts, c.names[i]);
            script_free(t);
            free(b);
        }
        free(enc);
        script_free(s);
    }
    print_verdicts("exec of mutated corpus inputs", counts);
    corpus_close(&c);
    free(r);
}

/* ---- the corpus and the encoder ------------------------------------------ */

static void test_corpus(void)
{
    corpus c;
    unsigned counts[SCRIPT_V_COUNT] = {0};
    exec_result *r = malloc(sizeof(*r));
    corpus_open(&c);
    printf("corpus: %zu scripts in %s\n", c.n, c.dir);
    CHECK(c.n >= 30);
    for (size_t i = 0; r && i < c.n; i++) {
        script *s = corpus_load(&c, i), *back = NULL;
        uint8_t *enc = NULL;
        size_t len = 0;
        char msg[512] = "";
        if (!s)
            continue;
        exec_opts o = fuzz_exec_opts();
        CHECK_EQ(exec_run(s, &o, r), 0);
        counts[r->verdict]++;
        if (r->verdict != s->expect)
            fprintf(stderr, "%s: verdict %s: %s\n%s\n", c.names[i],
                    script_verdict_name(r->verdict), r->msg, r->detail);
        CHECK(r->verdict == s->expect);
        int e = trace_encode_msg(s, &enc, &len, msg, sizeof(msg));
        if (e < 0)
            fprintf(stderr, "%s: %s\n", c.names[i], msg);
        CHECK(e == 0);
        if (e == 0) {
            CHECK(trace_decode(enc, len, NULL, &back) == 0);
            CHECK(back && same_commands(s, back));
        }
        script_free(back);
        free(enc);
        script_free(s);
    }
    print_verdicts("corpus replays", counts);
    corpus_close(&c);
    free(r);
}

/* decode(encode(s)) == s for scripts the decoder itself wrote. */
static void test_encode_decoded(void)
{
    uint8_t buf[INPUT_LEN];
    unsigned fails = 0;
    size_t bytes = 0, inputs = 0;
    for (uint64_t i = 0; i < 2000; i++) {
        size_t len = random_input(i + 2000000, buf, sizeof(buf));
        script *s = decode_checked(buf, len, NULL), *back = NULL;
        uint8_t *enc = NULL;
        size_t n = 0;
        char msg[512] = "";
        if (!s)
            continue;
        int e = trace_encode_msg(s, &enc, &n, msg, sizeof(msg));
        if (e == 0 && trace_decode(enc, n, NULL, &back) == 0 &&
            script_equal(s, back)) {
            bytes += n;
            inputs += len;
        } else if (fails++ < 3) {
            char *text = script_print(s, NULL);
            fprintf(stderr, "round trip failed (%d: %s):\n%s\n", e, msg,
                    text ? text : "");
            free(text);
        }
        script_free(back);
        free(enc);
        script_free(s);
    }
    printf("encoded 2000 decoded scripts: %u failures, %zu bytes in, %zu "
           "bytes out\n",
           fails, inputs, bytes);
    CHECK_EQ(fails, 0);
}

/* Scripts outside the fragment: refused with a message naming the
 * command. */
static void test_encode_rejects(void)
{
    static const char *const bad[] = {
        /* files and mutants are not the fuzzer's */
        "image open x.qcow2\n",
        "mutant avail_sectors\nimage create size=1M\n",
        /* an error nothing makes certain */
        "image create size=1M\nexpect_error EIO\nwrite 0 4k\n",
        /* cow_read is never announced by a write of whole clusters */
        "image create size=1M\nbreak cow_read A\naio_write 0 64k\n"
        "wait_break A\nresume A\n",
        /* a -P the model cannot vouch for */
        "image create size=1M\nwrite 0 4k\nread -P 0x11 0 4k\n",
        /* a synchronous request while a request holds the lock */
        "image create size=1M\nbreak l2_update A\naio_write 0 4k\n"
        "wait_break A\nread 512k 4k\nresume A\n",
        /* held at the end: the decoder would resume it */
        "image create size=1M\nbreak write_aio A\naio_write 0 4k\n"
        "wait_break A\n",
        /* a fault rule that stays armed */
        "image create size=1M\ninject write_aio errno=EIO\n"
        "expect_error EIO\nwrite 0 4k\n",
        /* larger than the decoder's caps */
        "image create size=64M\n",
        "image create size=4M\nwrite 0 2M\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        script *s = NULL;
        script_error err;
        uint8_t *enc = NULL;
        size_t len = 0;
        char msg[512] = "";
        CHECK(script_parse("bad.io", bad[i], strlen(bad[i]), &s, &err) == 0);
        if (!s)
            continue;
        int e = trace_encode_msg(s, &enc, &len, msg, sizeof(msg));
        if (e != -ENOTSUP)
            fprintf(stderr, "not refused (%d): %s", e, bad[i]);
        CHECK(e == -ENOTSUP);
        CHECK(enc == NULL && msg[0] != '\0');
        free(enc);
        script_free(s);
    }
}

/* ---- dictionary and distribution ----------------------------------------- */

/* The value of dict entry `name` (AFL syntax, \xNN escapes); its length or
 * -1. */
static int dict_entry(const char *text, const char *name, uint8_t *out)
{
    char key[64];
    snprintf(key, sizeof(key), "\n%s=\"", name);
    const char *p = strstr(text, key);
    if (!p)
        return -1;
    int n = 0;
    for (p += strlen(key); *p && *p != '"'; n++) {
        if (p[0] == '\\' && p[1] == 'x') {
            out[n] = (uint8_t)strtoul((char[3]){p[2], p[3], 0}, NULL, 16);
            p += 4;
        } else {
            out[n] = (uint8_t)*p++;
        }
    }
    return n;
}

static void test_dictionary(void)
{
    static const struct {
        const char *name;
        int op;
    } ops[] = {
        {"op_write", TRACE_OP_WRITE},
        {"op_aio_write", TRACE_OP_AIO_WRITE},
        {"op_read", TRACE_OP_READ},
        {"op_aio_read", TRACE_OP_AIO_READ},
        {"op_discard", TRACE_OP_DISCARD},
        {"op_flush", TRACE_OP_FLUSH},
        {"op_aio_flush", TRACE_OP_AIO_FLUSH},
        {"op_truncate", TRACE_OP_TRUNCATE},
        {"op_close", TRACE_OP_CLOSE},
        {"op_reopen", TRACE_OP_REOPEN},
        {"op_check", TRACE_OP_CHECK},
        {"op_break", TRACE_OP_BREAK},
        {"op_resume", TRACE_OP_RESUME},
        {"op_host", TRACE_OP_HOST},
        {"op_policy", TRACE_OP_POLICY},
        {"op_resume_errors", TRACE_OP_RESUME_ERRORS},
        {"op_inject", TRACE_OP_INJECT},
        {"op_crash", TRACE_OP_CRASH},
        {"op_sched", TRACE_OP_SCHED},
        {"op_sweep", TRACE_OP_SWEEP},
        {"op_punch", TRACE_OP_PUNCH},
        {"op_overlap", TRACE_OP_OVERLAP},
        {"op_image", TRACE_OP_IMAGE},
        {"setup_none", TRACE_SETUP_NONE},
    };
    corpus c;
    char path[8192];
    corpus_open(&c);
    snprintf(path, sizeof(path), "%s/cowpoke.dict", c.dir);
    corpus_close(&c);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char *text = calloc(1, 65536);
    text[0] = '\n';
    size_t n = fread(text + 1, 1, 65534, f);
    fclose(f);
    CHECK(n > 0);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        uint8_t v[64];
        int len = dict_entry(text, ops[i].name, v);
        CHECK(len >= 1);
        if (len >= 1 && v[0] != ops[i].op)
            fprintf(stderr, "dict %s is 0x%02x, the header says 0x%02x\n",
                    ops[i].name, v[0], ops[i].op);
        CHECK(len >= 1 && v[0] == ops[i].op);
    }
    /* every entry decodes (after a set-up by hand) */
    for (char *p = strstr(text, "\n"); p; p = strstr(p + 1, "\n")) {
        char name[64];
        uint8_t v[64 + 2] = {TRACE_SETUP_NONE, 0};
        if (sscanf(p + 1, "%63[a-z0-9_]=", name) != 1)
            continue;
        int len = dict_entry(text, name, v + 2);
        CHECK(len > 0);
        if (len > 0)
            script_free(decode_checked(v, (size_t)len + 2, NULL));
    }
    free(text);
}

static void test_distribution(void)
{
    static const script_kind must[] = {
        SCRIPT_WRITE,     SCRIPT_READ,          SCRIPT_AIO_WRITE,
        SCRIPT_AIO_READ,  SCRIPT_AIO_FLUSH,     SCRIPT_FLUSH,
        SCRIPT_DISCARD,   SCRIPT_BREAK,         SCRIPT_WAIT_BREAK,
        SCRIPT_RESUME,    SCRIPT_REMOVE_BREAK,  SCRIPT_CLOSE,
        SCRIPT_REOPEN,    SCRIPT_TRUNCATE,      SCRIPT_IMAGE_CREATE,
        SCRIPT_SCHED,     SCRIPT_CHECK,         SCRIPT_EXPECT_ERROR,
        SCRIPT_POLICY,    SCRIPT_RESUME_ERRORS, SCRIPT_HOST_LIMIT,
        SCRIPT_HOST_GROW, SCRIPT_INJECT,        SCRIPT_CRASH,
    };
    size_t count[SCRIPT_KIND_COUNT] = {0}, total = 0;
    size_t events[ENG_EV_COUNT] = {0}, faults[ENG_EV_COUNT + 3] = {0};
    uint8_t buf[INPUT_LEN];
    for (uint64_t i = 0; i < 10000; i++) {
        size_t len = random_input(i + 3000000, buf, sizeof(buf));
        script *s = NULL;
        CHECK(trace_decode(buf, len, NULL, &s) == 0);
        for (size_t k = 0; s && k < s->ncmds; k++) {
            const script_cmd *c = &s->cmds[k];
            count[c->kind]++;
            total++;
            if (c->kind == SCRIPT_BREAK)
                events[c->bp.event]++;
            if (c->kind == SCRIPT_INJECT)
                faults[c->inject.target == SCRIPT_INJ_EVENT
                           ? (size_t)c->inject.event
                           : (size_t)ENG_EV_COUNT + c->inject.target - 1]++;
        }
        script_free(s);
    }
    printf("command kinds over 10000 random inputs (%zu commands):\n", total);
    for (int k = 0; k < SCRIPT_KIND_COUNT; k++)
        if (count[k])
            printf("  %-14s %7zu  %5.2f%%\n", script_kind_name((script_kind)k),
                   count[k], 100.0 * (double)count[k] / (double)total);
    printf("breakpoint events:");
    for (int e = 0; e < ENG_EV_COUNT; e++)
        if (events[e])
            printf(" %s %zu", eng_event_name((eng_event)e), events[e]);
    printf("\ninjected fault targets:");
    for (int e = 0; e < ENG_EV_COUNT + 3; e++)
        if (faults[e])
            printf(" %s %zu",
                   e < ENG_EV_COUNT        ? eng_event_name((eng_event)e)
                   : e == ENG_EV_COUNT     ? "read"
                   : e == ENG_EV_COUNT + 1 ? "write"
                                           : "flush",
                   faults[e]);
    printf("\n");
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
        if (!count[must[i]])
            fprintf(stderr, "never written: %s\n", script_kind_name(must[i]));
        CHECK(count[must[i]] > 0);
    }
    CHECK_EQ(count[SCRIPT_IMAGE_OPEN], 0);
    CHECK_EQ(count[SCRIPT_MUTANT], 0);
    CHECK_EQ(count[SCRIPT_BREAK], count[SCRIPT_WAIT_BREAK]);
}

static const unit_test tests[] = {
    UNIT(test_special_inputs),
    UNIT(test_random_inputs),
    UNIT(test_options),
    UNIT(test_exec_sample),
    UNIT(test_exec_mutated_corpus),
    UNIT(test_corpus),
    UNIT(test_encode_decoded),
    UNIT(test_encode_rejects),
    UNIT(test_dictionary),
    UNIT(test_distribution),
};

UNIT_MAIN(tests)
