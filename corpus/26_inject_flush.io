# expect: ok
# A flush that fails on its way to the disk reports the error; a later
# flush makes the data durable.
image create size=4M cluster_size=64k
write -P 0x11 0 1M
inject flush_to_disk errno=EIO once
expect_error EIO
flush
inject flush errno=ENOSPC once
expect_error ENOSPC
flush
flush
crash
read -P 0x11 0 1M
check
