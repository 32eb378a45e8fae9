# expect: ok
# The same overlap under a seeded random interleaving, with a read racing
# the writes.
sched random 7
image create size=1M cluster_size=4k
aio_write 0 20k
aio_write 10k 20k
aio_read 0 40k
aio_flush
aio_write -P 0x5a 2k 1k
aio_flush
read 0 40k
flush
check
