/*
 * hostfile.h - a real file as a host_backend (models/host.h).
 *
 * The backend owns its file descriptor: host_destroy() closes it. Every
 * call goes straight to the OS: pread/pwrite are looped over short
 * transfers and EINTR, flush is fdatasync, truncate is ftruncate, size is
 * fstat. Errors are -errno. A read past the end of the file fills zeroes.
 */
#ifndef COWPOKE_HOSTFILE_H
#define COWPOKE_HOSTFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "host.h"

/*
 * Opens path with open(2)'s oflags and mode (O_CLOEXEC is added) and
 * stores a new backend in *out. O_APPEND is refused with -EINVAL (it
 * would make pwrite ignore its offset). On failure *out is NULL and the
 * result is -errno, e.g. -ENOENT for a missing file without O_CREAT.
 */
int hostfile_open(const char *path, int oflags, mode_t mode,
                  host_backend **out);

/* True when b was made by hostfile_open. */
bool hostfile_is(const host_backend *b);

/*
 * The first data extent at or after off, as [*start, *end) (SEEK_DATA /
 * SEEK_HOLE); when no data follows off, *start = *end = the file length.
 * Where the file system cannot tell holes, everything from off to the end
 * counts as data. Requires a backend made by hostfile_open. 0 or -errno.
 */
int hostfile_next_data(host_backend *b, uint64_t off, uint64_t *start,
                       uint64_t *end);

#endif
