# expect: ok
# EIO on the data write (write_aio) of an allocating write: the write fails,
# its new cluster is not linked (or is linked only to data that reads back
# as old or new), a neighbouring write in flight at the same time is not
# affected, and the image checks clean.
image create size=8M cluster_size=64k
write -P 0x11 0 64k
inject write_aio errno=EIO once
expect_error EIO
write -P 0x22 1M 64k
aio_write -P 0x33 2M 64k
aio_flush
read -P 0x11 0 64k
read 1M 64k
read -P 0x33 2M 64k
check
write -P 0x44 1M 64k
read -P 0x44 1M 64k
reopen
read -P 0x44 1M 64k
read -P 0x33 2M 64k
check
