# expect: ok
# An EIO while a new L2 table is written (4k clusters: an L2 table maps
# 2M); the write fails, metadata stays consistent, later writes there work.
image create size=8M cluster_size=4k
write -P 0x11 0 64k
inject l2_alloc_write errno=EIO once
expect_error EIO
write -P 0x22 4M 8k
read -P 0x11 0 64k
read 4M 8k
write -P 0x33 4M 8k
read -P 0x33 4M 8k
check
