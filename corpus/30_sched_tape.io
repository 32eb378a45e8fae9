# expect: ok
# A tape of choices (the fuzzer's input) decides the interleaving of
# writes into one cluster and a racing read.
image create size=1M cluster_size=64k
write -P 0x01 512k 512
sched tape 01020301000203
aio_write 0 4k
aio_write 8k 4k
aio_write -P 0x55 2k 8k
aio_read 0 16k
aio_flush
read 0 64k
sched fifo
read 0 64k
check
