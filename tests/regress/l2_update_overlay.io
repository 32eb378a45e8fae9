# expect: ok
# The first write into an empty overlay allocates its L2 table; hold it at
# the table's l2_update (it holds the metadata lock there, as QEMU's
# l2_allocate does) and let reads queue behind it; the model judges what
# they see.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
break l2_update A
aio_write -P 0x33 64k 16k
wait_break A
aio_read 64k 64k
aio_read 512k 64k
resume A
aio_flush
read -P 0x33 64k 16k
read -P 0x11 80k 48k
check
