# expect: ok
# EIO on the host flush (a host-level rule on flush) and on the engine's
# flush_to_disk event: each guest flush must fail with EIO, and a later
# flush that succeeds makes everything durable (a crash after it loses
# nothing).
image create size=8M cluster_size=64k
write -P 0x11 0 128k
inject flush errno=EIO once
expect_error EIO
flush
inject flush_to_disk errno=EIO once
expect_error EIO
flush
write -P 0x22 1M 64k
flush
crash
read -P 0x11 0 128k
read -P 0x22 1M 64k
check
