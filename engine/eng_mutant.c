/*
 * eng_mutant.c - the table of the zoo's mutants (see eng_mutant.h and
 * shared/ZOO.md): name, origin and mechanism of each historical bug that
 * the engine can switch back on. The switches themselves live at the code
 * points where the bugs lived (grep for ENG_MUT_).
 *
 * Invariant: one entry per ENG_MUTANTS() row, in enum order.
 */
#include <string.h>

#include "eng_mutant.h"

static const eng_mutant_info mutants[ENG_MUT_COUNT] = {
    [ENG_MUT_AVAIL_SECTORS] = {
        "avail_sectors",
        "QEMU 1.1, fixed by commit b7ab0fea (\"qcow2: Fix avail_sectors in "
        "cluster allocation code\", 2012)",
        "when a write keeps allocated clusters and allocates new ones after "
        "them, the bytes available in the new allocation also count the kept "
        "clusters, so the write and its tail copy-on-write run past the new "
        "clusters and the guest clusters beyond are never mapped",
    },
    [ENG_MUT_ALLOC_NO_SERIALIZE] = {
        "alloc_no_serialize",
        "QEMU before commit f214978a427e (\"Order concurrent AIO requests on "
        "the same unallocated cluster\", 2009)",
        "no list of in-flight allocations: two writes in flight into one "
        "unallocated cluster each allocate a host cluster and the later L2 "
        "update drops the other write's data",
    },
    [ENG_MUT_FLUSH_NO_HOST_FLUSH] = {
        "flush_no_host_flush",
        "ocaml-qcow (MirageOS) before pull request 23 (\"Flush and use lazy "
        "refcounts properly\", August 2016, released in 0.4), which "
        "first made the qcow layer call the flush of the block device "
        "beneath it",
        "a guest flush writes the metadata caches back but never flushes "
        "the host, so a power loss after a completed flush loses flushed "
        "data and metadata",
    },
    [ENG_MUT_SWALLOW_ENOSPC] = {
        "swallow_enospc",
        "Xen's qemu-dm and blktap, Red Hat bug 217859 (2006): a failed host "
        "write was logged and the guest told it had succeeded",
        "a guest data write that fails with ENOSPC on the host is reported "
        "as a success and its clusters are linked, so later reads of the "
        "\"written\" bytes return whatever the host holds there",
    },
    [ENG_MUT_REFCOUNT_AFTER_L2] = {
        "refcount_after_l2",
        "QEMU's qcow2 orders the L2 cache after the refcount cache in "
        "qcow2_alloc_cluster_link_l2 (qcow2_cache_set_dependency, since the "
        "metadata caches of QEMU 0.15, 2011); commit bfe8043e9214 (2012, "
        "lazy refcounts) drops that dependency only together with a dirty "
        "bit that forces a repair after a crash",
        "linking new clusters into an L2 table does not make the L2 cache "
        "depend on the refcount cache, so an L2 table can reach the disk "
        "before the refcount block that counts its new clusters and a crash "
        "leaves an entry pointing at a cluster of refcount 0",
    },
    [ENG_MUT_L2_EVICT_DIRTY] = {
        "l2_evict_dirty",
        "the write-back contract of L2 caches, as kvmtool's qcow driver "
        "(Linux tools/kvm, commit 4a69b1c93fcd) stated it when it delayed "
        "L2 write-out "
        "\"until the L2 table is thrown out of LRU cache or ... flush\"",
        "evicting a dirty L2 table from the cache drops it instead of "
        "writing it back, so the mappings it held since its last write-back "
        "are lost",
    },
    [ENG_MUT_L2_AT_ZERO] = {
        "l2_at_zero",
        "KVM-era qcow2 (QEMU and qemu-kvm of 2009, reported on qemu-devel): "
        "l2_allocate used the result of the cluster allocation without "
        "checking it; QEMU later guarded host offset 0 explicitly (commit "
        "ff52aab2df5) and finally stopped using 0 as the invalid offset "
        "(commit c6d619cc1281, INV_OFFSET)",
        "when allocating the cluster for a new L2 table fails, the failure "
        "is ignored and the table is written at host offset 0, over the "
        "image header",
    },
    [ENG_MUT_REFBLOCK_NOREF] = {
        "refblock_noref",
        "QEMU before commit 92dcb59f (\"qcow2: Rewrite "
        "alloc_refcount_block/grow_refcount_table\", Kevin Wolf, 2010)",
        "a new refcount block is allocated without a reference and counted "
        "only after it is hooked into the refcount table, so an error or a "
        "crash in between leaves a used refcount block at refcount 0, to be "
        "handed out and overwritten later",
    },
    [ENG_MUT_DISCARD_INFLIGHT] = {
        "discard_inflight",
        "QEMU qcow2 up to 2021: the qemu-devel series \"qcow2: fix parallel "
        "rewrite and discard\" by Vladimir Sementsov-Ogievskiy (v2 "
        "2021-02-25 ... v7 2021-09-04, iotest qcow2-discard-during-rewrite) "
        "added in-flight write counters for host clusters",
        "clusters that in-flight guest I/O is using are not protected from "
        "reallocation, so a discard can free a cluster under a rewrite, an "
        "allocating write can take it, and the late rewrite lands in it",
    },
    [ENG_MUT_BACKING_TAIL_GARBAGE] = {
        "backing_tail_garbage",
        "qcow2 before QEMU guaranteed zeroes past a backing file's end "
        "(qcow2_backing_read1; qemu-iotests' \"read/write from smaller "
        "backing image\" test by Stefan Hajnoczi; QEMU commit 4146b46c42e0 "
        "\"block: Produce zeros when protocols reading beyond end of file\", "
        "2013); QEMU 0.12's copy_sectors reused one per-image buffer",
        "a read from the backing file that reaches past its end leaves the "
        "part past the end untouched instead of zeroing it, so the caller "
        "sees whatever its buffer held before (for copy-on-write, the other "
        "COW region's bytes)",
    },
    [ENG_MUT_ZERO_CLUSTER_COW_BACKING] = {
        "zero_cluster_cow_backing",
        "qcow2 zero clusters treated as unallocated, the bug class QEMU "
        "fixed in qcow2's is_allocated with iotest 050 (Paolo Bonzini), "
        "where qemu-img rebase and image streaming copied the "
        "backing file's data over zero clusters",
        "the copy-on-write of a partial write into a zero-flagged cluster "
        "reads the backing file instead of zeroes for the rest of the "
        "cluster",
    },
    [ENG_MUT_TRUNCATE_BACKING_VISIBLE] = {
        "truncate_backing_visible",
        "QEMU before the fix of April 2020 (\"block: truncate: Don't make "
        "backing file data visible\", Kevin Wolf)",
        "growing an overlay leaves the new area unallocated, so a longer "
        "backing file shows through where zeroes belong",
    },
    [ENG_MUT_V2_DISCARD_BACKING] = {
        "v2_discard_backing",
        "QEMU before \"qcow2: Forbid discard in qcow2 v2 images with "
        "backing files\" (Alberto Garcia, 2020-03-31, iotest 290)",
        "on a version 2 image, which has no zero flag, discard deallocates "
        "the clusters and reads fall through to the backing file's stale "
        "data",
    },
    [ENG_MUT_ENOSPC_PUBLISH_L2] = {
        "enospc_publish_l2",
        "cloud-hypervisor's qcow2 before pull 8721 (\"Own new QCOW L2 "
        "tables before L1 publication\", merged 2026-08-12; related fix "
        "pull 8748, \"Fix QCOW double allocation after a failed write\", "
        "2026-09)",
        "the refcount of a new L2 table is applied only when the whole "
        "write succeeds; when the write fails (ENOSPC), the L1 entry keeps "
        "pointing at the table while its refcount is dropped, and the "
        "cluster is handed out again",
    },
    [ENG_MUT_ZERO_UNMAP_STALE_L2] = {
        "zero_unmap_stale_l2",
        "QEMU 5.2-rc3, fixed by commit c8bf9a9169 (November 2020, before "
        "the 5.2.0 release)",
        "write-zeroes with unmap marks the L2 slice dirty, then frees the "
        "old cluster before setting the new entry; the free can evict a "
        "refcount block whose dependency flushes the L2 cache, leaving the "
        "slice clean before the entry changes, so the change never reaches "
        "the disk",
    },
    [ENG_MUT_ALLOC_ABORT_FREES_LIVE] = {
        "alloc_abort_frees_live",
        "QEMU before the fix \"qcow2: Fix alloc_cluster_abort() for "
        "pre-existing clusters\" (February 2020, QEMU 5.0 cycle)",
        "when the data write into a reused zero-allocated cluster fails, "
        "the abort path frees the cluster although the L2 entry still "
        "references it",
    },
    [ENG_MUT_REFCOUNT_READ_UNPINNED] = {
        "refcount_read_unpinned",
        "QEMU 4.1.0, fixed in 4.1.1 by commit 5e97855052 (\"qcow2: Fix "
        "corruption bug in qcow2_detect_metadata_preallocation()\", "
        "launchpad bug 1846427, 2019)",
        "the preallocation probe before the first block status (which "
        "write-zeroes asks for a partial cluster) reads refcounts without "
        "the metadata lock; while it waits for a refcount block to load, an "
        "allocating request takes the same cache entry for another block, "
        "and one entry serves two tables, so a refcount update is lost or "
        "lands in the wrong cluster",
    },
    [ENG_MUT_EARLY_COMPLETION] = {
        "early_completion",
        "QEMU launchpad bug 1745312 (copied to QEMU's GitLab as issue 56): "
        "intermittent \"General failure reading drive\" under MS-DOS 6.22 "
        "with the isapc machine's IDE, a timing bug only some interleavings "
        "expose",
        "a guest read through the engine's bounce buffer waits for the next "
        "completion of any of the engine's host reads instead of its own, "
        "so when another read's I/O completes first the request copies the "
        "bounce buffer's stale bytes to the guest and completes while its "
        "host read is still in flight",
    },
};

const eng_mutant_info *eng_mutant_get(eng_mutant m)
{
    if ((unsigned)m >= ENG_MUT_COUNT)
        return NULL;
    return &mutants[m];
}

int eng_mutant_by_name(const char *name)
{
    for (int i = 0; i < ENG_MUT_COUNT; i++)
        if (strcmp(mutants[i].name, name) == 0)
            return i;
    return -1;
}
