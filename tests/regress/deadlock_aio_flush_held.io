# expect: deadlock
# aio_flush waits for every request, including one held at a breakpoint.
image create size=1M cluster_size=64k
break write_aio A
aio_write -P 0x11 0 4k
wait_break A
aio_flush
