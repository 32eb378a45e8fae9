# expect: ok
# 512-byte clusters. With 16-bit refcounts one refcount block covers 128k
# of host file, so megabytes of writes need many refcount blocks; with
# 64-bit refcounts the first refcount table (64 entries, 2M of host) runs
# out, and the write that grows it is held there (holding the metadata
# lock, as QEMU does) while a read queues behind it.
image create size=16M cluster_size=512
write -P 0x11 0 3M
write 8M 2M
read -P 0x11 0 3M
read 8M 2M
reopen
read -P 0x11 1M 1M
check
image create size=16M cluster_size=512 refcount_bits=64
write -P 0x11 0 1M
break reftable_grow G
aio_write 8M 2M
wait_break G
aio_read -P 0x11 0 1M
resume G
aio_flush
read 8M 2M
reopen
read 8M 2M
check
