# expect: ok
# Growing the L1 table fails (4k clusters: an L1 entry maps 2M); the
# image keeps its size; growing again works.
image create size=2M cluster_size=4k
write -P 0x11 0 64k
inject l1_grow_write_table errno=EIO once
expect_error EIO
truncate 8M
read -P 0x11 0 64k
truncate 8M
write -P 0x22 6M 4k
read -P 0x22 6M 4k
check
