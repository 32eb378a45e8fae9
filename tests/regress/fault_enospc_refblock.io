# expect: ok
# ENOSPC while allocating a refcount block: with 512-byte clusters and
# 16-bit refcounts one refcount block covers 128k of host file; filling
# the first 128k and setting the limit there makes the write that needs
# the second refcount block fail at refblock_alloc_write. The earlier data
# survives and the refcount structure stays consistent (leaks allowed).
image create size=16M cluster_size=512
write -P 0x11 0 120k
host limit 128k
expect_error ENOSPC
write -P 0x22 1M 16k
read -P 0x11 0 120k
read 1M 16k
check
reopen
read -P 0x11 0 120k
check
host grow 1M
write -P 0x33 1M 16k
read -P 0x33 1M 16k
read -P 0x11 0 120k
check
