# expect: ok
# The twin of alloc_no_serialize_on.io with the mutant off: the second write
# waits for the first one's allocation (QEMU's in-flight list), nothing is
# lost.
image create size=256k cluster_size=64k
write -P 0x01 192k 512
aio_write -P 0x07 64k 4k
aio_write -P 0x08 72k 4k
aio_flush
read -P 0x07 64k 4k
read -P 0x08 72k 4k
check
