/*
 * host.h - the synchronous host-file backend interface.
 *
 * A host_backend is one host file: the simulated in-memory disk
 * (models/hostdisk.c) or a real file (models/hostfile.c). Calls complete
 * immediately and never yield; the harness wraps a backend into an
 * asynchronous eng_file whose I/O the scheduler completes (harness/sched_io.c).
 *
 * Contracts:
 *   - pread past the end of the file fills zeroes (like a sparse file).
 *   - pwrite past the end extends the file.
 *   - flush makes every write so far durable.
 *   - All return 0 or -errno; a failed call changes nothing it did not say.
 *   - destroy frees the backend (and closes a real file).
 */
#ifndef COWPOKE_HOST_H
#define COWPOKE_HOST_H

#include <stddef.h>
#include <stdint.h>

typedef struct host_backend host_backend;

typedef struct host_backend_ops {
    int (*pread)(host_backend *b, uint64_t off, void *buf, size_t len);
    int (*pwrite)(host_backend *b, uint64_t off, const void *buf, size_t len);
    int (*flush)(host_backend *b);
    int (*truncate)(host_backend *b, uint64_t size);
    uint64_t (*size)(host_backend *b);
    void (*destroy)(host_backend *b);
} host_backend_ops;

struct host_backend {
    const host_backend_ops *ops;
};

static inline int host_pread(host_backend *b, uint64_t off, void *buf, size_t len)
{
    return b->ops->pread(b, off, buf, len);
}
static inline int host_pwrite(host_backend *b, uint64_t off, const void *buf, size_t len)
{
    return b->ops->pwrite(b, off, buf, len);
}
static inline int host_flush(host_backend *b) { return b->ops->flush(b); }
static inline int host_truncate(host_backend *b, uint64_t size) { return b->ops->truncate(b, size); }
static inline uint64_t host_size(host_backend *b) { return b->ops->size(b); }
static inline void host_destroy(host_backend *b)
{
    if (b)
        b->ops->destroy(b);
}

#endif
