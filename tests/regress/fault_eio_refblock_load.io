# expect: ok
# EIO on a refcount block read (refblock_load): after a reopen the refcount
# cache is empty, so the first allocating write loads a refcount block;
# that host read fails and the write must fail with EIO. The data written
# before the reopen survives, the image checks clean, and a retried write
# allocates normally.
image create size=8M cluster_size=64k
write -P 0x11 0 64k
reopen
inject refblock_load errno=EIO once
expect_error EIO
write -P 0x22 1M 64k
read -P 0x11 0 64k
read 1M 64k
check
write -P 0x33 1M 64k
read -P 0x33 1M 64k
read -P 0x11 0 64k
reopen
read -P 0x33 1M 64k
check
