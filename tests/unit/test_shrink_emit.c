/*
 * test_shrink_emit.c - the qemu-io emitter (replay/emit_qemu.c): the exact
 * snippet for small scripts (qemu-img create options, backing files,
 * blkdebug only where breakpoints are, one qemu-io run per stretch of
 * commands on one image, close/reopen, unique file names, shell quoting),
 * and refusals that name the first extension and its line. Running the
 * snippets in qemu-io is tests/interop/emit_qemu_io.sh's job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_qemu.h"
#include "unit.h"

/* The snippet of text (commands only: the header lines are skipped), or
 * NULL with err filled. */
static char *emit_text(const char *text, int *ret, char *err, size_t errlen)
{
    script *s = NULL;
    script_error e;
    char *buf = NULL;
    size_t len = 0;

    *ret = script_parse("t.io", text, strlen(text), &s, &e);
    CHECK_EQ(*ret, 0);
    if (*ret < 0)
        return NULL;
    FILE *f = open_memstream(&buf, &len);
    *ret = emit_qemu_io(s, f, err, errlen);
    fclose(f);
    script_free(s);
    /* Drop the header: comment lines and `set -e`. */
    char *body = buf;
    while (body && (*body == '#' || strncmp(body, "set -e\n", 7) == 0))
        body = strchr(body, '\n') + 1;
    char *out = body ? strdup(body) : NULL;
    free(buf);
    return out;
}

static void expect_snippet(const char *text, const char *want)
{
    char err[256];
    int ret;
    char *got = emit_text(text, &ret, err, sizeof(err));

    CHECK_EQ(ret, 0);
    CHECK(got && strcmp(got, want) == 0);
    if (got && strcmp(got, want) != 0)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
    free(got);
}

static void test_plain(void)
{
    expect_snippet("image create size=1M\n"
                   "write -P 0x11 0 64k\n"
                   "read -P 0x11 0 64k\n",
                   "qemu-img create -f qcow2 -o cluster_size=64k,compat=1.1 "
                   "img1.qcow2 1M\n"
                   "qemu-io -f qcow2 \\\n"
                   "    -c 'write -P 0x11 0 64k' \\\n"
                   "    -c 'read -P 0x11 0 64k' \\\n"
                   "    img1.qcow2\n");
}

static void test_overlay_breakpoints(void)
{
    expect_snippet("image create name=base size=2M cluster_size=4k version=2 "
                   "refcount_bits=16\n"
                   "write -P 0x11 0 128k\n"
                   "image create size=2M backing=base\n"
                   "break cow_read A\n"
                   "aio_write -P 0x22 32k 8k\n"
                   "wait_break A\n"
                   "resume A\n"
                   "aio_flush\n",
                   "qemu-img create -f qcow2 -o "
                   "cluster_size=4k,compat=0.10,refcount_bits=16 base.qcow2 "
                   "2M\n"
                   "qemu-io -f qcow2 \\\n"
                   "    -c 'write -P 0x11 0 128k' \\\n"
                   "    base.qcow2\n"
                   "qemu-img create -f qcow2 -o cluster_size=64k,compat=1.1 "
                   "-b base.qcow2 -F qcow2 img1.qcow2 2M\n"
                   "qemu-io -f qcow2 \\\n"
                   "    -c 'break cow_read A' \\\n"
                   "    -c 'aio_write -P 0x22 32k 8k' \\\n"
                   "    -c 'wait_break A' \\\n"
                   "    -c 'resume A' \\\n"
                   "    -c 'aio_flush' \\\n"
                   "    blkdebug::img1.qcow2\n");
}

/* close ends a qemu-io run; reopen after it starts the next; reopen of an
 * open image is qemu-io's reopen. Unnamed images skip names in use. */
static void test_close_reopen_names(void)
{
    expect_snippet("image create size=1M\n"
                   "image create name=img1 size=1M\n"
                   "write 0 4k\n"
                   "reopen\n"
                   "close\n"
                   "reopen\n"
                   "read 0 4k\n",
                   "qemu-img create -f qcow2 -o cluster_size=64k,compat=1.1 "
                   "img2.qcow2 1M\n"
                   "qemu-img create -f qcow2 -o cluster_size=64k,compat=1.1 "
                   "img1.qcow2 1M\n"
                   "qemu-io -f qcow2 \\\n"
                   "    -c 'write 0 4k' \\\n"
                   "    -c 'reopen' \\\n"
                   "    img1.qcow2\n"
                   "qemu-io -f qcow2 \\\n"
                   "    -c 'read 0 4k' \\\n"
                   "    img1.qcow2\n");
}

static void test_quoting(void)
{
    expect_snippet("image open dir/a$b.qcow2\n"
                   "read 0 4k\n",
                   "qemu-io -f qcow2 \\\n"
                   "    -c 'read 0 4k' \\\n"
                   "    'dir/a$b.qcow2'\n");
}

static void expect_refusal(const char *text, const char *want)
{
    char err[512];
    int ret;
    char *got = emit_text(text, &ret, err, sizeof(err));

    CHECK_EQ(ret, -EINVAL);
    CHECK(strstr(err, want) != NULL);
    if (!strstr(err, want))
        fprintf(stderr, "message: %s\nwanted: %s\n", err, want);
    free(got);
}

static void test_refusals(void)
{
    static const char *const ext[] = {
        "sched random 7",      "check",
        "mutant avail_sectors", "expect_error ENOSPC",
        "crash",               "host limit 1M",
        "host grow 1M",        "inject l2_update errno=EIO once",
        "policy werror=stop",  "resume_errors",
    };
    char text[256], want[128];

    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        snprintf(text, sizeof(text),
                 "image create size=1M\n%s\nwrite 0 4k\n%s\n", ext[i],
                 "sched fifo");
        snprintf(want, sizeof(want),
                 "t.io:2: '%s' is a cowpoke extension that qemu-io lacks",
                 ext[i]);
        expect_refusal(text, want);
    }
    expect_refusal("image create size=1M\nclose\nread 0 4k\n",
                   "t.io:3: 'read 0 4k' runs on a closed image");
    expect_refusal("image open a.qcow2 backing=b.qcow2\n",
                   "t.io:1: 'image open a.qcow2 backing=b.qcow2' overrides");
    expect_refusal("image create name=b size=1M\n"
                   "image create size=1M backing=b backing_fmt=raw\n",
                   "t.io:2: 'image create size=1M backing=b "
                   "backing_fmt=raw' has a raw backing file");
}

static void test_refusal_writes_nothing(void)
{
    script *s = NULL;
    script_error e;
    char *buf = NULL, err[256];
    size_t len = 0;
    const char *text = "image create size=1M\nwrite 0 4k\ncrash\n";

    CHECK_EQ(script_parse("t.io", text, strlen(text), &s, &e), 0);
    FILE *f = open_memstream(&buf, &len);
    CHECK_EQ(emit_qemu_io(s, f, err, sizeof(err)), -EINVAL);
    fclose(f);
    CHECK_EQ(len, 0);
    free(buf);
    script_free(s);
}

static const unit_test tests[] = {
    UNIT(test_plain),
    UNIT(test_overlay_breakpoints),
    UNIT(test_close_reopen_names),
    UNIT(test_quoting),
    UNIT(test_refusals),
    UNIT(test_refusal_writes_nothing),
};

UNIT_MAIN(tests)
