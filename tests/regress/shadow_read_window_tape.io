# expect: ok
# Found by the libFuzzer trace target as a false data-mismatch on the
# correct engine: an aio_read saw write 1's bytes before write 3 landed.

image create size=1M cluster_size=64k
write -P 0x01 512k 512
sched tape f6fd0301000203
aio_write 0 4k
aio_write 8k 4k
aio_write -P 0x55 2k 8k
aio_read 0 1M
aio_flush
read 0 64k
sched fifo
read 0 64k
check
