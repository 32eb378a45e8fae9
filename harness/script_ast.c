/*
 * script_ast.c - the script object: its arena, building commands in code,
 * freeing, structural equality, and the name tables of the language.
 *
 * Ownership: a script owns one arena (a list of chunks, freed together) and
 * the command array (one allocation grown by doubling). Everything a
 * command points at (strings, tapes, comment arrays) is in the arena, so a
 * command array may move without invalidating those pointers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "script_int.h"

/* ---- arena --------------------------------------------------------------- */

#define ARENA_CHUNK 16384

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char data[];
} arena_chunk;

struct script_arena {
    arena_chunk *head;
};

static void *arena_alloc(script_arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    arena_chunk *c = a->head;

    n = (n + align - 1) & ~(align - 1);
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void *script_memdup(script *s, const void *p, size_t n)
{
    char *q = arena_alloc(s->arena, n + 1);

    if (!q)
        return NULL;
    if (n)
        memcpy(q, p, n);
    q[n] = '\0';
    return q;
}

const char *script_strdup(script *s, const char *str)
{
    return script_memdup(s, str, strlen(str));
}

/* ---- create, append, free ------------------------------------------------ */

script *script_new(const char *name)
{
    script *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->arena = calloc(1, sizeof(*s->arena));
    if (!s->arena) {
        free(s);
        return NULL;
    }
    s->name = script_strdup(s, name ? name : "<script>");
    if (!s->name) {
        script_free(s);
        return NULL;
    }
    return s;
}

script_cmd *script_append(script *s, script_kind kind)
{
    if (s->ncmds >= SCRIPT_MAX_CMDS)
        return NULL;
    if (s->ncmds == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        script_cmd *n = realloc(s->cmds, cap * sizeof(*n));
        if (!n)
            return NULL;
        s->cmds = n;
        s->cap = cap;
    }
    script_cmd *c = &s->cmds[s->ncmds++];
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    if (kind == SCRIPT_INJECT)
        c->inject.event = -1;
    else if (kind == SCRIPT_BREAK || kind == SCRIPT_WAIT_BREAK ||
             kind == SCRIPT_RESUME || kind == SCRIPT_REMOVE_BREAK)
        c->bp.event = -1;
    return c;
}

void script_free(script *s)
{
    if (!s)
        return;
    if (s->arena) {
        arena_chunk *c = s->arena->head;
        while (c) {
            arena_chunk *next = c->next;
            free(c);
            c = next;
        }
        free(s->arena);
    }
    free(s->cmds);
    free(s);
}

/* ---- equality ------------------------------------------------------------ */

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool lines_eq(const char *const *a, size_t na, const char *const *b,
                     size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!str_eq(a[i], b[i]))
            return false;
    return true;
}

static bool io_eq(const script_io *a, const script_io *b)
{
    if (a->off != b->off || a->len != b->len || a->flags != b->flags)
        return false;
    if ((a->flags & SCRIPT_F_PATTERN) && a->pattern != b->pattern)
        return false;
    if ((a->flags & SCRIPT_F_PAT_OFF) && a->pat_off != b->pat_off)
        return false;
    return !(a->flags & SCRIPT_F_PAT_LEN) || a->pat_len == b->pat_len;
}

static bool create_eq(const script_create *a, const script_create *b)
{
    return str_eq(a->name, b->name) && a->size == b->size &&
           a->cluster_size == b->cluster_size && a->version == b->version &&
           str_eq(a->backing, b->backing) && a->backing_fmt == b->backing_fmt &&
           a->refcount_bits == b->refcount_bits;
}

static bool sched_eq(const script_sched *a, const script_sched *b)
{
    if (a->policy != b->policy)
        return false;
    if (a->policy == SCRIPT_SCHED_RANDOM)
        return a->seed == b->seed;
    if (a->policy == SCRIPT_SCHED_TAPE)
        return a->tape_len == b->tape_len &&
               (a->tape_len == 0 || memcmp(a->tape, b->tape, a->tape_len) == 0);
    return true;
}

