# expect: ok
# An EIO on the L2 table's write-back reaches the flush that caused it;
# after the fault the data is still readable and the image consistent.
image create size=8M cluster_size=64k
write -P 0x01 0 64k
flush
write -P 0x02 64k 64k
inject l2_update errno=EIO once
expect_error EIO
flush
read -P 0x01 0 64k
read -P 0x02 64k 64k
flush
check
