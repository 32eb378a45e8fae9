/*
 * regress.c - adding reproducers to the regression suite and listing it
 * (see regress.h).
 *
 * regress_add composes the file to write as a new script that borrows the
 * input's commands and comments (shallow copies: the input outlives it)
 * behind one `mutant` line per mutant switched on by option and not named
 * by the script already; replays it; sets its expectation to the verdict
 * seen; prints it canonically; and creates the file with O_EXCL, so an
 * existing test is never replaced. The file is then replayed once more
 * from disk and must match its header, or it is removed again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eng_mutant.h"
#include "regress.h"
#include "replay.h"

int regress_name_check(const char *name, char *why, size_t len)
{
    size_t n = strlen(name);

    if (n == 0 || n > REGRESS_NAME_MAX) {
        snprintf(why, len, "a test name has 1 to %d characters",
                 REGRESS_NAME_MAX);
        return -EINVAL;
    }
    if (name[0] == '-') {
        snprintf(why, len, "'%s' starts with '-'", name);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok) {
            snprintf(why, len,
                     "'%s' has '%c': a test name is letters, digits, '_' and "
                     "'-' (CMake names the test after the file up to its "
                     "first '.')",
                     name, ch);
            return -EINVAL;
        }
    }
    return 0;
}

void regress_default_name(const char *file, char *buf, size_t len)
{
    const char *base = strrchr(file, '/');
    size_t n;

    base = base ? base + 1 : file;
    n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".io") == 0)
        n -= 3;
    snprintf(buf, len, "%.*s", (int)n, base);
}

static bool regress_has_mutant(const script *s, int m)
{
    for (size_t i = 0; i < s->ncmds; i++)
        if (s->cmds[i].kind == SCRIPT_MUTANT && s->cmds[i].mutant == m)
            return true;
    return false;
}

/* The file's script: mutant lines, then in's commands (borrowed). */
static script *regress_compose(const script *in, uint64_t mutants,
                               bool *any_mutant)
{
    script *s = script_new(in->name);

    *any_mutant = false;
    for (int m = 0; s && m < ENG_MUT_COUNT; m++) {
        if (regress_has_mutant(in, m))
            *any_mutant = true;
        if (!(mutants & ENG_MUTANT_BIT(m)) || regress_has_mutant(in, m))
            continue;
        script_cmd *c = script_append(s, SCRIPT_MUTANT);
        if (!c)
            goto fail;
        c->mutant = m;
        *any_mutant = true;
    }
    for (size_t i = 0; s && i < in->ncmds; i++) {
        script_cmd *c = script_append(s, in->cmds[i].kind);
        if (!c)
            goto fail;
        *c = in->cmds[i];
    }
    if (!s)
        return NULL;
    s->header = in->header;
    s->nheader = in->nheader;
    s->footer = in->footer;
    s->nfooter = in->nfooter;
    return s;
fail:
    script_free(s);
    return NULL;
}

/* Create path exclusively and write text. */
static int regress_write_new(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

    if (fd < 0)
        return -errno;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = -errno;
            close(fd);
            unlink(path);
            return e;
        }
        done += (size_t)w;
    }
    if (close(fd) < 0) {
        int e = -errno;
        unlink(path);
        return e;
    }
    return 0;
}

/* Replay s REGRESS_REPEAT times; the verdict into r. */
static int regress_verdict(const script *s, const regress_add_opts *o,
                           regress_add_result *r, char *err, size_t errlen)
{
    replay_opts ro = {.repeat = REGRESS_REPEAT, .in_process = o->in_process};
    replay_result *rr = malloc(sizeof(*rr));

    if (!rr)
        return -ENOMEM;
    ro.exec.budget = o->budget;
    int ret = replay_script(s, &ro, rr);
    if (ret < 0)
        snprintf(err, errlen, "could not replay it: %s", strerror(-ret));
    else if (!rr->repeat_ok) {
        snprintf(err, errlen,
                 "its runs disagree (run %u differs from run 1): a suite "
                 "test must give the same verdict every time",
                 rr->repeat_bad);
        ret = -EINVAL;
    }
    r->verdict = rr->run.verdict;
    free(rr);
    return ret;
}

