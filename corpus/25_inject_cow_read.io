# expect: ok
# An EIO on the copy-on-write read of a partial write into an overlay,
# then the same write again.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
inject cow_read errno=EIO once
expect_error EIO
aio_write -P 0x22 10k 2k
aio_flush
read -P 0x11 64k 64k
write -P 0x22 10k 2k
read -P 0x11 0 10k
read -P 0x22 10k 2k
read -P 0x11 12k 52k
check
