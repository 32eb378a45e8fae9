/*
 * script_parse_ext.c - cowpoke's extension commands: image set-up, the
 * scheduler policy, mutants, expected errors, the error policy, the host
 * disk's size, fault injection and crashes.
 *
 * Extensions take `key=value` options in any order, each at most once; a
 * value is checked where it is read, so an error points at the value. Image
 * names are registered in the parser state as `image create name=` commands
 * are read (and files as `image open` commands are), so `backing=` and
 * `image use` can only name an image created or opened earlier.
 */
#include <errno.h>
#include <string.h>

#include "eng_event.h"
#include "eng_mutant.h"
#include "script_int.h"

/* ---- key=value ----------------------------------------------------------- */

typedef struct kv {
    const char *key;
    size_t klen;
    unsigned col;
    script_tok val; /* NUL-terminated, with its own column */
} kv;

static int split_kv(script_pstate *p, const script_tok *t, kv *k)
{
    const char *eq = strchr(t->s, '=');

    if (!eq || eq == t->s)
        return script_perr(p, t->col, "expected key=value, got '%.64s'", t->s);
    k->key = t->s;
    k->klen = (size_t)(eq - t->s);
    k->col = t->col;
    k->val.s = eq + 1;
    k->val.col = t->col + (unsigned)k->klen + 1;
    k->val.len = t->len - (unsigned)k->klen - 1;
    if (k->val.len == 0)
        return script_perr(p, k->val.col, "expected a value after '%.*s='",
                           (int)k->klen, k->key);
    return 0;
}

static bool kv_is(const kv *k, const char *key)
{
    return strlen(key) == k->klen && memcmp(k->key, key, k->klen) == 0;
}

/* Split t and find its key among keys[0..n); each key at most once. */
static int kv_lookup(script_pstate *p, const script_tok *t, const char *cmd,
                     const char *const *keys, int n, unsigned *seen, kv *k)
{
    int r = split_kv(p, t, k);

    if (r < 0)
        return r;
    for (int i = 0; i < n; i++) {
        if (!kv_is(k, keys[i]))
            continue;
        if (*seen & (1u << i))
            return script_perr(p, k->col, "%s= given twice", keys[i]);
        *seen |= 1u << i;
        return i;
    }
    return script_perr(p, k->col, "unknown option '%.*s' for %s",
                       (int)(k->klen > 64 ? 64 : k->klen), k->key, cmd);
}

static int need_count(script_pstate *p, const script_tok *args, unsigned n,
                      unsigned want, const char *what)
{
    if (n < want)
        return script_perr(p, p->ln->end_col, "expected %s", what);
    if (n > want)
        return script_perr(p, args[want].col, "unexpected argument '%.64s'",
                           args[want].s);
    return 0;
}

