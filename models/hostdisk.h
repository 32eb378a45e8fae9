/*
 * hostdisk.h - the simulated host disk: a sparse in-memory host file with a
 * volatile write cache and power loss.
 *
 * A hostdisk is a host_backend (models/host.h) that keeps two views of one
 * file: the durable view (what survives a power loss) and the current view
 * (durable view plus every write since the last flush). Reads see the
 * current view. Durability is tracked per 512-byte sector.
 *
 * The rules, which the crash model relies on:
 *   - pwrite changes the current view at once; the sectors it touches are
 *     volatile until the next flush. Growth of the file by writing is
 *     volatile too: the durable length is only raised by flush.
 *   - flush makes the whole current view durable (content and length).
 *   - truncate is synchronous metadata: it changes the length and the
 *     content past it in both views at once (like ftruncate followed by
 *     fsync). Volatile sectors below the new length stay volatile; those at
 *     or past it are gone.
 *   - power loss: each volatile sector, in offset order, either keeps its
 *     current value or falls back to its durable one. The surviving length
 *     is the durable length, raised to cover the kept sectors (never past
 *     the current length): an extension survives as far as its last
 *     surviving sector. Afterwards both views are equal.
 *   - Bytes past the length read as zeroes in both views.
 *
 * Memory grows with the pages written (4 KiB each, two while a page holds
 * volatile sectors), never with the file size: a write at 1 TiB costs one
 * page plus a few radix-tree nodes. A write that changes no byte (zeroes
 * over a hole, or the bytes already there) still makes its sectors
 * volatile, as the rules above say, but costs no 4 KiB buffer: only the
 * small record that remembers which sectors are volatile. Memory a disk
 * releases is kept for its own reuse until host_destroy (so a disk never
 * holds more than its high-water mark); hostdisk_mem_bytes counts what is
 * in use, hostdisk_pool_bytes what is held. Every enumeration (power
 * loss, hash, save) runs in offset order, so results never depend on
 * addresses.
 *
 * Every hostdisk_* function below except hostdisk_create requires a
 * backend made by hostdisk_create (asserted through its ops pointer); the
 * caller owns it and frees it with host_destroy().
 */
#ifndef COWPOKE_HOSTDISK_H
#define COWPOKE_HOSTDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"

/* The largest length a hostdisk accepts (writes and truncates past it fail
 * with -EFBIG). */
#define HOSTDISK_MAX_SIZE ((uint64_t)1 << 62)

/* The durability unit: every sector number below counts these. */
#define HOSTDISK_SECTOR_SIZE 512u

/* A new empty hostdisk (length 0, nothing volatile), or NULL when out of
 * memory. */
host_backend *hostdisk_create(void);

/* True when b was made by hostdisk_create. */
bool hostdisk_is(const host_backend *b);

/* Bytes of memory the disk has in use (pages, buffers, tree nodes, the
 * object itself); memory released for reuse is not counted. */
size_t hostdisk_mem_bytes(host_backend *b);

/* Bytes the disk's pools have taken from malloc, in use or kept for
 * reuse; it only grows until host_destroy. */
size_t hostdisk_pool_bytes(host_backend *b);

/*
 * Failure injection for tests: after n more successful allocations, every
 * allocation of this disk fails, so writes and loads return -ENOMEM (and,
 * by contract, change nothing). An allocation is every page, buffer or
 * tree node the disk takes, whether it reuses released memory or not.
 * n < 0 lifts the limit (the default).
 */
void hostdisk_fail_allocs_after(host_backend *b, long n);

/*
 * For tests: walks every page and node and checks the representation's
 * invariants (I1-I9, listed in models/hostdisk_int.h). Returns 0 when all
 * hold, else the number of the first one found broken. Costs a pass over
 * everything the disk holds.
 */
int hostdisk_check(host_backend *b);

/* The durable length: what the length would be after a power loss that
 * keeps no volatile sector. */
uint64_t hostdisk_durable_size(host_backend *b);

/* Number of 512-byte sectors written since the last flush. */
size_t hostdisk_volatile_sectors(host_backend *b);

/* Like host_pread, on the durable view. 0 or -EINVAL (range overflows). */
int hostdisk_pread_durable(host_backend *b, uint64_t off, void *buf,
                           size_t len);

/*
 * Decides one volatile sector's fate at power loss: true keeps the value
 * written since the last flush, false restores the durable one.
 */
typedef bool (*hostdisk_keep_fn)(void *opaque, uint64_t sector);

/*
 * Simulates a power loss: calls keep(opaque, sector) once for every
 * volatile sector, in increasing sector order, and applies the answers as
 * described above (torn writes at sector granularity fall out of this).
 * A NULL keep keeps nothing; keep must not call back into the disk.
 * Afterwards nothing is volatile. Never fails: it only frees memory.
 */
void hostdisk_power_loss(host_backend *b, hostdisk_keep_fn keep, void *opaque);

/*
 * A content hash of the current view: XXH3-64 (seed 0) of a record stream
 * that visits, in offset order, every 4 KiB page of [0, length) holding a
 * non-zero byte — its page number (8 bytes, little-endian) then its bytes
 * (fewer for a last page cut by the length) — and ends with the length
 * (8 bytes, little-endian). Equal bytes and length give equal hashes
 * however they were written; holes cost nothing, so hashing a sparse
 * 16 MiB disk costs what it holds, not 16 MiB.
 */
uint64_t hostdisk_hash(host_backend *b);

/*
 * Writes the current view to a real file at path (created or truncated,
 * mode 0644), leaving holes where pages are unwritten or all zero, so that
 * QEMU's tools can read it. 0 or -errno; on failure the file's content is
 * unspecified. Does not fsync.
 */
int hostdisk_save(host_backend *b, const char *path);

/*
 * Replaces the disk's content by the real file at path; the result is all
 * durable (length included). Holes and all-zero pages take no memory.
 * 0 or -errno (-EFBIG past HOSTDISK_MAX_SIZE); on failure the disk is
 * unchanged.
 */
int hostdisk_load(host_backend *b, const char *path);

#endif
