/*
 * eng_backing.c - the backing chain: resolving the backing file name
 * through eng_open_opts.open_backing, opening a qcow2 backing file as a
 * nested read-only eng (raw ones are read directly), and reading from it.
 *
 * Invariants:
 *   - A backing image is read-only and announces no events (the events
 *     of a run are those of the image under test).
 *   - Reads past the backing image's virtual size return zeroes.
 *   - The chain is at most ENG_MAX_BACKING_DEPTH deep (a loop of names
 *     is refused, not followed forever).
 *   - The backing eng_file belongs to the opener; it is handed back
 *     through close_backing exactly once.
 */
#include <stdio.h>

#include "eng_internal.h"

static int probe_qcow2_co(eng_file *f, bool *is_qcow2)
{
    uint8_t magic[4] = {0};
    int ret = 0;
    *is_qcow2 = false;
    if (f->ops->size(f) >= sizeof(magic)) {
        ret = f->ops->co_pread(f, 0, magic, sizeof(magic));
        *is_qcow2 = ret == 0 && eng_be32(magic) == QCOW_MAGIC;
    }
    return ret;
}

static int open_nested_co(eng *e, int depth, eng_error *err)
{
    eng_open_opts sub = {
        .read_only = true,
        .open_backing = e->opts.open_backing,
        .close_backing = e->opts.close_backing,
        .backing_opaque = e->opts.backing_opaque,
    };
    eng_error suberr = {{0}};
    int ret = eng_open_depth_co(&e->rt, e->backing_file, &sub, depth + 1,
                                &e->backing_eng, &suberr);
    if (ret == -ELOOP) /* already names the chain; do not nest it */
        eng_err_set(err, "%s", suberr.msg);
    else if (ret < 0)
        eng_err_set(err, "backing file %s: %s", e->backing, suberr.msg);
    if (ret < 0)
        return ret;
    e->backing_size = e->backing_eng->size;
    return 0;
}

int eng_backing_co_open(eng *e, int depth, eng_error *err)
{
    if (!e->backing[0])
        return 0;
    if (!e->opts.open_backing) {
        eng_err_set(err, "backing file %s: no resolver for backing files",
                    e->backing);
        return -ENOTSUP;
    }
    if (depth + 1 >= ENG_MAX_BACKING_DEPTH) {
        eng_err_set(err, "backing file %s: chain deeper than %d", e->backing,
                    ENG_MAX_BACKING_DEPTH);
        return -ELOOP;
    }
    const char *fmt = e->backing_fmt;
    if (fmt[0] && strcmp(fmt, "qcow2") != 0 && strcmp(fmt, "raw") != 0) {
        eng_err_set(err, "backing format %s not supported (qcow2 or raw)",
                    fmt);
        return -ENOTSUP;
    }
    int ret = e->opts.open_backing(e->opts.backing_opaque, e->backing,
                                   &e->backing_file);
    if (ret < 0) {
        e->backing_file = NULL;
        eng_err_set(err, "backing file %s: cannot open (error %d)",
                    e->backing, ret);
        return ret;
    }
    bool qcow2 = strcmp(fmt, "qcow2") == 0;
    if (!fmt[0])
        ret = probe_qcow2_co(e->backing_file, &qcow2);
    if (ret == 0 && qcow2)
        ret = open_nested_co(e, depth, err);
    else if (ret == 0)
        e->backing_size = e->backing_file->ops->size(e->backing_file);
    else
        eng_err_set(err, "backing file %s: probing failed (error %d)",
                    e->backing, ret);
    if (ret < 0)
        eng_backing_close(e);
    return ret;
}

void eng_backing_close(eng *e)
{
    if (e->backing_eng) {
        eng_destroy(e->backing_eng); /* read-only: nothing to write */
        e->backing_eng = NULL;
    }
    if (e->backing_file) {
        if (e->opts.close_backing)
            e->opts.close_backing(e->opts.backing_opaque, e->backing_file);
        e->backing_file = NULL;
    }
}

int eng_backing_co_read(eng *e, uint64_t off, void *buf, uint64_t len)
{
    uint64_t avail = off < e->backing_size ? e->backing_size - off : 0;
    if (avail > len)
        avail = len;
    /*
     * Mutant backing_tail_garbage (qcow2 before reads past a backing
     * file's end were guaranteed to give zeroes: qcow2_backing_read1's
     * memset, qemu-iotests' smaller-backing-image test, QEMU commit
     * 4146b46c42e0 of 2013): the part of the buffer past the
     * backing file's end is left as it was, stale bytes and all.
     */
    if (avail < len && !eng_mutant_on(e, ENG_MUT_BACKING_TAIL_GARBAGE))
        memset((uint8_t *)buf + avail, 0, len - avail);
    if (avail == 0)
        return 0;
    if (e->backing_eng)
        return eng_rw_co_read(e->backing_eng, off, buf, avail);
    return e->backing_file->ops->co_pread(e->backing_file, off, buf,
                                          (size_t)avail);
}
