# expect: ok
# A read whose window overlaps racing writes landing: the shadow model must
# not pin what it saw (false data-mismatch found by the trace decoder).

image create size=8k cluster_size=512 version=2
write -P 0xa6 -f -q 4k 512
aio_write -P 0x04 4k 4k
aio_write -P 0x05 4k 4k
aio_write -P 0x06 3584 2560
read 70 8122
aio_read 4319 3873
