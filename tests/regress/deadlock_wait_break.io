# expect: deadlock
# wait_break on a breakpoint that nothing will reach: the only write
# covers whole clusters, so it never copies on write.
image create size=1M cluster_size=64k
break cow_read A
aio_write -P 0x11 0 64k
wait_break A
