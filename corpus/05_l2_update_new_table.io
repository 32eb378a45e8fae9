# expect: ok
# The first write into an empty overlay allocates its L2 table; held at the
# table's l2_update (the metadata lock is held there) while reads queue.
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
