# expect: data-mismatch
# Mutant alloc_abort_frees_live (QEMU before "qcow2: Fix
# alloc_cluster_abort() for pre-existing clusters", 2020): write-zeroes
# without unmap keeps cluster 0's host cluster (a zero cluster with a
# host cluster of refcount 1). The next write reuses that host cluster in
# place; its data write fails, and the abort path frees the host cluster
# although the L2 entry still references it. The write at 64k then takes
# that cluster, and a later write at 0 (reusing it in place again)
# overwrites 64k's data.
mutant alloc_abort_frees_live
image create size=1M cluster_size=64k
write -P 0x11 0 64k
write -z 0 64k
inject write_aio errno=EIO once
expect_error EIO
write -P 0x22 0 64k
write -P 0x33 64k 64k
write -P 0x44 0 4k
read -P 0x33 64k 64k
read 0 64k
check
