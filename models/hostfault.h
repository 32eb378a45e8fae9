/*
 * hostfault.h - a host_backend (models/host.h) that wraps another and adds
 * scriptable, deterministic host errors: a capacity limit (a full host
 * file system) and error-injection rules (models/faultrules.h).
 *
 * Ownership: hostfault_wrap takes ownership of `inner` when it succeeds:
 * host_destroy() on the wrapper destroys inner too, and nobody else may
 * destroy inner. When it fails, inner stays the caller's, untouched.
 * hostfault_inner() lends inner out (e.g. for hostdisk_power_loss or
 * hostdisk_hash); I/O done on it directly bypasses limit and rules. The
 * wrapper owns its rule set; hostfault_rules() lends it out.
 *
 * Every call on the wrapper, in this order:
 *   1. Injection: pread/pwrite/truncate/flush first run fault_rules_check
 *      with target READ/WRITE/TRUNCATE/FLUSH and the host bytes they touch:
 *      [off, off + len) for pread and pwrite; for truncate to `size`, the
 *      bytes whose content it changes, [min(old, size), max(old, size))
 *      with old the inner's current length (empty when size == old). When
 *      a rule fires, the call returns its -errno without calling inner:
 *      nothing changes, a read's buffer included. EVENT rules in the set
 *      never match here; the harness checks those itself.
 *   2. Capacity limit (when one is set): a pwrite that would put a byte at
 *      or past the limit (len > 0 and off + len > limit) fails with
 *      -ENOSPC and changes nothing; so does a truncate that grows the file
 *      past the limit (size > limit and size > old length). A truncate
 *      that shrinks, or keeps the length, always proceeds. Reads, flushes
 *      and zero-length writes are never limited.
 *   3. Otherwise the call goes to inner unchanged, and inner's result is
 *      returned unchanged (its errors are not counted below).
 *   `size` and `destroy` are never injected or limited.
 *
 * What the limit models: the length of the host file, not its allocated
 * blocks. A write that lies wholly below the limit succeeds even into a
 * hole or past the current end of the file (the sparse image grows into
 * free space below the limit). A write past the limit fails even where it
 * only overwrites bytes that already exist there (after the limit was set
 * below the current length), as on a full copy-on-write file system where
 * an overwrite needs new blocks too.
 *
 * Deterministic: no clock, no randomness; counters only count.
 */
#ifndef COWPOKE_HOSTFAULT_H
#define COWPOKE_HOSTFAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "faultrules.h"
#include "host.h"

/*
 * Wraps inner (which must not be NULL) and stores the wrapper in *out; it
 * starts with no limit and no rules, passing everything through. 0, or
 * -EINVAL (inner NULL) / -ENOMEM with *out NULL and inner still the
 * caller's.
 */
int hostfault_wrap(host_backend *inner, host_backend **out);

/* True when b was made by hostfault_wrap. Every hostfault_* call below
 * requires such a backend (asserted). */
bool hostfault_is(const host_backend *b);

/* The wrapped backend, still owned by the wrapper. */
host_backend *hostfault_inner(host_backend *b);

/* The wrapper's rule set, still owned by the wrapper. */
fault_rules *hostfault_rules(host_backend *b);

/* Sets the capacity limit in bytes; 0 removes it. Existing bytes past a
 * new, lower limit stay (and read back); see the header comment. */
void hostfault_set_limit(host_backend *b, uint64_t bytes);

/* The capacity limit, 0 when there is none. */
uint64_t hostfault_limit(host_backend *b);

/* Raises the limit by bytes (saturating at UINT64_MAX). With no limit
 * set, does nothing: there is nothing to raise (`host grow` after no
 * `host limit`). */
void hostfault_grow(host_backend *b, uint64_t bytes);

/* Calls that failed with -ENOSPC because of the capacity limit. */
uint64_t hostfault_enospc_count(host_backend *b);

/* Calls that failed because a rule fired. */
uint64_t hostfault_injected_count(host_backend *b);

#endif
