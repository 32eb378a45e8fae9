# expect: ok
# After a reopen the caches are empty: the first read of an L2 table loads
# it (held there while a write to another table goes on).
image create size=8M cluster_size=4k
write -P 0x11 0 64k
write -P 0x12 4M 64k
reopen
break l2_load L
aio_read 4M 64k
wait_break L
aio_write -P 0x13 0 4k
resume L
aio_flush
read -P 0x12 4M 64k
read -P 0x13 0 4k
read -P 0x11 4k 60k
check
