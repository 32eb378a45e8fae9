# expect: ok
# Read errors on data and on the backing file reach the read; nothing
# changes.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
write -P 0x22 0 64k
inject read_aio errno=EIO once
expect_error EIO
read 0 64k
inject read_backing_aio errno=EIO once
expect_error EIO
aio_read 128k 64k
aio_flush
read -P 0x22 0 64k
read -P 0x11 128k 64k
check
