/*
 * trace_codec.h - the fuzzer's trace codec: bytes -> .io script (decode)
 * and .io script -> bytes (encode).
 *
 * A fuzzer mutates bytes; the decoder turns every byte string into a
 * script that the executor (exec.h) runs to a real verdict. The encoder
 * turns a script back into bytes, so that hand-written seeds (the .io
 * files of corpus/) and minimized findings can be fed to a fuzzer as
 * inputs it will mutate.
 *
 * Contracts of trace_decode():
 *   - Total: every byte string, the empty one included, decodes to a
 *     script. Deterministic: the same bytes and options give the same
 *     script (no clock, no randomness, nothing depends on addresses).
 *   - Parseable: script_parse(script_print(s)) is script_equal to s.
 *   - Legal: on a correct engine the script's own structure never makes a
 *     script-error or a deadlock, and every expect_error it writes is one
 *     the decoder knows will be met (an injected fault with its trigger, a
 *     request past the end of the disk, a full host disk). Where the bytes
 *     ask for something illegal, the decoder repairs (it drains or resumes
 *     first, drops a -P it cannot vouch for, clamps a size) or drops it.
 *   - Bounded: images of at most opts.max_size bytes, requests of at most
 *     opts.max_io bytes, opts.max_cmds operations of trace body.
 *
 * The byte format (all multi-byte numbers are LEB128 varints; a read past
 * the end of the input gives zeroes, and the body stops at the end):
 *   setup byte: 0xff = no set-up: the body creates its images, and the
 *     next byte (mod 17) allows that many operations beyond max_cmds for
 *     it; otherwise the first bytes choose cluster size, version, virtual
 *     size, backing chain, refcount width and scheduler policy
 *     (trace_decode.c);
 *   body: a stream of operations, each an opcode byte (TRACE_OP_* ranges
 *     below) and its operands. Every operand has biased forms (aligned,
 *     near a cluster boundary, a fraction of the size, the last cluster, a
 *     hot area, wild) and an exact literal form, so any script inside the
 *     decoder's fragment can be expressed; trace_encode() uses only the
 *     literal forms.
 *
 * trace_encode() returns -ENOTSUP for a script outside the fragment the
 * decoder produces (`image open`, `mutant`, an expect_error the decoder
 * cannot vouch for, a breakpoint whose event is not certain, more than the
 * default max_cmds operations, ...), naming the first command it cannot
 * express. Comments and the `# expect:` header do not survive: an encoded
 * script decodes to the same commands, without comments.
 *
 * Ownership: trace_decode's *out is the caller's (script_free);
 * trace_encode's *out is the caller's (free). Nothing is global.
 */
#ifndef COWPOKE_TRACE_CODEC_H
#define COWPOKE_TRACE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "script.h"

#define TRACE_DEFAULT_MAX_SIZE (UINT64_C(16) << 20) /* virtual size cap */
#define TRACE_DEFAULT_MAX_IO (UINT64_C(1) << 20)    /* one request's cap */
#define TRACE_DEFAULT_MAX_CMDS 30                   /* body operations */

/* The first opcode byte of each operation (the dictionary lists them);
 * each operation owns the byte range up to the next one. */
#define TRACE_OP_WRITE 0x00
#define TRACE_OP_AIO_WRITE 0x28
#define TRACE_OP_READ 0x4c
#define TRACE_OP_AIO_READ 0x6a
#define TRACE_OP_DISCARD 0x7e
#define TRACE_OP_FLUSH 0x8c
#define TRACE_OP_AIO_FLUSH 0x94
#define TRACE_OP_TRUNCATE 0x9e
#define TRACE_OP_CLOSE 0xa3
#define TRACE_OP_REOPEN 0xa5
#define TRACE_OP_CHECK 0xaa
#define TRACE_OP_BREAK 0xae
#define TRACE_OP_RESUME 0xc4
#define TRACE_OP_HOST 0xce
#define TRACE_OP_POLICY 0xd4
#define TRACE_OP_RESUME_ERRORS 0xd7
#define TRACE_OP_INJECT 0xd9
#define TRACE_OP_CRASH 0xe5
#define TRACE_OP_SCHED 0xea
#define TRACE_OP_SWEEP 0xed
#define TRACE_OP_PUNCH 0xf1
#define TRACE_OP_OVERLAP 0xf4
#define TRACE_OP_IMAGE 0xfa
#define TRACE_OP_WRITE2 0xfc /* 0xfc..0xff: write again */
#define TRACE_SETUP_NONE 0xff

typedef struct trace_decode_opts {
    uint64_t max_size; /* largest virtual size; 0: TRACE_DEFAULT_MAX_SIZE */
    uint64_t max_io;   /* longest request; 0: TRACE_DEFAULT_MAX_IO */
    size_t max_cmds;   /* body operations; 0: TRACE_DEFAULT_MAX_CMDS */
} trace_decode_opts;

/*
 * Decode len bytes of data (NULL is fine when len is 0) with options o
 * (NULL: defaults) into a new script *out. 0, or -ENOMEM (*out NULL).
 */
int trace_decode(const uint8_t *data, size_t len, const trace_decode_opts *o,
                 script **out);

/*
 * Encode s into a malloc'd byte string (*out, *len) that trace_decode with
 * default options turns into s's commands. 0; -ENOTSUP when s lies outside
 * the decoder's fragment (msg, if not NULL, says which command and why);
 * -ENOMEM.
 */
int trace_encode(const script *s, uint8_t **out, size_t *len);
int trace_encode_msg(const script *s, uint8_t **out, size_t *len, char *msg,
                     size_t msglen);

#endif
