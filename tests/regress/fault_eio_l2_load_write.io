# expect: ok
# EIO on an L2 table read (l2_load) under a write: the write cannot learn
# where its cluster lives and must fail, leaving its bytes either old or
# new; the other cluster of the same L2 table and a later rewrite are fine.
image create size=8M cluster_size=64k
write -P 0x11 0 128k
reopen
inject l2_load errno=EIO once
expect_error EIO
write -P 0x44 0 4k
read 0 4k
read -P 0x11 4k 124k
write -P 0x55 0 4k
read -P 0x55 0 4k
check
