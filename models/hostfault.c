/*
 * hostfault.c - host errors around another host_backend: a capacity limit
 * and injection rules (the contract is in hostfault.h).
 *
 * Invariants: inner and rules are non-NULL from a successful wrap until
 * destroy; limit 0 means none. Each call decides injection, then the
 * limit, then forwards; a call that fails in either step never reaches
 * inner, so "changes nothing" holds by construction.
 * Ownership: the wrapper owns inner and rules and frees both in destroy.
 */
#include "hostfault.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

typedef struct hostfault {
    host_backend base;
    host_backend *inner;
    fault_rules *rules;
    uint64_t limit;
    uint64_t enospc;
    uint64_t injected;
} hostfault;

static const host_backend_ops hfl_ops;

static hostfault *hfl_of(host_backend *b)
{
    assert(hostfault_is(b));
    return (hostfault *)b;
}

bool hostfault_is(const host_backend *b)
{
    return b && b->ops == &hfl_ops;
}

/* Step 1: 0, or the -errno of the rule that fired (counted). */
static int hfl_inject(hostfault *f, fault_target t, uint64_t off, uint64_t len)
{
    int rc = fault_rules_check(f->rules, t, 0, off, len);

    if (rc)
        f->injected++;
    return rc;
}

/* Step 2 for writes: would [off, off + len) put a byte at or past the
 * limit? Written so that off + len cannot overflow. */
static bool hfl_over_limit(const hostfault *f, uint64_t off, uint64_t len)
{
    if (f->limit == 0 || len == 0)
        return false;
    return len > f->limit || off > f->limit - len;
}

static int hfl_pread(host_backend *b, uint64_t off, void *buf, size_t len)
{
    hostfault *f = hfl_of(b);
    int rc = hfl_inject(f, FAULT_READ, off, len);

    return rc ? rc : host_pread(f->inner, off, buf, len);
}

static int hfl_pwrite(host_backend *b, uint64_t off, const void *buf,
                      size_t len)
{
    hostfault *f = hfl_of(b);
    int rc = hfl_inject(f, FAULT_WRITE, off, len);

    if (rc)
        return rc;
    if (hfl_over_limit(f, off, len)) {
        f->enospc++;
        return -ENOSPC;
    }
    return host_pwrite(f->inner, off, buf, len);
}

static int hfl_flush(host_backend *b)
{
    hostfault *f = hfl_of(b);
    int rc = hfl_inject(f, FAULT_FLUSH, 0, 0);

    return rc ? rc : host_flush(f->inner);
}

static int hfl_truncate(host_backend *b, uint64_t size)
{
    hostfault *f = hfl_of(b);
    uint64_t old = host_size(f->inner);
    uint64_t lo = old < size ? old : size;
    int rc = hfl_inject(f, FAULT_TRUNCATE, lo, (old < size ? size : old) - lo);

    if (rc)
        return rc;
    if (f->limit && size > f->limit && size > old) {
        f->enospc++;
        return -ENOSPC;
    }
    return host_truncate(f->inner, size);
}

static uint64_t hfl_size(host_backend *b)
{
    return host_size(hfl_of(b)->inner);
}

static void hfl_destroy(host_backend *b)
{
    hostfault *f = hfl_of(b);

    host_destroy(f->inner);
    fault_rules_destroy(f->rules);
    free(f);
}

static const host_backend_ops hfl_ops = {
    .pread = hfl_pread,
    .pwrite = hfl_pwrite,
    .flush = hfl_flush,
    .truncate = hfl_truncate,
    .size = hfl_size,
    .destroy = hfl_destroy,
};

int hostfault_wrap(host_backend *inner, host_backend **out)
{
    hostfault *f;

    *out = NULL;
    if (!inner)
        return -EINVAL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->rules = fault_rules_create();
    if (!f->rules) {
        free(f);
        return -ENOMEM;
    }
    f->base.ops = &hfl_ops;
    f->inner = inner;
    *out = &f->base;
    return 0;
}

host_backend *hostfault_inner(host_backend *b)
{
    return hfl_of(b)->inner;
}

fault_rules *hostfault_rules(host_backend *b)
{
    return hfl_of(b)->rules;
}

void hostfault_set_limit(host_backend *b, uint64_t bytes)
{
    hfl_of(b)->limit = bytes;
}

uint64_t hostfault_limit(host_backend *b)
{
    return hfl_of(b)->limit;
}

void hostfault_grow(host_backend *b, uint64_t bytes)
{
    hostfault *f = hfl_of(b);

    if (f->limit == 0)
        return;
    f->limit = bytes > UINT64_MAX - f->limit ? UINT64_MAX : f->limit + bytes;
}

uint64_t hostfault_enospc_count(host_backend *b)
{
    return hfl_of(b)->enospc;
}

uint64_t hostfault_injected_count(host_backend *b)
{
    return hfl_of(b)->injected;
}