/* The written file replays to its header, or it goes again. */
static int regress_verify(const char *path, const regress_add_opts *o,
                          char *err, size_t errlen)
{
    replay_opts ro = {.in_process = o->in_process};
    replay_result *rr = malloc(sizeof(*rr));

    if (!rr)
        return -ENOMEM;
    ro.exec.budget = o->budget;
    int ret = replay_file(path, &ro, rr);
    if (ret == 0 && !rr->match) {
        snprintf(err, errlen,
                 "%s does not replay to its header (got %s): removed", path,
                 script_verdict_name(rr->run.verdict));
        ret = -EINVAL;
    }
    free(rr);
    if (ret < 0)
        unlink(path);
    return ret;
}

static int regress_paths(const char *file, const regress_add_opts *o,
                         regress_add_result *r, char *err, size_t errlen)
{
    const char *dir = o->dir ? o->dir : REGRESS_DEFAULT_DIR;
    struct stat sb;

    char name[1024];

    if (o->name)
        snprintf(name, sizeof(name), "%s", o->name);
    else
        regress_default_name(file, name, sizeof(name));
    if (regress_name_check(name, err, errlen) < 0)
        return -EINVAL;
    memcpy(r->name, name, strlen(name) + 1); /* checked: <= 64 bytes */
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "no folder %s here (run from the source tree, "
                              "or give --dir)", dir);
        return -ENOENT;
    }
    snprintf(r->path, sizeof(r->path), "%s/%s.io", dir, r->name);
    if (access(r->path, F_OK) == 0) {
        snprintf(err, errlen, "%s exists already: choose another --name",
                 r->path);
        return -EEXIST;
    }
    return 0;
}

static int regress_store(script *s, regress_add_result *r, char *err,
                         size_t errlen)
{
    size_t len;

    s->has_expect = true;
    s->expect = r->verdict;
    char *text = script_print(s, &len);
    if (!text)
        return -ENOMEM;
    int ret = regress_write_new(r->path, text, len);
    free(text);
    if (ret < 0)
        snprintf(err, errlen, "cannot create %s: %s", r->path,
                 strerror(-ret));
    return ret;
}

int regress_add(const char *file, const regress_add_opts *o,
                regress_add_result *r, char *err, size_t errlen)
{
    script_error perr;
    script *in = NULL, *s = NULL;

    memset(r, 0, sizeof(*r));
    err[0] = '\0';
    int ret = regress_paths(file, o, r, err, errlen);
    if (ret < 0)
        return ret;
    if ((ret = script_load(file, &in, &perr)) < 0) {
        script_error_format(&perr, err, errlen);
        return ret == -ENOMEM ? ret : -EINVAL;
    }
    r->had_expect = in->has_expect;
    r->old = in->expect;
    s = regress_compose(in, o->mutants, &r->mutant);
    if (!s)
        ret = -ENOMEM;
    if (ret == 0)
        ret = regress_verdict(s, o, r, err, errlen);
    r->real_bug = r->verdict != SCRIPT_V_OK && !r->mutant;
    if (ret == 0)
        ret = regress_store(s, r, err, errlen);
    if (ret == 0)
        ret = regress_verify(r->path, o, err, errlen);
    script_free(s);
    script_free(in);
    return ret;
}

static int regress_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int regress_list(const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t k = 0, cap = 0;
    struct dirent *de;

    *names = NULL;
    *n = 0;
    if (!d)
        return -errno;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 4 || strcmp(de->d_name + l - 3, ".io") != 0)
            continue;
        if (k == cap) {
            cap = cap ? cap * 2 : 64;
            char **p = realloc(v, cap * sizeof(*p));
            if (!p)
                goto oom;
            v = p;
        }
        if (!(v[k] = strdup(de->d_name)))
            goto oom;
        k++;
    }
    closedir(d);
    if (k)
        qsort(v, k, sizeof(*v), regress_cmp);
    *names = v;
    *n = k;
    return 0;
oom:
    closedir(d);
    regress_list_free(v, k);
    return -ENOMEM;
}

void regress_list_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
