# expect: ok
# Two writes in flight into one unallocated cluster: the second waits for
# the first one's allocation (alloc_no_serialize loses one of them).
image create size=256k cluster_size=64k
write -P 0x01 192k 512
aio_write -P 0x07 64k 4k
aio_write -P 0x08 72k 4k
aio_flush
read -P 0x07 64k 4k
read -P 0x08 72k 4k
read -P 0x00 76k 52k
check
