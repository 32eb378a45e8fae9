# expect: ok
# EIO on an L2 table read (l2_load): after a reopen the caches are empty,
# so the first read of an area loads its L2 table; that host read fails
# and the guest read must fail with EIO. Nothing is cached from the failed
# load: the next read loads the table again and sees the data.
image create size=8M cluster_size=64k
write -P 0x11 0 128k
write -P 0x22 4M 64k
reopen
inject l2_load errno=EIO once
expect_error EIO
read -P 0x11 0 64k
read -P 0x11 0 128k
read -P 0x22 4M 64k
write -P 0x33 64k 4k
read -P 0x33 64k 4k
check
