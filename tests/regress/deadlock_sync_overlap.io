# expect: deadlock
# A synchronous write into the cluster a suspended write is allocating
# waits for that allocation (QEMU's in-flight allocation list) forever.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 64k
image create size=1M backing=base
break cow_read A
aio_write -P 0x22 4k 4k
wait_break A
write -P 0x33 0 8k