static bool pow2_between(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

static int keep_str(script_pstate *p, const char *s, const char **out)
{
    *out = script_strdup(p->s, s);
    return *out ? 0 : -ENOMEM;
}

/* ---- image create / image open ------------------------------------------ */

enum { K_NAME, K_SIZE, K_CLUSTER, K_VERSION, K_BACKING, K_FMT, K_REFCOUNT };
static const char *const create_keys[] = {
    "name",    "size",        "cluster_size", "version",
    "backing", "backing_fmt", "refcount_bits"};

static int image_known(const script_pstate *p, const char *name)
{
    for (unsigned i = 0; i < p->nimages; i++)
        if (p->images[i] && strcmp(p->images[i], name) == 0)
            return 1;
    return 0;
}

static int create_name(script_pstate *p, int key, const script_tok *v,
                       script_create *cr)
{
    int r = script_arg_name(p, v, "image name");

    if (r < 0)
        return r;
    if (key == K_NAME && image_known(p, v->s))
        return script_perr(p, v->col, "an image named '%s' exists already",
                           v->s);
    if (key == K_BACKING && !image_known(p, v->s))
        return script_perr(p, v->col,
                           "no earlier image named '%s' "
                           "(image create name=%s ...)",
                           v->s, v->s);
    return keep_str(p, v->s, key == K_NAME ? &cr->name : &cr->backing);
}

static int create_number(script_pstate *p, int key, const script_tok *v,
                         script_create *cr)
{
    uint64_t x;
    int r = key == K_SIZE || key == K_CLUSTER ? script_arg_size(p, v, &x)
                                              : script_arg_uint(p, v, &x);
    if (r < 0)
        return r;
    switch (key) {
    case K_SIZE:
        if (x % 512)
            return script_perr(p, v->col,
                               "image size must be a multiple of 512 bytes");
        cr->size = x;
        return 0;
    case K_CLUSTER:
        if (!pow2_between(x, 512, 2u << 20))
            return script_perr(p, v->col,
                               "cluster_size must be a power of "
                               "two from 512 to 2M");
        cr->cluster_size = x;
        return 0;
    case K_VERSION:
        if (x != 2 && x != 3)
            return script_perr(p, v->col, "version must be 2 or 3");
        cr->version = (unsigned)x;
        return 0;
    default:
        if (!pow2_between(x, 1, 64))
            return script_perr(p, v->col,
                               "refcount_bits must be a power of "
                               "two from 1 to 64");
        cr->refcount_bits = (unsigned)x;
        return 0;
    }
}

static int create_value(script_pstate *p, int key, const script_tok *v,
                        script_create *cr)
{
    if (key == K_NAME || key == K_BACKING)
        return create_name(p, key, v, cr);
    if (key != K_FMT)
        return create_number(p, key, v, cr);
    if (strcmp(v->s, "raw") == 0)
        cr->backing_fmt = SCRIPT_FMT_RAW;
    else if (strcmp(v->s, "qcow2") == 0)
        cr->backing_fmt = SCRIPT_FMT_QCOW2;
    else
        return script_perr(p, v->col, "backing_fmt must be raw or qcow2");
    return 0;
}

static int image_create(script_pstate *p, script_cmd *c, const script_tok *args,
                        unsigned n)
{
    script_create *cr = &c->create;
    unsigned seen = 0, col[7] = {0};
    kv k;

    for (unsigned i = 0; i < n; i++) {
        int key =
            kv_lookup(p, &args[i], "image create", create_keys, 7, &seen, &k);
        if (key < 0)
            return key;
        col[key] = k.col;
        int r = create_value(p, key, &k.val, cr);
        if (r < 0)
            return r;
    }
    if (!(seen & (1u << K_SIZE)))
        return script_perr(p, p->ln->end_col, "image create needs size=SIZE");
    if ((seen & (1u << K_FMT)) && !cr->backing)
        return script_perr(p, col[K_FMT], "backing_fmt needs backing=");
    if (cr->version == 2 && cr->refcount_bits && cr->refcount_bits != 16)
        return script_perr(p, col[K_REFCOUNT],
                           "refcount_bits other than 16 need version=3");
    if (p->nimages == SCRIPT_MAX_IMAGES)
        return script_perr(p, c->col, "more than %d images", SCRIPT_MAX_IMAGES);
    p->images[p->nimages++] = cr->name;
    return 0;
}

static int image_open(script_pstate *p, script_cmd *c, const script_tok *args,
                      unsigned n)
{
    static const char *const keys[] = {"backing"};
    unsigned seen = 0;
    kv k;

    if (n == 0 || strncmp(args[0].s, "backing=", 8) == 0)
        return script_perr(p, n ? args[0].col : p->ln->end_col,
                           "expected a file name after 'image open'");
    int r = keep_str(p, args[0].s, &c->open.file);
    if (r == 0 && p->nfiles < SCRIPT_MAX_IMAGES)
        p->files[p->nfiles] = c->open.file;
    p->nfiles += p->nfiles <= SCRIPT_MAX_IMAGES;
    for (unsigned i = 1; r == 0 && i < n; i++) {
        r = kv_lookup(p, &args[i], "image open", keys, 1, &seen, &k);
        if (r == 0)
            r = keep_str(p, k.val.s, &c->open.backing);
    }
    return r;
}

/* Whether name is the file of an earlier `image open` (or may be: past
 * the limit, files are not kept). */
static bool file_known(const script_pstate *p, const char *name)
{
    for (unsigned i = 0; i < p->nfiles && i < SCRIPT_MAX_IMAGES; i++)
        if (strcmp(p->files[i], name) == 0)
            return true;
    return p->nfiles > SCRIPT_MAX_IMAGES;
}

/* image use NAME: a name of an earlier image create, or the FILE of an
 * earlier image open. */
static int image_use(script_pstate *p, script_cmd *c, const script_tok *args,
                     unsigned n)
{
    int r = need_count(p, args, n, 1, "an image name after 'image use'");

    if (r < 0)
        return r;
    if (!image_known(p, args[0].s) && !file_known(p, args[0].s))
        return script_perr(p, args[0].col,
                           "no earlier image named '%.64s' (image create "
                           "name=NAME or image open FILE)",
                           args[0].s);
    return keep_str(p, args[0].s, &c->use);
}

int script_parse_image(script_pstate *p, script_cmd *c, const script_tok *args,
                       unsigned n)
{
    if (n > 0 && strcmp(args[0].s, "create") == 0) {
        c->kind = SCRIPT_IMAGE_CREATE;
        return image_create(p, c, args + 1, n - 1);
    }
    if (n > 0 && strcmp(args[0].s, "open") == 0) {
        c->kind = SCRIPT_IMAGE_OPEN;
        return image_open(p, c, args + 1, n - 1);
    }
    if (n > 0 && strcmp(args[0].s, "use") == 0) {
        c->kind = SCRIPT_IMAGE_USE;
        return image_use(p, c, args + 1, n - 1);
    }
    return script_perr(p, n ? args[0].col : p->ln->end_col,
                       "expected 'create', 'open' or 'use' after 'image'");
}

/* ---- sched, mutant, expect_error, policy, host ----------------------------
 */

static int sched_tape(script_pstate *p, const script_tok *t, script_sched *sc)
{
    uint8_t bytes[SCRIPT_MAX_CMD_TEXT / 2];

    if (t->len % 2)
        return script_perr(p, t->col + t->len - 1,
                           "tape bytes are pairs of hex digits");
    for (unsigned i = 0; i < t->len; i++) {
        char ch = t->s[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            return script_perr(p, t->col + i,
                               "unexpected '%c' in the tape (hex digits only)",
                               ch);
        if (i % 2 == 0)
            bytes[i / 2] = (uint8_t)(d << 4);
        else
            bytes[i / 2] |= (uint8_t)d;
    }
    sc->tape_len = t->len / 2;
    sc->tape = script_memdup(p->s, bytes, sc->tape_len);
    return sc->tape ? 0 : -ENOMEM;
}

int script_parse_sched(script_pstate *p, script_cmd *c, const script_tok *args,
                       unsigned n)
{
    script_sched *sc = &c->sched;

    if (n == 0)
        return script_perr(p, p->ln->end_col,
                           "expected fifo, random SEED or "
                           "tape HEX after 'sched'");
    if (strcmp(args[0].s, "fifo") == 0) {
        sc->policy = SCRIPT_SCHED_FIFO;
        return script_need_none(p, "sched fifo", args + 1, n - 1);
    }
    if (strcmp(args[0].s, "random") == 0) {
        sc->policy = SCRIPT_SCHED_RANDOM;
        int r = need_count(p, args + 1, n - 1, 1, "a seed after 'random'");
        return r < 0 ? r : script_arg_uint(p, &args[1], &sc->seed);
    }
    if (strcmp(args[0].s, "tape") == 0) {
        sc->policy = SCRIPT_SCHED_TAPE;
        int r = need_count(p, args + 1, n - 1, 1, "hex bytes after 'tape'");
        return r < 0 ? r : sched_tape(p, &args[1], sc);
    }
    return script_perr(p, args[0].col,
                       "unknown policy '%.64s' (fifo, random SEED, tape HEX)",
                       args[0].s);
}

int script_parse_mutant(script_pstate *p, script_cmd *c, const script_tok *args,
                        unsigned n)
{
    int r = need_count(p, args, n, 1, "a mutant name after 'mutant'");

    if (r < 0)
        return r;
    c->mutant = eng_mutant_by_name(args[0].s);
    if (c->mutant < 0)
        return script_perr(p, args[0].col, "unknown mutant '%.64s'", args[0].s);
    return 0;
}

static int errno_arg(script_pstate *p, const script_tok *t, int *err)
{
    *err = script_errno_by_name(t->s);
    if (*err < 0)
        return script_perr(p, t->col,
                           "unknown errno name '%.64s' (EIO, "
                           "ENOSPC, EINVAL, EPERM, ...)",
                           t->s);
    return 0;
}

int script_parse_expect_error(script_pstate *p, script_cmd *c,
                              const script_tok *args, unsigned n)
{
    int r = need_count(p, args, n, 1, "an errno name after 'expect_error'");

    return r < 0 ? r : errno_arg(p, &args[0], &c->err);
}

int script_parse_policy(script_pstate *p, script_cmd *c, const script_tok *args,
                        unsigned n)
{
    static const char *const keys[] = {"werror"};
    unsigned seen = 0;
    kv k;
    int r = need_count(p, args, n, 1,
                       "werror=report or werror=stop after 'policy'");

    if (r == 0)
        r = kv_lookup(p, &args[0], "policy", keys, 1, &seen, &k);
    if (r < 0)
        return r;
    if (strcmp(k.val.s, "report") == 0)
        c->werror = SCRIPT_WERROR_REPORT;
    else if (strcmp(k.val.s, "stop") == 0)
        c->werror = SCRIPT_WERROR_STOP;
    else
        return script_perr(p, k.val.col, "werror must be report or stop");
    return 0;
}

int script_parse_host(script_pstate *p, script_cmd *c, const script_tok *args,
                      unsigned n)
{
    if (n > 0 && strcmp(args[0].s, "limit") == 0)
        c->kind = SCRIPT_HOST_LIMIT;
    else if (n > 0 && strcmp(args[0].s, "grow") == 0)
        c->kind = SCRIPT_HOST_GROW;
    else
        return script_perr(p, n ? args[0].col : p->ln->end_col,
                           "expected 'limit' or 'grow' after 'host'");
    int r =
        need_count(p, args + 1, n - 1, 1,
                   c->kind == SCRIPT_HOST_LIMIT ? "a size after 'host limit'"
                                                : "a size after 'host grow'");
    return r < 0 ? r : script_arg_size(p, &args[1], &c->size);
}

/* ---- inject, crash ------------------------------------------------------- */

enum { I_ERRNO, I_NTH, I_OFF, I_LEN };
static const char *const inject_keys[] = {"errno", "nth", "off", "len"};

static int inject_target(script_pstate *p, const script_tok *t,
                         script_inject *in)
{
    static const char *const io[] = {"read", "write", "flush"};
    static const script_target kinds[] = {SCRIPT_INJ_READ, SCRIPT_INJ_WRITE,
                                          SCRIPT_INJ_FLUSH};

    for (int i = 0; i < 3; i++) {
        if (strcmp(t->s, io[i]) == 0) {
            in->target = kinds[i];
            return 0;
        }
    }
    in->target = SCRIPT_INJ_EVENT;
    in->event = eng_event_by_name(t->s);
    if (in->event < 0)
        return script_perr(p, t->col,
                           "unknown inject target '%.64s' (an "
                           "event, read, write or flush)",
                           t->s);
    return 0;
}

static int inject_option(script_pstate *p, const script_tok *t,
                         script_inject *in, unsigned *seen, unsigned col[4])
{
    kv k;

    if (strcmp(t->s, "once") == 0) {
        if (in->once)
            return script_perr(p, t->col, "once given twice");
        in->once = true;
        return 0;
    }
    int key = kv_lookup(p, t, "inject", inject_keys, 4, seen, &k);
    if (key < 0)
        return key;
    col[key] = k.col;
    if (key == I_ERRNO)
        return errno_arg(p, &k.val, &in->err);
    if (key == I_NTH) {
        int r = script_arg_uint(p, &k.val, &in->nth);
        if (r == 0 && in->nth == 0)
            return script_perr(p, k.val.col, "nth counts from 1");
        return r;
    }
    int r = script_arg_size(p, &k.val, key == I_OFF ? &in->off : &in->len);
    if (r == 0 && key == I_LEN && in->len == 0)
        return script_perr(p, k.val.col, "len must be at least 1");
    return r;
}

int script_parse_inject(script_pstate *p, script_cmd *c, const script_tok *args,
                        unsigned n)
{
    script_inject *in = &c->inject;
    unsigned seen = 0, col[4] = {0};

    if (n == 0)
        return script_perr(p, p->ln->end_col,
                           "expected an event, read, "
                           "write or flush after 'inject'");
    int r = inject_target(p, &args[0], in);
    for (unsigned i = 1; r == 0 && i < n; i++)
        r = inject_option(p, &args[i], in, &seen, col);
    if (r < 0)
        return r;
    if (!(seen & (1u << I_ERRNO)))
        return script_perr(p, p->ln->end_col, "inject needs errno=E");
    bool off = seen & (1u << I_OFF), len = seen & (1u << I_LEN);
    if (off != len)
        return script_perr(p, col[off ? I_OFF : I_LEN],
                           "off= and len= go together");
    in->has_range = off;
    return 0;
}

/* One option of crash at args[*i]: after=N, or drop=all|random SEED
 * (the seed is the next word). */
static int crash_option(script_pstate *p, script_cmd *c, const script_tok *args,
                        unsigned n, unsigned *i, unsigned *seen)
{
    static const char *const keys[] = {"after", "drop"};
    const script_tok *t = &args[*i];
    kv k;

    if (!strchr(t->s, '='))
        return script_perr(p, t->col, "unexpected argument '%.64s'", t->s);
    int key = kv_lookup(p, t, "crash", keys, 2, seen, &k);
    if (key < 0)
        return key;
    if (key == 0) {
        int r = script_arg_uint(p, &k.val, &c->crash.after);
        if (r == 0 && c->crash.after == 0)
            return script_perr(p, k.val.col,
                               "after= counts host writes and flushes from 1");
        return r;
    }
    if (strcmp(k.val.s, "all") == 0)
        return 0;
    if (strcmp(k.val.s, "random") != 0)
        return script_perr(p, k.val.col, "drop must be all or random SEED");
    c->crash.drop = SCRIPT_DROP_RANDOM;
    if (*i + 1 >= n || strchr(args[*i + 1].s, '='))
        return script_perr(p, *i + 1 >= n ? p->ln->end_col : args[*i + 1].col,
                           "expected a seed after 'drop=random'");
    return script_arg_uint(p, &args[++*i], &c->crash.seed);
}

int script_parse_crash(script_pstate *p, script_cmd *c, const script_tok *args,
                       unsigned n)
{
    unsigned seen = 0;

    c->crash.drop = SCRIPT_DROP_ALL;
    for (unsigned i = 0; i < n; i++) {
        int r = crash_option(p, c, args, n, &i, &seen);
        if (r < 0)
            return r;
    }
    return 0;
}
