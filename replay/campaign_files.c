/*
 * campaign_files.c - the file primitives of the campaign runner (see
 * campaign_int.h): paths, mkdir -p, atomic writes, whole-file reads,
 * sorted folder listings, and the clean-up of temporary names.
 *
 * Invariant: every file a reader may look at is written to a temporary
 * name in the same folder (".NAME.tmp.PID") and renamed over the final
 * name, so a reader, a resume or a kill -9 sees the old file or the new
 * one, whole. Listings are sorted, never in readdir's order (which
 * depends on the file system), so what a campaign does with them is
 * deterministic.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign_int.h"

bool campaign_path(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, CAMPAIGN_PATH_MAX, fmt, ap);
    va_end(ap);
    return n >= 0 && n < CAMPAIGN_PATH_MAX;
}

int campaign_mkdirs(const char *path)
{
    char p[CAMPAIGN_PATH_MAX];
    if (!campaign_path(p, "%s", path))
        return -ENAMETOOLONG;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(p, 0777) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int campaign_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int campaign_write_atomic(const char *dir, const char *name, const void *data,
                          size_t len, bool sync)
{
    char tmp[CAMPAIGN_PATH_MAX], dst[CAMPAIGN_PATH_MAX];
    if (!campaign_path(tmp, "%s/.%s.tmp.%ld", dir, name, (long)getpid()) ||
        !campaign_path(dst, "%s/%s", dir, name))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return -errno;
    int ret = campaign_write_all(fd, data, len);
    if (ret == 0 && sync && fsync(fd) < 0)
        ret = -errno;
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (ret == 0 && rename(tmp, dst) < 0)
        ret = -errno;
    if (ret < 0)
        unlink(tmp);
    return ret;
}

int campaign_write_file(const char *path, const void *data, size_t len,
                        bool sync)
{
    char dir[CAMPAIGN_PATH_MAX];
    const char *slash = strrchr(path, '/');

    if (!slash)
        return campaign_write_atomic(".", path, data, len, sync);
    if (!campaign_path(dir, "%.*s", (int)(slash - path), path))
        return -ENAMETOOLONG;
    return campaign_write_atomic(slash == path ? "/" : dir, slash + 1, data,
                                 len, sync);
}

int campaign_read_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    int ret = buf ? 0 : -ENOMEM;
    while (ret == 0) {
        if (n == cap) {
            char *p = realloc(buf, 2 * cap + 1);
            if (!p) {
                ret = -ENOMEM;
                break;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            ret = -errno;
        else if (got == 0)
            break;
        else
            n += (size_t)got;
    }
    close(fd);
    if (ret < 0) {
        free(buf);
        return ret;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int campaign_read_in(const char *dir, const char *name, char **out, size_t *len)
{
    char path[CAMPAIGN_PATH_MAX];
    if (!campaign_path(path, "%s/%s", dir, name))
        return -ENAMETOOLONG;
    return campaign_read_file(path, out, len);
}

static int names_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int campaign_dir_list(const char *dir, campaign_name_fn *keep,
                      int (*cmp)(const void *, const void *), char ***out,
                      size_t *n)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t cap = 0;
    int ret = 0;

    *n = 0;
    *out = NULL;
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    while (ret == 0 && (e = readdir(d))) {
        if (!keep(e->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(v, cap * sizeof(*p));
            if (!p) {
                ret = -ENOMEM;
                break;
            }
            v = p;
        }
        if (!(v[*n] = strdup(e->d_name)))
            ret = -ENOMEM;
        else
            (*n)++;
    }
    closedir(d);
    if (ret < 0) {
        campaign_names_free(v, *n);
        *n = 0;
        return ret;
    }
    if (*n)
        qsort(v, *n, sizeof(*v), cmp ? cmp : names_strcmp);
    *out = v;
    return 0;
}

void campaign_names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool files_is_tmp(const char *name)
{
    return name[0] == '.' && strstr(name, ".tmp.") != NULL;
}

static bool files_any(const char *name)
{
    return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

void campaign_clean_tmp(const char *dir)
{
    char **names = NULL, **sub = NULL, path[CAMPAIGN_PATH_MAX];
    size_t n = 0, k = 0;

    if (campaign_dir_list(dir, files_is_tmp, NULL, &names, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!campaign_path(path, "%s/%s", dir, names[i]) || unlink(path) == 0 ||
            errno != EISDIR)
            continue;
        /* a finding folder that never got renamed: its files first */
        if (campaign_dir_list(path, files_any, NULL, &sub, &k) == 0) {
            char fp[CAMPAIGN_PATH_MAX];
            for (size_t j = 0; j < k; j++)
                if (campaign_path(fp, "%s/%s", path, sub[j]))
                    unlink(fp);
            campaign_names_free(sub, k);
        }
        rmdir(path);
    }
    campaign_names_free(names, n);
}