static bool inject_eq(const script_inject *a, const script_inject *b)
{
    if (a->target != b->target || a->err != b->err || a->once != b->once ||
        a->nth != b->nth || a->has_range != b->has_range)
        return false;
    if (a->target == SCRIPT_INJ_EVENT && a->event != b->event)
        return false;
    return !a->has_range || (a->off == b->off && a->len == b->len);
}

static bool fields_eq(const script_cmd *a, const script_cmd *b)
{
    switch (a->kind) {
    case SCRIPT_WRITE:
    case SCRIPT_READ:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_AIO_READ:
    case SCRIPT_DISCARD:
        return io_eq(&a->io, &b->io);
    case SCRIPT_BREAK:
        return a->bp.event == b->bp.event && str_eq(a->bp.tag, b->bp.tag);
    case SCRIPT_WAIT_BREAK:
    case SCRIPT_RESUME:
    case SCRIPT_REMOVE_BREAK:
        return str_eq(a->bp.tag, b->bp.tag);
    case SCRIPT_TRUNCATE:
    case SCRIPT_HOST_LIMIT:
    case SCRIPT_HOST_GROW:
        return a->size == b->size;
    case SCRIPT_IMAGE_CREATE:
        return create_eq(&a->create, &b->create);
    case SCRIPT_IMAGE_OPEN:
        return str_eq(a->open.file, b->open.file) &&
               str_eq(a->open.backing, b->open.backing);
    case SCRIPT_IMAGE_USE:
        return str_eq(a->use, b->use);
    case SCRIPT_SCHED:
        return sched_eq(&a->sched, &b->sched);
    case SCRIPT_MUTANT:
        return a->mutant == b->mutant;
    case SCRIPT_EXPECT_ERROR:
        return a->err == b->err;
    case SCRIPT_POLICY:
        return a->werror == b->werror;
    case SCRIPT_INJECT:
        return inject_eq(&a->inject, &b->inject);
    case SCRIPT_CRASH:
        return a->crash.drop == b->crash.drop &&
               a->crash.after == b->crash.after &&
               (a->crash.drop != SCRIPT_DROP_RANDOM ||
                a->crash.seed == b->crash.seed);
    default: /* commands without fields */
        return true;
    }
}

bool script_cmd_equal(const script_cmd *a, const script_cmd *b)
{
    return a->kind == b->kind && str_eq(a->trailing, b->trailing) &&
           lines_eq(a->comments, a->ncomments, b->comments, b->ncomments) &&
           fields_eq(a, b);
}

bool script_equal(const script *a, const script *b)
{
    if (a->has_expect != b->has_expect ||
        (a->has_expect && a->expect != b->expect) || a->ncmds != b->ncmds ||
        !lines_eq(a->header, a->nheader, b->header, b->nheader) ||
        !lines_eq(a->footer, a->nfooter, b->footer, b->nfooter))
        return false;
    for (size_t i = 0; i < a->ncmds; i++)
        if (!script_cmd_equal(&a->cmds[i], &b->cmds[i]))
            return false;
    return true;
}

/* ---- names --------------------------------------------------------------- */

