# expect: ok
# An EIO on the data write into a zero cluster that keeps its host cluster
# (write -z without -u), then new allocations (alloc_abort_frees_live).
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
