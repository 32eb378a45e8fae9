/*
 * hostdisk_file.c - the simulated host disk's content hash, and its
 * exchange with real files: saving the current view (for QEMU's tools) and
 * loading a file as the durable content (definitions in hostdisk.h).
 *
 * All three walk the pages in index order and skip the pages whose
 * current content is all zero; hd_cur_is_zero knows that without a scan
 * for almost every page (I3, I8 in hostdisk_int.h). By I4, a page cut by
 * the length holds zeroes past it, so "the page is all zero" and "its
 * bytes below the length are all zero" agree.
 *
 * Ownership: the load buffer is transient (hd_alloc); files are opened and
 * closed here.
 */
#define XXH_STATIC_LINKING_ONLY /* for a XXH3_state_t on the stack */
#include "hostdisk_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <xxhash.h>

#include "hostfile.h"

#define HD_LOAD_CHUNK ((size_t)64 << 10) /* load reads by this */

_Static_assert(HD_LOAD_CHUNK % HD_PAGE == 0, "load chunks hold whole pages");

static void hd_hash_u64(XXH3_state_t *st, uint64_t v)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    XXH3_64bits_update(st, le, sizeof(le));
}

uint64_t hostdisk_hash(host_backend *b)
{
    hostdisk *d = hd_of(b);
    XXH3_state_t st;

    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    for (hd_page *p = hd_next(d, 0); p; p = hd_next(d, p->index + 1)) {
        uint64_t start = p->index << HD_PAGE_SHIFT;
        if (start >= d->size)
            break;
        if (hd_cur_is_zero(p))
            continue;
        hd_hash_u64(&st, p->index);
        XXH3_64bits_update(&st, hd_cur(p), hd_min(HD_PAGE, d->size - start));
    }
    hd_hash_u64(&st, d->size);
    return XXH3_64bits_digest(&st);
}

int hostdisk_save(host_backend *b, const char *path)
{
    hostdisk *d = hd_of(b);
    host_backend *f;
    int rc = hostfile_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);

    for (hd_page *p = hd_next(d, 0); rc == 0 && p;
         p = hd_next(d, p->index + 1)) {
        uint64_t start = p->index << HD_PAGE_SHIFT;

        if (start >= d->size)
            break;
        if (!hd_cur_is_zero(p))
            rc = host_pwrite(f, start, hd_cur(p),
                             hd_min(HD_PAGE, d->size - start));
    }
    if (rc == 0)
        rc = host_truncate(f, d->size); /* the holes, and the length */
    host_destroy(f);
    return rc;
}

/* Copies the file's bytes [from, to) into d as volatile writes, skipping
 * all-zero pages; from is page-aligned; buf holds HD_LOAD_CHUNK bytes. */
static int hd_load_range(hostdisk *d, host_backend *f, uint64_t from,
                         uint64_t to, unsigned char *buf)
{
    assert(from % HD_PAGE == 0);
    while (from < to) {
        size_t n = hd_min(HD_LOAD_CHUNK, to - from);
        int rc = host_pread(f, from, buf, n);

        for (size_t at = 0; rc == 0 && at < n; at += HD_PAGE) {
            size_t k = hd_min(HD_PAGE, n - at);
            if (hd_first_nz(buf + at, k) < k)
                rc = hd_write(d, from + at, buf + at, k);
        }
        if (rc < 0)
            return rc;
        from += n;
    }
    return 0;
}

/* Fills the empty disk d with file f's content, all durable. */
static int hd_load_from(hostdisk *d, host_backend *f)
{
    uint64_t size = host_size(f), off = 0, start, end;
    unsigned char *buf;
    int rc = 0;

    if (size > HOSTDISK_MAX_SIZE)
        return -EFBIG;
    if (!(buf = hd_alloc(d, HD_LOAD_CHUNK)))
        return -ENOMEM;
    while (rc == 0 && off < size) {
        rc = hostfile_next_data(f, off, &start, &end);
        if (rc < 0 || start >= end)
            break;
        rc = hd_load_range(d, f, start & ~(uint64_t)(HD_PAGE - 1), end, buf);
        off = end;
    }
    hd_release(d, buf, HD_LOAD_CHUNK);
    hd_commit_all(d);
    d->size = d->dsize = size;
    return rc;
}

int hostdisk_load(host_backend *b, const char *path)
{
    hostdisk *d = hd_of(b), fresh;
    host_backend *f;
    int rc = hostfile_open(path, O_RDONLY, 0, &f);

    if (rc < 0)
        return rc;
    hd_init(&fresh, d->base.ops);
    fresh.alloc_budget = d->alloc_budget;
    rc = hd_load_from(&fresh, f);
    host_destroy(f);
    if (rc < 0) {
        hd_clear(&fresh);
        return rc;
    }
    hd_clear(d);
    /* Pages, pools and slabs point at each other, never at the hostdisk. */
    *d = fresh;
    return 0;
}
