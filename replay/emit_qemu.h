/*
 * emit_qemu.h - the qemu-io translation backend: a script that uses only
 * qemu-io's commands (plus `image create` / `image open`, which become
 * qemu-img and qemu-io's command line) printed as a shell snippet that
 * runs as printed: `qemu-img create ...` lines and `qemu-io -c '...' ...
 * IMAGE` invocations, one per stretch of commands on one image.
 *
 * Translation:
 *   image create [name=N] size=S ... -> qemu-img create -f qcow2
 *       -o cluster_size=C,compat=1.1|0.10[,refcount_bits=B]
 *       [-b BASE.qcow2 -F qcow2] N.qcow2 S   (unnamed images: imgK.qcow2)
 *   image open FILE                    -> qemu-io on FILE
 *   the data commands                  -> -c 'canonical text', on
 *       blkdebug::FILE when the stretch has breakpoints (blkdebug is what
 *       provides break/wait_break/resume/remove_break in qemu-io)
 *   close                              -> the end of that qemu-io run;
 *   reopen after close                 -> a new qemu-io run on the image.
 * Everything qemu-io lacks (sched, crash, inject, host, check, mutant,
 * expect_error, policy, resume_errors, image open backing=, backing_fmt=raw)
 * is refused, naming the first such command and its line.
 *
 * The library writes only to the caller's FILE and error buffer.
 */
#ifndef COWPOKE_EMIT_QEMU_H
#define COWPOKE_EMIT_QEMU_H

#include <stddef.h>
#include <stdio.h>

#include "script.h"

/* Write s's snippet to out. 0; -EINVAL with err ("FILE:LINE: ...") when s
 * has a command qemu-io lacks (nothing is written then); -EIO when writing
 * failed. */
int emit_qemu_io(const script *s, FILE *out, char *err, size_t errlen);

#endif
