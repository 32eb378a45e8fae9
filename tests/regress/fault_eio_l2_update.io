# expect: ok
# EIO on an L2 table write-back (l2_update) at a flush: the flush must fail
# with EIO; the table stays dirty in the cache, so the next flush writes it
# and after a reopen both writes read back.
image create size=8M cluster_size=64k
write -P 0x01 0 64k
flush
write -P 0x02 2M 64k
write -P 0x03 64k 64k
inject l2_update errno=EIO once
expect_error EIO
flush
read -P 0x02 2M 64k
read -P 0x03 64k 64k
flush
reopen
read -P 0x01 0 64k
read -P 0x02 2M 64k
read -P 0x03 64k 64k
check