static const char *const kind_names[SCRIPT_KIND_COUNT] = {
    [SCRIPT_WRITE] = "write",
    [SCRIPT_READ] = "read",
    [SCRIPT_AIO_WRITE] = "aio_write",
    [SCRIPT_AIO_READ] = "aio_read",
    [SCRIPT_AIO_FLUSH] = "aio_flush",
    [SCRIPT_FLUSH] = "flush",
    [SCRIPT_DISCARD] = "discard",
    [SCRIPT_BREAK] = "break",
    [SCRIPT_WAIT_BREAK] = "wait_break",
    [SCRIPT_RESUME] = "resume",
    [SCRIPT_REMOVE_BREAK] = "remove_break",
    [SCRIPT_CLOSE] = "close",
    [SCRIPT_REOPEN] = "reopen",
    [SCRIPT_TRUNCATE] = "truncate",
    [SCRIPT_IMAGE_CREATE] = "image create",
    [SCRIPT_IMAGE_OPEN] = "image open",
    [SCRIPT_IMAGE_USE] = "image use",
    [SCRIPT_SCHED] = "sched",
    [SCRIPT_CHECK] = "check",
    [SCRIPT_MUTANT] = "mutant",
    [SCRIPT_EXPECT_ERROR] = "expect_error",
    [SCRIPT_POLICY] = "policy",
    [SCRIPT_RESUME_ERRORS] = "resume_errors",
    [SCRIPT_HOST_LIMIT] = "host limit",
    [SCRIPT_HOST_GROW] = "host grow",
    [SCRIPT_INJECT] = "inject",
    [SCRIPT_CRASH] = "crash",
};

const char *script_kind_name(script_kind k)
{
    return (unsigned)k < SCRIPT_KIND_COUNT ? kind_names[k] : "?";
}

static const char *const verdict_names[SCRIPT_V_COUNT] = {
    [SCRIPT_V_OK] = "ok",
    [SCRIPT_V_DATA_MISMATCH] = "data-mismatch",
    [SCRIPT_V_METADATA_CORRUPT] = "metadata-corrupt",
    [SCRIPT_V_ERROR_SWALLOWED] = "error-swallowed",
    [SCRIPT_V_UNEXPECTED_ERROR] = "unexpected-error",
    [SCRIPT_V_ENGINE_ABORT] = "engine-abort",
    [SCRIPT_V_DEADLOCK] = "deadlock",
    [SCRIPT_V_BUDGET] = "budget",
    [SCRIPT_V_SCRIPT_ERROR] = "script-error",
};

const char *script_verdict_name(script_verdict v)
{
    return (unsigned)v < SCRIPT_V_COUNT ? verdict_names[v] : "?";
}

int script_verdict_by_name(const char *name)
{
    for (int i = 0; i < SCRIPT_V_COUNT; i++)
        if (strcmp(verdict_names[i], name) == 0)
            return i;
    return -1;
}

/* The first entry of a value is its canonical name; later ones are aliases
 * (EOPNOTSUPP is ENOTSUP on Linux). */
static const struct {
    const char *name;
    int value;
} errno_names[] = {
    {"EPERM", EPERM},
    {"ENOENT", ENOENT},
    {"EIO", EIO},
    {"ENXIO", ENXIO},
    {"E2BIG", E2BIG},
    {"EAGAIN", EAGAIN},
    {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},
    {"EBUSY", EBUSY},
    {"EEXIST", EEXIST},
    {"EINVAL", EINVAL},
    {"EFBIG", EFBIG},
    {"ENOSPC", ENOSPC},
    {"ESPIPE", ESPIPE},
    {"EROFS", EROFS},
    {"ERANGE", ERANGE},
    {"ENOTSUP", ENOTSUP},
    {"EOPNOTSUPP", EOPNOTSUPP},
    {"ETIMEDOUT", ETIMEDOUT},
    {"ECANCELED", ECANCELED},
    {"EDQUOT", EDQUOT},
    {"EMEDIUMTYPE", EMEDIUMTYPE},
};

#define N_ERRNO (sizeof(errno_names) / sizeof(errno_names[0]))

const char *script_errno_name(int err)
{
    for (size_t i = 0; i < N_ERRNO; i++)
        if (errno_names[i].value == err)
            return errno_names[i].name;
    return NULL;
}

int script_errno_by_name(const char *name)
{
    for (size_t i = 0; i < N_ERRNO; i++)
        if (strcmp(errno_names[i].name, name) == 0)
            return errno_names[i].value;
    return -1;
}
