/*
 * imgset.c - named images and backing-name resolution (see imgset.h).
 *
 * Entries live in an array in creation order (lookups are linear: a run
 * has a handful of images). Each entry owns its name and its backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostdisk.h"
#include "hostfile.h"
#include "imgset.h"

typedef struct imgset_entry {
    char *name;
    host_backend *b;
    eng_file *f; /* owned by the scheduler; NULL until first asked for */
} imgset_entry;

struct imgset {
    sched *s;
    char *dir;
    imgset_entry *v;
    size_t n, cap;
};

imgset *imgset_create(sched *s, const char *dir)
{
    imgset *set = calloc(1, sizeof(*set));
    if (!set)
        return NULL;
    set->s = s;
    if (dir && !(set->dir = strdup(dir))) {
        free(set);
        return NULL;
    }
    return set;
}

void imgset_destroy(imgset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        host_destroy(set->v[i].b);
        free(set->v[i].name);
    }
    free(set->v);
    free(set->dir);
    free(set);
}

static imgset_entry *imgset_lookup(const imgset *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i].name, name) == 0)
            return &set->v[i];
    return NULL;
}

host_backend *imgset_find(const imgset *set, const char *name)
{
    imgset_entry *e = imgset_lookup(set, name);
    return e ? e->b : NULL;
}

/* Takes ownership of b (destroys it on failure). */
static int imgset_push(imgset *set, const char *name, host_backend *b)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4;
        imgset_entry *v = realloc(set->v, cap * sizeof(*v));
        if (!v) {
            host_destroy(b);
            return -ENOMEM;
        }
        set->v = v;
        set->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        host_destroy(b);
        return -ENOMEM;
    }
    set->v[set->n++] = (imgset_entry){.name = copy, .b = b};
    return 0;
}

int imgset_add_memory(imgset *set, const char *name, host_backend **out)
{
    if (imgset_lookup(set, name))
        return -EEXIST;
    host_backend *b = hostdisk_create();
    if (!b)
        return -ENOMEM;
    int ret = imgset_push(set, name, b);
    if (ret == 0 && out)
        *out = b;
    return ret;
}

/* path resolved against the set's directory into buf. */
static int imgset_resolve(const imgset *set, const char *path, char *buf,
                          size_t len)
{
    int n;
    if (path[0] == '/' || !set->dir)
        n = snprintf(buf, len, "%s", path);
    else
        n = snprintf(buf, len, "%s/%s", set->dir, path);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int imgset_open_file(imgset *set, const char *path, bool create, bool writable,
                     host_backend **out)
{
    char full[4096];
    int ret = imgset_resolve(set, path, full, sizeof(full));
    if (ret < 0)
        return ret;
    imgset_entry *e = imgset_lookup(set, full);
    if (e && !create) {
        *out = e->b;
        return 0;
    }
    if (e)
        return -EEXIST;
    int flags = writable ? O_RDWR : O_RDONLY;
    if (create)
        flags |= O_CREAT | O_TRUNC;
    host_backend *b;
    ret = hostfile_open(full, flags, 0644, &b);
    if (ret < 0)
        return ret;
    ret = imgset_push(set, full, b);
    if (ret == 0)
        *out = b;
    return ret;
}

eng_file *imgset_file(imgset *set, host_backend *b)
{
    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i].b != b)
            continue;
        if (!set->v[i].f)
            set->v[i].f = sched_file(set->s, b, set->v[i].name);
        return set->v[i].f;
    }
    return NULL;
}

static int imgset_open_backing(void *opaque, const char *name, eng_file **out)
{
    imgset *set = opaque;
    host_backend *b = imgset_find(set, name);
    if (!b) {
        int ret = imgset_open_file(set, name, false, false, &b);
        if (ret < 0)
            return ret;
    }
    *out = imgset_file(set, b);
    return *out ? 0 : -ENOMEM;
}

static void imgset_close_backing(void *opaque, eng_file *f)
{
    /* The set keeps its images open until it is destroyed. */
    (void)opaque;
    (void)f;
}

void imgset_open_opts(imgset *set, eng_open_opts *o)
{
    o->open_backing = imgset_open_backing;
    o->close_backing = imgset_close_backing;
    o->backing_opaque = set;
}
