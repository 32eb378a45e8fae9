/*
 * hostfile.c - a real file as a host_backend.
 *
 * Invariants: a hostfile owns exactly one open file descriptor, from
 * hostfile_open until destroy. It keeps no cache and no copy of the length:
 * every call asks the OS, so what it reports is what QEMU's tools would see.
 * Offsets and lengths are checked against off_t before any system call, so
 * no call wraps a negative offset.
 */
#include "hostfile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One system call moves at most this much (Linux caps near 2 GiB anyway). */
#define HF_MAX_IO ((size_t)1 << 30)

typedef struct hostfile {
    host_backend base;
    int fd;
} hostfile;

static const host_backend_ops hf_ops;

static hostfile *hf_of(host_backend *b)
{
    assert(hostfile_is(b));
    return (hostfile *)b;
}

bool hostfile_is(const host_backend *b)
{
    return b && b->ops == &hf_ops;
}

/* True when [off, off + len) does not fit in off_t. */
static bool hf_range_bad(uint64_t off, size_t len)
{
    return off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off;
}

/* Moves len bytes between buf and the file at off, looping over short
 * transfers and EINTR. A read stopped by the end of the file fills the
 * rest with zeroes; a write that makes no progress fails with -EIO. buf is
 * only read from when writing. */
static int hf_io(hostfile *f, uint64_t off, unsigned char *buf, size_t len,
                 bool write)
{
    if (hf_range_bad(off, len))
        return -EINVAL;
    while (len > 0) {
        size_t want = len < HF_MAX_IO ? len : HF_MAX_IO;
        ssize_t n = write ? pwrite(f->fd, buf, want, (off_t)off)
                          : pread(f->fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0 && write)
            return -EIO;
        if (n == 0) { /* end of file: the rest reads as a hole */
            memset(buf, 0, len);
            return 0;
        }
        buf += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int hf_pread(host_backend *b, uint64_t off, void *buf, size_t len)
{
    return hf_io(hf_of(b), off, buf, len, false);
}

static int hf_pwrite(host_backend *b, uint64_t off, const void *buf, size_t len)
{
    return hf_io(hf_of(b), off, (unsigned char *)buf, len, true);
}

static int hf_flush(host_backend *b)
{
    hostfile *f = hf_of(b);

    while (fdatasync(f->fd) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

static int hf_truncate(host_backend *b, uint64_t size)
{
    hostfile *f = hf_of(b);

    if (size > (uint64_t)INT64_MAX)
        return -EINVAL;
    while (ftruncate(f->fd, (off_t)size) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

/* The length per fstat; 0 if fstat fails (it cannot on an open fd). */
static uint64_t hf_size(host_backend *b)
{
    hostfile *f = hf_of(b);
    struct stat st;

    if (fstat(f->fd, &st) < 0 || st.st_size < 0)
        return 0;
    return (uint64_t)st.st_size;
}

static void hf_destroy(host_backend *b)
{
    hostfile *f = hf_of(b);

    close(f->fd); /* nothing useful to do with an error at this point */
    free(f);
}

static const host_backend_ops hf_ops = {
    .pread = hf_pread,
    .pwrite = hf_pwrite,
    .flush = hf_flush,
    .truncate = hf_truncate,
    .size = hf_size,
    .destroy = hf_destroy,
};

int hostfile_open(const char *path, int oflags, mode_t mode, host_backend **out)
{
    hostfile *f;
    int fd;

    *out = NULL;
    if (oflags & O_APPEND)
        return -EINVAL;
    f = malloc(sizeof(*f));
    if (!f)
        return -ENOMEM;
    do {
        fd = open(path, oflags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int err = -errno;
        free(f);
        return err;
    }
    f->base.ops = &hf_ops;
    f->fd = fd;
    *out = &f->base;
    return 0;
}

int hostfile_next_data(host_backend *b, uint64_t off, uint64_t *start,
                       uint64_t *end)
{
    hostfile *f = hf_of(b);
    uint64_t size = hf_size(b);
    off_t s, e;

    *start = *end = size;
    if (off >= size)
        return 0;
    s = lseek(f->fd, (off_t)off, SEEK_DATA);
    if (s < 0) {
        if (errno == ENXIO) /* only a hole follows */
            return 0;
        if (errno != EINVAL && errno != EOPNOTSUPP)
            return -errno;
        *start = off; /* no hole support: all data */
        return 0;
    }
    e = lseek(f->fd, s, SEEK_HOLE);
    if (e < 0)
        return -errno;
    *start = (uint64_t)s < size ? (uint64_t)s : size;
    *end = (uint64_t)e < size ? (uint64_t)e : size;
    return 0;
}
