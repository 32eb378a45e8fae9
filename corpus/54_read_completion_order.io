# expect: ok
# Two reads in flight, one held at read_aio after an earlier read left its
# bytes in the engine's buffers; the other read's host I/O completes first
# (early_completion).
image create size=1M cluster_size=64k
write -P 0x11 0 64k
write -P 0x22 64k 64k
read -P 0x11 0 4k
break read_aio A
aio_read 64k 4k
wait_break A
aio_read 0 4k
resume A
aio_flush
read -P 0x22 64k 4k
check
