# expect: ok
# The allocation of a new L2 table fails (4k clusters: the write reaches a
# table that does not exist yet); nothing may be written at offset 0
# (l2_at_zero).
image create size=8M cluster_size=4k
write -P 0x11 0 64k
inject cluster_alloc errno=EIO once
expect_error EIO
write -P 0x22 6M 4k
read -P 0x11 0 64k
write -P 0x33 6M 4k
reopen
read -P 0x11 0 64k
read -P 0x33 6M 4k
check
